//! Text that goes to Slack: escaped so that nobody's words become a
//! mention, a broadcast or a disguised link.

/// Escapes Slack's three control characters. `<!channel>`, `<!here>`,
/// `<@U123>` and `<http://evil|innocent>` all come out as plain text.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes Slack's escaping of what a person typed, so the engine stores
/// the text as written (`a < b`, not `a &lt; b`).
pub fn unescape(raw: &str) -> String {
    raw.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub use threadesk_chat::text::clip;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_mentions_and_links_are_defused() {
        let evil = "<!channel> hi <@U1> <https://evil.example|bank> & co";
        let safe = escape(evil);
        assert!(!safe.contains('<') && !safe.contains('>'), "{safe}");
        assert_eq!(unescape(&safe), evil);
    }

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("ééé", 3), "ééé");
        assert_eq!(clip("éééé", 3), "éé…");
    }
}
