//! Proactive services at the edge (issue #5): the person's inbox of offers (accept with the
//! prepared dossiers in one step, postpone, decline, turn offers off), the rules agency
//! administrators edit and test, and programme target K4.
//!
//! Pages: `/inbox`, `/inbox/events/{event}` (the prepared dossiers of one life event, confirmed
//! together), `/admin/proactive` (K4 and the rules), `/admin/proactive/rules/{key}` (edit and
//! test). API: `/api/v1/me/offers…`, `/api/v1/me/proactive`, `/api/v1/proactive/rules…`,
//! `/api/v1/stats/proactive`.

use crate::AppState;
use crate::app::{SubmitRequest, today};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, fmt_time, html_page};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use chrono::NaiveDate;
use maud::{Markup, html};
use sen_domain::eform::FieldError;
use sen_domain::evidence::{Provenance, Registry};
use sen_domain::proactive::{self, Decision, Rule};
use sen_store::dossiers::Submitted;
use sen_store::evidence::ComponentRecord;
use sen_store::proactive::{OfferDecision, OfferRow, OfferState, ProactiveStats, StoredRule};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Offers one person sees at most.
const MAX_OFFERS: u64 = 200;
/// The longest postponement, in days.
const MAX_POSTPONE_DAYS: i64 = 90;
/// The largest rule body accepted, in bytes.
const MAX_RULE_BYTES: usize = 32 * 1024;

/// An offer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferOut {
    pub id: i64,
    pub event_id: String,
    pub topic: String,
    pub rule: String,
    /// 1 reminder, 2 prepared dossier, 3 prepared with a recommendation.
    pub level: i64,
    pub procedure_code: String,
    pub procedure_name: String,
    pub title: String,
    pub because: String,
    pub guidance: String,
    /// open | postponed | accepted | declined | expired
    pub state: String,
    pub valid_until: NaiveDate,
    pub postponed_until: Option<NaiveDate>,
    #[schema(value_type = Object)]
    pub prepared: Map<String, Value>,
    /// Documents the registries hold: component, registry, record.
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<Value>,
    /// Level 3: the other services and why.
    #[schema(value_type = Vec<Object>)]
    pub alternatives: Vec<Value>,
    pub dossier_id: Option<i64>,
    pub version: i64,
}

impl AppState {
    fn offer_out(&self, o: &OfferRow, today: NaiveDate) -> OfferOut {
        let cat = self.catalogue();
        OfferOut {
            id: o.id,
            event_id: o.event_id.clone(),
            topic: o.topic.clone(),
            rule: o.rule_key.clone(),
            level: o.level,
            procedure_code: o.procedure_code.clone(),
            procedure_name: cat.by_code(&o.procedure_code).map(|p| p.name.clone()).unwrap_or_default(),
            title: o.title.clone(),
            because: o.because.clone(),
            guidance: o.guidance.clone(),
            state: o.state(today).as_str().into(),
            valid_until: o.valid_until,
            postponed_until: o.postponed_until,
            prepared: o.prepared_fields(),
            documents: o
                .held_documents()
                .into_iter()
                .map(|(d, r)| json!({"component": d.component, "registry": d.registry, "record": r}))
                .collect(),
            alternatives: o
                .alternative_services()
                .into_iter()
                .map(|(code, why)| {
                    json!({"procedure_code": code, "procedure_name": cat.by_code(&code).map(|p| p.name.clone()), "why": why})
                })
                .collect(),
            dossier_id: o.dossier_id,
            version: o.version,
        }
    }

    /// The personal number offers are addressed to: only people have them.
    fn person_number(principal: &Principal) -> AppResult<String> {
        if !principal.is_applicant() {
            return Err(AppError::Forbidden("offers are for people".into()));
        }
        principal
            .user
            .person_number
            .clone()
            .ok_or_else(|| AppError::Forbidden("this account has no personal number".into()))
    }

