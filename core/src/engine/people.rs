//! People, their identities, organizations, staff membership and company
//! ticket admins.
//!
//! Methods named `ensure_*` and `bootstrap_*` are for trusted callers (the
//! binary's configuration, the command line, an adapter mapping a platform
//! fact such as a Discord role): they take no acting person. Everything a
//! person asks for goes through the staff-checked commands.

use super::command;
use super::{actor_facts, is_unique_violation, rows, Change, Ctx, Emit, Engine};
use crate::db::Tx;
use crate::domain::*;
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::outbox::EventPayload;
use crate::time::Timestamp;
use sqlx::Row;

impl Engine {
    /// The person behind a platform identity, created on first sight.
    /// Safe to call on every inbound event: it changes nothing for a known
    /// identity (the stored name wins over a platform's new display name).
    pub async fn ensure_person(
        &self,
        identity: &PlatformIdentity,
        display_name: &str,
    ) -> Result<Person> {
        let name = Name::parse(display_name).or_else(|_| Name::parse(&identity.external_id))?;
        if let Some(p) = self.person_by_identity(identity).await? {
            return Ok(p);
        }
        command!(self, None, "ensure_person", |tx| {
            if let Some(id) = find_identity(tx, identity).await? {
                // created meanwhile by a concurrent request: nothing to change.
                return Ok(Change::Unchanged(load_person(tx, id).await?));
            }
            let now = self.now();
            let id: i64 = sqlx::query_scalar(
                "insert into people (display_name, created_at) values ($1, $2) returning id",
            )
            .bind(name.as_str())
            .bind(now.0)
            .fetch_one(&mut **tx)
            .await?;
            insert_identity(tx, PersonId(id), identity).await?;
            let event = Emit::global(
                Some(PersonId(id)),
                EventPayload::PersonCreated {
                    person_id: PersonId(id),
                },
            );
            Ok(Change::Made(
                load_person(tx, PersonId(id)).await?,
                Box::new(event),
            ))
        })
    }

    /// The person behind an identity, if known.
    pub async fn person_by_identity(&self, identity: &PlatformIdentity) -> Result<Option<Person>> {
        // one round trip: every chat request starts here.
        sqlx::query(&format!(
            "select {} from identities i join people p on p.id = i.person_id \
             where i.platform = $1 and i.workspace = $2 and i.external_id = $3",
            rows::PERSON_COLUMNS
        ))
        .bind(identity.platform.as_str())
        .bind(&identity.workspace)
        .bind(&identity.external_id)
        .fetch_optional(self.db.pool())
        .await?
        .map(|row| rows::person(&row))
        .transpose()
    }

    /// A person without the identities [`Engine::person`] adds, in one
    /// read: for a name, or whether they are staff.
    pub async fn person_alone(&self, id: PersonId) -> Result<Person> {
        let row = sqlx::query(&format!(
            "select {} from people p where p.id = $1",
            rows::PERSON_COLUMNS
        ))
        .bind(id.0)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(EngineError::NotFound("person"))?;
        rows::person(&row)
    }

