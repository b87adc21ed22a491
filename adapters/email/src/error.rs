//! Why the e-mail channel could not be set up or a mail could not go out.

use lettre::address::AddressError;

/// What went wrong reading `SMTP_URL`, setting up the SMTP client, or
/// building or sending a mail. Its text is the sentence people see.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// `SMTP_URL` is not a URL.
    #[error("not a URL: {0}")]
    NotAUrl(url::ParseError),
    /// `SMTP_URL` names no host.
    #[error("has no host")]
    NoHost,
    /// `SMTP_URL` has a scheme and `tls` setting that mean nothing here.
    #[error(
        "`{scheme}://` with tls={tls:?} is not understood (smtp://, smtps://, or smtp://…?tls=none)"
    )]
    UnknownSecurity {
        /// The URL's scheme.
        scheme: String,
        /// Its `tls` query value, if any.
        tls: Option<String>,
    },
    /// The user or password in `SMTP_URL` is not valid percent-encoding.
    #[error("bad percent-encoding")]
    BadPercentEncoding,
    /// TLS could not be set up for the SMTP host.
    #[error("{0}")]
    Tls(lettre::transport::smtp::Error),
    /// `MAIL_FROM` is not a mailbox.
    #[error("MAIL_FROM: {0}")]
    BadSender(AddressError),
    /// The recipient's address is not an address.
    #[error("{address}: {reason}")]
    BadRecipient {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: AddressError,
    },
    /// The reply address made for the recipient is not an address.
    #[error("reply address: {0}")]
    BadReplyAddress(AddressError),
    /// The message could not be put together.
    #[error("{0}")]
    Build(lettre::error::Error),
    /// The SMTP server did not take the message.
    #[error("{0}")]
    Send(lettre::transport::smtp::Error),
}
