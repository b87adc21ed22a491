//! Group commit on SQLite's one writer connection.
//!
//! SQLite in WAL mode with `synchronous = full` syncs the log at every
//! commit, and every write goes through one connection, so writers queue
//! for it and each pays a sync of its own (about a third of a millisecond
//! here). Here the transactions that are waiting when one finishes share its
//! commit instead: the first of a group begins the SQL transaction, each
//! one after it runs inside a savepoint (so that a refusal or an error
//! undoes its own writes and nobody else's), and when nobody is waiting any
//! more (or the group is full: 16) the last one commits them all at
//! once. Nobody is told "done" before that commit is on disk: `commit`
//! returns when the group's commit did, with its outcome. One writer at a
//! time (the lock), and each transaction still sees everything before it,
//! so the order and the isolation are those of one transaction after the
//! other; only the syncs are shared.
//!
//! One exception to the lock's order: an urgent transaction (storing chat
//! requests before they are acknowledged, [`crate::Db::begin_urgent`]) is
//! handed the writer by whoever lets it go next, ahead of the queue, and
//! its group is committed as soon as it is done.
//!
//! Commits and undos run in a task of their own, so that a request dropped
//! halfway (a client that hung up) never leaves a group open or half done.

use crate::error::{EngineError, Result};
use futures_util::stream::TryStreamExt;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, watch, Mutex, OwnedMutexGuard};

/// Most transactions one commit carries: the first of a group waits for
/// the others' work, so a steady stream of writers must not hold its
/// answer back for long (the engine's transactions take a fraction of a
/// millisecond each).
const MAX_MEMBERS: usize = 16;

/// How a group's commit ended, as each member is told.
#[derive(Debug, Clone)]
enum Failed {
    Busy,
    Other(Arc<str>),
}

type Outcome = std::result::Result<(), Failed>;

impl Failed {
    fn of(e: &sqlx::Error) -> Failed {
        if crate::error::is_busy(e) {
            Failed::Busy
        } else {
            Failed::Other(format!("{e:?}").into())
        }
    }

    fn error(self) -> EngineError {
        match self {
            Failed::Busy => EngineError::Busy,
            Failed::Other(why) => EngineError::Database(sqlx::Error::Io(std::io::Error::other(
                format!("a shared commit failed: {why}"),
            ))),
        }
    }
}

/// The open SQL transaction and who is in it.
#[derive(Debug)]
struct Open {
    outcome: watch::Sender<Option<Outcome>>,
    members: usize,
    /// An urgent member is in it: it is committed as soon as that member
    /// is done, nobody else joins.
    urgent: bool,
}

#[derive(Debug, Default)]
struct State {
    /// The writer pool's one connection, taken at the first write and
    /// kept: every write goes through this writer.
    conn: Option<PoolConnection<Any>>,
    group: Option<Open>,
    /// A member dropped without its runtime to undo it: its writes are
    /// undone before anything else (`Some(first)`).
    dirty: Option<bool>,
}

impl Drop for State {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if tokio::runtime::Handle::try_current().is_err() {
                // the pool hands a connection back in a task: without a
                // runtime (a database dropped after its runtime) it is
                // closed here instead.
                drop(conn.leak());
            }
        }
    }
}

impl State {
    fn conn(&mut self) -> &mut AnyConnection {
        self.conn
            .as_deref_mut()
            .expect("a group's connection is held while it is open")
    }
}

/// Who waits to go ahead of the queue ([`GroupWriter::begin_urgent`]):
/// the writer is handed to them directly when it is let go.
type Ahead = Arc<std::sync::Mutex<VecDeque<oneshot::Sender<OwnedMutexGuard<State>>>>>;

/// The writer, held: when it is let go, it goes to whoever waits ahead of
/// the queue, else to the next in line (the lock's own order).
#[derive(Debug)]
struct Turn {
    guard: Option<OwnedMutexGuard<State>>,
    ahead: Ahead,
}

