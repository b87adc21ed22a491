//! Full-text search over subjects and message bodies, with the rights of
//! the lists: a customer finds only tickets they may read, and internal
//! notes are searched for staff only.
//!
//! Words are matched as prefixes (`print` finds "printer"), every word in
//! one subject or one message. SQLite answers from FTS5 tables kept by
//! triggers; PostgreSQL from GIN indexes over the text's `tsvector`. Both
//! read words the same way: letters and digits, everything else a space.

use super::{actor_facts, queries::OwnerFilter, rows, Engine};
use crate::db::Backend;
use crate::domain::*;
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::time::Timestamp;
use sqlx::any::AnyArguments;
use sqlx::Row;
use std::collections::HashMap;

/// At most this many words are searched for; more narrow nothing useful.
pub const MAX_WORDS: usize = 8;

/// A staff search looks at the newest this many matching messages (and
/// as many matching subjects): tickets whose only matches are older are
/// not found by words that common; more words narrow it.
pub const STAFF_SCAN: usize = 1_000;

/// A customer's search looks at the newest this many matching messages of
/// their own tickets.
pub const CUSTOMER_SCAN: usize = 2_000;

/// What to search for, and among which tickets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    /// The words, as typed. `#1042` (alone) jumps to that ticket when the
    /// person may read it. Empty: every ticket the filters let through.
    pub words: String,
    /// Active, closed or all.
    pub view: View,
    /// Only this status.
    pub status: Option<Status>,
    /// Only this department (staff).
    pub department: Option<DepartmentId>,
    /// Only tickets owned so (staff).
    pub owner: Option<OwnerFilter>,
    /// Only this organization's tickets.
    pub organization: Option<OrgId>,
    /// Only this person's requests.
    pub requester: Option<PersonId>,
    /// Opened at or after.
    pub from: Option<Timestamp>,
    /// Opened before.
    pub to: Option<Timestamp>,
}

impl SearchQuery {
    /// A search for words, every filter off.
    pub fn words(words: impl Into<String>) -> Self {
        SearchQuery {
            words: words.into(),
            view: View::All,
            ..Default::default()
        }
    }
}

/// One ticket found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The ticket, as lists show it.
    pub item: TicketListItem,
    /// Where the words are: a short excerpt of the newest message that
    /// has them (`None` when only the subject has them).
    pub excerpt: Option<String>,
    /// That message is an internal note (only ever for staff).
    pub internal: bool,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchResult {
    /// `#N` named a ticket the person may read: go straight there.
    Jump(Ticket),
    /// Tickets with the words, newest activity first.
    Hits(Page<SearchHit>),
}

/// The words of a query as the indexes read text: runs of letters and
/// digits, lower-cased; at most [`MAX_WORDS`], each at most 64 characters.
pub fn words_of(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        let w: String = w.to_lowercase().chars().take(64).collect();
        if !words.contains(&w) {
            words.push(w);
        }
        if words.len() == MAX_WORDS {
            break;
        }
    }
    words
}

