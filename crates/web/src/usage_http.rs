//! Use of the open data (issue #6): a dataset's page viewed, a file downloaded, a dataset or
//! resource read through the API, per day — robots left out by their `User-Agent`
//! (`sen_domain::opendata::usage::is_bot`). Counting is outside the search path: a search
//! counts nothing, and a count is a map update in memory that the flush job adds to the
//! database every few seconds (a crash loses at most that many seconds of counts, never a
//! request). `GET /api/v1/open-data/metrics?month=YYYY-MM` gives a month per dataset and
//! resource; a dataset's page shows its last 30 days.

use crate::AppState;
use crate::ckan_http::org_name;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use maud::{Markup, html};
use sen_domain::opendata::usage::{self, Kind};
use sen_store::opendata::Usage;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Uses counted since the last flush: (dataset, resource or "", day, kind) → count.
#[derive(Default)]
pub struct UsageCounter {
    counts: Mutex<HashMap<(String, String, NaiveDate, Kind), i64>>,
}

impl UsageCounter {
    /// Counts one use unless a robot made it.
    pub fn count(&self, headers: &HeaderMap, dataset_id: &str, resource_id: &str, kind: Kind) {
        let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
        if usage::is_bot(agent) || dataset_id.is_empty() {
            return;
        }
        let key = (dataset_id.to_string(), resource_id.to_string(), crate::app::today(), kind);
        *self.counts.lock().expect("usage counter").entry(key).or_default() += 1;
    }

    fn take(&self) -> Vec<Usage> {
        let taken = std::mem::take(&mut *self.counts.lock().expect("usage counter"));
        taken
            .into_iter()
            .map(|((dataset_id, resource_id, day, kind), count)| Usage {
                dataset_id,
                resource_id,
                day,
                kind: kind.as_str().to_string(),
                count,
            })
            .collect()
    }

    fn put_back(&self, uses: Vec<Usage>) {
        let mut counts = self.counts.lock().expect("usage counter");
        for u in uses {
            if let Some(kind) = Kind::parse(&u.kind) {
                *counts.entry((u.dataset_id, u.resource_id, u.day, kind)).or_default() += u.count;
            }
        }
    }
}

/// Adds what was counted to the database; on a failure the counts wait for the next flush.
pub async fn flush(st: &AppState) -> AppResult<usize> {
    let uses = st.usage.take();
    let n = uses.len();
    if let Err(e) = st.store.add_usage(&uses).await {
        st.usage.put_back(uses);
        return Err(e.into());
    }
    Ok(n)
}

pub fn spawn_usage_flush(st: AppState, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = flush(&st).await {
                tracing::warn!(error = %e, "open data: usage not flushed, kept for the next try");
            }
        }
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MetricsQuery {
    /// `YYYY-MM`; default the current month.
    month: Option<String>,
    /// Only this organisation's datasets (its CKAN name).
    organization: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResourceMetrics {
    pub id: String,
    pub name: String,
    pub downloads: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatasetMetrics {
    pub name: String,
    pub title: String,
    pub organization: String,
    pub views: i64,
    pub downloads: i64,
    pub api_calls: i64,
    /// Reuses that name it (all time).
    pub reuses: i64,
    pub resources: Vec<ResourceMetrics>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    pub month: String,
    pub views: i64,
    pub downloads: i64,
    pub api_calls: i64,
    /// Datasets used in the month, the most used first.
    pub datasets: Vec<DatasetMetrics>,
}

#[utoipa::path(get, path = "/api/v1/open-data/metrics", params(MetricsQuery),
    responses((status = 200, body = Metrics), (status = 422, body = crate::error::Problem)), tag = "open data")]
