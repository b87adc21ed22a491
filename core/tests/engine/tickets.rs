//! Opening, replying, notes, statuses, closing, editing, idempotency.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::{NewMessage, NewTicket};
use threadesk_core::{Ctx, EngineError, Settings, TicketNumber};

#[apply(backends)]
#[tokio::test]
async fn opening_gives_sequential_numbers_an_open_status_and_one_event(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let first = h.open(ann, "VPN down").await;
    let second = h.open(ann, "Printer jam").await;
    assert_eq!(first.ticket.number, TicketNumber(1001));
    assert_eq!(second.ticket.number, TicketNumber(1002));
    assert_eq!(first.ticket.status, Status::Open);
    assert_eq!(first.ticket.requester_id, ann);
    assert_eq!(first.message.body, "about VPN down");
    assert_eq!(first.message.author_role, "requester");
    // one person, two tickets.
    assert_eq!(h.events().await, 3);
}

#[apply(backends)]
#[tokio::test]
async fn bad_input_is_refused_with_a_readable_reason_and_nothing_is_written(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let before = h.events().await;
    let open = |subject: &str, body: &str, attachments: Vec<AttachmentMeta>| NewTicket {
        subject: subject.into(),
        body: body.into(),
        attachments,
        department: None,
    };
    let cases = [
        (open("  ", "hi", vec![]), "the subject cannot be empty"),
        (
            open(&"s".repeat(201), "hi", vec![]),
            "the subject is 201 characters long; the limit is 200",
        ),
        (open("ok", "  ", vec![]), "the message cannot be empty"),
        (
            open("ok", &"m".repeat(16_001), vec![]),
            "the message is 16001 characters long; the limit is 16000",
        ),
        (
            open("ok", "hi", vec![file("../x", 1)]),
            "attachment name \"../x\" is not allowed",
        ),
        (
            open("ok", "hi", vec![file("big.iso", 200 * 1024 * 1024)]),
            "attachment \"big.iso\" is 209715200 bytes",
        ),
    ];
    for (input, reason) in cases {
        let err = h
            .engine
            .open_ticket(&Ctx::new(ann), input)
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::Invalid(_)), "{err:?}");
        assert!(
            err.to_string().starts_with(reason),
            "{err} should start with {reason}"
        );
    }
    assert_eq!(h.events().await, before);
    let page = h
        .engine
        .my_tickets(ann, PageRequest::first(View::All))
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

