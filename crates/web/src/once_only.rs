//! Once-only in the dossier flow (issue #4, Decree 47/2020): the applicant asks that what
//! the state holds be fetched for a procedure (an *explicit request*, kept apart from
//! consent), previews it, and confirms; the form is then pre-filled, and documents a
//! registry holds are not uploaded. The portal reads the registries only through its own
//! exchange gateway, naming the procedure as the purpose (`X-Road-Issue`), so each read
//! lands in the person's "who read my data".
//!
//! Routes: `POST /procedures/{id}/evidence` (ask), `GET /procedures/{id}/evidence/{batch}`
//! (preview), `POST …/{batch}/confirm` (confirm, then back to the pre-filled form); the same
//! under `/api/v1/procedures/{id}/evidence`. `GET /api/v1/dossiers/{id}/components` tells
//! where each component of a dossier came from, and `GET /api/v1/stats/reuse` gives the
//! reuse figures per procedure, agency and month (programme target K2).

use crate::AppState;
use crate::app::is_filled_online;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, fmt_time, html_page};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use sen_domain::evidence::{Evidence, EvidenceError, Fact, Provenance, Registry, Subject};
use sen_domain::procedure::ProcedureSpec;
use sen_store::dossiers::NewFile;
use sen_store::evidence::{ComponentRecord, FetchStatus, FetchedEvidenceRow, NewFetchedEvidence};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use utoipa::ToSchema;

/// How long the portal waits for one registry.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// The largest registry answer the portal reads.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// The registries a procedure's components use, in the order they first appear.
pub fn registries_of(spec: &ProcedureSpec) -> Vec<Registry> {
    let mut out: Vec<Registry> = Vec::new();
    for s in spec.components.iter().flat_map(|c| &c.evidence) {
        if !out.contains(&s.registry) {
            out.push(s.registry);
        }
    }
    out
}

/// The procedures whose issued results a procedure takes from the applicant's wallet.
pub fn wallet_results_of(spec: &ProcedureSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in spec.components.iter().flat_map(|c| &c.evidence) {
        if let (Registry::Wallet, Some(code)) = (s.registry, &s.result_of)
            && !out.contains(code)
        {
            out.push(code.clone());
        }
    }
    out
}

/// The `service` a wallet answer is kept under: `wallet/<procedure code>`.
pub fn wallet_service(result_of: &str) -> String {
    format!("wallet/{result_of}")
}

/// Whether a fetched answer is the one a source asks for.
fn answers(row: &FetchedEvidenceRow, s: &sen_domain::evidence::EvidenceSource) -> bool {
    row.registry() == Some(s.registry)
        && (s.registry != Registry::Wallet || s.result_of.as_deref().map(wallet_service) == Some(row.service.clone()))
}

/// The form values confirmed evidence gives, field by field (first source wins).
pub fn prefill(spec: &ProcedureSpec, rows: &[FetchedEvidenceRow]) -> HashMap<String, String> {
    let found = found_evidence(rows);
    let mut values = HashMap::new();
    for s in spec.components.iter().flat_map(|c| &c.evidence) {
        if let Some((_, e)) = found.iter().find(|(r, _)| answers(r, s)) {
            for (field, value) in s.values(e) {
                values.entry(field.to_string()).or_insert_with(|| value.to_string());
            }
        }
    }
    values
}

fn found_evidence(rows: &[FetchedEvidenceRow]) -> Vec<(&FetchedEvidenceRow, Evidence)> {
    rows.iter().filter(|r| r.status() == FetchStatus::Found).filter_map(|r| Some((r, r.evidence()?))).collect()
}

/// Where each component of a submission comes from: an upload, the e-form, or a registry's
/// record that stands in for the document. Declarations pre-filled from a registry get an
/// extra `prefill` row naming the fields whose submitted values are the fetched ones.
/// Optional components neither uploaded nor fetched get no row.
pub fn provenance(
    spec: &ProcedureSpec,
    data: &Value,
    files: &[NewFile],
    rows: &[FetchedEvidenceRow],
) -> Vec<ComponentRecord> {
    let found = found_evidence(rows);
    let mut out = Vec::new();
    for c in &spec.components {
        let mut fetched: Option<ComponentRecord> = None;
        let mut prefills = Vec::new();
        for s in &c.evidence {
            let Some((row, e)) = found.iter().find(|(r, _)| answers(r, s)) else { continue };
            let fields: Vec<String> = s
                .values(e)
                .filter(|(field, value)| submitted(data, field).as_deref() == Some(*value))
                .map(|(field, _)| field.to_string())
                .collect();
            if s.replaces_document && fetched.is_none() {
                fetched = Some(ComponentRecord::from_registry(&c.name, Provenance::Fetched, row, fields));
            } else {
                prefills.push(ComponentRecord::from_registry(&c.name, Provenance::Prefill, row, fields));
            }
        }
        let uploaded = files.iter().any(|f| f.component == c.name);
        if is_filled_online(&c.name) {
            out.push(ComponentRecord::provided(&c.name, Provenance::Form));
        } else if uploaded {
            // The applicant chose to upload: their document is what the dossier holds; the
            // record fetched for it may still have filled fields.
            out.push(ComponentRecord::provided(&c.name, Provenance::Upload));
            prefills.extend(fetched.map(|f| ComponentRecord { source: Provenance::Prefill, ..f }));
        } else if let Some(f) = fetched {
            out.push(f);
        } else {
            continue;
        }
        out.extend(prefills.into_iter().filter(|p| !p.fields.is_empty()));
    }
    out
}

