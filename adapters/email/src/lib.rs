//! The e-mail channel: ticket mail over SMTP.
//!
//! The outbox consumer `email` sends a confirmation with the ticket number
//! to the requester, a notification of each public reply and status change
//! to the requester and accepted delegates who have an e-mail address and
//! have not seen it in a chat thread already (never for their own message),
//! and delegate invitations. Every mail threads with the ticket's earlier
//! mails (`Message-ID`, `In-Reply-To`, `References`), says it was sent
//! automatically (`Auto-Submitted: auto-generated`) and carries a reply
//! address signed for that recipient and that ticket ([`token`]).
#![forbid(unsafe_code)]

pub mod config;
mod error;
pub mod inbound;
pub mod mail;
pub mod outbound;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;

pub use config::{EmailConfig, Security};
pub use error::MailError;
pub use inbound::router;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;
use threadesk_core::Engine;
use tokio::sync::Notify;

/// The outbox consumer name of the e-mail channel.
pub const CONSUMER: &str = "email";

/// The channel, shared by the outbox worker (and, later, the inbound route).
#[derive(Clone)]
pub struct EmailAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    config: EmailConfig,
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    wake: Notify,
    /// Where attachments of e-mailed replies are kept (none: not kept).
    blobs: Option<threadesk_core::blobs::BlobStore>,
}

impl EmailAdapter {
    /// The channel over an engine; call [`EmailAdapter::connect`] before use.
    pub fn new(engine: Engine, config: EmailConfig) -> Result<Self, MailError> {
        let tls = |host: &str| TlsParameters::new(host.to_owned()).map_err(MailError::Tls);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(Duration::from_secs(30)));
        builder = match config.security {
            Security::Tls => builder.tls(Tls::Wrapper(tls(&config.host)?)),
            Security::StartTls => builder.tls(Tls::Required(tls(&config.host)?)),
            Security::None => builder.tls(Tls::None),
        };
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(EmailAdapter {
            inner: Arc::new(Inner {
                engine,
                config,
                mailer: builder.build(),
                wake: Notify::new(),
                blobs: None,
            }),
        })
    }

    /// Keeps attachments of e-mailed replies in `store` (the portal's),
    /// where the portal serves them to those who may see the ticket.
    pub fn with_blobs(mut self, store: threadesk_core::blobs::BlobStore) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.blobs = Some(store),
            None => tracing::warn!(
                "attachment store set after the channel was shared; e-mailed attachments are not kept"
            ),
        }
        self
    }

    /// Registers the outbox consumer and says whether the SMTP server
    /// answers (mail waits in the outbox while it does not).
    pub async fn connect(&self) -> Result<bool, threadesk_core::EngineError> {
        threadesk_core::outbox::Outbox::new(self.engine().db().clone())
            .register(CONSUMER)
            .await?;
        Ok(match self.inner.mailer.test_connection().await {
            Ok(up) => up,
            Err(e) => {
                tracing::warn!(error = %e, "smtp server not reachable yet; mail waits in the outbox");
                false
            }
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The settings.
    pub fn config(&self) -> &EmailConfig {
        &self.inner.config
    }

    /// Sends one ticket mail; a failure says why and whether it is for good
    /// (a 5xx, or a mail that cannot be built).
    pub(crate) async fn send_mail(&self, mail: &mail::TicketMail) -> Result<(), (String, bool)> {
        use lettre::AsyncTransport;
        let message = mail
            .build(self.config())
            .map_err(|e| (e.to_string(), true))?;
        self.inner
            .mailer
            .send(message)
            .await
            .map(drop)
            .map_err(|e| (e.to_string(), e.is_permanent()))
    }

    /// Wakes the outbox worker.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }
}
