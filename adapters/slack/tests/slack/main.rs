//! The Slack adapter end to end: signed requests in, a fake Slack Web API
//! (checked against Slack's specification) out, on SQLite and PostgreSQL.

mod after;
mod flows;
mod helpers;
mod late;
mod more;
mod robust;
mod security;
mod socket;
mod transcripts;
