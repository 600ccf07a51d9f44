//! Graceful shutdown: a request in flight when the stop begins still completes.

use std::time::Duration;

use groundwork_tests::Backend;
use groundwork_tests::app::spawn_app;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[actix_web::test]
async fn a_request_in_flight_finishes_during_a_graceful_shutdown() {
    let app = spawn_app(Backend::Sqlite).await;
    let body = br#"{"email": "inflight@example.com", "role": "employee"}"#;
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(app.socket_address()).await.unwrap();
    let head = format!(
        "POST /v1/waitlist HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first_half).await.unwrap();
    // Let the server read the head and start the handler, which now waits for
    // the rest of the body.
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    let stopping = actix_web::rt::spawn(app.stop());
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(second_half).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), stopping)
        .await
        .expect("the server did not stop")
        .unwrap();

    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(
        TcpStream::connect(app.socket_address()).await.is_err(),
        "a stopped server still accepts connections"
    );
}
