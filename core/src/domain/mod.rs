//! Pure domain types and rules: no I/O, unit-tested inline.

pub mod access;
pub mod input;
pub mod model;
pub mod parse;
pub mod platform;
pub mod status;
pub mod visibility;

pub use access::{Action, Role};
pub use input::{
    clean_text, is_invisible, AttachmentMeta, Email, MessageBody, Name, Subject, ValidationError,
    MAX_ATTACHMENTS, MAX_COMMENT_CHARS, MAX_MESSAGE_CHARS, MAX_SUBJECT_CHARS,
};
pub use model::*;
pub use parse::ParseError;
pub use platform::{Platform, PlatformIdentity};
pub use status::{DelegateStatus, Status};
pub use visibility::{may_show, staff_note, Shown, SurfaceKind};
