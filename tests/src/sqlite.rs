//! SQLite databases for tests: one file per test in a per-process temporary
//! directory, copied from a template file migrated once per process.
//!
//! The directory is removed when the test process ends (a small watchdog
//! shell waits for the process to go away), each test's file when its
//! [`TestDb`](crate::db::TestDb) is dropped.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sea_orm::ConnectionTrait;

/// The per-process directory holding every SQLite file of this test process.
///
/// # Panics
/// When the directory cannot be created.
pub fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "groundwork-sqlite-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        ));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let mut watchdog = Command::new("sh");
        watchdog
            .arg("-c")
            .arg(
                r#"trap '' INT HUP
                while [ -e "/proc/$1" ] && [ -d "$2" ]; do sleep 1; done
                rm -rf "$2""#,
            )
            .arg("groundwork-sqlite-watchdog")
            .arg(std::process::id().to_string())
            .arg(&dir);
        // Not waited for: it ends with the test process.
        drop(crate::postgres::spawn_detached(watchdog));
        dir
    })
}

/// The URL SeaORM opens `path` with (creating the file if missing).
pub fn url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The template file with every migration applied, made once per process.
///
/// # Panics
/// When the migrations fail; every later call panics with the same message.
pub fn migrated_template() -> &'static Path {
    static TEMPLATE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let path = process_dir().join("template.sqlite");
        let url = url(&path);
        std::panic::catch_unwind(|| {
            crate::db::on_own_runtime(|| async {
                use migration::sea_orm_migration::MigratorTrait;
                let db = crate::db::connect(&url, 1).await;
                let migrated = migration::Migrator::up(&db, None).await;
                if let Err(e) = migrated {
                    let _ = db.close().await;
                    panic!(
                        "migrating the SQLite template {} failed: {e}",
                        path.display()
                    );
                }
                // Everything in the main file, so that copying it is enough.
                let _ = db
                    .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                    .await;
                let _ = db.close().await;
            });
        })
        .map(|()| path.clone())
        .map_err(|panic| crate::postgres::panic_message(panic.as_ref()))
    });
    match template {
        Ok(path) => path,
        Err(message) => panic!("no migrated SQLite template: {message}"),
    }
}

/// A path for a new database file named `name` (nothing is created).
pub fn new_path(name: &str) -> PathBuf {
    process_dir().join(format!("{name}.sqlite"))
}

/// Copies the migrated template to a new file named `name` and returns its path.
///
/// # Panics
/// When the copy fails.
pub fn copy_of_template(name: &str) -> PathBuf {
    let template = migrated_template();
    let path = new_path(name);
    std::fs::copy(template, &path).unwrap_or_else(|e| {
        panic!(
            "cannot copy {} to {}: {e}",
            template.display(),
            path.display()
        )
    });
    path
}

/// Deletes a database file and its journals (`-wal`, `-shm`, `-journal`).
pub fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        if let Err(e) = std::fs::remove_file(&file)
            && e.kind() != ErrorKind::NotFound
        {
            eprintln!("warning: cannot remove {}: {e}", Path::new(&file).display());
        }
    }
}
