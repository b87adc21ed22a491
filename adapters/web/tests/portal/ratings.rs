//! Satisfaction ratings in the portal: the requester rates a closed ticket
//! from its page or from the closing mail's link, staff see ratings on the
//! ticket, in the queue and in the report.

use crate::helpers::{backends, Browser, Site};
use axum::http::{header, StatusCode};
use rstest::rstest;
use rstest_reuse::apply;
use std::time::Duration;
use threadesk_core::domain::Ticket;
use threadesk_core::engine::Invitee;
use threadesk_core::testing::Kind;
use threadesk_core::time::{day, when, Timestamp};
use threadesk_core::{Ctx, PersonId};

const DAY: Duration = Duration::from_secs(24 * 3600);
const MINUTE: Duration = Duration::from_secs(60);
const RADIO: &str = r#"type="radio" name="score""#;

/// A ticket of `who`, answered by staff and closed by `who`.
async fn closed(site: &Site, who: PersonId, subject: &str) -> Ticket {
    let t = site.h.open(who, subject).await.ticket;
    site.h
        .reply(site.staff, t.id, "Fixed it.")
        .await
        .expect("staff answer");
    site.h
        .engine
        .close(&Ctx::new(who), t.id)
        .await
        .expect("closes")
}

/// The part of a page from `start` to the next `end`.
fn part<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in {body}"));
    let rest = &body[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[apply(backends)]
#[tokio::test]
async fn the_requester_rates_a_closed_ticket_from_its_page_and_changes_it(#[case] kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    // an open ticket offers no form, and refuses a rating.
    let open = b.open("Still open", "Help").await;
    let page = b.get(&format!("/tickets/{open}")).await;
    assert!(
        !page.shows("How did we do?") && !page.shows(RADIO),
        "{}",
        page.body
    );
    let early = b
        .post(&format!("/tickets/{open}/rating"), &[("score", "5")])
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(early.shows("is still open"), "{}", early.body);

    let t = closed(&site, bob, "VPN drops").await;
    let n = t.number.0;
    let page = b.get(&format!("/tickets/{n}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("How did we do?"), "{}", page.body);
    for score in 1..=5 {
        assert!(page.shows(&format!(r#"{RADIO} value="{score}" required>"#)));
    }
    assert!(
        page.shows("5 of 5 stars: Excellent"),
        "words for screen readers"
    );
    assert!(page.shows(r#"name="comment""#));
    let rating = format!("/tickets/{n}/rating");

    // nothing chosen, or out of range: refused, with what they typed.
    let none = b.post(&rating, &[("comment", "kept text")]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        none.shows("Choose a rating from 1 to 5 stars"),
        "{}",
        none.body
    );
    assert!(none.shows(">kept text</textarea>"));
    let bad = b
        .post(&rating, &[("score", "9"), ("comment", "still here")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.shows("A rating is 1 to 5 stars (9 given)"),
        "{}",
        bad.body
    );
    assert!(bad.shows(">still here</textarea>"));
    assert_eq!(site.h.engine.rating(bob, t.id).await.unwrap(), None);

    let done = b
        .post(&rating, &[("score", "4"), ("comment", "Quick and kind")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let at = done.location.unwrap();
    assert_eq!(at, format!("/tickets/{n}?done=rated"));
    let page = b.get(&at).await;
    assert!(page.shows("Thank you for rating"), "{}", page.body);
    let until = when(Timestamp(
        t.closed_at.unwrap().0 + i64::try_from(7 * DAY.as_micros()).unwrap(),
    ));
    assert!(
        page.shows(&format!(
            "You rated ★★★★☆ (4 of 5: Very good) — you can change it until {until}."
        )),
        "{}",
        page.body
    );
    assert!(page.shows("Quick and kind"));
    assert!(page.shows("Change my rating"));
    let r = site.h.engine.rating(bob, t.id).await.unwrap().unwrap();
    assert_eq!((r.score, r.comment.as_deref()), (4, Some("Quick and kind")));

    // changed: the new score, and no comment any more.
    let changed = b.post(&rating, &[("score", "2"), ("comment", "")]).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(
        changed.location.as_deref(),
        Some(format!("/tickets/{n}?done=rating-changed").as_str())
    );
    let page = b.get(&changed.location.unwrap()).await;
    assert!(page.shows("Your rating is changed."));
    assert!(
        page.shows("You rated ★★☆☆☆ (2 of 5: Fair)"),
        "{}",
        page.body
    );
    assert!(!page.shows("Quick and kind"));
    let r = site.h.engine.rating(bob, t.id).await.unwrap().unwrap();
    assert_eq!((r.score, r.comment), (2, None));
    // the same again is no change.
    let same = b.post(&rating, &[("score", "2")]).await;
    assert_eq!(same.status, StatusCode::CONFLICT);
    assert!(same.shows("That is already your rating"), "{}", same.body);
    // unknown tickets are not found.
    let unknown = b.post("/tickets/999999/rating", &[("score", "5")]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[apply(backends)]
#[tokio::test]
async fn only_the_requester_is_offered_the_form_and_everybody_else_is_refused(#[case] kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let admin = site
        .h
        .company_admin(site.staff, site.org, "Ada Admin")
        .await;
    let eve = site.customer("Eve Member", "eve@acme.example", true).await;
    let dana = site
        .customer("Dana Delegate", "dana@partner.example", false)
        .await;
    let t = site.h.open(bob, "Renewal").await.ticket;
    let d = site
        .h
        .engine
        .invite_delegate(&Ctx::new(bob), t.id, Invitee::Person(dana))
        .await
        .unwrap();
    site.h
        .engine
        .accept_delegation(&Ctx::new(dana), d.id)
        .await
        .unwrap();
    site.h.engine.close(&Ctx::new(bob), t.id).await.unwrap();
    let n = t.number.0;
    let rating = format!("/tickets/{n}/rating");

    for who in [admin, dana, site.staff] {
        let mut browser = site.browser(who).await;
        let page = browser.get(&format!("/tickets/{n}")).await;
        assert_eq!(page.status, StatusCode::OK, "{who:?} reads it");
        assert!(
            !page.shows("How did we do?") && !page.shows(RADIO),
            "{who:?}: {}",
            page.body
        );
        let refused = browser.post(&rating, &[("score", "1")]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{who:?}");
        assert!(
            refused.shows("Only the person who opened the ticket can rate it"),
            "{}",
            refused.body
        );
    }
    let mut e = site.browser(eve).await;
    assert_eq!(
        e.get(&format!("/tickets/{n}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        e.post(&rating, &[("score", "1")]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(site.h.engine.rating(site.staff, t.id).await.unwrap(), None);

    // Bob's rating is his and staff's to read, not the others'.
    site.h
        .engine
        .rate(&Ctx::new(bob), t.id, 5, Some("Between us: great"))
        .await
        .unwrap();
    for who in [admin, dana] {
        let page = site.browser(who).await.get(&format!("/tickets/{n}")).await;
        assert!(!page.shows("Between us"), "{who:?}: {}", page.body);
    }
    let staff = site
        .browser(site.staff)
        .await
        .get(&format!("/tickets/{n}"))
        .await;
    assert!(staff.shows("Between us: great"));
}

#[apply(backends)]
#[tokio::test]
async fn staff_see_the_rating_on_the_ticket_page_and_in_the_queue(#[case] kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let rated = closed(&site, bob, "Rated one").await;
    let unrated = closed(&site, bob, "Unrated one").await;
    site.h.open(bob, "Open one").await;
    site.h
        .engine
        .rate(&Ctx::new(bob), rated.id, 4, Some("Quick and kind"))
        .await
        .unwrap();
    let mut s = site.browser(site.staff).await;
    let page = s.get(&format!("/tickets/{}", rated.number.0)).await;
    assert!(
        page.shows("Rating: </strong>★★★★☆ (4 of 5: Very good)"),
        "{}",
        page.body
    );
    assert!(page.shows("Quick and kind"));
    assert!(page.shows("rated "), "when");
    assert!(!page.shows(RADIO), "staff do not rate");
    let page = s.get(&format!("/tickets/{}", unrated.number.0)).await;
    assert!(page.shows("Not rated yet."), "{}", page.body);

    let queue = s.get("/staff?status=closed").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.shows("<th>Rating</th>"), "{}", queue.body);
    let row = part(&queue.body, "Rated one", "</tr>");
    assert!(
        row.contains(r#"<td data-label="Rating"><span class="stars-shown" title="4 of 5: Very good" aria-hidden="true">★★★★☆</span>"#),
        "{row}"
    );
    let row = part(&queue.body, "Unrated one", "</tr>");
    assert!(
        row.contains(r#"<td data-label="Rating"><span class="muted">—</span>"#),
        "{row}"
    );
    // the open queue has no column for it.
    let active = s.get("/staff").await;
    assert!(active.shows("Open one") && !active.shows("<th>Rating</th>"));
}

#[apply(backends)]
#[tokio::test]
async fn a_rating_link_shows_the_form_on_get_and_rates_once_on_post(#[case] kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let t = closed(&site, bob, "Printer jam").await;
    let system = site.h.engine.system();
    let token = system
        .rating_link(t.id, bob)
        .await
        .unwrap()
        .expect("a link");
    let path = format!("/rate/{token}");

    // opening it (twice, as scanners do) rates nothing.
    let mut visitor = Browser::from_site(&site);
    for _ in 0..2 {
        let page = visitor.get(&format!("{path}?score=4")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.shows("#1001") && page.shows("Printer jam"));
        assert!(
            page.shows(r#"value="4" required checked>"#),
            "{}",
            page.body
        );
        assert!(page.shows(r#"value="5" required>"#));
        assert_eq!(page.header(header::CACHE_CONTROL), "no-store");
        visitor.csrf = page.csrf();
    }
    assert_eq!(site.h.engine.rating(bob, t.id).await.unwrap(), None);

    // without this session's token (another site's form): refused.
    let mut stranger = Browser::from_site(&site);
    let forged = stranger
        .post_raw(&path, &[("csrf", &visitor.csrf), ("score", "1")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bare = visitor.post_raw(&path, &[("score", "1")]).await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    // a bad score leaves the link usable.
    let bad = visitor
        .post(&path, &[("score", "7"), ("comment", "typed")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.shows("A rating is 1 to 5 stars (7 given)"),
        "{}",
        bad.body
    );
    assert!(bad.shows(">typed</textarea>"));
    assert_eq!(site.h.engine.rating(bob, t.id).await.unwrap(), None);

    let thanks = visitor
        .post(&path, &[("score", "5"), ("comment", "Great")])
        .await;
    assert_eq!(thanks.status, StatusCode::OK, "{}", thanks.body);
    assert!(
        thanks.shows("Thanks — you rated ticket #1001 ★★★★★"),
        "{}",
        thanks.body
    );
    let r = site.h.engine.rating(bob, t.id).await.unwrap().unwrap();
    assert_eq!(
        (r.score, r.comment.as_deref(), r.rated_by),
        (5, Some("Great"), bob)
    );
    // used up: posting or opening it again finds nothing.
    let again = visitor.post(&path, &[("score", "1")]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.shows("This link no longer works"), "{}", again.body);
    assert!(again.shows("after signing in"));
    assert_eq!(
        visitor.get(&format!("{path}?score=1")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        site.h
            .engine
            .rating(bob, t.id)
            .await
            .unwrap()
            .unwrap()
            .score,
        5
    );
    let unknown = visitor.get("/rate/not-a-token?score=3").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.shows("This link no longer works"));
    // the link signed nobody in.
    assert_eq!(visitor.get("/tickets").await.status, StatusCode::SEE_OTHER);
}

#[apply(backends)]
#[tokio::test]
async fn past_seven_days_the_form_is_gone_and_a_rating_is_refused(#[case] kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let rated = closed(&site, bob, "Rated in time").await;
    let quiet = closed(&site, bob, "Never rated").await;
    let token = site
        .h
        .engine
        .system()
        .rating_link(quiet.id, bob)
        .await
        .unwrap()
        .unwrap();
    let mut b = site.browser(bob).await;
    let n = rated.number.0;
    let done = b
        .post(&format!("/tickets/{n}/rating"), &[("score", "3")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    site.h.engine.clock().advance(6 * DAY);
    let page = b.get(&format!("/tickets/{n}")).await;
    assert!(page.shows(RADIO), "still within the week");

    site.h.engine.clock().advance(DAY + MINUTE);
    let page = b.get(&format!("/tickets/{n}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.shows(RADIO), "{}", page.body);
    assert!(
        page.shows("You rated ★★★☆☆ (3 of 5: Good)."),
        "{}",
        page.body
    );
    assert!(!page.shows("you can change it until"));
    let late = b
        .post(&format!("/tickets/{n}/rating"), &[("score", "5")])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(
        late.shows("Ratings can be given or changed for 7 days after a ticket closes"),
        "{}",
        late.body
    );
    assert_eq!(
        site.h
            .engine
            .rating(bob, rated.id)
            .await
            .unwrap()
            .unwrap()
            .score,
        3
    );
    // never rated: nothing to show, nothing to fill in, the link is over.
    let page = b.get(&format!("/tickets/{}", quiet.number.0)).await;
    assert!(!page.shows("How did we do?"), "{}", page.body);
    let expired = Browser::from_site(&site)
        .get(&format!("/rate/{token}?score=5"))
        .await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
    assert!(expired.shows("This link no longer works"));
}

#[apply(backends)]
#[tokio::test]
async fn the_report_counts_per_department_and_per_owner_and_an_empty_period_says_so(
    #[case] kind: Kind,
) {
    let site = Site::new(kind).await;
    let sam = site.staff;
    let kim = site.h.staff("Kim Keeper").await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let billing = site.h.department(sam, "Billing").await;
    let start = site.h.engine.now();
    let cases = [
        (Some(billing), Some(sam), 5, None),
        (Some(billing), Some(kim), 3, Some("Slow but fine")),
        (
            None,
            None,
            1,
            Some("<script>alert(1)</script> & <b>bold</b>"),
        ),
    ];
    let mut numbers = vec![];
    for (i, (department, owner, score, comment)) in cases.into_iter().enumerate() {
        let t = site.h.open(bob, &format!("Case {i}")).await.ticket;
        let staff = Ctx::new(sam);
        if department.is_some() {
            site.h
                .engine
                .move_to_department(&staff, t.id, department)
                .await
                .unwrap();
        }
        if owner.is_some() {
            site.h.engine.assign(&staff, t.id, owner).await.unwrap();
        }
        site.h.engine.close(&Ctx::new(bob), t.id).await.unwrap();
        site.h
            .engine
            .rate(&Ctx::new(bob), t.id, score, comment)
            .await
            .unwrap();
        numbers.push(t.number.0);
    }
    let mut s = site.browser(sam).await;
    let nav = s.get("/staff").await;
    assert!(
        nav.shows(r#"href="/staff/ratings""#),
        "linked from the staff navigation"
    );
    let page = s.get("/staff/ratings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.shows(&format!(r#"value="{}""#, day(start))),
        "today is in the default period"
    );
    assert!(
        page.shows("<strong>3</strong> ratings, on average <strong>3.0</strong> of 5."),
        "{}",
        page.body
    );
    let row = |label: &str, name: &str, n: i64, avg: &str, counts: [i64; 5]| {
        let mut cells = format!(
            r#"<td data-label="{label}">{name}</td><td data-label="Ratings">{n}</td><td data-label="Average">{avg}</td>"#
        );
        for (i, c) in counts.iter().enumerate() {
            cells.push_str(&format!(r#"<td data-label="{}★">{c}</td>"#, i + 1));
        }
        cells
    };
    let departments = part(&page.body, "By department", "</section>");
    assert!(
        departments.contains(&row("Department", "Billing", 2, "4.0", [0, 0, 1, 0, 1])),
        "{departments}"
    );
    assert!(departments.contains(&row(
        "Department",
        "No department",
        1,
        "1.0",
        [1, 0, 0, 0, 0]
    )));
    let owners = part(&page.body, "By owner", "</section>");
    for expected in [
        row("Owner", "Kim Keeper", 1, "3.0", [0, 0, 1, 0, 0]),
        row("Owner", "Sam Support", 1, "5.0", [0, 0, 0, 0, 1]),
        row("Owner", "Unassigned", 1, "1.0", [1, 0, 0, 0, 0]),
    ] {
        assert!(owners.contains(&expected), "{expected} in {owners}");
    }
    let comments = part(&page.body, "Latest comments", "</section>");
    assert!(comments.contains("Slow but fine"));
    assert!(comments.contains(&format!(r#"href="/tickets/{}""#, numbers[1])));
    assert!(
        comments.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"),
        "{comments}"
    );
    assert!(!page.shows("<script>alert(1)") && !page.shows("<b>bold"));

    // a period with nothing.
    let empty = s.get("/staff/ratings?from=2001-01-01&to=2001-01-31").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.shows("No ratings in this period."), "{}", empty.body);
    assert!(!empty.shows("Billing") && !empty.shows("Slow but fine"));
    // a month on, the default period has moved past them; asking for
    // their day still finds them (`to` is included).
    site.h.engine.clock().advance(31 * DAY);
    assert!(s
        .get("/staff/ratings")
        .await
        .shows("No ratings in this period."));
    let then = day(start);
    let again = s
        .get(&format!("/staff/ratings?from={then}&to={then}"))
        .await;
    assert!(again.shows("<strong>3</strong> ratings"), "{}", again.body);
    // dates that are none.
    assert_eq!(
        s.get("/staff/ratings?from=2026-02-31").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        s.get("/staff/ratings?from=2026-03-02&to=2026-03-01")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[apply(backends)]
#[tokio::test]
async fn customers_cannot_see_the_rating_report(#[case] kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let admin = site
        .h
        .company_admin(site.staff, site.org, "Ada Admin")
        .await;
    let t = closed(&site, bob, "Secret score").await;
    site.h
        .engine
        .rate(&Ctx::new(bob), t.id, 2, Some("Not good"))
        .await
        .unwrap();
    for who in [bob, admin] {
        let mut b = site.browser(who).await;
        let page = b.get("/staff/ratings").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{who:?}");
        assert!(!page.shows("Not good") && !page.shows("Secret score"));
        assert!(!b.get("/tickets").await.shows(r#"href="/staff/ratings""#));
    }
    let anon = Browser::from_site(&site).get("/staff/ratings").await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.location.as_deref(), Some("/signin"));
}

#[apply(backends)]
#[tokio::test]
async fn a_comment_with_markup_shows_as_text_everywhere(#[case] kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let t = closed(&site, bob, "Escapes").await;
    let n = t.number.0;
    let evil = r#"<script>alert("x")</script><img src=x onerror=alert(2)>"#;
    let escaped =
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;";
    let mut b = site.browser(bob).await;
    let done = b
        .post(
            &format!("/tickets/{n}/rating"),
            &[("score", "1"), ("comment", evil)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let token = site
        .h
        .engine
        .system()
        .rating_link(t.id, bob)
        .await
        .unwrap()
        .unwrap();
    let mut s = site.browser(site.staff).await;
    let pages = [
        b.get(&format!("/tickets/{n}")).await,
        s.get(&format!("/tickets/{n}")).await,
        s.get("/staff/ratings").await,
        Browser::from_site(&site)
            .get(&format!("/rate/{token}?score=2"))
            .await,
    ];
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.shows(escaped), "{}", page.body);
        assert!(!page.shows("<script>alert") && !page.shows("<img src=x"));
    }
    // shown back after a refusal, escaped too.
    let refused = b
        .post(
            &format!("/tickets/{n}/rating"),
            &[("score", "0"), ("comment", evil)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.shows(escaped) && !refused.shows("<script>alert"));
}

/// Staff see when a ticket waiting on its customer closes by itself, and
/// pause or resume it from its page; customers see neither.
#[apply(backends)]
#[tokio::test]
async fn staff_pause_and_resume_automatic_closing_from_the_ticket_page(#[case] kind: Kind) {
    let settings = threadesk_core::Settings {
        auto_close: threadesk_core::autoclose::AutoClose::parse("3d/2d").unwrap(),
        ..Default::default()
    };
    let site = Site::with_settings(kind, settings).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let t = site.h.open(bob, "VPN").await.ticket;
    let asked = site
        .h
        .reply(site.staff, t.id, "Is it back?")
        .await
        .unwrap()
        .ticket;
    let due = asked.auto_close_at.expect("a due reminder");
    let mut staff = site.browser(site.staff).await;
    let path = format!("/tickets/{}", t.number.0);
    let page = staff.get(&path).await;
    assert!(
        page.shows(&format!("Reminds the customer on {}.", when(due))),
        "{}",
        page.body
    );
    let customer = site.browser(bob).await.get(&path).await;
    assert!(!customer.shows("automatic closing") && !customer.shows("Reminds the customer"));
    let paused = staff
        .post(&format!("{path}/auto-close"), &[("paused", "1")])
        .await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER, "{}", paused.body);
    let page = staff.get(&path).await;
    assert!(page.shows("Automatic closing is paused."), "{}", page.body);
    assert!(
        site.h
            .engine
            .ticket(site.staff, t.id)
            .await
            .unwrap()
            .auto_close_paused
    );
    // a customer's post is refused and changes nothing.
    let refused = site
        .browser(bob)
        .await
        .post(&format!("{path}/auto-close"), &[("paused", "0")])
        .await;
    assert_ne!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    assert!(
        site.h
            .engine
            .ticket(site.staff, t.id)
            .await
            .unwrap()
            .auto_close_paused
    );
    staff
        .post(&format!("{path}/auto-close"), &[("paused", "0")])
        .await;
    let resumed = site.h.engine.ticket(site.staff, t.id).await.unwrap();
    assert!(!resumed.auto_close_paused && resumed.auto_close_at.is_some());
}
