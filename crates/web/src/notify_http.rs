//! Notifications at the edge (issue #5): an API shaped like GOV.UK Notify's
//! (`POST /v2/notifications/email|sms`, `GET /v2/notifications[/{id}]`, templates by
//! version with a preview), and the sender that delivers messages over SMTP and an SMS
//! gateway, retrying with back-off.
//!
//! Delivery is at least once, and repeat-safe: a message is claimed (written `sending`
//! with a lease) before it is sent and its outcome recorded after, so a process that dies
//! in between sends it again once the lease runs out — with the same `Message-ID`
//! (`<id@sen>`) or SMS `reference`, which the receiving side uses to drop the copy.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use sen_domain::notify::{Kind, Outcome};
use sen_store::notify::{NewNotification, Notification, Refusal, Template, personalisation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;
use utoipa::ToSchema;

/// An SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `From:` of every e-mail.
    pub from: String,
    /// STARTTLS (required) when true; plain SMTP only for a relay on loopback.
    pub starttls: bool,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// An HTTP SMS gateway: `POST {url}` with `{"to", "body", "reference"}` and a bearer token.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    pub url: String,
    pub token: Option<String>,
}

/// The channels and how often the sender runs.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<SmsConfig>,
    pub every: Duration,
    /// How long a claimed message is held before it is tried again (a sender that died).
    /// Longer than any delivery may take.
    pub lease: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp: None,
            sms: None,
            every: Duration::from_millis(500),
            lease: Duration::from_secs(sen_store::notify::CLAIM_LEASE_SECS as u64),
        }
    }
}

/// Messages one sender run claims at most.
const CLAIM_BATCH: u64 = 50;
/// How long one delivery may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest personalisation value and reference, in bytes.
const MAX_VALUE_BYTES: usize = 10_000;

fn sender_may(principal: &Principal) -> AppResult<()> {
    if principal.is_admin() || principal.is_officer() {
        Ok(())
    } else {
        Err(AppError::Forbidden("notifications are sent by agencies' systems and administrators".into()))
    }
}

fn who(principal: &Principal) -> String {
    format!("user:{}", principal.user.id)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailIn {
    pub email_address: String,
    pub template_id: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub personalisation: Value,
    pub reference: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SmsIn {
    pub phone_number: String,
    pub template_id: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub personalisation: Value,
    pub reference: Option<String>,
}

/// A message as Notify describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: String,
    pub reference: Option<String>,
    /// `email` or `sms`.
    #[serde(rename = "type")]
    pub kind: String,
    pub email_address: Option<String>,
    pub phone_number: Option<String>,
    pub status: String,
    #[schema(value_type = Object)]
    pub template: Value,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by_name: String,
}

fn out(base: &str, n: Notification) -> NotificationOut {
    let email = n.kind == "email";
    NotificationOut {
        template: json!({"id": n.template_id, "version": n.template_version, "uri": format!("{base}/v2/template/{}/version/{}", n.template_id, n.template_version)}),
        email_address: email.then(|| n.recipient.clone()),
        phone_number: (!email).then(|| n.recipient.clone()),
        id: n.id,
        reference: n.reference,
        kind: n.kind,
        status: n.status,
        subject: n.subject,
        body: n.body,
        created_at: n.created_at,
        sent_at: n.sent_at,
        completed_at: n.completed_at,
        created_by_name: n.created_by,
    }
}

fn refusal(r: Refusal) -> AppError {
    match r {
        Refusal::NoTemplate => AppError::bad("template_not_found", "template not found"),
        Refusal::WrongKind => AppError::bad("template_kind", "this template is for another channel"),
        Refusal::BadRecipient => {
            AppError::bad("invalid_recipient", "not a valid e-mail address or Vietnamese mobile number")
        }
        Refusal::Missing(m) => {
            AppError::bad("missing_personalisation", format!("Missing personalisation: {}", m.join(", ")))
        }
    }
}

async fn create(
    st: &AppState,
    principal: &Principal,
    kind: Kind,
    to: String,
    template: String,
    p: Value,
    reference: Option<String>,
) -> AppResult<(StatusCode, Json<Value>)> {
    sender_may(principal)?;
    if !p.is_object() && !p.is_null() {
        return Err(AppError::bad("invalid_personalisation", "personalisation is an object of names to values"));
    }
    let values = personalisation(&p);
    if values.len() > 100
        || values.values().any(|v| v.len() > MAX_VALUE_BYTES)
        || reference.as_ref().is_some_and(|r| r.len() > 1000)
    {
        return Err(AppError::bad(
            "too_large",
            "at most 100 personalisation values of 10 kB, and a reference of 1000 bytes",
        ));
    }
    let n = NewNotification {
        kind,
        template_id: template,
        recipient: to,
        personalisation: values,
        reference,
        created_by: who(principal),
    };
    let row = st.store.create_notification(&n).await?.map_err(refusal)?;
    let base = st.config.public_url.trim_end_matches('/').to_string();
    let content = match kind {
        Kind::Email => json!({"subject": row.subject, "body": row.body, "from_email": st.notify_from()}),
        Kind::Sms => json!({"body": row.body, "from_number": "Sen"}),
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": row.id, "reference": row.reference, "content": content,
            "uri": format!("{base}/v2/notifications/{}", row.id),
            "template": {"id": row.template_id, "version": row.template_version, "uri": format!("{base}/v2/template/{}/version/{}", row.template_id, row.template_version)},
        })),
    ))
}