    /// One of the caller's own offers; another person's answers 404.
    async fn own_offer(&self, principal: &Principal, id: i64) -> AppResult<OfferRow> {
        let me = Self::person_number(principal)?;
        match self.store.offer(id).await {
            Ok(o) if o.recipient == me => Ok(o),
            Ok(_) | Err(sen_store::StoreError::NotFound) => Err(AppError::NotFound("offer")),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn my_offers(&self, principal: &Principal) -> AppResult<Vec<OfferRow>> {
        let me = Self::person_number(principal)?;
        Ok(self.store.offers_for(&me, MAX_OFFERS).await?)
    }

    pub async fn postpone_offer(
        &self,
        principal: &Principal,
        id: i64,
        version: i64,
        until: Option<NaiveDate>,
    ) -> AppResult<OfferRow> {
        let o = self.own_offer(principal, id).await?;
        let day = today();
        let until = until.unwrap_or(day + chrono::Duration::days(7));
        if until <= day || until > day + chrono::Duration::days(MAX_POSTPONE_DAYS) {
            return Err(AppError::field("until", "range", &format!("a day within the next {MAX_POSTPONE_DAYS} days")));
        }
        let until = until.min(o.valid_until);
        Self::still_open(&o, day)?;
        Ok(self.store.decide_offer(id, version, OfferDecision::Postpone { until }).await?)
    }

    pub async fn decline_offer(&self, principal: &Principal, id: i64, version: i64) -> AppResult<OfferRow> {
        let o = self.own_offer(principal, id).await?;
        Self::still_open(&o, today())?;
        Ok(self.store.decide_offer(id, version, OfferDecision::Decline).await?)
    }

    fn still_open(o: &OfferRow, day: NaiveDate) -> AppResult<()> {
        match o.state(day) {
            OfferState::Open | OfferState::Postponed => Ok(()),
            s => Err(AppError::Conflict {
                code: "offer_closed",
                detail: format!("this offer is {}", s.as_str()),
                state: Some(s.as_str().into()),
                version: Some(o.version),
            }),
        }
    }

    /// The components an offer's held documents stand for, checked for the caller and the
    /// procedure being submitted (used by [`AppState::submit`]).
    pub(crate) async fn offer_components(
        &self,
        principal: &Principal,
        offer_id: i64,
        procedure_code: &str,
    ) -> AppResult<Vec<ComponentRecord>> {
        let o = self.own_offer(principal, offer_id).await?;
        if o.procedure_code != procedure_code {
            return Err(AppError::field("offer_id", "mismatch", "this offer is for another procedure"));
        }
        Self::still_open(&o, today())?;
        Ok(o.held_documents()
            .into_iter()
            .map(|(d, record)| ComponentRecord {
                component: d.component,
                source: Provenance::Fetched,
                registry: serde_json::from_value::<Registry>(json!(d.registry)).ok(),
                service: Some(format!("event:{}", o.topic)),
                record_id: Some(record),
                fetched_at: Some(o.created_at),
                message_id: Some(o.event_id.clone()),
                digest: None,
                fields: vec![],
            })
            .collect())
    }

    /// The dossier an offer prepared, with the person's additions: the prepared fields the
    /// procedure's e-form has, then what they typed (a blank leaves the prepared value).
    async fn offer_data(&self, o: &OfferRow, input: &Map<String, Value>) -> AppResult<(i64, Value)> {
        let p = self.catalogue().by_code(&o.procedure_code).cloned().ok_or(AppError::NotFound("procedure"))?;
        let form = self.catalogue().form(&self.store, p.id, p.form_version).await?;
        let known: Vec<String> = form.fields().iter().map(|f| f.name.clone()).collect();
        let mut fields: HashMap<String, String> = HashMap::new();
        for (k, v) in o.prepared_fields() {
            if known.contains(&k) {
                fields.insert(k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
            }
        }
        for (k, v) in input {
            let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            if known.contains(k) && !s.trim().is_empty() {
                fields.insert(k.clone(), s);
            }
        }
        Ok((p.id, form.coerce_form(&fields)))
    }

    /// Accepts level-2 and level-3 offers in one step: every prepared dossier is checked
    /// first, then each is submitted (idempotently: an offer is submitted once however often
    /// this is sent) and the offer marked accepted with its dossier.
    pub async fn accept_offers(
        &self,
        principal: &Principal,
        choices: &[(i64, Map<String, Value>)],
    ) -> AppResult<Vec<(i64, Submitted)>> {
        if choices.is_empty() || choices.len() > 10 {
            return Err(AppError::bad("invalid_request", "accept between 1 and 10 offers at once"));
        }
        let day = today();
        let mut prepared = Vec::new();
        let mut errors: Vec<FieldError> = Vec::new();
        for (id, input) in choices {
            let o = self.own_offer(principal, *id).await?;
            if o.level < 2 {
                return Err(AppError::bad(
                    "reminder_only",
                    "a reminder prepares no dossier: apply from the procedure's page",
                ));
            }
            if o.state(day) == OfferState::Accepted {
                prepared.push((o, 0, Value::Null));
                continue;
            }
            Self::still_open(&o, day)?;
            let (procedure_id, data) = self.offer_data(&o, input).await?;
            let p = self.procedure(procedure_id)?;
            let form = self.catalogue().form(&self.store, p.id, p.form_version).await?;
            if let Err(e) = form.validate(&data) {
                errors.extend(e.into_iter().map(|f| FieldError { field: format!("o{id}.{}", f.field), ..f }));
            }
            prepared.push((o, procedure_id, data));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let mut out = Vec::new();
        for (o, procedure_id, data) in prepared {
            if let (Some(dossier), true) = (o.dossier_id, procedure_id == 0) {
                let d = self.store.dossier(dossier).await?;
                out.push((
                    o.id,
                    Submitted {
                        id: d.id,
                        code: d.code,
                        submitted_at: d.submitted_at,
                        due_date: d.due_date,
                        replayed: true,
                    },
                ));
                continue;
            }
            let submitted = self
                .submit(
                    principal,
                    SubmitRequest {
                        procedure_id,
                        agency_id: None,
                        data,
                        files: vec![],
                        idempotency_key: Some(format!("offer-{}-{}", o.id, o.event_id)),
                        evidence_batch: None,
                        offer_id: Some(o.id),
                    },
                )
                .await?;
            match self.store.decide_offer(o.id, o.version, OfferDecision::Accept { dossier_id: submitted.id }).await {
                Ok(_) => {}
                // Accepted meanwhile by the same submission (a retried request).
                Err(sen_store::StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            out.push((o.id, submitted));
        }
        Ok(out)
    }

    pub async fn set_proactive_enabled(&self, principal: &Principal, enabled: bool) -> AppResult<()> {
        let me = Self::person_number(principal)?;
        Ok(self.store.set_proactive_opt_out(&me, !enabled).await?)
    }

    /// Who may edit a rule: the platform's administrators any; an agency's administrators
    /// the rules their agency owns.
    fn rule_editor_agency(&self, principal: &Principal) -> AppResult<Option<String>> {
        if principal.is_admin() {
            return Ok(None);
        }
        let cat = self.catalogue();
        principal
            .roles
            .iter()
            .find(|r| r.role == "agency_admin")
            .and_then(|r| cat.agencies.iter().find(|a| a.id == r.agency_id))
            .map(|a| Some(a.code.clone()))
            .ok_or_else(|| AppError::Forbidden("only administrators edit proactive rules".into()))
    }

    fn may_read_rules(principal: &Principal) -> AppResult<()> {
        if principal.is_admin() || principal.is_officer() {
            Ok(())
        } else {
            Err(AppError::Forbidden("rules and figures are for officers and administrators".into()))
        }
    }

    pub async fn proactive_rules(&self, principal: &Principal) -> AppResult<Vec<StoredRule>> {
        Self::may_read_rules(principal)?;
        Ok(self.store.proactive_rules().await?)
    }

    fn check_rule(&self, rule: &Rule) -> AppResult<()> {
        let cat = self.catalogue();
        let errors = proactive::validate(rule, |code| cat.by_code(code).is_some());
        if errors.is_empty() {
            return Ok(());
        }
        Err(AppError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldError {
                    pointer: format!("/rule/{}", e.field),
                    field: e.field,
                    code: "invalid".into(),
                    message: e.message,
                })
                .collect(),
        ))
    }

    /// Saves a rule: a new key creates it (owned by the caller's agency), an existing one
    /// is replaced at `version` by someone allowed to edit it.
    pub async fn save_proactive_rule(
        &self,
        principal: &Principal,
        key: &str,
        rule: Rule,
        enabled: bool,
        version: Option<i64>,
    ) -> AppResult<i64> {
        let mine = self.rule_editor_agency(principal)?;
        if rule.key != key {
            return Err(AppError::field("key", "mismatch", "the rule's key must be the one in the address"));
        }
        self.check_rule(&rule)?;
        let existing = match self.store.proactive_rule(key).await {
            Ok(r) => Some(r),
            Err(sen_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        if let (Some(r), Some(agency)) = (&existing, &mine)
            && r.agency_code.as_deref() != Some(agency.as_str())
        {
            // Another agency's (or the platform's) rule: not this administrator's to change.
            return Err(AppError::Forbidden("this rule belongs to another agency".into()));
        }
        let expected = match (&existing, version) {
            (Some(_), None) => {
                return Err(AppError::field(
                    "version",
                    "required",
                    "the version you edited, to detect concurrent edits",
                ));
            }
            (Some(_), v) => v,
            (None, _) => None,
        };
        let by = format!("user:{}", principal.user.id);
        Ok(self.store.save_proactive_rule(&rule, mine.as_deref(), enabled, expected, &by).await?)
    }

    /// What a rule would decide for a sample event, without saving or offering anything.
    pub fn test_proactive_rule(&self, principal: &Principal, rule: &Rule, payload: &Value) -> AppResult<Decision> {
        Self::may_read_rules(principal)?;
        self.check_rule(rule)?;
        Ok(proactive::decide(rule, &proactive::facts_of(payload, today())))
    }

    pub async fn proactive_stats(&self, principal: &Principal, since: Option<&str>) -> AppResult<ProactiveStats> {
        Self::may_read_rules(principal)?;
        let day = today();
        let since = match since {
            None | Some("") => day - chrono::Duration::days(365),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| AppError::field("since", "format", "a date YYYY-MM-DD"))?,
        };
        Ok(self.store.proactive_stats(since, day).await?)
    }
}

// ---- API ----

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptIn {
    /// The offers accepted, each with the fields the person adds or corrects.
    pub offers: Vec<AcceptOne>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptOne {
    pub id: i64,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedOut {
    pub offer_id: i64,
    pub dossier_id: i64,
    pub dossier_code: String,
    pub due_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecideIn {
    pub version: i64,
    /// Postpone until this day (default: a week).
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ProactivePreference {
    pub enabled: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RuleIn {
    #[schema(value_type = Object)]
    pub rule: Value,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub version: Option<i64>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RuleTestIn {
    #[schema(value_type = Object)]
    pub rule: Value,
    /// A sample event payload, as the registry would send it.
    #[schema(value_type = Object)]
    pub payload: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleTestOut {
    pub eligible: bool,
    /// Why not, when not eligible.
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub offer: Option<Value>,
}

#[derive(Deserialize)]
pub struct SinceQuery {
    since: Option<String>,
}

fn parse_rule(v: Value) -> AppResult<Rule> {
    if v.to_string().len() > MAX_RULE_BYTES {
        return Err(AppError::bad("rule_too_large", format!("a rule is at most {MAX_RULE_BYTES} bytes")));
    }
    serde_json::from_value(v).map_err(|e| AppError::bad("invalid_rule", format!("the rule does not read: {e}")))
}

#[utoipa::path(get, path = "/api/v1/me/offers", responses((status = 200, body = Vec<OfferOut>), (status = 403, body = Problem)), tag = "proactive")]
pub async fn api_offers(State(st): State<AppState>, who: Principal) -> AppResult<Json<Vec<OfferOut>>> {
    let day = today();
    Ok(Json(st.my_offers(&who).await?.iter().map(|o| st.offer_out(o, day)).collect()))
}

#[utoipa::path(post, path = "/api/v1/me/offers/accept", request_body = AcceptIn,
    responses((status = 200, body = Vec<AcceptedOut>), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), tag = "proactive")]
pub async fn api_accept(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Json(body): Json<AcceptIn>,
) -> AppResult<Json<Vec<AcceptedOut>>> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let choices: Vec<(i64, Map<String, Value>)> = body.offers.into_iter().map(|o| (o.id, o.data)).collect();
    let done = st.accept_offers(&who, &choices).await?;
    Ok(Json(
        done.into_iter()
            .map(|(offer_id, s)| AcceptedOut { offer_id, dossier_id: s.id, dossier_code: s.code, due_date: s.due_date })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/me/offers/{id}/postpone", request_body = DecideIn,
    responses((status = 200, body = OfferOut), (status = 404, body = Problem), (status = 409, body = Problem)), tag = "proactive")]
pub async fn api_postpone(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Json(b): Json<DecideIn>,
) -> AppResult<Json<OfferOut>> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let o = st.postpone_offer(&who, id, b.version, b.until).await?;
    Ok(Json(st.offer_out(&o, today())))
}

#[utoipa::path(post, path = "/api/v1/me/offers/{id}/decline", request_body = DecideIn,
    responses((status = 200, body = OfferOut), (status = 404, body = Problem), (status = 409, body = Problem)), tag = "proactive")]
pub async fn api_decline(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Json(b): Json<DecideIn>,
) -> AppResult<Json<OfferOut>> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let o = st.decline_offer(&who, id, b.version).await?;
    Ok(Json(st.offer_out(&o, today())))
}

#[utoipa::path(put, path = "/api/v1/me/proactive", request_body = ProactivePreference,
    responses((status = 200, body = ProactivePreference), (status = 403, body = Problem)), tag = "proactive")]
pub async fn api_preference(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Json(b): Json<ProactivePreference>,
) -> AppResult<Json<ProactivePreference>> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    st.set_proactive_enabled(&who, b.enabled).await?;
    Ok(Json(b))
}

#[utoipa::path(get, path = "/api/v1/proactive/rules", responses((status = 200, body = Vec<Object>), (status = 403, body = Problem)), tag = "proactive")]
pub async fn api_rules(State(st): State<AppState>, who: Principal) -> AppResult<Json<Vec<StoredRule>>> {
    Ok(Json(st.proactive_rules(&who).await?))
}

#[utoipa::path(put, path = "/api/v1/proactive/rules/{key}", request_body = RuleIn,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), tag = "proactive")]
pub async fn api_save_rule(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Path(key): Path<String>,
    Json(b): Json<RuleIn>,
) -> AppResult<Json<Value>> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let rule = parse_rule(b.rule)?;
    let version = st.save_proactive_rule(&who, &key, rule, b.enabled, b.version).await?;
    Ok(Json(json!({"key": key, "version": version})))
}

fn test_out(d: Decision) -> RuleTestOut {
    match d {
        Decision::Offer(o) => {
            RuleTestOut { eligible: true, reason: None, offer: Some(serde_json::to_value(&*o).expect("serialises")) }
        }
        Decision::NotEligible(why) => RuleTestOut { eligible: false, reason: Some(why), offer: None },
    }
}

#[utoipa::path(post, path = "/api/v1/proactive/rules/test", request_body = RuleTestIn,
    responses((status = 200, body = RuleTestOut), (status = 403, body = Problem), (status = 422, body = Problem)), tag = "proactive")]
