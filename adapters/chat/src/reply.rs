//! Engine errors as people are told them, in one place for every platform:
//! a refusal becomes its sentence; an internal failure (the database, a
//! corrupt row) is logged once, with what was being done, and the person
//! gets a sentence that leaks nothing.

use threadesk_core::EngineError;

/// The sentence to tell a person about `error`; internal errors are logged
/// here (with `doing`, what the person asked for) and only here.
pub fn sentence(error: &EngineError, doing: &'static str) -> String {
    if error.is_internal() {
        let cause = std::error::Error::source(error)
            .map(ToString::to_string)
            .unwrap_or_else(|| format!("{error:?}"));
        tracing::error!(doing, error.kind = error.kind(), error.cause = %cause, "engine failure");
    }
    error.sentence()
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadesk_core::domain::Action;

    #[test]
    fn refusals_are_told_as_sentences_and_internal_causes_are_not() {
        assert_eq!(
            sentence(&EngineError::NotFound("ticket"), "reply"),
            "I can't find that ticket, or you don't have access to it."
        );
        assert_eq!(
            sentence(&EngineError::NotAllowed(Action::Close), "close"),
            "You are not allowed to close this ticket."
        );
        let internal = EngineError::Corrupt("row 7: bad json at byte 3".into());
        let told = sentence(&internal, "list");
        assert!(!told.contains("row 7"), "{told}");
        assert!(told.contains("try again"), "{told}");
    }
}
