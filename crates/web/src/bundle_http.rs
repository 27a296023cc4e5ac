//! Life-event bundles at the edge (issue #5, Decree 63/2024): `POST /api/v1/bundles`
//! applies for the birth or the death bundle in one go. The first procedure (the
//! civil-status registration) is submitted at once — or, when a mandatory document is
//! missing, the bundle waits for it at most seven working days and is then refused. When
//! the first dossier's result is in the registry, the bundle job submits the other parts
//! from the proactive offers of that event (prepared from the state's data), with what the
//! applicant added for each part; a part the person is not eligible for is said so.

use crate::AppState;
use crate::app::{SubmitRequest, is_filled_online, today};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use crate::pages::{
    OrPage, PageError, PageResult, component_files, component_inputs, eform_inputs, html_page, read_multipart,
};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use maud::{Markup, html};
use sen_domain::bundle::{self, MISSING_DOCUMENTS_WORKING_DAYS};
use sen_store::StoreError;
use sen_store::bundles::{BundlePart, BundleRow};
use sen_store::dossiers::NewFile;
use sen_store::outbox::consumers;
use sen_store::proactive::OfferState;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use utoipa::ToSchema;

/// A bundle as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BundleOut {
    pub id: i64,
    /// `birth` or `death`.
    pub kind: String,
    pub name: String,
    /// awaiting_documents | submitted | completed | refused
    pub status: String,
    pub documents_due: Option<NaiveDate>,
    pub reason: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub parts: Vec<Value>,
    pub version: i64,
}

