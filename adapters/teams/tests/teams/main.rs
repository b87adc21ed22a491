//! Stories of the Teams adapter against a fake Teams, each on SQLite and
//! PostgreSQL.

mod across;
mod after;
mod flows;
mod helpers;
mod manifest;
mod security;
