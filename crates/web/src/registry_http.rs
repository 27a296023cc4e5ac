//! The base registries' own REST services (issue #4): what each owner agency's information
//! system answers when its gateway forwards a call. Mounted on a loopback listener beside
//! the provider's gateway (`sen gateway --registries`), never exposed to the world: the
//! gateway has already authenticated the caller, checked the signature and the access right.
//!
//! | service        | owner               | path                                  |
//! |----------------|---------------------|---------------------------------------|
//! | `residence`    | BCA / CSDLQGDC      | `GET /persons/{personal number}`      |
//! | `civil-status` | BTP / HOTICH        | `GET /persons/{personal number}/events` |
//! | `enterprises`  | BTC / DKDN          | `GET /enterprises/{tax code}`         |
//! | `insurance`    | BHXHVN / CSDLBH     | `GET /persons/{personal number}`      |
//! | `land`         | BNNMT / CSDLDD      | `GET /holders/{person|enterprise}/{id}/parcels` |
//!
//! Every record answered is a read of someone's data: it is recorded (`Store::record_data_read`,
//! with its log entry) before the answer leaves, with the client, the official
//! (`X-Road-UserId`), the purpose (`X-Road-Issue`) and the message (`X-Road-Id`) that the
//! gateway forwards. Each service also answers `GET /reads/{person|enterprise}/{id}`: the
//! reads of that subject's data it recorded, for the portal's "who read my data".

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use sen_domain::ident;
use sen_store::{Store, StoreError};
use serde_json::{Value, json};

use crate::error::{AppError, AppResult};

/// A registry service: its code, the owner's subsystem, its title and its OpenAPI description.
pub struct RegistryService {
    pub code: &'static str,
    pub provider: &'static str,
    pub title: &'static str,
    /// The path under the registry listener where it answers.
    pub mount: &'static str,
    /// (method, path pattern) of its one operation, as an access right names it.
    pub endpoint: (&'static str, &'static str),
}

/// Sen's registry services, in the demo's directory.
pub const REGISTRY_SERVICES: [RegistryService; 5] = [
    RegistryService {
        code: "residence",
        provider: "VN/GOV/BCA/CSDLQGDC",
        title: "Thông tin công dân và cư trú",
        mount: "/registry/residence",
        endpoint: ("GET", "/persons/*"),
    },
    RegistryService {
        code: "civil-status",
        provider: "VN/GOV/BTP/HOTICH",
        title: "Sự kiện hộ tịch (khai sinh, kết hôn, khai tử)",
        mount: "/registry/civil-status",
        endpoint: ("GET", "/persons/*/events"),
    },
    RegistryService {
        code: "enterprises",
        provider: "VN/GOV/BTC/DKDN",
        title: "Thông tin đăng ký doanh nghiệp",
        mount: "/registry/enterprises",
        endpoint: ("GET", "/enterprises/*"),
    },
    RegistryService {
        code: "insurance",
        provider: "VN/GOV/BHXHVN/CSDLBH",
        title: "Thông tin bảo hiểm xã hội, bảo hiểm y tế",
        mount: "/registry/insurance",
        endpoint: ("GET", "/persons/*"),
    },
    RegistryService {
        code: "land",
        provider: "VN/GOV/BNNMT/CSDLDD",
        title: "Thông tin thửa đất và giấy chứng nhận",
        mount: "/registry/land",
        endpoint: ("GET", "/holders/*/*/parcels"),
    },
];

/// The operation every registry service offers besides its own: the reads it recorded of a
/// subject's data.
pub const READS_ENDPOINT: (&str, &str) = ("GET", "/reads/*/*");

