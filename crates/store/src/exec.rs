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

/// A connection pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The cluster-wide locks (PostgreSQL advisory lock keys).
#[derive(Debug, Clone, Copy)]
pub enum Lock {
    Schema = 7368736,
    LogSequencer = 7368737,
    Stamper = 7368738,
    Checkpoint = 7368739,
    CertificateAuthority = 7368740,
}

/// An open transaction on one of the two backends.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A row type decodable on both backends.
pub trait Row: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}

/// Generates the four ways of running a statement for a type whose arms yield an executor.
macro_rules! executor_methods {
    ($parts:ident, $self:ident, [$($amp:tt)*]) => {
        /// Runs a statement that returns no rows; gives the number of rows affected.
        pub async fn execute<S: SqlxBinder>($($amp)* $self, stmt: &S) -> Result<u64> {
            Ok(match $self.parts() {
                $parts::Sqlite(c) => {
                    let (sql, v) = stmt.build_sqlx(SqliteQueryBuilder);
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
                $parts::Sqlite(c) => {
                    let (sql, v) = stmt.build_sqlx(SqliteQueryBuilder);
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
                $parts::Sqlite(c) => {
                    let (sql, v) = stmt.build_sqlx(SqliteQueryBuilder);
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

enum Parts<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Postgres(&'a mut sqlx::PgConnection),
}

enum PoolParts<'a> {
    Sqlite(&'a sqlx::SqlitePool),
    Postgres(&'a sqlx::PgPool),
}

impl Tx {
    fn parts(&mut self) -> Parts<'_> {
        match self {
            Tx::Sqlite(t) => Parts::Sqlite(&mut *t),
            Tx::Postgres(t) => Parts::Postgres(&mut *t),
        }
    }

    executor_methods!(Parts, self, [&mut]);

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// Runs a schema statement (migrations), rendered for the backend.
    pub async fn execute_schema<S: sea_query::SchemaStatementBuilder>(&mut self, stmt: &S) -> Result<()> {
        match self {
            Tx::Sqlite(t) => {
                sqlx::query(AssertSqlSafe(stmt.to_string(SqliteQueryBuilder))).execute(&mut **t).await.map(|_| ())?
            }
            Tx::Postgres(t) => {
                sqlx::query(AssertSqlSafe(stmt.to_string(PostgresQueryBuilder))).execute(&mut **t).await.map(|_| ())?
            }
        };
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
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
        if let Tx::Postgres(t) = self {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(lock as i64).execute(&mut **t).await?;
        }
        Ok(())
    }
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Begins a write transaction. On SQLite this takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write never fails half-way with "database locked".
    pub async fn begin_write(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
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
                Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ())?,
                Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ())?,
            };
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        match self {
            Db::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
            Db::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
        };
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }

    fn parts(&self) -> PoolParts<'_> {
        match self {
            Db::Sqlite(p) => PoolParts::Sqlite(p),
            Db::Postgres(p) => PoolParts::Postgres(p),
        }
    }

    executor_methods!(PoolParts, self, [&]);
}
