//! The tamper-evident log (RFC 9162 Merkle tree) in the database.
//!
//! Writers add an entry to `log_entries` (and a narrow row to `log_pending`) inside
//! the transaction of the change they record, so an entry exists exactly when the
//! change does, and its body is written once. The sequencer (one node at a time,
//! under [`Lock::LogSequencer`]) gives pending entries their positions in batches
//! (`log_leaves`) and extends the tiles of hashes (`log_tiles`, see
//! [`sen_trust::tiles`]): one row per 256 hashes, so a proof at ten million entries
//! reads three or four rows, and the tiles already read stay in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sen_trust::merkle::{self, Frontier, Hash, NodeId};
use sen_trust::tiles::{self, TileId};
use serde_json::Value;

use crate::exec::{Lock, Tx};
use crate::{Result, Store, StoreError};

/// Entries moved from the queue per sequencer transaction.
pub const SEQUENCE_BATCH: u64 = 5_000;
/// Rows per multi-row insert.
const INSERT_CHUNK: usize = 500;

#[derive(sqlx::FromRow)]
struct IdOnly {
    id: i64,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    entry_id: i64,
}

#[derive(sqlx::FromRow)]
struct BodyRow {
    id: i64,
    body: String,
}

#[derive(sqlx::FromRow)]
struct TileRow {
    level: i64,
    idx: i64,
    hashes: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct NodeRow {
    level: i64,
    idx: i64,
    hash: Vec<u8>,
}

type Tiles = tiles::TileMap;

/// Upper tiles (level 1 and above) kept: 4,096 × 8 KiB at most, enough for every upper
/// tile of a log of a billion entries.
const UPPER_TILES_KEPT: usize = 4_096;
/// Leaf tiles kept: the recent ones are the ones proofs ask for most.
const LEAF_TILES_KEPT: usize = 256;

/// Tiles already read, shared by the store's handles. Any stored prefix of a tile is
/// final, so a kept tile answers every node it covers; a longer one replaces it.
#[derive(Default)]
pub struct TileCache {
    kept: Mutex<[HashMap<TileId, Arc<Vec<u8>>>; 2]>,
}

impl TileCache {
    fn get(&self, tile: TileId, need: usize) -> Option<Arc<Vec<u8>>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept[usize::from(tile.level > 0)].get(&tile).filter(|t| tiles::width(t) >= need).cloned()
    }

    fn put(&self, tile: TileId, bytes: &Arc<Vec<u8>>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let (map, cap) =
            if tile.level > 0 { (&mut kept[1], UPPER_TILES_KEPT) } else { (&mut kept[0], LEAF_TILES_KEPT) };
        if map.get(&tile).is_some_and(|t| t.len() >= bytes.len()) {
            return;
        }
        if map.len() >= cap {
            // Simple and bounded: start over rather than track recency.
            map.clear();
        }
        map.insert(tile, bytes.clone());
    }
}

#[derive(sqlx::FromRow)]
struct SeqRow {
    seq: i64,
}

/// One logged entry.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct LogEntry {
    pub seq: i64,
    pub entry_id: i64,
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

/// A log entry of a transaction, waiting for its commit.
pub(crate) struct Queued {
    body: String,
    at: DateTime<Utc>,
    /// Its row in `log_entries` when already written (see [`insert_now`]).
    id: Option<i64>,
}

/// Queues a log entry inside the caller's transaction (written with it, at commit).
pub(crate) fn enqueue(tx: &mut Tx, body: &Value, at: DateTime<Utc>) {
    enqueue_text(tx, body.to_string(), at);
}

/// As [`enqueue`], for a body already written as JSON text.
pub(crate) fn enqueue_text(tx: &mut Tx, body: String, at: DateTime<Utc>) {
    tx.log.push(Queued { body, at, id: None });
}

/// Writes a log entry in the caller's transaction at once and returns its id, for rows of
/// the same transaction that name the entry they are logged under; it is sequenced at
/// commit with the others, in order.
pub(crate) async fn insert_now(tx: &mut Tx, body: String, at: DateTime<Utc>) -> Result<i64> {
    let ins = Query::insert()
        .into_table("log_entries")
        .columns(["body", "queued_at"])
        .values_panic([body.clone().into(), at.into()])
        .returning_col("id")
        .to_owned();
    let row: IdOnly = tx.fetch_one(&ins).await?;
    tx.log.push(Queued { body, at, id: Some(row.id) });
    Ok(row.id)
}

