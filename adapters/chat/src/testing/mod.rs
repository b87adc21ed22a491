//! The shared test kit of chat adapters (feature `testing`): the request
//! checker fake platform servers validate what we send with ([`spec`]),
//! and the both-backends story template (re-exported from core).

pub mod spec;

pub use spec::Spec;