pub async fn api_test_rule(
    State(st): State<AppState>,
    who: Principal,
    Json(b): Json<RuleTestIn>,
) -> AppResult<Json<RuleTestOut>> {
    let rule = parse_rule(b.rule)?;
    Ok(Json(test_out(st.test_proactive_rule(&who, &rule, &b.payload)?)))
}

#[utoipa::path(get, path = "/api/v1/stats/proactive", params(("since" = Option<String>, Query, description = "first day, YYYY-MM-DD")),
    responses((status = 200, body = Object), (status = 403, body = Problem)), tag = "proactive")]
pub async fn api_stats(
    State(st): State<AppState>,
    who: Principal,
    Query(q): Query<SinceQuery>,
) -> AppResult<Json<ProactiveStats>> {
    Ok(Json(st.proactive_stats(&who, q.since.as_deref()).await?))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/me/offers", get(api_offers))
        .route("/me/offers/accept", post(api_accept))
        .route("/me/offers/{id}/postpone", post(api_postpone))
        .route("/me/offers/{id}/decline", post(api_decline))
        .route("/me/proactive", put(api_preference))
        .route("/proactive/rules", get(api_rules))
        .route("/proactive/rules/test", post(api_test_rule))
        .route("/proactive/rules/{key}", put(api_save_rule))
        .route("/stats/proactive", get(api_stats))
}

