//! Where rendered emails go: an SMTP relay (lettre) when `smtp.host` is set,
//! else the log.

use std::fmt;
use std::time::Duration;

use domain::OutboxMessageId;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::render::RenderedEmail;
use crate::config::{Settings, SmtpSettings, SmtpTls};

/// Why an email was not handed over; the text is stored as the message's
/// `last_error`, so it never carries the body.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    message: String,
    permanent: bool,
}

impl SendError {
    /// A failure that may pass (a 4xx reply, a connection that failed, ...).
    fn transient(message: String) -> Self {
        Self {
            message,
            permanent: false,
        }
    }

    /// A failure that sending again will not change (a 5xx reply, an address
    /// that cannot be written in an email).
    fn permanent(message: String) -> Self {
        Self {
            message,
            permanent: true,
        }
    }

    /// Whether retrying is pointless: the relay refused the email for good
    /// (an SMTP 5xx reply), or the email cannot be built.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }
}

/// Why a sender could not be set up from the settings.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up SMTP delivery: {0}")]
pub struct SenderSetupError(String);

/// Delivers rendered emails.
#[derive(Clone)]
pub enum Sender {
    /// Writes each email to the log at info level instead of sending it. With
    /// `include_body` false (production) the body, which holds the token, is left out.
    Log {
        /// Log the body too (outside production).
        include_body: bool,
    },
    /// Hands each email to an SMTP relay (boxed: the transport is large).
    Smtp(Box<SmtpSender>),
}

/// An SMTP relay and the sender address.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

impl Sender {
    /// SMTP when `smtp.host` is set, else the log (body included outside
    /// production). `timeout` bounds each SMTP command.
    pub fn from_settings(settings: &Settings, timeout: Duration) -> Result<Self, SenderSetupError> {
        match settings.smtp.relay() {
            Some(host) => Ok(Self::Smtp(Box::new(SmtpSender::new(
                &settings.smtp,
                host,
                timeout,
            )?))),
            None => Ok(Self::Log {
                include_body: !settings.is_production(),
            }),
        }
    }

    /// Sends `email`; `id` becomes its `Message-ID`, so that a copy sent again
    /// after a crash can be recognised as the same message.
    pub async fn send(&self, id: OutboxMessageId, email: &RenderedEmail) -> Result<(), SendError> {
        match self {
            Self::Log { include_body: true } => {
                tracing::info!(
                    message_id = %id,
                    to = %email.to,
                    subject = %email.subject,
                    // Debug keeps the entry on one line (`\n` escaped).
                    body = ?email.body,
                    "email logged, not sent (no SMTP relay configured)"
                );
                Ok(())
            }
            Self::Log {
                include_body: false,
            } => {
                tracing::info!(
                    message_id = %id,
                    to = %email.to,
                    subject = %email.subject,
                    "email logged without its body, not sent (no SMTP relay configured)"
                );
                Ok(())
            }
            Self::Smtp(smtp) => smtp.send(id, email).await,
        }
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Log { include_body } => f
                .debug_struct("Log")
                .field("include_body", include_body)
                .finish(),
            Self::Smtp(smtp) => f
                .debug_struct("Smtp")
                .field("relay", &smtp.relay)
                .field("from", &smtp.from.to_string())
                .finish(),
        }
    }
}

impl SmtpSender {
    fn new(
        settings: &SmtpSettings,
        host: &str,
        timeout: Duration,
    ) -> Result<Self, SenderSetupError> {
        let setup = |e: &dyn fmt::Display| SenderSetupError(e.to_string());
        let from: Mailbox = settings.from.parse().map_err(|e| setup(&e))?;
        let port = settings.effective_port();
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => {
                Tls::Required(TlsParameters::new(host.to_owned()).map_err(|e| setup(&e))?)
            }
            SmtpTls::Tls => {
                Tls::Wrapper(TlsParameters::new(host.to_owned()).map_err(|e| setup(&e))?)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password)
            && !user.is_empty()
        {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            relay: format!("{host}:{port} ({:?})", settings.tls).to_lowercase(),
        })
    }

    async fn send(&self, id: OutboxMessageId, email: &RenderedEmail) -> Result<(), SendError> {
        let to: Address = email
            .to
            .parse()
            .map_err(|e| SendError::permanent(format!("bad recipient address: {e}")))?;
        let message = Message::builder()
            .message_id(Some(format!("<{id}@{}>", self.from.email.domain())))
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(email.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))?;
        self.transport.send(message).await.map(drop).map_err(|e| {
            let message = format!("SMTP {}: {e}", self.relay);
            if e.is_permanent() {
                SendError::permanent(message)
            } else {
                SendError::transient(message)
            }
        })
    }
}
