//! Parse, don't validate: text from people becomes a domain type or a
//! [`ValidationError`] a person can read.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The longest subject, in characters (after trimming).
pub const MAX_SUBJECT_CHARS: usize = 200;
/// The longest message body, in characters.
pub const MAX_MESSAGE_CHARS: usize = 16_000;
/// The longest name (person, organization, department), in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest attachment file name, in characters.
pub const MAX_ATTACHMENT_NAME_CHARS: usize = 255;
/// The longest attachment link, in characters.
pub const MAX_ATTACHMENT_URL_CHARS: usize = 2_048;
/// The most attachments on one message.
pub const MAX_ATTACHMENTS: usize = 10;

/// Why some input was refused, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum ValidationError {
    /// The subject is empty after trimming.
    #[error("the subject cannot be empty")]
    EmptySubject,
    /// The subject is too long.
    #[error("the subject is {0} characters long; the limit is {MAX_SUBJECT_CHARS}")]
    SubjectTooLong(usize),
    /// The message is empty.
    #[error("the message cannot be empty")]
    EmptyMessage,
    /// The message is too long.
    #[error("the message is {0} characters long; the limit is {MAX_MESSAGE_CHARS}")]
    MessageTooLong(usize),
    /// A name is empty or too long.
    #[error("a name must be 1 to {MAX_NAME_CHARS} characters long")]
    BadName,
    /// Not an e-mail address.
    #[error("{0:?} is not an e-mail address")]
    BadEmail(String),
    /// Too many attachments.
    #[error("at most {MAX_ATTACHMENTS} attachments per message ({0} given)")]
    TooManyAttachments(usize),
    /// An attachment's name is empty, too long or not a plain file name.
    #[error("attachment name {0:?} is not allowed: use 1 to {MAX_ATTACHMENT_NAME_CHARS} characters without slashes or control characters")]
    BadAttachmentName(String),
    /// An attachment is larger than the configured limit.
    #[error("attachment {name:?} is {size} bytes; the limit is {limit} bytes")]
    AttachmentTooLarge {
        /// The file name.
        name: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An attachment's type or link is missing or too long.
    #[error("attachment {0:?} needs a content type and a link of at most {MAX_ATTACHMENT_URL_CHARS} characters")]
    BadAttachmentLink(String),
    /// A rating outside 1 to 5.
    #[error("a rating is 1 to 5 stars ({0} given)")]
    BadScore(i64),
    /// A rating's comment is too long.
    #[error("the comment is {0} characters long; the limit is {MAX_COMMENT_CHARS}")]
    CommentTooLong(usize),
}

/// The longest comment a rating may carry.
pub const MAX_COMMENT_CHARS: usize = 2_000;

fn char_count(s: &str) -> usize {
    s.chars().count()
}

/// Text as people may write it, the same on every surface and both
/// databases: control characters other than line breaks and tabs (NUL
/// among them) are removed.
pub fn clean_text(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .collect()
}

/// Characters that show nothing: white space and invisible formatting
/// (zero-width spaces and joiners, word joiners, the byte-order mark, soft
/// hyphens, Hangul fillers).
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
        )
}

/// Blank: nothing but invisible characters.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(is_invisible)
}

/// A ticket subject: trimmed, 1..=200 characters, on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject(String);

impl Subject {
    /// Trims and checks a subject; inner line breaks become spaces.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let one_line: String = clean_text(raw)
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let s = one_line.trim();
        if is_blank(s) {
            return Err(ValidationError::EmptySubject);
        }
        match char_count(s) {
            0 => Err(ValidationError::EmptySubject),
            n if n > MAX_SUBJECT_CHARS => Err(ValidationError::SubjectTooLong(n)),
            _ => Ok(Subject(s.to_owned())),
        }
    }

    /// The subject text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message body: 1..=16 000 characters, not blank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBody(String);

impl MessageBody {
    /// Checks a body; it is kept as typed (trailing white space trimmed,
    /// control characters other than line breaks and tabs removed).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let cleaned = clean_text(raw);
        let s = cleaned.trim_end();
        if is_blank(s) {
            return Err(ValidationError::EmptyMessage);
        }
        match char_count(s) {
            n if n > MAX_MESSAGE_CHARS => Err(ValidationError::MessageTooLong(n)),
            _ => Ok(MessageBody(s.to_owned())),
        }
    }

    /// The body text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name of a person, organization or department: trimmed, 1..=100 chars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name(String);

