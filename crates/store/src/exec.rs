//! Runs a statement built once with sea-query on whichever backend is in use.

use crate::Result;
use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A connection pool on one of the two backends. SQLite has one writer at a time: write
/// transactions queue on an in-process gate (fair, FIFO) instead of SQLite's busy handler,
/// whose back-off sleeps of up to 100 ms would otherwise set the latency tail.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(sqlx::SqlitePool, WriteGate),
    Postgres(sqlx::PgPool),
}

/// The SQLite writers' queue. Whoever holds it is the only writer, so it also keeps the
/// Merkle log's right edge, which lets each write transaction sequence its own log entries.
pub type WriteGate = std::sync::Arc<tokio::sync::Mutex<crate::log::LogHead>>;

/// The cluster-wide locks (PostgreSQL advisory lock keys).
#[derive(Debug, Clone, Copy)]
pub enum Lock {
    Schema = 7368736,
    LogSequencer = 7368737,
    Stamper = 7368738,
    PopulationScan = 7368739,
}

/// An open transaction on one of the two backends, with the rows it appends to append-only
/// tables (audit trail, log queue) held back and written as multi-row inserts at commit:
/// a group commit of 500 submissions then costs one statement per table, not 500.
pub struct Tx {
    conn: TxConn,
    /// Log entries of this transaction, in order, sequenced at commit.
    pub(crate) log: Vec<crate::log::Queued>,
    /// Per table: multi-row inserts and how many rows each holds.
    deferred: std::collections::BTreeMap<&'static str, Vec<(sea_query::InsertStatement, usize)>>,
}

enum TxConn {
    /// A transaction, holding the write gate if it was begun for writing.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>, Option<tokio::sync::OwnedMutexGuard<crate::log::LogHead>>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Rows per deferred multi-row insert.
const DEFERRED_CHUNK: usize = 400;

/// A row type decodable on both backends.
pub trait Row: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}

/// Generates the four ways of running a statement for a type whose arms yield an executor.
macro_rules! executor_methods {
    ($parts:ident, $self:ident, [$($amp:tt)*]) => {
        /// Runs a statement that returns no rows; gives the number of rows affected.
        pub async fn execute<S: SqlxBinder>($($amp)* $self, stmt: &S) -> Result<u64> {
            Ok(match $self.parts() {
                $parts::Sqlite(c, gate) => {
                    let (sql, v) = sqlite_statement(stmt);
                    let _turn = write_turn(gate, &sql).await;
                    sqlx::query_with(AssertSqlSafe(sql), v).execute(c).await?.rows_affected()
                }
                $parts::Postgres(c) => {
                    let (sql, v) = stmt.build_sqlx(PostgresQueryBuilder);
                    sqlx::query_with(AssertSqlSafe(sql), v).execute(c).await?.rows_affected()
                }
            })
        }

        pub async fn fetch_all<T: Row, S: SqlxBinder>($($amp)* $self, stmt: &S) -> Result<Vec<T>> {
            Ok(match $self.parts() {
                $parts::Sqlite(c, gate) => {
                    let (sql, v) = sqlite_statement(stmt);
                    let _turn = write_turn(gate, &sql).await;
                    sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_all(c).await?
                }
                $parts::Postgres(c) => {
                    let (sql, v) = stmt.build_sqlx(PostgresQueryBuilder);
                    sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_all(c).await?
                }
            })
        }

        pub async fn fetch_optional<T: Row, S: SqlxBinder>($($amp)* $self, stmt: &S) -> Result<Option<T>> {
            Ok(match $self.parts() {
                $parts::Sqlite(c, gate) => {
                    let (sql, v) = sqlite_statement(stmt);
                    let _turn = write_turn(gate, &sql).await;
                    sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_optional(c).await?
                }
                $parts::Postgres(c) => {
                    let (sql, v) = stmt.build_sqlx(PostgresQueryBuilder);
                    sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_optional(c).await?
                }
            })
        }

        /// Like `fetch_optional`, with a missing row as [`crate::StoreError::NotFound`].
        pub async fn fetch_one<T: Row, S: SqlxBinder>($($amp)* $self, stmt: &S) -> Result<T> {
            $self.fetch_optional(stmt).await?.ok_or(crate::StoreError::NotFound)
        }
    };
}

/// An SQLite connection and, outside a transaction, the write gate.
enum Parts<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection, Option<&'a WriteGate>),
    Postgres(&'a mut sqlx::PgConnection),
}

enum PoolParts<'a> {
    Sqlite(&'a sqlx::SqlitePool, Option<&'a WriteGate>),
    Postgres(&'a sqlx::PgPool),
}

