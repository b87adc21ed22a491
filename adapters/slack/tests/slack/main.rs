//! The Slack adapter end to end: signed requests in, a fake Slack Web API
//! (checked against Slack's specification) out, on SQLite and PostgreSQL.

mod flows;
mod helpers;
mod more;
mod robust;
mod security;
mod socket;
