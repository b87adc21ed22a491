//! Test helpers: a fresh engine per test on SQLite (a temporary file in WAL
//! mode) or PostgreSQL (a schema of its own in the test database), plus
//! shortcuts for the people every story needs.

pub use threadesk_core::testing::{harness, harness_with, Harness, Kind};

pub use threadesk_core::testing::backends;
