//! The tamper-evident log (RFC 9162 Merkle tree) in the database.
//!
//! Writers append to `log_queue` inside the transaction of the change they record,
//! so an entry exists exactly when the change does. The sequencer (one node at a
//! time, under [`Lock::LogSequencer`]) moves queued entries into `log_entries` in
//! batches, giving each its position, and stores every complete subtree hash in
//! `log_nodes`, so that any proof at any size needs O(log n) node reads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, Order, Query};
use sen_trust::merkle::{self, Frontier, Hash, NodeId};
use serde_json::Value;

use crate::exec::{Lock, Tx};
use crate::{Result, Store, StoreError};

/// Entries moved from the queue per sequencer transaction.
pub const SEQUENCE_BATCH: u64 = 5_000;
/// Rows per multi-row insert.
const INSERT_CHUNK: usize = 500;

#[derive(sqlx::FromRow)]
struct QueuedRow {
    id: i64,
    body: String,
    queued_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct NodeRow {
    level: i64,
    idx: i64,
    hash: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct SizeRow {
    size: Option<i64>,
}

/// One logged entry.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct LogEntry {
    pub seq: i64,
    pub body: String,
    pub queued_at: DateTime<Utc>,
    pub logged_at: DateTime<Utc>,
}

/// A signed checkpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Checkpoint {
    pub size: i64,
    pub root: Vec<u8>,
    pub at: DateTime<Utc>,
    /// JWS (flattened JSON) over `{origin, size, root, time}` by the log's key.
    pub signed: String,
    /// RFC 3161 token over the root.
    pub tst: Option<Vec<u8>>,
}

/// Queues a log entry inside the caller's transaction.
pub(crate) async fn enqueue(tx: &mut Tx, body: &Value, at: DateTime<Utc>) -> Result<()> {
    tx.execute(
        &Query::insert()
            .into_table("log_queue")
            .columns(["body", "queued_at"])
            .values_panic([body.to_string().into(), at.into()])
            .to_owned(),
    )
    .await?;
    Ok(())
}

impl Store {
    /// Queues many entries in one transaction (imports and benchmarks).
    pub async fn enqueue_log_entries(&self, bodies: &[Value]) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        for chunk in bodies.chunks(INSERT_CHUNK) {
            let mut ins = Query::insert().into_table("log_queue").columns(["body", "queued_at"]).to_owned();
            for b in chunk {
                ins.values_panic([b.to_string().into(), now.into()]);
            }
            tx.execute(&ins).await?;
        }
        tx.commit().await
    }
}

fn to_hash(bytes: &[u8]) -> Result<Hash> {
    <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Invalid("a stored log node is not 32 bytes".into()))
}

async fn fetch_nodes(tx: &mut Tx, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(200) {
        let mut cond = Cond::any();
        for id in chunk {
            cond = cond.add(Expr::col("level").eq(id.level as i64).and(Expr::col("idx").eq(id.idx as i64)));
        }
        let rows: Vec<NodeRow> = tx
            .fetch_all(&Query::select().columns(["level", "idx", "hash"]).from("log_nodes").cond_where(cond).to_owned())
            .await?;
        for r in rows {
            out.insert(NodeId { level: r.level as u8, idx: r.idx as u64 }, to_hash(&r.hash)?);
        }
    }
    Ok(out)
}

async fn log_size(tx: &mut Tx) -> Result<u64> {
    let row: SizeRow =
        tx.fetch_one(&Query::select().expr_as(Expr::col("seq").max(), "size").from("log_entries").to_owned()).await?;
    Ok(row.size.map(|s| s as u64 + 1).unwrap_or(0))
}

async fn frontier(tx: &mut Tx, size: u64) -> Result<Frontier> {
    let nodes = fetch_nodes(tx, &Frontier::node_ids(size)).await?;
    Frontier::from_nodes(size, &nodes).ok_or(StoreError::Invalid("the log's right edge is missing nodes".into()))
}