/// The log's right edge as the SQLite writer last left it.
#[derive(Debug, Default, Clone)]
pub struct LogHead {
    frontier: Option<Frontier>,
}

/// Writes a transaction's log entries just before it commits. The SQLite writer (holding
/// the write gate) sequences them at once: leaves and subtree hashes go in the same
/// transaction, and the new right edge is returned for the gate to keep after commit.
/// Elsewhere (PostgreSQL's concurrent writers) entries are left pending for the sequencer.
pub(crate) async fn flush(tx: &mut Tx) -> Result<Option<LogHead>> {
    let entries = std::mem::take(&mut tx.log);
    if entries.is_empty() {
        return Ok(None);
    }
    let unwritten: Vec<&Queued> = entries.iter().filter(|e| e.id.is_none()).collect();
    let mut written = Vec::with_capacity(unwritten.len());
    for chunk in unwritten.chunks(INSERT_CHUNK) {
        let mut ins = Query::insert().into_table("log_entries").columns(["body", "queued_at"]).to_owned();
        for e in chunk {
            ins.values_panic([e.body.clone().into(), e.at.into()]);
        }
        let rows: Vec<IdOnly> = tx.fetch_all(&ins.returning_col("id").to_owned()).await?;
        written.extend(rows.into_iter().map(|r| r.id));
    }
    let mut written = written.into_iter();
    let ids: Vec<i64> = entries.iter().filter_map(|e| e.id.or_else(|| written.next())).collect();
    if ids.len() != entries.len() {
        return Err(StoreError::Invalid("the database returned fewer log entry ids than entries written".into()));
    }
    let Some(cached) = tx.log_head_cache().cloned() else {
        mark_pending(tx, &ids).await?;
        return Ok(None);
    };
    // Another process (a `sen` command) may have written since: trust the cache only if
    // the stored size agrees, else reload the right edge.
    let size = log_size(tx).await?;
    let mut f = match cached.frontier {
        Some(f) if f.size() == size => f,
        _ => frontier(tx, size).await?,
    };
    if tx
        .fetch_optional::<PendingRow, _>(&Query::select().column("entry_id").from("log_pending").limit(1).to_owned())
        .await?
        .is_some()
    {
        // Older entries still wait for the sequencer: keep the order, wait with them.
        mark_pending(tx, &ids).await?;
        return Ok(Some(LogHead { frontier: Some(f) }));
    }
    let leaves: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(e.body.as_bytes())).collect();
    append_positions(tx, &mut f, size, &ids, &leaves).await?;
    Ok(Some(LogHead { frontier: Some(f) }))
}

/// Leaves entries for the sequencer.
async fn mark_pending(tx: &mut Tx, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(INSERT_CHUNK) {
        let mut pending = Query::insert().into_table("log_pending").columns(["entry_id"]).to_owned();
        for id in chunk {
            pending.values_panic([(*id).into()]);
        }
        tx.execute(&pending).await?;
    }
    Ok(())
}

/// Gives `ids` (with their leaf hashes) the positions from `size` on and extends the
/// tiles with the complete subtrees they make.
async fn append_positions(tx: &mut Tx, f: &mut Frontier, size: u64, ids: &[i64], leaves: &[Hash]) -> Result<()> {
    let now = Utc::now();
    let mut nodes: Vec<(NodeId, Hash)> = Vec::with_capacity(ids.len() * 2);
    for leaf in leaves {
        nodes.extend(f.append(*leaf));
    }
    for (i, chunk) in ids.chunks(INSERT_CHUNK).enumerate() {
        let mut ins = Query::insert().into_table("log_leaves").columns(["seq", "entry_id", "logged_at"]).to_owned();
        for (j, id) in chunk.iter().enumerate() {
            let seq = size + (i * INSERT_CHUNK + j) as u64;
            ins.values_panic([(seq as i64).into(), (*id).into(), now.into()]);
        }
        tx.execute(&ins).await?;
    }
    write_tiles(tx, &nodes).await
}

