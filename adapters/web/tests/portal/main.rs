//! HTTP-level tests of the portal against the real engine, on SQLite and
//! PostgreSQL: every route, the rights (another person's ticket is 404),
//! sessions, CSRF and escaping.

mod flows;
mod helpers;
mod links;
mod ratings;
mod rights;
