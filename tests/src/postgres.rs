//! Throwaway PostgreSQL servers for the test process.
//!
//! [`server()`] is the one server every test of the process shares: the server
//! named by `TEST_DATABASE_URL` (an admin URL allowed to `CREATE DATABASE`), or
//! else a private server started from the installed PostgreSQL binaries
//! (`/usr/lib/postgresql/15/bin`, `pg_config --bindir`, or the newest
//! `/usr/lib/postgresql/*/bin`), with its data in a fresh temporary directory.
//!
//! [`PgInstance`] is such a private server on its own, for a test that needs to
//! stop the database and bring it back.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then every
//! PostgreSQL binary runs as the `postgres` user (`runuser -u postgres --`), in a
//! directory owned by that user. Statics are never dropped, so each private
//! server is watched by a small shell process that stops it and deletes its
//! directory as soon as the test process is gone (also after a crash or Ctrl-C).

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectionTrait, Database};

use crate::db::connect;

/// Where the Debian packages put the server binaries; tried first.
const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

/// The environment variable naming an existing server to use instead.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// Settings for a server whose data is thrown away: durability buys nothing here.
const SERVER_SETTINGS: &str = "
# groundwork test harness: a throwaway server
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 32MB
log_min_messages = warning
";

/// How long a private server may take to start before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Databases that a crashed test process left on a shared `TEST_DATABASE_URL`
/// server are dropped by a later process once they are this old.
const STALE_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

// ---------------------------------------------------------------------------
// The shared server
// ---------------------------------------------------------------------------

/// The PostgreSQL server shared by every test of this process.
#[derive(Debug)]
pub struct PgServer {
    admin_url: String,
    /// The private server, if this process started one. Never dropped: its
    /// watchdog removes it when the process ends.
    instance: Option<PgInstance>,
}

impl PgServer {
    /// A URL with administrator rights (it may create and drop databases).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The URL of database `db` on this server, as the administrator.
    pub fn url(&self, db: &str) -> String {
        with_database(&self.admin_url, db)
    }

    /// Whether this process started the server (`false`: `TEST_DATABASE_URL`).
    pub fn is_private(&self) -> bool {
        self.instance.is_some()
    }
}

/// The server shared by this test process, started on first use.
///
/// # Panics
/// When no server can be had; every later call panics with the same message.
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| {
        std::panic::catch_unwind(|| match std::env::var(TEST_DATABASE_URL) {
            Ok(url) if !url.trim().is_empty() => {
                let url = url.trim().to_owned();
                drop_stale_databases(&url);
                PgServer {
                    admin_url: url,
                    instance: None,
                }
            }
            _ => {
                let instance = PgInstance::start();
                PgServer {
                    admin_url: instance.url("postgres"),
                    instance: Some(instance),
                }
            }
        })
        .map_err(|panic| panic_message(panic.as_ref()))
    });
    match server {
        Ok(server) => server,
        Err(message) => panic!("the test PostgreSQL server is unavailable: {message}"),
    }
}

// ---------------------------------------------------------------------------
// A private, stoppable server
// ---------------------------------------------------------------------------

/// A private PostgreSQL server in a temporary directory, listening on
/// `127.0.0.1` on a free port, removed (server stopped, files deleted) on drop
/// or, at the latest, when the test process ends.
///
/// ```no_run
/// # use groundwork_tests::postgres::PgInstance;
/// let pg = PgInstance::start();
/// let url = pg.url("postgres"); // postgres://postgres@127.0.0.1:<port>/postgres
/// pg.stop(); // immediate shutdown: connections break now
/// pg.restart(); // the same port and data
/// ```
#[derive(Debug)]
pub struct PgInstance {
    dir: PathBuf,
    port: u16,
    bin_dir: PathBuf,
    /// Run the binaries as the `postgres` user (the test process is root).
    as_postgres: bool,
    watchdog: Mutex<Option<Child>>,
}

