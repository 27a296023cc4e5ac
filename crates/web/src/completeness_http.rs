//! The completeness check shown to the officer before receiving a dossier (issue #5):
//! `GET /api/v1/dossiers/{id}/completeness` and a section of the dossier page.
//! Registry lookups are of the people the form names, by the officer who opened the dossier
//! (the read of the dossier is in its audit trail).

use crate::AppState;
use crate::app::Access;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use axum::Json;
use axum::extract::{Path, State};
use maud::{Markup, html};
use sen_domain::completeness::{self, Finding, RegistryPerson, Severity};
use sen_domain::evidence::Provenance;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CompletenessOut {
    /// Nothing required is missing.
    pub complete: bool,
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
}

impl AppState {
    /// The check for a dossier the officer may handle (others: 404, like the dossier).
    pub async fn completeness(&self, who: &Principal, id: i64) -> AppResult<CompletenessOut> {
        let (d, access) = self.open_dossier(who, id, "kiểm tra tính đầy đủ của hồ sơ").await?;
        if access != Access::Officer {
            return Err(AppError::Forbidden("the completeness check is for the handling agency's officers".into()));
        }
        Ok(self.completeness_of(&d).await?)
    }

    pub(crate) async fn completeness_of(
        &self,
        d: &sen_store::Dossier,
    ) -> Result<CompletenessOut, sen_store::StoreError> {
        let p = self.catalogue().get(d.procedure_id).cloned().ok_or(sen_store::StoreError::NotFound)?;
        let data: serde_json::Value = serde_json::from_str(&d.data).unwrap_or_default();
        let mut provided: Vec<String> = self
            .store
            .dossier_components(d.id)
            .await?
            .into_iter()
            .filter(|c| c.source != Provenance::Prefill)
            .map(|c| c.component)
            .collect();
        provided.extend(self.store.files(d.id).await?.into_iter().map(|f| f.component));
        let mut people = HashMap::new();
        for (field, _) in completeness::person_fields(&data) {
            if let Some(n) = data.get(&field).and_then(|v| v.as_str())
                && let Ok(person) = self.store.person(n).await
            {
                people.insert(
                    n.to_string(),
                    RegistryPerson { full_name: person.full_name, birth_date: person.birth_date },
                );
            }
        }
        let today = crate::app::today();
        let findings = completeness::check(&p.spec(), &data, &provided, &people, today);
        self.note_ai_use(d.agency_id, "completeness_check");
        Ok(CompletenessOut { complete: completeness::complete(&findings), findings })
    }
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}/completeness",
    responses((status = 200, body = CompletenessOut), (status = 403, body = Problem), (status = 404, body = Problem)), tag = "back office")]
pub async fn api(State(st): State<AppState>, who: Principal, Path(id): Path<i64>) -> AppResult<Json<CompletenessOut>> {
    Ok(Json(st.completeness(&who, id).await?))
}

/// The section of the dossier page.
pub fn section(lang: Lang, c: &CompletenessOut) -> Markup {
    html! {
        section.card aria-labelledby="completeness-h" {
            h2 #completeness-h { (lang.t("Kiểm tra tính đầy đủ (trước khi tiếp nhận)", "Completeness check (before receiving)")) }
            @if c.complete {
                p.notice role="status" { (lang.t("Đủ các thành phần bắt buộc.", "Every mandatory component is there.")) }
            } @else {
                p.warning role="status" { (lang.t("Còn thiếu: yêu cầu bổ sung hoặc từ chối có lý do.", "Something is missing: ask for a supplement or refuse with reasons.")) }
            }
            ul { @for f in &c.findings {
                li { (match f.severity { Severity::Ok => "✓ ", Severity::Warning => "⚠ ", Severity::Missing => "✗ " }) strong { (f.subject) } ": " (f.message) }
            } }
        }
    }
}
