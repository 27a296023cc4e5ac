//! Feedback and petitions (issue #5): a person sends one; the classifier
//! (`sen_domain::routing`) routes it to the responsible agency and sector; an officer of
//! that agency may correct the route, and the classifier is retrained with the correction.
//! `GET /api/v1/stats/ai` gives K13, the agencies with at least one AI application in use.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use sen_domain::routing::{Example, Model};
use sen_store::Store;
use sen_store::petitions::Petition;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The longest petition taken, in characters.
const MAX_TEXT_CHARS: usize = 5000;
/// Corrections the classifier learns from, at most (the newest).
const MAX_CORRECTIONS: u64 = 20_000;
/// How many times a correction counts against a generated example.
const CORRECTION_WEIGHT: usize = 3;

/// Trains the router: Sen's shipped corpus plus every officer's correction.
pub async fn train(store: &Store) -> Result<Model, crate::error::AppError> {
    let mut examples = sen_demo::petitions::corpus(2026, 200);
    for p in store.corrected_petitions(MAX_CORRECTIONS).await? {
        for _ in 0..CORRECTION_WEIGHT {
            examples.push(Example { text: p.text.clone(), label: p.label.clone() });
        }
    }
    Ok(Model::train(&examples))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetitionIn {
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteIn {
    /// `<agency kind>/<sector>`, one of the router's labels.
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PetitionOut {
    pub id: i64,
    pub text: String,
    pub label: String,
    pub agency_kind: String,
    pub sector: String,
    pub agency_id: Option<i64>,
    pub agency_name: Option<String>,
    pub predicted: String,
    pub confidence: f64,
    pub corrected: bool,
}

impl AppState {
    fn model(&self) -> std::sync::Arc<Model> {
        self.router_model.read().expect("router model").clone()
    }

    fn petition_out(&self, p: &Petition) -> PetitionOut {
        let (kind, sector) = p.label.split_once('/').unwrap_or((&p.label, ""));
        let cat = self.catalogue();
        PetitionOut {
            id: p.id,
            text: p.text.clone(),
            label: p.label.clone(),
            agency_kind: kind.into(),
            sector: sector.into(),
            agency_id: p.agency_id,
            agency_name: p.agency_id.and_then(|id| cat.agencies.iter().find(|a| a.id == id)).map(|a| a.name.clone()),
            predicted: p.predicted.clone(),
            confidence: p.confidence,
            corrected: p.corrected_by.is_some(),
        }
    }

    /// The agency of `kind` where the person lives: their commune's, else their province's.
    fn agency_of_kind(&self, who: &Principal, kind: &str) -> Option<i64> {
        let cat = self.catalogue();
        let candidates: Vec<&sen_store::Agency> = cat.agencies.iter().filter(|a| a.kind == kind).collect();
        Self::default_agency(who, &candidates).map(|a| a.id)
    }

    pub async fn send_petition(&self, who: &Principal, text: &str) -> AppResult<Petition> {
        if !who.is_applicant() {
            return Err(AppError::Forbidden("petitions come from people and businesses".into()));
        }
        let text = text.trim();
        if text.chars().count() < 10 {
            return Err(AppError::field("text", "min_length", "say what happened in at least 10 characters"));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(AppError::field("text", "max_length", "at most 5000 characters"));
        }
        let (label, confidence) =
            self.model().predict(text).ok_or_else(|| AppError::Internal("the router has no labels".into()))?;
        let kind = label.split_once('/').map(|x| x.0).unwrap_or(&label).to_string();
        let agency = self.agency_of_kind(who, &kind);
        let id = self.store.create_petition(who.user.id, text, &label, confidence, agency).await?;
        Ok(self.store.petition(id).await?)
    }

    fn may_handle(who: &Principal, p: &Petition) -> bool {
        who.is_admin() || p.agency_id.is_some_and(|a| who.agencies().contains(&a))
    }

    pub async fn petitions_for(&self, who: &Principal) -> AppResult<Vec<Petition>> {
        if who.is_applicant() {
            Ok(self.store.petitions(Some(who.user.id), None, 200).await?)
        } else if who.is_admin() {
            Ok(self.store.petitions(None, None, 200).await?)
        } else {
            Ok(self.store.petitions(None, Some(&who.agencies()), 200).await?)
        }
    }

    /// An officer of the agency it was routed to (or an administrator) corrects the route;
    /// the router retrains with it.
    pub async fn correct_route(&self, who: &Principal, id: i64, label: &str) -> AppResult<Petition> {
        let p = match self.store.petition(id).await {
            Ok(p) => p,
            Err(sen_store::StoreError::NotFound) => return Err(AppError::NotFound("petition")),
            Err(e) => return Err(e.into()),
        };
        if who.is_applicant() && p.user_id == who.user.id || !Self::may_handle(who, &p) {
            return Err(AppError::NotFound("petition"));
        }
        if !self.model().labels().iter().any(|l| l == label) {
            return Err(AppError::field("label", "enum", "one of the router's agency kinds and sectors"));
        }
        let kind = label.split_once('/').map(|x| x.0).unwrap_or(label);
        let author = crate::auth::principal_for_user(self, p.user_id, None).await?;
        let agency = self.agency_of_kind(&author, kind);
        self.store.correct_petition(id, label, agency, who.user.id).await?;
        let model = train(&self.store).await?;
        *self.router_model.write().expect("router model") = std::sync::Arc::new(model);
        Ok(self.store.petition(id).await?)
    }
}

#[utoipa::path(post, path = "/api/v1/petitions", request_body = PetitionIn,
    responses((status = 201, body = PetitionOut), (status = 403, body = Problem), (status = 422, body = Problem)), tag = "ai")]
pub async fn api_send(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    crate::api::JsonBody(b): crate::api::JsonBody<PetitionIn>,
) -> AppResult<(StatusCode, Json<PetitionOut>)> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let p = st.send_petition(&who, &b.text).await?;
    Ok((StatusCode::CREATED, Json(st.petition_out(&p))))
}

