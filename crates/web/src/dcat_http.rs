//! The catalogue for DCAT harvesters (issue #6): `/catalog.ttl`, `/catalog.jsonld` and
//! `/catalog.rdf` (also `/catalog.xml`, and `/catalog` by `Accept`), in pages with Hydra
//! links and an optional `modified_since`; `/dataset/{id}.ttl|.jsonld|.rdf` for one dataset.
//!
//! A page is chosen in the search index (newest change first, as ckanext-dcat does), so
//! page 900 costs what page 1 costs, and only that page's datasets are read and held: a
//! harvester walking the whole catalogue never makes a response, or the server, grow.

use crate::AppState;
use crate::ckan_http::{org_dict, package_dict};
use crate::error::{AppError, AppResult};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sen_domain::opendata::dcat::{self, CatalogInfo, Graph, Paging, Syntax};
use sen_domain::opendata::index::SearchRequest;
use serde::Deserialize;
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalog", get(catalog_negotiated))
        .route("/catalog.ttl", get(|st, q| catalog(st, q, Syntax::Turtle)))
        .route("/catalog.jsonld", get(|st, q| catalog(st, q, Syntax::JsonLd)))
        .route("/catalog.rdf", get(|st, q| catalog(st, q, Syntax::RdfXml)))
        .route("/catalog.xml", get(|st, q| catalog(st, q, Syntax::RdfXml)))
        .route("/dataset/{id}/datapackage.json", get(data_package))
        .route("/dataset/{id}/resource/{resource_id}/download/{file}", get(download))
}

/// `/dataset/{id or name}/datapackage.json`: the dataset as a Frictionless Data Package.
async fn data_package(State(st): State<AppState>, headers: HeaderMap, Path(key): Path<String>) -> AppResult<Response> {
    let (d, r) = st.store.published_dataset(&key).await.map_err(not_found)?;
    st.usage.count(&headers, &d.id, "", sen_domain::opendata::usage::Kind::Api);
    let pkg = package_dict(&st.config.public_url, &st.catalogue().agencies, &d, &r);
    Ok(axum::Json(sen_domain::opendata::table::data_package(&pkg)).into_response())
}

/// An uploaded resource's file, as it was sent.
async fn download(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((id, resource_id, _file)): Path<(String, String, String)>,
) -> AppResult<Response> {
    let d = st.store.dataset(&id).await?;
    let f = st.store.resource_file(&resource_id).await?;
    if d.state != "active" || f.dataset_id != d.id {
        return Err(AppError::NotFound("file"));
    }
    st.usage.count(&headers, &d.id, &resource_id, sen_domain::opendata::usage::Kind::Download);
    let disposition = format!("inline; filename=\"{}\"", f.file_name);
    Ok((
        [
            (header::CONTENT_TYPE, f.media_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::ETAG, format!("\"{}\"", f.sha256)),
            (header::CACHE_CONTROL, "public, max-age=300".into()),
        ],
        f.content,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CatalogQuery {
    page: Option<String>,
    page_size: Option<String>,
    modified_since: Option<String>,
}

/// A missing or deleted dataset is "dataset not found".
pub(crate) fn not_found(e: sen_store::StoreError) -> AppError {
    match e {
        sen_store::StoreError::NotFound => AppError::NotFound("dataset"),
        e => e.into(),
    }
}

fn rdf(syntax: Syntax, body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, syntax.media_type())], body).into_response()
}

/// The syntax an `Accept` header prefers; Turtle when it names none of them.
fn negotiate(headers: &HeaderMap) -> Syntax {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut best = (Syntax::Turtle, -1.0f32);
    for part in accept.split(',') {
        let mut bits = part.split(';').map(str::trim);
        let media = bits.next().unwrap_or_default();
        let q = bits.find_map(|b| b.strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
        let syntax = match media {
            "text/turtle" | "application/x-turtle" => Syntax::Turtle,
            "application/ld+json" | "application/json" => Syntax::JsonLd,
            "application/rdf+xml" | "application/xml" | "text/xml" => Syntax::RdfXml,
            _ => continue,
        };
        if q > best.1 {
            best = (syntax, q);
        }
    }
    best.0
}

async fn catalog_negotiated(st: State<AppState>, q: Query<CatalogQuery>, headers: HeaderMap) -> AppResult<Response> {
    catalog(st, q, negotiate(&headers)).await
}

fn number(v: Option<&str>, field: &'static str, code: &'static str, default: u64, max: u64) -> AppResult<u64> {
    match v.map(str::trim) {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest {
                code,
                detail: format!("{field} must be a whole number from 1 to {max}"),
                pointer: Some(format!("/{field}")),
            }),
        },
    }
}

