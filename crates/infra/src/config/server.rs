//! `[server]`: the HTTP server's address, workers, body limit, shutdown grace
//! and the HTTP behaviour every route shares (CORS).

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::{ConfigError, list, rule};

/// HTTP server settings (`[server]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Worker threads; 0 means one per CPU.
    pub workers: usize,
    /// Largest accepted JSON body, in bytes.
    pub json_body_limit_bytes: usize,
    /// How long in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
    /// How long a request body may take to arrive, in seconds (then 408).
    #[serde(default = "default_body_timeout_secs")]
    pub body_timeout_secs: u64,
    /// Open connections at most, over all workers (each takes an equal share,
    /// rounded up); further connections wait in the listen queue.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Origins (`https://app.example.com`) whose browsers may call the API
    /// (CORS); empty: no CORS headers at all. In the environment, comma-separated.
    #[serde(default, deserialize_with = "list")]
    pub cors_allowed_origins: Vec<String>,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the
    /// client; from any other peer the header is ignored. In the environment,
    /// comma-separated.
    #[serde(default, deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
    /// Send `Strict-Transport-Security` (only behind HTTPS: browsers then refuse
    /// plain HTTP to this host for two years).
    #[serde(default)]
    pub hsts: bool,
}

fn default_body_timeout_secs() -> u64 {
    10
}

fn default_max_connections() -> usize {
    1000
}

impl ServerSettings {
    /// [`Self::body_timeout_secs`] as a duration.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.json_body_limit_bytes == 0 {
            return rule("server.json_body_limit_bytes", "must be at least 1");
        }
        if self.body_timeout_secs == 0 {
            return rule("server.body_timeout_secs", "must be at least 1");
        }
        if self.max_connections == 0 {
            return rule("server.max_connections", "must be at least 1");
        }
        if let Some(bad) = self.cors_allowed_origins.iter().find(|o| !is_origin(o)) {
            return Err(ConfigError::Rule {
                setting: "server.cors_allowed_origins",
                problem: format!(
                    "has {bad:?}, which is not an origin: `http(s)://host[:port]`, without a \
                     path or a trailing slash"
                ),
            });
        }
        if let Some(bad) = self
            .trusted_proxies
            .iter()
            .find(|p| parse_network(p).is_none())
        {
            return Err(ConfigError::Rule {
                setting: "server.trusted_proxies",
                problem: format!(
                    "has {bad:?}, which is neither an IP address nor a CIDR range (10.0.0.0/8)"
                ),
            });
        }
        Ok(())
    }

    /// [`Self::trusted_proxies`], parsed (checked at load).
    pub fn trusted_proxy_networks(&self) -> Vec<IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| parse_network(p))
            .collect()
    }
}

/// `10.0.0.0/8`, `fd00::/8`, or one address (`10.1.2.3`: a /32).
fn parse_network(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// `http://host[:port]` or `https://host[:port]`, as a browser sends it in
/// `Origin` (so no path, no trailing slash, no wildcard).
fn is_origin(origin: &str) -> bool {
    let Some(authority) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    // `[v6]:port` or `host:port`, the port optional.
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, "")) => (v6, None),
            Some((v6, tail)) => (v6, Some(tail.strip_prefix(':').unwrap_or("x"))),
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::super::testing::load;
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for good in [
            "https://app.example.com",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "*",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "ftp://example.com",
            "https://",
            "https://example.com:port",
            "https://exa mple.com",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn body_timeout_and_connection_cap_are_at_least_one() {
        let defaults = load(&[]).unwrap().server;
        assert_eq!(defaults.body_timeout_secs, 10);
        assert_eq!(defaults.max_connections, 1000);
        for (variable, setting) in [
            ("APP__SERVER__BODY_TIMEOUT_SECS", "server.body_timeout_secs"),
            ("APP__SERVER__MAX_CONNECTIONS", "server.max_connections"),
        ] {
            let err = load(&[(variable, "0")]).unwrap_err();
            assert!(err.to_string().contains(setting), "{err}");
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let settings =
            load(&[("APP__SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]).unwrap();
        let networks = settings.server.trusted_proxy_networks();
        assert_eq!(networks.len(), 3);
        assert!(networks[0].contains(&"10.9.8.7".parse::<IpAddr>().unwrap()));
        assert!(networks[1].contains(&"127.0.0.1".parse::<IpAddr>().unwrap()));
        assert!(!networks[1].contains(&"127.0.0.2".parse::<IpAddr>().unwrap()));
        let err = load(&[("APP__SERVER__TRUSTED_PROXIES", "10.0.0.0/33")]).unwrap_err();
        assert!(err.to_string().contains("server.trusted_proxies"), "{err}");
    }

    #[test]
    fn cors_origins_come_comma_separated_from_the_environment() {
        let settings = load(&[(
            "APP__SERVER__CORS_ALLOWED_ORIGINS",
            "https://a.example.com, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(
            settings.server.cors_allowed_origins,
            ["https://a.example.com", "http://localhost:3000"]
        );
        assert!(load(&[]).unwrap().server.cors_allowed_origins.is_empty());
        let err = load(&[(
            "APP__SERVER__CORS_ALLOWED_ORIGINS",
            "https://a.example.com/",
        )])
        .unwrap_err();
        assert!(
            err.to_string().contains("server.cors_allowed_origins"),
            "{err}"
        );
    }
}
