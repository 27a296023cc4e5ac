//! The open-data portal's pages (issue #6): `/dataset`, the catalogue searched with facets
//! (diacritics or not: the same search index as `package_search`), and `/dataset/{name}`, a
//! dataset with its resources, a preview and a chart of each table Sen holds, and how to
//! reach it from tools. Plain HTML: links and forms, no script.

use crate::AppState;
use crate::auth::Principal;
use crate::ckan_http::{facet_display, package_dict};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, html_page, lang_jar};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::IntoResponse;
use axum::routing::get;
use axum_extra::extract::CookieJar;
use maud::{Markup, html};
use sen_domain::opendata::dcat::Syntax;
use sen_domain::opendata::index::SearchRequest;
use sen_domain::opendata::table::{ColumnType, Table};
use sen_domain::opendata::{self as od};
use serde::Deserialize;
use serde_json::Value;

/// Datasets on a page of results.
const PER_PAGE: usize = 20;
/// Rows shown in a table's preview.
const PREVIEW_ROWS: usize = 20;
/// Bars or points in a chart, at most.
const CHART_POINTS: usize = 40;
/// The facets offered, with their labels.
const FACETS: &[(&str, &str, &str)] = &[
    ("organization", "Cơ quan", "Agency"),
    ("groups", "Chủ đề", "Theme"),
    ("res_format", "Định dạng", "Format"),
    ("tags", "Từ khóa", "Tag"),
    ("license_id", "Giấy phép", "Licence"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dataset", get(search_page))
        .route("/dataset/{file}", get(dataset))
        .route("/dataset/{file}/reuses", axum::routing::post(crate::usage_http::page_add_reuse))
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    organization: Option<String>,
    groups: Option<String>,
    res_format: Option<String>,
    tags: Option<String>,
    license_id: Option<String>,
    sort: Option<String>,
    page: Option<usize>,
}

impl SearchParams {
    fn facet(&self, field: &str) -> Option<&str> {
        match field {
            "organization" => self.organization.as_deref(),
            "groups" => self.groups.as_deref(),
            "res_format" => self.res_format.as_deref(),
            "tags" => self.tags.as_deref(),
            "license_id" => self.license_id.as_deref(),
            _ => None,
        }
        .filter(|v| !v.is_empty())
    }

    /// The facet choices as a filter query: `organization:"h01-snnmt" AND tags:"y tế"`.
    fn fq(&self) -> String {
        FACETS
            .iter()
            .filter_map(|(f, ..)| self.facet(f).map(|v| format!("{f}:\"{}\"", v.replace(['"', '\\'], ""))))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// This search's address with one facet set (or cleared) and the page reset.
    fn with(&self, field: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(q) = self.q.as_deref().filter(|q| !q.is_empty()) {
            pairs.push(("q", q.to_string()));
        }
        for (f, ..) in FACETS {
            let v = if *f == field { value } else { self.facet(f) };
            if let Some(v) = v {
                pairs.push((f, v.to_string()));
            }
        }
        if let Some(s) = self.sort.as_deref().filter(|s| !s.is_empty()) {
            pairs.push(("sort", s.to_string()));
        }
        query_string(&pairs)
    }
}

fn query_string(pairs: &[(&str, String)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let s: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    if s.is_empty() { "/dataset".into() } else { format!("/dataset?{}", s.join("&")) }
}

const SORTS: &[(&str, &str, &str)] = &[
    ("", "Phù hợp nhất", "Relevance"),
    ("metadata_modified desc", "Mới cập nhật", "Last updated"),
    ("title_string asc", "Tên A–Z", "Name A–Z"),
    ("num_resources desc", "Nhiều tài nguyên", "Most resources"),
];

async fn search_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    uri: Uri,
    jar: CookieJar,
    Query(p): Query<SearchParams>,
) -> PageResult {
    let q = p.q.clone().unwrap_or_default();
    let page = p.page.unwrap_or(1).clamp(1, 10_000);
    let sort = p.sort.clone().filter(|s| SORTS.iter().any(|x| x.0 == s)).unwrap_or_default();
    let fields: Vec<String> = FACETS.iter().map(|f| f.0.to_string()).collect();
    let fq = p.fq();
    let found = {
        let ix = st.open_data.index.read().expect("open data index");
        ix.search(&SearchRequest {
            q: &q,
            fq: &fq,
            sort: &sort,
            rows: PER_PAGE,
            start: (page - 1) * PER_PAGE,
            facet_fields: &fields,
            facet_limit: Some(10),
        })
    };
    let title = lang.t("Dữ liệu mở", "Open data");
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            let body = html! {
                h1 { (title) }
                (search_form(lang, &q, &p))
                div.error-summary role="alert" { p { (lang.t("Không hiểu câu tìm kiếm: ", "The search could not be read: ")) (e.to_string()) } }
            };
            return Ok(html_page(lang, Some(lang_jar(&uri, jar, lang)), who.as_ref(), title, body));
        }
    };
    let cat = st.catalogue();
    let datasets: Vec<Value> = st
        .store
        .datasets_with_resources(&found.ids)
        .await
        .page(lang)?
        .iter()
        .map(|(d, r)| package_dict(&st.config.public_url, &cat.agencies, d, r))
        .collect();
    let pages = found.count.div_ceil(PER_PAGE).max(1);
    let page_link = |n: usize| {
        let base = p.with("", None);
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}page={n}")
    };
    let body = html! {
        h1 { (title) }
        p { (lang.t(
            "Dữ liệu do các cơ quan nhà nước công bố, tự do sử dụng lại, kể cả cho mục đích thương mại. Tìm có dấu hay không dấu đều được.",
            "Data published by state agencies, free to reuse, commercially too. Search with or without Vietnamese diacritics.")) }
        (search_form(lang, &q, &p))
        div.od-layout {
            nav.od-facets aria-label=(lang.t("Lọc kết quả", "Filter the results")) {
                @for (field, items) in &found.facets {
                    @let (vi, en) = FACETS.iter().find(|f| f.0 == field).map(|f| (f.1, f.2)).unwrap_or(("", ""));
                    @if !items.is_empty() {
                        h2 { (lang.t(vi, en)) }
                        ul {
                            @for (value, n) in items {
                                @let chosen = p.facet(field) == Some(value.as_str());
                                li {
                                    @if chosen {
                                        a href=(p.with(field, None)) aria-current="true" { "✓ " (facet_display(&cat.agencies, field, value)) " (" (n) ")" }
                                    } @else {
                                        a href=(p.with(field, Some(value))) { (facet_display(&cat.agencies, field, value)) " (" (n) ")" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.od-results aria-labelledby="od-count" {
                p #od-count aria-live="polite" { strong { (found.count) } " " (lang.t("bộ dữ liệu", "datasets")) }
                @if datasets.is_empty() { p { (lang.t("Không có bộ dữ liệu phù hợp. Hãy bỏ bớt bộ lọc hoặc thử từ khác.", "No matching dataset. Remove a filter or try other words.")) } }
                ul.od-list {
                    @for d in &datasets {
                        li {
                            h3 { a href={"/dataset/" (text(d, "name"))} { (text(d, "title")) } }
                            p.hint { (text(&d["organization"], "title")) " · " (lang.t("cập nhật ", "updated ")) (text(d, "metadata_modified").get(..10).unwrap_or_default()) }
                            p { (shorten(text(d, "notes"), 240)) }
                            p { @for f in formats(d) { span.badge { (f) } " " } }
                        }
                    }
                }
                @if pages > 1 {
                    nav aria-label=(lang.t("Trang kết quả", "Result pages")) { p {
                        @if page > 1 { a href=(page_link(page - 1)) rel="prev" { "← " (lang.t("Trang trước", "Previous")) } " " }
                        (lang.t("Trang ", "Page ")) (page) " / " (pages)
                        @if page < pages { " " a href=(page_link(page + 1)) rel="next" { (lang.t("Trang sau", "Next")) " →" } }
                    } }
                }
                p.hint { (lang.t("Cho máy: ", "For machines: ")) a href="/api/3/action/package_search" { "CKAN API" } " · " a href="/catalog.ttl" { "DCAT-AP (Turtle)" } " · " a href="/catalog.jsonld" { "JSON-LD" } }
            }
        }
    };
    Ok(html_page(lang, Some(lang_jar(&uri, jar, lang)), who.as_ref(), title, body))
}

fn search_form(lang: Lang, q: &str, p: &SearchParams) -> Markup {
    html! {
        form role="search" method="get" action="/dataset" {
            div.search {
                label.skip for="q" { (lang.t("Tìm bộ dữ liệu", "Search datasets")) }
                input #q type="search" name="q" value=(q) maxlength="500";
                button type="submit" { (lang.t("Tìm kiếm", "Search")) }
            }
            @for (f, ..) in FACETS { @if let Some(v) = p.facet(f) { input type="hidden" name=(f) value=(v); } }
            p.od-sort {
                label for="sort" { (lang.t("Sắp xếp: ", "Sort: ")) }
                select #sort name="sort" {
                    @for (value, vi, en) in SORTS {
                        option value=(value) selected[p.sort.as_deref().unwrap_or_default() == *value] { (lang.t(vi, en)) }
                    }
                }
            }
        }
    }
}

/// A dataset's resource formats, each once.
fn formats(d: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for r in d["resources"].as_array().into_iter().flatten() {
        let f = text(r, "format");
        if !f.is_empty() && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

pub(crate) fn shorten_text(s: &str, n: usize) -> String {
    shorten(s, n)
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

/// `/dataset/{name}`: the page; `/dataset/{id or name}.ttl|.jsonld|.rdf|.xml`: its RDF.
async fn dataset(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    uri: Uri,
    jar: CookieJar,
    headers: axum::http::HeaderMap,
    Path(file): Path<String>,
) -> PageResult {
    use sen_domain::opendata::usage::Kind;
    if let Some((key, syntax)) = file.rsplit_once('.').and_then(|(k, e)| Syntax::from_extension(e).map(|s| (k, s))) {
        return crate::dcat_http::dataset_rdf(&st, &headers, key, syntax)
            .await
            .map(IntoResponse::into_response)
            .page(lang);
    }
    let (d, r) = st.store.published_dataset(&file).await.map_err(crate::dcat_http::not_found).page(lang)?;
    st.usage.count(&headers, &d.id, "", Kind::View);
    let usage = crate::usage_http::dataset_block(&st, lang, who.as_ref(), &d.id, &d.name).await.page(lang)?;
    let pkg = package_dict(&st.config.public_url, &st.catalogue().agencies, &d, &r);
    let score = crate::quality_http::score_of(&st, &pkg).await.page(lang)?;
    let mut tables = Vec::new();
    for res in &r {
        if text(&res.body, "url_type") == "upload" && text(&res.body, "format") == "CSV" {
            let file = st.store.resource_file(&res.id).await.page(lang)?;
            if let Ok(t) = od::table::read_csv(&file.content, od::table::MAX_UPLOAD_ROWS) {
                let loaded = st.store.datastore_table(&res.id).await.ok();
                tables.push((res.id.clone(), t, loaded));
            }
        }
    }
    let base = st.config.public_url.trim_end_matches('/');
    let frequency = od::FREQUENCIES.iter().find(|f| f.0 == text(&pkg, "frequency")).map(|f| f.1).unwrap_or("—");
    let title = text(&pkg, "title");
    let body = html! {
        p { a href="/dataset" { "← " (lang.t("Dữ liệu mở", "Open data")) } }
        h1 { (title) }
        p { (text(&pkg, "notes")) }
        dl.facts {
            dt { (lang.t("Cơ quan công bố", "Published by")) } dd { a href={"/dataset?organization=" (text(&pkg, "owner_org"))} { (text(&pkg["organization"], "title")) } }
            dt { (lang.t("Chủ đề", "Theme")) } dd { @for g in pkg["groups"].as_array().into_iter().flatten() { a href={"/dataset?groups=" (text(g, "name"))} { (text(g, "title")) } " " } }
            dt { (lang.t("Từ khóa", "Tags")) } dd { @for t in pkg["tags"].as_array().into_iter().flatten() { a.badge href={"/dataset?tags=" (text(t, "name"))} { (text(t, "name")) } " " } }
            dt { (lang.t("Giấy phép", "Licence")) } dd { a href=(text(&pkg, "license_url")) { (text(&pkg, "license_title")) } }
            dt { (lang.t("Tần suất cập nhật", "Update frequency")) } dd { (frequency) }
            dt { (lang.t("Phạm vi thời gian", "Time covered")) } dd { (text(&pkg, "temporal_start")) " – " (text(&pkg, "temporal_end")) }
            dt { (lang.t("Phạm vi không gian", "Area covered")) } dd { (text(&pkg, "spatial")) }
            dt { (lang.t("Cập nhật lần cuối", "Last updated")) } dd { (text(&pkg, "metadata_modified").get(..10).unwrap_or_default()) }
            dt { (lang.t("Đầu mối liên hệ", "Contact")) } dd { (text(&pkg, "maintainer")) " " (text(&pkg, "maintainer_email")) }
        }
        h2 { (lang.t("Tài nguyên", "Resources")) }
        table {
            thead { tr { th { (lang.t("Tên", "Name")) } th { (lang.t("Định dạng", "Format")) } th { (lang.t("Kích thước", "Size")) } th { (lang.t("Tải về", "Download")) } } }
            tbody { @for res in pkg["resources"].as_array().into_iter().flatten() {
                tr {
                    td { (text(res, "name")) }
                    td { (text(res, "format")) }
                    td { @if let Some(n) = res["size"].as_u64() { (format!("{:.1} KB", n as f64 / 1024.0)) } @else { "—" } }
                    td { a href=(text(res, "url")) { (lang.t("Tải về", "Download")) span.visually-hidden { " " (text(res, "name")) } } }
                }
            } }
        }
        @for (rid, t, loaded) in &tables {
            @let name = r.iter().find(|x| &x.id == rid).map(|x| text(&x.body, "name").to_string()).unwrap_or_default();
            section aria-labelledby={"t-" (rid)} {
                h2 #{"t-" (rid)} { (name) }
                p.hint { (t.rows.len()) " " (lang.t("dòng", "rows")) ", " (t.columns.len()) " " (lang.t("cột", "columns")) }
                (datastore_state(lang, rid, t.rows.len(), loaded.as_ref()))
                (chart(lang, t, rid))
                (summary(lang, t))
                h3 { (lang.t("Xem trước", "Preview")) " (" (PREVIEW_ROWS.min(t.rows.len())) " " (lang.t("dòng đầu", "first rows")) ")" }
                div.od-scroll { table {
                    thead { tr { @for (c, ty) in &t.columns { th scope="col" { (c) br; span.hint { (ty.as_str()) } } } } }
                    tbody { @for row in t.rows.iter().take(PREVIEW_ROWS) { tr { @for cell in row { td { (cell) } } } } }
                } }
            }
        }
        (usage)
        (crate::quality_http::dataset_block(lang, &score))
        h2 { (lang.t("Dùng bằng công cụ", "Use it from tools")) }
        ul {
            li { a href={"/api/3/action/package_show?id=" (d.name)} { "package_show" } " (CKAN API)" }
            li { a href={"/dataset/" (d.id) "/datapackage.json"} { "datapackage.json" } " (Frictionless)" }
            li { "DCAT-AP 3: " a href={"/dataset/" (d.name) ".ttl"} { "Turtle" } " · " a href={"/dataset/" (d.name) ".jsonld"} { "JSON-LD" } " · " a href={"/dataset/" (d.name) ".rdf"} { "RDF/XML" } }
        }
        pre { code { "curl '" (base) "/api/3/action/package_show?id=" (d.name) "'\n"
            "ckanapi action package_show id=" (d.name) " -r " (base) "\n"
            "frictionless validate " (base) "/dataset/" (d.id) "/datapackage.json" } }
    };
    Ok(html_page(lang, Some(lang_jar(&uri, jar, lang)), who.as_ref(), title, body))
}

/// Where a table stands in the datastore: searchable through the API (with an example),
/// being loaded (how far, as a progress bar), or not loadable (why).
fn datastore_state(
    lang: Lang,
    rid: &str,
    rows: usize,
    loaded: Option<&sen_store::datastore::DatastoreTable>,
) -> Markup {
    use sen_store::datastore::{ACTIVE, FAILED};
    html! {
        @match loaded {
            Some(t) if t.state == ACTIVE => p {
                (lang.t("Tra cứu qua API kho dữ liệu: ", "Searchable through the datastore API: "))
                a href={"/api/3/action/datastore_search?resource_id=" (rid) "&limit=5"} { code { "datastore_search" } }
                " · " code { "datastore_search_sql" }
            },
            Some(t) if t.state == FAILED => p.hint {
                (lang.t("Không nạp được vào kho dữ liệu: ", "Could not be loaded into the datastore: "))
                (t.error.clone().unwrap_or_default())
            },
            Some(t) => p {
                label for={"load-" (rid)} { (lang.t("Đang nạp vào kho dữ liệu: ", "Loading into the datastore: ")) (t.rows) " / " (rows) " " (lang.t("dòng", "rows")) " " }
                progress id={"load-" (rid)} max=(rows.max(1)) value=(t.rows) { (t.rows) " / " (rows) }
            },
            None => {},
        }
    }
}

/// Per numeric column: how many values, the least, the mean, the most.
fn summary(lang: Lang, t: &Table) -> Markup {
    let numeric = t.numeric_columns();
    html! {
        @if !numeric.is_empty() {
            table.od-summary {
                caption { (lang.t("Thống kê các cột số", "Numeric columns")) }
                thead { tr { th scope="col" { (lang.t("Cột", "Column")) } th scope="col" { (lang.t("Số giá trị", "Values")) } th scope="col" { (lang.t("Nhỏ nhất", "Least")) } th scope="col" { (lang.t("Trung bình", "Mean")) } th scope="col" { (lang.t("Lớn nhất", "Most")) } } }
                tbody { @for i in numeric {
                    @let values: Vec<f64> = t.rows.iter().filter_map(|r| r[i].parse::<f64>().ok()).collect();
                    @if !values.is_empty() {
                        @let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                        @let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        @let mean = values.iter().sum::<f64>() / values.len() as f64;
                        tr { th scope="row" { (t.columns[i].0) } td { (values.len()) } td { (number(min)) } td { (number(mean)) } td { (number(max)) } }
                    }
                } }
            }
        }
    }
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.0}") } else { format!("{x:.2}") }
}

/// A chart of the table's first numeric column: over time as a line when the table has a
/// date column (the mean per day or hour), else as bars labelled by its first text column.
/// An SVG with a text alternative; the numbers are in the preview below it.
fn chart(lang: Lang, t: &Table, id: &str) -> Markup {
    let Some(&value) = t.numeric_columns().iter().find(|&&i| {
        !t.columns[i].0.starts_with("ma_") && !t.columns[i].0.contains("vi_do") && !t.columns[i].0.contains("kinh_do")
    }) else {
        return html! {};
    };
    let time = t.columns.iter().position(|(_, ty)| matches!(ty, ColumnType::Date | ColumnType::DateTime));
    let label = t.columns.iter().position(|(_, ty)| *ty == ColumnType::String);
    let points: Vec<(String, f64)> = match time {
        Some(ti) => {
            let mut by: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
            for r in &t.rows {
                if let Ok(v) = r[value].parse::<f64>() {
                    let e = by.entry(r[ti].clone()).or_default();
                    e.0 += v;
                    e.1 += 1;
                }
            }
            let all: Vec<(String, f64)> = by.into_iter().map(|(k, (s, n))| (k, s / n as f64)).collect();
            all[all.len().saturating_sub(CHART_POINTS)..].to_vec()
        }
        None => {
            let li = label.unwrap_or(0);
            t.rows
                .iter()
                .filter_map(|r| r[value].parse::<f64>().ok().map(|v| (r[li].clone(), v)))
                .take(CHART_POINTS)
                .collect()
        }
    };
    if points.len() < 2 {
        return html! {};
    }
    let column = &t.columns[value].0;
    let max = points.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1e-9);
    let min = points.iter().map(|p| p.1).fold(0.0f64, f64::min);
    let (w, h, left, bottom) = (720.0, 260.0, 60.0, 40.0);
    let plot_w = w - left - 10.0;
    let plot_h = h - bottom - 10.0;
    let y = |v: f64| 10.0 + plot_h * (1.0 - (v - min) / (max - min).max(1e-9));
    let step = plot_w / points.len() as f64;
    let description = match time {
        Some(ti) => format!(
            "{}: {} {} {} → {}",
            column,
            lang.t("trung bình theo", "mean by"),
            t.columns[ti].0,
            points.first().map(|p| p.0.as_str()).unwrap_or_default(),
            points.last().map(|p| p.0.as_str()).unwrap_or_default()
        ),
        None => format!("{column} {} {}", lang.t("theo", "by"), t.columns[label.unwrap_or(0)].0),
    };
    let line: String = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", left + step * (i as f64 + 0.5), y(p.1)))
        .collect::<Vec<_>>()
        .join(" ");
    html! {
        figure.od-chart {
            svg viewBox={"0 0 " (w) " " (h)} role="img" aria-labelledby={"chart-" (id)} xmlns="http://www.w3.org/2000/svg" {
                title id={"chart-" (id)} { (description) }
                line x1=(left) y1="10" x2=(left) y2=(10.0 + plot_h) stroke="#5b6470" {}
                line x1=(left) y1=(10.0 + plot_h) x2=(w - 10.0) y2=(10.0 + plot_h) stroke="#5b6470" {}
                text x=(left - 6.0) y="16" text-anchor="end" font-size="12" { (number(max)) }
                text x=(left - 6.0) y=(10.0 + plot_h) text-anchor="end" font-size="12" { (number(min)) }
                @if time.is_some() {
                    polyline points=(line) fill="none" stroke="#0b4fa8" stroke-width="2" {}
                } @else {
                    @for (i, p) in points.iter().enumerate() {
                        rect x=(format!("{:.1}", left + step * i as f64 + 1.0)) y=(format!("{:.1}", y(p.1))) width=(format!("{:.1}", (step - 2.0).max(1.0))) height=(format!("{:.1}", (10.0 + plot_h - y(p.1)).max(0.0))) fill="#0b4fa8" {
                            title { (p.0) ": " (number(p.1)) }
                        }
                    }
                }
                text x=(left) y=(h - 12.0) font-size="12" { (points.first().map(|p| shorten(&p.0, 24)).unwrap_or_default()) }
                text x=(w - 10.0) y=(h - 12.0) font-size="12" text-anchor="end" { (points.last().map(|p| shorten(&p.0, 24)).unwrap_or_default()) }
            }
            figcaption { (description) }
        }
    }
}