impl AppState {
    fn notify_from(&self) -> String {
        self.config.notify.smtp.as_ref().map(|s| s.from.clone()).unwrap_or_else(|| "no-reply@sen.gov.vn".into())
    }
}

#[utoipa::path(post, path = "/v2/notifications/email", request_body = EmailIn,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 403, body = Problem)), tag = "notifications")]
pub async fn send_email(
    State(st): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    Json(b): Json<EmailIn>,
) -> AppResult<(StatusCode, Json<Value>)> {
    principal.check_csrf(crate::api::csrf_header(&headers))?;
    create(&st, &principal, Kind::Email, b.email_address, b.template_id, b.personalisation, b.reference).await
}

#[utoipa::path(post, path = "/v2/notifications/sms", request_body = SmsIn,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 403, body = Problem)), tag = "notifications")]
pub async fn send_sms(
    State(st): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    Json(b): Json<SmsIn>,
) -> AppResult<(StatusCode, Json<Value>)> {
    principal.check_csrf(crate::api::csrf_header(&headers))?;
    create(&st, &principal, Kind::Sms, b.phone_number, b.template_id, b.personalisation, b.reference).await
}

#[utoipa::path(get, path = "/v2/notifications/{id}", responses((status = 200, body = NotificationOut), (status = 404, body = Problem)), tag = "notifications")]
pub async fn get_one(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> AppResult<Json<NotificationOut>> {
    sender_may(&principal)?;
    let n = match st.store.notification(&id).await {
        Ok(n) if principal.is_admin() || n.created_by == who(&principal) => n,
        Ok(_) | Err(sen_store::StoreError::NotFound) => return Err(AppError::NotFound("notification")),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(out(st.config.public_url.trim_end_matches('/'), n)))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    template_type: Option<String>,
    reference: Option<String>,
    older_than: Option<String>,
}

/// Messages per page of the list.
const PAGE: u64 = 250;

#[utoipa::path(get, path = "/v2/notifications", params(("status" = Option<String>, Query), ("template_type" = Option<String>, Query), ("reference" = Option<String>, Query), ("older_than" = Option<String>, Query)),
    responses((status = 200, body = Object), (status = 400, body = Problem)), tag = "notifications")]
