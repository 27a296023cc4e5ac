//! The JSON API under `/api/v1`. Errors are `application/problem+json` with stable codes.

use crate::AppState;
use crate::app::{ActInput, SubmitRequest, today};
use crate::auth::{Principal, random_token, session_cookie};
use crate::error::{AppError, AppResult, Problem};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use sen_domain::procedure::{Applicants, Component, Level, ServiceLevel};
use sen_domain::{Action, DossierState};
use sen_store::dossiers::{NewFile, Queue};
use sen_store::{Dossier, ProcedureRow};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A JSON body; a malformed one is refused with a JSON pointer to the problem.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(AppError::bad("unsupported_media_type", "send the body as application/json"));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::BodyTooLarge
            } else {
                AppError::bad("malformed_json", e.body_text())
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(JsonBody).map_err(|e| {
            let path = e.path().to_string();
            let pointer = if path == "." { String::new() } else { format!("/{}", path.replace('.', "/")) };
            AppError::BadRequest { code: "malformed_json", detail: e.inner().to_string(), pointer: Some(pointer) }
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProcedureOut {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub sector: String,
    pub level: Level,
    pub agency_kind: String,
    pub deadline_working_days: u32,
    pub fees: String,
    pub fee_vnd: i64,
    pub service_level: ServiceLevel,
    pub applicants: Applicants,
    pub legal_basis: String,
    pub result_document: String,
    pub components: Vec<Component>,
    pub form_version: i64,
    pub url: String,
}

impl From<&ProcedureRow> for ProcedureOut {
    fn from(p: &ProcedureRow) -> Self {
        let s = p.spec();
        ProcedureOut {
            id: p.id,
            code: s.code,
            name: s.name,
            name_en: s.name_en,
            sector: s.sector,
            level: s.level,
            agency_kind: s.agency_kind,
            deadline_working_days: s.deadline_working_days,
            fees: s.fees,
            fee_vnd: s.fee_vnd,
            service_level: s.service_level,
            applicants: s.applicants,
            legal_basis: s.legal_basis,
            result_document: s.result_document,
            components: s.components,
            form_version: p.form_version,
            url: format!("/procedures/{}", p.id),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProcedureDetail {
    #[serde(flatten)]
    pub procedure: ProcedureOut,
    /// The current e-form (JSON Schema 2020-12).
    #[schema(value_type = Object)]
    pub form: Value,
}

#[derive(Deserialize, IntoParams)]
pub struct SearchParams {
    /// Words to search, with or without diacritics.
    pub q: Option<String>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/procedures", params(SearchParams), responses((status = 200, body = [ProcedureOut])), tag = "catalogue")]
pub async fn list_procedures(State(st): State<AppState>, Query(q): Query<SearchParams>) -> Json<Vec<ProcedureOut>> {
    let cat = st.catalogue();
    let limit = q.limit.unwrap_or(50).min(200);
    Json(cat.search(q.q.as_deref().unwrap_or(""), limit).into_iter().map(ProcedureOut::from).collect())
}

#[utoipa::path(get, path = "/api/v1/procedures/{id}", responses((status = 200, body = ProcedureDetail), (status = 404, body = Problem)), tag = "catalogue")]
pub async fn get_procedure(State(st): State<AppState>, Path(id): Path<i64>) -> AppResult<Json<ProcedureDetail>> {
    let p = st.procedure(id)?;
    let form = st.catalogue().form(&st.store, p.id, p.form_version).await?;
    Ok(Json(ProcedureDetail { procedure: ProcedureOut::from(&p), form: form.schema().clone() }))
}

#[utoipa::path(get, path = "/api/v1/procedures/{id}/forms/{version}", responses((status = 200, body = Object), (status = 404, body = Problem)), tag = "catalogue")]
pub async fn get_form(State(st): State<AppState>, Path((id, version)): Path<(i64, i64)>) -> AppResult<Json<Value>> {
    let form = st.catalogue().form(&st.store, id, version).await.map_err(|_| AppError::NotFound("form version"))?;
    Ok(Json(form.schema().clone()))
}

#[derive(Deserialize, ToSchema)]
pub struct ProcedureIn {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub spec: sen_domain::procedure::ProcedureSpec,
    /// The e-form; a changed form becomes a new version.
    #[schema(value_type = Object)]
    pub form: Option<Value>,
}

#[utoipa::path(post, path = "/api/v1/procedures", request_body = ProcedureIn, responses((status = 201, body = ProcedureDetail), (status = 403, body = Problem), (status = 422, body = Problem)), tag = "catalogue")]
pub async fn create_procedure(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ProcedureIn>,
) -> AppResult<Response> {
    principal.check_csrf(csrf_header(&headers))?;
    st.check_procedure_admin(&principal, &body.spec.agency_kind).await?;
    let form = body.form.ok_or_else(|| AppError::field("form", "required", "a new procedure needs its e-form"))?;
    sen_domain::eform::EForm::compile(form.clone()).map_err(|e| AppError::field("form", "schema", &e.to_string()))?;
    body.spec.check().map_err(|e| AppError::field("spec", "invalid", &e.to_string()))?;
    let id = st.store.create_procedure(&body.spec, &form, &st.actor(&principal, None)).await?;
    st.reload_catalogue().await?;
    let detail = get_procedure(State(st), Path(id)).await?;
    Ok((StatusCode::CREATED, detail).into_response())
}

#[utoipa::path(put, path = "/api/v1/procedures/{id}", request_body = ProcedureIn, responses((status = 200, body = ProcedureDetail), (status = 403, body = Problem), (status = 422, body = Problem)), tag = "catalogue")]
pub async fn update_procedure(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ProcedureIn>,
) -> AppResult<Json<ProcedureDetail>> {
    principal.check_csrf(csrf_header(&headers))?;
    let current = st.procedure(id)?;
    st.check_procedure_admin(&principal, &current.agency_kind).await?;
    st.check_procedure_admin(&principal, &body.spec.agency_kind).await?;
    if let Some(f) = &body.form {
        sen_domain::eform::EForm::compile(f.clone()).map_err(|e| AppError::field("form", "schema", &e.to_string()))?;
    }
    body.spec.check().map_err(|e| AppError::field("spec", "invalid", &e.to_string()))?;
    st.store.update_procedure(id, &body.spec, body.form.as_ref(), &st.actor(&principal, None)).await?;
    st.reload_catalogue().await?;
    get_procedure(State(st), Path(id)).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FileIn {
    /// The dossier component this file provides (its name in the procedure).
    pub component: String,
    pub filename: String,
    pub content_type: String,
    /// The file, base64-encoded.
    pub content_base64: String,
}

pub(crate) fn decode_files(files: Vec<FileIn>, limit: usize) -> AppResult<Vec<NewFile>> {
    files
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            if f.content_base64.len() / 4 * 3 > limit + 3 {
                return Err(AppError::TooLarge { limit });
            }
            let content =
                base64::engine::general_purpose::STANDARD.decode(f.content_base64.as_bytes()).map_err(|e| {
                    AppError::BadRequest {
                        code: "malformed_json",
                        detail: format!("not base64: {e}"),
                        pointer: Some(format!("/files/{i}/content_base64")),
                    }
                })?;
            Ok(NewFile { component: f.component, filename: f.filename, content_type: f.content_type, content })
        })
        .collect()
}

#[derive(Deserialize, ToSchema)]
pub struct SubmitIn {
    pub procedure_id: i64,
    /// The handling agency; by default the one of the applicant's commune or province.
    pub agency_id: Option<i64>,
    /// Form data following the procedure's current e-form.
    #[schema(value_type = Object)]
    pub data: Value,
    #[serde(default)]
    pub files: Vec<FileIn>,
    /// A confirmed request for data the state holds (`POST /procedures/{id}/evidence`):
    /// its records stand in for documents.
    #[serde(default)]
    pub evidence_batch: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubmittedOut {
    pub id: i64,
    pub code: String,
    pub state: DossierState,
    pub submitted_at: DateTime<Utc>,
    /// The appointment date on the receipt (working days from submission).
    pub appointment_date: Option<NaiveDate>,
    /// True when this answers a repeated request with the same Idempotency-Key.
    pub replayed: bool,
    pub url: String,
}

pub(crate) fn csrf_header(h: &HeaderMap) -> Option<&str> {
    h.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

#[utoipa::path(post, path = "/api/v1/dossiers", request_body = SubmitIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a submission safely: the same key returns the first answer")),
    responses((status = 201, body = SubmittedOut), (status = 200, body = SubmittedOut, description = "replayed"), (status = 400, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)), tag = "dossiers")]
pub async fn submit(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SubmitIn>,
) -> AppResult<Response> {
    principal.check_csrf(csrf_header(&headers))?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(AppError::bad("invalid_idempotency_key", "Idempotency-Key must be 1 to 200 characters"));
    }
    let files = decode_files(body.files, st.config.max_file_bytes)?;
    let s = st
        .submit(
            &principal,
            SubmitRequest {
                procedure_id: body.procedure_id,
                agency_id: body.agency_id,
                data: body.data,
                files,
                idempotency_key: key,
                evidence_batch: body.evidence_batch,
                offer_id: None,
            },
        )
        .await?;
    let status = if s.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let out = SubmittedOut {
        id: s.id,
        code: s.code,
        state: DossierState::Submitted,
        submitted_at: s.submitted_at,
        appointment_date: s.due_date,
        replayed: s.replayed,
        url: format!("/dossiers/{}", s.id),
    };
    Ok((status, [(header::LOCATION, format!("/api/v1/dossiers/{}", s.id))], Json(out)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct DossierOut {
    pub id: i64,
    pub code: String,
    pub procedure_id: i64,
    pub procedure_name: String,
    pub form_version: i64,
    pub agency_id: i64,
    pub applicant_name: String,
    pub state: DossierState,
    pub submitted_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub appointment_date: Option<NaiveDate>,
    pub overdue: bool,
    pub assignee_user_id: Option<i64>,
    /// Send this back as `version` to act on what you saw.
    pub version: i64,
    pub allowed_actions: Vec<Action>,
    #[schema(value_type = Object)]
    pub data: Value,
    #[schema(value_type = Object)]
    pub result: Option<Value>,
    pub rating: Option<i64>,
}

fn dossier_out(st: &AppState, d: &Dossier) -> DossierOut {
    DossierOut {
        id: d.id,
        code: d.code.clone(),
        procedure_id: d.procedure_id,
        procedure_name: st.catalogue().get(d.procedure_id).map(|p| p.name.clone()).unwrap_or_default(),
        form_version: d.form_version,
        agency_id: d.agency_id,
        applicant_name: d.applicant_name.clone(),
        state: d.state(),
        submitted_at: d.submitted_at,
        received_at: d.received_at,
        appointment_date: d.due_date,
        overdue: d.overdue,
        assignee_user_id: d.assignee_user_id,
        version: d.version,
        allowed_actions: d.lifecycle().allowed_actions(),
        data: serde_json::from_str(&d.data).unwrap_or(Value::Null),
        result: d.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
        rating: d.rating,
    }
}

#[derive(Serialize, ToSchema)]
pub struct DossierLine {
    pub id: i64,
    pub code: String,
    pub procedure_name: String,
    pub applicant_name: String,
    pub state: DossierState,
    pub submitted_at: DateTime<Utc>,
    pub appointment_date: Option<NaiveDate>,
    pub overdue: bool,
    pub assignee_user_id: Option<i64>,
    pub version: i64,
}

fn line(s: sen_store::DossierSummary) -> DossierLine {
    DossierLine {
        id: s.id,
        code: s.code,
        procedure_name: s.procedure_name,
        applicant_name: s.applicant_name,
        state: DossierState::parse(&s.state).unwrap_or(DossierState::Submitted),
        submitted_at: s.submitted_at,
        appointment_date: s.due_date,
        overdue: s.overdue,
        assignee_user_id: s.assignee_user_id,
        version: s.version,
    }
}

#[derive(Deserialize, IntoParams)]
pub struct Page {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/dossiers", params(Page), responses((status = 200, body = [DossierLine]), (status = 401, body = Problem)), tag = "dossiers")]
pub async fn my_dossiers(
    State(st): State<AppState>,
    principal: Principal,
    Query(p): Query<Page>,
) -> AppResult<Json<Vec<DossierLine>>> {
    let rows = st
        .store
        .dossiers_of_applicant(principal.user.id, p.limit.unwrap_or(50).min(200), p.offset.unwrap_or(0))
        .await?;
    Ok(Json(rows.into_iter().map(line).collect()))
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}", responses((status = 200, body = DossierOut), (status = 404, body = Problem)), tag = "dossiers")]
pub async fn get_dossier(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<DossierOut>> {
    let (d, _) = st.open_dossier(&principal, id, "api: xem hồ sơ").await?;
    Ok(Json(dossier_out(&st, &d)))
}

/// What anyone may learn from a dossier code: no personal data.
#[derive(Serialize, ToSchema)]
pub struct LookupOut {
    pub code: String,
    pub procedure_name: String,
    pub state: DossierState,
    pub submitted_at: DateTime<Utc>,
    pub appointment_date: Option<NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/lookup/{code}", responses((status = 200, body = LookupOut), (status = 404, body = Problem)), tag = "dossiers")]
pub async fn lookup(State(st): State<AppState>, Path(code): Path<String>) -> AppResult<Json<LookupOut>> {
    let d = st
        .store
        .dossier_by_code(&sen_domain::ident::normalise_dossier_code(&code))
        .await
        .map_err(|_| AppError::NotFound("dossier"))?;
    Ok(Json(LookupOut {
        code: d.code.clone(),
        procedure_name: st.catalogue().get(d.procedure_id).map(|p| p.name.clone()).unwrap_or_default(),
        state: d.state(),
        submitted_at: d.submitted_at,
        appointment_date: d.due_date,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub actor_role: Option<String>,
    pub actor_agency_id: Option<i64>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub detail: Value,
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}/events", responses((status = 200, body = [EventOut]), (status = 404, body = Problem)), tag = "dossiers")]
pub async fn events(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<EventOut>>> {
    let (d, _) = st.open_dossier(&principal, id, "api: xem tiến trình").await?;
    let ev = st.store.events(d.id).await?;
    Ok(Json(
        ev.into_iter()
            .map(|e| EventOut {
                at: e.at,
                actor_name: e.actor_name,
                actor_role: e.actor_role,
                actor_agency_id: e.actor_agency_id,
                action: e.action,
                from_state: e.from_state,
                to_state: e.to_state,
                reason: e.reason,
                detail: serde_json::from_str(&e.detail).unwrap_or(Value::Null),
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ReadOut {
    pub at: DateTime<Utc>,
    pub official: String,
    pub role: Option<String>,
    pub agency_id: Option<i64>,
    pub purpose: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}/reads", responses((status = 200, body = [ReadOut]), (status = 404, body = Problem)), tag = "dossiers",
    description = "Who opened this dossier: every read by an official, from the audit trail.")]
pub async fn reads(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<ReadOut>>> {
    let (d, _) = st.open_dossier(&principal, id, "api: xem nhật ký truy cập").await?;
    let rows = st.store.dossier_audit(d.id, true).await?;
    Ok(Json(
        rows.into_iter()
            .map(|a| ReadOut {
                at: a.at,
                official: a.actor_name,
                role: a.actor_role,
                agency_id: a.actor_agency_id,
                purpose: a.reason,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct FileOut {
    pub id: i64,
    pub component: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub purpose: String,
    pub uploaded_at: DateTime<Utc>,
    pub url: String,
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}/files", responses((status = 200, body = [FileOut]), (status = 404, body = Problem)), tag = "dossiers")]
pub async fn files(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<FileOut>>> {
    let (d, _) = st.open_dossier(&principal, id, "api: xem thành phần hồ sơ").await?;
    let rows = st.store.files(d.id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|f| FileOut {
                url: format!("/dossiers/{}/files/{}", d.id, f.id),
                id: f.id,
                component: f.component,
                filename: f.filename,
                content_type: f.content_type,
                size: f.size,
                sha256: f.sha256,
                purpose: f.purpose,
                uploaded_at: f.uploaded_at,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ActionIn {
    pub action: Action,
    /// The version you saw; a different current version answers 409 `stale_version`.
    pub version: Option<i64>,
    /// Required for `request_supplement` and `refuse`.
    pub reason: Option<String>,
    /// For `hand_off`: the receiving agency (default: the current one).
    pub to_agency_id: Option<i64>,
    /// For `hand_off`: the receiving official.
    pub to_user_id: Option<i64>,
    /// For `supply`: the documents asked for.
    #[serde(default)]
    pub files: Vec<FileIn>,
}

#[utoipa::path(post, path = "/api/v1/dossiers/{id}/actions", request_body = ActionIn,
    responses((status = 200, body = DossierOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "illegal_transition or stale_version"), (status = 422, body = Problem)), tag = "dossiers")]
pub async fn act(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ActionIn>,
) -> AppResult<Json<DossierOut>> {
    principal.check_csrf(csrf_header(&headers))?;
    let files = decode_files(body.files, st.config.max_file_bytes)?;
    let d = st
        .act(
            &principal,
            id,
            body.action,
            ActInput {
                version: body.version,
                reason: body.reason,
                to_agency_id: body.to_agency_id,
                to_user_id: body.to_user_id,
                files,
            },
        )
        .await?;
    Ok(Json(dossier_out(&st, &d)))
}

#[derive(Deserialize, ToSchema)]
pub struct ClaimIn {
    pub version: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/dossiers/{id}/claim", request_body = ClaimIn, responses((status = 200, body = DossierOut), (status = 403, body = Problem), (status = 409, body = Problem)), tag = "dossiers")]
pub async fn claim(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ClaimIn>,
) -> AppResult<Json<DossierOut>> {
    principal.check_csrf(csrf_header(&headers))?;
    let d = st.claim(&principal, id, body.version).await?;
    Ok(Json(dossier_out(&st, &d)))
}

#[derive(Deserialize, ToSchema)]
pub struct ApologyIn {
    pub new_appointment_date: NaiveDate,
    pub reason: String,
    pub version: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/dossiers/{id}/apology", request_body = ApologyIn, responses((status = 200, body = DossierOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), tag = "dossiers")]
pub async fn apology(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ApologyIn>,
) -> AppResult<Json<DossierOut>> {
    principal.check_csrf(csrf_header(&headers))?;
    let d = st.apologise(&principal, id, body.version, body.new_appointment_date, &body.reason).await?;
    Ok(Json(dossier_out(&st, &d)))
}

#[derive(Deserialize, ToSchema)]
pub struct RatingIn {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: i64,
    #[serde(default)]
    pub comment: String,
}

#[utoipa::path(post, path = "/api/v1/dossiers/{id}/rating", request_body = RatingIn, responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), tag = "dossiers")]
pub async fn rate(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<RatingIn>,
) -> AppResult<StatusCode> {
    principal.check_csrf(csrf_header(&headers))?;
    st.rate(&principal, id, body.score, &body.comment).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct QueueCount {
    pub queue: String,
    pub count: i64,
}

#[utoipa::path(get, path = "/api/v1/queues", responses((status = 200, body = [QueueCount]), (status = 403, body = Problem)), tag = "back office")]
pub async fn queue_counts(State(st): State<AppState>, principal: Principal) -> AppResult<Json<Vec<QueueCount>>> {
    if !principal.is_officer() {
        return Err(AppError::Forbidden("queues are for officials".into()));
    }
    let c = st
        .store
        .queue_counts(&principal.working_agencies(), principal.user.id, today(), st.soon(), crate::app::QUEUE_COUNT_CAP)
        .await?;
    Ok(Json(c.into_iter().map(|(q, n)| QueueCount { queue: q.as_str().into(), count: n }).collect()))
}

#[utoipa::path(get, path = "/api/v1/queues/{queue}", params(("queue" = String, Path, description = "new, mine, due_soon, overdue, waiting or open"), Page),
    responses((status = 200, body = [DossierLine]), (status = 403, body = Problem), (status = 404, body = Problem)), tag = "back office")]
pub async fn queue(
    State(st): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
    Query(p): Query<Page>,
) -> AppResult<Json<Vec<DossierLine>>> {
    let q = Queue::parse(&name).ok_or(AppError::NotFound("queue"))?;
    let rows = st.queue(&principal, q, p.limit.unwrap_or(50), p.offset.unwrap_or(0)).await?;
    Ok(Json(rows.into_iter().map(line).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginIn {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    pub user_id: i64,
    pub display_name: String,
    pub kind: String,
    /// Send as `X-CSRF-Token` on state-changing requests made with the session cookie.
    pub csrf_token: String,
}

/// Verifies a password, with rate limiting per account and client.
pub async fn check_login(st: &AppState, username: &str, password: &str, client: &str) -> AppResult<sen_store::User> {
    let key = format!("{}|{client}", username.trim().to_lowercase());
    st.limiter.check(&key)?;
    let user = st.store.user_by_username(username.trim()).await.ok();
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = password.to_string();
    // Verify even for unknown accounts, so timing does not reveal which exist.
    let ok = tokio::task::spawn_blocking(move || {
        sen_domain::password::verify(&password, hash.as_deref().unwrap_or(DUMMY_HASH))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    match user {
        Some(u) if ok && !u.disabled => {
            st.limiter.succeeded(&key);
            Ok(u)
        }
        _ => {
            st.limiter.failed(&key);
            Err(AppError::Forbidden("wrong username or password".into()))
        }
    }
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2VuLWR1bW15LXNhbHQ$Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0";

/// Opens a session and returns the cookie jar with it.
pub async fn open_session(st: &AppState, jar: CookieJar, user_id: i64) -> AppResult<(CookieJar, String)> {
    let token = random_token();
    let csrf = random_token();
    st.store
        .create_session(&token, user_id, &csrf, Utc::now() + chrono::Duration::hours(crate::auth::SESSION_HOURS))
        .await?;
    Ok((jar.add(session_cookie(token, st.config.secure_cookies)), csrf))
}

pub fn client_of(headers: &HeaderMap) -> String {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or("direct")
        .trim()
        .to_string()
}

#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginIn, responses((status = 200, body = LoginOut), (status = 403, body = Problem), (status = 429, body = Problem)), tag = "accounts")]
pub async fn login(
    State(st): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginIn>,
) -> AppResult<Response> {
    let u = check_login(&st, &body.username, &body.password, &client_of(&headers)).await?;
    let (jar, csrf) = open_session(&st, jar, u.id).await?;
    Ok((jar, Json(LoginOut { user_id: u.id, display_name: u.display_name, kind: u.kind, csrf_token: csrf }))
        .into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct TokenIn {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    pub id: i64,
    /// Shown once: send as `Authorization: Bearer …`.
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/tokens", request_body = TokenIn, responses((status = 201, body = TokenOut), (status = 401, body = Problem)), tag = "accounts",
    description = "Issues an API token for a system client acting as the caller. Only its hash is stored.")]
pub async fn create_token(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TokenIn>,
) -> AppResult<Response> {
    principal.check_csrf(csrf_header(&headers))?;
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(AppError::field("name", "required", "name the client (1 to 100 characters)"));
    }
    let token = format!("sen_{}", random_token());
    let id = st.store.create_api_token(&token, principal.user.id, body.name.trim()).await?;
    st.store
        .record(
            &st.actor(&principal, None),
            "api_token.create",
            "api_token",
            &id.to_string(),
            serde_json::json!({"name": body.name}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(TokenOut { id, token })).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct AgencyOut {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub kind: String,
    pub level: String,
    pub province_code: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct AgencyParams {
    pub kind: Option<String>,
    pub province: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/agencies", params(AgencyParams), responses((status = 200, body = [AgencyOut])), tag = "catalogue")]
pub async fn agencies(State(st): State<AppState>, Query(p): Query<AgencyParams>) -> AppResult<Json<Vec<AgencyOut>>> {
    let rows = match &p.kind {
        Some(k) => st.store.agencies_of_kind(k, p.province.as_deref()).await?,
        None => st.store.agencies().await?,
    };
    Ok(Json(
        rows.into_iter()
            .filter(|a| p.province.is_none() || a.province_code == p.province)
            .map(|a| AgencyOut {
                id: a.id,
                code: a.code,
                name: a.name,
                name_en: a.name_en,
                kind: a.kind,
                level: a.level,
                province_code: a.province_code,
            })
            .collect(),
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CalendarDayIo {
    pub date: NaiveDate,
    pub name: String,
    /// `true` for a make-up working day on a weekend; `false` for a day off.
    #[serde(default)]
    pub working: bool,
}

#[utoipa::path(get, path = "/api/v1/calendar", responses((status = 200, body = [CalendarDayIo])), tag = "catalogue",
    description = "Public holidays and make-up working days used to count deadlines in working days.")]
pub async fn get_calendar(State(st): State<AppState>) -> AppResult<Json<Vec<CalendarDayIo>>> {
    let days = st.store.holidays().await?;
    Ok(Json(days.into_iter().map(|d| CalendarDayIo { date: d.date, name: d.name, working: d.working }).collect()))
}

#[utoipa::path(put, path = "/api/v1/calendar", request_body = [CalendarDayIo], responses((status = 200, body = [CalendarDayIo]), (status = 403, body = Problem)), tag = "catalogue",
    description = "Replaces the calendar (system administrators). Lunar holidays and extra days are announced yearly.")]
pub async fn put_calendar(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    JsonBody(days): JsonBody<Vec<CalendarDayIo>>,
) -> AppResult<Json<Vec<CalendarDayIo>>> {
    principal.check_csrf(csrf_header(&headers))?;
    if !principal.is_admin() {
        return Err(AppError::Forbidden("only system administrators edit the calendar".into()));
    }
    if days.len() > 2000 {
        return Err(AppError::bad("too_many_days", "at most 2000 calendar days"));
    }
    let days: Vec<sen_domain::calendar::CalendarDay> = days
        .into_iter()
        .map(|d| sen_domain::calendar::CalendarDay { date: d.date, name: d.name, working: d.working })
        .collect();
    st.store.set_holidays(&days).await?;
    st.store
        .record(
            &st.actor(&principal, None),
            "calendar.replace",
            "calendar",
            "vn",
            serde_json::json!({"days": days.len()}),
        )
        .await?;
    *st.calendar.write().expect("calendar lock") = std::sync::Arc::new(sen_domain::Calendar::new(&days));
    get_calendar(State(st)).await
}

async fn not_found() -> AppError {
    AppError::NotFound("endpoint")
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(crate::openapi::serve))
        .route("/procedures", get(list_procedures).post(create_procedure))
        .route("/procedures/{id}", get(get_procedure).put(update_procedure))
        .route("/procedures/{id}/forms/{version}", get(get_form))
        .route("/agencies", get(agencies))
        .route("/calendar", get(get_calendar).put(put_calendar))
        .route("/dossiers", get(my_dossiers).post(submit))
        .route("/dossiers/{id}", get(get_dossier))
        .route("/dossiers/{id}/events", get(events))
        .route("/dossiers/{id}/reads", get(reads))
        .route("/dossiers/{id}/files", get(files))
        .route("/dossiers/{id}/actions", post(act))
        .route("/dossiers/{id}/claim", post(claim))
        .route("/dossiers/{id}/apology", post(apology))
        .route("/dossiers/{id}/rating", post(rate))
        .route("/lookup/{code}", get(lookup))
        .route("/queues", get(queue_counts))
        .route("/queues/{queue}", get(queue))
        .route("/auth/login", post(login))
        .route("/auth/tokens", post(create_token))
        .merge(crate::trust_http::api_routes())
        .merge(crate::exchange_http::api_routes())
        .merge(crate::consent_http::api_routes())
        .merge(crate::data_reads_http::api_routes())
        .merge(crate::once_only::api_routes())
        .merge(crate::proactive_http::api_routes())
        .merge(crate::bundle_http::api_routes())
        .merge(crate::petitions_http::api_routes())
        .merge(crate::recommend_http::api_routes())
        .merge(crate::plan_http::api_routes())
        .merge(crate::quality_http::api_routes())
        .merge(crate::usage_http::api_routes())
        .route("/dossiers/{id}/completeness", get(crate::completeness_http::api))
        .route("/assistant/ask", axum::routing::post(crate::assistant_http::ask))
        .route("/assistant/feedback", axum::routing::post(crate::assistant_http::feedback))
        .fallback(not_found)
}
