//! Test helpers: a fresh engine per test on SQLite (a temporary file in WAL
//! mode) or PostgreSQL (a schema of its own in the test database), plus
//! shortcuts for the people every story needs.

pub use threadesk_core::testing::{harness, harness_with, Harness, Kind};

pub use threadesk_core::testing::backends;

/// A file's metadata as an upload leaves it (`text/plain`, at a made-up
/// address).
pub fn file(name: &str, size: u64) -> threadesk_core::domain::AttachmentMeta {
    threadesk_core::domain::AttachmentMeta {
        name: name.into(),
        content_type: "text/plain".into(),
        size_bytes: size,
        url: format!("https://files.example/{name}"),
    }
}
