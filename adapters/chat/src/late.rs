//! Acknowledge first, answer late: a chat request is stored durably
//! ([`threadesk_core::inbound`]), acknowledged at once, then handled on a
//! task of its own and answered through the platform's way of answering
//! late (Slack's `response_url` or `views.update`, Discord's edit of the
//! original response). Under a burst the acknowledgements do not queue
//! behind the work.
//!
//! Crash points ([`threadesk_core::faults`]) mark the three moments a
//! process can die with a request in hand: [`STORED`] (stored, maybe not
//! acknowledged), [`HANDLED`] (the engine's work committed, not answered)
//! and [`ANSWERED`] (answered, not yet forgotten). At each, the request
//! stays stored and is taken up again once its lease lapses: the engine's
//! idempotency key makes the work act once, and a late answer replaces
//! what it answers, so showing it again changes nothing.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use threadesk_core::faults::crash_point;
use threadesk_core::inbound::{Inbound, MAX_BATCH};
use threadesk_core::Engine;
use tokio::sync::Semaphore;

/// Stored; the platform may not have its acknowledgement yet.
pub const STORED: &str = "inbound.stored";
/// Handled (the engine's change committed); not answered yet.
pub const HANDLED: &str = "inbound.handled";
/// Answered; the stored request not forgotten yet.
pub const ANSWERED: &str = "inbound.answered";

/// Requests handled at once per process: the rest wait their turn, so the
/// acknowledgements of a burst are not slowed by its work.
pub const PARALLEL: usize = 4;
/// Tries before a request is set aside (kept, marked failed).
pub const MAX_ATTEMPTS: i64 = 8;

/// A platform's handling of its stored requests.
pub trait LateAnswers: Clone + Send + Sync + 'static {
    /// What handling a request gives, to be answered with.
    type Answer: Send;
    /// The platform's name in the store.
    const PLATFORM: &'static str;

    /// Does what the request asks (the payload as it was stored).
    fn handle(&self, payload: &str) -> impl Future<Output = Self::Answer> + Send;

    /// Shows the answer to the person; an error when it should be tried
    /// again later (the platform unreachable, say). Showing the same
    /// answer twice must change nothing.
    fn answer(
        &self,
        payload: &str,
        answer: Self::Answer,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// What became of a request given [`AckFirst::within`] its budget.
#[derive(Debug)]
pub enum Within<A> {
    /// Handled in time: answer with this.
    Answered(A),
    /// Stored and handled on: acknowledge it now; its answer is shown late.
    Later,
    /// Neither handled in time nor stored (or its handler failed): do not
    /// acknowledge it, so that the platform delivers it again, or finish
    /// it as before (`running`, when it is still going on).
    Failed {
        /// Why.
        why: String,
        /// The handling, still going on, when storing failed.
        running: Option<tokio::task::JoinHandle<A>>,
    },
}

/// A request that could not be stored: it was not acknowledged and will
/// not be handled late (the adapter handles it before answering).
#[derive(Debug, thiserror::Error)]
#[error("the request could not be stored: {0}")]
pub struct NotStored(String);

/// A request waiting to be stored with the others that arrive meanwhile.
struct Waiting {
    platform: &'static str,
    key: String,
    payload: String,
    stored: tokio::sync::oneshot::Sender<Result<bool, String>>,
}

/// The requests waiting to be stored, and whether a task is storing.
#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    storing: bool,
}

/// The storing task's hold on the queue: should the task end without
/// finishing (a panic, the runtime going), the requests waiting are told
/// they were not stored and the next one starts a task again.
struct Storing<'a> {
    queue: &'a Mutex<Queue>,
    finished: bool,
}

impl Drop for Storing<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.storing = false;
        for w in q.waiting.drain(..) {
            let _ = w.stored.send(Err("the storing task ended".to_owned()));
        }
    }
}

/// A request held by a task of this process, released when it ends.
struct Held<'a> {
    runner: &'a AckFirst,
    key: &'a str,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.runner.release(self.key);
    }
}

/// The acknowledge-first runner of one process, shared by its clones.
#[derive(Clone)]
pub struct AckFirst {
    inbound: Inbound,
    permits: Arc<Semaphore>,
    /// Keys this process is handling now (recovery leaves them alone).
    held: Arc<Mutex<HashSet<String>>>,
    /// Requests arriving together are stored together: one statement and
    /// one commit for a burst, rather than one each on the one writer.
    queue: Arc<Mutex<Queue>>,
}

impl std::fmt::Debug for AckFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckFirst").finish_non_exhaustive()
    }
}

