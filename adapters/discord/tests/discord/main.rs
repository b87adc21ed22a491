//! The Discord adapter end to end: signed interactions and gateway
//! dispatches in, a fake Discord REST API (checked against Discord's
//! specification) out, on SQLite and PostgreSQL.

mod access;
mod after;
mod cross;
mod flows;
mod gateway;
mod helpers;
mod late;
mod notes;
mod robust;
mod transcripts;
