//! The portal's HTML: one layout, small pages, no JavaScript. maud escapes
//! every interpolated value, so user content can never become markup.

mod list;
mod ratings;
mod search;
mod signin;
mod staff;
mod ticket;

pub(crate) use list::{invitations, new_ticket, ticket_list, ListPage, NewTicketForm};
pub(crate) use ratings::{
    rating_link_gone, rating_link_page, rating_thanks, report_page, RatingDraft, RatingLinkPage,
    ReportPage,
};
pub(crate) use search::{search_box, search_page, SearchPage};
pub(crate) use signin::{link_gone, sign_in_link, sign_in_link_form, sign_in_local, use_link};
pub(crate) use staff::{
    people_page, queue_page, saved_replies_page, PeoplePageView, QueuePage, SavedRepliesPage,
};
pub(crate) use ticket::{ticket_page, TicketPage};

use axum::http::StatusCode;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use threadesk_core::domain::{Person, Status};

/// What the header shows about the signed-in person.
pub(crate) struct Chrome<'a> {
    pub me: &'a Person,
    pub csrf: &'a str,
    pub local: bool,
    pub invitations: usize,
    /// The largest file, and the most in one form, in bytes.
    pub uploads: (u64, u64),
}

/// The attachments field of a form, saying how much it takes.
pub(crate) fn files_field(uploads: (u64, u64)) -> Markup {
    let (file, form) = uploads;
    let limit = if file < form {
        format!("up to {} per file, {} in all", size(file), size(form))
    } else {
        format!("up to {} in all", size(form))
    };
    html! {
        label for="files" { "Attachments " span.muted { "(optional; " (limit) ")" } }
        input #files type="file" name="files" multiple data-file=(file) data-form=(form);
        // filled in by SCRIPT when files are chosen.
        ul #files-chosen.chosen aria-live="polite" {}
    }
}

/// The portal's only script, allowed by its hash: it lists the files
/// chosen in a form before it is sent, and says which are too large (the
/// server checks again and keeps the text if they are).
const SCRIPT: &str = r#"(function(){
function size(n){return n<1024?n+' B':n<1048576?(n/1024).toFixed(1)+' KiB':(n/1048576).toFixed(1)+' MiB';}
document.querySelectorAll('input[type=file][data-form]').forEach(function(input){
var list=document.getElementById(input.id+'-chosen');if(!list)return;
input.addEventListener('change',function(){
list.textContent='';var file=+input.dataset.file,form=+input.dataset.form,sum=0;
Array.prototype.forEach.call(input.files,function(f){sum+=f.size;var li=document.createElement('li');
li.textContent=f.name+' ('+size(f.size)+')';if(f.size>file){li.textContent+=': larger than '+size(file)+' per file';li.className='bad';}
list.appendChild(li);});
if(sum>form){var li=document.createElement('li');li.className='bad';li.textContent='Together '+size(sum)+': more than '+size(form)+' in all. Leave some out.';list.appendChild(li);}
});});})();"#;