/// A submitted value as the form shows it.
fn submitted(data: &Value, field: &str) -> Option<String> {
    match data.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn subject_of(principal: &Principal) -> AppResult<Subject> {
    let (kind, id) = crate::consent_http::subject(principal)?;
    Ok(match kind.as_str() {
        "enterprise" => Subject::Enterprise(id),
        _ => Subject::Person(id),
    })
}

/// One registry's answer, as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FetchedOut {
    /// `residence`, `civil-status`, `enterprises`, `insurance` or `land`.
    pub registry: String,
    pub registry_name: String,
    /// The registry service, `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub service: String,
    /// `found`, `not_found` or `unavailable`.
    pub status: String,
    pub record_id: Option<String>,
    pub facts: Vec<Fact>,
    /// The exchange message that carried it (`X-Road-Id`).
    pub message_id: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceBatchOut {
    /// Names this request; pass it as `evidence_batch` when submitting, once confirmed.
    pub batch: String,
    pub procedure_id: i64,
    pub answers: Vec<FetchedOut>,
    /// E-form values the confirmed data fills.
    #[schema(value_type = Object)]
    pub prefill: HashMap<String, String>,
}

fn batch_out(spec: &ProcedureSpec, procedure_id: i64, batch: &str, rows: &[FetchedEvidenceRow]) -> EvidenceBatchOut {
    EvidenceBatchOut {
        batch: batch.to_string(),
        procedure_id,
        answers: rows
            .iter()
            .map(|r| FetchedOut {
                registry: r.registry.clone(),
                registry_name: r.registry().map(Registry::label_vi).unwrap_or_default().to_string(),
                service: r.service.clone(),
                status: r.status.clone(),
                record_id: r.record_id.clone(),
                facts: r.evidence().map(|e| e.facts).unwrap_or_default(),
                message_id: r.message_id.clone(),
                fetched_at: r.fetched_at,
                confirmed_at: r.confirmed_at,
            })
            .collect(),
        prefill: prefill(spec, rows),
    }
}

impl AppState {
    /// The explicit request: asks every registry the procedure uses, through the portal's
    /// gateway, for the applicant's own records. Returns the batch of answers.
    pub async fn fetch_evidence(&self, principal: &Principal, procedure_id: i64) -> AppResult<String> {
        let subject = subject_of(principal)?;
        let p = self.procedure(procedure_id)?;
        let spec = p.spec();
        let registries: Vec<Registry> = registries_of(&spec).into_iter().filter(|r| r.through_exchange()).collect();
        let wallet = wallet_results_of(&spec);
        if registries.is_empty() && wallet.is_empty() {
            return Err(AppError::bad(
                "no_registry_data",
                "the state holds no document of this procedure in a registry",
            ));
        }
        // Without the exchange only the wallet can answer; the registries are named unavailable.
        let exchange = match (&self.config.exchange, wallet.is_empty()) {
            (Some(x), _) => Some(x.clone()),
            (None, false) => None,
            (None, true) => {
                return Err(AppError::bad(
                    "exchange_not_configured",
                    "this portal is not connected to the data exchange",
                ));
            }
        };
        let connected = exchange.is_some();
        let gateway = exchange.as_ref().map(|x| x.gateway.trim_end_matches('/').to_string()).unwrap_or_default();
        let client = exchange.as_ref().map(|x| x.client.clone()).unwrap_or_default();
        let calls: Vec<_> = registries
            .iter()
            .map(|&registry| {
                let service = crate::registry_http::REGISTRY_SERVICES
                    .iter()
                    .find(|s| s.code == registry.service_code())
                    .map(|s| s.id())
                    .unwrap_or_default();
                let path = registry.path(&subject);
                let request = path.as_ref().ok().filter(|_| connected).map(|path| {
                    self.http
                        .get(format!("{gateway}/r1/{service}{path}"))
                        .timeout(FETCH_TIMEOUT)
                        .header("X-Road-Client", &client)
                        .header("X-Road-Issue", &spec.code)
                });
                let subject = subject.clone();
                tokio::spawn(async move {
                    let fetched_at = Utc::now();
                    let mut answer = NewFetchedEvidence {
                        registry,
                        service,
                        status: FetchStatus::NotFound,
                        evidence: None,
                        digest: None,
                        message_id: None,
                        fetched_at,
                    };
                    if !connected {
                        answer.status = FetchStatus::Unavailable;
                        return answer;
                    }
                    let Some(request) = request else { return answer };
                    answer.status = FetchStatus::Unavailable;
                    let Ok(response) = request.send().await else { return answer };
                    answer.message_id =
                        response.headers().get("x-road-id").and_then(|v| v.to_str().ok()).map(str::to_string);
                    let status = response.status();
                    let exchange_error = response.headers().contains_key("x-road-error");
                    if status == reqwest::StatusCode::NOT_FOUND && !exchange_error {
                        answer.status = FetchStatus::NotFound;
                        return answer;
                    }
                    if !status.is_success() {
                        return answer;
                    }
                    let Ok(body) = response.bytes().await else { return answer };
                    if body.len() > MAX_ANSWER_BYTES {
                        return answer;
                    }
                    answer.digest = Some(hex::encode(Sha256::digest(&body)));
                    let Ok(json) = serde_json::from_slice::<Value>(&body) else { return answer };
                    match registry.read(&subject, &json) {
                        Ok(e) => {
                            answer.status = FetchStatus::Found;
                            answer.evidence = Some(e);
                        }
                        Err(EvidenceError::NotFound | EvidenceError::WrongSubject(_)) => {
                            answer.status = FetchStatus::NotFound
                        }
                        Err(EvidenceError::Malformed(what)) => {
                            tracing::warn!(
                                registry = registry.service_code(),
                                what,
                                "a registry answered out of its description"
                            );
                        }
                    }
                    answer
                })
            })
            .collect();
        let mut answers = Vec::with_capacity(calls.len() + wallet.len());
        for call in calls {
            answers.push(call.await.map_err(|e| AppError::Internal(e.to_string()))?);
        }
        for code in &wallet {
            answers.push(self.wallet_answer(principal, &subject, code).await?);
        }
        Ok(self.store.record_fetched_evidence(principal.user.id, p.id, &answers).await?)
    }

    /// The applicant's own issued result of procedure `code`, from the portal's database.
    async fn wallet_answer(
        &self,
        principal: &Principal,
        subject: &Subject,
        code: &str,
    ) -> AppResult<NewFetchedEvidence> {
        let fetched_at = Utc::now();
        let mut answer = NewFetchedEvidence {
            registry: Registry::Wallet,
            service: wallet_service(code),
            status: FetchStatus::NotFound,
            evidence: None,
            digest: None,
            message_id: None,
            fetched_at,
        };
        let Some(r) = self.store.wallet_result(principal.user.id, code).await? else { return Ok(answer) };
        let data: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
        let titles: serde_json::Map<String, Value> =
            match self.catalogue().form(&self.store, r.procedure_id, r.form_version).await {
                Ok(form) => form.fields().iter().map(|f| (f.name.clone(), Value::String(f.title_vi.clone()))).collect(),
                Err(_) => serde_json::Map::new(),
            };
        let json = serde_json::json!({
            "result": {"verification_code": r.verification_code, "document": r.document,
                "issued_on": r.issued_at.with_timezone(&crate::app::vn_offset()).date_naive().to_string(),
                "dossier_code": r.dossier_code},
            "data": data, "titles": titles,
        });
        answer.digest = Some(hex::encode(Sha256::digest(json.to_string().as_bytes())));
        if let Ok(e) = Registry::Wallet.read(subject, &json) {
            answer.status = FetchStatus::Found;
            answer.evidence = Some(e);
        }
        Ok(answer)
    }

    /// One of the applicant's own requests for this procedure.
    pub async fn evidence_batch(
        &self,
        principal: &Principal,
        procedure_id: i64,
        batch: &str,
    ) -> AppResult<Vec<FetchedEvidenceRow>> {
        let rows = self.store.fetched_evidence(principal.user.id, batch).await?;
        if rows.is_empty() || rows.iter().any(|r| r.procedure_id != procedure_id) {
            return Err(AppError::NotFound("evidence request"));
        }
        Ok(rows)
    }

    /// A confirmed request, still fresh enough to be used in a submission now.
    pub async fn usable_evidence(
        &self,
        principal: &Principal,
        procedure_id: i64,
        batch: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<FetchedEvidenceRow>> {
        let rows = self.evidence_batch(principal, procedure_id, batch).await.map_err(|_| {
            AppError::field("evidence_batch", "not_found", "no such request for data of this procedure")
        })?;
        if rows.iter().any(|r| r.confirmed_at.is_none()) {
            return Err(AppError::field(
                "evidence_batch",
                "not_confirmed",
                "preview and confirm the fetched data first",
            ));
        }
        if !rows.iter().all(|r| r.usable_at(now)) {
            return Err(AppError::field("evidence_batch", "expired", "the fetched data is too old: ask for it again"));
        }
        Ok(rows)
    }

    pub async fn confirm_evidence(&self, principal: &Principal, procedure_id: i64, batch: &str) -> AppResult<()> {
        self.evidence_batch(principal, procedure_id, batch).await?;
        self.store.confirm_evidence(principal.user.id, batch, Utc::now()).await?;
        Ok(())
    }
}

// ---- API ----

#[utoipa::path(post, path = "/api/v1/procedures/{id}/evidence",
    params(("id" = i64, Path, description = "procedure")),
    responses((status = 201, body = EvidenceBatchOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    tag = "once-only")]
pub async fn api_fetch(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    principal.check_csrf(crate::api::csrf_header(&headers))?;
    let batch = st.fetch_evidence(&principal, id).await?;
    let rows = st.evidence_batch(&principal, id, &batch).await?;
    let spec = st.procedure(id)?.spec();
    Ok((StatusCode::CREATED, Json(batch_out(&spec, id, &batch, &rows))).into_response())
}

#[utoipa::path(get, path = "/api/v1/procedures/{id}/evidence/{batch}",
    params(("id" = i64, Path, description = "procedure"), ("batch" = String, Path)),
    responses((status = 200, body = EvidenceBatchOut), (status = 404, body = Problem)), tag = "once-only")]
