//! A gateway's record of the messages it passed (issue #4): one row per message and side in
//! `exchange_messages`, logged in the tamper-evident log in the same transaction. A record is
//! made durable first in the gateway's write-ahead journal ([`crate::journal`]), which imports
//! it here shortly after, hundreds at a time. Each import is **one** log entry
//! (`exchange.messages`): the RFC 9162 Merkle root over the records' texts (the row's facts
//! as JSON, [`ExchangeMessage::record_text`]), as X-Road time-stamps its message log in
//! batches; each row names that entry (`log_entry`) and its place in the batch (`log_index`).
//! [`Store::exchange_record_proof`] proves a record from its row up to the log's root.
//! Digests and signatures only: a payload is never stored, and neither is a request's target
//! (it may hold a personal number), which the request hash covers.

use chrono::{DateTime, SubsecRound, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use sen_trust::merkle::{self, Hash};
use serde::{Deserialize, Serialize};

use crate::exec::Tx;
use crate::group_commit::Batched;
use crate::{Result, Store, StoreError};

/// Which gateway writes the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The caller's gateway (client proxy).
    Client,
    /// The provider's gateway (server proxy).
    Provider,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Provider => "provider",
        }
    }
}

/// One message as a gateway records it.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct ExchangeMessage {
    /// `X-Road-Id`.
    pub message_id: String,
    pub side: String,
    pub client: String,
    pub service: String,
    pub method: String,
    pub request_hash: String,
    pub request_signature: Option<String>,
    pub response_digest: Option<String>,
    pub response_signature: Option<String>,
    pub status: i64,
    /// The `X-Road-Error` type when the exchange refused or failed the call.
    pub error_type: Option<String>,
    /// The other gateway, `OWNER/CODE`.
    pub peer: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_us: i64,
}

/// The row's columns: the record's facts (the first 14), then where it is logged.
const COLUMNS: [&str; 17] = [
    "message_id",
    "side",
    "client",
    "service",
    "method",
    "request_hash",
    "request_signature",
    "response_digest",
    "response_signature",
    "status",
    "error_type",
    "peer",
    "started_at",
    "duration_us",
    "log_entry",
    "log_index",
    "id",
];

/// A message's record as logged: the facts of its row, borrowed (written straight to text,
/// field by field in this order).
#[derive(Serialize)]
struct RecordText<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    at: DateTime<Utc>,
    message_id: &'a str,
    side: &'a str,
    client: &'a str,
    service: &'a str,
    method: &'a str,
    request_hash: &'a str,
    request_signature: Option<&'a str>,
    response_digest: Option<&'a str>,
    response_signature: Option<&'a str>,
    status: i64,
    error_type: Option<&'a str>,
    peer: Option<&'a str>,
}

impl ExchangeMessage {
    /// The record's facts as JSON text, a leaf of its batch's tree. Derived from the row
    /// alone, so anyone holding the row can recompute it; the time is kept to the
    /// microsecond, as both databases store it.
    pub fn record_text(&self) -> String {
        let entry = RecordText {
            kind: "exchange.message",
            at: self.started_at.trunc_subsecs(6),
            message_id: &self.message_id,
            side: &self.side,
            client: &self.client,
            service: &self.service,
            method: &self.method,
            request_hash: &self.request_hash,
            request_signature: self.request_signature.as_deref(),
            response_digest: self.response_digest.as_deref(),
            response_signature: self.response_signature.as_deref(),
            status: self.status,
            error_type: self.error_type.as_deref(),
            peer: self.peer.as_deref(),
        };
        serde_json::to_string(&entry).expect("a record serialises")
    }
}

/// The log entry of one import of records: how many, and the Merkle root over their texts
/// in the order of their `log_index`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub at: DateTime<Utc>,
    pub count: u64,
    /// Hex of the RFC 9162 root.
    pub root: String,
}

/// The `type` of a batch entry.
pub const BATCH_ENTRY_TYPE: &str = "exchange.messages";

/// Records prepared between two yields: a journal import prepares thousands of rows and log
/// entries, in turns, so that the calls the same thread answers are not held up meanwhile.
const PREPARED_PER_TURN: usize = 32;

