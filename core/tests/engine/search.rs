//! Full-text search: words in subjects and messages, the rights of the
//! lists, internal notes for staff only, filters, `#N`, paging.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::{
    Invitee, NewMessage, NewTicket, OwnerFilter, SearchQuery, SearchResult,
};
use threadesk_core::{Ctx, PersonId, TicketId};

async fn found(h: &Harness, who: PersonId, query: SearchQuery) -> Vec<TicketId> {
    match h.engine.search(who, &query, None, 50).await.unwrap() {
        SearchResult::Hits(page) => page.items.iter().map(|i| i.item.ticket.id).collect(),
        SearchResult::Jump(t) => panic!("jumped to {}", t.number),
    }
}

async fn words(h: &Harness, who: PersonId, text: &str) -> Vec<TicketId> {
    found(h, who, SearchQuery::words(text)).await
}

#[apply(backends)]
#[tokio::test]
async fn words_are_found_in_subjects_and_messages_as_prefixes(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let printer = h
        .engine
        .open_ticket(
            &Ctx::new(ann),
            NewTicket {
                subject: "Printer jams on tray 2".into(),
                body: "It started on Monday.".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .ticket;
    let vpn = h.open(ann, "VPN drops").await.ticket;
    h.reply(
        ann,
        vpn.id,
        "It happens since the Firmware-Update v4.2, see ann@example.com",
    )
    .await
    .unwrap();
    assert_eq!(words(&h, ann, "printer").await, vec![printer.id]);
    assert_eq!(
        words(&h, ann, "PRINT").await,
        vec![printer.id],
        "a prefix, any case"
    );
    assert_eq!(words(&h, ann, "firmware update").await, vec![vpn.id]);
    assert_eq!(
        words(&h, ann, "example.com").await,
        vec![vpn.id],
        "punctuation splits words alike"
    );
    assert_eq!(words(&h, ann, "v4.2").await, vec![vpn.id]);
    // every word, in one subject or one message.
    assert!(words(&h, ann, "printer firmware").await.is_empty());
    // newest activity first.
    h.reply(ann, printer.id, "about that").await.unwrap();
    assert_eq!(words(&h, sam, "about").await, vec![printer.id, vpn.id]);
    // query syntax is only words.
    assert!(words(&h, ann, "\"NEAR(\" OR *").await.is_empty());
    assert!(
        words(&h, ann, " !!! ").await.is_empty(),
        "no words: nothing"
    );
    // an edited subject or message is found by its new words only.
    h.engine
        .edit_subject(&Ctx::new(ann), printer.id, "Scanner jams")
        .await
        .unwrap();
    assert!(words(&h, ann, "printer").await.is_empty());
    assert_eq!(words(&h, ann, "scanner").await, vec![printer.id]);
    let posted = h
        .reply(ann, printer.id, "the toner light blinks")
        .await
        .unwrap();
    h.engine
        .edit_message(&Ctx::new(ann), posted.message.id, "the drum light blinks")
        .await
        .unwrap();
    assert!(words(&h, ann, "toner").await.is_empty());
    assert_eq!(words(&h, ann, "drum").await, vec![printer.id]);
}

#[apply(backends)]
#[tokio::test]
async fn a_customer_finds_only_what_they_may_read_and_never_internal_notes(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let acme = h.org(sam, "Acme").await;
    let ann = h.member(sam, acme, "Ann").await;
    let bob = h.member(sam, acme, "Bob").await;
    let boss = h.company_admin(sam, acme, "Boss").await;
    let eve = h.person("Eve").await;
    let anns = h.open(ann, "Quarterly invoice missing").await.ticket;
    let bobs = h.open(bob, "Invoice address wrong").await.ticket;
    let eves = h.open(eve, "Invoice in euros").await.ticket;
    h.engine
        .note(
            &Ctx::new(sam),
            anns.id,
            NewMessage::text("customer owes the zebra fee"),
        )
        .await
        .unwrap();
    // their own only; an organization member does not see a colleague's.
    assert_eq!(words(&h, ann, "invoice").await, vec![anns.id]);
    assert_eq!(words(&h, bob, "invoice").await, vec![bobs.id]);
    // the company admin sees the organization's, not Eve's.
    assert_eq!(words(&h, boss, "invoice").await, vec![bobs.id, anns.id]);
    // staff see all.
    assert_eq!(
        words(&h, sam, "invoice").await,
        vec![eves.id, bobs.id, anns.id]
    );
    // internal notes: staff only.
    assert!(words(&h, ann, "zebra").await.is_empty());
    assert!(words(&h, boss, "zebra").await.is_empty());
    let SearchResult::Hits(page) = h
        .engine
        .search(sam, &SearchQuery::words("zebra"), None, 10)
        .await
        .unwrap()
    else {
        panic!("no jump")
    };
    assert_eq!(page.items.len(), 1);
    assert!(page.items[0].internal);
    assert_eq!(
        page.items[0].excerpt.as_deref(),
        Some("customer owes the zebra fee")
    );
    // a ticket shared with Eve is found by Eve, marked shared.
    h.engine
        .invite_delegate(&Ctx::new(bob), bobs.id, Invitee::Person(eve))
        .await
        .unwrap();
    assert_eq!(
        words(&h, eve, "address").await,
        Vec::<TicketId>::new(),
        "invited is not accepted"
    );
    let d = h.engine.delegates(bob, bobs.id).await.unwrap();
    h.engine
        .accept_delegation(&Ctx::new(eve), d[0].id)
        .await
        .unwrap();
    let SearchResult::Hits(page) = h
        .engine
        .search(eve, &SearchQuery::words("invoice"), None, 10)
        .await
        .unwrap()
    else {
        panic!("no jump")
    };
    let got: Vec<(TicketId, bool)> = page
        .items
        .iter()
        .map(|i| (i.item.ticket.id, i.item.shared))
        .collect();
    assert_eq!(got, vec![(eves.id, false), (bobs.id, true)]);
}

#[apply(backends)]
#[tokio::test]
async fn a_number_jumps_to_a_ticket_the_person_may_read(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let eve = h.person("Eve").await;
    let t = h.open(ann, "Login fails").await.ticket;
    let q = SearchQuery::words(format!("#{}", t.number.0));
    match h.engine.search(ann, &q, None, 10).await.unwrap() {
        SearchResult::Jump(found) => assert_eq!(found.id, t.id),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        h.engine.search(sam, &q, None, 10).await.unwrap(),
        SearchResult::Jump(_)
    ));
    // somebody else's ticket: no jump, and nothing found.
    match h.engine.search(eve, &q, None, 10).await.unwrap() {
        SearchResult::Hits(page) => assert!(page.items.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[apply(backends)]
#[tokio::test]
async fn filters_narrow_a_search_and_pages_follow_each_other(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let kim = h.staff("Kim").await;
    let acme = h.org(sam, "Acme").await;
    let ann = h.member(sam, acme, "Ann").await;
    let bob = h.person("Bob").await;
    let billing = h.department(sam, "Billing").await;
    let mut all = Vec::new();
    for i in 0..7 {
        let who = if i % 2 == 0 { ann } else { bob };
        all.push(h.open(who, &format!("Refund request {i}")).await.ticket);
    }
    h.engine
        .move_to_department(&Ctx::new(sam), all[1].id, Some(billing))
        .await
        .unwrap();
    h.engine.claim(&Ctx::new(kim), all[2].id).await.unwrap();
    h.engine.close(&Ctx::new(sam), all[3].id).await.unwrap();
    let q = |f: fn(&mut SearchQuery)| {
        let mut q = SearchQuery::words("refund");
        f(&mut q);
        q
    };
    assert_eq!(found(&h, sam, q(|_| {})).await.len(), 7);
    assert_eq!(
        found(&h, sam, q(|q| q.view = View::Closed)).await,
        vec![all[3].id]
    );
    assert_eq!(found(&h, sam, q(|q| q.view = View::Active)).await.len(), 6);
    let mut by_dept = SearchQuery::words("refund");
    by_dept.department = Some(billing);
    assert_eq!(found(&h, sam, by_dept).await, vec![all[1].id]);
    let mut by_owner = SearchQuery::words("refund");
    by_owner.owner = Some(OwnerFilter::Person(kim));
    assert_eq!(found(&h, sam, by_owner.clone()).await, vec![all[2].id]);
    by_owner.owner = Some(OwnerFilter::Mine);
    assert_eq!(found(&h, kim, by_owner).await, vec![all[2].id]);
    let mut by_org = SearchQuery::words("refund");
    by_org.organization = Some(acme);
    assert_eq!(found(&h, sam, by_org).await.len(), 4);
    let mut by_requester = SearchQuery::words("");
    by_requester.requester = Some(bob);
    assert_eq!(
        found(&h, sam, by_requester).await.len(),
        3,
        "filters alone, no words"
    );
    let mut by_status = SearchQuery::words("refund");
    by_status.status = Some(Status::Closed);
    assert_eq!(found(&h, sam, by_status).await, vec![all[3].id]);
    let mut by_date = SearchQuery::words("refund");
    by_date.from = Some(all[5].created_at);
    assert_eq!(found(&h, sam, by_date.clone()).await.len(), 2);
    by_date.from = None;
    by_date.to = Some(all[1].created_at);
    assert_eq!(found(&h, sam, by_date).await, vec![all[0].id]);
    // pages of 3 follow each other with nothing twice or missing.
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let SearchResult::Hits(page) = h
            .engine
            .search(sam, &SearchQuery::words("refund"), after, 3)
            .await
            .unwrap()
        else {
            panic!("no jump")
        };
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|i| i.item.ticket.id));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut expected = found(&h, sam, SearchQuery::words("refund")).await;
    assert_eq!(seen, expected);
    expected.sort();
    expected.dedup();
    assert_eq!(expected.len(), 7);
}

#[apply(backends)]
#[tokio::test]
async fn a_prefix_finds_every_word_it_starts_however_many_there_are(#[case] kind: Kind) {
    let settings = threadesk_core::Settings {
        max_open_tickets_per_requester: 100,
        ..Default::default()
    };
    let h = harness_with(kind, settings, 5).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    // 60 words starting "zeb" (more than PostgreSQL expands), 11 of them
    // starting "zeb1"; one ticket each.
    let mut by_word = Vec::new();
    for i in 0..60 {
        let t = h.open(ann, &format!("ticket {i}")).await.ticket;
        h.reply(ann, t.id, &format!("see zeb{i} today"))
            .await
            .unwrap();
        by_word.push((format!("zeb{i}"), t.id));
    }
    let expect = |prefix: &str| {
        let mut ids: Vec<TicketId> = by_word
            .iter()
            .filter(|(w, _)| w.starts_with(prefix))
            .map(|(_, t)| *t)
            .collect();
        ids.sort();
        ids
    };
    let all = |prefix: &'static str, who: PersonId| {
        let h = &h;
        async move {
            let mut ids = Vec::new();
            let mut after = None;
            loop {
                let page = match h
                    .engine
                    .search(who, &SearchQuery::words(prefix), after, 25)
                    .await
                    .unwrap()
                {
                    SearchResult::Hits(p) => p,
                    SearchResult::Jump(_) => panic!("no jump"),
                };
                ids.extend(page.items.iter().map(|i| i.item.ticket.id));
                match page.next {
                    Some(c) => after = Some(c),
                    None => break,
                }
            }
            ids.sort();
            ids
        }
    };
    for who in [sam, ann] {
        assert_eq!(all("zeb", who).await, expect("zeb"), "more than 50 words");
        assert_eq!(all("zeb1", who).await, expect("zeb1"), "a few words");
        assert_eq!(all("zeb59", who).await, expect("zeb59"), "one word");
        assert!(all("zebra", who).await.is_empty(), "none");
        assert_eq!(
            all("ZEB1 today", who).await,
            expect("zeb1"),
            "with another word"
        );
    }
}

/// On SQLite words go into the search indexes in batches after they are
/// written (at most 500 messages and 500 tickets a batch); a search first
/// indexes whatever is left, so it finds everything written before it,
/// however much is waiting. PostgreSQL indexes as it writes.
#[apply(backends)]
#[tokio::test]
async fn a_search_finds_everything_written_before_it_however_much_waits(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "Quarterly report").await.ticket;
    h.reply(ann, t.id, "the zeppelin numbers are off")
        .await
        .unwrap();
    // 1,200 more, written straight into the table, the last with a word
    // of its own.
    sqlx::query(
        "insert into messages (ticket_id, author_id, author_role, internal, body, created_at) \
         select $1, $2, 'requester', 0, case when n = 1200 then 'xylophone' else 'filler' end, 0 \
         from (with recursive c(n) as (select 1 union all select n + 1 from c where n < 1200) \
               select n from c) counted",
    )
    .bind(t.id.0)
    .bind(ann.0)
    .execute(h.engine.db().pool())
    .await
    .unwrap();
    let in_index = |word: &'static str| {
        let db = h.engine.db().clone();
        async move {
            let n: i64 =
                sqlx::query_scalar("select count(*) from messages_fts where messages_fts match $1")
                    .bind(word)
                    .fetch_one(db.pool())
                    .await
                    .unwrap();
            n
        }
    };
    if kind == Kind::Sqlite {
        assert_eq!(in_index("zeppelin").await, 0, "not indexed in the write");
    }
    let indexed = h.engine.index_new_words().await.unwrap();
    match kind {
        // the opening's message, the reply and the 1,200, and the ticket.
        Kind::Sqlite => assert_eq!(indexed, 1 + 1 + 1200 + 1),
        Kind::Postgres => assert_eq!(indexed, 0),
    }
    if kind == Kind::Sqlite {
        assert_eq!(in_index("zeppelin").await, 1);
        assert_eq!(in_index("xylophone").await, 1);
    }
    assert_eq!(h.engine.index_new_words().await.unwrap(), 0, "nothing left");
    // written after that, found by the next search all the same.
    let later = h.open(ann, "Yodel club").await.ticket;
    h.reply(ann, t.id, "a quokka too").await.unwrap();
    assert_eq!(words(&h, sam, "yodel").await, vec![later.id]);
    assert_eq!(words(&h, sam, "quokka").await, vec![t.id]);
    assert_eq!(words(&h, sam, "xylophone").await, vec![t.id]);
    assert_eq!(h.engine.index_new_words().await.unwrap(), 0);
}
