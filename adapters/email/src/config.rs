//! What the e-mail channel needs to know, already parsed. The binary reads
//! it from the environment; tests build it by hand.

use crate::MailError;
use std::fmt;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    Tls,
    /// `smtp://`: STARTTLS, required (port 587 by default).
    StartTls,
    /// `smtp://…?tls=none`: no encryption, for a relay on the same host or
    /// network (and tests).
    None,
}

/// Where and how to reach the SMTP server, from `SMTP_URL`.
pub type SmtpTarget = (String, u16, Security, Option<(String, String)>);

/// The e-mail channel's settings.
#[derive(Clone)]
pub struct EmailConfig {
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// Connection security.
    pub security: Security,
    /// SMTP user and password, if the server wants them.
    pub credentials: Option<(String, String)>,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// The domain of reply addresses (`<local>+<token>@<domain>`).
    pub reply_domain: String,
    /// Signs reply addresses and links.
    pub secret: Vec<u8>,
    /// The portal's public address, for links in mails.
    pub public_url: String,
    /// Authenticates `POST /email/inbound` (off without it).
    pub inbound_secret: Option<Vec<u8>>,
}

impl EmailConfig {
    /// The local part of the sender's address, the base of reply addresses.
    pub fn from_local(&self) -> &str {
        let addr = self
            .from
            .rsplit_once('<')
            .map_or(self.from.as_str(), |(_, a)| a.trim_end_matches('>'));
        addr.split('@').next().unwrap_or("support").trim()
    }

    /// Parses `SMTP_URL`: `smtp://user:pass@host:587` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS), `smtp://host:25?tls=none` (plain).
    pub fn parse_smtp_url(raw: &str) -> Result<SmtpTarget, MailError> {
        let url = url::Url::parse(raw.trim()).map_err(MailError::NotAUrl)?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(MailError::NoHost)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => Security::Tls,
            ("smtp", None | Some("required")) => Security::StartTls,
            ("smtp", Some("none")) => Security::None,
            (scheme, tls) => {
                return Err(MailError::UnknownSecurity {
                    scheme: scheme.to_owned(),
                    tls: tls.map(str::to_owned),
                })
            }
        };
        let port = url.port().unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        let decode = |s: &str| percent_encoding_decode(s).ok_or(MailError::BadPercentEncoding);
        let credentials = match url.password() {
            Some(p) => Some((decode(url.username())?, decode(p)?)),
            None => None,
        };
        Ok((host, port, security, credentials))
    }
}

fn percent_encoding_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let h = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(u, _)| (u, "***")),
            )
            .field("from", &self.from)
            .field("reply_domain", &self.reply_domain)
            .field("secret", &"<redacted>")
            .field("public_url", &self.public_url)
            .field(
                "inbound_secret",
                &self.inbound_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_say_host_port_security_and_login() {
        let (h, p, s, c) =
            EmailConfig::parse_smtp_url("smtp://me%40x.org:p%3Ass@mail.x.org").unwrap();
        assert_eq!((h.as_str(), p, s), ("mail.x.org", 587, Security::StartTls));
        assert_eq!(c, Some(("me@x.org".to_owned(), "p:ss".to_owned())));
        let (_, p, s, c) = EmailConfig::parse_smtp_url("smtps://mail.x.org").unwrap();
        assert_eq!((p, s, c), (465, Security::Tls, None));
        let (h, p, s, _) = EmailConfig::parse_smtp_url("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((h.as_str(), p, s), ("127.0.0.1", 2525, Security::None));
        assert!(EmailConfig::parse_smtp_url("http://mail.x.org").is_err());
        assert!(EmailConfig::parse_smtp_url("smtp://x?tls=maybe").is_err());
        assert!(EmailConfig::parse_smtp_url("mail.x.org").is_err());
    }

    #[test]
    fn the_reply_base_is_the_senders_local_part_and_secrets_stay_hidden() {
        let c = EmailConfig {
            host: "h".into(),
            port: 25,
            security: Security::None,
            credentials: Some(("u".into(), "hunter2".into())),
            from: "Acme Support <help@acme.test>".into(),
            reply_domain: "reply.acme.test".into(),
            secret: b"s3cret-value".to_vec(),
            public_url: "https://help.acme.test".into(),
            inbound_secret: Some(b"inbound-secret".to_vec()),
        };
        assert_eq!(c.from_local(), "help");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
