//! The process's log lines, for tests that prove something never reaches one.
//!
//! [`watch`] installs (once per process) a global `tracing` subscriber that
//! formats every event of our crates at every level, with the opening and
//! closing of their spans and the fields of each, as the server's log would
//! show them, then looks in each line for the text the live watches asked
//! about. Only matching lines are kept, so tests running meanwhile cost a
//! scan, not memory. The application's workers run on their own threads:
//! a global subscriber is what sees them.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// The lines a watch has found so far.
type Found = Arc<Mutex<Vec<String>>>;

/// One live watch: its id, what it looks for, what it found.
struct Watch {
    id: u64,
    needles: Vec<String>,
    found: Found,
}

/// What the live watches look for, and what each found.
#[derive(Default)]
struct Watches {
    next: u64,
    live: Vec<Watch>,
}

fn watches() -> &'static Mutex<Watches> {
    static WATCHES: OnceLock<Mutex<Watches>> = OnceLock::new();
    WATCHES.get_or_init(Mutex::default)
}

/// Lines containing any of some texts, for as long as it lives.
pub struct LogWatch {
    id: u64,
    found: Found,
}

impl LogWatch {
    /// The lines written so far that contain one of the watched texts.
    pub fn lines(&self) -> Vec<String> {
        self.found.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for LogWatch {
    fn drop(&mut self) {
        if let Ok(mut w) = watches().lock() {
            w.live.retain(|watch| watch.id != self.id);
        }
    }
}

/// Starts keeping every log line that contains one of `needles`.
///
/// # Panics
/// When another global subscriber was installed first: the lines could not be
/// seen, and a test relying on them would prove nothing.
pub fn watch(needles: &[&str]) -> LogWatch {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(
                "info,api=trace,app=trace,infra=trace,domain=trace,tracing_actix_web=trace",
            ))
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(Scanner)
            .finish();
        tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())
    });
    if let Err(e) = installed {
        panic!("cannot capture the log: {e}");
    }
    let found = Arc::new(Mutex::new(Vec::new()));
    let mut w = watches().lock().unwrap_or_else(|e| e.into_inner());
    w.next += 1;
    let id = w.next;
    w.live.push(Watch {
        id,
        needles: needles.iter().map(|n| (*n).to_owned()).collect(),
        found: found.clone(),
    });
    LogWatch { id, found }
}

/// Writes nowhere; hands each line to the watches.
#[derive(Clone, Copy)]
struct Scanner;

impl io::Write for Scanner {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        if let Ok(w) = watches().lock() {
            for watch in &w.live {
                if watch.needles.iter().any(|n| line.contains(n.as_str()))
                    && let Ok(mut found) = watch.found.lock()
                {
                    found.push(line.trim_end().to_owned());
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Scanner {
    type Writer = Scanner;

    fn make_writer(&'a self) -> Scanner {
        *self
    }
}
