//! The e-mail channel end to end: engine events out through the real SMTP
//! client to a local SMTP sink, mails parsed and checked, on SQLite and
//! PostgreSQL.

mod inbound;
mod outbound;
