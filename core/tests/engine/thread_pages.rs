//! A ticket's conversation in pages: the latest first, each page the same
//! size whatever the ticket's length, together the whole thread once, each
//! change on the page of its time.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::{NewMessage, THREAD_PAGE};
use threadesk_core::{Ctx, PersonId, TicketId};

/// Every page of a thread, latest first.
async fn pages(h: &Harness, who: PersonId, t: TicketId) -> Vec<Thread> {
    let mut out = vec![];
    let mut before = None;
    loop {
        let page = h.engine.thread_page(who, t, before).await.unwrap();
        before = page.messages.first().map(|m| m.id);
        let more = page.earlier;
        out.push(page);
        if !more {
            return out;
        }
        assert!(out.len() < 100, "pages never end");
    }
}

#[apply(backends)]
#[tokio::test]
async fn pages_of_a_long_ticket_hold_the_whole_thread_once(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "Long one").await.ticket;
    for i in 1..=120 {
        let who = if i % 2 == 0 { sam } else { ann };
        h.reply(who, t.id, &format!("message {i}")).await.unwrap();
        if i == 30 {
            h.engine
                .note(&Ctx::new(sam), t.id, NewMessage::text("a note"))
                .await
                .unwrap();
            h.engine
                .edit_subject(&Ctx::new(ann), t.id, "Long one, renamed")
                .await
                .unwrap();
        }
    }
    for who in [sam, ann] {
        let full = h.engine.thread(who, t.id).await.unwrap();
        let pages = pages(&h, who, t.id).await;
        assert!(pages[0].earlier);
        assert!(pages.iter().all(|p| p.messages.len() <= THREAD_PAGE));
        assert_eq!(pages[0].messages.len(), THREAD_PAGE);
        assert_eq!(
            pages[0].messages.last(),
            full.messages.last(),
            "the latest first"
        );
        assert_eq!(pages[0].requester_name, "Ann");
        let mut messages = vec![];
        let mut changes = vec![];
        for p in pages.iter().rev() {
            messages.extend(p.messages.iter().cloned());
            changes.extend(p.changes.iter().cloned());
        }
        assert_eq!(messages, full.messages, "every message once, in order");
        assert_eq!(changes, full.changes, "every change once, in order");
        // the note is staff's alone, on every page.
        let notes = messages.iter().filter(|m| m.internal).count();
        assert_eq!(notes, usize::from(who == sam));
        // 121 public messages (and the note for staff): three pages.
        assert_eq!(pages.len(), 3);
    }
}
