//! The chat layer across platforms, on SQLite and PostgreSQL: what the
//! Slack fake and the Discord fake show each person equals what core says
//! they may see, before and after every change of access.

mod visibility;
