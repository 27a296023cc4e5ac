//! Open-data publication plans (issue #6): each agency's priority datasets with their dates,
//! access method, frequency and responsible unit, assessed against the catalogue — late,
//! published, stale — with the plans overdue for their 6-monthly review and programme target
//! K5. `GET /api/v1/open-data/plans` (anyone), `PUT /api/v1/open-data/plans/{organization}`
//! (the agency's administrators; saving is reviewing), and the page `/open-data/plan`.

use crate::AppState;
use crate::auth::Principal;
use crate::ckan_http::org_name;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, html_page, lang_jar};
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use chrono::{NaiveDate, Utc};
use maud::html;
use sen_domain::eform::FieldError;
use sen_domain::opendata::plan::{self, ItemReport, ItemStatus, PlanItem, Published};
use sen_store::opendata::StoredPlan;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PlanIn {
    pub items: Vec<PlanItem>,
}

/// A published dataset that was not updated in time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaleDataset {
    pub name: String,
    pub title: String,
    pub frequency: String,
    pub days_since_update: i64,
}

/// One agency's plan as assessed today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgencyPlan {
    /// The CKAN organisation name.
    pub organization: String,
    pub agency_name: String,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    /// Not reviewed within 6 months (or never).
    pub review_overdue: bool,
    pub items: Vec<ItemReport>,
    pub late: usize,
    pub published: usize,
    /// The agency's published datasets that are stale, planned or not.
    pub stale: Vec<StaleDataset>,
    /// Publishes standard open data (an open licence, described, machine-readable).
    pub publishes_standard: bool,
    /// The plan's evaluation of use: its published datasets' use in the last 30 days.
    pub use_30_days: UseFigures,
    /// Reuses naming its datasets.
    pub reuses: i64,
    /// Its datasets published over 90 days ago that nobody downloaded or read through the
    /// API in the last 90 days (names).
    pub unused: Vec<String>,
}

/// Views, downloads and API reads.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct UseFigures {
    pub views: i64,
    pub downloads: i64,
    pub api_calls: i64,
}

