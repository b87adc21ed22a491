//! Transcripts: public for customers, full for staff, read page by page.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::AttachmentMeta;
use threadesk_core::engine::{
    NewMessage, Transcript, TranscriptFormat, TranscriptKind, TRANSCRIPT_PAGE,
};
use threadesk_core::{Ctx, EngineError};

/// The whole file, and how many pieces it came in.
async fn read_all(mut t: Transcript) -> (String, usize) {
    let (mut out, mut pieces) = (String::new(), 0);
    while let Some(chunk) = t.next_chunk().await.unwrap() {
        out.push_str(&chunk);
        pieces += 1;
    }
    (out, pieces)
}

#[apply(backends)]
#[tokio::test]
async fn transcripts_show_what_each_may_read_escaped_with_files_linked(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam Support").await;
    let ann = h.person("Ann <Admin>").await;
    let eve = h.person("Eve").await;
    let t = h.open(ann, "Printer <b>jams</b>").await.ticket;
    h.engine
        .reply(
            &Ctx::new(ann),
            t.id,
            NewMessage {
                body: "Log attached. <script>alert(1)</script> **really**".into(),
                attachments: vec![AttachmentMeta {
                    name: "log \"1\".txt".into(),
                    content_type: "text/plain".into(),
                    size_bytes: 12,
                    url: "blob:abc".into(),
                }],
            },
        )
        .await
        .unwrap();
    h.engine
        .note(&Ctx::new(sam), t.id, NewMessage::text("VIP, handle first"))
        .await
        .unwrap();
    h.engine
        .reply(&Ctx::new(sam), t.id, NewMessage::text("Fixed, thanks."))
        .await
        .unwrap();
    let portal = "https://help.example";
    let public = h
        .engine
        .transcript(
            ann,
            t.id,
            TranscriptKind::Public,
            TranscriptFormat::Html,
            portal,
        )
        .await
        .unwrap();
    assert_eq!(public.file_name(), format!("ticket-{}.html", t.number.0));
    let (html, _) = read_all(public).await;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Printer &lt;b&gt;jams&lt;/b&gt;"), "{html}");
    assert!(html.contains("Ann &lt;Admin&gt;"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; <strong>really</strong>"),
        "{html}"
    );
    assert!(!html.contains("<script"), "nothing runs");
    assert!(html.contains("Fixed, thanks."));
    assert!(
        !html.contains("VIP, handle first"),
        "no internal note in the public one"
    );
    // files: listed, linked through the portal (rights checked there).
    let link = format!("{portal}/tickets/{}/files/", t.number.0);
    assert!(
        html.contains(&link) && html.contains("log &quot;1&quot;.txt"),
        "{html}"
    );
    assert!(!html.contains("blob:abc"), "storage places stay inside");
    // self-contained: nothing loaded from elsewhere.
    for outside in ["<link", "<img", "<script", "src=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside} in {html}");
    }
    // staff: the full one, notes marked; plain text too.
    let full = h
        .engine
        .transcript(
            sam,
            t.id,
            TranscriptKind::Full,
            TranscriptFormat::Text,
            portal,
        )
        .await
        .unwrap();
    let (text, _) = read_all(full).await;
    assert!(text.contains("VIP, handle first"), "{text}");
    assert!(text.contains("INTERNAL NOTE (staff only)"));
    assert!(
        text.contains("<script>alert(1)</script>"),
        "text is as written"
    );
    assert!(text.contains(&format!("[attachment] log \"1\".txt (12 bytes): {link}")));
    // customers never get the full one; strangers get nothing.
    let err = h
        .engine
        .transcript(
            ann,
            t.id,
            TranscriptKind::Full,
            TranscriptFormat::Html,
            portal,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::StaffOnly(_)), "{err:?}");
    let err = h
        .engine
        .transcript(
            eve,
            t.id,
            TranscriptKind::Public,
            TranscriptFormat::Html,
            portal,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err:?}");
}

#[apply(backends)]
#[tokio::test]
async fn a_long_ticket_is_read_a_page_at_a_time_in_order(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "Long").await.ticket;
    let total = usize::try_from(TRANSCRIPT_PAGE).unwrap() * 2 + 10;
    for i in 1..total {
        let who = if i % 2 == 0 { sam } else { ann };
        h.engine
            .reply(
                &Ctx::new(who),
                t.id,
                NewMessage::text(format!("message {i:04}")),
            )
            .await
            .unwrap();
    }
    let transcript = h
        .engine
        .transcript(
            ann,
            t.id,
            TranscriptKind::Public,
            TranscriptFormat::Text,
            "http://x",
        )
        .await
        .unwrap();
    let (text, pieces) = read_all(transcript).await;
    // head, three pages of messages, the end.
    assert_eq!(pieces, 5);
    let mut at = 0;
    for i in 1..total {
        let needle = format!("message {i:04}\n");
        let found = text[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{needle} missing or out of order"));
        at += found;
    }
    assert!(text.ends_with(&format!("End of the transcript of ticket {}.\n", t.number)));
}