// ---- Pages ----

fn level_label(lang: Lang, level: i64) -> &'static str {
    match level {
        1 => lang.t("Nhắc việc", "Reminder"),
        2 => lang.t("Hồ sơ đã chuẩn bị sẵn", "Dossier prepared"),
        _ => lang.t("Hồ sơ chuẩn bị sẵn, có đề xuất", "Prepared, with a recommendation"),
    }
}

fn state_label(lang: Lang, s: OfferState) -> &'static str {
    match s {
        OfferState::Open => lang.t("Đang chờ bạn", "Waiting for you"),
        OfferState::Postponed => lang.t("Đã hoãn", "Postponed"),
        OfferState::Accepted => lang.t("Đã nộp hồ sơ", "Dossier submitted"),
        OfferState::Declined => lang.t("Đã từ chối", "Declined"),
        OfferState::Expired => lang.t("Hết hạn", "Expired"),
    }
}

fn offer_card(st: &AppState, lang: Lang, who: &Principal, o: &OfferRow, day: NaiveDate) -> Markup {
    let state = o.state(day);
    let cat = st.catalogue();
    let procedure = cat.by_code(&o.procedure_code);
    html! {
        article.card.offer aria-labelledby={"offer-" (o.id)} {
            h3 id={"offer-" (o.id)} { (o.title) }
            p.hint { span.badge { (level_label(lang, o.level)) } " " span.badge { (state_label(lang, state)) }
                " · " (lang.t("Hạn: ", "Open until: ")) (o.valid_until.format("%d/%m/%Y")) }
            p { (o.because) }
            @if !o.guidance.is_empty() { p { (o.guidance) } }
            @if let Some(p) = procedure { p.hint { (lang.t("Thủ tục: ", "Procedure: ")) a href={"/procedures/" (p.id)} { (lang.t(&p.name, &p.name_en)) } " (" (p.code) ")" } }
            @if let Some(d) = o.dossier_id { p { a href={"/dossiers/" (d)} { (lang.t("Xem hồ sơ đã nộp", "See the dossier submitted")) } } }
            @if matches!(state, OfferState::Open | OfferState::Postponed) {
                div.actions {
                    @if o.level >= 2 {
                        a.button href={"/inbox/events/" (o.event_id) "#o" (o.id)} { (lang.t("Xem và xác nhận hồ sơ", "Review and confirm")) }
                    } @else if let Some(p) = procedure {
                        a.button href={"/procedures/" (p.id) "/apply"} { (lang.t("Nộp hồ sơ", "Apply")) }
                    }
                    form method="post" action={"/inbox/offers/" (o.id) "/postpone"} {
                        input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
                        input type="hidden" name="version" value=(o.version);
                        button type="submit" { (lang.t("Để sau 7 ngày", "Remind me in 7 days")) }
                    }
                    form method="post" action={"/inbox/offers/" (o.id) "/decline"} {
                        input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
                        input type="hidden" name="version" value=(o.version);
                        button type="submit" { (lang.t("Không cần", "No, thanks")) }
                    }
                }
            }
        }
    }
}