#[apply(backends)]
#[tokio::test]
async fn departments_must_exist_and_be_active(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let billing = h.department(sam, "Billing").await;
    let opened = h.open_in(ann, "Invoice", billing).await;
    assert_eq!(opened.ticket.department_id, Some(billing));
    h.engine
        .set_department_active(&Ctx::new(sam), billing, false)
        .await
        .unwrap();
    let err = h
        .engine
        .open_ticket(
            &Ctx::new(ann),
            NewTicket {
                subject: "Again".into(),
                body: "x".into(),
                department: Some(billing),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    let err = h
        .engine
        .open_ticket(
            &Ctx::new(ann),
            NewTicket {
                subject: "Again".into(),
                body: "x".into(),
                department: Some(threadesk_core::DepartmentId(999)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::NotFound("department")),
        "{err:?}"
    );
}

#[apply(backends)]
#[tokio::test]
async fn the_open_ticket_cap_is_enforced_and_closing_frees_a_slot(#[case] kind: Kind) {
    let h = harness_with(
        kind,
        Settings {
            max_open_tickets_per_requester: 2,
            ..Default::default()
        },
        5,
    )
    .await;
    let ann = h.person("Ann").await;
    let first = h.open(ann, "one").await;
    h.open(ann, "two").await;
    let err = h
        .engine
        .open_ticket(
            &Ctx::new(ann),
            NewTicket {
                subject: "three".into(),
                body: "x".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::TooManyOpenTickets { open: 2, limit: 2 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("limit is 2"));
    h.engine
        .close(&Ctx::new(ann), first.ticket.id)
        .await
        .unwrap();
    // the refused opening took no number: numbers have no gaps.
    let third = h.open(ann, "three").await;
    assert_eq!(third.ticket.number.0, first.ticket.number.0 + 2);
    // and the ids read for it were not taken by anything else.
    let thread = h.engine.thread(ann, third.ticket.id).await.unwrap();
    assert_eq!(thread.messages[0].id, third.message.id);
    assert_eq!(thread.ticket.number, third.ticket.number);
}

#[apply(backends)]
#[tokio::test]
async fn replies_move_the_status_as_the_product_says(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    let posted = h.reply(ann, t.id, "any news?").await.unwrap();
    assert_eq!(posted.ticket.status, Status::Open, "no staff answer yet");
    let posted = h.reply(sam, t.id, "try again now").await.unwrap();
    assert_eq!(posted.ticket.status, Status::AwaitingClient);
    assert_eq!(posted.message.author_role, "staff");
    let posted = h.reply(ann, t.id, "still broken").await.unwrap();
    assert_eq!(posted.ticket.status, Status::ClientReplied);
    assert_eq!(
        h.engine.ticket(ann, t.id).await.unwrap().status,
        Status::ClientReplied
    );
}

#[apply(backends)]
#[tokio::test]
async fn internal_notes_are_for_staff_only(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    let note = h
        .engine
        .note(
            &Ctx::new(sam),
            t.id,
            NewMessage::text("customer is on the old client"),
        )
        .await
        .unwrap();
    assert!(note.message.internal);
    assert_eq!(note.ticket.status, Status::Open, "a note is not an answer");
    let err = h
        .engine
        .note(&Ctx::new(ann), t.id, NewMessage::text("sneaky"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::NotAllowed(Action::Note)),
        "{err:?}"
    );
    let customer_view = h.engine.thread(ann, t.id).await.unwrap();
    assert!(customer_view.messages.iter().all(|m| !m.internal));
    assert_eq!(customer_view.messages.len(), 1);
    let staff_view = h.engine.thread(sam, t.id).await.unwrap();
    assert_eq!(staff_view.messages.len(), 2);
    assert!(staff_view.messages[1].internal);
    let err = h
        .engine
        .message_revisions(ann, note.message.id)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err:?}");
}

#[apply(backends)]
#[tokio::test]
async fn closed_is_final_for_every_kind_of_write(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let bob = h.person("Bob").await;
    let opened = h.open(ann, "VPN").await;
    let t = opened.ticket;
    let d = h
        .engine
        .invite_delegate(
            &Ctx::new(ann),
            t.id,
            threadesk_core::engine::Invitee::Person(bob),
        )
        .await
        .unwrap();
    let closed = h.engine.close(&Ctx::new(ann), t.id).await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert!(closed.closed_at.is_some());
    let before = h.events().await;
    let is_closed = |e: &EngineError| matches!(e, EngineError::TicketClosed { number, .. } if *number == t.number);

    let err = h.reply(ann, t.id, "one more thing").await.unwrap_err();
    assert!(is_closed(&err), "{err:?}");
    match err {
        EngineError::TicketClosed { unsent, .. } => assert_eq!(
            unsent.as_deref(),
            Some("one more thing"),
            "the text comes back"
        ),
        other => panic!("{other:?}"),
    }
    assert!(err_text(
        &h.engine
            .note(&Ctx::new(sam), t.id, NewMessage::text("n"))
            .await
    )
    .contains("is closed"));
    let errors = [
        h.engine
            .close(&Ctx::new(ann), t.id)
            .await
            .map(|_| ())
            .unwrap_err(),
        h.engine
            .edit_subject(&Ctx::new(ann), t.id, "new")
            .await
            .map(|_| ())
            .unwrap_err(),
        h.engine
            .edit_message(&Ctx::new(ann), opened.message.id, "edited")
            .await
            .map(|_| ())
            .unwrap_err(),
        h.engine
            .set_status(&Ctx::new(sam), t.id, Status::Open)
            .await
            .map(|_| ())
            .unwrap_err(),
        h.engine
            .invite_delegate(
                &Ctx::new(ann),
                t.id,
                threadesk_core::engine::Invitee::Email("x@example.com".into()),
            )
            .await
            .map(|_| ())
            .unwrap_err(),
        h.engine
            .revoke_delegate(&Ctx::new(ann), d.id)
            .await
            .map(|_| ())
            .unwrap_err(),
        h.engine
            .accept_delegation(&Ctx::new(bob), d.id)
            .await
            .map(|_| ())
            .unwrap_err(),
    ];
    for err in errors {
        assert!(is_closed(&err), "{err:?}");
        assert!(err.to_string().contains("open a new ticket"));
    }
    assert_eq!(h.events().await, before, "no refused write left an event");
    // it can still be read.
    assert_eq!(
        h.engine.thread(ann, t.id).await.unwrap().allowed,
        vec![Action::View]
    );
}

fn err_text<T: std::fmt::Debug>(r: &Result<T, EngineError>) -> String {
    r.as_ref().unwrap_err().to_string()
}

#[apply(backends)]
#[tokio::test]
async fn only_the_author_edits_a_message_and_every_revision_is_kept(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let opened = h.open(ann, "VPN").await;
    let m = opened.message.id;
    let err = h
        .engine
        .edit_message(&Ctx::new(sam), m, "staff rewrite")
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotAuthor), "{err:?}");
    let edited = h
        .engine
        .edit_message(&Ctx::new(ann), m, "VPN drops every hour")
        .await
        .unwrap();
    assert_eq!(edited.revision, 2);
    assert!(edited.edited_at.is_some());
    h.engine
        .edit_message(&Ctx::new(ann), m, "VPN drops every 30 minutes")
        .await
        .unwrap();
    let revisions = h.engine.message_revisions(ann, m).await.unwrap();
    let bodies: Vec<_> = revisions
        .iter()
        .map(|r| (r.revision, r.body.as_str()))
        .collect();
    assert_eq!(bodies, vec![(1, "about VPN"), (2, "VPN drops every hour")]);
    let thread = h.engine.thread(sam, opened.ticket.id).await.unwrap();
    assert_eq!(thread.messages[0].body, "VPN drops every 30 minutes");
    assert_eq!(thread.messages[0].revision, 3);
    let err = h
        .engine
        .edit_message(&Ctx::new(ann), m, "VPN drops every 30 minutes")
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Conflict(_)),
        "an edit that changes nothing is refused: {err:?}"
    );
}

