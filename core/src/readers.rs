//! The reading connections.
//!
//! On an SQLite file they are kept here rather than in sqlx's pool: sqlx
//! 0.8 pings every connection it is handed back, and an SQLite ping is a
//! round trip to the connection's own thread (two thread wake-ups), so
//! every query through the pool cost two round trips instead of one. A
//! local file cannot hang up, so nothing is lost by not asking. A
//! connection handed back inside a read transaction (its request was
//! dropped halfway) is rolled back before anyone reads on it again.
//! PostgreSQL and in-memory SQLite keep sqlx's pool: there the check is
//! what replaces a connection a server restart dropped.

use crate::error::Result;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::TryStreamExt;
use sqlx::any::{AnyConnectOptions, AnyQueryResult, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Either, Execute, Executor};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Where reads go: see the module's text.
#[derive(Debug, Clone)]
pub struct Readers(Kind);

#[derive(Debug, Clone)]
enum Kind {
    Pool(AnyPool),
    Own(Arc<Own>),
}

#[derive(Debug)]
struct Own {
    idle: std::sync::Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    options: AnyConnectOptions,
    /// Run on every new connection (the engine's pragmas).
    setup: &'static str,
    acquire_timeout: Duration,
}

#[derive(Debug)]
struct Idle {
    conn: AnyConnection,
    /// Handed back inside a read transaction.
    in_tx: bool,
}

/// One reading connection, for several statements in a row (a read
/// transaction, a page and its parts).
#[derive(Debug)]
pub struct Reader(ReaderKind);

#[derive(Debug)]
enum ReaderKind {
    Pooled(PoolConnection<Any>),
    Own(OwnReader),
}

#[derive(Debug)]
struct OwnReader {
    conn: Option<AnyConnection>,
    in_tx: bool,
    home: Arc<Own>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for OwnReader {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.home.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.push(Idle {
                conn,
                in_tx: self.in_tx,
            });
        }
    }
}

impl Readers {
    /// sqlx's pool (PostgreSQL, in-memory SQLite).
    pub(crate) fn pooled(pool: AnyPool) -> Readers {
        Readers(Kind::Pool(pool))
    }

    /// Up to `max` connections of our own to an SQLite file, each set up
    /// with `setup` when opened.
    pub(crate) fn own(
        url: &str,
        max: u32,
        acquire_timeout: Duration,
        setup: &'static str,
    ) -> std::result::Result<Readers, sqlx::Error> {
        let options: AnyConnectOptions = url.parse()?;
        Ok(Readers(Kind::Own(Arc::new(Own {
            idle: std::sync::Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            options,
            setup,
            acquire_timeout,
        }))))
    }

    /// A connection of one's own until dropped.
    pub async fn acquire(&self) -> std::result::Result<Reader, sqlx::Error> {
        match &self.0 {
            Kind::Pool(pool) => Ok(Reader(ReaderKind::Pooled(pool.acquire().await?))),
            Kind::Own(own) => Ok(Reader(ReaderKind::Own(own.clone().acquire().await?))),
        }
    }

    /// Closes the connections (the idle ones at once, the others as they
    /// come back).
    pub async fn close(&self) {
        match &self.0 {
            Kind::Pool(pool) => pool.close().await,
            Kind::Own(own) => {
                own.permits.close();
                own.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
            }
        }
    }
}

impl Own {
    async fn acquire(self: Arc<Self>) -> std::result::Result<OwnReader, sqlx::Error> {
        let permit =
            tokio::time::timeout(self.acquire_timeout, self.permits.clone().acquire_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(Idle { mut conn, in_tx }) => {
                if in_tx {
                    // (an error: it had not begun after all.)
                    let _ = conn.execute("rollback").await;
                }
                conn
            }
            None => {
                let mut conn = self.options.connect().await?;
                conn.execute(self.setup).await?;
                conn
            }
        };
        Ok(OwnReader {
            conn: Some(conn),
            in_tx: false,
            home: self,
            _permit: permit,
        })
    }
}

/// A read transaction: one snapshot for several statements.
#[derive(Debug)]
pub enum ReadTx {
    /// On sqlx's pool.
    Pooled(sqlx::Transaction<'static, Any>),
    /// On a connection of our own.
    Own(Reader),
}

impl Readers {
    /// Begins a read transaction.
    pub async fn begin(&self) -> Result<ReadTx> {
        match &self.0 {
            Kind::Pool(pool) => Ok(ReadTx::Pooled(pool.begin().await?)),
            Kind::Own(own) => {
                let mut own = own.clone().acquire().await?;
                own.in_tx = true;
                let mut reader = Reader(ReaderKind::Own(own));
                // dropped before it began: rolled back all the same.
                reader.execute("begin").await?;
                Ok(ReadTx::Own(reader))
            }
        }
    }
}

impl ReadTx {
    /// Ends the read transaction.
    pub async fn commit(self) -> Result<()> {
        match self {
            ReadTx::Pooled(tx) => tx.commit().await?,
            ReadTx::Own(mut reader) => {
                reader.execute("commit").await?;
                if let ReaderKind::Own(own) = &mut reader.0 {
                    own.in_tx = false;
                }
            }
        }
        Ok(())
    }
}

impl std::ops::Deref for ReadTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            ReadTx::Pooled(tx) => tx,
            ReadTx::Own(reader) => reader,
        }
    }
}

impl std::ops::DerefMut for ReadTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            ReadTx::Pooled(tx) => tx,
            ReadTx::Own(reader) => reader,
        }
    }
}

impl std::ops::Deref for Reader {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            ReaderKind::Pooled(conn) => conn,
            ReaderKind::Own(own) => own.conn.as_ref().expect("held until dropped"),
        }
    }
}

impl std::ops::DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            ReaderKind::Pooled(conn) => conn,
            ReaderKind::Own(own) => own.conn.as_mut().expect("held until dropped"),
        }
    }
}

/// Each statement on a connection of its own for its length, as with
/// sqlx's pool.
impl<'p> Executor<'p> for &'_ Readers {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, std::result::Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let readers = self.clone();
        Box::pin(sqlx_core::ext::async_stream::TryAsyncStream::new(
            move |yielder| async move {
                let mut conn = readers.acquire().await?;
                let mut rows = (&mut *conn).fetch_many(query);
                while let Some(row) = rows.try_next().await? {
                    yielder.r#yield(row).await;
                }
                Ok(())
            },
        ))
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, std::result::Result<Option<AnyRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let readers = self.clone();
        Box::pin(async move { readers.acquire().await?.fetch_optional(query).await })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> BoxFuture<'e, std::result::Result<sqlx::any::AnyStatement<'q>, sqlx::Error>> {
        let readers = self.clone();
        Box::pin(async move { readers.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, std::result::Result<sqlx::Describe<Any>, sqlx::Error>> {
        let readers = self.clone();
        Box::pin(async move { readers.acquire().await?.describe(sql).await })
    }
}
