//! The two sets of migrations describe one schema: the same tables, the
//! same columns and the same named indexes on SQLite and PostgreSQL.

use crate::helpers::*;
use sqlx::Row;
use std::collections::BTreeMap;
use std::collections::BTreeSet;

/// Tables with their columns, and the named indexes.
#[derive(Debug, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, BTreeSet<String>>,
    indexes: BTreeSet<String>,
}

async fn sqlite_schema(h: &Harness) -> Schema {
    let pool = h.engine.db().pool();
    let names: Vec<String> = sqlx::query_scalar(
        "select name from sqlite_master where type = 'table' \
         and name not like 'sqlite_%' and name <> '_sqlx_migrations' order by name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut tables = BTreeMap::new();
    for t in names {
        // xinfo: generated columns too.
        let columns = sqlx::query(&format!("select name from pragma_table_xinfo('{t}')"))
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("name"))
            .collect();
        tables.insert(t, columns);
    }
    // indexes created by name (a unique constraint's own index has no sql).
    let indexes = sqlx::query_scalar(
        "select name from sqlite_master where type = 'index' and sql is not null",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    Schema { tables, indexes }
}

async fn postgres_schema(h: &Harness) -> Schema {
    let pool = h.engine.db().pool();
    let rows = sqlx::query(
        "select table_name::text as t, column_name::text as c from information_schema.columns \
         where table_schema = current_schema() and table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rows {
        tables.entry(r.get("t")).or_default().insert(r.get("c"));
    }
    // indexes created by name: not those behind a primary key or unique
    // constraint (SQLite's have no names of ours either).
    let indexes = sqlx::query_scalar(
        "select indexname::text from pg_indexes i where schemaname = current_schema() \
         and not exists (select 1 from pg_constraint c where c.conname = i.indexname)",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    Schema { tables, indexes }
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_define_the_same_tables_columns_and_indexes() {
    let mut sqlite = sqlite_schema(&harness(Kind::Sqlite).await).await;
    let mut postgres = postgres_schema(&harness(Kind::Postgres).await).await;
    // the search index is each backend's own: FTS5 tables (with their
    // shadow tables) on SQLite, tsvector columns with GIN indexes on
    // PostgreSQL. One for subjects, one for bodies, on each.
    let fts: Vec<String> = sqlite
        .tables
        .keys()
        .filter(|t| t.contains("_fts"))
        .cloned()
        .collect();
    for t in &fts {
        sqlite.tables.remove(t);
    }
    assert!(
        fts.contains(&"messages_fts".to_owned()) && fts.contains(&"tickets_fts".to_owned()),
        "{fts:?}"
    );
    for index in ["messages_search", "ticket_words_search"] {
        assert!(postgres.indexes.remove(index), "{index} on PostgreSQL");
    }
    let messages = postgres.tables.get_mut("messages").unwrap();
    assert!(messages.remove("search"), "messages.search on PostgreSQL");
    // a subject's words beside its ticket, not on its row: every reply
    // updates the row, and would index them again.
    assert!(!postgres.tables["tickets"].contains("search"));
    assert_eq!(
        postgres.tables.remove("ticket_words"),
        Some(BTreeSet::from([
            "ticket_id".to_owned(),
            "search".to_owned()
        ]))
    );
    // and the words those columns hold, to expand prefixes (PostgreSQL);
    // how far the indexes have read the rows (SQLite indexes in batches).
    assert!(postgres.tables.remove("search_lexemes").is_some());
    assert!(sqlite.tables.remove("search_indexed").is_some());
    postgres.indexes.remove("search_lexemes_pkey");
    assert!(sqlite.tables.len() > 10, "{sqlite:?}");
    assert!(sqlite.indexes.contains("surfaces_one_per_audience"));
    for (t, columns) in &sqlite.tables {
        assert_eq!(
            Some(columns),
            postgres.tables.get(t),
            "table {t}: columns differ"
        );
    }
    assert_eq!(
        sqlite.tables.keys().collect::<Vec<_>>(),
        postgres.tables.keys().collect::<Vec<_>>(),
        "tables differ"
    );
    assert_eq!(sqlite.indexes, postgres.indexes, "indexes differ");
}

/// An index's definition, as its database keeps it.
async fn index_definition(h: &Harness, kind: Kind, name: &str) -> String {
    let sql = match kind {
        Kind::Sqlite => "select sql from sqlite_master where name = $1",
        Kind::Postgres => {
            "select indexdef from pg_indexes where indexname = $1 \
             and schemaname = current_schema()"
        }
    };
    sqlx::query_scalar(sql)
        .bind(name)
        .fetch_one(h.engine.db().pool())
        .await
        .unwrap()
}

/// The history's partial index lists exactly the kinds the history reads,
/// on both backends: a kind added to one and not the other would make the
/// history's query skip the index (or miss rows).
#[rstest::rstest]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
#[tokio::test]
async fn the_history_index_lists_the_history_kinds(#[case] kind: Kind) {
    let h = harness(kind).await;
    let def = index_definition(&h, kind, "outbox_events_timeline").await;
    let listed: BTreeSet<&str> = def
        .split('\'')
        .skip(1)
        .step_by(2)
        .filter(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    let wanted: BTreeSet<&str> = threadesk_core::timeline::KINDS.into_iter().collect();
    assert_eq!(listed, wanted, "{def}");
}

/// The organizations' index holds only tickets of an organization (a
/// ticket without one never needs it, and a reply no longer moves its
/// entry): a lookup by organization, with the organization a bound value,
/// still goes through it on both backends (PostgreSQL told to avoid a
/// sequential scan where it has any other way, as with a few rows it
/// rightly prefers one).
#[rstest::rstest]
#[case::sqlite(Kind::Sqlite)]
#[case::postgres(Kind::Postgres)]
#[tokio::test]
async fn an_organizations_tickets_are_read_through_its_index(#[case] kind: Kind) {
    let h = harness(kind).await;
    let def = index_definition(&h, kind, "tickets_org").await;
    assert!(def.to_lowercase().contains("where"), "partial: {def}");
    let plan = h
        .query_plan(
            "select t.id from tickets t where t.org_id = $1 and t.is_closed = 0 \
             order by t.last_activity_at desc, t.id desc limit 25",
            |q| q.bind(1_i64),
        )
        .await;
    assert!(plan.contains("tickets_org"), "{plan}");
}

/// On an SQLite file, readers keep a small page cache (they are many, and
/// the file's pages are in the operating system's cache a read away);
/// writes keep SQLite's default.
#[tokio::test]
async fn sqlite_readers_keep_a_small_page_cache() {
    let h = harness(Kind::Sqlite).await;
    let reader: i64 = sqlx::query_scalar("pragma cache_size")
        .fetch_one(h.engine.db().pool())
        .await
        .unwrap();
    assert_eq!(reader, -512, "512 KiB a reader");
    let mut tx = h.engine.db().begin().await.unwrap();
    let writer: i64 = sqlx::query_scalar("pragma cache_size")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(writer, -2000, "SQLite's default for the writer");
}