#[apply(backends)]
#[tokio::test]
async fn subject_edits_and_manual_statuses(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    let t2 = h
        .engine
        .edit_subject(&Ctx::new(ann), t.id, "  VPN drops hourly ")
        .await
        .unwrap();
    assert_eq!(t2.subject, "VPN drops hourly");
    let err = h
        .engine
        .edit_subject(&Ctx::new(ann), t.id, "")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::Invalid(ValidationError::EmptySubject)
    ));
    let held = h
        .engine
        .set_status(&Ctx::new(sam), t.id, Status::OnHold)
        .await
        .unwrap();
    assert_eq!(held.status, Status::OnHold);
    let err = h
        .engine
        .set_status(&Ctx::new(sam), t.id, Status::OnHold)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::SameStatus(Status::OnHold)));
    let err = h
        .engine
        .set_status(&Ctx::new(ann), t.id, Status::Open)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotAllowed(Action::SetStatus)));
    assert_eq!(
        h.reply(ann, t.id, "any news?").await.unwrap().ticket.status,
        Status::ClientReplied
    );
    let closed = h
        .engine
        .set_status(&Ctx::new(sam), t.id, Status::Closed)
        .await
        .unwrap();
    assert!(closed.closed_at.is_some());
}

#[apply(backends)]
#[tokio::test]
async fn attachments_are_kept_as_metadata_on_their_message(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let opened = h
        .engine
        .open_ticket(
            &Ctx::new(ann),
            NewTicket {
                subject: "Logs".into(),
                body: "attached".into(),
                attachments: vec![file("vpn.log", 1234), file("screen.png", 99)],
                department: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(opened.message.attachments.len(), 2);
    let reply = h
        .engine
        .reply(
            &Ctx::new(ann),
            opened.ticket.id,
            NewMessage {
                body: "one more".into(),
                attachments: vec![file("more.txt", 5)],
            },
        )
        .await
        .unwrap();
    let thread = h.engine.thread(ann, opened.ticket.id).await.unwrap();
    let names: Vec<Vec<&str>> = thread
        .messages
        .iter()
        .map(|m| m.attachments.iter().map(|a| a.name.as_str()).collect())
        .collect();
    assert_eq!(names, vec![vec!["vpn.log", "screen.png"], vec!["more.txt"]]);
    assert_eq!(thread.messages[0].attachments[0].size_bytes, 1234);
    assert_eq!(thread.messages[1].attachments, reply.message.attachments);
}

#[apply(backends)]
#[tokio::test]
async fn the_same_idempotency_key_performs_the_operation_once(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let ctx = Ctx::new(ann).with_key("slack:Ev123");
    let input = NewTicket {
        subject: "VPN".into(),
        body: "down".into(),
        ..Default::default()
    };
    let first = h.engine.open_ticket(&ctx, input.clone()).await.unwrap();
    let events = h.events().await;
    let again = h.engine.open_ticket(&ctx, input).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(h.events().await, events);
    let reply_ctx = Ctx::new(ann).with_key("slack:Ev124");
    let r1 = h
        .engine
        .reply(&reply_ctx, first.ticket.id, NewMessage::text("hello"))
        .await
        .unwrap();
    let r2 = h
        .engine
        .reply(&reply_ctx, first.ticket.id, NewMessage::text("hello"))
        .await
        .unwrap();
    assert_eq!(r1, r2);
    assert_eq!(
        h.engine
            .thread(ann, first.ticket.id)
            .await
            .unwrap()
            .messages
            .len(),
        2
    );
    let err = h
        .engine
        .close(&reply_ctx, first.ticket.id)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::IdempotencyMismatch), "{err:?}");
    // a refused command stores nothing under its key: the retry runs again.
    let bad = Ctx::new(ann).with_key("slack:Ev125");
    assert!(h
        .engine
        .reply(&bad, first.ticket.id, NewMessage::text(" "))
        .await
        .is_err());
    assert!(h
        .engine
        .reply(&bad, first.ticket.id, NewMessage::text("fixed"))
        .await
        .is_ok());
}

