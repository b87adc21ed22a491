//! The Markdown people type in chat, as safe HTML for every surface that
//! shows HTML (the portal, mail): links (written `[text](url)`, `<url>`,
//! or bare), **bold**, *italic*, `code`, fenced code blocks, lists and
//! quotes. Everything else is text, escaped: no raw HTML, no images, no
//! link that is not `http`, `https` or `mailto`.

/// Escapes text for HTML (content and attribute values alike).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message body as HTML: blocks of paragraphs (lines kept as line
/// breaks), lists, quotes and code.
pub fn to_html(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    blocks(&lines, &mut out, 0);
    out
}

/// Quotes inside quotes go no deeper than this; deeper `>` are text.
const MAX_DEPTH: usize = 8;

fn list_item(line: &str) -> Option<(bool, &str, u32)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(bullet) {
            return Some((false, rest, 1));
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let rest = &t[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            let start = t[..digits].parse().unwrap_or(1);
            return Some((true, rest, start));
        }
    }
    None
}

fn quoted(line: &str) -> Option<&str> {
    let t = line.trim_start();
    t.strip_prefix("> ").or_else(|| t.strip_prefix('>'))
}

fn fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

fn blocks(lines: &[&str], out: &mut String, depth: usize) {
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        if fence(line) {
            // to the closing fence, or the end.
            let mut j = i + 1;
            while j < lines.len() && !fence(lines[j]) {
                j += 1;
            }
            out.push_str("<pre><code>");
            out.push_str(&escape(&lines[i + 1..j].join("\n")));
            out.push_str("</code></pre>");
            i = j + 1;
            continue;
        }
        if depth < MAX_DEPTH && quoted(line).is_some() {
            let mut inner = Vec::new();
            while i < lines.len() {
                match quoted(lines[i]) {
                    Some(rest) => inner.push(rest),
                    None => break,
                }
                i += 1;
            }
            out.push_str("<blockquote>");
            blocks(&inner, out, depth + 1);
            out.push_str("</blockquote>");
            continue;
        }
        if let Some((ordered, _, start)) = list_item(line) {
            if ordered && start != 1 {
                out.push_str(&format!("<ol start=\"{start}\">"));
            } else {
                out.push_str(if ordered { "<ol>" } else { "<ul>" });
            }
            while i < lines.len() {
                match list_item(lines[i]) {
                    Some((o, rest, _)) if o == ordered => {
                        out.push_str("<li>");
                        inline(rest, out);
                        out.push_str("</li>");
                    }
                    _ => break,
                }
                i += 1;
            }
            out.push_str(if ordered { "</ol>" } else { "</ul>" });
            continue;
        }
        // a paragraph: to a blank line or another kind of block.
        out.push_str("<p>");
        let mut first = true;
        while i < lines.len() {
            let l = lines[i];
            let other_block =
                fence(l) || list_item(l).is_some() || (depth < MAX_DEPTH && quoted(l).is_some());
            if l.trim().is_empty() || (!first && other_block) {
                break;
            }
            if !first {
                out.push_str("<br>");
            }
            inline(l, out);
            first = false;
            i += 1;
        }
        out.push_str("</p>");
    }
}

/// Whether a link may be followed: web and mail addresses only.
fn safe_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A link; its text is Markdown itself unless it is the address.
fn link(url: &str, text: &str, out: &mut String) {
    out.push_str("<a href=\"");
    out.push_str(&escape(url));
    out.push_str("\" rel=\"nofollow noopener noreferrer\">");
    if text == url {
        out.push_str(&escape(text));
    } else {
        inline(text, out);
    }
    out.push_str("</a>");
}

/// The length of a bare URL starting here, without the punctuation that
/// ends a sentence around it.
fn bare_url(s: &str) -> Option<usize> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    let mut end = s
        .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
        .unwrap_or(s.len());
    while end > 0 {
        let last = s[..end].chars().next_back()?;
        let unbalanced_paren =
            last == ')' && s[..end].matches('(').count() < s[..end].matches(')').count();
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_') || unbalanced_paren
        {
            end -= last.len_utf8();
        } else {
            break;
        }
    }
    let scheme = if lower.starts_with("https://") { 8 } else { 7 };
    (end > scheme).then_some(end)
}