impl std::ops::Deref for Turn {
    type Target = State;
    fn deref(&self) -> &State {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Turn {
    fn deref_mut(&mut self) -> &mut State {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        loop {
            let next = self
                .ahead
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            match next {
                // nobody ahead: the lock's next in line.
                None => return,
                Some(to) => match to.send(guard) {
                    Ok(()) => return,
                    // they got it another way, or stopped waiting.
                    Err(back) => guard = back,
                },
            }
        }
    }
}

/// The writer of one SQLite database: hands out transactions that share
/// commits.
#[derive(Debug)]
pub(crate) struct GroupWriter {
    state: Arc<Mutex<State>>,
    ahead: Ahead,
    /// Begins waiting for the lock: while there are any, a finished
    /// transaction leaves the group open for them.
    waiting: AtomicUsize,
    pool: AnyPool,
    transactions: AtomicU64,
    commits: AtomicU64,
}

/// Transactions begun and commits made so far: their ratio is how many
/// transactions a sync carried on average.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Write transactions begun.
    pub transactions: u64,
    /// Commits made (each one sync of the log).
    pub commits: u64,
    /// Writes waiting for the writer now.
    pub waiting: usize,
}

/// One transaction in a group: it holds the writer until it commits or
/// rolls back.
#[derive(Debug)]
pub(crate) struct Member {
    writer: Arc<GroupWriter>,
    guard: Option<Turn>,
    /// It began the SQL transaction (and so has no savepoint).
    first: bool,
    outcome: watch::Receiver<Option<Outcome>>,
}

/// The writer, taken: let go when dropped (the group goes on or is
/// committed, in a task of its own).
struct Held {
    writer: Arc<GroupWriter>,
    guard: Option<Turn>,
}

impl Held {
    fn state(&mut self) -> &mut State {
        self.guard
            .as_mut()
            .expect("held until dropped or handed on")
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            if guard.group.is_none() || self.writer.joinable(&guard) {
                // nothing to commit, or the next in line goes on with it.
                drop(guard);
            } else if tokio::runtime::Handle::try_current().is_ok() {
                self.writer.clone().settle(guard);
            }
        }
    }
}

/// A member's view of its group's outcome.
struct GroupRef(watch::Receiver<Option<Outcome>>);

/// Whether a failed statement left the transaction it ran in going:
/// SQLite undoes just the statement on a constraint, a type mismatch, a
/// value too big or a plain SQL error; other failures may end the whole
/// transaction.
fn statement_only(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let code: i64 = db.code().and_then(|c| c.parse().ok()).unwrap_or(-1);
    // primary codes: SQLITE_ERROR, SQLITE_TOOBIG, SQLITE_CONSTRAINT,
    // SQLITE_MISMATCH, SQLITE_RANGE.
    matches!(code & 0xff, 1 | 18 | 19 | 20 | 25)
}

/// Counts a begin as waiting until it has the lock. Dropped before that
/// (its request was dropped), it makes sure a group left open for it is
/// committed all the same.
struct Waiting<'a> {
    writer: &'a Arc<GroupWriter>,
    queued: bool,
}

impl<'a> Waiting<'a> {
    fn new(writer: &'a Arc<GroupWriter>) -> Self {
        writer.waiting.fetch_add(1, Ordering::AcqRel);
        Waiting {
            writer,
            queued: true,
        }
    }

    fn got_it(mut self) {
        self.writer.waiting.fetch_sub(1, Ordering::AcqRel);
        self.queued = false;
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.queued {
            return;
        }
        self.writer.waiting.fetch_sub(1, Ordering::AcqRel);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let writer = self.writer.clone();
            rt.spawn(async move {
                let guard = writer.lock().await;
                writer.release(guard).await;
            });
        }
    }
}

impl GroupWriter {
    pub(crate) fn new(pool: AnyPool) -> Arc<GroupWriter> {
        Arc::new(GroupWriter {
            state: Arc::default(),
            ahead: Arc::default(),
            waiting: AtomicUsize::new(0),
            pool,
            transactions: AtomicU64::new(0),
            commits: AtomicU64::new(0),
        })
    }

    pub(crate) fn stats(&self) -> CommitStats {
        CommitStats {
            transactions: self.transactions.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            waiting: self.waiting.load(Ordering::Acquire),
        }
    }

    /// The writer, in the lock's order.
    async fn lock(&self) -> Turn {
        Turn {
            guard: Some(self.state.clone().lock_owned().await),
            ahead: self.ahead.clone(),
        }
    }

    /// A place ahead of the queue: whoever lets the writer go next hands
    /// it over through this (see [`GroupWriter::lock_ahead`]).
    fn place_ahead(&self) -> oneshot::Receiver<OwnedMutexGuard<State>> {
        let (to, handed) = oneshot::channel();
        self.ahead
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(to);
        handed
    }

