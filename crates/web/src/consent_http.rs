//! Consents (issue #4), for the people and enterprises whose data they are about: a page
//! (`/consents`) and an API (`/api/v1/consents`) to give a consent to one client for one
//! service, see them all with their status, and revoke one at once. Only the subject acts on
//! its own consents; officials and other applicants are refused.

use crate::AppState;
use crate::api::{JsonBody, csrf_header};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, fmt_time, html_page};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use maud::html;
use sen_exchange::consent::SubjectKind;
use sen_exchange::{ClientId, ServiceId};
use sen_store::consents::{Consent, NewConsent};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Whose data the caller may give consent about: their own (a citizen's personal number, a
/// business's tax code).
pub(crate) fn subject(principal: &Principal) -> AppResult<(SubjectKind, String)> {
    if !principal.is_applicant() {
        return Err(AppError::Forbidden(
            "consents are given by the people and enterprises whose data they are about".into(),
        ));
    }
    let user = &principal.user;
    match (&user.tax_code, &user.person_number) {
        (Some(tax), _) if user.kind == sen_store::user_kind::BUSINESS => Ok((SubjectKind::Enterprise, tax.clone())),
        (_, Some(number)) => Ok((SubjectKind::Person, number.clone())),
        _ => Err(AppError::Forbidden("this account has no personal number or tax code".into())),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentIn {
    /// Who may read: `INSTANCE/CLASS/MEMBER[/SUBSYSTEM]`, as in the exchange directory.
    pub client: String,
    /// From which service: `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub service: String,
    /// Why (shown to the subject and recorded with every read).
    pub purpose: String,
    /// Until when (at most two years ahead).
    pub valid_until: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentOut {
    pub id: i64,
    pub client: String,
    pub service: String,
    pub purpose: String,
    pub granted_at: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

impl From<Consent> for ConsentOut {
    fn from(c: Consent) -> Self {
        let status = c.validity().status(Utc::now()).to_string();
        ConsentOut {
            id: c.id,
            client: c.client,
            service: c.service,
            purpose: c.purpose,
            granted_at: c.granted_at,
            valid_until: c.valid_until,
            revoked_at: c.revoked_at,
            status,
        }
    }
}

impl AppState {
    pub async fn my_consents(&self, principal: &Principal) -> AppResult<Vec<Consent>> {
        let (kind, id) = subject(principal)?;
        Ok(self.store.consents_of(kind, &id).await?)
    }

    pub async fn give_consent(&self, principal: &Principal, input: ConsentIn) -> AppResult<Consent> {
        let (kind, id) = subject(principal)?;
        let client = ClientId::parse(&input.client).map_err(|e| AppError::field("client", "identifier", &e))?;
        let service = ServiceId::parse(&input.service).map_err(|e| AppError::field("service", "identifier", &e))?;
        sen_exchange::consent::check_terms(&input.purpose, input.valid_until, Utc::now())
            .map_err(|e| AppError::field("purpose", "terms", &e))?;
        let new = NewConsent {
            subject_kind: kind,
            subject_id: id,
            client,
            service,
            purpose: input.purpose,
            valid_until: input.valid_until,
        };
        Ok(self.store.grant_consent(&new, &self.actor(principal, None)).await?)
    }

    pub async fn revoke_consent(&self, principal: &Principal, consent_id: i64) -> AppResult<Consent> {
        let (kind, id) = subject(principal)?;
        Ok(self.store.revoke_consent(kind, &id, consent_id, &self.actor(principal, None)).await?)
    }
}

#[utoipa::path(get, path = "/api/v1/consents", responses((status = 200, body = [ConsentOut]), (status = 403, body = Problem)), tag = "exchange")]
pub async fn list(State(st): State<AppState>, p: Principal) -> AppResult<Json<Vec<ConsentOut>>> {
    Ok(Json(st.my_consents(&p).await?.into_iter().map(ConsentOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/consents", request_body = ConsentIn,
    responses((status = 201, body = ConsentOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)), tag = "exchange")]
pub async fn give(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    JsonBody(input): JsonBody<ConsentIn>,
) -> AppResult<Response> {
    p.check_csrf(csrf_header(&headers))?;
    let c = st.give_consent(&p, input).await?;
    Ok((StatusCode::CREATED, Json(ConsentOut::from(c))).into_response())
}

#[utoipa::path(post, path = "/api/v1/consents/{id}/revoke", params(("id" = i64, Path)),
    responses((status = 200, body = ConsentOut), (status = 403, body = Problem), (status = 404, body = Problem)), tag = "exchange")]
pub async fn revoke(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Json<ConsentOut>> {
    p.check_csrf(csrf_header(&headers))?;
    Ok(Json(ConsentOut::from(st.revoke_consent(&p, id).await?)))
}

pub fn api_routes() -> Router<AppState> {
    Router::new().route("/consents", get(list).post(give)).route("/consents/{id}/revoke", post(revoke))
}

// ---- The consent check, a service of the portal's subsystem in the exchange ----

/// The portal's consent check in the exchange directory: registries ask it, through their
/// gateway, before they answer a client that reads on consent (not a state body).
pub const CONSENT_SERVICE: crate::registry_http::RegistryService = crate::registry_http::RegistryService {
    code: "consents",
    provider: "VN/GOV/VPCP/DVCQG",
    title: "Kiểm tra sự đồng ý của chủ thể dữ liệu",
    mount: "/services/consents",
    endpoint: ("GET", "/subjects/*/*/check"),
};

#[derive(Deserialize)]
pub struct CheckQuery {
    /// The client that wants to read, `INSTANCE/CLASS/MEMBER[/SUBSYSTEM]`.
    pub client: String,
    /// The service it reads, `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub service: String,
    /// The instant of the read (RFC 3339); now by default.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CheckAnswer {
    pub effective: bool,
    pub consent_id: Option<i64>,
    pub purpose: Option<String>,
    pub valid_until: Option<DateTime<Utc>>,
}

/// `GET /services/consents/subjects/{kind}/{id}/check?client=&service=&at=`: whether the
/// subject's consent lets `client` read `service` at `at`. Only the provider of `service`
/// may ask (the exchange names the caller in `X-Road-Client`).
async fn check(
    State(store): State<sen_store::Store>,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<CheckQuery>,
) -> AppResult<Json<CheckAnswer>> {
    let caller = headers
        .get("x-road-client")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::bad("no_client", "the consent check answers calls through the exchange only"))?;
    let kind =
        SubjectKind::parse(&kind).ok_or_else(|| AppError::bad("invalid_subject_kind", "person or enterprise"))?;
    let client = ClientId::parse(&q.client).map_err(|e| AppError::field("client", "pattern", &e))?;
    let service = ServiceId::parse(&q.service).map_err(|e| AppError::field("service", "pattern", &e))?;
    if service.provider.to_string() != caller {
        return Err(AppError::Forbidden("only the provider of a service asks about consents to read it".into()));
    }
    let at = q.at.unwrap_or_else(Utc::now);
    let c = store.effective_consent(kind, &id, &client, &service, at).await?;
    Ok(Json(CheckAnswer {
        effective: c.is_some(),
        consent_id: c.as_ref().map(|c| c.id),
        purpose: c.as_ref().map(|c| c.purpose.clone()),
        valid_until: c.as_ref().map(|c| c.valid_until),
    }))
}

/// The consent check, to be served where the portal's gateway forwards its calls.
pub fn service_routes(store: sen_store::Store) -> Router {
    Router::new().route("/services/consents/subjects/{kind}/{id}/check", get(check)).with_state(store)
}

fn status_label(lang: Lang, status: &str) -> &'static str {
    match status {
        "active" => lang.t("Đang hiệu lực", "Active"),
        "expired" => lang.t("Hết hạn", "Expired"),
        _ => lang.t("Đã thu hồi", "Revoked"),
    }
}

fn consents_page(lang: Lang, who: &Principal, consents: Vec<Consent>, error: Option<&str>) -> Response {
    let csrf = who.csrf.clone().unwrap_or_default();
    let title = lang.t("Đồng ý chia sẻ dữ liệu", "Data sharing consents");
    let body = html! {
        h1 { (title) }
        p { (lang.t(
            "Cho phép một tổ chức (ví dụ ngân hàng) đọc dữ liệu của bạn từ một dịch vụ của Nhà nước, vì một mục đích và đến một ngày. Bạn có thể thu hồi bất cứ lúc nào; việc thu hồi có hiệu lực ngay. Khi làm thủ tục hành chính, cơ quan nhà nước tự khai thác dữ liệu đã có mà không cần sự đồng ý này.",
            "Let an organisation (a bank, for example) read your data from a state service, for a purpose and until a date. You can revoke it at any time, with immediate effect. Agencies handling your procedures use the data the state holds without this consent.")) }
        @if let Some(e) = error { div.error-summary role="alert" { h2 { (lang.t("Chưa ghi nhận được", "Not recorded")) } p { (e) } } }
        @if consents.is_empty() { p { (lang.t("Bạn chưa cho phép tổ chức nào.", "You have given no consent.")) } } @else {
            table {
                caption { (title) }
                thead { tr {
                    th scope="col" { (lang.t("Tổ chức được phép", "Who may read")) } th scope="col" { (lang.t("Dịch vụ", "Service")) }
                    th scope="col" { (lang.t("Mục đích", "Purpose")) } th scope="col" { (lang.t("Hiệu lực đến", "Until")) }
                    th scope="col" { (lang.t("Trạng thái", "Status")) } th scope="col" { span.visually-hidden { (lang.t("Thao tác", "Action")) } }
                } }
                tbody { @for c in &consents {
                    @let status = c.validity().status(Utc::now());
                    tr {
                        td { code { (c.client) } } td { code { (c.service) } } td { (c.purpose) } td { (fmt_time(c.valid_until)) }
                        td { (status_label(lang, status)) @if let Some(r) = c.revoked_at { " " (fmt_time(r)) } }
                        td { @if status == "active" {
                            form method="post" action={"/consents/" (c.id) "/revoke"} {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { (lang.t("Thu hồi", "Revoke")) }
                            }
                        } }
                    }
                } }
            }
        }
        h2 { (lang.t("Cho phép mới", "Give a consent")) }
        form method="post" action="/consents" {
            input type="hidden" name="csrf" value=(csrf);
            div.field { label for="c-client" { (lang.t("Tổ chức được phép (mã trên nền tảng trao đổi dữ liệu)", "Who may read (their exchange identifier)")) }
                p.hint { "VN/COM/0100112437/CORE" } input #c-client type="text" name="client"; }
            div.field { label for="c-service" { (lang.t("Dịch vụ dữ liệu", "Data service")) }
                p.hint { "VN/GOV/BTC/DKDN/enterprises" } input #c-service type="text" name="service"; }
            div.field { label for="c-purpose" { (lang.t("Mục đích", "Purpose")) } input #c-purpose type="text" name="purpose"; }
            div.field { label for="c-until" { (lang.t("Hiệu lực đến ngày", "Valid until")) } input #c-until type="date" name="valid_until"; }
            button type="submit" { (lang.t("Cho phép", "Give consent")) }
        }
    };
    html_page(lang, None, Some(who), title, body)
}

pub async fn page(State(st): State<AppState>, lang: Lang, who: Principal) -> PageResult {
    let consents = st.my_consents(&who).await.page(lang)?;
    Ok(consents_page(lang, &who, consents, None))
}

pub async fn page_give(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Form(v): Form<HashMap<String, String>>,
) -> PageResult {
    who.check_csrf(v.get("csrf").map(String::as_str)).page(lang)?;
    let get = |k: &str| v.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    // The end of the chosen day, Vietnam time.
    let until = NaiveDate::parse_from_str(&get("valid_until"), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .and_then(|t| t.and_local_timezone(crate::app::vn_offset()).single())
        .map(|t| t.with_timezone(&Utc));
    let outcome = match until {
        None => Err(AppError::field("valid_until", "date", lang.t("Chọn ngày hết hiệu lực.", "Choose the last day."))),
        Some(valid_until) => st
            .give_consent(
                &who,
                ConsentIn { client: get("client"), service: get("service"), purpose: get("purpose"), valid_until },
            )
            .await
            .map(|_| ()),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/consents").into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::BadRequest { .. })) => {
            let message = crate::pages::refusal_message(&e);
            let consents = st.my_consents(&who).await.page(lang)?;
            let mut r = consents_page(lang, &who, consents, Some(&message));
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e).page(lang),
    }
}

pub async fn page_revoke(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Form(v): Form<HashMap<String, String>>,
) -> PageResult {
    who.check_csrf(v.get("csrf").map(String::as_str)).page(lang)?;
    st.revoke_consent(&who, id).await.page(lang)?;
    Ok(Redirect::to("/consents").into_response())
}