/// Whether a `_` or `*` at byte `at` can open (or, `closing`, close)
/// emphasis: not inside a word, so `snake_case` and `2*3*4` stay text.
fn flanked(s: &str, at: usize, len: usize, closing: bool) -> bool {
    let before = s[..at].chars().next_back();
    let after = s[at + len..].chars().next();
    if closing {
        before.is_some_and(|c| !c.is_whitespace()) && !after.is_some_and(char::is_alphanumeric)
    } else {
        after.is_some_and(|c| !c.is_whitespace()) && !before.is_some_and(char::is_alphanumeric)
    }
}

/// Finds the closing delimiter for emphasis opened at `from`.
fn closing(s: &str, from: usize, delim: &str) -> Option<usize> {
    let mut search = from;
    while let Some(found) = s[search..].find(delim) {
        let mut at = search + found;
        // `***` closing `**`: the last two close it.
        if delim.len() == 2 {
            while s[at + 2..].starts_with(&delim[..1]) {
                at += 1;
            }
        }
        // `*` must not be half of a `**`.
        let doubled = delim.len() == 1 && s[at + 1..].starts_with(delim);
        if !doubled && at > from && flanked(s, at, delim.len(), true) {
            return Some(at);
        }
        search = at + delim.len() + usize::from(doubled);
    }
    None
}

