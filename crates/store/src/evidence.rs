//! Once-only evidence (issue #4): what the portal fetched from the base registries at an
//! applicant's explicit request, and where each component of a submitted dossier came from.
//!
//! A fetch is a *batch*: one row per registry asked, with what it answered (the facts the
//! applicant previews, the record's identifier, the answer's SHA-256 and the exchange
//! message). The applicant confirms the batch, and one submission uses it: its provenance
//! rows (`dossier_components`) are written in the submission's own transaction, by
//! [`crate::dossiers`]. Reuse figures (programme target K2) are one grouped read of them.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use sea_query::{Expr, ExprTrait, Func, Order, Query};
use sen_domain::evidence::{Evidence, Fact, Provenance, Registry};
use serde::Serialize;

use crate::{Result, Store, StoreError};

/// How long a fetched batch may be used for a submission: long enough to fill in the form,
/// short enough that the data is still the registry's.
pub const EVIDENCE_VALID_FOR: Duration = Duration::hours(2);

/// How long fetched registry data is kept at all (it is personal data): a day, then deleted.
/// A submitted dossier keeps its own data and provenance rows, not the batch.
pub const EVIDENCE_KEPT_FOR: Duration = Duration::hours(24);

/// What one registry answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchStatus {
    Found,
    /// The registry holds no such record of the applicant.
    NotFound,
    /// The registry or the exchange could not answer just now.
    Unavailable,
}

impl FetchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchStatus::Found => "found",
            FetchStatus::NotFound => "not_found",
            FetchStatus::Unavailable => "unavailable",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "found" => FetchStatus::Found,
            "not_found" => FetchStatus::NotFound,
            _ => FetchStatus::Unavailable,
        }
    }
}

/// One registry's answer, as the portal keeps it for the applicant's preview.
#[derive(Debug, Clone)]
pub struct NewFetchedEvidence {
    pub registry: Registry,
    /// The registry service, `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub service: String,
    pub status: FetchStatus,
    /// What was read, when found.
    pub evidence: Option<Evidence>,
    /// SHA-256 (hex) of the registry's answer.
    pub digest: Option<String>,
    /// `X-Road-Id` of the exchange message that carried it.
    pub message_id: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FetchedEvidenceRow {
    pub id: i64,
    pub batch: String,
    pub user_id: i64,
    pub procedure_id: i64,
    pub registry: String,
    pub service: String,
    pub status: String,
    pub record_id: Option<String>,
    pub facts: Option<String>,
    pub digest: Option<String>,
    pub message_id: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl FetchedEvidenceRow {
    pub fn registry(&self) -> Option<Registry> {
        Registry::parse(&self.registry)
    }
    pub fn status(&self) -> FetchStatus {
        FetchStatus::parse(&self.status)
    }
    /// The evidence, when the registry had it.
    pub fn evidence(&self) -> Option<Evidence> {
        let facts: Vec<Fact> = serde_json::from_str(self.facts.as_deref()?).ok()?;
        Some(Evidence { registry: self.registry()?, record_id: self.record_id.clone()?, facts })
    }
    /// Whether it may still be used in a submission at `now`.
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.confirmed_at.is_some() && now - self.fetched_at <= EVIDENCE_VALID_FOR
    }
}

const FETCHED_COLUMNS: [&str; 13] = [
    "id",
    "batch",
    "user_id",
    "procedure_id",
    "registry",
    "service",
    "status",
    "record_id",
    "facts",
    "digest",
    "message_id",
    "fetched_at",
    "confirmed_at",
];

/// Where one component of a dossier came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentRecord {
    pub component: String,
    pub source: Provenance,
    pub registry: Option<Registry>,
    pub service: Option<String>,
    pub record_id: Option<String>,
    pub fetched_at: Option<DateTime<Utc>>,
    pub message_id: Option<String>,
    pub digest: Option<String>,
    /// The e-form fields whose submitted values are the fetched ones.
    pub fields: Vec<String>,
}

impl ComponentRecord {
    /// A component the applicant provided themselves (an upload or the e-form).
    pub fn provided(component: &str, source: Provenance) -> Self {
        ComponentRecord {
            component: component.into(),
            source,
            registry: None,
            service: None,
            record_id: None,
            fetched_at: None,
            message_id: None,
            digest: None,
            fields: vec![],
        }
    }

