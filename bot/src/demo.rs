//! A small demo, seeded into an empty database when Threadesk runs without
//! platform credentials: one company (a company ticket admin and two
//! members), one staff member, two departments and a few tickets.

use threadesk_core::domain::PlatformIdentity;
use threadesk_core::engine::{Invitee, NewMessage, NewTicket};
use threadesk_core::{Ctx, Engine, EngineError};

/// Who the demo people are: (login, name, e-mail).
pub const STAFF: (&str, &str, &str) = ("sam", "Sam Support", "sam@support.example");
/// The company's ticket admin.
pub const ADMIN: (&str, &str, &str) = ("alice", "Alice Admin", "alice@acme.example");
/// Two members of the company.
pub const MEMBERS: [(&str, &str, &str); 2] = [
    ("bob", "Bob Builder", "bob@acme.example"),
    ("carol", "Carol Chen", "carol@acme.example"),
];

async fn person(
    engine: &Engine,
    (login, name, _): (&'static str, &'static str, &'static str),
) -> Result<threadesk_core::domain::Person, EngineError> {
    engine
        .ensure_person(&PlatformIdentity::web(login), name)
        .await
}

/// Seeds the demo unless somebody is already in the database; says
/// whether it did.
pub async fn seed_if_empty(engine: &Engine) -> Result<bool, EngineError> {
    if !engine.all_people().await?.is_empty() {
        return Ok(false);
    }
    let sam = person(engine, STAFF).await?;
    engine.bootstrap_staff(sam.id, true).await?;
    let staff = Ctx::new(sam.id);
    let alice = person(engine, ADMIN).await?;
    let bob = person(engine, MEMBERS[0]).await?;
    let carol = person(engine, MEMBERS[1]).await?;
    for (login, _, email) in [STAFF, ADMIN, MEMBERS[0], MEMBERS[1]] {
        engine
            .link_identities(
                &staff,
                &PlatformIdentity::web(login),
                &PlatformIdentity::email(email),
            )
            .await?;
    }
    let acme = engine.create_organization(&staff, "Acme Corp").await?;
    for p in [&alice, &bob, &carol] {
        engine.set_organization(&staff, p.id, Some(acme.id)).await?;
    }
    engine.grant_company_admin(&staff, alice.id).await?;
    let tech = engine
        .create_department(&staff, "Technical support")
        .await?;
    let billing = engine.create_department(&staff, "Billing").await?;

    let vpn = engine
        .open_ticket(
            &Ctx::new(bob.id),
            NewTicket {
                subject: "VPN drops every hour".into(),
                department: Some(tech.id),
                body: "Since Monday the office VPN disconnects about once an hour. \
                       Reconnecting works, but calls drop."
                    .into(),
                attachments: Vec::new(),
            },
        )
        .await?;
    engine
        .reply(
            &staff,
            vpn.ticket.id,
            NewMessage::text(
                "Thanks Bob. Which client version do you run? \
                 Help → About shows it.",
            ),
        )
        .await?;
    engine
        .note(
            &staff,
            vpn.ticket.id,
            NewMessage::text("Probably the 4.2 key-renewal bug; check the gateway logs."),
        )
        .await?;

    let invoice = engine
        .open_ticket(
            &Ctx::new(carol.id),
            NewTicket {
                subject: "Invoice shows the wrong VAT number".into(),
                department: Some(billing.id),
                body: "Our November invoice has last year's VAT number on it.".into(),
                attachments: Vec::new(),
            },
        )
        .await?;
    engine
        .invite_delegate(
            &Ctx::new(carol.id),
            invoice.ticket.id,
            Invitee::Person(alice.id),
        )
        .await?;

    let seats = engine
        .open_ticket(
            &Ctx::new(alice.id),
            NewTicket {
                subject: "Add two seats to our plan".into(),
                department: Some(billing.id),
                body: "Please add two seats from next month.".into(),
                attachments: Vec::new(),
            },
        )
        .await?;
    engine
        .reply(
            &staff,
            seats.ticket.id,
            NewMessage::text("Done: two seats added from the 1st."),
        )
        .await?;
    engine.close(&Ctx::new(alice.id), seats.ticket.id).await?;
    engine
        .rate(
            &Ctx::new(alice.id),
            seats.ticket.id,
            5,
            Some("Quick and clear, thank you."),
        )
        .await?;
    Ok(true)
}