async fn inbox_page(State(st): State<AppState>, lang: Lang, who: Principal) -> PageResult {
    let offers = st.my_offers(&who).await.page(lang)?;
    let me = AppState::person_number(&who).page(lang)?;
    let off = st.store.proactive_opted_out(&me).await.page(lang)?;
    let day = today();
    let (active, done): (Vec<&OfferRow>, Vec<&OfferRow>) =
        offers.iter().partition(|o| matches!(o.state(day), OfferState::Open | OfferState::Postponed));
    let messages = st.store.inbox_messages(who.user.id, 50).await.page(lang)?;
    let title = lang.t("Hộp thư của tôi", "My inbox");
    let body = html! {
        h1 { (title) }
        @if !messages.is_empty() {
            h2 { (lang.t("Thông báo", "Messages")) }
            ul.messages { @for m in &messages {
                li { details {
                    summary { (fmt_time(m.created_at)) " — " strong { (m.subject) } }
                    p.pre { (m.body) }
                    @if let Some(l) = &m.link { p { a href=(l) { (lang.t("Mở", "Open")) } } }
                } }
            } }
        }
        p { (lang.t(
            "Khi có sự kiện trong cuộc sống của bạn và gia đình (sinh con, đến tuổi làm thẻ Căn cước, nghỉ hưu…), Cổng chủ động gợi ý và chuẩn bị sẵn hồ sơ từ dữ liệu Nhà nước đã có.",
            "When something happens in your family's life (a birth, the age for an identity card, retirement…), the portal suggests the services and prepares the dossiers from data the state holds.")) }
        h2 { (lang.t("Đang chờ bạn", "Waiting for you")) }
        @if active.is_empty() { p { (lang.t("Không có gợi ý nào đang chờ.", "Nothing is waiting for you.")) } }
        @for o in &active { (offer_card(&st, lang, &who, o, day)) }
        @if !done.is_empty() {
            h2 { (lang.t("Đã xử lý", "Done")) }
            @for o in &done { (offer_card(&st, lang, &who, o, day)) }
        }
        h2 { (lang.t("Cài đặt", "Settings")) }
        form method="post" action="/inbox/settings" {
            input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
            div.field {
                input #proactive-on type="checkbox" name="enabled" checked[!off];
                label for="proactive-on" { (lang.t("Nhận gợi ý dịch vụ chủ động", "Receive proactive service offers")) }
            }
            button type="submit" { (lang.t("Lưu", "Save")) }
        }
    };
    Ok(html_page(lang, None, Some(&who), title, body))
}

#[derive(Deserialize)]
struct VersionForm {
    csrf: Option<String>,
    version: i64,
}

async fn postpone_form(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    st.postpone_offer(&who, id, f.version, None).await.page(lang)?;
    Ok(Redirect::to("/inbox").into_response())
}

async fn decline_form(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    st.decline_offer(&who, id, f.version).await.page(lang)?;
    Ok(Redirect::to("/inbox").into_response())
}

async fn settings_form(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    who.check_csrf(f.get("csrf").map(String::as_str)).page(lang)?;
    st.set_proactive_enabled(&who, f.contains_key("enabled")).await.page(lang)?;
    Ok(Redirect::to("/inbox").into_response())
}