/// Extends the stored tiles with the nodes an append created. Each tile must end exactly
/// where its new hashes start, else nothing is written.
async fn write_tiles(tx: &mut Tx, created: &[(NodeId, Hash)]) -> Result<()> {
    let appends = tiles::appends(created);
    let ids: Vec<TileId> = appends.keys().copied().collect();
    let stored = tiles_in(tx, &ids).await?;
    let upsert = || {
        Query::insert()
            .into_table("log_tiles")
            .columns(["level", "idx", "hashes"])
            .on_conflict(OnConflict::columns(["level", "idx"]).update_column("hashes").to_owned())
            .to_owned()
    };
    let mut ins = upsert();
    let mut rows = 0;
    for (tile, (first, hashes)) in &appends {
        let current = stored.get(tile).map(|t| t.as_slice()).unwrap_or(&[]);
        let next = tiles::extend(current, *first, hashes).ok_or_else(|| {
            StoreError::Invalid(format!(
                "log tile {}/{} holds {} hashes but the append starts at {first}",
                tile.level,
                tile.idx,
                tiles::width(current)
            ))
        })?;
        ins.values_panic([i64::from(tile.level).into(), (tile.idx as i64).into(), next.into()]);
        rows += 1;
        if rows == TILES_PER_STATEMENT {
            tx.execute(&ins).await?;
            ins = upsert();
            rows = 0;
        }
    }
    if rows > 0 {
        tx.execute(&ins).await?;
    }
    Ok(())
}

/// Migration 3: the stored nodes of levels 0, 8, 16, … become the tiles; the others were
/// only ever derived from them.
pub(crate) async fn tiles_from_nodes(tx: &mut Tx) -> Result<()> {
    const PAGE: i64 = 256 * 64;
    for level in (0..64).step_by(usize::from(tiles::TILE_HEIGHT)) {
        let mut from = 0i64;
        loop {
            let rows: Vec<NodeRow> = tx
                .fetch_all(
                    &Query::select()
                        .columns(["level", "idx", "hash"])
                        .from("log_nodes")
                        .and_where(Expr::col("level").eq(level))
                        .and_where(Expr::col("idx").gte(from))
                        .and_where(Expr::col("idx").lt(from + PAGE))
                        .order_by("idx", Order::Asc)
                        .to_owned(),
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            let created: Vec<(NodeId, Hash)> = rows
                .iter()
                .map(|r| Ok((NodeId { level: r.level as u8, idx: r.idx as u64 }, to_hash(&r.hash)?)))
                .collect::<Result<_>>()?;
            if created.iter().enumerate().any(|(i, (n, _))| n.idx != (from + i as i64) as u64) {
                return Err(StoreError::Invalid(format!("the log's nodes of level {level} have a gap")));
            }
            write_tiles(tx, &created).await?;
            from += PAGE;
        }
    }
    Ok(())
}

impl Store {
    /// Queues many entries in one transaction (imports and benchmarks).
    pub async fn enqueue_log_entries(&self, bodies: &[Value]) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        for b in bodies {
            enqueue(&mut tx, b, now);
        }
        tx.commit().await
    }
}

fn to_hash(bytes: &[u8]) -> Result<Hash> {
    <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Invalid("a stored log node is not 32 bytes".into()))
}

/// Tiles read per statement.
const TILES_PER_STATEMENT: usize = 100;

/// Reads tiles by key. One tile (the usual case: a proof's leaf tile) is a plain
/// primary-key lookup, which PostgreSQL plans faster than a one-row list; several are one
/// row-value list `(level, idx) IN ((l, i), …)` the planner reads as key lookups.
fn tiles_query(chunk: &[TileId]) -> sea_query::SelectStatement {
    let mut q = Query::select().columns(["level", "idx", "hashes"]).from("log_tiles").to_owned();
    match chunk {
        [one] => {
            q.and_where(Expr::col("level").eq(i64::from(one.level))).and_where(Expr::col("idx").eq(one.idx as i64))
        }
        _ => {
            let keys: Vec<(i64, i64)> = chunk.iter().map(|t| (i64::from(t.level), t.idx as i64)).collect();
            q.and_where(Expr::tuple([Expr::col("level"), Expr::col("idx")]).in_tuples(keys))
        }
    };
    q
}

