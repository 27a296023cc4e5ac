//! Sen's storage: SQLite (embedded default) and PostgreSQL (production) behind one code path.
//!
//! Every statement is built once with `sea-query` and rendered for the backend in use; rows are
//! decoded by the same `FromRow` types on both. The schema comes from one set of migrations
//! ([`schema`]), also written with the query builder. Dossier submissions go through a group
//! commit ([`group_commit`]) so that many concurrent submissions share one durable commit.

pub mod accounts;
pub mod assistant_log;
pub mod bundles;
pub mod catalogue;
pub mod consents;
pub mod data_reads;
pub mod datastore;
pub mod delay;
pub mod dossiers;
pub mod evidence;
pub mod exchange;
pub mod exchange_log;
mod exec;
pub mod group_commit;
pub mod journal;
pub mod log;
pub mod models;
pub mod notify;
pub mod opendata;
pub mod outbox;
pub mod petitions;
pub mod proactive;
pub mod recommend;
pub mod reference;
pub mod registries;
pub mod schema;
pub mod seed;
pub mod trust;

pub use exec::{Backend, Db, Lock, Tx};
pub use models::*;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// Someone else changed the record first (optimistic concurrency).
    #[error("the dossier was changed by someone else (now {state}, version {version})")]
    Conflict { state: String, version: i64 },
    #[error(transparent)]
    Transition(#[from] sen_domain::TransitionError),
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("the idempotency key was already used for a different request")]
    IdempotencyMismatch,
    #[error("the store is shutting down")]
    Closed,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A write-ahead journal's files (see [`journal`]).
    #[error("journal: {0}")]
    Journal(String),
}

impl StoreError {
    /// A unique-constraint violation, on either backend.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://path/to/sen.db` or `postgres://…`.
    pub url: String,
    pub max_connections: u32,
    /// Largest number of submissions written in one commit.
    pub group_commit_max: usize,
    /// SQLite page cache per connection, in MiB. The server keeps the default (16 MiB × at
    /// most 8 connections, so memory stays bounded); bulk loads (`sen seed`) raise it so that
    /// the indexes being filled stay in memory.
    pub sqlite_cache_mib: u32,
}

impl StoreConfig {
    pub fn sqlite_in(dir: &Path) -> Self {
        StoreConfig { url: format!("sqlite://{}", dir.join("sen.db").display()), ..Self::new("") }
    }
    pub fn new(url: &str) -> Self {
        StoreConfig { url: url.to_string(), max_connections: 16, group_commit_max: 512, sqlite_cache_mib: 16 }
    }
}

/// The handle every other part uses. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    pub(crate) submitter: Arc<group_commit::GroupCommit<dossiers::NewDossier>>,
    /// The registries' records of reads (see [`data_reads`]).
    pub(crate) data_reads: Arc<group_commit::GroupCommit<data_reads::DataRead>>,
    /// Log tiles already read (their stored prefixes never change).
    pub(crate) tiles: Arc<log::TileCache>,
    /// SQLite only: the task that checkpoints the write-ahead log; stops with the last handle.
    checkpointer: Option<Arc<WalCheckpointer>>,
    /// Totals of datastore searches, by table, load and conditions (see [`datastore`]).
    pub(crate) datastore_totals: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

/// How often the background task checkpoints SQLite's write-ahead log.
const WAL_CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Checkpoints SQLite's write-ahead log in the background (passive: it neither waits for
/// nor blocks the writer), so that no commit stalls copying thousands of pages back.
/// Aborted when dropped.
struct WalCheckpointer(tokio::task::JoinHandle<()>);