/// The prepared dossiers of one life event, reviewed and confirmed in one step.
async fn event_form(
    st: &AppState,
    lang: Lang,
    who: &Principal,
    event_id: &str,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Result<Markup, crate::pages::PageError> {
    let me = AppState::person_number(who).page(lang)?;
    let day = today();
    let offers: Vec<OfferRow> = st
        .store
        .offers_of_event(event_id)
        .await
        .page(lang)?
        .into_iter()
        .filter(|o| o.recipient == me && o.level >= 2)
        .collect();
    if offers.is_empty() {
        return Err(crate::pages::PageError(AppError::NotFound("offer"), lang));
    }
    let cat = st.catalogue();
    let mut sections = Vec::new();
    for o in &offers {
        let Some(p) = cat.by_code(&o.procedure_code) else { continue };
        let form = cat.form(&st.store, p.id, p.form_version).await.page(lang)?;
        sections.push((o, p.clone(), form));
    }
    let open = offers.iter().filter(|o| matches!(o.state(day), OfferState::Open | OfferState::Postponed)).count();
    Ok(html! {
        h1 { (lang.t("Xác nhận hồ sơ đã chuẩn bị sẵn", "Confirm the prepared dossiers")) }
        @if !errors.is_empty() {
            div.error-summary role="alert" tabindex="-1" {
                h2 { (lang.t("Còn thiếu thông tin", "Some information is missing")) }
                ul { @for e in errors { li { a href={"#f-" (e.field.replace('.', "-"))} { (e.field) ": " (e.message) } } } }
            }
        }
        p { (lang.t(
            "Cổng đã chuẩn bị các hồ sơ dưới đây từ dữ liệu Nhà nước đã có. Kiểm tra, bổ sung thông tin còn thiếu rồi xác nhận một lần để nộp tất cả hồ sơ đã chọn; mỗi hồ sơ được gửi đến cơ quan có thẩm quyền.",
            "The portal prepared the dossiers below from data the state holds. Check them, add what is missing and confirm once to submit every one you keep; each goes to the competent agency.")) }
        form method="post" action={"/inbox/events/" (event_id)} novalidate {
            input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
            @for (o, p, form) in &sections {
                @let state = o.state(day);
                @let prepared = o.prepared_fields();
                fieldset.offer id={"o" (o.id)} {
                    legend { (o.title) " — " (lang.t(&p.name, &p.name_en)) }
                    p { (o.because) }
                    @if !o.alternative_services().is_empty() {
                        details { summary { (lang.t("Các lựa chọn khác", "Other options")) }
                            ul { @for (code, why) in o.alternative_services() { li { (cat.by_code(&code).map(|p| p.name.clone()).unwrap_or(code.clone())) ": " (why) } } } }
                    }
                    @match state {
                        OfferState::Open | OfferState::Postponed => {
                            div.field {
                                input id={"take-" (o.id)} type="checkbox" name={"take." (o.id)} checked[values.is_empty() || values.contains_key(&format!("take.{}", o.id))];
                                label for={"take-" (o.id)} { (lang.t("Nộp hồ sơ này", "Submit this dossier")) }
                            }
                            @for f in form.fields() {
                                @let name = format!("o{}.{}", o.id, f.name);
                                @let id = format!("f-o{}-{}", o.id, f.name);
                                @let pre = prepared.get(&f.name).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                                @let value = values.get(&name).cloned().or(pre.clone()).unwrap_or_default();
                                @let e = errors.iter().find(|e| e.field == name);
                                div.field.invalid[e.is_some()] {
                                    label for=(id) { (lang.t(&f.title_vi, &f.title_en)) @if f.required { " " span.req aria-hidden="true" { "*" } }
                                        @if pre.is_some() { " " small.fetched { (lang.t("(từ dữ liệu Nhà nước)", "(from the state's data)")) } } }
                                    @if f.choices.is_empty() {
                                        @let t = match f.kind { sen_domain::eform::FieldKind::Date => "date", sen_domain::eform::FieldKind::Integer | sen_domain::eform::FieldKind::Number => "number", _ => "text" };
                                        input #(id) type=(t) name=(name) value=(value) aria-invalid=[e.map(|_| "true")];
                                    } @else {
                                        select #(id) name=(name) aria-invalid=[e.map(|_| "true")] {
                                            option value="" { (lang.t("— Chọn —", "— Choose —")) }
                                            @for c in &f.choices { option value=(c) selected[*c == value] { (c) } }
                                        }
                                    }
                                    @if let Some(e) = e { p.error-text { (e.message) } }
                                }
                            }
                            @let docs = o.held_documents();
                            @if !docs.is_empty() {
                                p { (lang.t("Giấy tờ không cần nộp (đã có trong cơ sở dữ liệu):", "Documents you need not provide (the databases hold them):")) }
                                ul { @for (d, r) in &docs { li { (d.component) ": " code { (r) } } } }
                            }
                        }
                        s => { p.notice role="status" { (state_label(lang, s)) @if let Some(d) = o.dossier_id { " · " a href={"/dossiers/" (d)} { (lang.t("Xem hồ sơ", "See the dossier")) } } } }
                    }
                }
            }
            @if open > 0 { button type="submit" { (lang.t("Xác nhận và nộp các hồ sơ đã chọn", "Confirm and submit the selected dossiers")) } }
        }
        p { a href="/inbox" { (lang.t("Quay lại hộp thư", "Back to the inbox")) } }
    })
}

async fn event_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(event_id): Path<String>,
) -> PageResult {
    let body = event_form(&st, lang, &who, &event_id, &HashMap::new(), &[]).await?;
    Ok(html_page(lang, None, Some(&who), lang.t("Xác nhận hồ sơ", "Confirm dossiers"), body))
}

async fn event_submit(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(event_id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    who.check_csrf(f.get("csrf").map(String::as_str)).page(lang)?;
    let mut choices: Vec<(i64, Map<String, Value>)> = Vec::new();
    for (k, _) in f.iter().filter(|(k, _)| k.starts_with("take.")) {
        let Ok(id) = k["take.".len()..].parse::<i64>() else { continue };
        let prefix = format!("o{id}.");
        let data: Map<String, Value> = f
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|field| (field.to_string(), Value::String(v.clone()))))
            .collect();
        choices.push((id, data));
    }
    choices.sort_by_key(|(id, _)| *id);
    if choices.is_empty() {
        return Ok(Redirect::to("/inbox").into_response());
    }
    match st.accept_offers(&who, &choices).await {
        Ok(_) => Ok(Redirect::to("/dossiers?proactive=1").into_response()),
        Err(AppError::Invalid(errors)) => {
            let body = event_form(&st, lang, &who, &event_id, &f, &errors).await?;
            let mut r = html_page(lang, None, Some(&who), lang.t("Xác nhận hồ sơ", "Confirm dossiers"), body);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(crate::pages::PageError(e, lang)),
    }
}

