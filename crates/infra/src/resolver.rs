//! Name resolution for outgoing webhooks, behind a trait so tests can map
//! names to the addresses they choose; and the SSRF guard over it: every
//! address a name resolves to must be public ([`is_forbidden_address`]), and
//! the addresses checked are the ones connected to.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use domain::DomainError;
use domain::webhooks::{forbidden_url, is_forbidden_address};

/// Resolves host names to addresses.
#[async_trait::async_trait]
pub trait Resolver: Send + Sync + fmt::Debug {
    /// The addresses of `host` (a name, never an IP literal) at `port`.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// The system's resolver (`getaddrinfo`, through tokio).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// A fixed table of names (tests): a name it does not know does not resolve.
#[derive(Clone, Debug, Default)]
pub struct StaticResolver {
    hosts: Arc<std::sync::RwLock<BTreeMap<String, Vec<IpAddr>>>>,
}

impl StaticResolver {
    /// Makes `host` resolve to `addresses` from now on.
    pub fn set(&self, host: &str, addresses: &[IpAddr]) {
        if let Ok(mut hosts) = self.hosts.write() {
            hosts.insert(host.to_ascii_lowercase(), addresses.to_vec());
        }
    }
}

#[async_trait::async_trait]
impl Resolver for StaticResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let found = self
            .hosts
            .read()
            .ok()
            .and_then(|hosts| hosts.get(&host.to_ascii_lowercase()).cloned());
        match found {
            Some(ips) => Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{host} is not in the test resolver's table"),
            )),
        }
    }
}

/// Why a host may not be connected to.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// It is, or resolves to, a refused address.
    #[error("{0} is a private, loopback or link-local address: refused")]
    Forbidden(IpAddr),
    /// It did not resolve.
    #[error("cannot resolve the host: {0}")]
    Lookup(#[source] std::io::Error),
}

/// The SSRF guard: a resolver and whether private networks are allowed.
#[derive(Clone, Debug)]
pub struct UrlGuard {
    resolver: Arc<dyn Resolver>,
    allow_private_networks: bool,
}

impl UrlGuard {
    /// A guard over `resolver`.
    pub fn new(resolver: Arc<dyn Resolver>, allow_private_networks: bool) -> Self {
        Self {
            resolver,
            allow_private_networks,
        }
    }

    /// Whether private networks are allowed (no checks at all).
    pub fn allows_private_networks(&self) -> bool {
        self.allow_private_networks
    }

    /// The addresses to connect to for `host` at `port`: an IP literal as is,
    /// a name resolved; `Forbidden` when any of them is refused (a name with
    /// one public and one private address is refused: the connector could
    /// pick either).
    pub async fn addresses(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addresses = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => self
                .resolver
                .resolve(bare, port)
                .await
                .map_err(GuardError::Lookup)?,
        };
        if !self.allow_private_networks
            && let Some(bad) = addresses.iter().find(|a| is_forbidden_address(a.ip()))
        {
            return Err(GuardError::Forbidden(bad.ip()));
        }
        if addresses.is_empty() {
            return Err(GuardError::Lookup(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no addresses",
            )));
        }
        Ok(addresses)
    }

    /// The check when a webhook's URL is saved: 422 `WEBHOOK_URL_FORBIDDEN`
    /// for a refused address. A name that does not resolve (yet) is accepted:
    /// every delivery checks again when it connects.
    pub async fn check_url(&self, url: &str) -> Result<(), DomainError> {
        if self.allow_private_networks {
            return Ok(());
        }
        let Some((host, port)) = domain::webhooks::host_and_port(url) else {
            return Ok(());
        };
        match self.addresses(&host, port).await {
            Err(GuardError::Forbidden(ip)) => Err(forbidden_url(ip)),
            Ok(_) | Err(GuardError::Lookup(_)) => Ok(()),
        }
    }
}
