//! A gateway's record of the messages it passed (issue #4): one row per message and side in
//! `exchange_messages`, and the same facts as an entry of the tamper-evident log, written in
//! one transaction. A record is made durable first in the gateway's write-ahead journal
//! ([`crate::journal`]), which imports it here shortly after. Digests and signatures only: a payload is never
//! stored, and neither is a request's target (it may hold a personal number), which the
//! request hash covers.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::{Deserialize, Serialize};

use crate::exec::Tx;
use crate::group_commit::Batched;
use crate::{Result, Store};

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

const COLUMNS: [&str; 15] = [
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
    "id",
];

/// A message's entry in the tamper-evident log: the facts of its row, borrowed (written
/// straight to text, field by field in this order).
#[derive(Serialize)]
struct LogEntry<'a> {
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
    fn log_entry(&self) -> String {
        let entry = LogEntry {
            kind: "exchange.message",
            at: self.started_at,
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
        serde_json::to_string(&entry).expect("a log entry serialises")
    }
}

/// Records prepared between two yields: a journal import prepares thousands of rows and log
/// entries, in turns, so that the calls the same thread answers are not held up meanwhile.
const PREPARED_PER_TURN: usize = 32;

impl Batched for ExchangeMessage {
    type Out = ();
    async fn insert<'a>(tx: &'a mut Tx, items: &'a [&'a Self]) -> Result<Vec<Result<()>>> {
        for (i, m) in items.iter().enumerate() {
            if i > 0 && i % PREPARED_PER_TURN == 0 {
                tokio::task::yield_now().await;
            }
            tx.append(
                "exchange_messages",
                &COLUMNS[..14],
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
                ],
            );
            crate::log::enqueue_text(tx, m.log_entry(), m.started_at);
        }
        Ok(items.iter().map(|_| Ok(())).collect())
    }
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

/// Records read back per monitoring query, at most.
pub const MONITORING_ROWS: u64 = 200_000;

#[derive(sqlx::FromRow)]
struct TimingRow {
    service: String,
    side: String,
    status: i64,
    error_type: Option<String>,
    duration_us: i64,
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
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
    /// exchanged data (no exchange error, no 5xx) in `[from, to)`.
    pub async fn exchange_usage(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<std::collections::BTreeMap<String, i64>> {
        // Counted by the database, per client and service (a few rows, however many messages).
        let rows: Vec<UsageRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["client", "service"])
                    .expr_as(Expr::cust("COUNT(*)"), "n")
                    .from("exchange_messages")
                    .and_where(Expr::col("started_at").gte(from))
                    .and_where(Expr::col("started_at").lt(to))
                    .and_where(Expr::col("error_type").is_null())
                    .and_where(Expr::col("status").lt(500))
                    .group_by_col("client")
                    .group_by_col("service")
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

    /// Per service and side: calls since `since`, failures and latency percentiles.
    pub async fn exchange_monitoring(&self, since: DateTime<Utc>) -> Result<Vec<ServiceStats>> {
        let rows: Vec<TimingRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["service", "side", "status", "error_type", "duration_us"])
                    .from("exchange_messages")
                    .and_where(Expr::col("started_at").gte(since))
                    .order_by("id", Order::Desc)
                    .limit(MONITORING_ROWS)
                    .to_owned(),
            )
            .await?;
        let mut by: std::collections::BTreeMap<(String, String), (Vec<i64>, u64)> = Default::default();
        for r in rows {
            let e = by.entry((r.service, r.side)).or_default();
            e.0.push(r.duration_us);
            if r.error_type.is_some() || r.status >= 500 {
                e.1 += 1;
            }
        }
        Ok(by
            .into_iter()
            .map(|((service, side), (mut d, failures))| {
                d.sort_unstable();
                ServiceStats {
                    service,
                    side,
                    count: d.len() as u64,
                    failures,
                    p50_ms: percentile(&d, 50.0),
                    p95_ms: percentile(&d, 95.0),
                    p99_ms: percentile(&d, 99.0),
                    max_ms: d.last().map(|m| *m as f64 / 1000.0).unwrap_or(0.0),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percentiles_are_nearest_rank() {
        let d: Vec<i64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&d, 50.0), 50.0);
        assert_eq!(percentile(&d, 99.0), 99.0);
        assert_eq!(percentile(&d, 100.0), 100.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
        assert_eq!(percentile(&[7000], 1.0), 7.0);
    }

    /// The entry is the row's facts in a fixed order: the same text as this JSON object
    /// (what earlier versions wrote), with and without the optional facts.
    #[test]
    fn a_log_entry_is_the_row_as_json() {
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
            assert_eq!(m.log_entry(), expected.to_string());
            (m.request_signature, m.response_signature) = (None, Some("r".into()));
            (m.error_type, m.peer) = (Some("Server.ServerProxy.AccessDenied".into()), None);
        }
    }
}
