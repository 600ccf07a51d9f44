//! `[smtp]`: the relay outbox emails go through, its TLS mode and credentials;
//! the password is masked wherever the settings are shown.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// How the SMTP connection is secured (`smtp.tls`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text throughout: only for a relay on the same host or network.
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, "implicit TLS").
    Tls,
}

impl SmtpTls {
    /// The customary port for the mode: 25, 587 or 465.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

/// SMTP settings (`[smtp]`). Emails go through SMTP when `host` is set, else
/// they are written to the log.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// The relay's host name (also the name its TLS certificate must carry).
    pub host: Option<String>,
    /// The relay's port; unset: 25, 587 or 465 by `tls`.
    pub port: Option<u16>,
    /// User name for SMTP AUTH; unset: no authentication.
    pub username: Option<String>,
    /// Password for SMTP AUTH.
    pub password: Option<String>,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTls,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            username: None,
            password: None,
            from: "Groundwork <no-reply@localhost>".to_owned(),
            tls: SmtpTls::default(),
        }
    }
}

impl SmtpSettings {
    /// The relay's host, when one is configured (blank counts as unset).
    pub fn relay(&self) -> Option<&str> {
        self.host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
    }

    /// The port to connect to.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.tls.default_port())
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.port == Some(0) {
            return rule("smtp.port", "must be from 1 to 65535");
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return rule("smtp.from", "must be an address or `Name <address>`");
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.is_empty());
        if blank(&self.username) != blank(&self.password) {
            return rule("smtp.username", "and smtp.password must be set together");
        }
        Ok(())
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.effective_port())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("tls", &self.tls)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::load;

    #[test]
    fn smtp_defaults_and_overrides() {
        assert_eq!(SmtpSettings::default().effective_port(), 587);
        let settings = load(&[
            ("APP__SMTP__HOST", "mail.example.com"),
            ("APP__SMTP__TLS", "tls"),
        ])
        .unwrap();
        assert_eq!(settings.smtp.relay(), Some("mail.example.com"));
        assert_eq!(settings.smtp.effective_port(), 465);
        let blank = load(&[("APP__SMTP__HOST", "  ")]).unwrap();
        assert_eq!(blank.smtp.relay(), None);
    }

    #[test]
    fn bad_smtp_values_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("APP__SMTP__TLS", "ssl")], "tls"),
            (&[("APP__SMTP__PORT", "0")], "smtp.port"),
            (&[("APP__SMTP__FROM", "not an address")], "smtp.from"),
            (&[("APP__SMTP__USERNAME", "u")], "smtp.username"),
        ];
        for (vars, setting) in cases {
            let err = load(vars).unwrap_err().to_string();
            assert!(err.contains(setting), "{vars:?}: {err}");
        }
    }

    #[test]
    fn the_smtp_password_is_masked() {
        let smtp = SmtpSettings {
            host: Some("mail.example.com".to_owned()),
            username: Some("app".to_owned()),
            password: Some("hunter2".to_owned()),
            ..SmtpSettings::default()
        };
        let shown = format!("{smtp:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}
