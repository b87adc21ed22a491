//! Rights through the portal: every ticket route answers "not found" for
//! a ticket the person may not see, and staff pages refuse customers.

use crate::helpers::{backends, Site};
use axum::http::StatusCode;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::testing::Kind;

#[apply(backends)]
#[tokio::test]
async fn another_person_s_ticket_is_not_found_on_every_route(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    // same organization, not an admin: still not found.
    let eve = site.customer("Eve Member", "eve@acme.example", true).await;
    let mut b = site.browser(bob).await;
    let mut e = site.browser(eve).await;
    let n = b.open("Private", "Only mine.").await;
    let file_page = b
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "with a file")],
            &[("files", "a.txt", "text/plain", b"secret")],
        )
        .await;
    assert_eq!(file_page.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("/tickets/{n}")).await;
    let link = |marker: &str| -> String {
        let at = page
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("{marker} on the page"));
        page.body[at..].chars().take_while(|c| *c != '"').collect()
    };
    let file = link(&format!("/tickets/{n}/files/"));
    let message = link(&format!("/tickets/{n}/messages/"));
    assert_eq!(b.get(&file).await.status, StatusCode::OK);

    assert_eq!(
        e.get(&format!("/tickets/{n}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(e.get(&file).await.status, StatusCode::NOT_FOUND);
    let forms: [(String, Vec<(&str, &str)>); 6] = [
        (format!("/tickets/{n}/close"), vec![]),
        (
            format!("/tickets/{n}/subject"),
            vec![("subject", "mine now")],
        ),
        (format!("/tickets/{n}/status"), vec![("status", "on_hold")]),
        (
            format!("/tickets/{n}/delegates"),
            vec![("email", "eve@acme.example")],
        ),
        (format!("/tickets/{n}/delegates/1/revoke"), vec![]),
        (message.clone(), vec![("body", "rewritten")]),
    ];
    for (path, fields) in &forms {
        let page = e.post(path, fields).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let reply = e
        .post_files(&format!("/tickets/{n}/reply"), &[("body", "hi")], &[])
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // unknown tickets look exactly the same.
    assert_eq!(e.get("/tickets/999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(e.get("/tickets/abc").await.status, StatusCode::NOT_FOUND);
    // nothing changed.
    let after = b.get(&format!("/tickets/{n}")).await;
    assert!(after.shows("#1001 Private") && !after.shows("rewritten") && !after.shows("hi</div>"));
    assert!(!after.shows("status closed"), "still open");
}

#[apply(backends)]
#[tokio::test]
async fn staff_pages_and_staff_actions_refuse_customers(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    assert_eq!(b.get("/staff").await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/staff/people").await.status, StatusCode::FORBIDDEN);
    let actions: [(String, Vec<(&str, &str)>); 5] = [
        (
            format!("/staff/people/{}/company-admin", bob.0),
            vec![("admin", "1")],
        ),
        (
            format!("/staff/people/{}/staff", bob.0),
            vec![("staff", "1")],
        ),
        (
            format!("/staff/people/{}/organization", bob.0),
            vec![("org", "")],
        ),
        ("/staff/organizations".into(), vec![("name", "Mine")]),
        ("/staff/departments".into(), vec![("name", "Mine")]),
    ];
    for (path, fields) in &actions {
        let page = b.post(path, fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    let me = site.h.engine.person(bob).await.unwrap().person;
    assert!(!me.is_staff && !me.is_company_admin && me.org_id.is_some());
}

#[apply(backends)]
#[tokio::test]
async fn a_form_without_its_token_changes_nothing(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Keep open", "Please.").await;
    let page = b.post_raw(&format!("/tickets/{n}/close"), &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = b
        .post_raw(&format!("/tickets/{n}/close"), &[("csrf", "0123abcd")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!b
        .get(&format!("/tickets/{n}"))
        .await
        .shows("This ticket is closed"));
}