/// `#1042` or `1042` alone: a ticket number.
fn jump_number(text: &str) -> Option<TicketNumber> {
    let digits = text.trim().strip_prefix('#')?;
    // digits only (no sign, no space); too many digits fail to parse.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The backend's match expression over `col` for the bound query `$n`,
/// and the query text to bind.
struct Matcher {
    backend: Backend,
    query: String,
}

impl Matcher {
    fn new(backend: Backend, words: &[String]) -> Self {
        let query = match backend {
            // every word a quoted prefix; FTS5 ANDs them.
            Backend::Sqlite => words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" "),
            // words are letters and digits only: nothing in them is
            // tsquery syntax.
            Backend::Postgres => words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & "),
        };
        Matcher { backend, query }
    }

    /// Ticket ids with a matching message (`mid`: its id), and tickets
    /// whose subject matches (`mid` null); a ticket may come several
    /// times.
    ///
    /// For staff (`visible` is `None`) only the newest [`STAFF_SCAN`]
    /// matching messages and subjects are candidates: a word in every
    /// tenth message would otherwise read a tenth of the table for one
    /// page. For everybody else only messages of the tickets they may
    /// read (`visible`, a query of ticket ids), internal notes left out,
    /// the newest [`CUSTOMER_SCAN`] of them.
    fn matched(&self, n: usize, visible: Option<&str>) -> String {
        match (self.backend, visible) {
            (Backend::Sqlite, None) => format!(
                "select * from (select m.ticket_id as tid, m.id as mid from messages_fts f \
                   join messages m on m.id = f.rowid \
                   where messages_fts match ${n} order by f.rowid desc limit {STAFF_SCAN}) \
                 union all \
                 select * from (select f.rowid as tid, cast(null as bigint) as mid from tickets_fts f \
                   where tickets_fts match ${n} order by f.rowid desc limit {STAFF_SCAN})"
            ),
            // from the person's own messages, each looked up among the
            // matches (collected once; `+` keeps SQLite from walking the
            // matches instead).
            (Backend::Sqlite, Some(visible)) => format!(
                "select * from (select m.ticket_id as tid, m.id as mid from messages m \
                   where m.ticket_id in ({visible}) and m.internal = 0 \
                   and +m.id in (select rowid from messages_fts where messages_fts match ${n}) \
                   order by m.id desc limit {CUSTOMER_SCAN}) \
                 union all \
                 select t.id as tid, cast(null as bigint) as mid from tickets t \
                   where t.id in ({visible}) \
                   and +t.id in (select rowid from tickets_fts where tickets_fts match ${n})"
            ),
            (Backend::Postgres, None) => format!(
                "select * from (select m.ticket_id as tid, m.id as mid from messages m \
                   where m.search @@ to_tsquery('simple', ${n}) order by m.id desc limit {STAFF_SCAN}) msgs \
                 union all \
                 select * from (select w.ticket_id as tid, cast(null as bigint) as mid from ticket_words w \
                   where w.search @@ to_tsquery('simple', ${n}) order by w.ticket_id desc limit {STAFF_SCAN}) subjects"
            ),
            (Backend::Postgres, Some(visible)) => format!(
                "select * from (select m.ticket_id as tid, m.id as mid from messages m \
                   where m.ticket_id in ({visible}) and m.internal = 0 \
                   and m.search @@ to_tsquery('simple', ${n}) \
                   order by m.id desc limit {CUSTOMER_SCAN}) msgs \
                 union all \
                 select w.ticket_id as tid, cast(null as bigint) as mid from ticket_words w \
                   where w.ticket_id in ({visible}) and w.search @@ to_tsquery('simple', ${n})"
            ),
        }
    }
}

/// A short excerpt of `body` around the first of `words` in it.
pub fn excerpt(body: &str, words: &[String]) -> String {
    const BEFORE: usize = 40;
    const LENGTH: usize = 160;
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = flat.to_lowercase();
    // the char index of the first word found (lower-casing can change
    // byte lengths, so count characters).
    let at = words
        .iter()
        .filter_map(|w| lower.find(w.as_str()))
        .min()
        .map(|byte| lower[..byte].chars().count())
        .unwrap_or(0);
    let chars: Vec<char> = flat.chars().collect();
    let at = at.min(chars.len());
    let start = at.saturating_sub(BEFORE);
    let end = (start + LENGTH).min(chars.len());
    let mut out: String = chars[start..end].iter().collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// What a customer may read: their requests, tickets shared with them,
/// and their organization's if they administer it (`org`: the argument
/// number of that organization). `me` is the person's argument number.
fn visible_sql(me: usize, org: Option<usize>) -> String {
    let org = match org {
        Some(o) => format!(" union select t.id from tickets t where t.org_id = ${o}"),
        None => String::new(),
    };
    format!(
        "select t.id from tickets t where t.requester_id = ${me} \
         union select d.ticket_id from delegates d where d.person_id = ${me} and d.status = 'accepted'{org}"
    )
}

/// PostgreSQL: each word as the exact words it starts (`print` as
/// `'print' | 'printer' | 'printers'`), from the words the search columns
/// hold (migration 0013); the GIN index answers those about ten times
/// faster than a prefix. A word that starts none, or more than 50, stays a
/// prefix: the same rows either way.
async fn expand_prefixes(conn: &mut sqlx::AnyConnection, words: &[String]) -> Result<String> {
    let expanded: Option<String> = sqlx::query_scalar(
        "select string_agg(x.e, ' & ' order by w.n) \
         from unnest(string_to_array($1, ' ')) with ordinality w(word, n) \
         cross join lateral ( \
           select case when count(*) between 1 and 50 \
                  then '(' || string_agg(quote_literal(l.word), ' | ') || ')' \
                  else quote_literal(w.word) || ':*' end as e \
           from (select l.word from search_lexemes l \
                 where l.word >= w.word collate \"C\" and l.word < (w.word || chr(1114111)) collate \"C\" \
                 order by l.word limit 51) l \
         ) x",
    )
    .bind(words.join(" "))
    .fetch_one(&mut *conn)
    .await?;
    Ok(expanded.unwrap_or_else(|| Matcher::new(Backend::Postgres, words).query))
}

/// Binds the next argument ([`super::queries::bind`]) and says its number.
fn bind<'q, T>(args: &mut AnyArguments<'q>, n: &mut usize, v: T) -> Result<usize>
where
    T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    super::queries::bind(args, v)?;
    *n += 1;
    Ok(*n)
}