/// Every agency that has a plan or publishes, and K5.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanOverview {
    pub date: NaiveDate,
    pub agencies: Vec<AgencyPlan>,
    /// Agencies that should publish: every ministry-, sector- and province-level body, and any
    /// other agency with a plan or data.
    pub k5_agencies: usize,
    /// Of them, those with neither a plan nor data (not listed in `agencies`).
    pub unplanned: usize,
    /// Of them, those publishing standard open data.
    pub k5_publishing: usize,
    /// Their share (programme target K5: 100% by 2030); none when no agency should publish.
    pub k5: Option<f64>,
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Assesses every plan against the catalogue as the search index holds it.
pub async fn overview(st: &AppState, today: NaiveDate) -> AppResult<PlanOverview> {
    let plans: HashMap<i64, StoredPlan> = st.store.plans().await?.into_iter().map(|p| (p.agency_id, p)).collect();
    struct Held {
        title: String,
        frequency: String,
        created: Option<NaiveDate>,
        modified: Option<NaiveDate>,
        standard: bool,
    }
    let mut by_org: HashMap<String, Vec<(String, Held)>> = HashMap::new();
    // Use over the last 30 and 90 days, and reuses, per dataset id.
    let tomorrow = today + chrono::Duration::days(1);
    let mut used_30: HashMap<String, UseFigures> = HashMap::new();
    for t in st.store.usage_totals(today - chrono::Duration::days(29), tomorrow).await? {
        let f = used_30.entry(t.dataset_id).or_default();
        match t.kind.as_str() {
            "view" => f.views += t.count,
            "download" => f.downloads += t.count,
            _ => f.api_calls += t.count,
        }
    }
    let used_90: std::collections::HashSet<String> = st
        .store
        .usage_totals(today - chrono::Duration::days(89), tomorrow)
        .await?
        .into_iter()
        .filter(|t| t.kind != "view" && t.count > 0)
        .map(|t| t.dataset_id)
        .collect();
    let reuse_counts = st.store.reuse_counts().await?;
    // Per organisation: (use in 30 days, reuses, unused names).
    let mut use_by_org: HashMap<String, (UseFigures, i64, Vec<String>)> = HashMap::new();
    {
        let ix = st.open_data.index.read().expect("open data index");
        for d in ix.docs() {
            let entry = use_by_org.entry(d.organization.clone()).or_default();
            if let Some(f) = used_30.get(&d.id) {
                entry.0.views += f.views;
                entry.0.downloads += f.downloads;
                entry.0.api_calls += f.api_calls;
            }
            entry.1 += reuse_counts.get(&d.id).copied().unwrap_or(0);
            let old_enough = day(&d.metadata_created).is_some_and(|c| (today - c).num_days() > 90);
            if old_enough && !used_90.contains(&d.id) {
                entry.2.push(d.name.clone());
            }
            let formats: Vec<&str> = d.res_format.iter().map(String::as_str).collect();
            by_org.entry(d.organization.clone()).or_default().push((
                d.name.clone(),
                Held {
                    title: d.title.clone(),
                    frequency: d.frequency.clone(),
                    created: day(&d.metadata_created),
                    modified: day(&d.metadata_modified),
                    standard: plan::is_standard(&d.license_id, &d.title, &d.notes, &formats),
                },
            ));
        }
    }
    let cat = st.catalogue();
    let mut agencies = Vec::new();
    let mut unplanned = 0;
    for a in &cat.agencies {
        let org = org_name(a);
        let held = by_org.remove(&org).unwrap_or_default();
        let stored = plans.get(&a.id);
        // Ministries and provincial bodies publish; communes' data is published by them.
        let should = a.level != "commune";
        if stored.is_none() && held.is_empty() {
            if should {
                unplanned += 1;
            }
            continue;
        }
        let items: Vec<PlanItem> = match stored {
            Some(p) => serde_json::from_str(&p.items).map_err(|e| AppError::Internal(format!("stored plan: {e}")))?,
            None => vec![],
        };
        let reports: Vec<ItemReport> = items
            .iter()
            .map(|it| {
                let published = held
                    .iter()
                    .find(|(n, _)| n == &it.dataset_name)
                    .and_then(|(_, h)| Some(Published { created: h.created?, modified: h.modified? }));
                plan::assess(it, published, today)
            })
            .collect();
        let mut stale: Vec<StaleDataset> = held
            .iter()
            .filter_map(|(name, h)| {
                let m = h.modified?;
                plan::is_stale(&h.frequency, m, today).then(|| StaleDataset {
                    name: name.clone(),
                    title: h.title.clone(),
                    frequency: h.frequency.clone(),
                    days_since_update: (today - m).num_days(),
                })
            })
            .collect();
        stale.sort_by_key(|x| std::cmp::Reverse(x.days_since_update));
        let (use_30_days, reuses, mut unused) = use_by_org.remove(&org).unwrap_or_default();
        unused.sort();
        agencies.push(AgencyPlan {
            use_30_days,
            reuses,
            unused,
            organization: org,
            agency_name: a.name.clone(),
            reviewed_at: stored.map(|p| p.reviewed_at.to_rfc3339()),
            reviewed_by: stored.map(|p| p.reviewed_by.clone()),
            review_overdue: plan::review_overdue(stored.map(|p| p.reviewed_at.date_naive()), today),
            late: reports.iter().filter(|r| r.status == ItemStatus::Late).count(),
            published: reports
                .iter()
                .filter(|r| matches!(r.status, ItemStatus::Published | ItemStatus::PublishedLate))
                .count(),
            items: reports,
            stale,
            publishes_standard: held.iter().any(|(_, h)| h.standard),
        });
    }
    let k5_agencies = agencies.len() + unplanned;
    let k5_publishing = agencies.iter().filter(|a| a.publishes_standard).count();
    Ok(PlanOverview {
        date: today,
        agencies,
        k5_agencies,
        unplanned,
        k5_publishing,
        k5: plan::k5(k5_agencies, k5_publishing),
    })
}