impl WalCheckpointer {
    fn start(db: Db) -> Self {
        WalCheckpointer(tokio::spawn(async move {
            let mut tick = tokio::time::interval(WAL_CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = db.checkpoint_wal().await {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                }
            }
        }))
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Store {
    /// Connects (creating an SQLite file if needed) and starts the group-commit writer.
    /// Run [`Store::migrate`] before use.
    pub async fn connect(cfg: &StoreConfig) -> Result<Store> {
        let db = if cfg.url.starts_with("postgres:") || cfg.url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(&cfg.url)?;
            Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?,
            )
        } else if cfg.url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(&cfg.url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Durable: an acknowledged submission survives power loss, not only a crash.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Page cache per connection (8 connections at most): bounded memory.
                .pragma("cache_size", format!("-{}", u64::from(cfg.sqlite_cache_mib) * 1024))
                .pragma("temp_store", "memory")
                // A background task (`WalCheckpointer`) copies the WAL back continuously; the
                // commit that crosses this threshold then finds little left to copy and lets
                // the next writer restart the WAL from its beginning, so the WAL stays small.
                .pragma("wal_autocheckpoint", "2000");
            Db::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(cfg.max_connections.min(8))
                    .min_connections(1)
                    // A connection to a local file cannot have been hung up on: pinging it
                    // before each use would only add a round trip to its worker thread.
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?,
                Default::default(),
            )
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL (use sqlite://… or postgres://…): {}",
                redact_url(&cfg.url)
            )));
        };
        let checkpointer = matches!(db, Db::Sqlite(..)).then(|| Arc::new(WalCheckpointer::start(db.clone())));
        Ok(Store::assemble(db, cfg.group_commit_max, checkpointer))
    }

    /// A store over `db`, with its group commits started (batches of at most
    /// `group_commit_max`) and empty caches.
    fn assemble(db: Db, group_commit_max: usize, checkpointer: Option<Arc<WalCheckpointer>>) -> Store {
        Store {
            submitter: Arc::new(group_commit::GroupCommit::start(db.clone(), group_commit_max)),
            data_reads: Arc::new(group_commit::GroupCommit::start(db.clone(), group_commit_max)),
            db,
            tiles: Default::default(),
            checkpointer,
            datastore_totals: Default::default(),
        }
    }

    /// Connects to PostgreSQL inside `schema` (created if missing). Tests use this to get a
    /// clean namespace per test on one server.
    pub async fn connect_postgres_schema(url: &str, schema: &str) -> Result<Store> {
        if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Invalid("schema name".into()));
        }
        let admin = PgPoolOptions::new().max_connections(1).connect(url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&admin).await?;
        admin.close().await;
        let opts = PgConnectOptions::from_str(url)?.options([("search_path", schema)]);
        let db = Db::Postgres(PgPoolOptions::new().max_connections(8).connect_with(opts).await?);
        Ok(Store::assemble(db, 512, None))
    }

    /// Drops a schema made by [`Store::connect_postgres_schema`], with everything in it
    /// (benchmarks clean up after themselves). Nothing to do on SQLite.
    pub async fn drop_postgres_schema(&self, schema: &str) -> Result<()> {
        if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Invalid("schema name".into()));
        }
        if let Db::Postgres(p) = &self.db {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(p).await?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Applies pending migrations; safe to run on every start and from several nodes.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        schema::migrate(&self.db, i64::MAX).await
    }

    /// Applies the migrations up to `version` only (tests of a later migration's data step).
    pub async fn migrate_to(&self, version: i64) -> Result<Vec<i64>> {
        schema::migrate(&self.db, version).await
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await
    }

    pub async fn close(&self) {
        self.submitter.close().await;
        self.data_reads.close().await;
        if let Some(c) = &self.checkpointer {
            c.0.abort();
        }
        // Leave the database file complete: the next start reads no long WAL.
        if let Err(e) = self.db.checkpoint_wal().await {
            tracing::warn!(error = %e, "final WAL checkpoint failed");
        }
        self.db.close().await;
    }
}

/// Hides a password in a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Vietnam's time zone (UTC+7): the day a person or an office lives in.
pub fn vn_offset() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7")
}
