//! Server-rendered pages: Vietnamese by default, English with `?lang=en`; no JavaScript needed.

use crate::AppState;
use crate::api::{check_login, client_of, open_session};
use crate::app::{Access, ActInput, SubmitRequest, is_filled_online, today, vn_offset};
use crate::auth::{LANG_COOKIE, Principal, SESSION_COOKIE, random_token};
use crate::error::AppError;
use crate::i18n::{Lang, field_error_message};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sen_domain::authz::Permission;
use sen_domain::eform::{FieldError, FieldKind};
use sen_domain::{Action, DossierState};
use sen_store::dossiers::{NewFile, Queue};
use serde::Deserialize;
use std::collections::HashMap;

const CSS: &str = include_str!("../static/sen.css");
const LOGIN_CSRF_COOKIE: &str = "sen_login_csrf";

/// An error shown as a page (or a redirect to the login page).
pub struct PageError(pub AppError, pub Lang);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let PageError(e, lang) = self;
        if matches!(e, AppError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        if let AppError::Internal(m) = &e {
            tracing::error!(error = %m, "internal error");
        }
        let status = e.status();
        let title = match status {
            StatusCode::NOT_FOUND => lang.t("Không tìm thấy", "Not found"),
            StatusCode::FORBIDDEN => lang.t("Không có quyền truy cập", "Access refused"),
            StatusCode::CONFLICT => lang.t("Hồ sơ đã thay đổi", "The dossier has changed"),
            StatusCode::PAYLOAD_TOO_LARGE => lang.t("Tệp quá lớn", "File too large"),
            StatusCode::TOO_MANY_REQUESTS => lang.t("Quá nhiều lần thử", "Too many attempts"),
            _ => lang.t("Có lỗi xảy ra", "Something went wrong"),
        };
        let detail = e.problem().detail;
        let body = html! {
            div.error-summary role="alert" { h1 { (title) } p { (detail) } p { a href="javascript:history.back()" { (lang.t("Quay lại", "Go back")) } " · " a href="/" { (lang.t("Trang chủ", "Home")) } } }
        };
        (status, layout(lang, None, title, body)).into_response()
    }
}

/// The box above a form that lists what to correct, each item a link to its field.
pub(crate) fn form_error_summary(
    lang: Lang,
    errors: &[sen_domain::eform::FieldError],
    label: impl Fn(&str) -> String,
) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error-summary role="alert" tabindex="-1" {
                h2 { (lang.t("Hồ sơ chưa hợp lệ", "Please correct the form")) }
                ul { @for e in errors { li { a href={"#f-" (e.field.replace(':', "-"))} { (label(&e.field)) ": " (field_error_message(lang, &e.code)) } } } }
            }
        }
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

/// What a page shows when it refuses a form: each field's message, or the problem's detail.
pub(crate) fn refusal_message(e: &AppError) -> String {
    match e {
        AppError::Invalid(fields) => fields.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; "),
        other => other.problem().detail,
    }
}

pub(crate) trait OrPage<T> {
    fn page(self, lang: Lang) -> Result<T, PageError>;
}
impl<T, E: Into<AppError>> OrPage<T> for Result<T, E> {
    fn page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError(e.into(), lang))
    }
}

pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&vn_offset()).format("%H:%M %d/%m/%Y").to_string()
}
fn fmt_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}
fn vnd(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("{out} đồng")
}

pub fn layout(lang: Lang, who: Option<&Principal>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Sen" }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.skip href="#main" { (lang.t("Bỏ qua đến nội dung chính", "Skip to main content")) }
                header.top { nav.bar aria-label=(lang.t("Điều hướng chính", "Main navigation")) {
                    a.brand href="/" { "Sen · " (lang.t("Cổng dịch vụ công", "Public services")) }
                    a href="/procedures" { (lang.t("Thủ tục", "Procedures")) }
                    a href="/lookup" { (lang.t("Tra cứu hồ sơ", "Track a dossier")) }
                    a href="/dataset" { (lang.t("Dữ liệu mở", "Open data")) }
                    @match who {
                        Some(p) if p.is_officer() => {
                            a href="/office" { (lang.t("Xử lý hồ sơ", "Back office")) }
                            @if p.roles.iter().any(|r| r.role == "agency_admin") { a href="/admin/procedures" { (lang.t("Quản trị thủ tục", "Procedures admin")) } }
                            a href="/admin/exchange" { (lang.t("Trao đổi dữ liệu", "Data exchange")) }
                            a href="/admin/reuse" { (lang.t("Tái sử dụng dữ liệu", "Data reuse")) }
                            a href="/admin/proactive" { (lang.t("Dịch vụ chủ động", "Proactive services")) }
                        }
                        Some(p) if p.is_admin() => {
                            a href="/admin/procedures" { (lang.t("Quản trị thủ tục", "Procedures admin")) }
                            a href="/admin/exchange" { (lang.t("Trao đổi dữ liệu", "Data exchange")) }
                            a href="/admin/reuse" { (lang.t("Tái sử dụng dữ liệu", "Data reuse")) }
                            a href="/admin/proactive" { (lang.t("Dịch vụ chủ động", "Proactive services")) }
                            a href="/admin/assistant" { (lang.t("Chất lượng trợ lý", "Assistant quality")) }
                        }
                        Some(p) if p.is_applicant() => {
                            a href="/inbox" { (lang.t("Hộp thư", "Inbox")) }
                            a href="/dossiers" { (lang.t("Hồ sơ của tôi", "My dossiers")) }
                            a href="/consents" { (lang.t("Chia sẻ dữ liệu", "Data sharing")) }
                            a href="/my-data" { (lang.t("Ai đã đọc dữ liệu", "Who read my data")) }
                        }
                        _ => {}
                    }
                    @if lang == Lang::Vi { a href="?lang=en" lang="en" { "English" } } @else { a href="?lang=vi" lang="vi" { "Tiếng Việt" } }
                    @match who {
                        Some(p) => {
                            span { (p.user.display_name) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                                button type="submit" { (lang.t("Đăng xuất", "Sign out")) }
                            }
                        }
                        None => { a href="/login" { (lang.t("Đăng nhập", "Sign in")) } }
                    }
                } }
                main #main { (body) }
                aside.assistant aria-label=(lang.t("Trợ lý dịch vụ công", "Public service assistant")) {
                    form method="get" action="/assistant" {
                        label for="assistant-q" { (lang.t("Hỏi trợ lý dịch vụ công", "Ask the public service assistant")) }
                        input #assistant-q type="text" name="q" maxlength="500" placeholder=(lang.t("Ví dụ: làm CCCD cho con", "e.g. register a birth"));
                        button type="submit" { (lang.t("Hỏi", "Ask")) }
                    }
                }
                footer { (lang.t("Sen — nền tảng Chính phủ số mở. Kết quả điện tử có giá trị pháp lý như bản giấy (Nghị định 45/2020/NĐ-CP).", "Sen — open digital-government platform. Electronic results have the legal value of paper ones (Decree 45/2020).")) }
            }
        }
    }
}

pub(crate) fn html_page(
    lang: Lang,
    jar: Option<CookieJar>,
    who: Option<&Principal>,
    title: &str,
    body: Markup,
) -> Response {
    let markup = layout(lang, who, title, body);
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    match jar {
        Some(j) => (j, headers, markup).into_response(),
        None => (headers, markup).into_response(),
    }
}