pub async fn api_metrics(State(st): State<AppState>, Query(q): Query<MetricsQuery>) -> AppResult<Json<Metrics>> {
    let month = q.month.unwrap_or_else(|| crate::app::today().format("%Y-%m").to_string());
    let (from, to) = usage::month_range(&month).ok_or_else(|| AppError::field("month", "pattern", "YYYY-MM"))?;
    let totals = st.store.usage_totals(from, to).await?;
    let mut per: BTreeMap<String, BTreeMap<(String, String), i64>> = BTreeMap::new();
    for t in totals {
        *per.entry(t.dataset_id).or_default().entry((t.resource_id, t.kind)).or_default() += t.count;
    }
    let ids: Vec<String> = per.keys().cloned().collect();
    let reuses = st.store.reuse_counts().await?;
    let cat = st.catalogue();
    let mut datasets = Vec::new();
    for (d, resources) in st.store.datasets_with_resources(&ids).await? {
        let organization = cat.agencies.iter().find(|a| a.id == d.agency_id).map(org_name).unwrap_or_default();
        if q.organization.as_deref().is_some_and(|o| o != organization) {
            continue;
        }
        let counts = &per[&d.id];
        let sum = |kind: &str| counts.iter().filter(|((_, k), _)| k == kind).map(|(_, n)| n).sum::<i64>();
        datasets.push(DatasetMetrics {
            title: d.body["title"].as_str().unwrap_or_default().to_string(),
            name: d.name.clone(),
            organization,
            views: sum("view"),
            downloads: sum("download"),
            api_calls: sum("api"),
            reuses: reuses.get(&d.id).copied().unwrap_or(0),
            resources: resources
                .iter()
                .map(|r| ResourceMetrics {
                    id: r.id.clone(),
                    name: r.body["name"].as_str().unwrap_or_default().to_string(),
                    downloads: counts.get(&(r.id.clone(), "download".to_string())).copied().unwrap_or(0),
                })
                .collect(),
        });
    }
    datasets.sort_by_key(|d| std::cmp::Reverse(d.views + d.downloads + d.api_calls));
    Ok(Json(Metrics {
        month,
        views: datasets.iter().map(|d| d.views).sum(),
        downloads: datasets.iter().map(|d| d.downloads).sum(),
        api_calls: datasets.iter().map(|d| d.api_calls).sum(),
        datasets,
    }))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/open-data/metrics", get(api_metrics))
        .route("/open-data/reuses", get(api_reuses).post(api_add_reuse))
        .route("/open-data/reuses/{id}", axum::routing::delete(api_delete_reuse))
}

