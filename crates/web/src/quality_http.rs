//! The open-data catalogue's metadata quality (issue #6), scored as data.europa.eu's MQA does
//! (`sen_domain::opendata::quality`): per dataset on its page and at
//! `GET /api/v1/open-data/datasets/{id}/quality`, per agency at `GET /api/v1/open-data/quality`
//! and the page `/open-data/quality`, each with what to fix.
//!
//! Accessibility needs to know whether resources' addresses answer. A file Sen holds always
//! does; a link is checked by the link checker (`--check-links`): a `HEAD` (a `GET` where
//! `HEAD` is refused) with a 10-second time-out, at most once a day and again when the
//! resource changes. Addresses on loopback, private or link-local networks are not requested
//! (a publisher could otherwise make Sen probe its own network); they count as not answering.

use crate::AppState;
use crate::auth::Principal;
use crate::ckan_http::{org_name, package_dict};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, html_page};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use sen_domain::opendata::quality::{self, Dimension, Reachability, Score};
use sen_store::opendata::LinkCheck;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// How long a link check holds before the link is checked again.
pub const CHECK_EVERY: Duration = Duration::hours(24);
/// Links checked per run of the checker, at most, and at once.
pub const CHECKS_PER_RUN: u64 = 200;
const CHECKS_AT_ONCE: usize = 8;
/// How long a link may take to answer.
pub const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The quality of every agency's published datasets, as last computed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QualityReport {
    pub computed_at: DateTime<Utc>,
    pub datasets: usize,
    /// Of the whole catalogue; none when it is empty.
    pub mean_points: Option<u32>,
    pub max_points: u32,
    /// Agencies that publish, the lowest mean first (what to work on first).
    pub agencies: Vec<AgencyQuality>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgencyQuality {
    /// The CKAN organisation name.
    pub organization: String,
    pub agency_name: String,
    pub datasets: usize,
    pub mean_points: u32,
    pub rating: String,
    /// Mean points per dimension: findability, accessibility, interoperability,
    /// reusability, contextuality.
    pub dimensions: Vec<DimensionPoints>,
    /// Its five lowest-scoring datasets.
    pub weakest: Vec<DatasetPoints>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DimensionPoints {
    pub dimension: String,
    pub points: u32,
    pub max_points: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatasetPoints {
    pub name: String,
    pub title: String,
    pub points: u32,
    pub rating: String,
}

/// Whether a resource answers, from what the checker found.
fn reachability(checks: &HashMap<String, LinkCheck>, r: &Value) -> Reachability {
    if r.get("url_type").and_then(Value::as_str) == Some("upload") {
        return Reachability::Reachable;
    }
    let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
    let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
    match checks.get(id) {
        Some(c) if c.url == url && c.reachable() => Reachability::Reachable,
        Some(c) if c.url == url => Reachability::Unreachable,
        _ => Reachability::Unchecked,
    }
}

async fn checks_of(st: &AppState, pkgs: &[&Value]) -> AppResult<HashMap<String, LinkCheck>> {
    let ids: Vec<String> = pkgs
        .iter()
        .flat_map(|p| p["resources"].as_array().into_iter().flatten())
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    Ok(st.store.link_checks(&ids).await?.into_iter().map(|c| (c.resource_id.clone(), c)).collect())
}

/// A published dataset's CKAN dictionary and its score.
pub async fn dataset_score(st: &AppState, id_or_name: &str) -> AppResult<(Value, Score)> {
    let (d, r) = st.store.published_dataset(id_or_name).await.map_err(crate::dcat_http::not_found)?;
    let pkg = package_dict(&st.config.public_url, &st.catalogue().agencies, &d, &r);
    let score = score_of(st, &pkg).await?;
    Ok((pkg, score))
}

/// The score of a dataset's CKAN dictionary (as `package_show` gives it).
pub async fn score_of(st: &AppState, pkg: &Value) -> AppResult<Score> {
    let checks = checks_of(st, &[pkg]).await?;
    Ok(quality::score(pkg, &|r| reachability(&checks, r)))
}

/// An agency's datasets as scored: (points, name, title) each, and the sum per dimension.
type Scored = (Vec<(u32, String, String)>, [u64; 5]);

/// Datasets read and scored at once: the report's memory stays that of one page.
const REPORT_PAGE: usize = 1000;

/// Scores every published dataset, a page at a time, and sums them up per agency.
pub async fn compute_report(st: &AppState) -> AppResult<QualityReport> {
    let ids: Vec<String> = st.open_data.index.read().expect("open data index").docs().map(|d| d.id.clone()).collect();
    let cat = st.catalogue();
    // Per organisation: every dataset's (points, name, title) and the sum per dimension.
    let mut by_org: HashMap<String, Scored> = HashMap::new();
    for chunk in ids.chunks(REPORT_PAGE) {
        let page = st.store.datasets_with_resources(chunk).await?;
        let pkgs: Vec<Value> =
            page.iter().map(|(d, r)| package_dict(&st.config.public_url, &cat.agencies, d, r)).collect();
        let checks = checks_of(st, &pkgs.iter().collect::<Vec<_>>()).await?;
        for pkg in &pkgs {
            let score = quality::score(pkg, &|r| reachability(&checks, r));
            let org = pkg["organization"]["name"].as_str().unwrap_or_default().to_string();
            let text = |k: &str| pkg[k].as_str().unwrap_or_default().to_string();
            let entry = by_org.entry(org).or_default();
            entry.0.push((score.points, text("name"), text("title")));
            for (i, (_, p, _)) in score.dimensions.iter().enumerate() {
                entry.1[i] += u64::from(*p);
            }
        }
    }
    let all_points: Vec<u32> = by_org.values().flat_map(|(d, _)| d.iter().map(|x| x.0)).collect();
    let mut agencies: Vec<AgencyQuality> = cat
        .agencies
        .iter()
        .filter_map(|a| {
            let (mut scored, sums) = by_org.remove(&org_name(a))?;
            let points: Vec<u32> = scored.iter().map(|x| x.0).collect();
            let mean = quality::mean_points(&points)?;
            let n = scored.len() as u64;
            let dimensions = Dimension::ALL
                .iter()
                .zip(sums)
                .map(|(d, sum)| DimensionPoints {
                    dimension: format!("{d:?}").to_lowercase(),
                    points: ((sum + n / 2) / n) as u32,
                    max_points: d.max_points(),
                })
                .collect();
            scored.sort();
            let weakest = scored
                .iter()
                .take(5)
                .map(|(points, name, title)| DatasetPoints {
                    name: name.clone(),
                    title: title.clone(),
                    points: *points,
                    rating: quality::rating(*points).to_string(),
                })
                .collect();
            Some(AgencyQuality {
                organization: org_name(a),
                agency_name: a.name.clone(),
                datasets: scored.len(),
                mean_points: mean,
                rating: quality::rating(mean).to_string(),
                dimensions,
                weakest,
            })
        })
        .collect();
    agencies.sort_by_key(|a| (a.mean_points, a.organization.clone()));
    Ok(QualityReport {
        computed_at: Utc::now(),
        datasets: all_points.len(),
        mean_points: quality::mean_points(&all_points),
        max_points: quality::MAX_POINTS,
        agencies,
    })
}

/// The report, computed now if no job has yet.
pub async fn report(st: &AppState) -> AppResult<Arc<QualityReport>> {
    if let Some(r) = st.open_data_quality.read().expect("quality lock").clone() {
        return Ok(r);
    }
    let r = Arc::new(compute_report(st).await?);
    *st.open_data_quality.write().expect("quality lock") = Some(r.clone());
    Ok(r)
}

/// Whether an address may be requested: not loopback, private, link-local or unspecified
/// (unless the configuration allows it, for tests on one machine).
async fn public_address(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("not an HTTP address ({})", url.scheme()));
    }
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("the name does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err("the name does not resolve".into());
    }
    if allow_private {
        return Ok(());
    }
    let private = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v) => {
            v.is_loopback() || v.is_private() || v.is_link_local() || v.is_unspecified() || v.is_broadcast()
        }
        std::net::IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if addrs.iter().any(|a| private(a.ip())) {
        return Err("a private or local address is not checked".into());
    }
    Ok(())
}

