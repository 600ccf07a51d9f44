//! Secrets: password hashing (argon2id, on a few dedicated low-priority threads
//! behind a bounded queue, so a flood of sign-ins can neither stall other
//! requests nor balloon memory) and random bearer tokens, which are stored only
//! as hashes.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{DomainError, Password};
use sha2::{Digest, Sha256};

use crate::config::AuthSettings;

mod api_keys;
pub mod github;
pub mod secrets;
pub mod stripe;
pub mod webhooks;

pub use api_keys::{API_KEY_PREFIX, IssuedApiKey, PresentedApiKey, issue_api_key, parse_api_key};

/// Hashes and verifies passwords with argon2id.
///
/// The work runs on dedicated threads (one per available CPU,
/// [`HASHING_NICE`] nicer than the process), in arrival order, never on the async
/// workers, each thread hashing in one `argon2_memory_kib` buffer it keeps. Not on
/// tokio's blocking pool: that pool grows a thread per waiting call (up to 512),
/// so a sign-in flood ran dozens of hashes at once, took the cores from every
/// other request, and left each thread's allocator holding several 19 MiB buffers
/// (gigabytes of RSS in the benchmark; even one thread allocating a buffer per
/// hash kept five). A fixed set of threads with their own memory bounds both:
/// extra sign-ins wait their turn, memory stays at one buffer per thread.
///
/// At most `auth.max_queued_hashes` jobs wait for a thread; past that a call
/// fails at once with `Busy` (503), rather than queueing work no client will
/// wait for. A job whose caller has gone (its future dropped: the client
/// disconnected) is skipped when its turn comes, not computed.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon: Argon2<'static>,
    /// Verified against when the account does not exist, so that an unknown email
    /// costs the same time as a wrong password.
    dummy_hash: String,
    /// The hashing threads' bounded queue; they stop when the last hasher is
    /// dropped.
    jobs: mpsc::SyncSender<Job>,
}

/// Work for a hashing thread, given the thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send + 'static>;

const ALGORITHM: Algorithm = Algorithm::Argon2id;
const VERSION: Version = Version::V0x13;

/// How many threads hash passwords: one per CPU this process may use
/// (`available_parallelism` counts the affinity mask and a cgroup quota), one
/// when that is unknown. Every core, because the threads' nice value, not their
/// count, is what leaves the CPU to other requests under load: with half the
/// cores a quiet server signed in at half the rate it could. More threads than
/// cores would only hold more argon2 buffers.
fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", self.inner.argon.params())
            .finish_non_exhaustive()
    }
}

/// What a caller told `Busy` is asked to wait before trying again: a queue
/// slot frees up within one hash (tens of milliseconds at the default cost).
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl PasswordHasher {
    /// A hasher with the configured cost and queue bound. Computes one hash (the
    /// dummy) up front.
    pub fn new(settings: &AuthSettings) -> Result<Self, DomainError> {
        Self::with_threads(settings, hashing_threads())
    }

    /// [`PasswordHasher::new`] with `threads` hashing threads.
    fn with_threads(settings: &AuthSettings, threads: usize) -> Result<Self, DomainError> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            None,
        )
        .map_err(|e| DomainError::Internal(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(ALGORITHM, VERSION, params);
        let dummy_hash = hash_with(&argon, "not a password: timing equaliser", &mut Vec::new())?;
        let jobs = spawn_hashing_threads(threads, settings.max_queued_hashes)?;
        Ok(Self {
            inner: Arc::new(Inner {
                argon,
                dummy_hash,
                jobs,
            }),
        })
    }

    /// The PHC string (`$argon2id$v=19$m=...`) of `password` with a fresh salt.
    pub async fn hash(&self, password: Password) -> Result<String, DomainError> {
        self.run(move |inner, memory| hash_with(&inner.argon, password.expose(), memory))
            .await?
    }

    /// Whether `password` matches `stored` (a PHC string). With no stored hash
    /// (unknown email, no password account) a dummy hash is checked instead and the
    /// answer is `false`, taking about as long as a real check.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, DomainError> {
        self.run(move |inner, memory| {
            let (hash, real) = match stored.as_deref() {
                Some(hash) => (hash, true),
                None => (inner.dummy_hash.as_str(), false),
            };
            let parsed = PasswordHash::new(hash)
                .map_err(|e| DomainError::Internal(format!("stored password hash: {e}")))?;
            // Computed before `real` is looked at: `real && matches(..)` skipped
            // the dummy check, and an unknown email answered ten times faster.
            let matched = matches(&parsed, password.expose(), memory);
            Ok(real && matched)
        })
        .await?
    }

    /// Queues `work` for a hashing thread and waits for its answer. `Busy` at
    /// once when the queue is full. Dropping the future before the answer (the
    /// request was cancelled) makes the thread skip `work` if it has not begun.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner, &mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, DomainError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let inner = self.inner.clone();
        let job: Job = Box::new(move |memory| {
            // The receiver is gone: nobody waits for this hash any more.
            if !answer.is_closed() {
                let _ = answer.send(work(&inner, memory));
            }
        });
        self.inner.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => DomainError::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            },
            mpsc::TrySendError::Disconnected(_) => {
                DomainError::Internal("the password hashing threads stopped".into())
            }
        })?;
        answered
            .await
            .map_err(|_| DomainError::Internal("a password hashing job failed".into()))
    }
}