fn bundle_out(b: &BundleRow) -> BundleOut {
    let name = bundle::kind(&b.kind).map(|k| k.name_vi.to_string()).unwrap_or_default();
    BundleOut {
        id: b.id,
        kind: b.kind.clone(),
        name,
        status: b.status.clone(),
        documents_due: b.documents_due,
        reason: b.reason.clone(),
        parts: b
            .parts()
            .into_iter()
            .map(|p| serde_json::json!({"procedure_code": p.procedure_code, "status": p.status, "dossier_id": p.dossier_id, "note": p.note}))
            .collect(),
        version: b.version,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BundleIn {
    /// `birth` or `death`.
    pub kind: String,
    /// The procedures picked (codes); the birth bundle has all three, the death bundle two
    /// to four, the death registration always.
    pub parts: Vec<String>,
    /// The e-form of the first procedure (the civil-status registration).
    #[schema(value_type = Object)]
    pub data: Value,
    /// For each later part (by code), the e-form fields the state does not hold.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub part_data: Map<String, Value>,
    #[serde(default)]
    pub files: Vec<crate::api::FileIn>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DocumentsIn {
    /// Every document of the first procedure (those given before, and the missing ones).
    pub files: Vec<crate::api::FileIn>,
}

impl AppState {
    fn own_bundle_check(principal: &Principal, b: &BundleRow) -> AppResult<()> {
        if b.user_id == principal.user.id { Ok(()) } else { Err(AppError::NotFound("bundle")) }
    }

    /// Mandatory documents of the first procedure that `files` lack.
    fn missing_documents(&self, code: &str, files: &[NewFile]) -> AppResult<Vec<String>> {
        let p = self.catalogue().by_code(code).cloned().ok_or(AppError::NotFound("procedure"))?;
        Ok(p.spec()
            .components
            .iter()
            .filter(|c| c.mandatory && !is_filled_online(&c.name) && !files.iter().any(|f| f.component == c.name))
            .map(|c| c.name.clone())
            .collect())
    }

    async fn submit_first(
        &self,
        principal: &Principal,
        b: &BundleRow,
        data: Value,
        files: Vec<NewFile>,
    ) -> AppResult<BundleRow> {
        let kind = bundle::kind(&b.kind).ok_or(AppError::NotFound("bundle"))?;
        let p = self.catalogue().by_code(kind.first).cloned().ok_or(AppError::NotFound("procedure"))?;
        let submitted = self
            .submit(
                principal,
                SubmitRequest {
                    procedure_id: p.id,
                    agency_id: None,
                    data,
                    files,
                    idempotency_key: Some(format!("bundle-{}-first", b.id)),
                    evidence_batch: None,
                    offer_id: None,
                },
            )
            .await?;
        let mut parts = b.parts();
        for part in parts.iter_mut().filter(|x| x.procedure_code == kind.first) {
            part.status = "submitted".into();
            part.dossier_id = Some(submitted.id);
        }
        self.store.update_bundle(b, "submitted", Some(submitted.id), &parts, None).await?;
        Ok(self.store.bundle(b.id).await?)
    }

    /// The e-form fields of a later part that the person gives: those the procedure
    /// requires and no proactive rule prepares from the state's data.
    /// `rules` are the stored proactive rules, read once by the caller for all parts.
    pub async fn bundle_part_fields(
        &self,
        code: &str,
        rules: &[sen_store::proactive::StoredRule],
    ) -> AppResult<Vec<sen_domain::eform::FieldSpec>> {
        let p = self.catalogue().by_code(code).cloned().ok_or(AppError::NotFound("procedure"))?;
        let form = self.catalogue().form(&self.store, p.id, p.form_version).await?;
        let prepared = |field: &str| {
            rules.iter().filter(|r| r.enabled).any(|r| {
                (r.rule.procedure == code && r.rule.prepare.contains_key(field))
                    || r.rule.choices.iter().any(|c| {
                        c.procedure == code && (c.prepare.contains_key(field) || r.rule.prepare.contains_key(field))
                    })
            })
        };
        Ok(form.fields().iter().filter(|f| f.required && !prepared(&f.name)).cloned().collect())
    }

    /// Applies for a bundle.
    pub async fn apply_bundle(&self, principal: &Principal, input: BundleIn) -> AppResult<BundleRow> {
        let files = crate::api::decode_files(input.files, self.config.max_file_bytes)?;
        self.apply_bundle_with(principal, &input.kind, &input.parts, input.data, input.part_data, files).await
    }

    /// Applies for a bundle with its documents already read (from JSON or a form). Every
    /// check comes before anything is written; a later part that lacks a field the person
    /// must give is refused now, not after the first dossier is done.
    pub async fn apply_bundle_with(
        &self,
        principal: &Principal,
        kind: &str,
        picked: &[String],
        data: Value,
        part_data: Map<String, Value>,
        files: Vec<NewFile>,
    ) -> AppResult<BundleRow> {
        if !principal.is_applicant() || principal.user.person_number.is_none() {
            return Err(AppError::Forbidden("bundles are for people".into()));
        }
        let kind = bundle::kind(kind).ok_or_else(|| AppError::field("kind", "enum", "birth or death"))?;
        let chosen = bundle::choose(&kind, picked).map_err(|m| AppError::field("parts", "invalid", &m))?;
        let first = self.catalogue().by_code(kind.first).cloned().ok_or(AppError::NotFound("procedure"))?;
        let form = self.catalogue().form(&self.store, first.id, first.form_version).await?;
        let mut errors = form.validate(&data).err().unwrap_or_default();
        for (code, v) in &part_data {
            if !chosen.contains(&code.as_str()) || !v.is_object() {
                return Err(AppError::field("part_data", "invalid", "an object of e-form fields per picked procedure"));
            }
        }
        let rules = self.store.proactive_rules().await?;
        for code in chosen.iter().filter(|c| **c != kind.first) {
            for f in self.bundle_part_fields(code, &rules).await? {
                let given = part_data.get(*code).and_then(|v| v.get(&f.name));
                if given.is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())) {
                    errors.push(sen_domain::eform::FieldError {
                        field: format!("part:{code}:{}", f.name),
                        pointer: format!("/part_data/{code}/{}", f.name),
                        code: "required".into(),
                        message: format!("{} is required for {code}", f.name),
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let parts: Vec<BundlePart> = chosen
            .iter()
            .map(|code| BundlePart {
                procedure_code: code.to_string(),
                status: "pending".into(),
                dossier_id: None,
                data: part_data.get(*code).cloned().unwrap_or(Value::Object(Map::new())),
                note: None,
            })
            .collect();
        let missing = self.missing_documents(kind.first, &files)?;
        if !missing.is_empty() {
            let cal = self.calendar();
            let due = cal.add_working_days(cal.next_working_day_from(today()), MISSING_DOCUMENTS_WORKING_DAYS);
            let id = self
                .store
                .create_bundle(kind.key, principal.user.id, "awaiting_documents", &parts, &data, Some(due))
                .await?;
            return Ok(self.store.bundle(id).await?);
        }
        let id = self.store.create_bundle(kind.key, principal.user.id, "pending", &parts, &data, None).await?;
        let b = self.store.bundle(id).await?;
        self.submit_first(principal, &b, data, files).await
    }

    /// A bundle by id: a missing one is the API's 404, a store failure stays a 500.
    pub async fn bundle_or_not_found(&self, id: i64) -> AppResult<BundleRow> {
        match self.store.bundle(id).await {
            Ok(b) => Ok(b),
            Err(sen_store::StoreError::NotFound) => Err(AppError::NotFound("bundle")),
            Err(e) => Err(e.into()),
        }
    }

    /// Brings the documents a waiting bundle lacked; the first dossier is then submitted.
    pub async fn supply_bundle_documents(
        &self,
        principal: &Principal,
        id: i64,
        files: Vec<NewFile>,
    ) -> AppResult<BundleRow> {
        let b = self.bundle_or_not_found(id).await?;
        Self::own_bundle_check(principal, &b)?;
        if b.status != "awaiting_documents" || b.documents_due.is_some_and(|d| today() > d) {
            return Err(AppError::Conflict {
                code: "bundle_not_waiting",
                detail: format!("this bundle is {}", b.status),
                state: Some(b.status.clone()),
                version: Some(b.version),
            });
        }
        let data: Value = serde_json::from_str(&b.first_data).unwrap_or(Value::Null);
        self.submit_first(principal, &b, data, files).await
    }

    pub async fn my_bundles(&self, principal: &Principal) -> AppResult<Vec<BundleRow>> {
        Ok(self.store.bundles_of_user(principal.user.id).await?)
    }

    /// The bundle job: refuses bundles whose documents did not come in time, and submits
    /// the later parts of bundles whose first result is in the registry. Returns the
    /// bundles it moved.
    pub async fn follow_bundles(&self, today: NaiveDate) -> AppResult<usize> {
        let mut moved = 0;
        for b in self.store.bundles_in("awaiting_documents", 500).await? {
            if b.documents_due.is_some_and(|d| today > d) {
                let reason = format!(
                    "Quá {MISSING_DOCUMENTS_WORKING_DAYS} ngày làm việc mà chưa bổ sung đủ giấy tờ: hồ sơ liên thông bị từ chối."
                );
                self.store.update_bundle(&b, "refused", None, &b.parts(), Some(&reason)).await?;
                moved += 1;
            }
        }
        for b in self.store.bundles_in("submitted", 500).await? {
            let Some(first) = b.first_dossier_id else { continue };
            let d = self.store.dossier(first).await?;
            match d.state.as_str() {
                "REJECTED" | "WITHDRAWN" => {
                    let reason = "Hồ sơ đăng ký hộ tịch không được giải quyết: các thủ tục liên thông dừng lại.";
                    self.store.update_bundle(&b, "refused", Some(first), &b.parts(), Some(reason)).await?;
                    moved += 1;
                    continue;
                }
                "RESULT_ISSUED" => {}
                _ => continue,
            }
            // The proactive consumer must have seen the result's event first.
            if self.store.result_event_processed(&d.code, consumers::PROACTIVE).await? != Some(true) {
                continue;
            }
            let principal = crate::auth::principal_for_user(self, b.user_id, None).await?;
            let me = principal.user.person_number.clone().unwrap_or_default();
            let offers = self.store.offers_from_dossier(&d.code, None).await?;
            // Either parent named in the birth record may apply for the child's services; the
            // rules address them to one parent, and the one who filed the bundle takes them over.
            let record: Value = if b.kind == "birth" {
                serde_json::from_str(&b.first_data).unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            let parents: Vec<&str> =
                ["mother_id_number", "father_id_number"].iter().filter_map(|k| record[*k].as_str()).collect();
            let may_take =
                |recipient: &str| recipient == me || (parents.contains(&me.as_str()) && parents.contains(&recipient));
            let mut parts = b.parts();
            for part in parts.iter_mut().filter(|p| p.status == "pending") {
                let offer = offers
                    .iter()
                    .filter(|o| o.procedure_code == part.procedure_code && o.level >= 2 && may_take(&o.recipient))
                    .min_by_key(|o| o.recipient != me);
                let offer = match offer {
                    Some(o) if o.recipient != me && o.state(today) != OfferState::Accepted => {
                        let actor = self.actor(&principal, None);
                        match self.store.readdress_offer(o.id, o.version, &me, &actor).await {
                            Ok(taken) => Some(taken),
                            // The other parent decided on it meanwhile: not ours to take.
                            Err(StoreError::Conflict { .. }) => None,
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Some(o) if o.recipient != me => {
                        // The other parent accepted it already: the child's dossier exists.
                        part.status = "submitted".into();
                        part.note = Some("Cha hoặc mẹ của trẻ đã nộp hồ sơ này từ hộp thư của mình.".into());
                        continue;
                    }
                    other => other.cloned(),
                };
                let Some(o) = offer.as_ref() else {
                    part.status = "not_eligible".into();
                    part.note = Some(
                        "Theo dữ liệu của cơ quan nhà nước, thủ tục này chưa đủ điều kiện để chuẩn bị tự động; bạn có thể nộp riêng."
                            .into(),
                    );
                    continue;
                };
                if o.state(today) == OfferState::Accepted {
                    part.status = "submitted".into();
                    part.dossier_id = o.dossier_id;
                    continue;
                }
                let input = part.data.as_object().cloned().unwrap_or_default();
                match self.accept_offers(&principal, &[(o.id, input)]).await {
                    Ok(done) => {
                        part.status = "submitted".into();
                        part.dossier_id = done.first().map(|(_, s)| s.id);
                    }
                    Err(AppError::Invalid(errors)) => {
                        part.status = "failed".into();
                        part.note = Some(format!(
                            "Thiếu thông tin: {}",
                            errors
                                .iter()
                                .map(|e| e.field.rsplit('.').next().unwrap_or(&e.field).to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    Err(e) => {
                        part.status = "failed".into();
                        part.note = Some(crate::pages::refusal_message(&e));
                    }
                }
            }
            self.store.update_bundle(&b, "completed", Some(first), &parts, None).await?;
            moved += 1;
        }
        Ok(moved)
    }
}

/// Runs the bundle job in the background.
pub fn spawn_bundle_job(st: AppState, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match st.follow_bundles(today()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(bundles = n, "life-event bundles moved on"),
                Err(e) => tracing::warn!(error = %e, "bundle job failed"),
            }
        }
    })
}

#[utoipa::path(post, path = "/api/v1/bundles", request_body = BundleIn,
    responses((status = 201, body = BundleOut), (status = 403, body = Problem), (status = 422, body = Problem)), tag = "proactive")]
pub async fn api_apply(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Json(b): Json<BundleIn>,
) -> AppResult<(StatusCode, Json<BundleOut>)> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let row = st.apply_bundle(&who, b).await?;
    Ok((StatusCode::CREATED, Json(bundle_out(&row))))
}

#[utoipa::path(get, path = "/api/v1/bundles", responses((status = 200, body = Vec<BundleOut>)), tag = "proactive")]
pub async fn api_list(State(st): State<AppState>, who: Principal) -> AppResult<Json<Vec<BundleOut>>> {
    Ok(Json(st.my_bundles(&who).await?.iter().map(bundle_out).collect()))
}

#[utoipa::path(get, path = "/api/v1/bundles/{id}", responses((status = 200, body = BundleOut), (status = 404, body = Problem)), tag = "proactive")]
pub async fn api_get(State(st): State<AppState>, who: Principal, Path(id): Path<i64>) -> AppResult<Json<BundleOut>> {
    let b = st.bundle_or_not_found(id).await?;
    AppState::own_bundle_check(&who, &b)?;
    Ok(Json(bundle_out(&b)))
}

#[utoipa::path(post, path = "/api/v1/bundles/{id}/documents", request_body = DocumentsIn,
    responses((status = 200, body = BundleOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), tag = "proactive")]
pub async fn api_documents(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Json(b): Json<DocumentsIn>,
) -> AppResult<Json<BundleOut>> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let files = crate::api::decode_files(b.files, st.config.max_file_bytes)?;
    Ok(Json(bundle_out(&st.supply_bundle_documents(&who, id, files).await?)))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/bundles", post(api_apply).get(api_list))
        .route("/bundles/{id}", get(api_get))
        .route("/bundles/{id}/documents", post(api_documents))
}

/// The person's bundles and where each part stands.
pub async fn page(State(st): State<AppState>, lang: Lang, who: Principal) -> PageResult {
    let rows = st.my_bundles(&who).await.page(lang)?;
    let cat = st.catalogue();
    let title = lang.t("Hồ sơ liên thông", "Life-event bundles");
    let status = |s: &str| match s {
        "awaiting_documents" => lang.t("Chờ bổ sung giấy tờ", "Waiting for documents"),
        "submitted" => lang.t("Đang giải quyết", "In progress"),
        "pending" => lang.t("Chờ kết quả hộ tịch", "Waiting for the civil-status result"),
        "completed" => lang.t("Đã nộp đủ các hồ sơ", "All dossiers submitted"),
        "refused" => lang.t("Bị từ chối", "Refused"),
        "not_eligible" => lang.t("Chưa đủ điều kiện", "Not eligible"),
        "failed" => lang.t("Chưa nộp được", "Not submitted"),
        _ => lang.t("Khác", "Other"),
    };
    let body = html! {
        h1 { (title) }
        p { (lang.t(
            "Một lần nộp cho nhiều thủ tục: hồ sơ hộ tịch được giải quyết trước, các thủ tục sau được chuẩn bị từ kết quả và tự động gửi đến từng cơ quan.",
            "One application for several procedures: the civil-status dossier goes first; the others are prepared from its result and sent to each agency.")) }
        p { @for k in bundle::KINDS { a.button href={"/bundles/" (k.key) "/apply"} { (lang.t(k.name_vi, k.name_en)) } " " } }
        @if rows.is_empty() { p { (lang.t("Bạn chưa nộp hồ sơ liên thông nào.", "You have not applied for a bundle.")) } }
        @for b in &rows {
            section.card {
                h2 { (bundle::kind(&b.kind).map(|k| lang.t(k.name_vi, k.name_en)).unwrap_or_default()) }
                p { span.badge { (status(&b.status)) }
                    @if let Some(d) = b.documents_due.filter(|_| b.status == "awaiting_documents") { " · " (lang.t("Hạn bổ sung giấy tờ: ", "Documents due: ")) (d.format("%d/%m/%Y")) } }
                @if let Some(r) = &b.reason { p.notice role="status" { (r) } }
                @if b.status == "awaiting_documents" && b.documents_due.is_none_or(|d| today() <= d) {
                    @if let Some(spec) = bundle::kind(&b.kind).and_then(|k| cat.by_code(k.first)).map(|p| p.spec()) {
                        form method="post" action={"/bundles/" (b.id) "/documents"} enctype="multipart/form-data" {
                            input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
                            (component_inputs(&st, lang, &spec, &[], &[]))
                            button type="submit" { (lang.t("Bổ sung giấy tờ và nộp", "Add the documents and submit")) }
                        }
                    }
                }
                ol { @for p in b.parts() {
                    li { (cat.by_code(&p.procedure_code).map(|x| lang.t(&x.name, &x.name_en).to_string()).unwrap_or(p.procedure_code.clone()))
                        " — " (status(&p.status))
                        @if let Some(d) = p.dossier_id { " · " a href={"/dossiers/" (d)} { (lang.t("xem hồ sơ", "see the dossier")) } }
                        @if let Some(n) = &p.note { br; small { (n) } } }
                } }
            }
        }
    };
    Ok(html_page(lang, None, Some(&who), title, body))
}

/// The application form of a bundle: the procedures to pick, the civil-status e-form and
/// its documents, and for each later part the fields the state does not hold.
async fn bundle_form(
    st: &AppState,
    lang: Lang,
    who: &Principal,
    kind: &bundle::BundleKind,
    values: &HashMap<String, String>,
    errors: &[sen_domain::eform::FieldError],
) -> Result<Markup, PageError> {
    let cat = st.catalogue();
    let first = cat.by_code(kind.first).cloned().ok_or(AppError::NotFound("procedure")).page(lang)?;
    let form = cat.form(&st.store, first.id, first.form_version).await.page(lang)?;
    let spec = first.spec();
    let fixed = kind.min_parts == kind.max_parts;
    let picked = |code: &str| values.is_empty() || values.contains_key(&format!("part:{code}"));
    let rules = st.store.proactive_rules().await.map_err(AppError::from).page(lang)?;
    let mut later = Vec::new();
    for code in kind.parts.iter().filter(|c| **c != kind.first) {
        let name = cat.by_code(code).map(|p| lang.t(&p.name, &p.name_en).to_string()).unwrap_or(code.to_string());
        later.push((*code, name, st.bundle_part_fields(code, &rules).await.page(lang)?));
    }
    let summary = |f: &str| {
        f.strip_prefix("part:").and_then(|r| r.split_once(':')).map(|(_, n)| n.to_string()).unwrap_or(f.to_string())
    };
    Ok(html! {
        h1 { (lang.t(kind.name_vi, kind.name_en)) }
        p { (lang.t(
            "Hồ sơ đăng ký hộ tịch được giải quyết trước; khi có kết quả, các thủ tục còn lại được chuẩn bị từ dữ liệu của cơ quan nhà nước và tự động gửi đi. Thiếu giấy tờ bắt buộc thì bạn có 7 ngày làm việc để bổ sung.",
            "The civil-status dossier goes first; once it has a result, the other procedures are prepared from the state's data and sent on. If a mandatory document is missing you have 7 working days to add it.")) }
        (crate::pages::form_error_summary(lang, errors, summary))
        form method="post" action={"/bundles/" (kind.key) "/apply"} enctype="multipart/form-data" novalidate {
            input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
            fieldset {
                legend { (lang.t("Các thủ tục", "Procedures")) }
                @if !fixed { p.hint { (lang.t(&format!("Chọn từ {} đến {} thủ tục; đăng ký hộ tịch luôn có.", kind.min_parts, kind.max_parts), &format!("Pick {} to {}; the civil-status registration is always in.", kind.min_parts, kind.max_parts))) } }
                @for code in kind.parts {
                    @let id = format!("f-part-{code}");
                    @let name = cat.by_code(code).map(|p| lang.t(&p.name, &p.name_en).to_string()).unwrap_or(code.to_string());
                    div.field {
                        @if fixed || *code == kind.first {
                            input type="hidden" name={"part:" (code)} value="on";
                            input #(id) type="checkbox" checked disabled;
                        } @else {
                            input #(id) type="checkbox" name={"part:" (code)} checked[picked(code)];
                        }
                        " " label for=(id) { (name) }
                    }
                }
            }
            h2 { (lang.t(&first.name, &first.name_en)) }
            (eform_inputs(lang, form.fields().iter(), "", values, errors))
            (component_inputs(st, lang, &spec, errors, &[]))
            @for (code, name, fields) in &later {
                @if !fields.is_empty() {
                    fieldset {
                        legend { (name) }
                        p.hint { (lang.t("Các thông tin khác được lấy từ dữ liệu của cơ quan nhà nước.", "Everything else comes from the state's data.")) }
                        (eform_inputs(lang, fields.iter(), &format!("part:{code}:"), values, errors))
                    }
                }
            }
            button type="submit" { (lang.t("Nộp hồ sơ liên thông", "Apply for the bundle")) }
        }
    })
}

fn bundle_kind_or_404(key: &str, lang: Lang) -> Result<bundle::BundleKind, PageError> {
    bundle::kind(key).ok_or(PageError(AppError::NotFound("bundle"), lang))
}

/// `GET /bundles/{key}/apply`
pub async fn apply_page(State(st): State<AppState>, lang: Lang, who: Principal, Path(key): Path<String>) -> PageResult {
    let kind = bundle_kind_or_404(&key, lang)?;
    if !who.is_applicant() || who.user.person_number.is_none() {
        return Err(PageError(AppError::Forbidden("bundles are for people".into()), lang));
    }
    let body = bundle_form(&st, lang, &who, &kind, &HashMap::new(), &[]).await?;
    Ok(html_page(lang, None, Some(&who), lang.t(kind.name_vi, kind.name_en), body))
}

/// `POST /bundles/{key}/apply`: the form's fields become the same request as the API's.
pub async fn apply_submit(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(key): Path<String>,
    mp: Multipart,
) -> PageResult {
    let kind = bundle_kind_or_404(&key, lang)?;
    let form = read_multipart(mp, st.config.max_file_bytes).await.page(lang)?;
    who.check_csrf(form.fields.get("csrf").map(String::as_str)).page(lang)?;
    let first = st.catalogue().by_code(kind.first).cloned().ok_or(AppError::NotFound("procedure")).page(lang)?;
    let eform = st.catalogue().form(&st.store, first.id, first.form_version).await.page(lang)?;
    let data = eform.coerce_form(&form.fields);
    let picked: Vec<String> =
        kind.parts.iter().filter(|c| form.fields.contains_key(&format!("part:{c}"))).map(|c| c.to_string()).collect();
    let mut part_data = Map::new();
    for (k, v) in &form.fields {
        if let Some((code, field)) = k.strip_prefix("part:").and_then(|r| r.split_once(':'))
            && picked.iter().any(|c| c == code)
            && !v.trim().is_empty()
        {
            let entry = part_data.entry(code.to_string()).or_insert_with(|| Value::Object(Map::new()));
            entry[field] = Value::String(v.trim().to_string());
        }
    }
    let files = component_files(&first.spec(), form.files);
    match st.apply_bundle_with(&who, kind.key, &picked, data, part_data, files).await {
        Ok(_) => Ok(Redirect::to("/bundles").into_response()),
        Err(AppError::Invalid(errors)) => {
            let body = bundle_form(&st, lang, &who, &kind, &form.fields, &errors).await?;
            let mut r = html_page(lang, None, Some(&who), lang.t(kind.name_vi, kind.name_en), body);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

/// `POST /bundles/{key}/documents`: the documents a waiting bundle lacked, from the page.
pub async fn documents_submit(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(key): Path<String>,
    mp: Multipart,
) -> PageResult {
    let id: i64 = key.parse().map_err(|_| PageError(AppError::NotFound("bundle"), lang))?;
    let form = read_multipart(mp, st.config.max_file_bytes).await.page(lang)?;
    who.check_csrf(form.fields.get("csrf").map(String::as_str)).page(lang)?;
    let b = st.bundle_or_not_found(id).await.page(lang)?;
    AppState::own_bundle_check(&who, &b).page(lang)?;
    let spec = bundle::kind(&b.kind)
        .and_then(|k| st.catalogue().by_code(k.first).cloned())
        .ok_or(AppError::NotFound("procedure"))
        .page(lang)?
        .spec();
    let files = component_files(&spec, form.files);
    st.supply_bundle_documents(&who, id, files).await.page(lang)?;
    Ok(Redirect::to("/bundles").into_response())
}