/// Renders a statement for SQLite with its LIMIT and OFFSET written as numbers. SQLite
/// (3.47 on) may plan with a bound LIMIT's value, and then prepares the statement again on
/// every run, because its bindings changed: a paged query paid a full parse and plan each
/// time (a third of a queue page's time). Limits and offsets are numbers Sen computes, never
/// text from a request, so writing them into the SQL is safe, and the statement is prepared
/// once per connection.
pub(crate) fn sqlite_statement<S: SqlxBinder>(stmt: &S) -> (String, sea_query_sqlx::SqlxValues) {
    use sea_query::{Value, Values};
    let (sql, sea_query_sqlx::SqlxValues(Values(values))) = stmt.build_sqlx(SqliteQueryBuilder);
    if !sql.contains("LIMIT ?") && !sql.contains("OFFSET ?") {
        return (sql, sea_query_sqlx::SqlxValues(Values(values)));
    }
    let mut out = String::with_capacity(sql.len());
    let mut kept = Vec::with_capacity(values.len());
    let mut values = values.into_iter();
    let mut rest = sql.as_str();
    // sea-query writes values only as `?` placeholders, one per value, in order.
    while let Some(at) = rest.find('?') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let Some(value) = values.next() else {
            out.push('?');
            continue;
        };
        let number = match &value {
            Value::BigUnsigned(Some(n)) if out.ends_with("LIMIT ") || out.ends_with("OFFSET ") => Some(*n),
            _ => None,
        };
        match number {
            Some(n) => out.push_str(&n.to_string()),
            None => {
                out.push('?');
                kept.push(value);
            }
        }
    }
    out.push_str(rest);
    kept.extend(values);
    (out, sea_query_sqlx::SqlxValues(Values(kept)))
}

/// A single write statement run outside a transaction on SQLite takes its turn at the write
/// gate like any write transaction. Without it, it would wait for SQLite's lock in the busy
/// handler (sleeping up to 100 ms at a time), and the group commit behind it too.
async fn write_turn<'a>(
    gate: Option<&'a WriteGate>,
    sql: &str,
) -> Option<tokio::sync::MutexGuard<'a, crate::log::LogHead>> {
    let gate = gate?;
    let verb = sql.trim_start().get(..6).unwrap_or("");
    if ["INSERT", "UPDATE", "DELETE"].iter().any(|w| verb.eq_ignore_ascii_case(w)) {
        Some(gate.lock().await)
    } else {
        None
    }
}

impl Tx {
    fn new(conn: TxConn) -> Self {
        Tx { conn, log: Vec::new(), deferred: Default::default() }
    }