/// How much nicer than the process the hashing threads run (nice values are
/// capped at 19): under contention the scheduler gives request handling and
/// PostgreSQL the CPU first, so a flood of sign-ins slows sign-ins rather than
/// every request; with the CPU otherwise idle, hashes run at full speed. (On
/// Linux the nice value belongs to the thread that sets it.)
pub const HASHING_NICE: i32 = 10;

/// Starts `count` threads that run queued jobs until every sender is gone; at
/// most `bound` jobs wait. A job that panics is dropped (its caller gets an
/// error); the thread goes on.
fn spawn_hashing_threads(count: usize, bound: usize) -> Result<mpsc::SyncSender<Job>, DomainError> {
    let (jobs, queue) = mpsc::sync_channel::<Job>(bound);
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..count {
        let queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                // Lowering one's own priority is always allowed; if it fails
                // anyway, hashing at normal priority is still correct.
                let _ = rustix::process::nice(HASHING_NICE);
                // Grown to the largest cost met, then reused by every hash.
                let mut memory = Vec::new();
                loop {
                    // The lock is held only to take the next job.
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = next else { break };
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                }
            })
            .map_err(|e| DomainError::Internal(format!("cannot start a hashing thread: {e}")))?;
    }
    Ok(jobs)
}

/// The PHC string of `password` under `argon` with a fresh salt, computed in
/// `memory` (what `argon2`'s `PasswordHasher::hash_password` writes, without
/// its per-hash allocation).
fn hash_with(
    argon: &Argon2<'_>,
    password: &str,
    memory: &mut Vec<Block>,
) -> Result<String, DomainError> {
    let failed =
        |e: argon2::password_hash::Error| DomainError::Internal(format!("hashing a password: {e}"));
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(failed)?;
    let output_len = argon
        .params()
        .output_len()
        .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let hash = compute(argon, password, salt.as_salt(), output_len, memory).map_err(failed)?;
    let phc = PasswordHash {
        algorithm: ALGORITHM.ident(),
        version: Some(VERSION.into()),
        params: ParamsString::try_from(argon.params()).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to `stored` under the algorithm, version and cost
/// `stored` names (what `argon2`'s `PasswordVerifier` checks); the outputs are
/// compared in constant time.
fn matches(stored: &PasswordHash<'_>, password: &str, memory: &mut Vec<Block>) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let argon = (|| {
        let algorithm = Algorithm::try_from(stored.algorithm)?;
        let version = stored
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        Ok::<_, argon2::password_hash::Error>(Argon2::new(
            algorithm,
            version,
            Params::try_from(stored)?,
        ))
    })();
    argon
        .and_then(|argon| compute(&argon, password, salt, expected.len(), memory))
        .is_ok_and(|computed| computed == expected)
}