#[utoipa::path(get, path = "/api/v1/open-data/plans", responses((status = 200, body = PlanOverview)), tag = "open data")]
pub async fn api_list(State(st): State<AppState>) -> AppResult<Json<PlanOverview>> {
    Ok(Json(overview(&st, crate::app::today()).await?))
}

#[utoipa::path(put, path = "/api/v1/open-data/plans/{organization}", request_body = PlanIn,
    params(("organization" = String, Path, description = "The agency as a CKAN organisation name (h01-snnmt)")),
    responses((status = 200, body = AgencyPlan), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "open data")]
pub async fn api_save(
    State(st): State<AppState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    Path(org): Path<String>,
    crate::api::JsonBody(b): crate::api::JsonBody<PlanIn>,
) -> AppResult<Json<AgencyPlan>> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    Ok(Json(save_plan(&st, &who, &org, b.items).await?))
}

/// Replaces an agency's plan (its administrators only), as reviewed now; the plan as assessed.
async fn save_plan(st: &AppState, who: &Principal, org: &str, items: Vec<PlanItem>) -> AppResult<AgencyPlan> {
    let cat = st.catalogue();
    let agency =
        cat.agencies.iter().find(|a| org_name(a) == org.to_lowercase()).ok_or(AppError::NotFound("organization"))?;
    if !crate::ckan_http::may_publish(who, agency.id) {
        return Err(AppError::Forbidden("only the agency's administrators keep its publication plan".into()));
    }
    if let Err(errors) = plan::check(&items) {
        return Err(AppError::Invalid(
            errors
                .into_iter()
                .map(|(at, message)| FieldError {
                    field: at.clone(),
                    pointer: format!("/{at}"),
                    code: "invalid".into(),
                    message,
                })
                .collect(),
        ));
    }
    let stored = StoredPlan {
        agency_id: agency.id,
        items: serde_json::to_string(&items).map_err(|e| AppError::Internal(e.to_string()))?,
        reviewed_at: Utc::now(),
        reviewed_by: who.user.display_name.clone(),
    };
    st.store.save_plan(&stored).await?;
    st.store
        .record(
            &st.actor(who, Some(agency.id)),
            "open_data.plan_review",
            "agency",
            &agency.id.to_string(),
            serde_json::json!({"items": items.len()}),
        )
        .await?;
    let all = overview(st, crate::app::today()).await?;
    all.agencies.into_iter().find(|a| a.organization == org_name(agency)).ok_or(AppError::NotFound("plan"))
}