/// Reads tiles inside a transaction (the writer's view), without the cache.
async fn tiles_in(tx: &mut Tx, ids: &[TileId]) -> Result<Tiles> {
    let mut read = Tiles::new();
    for chunk in ids.chunks(TILES_PER_STATEMENT) {
        add_tiles(tx.fetch_all(&tiles_query(chunk)).await?, &mut read);
    }
    Ok(read)
}

fn add_tiles(rows: Vec<TileRow>, out: &mut Tiles) {
    for r in rows {
        out.insert(TileId { level: r.level as u8, idx: r.idx as u64 }, Arc::new(r.hashes));
    }
}

/// The hashes of stored nodes, read inside a transaction (the writer's view).
async fn nodes_in(tx: &mut Tx, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
    let wanted: Vec<TileId> = tiles::tiles_for(ids).into_keys().collect();
    Ok(tiles::nodes_from(ids, &tiles_in(tx, &wanted).await?))
}

async fn log_size(tx: &mut Tx) -> Result<u64> {
    // The last position, read as a typed column (an aggregate's type is not known to
    // SQLite's driver when the table is empty).
    let last: Option<SeqRow> = tx
        .fetch_optional(
            &Query::select().column("seq").from("log_leaves").order_by("seq", Order::Desc).limit(1).to_owned(),
        )
        .await?;
    Ok(last.map(|r| r.seq as u64 + 1).unwrap_or(0))
}

async fn frontier(tx: &mut Tx, size: u64) -> Result<Frontier> {
    let nodes = nodes_in(tx, &Frontier::node_ids(size)).await?;
    Frontier::from_nodes(size, &nodes).ok_or(StoreError::Invalid("the log's right edge is missing nodes".into()))
}