/// Most messages (and most tickets) one batch puts into the search
/// indexes (SQLite).
const INDEX_BATCH: i64 = 500;

/// One batch: the words of the messages and subjects after those indexed,
/// and the marks moved past them, in one transaction (the same rows in
/// both statements: the writer is held, nothing comes between them).
const INDEX_NEXT: &str = "insert into messages_fts (rowid, body) \
       select id, body from messages where id > (select messages from search_indexed) \
       order by id limit $1; \
     insert into tickets_fts (rowid, subject) \
       select id, subject from tickets where id > (select tickets from search_indexed) \
       order by id limit $1; \
     update search_indexed set \
       messages = coalesce((select max(id) from (select id from messages \
         where id > search_indexed.messages order by id limit $1)), messages), \
       tickets = coalesce((select max(id) from (select id from tickets \
         where id > search_indexed.tickets order by id limit $1)), tickets) \
     returning messages, tickets";

impl Engine {
    /// Puts the words of messages and subjects written since the last
    /// batch into the search indexes (SQLite; PostgreSQL indexes them as it
    /// writes them), until everything written before the call is in them.
    /// Search does this first, so it never misses anything; the server
    /// also does it every second, so that little is left for a search to
    /// do. Returns how far its marks moved: the messages and tickets it
    /// indexed, when nothing else indexes at the same time.
    pub async fn index_new_words(&self) -> Result<u64> {
        if self.db.backend() != Backend::Sqlite {
            return Ok(0);
        }
        let mut conn = self.db.pool().acquire().await?;
        let (mut messages, mut tickets, last_message, last_ticket): (i64, i64, i64, i64) =
            sqlx::query_as(
                "select messages, tickets, (select coalesce(max(id), 0) from messages), \
                    (select coalesce(max(id), 0) from tickets) from search_indexed",
            )
            .fetch_one(&mut *conn)
            .await?;
        drop(conn);
        let mut indexed = 0;
        while messages < last_message || tickets < last_ticket {
            let mut tx = self.db.begin().await?;
            // every row (`fetch_one` would stop at the first statement,
            // which returns none): the update's one.
            let rows = match sqlx::query(INDEX_NEXT)
                .bind(INDEX_BATCH)
                .fetch_all(&mut *tx)
                .await
            {
                Ok(rows) => rows,
                Err(e) => return Err(super::rolled_back(tx, e.into()).await),
            };
            tx.commit().await?;
            let row = rows.first().ok_or(EngineError::NotFound("search marks"))?;
            let moved: (i64, i64) = (row.try_get("messages")?, row.try_get("tickets")?);
            if moved.0 <= messages && moved.1 <= tickets {
                // somebody else indexed them meanwhile.
                break;
            }
            indexed += u64::try_from(moved.0 - messages + moved.1 - tickets).unwrap_or(0);
            (messages, tickets) = moved;
        }
        Ok(indexed)
    }