/// Checks one address: `HEAD`, then `GET` where `HEAD` is refused.
async fn check_one(http: &reqwest::Client, url: &str, allow_private: bool) -> (Option<i64>, Option<String>) {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return (None, Some(format!("not an address: {e}"))),
    };
    if let Err(e) = public_address(&parsed, allow_private).await {
        return (None, Some(e));
    }
    let status = match http.head(parsed.clone()).timeout(CHECK_TIMEOUT).send().await {
        Ok(r) if matches!(r.status().as_u16(), 405 | 501) => {
            http.get(parsed).timeout(CHECK_TIMEOUT).send().await.map(|r| r.status().as_u16())
        }
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => Err(e),
    };
    match status {
        Ok(s) => (Some(i64::from(s)), None),
        Err(e) if e.is_timeout() => (None, Some("no answer within 10 s".into())),
        Err(_) => (None, Some("could not connect".into())),
    }
}

/// One run of the link checker: the resources due (never checked, checked a day ago, or
/// changed), at most [`CHECKS_PER_RUN`], [`CHECKS_AT_ONCE`] at a time. Returns how many
/// were checked.
pub async fn check_links(st: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let due = st.store.links_due(now - CHECK_EVERY, CHECKS_PER_RUN).await?;
    // Redirects are not followed (one could lead to a private address): a 3xx answers.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let allow_private = st.config.link_check_private;
    let mut checks = Vec::with_capacity(due.len());
    for chunk in due.chunks(CHECKS_AT_ONCE) {
        let mut set = tokio::task::JoinSet::new();
        for (id, body) in chunk.iter().cloned() {
            let http = http.clone();
            set.spawn(async move {
                let url = body["url"].as_str().unwrap_or_default().to_string();
                let (status, error) = if body["url_type"].as_str() == Some("upload") {
                    // Sen holds the file and serves it itself.
                    (Some(200), None)
                } else {
                    check_one(&http, &url, allow_private).await
                };
                LinkCheck { resource_id: id, url, status, error, checked_at: Utc::now() }
            });
        }
        while let Some(done) = set.join_next().await {
            checks.push(done.map_err(|e| AppError::Internal(e.to_string()))?);
        }
    }
    st.store.save_link_checks(&checks).await?;
    Ok(checks.len())
}