impl Batched for ExchangeMessage {
    type Out = ();
    async fn insert<'a>(tx: &'a mut Tx, items: &'a [&'a Self]) -> Result<Vec<Result<()>>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut leaves = Vec::with_capacity(items.len());
        for (i, m) in items.iter().enumerate() {
            if i > 0 && i % PREPARED_PER_TURN == 0 {
                tokio::task::yield_now().await;
            }
            leaves.push(merkle::leaf_hash(m.record_text().as_bytes()));
        }
        let at = Utc::now();
        let entry = BatchEntry {
            kind: BATCH_ENTRY_TYPE.into(),
            at,
            count: items.len() as u64,
            root: hex::encode(merkle::root_of(&leaves)),
        };
        let entry_id =
            crate::log::insert_now(tx, serde_json::to_string(&entry).expect("a batch entry serialises"), at).await?;
        let mut tallies = Tallies::default();
        for (i, m) in items.iter().enumerate() {
            if i > 0 && i % PREPARED_PER_TURN == 0 {
                tokio::task::yield_now().await;
            }
            tallies.add(m);
            tx.append(
                "exchange_messages",
                &COLUMNS[..16],
                vec![
                    m.message_id.clone().into(),
                    m.side.clone().into(),
                    m.client.clone().into(),
                    m.service.clone().into(),
                    m.method.clone().into(),
                    m.request_hash.clone().into(),
                    m.request_signature.clone().into(),
                    m.response_digest.clone().into(),
                    m.response_signature.clone().into(),
                    m.status.into(),
                    m.error_type.clone().into(),
                    m.peer.clone().into(),
                    m.started_at.into(),
                    m.duration_us.into(),
                    entry_id.into(),
                    (i as i64).into(),
                ],
            );
        }
        tallies.write(tx).await?;
        Ok(items.iter().map(|_| Ok(())).collect())
    }
}

/// Sub-buckets per doubling of the latency histograms: each bucket spans 2^(1/16), 4.4%.
const BUCKETS_PER_DOUBLING: f64 = 16.0;

/// The histogram bucket of a duration: ⌊16 · log2(µs)⌋.
fn latency_bucket(duration_us: i64) -> i64 {
    ((Ord::max(duration_us, 1) as f64).log2() * BUCKETS_PER_DOUBLING).floor() as i64
}

/// The upper bound of a bucket, in microseconds.
fn bucket_upper_us(bucket: i64) -> f64 {
    2f64.powf((bucket + 1) as f64 / BUCKETS_PER_DOUBLING)
}