    /// The writer, next: handed over by whoever holds it now, before
    /// everyone waiting in the lock's order (or in that order, if it is
    /// free first).
    async fn lock_ahead(&self, handed: oneshot::Receiver<OwnedMutexGuard<State>>) -> Turn {
        let guard = tokio::select! {
            biased;
            Ok(guard) = handed => guard,
            guard = self.state.clone().lock_owned() => guard,
        };
        Turn {
            guard: Some(guard),
            ahead: self.ahead.clone(),
        }
    }

    /// Takes the writer (after whoever holds it now; `ahead`: before
    /// anyone else waiting), with the connection and anything a dropped
    /// member left undone dealt with.
    async fn take(self: &Arc<Self>, ahead: bool) -> Result<Held> {
        // placed before it counts as waiting: whoever sees it waiting
        // hands it the writer.
        let place = ahead.then(|| self.place_ahead());
        let waiting = Waiting::new(self);
        let guard = match place {
            Some(handed) => self.lock_ahead(handed).await,
            None => self.lock().await,
        };
        waiting.got_it();
        let mut held = Held {
            writer: self.clone(),
            guard: Some(guard),
        };
        let state = held.state();
        if let Some(first) = state.dirty.take() {
            Self::undo_in(state, first).await;
        }
        if state.conn.is_none() {
            state.conn = Some(self.pool.acquire().await?);
        }
        Ok(held)
    }

    /// Starts the group's SQL transaction, or this member's savepoint in
    /// it; counts the member in.
    async fn join(
        &self,
        state: &mut State,
        own_savepoint: bool,
        urgent: bool,
    ) -> Result<Arc<GroupRef>> {
        if state.group.is_none() {
            state.conn().execute("begin immediate").await?;
            state.group = Some(Open {
                outcome: watch::channel(None).0,
                members: 0,
                urgent: false,
            });
        } else if own_savepoint {
            state.conn().execute("savepoint member").await?;
        }
        Ok(self.count_in(state, urgent))
    }

    /// Counts a member in the group, opening it here if the statement that
    /// opened the SQL transaction just ran.
    fn count_in(&self, state: &mut State, urgent: bool) -> Arc<GroupRef> {
        let open = state.group.get_or_insert_with(|| Open {
            outcome: watch::channel(None).0,
            members: 0,
            urgent: false,
        });
        open.members += 1;
        open.urgent |= urgent;
        self.transactions.fetch_add(1, Ordering::Relaxed);
        Arc::new(GroupRef(open.outcome.subscribe()))
    }

