//! Test support (the `testing` feature): a fresh engine per test on SQLite
//! (a temporary file in WAL mode) or PostgreSQL (a schema of its own in the
//! test database), removed when dropped. Other crates' tests use it too.

use crate::db::{Db, DbOptions};
use crate::domain::PlatformIdentity;
use crate::engine::{NewMessage, NewTicket, Opened, Posted};
use crate::{Ctx, Engine, EngineError, OrgId, PersonId, Settings, TicketId};
use std::sync::atomic::{AtomicU64, Ordering};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A temporary SQLite file.
    Sqlite,
    /// A schema of its own in `TEST_DATABASE_URL`.
    Postgres,
}

/// The PostgreSQL server tests use; they fail (never skip) if it is down.
pub fn postgres_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Makes names unique within a test process.
pub static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh engine and the storage behind it, removed when dropped.
pub struct Harness {
    /// The engine over the fresh database.
    pub engine: Engine,
    /// Its database URL (for a `threadesk` process on the same database).
    pub url: String,

    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(schema) = self.schema.take() {
            // drop the schema on a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let db = Db::connect(
                        &postgres_url(),
                        DbOptions {
                            max_connections: Some(1),
                            ..Default::default()
                        },
                    )
                    .await
                    .ok()?;
                    // never hang a test run on a lock: a schema left behind is
                    // swept by .ci/run.
                    sqlx::query("set lock_timeout = '10s'")
                        .execute(db.pool())
                        .await
                        .ok()?;
                    sqlx::query(&format!("drop schema if exists {schema} cascade"))
                        .execute(db.pool())
                        .await
                        .ok()?;
                    db.close().await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// A fresh engine with default settings.
pub async fn harness(kind: Kind) -> Harness {
    harness_with(kind, Settings::default(), 5).await
}

/// A fresh engine with these settings and pool size.
pub async fn harness_with(kind: Kind, settings: Settings, max_connections: u32) -> Harness {
    let opts = DbOptions {
        max_connections: Some(max_connections),
        ..Default::default()
    };
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (db, schema, dir, url) = match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}/threadesk.db?mode=rwc", dir.path().display());
            (
                Db::connect(&url, opts).await.expect("sqlite opens"),
                None,
                Some(dir),
                url,
            )
        }
        Kind::Postgres => {
            let schema = format!("td_{}_{}_{n}", std::process::id(), unique());
            let admin = Db::connect(
                &postgres_url(),
                DbOptions {
                    max_connections: Some(1),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL must be reachable at {} for the test suite: {e}",
                    postgres_url()
                )
            });
            sqlx::query(&format!("create schema {schema}"))
                .execute(admin.pool())
                .await
                .expect("create schema");
            admin.close().await;
            let sep = if postgres_url().contains('?') {
                '&'
            } else {
                '?'
            };
            let url = format!("{}{sep}options=-c%20search_path%3D{schema}", postgres_url());
            (
                Db::connect(&url, opts).await.expect("postgres opens"),
                Some(schema),
                None,
                url,
            )
        }
    };
    db.migrate().await.expect("migrations apply");
    Harness {
        engine: Engine::new(db, settings),
        url,
        schema,
        _dir: dir,
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or(0)
}

