//! Slow clients: a body that trickles in is cut off with 408, and the number of
//! open connections is capped (over the cap, a connection waits its turn).
//! Real sockets and real time: these run on SQLite only.

use std::time::{Duration, Instant};

use groundwork_tests::Backend;
use groundwork_tests::app::spawn_app_with;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one response (head and a body of `Content-Length`) within `within`;
/// `None` when nothing complete arrives by then.
async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&received);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
        }
        Some(String::from_utf8_lossy(&received).into_owned())
    };
    tokio::time::timeout(within, read).await.ok().flatten()
}

#[actix_web::test]
async fn a_body_that_trickles_in_is_cut_off_with_a_408_problem() {
    let app = spawn_app_with(Backend::Sqlite, &[("APP__SERVER__BODY_TIMEOUT_SECS", "1")]).await;
    let body = br#"{"email": "slow@example.com", "role": "employee"}"#;
    let stream = TcpStream::connect(app.socket_address()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /v1/waitlist HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // One byte every 200 ms: the whole body would take about 10 s.
    let trickle = actix_web::rt::spawn(async move {
        for byte in body {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        }
    });

    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut response)).await;
    let elapsed = started.elapsed();
    trickle.abort();

    let response = String::from_utf8_lossy(&response);
    assert!(
        read.is_ok(),
        "no answer (or the connection stayed open) after {elapsed:?}: {response}"
    );
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
    assert!(
        response.contains(r#""code":"REQUEST_TIMEOUT""#),
        "{response}"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "cut off early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(4),
        "cut off late: {elapsed:?}"
    );
}

#[actix_web::test]
async fn connections_over_the_cap_wait_for_a_free_one() {
    // Two workers with one connection each.
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("APP__SERVER__WORKERS", "2"),
            ("APP__SERVER__MAX_CONNECTIONS", "2"),
        ],
    )
    .await;
    let request = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(app.socket_address()).await.unwrap();
        stream.write_all(request).await.unwrap();
        let answer = read_response(&mut stream, Duration::from_secs(5)).await;
        assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")));
        held.push(stream); // kept alive, idle
    }

    let mut third = TcpStream::connect(app.socket_address()).await.unwrap();
    third.write_all(request).await.unwrap();
    let while_full = read_response(&mut third, Duration::from_millis(1500)).await;
    drop(held.pop());
    let once_freed = read_response(&mut third, Duration::from_secs(5)).await;

    assert_eq!(
        while_full, None,
        "a third connection was served over the cap of 2"
    );
    assert!(
        once_freed
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 200")),
        "{once_freed:?}"
    );
}
