//! Storage: one sqlx `Any` pool over SQLite (the embedded default: a file in
//! WAL mode) or PostgreSQL, one set of SQL for both, and the migrations.
//!
//! Each connection keeps its last 100 prepared statements. A statement
//! whose text depends on its input (ids written in, as many placeholders
//! as values) is prepared for its one use (`.persistent(false)`): kept, such
//! texts fill every connection's cache with statements never run again,
//! pushing out the engine's own (prepared again at their next use) and
//! holding memory that grows with the process's life. A soak's heap
//! profile found prepared statements the largest part of what the process
//! added after its first tenth; the outbox's read of the events it claimed
//! (their ids written in) was a new text at every claim.

use crate::error::Result;
use crate::readers::Readers;
use sqlx::any::{install_default_drivers, AnyArguments, AnyPoolOptions, AnyQueryResult, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
/// Every SQLite connection's settings.
const SQLITE_SETUP: &str =
    "pragma synchronous = full; pragma foreign_keys = on; pragma wal_autocheckpoint = 10000;";

/// A reader's settings: as every connection's, with a page cache of
/// 512 KiB instead of SQLite's 2 MiB. The readers are several (one per
/// read at once), the pages they use most (indexes' upper levels) are
/// few, and the rest is in the operating system's file cache a read call
/// away: so their memory stops growing with the database early on.
const SQLITE_READER_SETUP: &str = "pragma synchronous = full; pragma foreign_keys = on; \
     pragma wal_autocheckpoint = 10000; pragma cache_size = -512;";

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// An open write transaction.
/// A write transaction. On PostgreSQL one of its own; on an SQLite file a
/// member of a group that shares one commit ([`crate::writer`]). Either way
/// it reads and writes through the connection it derefs to, and nothing of
/// it is visible or durable before [`Tx::commit`] returns.
#[derive(Debug)]
pub struct Tx(TxKind);

#[derive(Debug)]
enum TxKind {
    Own(sqlx::Transaction<'static, sqlx::Any>),
    Grouped(crate::writer::Member),
}

impl Tx {
    /// Commits; returns once the commit is on disk (shared with the
    /// transactions grouped with this one), with its outcome.
    pub async fn commit(self) -> Result<()> {
        match self.0 {
            TxKind::Own(tx) => Ok(tx.commit().await?),
            TxKind::Grouped(member) => member.commit().await,
        }
    }

    /// Runs its last statement (`sql` with `args`) and commits. On an
    /// SQLite file, when nobody shares its commit, the statement and the
    /// commit are one round trip to the connection's thread
    /// ([`crate::writer`]). When the statement fails, the transaction is
    /// undone and the statement's error returned.
    pub async fn commit_executing(
        self,
        sql: &str,
        args: AnyArguments<'_>,
    ) -> Result<AnyQueryResult> {
        match self.0 {
            TxKind::Own(mut tx) => match sqlx::query_with(sql, args).execute(&mut *tx).await {
                Ok(done) => {
                    tx.commit().await?;
                    Ok(done)
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    Err(e.into())
                }
            },
            TxKind::Grouped(member) => member.commit_executing(sql, args).await,
        }
    }

    /// Undoes this transaction's writes (and only them).
    pub async fn rollback(self) -> Result<()> {
        match self.0 {
            TxKind::Own(tx) => Ok(tx.rollback().await?),
            TxKind::Grouped(member) => member.rollback().await,
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        match &self.0 {
            TxKind::Own(tx) => tx,
            TxKind::Grouped(member) => member,
        }
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match &mut self.0 {
            TxKind::Own(tx) => tx,
            TxKind::Grouped(member) => member,
        }
    }
}

/// The arguments bound to a query, for [`Db::begin_fetching`] and
/// [`Tx::commit_executing`] (which put a statement of their own around its
/// text): `sqlx::query(sql).bind(…)` binds them as usual.
pub fn arguments<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>>,
) -> Result<AnyArguments<'q>> {
    use sqlx::Execute;
    let args = query
        .take_arguments()
        .map_err(|e| crate::error::EngineError::Database(sqlx::Error::Encode(e)))?;
    Ok(args.unwrap_or_default())
}

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite: one writer at a time, so write transactions begin IMMEDIATE.
    Sqlite,
    /// PostgreSQL: row locks (`for update`) and `skip locked` work sharing.
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// Its name, for logs and benchmark lines.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Most connections that read at once: PostgreSQL's pool (which also
    /// writes), SQLite's reading connections beside its one writer. `None`
    /// takes the backend's default ([`DbOptions::default_max_connections`]).
    pub max_connections: Option<u32>,
    /// How long to wait for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: None,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl DbOptions {
    /// The most connections for `backend` when none is set: PostgreSQL
    /// 10, its server doing the work; SQLite twice the cores (2 to 10).
    /// Each SQLite connection is a thread of the process doing the reading
    /// itself: more of them than the cores can run add no reading, and
    /// each keeps its own memory. On two cores, ten readers against four
    /// (the load driver's soak, side by side): the server's own memory
    /// grew 3.3 MiB over 180,000 events against 0.4; portal writes and
    /// chat acknowledgements were the same within the runs' spread, the
    /// outbox's drain after a burst 15-20 % slower (README).
    pub fn default_max_connections(backend: Backend) -> u32 {
        match backend {
            Backend::Postgres => 10,
            Backend::Sqlite => std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .saturating_mul(2)
                .clamp(2, 10) as u32,
        }
    }
}

