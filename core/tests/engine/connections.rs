//! Connections: PostgreSQL's, one the server closed is replaced, not
//! used; SQLite's readers, as many as the machine's default or the setting.

use std::time::Duration;
use threadesk_core::db::{Backend, DbOptions};
use threadesk_core::testing::postgres_url;
use threadesk_core::Db;

async fn one_connection() -> Db {
    let opts = DbOptions {
        max_connections: Some(1),
        ..Default::default()
    };
    Db::connect(&postgres_url(), opts)
        .await
        .expect("PostgreSQL is reachable")
}

async fn backend_pid(db: &Db) -> sqlx::Result<i32> {
    sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(db.pool())
        .await
}

/// The server closes a connection while it waits in the pool (as a restart
/// or an idle timeout does): the next request gets a new connection and its
/// answer, not the dead connection's error.
#[tokio::test]
async fn a_connection_the_server_closed_while_it_waited_is_replaced_not_used() {
    let db = one_connection().await;
    let admin = one_connection().await;
    let first = backend_pid(&db).await.expect("first query");
    // the connection is back in the pool (sqlx pings it on its way back).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let closed: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(admin.pool())
        .await
        .expect("terminate");
    assert!(closed, "the server closed the pooled connection");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = backend_pid(&db)
        .await
        .expect("the request is answered on a new connection");
    assert_ne!(second, first, "a new connection answered");
    // and the pool goes on as before.
    assert_eq!(backend_pid(&db).await.expect("third query"), second);
    db.close().await;
    admin.close().await;
}

/// An SQLite file's reading connections are bounded by the default for
/// the machine (twice the cores, 2 to 10) unless a number is set: that
/// many are held at once, and one more waits until one is handed back.
#[tokio::test]
async fn sqlite_readers_are_bounded_by_the_machines_default_or_the_setting() {
    let expected = DbOptions::default_max_connections(Backend::Sqlite);
    assert!(
        (2..=10).contains(&expected),
        "twice the cores, 2 to 10: {expected}"
    );
    assert_eq!(DbOptions::default_max_connections(Backend::Postgres), 10);
    for (set, bound) in [(None, expected), (Some(3), 3)] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/threadesk.db?mode=rwc", dir.path().display());
        let db = Db::connect(
            &url,
            DbOptions {
                max_connections: set,
                acquire_timeout: Duration::from_millis(300),
            },
        )
        .await
        .expect("sqlite opens");
        let mut held = Vec::new();
        for i in 0..bound {
            held.push(
                db.pool()
                    .acquire()
                    .await
                    .unwrap_or_else(|e| panic!("reader {i} of {bound} ({set:?}): {e}")),
            );
        }
        assert!(
            matches!(db.pool().acquire().await, Err(sqlx::Error::PoolTimedOut)),
            "one reader more than {bound} ({set:?}) waits"
        );
        held.pop();
        db.pool()
            .acquire()
            .await
            .expect("a reader handed back is taken again");
        drop(held);
        db.close().await;
    }
}