pub async fn api_show(
    State(st): State<AppState>,
    principal: Principal,
    Path((id, batch)): Path<(i64, String)>,
) -> AppResult<Json<EvidenceBatchOut>> {
    let rows = st.evidence_batch(&principal, id, &batch).await?;
    let spec = st.procedure(id)?.spec();
    Ok(Json(batch_out(&spec, id, &batch, &rows)))
}

#[utoipa::path(post, path = "/api/v1/procedures/{id}/evidence/{batch}/confirm",
    params(("id" = i64, Path, description = "procedure"), ("batch" = String, Path)),
    responses((status = 200, body = EvidenceBatchOut), (status = 404, body = Problem)), tag = "once-only")]
pub async fn api_confirm(
    State(st): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, batch)): Path<(i64, String)>,
) -> AppResult<Json<EvidenceBatchOut>> {
    principal.check_csrf(crate::api::csrf_header(&headers))?;
    st.confirm_evidence(&principal, id, &batch).await?;
    let rows = st.evidence_batch(&principal, id, &batch).await?;
    let spec = st.procedure(id)?.spec();
    Ok(Json(batch_out(&spec, id, &batch, &rows)))
}

/// Where one component of a dossier came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentOut {
    pub component: String,
    /// `upload`, `form`, `fetched` or `prefill`.
    pub source: String,
    pub registry: Option<String>,
    pub service: Option<String>,
    pub record_id: Option<String>,
    pub fetched_at: Option<DateTime<Utc>>,
    /// The exchange message that carried it (`X-Road-Id`).
    pub message_id: Option<String>,
    /// SHA-256 of the registry's answer.
    pub digest: Option<String>,
    pub fields: Vec<String>,
}

