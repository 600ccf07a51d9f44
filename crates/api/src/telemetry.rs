//! Logging: one `tracing` subscriber, request ids on every request.

use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// The request span: method, path, request id and, at the end, status (and the
/// error, if any). Leaner than `tracing-actix-web`'s default, which also matches
/// the path against every route again for `http.route` and formats host, scheme,
/// user agent and an OpenTelemetry name on every request: measurable CPU per
/// request under load (`bench/`), for fields our logs do not use.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %request.path(),
            request_id = tracing::field::display(request_id.map(|id| id.to_string()).unwrap_or_default()),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Installs the global subscriber: `RUST_LOG` if set, else the configured filter.
/// Calling it twice is harmless (tests build many applications).
pub fn init(filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .try_init();
}

/// Echoes the request id that `TracingLogger` put in the span as `x-request-id`,
/// so a client can quote it and an operator can find the request's log lines
/// (also on the response an `Err` from inner layers becomes: a caught panic).
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let value = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| HeaderValue::from_str(&id.to_string()).ok());
    let name = HeaderName::from_static("x-request-id");
    match next.call(req).await {
        Ok(mut res) => {
            if let Some(value) = value {
                res.headers_mut().insert(name, value);
            }
            Ok(res)
        }
        Err(mut err) => {
            if let Some(value) = value {
                err.add_response_mapper(move |mut res| {
                    res.headers_mut().insert(name.clone(), value.clone());
                    res
                });
            }
            Err(err)
        }
    }
}