#[apply(backends)]
#[tokio::test]
async fn nul_and_invisible_text_is_treated_alike_on_both_databases(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    // a NUL byte used to fail on PostgreSQL and be stored on SQLite.
    let posted = h.reply(ann, t.id, "still\0 down\u{7}").await.unwrap();
    assert_eq!(posted.message.body, "still down");
    let edited = h
        .engine
        .edit_message(&Ctx::new(ann), posted.message.id, "back\0 up")
        .await
        .unwrap();
    assert_eq!(edited.body, "back up");
    let thread = h.engine.thread(ann, t.id).await.unwrap();
    assert!(thread.messages.iter().all(|m| !m.body.contains('\0')));
    // blank means blank once invisible characters are taken out.
    assert!(matches!(
        h.reply(ann, t.id, "\0\u{200B}").await,
        Err(EngineError::Invalid(ValidationError::EmptyMessage))
    ));
    let zero_width = h
        .engine
        .open_ticket(
            &Ctx::new(ann),
            threadesk_core::engine::NewTicket {
                subject: "\u{200B}\u{200D}".into(),
                department: None,
                body: "x".into(),
                attachments: vec![],
            },
        )
        .await;
    assert!(matches!(
        zero_width,
        Err(EngineError::Invalid(ValidationError::EmptySubject))
    ));
    let subject = h
        .engine
        .edit_subject(&Ctx::new(ann), t.id, "VPN\0 again")
        .await
        .unwrap();
    assert_eq!(subject.subject, "VPN again");
}

