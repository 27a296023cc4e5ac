//! The exchange directory's API (issue #4): members, subsystems, services and rights.
//!
//! Who may change what: system administrators register members; a member's own agency
//! administrators (and system administrators) register its subsystems and services and
//! grant or withdraw rights on those services, as the provider's security-server operator
//! does in X-Road. Officials and administrators read the directory; citizens do not.

use crate::AppState;
use crate::api::{JsonBody, csrf_header};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use sen_exchange::directory::Member;
use sen_exchange::{ClientId, Directory, Endpoint, MemberId, ServiceId};
use sen_store::exchange::ServiceInput;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

impl AppState {
    /// The directory, for officials and administrators.
    pub async fn exchange_directory(&self, principal: &Principal) -> AppResult<Directory> {
        if principal.is_applicant() {
            return Err(AppError::Forbidden("the exchange directory is for officials and administrators".into()));
        }
        Ok(self.store.exchange_directory().await?)
    }

    /// The directory as gateways fetch it: a JWS (flattened JSON) by the platform's log key
    /// over the [`GlobalConf`](sen_exchange::directory::GlobalConf). Public, as X-Road's global
    /// configuration is: it names parties and addresses, no personal data.
    pub async fn global_configuration(&self) -> AppResult<String> {
        let now = chrono::Utc::now();
        let conf = sen_exchange::directory::GlobalConf::new(
            sen_exchange::DEMO_INSTANCE,
            now,
            self.store.exchange_directory().await?,
        );
        let payload = serde_json::to_vec(&conf).map_err(|e| AppError::Internal(e.to_string()))?;
        let log = self.trust.platform(sen_trust::cert::CertKind::Log).await?;
        let jws = sen_trust::jades::sign(&payload, &log.key, &log.chain, now)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(jws.to_json())
    }