impl PgInstance {
    /// Initialises and starts a new server; returns once it accepts connections.
    ///
    /// # Panics
    /// When the binaries are missing or the server does not come up in time
    /// (the message carries the server log).
    pub fn start() -> PgInstance {
        let bin_dir = find_bin_dir();
        let as_postgres = effective_uid() == 0;
        let dir = std::env::temp_dir().join(format!(
            "groundwork-pg-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        ));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        std::fs::create_dir(dir.join("sock"))
            .unwrap_or_else(|e| panic!("cannot create {}/sock: {e}", dir.display()));
        if as_postgres {
            let (uid, gid) = postgres_user_ids();
            for path in [dir.clone(), dir.join("sock")] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap_or_else(|e| {
                    panic!("cannot give {} to the postgres user: {e}", path.display())
                });
            }
        }

        let mut instance = PgInstance {
            dir,
            port: 0,
            bin_dir,
            as_postgres,
            watchdog: Mutex::new(None),
        };
        // The watchdog first: from here on, nothing outlives the test process.
        instance.spawn_watchdog();
        instance.initdb();

        // The free port is found by binding port 0 and letting it go; another
        // process may take it in between, so a failed bind is retried.
        let mut last_failure = String::new();
        for _ in 0..5 {
            instance.port = free_port();
            match instance.pg_ctl_start() {
                Ok(()) => return instance,
                Err(failure) if failure.contains("ddress already in use") => last_failure = failure,
                Err(failure) => panic!("PostgreSQL did not start: {failure}"),
            }
        }
        panic!("PostgreSQL did not start (no free port): {last_failure}")
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` as the `postgres` superuser (trust auth).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`): open connections
    /// break. Stopping a stopped server does nothing.
    ///
    /// # Panics
    /// When the server cannot be stopped.
    pub fn stop(&self) {
        if !self.is_running() {
            return;
        }
        let output = self.pg_ctl(&["stop", "-m", "immediate", "-w", "-t", "30"]);
        if !output.status.success() && self.is_running() {
            panic!(
                "PostgreSQL did not stop: {}\n--- server log ---\n{}",
                describe(&output),
                self.log()
            );
        }
    }

    /// Starts the server again on the same port with the same data (stopping it
    /// first if it runs); returns once it accepts connections.
    ///
    /// # Panics
    /// When the server does not come back in time.
    pub fn restart(&self) {
        self.stop();
        if let Err(failure) = self.pg_ctl_start() {
            panic!("PostgreSQL did not restart: {failure}");
        }
    }

    /// Creates database `name`, applies every migration to it, and returns its URL.
    pub async fn create_migrated_database(&self, name: &str) -> String {
        use migration::sea_orm_migration::MigratorTrait;
        create_database(&self.url("postgres"), name, None).await;
        let url = self.url(name);
        let db = connect(&url, 2).await;
        migration::Migrator::up(&db, None)
            .await
            .unwrap_or_else(|e| panic!("migrating {name} failed: {e}"));
        let _ = db.close().await;
        url
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// A command running `program` from the PostgreSQL binaries, as the
    /// `postgres` user when the test process is root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin_dir.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        // The postgres user may not be able to enter the current directory.
        command.current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    fn run(&self, mut command: Command) -> Output {
        command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(self.data_dir()).args(args);
        self.run(command)
    }

    fn is_running(&self) -> bool {
        self.data_dir().join("postmaster.pid").exists() && self.pg_ctl(&["status"]).status.success()
    }

    fn initdb(&self) {
        let mut command = self.command("initdb");
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["--auth=trust", "-U", "postgres", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync", "--no-instructions"]);
        let output = self.run(command);
        if !output.status.success() {
            panic!("initdb failed: {}", describe(&output));
        }
        let settings = format!(
            "{SERVER_SETTINGS}unix_socket_directories = '{}'\n",
            self.dir.join("sock").display()
        );
        let config = self.data_dir().join("postgresql.conf");
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .open(&config)
            .and_then(|mut file| std::io::Write::write_all(&mut file, settings.as_bytes()));
        if let Err(e) = appended {
            panic!("cannot write {}: {e}", config.display());
        }
    }

    /// `pg_ctl start -w`: returns once the server accepts connections (pg_ctl
    /// waits for the postmaster to report itself ready).
    /// `Err` carries pg_ctl's output and the server log.
    fn pg_ctl_start(&self) -> Result<(), String> {
        let log = self.log_path();
        let port = format!("-p {}", self.port);
        let timeout = START_TIMEOUT.as_secs().to_string();
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .args(["-o", &port, "-w", "-t", &timeout, "start"]);
        let output = self.run(command);
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}\n--- server log ---\n{}",
                describe(&output),
                self.log()
            ))
        }
    }

    /// A shell that waits for the test process to end (or the directory to be
    /// removed by `Drop`), then stops the server and deletes the directory. It
    /// runs in its own process group so that Ctrl-C on the tests does not stop it.
    fn spawn_watchdog(&self) {
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", "sh"]);
            command
        } else {
            Command::new("sh")
        };
        let script = r#"
            trap '' INT HUP
            while [ -e "/proc/$1" ] && [ -d "$2" ]; do sleep 1; done
            if [ -f "$2/data/postmaster.pid" ]; then
                "$3" -D "$2/data" stop -m fast -w -t 30 >/dev/null 2>&1
            fi
            rm -rf "$2"
        "#;
        command
            .arg("-c")
            .arg(script)
            .arg("groundwork-pg-watchdog")
            .arg(std::process::id().to_string())
            .arg(&self.dir)
            .arg(self.bin_dir.join("pg_ctl"));
        let child = spawn_detached(command);
        *self.watchdog.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        if self.data_dir().join("postmaster.pid").exists() {
            let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w", "-t", "30"]);
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != ErrorKind::NotFound
        {
            eprintln!("warning: cannot remove {}: {e}", self.dir.display());
        }
        // The watchdog sees the directory gone and exits within a second.
        let watchdog = self.watchdog.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = watchdog.take() {
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Databases on a server
// ---------------------------------------------------------------------------

/// `CREATE DATABASE name [TEMPLATE template]` through a short-lived admin connection.
pub async fn create_database(admin_url: &str, name: &str, template: Option<&str>) {
    let admin = connect(admin_url, 1).await;
    let sql = match template {
        Some(template) => format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote(name),
            quote(template)
        ),
        None => format!("CREATE DATABASE {}", quote(name)),
    };
    let result = admin.execute_unprepared(&sql).await;
    let _ = admin.close().await;
    if let Err(e) = result {
        panic!("{sql} failed: {e}");
    }
}

/// `DROP DATABASE IF EXISTS name WITH (FORCE)`, disconnecting whoever is still connected.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), sea_orm::DbErr> {
    let admin = Database::connect(admin_url).await?;
    let result = admin
        .execute_unprepared(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote(name)
        ))
        .await;
    let _ = admin.close().await;
    result.map(|_| ())
}

