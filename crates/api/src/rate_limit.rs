//! Per-client-address rate limits (`[rate_limits]`) on the routes anyone can
//! call and that cost a password hash, an email or a row: a handler takes
//! [`RateLimit<L>`] as its first argument, before anything is read or hashed.
//!
//! Each limit is a keyed GCRA token bucket from `governor`: N requests per
//! address, refilled at N a minute. Over it is 429 `RATE_LIMITED` with
//! `Retry-After`. The buckets live in this process (a client spread over
//! several replicas gets the limit at each); they read the application's
//! clock, so tests move time instead of sleeping.

use std::marker::PhantomData;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use domain::Clock;
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use infra::config::{RateLimitSettings, ServerSettings};
use ipnet::IpNet;

use crate::error::ApiError;

/// What is limited: one bucket per client address for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `POST /v1/auth/sign-in`.
    SignIn,
    /// `POST /v1/auth/sign-up`.
    SignUp,
    /// `POST /v1/auth/password-reset/request` and `/confirm`, one bucket.
    PasswordReset,
    /// `POST /v1/auth/verify-email`.
    VerifyEmail,
    /// `POST /v1/invitations/accept`.
    InvitationAccept,
    /// `POST /v1/waitlist`.
    Waitlist,
}

impl Limit {
    const ALL: [Limit; 6] = [
        Limit::SignIn,
        Limit::SignUp,
        Limit::PasswordReset,
        Limit::VerifyEmail,
        Limit::InvitationAccept,
        Limit::Waitlist,
    ];

    fn per_minute(self, settings: &RateLimitSettings) -> u32 {
        match self {
            Limit::SignIn => settings.sign_in_per_minute,
            Limit::SignUp => settings.sign_up_per_minute,
            Limit::PasswordReset => settings.password_reset_per_minute,
            Limit::VerifyEmail => settings.verify_email_per_minute,
            Limit::InvitationAccept => settings.invitation_accept_per_minute,
            Limit::Waitlist => settings.waitlist_per_minute,
        }
    }
}

/// The limits handlers name in their signature (`RateLimit<limits::SignIn>`).
pub mod limits {
    use super::Limit;

    /// A [`Limit`] as a type, for [`super::RateLimit`].
    pub trait Named {
        /// The limit.
        const LIMIT: Limit;
    }

    macro_rules! named {
        ($($name:ident),+) => {$(
            #[doc = concat!("[`Limit::", stringify!($name), "`].")]
            #[derive(Debug)]
            pub struct $name;
            impl Named for $name {
                const LIMIT: Limit = Limit::$name;
            }
        )+};
    }

    named!(
        SignIn,
        SignUp,
        PasswordReset,
        VerifyEmail,
        InvitationAccept,
        Waitlist
    );
}

/// The application's clock as governor's: time since the Unix epoch.
#[derive(Clone, Debug)]
struct AppClock(Arc<dyn Clock>);

impl GovernorClock for AppClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        (self.0.now() - DateTime::<Utc>::UNIX_EPOCH)
            .to_std()
            .unwrap_or_default()
    }
}

type Bucket = RateLimiter<IpAddr, DashMapStateStore<IpAddr>, AppClock, NoOpMiddleware<Duration>>;

/// Forget addresses whose bucket is full again every this many checks, so the
/// map does not grow with every address ever seen.
const SWEEP_EVERY: u64 = 4096;

/// Every limit's buckets, and how to tell the client's address.
pub struct RateLimits {
    /// By [`Limit`] (in [`Limit::ALL`]'s order); `None` when disabled.
    buckets: Option<Vec<Bucket>>,
    proxies: Vec<IpNet>,
    clock: AppClock,
    checks: AtomicU64,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("enabled", &self.buckets.is_some())
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// From `[rate_limits]` and `server.trusted_proxies`, on `clock`.
    pub fn new(
        settings: &RateLimitSettings,
        server: &ServerSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let clock = AppClock(clock);
        let buckets = settings.enabled.then(|| {
            Limit::ALL
                .iter()
                .map(|limit| {
                    // Checked at load: at least 1.
                    let n = NonZeroU32::new(limit.per_minute(settings)).unwrap_or(NonZeroU32::MIN);
                    RateLimiter::dashmap_with_clock(Quota::per_minute(n), clock.clone())
                })
                .collect()
        });
        Self {
            buckets,
            proxies: server.trusted_proxy_networks(),
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one request from the client's bucket for `limit`; 429 with the
    /// wait when it is empty.
    fn check(&self, limit: Limit, req: &HttpRequest) -> Result<(), ApiError> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
            return Ok(());
        };
        let index = Limit::ALL.iter().position(|l| *l == limit).unwrap_or(0);
        let Some(bucket) = buckets.get(index) else {
            return Ok(());
        };
        let key = bucket_key(client_address(peer, req.headers(), &self.proxies));
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            for bucket in buckets {
                bucket.retain_recent();
                bucket.shrink_to_fit();
            }
        }
        bucket.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then
/// the nearest address in `X-Forwarded-For` (read from the right, where each
/// proxy appends the address it saw) that is not a trusted proxy itself. Every
/// entry left of that one could have been written by the client, so is not
/// believed. An entry that is not an address ends the walk.
fn client_address(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !trusted(&ip) {
            break;
        }
    }
    client
}

/// IPv4 as is; IPv6 by its /64, which one client usually holds whole (an
/// IPv4-mapped address counts as the IPv4 one).
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

/// Takes one request from the caller's bucket for `L`; 429 `RATE_LIMITED` with
/// `Retry-After` when it is empty. Put it first in a handler's arguments, so a
/// refused request reads nothing.
#[derive(Debug)]
pub struct RateLimit<L>(PhantomData<L>);

impl<L: limits::Named> FromRequest for RateLimit<L> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = match req.app_data::<Data<RateLimits>>() {
            Some(limits) => limits.check(L::LIMIT, req),
            None => Ok(()),
        };
        std::future::ready(checked.map(|()| Self(PhantomData)))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let headers = forwarded(&["6.6.6.6, 1.2.3.4"]);

        assert_eq!(
            client_address(ip("9.9.9.9"), &headers, &proxies),
            ip("9.9.9.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &proxies),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn the_walk_skips_trusted_hops_and_stops_at_garbage() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer = ip("10.0.0.1");

        let chained = forwarded(&["6.6.6.6", "1.2.3.4, 10.0.0.7"]);
        assert_eq!(client_address(peer, &chained, &proxies), ip("1.2.3.4"));
        let all_trusted = forwarded(&["10.0.0.9, 10.0.0.8"]);
        assert_eq!(client_address(peer, &all_trusted, &proxies), ip("10.0.0.9"));
        let garbage = forwarded(&["1.2.3.4, nonsense, 10.0.0.8"]);
        assert_eq!(client_address(peer, &garbage, &proxies), ip("10.0.0.8"));
        assert_eq!(client_address(peer, &HeaderMap::new(), &proxies), peer);
    }

    #[test]
    fn ipv6_clients_share_their_64_and_mapped_v4_is_v4() {
        assert_eq!(
            bucket_key(ip("2001:db8:1:2:aaaa::1")),
            bucket_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            bucket_key(ip("2001:db8:1:2::1")),
            bucket_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(bucket_key(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
    }
}