/// The nearest-rank `p` percentile of a histogram (`(bucket, calls)`, by bucket) of `total`
/// calls, in milliseconds: the upper bound of the bucket holding that rank, and never above
/// the largest call seen (`max_us`).
fn histogram_percentile(buckets: &[(i64, i64)], total: i64, p: f64, max_us: i64) -> f64 {
    if total <= 0 {
        return 0.0;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (bucket, calls) in buckets {
        seen += calls;
        if seen >= rank {
            return bucket_upper_us(*bucket).min(max_us as f64) / 1000.0;
        }
    }
    max_us as f64 / 1000.0
}

type MinuteKey<'a> = (DateTime<Utc>, &'a str, &'a str);

/// What a batch of records adds to the figures read without reading the records: the day
/// counts of messages that exchanged data (usage reports), and per minute, service and side
/// the calls, failures, slowest call and latency histogram (monitoring).
#[derive(Default)]
struct Tallies<'a> {
    days: std::collections::BTreeMap<(chrono::NaiveDate, &'a str, &'a str), i64>,
    /// (calls, failures, max µs)
    minutes: std::collections::BTreeMap<MinuteKey<'a>, (i64, i64, i64)>,
    buckets: std::collections::BTreeMap<(MinuteKey<'a>, i64), i64>,
}

impl<'a> Tallies<'a> {
    fn add(&mut self, m: &'a ExchangeMessage) {
        // Refused or failed by the exchange, or a provider's 5xx: did not exchange data.
        let failed = m.error_type.is_some() || m.status >= 500;
        if !failed {
            *self.days.entry((m.started_at.date_naive(), &m.client, &m.service)).or_insert(0) += 1;
        }
        let key = (minute_of(m.started_at), m.service.as_str(), m.side.as_str());
        let t = self.minutes.entry(key).or_insert((0, 0, 0));
        t.0 += 1;
        t.1 += i64::from(failed);
        t.2 = Ord::max(t.2, m.duration_us);
        *self.buckets.entry((key, latency_bucket(m.duration_us))).or_insert(0) += 1;
    }

    async fn write(&self, tx: &mut Tx) -> Result<()> {
        const DAYS: &str = "exchange_message_counts";
        const MINUTES: &str = "exchange_timing_minutes";
        const BUCKETS: &str = "exchange_timing_buckets";
        let added = |table: &'static str, column: &'static str| {
            (column, Expr::col((table, column)).add(Expr::col(("excluded", column))))
        };
        let slowest = Expr::case(
            Expr::col(("excluded", "max_us")).gt(Expr::col((MINUTES, "max_us"))),
            Expr::col(("excluded", "max_us")),
        )
        .finally(Expr::col((MINUTES, "max_us")));
        upsert(
            tx,
            DAYS,
            &["day", "client", "service", "messages"],
            vec![added(DAYS, "messages")],
            self.days.iter().map(|((day, client, service), n)| {
                vec![(*day).into(), (*client).into(), (*service).into(), (*n).into()]
            }),
        )
        .await?;
        upsert(
            tx,
            MINUTES,
            &["minute", "service", "side", "calls", "failures", "max_us"],
            vec![added(MINUTES, "calls"), added(MINUTES, "failures"), ("max_us", slowest.into())],
            self.minutes.iter().map(|((minute, service, side), (calls, failures, max))| {
                vec![
                    (*minute).into(),
                    (*service).into(),
                    (*side).into(),
                    (*calls).into(),
                    (*failures).into(),
                    (*max).into(),
                ]
            }),
        )
        .await?;
        upsert(
            tx,
            BUCKETS,
            &["minute", "service", "side", "bucket", "calls"],
            vec![added(BUCKETS, "calls")],
            self.buckets.iter().map(|(((minute, service, side), bucket), calls)| {
                vec![(*minute).into(), (*service).into(), (*side).into(), (*bucket).into(), (*calls).into()]
            }),
        )
        .await
    }
}

/// Adds `rows` to `table`, [`UPSERT_CHUNK`] per statement: its `columns` are the key, then
/// the values that `updates` merge into a row already there.
async fn upsert(
    tx: &mut Tx,
    table: &'static str,
    columns: &[&'static str],
    updates: Vec<(&'static str, Expr)>,
    rows: impl Iterator<Item = Vec<Expr>>,
) -> Result<()> {
    let key = &columns[..columns.len() - updates.len()];
    let statement = || {
        let mut conflict = sea_query::OnConflict::columns(key.iter().copied());
        for (column, value) in &updates {
            conflict.value(*column, value.clone());
        }
        Query::insert().into_table(table).columns(columns.iter().copied()).on_conflict(conflict).to_owned()
    };
    let (mut ins, mut n) = (statement(), 0);
    for row in rows {
        ins.values_panic(row);
        n += 1;
        if n == UPSERT_CHUNK {
            tx.execute(&ins).await?;
            (ins, n) = (statement(), 0);
        }
    }
    if n > 0 {
        tx.execute(&ins).await?;
    }
    Ok(())
}

/// Rows per multi-row upsert of the tallies.
const UPSERT_CHUNK: usize = 500;

fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::DurationRound;
    t.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(t)
}

/// Migration 26: the tallies of the messages recorded before it, over the longest window
/// monitoring shows (7 days), read a page at a time.
pub(crate) async fn tally_recent_messages(tx: &mut Tx) -> Result<()> {
    #[derive(sqlx::FromRow)]
    struct Paged {
        id: i64,
        #[sqlx(flatten)]
        message: ExchangeMessage,
    }
    const PAGE: u64 = 10_000;
    let since = Utc::now() - chrono::Duration::days(7);
    let mut after = i64::MIN;
    loop {
        let rows: Vec<Paged> = tx
            .fetch_all(
                &Query::select()
                    .columns(COLUMNS[..14].iter().copied())
                    .column("id")
                    .from("exchange_messages")
                    .and_where(Expr::col("id").gt(after))
                    .and_where(Expr::col("started_at").gte(since))
                    .order_by("id", Order::Asc)
                    .limit(PAGE)
                    .to_owned(),
            )
            .await?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = last.id;
        let mut tallies = Tallies::default();
        for r in &rows {
            tallies.add(&r.message);
        }
        tallies.write(tx).await?;
    }
}

/// Proof that a message record is in a gateway's tamper-evident log: the record, its path
/// in its batch's tree, the batch's log entry, and that entry's path in the log's tree.
/// Checked with [`RecordProof::verify`]; the log's root is then compared with a checkpoint
/// the verifier trusts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordProof {
    pub record: ExchangeMessage,
    /// [`ExchangeMessage::record_text`] of the record.
    pub record_text: String,
    pub batch_index: u64,
    pub batch_size: u64,
    /// Hex hashes, leaf to root.
    pub batch_path: Vec<String>,
    /// The batch's entry: its position in the log and its text.
    pub entry_seq: u64,
    pub entry_body: String,
    pub log_size: u64,
    pub log_root: String,
    pub log_path: Vec<String>,
}

fn hashes_hex(path: &[Hash]) -> Vec<String> {
    path.iter().map(hex::encode).collect()
}

fn hashes_from_hex(path: &[String]) -> std::result::Result<Vec<Hash>, String> {
    path.iter()
        .map(|h| hex::decode(h).ok().and_then(|b| <Hash>::try_from(b).ok()).ok_or_else(|| format!("{h} is not a hash")))
        .collect()
}

impl RecordProof {
    /// Checks every link: the text is the record's, the record is at its place in the
    /// batch whose root the entry states, and the entry is at its place in the log of
    /// `log_size` entries whose root is `log_root`. Says which link fails.
    pub fn verify(&self) -> std::result::Result<(), String> {
        if self.record.record_text() != self.record_text {
            return Err("the record's text does not match its facts".into());
        }
        let batch_root = merkle::root_from_inclusion(
            self.batch_index,
            self.batch_size,
            &merkle::leaf_hash(self.record_text.as_bytes()),
            &hashes_from_hex(&self.batch_path)?,
        )
        .ok_or("the batch path does not fit the batch's size")?;
        let entry: BatchEntry =
            serde_json::from_str(&self.entry_body).map_err(|e| format!("the log entry is not a batch entry: {e}"))?;
        if entry.kind != BATCH_ENTRY_TYPE || entry.count != self.batch_size {
            return Err(format!("the log entry is a {} of {} records", entry.kind, entry.count));
        }
        if entry.root != hex::encode(batch_root) {
            return Err("the record is not in the batch the log entry states".into());
        }
        let log_root = hashes_from_hex(std::slice::from_ref(&self.log_root))?[0];
        let logged = merkle::verify_inclusion(
            self.entry_seq,
            self.log_size,
            &merkle::leaf_hash(self.entry_body.as_bytes()),
            &hashes_from_hex(&self.log_path)?,
            &log_root,
        );
        if !logged {
            return Err("the batch's entry is not in the log at its position".into());
        }
        Ok(())
    }
}

/// A record with where it is logged.
#[derive(sqlx::FromRow)]
struct LoggedRow {
    #[sqlx(flatten)]
    record: ExchangeMessage,
    log_entry: Option<i64>,
    log_index: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SeqRow {
    seq: i64,
}

/// Operational monitoring of one service on one side: counts and latency, no payloads.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceStats {
    pub service: String,
    pub side: String,
    pub count: u64,
    /// Calls the exchange refused or failed, or the provider answered with a 5xx.
    pub failures: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// At the directory: how many registered information systems exchanged data lately (K12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeActivity {
    /// Subsystems registered in the directory.
    pub registered: i64,
    /// Those that some gateway reported exchanging data in the period.
    pub active: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct UsageRow {
    client: String,
    service: String,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct SubsystemRow {
    subsystem: String,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    n: i64,
}

impl Store {
    /// At a gateway: per subsystem (as client or as provider), the messages it passed that
    /// exchanged data (no exchange error, no 5xx) on `day` (UTC). Read from the day's counts,
    /// which each import adds to: a few rows, however many messages.
    pub async fn exchange_usage(&self, day: chrono::NaiveDate) -> Result<std::collections::BTreeMap<String, i64>> {
        let rows: Vec<UsageRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["client", "service"])
                    .expr_as(Expr::col("messages"), "n")
                    .from("exchange_message_counts")
                    .and_where(Expr::col("day").eq(day))
                    .to_owned(),
            )
            .await?;
        let mut out = std::collections::BTreeMap::new();
        for r in rows {
            let provider = r.service.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
            for s in [r.client, provider] {
                if !s.is_empty() {
                    *out.entry(s).or_insert(0) += r.n;
                }
            }
        }
        Ok(out)
    }

    /// At the directory: a gateway's report of a day's messages per subsystem, replacing its
    /// earlier report of that day.
    pub async fn record_exchange_usage(
        &self,
        gateway_id: i64,
        day: chrono::NaiveDate,
        usage: &std::collections::BTreeMap<String, i64>,
    ) -> Result<()> {
        if usage.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut ins = Query::insert()
            .into_table("exchange_usage")
            .columns(["gateway_id", "subsystem", "day", "messages", "reported_at"])
            .on_conflict(
                sea_query::OnConflict::columns(["gateway_id", "subsystem", "day"])
                    .update_columns(["messages", "reported_at"])
                    .to_owned(),
            )
            .to_owned();
        for (s, n) in usage {
            ins.values_panic([gateway_id.into(), s.clone().into(), day.into(), (*n).into(), now.into()]);
        }
        let mut tx = self.db.begin_write().await?;
        tx.execute(&ins).await?;
        tx.commit().await
    }

    /// At the directory: registered subsystems, and those reported active since `since`.
    pub async fn exchange_activity(&self, since: chrono::NaiveDate) -> Result<ExchangeActivity> {
        let registered: CountRow = self
            .db
            .fetch_one(
                &Query::select()
                    .expr_as(sea_query::Func::count(Expr::col("id")), "n")
                    .from("exchange_subsystems")
                    .to_owned(),
            )
            .await?;
        let rows: Vec<SubsystemRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .distinct()
                    .column("subsystem")
                    .from("exchange_usage")
                    .and_where(Expr::col("day").gte(since))
                    .and_where(Expr::col("messages").gt(0))
                    .order_by("subsystem", Order::Asc)
                    .to_owned(),
            )
            .await?;
        Ok(ExchangeActivity { registered: registered.n, active: rows.into_iter().map(|r| r.subsystem).collect() })
    }

    /// Opens a gateway's journal of message records in `dir` (see [`crate::journal`]), known
    /// in this database as `name` (the gateway's own, so that gateways sharing a database keep
    /// apart): records journaled before a stop are imported first.
    pub async fn message_journal(
        &self,
        dir: &std::path::Path,
        name: &str,
    ) -> Result<crate::journal::Journal<ExchangeMessage>> {
        crate::journal::Journal::open(self.db.clone(), dir, name).await
    }

    /// The records of a message, by `X-Road-Id` (both sides, when both gateways share a database).
    pub async fn exchange_message(&self, message_id: &str) -> Result<Vec<ExchangeMessage>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(COLUMNS[..14].iter().copied())
                    .from("exchange_messages")
                    .and_where(Expr::col("message_id").eq(message_id))
                    .order_by("id", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    /// Proofs that this gateway's records of message `message_id` are in its log (one per
    /// record: both sides, when both gateways share a database), against the log as it is
    /// now. A record still waiting for the log's sequencer is `NotFound` for a moment.
    pub async fn exchange_record_proof(&self, message_id: &str) -> Result<Vec<RecordProof>> {
        let logged: Vec<LoggedRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(COLUMNS[..16].iter().copied())
                    .from("exchange_messages")
                    .and_where(Expr::col("message_id").eq(message_id))
                    .order_by("id", Order::Asc)
                    .to_owned(),
            )
            .await?;
        if logged.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for LoggedRow { record, log_entry, log_index } in logged {
            let (Some(entry_id), Some(index)) = (log_entry, log_index) else {
                return Err(StoreError::Invalid(format!(
                    "the record of {message_id} was logged before batch entries (as an entry of its own)"
                )));
            };
            // The batch, in its order: every record's leaf.
            let batch: Vec<ExchangeMessage> = self
                .db
                .fetch_all(
                    &Query::select()
                        .columns(COLUMNS[..14].iter().copied())
                        .from("exchange_messages")
                        .and_where(Expr::col("log_entry").eq(entry_id))
                        .order_by("log_index", Order::Asc)
                        .to_owned(),
                )
                .await?;
            let leaves: Vec<Hash> = batch.iter().map(|m| merkle::leaf_hash(m.record_text().as_bytes())).collect();
            let (_, paths) = merkle::batch_paths(&leaves);
            let batch_path = paths.get(index as usize).ok_or(StoreError::NotFound)?;
            let seq: SeqRow = self
                .db
                .fetch_optional(
                    &Query::select()
                        .column("seq")
                        .from("log_leaves")
                        .and_where(Expr::col("entry_id").eq(entry_id))
                        .to_owned(),
                )
                .await?
                .ok_or(StoreError::NotFound)?;
            let entry = self.log_entry(seq.seq as u64).await?;
            // The log as it is now, read after the entry's place is known (so it holds it).
            let (log_size, log_root) = self.log_head().await?;
            let (_, log_path) = self.inclusion_proof(seq.seq as u64, log_size).await?;
            out.push(RecordProof {
                record_text: record.record_text(),
                record,
                batch_index: index as u64,
                batch_size: leaves.len() as u64,
                batch_path: hashes_hex(batch_path),
                entry_seq: seq.seq as u64,
                entry_body: entry.body,
                log_size,
                log_root: hex::encode(log_root),
                log_path: hashes_hex(&log_path),
            });
        }
        Ok(out)
    }

    /// How many messages this gateway recorded.
    pub async fn exchange_message_count(&self) -> Result<u64> {
        #[derive(sqlx::FromRow)]
        struct Last {
            id: i64,
        }
        let last: Option<Last> = self
            .db
            .fetch_optional(
                &Query::select().column("id").from("exchange_messages").order_by("id", Order::Desc).limit(1).to_owned(),
            )
            .await?;
        Ok(last.map(|l| l.id as u64).unwrap_or(0))
    }

    /// Per service and side: calls since the minute `since` falls in (whole minutes),
    /// failures and latency percentiles. Read from the minutes' tallies that each import adds
    /// to, not from the messages: a few rows per minute, however many calls. Percentiles are
    /// the upper bound of their histogram bucket (within 4.4%), never above the slowest call.
    pub async fn exchange_monitoring(&self, since: DateTime<Utc>) -> Result<Vec<ServiceStats>> {
        #[derive(sqlx::FromRow)]
        struct MinutesRow {
            service: String,
            side: String,
            calls: i64,
            failures: i64,
            max_us: i64,
        }
        #[derive(sqlx::FromRow)]
        struct BucketRow {
            service: String,
            side: String,
            bucket: i64,
            calls: i64,
        }
        let from = minute_of(since);
        let totals: Vec<MinutesRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["service", "side"])
                    .expr_as(Expr::cust("CAST(SUM(calls) AS BIGINT)"), "calls")
                    .expr_as(Expr::cust("CAST(SUM(failures) AS BIGINT)"), "failures")
                    .expr_as(Expr::cust("CAST(MAX(max_us) AS BIGINT)"), "max_us")
                    .from("exchange_timing_minutes")
                    .and_where(Expr::col("minute").gte(from))
                    .group_by_col("service")
                    .group_by_col("side")
                    .to_owned(),
            )
            .await?;
        let buckets: Vec<BucketRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["service", "side", "bucket"])
                    .expr_as(Expr::cust("CAST(SUM(calls) AS BIGINT)"), "calls")
                    .from("exchange_timing_buckets")
                    .and_where(Expr::col("minute").gte(from))
                    .group_by_col("service")
                    .group_by_col("side")
                    .group_by_col("bucket")
                    .to_owned(),
            )
            .await?;
        let mut histograms: std::collections::HashMap<(String, String), Vec<(i64, i64)>> = Default::default();
        for b in buckets {
            histograms.entry((b.service, b.side)).or_default().push((b.bucket, b.calls));
        }
        let mut out: Vec<ServiceStats> = totals
            .into_iter()
            .map(|t| {
                let mut h = histograms.remove(&(t.service.clone(), t.side.clone())).unwrap_or_default();
                h.sort_unstable();
                let at = |p| histogram_percentile(&h, t.calls, p, t.max_us);
                ServiceStats {
                    count: t.calls as u64,
                    failures: t.failures as u64,
                    p50_ms: at(50.0),
                    p95_ms: at(95.0),
                    p99_ms: at(99.0),
                    max_ms: t.max_us as f64 / 1000.0,
                    service: t.service,
                    side: t.side,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.service, &a.side).cmp(&(&b.service, &b.side)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn histogram_percentiles_are_nearest_rank_within_a_bucket() {
        // 100 calls of 1..=100 ms.
        let mut h = std::collections::BTreeMap::new();
        for ms in 1..=100i64 {
            *h.entry(latency_bucket(ms * 1000)).or_insert(0i64) += 1;
        }
        let h: Vec<(i64, i64)> = h.into_iter().collect();
        for (p, exact) in [(50.0, 50.0), (95.0, 95.0), (99.0, 99.0)] {
            let got = histogram_percentile(&h, 100, p, 100_000);
            assert!(got >= exact && got <= exact * 1.045, "p{p}: {got} for {exact}");
        }
        assert_eq!(histogram_percentile(&h, 100, 100.0, 100_000), 100.0, "never above the slowest");
        assert_eq!(histogram_percentile(&[], 0, 99.0, 0), 0.0);
        assert_eq!(histogram_percentile(&[(latency_bucket(7000), 1)], 1, 1.0, 7000), 7.0);
    }

    proptest::proptest! {
        /// A duration lies in its bucket: below the bucket's upper bound, at or above the one
        /// below's, and the bucket spans at most 4.5%.
        #[test]
        fn a_duration_lies_in_its_bucket(us in 1i64..120_000_000) {
            let b = latency_bucket(us);
            proptest::prop_assert!(bucket_upper_us(b) > us as f64);
            proptest::prop_assert!(bucket_upper_us(b - 1) <= us as f64 * 1.000_001);
            proptest::prop_assert!(bucket_upper_us(b) <= us as f64 * 1.045);
        }
    }

    /// The record's text is the row's facts in a fixed order: the same text as this JSON
    /// object (what earlier versions logged as an entry), with and without the optional facts.
    #[test]
    fn a_record_text_is_the_row_as_json() {
        let mut m = ExchangeMessage {
            message_id: "c5b8\"quoted\"".into(),
            side: "client".into(),
            client: "VN/GOV/VPCP/DVCQG".into(),
            service: "VN/GOV/BCA/CSDLQGDC/residence".into(),
            method: "GET".into(),
            request_hash: "h".into(),
            request_signature: Some("s".into()),
            response_digest: Some("d".into()),
            response_signature: None,
            status: 200,
            error_type: None,
            peer: Some("VN/GOV/BCA/GW1".into()),
            started_at: "2026-12-07T08:00:00.123456Z".parse().unwrap(),
            duration_us: 1234,
        };
        for _ in 0..2 {
            let expected = json!({
                "type": "exchange.message", "at": m.started_at, "message_id": m.message_id, "side": m.side,
                "client": m.client, "service": m.service, "method": m.method, "request_hash": m.request_hash,
                "request_signature": m.request_signature, "response_digest": m.response_digest,
                "response_signature": m.response_signature, "status": m.status, "error_type": m.error_type,
                "peer": m.peer,
            });
            assert_eq!(m.record_text(), expected.to_string());
            (m.request_signature, m.response_signature) = (None, Some("r".into()));
            (m.error_type, m.peer) = (Some("Server.ServerProxy.AccessDenied".into()), None);
        }
    }
}