/// The name of this process's template database: created and migrated on
/// first use (once per process), then left without connections so that every
/// test can clone it with `CREATE DATABASE ... TEMPLATE`.
///
/// # Panics
/// When the migrations fail; every later call panics with the same message.
pub fn migrated_template() -> &'static str {
    static TEMPLATE: OnceLock<Result<String, String>> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let admin_url = server().admin_url().to_owned();
        let name = format!(
            "groundwork_template_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let template_name = name.clone();
        let migrated = std::panic::catch_unwind(move || {
            crate::db::on_own_runtime(move || async move {
                use migration::sea_orm_migration::MigratorTrait;
                create_database(&admin_url, &template_name, None).await;
                let url = with_database(&admin_url, &template_name);
                let db = connect(&url, 2).await;
                let migrated = migration::Migrator::up(&db, None).await;
                let _ = db.close().await;
                if let Err(e) = migrated {
                    panic!("migrating the template database {template_name} failed: {e}");
                }
                // Nobody may connect to it any more: a connection would make
                // `CREATE DATABASE ... TEMPLATE` fail.
                let admin = connect(&admin_url, 1).await;
                let sealed = admin
                    .execute_unprepared(&format!(
                        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
                        quote(&template_name)
                    ))
                    .await;
                let _ = admin.close().await;
                if let Err(e) = sealed {
                    panic!("sealing the template database {template_name} failed: {e}");
                }
            });
        });
        migrated
            .map(|()| name)
            .map_err(|panic| panic_message(panic.as_ref()))
    });
    match template {
        Ok(name) => name,
        Err(message) => panic!("no migrated PostgreSQL template: {message}"),
    }
}

/// `url` with its database (path) replaced by `db`, query string kept.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{db}?{query}"),
        None => format!("{base}/{db}"),
    }
}