/// Where an adapter keeps its runner: empty until the binary asks it to
/// acknowledge first ([`Slot::start`]).
#[derive(Debug, Default)]
pub struct Slot(std::sync::OnceLock<AckFirst>);

impl Slot {
    /// The runner, once started.
    pub fn get(&self) -> Option<&AckFirst> {
        self.0.get()
    }

    /// The runner, started over the engine's database if it was not yet.
    pub fn start(&self, engine: &Engine) -> AckFirst {
        self.0.get_or_init(|| AckFirst::new(engine)).clone()
    }
}

fn lease() -> Duration {
    threadesk_core::outbox::lease()
}

/// The wait before try `attempts + 1`: 1 s, 2 s, 4 s, … up to a minute.
fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 7) - 1).unwrap_or(0);
    Duration::from_secs(2u64.pow(exp)).min(Duration::from_secs(60))
}

impl AckFirst {
    /// A runner over the engine's database.
    pub fn new(engine: &Engine) -> AckFirst {
        AckFirst {
            inbound: Inbound::new(engine.db().clone()),
            permits: Arc::new(Semaphore::new(PARALLEL)),
            held: Arc::default(),
            queue: Arc::default(),
        }
    }

    /// The store behind it.
    pub fn inbound(&self) -> &Inbound {
        &self.inbound
    }

    /// Stores a request and starts handling it on a task of its own;
    /// returns once it is durable, for the caller to acknowledge. An error
    /// when it could not be stored: nothing was acknowledged or will be
    /// handled. A redelivery of a request still stored is acknowledged and
    /// left to the first.
    pub async fn accept<L: LateAnswers>(
        &self,
        late: &L,
        key: &str,
        payload: String,
    ) -> Result<(), NotStored> {
        let fresh = self
            .store(L::PLATFORM, key, &payload)
            .await
            .map_err(NotStored)?;
        crash_point(STORED, key);
        // a redelivery is left to whoever holds the first (its lease is
        // fresh: recovery cannot have taken it meanwhile).
        if fresh && self.hold(key) {
            let me = self.clone();
            let late = late.clone();
            let key = key.to_owned();
            tokio::spawn(async move { me.work(&late, &key, &payload, 1).await });
        }
        Ok(())
    }

    /// Waits up to `budget` for a request already being handled
    /// (`running`); past it, stores the request and takes over the rest:
    /// the handling goes on, its answer is shown late, and should the
    /// process die first, the stored request is taken up again like any
    /// other. For requests answered at once when they can be, whose
    /// acknowledgement must not come before they are durable.
    pub async fn within<L: LateAnswers>(
        &self,
        late: &L,
        key: &str,
        payload: String,
        mut running: tokio::task::JoinHandle<L::Answer>,
        budget: Duration,
    ) -> Within<L::Answer> {
        match tokio::time::timeout(budget, &mut running).await {
            Ok(Ok(answer)) => return Within::Answered(answer),
            Ok(Err(e)) => {
                return Within::Failed {
                    why: format!("the handler failed: {e}"),
                    running: None,
                }
            }
            Err(_) => {}
        }
        let fresh = match self.store(L::PLATFORM, key, &payload).await {
            Ok(fresh) => fresh,
            Err(why) => {
                return Within::Failed {
                    why,
                    running: Some(running),
                }
            }
        };
        crash_point(STORED, key);
        // stored already: a redelivery of one a process holds, or one that
        // is taken up again; this handling acts once all the same.
        if fresh && self.hold(key) {
            let me = self.clone();
            let late = late.clone();
            let key = key.to_owned();
            tokio::spawn(async move {
                let _held = Held {
                    runner: &me,
                    key: &key,
                };
                match running.await {
                    Ok(answer) => me.conclude(&late, &key, &payload, answer, 1).await,
                    // left stored: taken up again once its lease lapses.
                    Err(e) => {
                        tracing::error!(platform = L::PLATFORM, key, error = %e, "a chat request's handler failed")
                    }
                }
            });
        }
        Within::Later
    }