/// Raw argon2 output of `password` and `salt`, in `memory` (grown when the cost
/// needs more blocks than it has).
fn compute(
    argon: &Argon2<'_>,
    password: &str,
    salt: Salt<'_>,
    output_len: usize,
    memory: &mut Vec<Block>,
) -> Result<Output, argon2::password_hash::Error> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Output::init_with(output_len, |out| {
        Ok(argon.hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            out,
            &mut memory[..],
        )?)
    })
}

/// A freshly issued bearer token: the secret for the client, once, and the hash
/// that is stored.
#[derive(Debug)]
pub struct IssuedToken {
    /// 256 random bits, base64url without padding. Never stored or logged.
    pub token: String,
    /// [`hash_token`] of the token: what the database keeps.
    pub hash: String,
}

/// A fresh lease token: 128 random bits.
pub fn lease_token() -> Result<domain::jobs::LeaseToken, DomainError> {
    Ok(domain::jobs::LeaseToken::from_uuid(uuid::Uuid::from_bytes(
        random_bytes::<16>()?,
    )))
}

/// A random spread in [-0.1, 0.1] for retry delays (so failed jobs do not
/// come back in lockstep); 0 if the system has no randomness to give.
pub fn jitter() -> f64 {
    random_bytes::<4>().map_or(0.0, |b| {
        f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX) * 0.2 - 0.1
    })
}

/// Issues a new random token.
pub fn issue_token() -> Result<IssuedToken, DomainError> {
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let hash = hash_token(&token);
    Ok(IssuedToken { token, hash })
}

