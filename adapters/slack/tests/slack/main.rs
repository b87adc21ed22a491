//! The Slack adapter end to end: signed requests in, a fake Slack Web API
//! (checked against Slack's specification) out, on SQLite and PostgreSQL.

mod fake;
mod flows;
mod helpers;
mod security;
mod socket;