const STYLE: &str = r#"
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dee7;--bg:#f6f7f9;--accent:#2456c7;--note:#fff7db;--bad:#a11d2b}
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem 1.2rem;align-items:center}
header .brand{font-weight:700;color:var(--fg);text-decoration:none}header nav{display:flex;flex-wrap:wrap;gap:.8rem}
header .who{margin-left:auto;display:flex;gap:.5rem;align-items:center;color:var(--muted)}
main{max-width:860px;margin:0 auto;padding:1rem}a{color:var(--accent)}
.banner{background:#fff3cd;border-bottom:1px solid #e8d28a;padding:.4rem 1rem;font-size:.9rem}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}
table{width:100%;border-collapse:collapse;background:#fff}th,td{text-align:left;padding:.5rem;border-bottom:1px solid var(--line);vertical-align:top}
.tabs{display:flex;gap:.4rem;flex-wrap:wrap;margin:.5rem 0}.tabs a{padding:.3rem .7rem;border-radius:99px;border:1px solid var(--line);text-decoration:none;background:#fff}
.tabs a.on{background:var(--accent);color:#fff;border-color:var(--accent)}
.status{display:inline-block;padding:.05rem .5rem;border-radius:99px;border:1px solid transparent;font-size:.85rem;white-space:nowrap}
.status.open{background:#dbe8ff;border-color:#2456c7}.status.in_progress{background:#eadfff;border-color:#6b3fc4}
.status.on_hold{background:#eef0f3;border-color:#6b7280;border-style:dashed}.status.awaiting_client{background:#d9f2dd;border-color:#2e7d32}
.status.client_replied{background:#ffe3c2;border-color:#b85c00}.status.closed{background:#e5e5e5;border-color:#8a8a8a}
button.internal{background:var(--note);color:var(--fg);border:1px dashed #a07d00}
td,h1,h2,.body,.excerpt,.change{overflow-wrap:anywhere}
@media (max-width:600px){table.stack,table.stack tbody,table.stack tr,table.stack td{display:block}
table.stack thead{position:absolute;left:-9999px}table.stack tr{border-bottom:1px solid var(--line);padding:.4rem 0}
table.stack td{border:0;padding:.1rem .5rem}table.stack td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:var(--muted)}}
.overdue{color:var(--bad)}.address{overflow-wrap:anywhere;font-size:.9rem}.filters{display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center;margin:.6rem 0}
.pair{display:inline-flex;gap:.4rem;align-items:center}input[type=search]{width:100%}.change{margin:.4rem 0;font-size:.9rem;color:var(--muted);text-align:center}.change.internal{font-style:italic}
.excerpt{margin:.2rem 0 0;font-size:.9rem}.internal-mark{font-weight:600}
.shared{display:inline-block;padding:0 .4rem;border:1px solid var(--line);border-radius:4px;font-size:.8rem;color:var(--muted)}
.msg{background:#fff;border:1px solid var(--line);border-radius:12px;padding:.6rem .8rem;margin:.6rem 0;max-width:92%}
.msg.staff{margin-left:auto;background:#eef3ff}.msg.internal{background:var(--note);border-style:dashed}
.msg .meta{font-size:.85rem;color:var(--muted)}a.thumb{display:block;margin:.3rem 0}a.thumb img{max-width:min(100%,240px);max-height:180px;border:1px solid var(--line);border-radius:4px}
ul.chosen{margin:.3rem 0;padding-left:1.2rem;font-size:.9rem}ul.chosen:empty{display:none}ul.chosen li.bad{color:var(--bad);font-weight:600}
.msg .body{overflow-wrap:anywhere}.msg .body p{margin:.35rem 0}.msg .body ul,.msg .body ol{margin:.35rem 0;padding-left:1.4rem}
.msg .body blockquote{margin:.35rem 0;padding-left:.7rem;border-left:3px solid var(--line);color:var(--muted)}
.msg .body code{background:#eef0f4;padding:0 .2rem;border-radius:3px;font-size:.92em}.msg .body pre{background:#eef0f4;padding:.5rem;overflow-x:auto;white-space:pre-wrap}.msg .body pre code{background:none;padding:0}
.error{border-left:4px solid var(--bad);background:#fff;padding:.6rem .8rem;margin:0 0 1rem}
.notice{border-left:4px solid var(--accent);background:#fff;padding:.6rem .8rem;margin:0 0 1rem}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}input[type=text],input[type=email],select,textarea{width:100%;padding:.45rem;border:1px solid var(--line);border-radius:6px;font:inherit}
textarea{min-height:6rem}button{font:inherit;padding:.4rem .9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.plain{background:#fff;color:var(--accent)}button.danger{background:#fff;color:var(--bad);border-color:var(--bad)}
form.inline{display:inline}.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}.muted{color:var(--muted)}
h1{font-size:1.35rem;margin:.3rem 0 .8rem}h2{font-size:1.1rem}details summary{cursor:pointer;color:var(--accent)}
.push{margin-left:auto}label.tight{margin:0}label.plain{font-weight:400}select.narrow,input.narrow{width:auto}.row.spaced{margin-top:.6rem}.row.snug{margin:.3rem 0}
.sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
fieldset.stars{border:0;padding:0;margin:.6rem 0}fieldset.stars legend{font-weight:600;padding:0}p.snug{margin:.3rem 0}
.star-row{position:relative;display:inline-flex;gap:.1rem}.star-row input{position:absolute;opacity:0;width:1px;height:1px;margin:0}
.star-row label{margin:0;padding:0 .15rem;font-size:2rem;line-height:1.1;font-weight:400;color:#6b7280;cursor:pointer;border-radius:4px}
.star-row .on,.star-row input:checked+label .off,.star-row label:has(~input:checked) .off{display:none}
.star-row input:checked+label .on,.star-row label:has(~input:checked) .on{display:inline}
.star-row input:checked+label,.star-row label:has(~input:checked),.star-row label:hover,.star-row label:has(~label:hover){color:#9a5b00}
.star-row input:focus-visible+label{outline:2px solid var(--accent);outline-offset:2px}
.stars-shown{color:#9a5b00;white-space:nowrap}blockquote.comment{margin:.4rem 0;padding-left:.7rem;border-left:3px solid var(--line);white-space:pre-wrap;overflow-wrap:anywhere}
article.rated{border-top:1px solid var(--line);padding:.4rem 0}table.distribution{width:auto}meter{width:10rem;max-width:40vw}
"#;

/// The `Content-Security-Policy` of every page: nothing but the page's own
/// stylesheet (by its hash), forms posting to this site, and never framed.
/// The portal runs no script.
pub(crate) fn content_security_policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        use base64::Engine as _;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(STYLE.as_bytes()));
        let script = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(SCRIPT.as_bytes()));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; script-src 'sha256-{script}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    })
}

/// The whole page around `body`.
pub(crate) fn layout(title: &str, chrome: Option<&Chrome<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Threadesk" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                @if let Some(c) = chrome {
                    @if c.local {
                        div.banner role="note" {
                            "Local mode: anybody who can open this page can act as anybody. "
                            "Meant for trying Threadesk on your own machine."
                        }
                    }
                    header {
                        a.brand href="/tickets" { "Threadesk" }
                        nav {
                            a href="/tickets" { "Tickets" }
                            a href="/tickets/new" { "Open a support ticket" }
                            a href="/search" { "Search" }
                            a href="/invitations" {
                                "Invitations"
                                @if c.invitations > 0 { " (" (c.invitations) ")" }
                            }
                            @if c.me.is_staff {
                                a href="/staff" { "Staff queue" }
                                a href="/staff/people" { "People & departments" }
                                a href="/staff/replies" { "Saved replies" }
                                a href="/staff/ratings" { "Ratings" }
                            }
                        }
                        div.who {
                            span { (c.me.display_name) @if c.me.is_staff { " (staff)" } }
                            @if c.local { a href="/signin" { "Switch person" } }
                            form.inline method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(c.csrf);
                                button.plain type="submit" { "Sign out" }
                            }
                            form.inline method="post" action="/signout/everywhere" {
                                input type="hidden" name="csrf" value=(c.csrf);
                                button.plain type="submit" title="Ends your sessions on every device" { "Sign out everywhere" }
                            }
                        }
                    }
                } @else {
                    header { a.brand href="/" { "Threadesk" } }
                }
                main { (body) }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

/// A page that only says what went wrong.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Markup {
    error_page_in(None, status, message)
}

/// An error page inside the portal's frame when the person is known (the
/// header has the navigation then), with links of its own otherwise.
pub(crate) fn error_page_in(
    chrome: Option<&Chrome<'_>>,
    status: StatusCode,
    message: &str,
) -> Markup {
    let title = error_title(status);
    layout(
        title,
        chrome,
        html! {
            @if chrome.is_none() {
                nav.row aria-label="Where to go" {
                    a href="/tickets" { "Your tickets" }
                    a href="/tickets/new" { "Open a support ticket" }
                    a href="/search" { "Search" }
                }
            }
            h1 { (title) }
            p.error { (capitalized(message)) "." }
            p { a href="/tickets" { "Back to your tickets" } }
        },
    )
}

/// An error page's title, in words rather than HTTP's.
fn error_title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "That request could not be read",
        403 => "That is not something you can do here",
        404 => "We could not find that",
        409 => "That could not be done",
        413 => "That was too large",
        422 => "Please check what you entered",
        429 => "Too many tries; please wait a moment",
        503 => "Please try again in a moment",
        s if s >= 500 => "Something went wrong on our side",
        _ => "That did not work",
    }
}

/// A sentence's first letter in upper case.
pub(crate) fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A status as the viewer should read it: customers see "Awaiting your
/// reply" where staff see "Awaiting client".
/// The orders a list offers in its filter form (the column headers do
/// the same on wide screens; on a phone they are hidden).
pub(crate) const SORT_CHOICES: [(&str, &str); 10] = [
    ("due", "Answer due, soonest first"),
    ("-activity", "Newest activity"),
    ("activity", "Oldest activity"),
    ("-opened", "Newest first"),
    ("opened", "Oldest first"),
    ("-number", "Highest number"),
    ("number", "Lowest number"),
    ("status", "Status"),
    ("department", "Department"),
    ("owner", "Owner"),
];

/// The `<option>`s of an *Order* choice: the orders `offered` lets
/// through, the current one selected.
pub(crate) fn sort_options(
    current: threadesk_core::engine::Sort,
    offered: impl Fn(threadesk_core::engine::Sort) -> bool,
) -> Markup {
    html! {
        @for (text, label) in SORT_CHOICES {
            @let sort: threadesk_core::engine::Sort = text.parse().unwrap_or_default();
            @if offered(sort) {
                option value=(sort) selected[current == sort] { (label) }
            }
        }
    }
}

/// A column header that sorts the list: a link to the same list ordered by
/// this column (the other direction when it already is), marked for
/// screen readers with `aria-sort`.
pub(crate) fn sort_header(
    label: &str,
    by: threadesk_core::engine::SortBy,
    current: threadesk_core::engine::Sort,
    base: &str,
) -> Markup {
    use threadesk_core::engine::Sort;
    let on = current.by == by;
    let next = if on {
        Sort {
            by,
            descending: !current.descending,
        }
    } else {
        by.natural()
    };
    let aria = match (on, current.descending) {
        (false, _) => "none",
        (true, true) => "descending",
        (true, false) => "ascending",
    };
    html! {
        th aria-sort=(aria) {
            a.sort href={ (base) "sort=" (next) } title={ "Sort by " (label.to_lowercase()) } {
                (label)
                @if on { @if current.descending { " ↓" } @else { " ↑" } }
            }
        }
    }
}

pub(crate) fn status_badge(status: Status, staff_view: bool) -> Markup {
    html! { span class={ "status " (status.as_str()) } { (status.label_for(staff_view)) } }
}

pub(crate) use threadesk_core::time::{day, day_start, when};

/// A size people can read.
pub(crate) fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{:.0} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// The hidden CSRF field every form carries.
/// The hidden fields every form carries: the session's CSRF token, and a
/// fresh request id that makes a double submit act once.
pub(crate) fn csrf_field(token: &str) -> Markup {
    let mut bytes = [0u8; 16];
    // without randomness the form still works, only without dedupe.
    let request = match getrandom::getrandom(&mut bytes) {
        Ok(()) => hex::encode(bytes),
        Err(_) => String::new(),
    };
    html! {
        input type="hidden" name="csrf" value=(token);
        input type="hidden" name="request" value=(request);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `#rrggbb` to its relative luminance (WCAG 2).
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    #[test]
    fn the_files_field_names_both_limits_when_they_differ() {
        let both = files_field((1024 * 1024, 10 * 1024 * 1024)).into_string();
        assert!(
            both.contains("up to 1.0 MiB per file, 10.0 MiB in all"),
            "{both}"
        );
        let one = files_field((100 * 1024 * 1024, 25 * 1024 * 1024)).into_string();
        assert!(one.contains("(optional; up to 25.0 MiB in all)"), "{one}");
    }

    #[test]
    fn every_status_has_its_own_colour_readable_against_the_text() {
        let mut seen = std::collections::HashSet::new();
        let text = luminance("#1d2330");
        for s in Status::ALL {
            let rule = format!(".status.{}{{background:", s.as_str());
            let at = STYLE
                .find(&rule)
                .unwrap_or_else(|| panic!("no colour for {s:?}"));
            let colour = &STYLE[at + rule.len()..at + rule.len() + 7];
            assert!(seen.insert(colour.to_owned()), "{s:?} shares {colour}");
            let bg = luminance(colour);
            let contrast = (bg + 0.05) / (text + 0.05);
            assert!(contrast >= 7.0, "{s:?}: contrast {contrast:.1}");
            // and the badge says it in words, not colour alone.
            let badge = status_badge(s, true).into_string();
            assert!(badge.contains(s.label_for(true)), "{badge}");
        }
    }

    #[test]
    fn the_style_hash_is_a_base64_sha256() {
        let policy = content_security_policy();
        let hash = policy
            .split("'sha256-")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        assert_eq!(hash.len(), 44, "{policy}");
    }

    #[test]
    fn every_order_offered_is_one() {
        for (text, _) in SORT_CHOICES {
            let sort: threadesk_core::engine::Sort = text.parse().unwrap();
            assert_eq!(sort.to_string(), text);
        }
    }

    #[test]
    fn user_content_is_escaped() {
        let page = error_page(StatusCode::BAD_REQUEST, "<script>alert(1)</script>");
        let text = page.clone().into_string();
        assert!(text.contains("That request could not be read"), "{text}");
        assert!(!text.contains("Bad Request"), "no HTTP jargon: {text}");
        assert!(text.contains("href=\"/tickets/new\""), "a way on: {text}");
        let html = page.into_string();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn customers_are_asked_for_their_reply() {
        let customer = status_badge(Status::AwaitingClient, false).into_string();
        let staff = status_badge(Status::AwaitingClient, true).into_string();
        assert!(customer.contains("Awaiting your reply"));
        assert!(staff.contains("Awaiting client"));
    }
}
