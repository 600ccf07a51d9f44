//! Sign-in timing: an unknown email costs what a wrong password costs, at the
//! production argon2 cost, or the answer time tells who has an account.
//!
//! Measured from the client, as an attacker would: interleaved pairs (the order
//! swapped each round, so neither case always runs second), a warm-up first
//! (each hashing thread allocates its argon2 memory on its first hash), and the
//! medians of many rounds compared, so requests slowed by other work on a loaded
//! machine do not decide. The hashing threads run niced, so with compilers on
//! both cores single sign-ins ranged from 25 to 180 ms; in 300 pairs per
//! backend recorded under such load, the medians of 31 consecutive pairs were
//! more than 25% apart in 3 of 540 windows, those of 51 in none of 500. The two
//! backends measure one after the other, not against each other.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, config_dir, spawn_app_with};
use groundwork_tests::on_both_databases;
use infra::Settings;
use infra::config::AuthSettings;
use infra::entities::accounts;
use sea_orm::EntityTrait;

use crate::auth::sign_in;

/// Unmeasured pairs first.
const WARM_UP: usize = 3;
/// Measured pairs.
const ROUNDS: usize = 51;
/// How far apart the two medians may be, as a share of the larger.
const MAX_GAP: f64 = 0.25;

/// The `[auth]` section as production loads it (`config/default.toml` under
/// `APP_ENV=production`): the test configuration lowers the cost, and a cheap
/// hash would hide the very gap this test looks for.
fn production_auth() -> AuthSettings {
    let env = [("APP_ENV".to_owned(), "production".to_owned())].into();
    Settings::load_from(&config_dir(), &env)
        .unwrap_or_else(|e| panic!("production settings: {e}"))
        .auth
}

async fn timed_sign_in(app: &TestApp, email: &str, password: &str) -> Duration {
    let started = Instant::now();
    let res = sign_in(app, email, password).await;
    let elapsed = started.elapsed();
    assert_eq!(res.status, 401, "{email}: {}", res.text);
    assert_eq!(res.code(), "INVALID_CREDENTIALS");
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Held while measuring: one measurement at a time in this process.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn an_unknown_email_takes_as_long_as_a_wrong_password(backend: Backend) {
    let auth = production_auth();
    let (memory, iterations, parallelism) = (
        auth.argon2_memory_kib.to_string(),
        auth.argon2_iterations.to_string(),
        auth.argon2_parallelism.to_string(),
    );
    let app = spawn_app_with(
        backend,
        &[
            ("APP__AUTH__ARGON2_MEMORY_KIB", &memory),
            ("APP__AUTH__ARGON2_ITERATIONS", &iterations),
            ("APP__AUTH__ARGON2_PARALLELISM", &parallelism),
        ],
    )
    .await;
    app.sign_up("ada@example.com").await;
    let stored = accounts::Entity::find()
        .one(app.database.conn())
        .await
        .unwrap()
        .and_then(|account| account.password_hash)
        .unwrap();
    let cost = format!("$m={memory},t={iterations},p={parallelism}$");
    assert!(stored.contains(&cost), "not the production cost: {stored}");

    let measuring = MEASURING.lock().await;
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for round in 0..WARM_UP + ROUNDS {
        let unknown_first = round % 2 == 0;
        let (a, b) = if unknown_first {
            let a = timed_sign_in(&app, "nobody@example.com", SignedUp::PASSWORD).await;
            (
                a,
                timed_sign_in(&app, "ada@example.com", "wrong password").await,
            )
        } else {
            let b = timed_sign_in(&app, "ada@example.com", "wrong password").await;
            (
                timed_sign_in(&app, "nobody@example.com", SignedUp::PASSWORD).await,
                b,
            )
        };
        if round >= WARM_UP {
            unknown.push(a);
            wrong.push(b);
        }
        // Past any per-email failure window, so that every attempt is answered
        // (401, not 429) and both emails' counts are kept alike.
        app.clock.advance(TimeDelta::hours(2));
    }

    drop(measuring);
    let (unknown, wrong) = (median(unknown), median(wrong));
    // Shown with --nocapture: the pair the issue asks to be measured.
    println!("{backend:?}: median sign-in, unknown email {unknown:?}, wrong password {wrong:?}");
    let (fast, slow) = (unknown.min(wrong), unknown.max(wrong));
    let gap = (slow - fast).as_secs_f64() / slow.as_secs_f64();
    assert!(
        gap <= MAX_GAP,
        "median sign-in: unknown email {unknown:?}, wrong password {wrong:?}: {:.0}% apart, \
         at most {:.0}% allowed",
        gap * 100.0,
        MAX_GAP * 100.0
    );
}

on_both_databases!(an_unknown_email_takes_as_long_as_a_wrong_password);