    /// A person and the identities they are known by.
    pub async fn person(&self, id: PersonId) -> Result<PersonProfile> {
        let person = self.person_alone(id).await?;
        let found = sqlx::query(
            "select platform, workspace, external_id from identities where person_id = $1 order by platform, workspace, external_id",
        )
        .bind(id.0)
        .fetch_all(self.db.pool())
        .await?;
        let identities = found
            .iter()
            .map(|r| {
                Ok(PlatformIdentity {
                    platform: r
                        .try_get::<&str, _>("platform")?
                        .parse()
                        .map_err(|e: ParseError| EngineError::Corrupt(e.to_string()))?,
                    workspace: r.try_get("workspace")?,
                    external_id: r.try_get("external_id")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PersonProfile { person, identities })
    }

    /// Staff link two identities to one person. An identity nobody has yet
    /// is added to the other's person; two different people are merged into
    /// the first one's (tickets, messages and delegations follow).
    #[tracing::instrument(skip_all)]
    pub async fn link_identities(
        &self,
        ctx: &Ctx,
        keep: &PlatformIdentity,
        other: &PlatformIdentity,
    ) -> Result<Person> {
        command!(self, ctx.key.as_deref(), "link_identities", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            let a = find_identity(tx, keep).await?;
            let b = find_identity(tx, other).await?;
            let (into, event) = match (a, b) {
                (None, None) => return Err(EngineError::NotFound("identity")),
                (Some(a), Some(b)) if a == b => {
                    return Err(EngineError::Conflict(
                        "those identities are already one person".into(),
                    ))
                }
                (Some(a), Some(b)) => {
                    merge(tx, b, a).await?;
                    let event = Emit::global(
                        Some(actor.id),
                        EventPayload::PeopleMerged { from: b, into: a },
                    );
                    (a, event)
                }
                (Some(p), None) | (None, Some(p)) => {
                    let missing = if a.is_none() { keep } else { other };
                    insert_identity(tx, p, missing).await?;
                    let change = format!("identity {} added", missing.platform);
                    let event = Emit::global(
                        Some(actor.id),
                        EventPayload::PersonUpdated {
                            person_id: p,
                            change,
                        },
                    );
                    (p, event)
                }
            };
            Ok((load_person(tx, into).await?, event))
        })
    }

    /// Staff grant or take away staff membership.
    pub async fn set_staff(&self, ctx: &Ctx, person: PersonId, staff: bool) -> Result<Person> {
        command!(self, ctx.key.as_deref(), "set_staff", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            if actor.id == person && !staff {
                return Err(EngineError::Conflict(
                    "you cannot remove your own staff membership".into(),
                ));
            }
            // a decision by staff outranks what a platform said.
            sqlx::query("delete from platform_staff where person_id = $1")
                .bind(person.0)
                .execute(&mut **tx)
                .await?;
            self.update_person(
                tx,
                Some(actor.id),
                person,
                "is_staff",
                Some(i64::from(staff)),
                "staff",
            )
            .await
        })
    }

    /// Makes a person staff without an acting person (configuration, command
    /// line, a platform's staff role).
    pub async fn bootstrap_staff(&self, person: PersonId, staff: bool) -> Result<Person> {
        command!(self, None, "bootstrap_staff", |tx| {
            self.update_person(
                tx,
                None,
                person,
                "is_staff",
                Some(i64::from(staff)),
                "staff",
            )
            .await
        })
    }

    /// Makes a person staff, or not, because a platform says so (a Slack
    /// staff channel's members). Staff by a platform stop being staff when
    /// it stops saying so; staff granted by a command are left alone.
    pub async fn sync_platform_staff(
        &self,
        person: PersonId,
        platform: Platform,
        member: bool,
    ) -> Result<Person> {
        command!(self, None, "sync_platform_staff", |tx| {
            let before = load_person(tx, person).await?;
            let by_platform: Option<i64> = sqlx::query_scalar(
                "select person_id from platform_staff where person_id = $1 and platform = $2",
            )
            .bind(person.0)
            .bind(platform.as_str())
            .fetch_optional(&mut **tx)
            .await?;
            match (member, before.is_staff, by_platform.is_some()) {
                (true, false, _) => {
                    sqlx::query(
                        "insert into platform_staff (person_id, platform) values ($1, $2) on conflict do nothing",
                    )
                    .bind(person.0)
                    .bind(platform.as_str())
                    .execute(&mut **tx)
                    .await?;
                    let (p, e) = self
                        .update_person(tx, None, person, "is_staff", Some(1), "staff")
                        .await?;
                    Ok(Change::Made(p, Box::new(e)))
                }
                (false, true, true) => {
                    sqlx::query(
                        "delete from platform_staff where person_id = $1 and platform = $2",
                    )
                    .bind(person.0)
                    .bind(platform.as_str())
                    .execute(&mut **tx)
                    .await?;
                    let (p, e) = self
                        .update_person(tx, None, person, "is_staff", Some(0), "staff")
                        .await?;
                    Ok(Change::Made(p, Box::new(e)))
                }
                _ => Ok(Change::Unchanged(before)),
            }
        })
    }

    /// Staff grant a company ticket admin (the person needs an organization).
    pub async fn grant_company_admin(&self, ctx: &Ctx, person: PersonId) -> Result<Person> {
        self.set_company_admin(ctx, person, true).await
    }

    /// Staff revoke a company ticket admin.
    pub async fn revoke_company_admin(&self, ctx: &Ctx, person: PersonId) -> Result<Person> {
        self.set_company_admin(ctx, person, false).await
    }

    async fn set_company_admin(&self, ctx: &Ctx, person: PersonId, admin: bool) -> Result<Person> {
        command!(self, ctx.key.as_deref(), "set_company_admin", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            let target = load_person(tx, person).await?;
            if admin && target.org_id.is_none() {
                return Err(EngineError::Conflict(
                    "that person belongs to no organization; set their organization first".into(),
                ));
            }
            self.update_person(
                tx,
                Some(actor.id),
                person,
                "is_company_admin",
                Some(i64::from(admin)),
                "company admin",
            )
            .await
        })
    }