/// Remembers an explicit `?lang=` choice in a cookie.
pub(crate) fn lang_jar(uri: &Uri, jar: CookieJar, lang: Lang) -> CookieJar {
    if uri.query().is_some_and(|q| q.contains("lang=")) {
        jar.add(Cookie::build((LANG_COOKIE, lang.code())).path("/").same_site(SameSite::Lax).build())
    } else {
        jar
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

fn procedure_list(lang: Lang, items: &[&sen_store::ProcedureRow]) -> Markup {
    html! {
        div.cards { @for p in items {
            div.card {
                h3 { a href={"/procedures/" (p.id)} { (lang.t(&p.name, &p.name_en)) } }
                p.hint { (p.sector) " · " (lang.t(&format!("{} ngày làm việc", p.deadline_days), &format!("{} working days", p.deadline_days))) }
            }
        } }
    }
}

async fn home(State(st): State<AppState>, lang: Lang, who: Option<Principal>, uri: Uri, jar: CookieJar) -> Response {
    let cat = st.catalogue();
    let mut sectors: Vec<(&str, usize)> = Vec::new();
    for p in &cat.procedures {
        match sectors.iter_mut().find(|s| s.0 == p.sector) {
            Some(s) => s.1 += 1,
            None => sectors.push((&p.sector, 1)),
        }
    }
    let popular: Vec<&sen_store::ProcedureRow> = cat.procedures.iter().take(9).collect();
    let body = html! {
        h1 { (lang.t("Dịch vụ công trực tuyến", "Online public services")) }
        form.search role="search" method="get" action="/procedures" {
            label.skip for="q" { (lang.t("Tìm thủ tục", "Search procedures")) }
            input #q type="search" name="q" placeholder=(lang.t("Ví dụ: khai sinh, đăng ky tam tru, CCCD…", "e.g. birth registration, passport…"));
            button type="submit" { (lang.t("Tìm kiếm", "Search")) }
        }
        h2 { (lang.t("Thủ tục thường dùng", "Common procedures")) }
        (procedure_list(lang, &popular))
        h2 { (lang.t("Lĩnh vực", "Sectors")) }
        ul { @for (s, n) in &sectors { li { a href={"/procedures?q=" (s)} { (s) } " (" (n) ")" } } }
    };
    html_page(lang, Some(lang_jar(&uri, jar, lang)), who.as_ref(), lang.t("Trang chủ", "Home"), body)
}

async fn procedures(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    uri: Uri,
    jar: CookieJar,
    Query(q): Query<SearchQuery>,
) -> Response {
    let cat = st.catalogue();
    let query = q.q.unwrap_or_default();
    let hits = cat.search(&query, 100);
    let body = html! {
        h1 { (lang.t("Thủ tục hành chính", "Administrative procedures")) }
        form.search role="search" method="get" action="/procedures" {
            label.skip for="q" { (lang.t("Tìm thủ tục", "Search procedures")) }
            input #q type="search" name="q" value=(query);
            button type="submit" { (lang.t("Tìm kiếm", "Search")) }
        }
        @if !query.is_empty() { p aria-live="polite" { (hits.len()) " " (lang.t("kết quả cho", "results for")) " “" (query) "”" } }
        @if hits.is_empty() { p { (lang.t("Không tìm thấy thủ tục phù hợp. Hãy thử từ khác, hoặc gọi tổng đài 1022.", "No matching procedure. Try other words, or call 1022.")) } }
        (procedure_list(lang, &hits))
    };
    html_page(lang, Some(lang_jar(&uri, jar, lang)), who.as_ref(), lang.t("Thủ tục", "Procedures"), body)
}

async fn procedure_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    uri: Uri,
    jar: CookieJar,
    Path(id): Path<i64>,
) -> PageResult {
    let p = st.procedure(id).page(lang)?;
    let s = p.spec();
    let body = html! {
        h1 { (lang.t(&s.name, &s.name_en)) }
        dl.facts {
            dt { (lang.t("Mã thủ tục", "Code")) } dd { (s.code) }
            dt { (lang.t("Lĩnh vực", "Sector")) } dd { (s.sector) }
            dt { (lang.t("Cấp thực hiện", "Level")) } dd { (s.level.label_vi()) }
            dt { (lang.t("Mức độ dịch vụ", "Service level")) } dd { (s.service_level.label_vi()) }
            dt { (lang.t("Thời hạn giải quyết", "Deadline")) } dd { (lang.t(&format!("{} ngày làm việc", s.deadline_working_days), &format!("{} working days", s.deadline_working_days))) }
            dt { (lang.t("Phí, lệ phí", "Fees")) } dd { (s.fees) @if s.fee_vnd > 0 { " (" (lang.t("nộp trực tuyến: ", "online: ")) (vnd(s.fee_vnd)) ")" } }
            dt { (lang.t("Đối tượng thực hiện", "Who may apply")) } dd { (s.applicants.label_vi()) }
            dt { (lang.t("Kết quả", "Result")) } dd { (s.result_document) }
            dt { (lang.t("Căn cứ pháp lý", "Legal basis")) } dd { (s.legal_basis) }
            dt { (lang.t("Cách thức thực hiện", "How")) } dd { (s.steps) }
        }
        h2 { (lang.t("Thành phần hồ sơ", "Documents")) }
        table { thead { tr { th { (lang.t("Giấy tờ", "Document")) } th { (lang.t("Số lượng", "Quantity")) } th { (lang.t("Bắt buộc", "Mandatory")) } } }
            tbody { @for c in &s.components { tr { td { (c.name) } td { (c.quantity) } td { (if c.mandatory { lang.t("Có", "Yes") } else { lang.t("Không", "No") }) } } } } }
        p { a.button href={"/procedures/" (p.id) "/apply"} { (lang.t("Nộp hồ sơ trực tuyến", "Apply online")) } }
        @for k in sen_domain::bundle::KINDS.iter().filter(|k| k.first == p.code) {
            p { (lang.t("Hoặc nộp một lần cho cả nhóm thủ tục: ", "Or apply once for the whole group: ")) a href={"/bundles/" (k.key) "/apply"} { (lang.t(k.name_vi, k.name_en)) } }
        }
        (crate::recommend_http::procedure_section(&st, lang, p.id))
    };
    Ok(html_page(lang, Some(lang_jar(&uri, jar, lang)), who.as_ref(), &s.name, body))
}

/// The application form, with values and errors from a failed attempt.
async fn apply_form(
    st: &AppState,
    lang: Lang,
    who: &Principal,
    id: i64,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    evidence: &[sen_store::evidence::FetchedEvidenceRow],
) -> Result<Markup, PageError> {
    let p = st.procedure(id).page(lang)?;
    let form = st.catalogue().form(&st.store, p.id, p.form_version).await.page(lang)?;
    let catalogue = st.catalogue();
    let agencies = catalogue.agencies_for(&p);
    let default_agency = AppState::default_agency(who, &agencies).map(|a| a.id);
    let chosen_agency: Option<i64> = values.get("agency_id").and_then(|v| v.parse().ok()).or(default_agency);
    let spec = p.spec();
    Ok(html! {
        h1 { (lang.t("Nộp hồ sơ: ", "Apply: ")) (lang.t(&p.name, &p.name_en)) }
        (form_error_summary(lang, errors, |f| field_label(&form, f, lang)))
        (crate::once_only::request_box(st, lang, who, p.id, &spec, evidence))
        form method="post" action={"/procedures/" (p.id) "/apply"} enctype="multipart/form-data" novalidate {
            input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
            @if let Some(r) = evidence.first() { input type="hidden" name="evidence_batch" value=(r.batch); }
            input type="hidden" name="idempotency_key" value=(values.get("idempotency_key").cloned().unwrap_or_else(random_token));
            div.field {
                label for="f-agency_id" { (lang.t("Cơ quan tiếp nhận", "Receiving agency")) }
                select #f-agency_id name="agency_id" {
                    @for a in &agencies { option value=(a.id) selected[Some(a.id) == chosen_agency] { (a.name) } }
                }
            }
            (eform_inputs(lang, form.fields().iter(), "", values, errors))
            (component_inputs(st, lang, &spec, errors, evidence))
            button type="submit" { (lang.t("Nộp hồ sơ", "Submit")) }
        }
    })
}