    /// The member `id` if `principal` administers it: a system administrator, or an agency
    /// administrator of the agency the member is.
    fn check_member_admin<'d>(
        &self,
        principal: &Principal,
        directory: &'d Directory,
        id: &MemberId,
    ) -> AppResult<&'d Member> {
        let member = directory.member(id).ok_or(AppError::NotFound("exchange member"))?;
        if may_administer(principal, member) {
            Ok(member)
        } else {
            Err(AppError::Forbidden(format!("only administrators of {} change its entries", member.name)))
        }
    }

    /// Registers a member (system administrators).
    pub async fn add_exchange_member(&self, principal: &Principal, m: MemberIn) -> AppResult<MemberId> {
        if !principal.is_admin() {
            return Err(AppError::Forbidden("only system administrators register exchange members".into()));
        }
        if !sen_exchange::MEMBER_CLASSES.iter().any(|(c, _, _)| *c == m.class) {
            return Err(AppError::field("class", "enum", "the member class is GOV, COM or ORG"));
        }
        let instance = m.instance.as_deref().unwrap_or(sen_exchange::DEMO_INSTANCE);
        let id = parse("code", MemberId::new(instance, &m.class, m.code.trim()))?;
        if let Some(a) = m.agency_id {
            self.store.agency(a).await.map_err(|_| AppError::field("agency_id", "unknown", "no such agency"))?;
        }
        self.store.add_exchange_member(&id, &m.name, m.agency_id, &self.actor(principal, None)).await?;
        Ok(id)
    }

    /// Registers an information system of a member (the member's administrators).
    pub async fn add_exchange_subsystem(&self, principal: &Principal, s: SubsystemIn) -> AppResult<ClientId> {
        let member = parse("member", ClientId::parse(&s.member))?;
        if member.subsystem.is_some() {
            return Err(AppError::field("member", "identifier", "name the member as INSTANCE/CLASS/MEMBER"));
        }
        let id = parse("code", member.member.subsystem(s.code.trim()))?;
        let directory = self.store.exchange_directory().await?;
        let owner = self.check_member_admin(principal, &directory, &member.member)?;
        self.store.add_exchange_subsystem(&id, &s.name, &self.actor(principal, owner.agency_id)).await?;
        Ok(id)
    }

    /// Registers or changes a service (the provider member's administrators); says whether it is new.
    pub async fn put_exchange_service(&self, principal: &Principal, s: ServiceIn) -> AppResult<(ServiceId, bool)> {
        let provider = parse("provider", ClientId::parse(&s.provider))?;
        let service = parse("code", provider.service(s.code.trim()))?;
        let directory = self.store.exchange_directory().await?;
        let owner = self.check_member_admin(principal, &directory, &provider.member)?;
        let input = ServiceInput {
            code: service.code.clone(),
            title: s.title,
            base_url: s.base_url,
            openapi: s.openapi.map(|v| v.to_string()),
            disabled: s.disabled,
            timeout_ms: s.timeout_ms.unwrap_or(10_000),
        };
        let (_, created) =
            self.store.put_exchange_service(&provider, &input, &self.actor(principal, owner.agency_id)).await?;
        Ok((service, created))
    }

    /// Grants a right on a service (the provider member's administrators).
    pub async fn grant_exchange_right(&self, principal: &Principal, r: RightIn) -> AppResult<i64> {
        let service = parse("service", ServiceId::parse(&r.service))?;
        let client = parse("client", ClientId::parse(&r.client))?;
        let endpoint = Endpoint::new(r.method.as_deref().unwrap_or("*"), r.path.as_deref().unwrap_or("/**"))
            .map_err(|e| AppError::field("path", "pattern", &e))?;
        let directory = self.store.exchange_directory().await?;
        let owner = self.check_member_admin(principal, &directory, &service.provider.member)?;
        Ok(self
            .store
            .grant_exchange_right(&service, &client, &endpoint, &self.actor(principal, owner.agency_id))
            .await?)
    }

    /// Withdraws a right (the provider member's administrators).
    pub async fn revoke_exchange_right(&self, principal: &Principal, id: i64) -> AppResult<()> {
        let directory = self.store.exchange_directory().await?;
        let service = directory.service_of_right(id).ok_or(AppError::NotFound("access right"))?;
        let owner = self.check_member_admin(principal, &directory, &service.provider.member)?;
        self.store.revoke_exchange_right(&service, id, &self.actor(principal, owner.agency_id)).await?;
        Ok(())
    }
}

fn parse<T>(field: &str, r: Result<T, String>) -> AppResult<T> {
    r.map_err(|e| AppError::field(field, "identifier", &e))
}

/// Whether `principal` administers `member`'s entries.
pub fn may_administer(principal: &Principal, member: &Member) -> bool {
    principal.is_admin()
        || member.agency_id.is_some_and(|a| {
            principal.roles.iter().any(|r| r.agency_id == a && r.role == sen_domain::Role::AgencyAdmin.as_str())
        })
}

#[utoipa::path(get, path = "/api/v1/exchange/directory", responses((status = 200, body = Object), (status = 403, body = Problem)), tag = "exchange")]
pub async fn directory(State(st): State<AppState>, p: Principal) -> AppResult<Json<Directory>> {
    Ok(Json(st.exchange_directory(&p).await?))
}

#[utoipa::path(get, path = "/api/v1/exchange/global-configuration",
    responses((status = 200, description = "JWS (flattened JSON) over the directory, its gateways and the services' OpenAPI descriptions", body = Object)), tag = "exchange")]