    /// Staff put a person in an organization (or take them out). Their
    /// tickets follow, so the organization's admins see them.
    pub async fn set_organization(
        &self,
        ctx: &Ctx,
        person: PersonId,
        org: Option<OrgId>,
    ) -> Result<Person> {
        command!(self, ctx.key.as_deref(), "set_organization", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            self.assign_org(tx, Some(actor.id), person, org).await
        })
    }

    /// Staff put a person in the organization with this name, creating it
    /// if there is none yet (`None`: in no organization). For chat commands
    /// that name organizations; the creation is keyed apart from the move.
    pub async fn place_in_organization(
        &self,
        ctx: &Ctx,
        person: PersonId,
        name: Option<&str>,
    ) -> Result<Option<Organization>> {
        let org = match name.map(str::trim) {
            None => None,
            Some(n) => Some(match self.organization_named(n).await? {
                Some(o) => o,
                None => {
                    let create = Ctx {
                        key: ctx.key.as_ref().map(|k| format!("{k}:org")),
                        ..ctx.clone()
                    };
                    self.create_organization(&create, n).await?
                }
            }),
        };
        self.set_organization(ctx, person, org.as_ref().map(|o| o.id))
            .await?;
        Ok(org)
    }

    /// Puts a person in an organization without an acting person (an adapter
    /// mapping a Slack Connect workspace or a Discord role to a company).
    pub async fn ensure_membership(&self, person: PersonId, org: OrgId) -> Result<Person> {
        let current = self.person_alone(person).await?;
        if current.org_id == Some(org) {
            return Ok(current);
        }
        command!(self, None, "ensure_membership", |tx| {
            self.assign_org(tx, None, person, Some(org)).await
        })
    }

    async fn assign_org(
        &self,
        tx: &mut Tx,
        actor: Option<PersonId>,
        person: PersonId,
        org: Option<OrgId>,
    ) -> Result<(Person, Emit)> {
        if let Some(org) = org {
            let known: Option<i64> =
                sqlx::query_scalar("select id from organizations where id = $1")
                    .bind(org.0)
                    .fetch_optional(&mut **tx)
                    .await?;
            known.ok_or(EngineError::NotFound("organization"))?;
        }
        let before = load_person(tx, person).await?;
        if before.org_id == org {
            return Err(EngineError::Conflict(
                "that person is already in that organization".into(),
            ));
        }
        // leaving an organization ends company-admin rights over it.
        sqlx::query("update people set org_id = $2, is_company_admin = 0 where id = $1")
            .bind(person.0)
            .bind(org.map(|o| o.0))
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "update tickets set org_id = $2, version = version + 1 where requester_id = $1",
        )
        .bind(person.0)
        .bind(org.map(|o| o.0))
        .execute(&mut **tx)
        .await?;
        let change = match org {
            Some(o) => format!("organization set to {o}"),
            None => "organization removed".to_owned(),
        };
        let event = Emit::global(
            actor,
            EventPayload::PersonUpdated {
                person_id: person,
                change,
            },
        );
        Ok((load_person(tx, person).await?, event))
    }

    async fn update_person(
        &self,
        tx: &mut Tx,
        actor: Option<PersonId>,
        person: PersonId,
        column: &'static str,
        value: Option<i64>,
        what: &str,
    ) -> Result<(Person, Emit)> {
        let before = load_person(tx, person).await?;
        let now = match column {
            "is_staff" => i64::from(before.is_staff),
            _ => i64::from(before.is_company_admin),
        };
        if value == Some(now) {
            let state = if now == 1 { "already" } else { "not" };
            return Err(EngineError::Conflict(format!(
                "that person is {state} {what}"
            )));
        }
        let sql = format!("update people set {column} = $2 where id = $1");
        sqlx::query(&sql)
            .bind(person.0)
            .bind(value)
            .execute(&mut **tx)
            .await?;
        let verb = if value == Some(1) {
            "granted"
        } else {
            "revoked"
        };
        let change = format!("{what} {verb}");
        let event = Emit::global(
            actor,
            EventPayload::PersonUpdated {
                person_id: person,
                change,
            },
        );
        Ok((load_person(tx, person).await?, event))
    }

    /// Staff create an organization.
    pub async fn create_organization(&self, ctx: &Ctx, name: &str) -> Result<Organization> {
        let name = Name::parse(name)?;
        command!(self, ctx.key.as_deref(), "create_organization", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            self.insert_org(tx, Some(actor.id), &name).await
        })
    }

    /// The organization of that name, created if missing (for adapters that
    /// learn companies from the platform).
    pub async fn ensure_organization(&self, name: &str) -> Result<Organization> {
        let name = Name::parse(name)?;
        if let Some(org) = self.organization_named(name.as_str()).await? {
            return Ok(org);
        }
        command!(self, None, "ensure_organization", |tx| {
            self.insert_org(tx, None, &name).await
        })
    }

    async fn insert_org(
        &self,
        tx: &mut Tx,
        actor: Option<PersonId>,
        name: &Name,
    ) -> Result<(Organization, Emit)> {
        let inserted = sqlx::query_scalar(
            "insert into organizations (name, created_at) values ($1, $2) returning id",
        )
        .bind(name.as_str())
        .bind(self.now().0)
        .fetch_one(&mut **tx)
        .await;
        let id: i64 = match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(EngineError::Conflict(format!(
                    "an organization named {:?} exists",
                    name.as_str()
                )))
            }
            other => other?,
        };
        let organization = Organization {
            id: OrgId(id),
            name: name.as_str().to_owned(),
        };
        let event = Emit::global(
            actor,
            EventPayload::OrganizationCreated {
                organization: organization.clone(),
            },
        );
        Ok((organization, event))
    }

    /// An organization by name (ignoring case).
    pub async fn organization_named(&self, name: &str) -> Result<Option<Organization>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("select id, name from organizations where lower(name) = lower($1)")
                .bind(name.trim())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(|(id, name)| Organization {
            id: OrgId(id),
            name,
        }))
    }

    /// An organization by name, as a person may name it in a search:
    /// staff any, anybody else only their own (so that nobody learns which
    /// other organizations exist).
    pub async fn organization_named_by(
        &self,
        actor: PersonId,
        name: &str,
    ) -> Result<Option<Organization>> {
        let mut conn = self.db.pool().acquire().await?;
        let facts = actor_facts(&mut conn, actor).await?;
        drop(conn);
        Ok(self
            .organization_named(name)
            .await?
            .filter(|o| facts.is_staff || facts.org_id == Some(o.id)))
    }

    /// Every organization, by name.
    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        let found: Vec<(i64, String)> =
            sqlx::query_as("select id, name from organizations order by lower(name)")
                .fetch_all(self.db.pool())
                .await?;
        Ok(found
            .into_iter()
            .map(|(id, name)| Organization {
                id: OrgId(id),
                name,
            })
            .collect())
    }
}