    /// A transaction: the first of a new group, or one more in the open one.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<Member> {
        self.begin_as(false).await
    }

    /// A transaction someone is waiting on (an acknowledgement): it goes
    /// ahead of the writes waiting for the writer, and its commit does not
    /// wait for them to join its group.
    pub(crate) async fn begin_urgent(self: &Arc<Self>) -> Result<Member> {
        self.begin_as(true).await
    }

    /// A transaction whose first statement is a read: the statement that
    /// opens it (the group's `begin immediate`, or this member's savepoint)
    /// and `sql` go to the connection's thread as one query, one round trip
    /// instead of two. Gives the read's first row.
    ///
    /// When it fails, or is dropped halfway, whether the opening statement
    /// ran is not known: the first member rolls back whatever it may have
    /// begun; a later one cannot tell its savepoint from the one before it,
    /// so the group is rolled back and everyone in it is told (a read
    /// fails only when SQLite itself does: I/O, memory, a lock another
    /// process holds).
    pub(crate) async fn begin_fetching(
        self: &Arc<Self>,
        sql: &str,
        args: AnyArguments<'_>,
    ) -> Result<(Member, Option<AnyRow>)> {
        let mut held = self.take(false).await?;
        let state = held.state();
        let first = state.group.is_none();
        let opening = if first {
            "begin immediate"
        } else {
            "savepoint member"
        };
        let text = format!("{opening}; {sql}");
        // dropped before the answer (its request was), the query may have
        // opened the transaction or the savepoint, or not: whoever takes
        // the writer next rolls the transaction back first.
        state.dirty = Some(true);
        // every row (`fetch_optional` would stop at the opening, which has
        // none): the read is of one row.
        let row = sqlx::query_with(&text, args)
            .fetch_all(state.conn())
            .await
            .map(|rows| rows.into_iter().next());
        state.dirty = None;
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let _ = state.conn().execute("rollback").await;
                if let Some(open) = state.group.take() {
                    open.outcome.send_replace(Some(Err(Failed::of(&e))));
                }
                return Err(e.into());
            }
        };
        let group = self.count_in(state, false);
        Ok((
            Member {
                writer: self.clone(),
                guard: held.guard.take(),
                first,
                outcome: group.0.clone(),
            },
            row,
        ))
    }

    async fn begin_as(self: &Arc<Self>, urgent: bool) -> Result<Member> {
        let mut held = self.take(urgent).await?;
        let first = held.state().group.is_none();
        let group = self.join(held.state(), true, urgent).await?;
        Ok(Member {
            writer: self.clone(),
            guard: held.guard.take(),
            first,
            outcome: group.0.clone(),
        })
    }

    /// One statement as a write of its own. Alone, it commits by itself;
    /// with a group open or writers waiting, it goes into the group and
    /// returns once the group's commit is on disk. A failed statement
    /// leaves nothing behind (SQLite undoes a statement as a whole); one
    /// that failed so badly that SQLite ended the whole transaction (a
    /// full disk, an I/O error) fails the group for everyone in it.
    pub(crate) async fn write<'q, E>(self: &Arc<Self>, query: E) -> Result<AnyQueryResult>
    where
        E: sqlx::Execute<'q, Any> + 'q,
    {
        let mut held = self.take(false).await?;
        let state = held.state();
        if state.group.is_none() && self.waiting.load(Ordering::Acquire) == 0 {
            self.transactions.fetch_add(1, Ordering::Relaxed);
            self.commits.fetch_add(1, Ordering::Relaxed);
            return Ok(state.conn().execute(query).await?);
        }
        let group = self.join(state, false, false).await?;
        let done = state.conn().execute(query).await;
        if let Err(e) = &done {
            if !statement_only(e) {
                let _ = state.conn().execute("rollback").await;
                if let Some(open) = state.group.take() {
                    open.outcome
                        .send_replace(Some(Err(Failed::Other(format!("{e:?}").into()))));
                }
            }
        }
        drop(held);
        let done = done?;
        wait(&mut group.0.clone()).await?;
        Ok(done)
    }

    /// Lets the writer go: commits the open group unless somebody is
    /// waiting to join it (and it is not full). The connection
    /// stays: every write goes through here.
    async fn release(&self, mut guard: Turn) {
        if self.joinable(&guard) {
            return;
        }
        let Some(open) = guard.group.take() else {
            return;
        };
        self.commits.fetch_add(1, Ordering::Relaxed);
        let outcome = match guard.conn().execute("commit").await {
            Ok(_) => Ok(()),
            Err(e) => {
                // a failed commit may leave the transaction open.
                let _ = guard.conn().execute("rollback").await;
                Err(Failed::of(&e))
            }
        };
        open.outcome.send_replace(Some(outcome));
    }

    /// Commits what is open and gives the connection back to its pool
    /// (before the pool is closed).
    pub(crate) async fn close(&self) {
        let mut guard = self.lock().await;
        if let Some(open) = guard.group.take() {
            let outcome = match guard.conn().execute("commit").await {
                Ok(_) => Ok(()),
                Err(e) => Err(Failed::of(&e)),
            };
            open.outcome.send_replace(Some(outcome));
        }
        guard.conn = None;
    }

    /// Whether the open group is left open for the next in line.
    fn joinable(&self, state: &State) -> bool {
        state.group.as_ref().is_some_and(|open| {
            !open.urgent && self.waiting.load(Ordering::Acquire) > 0 && open.members < MAX_MEMBERS
        })
    }

    /// [`GroupWriter::release`] in a task of its own: it runs to the end
    /// even when the request that let the writer go is dropped.
    fn settle(self: Arc<Self>, guard: Turn) {
        tokio::spawn(async move { self.release(guard).await });
    }

    /// Undoes one member's writes: the whole transaction when it was the
    /// first (nobody else is in it yet), else back to its savepoint. When
    /// that fails, SQLite has already rolled the transaction back (a full
    /// disk, an I/O error): everyone in the group is told it failed.
    async fn undo_in(guard: &mut State, first: bool) {
        let sql = if first {
            "rollback"
        } else {
            "rollback to member"
        };
        let failed = match guard.conn().execute(sql).await {
            Ok(_) if first => Failed::Other("rolled back".into()),
            Ok(_) => return,
            Err(e) => {
                let _ = guard.conn().execute("rollback").await;
                Failed::of(&e)
            }
        };
        if let Some(open) = guard.group.take() {
            open.outcome.send_replace(Some(Err(failed)));
        }
    }
}

impl Member {
    fn guard(&self) -> &Turn {
        self.guard
            .as_ref()
            .expect("a member holds the writer until it ends")
    }

