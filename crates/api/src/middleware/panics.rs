//! A panic in a handler (or in anything the router calls) is answered as a
//! problem+json 500, like any other bug, instead of actix dropping the
//! connection without a word.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use domain::DomainError;
use futures_util::FutureExt as _;

use crate::error::ApiError;

/// Runs the rest of the chain, catching a panic while it is called or polled;
/// the panic becomes an `INTERNAL_ERROR` [`ApiError`] (its message goes to the
/// log, not to the client), which actix renders as our problem+json 500 and the
/// outer layers decorate like any response. (It is an `Err`, not a response,
/// because the request is gone with the panic, and a copy kept beforehand
/// would stop the router, which needs the only one.)
pub async fn catch(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // Nothing of the request is used after a panic: it is dropped with it.
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| next.call(req))) {
        Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
        Err(panic) => Err(panic),
    };
    outcome.unwrap_or_else(|panic| {
        Err(ApiError::Domain(DomainError::Internal(format!(
            "the handler panicked: {}",
            message(panic.as_ref())
        )))
        .into())
    })
}

/// The panic's message, when it has one.
fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, HttpServer, web};

    use super::*;
    use crate::middleware::headers;

    async fn panics() -> HttpResponse {
        panic!("a bug in a handler: password=hunter2")
    }

    /// One response, read whole (`Content-Length` bytes after the head).
    fn read_response(stream: &mut TcpStream) -> String {
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).expect("the connection was dropped");
            assert!(
                n > 0,
                "the connection was closed: {:?}",
                String::from_utf8_lossy(&received)
            );
            received.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0usize);
                if body.len() >= length {
                    return text;
                }
            }
        }
    }

    /// A real server with the panic catcher (and the security headers outside
    /// it), over a real socket: the panic is answered, and the connection
    /// serves the next request.
    #[actix_web::test]
    async fn a_panicking_handler_is_a_problem_500_on_a_connection_that_stays_open() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = HttpServer::new(|| {
            App::new()
                .route("/panics", web::get().to(panics))
                .route("/fine", web::get().to(HttpResponse::Ok))
                .wrap(from_fn(catch))
                .wrap(from_fn(headers::security))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);

        let (panicked, after) = web::block(move || {
            let mut stream = TcpStream::connect(address).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream
                .write_all(b"GET /panics HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            let panicked = read_response(&mut stream);
            stream
                .write_all(b"GET /fine HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            (panicked, read_response(&mut stream))
        })
        .await
        .unwrap();
        handle.stop(false).await;

        assert!(panicked.starts_with("HTTP/1.1 500"), "{panicked}");
        assert!(
            panicked.contains("content-type: application/problem+json"),
            "{panicked}"
        );
        assert!(
            panicked.contains(r#""code":"INTERNAL_ERROR""#),
            "{panicked}"
        );
        assert!(
            panicked.contains("x-content-type-options: nosniff"),
            "{panicked}"
        );
        assert!(!panicked.contains("hunter2"), "{panicked}");
        assert!(after.starts_with("HTTP/1.1 200"), "{after}");
    }
}