impl Name {
    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim();
        if s.is_empty() || char_count(s) > MAX_NAME_CHARS || s.chars().any(char::is_control) {
            return Err(ValidationError::BadName);
        }
        Ok(Name(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// A deliberately plain check: one `@`, a dot in the domain, no spaces.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim().to_lowercase();
        let bad = || ValidationError::BadEmail(raw.trim().to_owned());
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        // a host name of labels: no address literals (`[127.0.0.1]`), no
        // empty labels, letters, digits and inner hyphens only.
        let labels_ok = domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        let ok = !local.is_empty()
            && domain.contains('.')
            && labels_ok
            && s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Email(s))
        } else {
            Err(bad())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Metadata of one attachment; the bytes stay on the platform or in a blob
/// store and are reached through `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    /// The file name as shown to people.
    pub name: String,
    /// Its media type, e.g. `image/png`.
    pub content_type: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Where the bytes are.
    pub url: String,
}

impl AttachmentMeta {
    /// Checks one attachment against the bounds (`max_bytes` is configurable).
    pub fn parse(raw: AttachmentMeta, max_bytes: u64) -> Result<Self, ValidationError> {
        let name = raw.name.trim().to_owned();
        let n = char_count(&name);
        if n == 0
            || n > MAX_ATTACHMENT_NAME_CHARS
            || name == "."
            || name == ".."
            || name
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            return Err(ValidationError::BadAttachmentName(raw.name));
        }
        if raw.size_bytes > max_bytes {
            return Err(ValidationError::AttachmentTooLarge {
                name,
                size: raw.size_bytes,
                limit: max_bytes,
            });
        }
        let ctype = raw.content_type.trim();
        let url = raw.url.trim();
        if ctype.is_empty()
            || ctype.len() > 255
            || url.is_empty()
            || url.len() > MAX_ATTACHMENT_URL_CHARS
        {
            return Err(ValidationError::BadAttachmentLink(name));
        }
        Ok(AttachmentMeta {
            name,
            content_type: ctype.to_owned(),
            size_bytes: raw.size_bytes,
            url: url.to_owned(),
        })
    }

    /// Checks a list of attachments.
    pub fn parse_all(
        raw: Vec<AttachmentMeta>,
        max_bytes: u64,
    ) -> Result<Vec<Self>, ValidationError> {
        if raw.len() > MAX_ATTACHMENTS {
            return Err(ValidationError::TooManyAttachments(raw.len()));
        }
        raw.into_iter().map(|a| Self::parse(a, max_bytes)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_host_names_not_literals() {
        assert!(Email::parse("bob@acme.example").is_ok());
        assert!(Email::parse("bob@bücher.example").is_ok());
        for bad in [
            "bob@[127.0.0.1]",
            "bob@acme..example",
            "bob@-acme.example",
            "bob@acme_x.example",
            "bob@acme.example.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn control_and_invisible_characters_are_decided_once() {
        assert_eq!(
            MessageBody::parse("a\0b\u{7}c\r\nd\te").unwrap().as_str(),
            "abc\r\nd\te"
        );
        assert_eq!(
            MessageBody::parse("\0\0"),
            Err(ValidationError::EmptyMessage)
        );
        assert_eq!(
            MessageBody::parse("\u{200B}\u{FEFF} \u{2060}"),
            Err(ValidationError::EmptyMessage)
        );
        assert_eq!(
            Subject::parse("\u{200B}\u{200C}\u{200D}"),
            Err(ValidationError::EmptySubject)
        );
        assert_eq!(Subject::parse("VPN\0 down").unwrap().as_str(), "VPN down");
        assert_eq!(Subject::parse("VPN\ndown").unwrap().as_str(), "VPN down");
        // invisible characters inside real text stay (emoji sequences use them).
        assert_eq!(
            MessageBody::parse("👩\u{200D}💻 ok").unwrap().as_str(),
            "👩\u{200D}💻 ok"
        );
    }

    #[test]
    fn subject_is_trimmed_and_bounded() {
        assert_eq!(
            Subject::parse("  VPN down \n").unwrap().as_str(),
            "VPN down"
        );
        assert_eq!(Subject::parse("a\nb").unwrap().as_str(), "a b");
        assert_eq!(Subject::parse("   "), Err(ValidationError::EmptySubject));
        assert!(Subject::parse(&"x".repeat(200)).is_ok());
        assert_eq!(
            Subject::parse(&"é".repeat(201)),
            Err(ValidationError::SubjectTooLong(201))
        );
    }

    #[test]
    fn message_is_one_to_sixteen_thousand_characters() {
        assert_eq!(
            MessageBody::parse(" \n "),
            Err(ValidationError::EmptyMessage)
        );
        assert!(MessageBody::parse(&"x".repeat(16_000)).is_ok());
        assert_eq!(
            MessageBody::parse(&"x".repeat(16_001)),
            Err(ValidationError::MessageTooLong(16_001))
        );
        assert_eq!(
            MessageBody::parse("  indented\n").unwrap().as_str(),
            "  indented"
        );
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@localhost",
            "a b@x.com",
            "a@x.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    fn file(name: &str, size: u64) -> AttachmentMeta {
        AttachmentMeta {
            name: name.into(),
            content_type: "text/plain".into(),
            size_bytes: size,
            url: "https://files.example/1".into(),
        }
    }

    #[test]
    fn attachments_are_bounded() {
        assert!(AttachmentMeta::parse(file("log.txt", 10), 100).is_ok());
        assert!(matches!(
            AttachmentMeta::parse(file("log.txt", 101), 100),
            Err(ValidationError::AttachmentTooLarge { .. })
        ));
        for bad in ["", "../etc/passwd", "a\\b", "..", "a\u{0}b"] {
            assert!(AttachmentMeta::parse(file(bad, 1), 100).is_err(), "{bad:?}");
        }
        let many = vec![file("a", 1); MAX_ATTACHMENTS + 1];
        assert_eq!(
            AttachmentMeta::parse_all(many, 100),
            Err(ValidationError::TooManyAttachments(MAX_ATTACHMENTS + 1))
        );
    }
}
