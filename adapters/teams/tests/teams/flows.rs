//! The ticket lifecycle from Teams.