pub async fn list(
    State(st): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Value>> {
    sender_may(&principal)?;
    if let Some(s) = &q.status
        && sen_domain::notify::Status::parse(s).is_none()
    {
        return Err(AppError::field(
            "status",
            "enum",
            "created, sending, delivered, permanent-failure, temporary-failure or technical-failure",
        ));
    }
    if let Some(k) = &q.template_type
        && Kind::parse(k).is_none()
    {
        return Err(AppError::field("template_type", "enum", "email or sms"));
    }
    let mine = who(&principal);
    let by = (!principal.is_admin()).then_some(mine.as_str());
    let rows = match st
        .store
        .notifications(
            by,
            q.status.as_deref(),
            q.template_type.as_deref(),
            q.reference.as_deref(),
            q.older_than.as_deref(),
            PAGE,
        )
        .await
    {
        Err(sen_store::StoreError::NotFound) => {
            return Err(AppError::field("older_than", "not_found", "no such notification"));
        }
        r => r?,
    };
    let base = st.config.public_url.trim_end_matches('/').to_string();
    let next = (rows.len() as u64 == PAGE).then(|| {
        format!("{base}/v2/notifications?older_than={}", rows.last().map(|n| n.id.clone()).unwrap_or_default())
    });
    let items: Vec<NotificationOut> = rows.into_iter().map(|n| out(&base, n)).collect();
    Ok(Json(json!({"notifications": items, "links": {"current": format!("{base}/v2/notifications"), "next": next}})))
}

fn template_out(t: &Template) -> Value {
    json!({"id": t.id, "version": t.version, "name": t.name, "type": t.kind, "subject": t.subject, "body": t.body,
        "created_at": t.created_at, "created_by": t.created_by})
}

#[utoipa::path(get, path = "/v2/templates", responses((status = 200, body = Object)), tag = "notifications")]
pub async fn templates(State(st): State<AppState>, principal: Principal) -> AppResult<Json<Value>> {
    sender_may(&principal)?;
    let mut seen = std::collections::HashSet::new();
    let latest: Vec<Value> =
        st.store.templates().await?.iter().filter(|t| seen.insert(t.id.clone())).map(template_out).collect();
    Ok(Json(json!({"templates": latest})))
}

#[utoipa::path(get, path = "/v2/template/{id}/version/{version}", responses((status = 200, body = Object), (status = 404, body = Problem)), tag = "notifications")]
pub async fn template_version(
    State(st): State<AppState>,
    principal: Principal,
    Path((id, version)): Path<(String, i64)>,
) -> AppResult<Json<Value>> {
    sender_may(&principal)?;
    Ok(Json(template_out(&st.store.template(&id, Some(version)).await?)))
}

#[utoipa::path(get, path = "/v2/template/{id}", responses((status = 200, body = Object), (status = 404, body = Problem)), tag = "notifications")]
pub async fn template_latest(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    sender_may(&principal)?;
    Ok(Json(template_out(&st.store.template(&id, None).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewIn {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub personalisation: Value,
}

#[utoipa::path(post, path = "/v2/template/{id}/preview", request_body = PreviewIn, responses((status = 200, body = Object), (status = 400, body = Problem)), tag = "notifications")]
pub async fn preview(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(b): Json<PreviewIn>,
) -> AppResult<Json<Value>> {
    sender_may(&principal)?;
    let t = st.store.template(&id, None).await?;
    let values = personalisation(&b.personalisation);
    let body = sen_domain::notify::render(&t.body, &values).map_err(|m| refusal(Refusal::Missing(m)))?;
    let subject = t
        .subject
        .as_deref()
        .map(|s| sen_domain::notify::render(s, &values))
        .transpose()
        .map_err(|m| refusal(Refusal::Missing(m)))?;
    Ok(Json(json!({"id": t.id, "version": t.version, "type": t.kind, "subject": subject, "body": body})))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TemplateIn {
    pub name: String,
    /// `email` or `sms`.
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: Option<String>,
    pub body: String,
}

#[utoipa::path(post, path = "/v2/template/{id}", request_body = TemplateIn, responses((status = 201, body = Object), (status = 400, body = Problem), (status = 403, body = Problem)), tag = "notifications")]
pub async fn save_template(
    State(st): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<TemplateIn>,
) -> AppResult<(StatusCode, Json<Value>)> {
    principal.check_csrf(crate::api::csrf_header(&headers))?;
    if !principal.is_admin() {
        return Err(AppError::Forbidden("templates are edited by administrators".into()));
    }
    let kind = Kind::parse(&b.kind).ok_or_else(|| AppError::field("type", "enum", "email or sms"))?;
    if id.is_empty() || id.len() > 100 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AppError::bad("invalid_template_id", "a template id of letters, digits and '-'"));
    }
    if b.body.trim().is_empty()
        || b.body.len() > 50_000
        || (kind == Kind::Email && b.subject.as_deref().is_none_or(|s| s.trim().is_empty()))
    {
        return Err(AppError::bad("invalid_template", "a body (at most 50 kB), and a subject for e-mail"));
    }
    let v = st.store.save_template(&id, &b.name, kind, b.subject.as_deref(), &b.body, &who(&principal)).await?;
    Ok((StatusCode::CREATED, Json(template_out(&st.store.template(&id, Some(v)).await?))))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/notifications/email", post(send_email))
        .route("/v2/notifications/sms", post(send_sms))
        .route("/v2/notifications", get(list))
        .route("/v2/notifications/{id}", get(get_one))
        .route("/v2/templates", get(templates))
        .route("/v2/template/{id}", get(template_latest).post(save_template))
        .route("/v2/template/{id}/version/{version}", get(template_version))
        .route("/v2/template/{id}/preview", post(preview))
}

// ---- The sender ----

async fn deliver_email(cfg: &SmtpConfig, n: &Notification) -> Outcome {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let message = Message::builder()
        .message_id(Some(format!("<{}@sen>", n.id)))
        .from(match cfg.from.parse() {
            Ok(f) => f,
            Err(e) => return Outcome::Technical(format!("the configured sender address: {e}")),
        })
        .to(match n.recipient.parse() {
            Ok(t) => t,
            Err(e) => return Outcome::Permanent(format!("address: {e}")),
        })
        .subject(n.subject.clone().unwrap_or_default())
        .header(ContentType::TEXT_PLAIN)
        .body(n.body.clone());
    let message = match message {
        Ok(m) => m,
        Err(e) => return Outcome::Permanent(format!("message: {e}")),
    };
    let builder = if cfg.starttls {
        match AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host) {
            Ok(b) => b,
            Err(e) => return Outcome::Technical(format!("relay: {e}")),
        }
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
    };
    let mut builder = builder.port(cfg.port).timeout(Some(SEND_TIMEOUT));
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    match builder.build().send(message).await {
        Ok(_) => Outcome::Delivered,
        Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
        Err(e) if e.is_transient() => Outcome::Temporary(e.to_string()),
        Err(e) => Outcome::Technical(e.to_string()),
    }
}

async fn deliver_sms(cfg: &SmsConfig, client: &reqwest::Client, n: &Notification) -> Outcome {
    let mut req = client
        .post(&cfg.url)
        .timeout(SEND_TIMEOUT)
        .json(&json!({"to": n.recipient, "body": n.body, "reference": n.id}));
    if let Some(t) = &cfg.token {
        req = req.bearer_auth(t);
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => Outcome::Delivered,
        Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS || r.status().is_server_error() => {
            Outcome::Temporary(format!("gateway answered {}", r.status()))
        }
        Ok(r) => Outcome::Permanent(format!("gateway answered {}", r.status())),
        Err(e) => Outcome::Technical(format!("gateway: {}", e.without_url())),
    }
}

/// One run of the sender: tell new happenings, claim what is due, deliver, record.
pub async fn run_sender_once(st: &AppState, client: &reqwest::Client) -> sen_store::Result<usize> {
    run_sender_at(st, client, Utc::now()).await
}

/// [`run_sender_once`] as if it were `now` (tests step the clock past back-offs).
pub async fn run_sender_at(st: &AppState, client: &reqwest::Client, now: DateTime<Utc>) -> sen_store::Result<usize> {
    st.store.run_notify_feed(st.config.public_url.trim_end_matches('/'), 500).await?;
    let claimed = st.store.claim_notifications(now, CLAIM_BATCH, st.config.notify.lease.as_secs() as i64).await?;
    if !claimed.is_empty() && std::env::var("SEN_NOTIFY_FAULT").as_deref() == Ok("exit-after-claim") {
        // Fault injection for the crash test: die with the claim committed, before sending.
        tracing::error!("SEN_NOTIFY_FAULT=exit-after-claim: exiting with messages claimed");
        std::process::exit(70);
    }
    let n = claimed.len();
    for m in claimed {
        let outcome = match (m.kind.as_str(), &st.config.notify.smtp, &st.config.notify.sms) {
            ("email", Some(smtp), _) => deliver_email(smtp, &m).await,
            ("sms", _, Some(sms)) => deliver_sms(sms, client, &m).await,
            _ => Outcome::Technical(format!("no {} channel is configured", m.kind)),
        };
        let status = st.store.record_attempt(&m, &outcome, now).await?;
        // No addresses or bodies in logs: the id and the outcome only.
        tracing::info!(id = %m.id, kind = %m.kind, attempt = m.attempts, status = status.as_str(), "notification attempt");
    }
    Ok(n)
}

/// Runs the sender in the background.
pub fn spawn_sender(st: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut tick = tokio::time::interval(st.config.notify.every);
        loop {
            tick.tick().await;
            if let Err(e) = run_sender_once(&st, &client).await {
                tracing::warn!(error = %e, "notification sender failed");
            }
        }
    })
}