    /// A component fetched from (or pre-filled by) a registry's answer.
    pub fn from_registry(component: &str, source: Provenance, row: &FetchedEvidenceRow, fields: Vec<String>) -> Self {
        ComponentRecord {
            component: component.into(),
            source,
            registry: row.registry(),
            service: Some(row.service.clone()),
            record_id: row.record_id.clone(),
            fetched_at: Some(row.fetched_at),
            message_id: row.message_id.clone(),
            digest: row.digest.clone(),
            fields,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ComponentRow {
    component: String,
    source: String,
    registry: Option<String>,
    service: Option<String>,
    record_id: Option<String>,
    fetched_at: Option<DateTime<Utc>>,
    message_id: Option<String>,
    digest: Option<String>,
    fields: Option<String>,
}

pub(crate) const COMPONENT_COLUMNS: [&str; 13] = [
    "dossier_id",
    "component",
    "source",
    "registry",
    "service",
    "record_id",
    "fetched_at",
    "message_id",
    "digest",
    "fields",
    "procedure_id",
    "agency_id",
    "month",
];

/// The month (`YYYY-MM`, Vietnam's time) a submission counts in.
pub(crate) fn month_of(at: DateTime<Utc>) -> String {
    at.with_timezone(&FixedOffset::east_opt(7 * 3600).expect("UTC+7")).format("%Y-%m").to_string()
}

impl ComponentRecord {
    pub(crate) fn values(&self, dossier_id: i64, procedure_id: i64, agency_id: i64, month: &str) -> Vec<Expr> {
        vec![
            dossier_id.into(),
            self.component.clone().into(),
            self.source.as_str().into(),
            self.registry.map(|r| r.service_code().to_string()).into(),
            self.service.clone().into(),
            self.record_id.clone().into(),
            self.fetched_at.into(),
            self.message_id.clone().into(),
            self.digest.clone().into(),
            (!self.fields.is_empty()).then(|| serde_json::to_string(&self.fields).expect("serialises")).into(),
            procedure_id.into(),
            agency_id.into(),
            month.to_string().into(),
        ]
    }
}

/// Documents fetched against documents uploaded, for one procedure and agency in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReuseFigure {
    pub month: String,
    pub procedure_id: i64,
    pub agency_id: i64,
    /// Documents fetched from a registry instead of uploaded.
    pub fetched: i64,
    /// Documents the applicant uploaded.
    pub uploaded: i64,
    /// Declarations with fields pre-filled from a registry.
    pub prefilled: i64,
}

/// A result issued to an applicant, as their data wallet holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WalletResult {
    pub dossier_id: i64,
    pub dossier_code: String,
    pub procedure_id: i64,
    pub form_version: i64,
    /// The dossier's form data (JSON).
    pub data: String,
    pub verification_code: String,
    pub document: String,
    pub issued_at: DateTime<Utc>,
}

/// Issued results, and how many of them later dossiers reused (programme target K7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResultReuse {
    pub issued: i64,
    pub reused: i64,
}

#[derive(sqlx::FromRow)]
struct N {
    n: i64,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    month: String,
    procedure_id: i64,
    agency_id: i64,
    source: String,
    n: i64,
}

impl Store {
    /// Keeps the answers of one explicit request; returns the batch that names them.
    pub async fn record_fetched_evidence(
        &self,
        user_id: i64,
        procedure_id: i64,
        answers: &[NewFetchedEvidence],
    ) -> Result<String> {
        if answers.is_empty() {
            return Err(StoreError::Invalid("an explicit request asks at least one registry".into()));
        }
        let batch = hex::encode(rand::random::<[u8; 16]>());
        let mut ins = Query::insert()
            .into_table("fetched_evidence")
            // Every column but the id and the confirmation, which come later.
            .columns(FETCHED_COLUMNS[1..12].iter().copied())
            .to_owned();
        for a in answers {
            let facts = a.evidence.as_ref().map(|e| serde_json::to_string(&e.facts).expect("serialises"));
            ins.values_panic([
                batch.clone().into(),
                user_id.into(),
                procedure_id.into(),
                a.registry.service_code().into(),
                a.service.clone().into(),
                a.status.as_str().into(),
                a.evidence.as_ref().map(|e| e.record_id.clone()).into(),
                facts.into(),
                a.digest.clone().into(),
                a.message_id.clone().into(),
                a.fetched_at.into(),
            ]);
        }
        let mut tx = self.db.begin_write().await?;
        tx.execute(&ins).await?;
        tx.commit().await?;
        Ok(batch)
    }