/// The plan form of the page: rows `title.N`, `dataset_name.N`, `planned_date.N`,
/// `access_method.N`, `frequency.N`, `responsible_unit.N` and `remove.N`; a row without a
/// title is left out.
async fn page_save(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(org): Path<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> PageResult {
    who.check_csrf(f.get("csrf").map(String::as_str)).page(lang)?;
    let get = |k: &str, i: usize| f.get(&format!("{k}.{i}")).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut items = Vec::new();
    let mut bad_date = None;
    for i in 0..=plan::MAX_ITEMS {
        let title = get("title", i);
        if title.is_empty() || f.contains_key(&format!("remove.{i}")) {
            continue;
        }
        let Ok(planned_date) = NaiveDate::parse_from_str(&get("planned_date", i), "%Y-%m-%d") else {
            bad_date = Some(title);
            continue;
        };
        items.push(PlanItem {
            title,
            dataset_name: get("dataset_name", i),
            planned_date,
            access_method: get("access_method", i),
            frequency: get("frequency", i),
            responsible_unit: get("responsible_unit", i),
        });
    }
    let outcome = match bad_date {
        Some(t) => Err(AppError::field(
            "planned_date",
            "date",
            &format!("{}: {t}", lang.t("thiếu ngày dự kiến", "no planned date")),
        )),
        None => save_plan(&st, &who, &org, items).await,
    };
    match outcome {
        Ok(_) => Ok(axum::response::Redirect::to(&format!("/open-data/plan#plan-{org}")).into_response()),
        Err(e @ AppError::Invalid(_)) => {
            let title = lang.t("Chưa lưu được kế hoạch", "The plan was not saved");
            let body = html! {
                h1 { (title) }
                div.error-summary role="alert" { p { (crate::pages::refusal_message(&e)) } }
                p { a href={"/open-data/plan#plan-" (org)} { "← " (lang.t("Quay lại kế hoạch", "Back to the plan")) } }
            };
            let mut r = html_page(lang, None, Some(&who), title, body);
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e).page(lang),
    }
}

/// The plan form for an agency's administrators: its items and an empty row to add one.
fn plan_form(lang: Lang, who: &Principal, a: &AgencyPlan) -> maud::Markup {
    let rows: Vec<Option<&PlanItem>> = a.items.iter().map(|r| Some(&r.item)).chain(std::iter::once(None)).collect();
    html! {
        form.card method="post" action={"/open-data/plan/" (a.organization)} {
            h3 { (lang.t("Rà soát, cập nhật kế hoạch", "Review and update the plan")) }
            input type="hidden" name="csrf" value=(who.csrf.clone().unwrap_or_default());
            div.od-scroll { table {
                thead { tr {
                    th scope="col" { (lang.t("Bộ dữ liệu", "Dataset")) } th scope="col" { (lang.t("Tên trong danh mục", "Catalogue name")) }
                    th scope="col" { (lang.t("Thời hạn", "Due")) } th scope="col" { (lang.t("Cách truy cập", "Access")) }
                    th scope="col" { (lang.t("Tần suất", "Frequency")) } th scope="col" { (lang.t("Đơn vị", "Unit")) } th scope="col" { (lang.t("Bỏ", "Remove")) }
                } }
                tbody { @for (i, it) in rows.iter().enumerate() {
                    tr {
                        td { input name={"title." (i)} value=(it.map(|x| x.title.as_str()).unwrap_or("")) aria-label=(lang.t("Bộ dữ liệu", "Dataset")); }
                        td { input name={"dataset_name." (i)} value=(it.map(|x| x.dataset_name.as_str()).unwrap_or("")) aria-label=(lang.t("Tên trong danh mục", "Catalogue name")); }
                        td { input type="date" name={"planned_date." (i)} value=(it.map(|x| x.planned_date.to_string()).unwrap_or_default()) aria-label=(lang.t("Thời hạn", "Due")); }
                        td { select name={"access_method." (i)} aria-label=(lang.t("Cách truy cập", "Access")) {
                            @for m in plan::ACCESS_METHODS { option value=(m.0) selected[it.is_some_and(|x| x.access_method == m.0)] { (lang.t(m.1, m.2)) } } } }
                        td { select name={"frequency." (i)} aria-label=(lang.t("Tần suất", "Frequency")) {
                            @for fq in sen_domain::opendata::FREQUENCIES { option value=(fq.0) selected[it.is_some_and(|x| x.frequency == fq.0)] { (fq.1) } } } }
                        td { input name={"responsible_unit." (i)} value=(it.map(|x| x.responsible_unit.as_str()).unwrap_or("")) aria-label=(lang.t("Đơn vị", "Unit")); }
                        td { @if it.is_some() { input type="checkbox" name={"remove." (i)} value="1" aria-label=(lang.t("Bỏ khỏi kế hoạch", "Remove from the plan")); } }
                    }
                } }
            } }
            p.hint { (lang.t("Dòng cuối để thêm một bộ dữ liệu. Lưu là rà soát: ngày rà soát được ghi lại.", "The last row adds a dataset. Saving is reviewing: the review date is recorded.")) }
            button type="submit" { (lang.t("Lưu kế hoạch", "Save the plan")) }
        }
    }
}

pub fn api_routes() -> Router<AppState> {
    Router::new().route("/open-data/plans", get(api_list)).route("/open-data/plans/{organization}", put(api_save))
}

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/open-data/plan", get(page))
        .route("/open-data/plan/{organization}", axum::routing::post(page_save))
}

