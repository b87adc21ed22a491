//! Losing access: before anything is posted on a ticket's surfaces,
//! whoever may no longer read the ticket is taken off them.

use super::*;

/// A ticket's surfaces on one platform, as a delivery found them.
#[derive(Default)]
pub(super) struct Surfaces {
    /// Every one, closed or not.
    pub all: Vec<Surface>,
    /// Those that may get messages now ([`Mirror::live`]).
    pub live: Vec<Surface>,
    /// What each of `live` may show, as read when its access was checked.
    pub readers: Vec<Reader>,
}

impl<P: ChatPlatform> Mirror<P> {
    /// The ticket's live surfaces, after taking off them everyone who lost
    /// access: a person's card is closed and marked, a shared thread's
    /// member is removed from it. Nothing posted after reaches them.
    pub(super) async fn live(&self, ticket: TicketId) -> Result<Vec<Surface>, Failure<P::Error>> {
        Ok(self.surfaces(ticket).await?.live)
    }

    /// [`Mirror::live`], with every surface of the ticket here as it is
    /// after that (a card just closed is closed in it), so that redrawing
    /// the cards reads them no second time.
    pub(super) async fn surfaces(&self, ticket: TicketId) -> Result<Surfaces, Failure<P::Error>> {
        let mut seen = Surfaces::default();
        for (s, reader) in self
            .engine()
            .system()
            .surfaces_with_readers(ticket, P::PLATFORM)
            .await?
        {
            if !s.is_live() {
                seen.all.push(s);
                continue;
            }
            match s.audience {
                Audience::Person(_) => {
                    if !reader.views() {
                        self.close_card(&s).await?;
                        seen.all.push(Surface {
                            closed_at: Some(threadesk_core::time::Timestamp::now()),
                            ..s
                        });
                        continue;
                    }
                }
                Audience::Shared => {
                    let mut all_out = true;
                    for p in self.engine().system().members_without_access(&s).await? {
                        all_out &= self.remove_member(&s, p).await?;
                    }
                    if !all_out {
                        // somebody who may not read it is still in it: the
                        // thread gets nothing until they are out.
                        seen.all.push(s);
                        continue;
                    }
                }
                Audience::Staff => {}
            }
            seen.all.push(s.clone());
            seen.live.push(s);
            seen.readers.push(reader);
        }
        Ok(seen)
    }

    /// Closes a person's card that lost access and marks it so.
    pub(super) async fn close_card(&self, s: &Surface) -> R<P> {
        self.engine().system().close_surface(&s.card).await?;
        let facts = self.engine().system().card_facts(s.ticket_id).await?;
        let mut closed = s.clone();
        closed.closed_at = Some(threadesk_core::time::Timestamp::now());
        match self
            .p()
            .update_card(&closed, &facts, CardFor::Revoked)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if crate::PlatformError::is_permanent(&e) => {
                tracing::warn!(consumer = P::CONSUMER, error = %e, "revoked card not redrawn");
                Ok(())
            }
            Err(e) => Err(Failure::Platform(e)),
        }
    }

    /// Takes a person out of a shared thread (the platform first).
    /// `false` when the platform refused for good while they are still in
    /// it: nothing may be posted there then. A platform that says they are
    /// not in it (any more) counts as done.
    pub(super) async fn remove_member(
        &self,
        s: &Surface,
        person: PersonId,
    ) -> Result<bool, Failure<P::Error>> {
        if let Some(user) = self.p().user_of(person).await? {
            match self.p().remove_member(&self.p().thread_of(s), &user).await {
                Ok(()) => {}
                Err(e) if crate::PlatformError::is_gone(&e) => {}
                Err(e) if crate::PlatformError::is_permanent(&e) => {
                    tracing::warn!(consumer = P::CONSUMER, error = %e, "thread member not removed; the thread is held back");
                    return Ok(false);
                }
                Err(e) => return Err(Failure::Platform(e)),
            }
        }
        self.engine()
            .system()
            .remove_surface_member(s.id, person)
            .await?;
        Ok(true)
    }

    /// Checks one person's standing on a ticket again: where they lost
    /// access, their card is closed or they leave the shared thread.
    pub(super) async fn recheck(
        &self,
        steps: &mut Steps<Failure<P::Error>>,
        ticket: TicketId,
        person: PersonId,
    ) -> R<P> {
        let reads = self
            .engine()
            .system()
            .role_on(person, ticket)
            .await?
            .is_some_and(|r| r.can(threadesk_core::domain::Action::View));
        if reads {
            return Ok(());
        }
        for s in self
            .engine()
            .system()
            .followed_by(person, P::PLATFORM)
            .await?
        {
            if s.ticket_id != ticket {
                continue;
            }
            match s.audience {
                Audience::Person(_) => steps.take("card closed", self.close_card(&s).await),
                Audience::Shared => steps.take(
                    "member removed",
                    self.remove_member(&s, person).await.map(drop),
                ),
                Audience::Staff => {}
            }
        }
        Ok(())
    }

    /// A person's standing changed (staff, organization, company admin):
    /// every ticket they follow here is checked again, and so is every
    /// ticket they asked for, whose other readers may have changed with
    /// them (a requester who moves organization takes their old
    /// organization's admins' access along).
    pub(super) async fn recheck_person(&self, person: PersonId) -> R<P> {
        let mut steps = Steps::new(P::CONSUMER);
        let system = self.engine().system();
        let mut tickets: Vec<TicketId> = system
            .followed_by(person, P::PLATFORM)
            .await?
            .into_iter()
            .map(|s| s.ticket_id)
            .chain(system.requested_on(person, P::PLATFORM).await?)
            .collect();
        tickets.sort();
        tickets.dedup();
        for t in tickets {
            steps.take("access", self.live(t).await.map(drop));
        }
        steps.finish()
    }
}