impl Store {
    /// Moves up to `max` queued entries into the log. Returns how many were appended.
    /// Safe on several nodes at once: one holds the sequencer lock, the others wait.
    pub async fn sequence_log(&self, max: u64) -> Result<u64> {
        let mut tx = self.db.begin_write().await?;
        tx.lock(Lock::LogSequencer).await?;
        let queued: Vec<QueuedRow> = tx
            .fetch_all(
                &Query::select()
                    .columns(["id", "body", "queued_at"])
                    .from("log_queue")
                    .order_by("id", Order::Asc)
                    .limit(max)
                    .to_owned(),
            )
            .await?;
        if queued.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let size = log_size(&mut tx).await?;
        let mut f = frontier(&mut tx, size).await?;
        let now = Utc::now();
        let mut nodes: Vec<(NodeId, Hash)> = Vec::with_capacity(queued.len() * 2);
        for q in &queued {
            nodes.extend(f.append(merkle::leaf_hash(q.body.as_bytes())));
        }
        for (i, chunk) in queued.chunks(INSERT_CHUNK).enumerate() {
            let mut ins =
                Query::insert().into_table("log_entries").columns(["seq", "body", "queued_at", "logged_at"]).to_owned();
            for (j, q) in chunk.iter().enumerate() {
                let seq = size + (i * INSERT_CHUNK + j) as u64;
                ins.values_panic([(seq as i64).into(), q.body.clone().into(), q.queued_at.into(), now.into()]);
            }
            tx.execute(&ins).await?;
        }
        for chunk in nodes.chunks(INSERT_CHUNK) {
            let mut ins = Query::insert().into_table("log_nodes").columns(["level", "idx", "hash"]).to_owned();
            for (id, hash) in chunk {
                ins.values_panic([(id.level as i64).into(), (id.idx as i64).into(), hash.to_vec().into()]);
            }
            tx.execute(&ins).await?;
        }
        for chunk in queued.chunks(INSERT_CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|q| q.id).collect();
            tx.execute(&Query::delete().from_table("log_queue").and_where(Expr::col("id").is_in(ids)).to_owned())
                .await?;
        }
        tx.commit().await?;
        Ok(queued.len() as u64)
    }

    /// Entries waiting for the sequencer.
    pub async fn log_backlog(&self) -> Result<i64> {
        #[derive(sqlx::FromRow)]
        struct N {
            n: i64,
        }
        let n: N = self
            .db
            .fetch_one(&Query::select().expr_as(Expr::col("id").count(), "n").from("log_queue").to_owned())
            .await?;
        Ok(n.n)
    }

    /// The number of logged entries and the root over them.
    pub async fn log_head(&self) -> Result<(u64, Hash)> {
        let mut tx = self.db.begin().await?;
        let size = log_size(&mut tx).await?;
        let root = frontier(&mut tx, size).await?.root();
        tx.rollback().await?;
        Ok((size, root))
    }

    /// The root of the tree made of the first `size` entries.
    pub async fn log_root_at(&self, size: u64) -> Result<Hash> {
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        let mut tx = self.db.begin().await?;
        let nodes = fetch_nodes(&mut tx, &merkle::nodes_for(&[(0, size)])).await?;
        tx.rollback().await?;
        merkle::subtree_hash(0, size, &nodes).ok_or(StoreError::NotFound)
    }

    /// The leaf hash of entry `index` and its inclusion path in the tree of `size`.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<(Hash, Vec<Hash>)> {
        let ranges = merkle::inclusion_ranges(index, size);
        let mut ids = merkle::nodes_for(&ranges);
        let leaf = NodeId { level: 0, idx: index };
        ids.push(leaf);
        let mut tx = self.db.begin().await?;
        let nodes = fetch_nodes(&mut tx, &ids).await?;
        tx.rollback().await?;
        let path = merkle::proof_from(&ranges, &nodes).ok_or(StoreError::NotFound)?;
        Ok((*nodes.get(&leaf).ok_or(StoreError::NotFound)?, path))
    }

    /// The consistency proof between the trees of `old` and `new` entries.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let ranges = merkle::consistency_ranges(old, new);
        let mut tx = self.db.begin().await?;
        let nodes = fetch_nodes(&mut tx, &merkle::nodes_for(&ranges)).await?;
        tx.rollback().await?;
        merkle::proof_from(&ranges, &nodes).ok_or(StoreError::NotFound)
    }

    pub async fn log_entry(&self, seq: u64) -> Result<LogEntry> {
        self.db
            .fetch_optional(
                &Query::select()
                    .columns(["seq", "body", "queued_at", "logged_at"])
                    .from("log_entries")
                    .and_where(Expr::col("seq").eq(seq as i64))
                    .to_owned(),
            )
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Entries from `from` on, in order, at most `limit`.
    pub async fn log_entries(&self, from: u64, limit: u64) -> Result<Vec<LogEntry>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["seq", "body", "queued_at", "logged_at"])
                    .from("log_entries")
                    .and_where(Expr::col("seq").gte(from as i64))
                    .order_by("seq", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// Stored leaf hashes `[from, from+limit)`, in order.
    pub async fn log_leaves(&self, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>> {
        let rows: Vec<NodeRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["level", "idx", "hash"])
                    .from("log_nodes")
                    .and_where(Expr::col("level").eq(0))
                    .and_where(Expr::col("idx").gte(from as i64))
                    .order_by("idx", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await?;
        rows.into_iter().map(|r| Ok((r.idx as u64, to_hash(&r.hash)?))).collect()
    }

    pub async fn insert_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        self.db
            .execute(
                &Query::insert()
                    .into_table("log_checkpoints")
                    .columns(["size", "root", "at", "signed", "tst"])
                    .values_panic([
                        c.size.into(),
                        c.root.clone().into(),
                        c.at.into(),
                        c.signed.clone().into(),
                        c.tst.clone().into(),
                    ])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    fn checkpoint_select() -> sea_query::SelectStatement {
        Query::select().columns(["size", "root", "at", "signed", "tst"]).from("log_checkpoints").to_owned()
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        self.db.fetch_optional(&Self::checkpoint_select().order_by("size", Order::Desc).limit(1).to_owned()).await
    }

    pub async fn checkpoint_at(&self, size: u64) -> Result<Checkpoint> {
        self.db
            .fetch_optional(&Self::checkpoint_select().and_where(Expr::col("size").eq(size as i64)).to_owned())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn log_checkpoints_all(&self) -> Result<Vec<Checkpoint>> {
        self.db.fetch_all(&Self::checkpoint_select().order_by("size", Order::Asc).to_owned()).await
    }
}