fn inline(s: &str, out: &mut String) {
    let mut i = 0;
    let mut text_from = 0;
    let flush = |out: &mut String, from: usize, to: usize| out.push_str(&escape(&s[from..to]));
    while i < s.len() {
        let rest = &s[i..];
        let c = rest.chars().next().unwrap_or(' ');
        // `code`
        if c == '`' {
            if let Some(end) = rest[1..].find('`') {
                flush(out, text_from, i);
                out.push_str("<code>");
                out.push_str(&escape(&rest[1..1 + end]));
                out.push_str("</code>");
                i += end + 2;
                text_from = i;
                continue;
            }
        }
        // **bold** / __bold__
        let bold = ["**", "__"].into_iter().find_map(|d| {
            if rest.starts_with(d) && flanked(s, i, 2, false) {
                closing(s, i + 2, d)
            } else {
                None
            }
        });
        if let Some(end) = bold {
            flush(out, text_from, i);
            out.push_str("<strong>");
            inline(&s[i + 2..end], out);
            out.push_str("</strong>");
            i = end + 2;
            text_from = i;
            continue;
        }
        // *italic* / _italic_
        if (c == '*' || c == '_')
            && !rest.starts_with("**")
            && !rest.starts_with("__")
            && flanked(s, i, 1, false)
        {
            let delim = if c == '*' { "*" } else { "_" };
            if let Some(end) = closing(s, i + 1, delim) {
                flush(out, text_from, i);
                out.push_str("<em>");
                inline(&s[i + 1..end], out);
                out.push_str("</em>");
                i = end + 1;
                text_from = i;
                continue;
            }
        }
        // [text](url)
        if c == '[' {
            if let Some(close) = rest.find("](") {
                let text = &rest[1..close];
                let after = &rest[close + 2..];
                if let Some(end) = after.find(')') {
                    let url = after[..end].trim();
                    if !text.is_empty() && !text.contains('[') && safe_url(url) {
                        flush(out, text_from, i);
                        link(url, text, out);
                        i += close + 2 + end + 1;
                        text_from = i;
                        continue;
                    }
                }
            }
        }
        // <https://…> (and Slack's <https://…|text>)
        if c == '<' {
            if let Some(end) = rest.find('>') {
                let inside = &rest[1..end];
                let (url, text) = inside.split_once('|').unwrap_or((inside, inside));
                if safe_url(url) && !text.is_empty() {
                    flush(out, text_from, i);
                    link(url, text, out);
                    i += end + 1;
                    text_from = i;
                    continue;
                }
            }
        }
        // a bare address, at the start of a word.
        if (c == 'h' || c == 'H')
            && !s[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        {
            if let Some(len) = bare_url(rest) {
                flush(out, text_from, i);
                link(&rest[..len], &rest[..len], out);
                i += len;
                text_from = i;
                continue;
            }
        }
        i += c.len_utf8();
    }
    flush(out, text_from, s.len());
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn text_is_escaped_and_lines_are_kept() {
        assert_eq!(
            to_html("<script>alert('x')</script>\nnext & last"),
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<br>next &amp; last</p>"
        );
        assert_eq!(to_html("one\n\ntwo"), "<p>one</p><p>two</p>");
        assert_eq!(to_html(""), "");
    }

    #[test]
    fn emphasis_and_code() {
        assert_eq!(
            to_html("**bold** and *it* and _it_ and `a<b>`"),
            "<p><strong>bold</strong> and <em>it</em> and <em>it</em> and <code>a&lt;b&gt;</code></p>"
        );
        // inside words and lone marks: text.
        assert_eq!(
            to_html("snake_case_name 2*3*4 a * b"),
            "<p>snake_case_name 2*3*4 a * b</p>"
        );
        assert_eq!(to_html("**not closed"), "<p>**not closed</p>");
        assert_eq!(
            to_html("**bold *and it***"),
            "<p><strong>bold <em>and it</em></strong></p>"
        );
        assert_eq!(to_html("`**no**`"), "<p><code>**no**</code></p>");
    }

    #[test]
    fn links_only_to_the_web_and_mail() {
        assert_eq!(
            to_html("see https://example.com/a_b?x=1&y=2."),
            "<p>see <a href=\"https://example.com/a_b?x=1&amp;y=2\" rel=\"nofollow noopener noreferrer\">https://example.com/a_b?x=1&amp;y=2</a>.</p>"
        );
        assert_eq!(
            to_html("[docs](https://example.com/d) and <http://example.org|site>"),
            "<p><a href=\"https://example.com/d\" rel=\"nofollow noopener noreferrer\">docs</a> and <a href=\"http://example.org\" rel=\"nofollow noopener noreferrer\">site</a></p>"
        );
        for evil in [
            "[x](javascript:alert(1))",
            "[x](data:text/html,hi)",
            "<javascript:alert(1)>",
            "[x](https://a.example/\" onmouseover=\"x)",
        ] {
            let html = to_html(evil);
            assert!(
                !html.contains("href=\"javascript") && !html.contains("href=\"data"),
                "{html}"
            );
            assert!(!html.contains("\" onmouseover"), "{html}");
        }
        // an address in parentheses keeps its own brackets only.
        assert_eq!(
            to_html("(https://en.example/wiki/A_(b))"),
            "<p>(<a href=\"https://en.example/wiki/A_(b)\" rel=\"nofollow noopener noreferrer\">https://en.example/wiki/A_(b)</a>)</p>"
        );
        assert_eq!(to_html("nohttps://x.example"), "<p>nohttps://x.example</p>");
    }

    #[test]
    fn lists_quotes_and_code_blocks() {
        assert_eq!(
            to_html("Steps:\n- one\n- **two**\n\n3. three\n4. four"),
            "<p>Steps:</p><ul><li>one</li><li><strong>two</strong></li></ul><ol start=\"3\"><li>three</li><li>four</li></ol>"
        );
        assert_eq!(
            to_html("> quoted *it*\n> more\nafter"),
            "<blockquote><p>quoted <em>it</em><br>more</p></blockquote><p>after</p>"
        );
        assert_eq!(
            to_html("```\nlet a = <b>;\n**x**\n```\ndone"),
            "<pre><code>let a = &lt;b&gt;;\n**x**</code></pre><p>done</p>"
        );
        // an unclosed fence runs to the end.
        assert_eq!(to_html("```\ncode"), "<pre><code>code</code></pre>");
        // deep quotes stop nesting.
        let deep = to_html(&">".repeat(50));
        assert_eq!(deep.matches("<blockquote>").count(), 8);
    }
}
