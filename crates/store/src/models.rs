//! Rows as both backends return them.

use chrono::{DateTime, NaiveDate, Utc};
use sen_domain::procedure::{Applicants, Component, Level, ProcedureSpec, ServiceLevel};
use sen_domain::{DossierState, Lifecycle};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Province {
    pub code: String,
    pub name: String,
    /// `city` (centrally-run) or `province`.
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Commune {
    pub code: String,
    pub province_code: String,
    pub name: String,
    /// `xa`, `phuong` or `dac_khu`.
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Agency {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub kind: String,
    pub level: String,
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Person {
    pub person_number: String,
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub birth_province_code: String,
    pub commune_code: String,
    pub address: String,
    pub household_id: Option<i64>,
    pub relation_to_head: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Household {
    pub id: i64,
    pub head_person_number: String,
    pub address: String,
    pub commune_code: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Enterprise {
    pub tax_code: String,
    pub name: String,
    pub kind: String,
    pub owner_person_number: String,
    pub address: String,
    pub province_code: String,
    pub registered_on: NaiveDate,
}

/// Kinds of account.
pub mod user_kind {
    pub const CITIZEN: &str = "citizen";
    pub const BUSINESS: &str = "business";
    pub const OFFICER: &str = "officer";
    pub const ADMIN: &str = "admin";
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub kind: String,
    pub person_number: Option<String>,
    pub tax_code: Option<String>,
    pub email: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RoleGrant {
    pub agency_id: i64,
    pub role: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProcedureRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub sector: String,
    pub level: String,
    pub agency_kind: String,
    pub deadline_days: i64,
    pub fees: String,
    pub fee_vnd: i64,
    pub service_level: String,
    pub applicants: String,
    pub conditions: String,
    pub steps: String,
    pub legal_basis: String,
    pub result_document: String,
    pub components: String,
    pub keywords: String,
    pub form_version: i64,
    pub published: bool,
    pub updated_at: DateTime<Utc>,
}

impl ProcedureRow {
    pub fn spec(&self) -> ProcedureSpec {
        ProcedureSpec {
            code: self.code.clone(),
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            sector: self.sector.clone(),
            level: Level::parse(&self.level).unwrap_or(Level::Province),
            agency_kind: self.agency_kind.clone(),
            deadline_working_days: self.deadline_days.max(0) as u32,
            fees: self.fees.clone(),
            fee_vnd: self.fee_vnd,
            service_level: ServiceLevel::parse(&self.service_level).unwrap_or(ServiceLevel::Partial),
            applicants: Applicants::parse(&self.applicants).unwrap_or(Applicants::Both),
            conditions: self.conditions.clone(),
            steps: self.steps.clone(),
            legal_basis: self.legal_basis.clone(),
            result_document: self.result_document.clone(),
            components: serde_json::from_str::<Vec<Component>>(&self.components).unwrap_or_default(),
            keywords: self.keywords.clone(),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProcedureForm {
    pub procedure_id: i64,
    pub version: i64,
    pub schema: String,
    pub created_at: DateTime<Utc>,
}

/// A whole dossier, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Dossier {
    pub id: i64,
    pub code: String,
    pub procedure_id: i64,
    pub form_version: i64,
    pub agency_id: i64,
    pub applicant_user_id: i64,
    pub applicant_name: String,
    pub applicant_id_number: String,
    pub state: String,
    pub resume_state: Option<String>,
    pub data: String,
    pub submitted_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDate>,
    pub original_due_date: Option<NaiveDate>,
    pub paused_on: Option<NaiveDate>,
    pub remaining_days: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub assignee_user_id: Option<i64>,
    pub overdue: bool,
    pub apologies: i64,
    pub version: i64,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Dossier {
    pub fn state(&self) -> DossierState {
        DossierState::parse(&self.state).unwrap_or(DossierState::Submitted)
    }
    pub fn lifecycle(&self) -> Lifecycle {
        Lifecycle { state: self.state(), resume_state: self.resume_state.as_deref().and_then(DossierState::parse) }
    }
}

/// A line in a queue or a list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DossierSummary {
    pub id: i64,
    pub code: String,
    pub procedure_id: i64,
    pub procedure_name: String,
    pub agency_id: i64,
    pub applicant_name: String,
    pub state: String,
    pub submitted_at: DateTime<Utc>,
    pub due_date: Option<NaiveDate>,
    pub overdue: bool,
    pub assignee_user_id: Option<i64>,
    pub version: i64,
}

/// One entry of the tracking log (timeline and processing-control form).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DossierEvent {
    pub id: i64,
    pub dossier_id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub actor_role: Option<String>,
    pub actor_agency_id: Option<i64>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: Option<String>,
    pub detail: String,
}

/// One entry of the append-only audit trail.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub actor_role: Option<String>,
    pub actor_agency_id: Option<i64>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub dossier_id: Option<i64>,
    pub reason: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FileMeta {
    pub id: i64,
    pub dossier_id: i64,
    pub component: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub purpose: String,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileContent {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Count {
    pub n: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StateCount {
    pub state: String,
    pub n: i64,
}