async fn find_identity(tx: &mut Tx, identity: &PlatformIdentity) -> Result<Option<PersonId>> {
    let found: Option<i64> = sqlx::query_scalar(
        "select person_id from identities where platform = $1 and workspace = $2 and external_id = $3",
    )
    .bind(identity.platform.as_str())
    .bind(&identity.workspace)
    .bind(&identity.external_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.map(PersonId))
}

async fn insert_identity(tx: &mut Tx, person: PersonId, identity: &PlatformIdentity) -> Result<()> {
    if identity.platform == Platform::Email {
        Email::parse(&identity.external_id)?;
    }
    sqlx::query("insert into identities (platform, workspace, external_id, person_id, created_at) values ($1, $2, $3, $4, $5)")
        .bind(identity.platform.as_str())
        .bind(&identity.workspace)
        .bind(&identity.external_id)
        .bind(person.0)
        .bind(Timestamp::now().0)
        .execute(&mut **tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { EngineError::Busy } else { e.into() })?;
    if identity.platform == Platform::Email {
        // invitations sent to this address before anybody had it are now theirs,
        // unless they already hold a delegation on the same ticket.
        sqlx::query(
            "update delegates set person_id = $1 where email = $2 and person_id is null \
             and not exists (select 1 from delegates x where x.ticket_id = delegates.ticket_id and x.person_id = $1) \
             and not exists (select 1 from tickets t where t.id = delegates.ticket_id and t.requester_id = $1)",
        )
        .bind(person.0)
        .bind(&identity.external_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn load_person(tx: &mut Tx, id: PersonId) -> Result<Person> {
    let row = sqlx::query(
        "select id, display_name, org_id, is_staff, is_company_admin from people where id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(EngineError::NotFound("person"))?;
    rows::person(&row)
}

/// Moves everything of `from` onto `into` and deletes `from`.
async fn merge(tx: &mut Tx, from: PersonId, into: PersonId) -> Result<()> {
    let (f, i) = (from.0, into.0);
    let statements = [
        "update identities set person_id = $2 where person_id = $1",
        "update tickets set requester_id = $2, version = version + 1 where requester_id = $1",
        "update messages set author_id = $2 where author_id = $1",
        "update message_revisions set edited_by = $2 where edited_by = $1",
        "update delegates set invited_by = $2 where invited_by = $1",
        // one delegation per person and ticket, and none on one's own tickets.
        "delete from delegates where person_id = $1 and (ticket_id in (select ticket_id from delegates where person_id = $2) \
             or ticket_id in (select id from tickets where requester_id = $2))",
        "delete from delegates where person_id = $2 and ticket_id in (select id from tickets where requester_id = $2)",
        "update delegates set person_id = $2 where person_id = $1",
        // one card per person, ticket and platform: the remaining person's wins.
        "delete from surfaces where person_id = $1 and exists (select 1 from surfaces s \
             where s.person_id = $2 and s.ticket_id = surfaces.ticket_id and s.platform = surfaces.platform)",
        "update surfaces set person_id = $2 where person_id = $1",
        // one place per person in a shared thread: the remaining person's wins.
        "delete from surface_members where person_id = $1 and surface_id in \
             (select surface_id from surface_members where person_id = $2)",
        "update surface_members set person_id = $2 where person_id = $1",
        "delete from platform_staff where person_id = $1 and platform in \
             (select platform from platform_staff where person_id = $2)",
        "update platform_staff set person_id = $2 where person_id = $1",
        "update people set is_staff = (select max(is_staff) from people where id in ($1, $2)), \
             is_company_admin = (select max(is_company_admin) from people where id in ($1, $2)), \
             org_id = coalesce(org_id, (select org_id from people where id = $1)) where id = $2",
        "delete from people where id = $1",
    ];
    for sql in statements {
        sqlx::query(sql).bind(f).bind(i).execute(&mut **tx).await?;
    }
    Ok(())
}
