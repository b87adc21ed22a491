//! Text as every chat platform cuts it.

/// At most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes markdown (Discord's, Teams') in a name or subject, so it never
/// turns into markup: `\\ * _ ~ ` | > # [ ] <` get a backslash. People's
/// own message text keeps its markdown.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '<'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{clip, escape_markdown};

    #[test]
    fn markdown_in_names_is_escaped() {
        assert_eq!(escape_markdown("*Ann* <b>"), "\\*Ann\\* \\<b\\>");
        assert_eq!(escape_markdown("plain"), "plain");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_within_the_limit() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("ééééé", 3).chars().count(), 3);
    }
}