pub async fn global_configuration(State(st): State<AppState>) -> AppResult<Response> {
    let jws = st.global_configuration().await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/jose+json"), (axum::http::header::CACHE_CONTROL, "no-store")],
        jws,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    /// The exchange instance; Sen's own when absent.
    pub instance: Option<String>,
    /// `GOV`, `COM` or `ORG`.
    pub class: String,
    pub code: String,
    pub name: String,
    /// The agency this member is (state bodies).
    pub agency_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/exchange/members", request_body = MemberIn,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)), tag = "exchange")]
pub async fn add_member(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    JsonBody(m): JsonBody<MemberIn>,
) -> AppResult<Response> {
    p.check_csrf(csrf_header(&headers))?;
    let id = st.add_exchange_member(&p, m).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"member": id.to_string()}))).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubsystemIn {
    /// `INSTANCE/CLASS/MEMBER`.
    pub member: String,
    pub code: String,
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/subsystems", request_body = SubsystemIn,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)), tag = "exchange")]
pub async fn add_subsystem(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    JsonBody(s): JsonBody<SubsystemIn>,
) -> AppResult<Response> {
    p.check_csrf(csrf_header(&headers))?;
    let id = st.add_exchange_subsystem(&p, s).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"subsystem": id.to_string()}))).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceIn {
    /// The provider subsystem: `INSTANCE/CLASS/MEMBER/SUBSYSTEM`.
    pub provider: String,
    pub code: String,
    pub title: String,
    /// Where the provider's gateway sends calls (the provider's own system).
    pub base_url: String,
    /// The service's OpenAPI 3 description (a JSON document).
    #[schema(value_type = Option<Object>)]
    pub openapi: Option<Value>,
    #[serde(default)]
    pub disabled: bool,
    /// How long the provider's gateway waits for the provider, 100 to 60,000 ms.
    pub timeout_ms: Option<u64>,
}

#[utoipa::path(post, path = "/api/v1/exchange/services", request_body = ServiceIn,
    responses((status = 201, description = "registered", body = Object), (status = 200, description = "changed", body = Object), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), tag = "exchange")]
pub async fn put_service(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    JsonBody(s): JsonBody<ServiceIn>,
) -> AppResult<Response> {
    p.check_csrf(csrf_header(&headers))?;
    let (service, created) = st.put_exchange_service(&p, s).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(serde_json::json!({"service": service.to_string()}))).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RightIn {
    /// `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub service: String,
    /// The client granted the right: `INSTANCE/CLASS/MEMBER[/SUBSYSTEM]`.
    pub client: String,
    /// `GET`, `POST`, … or `*` (the default).
    pub method: Option<String>,
    /// A path pattern: `*` one segment, `**` any number (default `/**`).
    pub path: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/exchange/rights", request_body = RightIn,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)), tag = "exchange")]
pub async fn grant(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    JsonBody(r): JsonBody<RightIn>,
) -> AppResult<Response> {
    p.check_csrf(csrf_header(&headers))?;
    let id = st.grant_exchange_right(&p, r).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": id}))).into_response())
}

#[utoipa::path(delete, path = "/api/v1/exchange/rights/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)), tag = "exchange")]
pub async fn revoke(
    State(st): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    p.check_csrf(csrf_header(&headers))?;
    st.revoke_exchange_right(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A gateway's report of the messages it passed on one day, per subsystem (as client or
/// provider), signed with its message key (header `x-sen-signature`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    /// The gateway's owner, `INSTANCE/CLASS/MEMBER`.
    pub owner: String,
    /// The gateway's code, e.g. `GW1`.
    pub code: String,
    /// The day (UTC) counted.
    pub day: chrono::NaiveDate,
    /// Messages that exchanged data, per subsystem.
    #[schema(value_type = Object)]
    pub subsystems: std::collections::BTreeMap<String, i64>,
}

/// The most subsystems one report may name.
const MAX_USAGE_ROWS: usize = 10_000;

#[utoipa::path(post, path = "/api/v1/exchange/usage", request_body = UsageReport,
    responses((status = 204, description = "recorded"), (status = 400, body = Problem), (status = 403, body = Problem)), tag = "exchange")]
