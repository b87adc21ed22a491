//! Saved replies: staff keep named texts (team-wide or per department),
//! and use them on a ticket with the placeholders filled in.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::{Ctx, EngineError};

#[apply(backends)]
#[tokio::test]
async fn staff_save_change_use_and_remove_replies_and_customers_cannot(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann Archer").await;
    let billing = h.department(sam, "Billing").await;
    let events = h.events().await;
    let thanks = h
        .engine
        .save_reply(&Ctx::new(sam), "thanks", "Thanks {first_name}!", None)
        .await
        .unwrap();
    // the same name in a department is its own reply; there it wins.
    h.engine
        .save_reply(
            &Ctx::new(sam),
            "Thanks",
            "Thanks {name}, billing has {ticket}.",
            Some(billing),
        )
        .await
        .unwrap();
    assert_eq!(h.events().await, events + 2, "one event each");
    // saving an existing name changes it.
    let changed = h
        .engine
        .save_reply(&Ctx::new(sam), "THANKS", "Thank you, {first_name}.", None)
        .await
        .unwrap();
    assert_eq!(changed.id, thanks.id);
    assert_eq!(h.engine.saved_replies(sam).await.unwrap().len(), 2);
    let t = h.open(ann, "Printer").await.ticket;
    assert_eq!(
        h.engine
            .saved_reply_text(sam, t.id, "thanks")
            .await
            .unwrap(),
        "Thank you, Ann."
    );
    assert_eq!(
        h.engine.saved_replies_for(sam, t.id).await.unwrap().len(),
        1
    );
    h.engine
        .move_to_department(&Ctx::new(sam), t.id, Some(billing))
        .await
        .unwrap();
    let posted = h
        .engine
        .reply_saved(&Ctx::new(sam), t.id, "thanks")
        .await
        .unwrap();
    assert_eq!(
        posted.message.body,
        format!("Thanks Ann Archer, billing has #{}.", t.number.0)
    );
    assert!(!posted.message.internal);
    // unknown names are not found; customers can do none of it.
    assert!(matches!(
        h.engine.reply_saved(&Ctx::new(sam), t.id, "nope").await,
        Err(EngineError::NotFound("saved reply"))
    ));
    assert!(matches!(
        h.engine.saved_replies(ann).await,
        Err(EngineError::StaffOnly(_))
    ));
    assert!(matches!(
        h.engine.save_reply(&Ctx::new(ann), "x", "y", None).await,
        Err(EngineError::StaffOnly(_))
    ));
    assert!(h
        .engine
        .reply_saved(&Ctx::new(ann), t.id, "thanks")
        .await
        .is_err());
    // bad input is refused in words.
    let empty = h
        .engine
        .save_reply(&Ctx::new(sam), "blank", "  ", None)
        .await
        .unwrap_err();
    assert!(empty.sentence().contains("empty"), "{empty}");
    h.engine
        .remove_saved_reply(&Ctx::new(sam), thanks.id)
        .await
        .unwrap();
    assert_eq!(h.engine.saved_replies(sam).await.unwrap().len(), 1);
}