impl From<ComponentRecord> for ComponentOut {
    fn from(c: ComponentRecord) -> Self {
        ComponentOut {
            component: c.component,
            source: c.source.as_str().into(),
            registry: c.registry.map(|r| r.service_code().to_string()),
            service: c.service,
            record_id: c.record_id,
            fetched_at: c.fetched_at,
            message_id: c.message_id,
            digest: c.digest,
            fields: c.fields,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}/components",
    params(("id" = i64, Path, description = "dossier")),
    responses((status = 200, body = [ComponentOut]), (status = 403, body = Problem), (status = 404, body = Problem)), tag = "once-only")]
pub async fn api_components(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<ComponentOut>>> {
    let (d, _) = st.open_dossier(&principal, id, "api: xem nguồn thành phần hồ sơ").await?;
    Ok(Json(st.store.dossier_components(d.id).await?.into_iter().map(ComponentOut::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct ReuseQuery {
    /// The first month counted, `YYYY-MM`; by default twelve months back.
    pub from: Option<String>,
}

/// Reuse of data the state holds, for one procedure at one agency in one month.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReuseOut {
    pub month: String,
    pub procedure_id: i64,
    pub procedure_code: String,
    pub procedure_name: String,
    pub agency_id: i64,
    /// Documents fetched from a registry instead of uploaded.
    pub fetched: i64,
    pub uploaded: i64,
    /// Declarations with fields pre-filled from a registry.
    pub prefilled: i64,
    /// fetched / (fetched + uploaded): the share of documents provided only once (K2).
    pub fetched_share: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReuseFiguresOut {
    pub from: String,
    pub figures: Vec<ReuseOut>,
    /// Over every row: documents fetched / documents provided (K2).
    pub fetched_share: Option<f64>,
    /// Results issued so far (all time).
    pub results_issued: i64,
    /// Of those, results a later dossier took from its applicant's wallet.
    pub results_reused: i64,
    /// results_reused / results_issued (K7).
    pub results_reused_share: Option<f64>,
}

fn share(fetched: i64, uploaded: i64) -> Option<f64> {
    (fetched + uploaded > 0).then(|| fetched as f64 / (fetched + uploaded) as f64)
}

impl AppState {
    /// Reuse figures per procedure, agency and month; officers and administrators only.
    pub async fn reuse_figures(&self, principal: &Principal, from: Option<&str>) -> AppResult<ReuseFiguresOut> {
        if principal.is_applicant() {
            return Err(AppError::Forbidden("reuse figures are for officers and administrators".into()));
        }
        let from = match from {
            Some(m) if chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok() && m.len() == 7 => {
                m.to_string()
            }
            Some(_) => return Err(AppError::bad("invalid_month", "from is a month, YYYY-MM")),
            None => {
                let t = crate::app::today();
                let back = t.checked_sub_months(chrono::Months::new(11)).unwrap_or(t);
                back.format("%Y-%m").to_string()
            }
        };
        let catalogue = self.catalogue();
        let figures: Vec<ReuseOut> = self
            .store
            .reuse_figures(&from)
            .await?
            .into_iter()
            .map(|f| {
                let p = catalogue.get(f.procedure_id);
                ReuseOut {
                    fetched_share: share(f.fetched, f.uploaded),
                    month: f.month,
                    procedure_id: f.procedure_id,
                    procedure_code: p.map(|p| p.code.clone()).unwrap_or_default(),
                    procedure_name: p.map(|p| p.name.clone()).unwrap_or_default(),
                    agency_id: f.agency_id,
                    fetched: f.fetched,
                    uploaded: f.uploaded,
                    prefilled: f.prefilled,
                }
            })
            .collect();
        let (fetched, uploaded) = figures.iter().fold((0, 0), |(a, b), f| (a + f.fetched, b + f.uploaded));
        let results = self.store.result_reuse().await?;
        Ok(ReuseFiguresOut {
            from,
            fetched_share: share(fetched, uploaded),
            figures,
            results_issued: results.issued,
            results_reused: results.reused,
            results_reused_share: share(results.reused, results.issued - results.reused),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/stats/reuse", params(("from" = Option<String>, Query, description = "first month, YYYY-MM")),
    responses((status = 200, body = ReuseFiguresOut), (status = 400, body = Problem), (status = 403, body = Problem)), tag = "once-only")]
pub async fn api_reuse(
    State(st): State<AppState>,
    principal: Principal,
    Query(q): Query<ReuseQuery>,
) -> AppResult<Json<ReuseFiguresOut>> {
    Ok(Json(st.reuse_figures(&principal, q.from.as_deref()).await?))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/procedures/{id}/evidence", post(api_fetch))
        .route("/procedures/{id}/evidence/{batch}", get(api_show))
        .route("/procedures/{id}/evidence/{batch}/confirm", post(api_confirm))
        .route("/dossiers/{id}/components", get(api_components))
        .route("/stats/reuse", get(api_reuse))
}

// ---- Pages ----

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// The explicit request, from the application form.
pub async fn page_fetch(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    let batch = st.fetch_evidence(&who, id).await.page(lang)?;
    Ok(Redirect::to(&format!("/procedures/{id}/evidence/{batch}")).into_response())
}

fn registry_name(lang: Lang, r: Option<Registry>, fallback: &str) -> String {
    r.map(|r| lang.t(r.label_vi(), r.label_en()).to_string()).unwrap_or_else(|| fallback.to_string())
}

/// The preview: what each registry holds, before the applicant lets the portal use it.
pub async fn page_preview(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path((id, batch)): Path<(i64, String)>,
) -> PageResult {
    let rows = st.evidence_batch(&who, id, &batch).await.page(lang)?;
    let p = st.procedure(id).page(lang)?;
    let title = lang.t("Xem trước dữ liệu được lấy", "Preview the data fetched");
    let any_found = rows.iter().any(|r| r.status() == FetchStatus::Found);
    let confirmed = rows.iter().all(|r| r.confirmed_at.is_some());
    let body = html! {
        h1 { (title) }
        p { (lang.t("Thủ tục: ", "Procedure: ")) strong { (lang.t(&p.name, &p.name_en)) } " (" (p.code) ")" }
        p { (lang.t(
            "Theo yêu cầu của bạn, Cổng đã hỏi các cơ sở dữ liệu dưới đây qua nền tảng trao đổi dữ liệu. Mỗi lượt đọc được ghi vào mục \"Ai đã đọc dữ liệu của tôi\". Hãy kiểm tra trước khi dùng.",
            "At your request the portal asked the databases below through the data exchange. Each read appears in \"Who read my data\". Check it before it is used.")) }
        @for r in &rows {
            section.evidence aria-labelledby={"ev-" (r.id)} {
                h2 id={"ev-" (r.id)} { (registry_name(lang, r.registry(), &r.registry)) }
                @match r.status() {
                    FetchStatus::Found => {
                        @if let Some(e) = r.evidence() {
                            dl {
                                @for f in &e.facts { dt { (lang.t(&f.label_vi, &f.label_en)) } dd { (f.value) } }
                            }
                            p.hint { (lang.t("Mã bản ghi: ", "Record: ")) code { (e.record_id) } " · " (fmt_time(r.fetched_at))
                                @if let Some(m) = &r.message_id { " · " (lang.t("thông điệp ", "message ")) code { (m) } } }
                        }
                    }
                    FetchStatus::NotFound => { p.notice role="status" { (lang.t(
                        "Cơ sở dữ liệu này không có bản ghi của bạn: bạn sẽ tự khai hoặc đính kèm giấy tờ.",
                        "This database holds no record of yours: you will fill in or attach the document yourself.")) } }
                    FetchStatus::Unavailable => { p.notice role="status" { (lang.t(
                        "Chưa hỏi được cơ sở dữ liệu này lúc này: bạn có thể thử lại, hoặc tự khai, đính kèm giấy tờ.",
                        "This database could not be asked just now: try again, or fill in and attach the document yourself.")) } }
                }
            }
        }
        @if any_found && !confirmed {
            form method="post" action={"/procedures/" (id) "/evidence/" (batch) "/confirm"} {
                input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
                button type="submit" { (lang.t("Dùng dữ liệu này cho hồ sơ", "Use this data in my application")) }
            }
        } @else if confirmed {
            p { a href={"/procedures/" (id) "/apply?evidence=" (batch)} { (lang.t("Tiếp tục điền tờ khai", "Continue to the form")) } }
        }
        p { a href={"/procedures/" (id) "/apply"} { (lang.t("Không dùng, tự khai và đính kèm giấy tờ", "Do not use it; I will fill in and attach documents myself")) } }
    };
    Ok(html_page(lang, None, Some(&who), title, body))
}

pub async fn page_confirm(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path((id, batch)): Path<(i64, String)>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    st.confirm_evidence(&who, id, &batch).await.page(lang)?;
    Ok(Redirect::to(&format!("/procedures/{id}/apply?evidence={batch}")).into_response())
}

/// The once-only part of the application form: the explicit request (its own form, placed
/// before the application form), or what a confirmed request gave.
pub fn request_box(
    st: &AppState,
    lang: Lang,
    who: &Principal,
    procedure_id: i64,
    spec: &ProcedureSpec,
    confirmed: &[FetchedEvidenceRow],
) -> Markup {
    let registries = registries_of(spec);
    if registries.is_empty() {
        return html! {};
    }
    html! {
        section.once-only aria-labelledby="once-only-title" {
            h2 #once-only-title { (lang.t("Dữ liệu Nhà nước đã có", "Data the state already holds")) }
            @if confirmed.is_empty() {
                @if st.config.exchange.is_some() || registries.iter().all(|r| !r.through_exchange()) {
                    p { (lang.t(
                        "Bạn không phải khai lại hay nộp lại giấy tờ mà cơ quan nhà nước đã có. Bấm nút dưới đây để Cổng lấy dữ liệu của bạn từ:",
                        "You need not declare or upload again what the state already holds. Press the button to have the portal fetch your data from:")) }
                    ul { @for r in &registries { li { (lang.t(r.label_vi(), r.label_en())) } } }
                    form method="post" action={"/procedures/" (procedure_id) "/evidence"} {
                        input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
                        button type="submit" { (lang.t("Lấy dữ liệu của tôi", "Fetch my data")) }
                    }
                } @else {
                    p.notice role="status" { (lang.t(
                        "Cổng này chưa kết nối nền tảng trao đổi dữ liệu: hãy tự khai và đính kèm giấy tờ.",
                        "This portal is not connected to the data exchange yet: fill in and attach documents yourself.")) }
                }
            } @else {
                p { (lang.t("Hồ sơ dùng dữ liệu bạn đã xem và xác nhận:", "This application uses the data you previewed and confirmed:")) }
                ul {
                    @for r in confirmed.iter().filter(|r| r.status() == FetchStatus::Found) {
                        li { (registry_name(lang, r.registry(), &r.registry)) ": " code { (r.record_id.clone().unwrap_or_default()) } " (" (fmt_time(r.fetched_at)) ")" }
                    }
                }
            }
        }
    }
}

/// Reuse figures as a page: the share of documents fetched instead of uploaded, per
/// procedure over the period (drawn as bars), and month by month.
pub async fn reuse_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Query(q): Query<ReuseQuery>,
) -> PageResult {
    let out = st.reuse_figures(&who, q.from.as_deref()).await.page(lang)?;
    let title = lang.t("Tái sử dụng dữ liệu (chỉ tiêu K2)", "Data reuse (target K2)");
    let catalogue = st.catalogue();
    let agency = |id: i64| catalogue.agencies.iter().find(|a| a.id == id).map(|a| a.name.clone()).unwrap_or_default();
    // Per procedure over the whole period, largest volume first.
    let mut per_procedure: Vec<(String, i64, i64)> = Vec::new();
    for f in &out.figures {
        match per_procedure.iter_mut().find(|(name, _, _)| *name == f.procedure_name) {
            Some(p) => {
                p.1 += f.fetched;
                p.2 += f.uploaded;
            }
            None => per_procedure.push((f.procedure_name.clone(), f.fetched, f.uploaded)),
        }
    }
    per_procedure.retain(|(_, a, b)| a + b > 0);
    per_procedure.sort_by_key(|(_, a, b)| std::cmp::Reverse(a + b));
    per_procedure.truncate(15);
    let pct = |x: Option<f64>| x.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "—".into());
    let (row_h, label_w, bar_w) = (28, 360, 400);
    let body = html! {
        h1 { (title) }
        p { (lang.t(
            "Tỷ lệ giấy tờ được lấy từ cơ sở dữ liệu thay vì người dân, doanh nghiệp phải nộp lại, tính từ nguồn của từng thành phần hồ sơ đã nộp.",
            "The share of documents fetched from the databases instead of uploaded again by people and businesses, computed from where each submitted component came from.")) }
        form method="get" action="/admin/reuse" {
            div.field { label for="r-from" { (lang.t("Từ tháng (YYYY-MM)", "From month (YYYY-MM)")) } input #r-from type="text" name="from" value=(out.from) pattern="[0-9]{4}-[0-9]{2}"; }
            button type="submit" { (lang.t("Xem", "Show")) }
        }
        p.kpi { (lang.t("Toàn kỳ: ", "Whole period: ")) strong { (pct(out.fetched_share)) } (lang.t(" giấy tờ được lấy thay vì nộp (K2)", " of documents fetched instead of uploaded (K2)")) }
        p.kpi { strong { (pct(out.results_reused_share)) } (lang.t(" kết quả đã cấp được dùng lại trong hồ sơ sau (K7): ", " of issued results used again in a later dossier (K7): ")) (out.results_reused) " / " (out.results_issued) }
        @if per_procedure.is_empty() { p { (lang.t("Chưa có hồ sơ nào trong kỳ.", "No dossier in this period yet.")) } } @else {
            figure {
                figcaption { (lang.t("Tỷ lệ giấy tờ được lấy, theo thủ tục", "Share of documents fetched, by procedure")) }
                svg role="img" aria-label=(lang.t("Biểu đồ tỷ lệ giấy tờ được lấy theo thủ tục", "Chart of the share fetched by procedure"))
                    width=(label_w + bar_w + 80) height=(row_h * per_procedure.len() as i64 + 10) {
                    @for (i, (name, fetched, uploaded)) in per_procedure.iter().enumerate() {
                        @let y = i as i64 * row_h;
                        @let share = *fetched as f64 / (*fetched + *uploaded) as f64;
                        text x="0" y=(y + 18) font-size="13" fill="#1a1a1a" { (name) }
                        rect x=(label_w) y=(y + 4) width=(bar_w) height="18" fill="#e6e6e6" {}
                        rect x=(label_w) y=(y + 4) width=((share * bar_w as f64).round() as i64) height="18" fill="#a3111d" {}
                        text x=(label_w + bar_w + 6) y=(y + 18) font-size="13" fill="#1a1a1a" { (format!("{:.0}%", share * 100.0)) }
                    }
                }
            }
            table {
                caption { (lang.t("Theo tháng, thủ tục và cơ quan", "By month, procedure and agency")) }
                thead { tr {
                    th scope="col" { (lang.t("Tháng", "Month")) }
                    th scope="col" { (lang.t("Thủ tục", "Procedure")) }
                    th scope="col" { (lang.t("Cơ quan", "Agency")) }
                    th scope="col" { (lang.t("Được lấy", "Fetched")) }
                    th scope="col" { (lang.t("Người nộp tải lên", "Uploaded")) }
                    th scope="col" { (lang.t("Tờ khai điền sẵn", "Pre-filled forms")) }
                    th scope="col" { (lang.t("Tỷ lệ được lấy", "Share fetched")) }
                } }
                tbody { @for f in &out.figures {
                    tr { td { (f.month) } td { (f.procedure_code) " " (f.procedure_name) } td { (agency(f.agency_id)) }
                        td { (f.fetched) } td { (f.uploaded) } td { (f.prefilled) } td { (pct(f.fetched_share)) } }
                } }
            }
        }
    };
    Ok(html_page(lang, None, Some(&who), title, body))
}

/// The registry record that stands in for a component, when a confirmed request found one.
pub fn fetched_for<'a>(
    spec: &ProcedureSpec,
    component: &str,
    confirmed: &'a [FetchedEvidenceRow],
) -> Option<&'a FetchedEvidenceRow> {
    let c = spec.components.iter().find(|c| c.name == component)?;
    c.evidence
        .iter()
        .filter(|s| s.replaces_document)
        .find_map(|s| confirmed.iter().find(|r| r.registry() == Some(s.registry) && r.status() == FetchStatus::Found))
}

/// A row of the dossier page's "where each component came from".
pub fn components_table(lang: Lang, rows: &[ComponentRecord]) -> Markup {
    if rows.is_empty() {
        return html! {};
    }
    html! {
        h2 { (lang.t("Nguồn thành phần hồ sơ", "Where each component came from")) }
        table {
            caption.visually-hidden { (lang.t("Nguồn thành phần hồ sơ", "Where each component came from")) }
            thead { tr {
                th scope="col" { (lang.t("Thành phần", "Component")) }
                th scope="col" { (lang.t("Nguồn", "Source")) }
                th scope="col" { (lang.t("Mã bản ghi", "Record")) }
                th scope="col" { (lang.t("Thời điểm lấy", "Fetched at")) }
                th scope="col" { (lang.t("Thông điệp", "Message")) }
            } }
            tbody { @for c in rows {
                tr {
                    td { (c.component) @if !c.fields.is_empty() { br; small { (c.fields.join(", ")) } } }
                    td { (match c.source {
                        Provenance::Upload => lang.t("Người nộp đính kèm", "Uploaded by the applicant").to_string(),
                        Provenance::Form => lang.t("Người nộp khai trực tuyến", "Filled in online by the applicant").to_string(),
                        Provenance::Fetched => format!("{} {}", lang.t("Lấy từ", "Fetched from"), registry_name(lang, c.registry, "")),
                        Provenance::Prefill => format!("{} {}", lang.t("Điền sẵn từ", "Pre-filled from"), registry_name(lang, c.registry, "")),
                    }) }
                    td { @if let Some(r) = &c.record_id { code { (r) } } @else { "—" } }
                    td { @if let Some(t) = c.fetched_at { (fmt_time(t)) } @else { "—" } }
                    td { @if let Some(m) = &c.message_id { code { (m) } } @else { "—" } }
                }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sen_domain::evidence::EvidenceSource;
    use sen_domain::procedure::Component;
    use serde_json::json;

    fn spec() -> ProcedureSpec {
        let comp = |name: &str, evidence| Component {
            name: name.into(),
            quantity: "01 bản".into(),
            mandatory: true,
            template: None,
            evidence,
        };
        let mut s: ProcedureSpec = serde_json::from_value(json!({
            "code": "1.004194", "name": "Đăng ký thường trú", "name_en": "", "sector": "", "level": "commune",
            "agency_kind": "commune_police", "deadline_working_days": 7, "fees": "", "fee_vnd": 0,
            "service_level": "full_process", "applicants": "citizens", "conditions": "", "steps": "",
            "legal_basis": "", "result_document": "", "components": [], "keywords": ""
        }))
        .unwrap();
        s.components = vec![
            comp(
                "Tờ khai CT01",
                vec![EvidenceSource {
                    registry: Registry::Residence,
                    replaces_document: false,
                    fills: [("head_of_household".into(), "household_head_name".into())].into(),
                    result_of: None,
                }],
            ),
            comp(
                "Giấy tờ chứng minh chỗ ở hợp pháp",
                vec![EvidenceSource {
                    registry: Registry::Land,
                    replaces_document: true,
                    fills: [("new_address".into(), "parcel_address".into())].into(),
                    result_of: None,
                }],
            ),
        ];
        s
    }

    fn row(registry: Registry, record: &str, facts: &[(&str, &str)]) -> FetchedEvidenceRow {
        FetchedEvidenceRow {
            id: 1,
            batch: "b".into(),
            user_id: 1,
            procedure_id: 1,
            registry: registry.service_code().into(),
            service: format!("VN/GOV/X/Y/{}", registry.service_code()),
            status: "found".into(),
            record_id: Some(record.into()),
            facts: Some(
                serde_json::to_string(
                    &facts
                        .iter()
                        .map(|(k, v)| Fact {
                            key: k.to_string(),
                            label_vi: k.to_string(),
                            label_en: k.to_string(),
                            value: v.to_string(),
                        })
                        .collect::<Vec<_>>(),
                )
                .unwrap(),
            ),
            digest: Some("d".into()),
            message_id: Some("m".into()),
            fetched_at: Utc::now(),
            confirmed_at: Some(Utc::now()),
        }
    }

    #[test]
    fn a_fetched_record_stands_in_for_the_document_and_prefills_are_recorded_only_if_kept() {
        let s = spec();
        let rows = vec![
            row(Registry::Residence, "001085012345", &[("household_head_name", "Nguyễn Văn An")]),
            row(Registry::Land, "CS123456", &[("parcel_address", "5 Lê Lợi")]),
        ];
        assert_eq!(registries_of(&s), vec![Registry::Residence, Registry::Land]);
        let values = prefill(&s, &rows);
        assert_eq!(values["head_of_household"], "Nguyễn Văn An");
        assert_eq!(values["new_address"], "5 Lê Lợi");

        // Kept both values: the declaration is the applicant's, pre-filled; the proof is fetched.
        let data = json!({"head_of_household": "Nguyễn Văn An", "new_address": "5 Lê Lợi"});
        let p = provenance(&s, &data, &[], &rows);
        let sources: Vec<(&str, Provenance)> = p.iter().map(|c| (c.component.as_str(), c.source)).collect();
        assert_eq!(
            sources,
            vec![
                ("Tờ khai CT01", Provenance::Form),
                ("Tờ khai CT01", Provenance::Prefill),
                ("Giấy tờ chứng minh chỗ ở hợp pháp", Provenance::Fetched),
            ]
        );
        assert_eq!(p[2].record_id.as_deref(), Some("CS123456"));
        assert_eq!(p[2].fields, vec!["new_address".to_string()]);

        // Changed the head's name and uploaded the proof: no prefill row, an upload.
        let data = json!({"head_of_household": "Người khác", "new_address": "5 Lê Lợi"});
        let file = NewFile {
            component: "Giấy tờ chứng minh chỗ ở hợp pháp".into(),
            filename: "a.pdf".into(),
            content_type: "application/pdf".into(),
            content: vec![1],
        };
        let p = provenance(&s, &data, &[file], &rows);
        let sources: Vec<Provenance> = p.iter().map(|c| c.source).collect();
        assert_eq!(sources, vec![Provenance::Form, Provenance::Upload, Provenance::Prefill]);
        assert_eq!(p[2].fields, vec!["new_address".to_string()]);

        // Nothing fetched and nothing uploaded: the mandatory proof has no row (so it is missing).
        let p = provenance(&s, &data, &[], &[]);
        assert_eq!(p.len(), 1);
        assert!(fetched_for(&s, "Giấy tờ chứng minh chỗ ở hợp pháp", &rows).is_some());
        assert!(fetched_for(&s, "Tờ khai CT01", &rows).is_none());
    }
}
