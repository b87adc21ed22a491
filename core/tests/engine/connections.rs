//! PostgreSQL's connections: one the server closed is replaced, not used.

use std::time::Duration;
use threadesk_core::db::DbOptions;
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
