//! The behavioural suite of the engine. Every story runs on SQLite and on
//! PostgreSQL, each test on a database of its own.

mod after;
mod concurrency;
mod connections;
mod delegates;
mod helpers;
mod model;
mod outbox;
mod people;
mod rights;
mod saved_replies;
mod schema;
mod search;
mod service;
mod surfaces;
mod thread_pages;
mod tickets;
mod timeline;
mod transcripts;
mod views;
