//! Signing in: a persona switcher in local mode, otherwise a sign-in link.

use super::{csrf_field, layout};
use maud::{html, Markup};
use threadesk_core::domain::{Organization, Person};

/// Local mode: pick who to be.
pub(crate) fn sign_in_local(
    csrf: &str,
    people: &[Person],
    orgs: &[Organization],
    addresses: &std::collections::HashMap<threadesk_core::PersonId, Vec<String>>,
) -> Markup {
    let org_name = |p: &Person| {
        p.org_id
            .and_then(|id| orgs.iter().find(|o| o.id == id))
            .map(|o| o.name.as_str())
    };
    let body = html! {
        h1 { "Who are you?" }
        p.notice {
            "Threadesk is running in local mode: pick a person to act as. "
            "Nothing here checks who you really are, so keep this on your own machine."
        }
        @if people.is_empty() {
            p.card.muted { "Nobody is in the database yet. Start Threadesk without --no-demo to get demo people." }
        }
        @for p in people {
            form.card.row method="post" action="/signin" {
                (csrf_field(csrf))
                input type="hidden" name="person" value=(p.id.0);
                div {
                    strong { (p.display_name) }
                    div.muted {
                        @if p.is_staff { "Support staff" }
                        @else if p.is_company_admin { "Company ticket admin" }
                        @else { "Customer" }
                        @if let Some(org) = org_name(p) { " · " (org) }
                    }
                    @if let Some(list) = addresses.get(&p.id) {
                        div.muted.address { (list.join(", ")) }
                    }
                }
                button.push type="submit" { "Continue as " (p.display_name) }
            }
        }
    };
    layout("Sign in", None, body)
}

/// Link mode without e-mail: no link can be sent.
pub(crate) fn sign_in_link() -> Markup {
    let body = html! {
        h1 { "Sign in" }
        p.notice {
            "This portal signs people in with a link sent by e-mail. E-mail is not configured on this "
            "deployment, so no link can be sent yet: use the chat (Slack or Discord) where your team "
            "answers tickets, or ask the operator to configure e-mail."
        }
    };
    layout("Sign in", None, body)
}

/// Link mode with e-mail: ask for the address to send a link to.
pub(crate) fn sign_in_link_form(csrf: &str, notice: Option<&str>, error: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Sign in" }
        @if let Some(e) = error { p.error { (e) } }
        @if let Some(n) = notice { p.notice { (n) } }
        p { "Enter your e-mail address: we send you a link that signs you in (it works once, for 15 minutes)." }
        form.card method="post" action="/signin/link" {
            (csrf_field(csrf))
            label for="email" { "E-mail address" }
            input #email type="email" name="email" required placeholder="name@example.com";
            p { button type="submit" { "Send me a sign-in link" } }
        }
    };
    layout("Sign in", None, body)
}

/// The page a mailed link opens: one button, so link scanners that fetch
/// it do not use it up.
pub(crate) fn use_link(csrf: &str, title: &str, text: &str, button: &str) -> Markup {
    let body = html! {
        h1 { (title) }
        p { (text) }
        form.card method="post" {
            (csrf_field(csrf))
            button type="submit" { (button) }
        }
    };
    layout(title, None, body)
}

/// A link that was used already, expired, or never was.
pub(crate) fn link_gone() -> Markup {
    let body = html! {
        h1 { "This link no longer works" }
        p.notice { "Links from our e-mails work once and expire. Ask for a new sign-in link, or ask whoever invited you to invite you again." }
        p { a href="/signin" { "Sign in" } }
    };
    layout("Link expired", None, body)
}