fn status_label(lang: Lang, s: ItemStatus) -> &'static str {
    match s {
        ItemStatus::Planned => lang.t("Theo kế hoạch", "Planned"),
        ItemStatus::Late => lang.t("Chậm so với kế hoạch", "Late"),
        ItemStatus::Published => lang.t("Đã công bố đúng hạn", "Published on time"),
        ItemStatus::PublishedLate => lang.t("Đã công bố, muộn", "Published late"),
    }
}

async fn page(State(st): State<AppState>, lang: Lang, who: Option<Principal>, uri: Uri, jar: CookieJar) -> PageResult {
    let o = overview(&st, crate::app::today()).await.page(lang)?;
    let cat = st.catalogue();
    let title = lang.t("Kế hoạch công bố dữ liệu mở", "Open data publication plans");
    let overdue: Vec<&AgencyPlan> = o.agencies.iter().filter(|a| a.review_overdue).collect();
    let share = o.k5.map(|k| format!("{:.0}%", k * 100.0)).unwrap_or("—".into());
    let body = html! {
        h1 { (title) }
        p { (lang.t(
            "Mỗi cơ quan công bố danh mục dữ liệu mở ưu tiên với thời hạn, cách truy cập, tần suất cập nhật và đơn vị chịu trách nhiệm. Danh mục được rà soát ít nhất 6 tháng một lần; dữ liệu đã công bố được cập nhật trong vòng 3 tháng.",
            "Each agency publishes its list of priority open datasets with their dates, access method, update frequency and responsible unit. The list is reviewed at least every 6 months; published data is updated within 3 months.")) }
        div.cards {
            div.card { h2 { "K5" } p.big { strong { (share) } } p { (o.k5_publishing) " / " (o.k5_agencies) " " (lang.t("cơ quan công bố dữ liệu mở chuẩn (mục tiêu 2030: 100%); ", "agencies publish standard open data (2030 target: 100%); ")) (o.unplanned) (lang.t(" cơ quan cấp bộ, tỉnh chưa có kế hoạch lẫn dữ liệu", " ministry- and province-level agencies have neither a plan nor data")) } }
            div.card { h2 { (lang.t("Chậm kế hoạch", "Late")) } p.big { strong { (o.agencies.iter().map(|a| a.late).sum::<usize>()) } } p { (lang.t("bộ dữ liệu quá hạn chưa công bố", "datasets past their date, not published")) } }
            div.card { h2 { (lang.t("Chưa cập nhật", "Stale")) } p.big { strong { (o.agencies.iter().map(|a| a.stale.len()).sum::<usize>()) } } p { (lang.t("bộ dữ liệu quá tần suất hoặc quá 3 tháng", "datasets past their frequency or 3 months")) } }
        }
        h2 { (lang.t("Tiến độ theo cơ quan", "Progress by agency")) }
        @let total_max = o.agencies.iter().map(|a| a.items.len()).max().unwrap_or(0).max(1);
        figure.od-chart {
            svg viewBox={"0 0 720 " (o.agencies.len() * 26 + 10)} role="img" aria-labelledby="plan-chart" xmlns="http://www.w3.org/2000/svg" {
                title #plan-chart { (lang.t("Số bộ dữ liệu đã công bố và theo kế hoạch của mỗi cơ quan", "Datasets published and planned per agency")) }
                @for (i, a) in o.agencies.iter().enumerate() {
                    @let y = i * 26 + 6;
                    text x="0" y=(y + 14) font-size="12" { (crate::opendata_pages::shorten_text(&a.agency_name, 38)) }
                    rect x="300" y=(y) width=(340 * a.items.len() / total_max) height="18" fill="#d0d5dd" {}
                    rect x="300" y=(y) width=(340 * a.published / total_max) height="18" fill="#1b7f3b" {}
                    text x=(306 + 340 * a.items.len() / total_max) y=(y + 14) font-size="12" { (a.published) "/" (a.items.len()) }
                }
            }
            figcaption { (lang.t("Xanh: đã công bố; xám: tổng số trong kế hoạch.", "Green: published; grey: all planned.")) }
        }
        @if !overdue.is_empty() {
            h2 { (lang.t("Danh mục chưa rà soát trong 6 tháng", "Lists not reviewed in 6 months")) }
            ul { @for a in &overdue { li { (a.agency_name) " — " (a.reviewed_at.as_deref().and_then(|r| r.get(..10)).unwrap_or(lang.t("chưa có kế hoạch", "no plan yet"))) } } }
        }
        @for a in &o.agencies {
            section id={"plan-" (a.organization)} {
                h2 { (a.agency_name) }
                p.hint { (lang.t("Rà soát lần cuối: ", "Last reviewed: ")) (a.reviewed_at.as_deref().and_then(|r| r.get(..10)).unwrap_or("—")) @if let Some(b) = &a.reviewed_by { " (" (b) ")" } @if a.review_overdue { " " span.badge.late { (lang.t("quá hạn rà soát", "review overdue")) } } }
                @if !a.items.is_empty() {
                    table {
                        thead { tr { th scope="col" { (lang.t("Bộ dữ liệu", "Dataset")) } th scope="col" { (lang.t("Thời hạn", "Due")) } th scope="col" { (lang.t("Cách truy cập", "Access")) } th scope="col" { (lang.t("Tần suất", "Frequency")) } th scope="col" { (lang.t("Đơn vị", "Unit")) } th scope="col" { (lang.t("Tình trạng", "Status")) } } }
                        tbody { @for r in &a.items {
                            tr {
                                td { @if matches!(r.status, ItemStatus::Published | ItemStatus::PublishedLate) { a href={"/dataset/" (r.item.dataset_name)} { (r.item.title) } } @else { (r.item.title) } }
                                td { (r.item.planned_date.format("%d/%m/%Y")) }
                                td { (plan::ACCESS_METHODS.iter().find(|m| m.0 == r.item.access_method).map(|m| lang.t(m.1, m.2)).unwrap_or("")) }
                                td { (sen_domain::opendata::FREQUENCIES.iter().find(|f| f.0 == r.item.frequency).map(|f| f.1).unwrap_or("")) }
                                td { (r.item.responsible_unit) }
                                td { @if r.status == ItemStatus::Late { span.badge.late { (status_label(lang, r.status)) } } @else { (status_label(lang, r.status)) } @if r.stale { " " span.badge.late { (lang.t("chưa cập nhật", "stale")) } } }
                            }
                        } }
                    }
                }
                p { (lang.t("Sử dụng trong 30 ngày: ", "Use in 30 days: ")) (a.use_30_days.views) " " (lang.t("lượt xem", "views")) ", "
                    (a.use_30_days.downloads) " " (lang.t("lượt tải", "downloads")) ", " (a.use_30_days.api_calls) " " (lang.t("lượt gọi API", "API calls"))
                    "; " (a.reuses) " " (lang.t("lượt tái sử dụng", "reuses")) }
                @if !a.unused.is_empty() {
                    p { (lang.t("Không ai tải hay gọi API trong 90 ngày: ", "Not downloaded or read through the API in 90 days: ")) @for n in &a.unused { a href={"/dataset/" (n)} { (n) } " " } }
                }
                @if let Some(w) = who.as_ref().filter(|w| cat.agencies.iter().any(|x| org_name(x) == a.organization && crate::ckan_http::may_publish(w, x.id))) {
                    (plan_form(lang, w, a))
                }
                @if !a.stale.is_empty() {
                    p { (lang.t("Chưa cập nhật đúng hạn: ", "Not updated in time: ")) @for s in &a.stale { a href={"/dataset/" (s.name)} { (s.title) } " (" (s.days_since_update) " " (lang.t("ngày", "days")) ") " } }
                }
            }
        }
        p.hint { (lang.t("Cho máy: ", "For machines: ")) a href="/api/v1/open-data/plans" { "GET /api/v1/open-data/plans" } }
    };
    Ok(html_page(lang, Some(lang_jar(&uri, jar, lang)), who.as_ref(), title, body))
}