/// `modified_since` as the index's time form: RFC 3339, or a date (its midnight UTC).
fn since(v: Option<&str>) -> AppResult<Option<String>> {
    let Some(s) = v.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| AppError::BadRequest {
            code: "invalid_modified_since",
            detail: "modified_since must be a date (2025-01-31) or an RFC 3339 time (2025-01-31T00:00:00Z)".into(),
            pointer: Some("/modified_since".into()),
        })?;
    Ok(Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// The catalogue's own description: the portal's operator (the province's People's
/// Committee where there is one), its first publication and its newest change.
fn catalog_info(st: &AppState) -> CatalogInfo {
    let (issued, modified) = {
        let ix = st.open_data.index.read().expect("open data index");
        let first = |sort: &str| {
            let r = ix.search(&SearchRequest {
                q: "*:*",
                fq: "",
                sort,
                rows: 1,
                start: 0,
                facet_fields: &[],
                facet_limit: None,
            });
            r.ok().and_then(|r| r.ids.first().and_then(|id| ix.get(id)).cloned())
        };
        (
            first("metadata_created asc").map(|d| d.metadata_created),
            first("metadata_modified desc").map(|d| d.metadata_modified),
        )
    };
    let cat = st.catalogue();
    let operator = cat
        .agencies
        .iter()
        .find(|a| a.kind == "province_pc")
        .or_else(|| cat.agencies.iter().find(|a| a.kind == "gov_office"))
        .or(cat.agencies.first());
    let name = operator.map(|a| a.name.clone()).unwrap_or_else(|| "Sen".into());
    CatalogInfo {
        base: st.config.public_url.trim_end_matches('/').to_string(),
        title: format!("Cổng dữ liệu mở — {name}"),
        description: format!(
            "Dữ liệu mở do các cơ quan nhà nước công bố để tổ chức, cá nhân tự do sử dụng, kể cả cho mục đích thương mại. Đơn vị vận hành: {name}."
        ),
        publisher: operator.map(|a| org_dict(a, None)).unwrap_or(Value::Null),
        issued,
        modified,
    }
}

async fn catalog(State(st): State<AppState>, Query(q): Query<CatalogQuery>, syntax: Syntax) -> AppResult<Response> {
    let page = number(q.page.as_deref(), "page", "invalid_page", 1, u32::MAX as u64)?;
    let page_size =
        number(q.page_size.as_deref(), "page_size", "invalid_page_size", dcat::DEFAULT_PAGE_SIZE, dcat::MAX_PAGE_SIZE)?;
    let modified_since = since(q.modified_since.as_deref())?;
    let fq = modified_since.as_ref().map(|t| format!("metadata_modified:[{t} TO *]")).unwrap_or_default();
    let start = usize::try_from((page - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let result = {
        let ix = st.open_data.index.read().expect("open data index");
        ix.search(&SearchRequest {
            q: "*:*",
            fq: &fq,
            sort: "metadata_modified desc",
            rows: page_size as usize,
            start,
            facet_fields: &[],
            facet_limit: None,
        })
        .map_err(|e| AppError::Internal(format!("catalogue page: {e}")))?
    };
    let paging = Paging { page, page_size, total: result.count as u64, modified_since, syntax };
    if page > paging.last_page() {
        return Err(AppError::BadRequest {
            code: "page_out_of_range",
            detail: format!("page {page} is past the last page, {}", paging.last_page()),
            pointer: Some("/page".into()),
        });
    }
    let datasets = st.store.datasets_with_resources(&result.ids).await?;
    let cat = st.catalogue();
    let info = catalog_info(&st);
    let mut graph = Graph::new();
    let iris: Vec<_> = datasets
        .iter()
        .map(|(d, r)| graph.add_dataset(&info.base, &package_dict(&info.base, &cat.agencies, d, r)))
        .collect();
    graph.add_catalog(&info, &iris, Some(&paging));
    Ok(rdf(syntax, graph.write(syntax)))
}

/// One dataset with its distributions (`/dataset/{id or name}.ttl|.jsonld|.rdf|.xml`, routed
/// with the dataset's page); counted as an API read of it.
pub async fn dataset_rdf(st: &AppState, headers: &HeaderMap, key: &str, syntax: Syntax) -> AppResult<Response> {
    let (d, r) = st.store.published_dataset(key).await.map_err(not_found)?;
    st.usage.count(headers, &d.id, "", sen_domain::opendata::usage::Kind::Api);
    let cat = st.catalogue();
    let base = st.config.public_url.trim_end_matches('/').to_string();
    let mut graph = Graph::new();
    graph.add_dataset(&base, &package_dict(&base, &cat.agencies, &d, &r));
    Ok(rdf(syntax, graph.write(syntax)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_syntax() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT, v.parse().unwrap());
            m
        };
        assert_eq!(negotiate(&HeaderMap::new()), Syntax::Turtle);
        assert_eq!(negotiate(&h("application/ld+json")), Syntax::JsonLd);
        assert_eq!(negotiate(&h("text/turtle;q=0.5, application/rdf+xml")), Syntax::RdfXml);
        assert_eq!(negotiate(&h("text/html")), Syntax::Turtle);
    }

    #[test]
    fn modified_since_takes_dates_and_times() {
        assert_eq!(since(Some("2025-01-31")).unwrap().as_deref(), Some("2025-01-31T00:00:00Z"));
        assert_eq!(since(Some("2025-01-31T07:00:00+07:00")).unwrap().as_deref(), Some("2025-01-31T00:00:00Z"));
        assert!(since(Some("last week")).is_err());
        assert_eq!(since(None).unwrap(), None);
    }
}