/// SHA-256 of a token, in hex. Tokens carry 256 random bits, so a fast unsalted
/// hash is enough and allows lookup by an indexed equality.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], DomainError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("the OS random source failed: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher_settings() -> AuthSettings {
        AuthSettings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            ..AuthSettings::default()
        }
    }

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(&hasher_settings()).unwrap()
    }

    fn password(s: &str) -> Password {
        Password::parse(s).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hasher();
        let stored = h.hash(password("correct horse")).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{stored}"
        );
        assert!(
            h.verify(password("correct horse"), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify(password("correct horsE"), Some(stored))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashing_threads_run_at_a_lower_priority_than_the_rest() {
        let before = rustix::process::getpriority_process(None).unwrap();
        let h = hasher();

        let on_hashing_thread = h
            .run(|_, _| rustix::process::getpriority_process(None).unwrap())
            .await
            .unwrap();

        assert_eq!(on_hashing_thread, (before + HASHING_NICE).min(19));
        assert_eq!(
            rustix::process::getpriority_process(None).unwrap(),
            before,
            "only the hashing threads"
        );
    }

    #[tokio::test]
    async fn no_stored_hash_never_verifies() {
        let h = hasher();
        assert!(
            !h.verify(password("not a password: timing equaliser"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let h = hasher();
        let a = h.hash(password("same password")).await.unwrap();
        let b = h.hash(password("same password")).await.unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let argon = Argon2::new(ALGORITHM, VERSION, Params::new(1024, 1, 1, None).unwrap());
        let memory = &mut Vec::new();
        // Ours verifies with the crate's verifier...
        let ours = hash_with(&argon, "correct horse", memory).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon.verify_password(b"correct horse", &parsed).is_ok());
        assert!(argon.verify_password(b"correct horsE", &parsed).is_err());
        // ... and the crate's hashes (stored before, other costs) verify with ours.
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let theirs = Argon2::new(ALGORITHM, VERSION, Params::new(2048, 2, 1, None).unwrap())
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let parsed = PasswordHash::new(&theirs).unwrap();
        assert!(matches(&parsed, "correct horse", memory));
        assert!(!matches(&parsed, "correct horsE", memory));
        assert_eq!(memory.len(), 2048, "the buffer grew to the larger cost");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_hashes_queue_for_the_hashing_threads_and_all_answer() {
        let h = hasher();
        let calls: Vec<_> = (0..16)
            .map(|i| {
                let h = h.clone();
                tokio::spawn(async move { h.hash(password(&format!("password {i}"))).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let stored = call.await.unwrap().unwrap();
            assert!(
                h.verify(password(&format!("password {i}")), Some(stored))
                    .await
                    .unwrap()
            );
        }
    }

    #[test]
    fn there_is_a_hashing_thread_for_every_available_cpu() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(hashing_threads(), cpus);
    }

    /// As many jobs as CPUs, each waiting for all the others to start: they
    /// all finish only if every one of them has a thread at the same time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_cpu_hashes_at_once() {
        let h = hasher();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let started = Arc::new(std::sync::Barrier::new(cpus));
        let jobs: Vec<_> = (0..cpus)
            .map(|_| {
                let (h, started) = (h.clone(), Arc::clone(&started));
                tokio::spawn(async move {
                    h.run(move |_, _| {
                        started.wait();
                    })
                    .await
                })
            })
            .collect();
        let all = async {
            for job in jobs {
                job.await.unwrap().unwrap();
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), all)
            .await
            .expect("fewer hashing threads than CPUs: the jobs waited for each other");
    }

    /// Polls `future` once, as a request does before it waits: a `run` future
    /// queues its job on its first poll.
    fn poll_once<F: std::future::Future>(
        future: std::pin::Pin<&mut F>,
    ) -> std::task::Poll<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        future.poll(&mut cx)
    }

    /// A hasher of one thread and `bound` queue slots, and a job that holds that
    /// thread until the returned sender sends (or is dropped), already running.
    fn one_busy_thread(
        bound: usize,
    ) -> (
        PasswordHasher,
        impl std::future::Future<Output = Result<(), DomainError>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let h = PasswordHasher::with_threads(
            &AuthSettings {
                max_queued_hashes: bound,
                ..hasher_settings()
            },
            1,
        )
        .unwrap();
        let (started, running) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = h.clone();
        let blocker = async move {
            holder
                .run(move |_, _| {
                    let _ = started.send(());
                    let _ = released.recv();
                })
                .await
        };
        let mut blocker = Box::pin(blocker);
        assert!(poll_once(blocker.as_mut()).is_pending());
        running.recv().unwrap();
        (h, blocker, release)
    }

    #[tokio::test]
    async fn a_job_whose_caller_has_gone_is_skipped() {
        let (h, blocker, release) = one_busy_thread(4);
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));

        // Queued, then dropped before its turn: the client went away.
        let counter = Arc::clone(&ran);
        let mut gone = Box::pin(h.run(move |_, _| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        assert!(poll_once(gone.as_mut()).is_pending());
        drop(gone);
        // Queued after it, and awaited.
        let counter = Arc::clone(&ran);
        let waited = h.run(move |_, _| counter.fetch_add(10, std::sync::atomic::Ordering::SeqCst));

        release.send(()).unwrap();
        blocker.await.unwrap();
        waited.await.unwrap();

        assert_eq!(
            ran.load(std::sync::atomic::Ordering::SeqCst),
            10,
            "only the awaited job ran"
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let (h, blocker, release) = one_busy_thread(1);
        let mut queued = Box::pin(h.hash(password("waits its turn")));
        assert!(poll_once(queued.as_mut()).is_pending());

        // Answered on its first poll, without waiting for the thread.
        let mut refused = Box::pin(h.verify(password("one too many"), None));
        let answer = poll_once(refused.as_mut());

        assert!(
            matches!(
                answer,
                std::task::Poll::Ready(Err(DomainError::Busy {
                    retry_after_secs: BUSY_RETRY_AFTER_SECS
                }))
            ),
            "{answer:?}"
        );
        drop(refused);
        release.send(()).unwrap();
        blocker.await.unwrap();
        assert!(queued.await.unwrap().starts_with("$argon2id$"));
        assert!(!h.verify(password("room again"), None).await.unwrap());
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = issue_token().unwrap();
        let b = issue_token().unwrap();
        assert_eq!(a.token.len(), 43);
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash, hash_token(&a.token));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token));
    }
}