    /// Done: returns once the group's commit is on disk, with its outcome.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let guard = self.guard.take().expect("a member ends once");
        if self.writer.joinable(&guard) {
            // the next in line goes on with the group (if it is dropped
            // before it gets there, its drop settles the group).
            drop(guard);
        } else {
            let writer = self.writer.clone();
            tokio::spawn(async move { writer.release(guard).await })
                .await
                .map_err(|e| EngineError::Corrupt(format!("the commit task failed: {e}")))?;
        }
        wait(&mut self.outcome).await
    }

    /// Its last statement, then done (as [`Member::commit`]). When it is
    /// the group's only member and nobody is waiting to join, `sql` and the
    /// commit go to the connection's thread as one query: one round trip
    /// instead of two. When the statement fails, this member is undone
    /// (as [`Member::rollback`]) and the error is returned.
    pub(crate) async fn commit_executing(
        mut self,
        sql: &str,
        args: AnyArguments<'_>,
    ) -> Result<AnyQueryResult> {
        let alone = {
            let guard = self.guard();
            self.first
                && guard.group.as_ref().is_some_and(|open| open.members == 1)
                && !self.writer.joinable(guard)
        };
        if !alone {
            let done = sqlx::query_with(sql, args).execute(&mut *self).await;
            return match done {
                Ok(done) => {
                    self.commit().await?;
                    Ok(done)
                }
                Err(e) => {
                    self.rollback().await?;
                    Err(e.into())
                }
            };
        }
        let text = format!("{sql}; commit");
        // the member keeps the writer until the answer: dropped before it
        // (its request was), it is undone as any member dropped halfway (a
        // rollback after the commit undoes nothing).
        let conn: &mut AnyConnection = &mut self;
        // each statement's result but the commit's (which repeats the
        // count of the statement before it).
        let done = conn
            .execute_many(sqlx::query_with(&text, args))
            .try_collect::<Vec<_>>()
            .await
            .map(|mut each| {
                each.pop();
                let mut all = AnyQueryResult::default();
                all.extend(each);
                all
            });
        let mut guard = self.guard.take().expect("a member ends once");
        self.writer.commits.fetch_add(1, Ordering::Relaxed);
        let outcome = match &done {
            Ok(_) => Ok(()),
            Err(e) => {
                // stopped at the statement or at the commit: either way
                // nothing of it stays.
                let _ = guard.conn().execute("rollback").await;
                Err(Failed::of(e))
            }
        };
        if let Some(open) = guard.group.take() {
            open.outcome.send_replace(Some(outcome));
        }
        drop(guard);
        Ok(done?)
    }

    /// Undone: its writes are gone, everyone else's stay. Returns once the
    /// group it was in has ended, so that what came before it is
    /// committed (a retry or a replay then reads it).
    pub(crate) async fn rollback(mut self) -> Result<()> {
        let guard = self.guard.take().expect("a member ends once");
        let (writer, first) = (self.writer.clone(), self.first);
        tokio::spawn(async move {
            let mut guard = guard;
            GroupWriter::undo_in(&mut guard, first).await;
            writer.release(guard).await;
        })
        .await
        .map_err(|e| EngineError::Corrupt(format!("the rollback task failed: {e}")))?;
        let _ = wait(&mut self.outcome).await;
        Ok(())
    }
}

async fn wait(outcome: &mut watch::Receiver<Option<Outcome>>) -> Result<()> {
    match outcome.wait_for(Option::is_some).await {
        Ok(done) => match done.clone().expect("waited for it") {
            Ok(()) => Ok(()),
            Err(failed) => Err(failed.error()),
        },
        // the group was dropped without an outcome: only when the runtime
        // is going away; nothing was committed.
        Err(_) => Err(Failed::Other("the writer stopped".into()).error()),
    }
}

impl Drop for Member {
    /// Dropped halfway (its request was): its writes are undone first,
    /// then the group goes on.
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let (writer, first) = (self.writer.clone(), self.first);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    GroupWriter::undo_in(&mut guard, first).await;
                    writer.release(guard).await;
                });
            }
            Err(_) => guard.dirty = Some(first),
        }
    }
}

impl std::ops::Deref for Member {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.guard()
            .conn
            .as_deref()
            .expect("a group's connection is held while it is open")
    }
}

impl std::ops::DerefMut for Member {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.guard
            .as_mut()
            .expect("a member holds the writer until it ends")
            .conn()
    }
}