/// An OpenAPI path and its parameters from an access-right pattern (`*` → `{p1}`, …).
fn openapi_path(pattern: &str) -> (String, Vec<Value>) {
    let mut n = 0;
    let path: Vec<String> = pattern
        .split('/')
        .map(|seg| {
            if seg == "*" {
                n += 1;
                format!("{{p{n}}}")
            } else {
                seg.to_string()
            }
        })
        .collect();
    let params = (1..=n)
        .map(|i| json!({"name": format!("p{i}"), "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    (path.join("/"), params)
}

impl RegistryService {
    /// The service's identifier in the directory.
    pub fn id(&self) -> String {
        format!("{}/{}", self.provider, self.code)
    }

    /// Its OpenAPI 3 description, served by the `getOpenAPI` metaservice.
    pub fn openapi(&self) -> String {
        let mut paths = serde_json::Map::new();
        for ((method, pattern), id, what) in [
            (self.endpoint, self.code.to_string(), "the record"),
            (READS_ENDPOINT, format!("{}-reads", self.code), "the reads recorded"),
        ] {
            let (path, params) = openapi_path(pattern);
            paths.insert(
                path,
                json!({method.to_ascii_lowercase(): {
                    "operationId": id,
                    "parameters": params,
                    "responses": {"200": {"description": what}, "404": {"description": "no such record"}}
                }}),
            );
        }
        json!({"openapi": "3.0.3", "info": {"title": self.title, "version": "1"}, "paths": paths}).to_string()
    }
}

/// Registers (or updates) every registry service in the directory, answering at
/// `base_url` (the registry listener), and grants `clients` the right to use it. Rights
/// already granted are kept. Returns how many services were registered.
pub async fn register(
    store: &Store,
    base_url: &str,
    clients: &[sen_exchange::ClientId],
    timeout_ms: u64,
    actor: &sen_store::dossiers::Actor,
) -> Result<usize, StoreError> {
    register_services(store, &REGISTRY_SERVICES, base_url, clients, timeout_ms, actor).await
}

/// Registers the portal's consent check (answering at `base_url`), for the registries'
/// subsystems to call.
pub async fn register_consent_check(
    store: &Store,
    base_url: &str,
    timeout_ms: u64,
    actor: &sen_store::dossiers::Actor,
) -> Result<usize, StoreError> {
    let registries: Vec<sen_exchange::ClientId> = REGISTRY_SERVICES
        .iter()
        .map(|s| sen_exchange::ClientId::parse(s.provider).map_err(StoreError::Invalid))
        .collect::<Result<_, _>>()?;
    register_services(store, &[crate::consent_http::CONSENT_SERVICE], base_url, &registries, timeout_ms, actor).await
}

async fn register_services(
    store: &Store,
    services: &[RegistryService],
    base_url: &str,
    clients: &[sen_exchange::ClientId],
    timeout_ms: u64,
    actor: &sen_store::dossiers::Actor,
) -> Result<usize, StoreError> {
    for s in services {
        let provider = sen_exchange::ClientId::parse(s.provider).map_err(StoreError::Invalid)?;
        let input = sen_store::exchange::ServiceInput {
            code: s.code.into(),
            title: s.title.into(),
            base_url: format!("{}{}", base_url.trim_end_matches('/'), s.mount),
            openapi: Some(s.openapi()),
            disabled: false,
            timeout_ms,
        };
        store.put_exchange_service(&provider, &input, actor).await?;
        let service = provider.service(s.code).map_err(StoreError::Invalid)?;
        for (method, pattern) in [s.endpoint, READS_ENDPOINT] {
            let endpoint = sen_exchange::Endpoint::new(method, pattern).map_err(StoreError::Invalid)?;
            for c in clients {
                match store.grant_exchange_right(&service, c, &endpoint, actor).await {
                    Ok(_) | Err(StoreError::Duplicate(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(services.len())
}

/// How a registry checks consents: through its own gateway's client proxy (e.g.
/// `http://127.0.0.1:8082`), asking the portal's consent check. Without one, every read on
/// consent is refused.
#[derive(Clone)]
pub struct ConsentChecker {
    pub gateway: String,
    pub http: reqwest::Client,
}

#[derive(Clone)]
struct Registries {
    store: Store,
    consents: Option<ConsentChecker>,
}

/// The registry services, reading `store` (the owner agencies' database).
pub fn routes(store: Store, consents: Option<ConsentChecker>) -> Router {
    Router::new()
        .route("/registry/residence/persons/{number}", get(residence))
        .route("/registry/civil-status/persons/{number}/events", get(civil_status))
        .route("/registry/enterprises/enterprises/{tax_code}", get(enterprise))
        .route("/registry/insurance/persons/{number}", get(insurance))
        .route("/registry/land/holders/{kind}/{id}/parcels", get(land))
        .route("/registry/{service}/reads/{kind}/{id}", get(reads))
        .with_state(Registries { store, consents })
}

/// State bodies read for their legal tasks (the explicit request of an applicant, a
/// procedure); anyone else — a bank, an enterprise — reads only on the subject's consent,
/// effective at the instant of the read. Fails closed: no answer, no read.
async fn consent_gate(r: &Registries, who: &Caller, code: &str, kind: &str, id: &str) -> AppResult<()> {
    let client = sen_exchange::ClientId::parse(&who.client).map_err(|e| AppError::bad("invalid_client", e))?;
    if client.member.class == "GOV" {
        return Ok(());
    }
    let refused =
        || AppError::ConsentRequired(format!("{} has no consent of the {kind} to read this data", who.client));
    let checker = r.consents.as_ref().ok_or_else(refused)?;
    let service = REGISTRY_SERVICES.iter().find(|s| s.code == code).ok_or(AppError::NotFound("registry service"))?;
    let c = &crate::consent_http::CONSENT_SERVICE;
    let at = chrono::Utc::now();
    let answer = checker
        .http
        .get(format!("{}/r1/{}/subjects/{kind}/{id}/check", checker.gateway.trim_end_matches('/'), c.id()))
        .query(&[("client", who.client.as_str()), ("service", service.id().as_str()), ("at", at.to_rfc3339().as_str())])
        .header("X-Road-Client", service.provider)
        .header("X-Road-Issue", "consent-check")
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| AppError::Unavailable(format!("the consent check did not answer: {e}")))?;
    if !answer.status().is_success() {
        return Err(AppError::Unavailable(format!("the consent check answered {}", answer.status())));
    }
    let answer: crate::consent_http::CheckAnswer =
        answer.json().await.map_err(|e| AppError::Unavailable(format!("the consent check answered badly: {e}")))?;
    if answer.effective { Ok(()) } else { Err(refused()) }
}

/// Who asks, as the provider's gateway forwards it.
struct Caller {
    client: String,
    user_id: Option<String>,
    purpose: Option<String>,
    message_id: Option<String>,
}

/// Every call comes through the provider's gateway, which names the client.
fn caller(headers: &HeaderMap) -> AppResult<Caller> {
    let text = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(500).collect::<String>())
            .filter(|v| !v.is_empty())
    };
    let client = text("x-road-client")
        .ok_or_else(|| AppError::bad("no_client", "registry services answer calls through the exchange only"))?;
    Ok(Caller { client, user_id: text("x-road-userid"), purpose: text("x-road-issue"), message_id: text("x-road-id") })
}

/// Records that `caller` read `service`'s data about a subject, before the answer leaves.
async fn record(store: &Store, caller: &Caller, code: &str, subject_kind: &str, subject_id: &str) -> AppResult<()> {
    let service = REGISTRY_SERVICES.iter().find(|s| s.code == code).map(RegistryService::id).unwrap_or_default();
    store
        .record_data_read(sen_store::data_reads::DataRead {
            subject_kind: subject_kind.into(),
            subject_id: subject_id.into(),
            service,
            client: caller.client.clone(),
            user_id: caller.user_id.clone(),
            purpose: caller.purpose.clone(),
            message_id: caller.message_id.clone(),
            read_at: chrono::Utc::now(),
        })
        .await?;
    Ok(())
}

fn subject(kind: &str, id: &str) -> AppResult<()> {
    match kind {
        "person" => person_number(id),
        "enterprise" if ident::validate_tax_code(id).is_ok() => Ok(()),
        "enterprise" => Err(AppError::bad("invalid_tax_code", "a tax code has 10 digits")),
        _ => Err(AppError::bad("invalid_holder_kind", "a subject is a person or an enterprise")),
    }
}

/// The reads of a subject's data this service recorded, newest first.
async fn reads(
    State(r): State<Registries>,
    headers: HeaderMap,
    Path((service, kind, id)): Path<(String, String, String)>,
) -> AppResult<Json<Value>> {
    let who = caller(&headers)?;
    subject(&kind, &id)?;
    let s = REGISTRY_SERVICES.iter().find(|s| s.code == service).ok_or(AppError::NotFound("registry service"))?;
    consent_gate(&r, &who, s.code, &kind, &id).await?;
    let store = &r.store;
    let reads = store.data_reads_of(&kind, &id, Some(&s.id())).await?;
    Ok(Json(json!({"service": s.id(), "subject_kind": kind, "subject_id": id, "reads": reads.iter().map(|r| json!({
        "service": r.service, "client": r.client, "user_id": r.user_id, "purpose": r.purpose,
        "message_id": r.message_id, "read_at": r.read_at, "digest": r.digest(),
    })).collect::<Vec<_>>()})))
}

fn person_number(n: &str) -> AppResult<()> {
    if ident::validate_personal_number(n).is_ok() {
        Ok(())
    } else {
        Err(AppError::bad("invalid_person_number", "a personal number has 12 digits"))
    }
}

fn found<T>(r: Result<T, StoreError>, what: &'static str) -> AppResult<T> {
    match r {
        Err(StoreError::NotFound) => Err(AppError::NotFound(what)),
        other => Ok(other?),
    }
}

async fn residence(
    State(r): State<Registries>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> AppResult<Json<Value>> {
    let who = caller(&headers)?;
    person_number(&number)?;
    consent_gate(&r, &who, "residence", "person", &number).await?;
    let store = &r.store;
    let p = found(store.person(&number).await, "person")?;
    let household = match p.household_id {
        Some(id) => {
            let h = found(store.household(id).await, "household")?;
            let members = store.household_members(id).await?;
            Some(json!({
                "id": h.id,
                "head_person_number": h.head_person_number,
                "address": h.address,
                "commune_code": h.commune_code,
                "members": members.iter().map(|m| json!({
                    "person_number": m.person_number, "full_name": m.full_name,
                    "birth_date": m.birth_date, "relation_to_head": m.relation_to_head,
                })).collect::<Vec<_>>(),
            }))
        }
        None => None,
    };
    record(store, &who, "residence", "person", &number).await?;
    Ok(Json(json!({
        "registry": "residence",
        "record_id": p.person_number,
        "person_number": p.person_number,
        "full_name": p.full_name,
        "birth_date": p.birth_date,
        "sex": p.sex,
        "birth_province_code": p.birth_province_code,
        "permanent_residence": {"address": p.address, "commune_code": p.commune_code},
        "relation_to_head": p.relation_to_head,
        "household": household,
    })))
}

async fn civil_status(
    State(r): State<Registries>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> AppResult<Json<Value>> {
    let who = caller(&headers)?;
    person_number(&number)?;
    consent_gate(&r, &who, "civil-status", "person", &number).await?;
    let store = &r.store;
    let events = store.civil_events_of(&number).await?;
    record(store, &who, "civil-status", "person", &number).await?;
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
            json!({
                "record_id": format!("{}/{}/{}/{}", e.agency_code, e.kind, e.book_year, e.number),
                "kind": e.kind, "agency_code": e.agency_code, "book_year": e.book_year, "number": e.number,
                "registered_on": e.registered_on, "event_date": e.event_date,
                "subject_person_number": e.subject_person_number, "subject_name": e.subject_name,
                "other_person_number": e.other_person_number, "other_name": e.other_name,
                "place": e.place, "details": details,
            })
        })
        .collect();
    Ok(Json(json!({"registry": "civil-status", "person_number": number, "events": events})))
}

async fn enterprise(
    State(r): State<Registries>,
    headers: HeaderMap,
    Path(tax_code): Path<String>,
) -> AppResult<Json<Value>> {
    let who = caller(&headers)?;
    subject("enterprise", &tax_code)?;
    consent_gate(&r, &who, "enterprises", "enterprise", &tax_code).await?;
    let store = &r.store;
    let e = found(store.enterprise(&tax_code).await, "enterprise")?;
    record(store, &who, "enterprises", "enterprise", &tax_code).await?;
    Ok(Json(json!({"registry": "enterprises", "record_id": e.tax_code, "enterprise": e})))
}

async fn insurance(
    State(r): State<Registries>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> AppResult<Json<Value>> {
    let who = caller(&headers)?;
    person_number(&number)?;
    consent_gate(&r, &who, "insurance", "person", &number).await?;
    let store = &r.store;
    let ins = store.insurance_of(&number).await?.ok_or(AppError::NotFound("insurance record"))?;
    record(store, &who, "insurance", "person", &number).await?;
    Ok(Json(json!({"registry": "insurance", "record_id": ins.social_insurance_number, "insurance": ins})))
}

async fn land(
    State(r): State<Registries>,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let who = caller(&headers)?;
    subject(&kind, &id)?;
    consent_gate(&r, &who, "land", &kind, &id).await?;
    let store = &r.store;
    let parcels = store.land_parcels_of(&kind, &id).await?;
    record(store, &who, "land", &kind, &id).await?;
    Ok(Json(json!({"registry": "land", "holder_kind": kind, "holder_id": id, "parcels": parcels})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_service_describes_itself_in_openapi_3() {
        for s in &REGISTRY_SERVICES {
            let doc: Value = serde_json::from_str(&s.openapi()).unwrap();
            assert_eq!(doc["openapi"], "3.0.3");
            let paths = doc["paths"].as_object().unwrap();
            assert_eq!(paths.len(), 2);
            assert!(paths.keys().all(|p| !p.contains('*')), "{}", s.code);
            assert!(sen_exchange::ClientId::parse(s.provider).is_ok());
            assert!(sen_exchange::Endpoint::new(s.endpoint.0, s.endpoint.1).is_ok());
        }
    }
}