    /// Searches the tickets the person may read. Staff search everything,
    /// internal notes included; others their own tickets, those shared
    /// with them, and (company ticket admins) their organization's.
    pub async fn search(
        &self,
        actor: PersonId,
        query: &SearchQuery,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<SearchResult> {
        if let Some(number) = jump_number(&query.words) {
            match self.ticket_by_number(actor, number).await {
                Ok(t) => return Ok(SearchResult::Jump(t)),
                Err(EngineError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if !query.words.trim().is_empty() {
            // every message written before the search is found.
            self.index_new_words().await?;
        }
        let mut conn = self.db.pool().acquire().await?;
        let facts = actor_facts(&mut conn, actor).await?;
        let size = PageRequest {
            limit,
            ..Default::default()
        }
        .size();
        let words = words_of(&query.words);
        if words.is_empty() && !query.words.trim().is_empty() {
            // typed, but nothing in it is a word (`!!!`): nothing matches.
            return Ok(SearchResult::Hits(Page {
                items: Vec::new(),
                next: None,
            }));
        }
        let mut args = AnyArguments::default();
        let mut n = 0;
        let after = after.unwrap_or(Cursor {
            rank: 0,
            last_activity_at: i64::MAX,
            id: i64::MAX,
        });
        let me = bind(&mut args, &mut n, actor.0)?;
        let at = bind(&mut args, &mut n, after.last_activity_at)?;
        let id = bind(&mut args, &mut n, after.id)?;
        let lim = bind(&mut args, &mut n, size + 1)?;
        // what a customer may read (`visible_sql`).
        let admin_of = facts.org_id.filter(|_| facts.is_company_admin);
        let visible = if facts.is_staff {
            None
        } else {
            match self.db.backend() {
                Backend::Sqlite => {
                    let o = match admin_of {
                        Some(org) => Some(bind(&mut args, &mut n, org.0)?),
                        None => None,
                    };
                    Some(visible_sql(me, o))
                }
                // PostgreSQL ANDs two bitmaps (the words', the tickets')
                // when the tickets are a list, instead of walking every
                // message of the person's tickets: read them first.
                Backend::Postgres => {
                    let sql = visible_sql(1, admin_of.map(|_| 2));
                    let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(actor.0);
                    if let Some(org) = admin_of {
                        q = q.bind(org.0);
                    }
                    let mut ids = q.fetch_all(&mut *conn).await?;
                    ids.sort_unstable();
                    ids.dedup();
                    Some(if ids.is_empty() {
                        "null".to_owned()
                    } else {
                        ids.iter()
                            .map(i64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                }
            }
        };
        let source = if words.is_empty() {
            let only = match &visible {
                Some(v) => format!(" where t.id in ({v})"),
                None => String::new(),
            };
            format!("select t.id as tid, cast(null as bigint) as mid from tickets t{only}")
        } else {
            let mut m = Matcher::new(self.db.backend(), &words);
            if m.backend == Backend::Postgres {
                m.query = expand_prefixes(&mut conn, &words).await?;
            }
            let q = bind(&mut args, &mut n, m.query.clone())?;
            format!(
                "select tid, max(mid) as mid from ({}) matched group by tid",
                m.matched(q, visible.as_deref())
            )
        };
        let mut filters = String::new();
        match query.view {
            View::Active => filters.push_str(" and t.is_closed = 0"),
            View::Closed => filters.push_str(" and t.is_closed = 1"),
            View::All => {}
        }
        if let Some(v) = &visible {
            filters.push_str(&format!(" and t.id in ({v})"));
        }
        if let Some(s) = query.status {
            let k = bind(&mut args, &mut n, s.as_str())?;
            filters.push_str(&format!(" and t.status = ${k}"));
        }
        if let Some(d) = query.department {
            let k = bind(&mut args, &mut n, d.0)?;
            filters.push_str(&format!(" and t.department_id = ${k}"));
        }
        match query.owner {
            None => {}
            Some(OwnerFilter::Unassigned) => filters.push_str(" and t.owner_id is null"),
            Some(OwnerFilter::Mine) => filters.push_str(&format!(" and t.owner_id = ${me}")),
            Some(OwnerFilter::Person(p)) => {
                let k = bind(&mut args, &mut n, p.0)?;
                filters.push_str(&format!(" and t.owner_id = ${k}"));
            }
        }
        if let Some(o) = query.organization {
            let k = bind(&mut args, &mut n, o.0)?;
            filters.push_str(&format!(" and t.org_id = ${k}"));
        }
        if let Some(p) = query.requester {
            let k = bind(&mut args, &mut n, p.0)?;
            filters.push_str(&format!(" and t.requester_id = ${k}"));
        }
        if let Some(from) = query.from {
            let k = bind(&mut args, &mut n, from.0)?;
            filters.push_str(&format!(" and t.created_at >= ${k}"));
        }
        if let Some(to) = query.to {
            let k = bind(&mut args, &mut n, to.0)?;
            filters.push_str(&format!(" and t.created_at < ${k}"));
        }
        let sql = format!(
            "select {cols}, s.mid as hit, \
               case when t.requester_id <> ${me} and exists (select 1 from delegates d \
                 where d.ticket_id = t.id and d.person_id = ${me} and d.status = 'accepted') \
               then 1 else 0 end as shared \
             from ({source}) s join tickets t on t.id = s.tid \
             where (t.last_activity_at < ${at} or (t.last_activity_at = ${at} and t.id < ${id})){filters} \
             order by t.last_activity_at desc, t.id desc limit ${lim}",
            cols = rows::TICKET_COLUMNS,
        );
        let found = match self.db.backend() {
            Backend::Sqlite => {
                sqlx::query_with(&sql, args)
                    .persistent(false)
                    .fetch_all(&mut *conn)
                    .await?
            }
            // a plan for these words: a cached generic plan parses the
            // query text again for every row it tests (in the bench, a
            // customer's search p99 went from 22.3 to 20.4 ms with its
            // own plan).
            Backend::Postgres => {
                use sqlx::Connection;
                let mut tx = conn.begin().await?;
                sqlx::query("set local plan_cache_mode = force_custom_plan")
                    .execute(&mut *tx)
                    .await?;
                let found = sqlx::query_with(&sql, args)
                    .persistent(false)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                found
            }
        };
        let more = i64::try_from(found.len()).unwrap_or(0) > size;
        let mut items = Vec::with_capacity(found.len());
        let mut hits = Vec::new();
        for row in found.iter().take(usize::try_from(size).unwrap_or(0)) {
            let ticket = rows::ticket(row)?;
            let hit: Option<i64> = row.try_get("hit")?;
            hits.extend(hit);
            let shared = row.try_get::<i64, _>("shared")? != 0;
            items.push((TicketListItem { ticket, shared }, hit));
        }
        let mut bodies: HashMap<i64, (String, bool)> = HashMap::new();
        if !hits.is_empty() {
            let marks: Vec<String> = (1..=hits.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "select id, body, internal from messages where id in ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for h in &hits {
                q = q.bind(*h);
            }
            for r in q.fetch_all(&mut *conn).await? {
                bodies.insert(
                    r.try_get("id")?,
                    (r.try_get("body")?, r.try_get::<i64, _>("internal")? != 0),
                );
            }
        }
        let next = if more {
            items.last().map(|(it, _)| Cursor {
                rank: 0,
                last_activity_at: it.ticket.last_activity_at.0,
                id: it.ticket.id.0,
            })
        } else {
            None
        };
        let items = items
            .into_iter()
            .map(|(item, hit)| {
                let found = hit.and_then(|h| bodies.get(&h));
                SearchHit {
                    item,
                    excerpt: found.map(|(body, _)| excerpt(body, &words)),
                    internal: found.is_some_and(|(_, internal)| *internal),
                }
            })
            .collect();
        Ok(SearchResult::Hits(Page { items, next }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_letters_and_digits_lower_cased() {
        assert_eq!(
            words_of("Printer: ann@Example.com, v1.2 — \"quoted\" * OR"),
            vec!["printer", "ann", "example", "com", "v1", "2", "quoted", "or"]
        );
        assert_eq!(words_of("a a A"), vec!["a"]);
        assert!(words_of(" *:()\"^ ").is_empty());
        assert_eq!(words_of("1 2 3 4 5 6 7 8 9 10").len(), MAX_WORDS);
    }

    #[test]
    fn a_number_with_a_hash_jumps() {
        assert_eq!(jump_number(" #1042 "), Some(TicketNumber(1042)));
        assert_eq!(jump_number("1042"), None);
        assert_eq!(jump_number("#10x"), None);
        assert_eq!(jump_number("#"), None);
        assert_eq!(jump_number("#99999999999999999999"), None);
    }

    #[test]
    fn the_query_text_has_nothing_but_words() {
        let words = words_of("toner \"OR\" NEAR(x) tray*");
        assert_eq!(
            Matcher::new(Backend::Sqlite, &words).query,
            "\"toner\"* \"or\"* \"near\"* \"x\"* \"tray\"*"
        );
        assert_eq!(
            Matcher::new(Backend::Postgres, &words).query,
            "toner:* & or:* & near:* & x:* & tray:*"
        );
    }

    #[test]
    fn an_excerpt_is_around_the_word() {
        let body = format!(
            "{} the toner is empty {}",
            "x ".repeat(100),
            "y ".repeat(100)
        );
        let e = excerpt(&body, &["toner".to_owned()]);
        assert!(e.starts_with('…') && e.ends_with('…'), "{e}");
        assert!(e.contains("the toner is empty"), "{e}");
        assert!(e.chars().count() <= 162);
        assert_eq!(excerpt("Short one", &["zzz".to_owned()]), "Short one");
        // lower-casing that changes byte lengths does not break it.
        assert!(excerpt("İİİİ toner", &["toner".to_owned()]).contains("toner"));
    }
}
