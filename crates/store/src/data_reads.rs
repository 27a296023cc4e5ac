//! "Who read my data" at the source (issue #4): a registry records every read of a person's
//! or an enterprise's data it answers — which service, which client system, which official
//! where the caller named one, why, the exchange message — in `data_reads`, and commits to
//! each row in its tamper-evident log in the same transaction (the row's SHA-256, not its
//! content: the log holds no personal number). Written through the group commit, before the
//! registry answers.

use chrono::{DateTime, SubsecRound, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::exec::Tx;
use crate::group_commit::Batched;
use crate::{Result, Store};

/// One read, as the registry records it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DataRead {
    /// `person` or `enterprise`.
    pub subject_kind: String,
    /// The personal number or the tax code.
    pub subject_id: String,
    /// The service read, `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub service: String,
    /// The client system, `INSTANCE/CLASS/MEMBER/SUBSYSTEM`.
    pub client: String,
    /// The official, when the caller names one (`X-Road-UserId`).
    pub user_id: Option<String>,
    /// Why: the procedure or dossier (`X-Road-Issue`).
    pub purpose: Option<String>,
    /// The exchange message (`X-Road-Id`).
    pub message_id: Option<String>,
    pub read_at: DateTime<Utc>,
}

const COLUMNS: [&str; 8] =
    ["subject_kind", "subject_id", "service", "client", "user_id", "purpose", "message_id", "read_at"];

/// The most reads listed at once.
pub const MAX_READS_LISTED: u64 = 500;

impl DataRead {
    /// SHA-256 (hex) of the row's canonical JSON: what the log commits to.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_string(&json!([
            self.subject_kind,
            self.subject_id,
            self.service,
            self.client,
            self.user_id,
            self.purpose,
            self.message_id,
            self.read_at,
        ]))
        .expect("serialises");
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

impl Batched for DataRead {
    type Out = ();
    async fn insert<'a>(tx: &'a mut Tx, items: &'a [&'a Self]) -> Result<Vec<Result<()>>> {
        for r in items {
            tx.append(
                "data_reads",
                &COLUMNS,
                vec![
                    r.subject_kind.clone().into(),
                    r.subject_id.clone().into(),
                    r.service.clone().into(),
                    r.client.clone().into(),
                    r.user_id.clone().into(),
                    r.purpose.clone().into(),
                    r.message_id.clone().into(),
                    r.read_at.into(),
                ],
            );
            let body = json!({
                "type": "data.read", "at": r.read_at, "service": r.service, "client": r.client,
                "message_id": r.message_id, "digest": r.digest(),
            });
            crate::log::enqueue(tx, &body, r.read_at);
        }
        Ok(items.iter().map(|_| Ok(())).collect())
    }
}

impl Store {
    /// Records a read durably, with its log entry, before the registry answers.
    pub async fn record_data_read(&self, mut read: DataRead) -> Result<()> {
        // To the microsecond, as both databases keep it, so the digest of a row read back is
        // the digest the log holds.
        read.read_at = read.read_at.trunc_subsecs(6);
        self.data_reads.submit(read).await
    }

    /// The reads of a subject's data, newest first, at most [`MAX_READS_LISTED`];
    /// of one service only when `service` is given.
    pub async fn data_reads_of(
        &self,
        subject_kind: &str,
        subject_id: &str,
        service: Option<&str>,
    ) -> Result<Vec<DataRead>> {
        let mut q = Query::select()
            .columns(COLUMNS)
            .from("data_reads")
            .and_where(Expr::col("subject_kind").eq(subject_kind))
            .and_where(Expr::col("subject_id").eq(subject_id))
            .order_by("read_at", Order::Desc)
            .limit(MAX_READS_LISTED)
            .to_owned();
        if let Some(s) = service {
            q.and_where(Expr::col("service").eq(s));
        }
        self.db.fetch_all(&q).await
    }
}