    /// Stores a request with whatever else is waiting to be: the first to
    /// find nobody storing starts a task that writes the waiting ones, up
    /// to [`MAX_BATCH`] a statement, until none are left.
    async fn store(
        &self,
        platform: &'static str,
        key: &str,
        payload: &str,
    ) -> Result<bool, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.waiting.push(Waiting {
                platform,
                key: key.to_owned(),
                payload: payload.to_owned(),
                stored: tx,
            });
            !std::mem::replace(&mut q.storing, true)
        };
        if start {
            let me = self.clone();
            tokio::spawn(async move { me.store_waiting().await });
        }
        rx.await
            .unwrap_or_else(|_| Err("the storing task ended".to_owned()))
    }

    async fn store_waiting(&self) {
        let mut guard = Storing {
            queue: &self.queue,
            finished: false,
        };
        loop {
            let batch: Vec<Waiting> = {
                let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                if q.waiting.is_empty() {
                    q.storing = false;
                    guard.finished = true;
                    return;
                }
                let n = q.waiting.len().min(MAX_BATCH);
                q.waiting.drain(..n).collect()
            };
            let rows: Vec<(&str, &str, &str)> = batch
                .iter()
                .map(|w| (w.platform, w.key.as_str(), w.payload.as_str()))
                .collect();
            let outcome = self.inbound.store_many(&rows, lease()).await;
            for (i, w) in batch.into_iter().enumerate() {
                let one = match &outcome {
                    Ok(fresh) => Ok(fresh.get(i).copied().unwrap_or(false)),
                    Err(e) => Err(e.to_string()),
                };
                let _ = w.stored.send(one);
            }
        }
    }

    /// Holds `key`; `false` when it was held already.
    fn hold(&self, key: &str) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned())
    }

    fn held_keys(&self) -> Vec<String> {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn release(&self, key: &str) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Handles and answers one stored request, then forgets it; a failed
    /// answer is tried again later.
    async fn work<L: LateAnswers>(&self, late: &L, key: &str, payload: &str, attempts: i64) {
        // released however this ends (a panic included).
        let _held = Held { runner: self, key };
        let permit = self.permits.acquire().await;
        let answer = late.handle(payload).await;
        self.conclude(late, key, payload, answer, attempts).await;
        drop(permit);
    }

    /// Shows a handled request's answer, then forgets the request; a
    /// failed answer is tried again later.
    async fn conclude<L: LateAnswers>(
        &self,
        late: &L,
        key: &str,
        payload: &str,
        answer: L::Answer,
        attempts: i64,
    ) {
        crash_point(HANDLED, key);
        let outcome = late.answer(payload, answer).await;
        let stored = match outcome {
            Ok(()) => {
                crash_point(ANSWERED, key);
                self.inbound.done(key).await
            }
            Err(e) => {
                let give_up = attempts >= MAX_ATTEMPTS;
                if give_up {
                    tracing::error!(platform = L::PLATFORM, key, attempts, error = %e, "a chat request's answer could not be shown; set aside");
                } else {
                    tracing::warn!(platform = L::PLATFORM, key, attempts, error = %e, "a chat request's answer not shown yet; trying again later");
                }
                self.inbound
                    .failed(key, &e, backoff(attempts), give_up)
                    .await
            }
        };
        if let Err(e) = stored {
            // the lease lapses and the request is taken up again.
            tracing::warn!(platform = L::PLATFORM, key, error = %e, "a chat request's outcome not recorded");
        }
    }

    /// Until `stop`: renews the leases of the requests this process holds
    /// (a request waiting for its turn in a burst is not taken up by
    /// another process meanwhile) and takes up those whose lease lapsed:
    /// left by a process that died, or waiting to try their answer again.
    pub async fn recover<L: LateAnswers>(&self, late: L, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let every = lease() * 3 / 10;
        loop {
            // what this process holds keeps its lease: nobody else takes it.
            let held = self.held_keys();
            if let Err(e) = self.inbound.renew(&held, lease()).await {
                tracing::warn!(platform = L::PLATFORM, error = %e, "leases of chat requests not renewed");
            }
            match self.inbound.claim(L::PLATFORM, 32, lease()).await {
                Ok(taken) => {
                    for s in taken {
                        if !self.hold(&s.key) {
                            continue;
                        }
                        let me = self.clone();
                        let late = late.clone();
                        tokio::spawn(async move {
                            me.work(&late, &s.key, &s.payload, s.attempts).await
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(platform = L::PLATFORM, error = %e, "stored chat requests not read")
                }
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadesk_core::testing::{harness, Kind};

    #[derive(Clone)]
    struct Quiet;

    impl LateAnswers for Quiet {
        type Answer = ();
        const PLATFORM: &'static str = "test";
        async fn handle(&self, _: &str) {}
        async fn answer(&self, _: &str, (): ()) -> Result<(), String> {
            // never answered while the test looks: no writes of its own.
            std::future::pending().await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_is_stored_in_a_few_commits_and_each_request_once() {
        let h = harness(Kind::Sqlite).await;
        let late = AckFirst::new(&h.engine);
        let before = h.engine.db().commit_stats().unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let late = late.clone();
            // every tenth is a redelivery of the one before it.
            let key = format!("k{}", i - usize::from(i % 10 == 9));
            tasks.spawn(async move { late.accept(&Quiet, &key, "{}".to_owned()).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        let after = h.engine.db().commit_stats().unwrap();
        let backlog = late.inbound().backlog("test").await.unwrap();
        assert_eq!(backlog.pending, 180, "each request stored once");
        // one write each would be 200; at most 64 a statement, as they queue.
        let stores = after.transactions - before.transactions;
        assert!(stores <= 10, "{stores} write transactions for 200 requests");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_in_hand_keeps_its_lease_and_is_not_taken_up_again() {
        let h = harness(Kind::Sqlite).await;
        let late = AckFirst::new(&h.engine);
        // handled, its answer never done: held by this process.
        late.accept(&Quiet, "k1", "{}".to_owned()).await.unwrap();
        let db = h.engine.db().clone();
        let read = || async {
            sqlx::query_as::<_, (i64, i64)>(
                "select available_at, attempts from inbound_requests where request_key = 'k1'",
            )
            .fetch_one(db.pool())
            .await
            .unwrap()
        };
        let (leased, _) = read().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runner = late.clone();
        let recovering = tokio::spawn(async move {
            runner
                .recover(Quiet, async {
                    let _ = stopped.await;
                })
                .await
        });
        let mut renewed = leased;
        for _ in 0..200 {
            renewed = read().await.0;
            if renewed > leased {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(());
        recovering.await.unwrap();
        assert!(renewed > leased, "the lease was renewed");
        assert_eq!(read().await.1, 1, "not taken up again");
    }

    /// Counts the answers it is asked to show.
    #[derive(Clone, Default)]
    struct Counting(Arc<std::sync::atomic::AtomicUsize>);

    impl LateAnswers for Counting {
        type Answer = &'static str;
        const PLATFORM: &'static str = "test";
        async fn handle(&self, _: &str) -> &'static str {
            "handled again"
        }
        async fn answer(&self, _: &str, _: &'static str) -> Result<(), String> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_past_its_budget_is_stored_then_answered_and_forgotten() {
        let h = harness(Kind::Sqlite).await;
        let late = AckFirst::new(&h.engine);
        let counting = Counting::default();
        let budget = Duration::from_millis(50);
        // in time: answered by the caller, nothing stored.
        let quick = tokio::spawn(async { "quick" });
        let ample = Duration::from_secs(30);
        let within = late.within(&counting, "k-quick", "{}".to_owned(), quick, ample);
        assert!(matches!(within.await, Within::Answered("quick")));
        assert_eq!(late.inbound().backlog("test").await.unwrap().pending, 0);
        // past it: stored while the handling goes on, answered when done.
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let slow = tokio::spawn(async move {
            let _ = finished.await;
            "slow"
        });
        let within = late.within(&counting, "k-slow", "{}".to_owned(), slow, budget);
        assert!(matches!(within.await, Within::Later));
        assert_eq!(late.inbound().backlog("test").await.unwrap().pending, 1);
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        // a redelivery past its budget too: acknowledged, not answered twice.
        let again = tokio::spawn(std::future::pending::<&'static str>());
        let within = late.within(&counting, "k-slow", "{}".to_owned(), again, budget);
        assert!(matches!(within.await, Within::Later));
        finish.send(()).unwrap();
        for _ in 0..200 {
            if late.inbound().backlog("test").await.unwrap().pending == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(late.inbound().backlog("test").await.unwrap().pending, 0);
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// Fails to show its first `failing` answers (the platform down), then
    /// shows them; counts both.
    #[derive(Clone)]
    struct Flaky {
        failing: usize,
        tries: Arc<std::sync::atomic::AtomicUsize>,
        shown: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Flaky {
        fn failing(failing: usize) -> Flaky {
            Flaky {
                failing,
                tries: Arc::default(),
                shown: Arc::default(),
            }
        }

        fn tries(&self) -> usize {
            self.tries.load(std::sync::atomic::Ordering::SeqCst)
        }

        fn shown(&self) -> usize {
            self.shown.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl LateAnswers for Flaky {
        type Answer = ();
        const PLATFORM: &'static str = "test";
        async fn handle(&self, _: &str) {}
        async fn answer(&self, _: &str, (): ()) -> Result<(), String> {
            let n = self.tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n < self.failing {
                return Err(format!("platform down (try {})", n + 1));
            }
            self.shown.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    /// A stored request's row: when it may be taken up again (microseconds
    /// from now, by the engine's clock), its tries, its last error, and
    /// whether it was set aside; `None` once forgotten.
    async fn row_of(
        h: &threadesk_core::testing::Harness,
        key: &str,
    ) -> Option<(i64, i64, String, bool)> {
        let row: Option<(i64, i64, Option<String>, Option<i64>)> = sqlx::query_as(
            "select available_at, attempts, last_error, failed_at from inbound_requests \
             where request_key = $1",
        )
        .bind(key)
        .fetch_optional(h.engine.db().pool())
        .await
        .unwrap();
        let now = h.engine.now().0;
        row.map(|(at, attempts, error, failed)| {
            (
                at - now,
                attempts,
                error.unwrap_or_default(),
                failed.is_some(),
            )
        })
    }

    /// Takes up what is due, as recovery does, and handles it to the end.
    async fn take_up(late: &AckFirst, flaky: &Flaky) -> usize {
        let taken = late.inbound().claim("test", 32, lease()).await.unwrap();
        for s in &taken {
            assert!(late.hold(&s.key));
            late.work(flaky, &s.key, &s.payload, s.attempts).await;
        }
        taken.len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_that_fails_is_tried_again_after_a_growing_wait_then_set_aside() {
        let h = harness(Kind::Sqlite).await;
        let clock = h.engine.clock().clone();
        let late = AckFirst::new(&h.engine);
        let second = 1_000_000;

        // shown at its third try.
        let flaky = Flaky::failing(2);
        late.accept(&flaky, "k1", "{}".to_owned()).await.unwrap();
        settled(&late, &flaky, "k1").await;
        let (wait, attempts, error, aside) = row_of(&h, "k1").await.expect("kept");
        assert_eq!((attempts, aside), (1, false));
        assert_eq!(error, "platform down (try 1)");
        // (the wait was set a moment ago, by the machine's clock too.)
        assert!((second / 2..=second).contains(&wait), "waits 1 s: {wait}");
        // not before its wait is over (looked at a minute early, however
        // slowly this runs).
        let early = Duration::from_secs(60);
        clock.rewind(early);
        assert_eq!(take_up(&late, &flaky).await, 0);
        clock.advance(early + Duration::from_secs(1));
        assert_eq!(take_up(&late, &flaky).await, 1);
        let (wait, attempts, error, _) = row_of(&h, "k1").await.expect("kept");
        assert_eq!(attempts, 2);
        assert_eq!(error, "platform down (try 2)");
        assert!(
            (2 * second - second / 2..=2 * second).contains(&wait),
            "waits 2 s: {wait}"
        );
        clock.rewind(early);
        assert_eq!(take_up(&late, &flaky).await, 0);
        clock.advance(early + Duration::from_secs(2));
        assert_eq!(take_up(&late, &flaky).await, 1);
        assert_eq!((flaky.tries(), flaky.shown()), (3, 1));
        assert_eq!(row_of(&h, "k1").await, None, "forgotten once shown");

        // never shown: set aside after its last try, kept for a look.
        let down = Flaky::failing(usize::MAX);
        late.accept(&down, "k2", "{}".to_owned()).await.unwrap();
        settled(&late, &down, "k2").await;
        let mut waits = vec![];
        for _ in 0..MAX_ATTEMPTS {
            let (wait, attempts, _, aside) = row_of(&h, "k2").await.expect("kept");
            if aside {
                assert_eq!(attempts, MAX_ATTEMPTS);
                break;
            }
            // (whole seconds: the wait was set a moment before now.)
            waits.push((wait + second / 2) / second);
            let due = u64::try_from(wait.max(0)).unwrap_or(0);
            clock.advance(Duration::from_micros(due));
            assert_eq!(take_up(&late, &down).await, 1);
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60]);
        let (_, attempts, error, aside) = row_of(&h, "k2").await.expect("kept for a look");
        assert!(aside, "set aside after {attempts} tries");
        assert_eq!(error, format!("platform down (try {MAX_ATTEMPTS})"));
        assert_eq!(down.tries(), usize::try_from(MAX_ATTEMPTS).unwrap());
        clock.advance(Duration::from_secs(3600));
        assert_eq!(take_up(&late, &down).await, 0, "never taken up again");
        let backlog = late.inbound().backlog("test").await.unwrap();
        assert_eq!((backlog.pending, backlog.failed), (0, 1));
    }

    /// Waits until the first try of `key` is over (tried once, let go).
    async fn settled(late: &AckFirst, flaky: &Flaky, key: &str) {
        for _ in 0..1000 {
            if flaky.tries() == 1 && !late.held_keys().iter().any(|k| k == key) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the first try of {key} did not end within 10 s");
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