#[apply(backends)]
#[tokio::test]
async fn files_no_attachment_refers_to_are_swept_after_their_grace(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let dir = tempfile::tempdir().unwrap();
    let store = threadesk_core::blobs::BlobStore::open(dir.path()).unwrap();
    let keep = |bytes: &'static [u8]| {
        let store = store.clone();
        async move {
            let mut up = store.create().await.unwrap();
            up.write(bytes).await.unwrap();
            store.keep(up).await.unwrap()
        }
    };
    let used = keep(b"on a ticket").await;
    let orphan = keep(b"nobody's").await;
    let mut half = store.create().await.unwrap();
    half.write(b"a crash mid-upload").await.unwrap();
    let t = h.open(ann, "Files").await.ticket;
    let file = AttachmentMeta {
        name: "a.txt".into(),
        content_type: "text/plain".into(),
        size_bytes: 11,
        url: used.clone(),
    };
    h.engine
        .reply(
            &Ctx::new(ann),
            t.id,
            NewMessage {
                body: "see file".into(),
                attachments: vec![file],
            },
        )
        .await
        .unwrap();
    let referenced = h.engine.system().blob_links().await.unwrap();
    // within the grace period nothing goes (an upload may be in flight).
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(store.sweep(&referenced, hour).await.unwrap(), 0);
    // past it, the orphan and the half-written file go; the attached stays.
    let removed = store
        .sweep(&referenced, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert!(store.path_of(&used).unwrap().exists());
    assert!(!store.path_of(&orphan).unwrap().exists());
    drop(half);
}

#[apply(backends)]
#[tokio::test]
async fn replies_and_notes_by_number_are_replies_and_notes_with_the_same_rights(
    #[case] kind: Kind,
) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let eve = h.person("Eve").await;
    let t = h.open(ann, "By number").await.ticket;
    let posted = h
        .engine
        .reply_by_number(
            &Ctx::new(ann),
            t.number,
            NewMessage::text("asked by number"),
        )
        .await
        .unwrap();
    assert_eq!(posted.ticket.id, t.id);
    let note = h
        .engine
        .note_by_number(&Ctx::new(sam), t.number, NewMessage::text("staff only"))
        .await
        .unwrap();
    assert!(note.message.internal);
    let answer = h
        .engine
        .reply_by_number(&Ctx::new(sam), t.number, NewMessage::text("answered"))
        .await
        .unwrap();
    assert_eq!(answer.ticket.status, Status::AwaitingClient);
    let bodies =
        |thread: Thread| -> Vec<String> { thread.messages.into_iter().map(|m| m.body).collect() };
    assert_eq!(
        bodies(h.engine.thread(ann, t.id).await.unwrap())[1..],
        ["asked by number", "answered"]
    );
    assert_eq!(
        bodies(h.engine.thread(sam, t.id).await.unwrap())[1..],
        ["asked by number", "staff only", "answered"]
    );
    // the same refusals as by id, and nothing written for them.
    let events = h.events().await;
    let by_id = h
        .engine
        .note(&Ctx::new(ann), t.id, NewMessage::text("mine?"))
        .await
        .unwrap_err();
    let by_number = h
        .engine
        .note_by_number(&Ctx::new(ann), t.number, NewMessage::text("mine?"))
        .await
        .unwrap_err();
    assert_eq!(format!("{by_number:?}"), format!("{by_id:?}"));
    for (who, number) in [(eve, t.number), (ann, TicketNumber(t.number.0 + 7))] {
        assert!(matches!(
            h.engine
                .reply_by_number(&Ctx::new(who), number, NewMessage::text("hello?"))
                .await,
            Err(EngineError::NotFound("ticket"))
        ));
    }
    assert_eq!(h.events().await, events);
    // a repeated request posts once.
    let ctx = Ctx::new(ann).with_key("by-number-1");
    let first = h
        .engine
        .reply_by_number(&ctx, t.number, NewMessage::text("once"))
        .await
        .unwrap();
    let again = h
        .engine
        .reply_by_number(&ctx, t.number, NewMessage::text("once"))
        .await
        .unwrap();
    assert_eq!(first.message.id, again.message.id);
    assert_eq!(h.events().await, events + 1);
}