    /// The answers of one of `user_id`'s requests (nothing of anyone else's).
    pub async fn fetched_evidence(&self, user_id: i64, batch: &str) -> Result<Vec<FetchedEvidenceRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(FETCHED_COLUMNS)
                    .from("fetched_evidence")
                    .and_where(Expr::col("user_id").eq(user_id))
                    .and_where(Expr::col("batch").eq(batch))
                    .order_by("id", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    /// Deletes fetched answers older than `before`; returns how many.
    pub async fn purge_fetched_evidence(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.db.begin_write().await?;
        let n = tx
            .execute(
                &Query::delete()
                    .from_table("fetched_evidence")
                    .and_where(Expr::col("fetched_at").lt(before))
                    .to_owned(),
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The applicant confirms that the previewed data may be used. Returns how many answers
    /// were confirmed; `NotFound` when the batch is not theirs.
    pub async fn confirm_evidence(&self, user_id: i64, batch: &str, at: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.db.begin_write().await?;
        let n = tx
            .execute(
                &Query::update()
                    .table("fetched_evidence")
                    .value("confirmed_at", at)
                    .and_where(Expr::col("user_id").eq(user_id))
                    .and_where(Expr::col("batch").eq(batch))
                    .and_where(Expr::col("confirmed_at").is_null())
                    .to_owned(),
            )
            .await?;
        tx.commit().await?;
        if n == 0 && self.fetched_evidence(user_id, batch).await?.is_empty() {
            return Err(StoreError::NotFound);
        }
        Ok(n)
    }

    /// Where each component of a dossier came from, in the procedure's order.
    pub async fn dossier_components(&self, dossier_id: i64) -> Result<Vec<ComponentRecord>> {
        let rows: Vec<ComponentRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(COMPONENT_COLUMNS[1..10].to_vec())
                    .from("dossier_components")
                    .and_where(Expr::col("dossier_id").eq(dossier_id))
                    .to_owned(),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ComponentRecord {
                component: r.component,
                source: Provenance::parse(&r.source).unwrap_or(Provenance::Upload),
                registry: r.registry.as_deref().and_then(Registry::parse),
                service: r.service,
                record_id: r.record_id,
                fetched_at: r.fetched_at,
                message_id: r.message_id,
                digest: r.digest,
                fields: r.fields.and_then(|f| serde_json::from_str(&f).ok()).unwrap_or_default(),
            })
            .collect())
    }

    /// The latest result of procedure `procedure_code` issued to `user_id`, if any.
    pub async fn wallet_result(&self, user_id: i64, procedure_code: &str) -> Result<Option<WalletResult>> {
        self.db
            .fetch_optional(
                &Query::select()
                    .expr_as(Expr::col(("dossiers", "id")), "dossier_id")
                    .expr_as(Expr::col(("dossiers", "code")), "dossier_code")
                    .columns([("dossiers", "procedure_id"), ("dossiers", "form_version"), ("dossiers", "data")])
                    .columns([("results", "verification_code"), ("results", "document"), ("results", "issued_at")])
                    .from("dossiers")
                    .inner_join("results", Expr::col(("results", "dossier_id")).equals(("dossiers", "id")))
                    .inner_join("procedures", Expr::col(("procedures", "id")).equals(("dossiers", "procedure_id")))
                    .and_where(Expr::col(("dossiers", "applicant_user_id")).eq(user_id))
                    .and_where(Expr::col(("procedures", "code")).eq(procedure_code))
                    .order_by(("results", "issued_at"), Order::Desc)
                    .limit(1)
                    .to_owned(),
            )
            .await
    }

    /// Results issued, and those that a later dossier used from the wallet (K7).
    pub async fn result_reuse(&self) -> Result<ResultReuse> {
        let issued: N = self
            .db
            .fetch_one(&Query::select().expr_as(Func::count(Expr::col("dossier_id")), "n").from("results").to_owned())
            .await?;
        let reused: N = self
            .db
            .fetch_one(
                &Query::select()
                    .expr_as(Func::count_distinct(Expr::col("record_id")), "n")
                    .from("dossier_components")
                    .and_where(Expr::col("registry").eq(Registry::Wallet.service_code()))
                    .and_where(Expr::col("source").is_in([Provenance::Fetched.as_str(), Provenance::Prefill.as_str()]))
                    .to_owned(),
            )
            .await?;
        Ok(ResultReuse { issued: issued.n, reused: reused.n })
    }

    /// Reuse per procedure, agency and month, from `from_month` (`YYYY-MM`) on: documents
    /// fetched instead of uploaded (programme target K2).
    pub async fn reuse_figures(&self, from_month: &str) -> Result<Vec<ReuseFigure>> {
        let rows: Vec<CountRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["month", "procedure_id", "agency_id", "source"])
                    .expr_as(Func::count(Expr::col("dossier_id")), "n")
                    .from("dossier_components")
                    .and_where(Expr::col("month").gte(from_month))
                    .group_by_columns(["month", "procedure_id", "agency_id", "source"])
                    .order_by("month", Order::Asc)
                    .order_by("procedure_id", Order::Asc)
                    .order_by("agency_id", Order::Asc)
                    .to_owned(),
            )
            .await?;
        let mut out: Vec<ReuseFigure> = Vec::new();
        for r in rows {
            let same = out
                .last()
                .is_some_and(|f| f.month == r.month && f.procedure_id == r.procedure_id && f.agency_id == r.agency_id);
            if !same {
                out.push(ReuseFigure {
                    month: r.month.clone(),
                    procedure_id: r.procedure_id,
                    agency_id: r.agency_id,
                    fetched: 0,
                    uploaded: 0,
                    prefilled: 0,
                });
            }
            let f = out.last_mut().expect("pushed");
            match Provenance::parse(&r.source) {
                Some(Provenance::Fetched) => f.fetched += r.n,
                Some(Provenance::Upload) => f.uploaded += r.n,
                Some(Provenance::Prefill) => f.prefilled += r.n,
                _ => {}
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_counts_in_vietnams_month() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T18:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(month_of(at), "2026-12");
        let at = DateTime::parse_from_rfc3339("2026-11-30T16:59:59Z").unwrap().with_timezone(&Utc);
        assert_eq!(month_of(at), "2026-11");
    }
}