pub async fn usage(State(st): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> AppResult<StatusCode> {
    let report: UsageReport =
        serde_json::from_slice(&body).map_err(|e| AppError::bad("malformed_usage_report", e.to_string()))?;
    let today = chrono::Utc::now().date_naive();
    if report.day > today || (today - report.day).num_days() > 2 {
        return Err(AppError::bad("stale_usage_report", "a gateway reports today and the two days before"));
    }
    if report.subsystems.len() > MAX_USAGE_ROWS || report.subsystems.values().any(|n| *n < 0) {
        return Err(AppError::bad("invalid_usage_report", "too many subsystems, or a negative count"));
    }
    let owner = ClientId::parse(&report.owner)
        .ok()
        .filter(|c| c.subsystem.is_none())
        .map(|c| c.member)
        .ok_or_else(|| AppError::field("owner", "identifier", "INSTANCE/CLASS/MEMBER"))?;
    let directory = st.store.exchange_directory().await?;
    let gateway = directory
        .gateways
        .iter()
        .find(|g| g.owner == owner && g.code == report.code && !g.retired)
        .ok_or_else(|| AppError::Forbidden("no such gateway in the directory".into()))?;
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(&gateway.message_cert)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let key = sen_trust::cert::cert_from_der(&der)
        .and_then(|c| sen_trust::cert::ed25519_public_key(&c))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| AppError::Internal("the gateway's message key is not an Ed25519 point".into()))?;
    let signature = headers.get(sen_exchange::message::SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    sen_exchange::message::verify(
        &key,
        &sen_exchange::message::usage_to_sign(&body),
        signature,
        sen_exchange::error::Origin::ServerProxy,
    )
    .map_err(|_| AppError::Forbidden("the report is not signed by that gateway's message key".into()))?;
    st.store.record_exchange_usage(gateway.id, report.day, &report.subsystems).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Information systems exchanging data through the exchange (programme target K12).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityOut {
    pub days: i64,
    /// Subsystems registered in the directory.
    pub registered: i64,
    /// Registered subsystems that exchanged data in the period.
    pub exchanged: Vec<String>,
    /// exchanged / registered (K12).
    pub share: Option<f64>,
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    /// The period, in days (1 to 366; 30 by default).
    pub days: Option<i64>,
}

impl AppState {
    /// K12 for officials: which registered systems exchanged data in the last `days` days.
    pub async fn exchange_activity(&self, principal: &Principal, days: i64) -> AppResult<ActivityOut> {
        if principal.is_applicant() {
            return Err(AppError::Forbidden("exchange figures are for officials".into()));
        }
        if !(1..=366).contains(&days) {
            return Err(AppError::bad("invalid_days", "days is 1 to 366"));
        }
        let since = chrono::Utc::now().date_naive() - chrono::Duration::days(days - 1);
        let activity = self.store.exchange_activity(since).await?;
        let directory = self.store.exchange_directory().await?;
        let exchanged: Vec<String> = activity
            .active
            .into_iter()
            .filter(|s| ClientId::parse(s).is_ok_and(|c| directory.subsystem(&c).is_some()))
            .collect();
        let share = (activity.registered > 0).then(|| exchanged.len() as f64 / activity.registered as f64);
        Ok(ActivityOut { days, registered: activity.registered, exchanged, share })
    }
}

#[utoipa::path(get, path = "/api/v1/exchange/activity", params(("days" = Option<i64>, Query, description = "period in days, 30 by default")),
    responses((status = 200, body = ActivityOut), (status = 400, body = Problem), (status = 403, body = Problem)), tag = "exchange")]
pub async fn activity(
    State(st): State<AppState>,
    p: Principal,
    axum::extract::Query(q): axum::extract::Query<ActivityQuery>,
) -> AppResult<Json<ActivityOut>> {
    Ok(Json(st.exchange_activity(&p, q.days.unwrap_or(30)).await?))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/exchange/usage", post(usage))
        .route("/exchange/activity", get(activity))
        .route("/exchange/directory", get(directory))
        .route("/exchange/global-configuration", get(global_configuration))
        .route("/exchange/members", post(add_member))
        .route("/exchange/subsystems", post(add_subsystem))
        .route("/exchange/services", post(put_service))
        .route("/exchange/rights", post(grant))
        .route("/exchange/rights/{id}", delete(revoke))
}