/// The dataset page's use of the last 30 days: totals and a bar per day.
pub async fn dataset_block(
    st: &AppState,
    lang: Lang,
    who: Option<&crate::auth::Principal>,
    dataset_id: &str,
    dataset_name: &str,
) -> AppResult<Markup> {
    let reuses = st.store.reuses(Some(dataset_id), 50).await?;
    let today = crate::app::today();
    let from = today - Duration::days(29);
    let rows = st.store.dataset_usage(dataset_id, from, today + Duration::days(1)).await?;
    let total = |kind: &str| rows.iter().filter(|r| r.kind == kind).map(|r| r.count).sum::<i64>();
    let mut per_day = vec![0i64; 30];
    for r in &rows {
        if let Some(i) = usize::try_from((r.day - from).num_days()).ok().filter(|i| *i < 30) {
            per_day[i] += r.count;
        }
    }
    let max = per_day.iter().copied().max().unwrap_or(0).max(1);
    let (w, h) = (10i64, 60i64);
    Ok(html! {
        section aria-labelledby="usage" {
            h2 #usage { (lang.t("Lượt sử dụng trong 30 ngày", "Use in the last 30 days")) }
            p.kpi { (lang.t("Lượt xem: ", "Views: ")) strong { (total("view")) } " · " (lang.t("lượt tải về: ", "downloads: ")) strong { (total("download")) }
                " · " (lang.t("lượt gọi API: ", "API calls: ")) strong { (total("api")) } }
            svg role="img" aria-label=(lang.t("Lượt sử dụng theo ngày", "Uses per day")) width=(w * 30) height=(h) {
                @for (i, n) in per_day.iter().enumerate() {
                    @let bar = n * h / max;
                    rect x=(i as i64 * w) y=(h - bar) width=(w - 2) height=(bar) fill="#1f5f8b" { title { (from + Duration::days(i as i64)) ": " (n) } }
                }
            }
            p.hint { (lang.t("Không tính lượt truy cập của máy tìm kiếm và robot.", "Search engines and robots are not counted.")) }
            h3 { (lang.t("Được tái sử dụng trong", "Reused in")) }
            @if reuses.is_empty() { p { (lang.t("Chưa có.", "None yet.")) } }
            ul { @for r in &reuses { li { a href=(r.url) rel="nofollow noopener" { (r.title) } " (" (reuse_kind_label(&r.kind, lang)) ")" @if !r.description.is_empty() { " — " (r.description) } } } }
            @match who {
                Some(w) => {
                    form.card method="post" action={"/dataset/" (dataset_name) "/reuses"} {
                        h4 { (lang.t("Bạn đã dùng bộ dữ liệu này?", "Have you used this dataset?")) }
                        input type="hidden" name="csrf" value=(w.csrf.clone().unwrap_or_default());
                        div.field { label for="reuse-title" { (lang.t("Tên sản phẩm", "Title")) } input #reuse-title name="title" required maxlength="200"; }
                        div.field { label for="reuse-kind" { (lang.t("Loại", "Kind")) }
                            select #reuse-kind name="kind" { @for k in REUSE_KINDS { option value=(k) { (reuse_kind_label(k, lang)) } } } }
                        div.field { label for="reuse-url" { (lang.t("Địa chỉ", "Address")) } input #reuse-url name="url" type="url" required placeholder="https://"; }
                        div.field { label for="reuse-description" { (lang.t("Mô tả", "Description")) } textarea #reuse-description name="description" maxlength="5000" {} }
                        button type="submit" { (lang.t("Gửi", "Send")) }
                    }
                }
                None => { p { a href="/login" { (lang.t("Đăng nhập", "Sign in")) } (lang.t(" để cho biết bạn đã dùng bộ dữ liệu này ở đâu (hoặc ", " to tell where you used this dataset (or ")) code { "POST /api/v1/open-data/reuses" } ")." } }
            }
        }
    })
}

/// Kinds of reuse.
pub const REUSE_KINDS: [&str; 6] = ["application", "article", "visualisation", "api", "paper", "other"];
/// The most datasets one reuse may name, and reuses listed at once.
pub const MAX_REUSE_DATASETS: usize = 20;
pub const MAX_REUSES_LISTED: u64 = 500;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReuseIn {
    pub title: String,
    /// `application`, `article`, `visualisation`, `api`, `paper` or `other`.
    pub kind: String,
    /// Where the reuse is (http or https).
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// The datasets it uses, by name or id (1 to 20, published).
    pub datasets: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReuseOut {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub url: String,
    pub description: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The datasets' names.
    pub datasets: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReuseQuery {
    /// Only the reuses of this dataset (name or id).
    dataset: Option<String>,
}

/// Reuses as shown, their datasets named (one read for all of them).
async fn reuses_out(st: &AppState, reuses: Vec<sen_store::opendata::StoredReuse>) -> AppResult<Vec<ReuseOut>> {
    let mut ids: Vec<String> = reuses.iter().flat_map(|r| r.datasets.iter().cloned()).collect();
    ids.sort();
    ids.dedup();
    let names: HashMap<String, String> =
        st.store.datasets_with_resources(&ids).await?.into_iter().map(|(d, _)| (d.id, d.name)).collect();
    Ok(reuses
        .into_iter()
        .map(|r| ReuseOut {
            datasets: r.datasets.iter().filter_map(|d| names.get(d).cloned()).collect(),
            id: r.id,
            title: r.title,
            kind: r.kind,
            url: r.url,
            description: r.description,
            created_at: r.created_at,
        })
        .collect())
}

/// Checks a reuse and keeps it: a title of 1–200 characters, a kind from the list, an
/// http(s) address, at most 5,000 characters of description, 1–20 published datasets.
/// Nothing is kept when anything is wrong.
pub async fn add_reuse(
    st: &AppState,
    who: &crate::auth::Principal,
    b: ReuseIn,
) -> AppResult<sen_store::opendata::StoredReuse> {
    let title = b.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::field("title", "length", "1 to 200 characters"));
    }
    if !REUSE_KINDS.contains(&b.kind.as_str()) {
        return Err(AppError::field("kind", "enum", &REUSE_KINDS.join(", ")));
    }
    let url = b.url.trim();
    let parsed = reqwest::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if parsed.is_none() || url.len() > 2000 {
        return Err(AppError::field("url", "format", "an http or https address"));
    }
    if b.description.chars().count() > 5000 {
        return Err(AppError::field("description", "max_length", "at most 5000 characters"));
    }
    if b.datasets.is_empty() || b.datasets.len() > MAX_REUSE_DATASETS {
        return Err(AppError::field("datasets", "length", "1 to 20 datasets"));
    }
    let mut ids = Vec::new();
    for key in &b.datasets {
        match st.store.published_dataset(key).await {
            Ok((d, _)) if !ids.contains(&d.id) => ids.push(d.id),
            Ok(_) => {}
            Err(sen_store::StoreError::NotFound) => {
                return Err(AppError::field("datasets", "unknown", &format!("no published dataset {key}")));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let stored = sen_store::opendata::StoredReuse {
        id: uuid::Uuid::new_v4().to_string(),
        title: title.to_string(),
        kind: b.kind,
        url: url.to_string(),
        description: b.description.trim().to_string(),
        author_id: who.user.id,
        created_at: chrono::Utc::now(),
        datasets: ids,
    };
    st.store.save_reuse(&stored).await?;
    Ok(stored)
}

/// The reuse form of a dataset's page (people signed in), a plain form.
pub async fn page_add_reuse(
    State(st): State<AppState>,
    lang: Lang,
    who: crate::auth::Principal,
    axum::extract::Path(name): axum::extract::Path<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> crate::pages::PageResult {
    use crate::pages::OrPage;
    who.check_csrf(f.get("csrf").map(String::as_str)).page(lang)?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let input = ReuseIn {
        title: get("title"),
        kind: get("kind"),
        url: get("url"),
        description: get("description"),
        datasets: vec![name.clone()],
    };
    match add_reuse(&st, &who, input).await {
        Ok(_) => Ok(axum::response::IntoResponse::into_response(axum::response::Redirect::to(&format!(
            "/dataset/{name}#usage"
        )))),
        Err(e @ AppError::Invalid(_)) => {
            let message = crate::pages::refusal_message(&e);
            let title = lang.t("Chưa ghi nhận được", "Not recorded");
            let body = html! {
                h1 { (title) }
                div.error-summary role="alert" { p { (message) } }
                p { a href={"/dataset/" (name) "#usage"} { "← " (lang.t("Quay lại bộ dữ liệu", "Back to the dataset")) } }
            };
            let mut r = crate::pages::html_page(lang, None, Some(&who), title, body);
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e).page(lang),
    }
}

#[utoipa::path(post, path = "/api/v1/open-data/reuses", request_body = ReuseIn,
    responses((status = 201, body = ReuseOut), (status = 401, body = crate::error::Problem), (status = 422, body = crate::error::Problem)), tag = "open data")]
pub async fn api_add_reuse(
    State(st): State<AppState>,
    who: crate::auth::Principal,
    headers: HeaderMap,
    crate::api::JsonBody(b): crate::api::JsonBody<ReuseIn>,
) -> AppResult<(axum::http::StatusCode, Json<ReuseOut>)> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let stored = add_reuse(&st, &who, b).await?;
    let out =
        reuses_out(&st, vec![stored]).await?.pop().ok_or_else(|| AppError::Internal("the reuse vanished".into()))?;
    Ok((axum::http::StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/api/v1/open-data/reuses", params(ReuseQuery), responses((status = 200, body = Vec<ReuseOut>), (status = 404, body = crate::error::Problem)), tag = "open data")]
pub async fn api_reuses(State(st): State<AppState>, Query(q): Query<ReuseQuery>) -> AppResult<Json<Vec<ReuseOut>>> {
    let dataset = match &q.dataset {
        Some(key) => Some(st.store.published_dataset(key).await.map_err(crate::dcat_http::not_found)?.0.id),
        None => None,
    };
    Ok(Json(reuses_out(&st, st.store.reuses(dataset.as_deref(), MAX_REUSES_LISTED).await?).await?))
}

#[utoipa::path(delete, path = "/api/v1/open-data/reuses/{id}", params(("id" = String, Path, description = "The reuse")),
    responses((status = 204), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)), tag = "open data")]
pub async fn api_delete_reuse(
    State(st): State<AppState>,
    who: crate::auth::Principal,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<axum::http::StatusCode> {
    who.check_csrf(crate::api::csrf_header(&headers))?;
    let author = match st.store.reuse_author(&id).await {
        Err(sen_store::StoreError::NotFound) => return Err(AppError::NotFound("reuse")),
        r => r?,
    };
    if author != who.user.id && !who.is_admin() {
        return Err(AppError::Forbidden("only its author or an administrator removes a reuse".into()));
    }
    st.store.delete_reuse(&id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

fn reuse_kind_label(kind: &str, lang: Lang) -> &'static str {
    match kind {
        "application" => lang.t("ứng dụng", "application"),
        "article" => lang.t("bài viết", "article"),
        "visualisation" => lang.t("trực quan hóa", "visualisation"),
        "api" => "API",
        "paper" => lang.t("nghiên cứu", "paper"),
        _ => lang.t("khác", "other"),
    }
}
