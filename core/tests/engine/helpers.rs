//! Test helpers: a fresh engine per test on SQLite (a temporary file in WAL
//! mode) or PostgreSQL (a schema of its own in the test database), plus
//! shortcuts for the people every story needs.

use rstest_reuse::template;
pub use threadesk_core::testing::{harness, harness_with, Harness, Kind};

/// Every behavioural test runs once per backend.
#[template]
#[rstest]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
pub fn backends(#[case] kind: Kind) {}