    fn parts(&mut self) -> Parts<'_> {
        match &mut self.conn {
            // A write transaction already holds the gate; a read one never writes.
            TxConn::Sqlite(t, _) => Parts::Sqlite(&mut *t, None),
            TxConn::Postgres(t) => Parts::Postgres(&mut *t),
        }
    }

    executor_methods!(Parts, self, [&mut]);

    /// Appends a row to an append-only `table`, written at commit (nothing in the same
    /// transaction may read it back). `columns` must be the same for every row of a table.
    pub fn append(&mut self, table: &'static str, columns: &[&'static str], values: Vec<sea_query::Expr>) {
        let chunks = self.deferred.entry(table).or_default();
        if chunks.last().is_none_or(|(_, rows)| *rows >= DEFERRED_CHUNK) {
            chunks.push((sea_query::Query::insert().into_table(table).columns(columns.to_vec()).to_owned(), 0));
        }
        let (insert, rows) = chunks.last_mut().expect("a chunk");
        insert.values_panic(values);
        *rows += 1;
    }

    pub async fn commit(mut self) -> Result<()> {
        let new_head = crate::log::flush(&mut self).await?;
        for (chunk, _) in std::mem::take(&mut self.deferred).into_values().flatten() {
            self.execute(&chunk).await?;
        }
        match self.conn {
            TxConn::Sqlite(t, gate) => {
                t.commit().await?;
                // Only a committed transaction moves the cached right edge of the log.
                if let (Some(mut gate), Some(head)) = (gate, new_head) {
                    *gate = head;
                }
            }
            TxConn::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// The cached log head, when this transaction holds the SQLite write gate.
    pub(crate) fn log_head_cache(&self) -> Option<&crate::log::LogHead> {
        match &self.conn {
            TxConn::Sqlite(_, Some(gate)) => Some(gate),
            _ => None,
        }
    }

    pub async fn rollback(self) -> Result<()> {
        match self.conn {
            TxConn::Sqlite(t, _gate) => t.rollback().await?,
            TxConn::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// Runs a schema statement (migrations), rendered for the backend.
    pub async fn execute_schema<S: sea_query::SchemaStatementBuilder>(&mut self, stmt: &S) -> Result<()> {
        match &mut self.conn {
            TxConn::Sqlite(t, _) => {
                sqlx::query(AssertSqlSafe(stmt.to_string(SqliteQueryBuilder))).execute(&mut **t).await.map(|_| ())?
            }
            TxConn::Postgres(t) => {
                sqlx::query(AssertSqlSafe(stmt.to_string(PostgresQueryBuilder))).execute(&mut **t).await.map(|_| ())?
            }
        };
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.conn {
            TxConn::Sqlite(..) => Backend::Sqlite,
            TxConn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Serialises schema changes across nodes until this transaction ends. SQLite's
    /// `BEGIN IMMEDIATE` already does; PostgreSQL needs a transaction-scoped advisory lock,
    /// since concurrent `CREATE TABLE IF NOT EXISTS` can otherwise collide.
    pub async fn lock_schema(&mut self) -> Result<()> {
        self.lock(Lock::Schema).await
    }

    /// Holds a cluster-wide lock until this transaction ends (PostgreSQL advisory lock;
    /// SQLite write transactions are already exclusive), so that one node at a time runs
    /// a singleton job such as the log sequencer.
    pub async fn lock(&mut self, lock: Lock) -> Result<()> {
        if let TxConn::Postgres(t) = &mut self.conn {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(lock as i64).execute(&mut **t).await?;
        }
        Ok(())
    }
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p, _) => Tx::new(TxConn::Sqlite(p.begin().await?, None)),
            Db::Postgres(p) => Tx::new(TxConn::Postgres(p.begin().await?)),
        })
    }

    /// Begins a write transaction. On SQLite this takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write never fails half-way with "database locked".
    pub async fn begin_write(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p, gate) => {
                let turn = gate.clone().lock_owned().await;
                Tx::new(TxConn::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, Some(turn)))
            }
            Db::Postgres(p) => Tx::new(TxConn::Postgres(p.begin().await?)),
        })
    }

    /// Refreshes the planner's statistics of Sen's busiest tables (`ANALYZE t`, the same
    /// statement on both backends, resolved in the current schema); run after bulk loads so
    /// that queries pick the right index at once.
    pub async fn analyze(&self) -> Result<()> {
        for sql in
            ["ANALYZE dossiers", "ANALYZE dossier_events", "ANALYZE audit_log", "ANALYZE users", "ANALYZE persons"]
        {
            match self {
                Db::Sqlite(p, _) => sqlx::query(sql).execute(p).await.map(|_| ())?,
                Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ())?,
            };
        }
        Ok(())
    }

    /// Copies the SQLite write-ahead log back into the database (`wal_checkpoint(PASSIVE)`:
    /// it never waits for, nor blocks, the writer). Sen runs it from a background task, so
    /// that commits never pay for a checkpoint; nothing to do on PostgreSQL.
    pub async fn checkpoint_wal(&self) -> Result<()> {
        if let Db::Sqlite(p, _) = self {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(p).await?;
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        match self {
            Db::Sqlite(p, _) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
            Db::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
        };
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }

    fn parts(&self) -> PoolParts<'_> {
        match self {
            Db::Sqlite(p, gate) => PoolParts::Sqlite(p, Some(gate)),
            Db::Postgres(p) => PoolParts::Postgres(p),
        }
    }

    executor_methods!(PoolParts, self, [&]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::{Expr, ExprTrait, Query};

    #[test]
    fn limits_and_offsets_are_written_as_numbers_for_sqlite() {
        let q = Query::select()
            .column("id")
            .from("dossiers")
            .and_where(Expr::col("state").eq("SUBMITTED"))
            .limit(50)
            .offset(100)
            .to_owned();
        let (sql, values) = sqlite_statement(&q);
        assert!(sql.ends_with("LIMIT 50 OFFSET 100"), "{sql}");
        assert_eq!(values.0.0.len(), 1, "the state stays a bound value");
        let mut u = q.clone();
        u.union(sea_query::UnionType::All, Query::select().column("id").from("users").limit(3).to_owned());
        let (sql, values) = sqlite_statement(&u);
        assert!(sql.contains("LIMIT 3") && sql.contains("LIMIT 50"), "{sql}");
        assert_eq!(values.0.0.len(), 1);
    }
}