impl Store {
    /// Moves up to `max` queued entries into the log. Returns how many were appended.
    /// Safe on several nodes at once: one holds the sequencer lock, the others wait.
    pub async fn sequence_log(&self, max: u64) -> Result<u64> {
        // Most rounds find nothing: ask without taking the write lock.
        let waiting: Option<PendingRow> =
            self.db.fetch_optional(&Query::select().column("entry_id").from("log_pending").limit(1).to_owned()).await?;
        if waiting.is_none() {
            return Ok(0);
        }
        let mut tx = self.db.begin_write().await?;
        tx.lock(Lock::LogSequencer).await?;
        let pending: Vec<PendingRow> = tx
            .fetch_all(
                &Query::select()
                    .column("entry_id")
                    .from("log_pending")
                    .order_by("entry_id", Order::Asc)
                    .limit(max)
                    .to_owned(),
            )
            .await?;
        if pending.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let ids: Vec<i64> = pending.iter().map(|p| p.entry_id).collect();
        let mut bodies: HashMap<i64, String> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(INSERT_CHUNK) {
            let rows: Vec<BodyRow> = tx
                .fetch_all(
                    &Query::select()
                        .columns(["id", "body"])
                        .from("log_entries")
                        .and_where(Expr::col("id").is_in(chunk.to_vec()))
                        .to_owned(),
                )
                .await?;
            bodies.extend(rows.into_iter().map(|r| (r.id, r.body)));
        }
        let size = log_size(&mut tx).await?;
        let mut f = frontier(&mut tx, size).await?;
        let mut leaves = Vec::with_capacity(ids.len());
        for id in &ids {
            let body = bodies.get(id).ok_or(StoreError::Invalid(format!("log entry {id} has no body")))?;
            leaves.push(merkle::leaf_hash(body.as_bytes()));
        }
        append_positions(&mut tx, &mut f, size, &ids, &leaves).await?;
        for chunk in ids.chunks(INSERT_CHUNK) {
            tx.execute(
                &Query::delete()
                    .from_table("log_pending")
                    .and_where(Expr::col("entry_id").is_in(chunk.to_vec()))
                    .to_owned(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    /// Stored nodes by key, read without a transaction: tiles already read come from
    /// memory, the others in one statement (usually one or two rows).
    async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
        let mut have = Tiles::new();
        let mut missing = Vec::new();
        for (tile, need) in tiles::tiles_for(ids) {
            match self.tiles.get(tile, need) {
                Some(t) => {
                    have.insert(tile, t);
                }
                None => missing.push(tile),
            }
        }
        for chunk in missing.chunks(TILES_PER_STATEMENT) {
            let mut read = Tiles::new();
            add_tiles(self.db.fetch_all(&tiles_query(chunk)).await?, &mut read);
            for (tile, bytes) in read {
                self.tiles.put(tile, &bytes);
                have.insert(tile, bytes);
            }
        }
        Ok(tiles::nodes_from(ids, &have))
    }

    /// The number of logged entries and the root over them.
    pub async fn log_head(&self) -> Result<(u64, Hash)> {
        let mut tx = self.db.begin().await?;
        let size = log_size(&mut tx).await?;
        let root = frontier(&mut tx, size).await?.root();
        tx.rollback().await?;
        Ok((size, root))
    }

    /// The leaf hash of entry `index` and its inclusion path in the tree of `size`.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<(Hash, Vec<Hash>)> {
        let ranges = merkle::inclusion_ranges(index, size);
        let mut ids = merkle::nodes_for(&ranges);
        let leaf = NodeId { level: 0, idx: index };
        ids.push(leaf);
        let nodes = self.nodes(&ids).await?;
        let path = merkle::proof_from(&ranges, &nodes).ok_or(StoreError::NotFound)?;
        Ok((*nodes.get(&leaf).ok_or(StoreError::NotFound)?, path))
    }

    /// The consistency proof between the trees of `old` and `new` entries.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let ranges = merkle::consistency_ranges(old, new);
        let nodes = self.nodes(&merkle::nodes_for(&ranges)).await?;
        merkle::proof_from(&ranges, &nodes).ok_or(StoreError::NotFound)
    }

    fn entry_select() -> sea_query::SelectStatement {
        Query::select()
            .column(("log_leaves", "seq"))
            .column(("log_leaves", "entry_id"))
            .column(("log_entries", "body"))
            .column(("log_entries", "queued_at"))
            .column(("log_leaves", "logged_at"))
            .from("log_leaves")
            .inner_join("log_entries", Expr::col(("log_entries", "id")).equals(("log_leaves", "entry_id")))
            .to_owned()
    }

    pub async fn log_entry(&self, seq: u64) -> Result<LogEntry> {
        self.db
            .fetch_optional(&Self::entry_select().and_where(Expr::col(("log_leaves", "seq")).eq(seq as i64)).to_owned())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Entries from `from` on, in order, at most `limit`.
    pub async fn log_entries(&self, from: u64, limit: u64) -> Result<Vec<LogEntry>> {
        self.db
            .fetch_all(
                &Self::entry_select()
                    .and_where(Expr::col(("log_leaves", "seq")).gte(from as i64))
                    .order_by(("log_leaves", "seq"), Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// Stored leaf hashes `[from, from+limit)`, in order (fewer at the log's end).
    pub async fn log_leaves(&self, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (first, last) = (from / tiles::TILE_WIDTH, (from + limit - 1) / tiles::TILE_WIDTH);
        let rows: Vec<TileRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["level", "idx", "hashes"])
                    .from("log_tiles")
                    .and_where(Expr::col("level").eq(0))
                    .and_where(Expr::col("idx").gte(first as i64))
                    .and_where(Expr::col("idx").lte(last as i64))
                    .order_by("idx", Order::Asc)
                    .to_owned(),
            )
            .await?;
        let mut out = Vec::with_capacity(limit as usize);
        for r in rows {
            let base = r.idx as u64 * tiles::TILE_WIDTH;
            for (i, h) in r.hashes.chunks_exact(32).enumerate() {
                let seq = base + i as u64;
                if seq >= from && seq < from + limit {
                    out.push((seq, to_hash(h)?));
                }
            }
        }
        Ok(out)
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