/// The inputs of e-form fields, with values and errors from a failed attempt. `prefix`
/// goes before each field's name, so that several forms can share one page.
pub(crate) fn eform_inputs<'a>(
    lang: Lang,
    fields: impl Iterator<Item = &'a sen_domain::eform::FieldSpec>,
    prefix: &str,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Markup {
    html! {
        @for f in fields {
            @let name = format!("{prefix}{}", f.name);
            @let e = errors.iter().find(|e| e.field == name);
            @let id = format!("f-{}", name.replace(':', "-"));
            @let value = values.get(&name).cloned().unwrap_or_default();
            div.field.invalid[e.is_some()] {
                label for=(id) { (lang.t(&f.title_vi, &f.title_en)) @if f.required { " " span.req aria-hidden="true" { "*" } } }
                @match f.kind {
                    FieldKind::LongText => { textarea #(id) name=(name) required[f.required] aria-invalid=[e.map(|_| "true")] aria-describedby=[e.map(|_| format!("{id}-err"))] { (value) } }
                    FieldKind::Choice => {
                        select #(id) name=(name) required[f.required] aria-invalid=[e.map(|_| "true")] aria-describedby=[e.map(|_| format!("{id}-err"))] {
                            option value="" { (lang.t("— Chọn —", "— Choose —")) }
                            @for c in &f.choices { option value=(c) selected[*c == value] { (c) } }
                        }
                    }
                    FieldKind::Boolean => { input #(id) type="checkbox" name=(name) checked[value == "on"]; }
                    kind => {
                        @let t = match kind { FieldKind::Date => "date", FieldKind::Integer | FieldKind::Number => "number", _ => "text" };
                        input #(id) type=(t) name=(name) value=(value) required[f.required] maxlength=[f.max_length] aria-invalid=[e.map(|_| "true")] aria-describedby=[e.map(|_| format!("{id}-err"))];
                    }
                }
                @if let Some(e) = e { p.error-text id={(id) "-err"} { (field_error_message(lang, &e.code)) } }
            }
        }
    }
}

/// File inputs for the documents of a procedure (`component_{i}`), saying which ones were
/// fetched from a registry and need no upload.
pub(crate) fn component_inputs(
    st: &AppState,
    lang: Lang,
    spec: &sen_domain::procedure::ProcedureSpec,
    errors: &[FieldError],
    evidence: &[sen_store::evidence::FetchedEvidenceRow],
) -> Markup {
    let err = |name: &str| errors.iter().find(|e| e.field == name);
    html! {
        h2 { (lang.t("Thành phần hồ sơ đính kèm", "Attached documents")) }
        p.hint { (lang.t(&format!("Mỗi tệp tối đa {} MB (PDF hoặc ảnh).", st.config.max_file_bytes / 1_000_000), &format!("Up to {} MB per file (PDF or image).", st.config.max_file_bytes / 1_000_000))) }
        @for (i, c) in spec.components.iter().enumerate() {
            @if !is_filled_online(&c.name) {
                @let key = format!("component:{}", c.name);
                @let e = err(&key);
                @let id = format!("f-component-{}", c.name);
                @let fetched = crate::once_only::fetched_for(spec, &c.name, evidence);
                div.field.invalid[e.is_some()] {
                    label for=(id) { (c.name) @if c.mandatory && fetched.is_none() { " " span.req aria-hidden="true" { "*" } } }
                    @if let Some(r) = fetched {
                        p.fetched id={(id) "-fetched"} { (lang.t("Đã lấy từ ", "Fetched from ")) (r.registry().map(|x| lang.t(x.label_vi(), x.label_en())).unwrap_or_default()) ": " code { (r.record_id.clone().unwrap_or_default()) } ". " (lang.t("Không cần đính kèm; bạn vẫn có thể tải lên bản khác.", "No need to attach it; you may still upload another copy.")) }
                    }
                    input #(id) type="file" name={"component_" (i)} accept="application/pdf,image/*" required[c.mandatory && fetched.is_none()] aria-describedby=[e.map(|_| format!("{id}-err")).or(fetched.map(|_| format!("{id}-fetched")))];
                    @if let Some(e) = e { p.error-text id={(id) "-err"} { (field_error_message(lang, &e.code)) } }
                }
            }
        }
    }
}

fn field_label(form: &sen_domain::eform::EForm, name: &str, lang: Lang) -> String {
    if let Some(c) = name.strip_prefix("component:") {
        return c.to_string();
    }
    form.fields()
        .iter()
        .find(|f| f.name == name)
        .map(|f| lang.t(&f.title_vi, &f.title_en).to_string())
        .unwrap_or_else(|| name.to_string())
}

#[derive(Deserialize)]
struct ApplyQuery {
    /// A confirmed request for data the state holds: the form is pre-filled from it.
    evidence: Option<String>,
}

/// The confirmed answers of a request, for the form (nothing when not confirmed or not theirs).
async fn confirmed_evidence(
    st: &AppState,
    who: &Principal,
    id: i64,
    batch: Option<&str>,
) -> Vec<sen_store::evidence::FetchedEvidenceRow> {
    let Some(batch) = batch.filter(|b| !b.is_empty() && b.len() <= 64) else { return vec![] };
    match st.evidence_batch(who, id, batch).await {
        Ok(rows) if rows.iter().all(|r| r.confirmed_at.is_some()) => rows,
        _ => vec![],
    }
}

async fn apply_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    Path(id): Path<i64>,
    Query(q): Query<ApplyQuery>,
) -> PageResult {
    let Some(who) = who else {
        return Ok(Redirect::to(&format!("/login?next=/procedures/{id}/apply")).into_response());
    };
    if !who.is_applicant() {
        return Err(PageError(AppError::Forbidden("only citizens and businesses submit dossiers".into()), lang));
    }
    let evidence = confirmed_evidence(&st, &who, id, q.evidence.as_deref()).await;
    let values = match st.procedure(id) {
        Ok(p) if !evidence.is_empty() => crate::once_only::prefill(&p.spec(), &evidence),
        _ => HashMap::new(),
    };
    let body = apply_form(&st, lang, &who, id, &values, &[], &evidence).await?;
    Ok(html_page(lang, None, Some(&who), lang.t("Nộp hồ sơ", "Apply"), body))
}

/// Text fields and files of a multipart form. Files keep the field name they came in.
pub(crate) struct MultipartForm {
    pub(crate) fields: HashMap<String, String>,
    pub(crate) files: Vec<(String, NewFile)>,
}

pub(crate) async fn read_multipart(mut mp: Multipart, max_file: usize) -> Result<MultipartForm, AppError> {
    let mut fields = HashMap::new();
    let mut files = Vec::new();
    while let Some(field) = mp.next_field().await.map_err(|e| AppError::bad("malformed_form", e.body_text()))? {
        let name = field.name().unwrap_or("").to_string();
        if let Some(filename) = field.file_name().map(str::to_string) {
            let content_type = field.content_type().unwrap_or("application/octet-stream").to_string();
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge { limit: max_file }
                } else {
                    AppError::bad("malformed_form", e.body_text())
                }
            })?;
            if filename.is_empty() && bytes.is_empty() {
                continue; // an empty file input
            }
            if bytes.len() > max_file {
                return Err(AppError::TooLarge { limit: max_file });
            }
            files.push((name, NewFile { component: String::new(), filename, content_type, content: bytes.to_vec() }));
        } else {
            let text = field.text().await.map_err(|e| AppError::bad("malformed_form", e.body_text()))?;
            if text.len() > 100_000 {
                return Err(AppError::bad("field_too_long", format!("{name} is too long")));
            }
            fields.insert(name, text);
        }
    }
    Ok(MultipartForm { fields, files })
}

/// Files of a multipart form named `component_{i}`, given the component they are for.
pub(crate) fn component_files(
    spec: &sen_domain::procedure::ProcedureSpec,
    files: Vec<(String, NewFile)>,
) -> Vec<NewFile> {
    files
        .into_iter()
        .filter_map(|(field, mut f)| {
            let i: usize = field.strip_prefix("component_")?.parse().ok()?;
            f.component = spec.components.get(i)?.name.clone();
            Some(f)
        })
        .collect()
}