#[utoipa::path(get, path = "/api/v1/petitions", responses((status = 200, body = Vec<PetitionOut>)), tag = "ai")]
pub async fn api_list(State(st): State<AppState>, who: Principal) -> AppResult<Json<Vec<PetitionOut>>> {
    Ok(Json(st.petitions_for(&who).await?.iter().map(|p| st.petition_out(p)).collect()))
}

#[utoipa::path(post, path = "/api/v1/petitions/{id}/route", request_body = RouteIn,
    responses((status = 200, body = PetitionOut), (status = 404, body = Problem), (status = 422, body = Problem)), tag = "ai")]
pub async fn api_route(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    crate::api::JsonBody(b): crate::api::JsonBody<RouteIn>,
) -> AppResult<Json<PetitionOut>> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let p = st.correct_route(&who, id, &b.label).await?;
    Ok(Json(st.petition_out(&p)))
}

#[utoipa::path(get, path = "/api/v1/stats/ai", responses((status = 200, body = Object), (status = 403, body = Problem)), tag = "ai")]
pub async fn api_k13(State(st): State<AppState>, who: Principal) -> AppResult<Json<Value>> {
    if !(who.is_admin() || who.is_officer()) {
        return Err(AppError::Forbidden("for officers and administrators".into()));
    }
    let using = st.store.agencies_using_ai(Utc::now() - chrono::Duration::days(30)).await?;
    let total = st.catalogue().agencies.len();
    Ok(Json(json!({
        "agencies": total, "agencies_using_ai": using.len(),
        "share": if total == 0 { 0.0 } else { using.len() as f64 / total as f64 },
        "applications": ["petition routing", "proactive rules", "completeness check", "delay risk"],
        "router": {"labels": st.model().labels(), "examples": st.model().examples()},
    })))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/petitions", post(api_send).get(api_list))
        .route("/petitions/{id}/route", post(api_route))
        .route("/stats/ai", get(api_k13))
}