/// The database: a pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Db {
    /// sqlx's pool: the reads on PostgreSQL, the migrations everywhere.
    pool: AnyPool,
    readers: Readers,
    /// Where write transactions run. On an SQLite file this is a pool of
    /// one connection: SQLite has one writer at a time anyway, and a writer
    /// that keeps its connection keeps its page cache (a connection's cache
    /// is dropped whenever another connection has written). Elsewhere it is
    /// the same pool as `pool`.
    writer: AnyPool,
    /// An SQLite file's writes, grouped into shared commits.
    group: Option<std::sync::Arc<crate::writer::GroupWriter>>,
    backend: Backend,
    /// The clock of everything written through this handle (the engine's
    /// changes and the outbox's leases): the system's, unless a test moves
    /// it.
    clock: crate::time::Clock,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL names no supported backend.
    #[error("DATABASE_URL must start with sqlite: or postgres: (got a URL starting with {0:?})")]
    UnsupportedUrl(String),
    /// The database refused or could not be reached.
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl Db {
    /// The time now, by this handle's clock.
    pub fn now(&self) -> crate::time::Timestamp {
        self.clock.now()
    }

    /// This handle's clock.
    pub fn clock(&self) -> &crate::time::Clock {
        &self.clock
    }

    /// The same database, on another clock.
    pub fn with_clock(mut self, clock: crate::time::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Opens a pool on `url` (`sqlite://file.db`, `sqlite::memory:`,
    /// `postgres://…`). A SQLite file is created if missing and put in WAL
    /// mode with full synchronous commits and foreign keys on.
    pub async fn connect(url: &str, opts: DbOptions) -> Result<Db, ConnectError> {
        install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| {
            ConnectError::UnsupportedUrl(url.split(':').next().unwrap_or_default().to_owned())
        })?;
        let max_connections = opts
            .max_connections
            .unwrap_or_else(|| DbOptions::default_max_connections(backend));
        let options = || {
            AnyPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(opts.acquire_timeout)
        };
        let sqlite_settings = |pool: AnyPoolOptions| {
            // a connection to a local file does not go away: no ping (a
            // round trip to the connection's thread) before each use.
            pool.test_before_acquire(false).after_connect(|conn, _| {
                Box::pin(async move { conn.execute(SQLITE_SETUP).await.map(|_| ()) })
            })
        };
        let (pool, readers, writer, group) = match backend {
            Backend::Postgres => {
                // sqlx pings a connection before handing it out, so one the
                // server closed while it waited (a restart) is replaced,
                // not given to a request to fail. Pinging only connections
                // idle for a second measured slower, not faster (engine
                // reply 720-731 against 805-819 a second, alternated runs).
                let pool = options()
                    .connect(url)
                    .await
                    .map_err(ConnectError::Connect)?;
                (pool.clone(), Readers::pooled(pool.clone()), pool, None)
            }
            Backend::Sqlite if url.contains(":memory:") || url.contains("mode=memory") => {
                // every in-memory connection would be its own database.
                let pool = sqlite_settings(options().max_connections(1))
                    .connect(url)
                    .await
                    .map_err(ConnectError::Connect)?;
                (pool.clone(), Readers::pooled(pool.clone()), pool, None)
            }
            Backend::Sqlite => {
                // WAL is a property of the file: set it once, on one connection,
                // before the pool's connections race for it.
                let native = SqliteConnectOptions::from_str(url)
                    .map_err(ConnectError::Connect)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal);
                native
                    .connect()
                    .await
                    .map_err(ConnectError::Connect)?
                    .close()
                    .await
                    .ok();
                // sqlx's pool is left only the migrations; reads go
                // through connections of our own ([`crate::readers`]).
                let pool = sqlite_settings(options().max_connections(1))
                    .connect(url)
                    .await
                    .map_err(ConnectError::Connect)?;
                let readers = Readers::own(
                    url,
                    max_connections,
                    opts.acquire_timeout,
                    SQLITE_READER_SETUP,
                )
                .map_err(ConnectError::Connect)?;
                let writer = sqlite_settings(options().max_connections(1))
                    .connect(url)
                    .await
                    .map_err(ConnectError::Connect)?;
                let group = Some(crate::writer::GroupWriter::new(writer.clone()));
                (pool, readers, writer, group)
            }
        };
        Ok(Db {
            pool,
            readers,
            writer,
            group,
            backend,
            clock: crate::time::Clock::system(),
        })
    }

    /// Applies the migrations of this backend (safe with several processes).
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(ConnectError::Migrate)
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where reads go: an executor of one statement each, or
    /// [`Readers::acquire`] for several on one connection.
    pub fn pool(&self) -> &Readers {
        &self.readers
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once
    /// (`begin immediate`), so a transaction that reads and then writes never
    /// fails to upgrade its lock; on PostgreSQL rows are locked with
    /// [`Db::for_update`].
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_as(false).await
    }

    /// A write transaction someone is waiting on (a chat request stored
    /// before it is acknowledged): on an SQLite file it takes the writer
    /// ahead of the writes queued for it, and commits without waiting for
    /// others to join its commit ([`crate::writer`]). Elsewhere as
    /// [`Db::begin`]. Keep it small and rare: everyone else waits for it.
    pub async fn begin_urgent(&self) -> Result<Tx> {
        self.begin_as(true).await
    }

    /// A write transaction whose first statement is a read (`sql` with
    /// `args`), and the read's first row. On an SQLite file the statement
    /// that opens the transaction and the read are one round trip to the
    /// connection's thread ([`crate::writer`]).
    pub async fn begin_fetching(
        &self,
        sql: &str,
        args: AnyArguments<'_>,
    ) -> Result<(Tx, Option<AnyRow>)> {
        if let Some(group) = &self.group {
            let (member, row) = group.begin_fetching(sql, args).await?;
            return Ok((Tx(TxKind::Grouped(member)), row));
        }
        let mut tx = self.begin().await?;
        match sqlx::query_with(sql, args).fetch_optional(&mut *tx).await {
            Ok(row) => Ok((tx, row)),
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e.into())
            }
        }
    }

    async fn begin_as(&self, urgent: bool) -> Result<Tx> {
        let tx = match (&self.group, self.backend) {
            (Some(group), _) if urgent => TxKind::Grouped(group.begin_urgent().await?),
            (Some(group), _) => TxKind::Grouped(group.begin().await?),
            (None, Backend::Sqlite) => {
                TxKind::Own(self.writer.begin_with("begin immediate").await?)
            }
            (None, Backend::Postgres) => TxKind::Own(self.writer.begin().await?),
        };
        Ok(Tx(tx))
    }

    /// On an SQLite file, how many write transactions shared how many
    /// commits so far ([`crate::writer`]); `None` elsewhere.
    pub fn commit_stats(&self) -> Option<crate::writer::CommitStats> {
        self.group.as_ref().map(|g| g.stats())
    }

    /// The row-lock clause for a `select` of the tickets table (alias `t`)
    /// in a write transaction. SQLite needs none: `begin immediate` already
    /// holds the database's write lock.
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " for update of t",
        }
    }

    /// Whether the database answers (for readiness checks).
    pub async fn ping(&self) -> bool {
        match self.readers.acquire().await {
            Ok(mut conn) => conn.ping().await.is_ok(),
            Err(_) => false,
        }
    }

    /// Closes the pool.
    /// One statement written on its own (an insert, an update, a delete):
    /// on an SQLite file it shares a commit with the writes waiting beside
    /// it ([`crate::writer`]). Returns once it is committed.
    pub async fn write<'q, E>(&self, query: E) -> Result<sqlx::any::AnyQueryResult>
    where
        E: sqlx::Execute<'q, sqlx::Any> + 'q,
    {
        match &self.group {
            Some(group) => group.write(query).await,
            None => Ok(self.writer.execute(query).await?),
        }
    }

    /// Closes both pools (after the writer commits what is open).
    pub async fn close(&self) {
        if let Some(group) = &self.group {
            group.close().await;
        }
        self.readers.close().await;
        self.pool.close().await;
        self.writer.close().await;
    }
}