async fn apply_submit(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    mp: Multipart,
) -> PageResult {
    let form = read_multipart(mp, st.config.max_file_bytes).await.page(lang)?;
    who.check_csrf(form.fields.get("csrf").map(String::as_str)).page(lang)?;
    let p = st.procedure(id).page(lang)?;
    let spec = p.spec();
    let eform = st.catalogue().form(&st.store, p.id, p.form_version).await.page(lang)?;
    let data = eform.coerce_form(&form.fields);
    let files = component_files(&spec, form.files);
    let req = SubmitRequest {
        procedure_id: id,
        agency_id: form.fields.get("agency_id").and_then(|v| v.parse().ok()),
        data,
        files,
        idempotency_key: form.fields.get("idempotency_key").filter(|k| !k.is_empty() && k.len() <= 200).cloned(),
        evidence_batch: form.fields.get("evidence_batch").filter(|b| !b.is_empty()).cloned(),
        offer_id: None,
    };
    match st.submit(&who, req).await {
        Ok(s) => Ok(Redirect::to(&format!("/dossiers/{}?submitted=1", s.id)).into_response()),
        Err(AppError::Invalid(errors)) => {
            let evidence =
                confirmed_evidence(&st, &who, id, form.fields.get("evidence_batch").map(String::as_str)).await;
            let body = apply_form(&st, lang, &who, id, &form.fields, &errors, &evidence).await?;
            let mut r = html_page(lang, None, Some(&who), lang.t("Nộp hồ sơ", "Apply"), body);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

fn state_badge(st: &AppState, lang: Lang, state: &str, overdue: bool) -> Markup {
    html! {
        span.badge { (st.state_label(state, lang)) }
        @if overdue { " " span.badge.late { (lang.t("Quá hạn", "Overdue")) } }
    }
}

async fn my_dossiers(State(st): State<AppState>, lang: Lang, who: Principal) -> PageResult {
    let rows = st.store.dossiers_of_applicant(who.user.id, 100, 0).await.page(lang)?;
    let next = crate::recommend_http::applicant_section(&st, lang, &rows);
    let body = html! {
        h1 { (lang.t("Hồ sơ của tôi", "My dossiers")) }
        @if rows.is_empty() { p { (lang.t("Bạn chưa nộp hồ sơ nào.", "You have not submitted any dossier.")) " " a href="/procedures" { (lang.t("Tìm thủ tục", "Find a procedure")) } } }
        @else {
            table { thead { tr { th { (lang.t("Mã hồ sơ", "Code")) } th { (lang.t("Thủ tục", "Procedure")) } th { (lang.t("Ngày nộp", "Submitted")) } th { (lang.t("Ngày hẹn trả", "Appointment")) } th { (lang.t("Trạng thái", "Status")) } } }
                tbody { @for d in &rows { tr {
                    td { a href={"/dossiers/" (d.id)} { (d.code) } } td { (d.procedure_name) } td { (fmt_time(d.submitted_at)) }
                    td { (d.due_date.map(fmt_date).unwrap_or_default()) } td { (state_badge(&st, lang, &d.state, d.overdue)) }
                } } } }
        }
        (next)
    };
    Ok(html_page(lang, None, Some(&who), lang.t("Hồ sơ của tôi", "My dossiers"), body))
}

/// Roles as recorded in the trail (`reception`, `approver,specialist`, `citizen`…), in words.
fn role_words(lang: Lang, roles: &str) -> String {
    roles
        .split(',')
        .map(|r| match (sen_domain::Role::parse(r), r) {
            (Some(role), _) => lang.t(role.label_vi(), r).to_string(),
            (None, "citizen" | "applicant") => lang.t("Công dân", "Citizen").to_string(),
            (None, "business") => lang.t("Doanh nghiệp", "Business").to_string(),
            (None, "admin") => lang.t("Quản trị hệ thống", "Administrator").to_string(),
            (None, "system") => lang.t("Hệ thống", "System").to_string(),
            (None, other) => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A form value for display: dates as dd/mm/yyyy, strings as they are.
fn show_value(v: &serde_json::Value) -> String {
    match v.as_str() {
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map(fmt_date).unwrap_or_else(|_| s.to_string()),
        None => v.to_string(),
    }
}

fn action_label(lang: Lang, action: &str) -> &'static str {
    match action {
        "submit" => lang.t("Nộp hồ sơ", "Submitted"),
        "receive" => lang.t("Tiếp nhận hồ sơ, hẹn trả kết quả", "Received, appointment set"),
        "request_supplement" => lang.t("Yêu cầu bổ sung hồ sơ", "Supplement requested"),
        "supply" => lang.t("Công dân bổ sung hồ sơ", "Supplement provided"),
        "hand_off" => lang.t("Chuyển xử lý", "Handed off"),
        "approve" => lang.t("Phê duyệt", "Approved"),
        "refuse" => lang.t("Từ chối, nêu rõ lý do", "Refused, with reasons"),
        "issue_result" => lang.t("Trả kết quả", "Result issued"),
        "withdraw" => lang.t("Rút hồ sơ", "Withdrawn"),
        "claim" => lang.t("Nhận xử lý", "Claimed"),
        "apology" => lang.t("Thư xin lỗi, hẹn lại ngày trả", "Apology letter, new appointment"),
        _ => lang.t("Thao tác khác", "Other"),
    }
}

#[derive(Deserialize)]
struct DossierQuery {
    submitted: Option<String>,
    done: Option<String>,
}

async fn dossier_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Query(q): Query<DossierQuery>,
) -> PageResult {
    let (d, access) = st.open_dossier(&who, id, "xem hồ sơ trên trang xử lý").await.page(lang)?;
    let p = st.procedure(d.procedure_id).page(lang)?;
    let form = st.catalogue().form(&st.store, p.id, d.form_version).await.page(lang)?;
    let data: serde_json::Value = serde_json::from_str(&d.data).unwrap_or_default();
    let events = st.store.events(d.id).await.page(lang)?;
    let files = st.store.files(d.id).await.page(lang)?;
    let components = st.store.dossier_components(d.id).await.page(lang)?;
    let reads =
        if access == Access::Applicant { st.store.dossier_audit(d.id, true).await.page(lang)? } else { Vec::new() };
    let agency = st.store.agency(d.agency_id).await.page(lang)?;
    let signed_result = st.store.result_of(d.id).await.page(lang)?;
    let records = crate::trust_http::work_records_of(&st, d.id).await.page(lang)?;
    let state = d.state();
    let completeness = if access == Access::Officer && state == DossierState::Submitted {
        Some(st.completeness_of(&d).await.page(lang)?)
    } else {
        None
    };
    let supplement_reason =
        events.iter().rev().find(|e| e.action == "request_supplement").and_then(|e| e.reason.clone());
    let csrf = who.csrf.clone().unwrap_or_default();
    let hidden =
        html! { input type="hidden" name="csrf" value=(csrf); input type="hidden" name="version" value=(d.version); };
    let officer_can = |a: Action| {
        access == Access::Officer && who.may(d.agency_id, Permission::Act(a), state) && d.lifecycle().apply(a).is_ok()
    };
    let (handoff_targets, handoff_agencies) = if officer_can(Action::HandOff) {
        let agencies = st.store.agencies().await.page(lang)?;
        let same_place: Vec<sen_store::Agency> =
            agencies.into_iter().filter(|a| a.level == "central" || a.province_code == agency.province_code).collect();
        (st.store.officers_of(d.agency_id).await.page(lang)?, same_place)
    } else {
        (Vec::new(), Vec::new())
    };
    let body = html! {
        @if q.submitted.is_some() {
            div.notice role="status" {
                h2 { (lang.t("Đã nộp hồ sơ thành công", "Your dossier was submitted")) }
                p { (lang.t("Mã hồ sơ: ", "Dossier code: ")) strong { (d.code) } }
                @if let Some(due) = d.due_date { p { (lang.t("Ngày hẹn trả kết quả (dự kiến): ", "Expected appointment date: ")) strong { (fmt_date(due)) } } }
            }
        }
        @if q.done.is_some() { div.notice role="status" { (lang.t("Đã cập nhật hồ sơ.", "The dossier was updated.")) } }
        h1 { (lang.t("Hồ sơ ", "Dossier ")) (d.code) }
        dl.facts {
            dt { (lang.t("Thủ tục", "Procedure")) } dd { (lang.t(&p.name, &p.name_en)) }
            dt { (lang.t("Cơ quan xử lý", "Handling agency")) } dd { (agency.name) }
            dt { (lang.t("Người nộp", "Applicant")) } dd { (d.applicant_name) }
            dt { (lang.t("Trạng thái", "Status")) } dd { (state_badge(&st, lang, &d.state, d.overdue)) }
            dt { (lang.t("Ngày nộp", "Submitted")) } dd { (fmt_time(d.submitted_at)) }
            @if let Some(r) = d.received_at { dt { (lang.t("Ngày tiếp nhận", "Received")) } dd { (fmt_time(r)) } }
            @if let Some(due) = d.due_date { dt { (lang.t("Ngày hẹn trả kết quả", "Appointment date")) } dd { (fmt_date(due)) } }
            @if let Some(result) = d.result.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()) {
                dt { (lang.t("Kết quả", "Result")) }
                dd { (result["document"].as_str().unwrap_or(&p.result_document)) " — " (lang.t("ban hành ngày ", "issued on ")) (show_value(&result["issued_on"])) }
            }
        }
        @if let Some(r) = &signed_result {
            section.card #result aria-labelledby="result-h" {
                h2 #result-h { (lang.t("Kết quả điện tử đã ký số", "Digitally signed result")) }
                p { (lang.t("Kết quả được ký bằng con dấu điện tử của cơ quan và gắn dấu thời gian. Mã xác thực: ", "The result is signed with the agency's electronic seal and time-stamped. Verification code: ")) strong { (r.verification_code) } }
                p {
                    a href={"/api/v1/dossiers/" (d.id) "/result.pdf"} { (lang.t("Tải bản PDF", "Download the PDF")) } " · "
                    a href={"/api/v1/dossiers/" (d.id) "/result.pdf.p7s"} { (lang.t("chữ ký .p7s", ".p7s signature")) } " · "
                    a href={"/api/v1/dossiers/" (d.id) "/result.jws"} { (lang.t("văn bản JSON đã ký (JWS)", "signed JSON (JWS)")) } " · "
                    a href={"/verify/" (r.verification_code)} { (lang.t("Kiểm tra tính xác thực", "Check authenticity")) }
                }
            }
        }
        @if !records.is_empty() {
            details.card {
                summary { (lang.t("Phiếu xử lý đã ký số", "Signed work records")) " (" (records.len()) ")" }
                ol { @for w in &records {
                    li { (w.action) " — " (fmt_time(w.at)) " — " (w.verdict.signer.as_ref().map(|s| s.subject.clone()).unwrap_or_default()) " — "
                        @if w.verdict.valid && w.chained { (lang.t("chữ ký hợp lệ, chuỗi liền mạch", "valid signature, unbroken chain")) }
                        @else { strong { (lang.t("KHÔNG hợp lệ", "NOT valid")) " (" (w.verdict.code) ")" } } }
                } }
            }
        }
        @if state == DossierState::AwaitingSupplement {
            div.warning role="status" { strong { (lang.t("Cơ quan yêu cầu bổ sung hồ sơ: ", "The agency asks for more documents: ")) } (supplement_reason.clone().unwrap_or_default()) }
        }
        @if access == Access::Officer && st.needs_apology(&d) {
            div.warning role="status" { (lang.t("Hồ sơ sắp quá hạn hoặc đã quá hạn: hãy gửi thư xin lỗi và hẹn lại ngày trả kết quả.", "This dossier will be late: send the apology letter with a new appointment date.")) }
        }
        h2 { (lang.t("Thông tin tờ khai", "Form data")) }
        table { tbody { @for f in form.fields() { tr { th scope="row" { (lang.t(&f.title_vi, &f.title_en)) } td { (data.get(&f.name).map(show_value).unwrap_or_default()) } } } } }
        h2 { (lang.t("Giấy tờ đính kèm", "Attached documents")) }
        @if files.is_empty() { p { (lang.t("Không có tệp.", "No files.")) } }
        ul { @for f in &files { li { a href={"/dossiers/" (d.id) "/files/" (f.id)} { (f.filename) } " — " (f.component) " (" (f.size) " bytes)" } } }
        (crate::once_only::components_table(lang, &components))
        @if let Some(c) = &completeness { (crate::completeness_http::section(lang, c)) }

        h2 { (lang.t("Thao tác", "Actions")) }
        div.actions {
            @if access == Access::Applicant && state == DossierState::AwaitingSupplement {
                form method="post" action={"/dossiers/" (d.id) "/act"} enctype="multipart/form-data" {
                    (hidden) input type="hidden" name="action" value="supply";
                    h3 { (lang.t("Bổ sung hồ sơ", "Provide the supplement")) }
                    div.field { label for="supply-files" { (lang.t("Tệp bổ sung", "Files")) } input #supply-files type="file" name="files" multiple accept="application/pdf,image/*"; }
                    div.field { label for="supply-note" { (lang.t("Ghi chú", "Note")) } textarea #supply-note name="reason" {} }
                    button type="submit" { (lang.t("Gửi bổ sung", "Send")) }
                }
            }
            @if access == Access::Applicant && d.lifecycle().apply(Action::Withdraw).is_ok() {
                form method="post" action={"/dossiers/" (d.id) "/act"} enctype="multipart/form-data" {
                    (hidden) input type="hidden" name="action" value="withdraw";
                    h3 { (lang.t("Rút hồ sơ", "Withdraw")) }
                    div.field { label for="withdraw-reason" { (lang.t("Lý do", "Reason")) } textarea #withdraw-reason name="reason" {} }
                    button.secondary type="submit" { (lang.t("Rút hồ sơ", "Withdraw")) }
                }
            }
            @if access == Access::Applicant && state.is_terminal() {
                @if let Some(r) = d.rating { p { (lang.t("Bạn đã đánh giá: ", "Your rating: ")) (r) "/5" } }
                @else {
                    form method="post" action={"/dossiers/" (d.id) "/rate"} {
                        input type="hidden" name="csrf" value=(csrf);
                        fieldset { legend { (lang.t("Đánh giá mức độ hài lòng", "Rate the service")) }
                            div.stars { @for s in 1..=5 { label { input type="radio" name="score" value=(s) required; " " (s) } } }
                        }
                        div.field { label for="rate-comment" { (lang.t("Góp ý", "Comment")) } textarea #rate-comment name="comment" {} }
                        button type="submit" { (lang.t("Gửi đánh giá", "Send rating")) }
                    }
                }
            }
            @if access == Access::Officer && !state.is_terminal() && d.assignee_user_id != Some(who.user.id) {
                form method="post" action={"/dossiers/" (d.id) "/claim"} { (hidden) h3 { (lang.t("Nhận xử lý", "Claim")) } button type="submit" { (lang.t("Nhận hồ sơ này", "Claim this dossier")) } }
            }
            @if officer_can(Action::Receive) {
                form method="post" action={"/dossiers/" (d.id) "/act"} enctype="multipart/form-data" { (hidden) input type="hidden" name="action" value="receive";
                    h3 { (lang.t("Tiếp nhận hồ sơ", "Receive")) } p.hint { (lang.t("Cấp giấy tiếp nhận và hẹn trả kết quả.", "Issues the receipt with the appointment date.")) }
                    button type="submit" { (lang.t("Tiếp nhận", "Receive")) } }
            }
            @if officer_can(Action::RequestSupplement) {
                form method="post" action={"/dossiers/" (d.id) "/act"} enctype="multipart/form-data" { (hidden) input type="hidden" name="action" value="request_supplement";
                    h3 { (lang.t("Yêu cầu bổ sung", "Request a supplement")) }
                    div.field { label for="supp-reason" { (lang.t("Nội dung cần bổ sung", "What is missing")) span.req aria-hidden="true" { " *" } } textarea #supp-reason name="reason" required {} }
                    button type="submit" { (lang.t("Gửi yêu cầu", "Send request")) } }
            }
            @if officer_can(Action::HandOff) {
                form method="post" action={"/dossiers/" (d.id) "/act"} enctype="multipart/form-data" { (hidden) input type="hidden" name="action" value="hand_off";
                    h3 { (lang.t("Chuyển xử lý", "Hand off")) }
                    div.field { label for="to-user" { (lang.t("Chuyển cho cán bộ (trong cơ quan)", "To official (this agency)")) }
                        select #to-user name="to_user_id" {
                            option value="" { (lang.t("— Không chỉ định —", "— Not assigned —")) }
                            @for (u, role) in &handoff_targets { option value=(u.id) { (u.display_name) " — " (role_words(lang, role)) } }
                        } }
                    div.field { label for="to-agency" { (lang.t("Hoặc chuyển sang cơ quan khác", "Or to another agency")) }
                        select #to-agency name="to_agency_id" {
                            option value="" { (lang.t("— Giữ tại cơ quan này —", "— Keep in this agency —")) }
                            @for a in &handoff_agencies { @if a.id != d.agency_id { option value=(a.id) { (a.name) } } }
                        } }
                    div.field { label for="handoff-note" { (lang.t("Ý kiến", "Note")) } textarea #handoff-note name="reason" {} }
                    button type="submit" { (lang.t("Chuyển", "Hand off")) } }
            }
            @if officer_can(Action::Approve) {
                form method="post" action={"/dossiers/" (d.id) "/act"} enctype="multipart/form-data" { (hidden) input type="hidden" name="action" value="approve";
                    h3 { (lang.t("Phê duyệt", "Approve")) } button type="submit" { (lang.t("Phê duyệt", "Approve")) } }
            }
            @if officer_can(Action::Refuse) {
                form method="post" action={"/dossiers/" (d.id) "/act"} enctype="multipart/form-data" { (hidden) input type="hidden" name="action" value="refuse";
                    h3 { (lang.t("Từ chối", "Refuse")) }
                    div.field { label for="refuse-reason" { (lang.t("Lý do từ chối", "Reasons")) span.req aria-hidden="true" { " *" } } textarea #refuse-reason name="reason" required {} }
                    button.secondary type="submit" { (lang.t("Từ chối", "Refuse")) } }
            }
            @if officer_can(Action::IssueResult) {
                form method="post" action={"/dossiers/" (d.id) "/act"} enctype="multipart/form-data" { (hidden) input type="hidden" name="action" value="issue_result";
                    h3 { (lang.t("Trả kết quả", "Issue the result")) } p.hint { (p.result_document) }
                    button type="submit" { (lang.t("Trả kết quả", "Issue result")) } }
            }
            @if access == Access::Officer && state.clock_runs() {
                form method="post" action={"/dossiers/" (d.id) "/apology"} { (hidden)
                    h3 { (lang.t("Thư xin lỗi và hẹn lại", "Apology and new appointment")) }
                    div.field { label for="new-due" { (lang.t("Ngày hẹn mới", "New appointment date")) } input #new-due type="date" name="new_due_date" required; }
                    div.field { label for="apology-reason" { (lang.t("Lý do chậm", "Why it is late")) } textarea #apology-reason name="reason" required {} }
                    button.secondary type="submit" { (lang.t("Gửi thư xin lỗi", "Send apology")) } }
            }
        }
        h2 { (lang.t("Tiến trình xử lý", "Processing timeline")) }
        ol.timeline { @for e in &events { li {
            strong { (action_label(lang, &e.action)) } " — " (fmt_time(e.at)) br;
            (e.actor_name) @if let Some(r) = &e.actor_role { " (" (role_words(lang, r)) ")" }
            @if let Some(r) = &e.reason { br; em { (r) } }
        } } }
        @if access == Access::Applicant {
            h2 { (lang.t("Ai đã xem hồ sơ của tôi", "Who opened my dossier")) }
            @if reads.is_empty() { p { (lang.t("Chưa có cán bộ nào mở hồ sơ.", "No official has opened it yet.")) } }
            @else { table { thead { tr { th { (lang.t("Thời gian", "When")) } th { (lang.t("Cán bộ", "Official")) } th { (lang.t("Vai trò", "Role")) } th { (lang.t("Mục đích", "Purpose")) } } }
                tbody { @for r in &reads { tr { td { (fmt_time(r.at)) } td { (r.actor_name) } td { (role_words(lang, r.actor_role.as_deref().unwrap_or(""))) } td { (r.reason.clone().unwrap_or_default()) } } } } } }
        }
    };
    Ok(html_page(lang, None, Some(&who), &d.code, body))
}

async fn dossier_act(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    mp: Multipart,
) -> PageResult {
    let form = read_multipart(mp, st.config.max_file_bytes).await.page(lang)?;
    who.check_csrf(form.fields.get("csrf").map(String::as_str)).page(lang)?;
    let action = form
        .fields
        .get("action")
        .and_then(|a| Action::parse(a))
        .ok_or(AppError::bad("invalid_request", "unknown action"))
        .page(lang)?;
    let files = form.files.into_iter().map(|(_, mut f)| {
        f.component = "Bổ sung".into();
        f
    });
    let input = ActInput {
        version: form.fields.get("version").and_then(|v| v.parse().ok()),
        reason: form.fields.get("reason").cloned(),
        to_agency_id: form.fields.get("to_agency_id").and_then(|v| v.parse().ok()),
        to_user_id: form.fields.get("to_user_id").and_then(|v| v.parse().ok()),
        files: files.collect(),
    };
    st.act(&who, id, action, input).await.page(lang)?;
    Ok(Redirect::to(&format!("/dossiers/{id}?done=1")).into_response())
}

#[derive(Deserialize)]
struct VersionForm {
    csrf: Option<String>,
    version: Option<i64>,
}

async fn dossier_claim(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    st.claim(&who, id, f.version).await.page(lang)?;
    Ok(Redirect::to(&format!("/dossiers/{id}?done=1")).into_response())
}

#[derive(Deserialize)]
struct ApologyForm {
    csrf: Option<String>,
    version: Option<i64>,
    new_due_date: String,
    reason: String,
}

async fn dossier_apology(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Form(f): Form<ApologyForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    let date = NaiveDate::parse_from_str(&f.new_due_date, "%Y-%m-%d")
        .map_err(|_| AppError::field("new_due_date", "format", "not a date"))
        .page(lang)?;
    st.apologise(&who, id, f.version, date, &f.reason).await.page(lang)?;
    Ok(Redirect::to(&format!("/dossiers/{id}?done=1")).into_response())
}

#[derive(Deserialize)]
struct RateForm {
    csrf: Option<String>,
    score: Option<i64>,
    comment: Option<String>,
}

async fn dossier_rate(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Form(f): Form<RateForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    let score = f.score.ok_or(AppError::field("score", "required", "choose a score")).page(lang)?;
    st.rate(&who, id, score, f.comment.as_deref().unwrap_or("")).await.page(lang)?;
    Ok(Redirect::to(&format!("/dossiers/{id}?done=1")).into_response())
}

async fn dossier_file(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path((id, file)): Path<(i64, i64)>,
) -> PageResult {
    let (d, _) = st.open_dossier(&who, id, "tải tệp đính kèm").await.page(lang)?;
    let f = st.store.file_content(d.id, file).await.map_err(|_| AppError::NotFound("file")).page(lang)?;
    let disposition = format!("attachment; filename*=UTF-8''{}", percent(&f.filename));
    Ok((
        [
            (header::CONTENT_TYPE, f.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
        ],
        f.content,
    )
        .into_response())
}

pub(crate) fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct LookupQuery {
    code: Option<String>,
}

async fn lookup_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    Query(q): Query<LookupQuery>,
) -> Response {
    let code = q.code.unwrap_or_default();
    let found = if code.trim().is_empty() {
        None
    } else {
        st.store.dossier_by_code(&sen_domain::ident::normalise_dossier_code(&code)).await.ok()
    };
    let body = html! {
        h1 { (lang.t("Tra cứu hồ sơ", "Track a dossier")) }
        form.search method="get" action="/lookup" {
            label for="code" { (lang.t("Mã hồ sơ", "Dossier code")) }
            input #code type="text" name="code" value=(code) autocomplete="off";
            button type="submit" { (lang.t("Tra cứu", "Look up")) }
        }
        @if !code.trim().is_empty() {
            @match &found {
                Some(d) => {
                    dl.facts {
                        dt { (lang.t("Mã hồ sơ", "Code")) } dd { (d.code) }
                        dt { (lang.t("Thủ tục", "Procedure")) } dd { (st.catalogue().get(d.procedure_id).map(|p| p.name.clone()).unwrap_or_default()) }
                        dt { (lang.t("Trạng thái", "Status")) } dd { (state_badge(&st, lang, &d.state, d.overdue)) }
                        dt { (lang.t("Ngày nộp", "Submitted")) } dd { (fmt_time(d.submitted_at)) }
                        @if let Some(due) = d.due_date { dt { (lang.t("Ngày hẹn trả", "Appointment")) } dd { (fmt_date(due)) } }
                    }
                }
                None => { p role="alert" { (lang.t("Không tìm thấy hồ sơ với mã này.", "No dossier has this code.")) } }
            }
        }
    };
    html_page(lang, None, who.as_ref(), lang.t("Tra cứu hồ sơ", "Track a dossier"), body)
}

#[derive(Deserialize)]
struct OfficeQuery {
    queue: Option<String>,
    page: Option<u64>,
}

async fn office(State(st): State<AppState>, lang: Lang, who: Principal, Query(q): Query<OfficeQuery>) -> PageResult {
    if !who.is_officer() {
        return Err(PageError(AppError::Forbidden("the back office is for officials".into()), lang));
    }
    let queue = q.queue.as_deref().and_then(Queue::parse).unwrap_or(Queue::New);
    let page = q.page.unwrap_or(0);
    let counts = st
        .store
        .queue_counts(&who.working_agencies(), who.user.id, today(), st.soon(), crate::app::QUEUE_COUNT_CAP)
        .await
        .page(lang)?;
    let rows = st.queue(&who, queue, 50, page * 50).await.page(lang)?;
    let risks = st.delay_risks(&rows).await.page(lang)?;
    let label = |q: Queue| match q {
        Queue::New => lang.t("Mới nộp", "New"),
        Queue::Mine => lang.t("Của tôi", "Assigned to me"),
        Queue::DueSoon => lang.t("Sắp đến hạn", "Due soon"),
        Queue::Overdue => lang.t("Quá hạn", "Overdue"),
        Queue::Waiting => lang.t("Chờ bổ sung", "Waiting for applicant"),
        Queue::Open => lang.t("Tất cả đang xử lý", "All open"),
    };
    let body = html! {
        h1 { (lang.t("Xử lý hồ sơ", "Back office")) }
        nav.tabs aria-label=(lang.t("Hàng đợi", "Queues")) {
            @for (qq, n) in &counts { a href={"/office?queue=" (qq.as_str())} aria-current=[(*qq == queue).then_some("page")] { (label(*qq)) " (" @if *n >= crate::app::QUEUE_COUNT_CAP as i64 { (crate::app::QUEUE_COUNT_CAP) "+" } @else { (n) } ")" } }
        }
        @if rows.is_empty() { p { (lang.t("Không có hồ sơ trong hàng đợi này.", "This queue is empty.")) } }
        @else {
            table { thead { tr { th { (lang.t("Mã hồ sơ", "Code")) } th { (lang.t("Thủ tục", "Procedure")) } th { (lang.t("Người nộp", "Applicant")) } th { (lang.t("Ngày nộp", "Submitted")) } th { (lang.t("Hạn xử lý", "Due")) } th { (lang.t("Trạng thái", "Status")) } th { abbr title=(lang.t("Xác suất trả kết quả sau ngày hẹn, học từ hồ sơ đã giải quyết", "Probability of finishing after the appointment, learned from closed dossiers")) { (lang.t("Nguy cơ trễ", "Delay risk")) } } } }
                tbody { @for d in &rows { tr {
                    td { a href={"/dossiers/" (d.id)} { (d.code) } } td { (d.procedure_name) } td { (d.applicant_name) } td { (fmt_time(d.submitted_at)) }
                    td { (d.due_date.map(fmt_date).unwrap_or_default()) } td { (state_badge(&st, lang, &d.state, d.overdue)) }
                    td { @match risks.get(&d.id) { Some(r) if *r >= 0.5 => { strong.late { (format!("{:.0}%", r * 100.0)) } } Some(r) => { (format!("{:.0}%", r * 100.0)) } None => { "—" } } }
                } } } }
            nav aria-label=(lang.t("Trang", "Pages")) {
                @if page > 0 { a href={"/office?queue=" (queue.as_str()) "&page=" (page - 1)} { (lang.t("← Trang trước", "← Previous")) } " " }
                @if rows.len() == 50 { a href={"/office?queue=" (queue.as_str()) "&page=" (page + 1)} { (lang.t("Trang sau →", "Next →")) } }
            }
        }
    };
    Ok(html_page(lang, None, Some(&who), lang.t("Xử lý hồ sơ", "Back office"), body))
}

/// Agency kinds whose procedures the caller may edit; `None` means all (system administrator).
async fn editable_kinds(st: &AppState, who: &Principal) -> Result<Option<Vec<String>>, AppError> {
    if who.is_admin() {
        return Ok(None);
    }
    let mut kinds = Vec::new();
    for r in who.roles.iter().filter(|r| r.role == sen_domain::Role::AgencyAdmin.as_str()) {
        kinds.push(st.store.agency(r.agency_id).await?.kind);
    }
    if kinds.is_empty() {
        return Err(AppError::Forbidden("procedure administration is for agency administrators".into()));
    }
    Ok(Some(kinds))
}

async fn admin_procedures(State(st): State<AppState>, lang: Lang, who: Principal) -> PageResult {
    let kinds = editable_kinds(&st, &who).await.page(lang)?;
    let cat = st.catalogue();
    let rows: Vec<&sen_store::ProcedureRow> =
        cat.procedures.iter().filter(|p| kinds.as_ref().is_none_or(|k| k.contains(&p.agency_kind))).collect();
    let body = html! {
        h1 { (lang.t("Quản trị thủ tục", "Procedure administration")) }
        p { a.button href="/admin/procedures/new" { (lang.t("Thêm thủ tục", "Add a procedure")) } }
        table { thead { tr { th { (lang.t("Mã", "Code")) } th { (lang.t("Tên thủ tục", "Name")) } th { (lang.t("Phiên bản biểu mẫu", "Form version")) } } }
            tbody { @for p in &rows { tr { td { (p.code) } td { a href={"/admin/procedures/" (p.id)} { (p.name) } } td { (p.form_version) } } } } }
    };
    Ok(html_page(lang, None, Some(&who), lang.t("Quản trị thủ tục", "Procedure administration"), body))
}

fn procedure_editor(
    lang: Lang,
    who: &Principal,
    action: &str,
    v: &HashMap<String, String>,
    error: Option<&str>,
) -> Markup {
    let text = |name: &str, label: &str| {
        let value = v.get(name).cloned().unwrap_or_default();
        html! { div.field { label for={"p-" (name)} { (label) } input #{"p-" (name)} type="text" name=(name) value=(value); } }
    };
    let area = |name: &str, label: &str, hint: &str| {
        let value = v.get(name).cloned().unwrap_or_default();
        html! { div.field { label for={"p-" (name)} { (label) } p.hint { (hint) } textarea #{"p-" (name)} name=(name) rows="8" { (value) } } }
    };
    let chosen = |name: &str, option: &str| v.get(name).is_some_and(|x| x == option);
    html! {
        @if let Some(e) = error { div.error-summary role="alert" { p { (e) } } }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
            (text("code", lang.t("Mã thủ tục", "Code")))
            (text("name", lang.t("Tên thủ tục", "Name")))
            (text("name_en", lang.t("Tên tiếng Anh", "English name")))
            (text("sector", lang.t("Lĩnh vực", "Sector")))
            div.field { label for="p-level" { (lang.t("Cấp thực hiện", "Level")) }
                select #p-level name="level" { @for (o, l) in [("commune", "Cấp xã"), ("province", "Cấp tỉnh"), ("central", "Trung ương")] { option value=(o) selected[chosen("level", o)] { (l) } } } }
            (text("agency_kind", lang.t("Loại cơ quan thực hiện (ví dụ commune_pc)", "Implementing agency kind (e.g. commune_pc)")))
            (text("deadline_working_days", lang.t("Thời hạn (ngày làm việc)", "Deadline (working days)")))
            (text("fees", lang.t("Phí, lệ phí", "Fees")))
            (text("fee_vnd", lang.t("Lệ phí nộp trực tuyến (đồng)", "Online fee (VND)")))
            div.field { label for="p-service_level" { (lang.t("Mức độ dịch vụ", "Service level")) }
                select #p-service_level name="service_level" { @for (o, l) in [("full_process", "Toàn trình"), ("partial", "Một phần")] { option value=(o) selected[chosen("service_level", o)] { (l) } } } }
            div.field { label for="p-applicants" { (lang.t("Đối tượng", "Applicants")) }
                select #p-applicants name="applicants" { @for (o, l) in [("citizens", "Công dân"), ("businesses", "Doanh nghiệp"), ("both", "Cả hai")] { option value=(o) selected[chosen("applicants", o)] { (l) } } } }
            (text("legal_basis", lang.t("Căn cứ pháp lý", "Legal basis")))
            (text("result_document", lang.t("Kết quả", "Result document")))
            (text("keywords", lang.t("Từ khóa tìm kiếm", "Search keywords")))
            (area("components", lang.t("Thành phần hồ sơ", "Documents"), lang.t("Mỗi dòng một giấy tờ; thêm * ở đầu nếu bắt buộc.", "One per line; start with * when mandatory.")))
            (area("form", lang.t("Biểu mẫu điện tử (JSON Schema)", "E-form (JSON Schema)"), lang.t("Sửa biểu mẫu tạo phiên bản mới; hồ sơ đang xử lý giữ phiên bản cũ.", "A changed form becomes a new version; running dossiers keep theirs.")))
            button type="submit" { (lang.t("Lưu", "Save")) }
        }
    }
}

fn procedure_values(p: &sen_store::ProcedureRow, form: &serde_json::Value) -> HashMap<String, String> {
    let s = p.spec();
    let mut v = HashMap::new();
    for (k, x) in [
        ("code", s.code),
        ("name", s.name),
        ("name_en", s.name_en),
        ("sector", s.sector),
        ("level", s.level.as_str().into()),
        ("agency_kind", s.agency_kind),
        ("deadline_working_days", s.deadline_working_days.to_string()),
        ("fees", s.fees),
        ("fee_vnd", s.fee_vnd.to_string()),
        ("service_level", s.service_level.as_str().into()),
        ("applicants", s.applicants.as_str().into()),
        ("legal_basis", s.legal_basis),
        ("result_document", s.result_document),
        ("keywords", s.keywords),
    ] {
        v.insert(k.to_string(), x);
    }
    let comps: Vec<String> =
        s.components.iter().map(|c| format!("{}{}", if c.mandatory { "* " } else { "" }, c.name)).collect();
    v.insert("components".into(), comps.join("\n"));
    v.insert("form".into(), serde_json::to_string_pretty(form).unwrap_or_default());
    v
}

/// Reads the editor's fields into a procedure and its e-form, or says what is wrong.
fn parse_procedure(
    v: &HashMap<String, String>,
) -> Result<(sen_domain::procedure::ProcedureSpec, serde_json::Value), String> {
    use sen_domain::procedure::{Applicants, Component, Level, ServiceLevel};
    let get = |k: &str| v.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let spec = sen_domain::procedure::ProcedureSpec {
        code: get("code"),
        name: get("name"),
        name_en: get("name_en"),
        sector: get("sector"),
        level: Level::parse(&get("level")).ok_or("level")?,
        agency_kind: get("agency_kind"),
        deadline_working_days: get("deadline_working_days").parse().map_err(|_| "the deadline is a whole number of working days")?,
        fees: get("fees"),
        fee_vnd: get("fee_vnd").parse().map_err(|_| "the fee is a whole number of đồng")?,
        service_level: ServiceLevel::parse(&get("service_level")).ok_or("service level")?,
        applicants: Applicants::parse(&get("applicants")).ok_or("applicants")?,
        conditions: String::new(),
        steps: "Nộp hồ sơ trực tuyến trên Cổng dịch vụ công; cán bộ một cửa tiếp nhận, kiểm tra và chuyển xử lý; trả kết quả điện tử hoặc qua bưu chính.".into(),
        legal_basis: get("legal_basis"),
        result_document: get("result_document"),
        components: get("components")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| Component {
                mandatory: l.starts_with('*'),
                name: l.trim_start_matches('*').trim().to_string(),
                quantity: "01 bản".into(),
                template: None,
                evidence: vec![],
            })
            .collect(),
        keywords: get("keywords"),
    };
    spec.check().map_err(|e| e.to_string())?;
    let form: serde_json::Value =
        serde_json::from_str(&get("form")).map_err(|e| format!("the e-form is not valid JSON: {e}"))?;
    sen_domain::eform::EForm::compile(form.clone()).map_err(|e| e.to_string())?;
    Ok((spec, form))
}

async fn admin_procedure_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<String>,
) -> PageResult {
    editable_kinds(&st, &who).await.page(lang)?;
    let (title, action, values) = if id == "new" {
        let mut v = HashMap::new();
        v.insert(
            "form".to_string(),
            "{\n  \"type\": \"object\",\n  \"required\": [],\n  \"properties\": {}\n}".to_string(),
        );
        (lang.t("Thêm thủ tục", "Add a procedure").to_string(), "/admin/procedures/new".to_string(), v)
    } else {
        let id: i64 = id.parse().map_err(|_| AppError::NotFound("procedure")).page(lang)?;
        let p = st.procedure(id).page(lang)?;
        st.check_procedure_admin(&who, &p.agency_kind).await.page(lang)?;
        let form = st.catalogue().form(&st.store, p.id, p.form_version).await.page(lang)?;
        (p.name.clone(), format!("/admin/procedures/{id}"), procedure_values(&p, form.schema()))
    };
    let body = html! { h1 { (title) } (procedure_editor(lang, &who, &action, &values, None)) };
    Ok(html_page(lang, None, Some(&who), &title, body))
}

async fn admin_procedure_save(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<String>,
    Form(v): Form<HashMap<String, String>>,
) -> PageResult {
    who.check_csrf(v.get("csrf").map(String::as_str)).page(lang)?;
    let action = if id == "new" { "/admin/procedures/new".to_string() } else { format!("/admin/procedures/{id}") };
    let (mut spec, form) = match parse_procedure(&v) {
        Ok(x) => x,
        Err(e) => {
            let body = html! { h1 { (lang.t("Quản trị thủ tục", "Procedure administration")) } (procedure_editor(lang, &who, &action, &v, Some(&e))) };
            let mut r = html_page(lang, None, Some(&who), lang.t("Quản trị thủ tục", "Procedure administration"), body);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(r);
        }
    };
    st.check_procedure_admin(&who, &spec.agency_kind).await.page(lang)?;
    let actor = st.actor(&who, None);
    let saved_id = if id == "new" {
        st.store.create_procedure(&spec, &form, &actor).await.page(lang)?
    } else {
        let id: i64 = id.parse().map_err(|_| AppError::NotFound("procedure")).page(lang)?;
        let current = st.procedure(id).page(lang)?;
        st.check_procedure_admin(&who, &current.agency_kind).await.page(lang)?;
        // The editor edits names only: a component that keeps its name keeps its registries.
        let before = current.spec().components;
        for c in &mut spec.components {
            if let Some(b) = before.iter().find(|b| b.name == c.name) {
                c.evidence = b.evidence.clone();
            }
        }
        st.store.update_procedure(id, &spec, Some(&form), &actor).await.page(lang)?;
        id
    };
    st.reload_catalogue().await.page(lang)?;
    Ok(Redirect::to(&format!("/procedures/{saved_id}")).into_response())
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

fn login_body(lang: Lang, csrf: &str, next: &str, error: Option<&str>) -> Markup {
    html! {
        h1 { (lang.t("Đăng nhập", "Sign in")) }
        @if let Some(e) = error { div.error-summary role="alert" { p { (e) } } }
        form method="post" action="/login" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="next" value=(next);
            div.field { label for="username" { (lang.t("Tên đăng nhập hoặc số định danh", "Username or personal number")) } input #username type="text" name="username" autocomplete="username" required; }
            div.field { label for="password" { (lang.t("Mật khẩu", "Password")) } input #password type="password" name="password" autocomplete="current-password" required; }
            button type="submit" { (lang.t("Đăng nhập", "Sign in")) }
        }
    }
}

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') { next } else { "" }
}

async fn login_page(State(st): State<AppState>, lang: Lang, jar: CookieJar, Query(q): Query<LoginQuery>) -> Response {
    let token = random_token();
    let jar = jar.add(
        Cookie::build((LOGIN_CSRF_COOKIE, token.clone()))
            .http_only(true)
            .secure(st.config.secure_cookies)
            .same_site(SameSite::Strict)
            .path("/login")
            .build(),
    );
    html_page(
        lang,
        Some(jar),
        None,
        lang.t("Đăng nhập", "Sign in"),
        login_body(lang, &token, safe_next(q.next.as_deref().unwrap_or("")), None),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(st): State<AppState>,
    lang: Lang,
    jar: CookieJar,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || expected != f.csrf {
        return Err(PageError(AppError::Forbidden("the sign-in form expired; reload it".into()), lang));
    }
    match check_login(&st, &f.username, &f.password, &client_of(&headers)).await {
        Ok(u) => {
            let (jar, _) = open_session(&st, jar, u.id).await.page(lang)?;
            let next = safe_next(f.next.as_deref().unwrap_or(""));
            let to = if !next.is_empty() {
                next.to_string()
            } else if u.kind == sen_store::user_kind::OFFICER {
                "/office".into()
            } else {
                "/dossiers".into()
            };
            Ok((jar, Redirect::to(&to)).into_response())
        }
        Err(AppError::RateLimited) => Err(PageError(AppError::RateLimited, lang)),
        Err(_) => {
            let msg = lang.t("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password.");
            let mut r = html_page(
                lang,
                None,
                None,
                lang.t("Đăng nhập", "Sign in"),
                login_body(lang, &f.csrf, safe_next(f.next.as_deref().unwrap_or("")), Some(msg)),
            );
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(r)
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn logout(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    jar: CookieJar,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    who.check_csrf(f.csrf.as_deref()).page(lang)?;
    if let Some(c) = jar.get(SESSION_COOKIE) {
        st.store.delete_session(c.value()).await.page(lang)?;
        st.principals.forget(c.value());
    }
    Ok((jar.remove(Cookie::build(SESSION_COOKIE).path("/")), Redirect::to("/")).into_response())
}

async fn not_found(lang: Lang) -> PageError {
    PageError(AppError::NotFound("page"), lang)
}

/// Page handlers need a principal as a page error (redirect to login), not problem+json.
async fn require_login(who: Option<Principal>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match who {
        Some(_) => next.run(req).await,
        None => {
            let path = req.uri().path().to_string();
            Redirect::to(&format!(
                "/login?next={}",
                if req.method() == axum::http::Method::GET { path } else { String::new() }
            ))
            .into_response()
        }
    }
}

pub fn routes(state: AppState) -> Router<AppState> {
    let private = Router::new()
        .route("/procedures/{id}/apply", post(apply_submit))
        .route("/bundles/{key}/apply", get(crate::bundle_http::apply_page).post(crate::bundle_http::apply_submit))
        .route("/bundles/{key}/documents", post(crate::bundle_http::documents_submit))
        .route("/dossiers", get(my_dossiers))
        .route("/dossiers/{id}", get(dossier_page))
        .route("/dossiers/{id}/act", post(dossier_act))
        .route("/dossiers/{id}/claim", post(dossier_claim))
        .route("/dossiers/{id}/apology", post(dossier_apology))
        .route("/dossiers/{id}/rate", post(dossier_rate))
        .route("/dossiers/{id}/files/{file}", get(dossier_file))
        .route("/office", get(office))
        .route("/admin/procedures", get(admin_procedures))
        .route("/admin/procedures/{id}", get(admin_procedure_page).post(admin_procedure_save))
        .route("/consents", get(crate::consent_http::page).post(crate::consent_http::page_give))
        .route("/my-data", get(crate::data_reads_http::page))
        .merge(crate::proactive_http::page_routes())
        .route("/procedures/{id}/evidence", post(crate::once_only::page_fetch))
        .route("/procedures/{id}/evidence/{batch}", get(crate::once_only::page_preview))
        .route("/procedures/{id}/evidence/{batch}/confirm", post(crate::once_only::page_confirm))
        .route("/consents/{id}/revoke", post(crate::consent_http::page_revoke))
        .route("/admin/exchange", get(crate::exchange_pages::page))
        .route("/admin/reuse", get(crate::once_only::reuse_page))
        .route("/admin/exchange/{what}", post(crate::exchange_pages::change))
        .route("/admin/exchange/rights/{id}/revoke", post(crate::exchange_pages::revoke))
        .route("/logout", post(logout))
        .route_layer(axum::middleware::from_fn_with_state(state, require_login));
    Router::new()
        .route("/", get(home))
        .route("/procedures", get(procedures))
        .route("/procedures/{id}", get(procedure_page))
        .route("/procedures/{id}/apply", get(apply_page))
        .route("/lookup", get(lookup_page))
        .route("/assistant", get(crate::assistant_http::page))
        .route("/faq", get(crate::assistant_http::faq_page))
        .route("/assistant/feedback", post(crate::assistant_http::feedback_form))
        .route("/bundles", get(crate::bundle_http::page))
        .route("/admin/assistant", get(crate::assistant_http::quality_page))
        .route("/login", get(login_page).post(login_submit))
        .merge(private)
        .fallback(not_found)
}
