//! Why a name or a page cursor could not be read.

/// A string that names no known view, status, delegate status or platform,
/// or that is not a page cursor. Its text is the sentence people see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A name that is none of the known ones, e.g.
    /// `unknown view "soon"; use active, closed or all`.
    #[error("unknown {what} {value:?}{}", hint_suffix(.hint))]
    Unknown {
        /// What was being named: `view`, `status`, `delegate status`,
        /// `platform`.
        what: &'static str,
        /// The name as it was read.
        value: String,
        /// What to use instead, when the sentence says so.
        hint: Option<String>,
    },
    /// Not a page cursor, e.g. `"1.2" is not a page cursor`.
    #[error("{0:?} is not a page cursor")]
    Cursor(String),
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_deref()
        .map(|h| format!("; {h}"))
        .unwrap_or_default()
}

/// For callers that still report errors as plain text.
impl From<ParseError> for String {
    fn from(e: ParseError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cursor, DelegateStatus, Platform, Status, View};

    #[test]
    fn refusals_read_as_they_always_have() {
        assert_eq!(
            " Soon ".parse::<View>().unwrap_err().to_string(),
            r#"unknown view "soon"; use active, closed or all"#
        );
        assert_eq!(
            "Nope".parse::<Status>().unwrap_err().to_string(),
            r#"unknown status "Nope"; use one of open, in_progress, on_hold, awaiting_client, client_replied, closed"#
        );
        assert_eq!(
            "gone".parse::<DelegateStatus>().unwrap_err().to_string(),
            r#"unknown delegate status "gone""#
        );
        assert_eq!(
            "irc".parse::<Platform>().unwrap_err().to_string(),
            r#"unknown platform "irc""#
        );
        assert_eq!(
            "1.2".parse::<Cursor>().unwrap_err().to_string(),
            r#""1.2" is not a page cursor"#
        );
    }
}