async fn admin_page(State(st): State<AppState>, lang: Lang, who: Principal, Query(q): Query<SinceQuery>) -> PageResult {
    let stats = st.proactive_stats(&who, q.since.as_deref()).await.page(lang)?;
    let rules = st.proactive_rules(&who).await.page(lang)?;
    let title = lang.t("Dịch vụ chủ động (chỉ tiêu K4)", "Proactive services (target K4)");
    let (row_h, label_w, bar_w) = (28, 380, 380);
    let rows: Vec<_> = stats.per_procedure.iter().filter(|p| p.dossiers > 0).collect();
    let body = html! {
        h1 { (title) }
        p.kpi { strong { (format!("{:.1}%", stats.share * 100.0)) }
            (lang.t(" hồ sơ của các dịch vụ có thể cung cấp chủ động được nộp từ gợi ý chủ động (K4): ", " of dossiers of the services that can be delivered proactively came from a proactive offer (K4): "))
            (stats.delivered_proactively) " / " (stats.dossiers) " " (lang.t("từ ngày ", "since ")) (stats.since.format("%d/%m/%Y")) }
        p { (lang.t("Gợi ý đã gửi: ", "Offers made: ")) (stats.offers.made) " · " (lang.t("đã nộp ", "accepted ")) (stats.offers.accepted)
            " · " (lang.t("từ chối ", "declined ")) (stats.offers.declined) " · " (lang.t("hoãn ", "postponed ")) (stats.offers.postponed)
            " · " (lang.t("đang chờ ", "open ")) (stats.offers.open) " · " (lang.t("hết hạn ", "expired ")) (stats.offers.expired) }
        @if !rows.is_empty() {
            figure {
                figcaption { (lang.t("Tỷ lệ hồ sơ nộp từ gợi ý chủ động, theo thủ tục", "Share of dossiers from proactive offers, by procedure")) }
                svg role="img" aria-label=(lang.t("Biểu đồ tỷ lệ chủ động theo thủ tục", "Chart of the proactive share by procedure")) width=(label_w + bar_w + 90) height=(row_h * rows.len() as i64 + 10) {
                    @for (i, p) in rows.iter().enumerate() {
                        @let y = i as i64 * row_h;
                        @let share = p.proactive as f64 / p.dossiers as f64;
                        text x="0" y=(y + 18) font-size="13" fill="#1a1a1a" { (p.name) }
                        rect x=(label_w) y=(y + 4) width=(bar_w) height="18" fill="#e6e6e6" {}
                        rect x=(label_w) y=(y + 4) width=((share * bar_w as f64).round() as i64) height="18" fill="#a3111d" {}
                        text x=(label_w + bar_w + 6) y=(y + 18) font-size="13" fill="#1a1a1a" { (format!("{:.0}% ({}/{})", share * 100.0, p.proactive, p.dossiers)) }
                    }
                }
            }
        }
        h2 { (lang.t("Quy tắc", "Rules")) }
        table {
            thead { tr { th scope="col" { (lang.t("Khóa", "Key")) } th scope="col" { (lang.t("Sự kiện", "Event")) } th scope="col" { (lang.t("Mức", "Level")) }
                th scope="col" { (lang.t("Thủ tục", "Procedure")) } th scope="col" { (lang.t("Đơn vị", "Owner")) } th scope="col" { (lang.t("Bật", "On")) } th scope="col" { (lang.t("Sửa lúc", "Edited")) } } }
            tbody { @for r in &rules { tr {
                td { a href={"/admin/proactive/rules/" (r.key)} { code { (r.key) } } } td { (r.rule.event) } td { (u8::from(r.rule.level)) }
                td { (r.rule.procedure) } td { (r.agency_code.clone().unwrap_or_else(|| lang.t("Nền tảng", "Platform").into())) }
                td { (if r.enabled { lang.t("Có", "Yes") } else { lang.t("Không", "No") }) } td { (fmt_time(r.updated_at)) " v" (r.version) }
            } } }
        }
        p { a href="/admin/proactive/rules/new" { (lang.t("Thêm quy tắc", "Add a rule")) } }
    };
    Ok(html_page(lang, None, Some(&who), title, body))
}

fn sample_payload(topic: &str) -> Value {
    match topic {
        "civil-status.birth-registered" => {
            json!({"child_name": "Nguyễn Minh An", "person_number": "001226012345", "birth_date": "2026-11-20", "sex": "Nam",
            "mother_name": "Trần Thị Mai", "mother_person_number": "001190012345", "record_id": "UBND-XA/birth/2026/7",
            "mother_address": "12 Hàng Bạc, Hoàn Kiếm, Hà Nội", "mother_social_insurance_number": "0101234567", "mother_contribution_months": 40})
        }
        "civil-status.death-registered" => {
            json!({"person_number": "001048001122", "name": "Lê Văn Ba", "date_of_death": "2026-11-28",
            "declarant_person_number": "001075003344", "record_id": "UBND-XA/death/2026/3", "social_insurance_number": "0109876543", "contribution_months": 260})
        }
        "population.age-reached" => {
            json!({"person_number": "001212004455", "name": "Phạm Gia Huy", "sex": "Nam", "birth_date": "2012-12-01",
            "milestone": "14", "household_head_number": "001080005566", "household_head_name": "Phạm Văn Long"})
        }
        _ => json!({}),
    }
}

#[derive(Deserialize)]
struct RuleForm {
    csrf: Option<String>,
    body: String,
    enabled: Option<String>,
    version: Option<i64>,
    payload: Option<String>,
    action: Option<String>,
}

