//! A ticket's conversation in pages: the latest first, each page the same
//! size whatever the ticket's length, together the whole thread once, each
//! change on the page of its time.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::{Invitee, NewMessage, THREAD_PAGE};
use threadesk_core::{Ctx, EngineError, PersonId, TicketId, TicketNumber};

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

/// Each message's files by name.
fn files(thread: &Thread) -> Vec<Vec<&str>> {
    thread
        .messages
        .iter()
        .map(|m| m.attachments.iter().map(|a| a.name.as_str()).collect())
        .collect()
}

#[apply(backends)]
#[tokio::test]
async fn a_tickets_page_by_number_is_its_thread_page_and_delegates_as_each_would_read_them(
    #[case] kind: Kind,
) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let bob = h.person("Bob").await;
    let eve = h.person("Eve").await;
    let t = h.open(ann, "Files").await.ticket;
    let with = |body: &str, names: &[&str]| NewMessage {
        body: body.into(),
        attachments: names.iter().map(|n| file(n, 3)).collect(),
    };
    // attached b before a: they come back in the order attached.
    h.engine
        .reply(&Ctx::new(ann), t.id, with("logs", &["b.txt", "a.txt"]))
        .await
        .unwrap();
    h.engine
        .note(&Ctx::new(sam), t.id, with("internal", &["secret.txt"]))
        .await
        .unwrap();
    h.engine
        .reply(&Ctx::new(sam), t.id, with("fixed", &["c.txt"]))
        .await
        .unwrap();
    h.engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(bob))
        .await
        .unwrap();
    for (who, expected) in [
        (ann, vec![vec![], vec!["b.txt", "a.txt"], vec!["c.txt"]]),
        (
            sam,
            vec![
                vec![],
                vec!["b.txt", "a.txt"],
                vec!["secret.txt"],
                vec!["c.txt"],
            ],
        ),
    ] {
        let page = h.engine.ticket_page(who, t.number, None).await.unwrap();
        assert_eq!(files(&page.thread), expected, "the note's file is staff's");
        assert_eq!(
            page.thread,
            h.engine.thread_page(who, t.id, None).await.unwrap()
        );
        assert_eq!(
            page.thread.messages,
            h.engine.thread(who, t.id).await.unwrap().messages
        );
        let delegates = page.delegates.clone().expect("they may manage delegates");
        assert_eq!(delegates, h.engine.delegates(who, t.id).await.unwrap());
        assert_eq!(delegates.len(), 1);
        assert_eq!(delegates[0].person_id, Some(bob));
        assert_eq!(
            page,
            h.engine.ticket_page_of(who, t.id, None).await.unwrap()
        );
    }
    // those who may not see it, and numbers of no ticket: "not found".
    for (who, number) in [(eve, t.number), (ann, TicketNumber(t.number.0 + 100))] {
        assert!(matches!(
            h.engine.ticket_page(who, number, None).await,
            Err(EngineError::NotFound("ticket"))
        ));
    }
    assert!(matches!(
        h.engine.ticket_page_of(eve, t.id, None).await,
        Err(EngineError::NotFound("ticket"))
    ));
    // a closed ticket's delegates are managed no more: none on its page.
    h.engine.close(&Ctx::new(ann), t.id).await.unwrap();
    let closed = h.engine.ticket_page(ann, t.number, None).await.unwrap();
    assert_eq!(closed.delegates, None);
    assert_eq!(files(&closed.thread)[1], vec!["b.txt", "a.txt"]);
}