/// Every `every`: the link checker (when `--check-links`), then the quality report.
pub fn spawn_quality_job(st: AppState, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if st.config.check_links {
                match check_links(&st, Utc::now()).await {
                    Ok(n) if n > 0 => tracing::info!(checked = n, "open data: links checked"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "open data: link check failed"),
                }
            }
            match compute_report(&st).await {
                Ok(r) => *st.open_data_quality.write().expect("quality lock") = Some(Arc::new(r)),
                Err(e) => tracing::warn!(error = %e, "open data: quality report failed"),
            }
        }
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DatasetQuality {
    pub dataset: String,
    pub points: u32,
    pub max_points: u32,
    pub rating: String,
    pub dimensions: Vec<DimensionPoints>,
    /// Every indicator: `code`, `dimension`, `points`, `max_points`, and `fix_vi`/`fix_en`
    /// when not full.
    #[schema(value_type = Vec<Object>)]
    pub indicators: Vec<quality::Indicator>,
    /// The indicators to work on, the most points to gain first.
    pub to_fix: Vec<String>,
}

fn dataset_quality(pkg: &Value, s: &Score) -> DatasetQuality {
    DatasetQuality {
        dataset: pkg["name"].as_str().unwrap_or_default().to_string(),
        points: s.points,
        max_points: s.max_points,
        rating: s.rating.to_string(),
        dimensions: s
            .dimensions
            .iter()
            .map(|(d, p, m)| DimensionPoints { dimension: format!("{d:?}").to_lowercase(), points: *p, max_points: *m })
            .collect(),
        indicators: s.indicators.clone(),
        to_fix: s.to_fix().iter().map(|i| i.code.to_string()).collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/open-data/datasets/{id}/quality",
    params(("id" = String, Path, description = "The dataset's id or name")),
    responses((status = 200, body = DatasetQuality), (status = 404, body = crate::error::Problem)), tag = "open data")]
pub async fn api_dataset(State(st): State<AppState>, Path(id): Path<String>) -> AppResult<Json<DatasetQuality>> {
    let (pkg, s) = dataset_score(&st, &id).await?;
    Ok(Json(dataset_quality(&pkg, &s)))
}

#[utoipa::path(get, path = "/api/v1/open-data/quality", responses((status = 200, body = QualityReport)), tag = "open data")]
pub async fn api_report(State(st): State<AppState>) -> AppResult<Json<QualityReport>> {
    Ok(Json(report(&st).await?.as_ref().clone()))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/open-data/quality", get(api_report))
        .route("/open-data/datasets/{id}/quality", get(api_dataset))
}

pub fn page_routes() -> Router<AppState> {
    Router::new().route("/open-data/quality", get(page))
}