async fn rule_form(
    st: &AppState,
    lang: Lang,
    who: &Principal,
    key: &str,
    body: Option<(String, bool, Option<i64>, String)>,
    result: Option<Markup>,
) -> Result<Markup, crate::pages::PageError> {
    AppState::may_read_rules(who).page(lang)?;
    let (text, enabled, version, payload) = match body {
        Some(b) => b,
        None => match st.store.proactive_rule(key).await {
            Ok(r) => (
                serde_json::to_string_pretty(&r.rule).expect("serialises"),
                r.enabled,
                Some(r.version),
                serde_json::to_string_pretty(&sample_payload(&r.rule.event)).expect("serialises"),
            ),
            Err(sen_store::StoreError::NotFound) => {
                let mut example = proactive::default_rules().into_iter().next().expect("shipped rules");
                example.key = if key == "new" { "agency.example".into() } else { key.to_string() };
                (
                    serde_json::to_string_pretty(&example).expect("serialises"),
                    true,
                    None,
                    serde_json::to_string_pretty(&sample_payload(&example.event)).expect("serialises"),
                )
            }
            Err(e) => return Err(crate::pages::PageError(e.into(), lang)),
        },
    };
    let events = proactive::EVENTS;
    Ok(html! {
        h1 { (lang.t("Quy tắc dịch vụ chủ động", "Proactive rule")) " " code { (key) } }
        @if let Some(r) = result { (r) }
        form method="post" action={"/admin/proactive/rules/" (key)} {
            input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
            @if let Some(v) = version { input type="hidden" name="version" value=(v); }
            div.field {
                label for="rule-body" { (lang.t("Quy tắc (JSON)", "Rule (JSON)")) }
                textarea #rule-body name="body" rows="24" cols="100" spellcheck="false" { (text) }
            }
            div.field { input #rule-on type="checkbox" name="enabled" checked[enabled]; label for="rule-on" { (lang.t("Đang áp dụng", "Enabled")) } }
            div.field {
                label for="rule-payload" { (lang.t("Sự kiện mẫu để thử (JSON)", "Sample event to test with (JSON)")) }
                textarea #rule-payload name="payload" rows="8" cols="100" spellcheck="false" { (payload) }
            }
            button type="submit" name="action" value="test" { (lang.t("Thử quy tắc", "Test the rule")) }
            " "
            button type="submit" name="action" value="save" { (lang.t("Lưu", "Save")) }
        }
        details { summary { (lang.t("Sự kiện và dữ kiện dùng được", "Events and the facts they give")) }
            dl { @for (t, facts) in events { dt { code { (t) } } dd { (facts.join(", ")) } } } }
        p { a href="/admin/proactive" { (lang.t("Quay lại", "Back")) } }
    })
}

async fn rule_page(State(st): State<AppState>, lang: Lang, who: Principal, Path(key): Path<String>) -> PageResult {
    let body = rule_form(&st, lang, &who, &key, None, None).await?;
    Ok(html_page(lang, None, Some(&who), lang.t("Quy tắc", "Rule"), body))
}

async fn rule_post(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(key): Path<String>,
    Form(f): Form<RuleForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    let enabled = f.enabled.is_some();
    let payload_text = f.payload.clone().unwrap_or_default();
    let keep = (f.body.clone(), enabled, f.version, payload_text.clone());
    let problem = |msg: String| html! { div.error-summary role="alert" { p { (msg) } } };
    let parsed: AppResult<Rule> = serde_json::from_str::<Value>(&f.body)
        .map_err(|e| AppError::bad("invalid_rule", format!("JSON: {e}")))
        .and_then(parse_rule);
    let rule = match parsed {
        Ok(r) => r,
        Err(e) => {
            let body =
                rule_form(&st, lang, &who, &key, Some(keep), Some(problem(crate::pages::refusal_message(&e)))).await?;
            let mut r = html_page(lang, None, Some(&who), lang.t("Quy tắc", "Rule"), body);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(r);
        }
    };
    let outcome: AppResult<Markup> = if f.action.as_deref() == Some("test") {
        let payload: Value = serde_json::from_str(&payload_text).unwrap_or(Value::Null);
        st.test_proactive_rule(&who, &rule, &payload).map(|d| match d {
            Decision::Offer(o) => html! { div.notice role="status" {
                p { strong { (lang.t("Đủ điều kiện: ", "Eligible: ")) } (o.title) }
                p { (o.because) }
                @if !o.prepared.is_empty() { dl { @for (k, v) in &o.prepared { dt { (k) } dd { (v) } } } }
            } },
            Decision::NotEligible(why) => html! { div.notice role="status" { p { strong { (lang.t("Không đủ điều kiện: ", "Not eligible: ")) } (why) } } },
        })
    } else {
        let save_key = if key == "new" { rule.key.clone() } else { key.clone() };
        match st.save_proactive_rule(&who, &save_key, rule, enabled, f.version).await {
            Ok(_) => return Ok(Redirect::to(&format!("/admin/proactive/rules/{save_key}")).into_response()),
            Err(e) => Err(e),
        }
    };
    let (result, status) = match outcome {
        Ok(m) => (m, StatusCode::OK),
        Err(e) => (problem(crate::pages::refusal_message(&e)), e.status()),
    };
    let body = rule_form(&st, lang, &who, &key, Some(keep), Some(result)).await?;
    let mut r = html_page(lang, None, Some(&who), lang.t("Quy tắc", "Rule"), body);
    *r.status_mut() = status;
    Ok(r)
}

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox_page))
        .route("/inbox/settings", post(settings_form))
        .route("/inbox/offers/{id}/postpone", post(postpone_form))
        .route("/inbox/offers/{id}/decline", post(decline_form))
        .route("/inbox/events/{event}", get(event_page).post(event_submit))
        .route("/admin/proactive", get(admin_page))
        .route("/admin/proactive/rules/{key}", get(rule_page).post(rule_post))
}
