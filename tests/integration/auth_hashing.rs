//! Password hashing under load: the bounded queue (`auth.max_queued_hashes`),
//! past which a request that needs a hash is answered 503 `BUSY` with
//! `Retry-After` at once instead of waiting in an ever longer line; and a
//! sign-in whose client has gone, whose handler is dropped with its queued hash.
//! (That the hasher skips a job nobody waits for is tested beside it, in
//! `infra::security`.)

use std::time::Duration;

use futures_util::future::{join, join_all};
use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, spawn_app_with};
use groundwork_tests::on_both_databases;
use infra::entities::audit_logs;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::auth::sign_in;

/// The server's hashing threads: one per available CPU.
fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

async fn sign_ins_past_a_full_hashing_queue_are_503_busy(backend: Backend) {
    // Slow hashes (about 100 ms each) and one queue slot: while the hashing
    // threads (one per CPU) work and one sign-in waits, the rest find it full.
    let app = spawn_app_with(
        backend,
        &[
            ("APP__AUTH__MAX_QUEUED_HASHES", "1"),
            ("APP__AUTH__ARGON2_MEMORY_KIB", "19456"),
            ("APP__AUTH__ARGON2_ITERATIONS", "8"),
        ],
    )
    .await;
    let attempts = hashing_threads() + 1 + 10;

    // Distinct emails, so that the per-email limit stays out of the way.
    let answers = join_all((0..attempts).map(|i| {
        let app = &app;
        async move { sign_in(app, &format!("nobody{i}@example.com"), "wrong password").await }
    }))
    .await;

    let busy: Vec<_> = answers.iter().filter(|res| res.status == 503).collect();
    assert!(!busy.is_empty(), "no 503 among {attempts} sign-ins");
    for res in &busy {
        assert_eq!(res.code(), "BUSY", "{}", res.text);
        assert_eq!(res.content_type, "application/problem+json");
        assert_eq!(
            res.headers.get("retry-after").map(String::as_str),
            Some("1")
        );
    }
    let served = answers.iter().filter(|res| res.status == 401).count();
    assert!(served >= 1, "none served");
    assert_eq!(served + busy.len(), attempts, "only 401 or 503");

    let later = sign_in(&app, "nobody@example.com", "wrong password").await;
    assert_eq!(later.status, 401, "served again once the queue drained");
}

async fn failed_sign_ins(app: &TestApp) -> u64 {
    audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.eq("user.sign_in_failed"))
        .count(app.database.conn())
        .await
        .unwrap()
}

async fn a_sign_in_whose_client_gave_up_is_dropped_with_its_hash(backend: Backend) {
    // Hashes of about 300 ms, so that the hashing threads are busy for longer
    // than the impatient client waits.
    let app = spawn_app_with(
        backend,
        &[
            ("APP__AUTH__ARGON2_MEMORY_KIB", "19456"),
            ("APP__AUTH__ARGON2_ITERATIONS", "24"),
        ],
    )
    .await;
    let busy = join_all((0..hashing_threads()).map(|i| {
        let app = &app;
        async move { sign_in(app, &format!("busy{i}@example.com"), "wrong password").await }
    }));
    let body = json!({"email": "gone@example.com", "password": "wrong password"});
    let gone = app.post_json_giving_up("/v1/auth/sign-in", &body, Duration::from_millis(150));

    let (busy, gone) = join(busy, gone).await;

    assert!(busy.iter().all(|res| res.status == 401));
    assert!(gone.is_none(), "the client was meant to give up: {gone:?}");
    // Queued after it, one after the other: once both are answered, its turn
    // (and its handler's audit row, had it run on) has long passed.
    for i in 0..2 {
        let res = sign_in(&app, &format!("after{i}@example.com"), "wrong password").await;
        assert_eq!(res.status, 401, "{}", res.text);
    }
    let answered = hashing_threads() as u64 + 2;
    assert_eq!(
        failed_sign_ins(&app).await,
        answered,
        "the abandoned sign-in ran on to its audit row"
    );
}

on_both_databases!(
    sign_ins_past_a_full_hashing_queue_are_503_busy,
    a_sign_in_whose_client_gave_up_is_dropped_with_its_hash,
);