/// A double-quoted SQL identifier.
pub fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// On a shared `TEST_DATABASE_URL` server, drops the test and template databases
/// that crashed processes left behind (their names end in a ULID; only old
/// ones are dropped, so concurrent test processes are not disturbed).
fn drop_stale_databases(admin_url: &str) {
    let admin_url = admin_url.to_owned();
    crate::db::on_own_runtime(move || async move {
        let Ok(admin) = Database::connect(&admin_url).await else {
            return; // the tests will report the unreachable server themselves
        };
        let rows = admin
            .query_all_raw(sea_orm::Statement::from_string(
                admin.get_database_backend(),
                "SELECT datname::text FROM pg_database \
                 WHERE datname LIKE 'test\\_%' OR datname LIKE 'groundwork\\_template\\_%'",
            ))
            .await
            .unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        for row in rows {
            let Ok(name) = row.try_get_by_index::<String>(0) else {
                continue;
            };
            let Some(ulid) = name
                .rsplit('_')
                .next()
                .and_then(|tail| ulid::Ulid::from_string(&tail.to_uppercase()).ok())
            else {
                continue;
            };
            let age_ms = now.saturating_sub(u128::from(ulid.timestamp_ms()));
            if age_ms > STALE_AFTER.as_millis() {
                let _ = admin
                    .execute_unprepared(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quote(&name)
                    ))
                    .await;
            }
        }
        let _ = admin.close().await;
    });
}

// ---------------------------------------------------------------------------
// Process plumbing
// ---------------------------------------------------------------------------

/// Spawns `command` with no stdio, in its own process group, and leaves it running.
pub(crate) fn spawn_detached(mut command: Command) -> Child {
    use std::os::unix::process::CommandExt;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {command:?}: {e}"))
}

/// The effective user id of this process, from `/proc/self/status` (or `id -u`).
pub fn effective_uid() -> u32 {
    let from_proc = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1))
                .and_then(|euid| euid.parse().ok())
        });
    from_proc.unwrap_or_else(|| id(&["-u"]))
}

fn postgres_user_ids() -> (u32, u32) {
    (id(&["-u", "postgres"]), id(&["-g", "postgres"]))
}

fn id(args: &[&str]) -> u32 {
    let output = Command::new("id")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run id {args:?}: {e}"));
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| {
            panic!(
                "`id {}` failed (is there a postgres user?): {}",
                args.join(" "),
                describe(&output)
            )
        })
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
fn find_bin_dir() -> PathBuf {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let default = PathBuf::from(DEFAULT_BIN_DIR);
    if has_server(&default) {
        return default;
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if output.status.success() && has_server(&dir) {
            return dir;
        }
    }
    // Any other installed major version, newest first.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, dir)) => dir,
        None => panic!(
            "no PostgreSQL server binaries (initdb, pg_ctl) in {DEFAULT_BIN_DIR}, \
             `pg_config --bindir` or /usr/lib/postgresql/*/bin: install the `postgresql` \
             package or set {TEST_DATABASE_URL} to an admin URL of a running server"
        ),
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout).trim_end(),
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_database() {
        let cases = [
            (
                "postgres://u:p@h:5432/postgres",
                "postgres://u:p@h:5432/test_1",
            ),
            (
                "postgres://u@h/postgres?sslmode=disable",
                "postgres://u@h/test_1?sslmode=disable",
            ),
            ("postgres://u@h:5432", "postgres://u@h:5432/test_1"),
            (
                "postgres://u@h:5432?sslmode=require",
                "postgres://u@h:5432/test_1?sslmode=require",
            ),
        ];
        for (admin, expected) in cases {
            assert_eq!(with_database(admin, "test_1"), expected, "{admin}");
        }
    }

    #[test]
    fn a_private_server_stops_and_comes_back_on_the_same_port() {
        // Arrange
        let pg = PgInstance::start();
        let dir = pg.dir.clone();
        let url = pg.url("postgres");

        crate::db::on_own_runtime(|| async {
            let mut options = sea_orm::ConnectOptions::new(url.clone());
            options
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(2))
                .sqlx_logging(false);
            let db = Database::connect(options).await.expect("connecting");
            db.execute_unprepared("SELECT 1")
                .await
                .expect("the server runs");

            // Act and assert: down...
            pg.stop();
            assert!(
                db.execute_unprepared("SELECT 1").await.is_err(),
                "the server still answers after stop"
            );
            pg.stop(); // stopping twice is harmless

            // ... and back, same URL, same data.
            pg.restart();
            db.execute_unprepared("SELECT 1")
                .await
                .expect("the server answers again after restart");
            let _ = db.close().await;
        });

        // Dropping it removes the server and its files.
        drop(pg);
        assert!(!dir.exists(), "{} survived the drop", dir.display());
    }
}