impl Harness {
    /// A customer known by a web login.
    pub async fn person(&self, name: &str) -> PersonId {
        let login = format!(
            "{}-{}",
            name.to_lowercase().replace(' ', "-"),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.engine
            .ensure_person(&PlatformIdentity::web(login), name)
            .await
            .expect("person")
            .id
    }

    /// A member of staff.
    pub async fn staff(&self, name: &str) -> PersonId {
        let id = self.person(name).await;
        self.engine.bootstrap_staff(id, true).await.expect("staff");
        id
    }

    /// An organization, created by the given staff member.
    pub async fn org(&self, staff: PersonId, name: &str) -> OrgId {
        self.engine
            .create_organization(&Ctx::new(staff), name)
            .await
            .expect("organization")
            .id
    }

    /// How the database would run `sql` with the values `bind` gives it,
    /// its plan's lines joined by " / ": SQLite's `explain query plan`,
    /// PostgreSQL's `explain` told to avoid a sequential scan where it has
    /// any other way (with a few rows it would rightly prefer one).
    pub async fn query_plan(
        &self,
        sql: &str,
        bind: impl for<'q> FnOnce(
            sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        )
            -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> String {
        use sqlx::{Executor, Row};
        let mut conn = self.engine.db().pool().acquire().await.expect("connection");
        let (explain, column) = match self.engine.db().backend() {
            crate::Backend::Sqlite => ("explain query plan", "detail"),
            crate::Backend::Postgres => {
                conn.execute("set enable_seqscan = off").await.expect("set");
                ("explain", "QUERY PLAN")
            }
        };
        let explained = format!("{explain} {sql}");
        bind(sqlx::query(&explained).persistent(false))
            .fetch_all(&mut *conn)
            .await
            .expect("plan")
            .iter()
            .map(|r| r.try_get::<String, _>(column).expect("plan line"))
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// A department (in use), created by the given staff member.
    pub async fn department(&self, staff: PersonId, name: &str) -> crate::DepartmentId {
        self.engine
            .create_department(&Ctx::new(staff), name)
            .await
            .expect("department")
            .id
    }

    /// A person in an organization.
    pub async fn member(&self, staff: PersonId, org: OrgId, name: &str) -> PersonId {
        let id = self.person(name).await;
        self.engine
            .set_organization(&Ctx::new(staff), id, Some(org))
            .await
            .expect("membership");
        id
    }

    /// A company ticket admin of an organization.
    pub async fn company_admin(&self, staff: PersonId, org: OrgId, name: &str) -> PersonId {
        let id = self.member(staff, org, name).await;
        self.engine
            .grant_company_admin(&Ctx::new(staff), id)
            .await
            .expect("company admin");
        id
    }

    /// Opens a ticket as `who`.
    pub async fn open(&self, who: PersonId, subject: &str) -> Opened {
        self.open_where(who, subject, None).await
    }

    /// Opens a ticket as `who` in a department.
    pub async fn open_in(
        &self,
        who: PersonId,
        subject: &str,
        department: crate::DepartmentId,
    ) -> Opened {
        self.open_where(who, subject, Some(department)).await
    }

    async fn open_where(
        &self,
        who: PersonId,
        subject: &str,
        department: Option<crate::DepartmentId>,
    ) -> Opened {
        self.engine
            .open_ticket(
                &Ctx::new(who),
                NewTicket {
                    subject: subject.into(),
                    body: format!("about {subject}"),
                    department,
                    ..Default::default()
                },
            )
            .await
            .expect("ticket opens")
    }

    /// Posts a reply as `who`.
    pub async fn reply(
        &self,
        who: PersonId,
        ticket: TicketId,
        body: &str,
    ) -> Result<Posted, EngineError> {
        self.engine
            .reply(&Ctx::new(who), ticket, NewMessage::text(body))
            .await
    }

    /// An engine on this database and clock with automatic closing set to
    /// `periods` (as `AUTO_CLOSE` reads them), as a replica configured so
    /// would be; tickets already waiting on their customer get due times.
    pub async fn auto_closing(&self, periods: &str) -> Engine {
        let settings = Settings {
            auto_close: crate::autoclose::AutoClose::parse(periods).expect("periods"),
            ..Settings::default()
        };
        let replica = Engine::new(self.engine.db().clone(), settings);
        replica.refresh_auto_close().await.expect("due times set");
        replica
    }

    /// The newest outbox event of a kind (`ticket_closed`).
    pub async fn newest_event(&self, kind: &str) -> crate::outbox::Event {
        let id: Option<i64> =
            sqlx::query_scalar("select max(id) from outbox_events where kind = $1")
                .bind(kind)
                .fetch_one(self.engine.db().pool())
                .await
                .expect("read");
        let id = id.unwrap_or_else(|| panic!("no {kind} event"));
        crate::outbox::Outbox::new(self.engine.db().clone())
            .event(crate::EventId(id))
            .await
            .expect("the event")
    }

    /// How many outbox events exist.
    pub async fn events(&self) -> i64 {
        sqlx::query_scalar("select count(*) from outbox_events")
            .fetch_one(self.engine.db().pool())
            .await
            .expect("count")
    }
}

/// Every behavioural story runs once per backend: `#[apply(backends)]`
/// on a test taking `#[case] kind: Kind` (with `rstest::rstest`,
/// `rstest_reuse::apply` in scope).
#[rstest_reuse::template]
#[export]
#[rstest]
#[case::sqlite(threadesk_core::testing::Kind::Sqlite)]
#[case::postgres(threadesk_core::testing::Kind::Postgres)]
pub fn backends(#[case] kind: threadesk_core::testing::Kind) {}

/// What a card of ticket #1001 "VPN down" shows, owned by `owner` (its
/// display name), with customers shown the first name when `shown`.
pub fn card_facts(owner: Option<&str>, shown: bool) -> crate::surfaces::CardFacts {
    use crate::domain::{Status, Ticket};
    use crate::time::Timestamp;
    crate::surfaces::CardFacts {
        ticket: Ticket {
            id: TicketId(1),
            number: crate::TicketNumber(1001),
            subject: "VPN down".into(),
            department_id: None,
            requester_id: PersonId(2),
            org_id: None,
            status: Status::Open,
            created_at: Timestamp(0),
            last_activity_at: Timestamp(0),
            closed_at: None,
            owner_id: owner.map(|_| PersonId(3)),
            waiting_since: Some(Timestamp(0)),
            first_response_at: None,
            due_at: None,
            auto_close_at: None,
            reminded: false,
            auto_close_paused: false,
        },
        requester_name: "Bob Builder".into(),
        department: None,
        owner_name: owner.map(str::to_owned),
        handled_by: owner
            .filter(|_| shown)
            .and_then(crate::surfaces::first_name),
        rating: None,
        rate_until: None,
    }
}