/// A horizontal bar of `points` out of `max`, with its figures in text.
fn bar(label: &str, points: u32, max: u32) -> Markup {
    let width = (points * 200).checked_div(max).unwrap_or(0);
    html! {
        tr {
            th scope="row" { (label) }
            td {
                svg width="204" height="14" role="img" aria-label={(label) ": " (points) "/" (max)} {
                    rect x="0" y="1" width="200" height="12" fill="#e8e8e8" {}
                    rect x="0" y="1" width=(width) height="12" fill="#1f5f8b" {}
                }
            }
            td { (points) " / " (max) }
        }
    }
}

/// The quality block of a dataset's page: points, rating, the dimensions as bars, and what
/// to fix.
pub fn dataset_block(lang: Lang, s: &Score) -> Markup {
    let english = lang == Lang::En;
    html! {
        section aria-labelledby="quality" {
            h2 #quality { (lang.t("Chất lượng siêu dữ liệu", "Metadata quality")) }
            p.kpi { strong { (s.points) " / " (s.max_points) } " — " (quality::rating_label(s.rating, english))
                " " span.hint { (lang.t("(theo phương pháp MQA của data.europa.eu)", "(as data.europa.eu's MQA scores it)")) } }
            table.bars { tbody { @for (d, p, m) in &s.dimensions { (bar(d.label(english), *p, *m)) } } }
            @let fix = s.to_fix();
            @if !fix.is_empty() {
                h3 { (lang.t("Cần bổ sung", "To improve")) }
                ul { @for i in fix { li { (if english { &i.fix_en } else { &i.fix_vi }) " " span.hint { "(+" (i.max_points - i.points) ")" } } } }
            }
        }
    }
}

async fn page(State(st): State<AppState>, lang: Lang, who: Option<Principal>) -> PageResult {
    let r = report(&st).await.page(lang)?;
    let english = lang == Lang::En;
    let title = lang.t("Chất lượng dữ liệu mở", "Open data quality");
    let body = html! {
        h1 { (title) }
        p { (lang.t("Điểm siêu dữ liệu của các bộ dữ liệu đã công bố, theo phương pháp đánh giá chất lượng siêu dữ liệu (MQA) của data.europa.eu: tối đa 405 điểm.", "Metadata scores of the published datasets, as data.europa.eu's Metadata Quality Assessment (MQA) computes them: 405 points at most.")) }
        p.kpi { (lang.t("Bộ dữ liệu: ", "Datasets: ")) strong { (r.datasets) } " · " (lang.t("điểm trung bình: ", "mean: ")) strong { @match r.mean_points { Some(p) => { (p) " / " (r.max_points) " — " (quality::rating_label(quality::rating(p), english)) }, None => { "—" } } } }
        @if r.agencies.is_empty() { p { (lang.t("Chưa có bộ dữ liệu nào.", "No dataset yet.")) } }
        table.bars {
            caption { (lang.t("Điểm trung bình theo cơ quan (thấp nhất trước)", "Mean points by agency (lowest first)")) }
            tbody { @for a in &r.agencies { (bar(&a.agency_name, a.mean_points, r.max_points)) } }
        }
        @for a in &r.agencies {
            section.card id=(a.organization) {
                h2 { (a.agency_name) }
                p { (a.datasets) " " (lang.t("bộ dữ liệu", "datasets")) " · " (a.mean_points) " / " (r.max_points) " — " (quality::rating_label(&a.rating, english)) }
                table.bars { tbody { @for d in &a.dimensions {
                    @let label = Dimension::ALL.iter().find(|x| format!("{x:?}").to_lowercase() == d.dimension).map(|x| x.label(english)).unwrap_or("");
                    (bar(label, d.points, d.max_points))
                } } }
                h3 { (lang.t("Cần cải thiện trước", "Work on first")) }
                ul { @for d in &a.weakest { li { a href={"/dataset/" (d.name) "#quality"} { (d.title) } " — " (d.points) " / " (r.max_points) } } }
            }
        }
        p.hint { (lang.t("Cập nhật lúc ", "Computed at ")) (crate::pages::fmt_time(r.computed_at)) ". "
            (lang.t("Cho máy: ", "For machines: ")) a href="/api/v1/open-data/quality" { "GET /api/v1/open-data/quality" } }
    };
    Ok(html_page(lang, None, who.as_ref(), title, body))
}
