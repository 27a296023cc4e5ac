//! Administrative procedures as the national catalogue publishes them (DOMAIN.md §3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Level of government that implements a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Central,
    Province,
    Commune,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Central => "central",
            Level::Province => "province",
            Level::Commune => "commune",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Level::Central, Level::Province, Level::Commune].into_iter().find(|l| l.as_str() == s)
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Level::Central => "Trung ương",
            Level::Province => "Cấp tỉnh",
            Level::Commune => "Cấp xã",
        }
    }
}

/// Online service level (Decree 42/2022): only two remain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevel {
    /// Toàn trình: submitted, handled and returned online (or by post).
    FullProcess,
    /// Một phần: some step needs the applicant in person.
    Partial,
}

impl ServiceLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceLevel::FullProcess => "full_process",
            ServiceLevel::Partial => "partial",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full_process" => Some(ServiceLevel::FullProcess),
            "partial" => Some(ServiceLevel::Partial),
            _ => None,
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            ServiceLevel::FullProcess => "Dịch vụ công trực tuyến toàn trình",
            ServiceLevel::Partial => "Dịch vụ công trực tuyến một phần",
        }
    }
}

/// Who may apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Applicants {
    Citizens,
    Businesses,
    Both,
}

impl Applicants {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicants::Citizens => "citizens",
            Applicants::Businesses => "businesses",
            Applicants::Both => "both",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Applicants::Citizens, Applicants::Businesses, Applicants::Both].into_iter().find(|a| a.as_str() == s)
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Applicants::Citizens => "Công dân",
            Applicants::Businesses => "Doanh nghiệp, hộ kinh doanh",
            Applicants::Both => "Công dân, doanh nghiệp",
        }
    }
}

/// A document the applicant provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Component {
    pub name: String,
    /// e.g. "01 bản chính".
    pub quantity: String,
    pub mandatory: bool,
    /// Name of the form template, e.g. "Tờ khai đăng ký khai sinh (mẫu TP/HT-2020-KS.1)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Registries that hold it or fill it (once-only): fetched at the applicant's request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<crate::evidence::EvidenceSource>,
}

/// Everything a procedure record publishes, apart from its e-form (versioned separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProcedureSpec {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub sector: String,
    pub level: Level,
    /// The kind of agency that implements it, e.g. `commune_pc`, `province_police`,
    /// `ministry:foreign_affairs`. Resolved to a concrete agency per dossier.
    pub agency_kind: String,
    pub deadline_working_days: u32,
    /// Fees and charges in words, as published.
    pub fees: String,
    /// The fee in đồng for online submission (0 when free).
    pub fee_vnd: i64,
    pub service_level: ServiceLevel,
    pub applicants: Applicants,
    pub conditions: String,
    pub steps: String,
    pub legal_basis: String,
    pub result_document: String,
    pub components: Vec<Component>,
    /// Everyday words people use for it (search only).
    pub keywords: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("the deadline must be at most 365 working days")]
    Deadline,
    #[error("fees must not be negative")]
    Fee,
}

impl ProcedureSpec {
    /// Checks what an administrator enters.
    pub fn check(&self) -> Result<(), SpecError> {
        for (v, name) in [
            (&self.code, "code"),
            (&self.name, "name"),
            (&self.sector, "sector"),
            (&self.agency_kind, "agency_kind"),
            (&self.result_document, "result_document"),
            (&self.legal_basis, "legal_basis"),
        ] {
            if v.trim().is_empty() {
                return Err(SpecError::Empty(name));
            }
        }
        if self.deadline_working_days > 365 {
            return Err(SpecError::Deadline);
        }
        if self.fee_vnd < 0 {
            return Err(SpecError::Fee);
        }
        Ok(())
    }
}
