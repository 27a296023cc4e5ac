//! Life-event bundles (issue #5): one application, several dossiers. The bundle keeps the
//! parts the applicant picked with what each needs from them, and where each part stands.

use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Result, Store, StoreError};

/// One procedure of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundlePart {
    pub procedure_code: String,
    /// pending | submitted | not_eligible | failed
    pub status: String,
    pub dossier_id: Option<i64>,
    /// What the applicant added for this part (the e-form fields the state does not hold).
    #[serde(default)]
    pub data: Value,
    /// Why a part was not submitted, in words.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct BundleRow {
    pub id: i64,
    pub kind: String,
    pub user_id: i64,
    /// awaiting_documents | submitted | completed | refused
    pub status: String,
    pub first_dossier_id: Option<i64>,
    /// JSON array of [`BundlePart`].
    pub parts: String,
    /// The first dossier's e-form, kept while documents are awaited.
    pub first_data: String,
    pub documents_due: Option<NaiveDate>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl BundleRow {
    pub fn parts(&self) -> Vec<BundlePart> {
        serde_json::from_str(&self.parts).unwrap_or_default()
    }
}

const COLUMNS: [&str; 12] = [
    "id",
    "kind",
    "user_id",
    "status",
    "first_dossier_id",
    "parts",
    "first_data",
    "documents_due",
    "reason",
    "created_at",
    "updated_at",
    "version",
];

impl Store {
    pub async fn create_bundle(
        &self,
        kind: &str,
        user_id: i64,
        status: &str,
        parts: &[BundlePart],
        first_data: &Value,
        documents_due: Option<NaiveDate>,
    ) -> Result<i64> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        #[derive(sqlx::FromRow)]
        struct Id {
            id: i64,
        }
        let row: Id = tx
            .fetch_one(
                &Query::insert()
                    .into_table("bundles")
                    .columns(COLUMNS[1..].iter().copied())
                    .values_panic([
                        kind.into(),
                        user_id.into(),
                        status.into(),
                        None::<i64>.into(),
                        serde_json::to_string(parts).expect("serialises").into(),
                        first_data.to_string().into(),
                        documents_due.into(),
                        None::<String>.into(),
                        now.into(),
                        now.into(),
                        1i64.into(),
                    ])
                    .returning_col("id")
                    .to_owned(),
            )
            .await?;
        tx.commit().await?;
        Ok(row.id)
    }

    pub async fn bundle(&self, id: i64) -> Result<BundleRow> {
        self.db
            .fetch_one(&Query::select().columns(COLUMNS).from("bundles").and_where(Expr::col("id").eq(id)).to_owned())
            .await
    }

    pub async fn bundles_of_user(&self, user_id: i64) -> Result<Vec<BundleRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(COLUMNS)
                    .from("bundles")
                    .and_where(Expr::col("user_id").eq(user_id))
                    .order_by("id", Order::Desc)
                    .limit(100)
                    .to_owned(),
            )
            .await
    }

    /// Bundles in `status`, oldest first.
    pub async fn bundles_in(&self, status: &str, limit: u64) -> Result<Vec<BundleRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(COLUMNS)
                    .from("bundles")
                    .and_where(Expr::col("status").eq(status))
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// Moves a bundle on, at `version`.
    pub async fn update_bundle(
        &self,
        b: &BundleRow,
        status: &str,
        first_dossier_id: Option<i64>,
        parts: &[BundlePart],
        reason: Option<&str>,
    ) -> Result<()> {
        let n = self
            .db
            .execute(
                &Query::update()
                    .table("bundles")
                    .value("status", status)
                    .value("first_dossier_id", first_dossier_id)
                    .value("parts", serde_json::to_string(parts).expect("serialises"))
                    .value("reason", reason.map(str::to_string))
                    .value("updated_at", Utc::now())
                    .value("version", b.version + 1)
                    .and_where(Expr::col("id").eq(b.id))
                    .and_where(Expr::col("version").eq(b.version))
                    .to_owned(),
            )
            .await?;
        if n == 0 {
            let now = self.bundle(b.id).await?;
            return Err(StoreError::Conflict { state: now.status, version: now.version });
        }
        Ok(())
    }
}
