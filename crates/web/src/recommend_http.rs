//! "People who did this also needed" (issue #5): next-service recommendations from the
//! dossier history (`sen_domain::recommend`), on the procedure page, on the applicant's
//! "my dossiers" page, and through the API. The model is trained at start and retrained about
//! hourly by the overdue job; it holds counts of procedure pairs only, no person.

use std::sync::Arc;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use sen_domain::recommend::{Model, Suggestion, Visit, WINDOW_DAYS};
use sen_store::Store;
use serde::Serialize;
use utoipa::ToSchema;

/// Dossiers the recommender learns from, at most (the newest).
const HISTORY: u64 = 500_000;
/// Suggestions shown.
const SHOWN: usize = 3;

/// A dossier's day on Vietnam's calendar, as the recommender counts days.
pub fn day_of(at: DateTime<Utc>) -> i64 {
    use chrono::Datelike;
    i64::from(at.with_timezone(&sen_store::vn_offset()).date_naive().num_days_from_ce())
}

pub fn visit(r: &sen_store::recommend::VisitRow) -> Visit {
    Visit { applicant: r.applicant_user_id, procedure: r.procedure_id, day: day_of(r.submitted_at) }
}

/// Learns from the dossiers of the last window (at most [`HISTORY`]).
pub async fn train(store: &Store) -> Result<Model, sen_store::StoreError> {
    let since = Utc::now() - Duration::days(WINDOW_DAYS);
    let visits: Vec<Visit> = store.procedure_visits(since, HISTORY).await?.iter().map(visit).collect();
    Ok(Model::train(&visits))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendation {
    /// Procedure code.
    pub code: String,
    /// Exact procedure name.
    pub procedure: String,
    pub url: String,
    /// Of the applicants for `because`, the share who then applied for this one.
    pub share: f64,
    /// The procedure (code) this follows; absent when it is only among the most asked-for.
    pub because: Option<String>,
    /// The reason in words.
    pub why: String,
}

impl AppState {
    pub fn recommender(&self) -> Arc<Model> {
        self.recommend_model.read().expect("recommender").clone()
    }

    /// Suggestions in words, keeping only published procedures.
    fn explain(&self, lang: Lang, suggestions: Vec<Suggestion>) -> Vec<Recommendation> {
        let catalogue = self.catalogue();
        suggestions
            .into_iter()
            .filter_map(|s| {
                let p = catalogue.get(s.procedure).filter(|p| p.published)?;
                let because = s.because.and_then(|b| catalogue.get(b));
                let why = match because {
                    Some(b) => match lang {
                        Lang::Vi => format!(
                            "{}% người đã làm thủ tục “{}” sau đó làm thủ tục này.",
                            (s.share * 100.0).round(),
                            b.name
                        ),
                        Lang::En => format!(
                            "{}% of the people who applied for “{}” then applied for this.",
                            (s.share * 100.0).round(),
                            b.name_en
                        ),
                    },
                    None => lang
                        .t("Một trong những thủ tục được làm nhiều nhất.", "One of the most requested services.")
                        .into(),
                };
                Some(Recommendation {
                    code: p.code.clone(),
                    procedure: lang.t(&p.name, &p.name_en).to_string(),
                    url: format!("{}/procedures/{}", self.config.public_url, p.id),
                    share: s.share,
                    because: because.map(|b| b.code.clone()),
                    why,
                })
            })
            .collect()
    }

    /// What the applicants for a procedure needed next.
    pub fn also_needed(&self, lang: Lang, procedure_id: i64) -> Vec<Recommendation> {
        self.explain(lang, self.recommender().also_needed(procedure_id, SHOWN))
    }

    /// The next services for an applicant, from their own dossiers of the window.
    pub async fn recommendations_for(&self, lang: Lang, user_id: i64) -> AppResult<Vec<Recommendation>> {
        let now = Utc::now();
        let history: Vec<(i64, i64)> = self
            .store
            .visits_of(user_id, now - Duration::days(WINDOW_DAYS))
            .await?
            .iter()
            .map(|r| (r.procedure_id, day_of(r.submitted_at)))
            .collect();
        Ok(self.recommend_from(lang, &history))
    }

    /// The next services after `history` (procedure, day), seen today.
    pub fn recommend_from(&self, lang: Lang, history: &[(i64, i64)]) -> Vec<Recommendation> {
        if history.is_empty() {
            return Vec::new();
        }
        self.explain(lang, self.recommender().recommend(history, day_of(Utc::now()), SHOWN))
    }
}

/// The box on a procedure page.
pub fn procedure_section(st: &AppState, lang: Lang, procedure_id: i64) -> Markup {
    let items = st.also_needed(lang, procedure_id);
    html! {
        @if !items.is_empty() {
            section.also-needed aria-labelledby="also-needed" {
                h2 #also-needed { (lang.t("Người làm thủ tục này cũng cần", "People who did this also needed")) }
                ul { @for r in &items { li { a href=(r.url) { (r.procedure) } " — " (r.why) } } }
            }
        }
    }
}

/// The box on the applicant's "my dossiers" page, from the dossiers it lists.
pub fn applicant_section(st: &AppState, lang: Lang, dossiers: &[sen_store::DossierSummary]) -> Markup {
    let history: Vec<(i64, i64)> = dossiers.iter().map(|d| (d.procedure_id, day_of(d.submitted_at))).collect();
    let items = st.recommend_from(lang, &history);
    html! {
        @if !items.is_empty() {
            section.also-needed aria-labelledby="next-services" {
                h2 #next-services { (lang.t("Có thể bạn cũng cần", "You may also need")) }
                ul { @for r in &items { li { a href=(r.url) { (r.procedure) } " — " (r.why) } } }
            }
        }
    }
}

#[utoipa::path(get, path = "/api/v1/procedures/{code}/also-needed", params(("code" = String, Path)),
    responses((status = 200, body = Vec<Recommendation>), (status = 404, body = Problem)), tag = "ai")]
pub async fn api_also_needed(
    State(st): State<AppState>,
    lang: Lang,
    Path(code): Path<String>,
) -> AppResult<Json<Vec<Recommendation>>> {
    let id =
        st.catalogue().by_code(&code).filter(|p| p.published).map(|p| p.id).ok_or(AppError::NotFound("procedure"))?;
    Ok(Json(st.also_needed(lang, id)))
}

#[utoipa::path(get, path = "/api/v1/me/recommendations",
    responses((status = 200, body = Vec<Recommendation>), (status = 401, body = Problem), (status = 403, body = Problem)), tag = "ai")]
pub async fn api_mine(State(st): State<AppState>, lang: Lang, who: Principal) -> AppResult<Json<Vec<Recommendation>>> {
    if !who.is_applicant() {
        return Err(AppError::Forbidden("for citizens and businesses".into()));
    }
    Ok(Json(st.recommendations_for(lang, who.user.id).await?))
}

pub fn api_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/procedures/{code}/also-needed", axum::routing::get(api_also_needed))
        .route("/me/recommendations", axum::routing::get(api_mine))
}
