//! Signing in: a persona switcher in local mode, otherwise a sign-in link.

use super::{csrf_field, layout};
use maud::{html, Markup};
use threadesk_core::domain::{Organization, Person};

/// Local mode: pick who to be.
pub(crate) fn sign_in_local(csrf: &str, people: &[Person], orgs: &[Organization]) -> Markup {
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
                }
                button type="submit" style="margin-left:auto" { "Continue as " (p.display_name) }
            }
        }
    };
    layout("Sign in", None, body)
}

/// Link mode: sign-in links go out by e-mail, once that channel exists.
pub(crate) fn sign_in_link(email_enabled: bool) -> Markup {
    let body = html! {
        h1 { "Sign in" }
        p.notice {
            @if email_enabled {
                "This portal signs people in with a link sent by e-mail. Sending sign-in links is not "
                "available in this version yet: reply to your ticket e-mails, or use the chat (Slack or "
                "Discord) where your team answers tickets."
            } @else {
                "This portal signs people in with a link sent by e-mail. E-mail is not configured on this "
                "deployment, so no link can be sent yet: use the chat (Slack or Discord) where your team "
                "answers tickets, or ask the operator to configure e-mail."
            }
        }
    };
    layout("Sign in", None, body)
}
