//! The open-data portal's CKAN Action API (issue #6): `/api/3/action/{name}` and
//! `/api/action/{name}`, GET and POST, with CKAN's envelope (`help`, `success`, `result`) and
//! its error objects, so that ckanapi and other CKAN clients work unchanged.
//!
//! Reads answer from the in-memory [`DatasetIndex`] and fetch the page's datasets from the
//! store; writes need an API token of an agency administrator of the owning agency, go to the
//! store first and then to the index, and are recorded in the audit trail.

use crate::AppState;
use crate::auth::Principal;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SubsecRound, Utc};
use sen_domain::opendata::index::{self, DatasetIndex, IndexDoc, SearchRequest};
use sen_domain::opendata::usage::Kind;
use sen_domain::opendata::{self as od, package, query::QueryError};
use sen_store::opendata::{ResourceFile, StoredDataset, StoredResource};
use sen_store::{Agency, StoreError};
use serde_json::{Map, Value, json};
use std::sync::{Arc, RwLock};

/// The catalogue's search index, shared by the handlers, with how far it has read the
/// store's changes (other nodes' writes arrive through [`refresh_index`]).
pub struct OpenData {
    pub index: RwLock<DatasetIndex>,
    seen: std::sync::Mutex<DateTime<Utc>>,
    /// Datasets' dictionaries as `package_search` last built them, by id: valid while the
    /// index has the same modification time for the dataset and the catalogue of agencies is
    /// the same. Search pages then need no database read.
    dicts: std::sync::Mutex<std::collections::HashMap<String, CachedDict>>,
}

struct CachedDict {
    modified: String,
    catalogue: usize,
    built: std::time::Instant,
    dict: Arc<Value>,
}

/// Dictionaries kept for search pages, at most (then forgotten all at once).
const DICTS_KEPT: usize = 20_000;
/// How long a kept dictionary serves: what changes a resource without changing its dataset
/// (a datastore load on another node) shows within this time.
const DICT_LIFE: std::time::Duration = std::time::Duration::from_secs(60);

impl OpenData {
    /// Forgets a dataset's kept dictionary (its resources changed without a new version).
    pub fn forget_dict(&self, dataset_id: &str) {
        self.dicts.lock().expect("search dictionaries").remove(dataset_id);
    }
}

pub type OpenDataIndex = Arc<OpenData>;

/// How far back a refresh reads before the last change it saw: writers' clocks may differ.
const CLOCK_SLACK_SECONDS: i64 = 60;
/// Changes read by one refresh, at most (the next refresh reads on).
const REFRESH_BATCH: u64 = 5_000;

/// `package_list` and `organization_list` page sizes.
pub const MAX_LIST: u64 = 1000;
pub const DEFAULT_ROWS: usize = 10;

/// CKAN's error kinds, with their `__type` and HTTP status.
#[derive(Debug)]
pub enum CkanError {
    Validation(package::FieldErrors),
    NotFound(String),
    Authorization(String),
    SearchQuery(String),
    BadRequest(String),
    Internal(String),
}

impl From<StoreError> for CkanError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CkanError::NotFound("Not found".into()),
            StoreError::Duplicate(what) => CkanError::Validation(
                [("name".to_string(), vec![format!("That URL is already in use: {what}")])].into(),
            ),
            e => {
                tracing::error!(error = %e, "open data store");
                CkanError::Internal("the store failed; try again".into())
            }
        }
    }
}

impl From<package::FieldErrors> for CkanError {
    fn from(e: package::FieldErrors) -> Self {
        CkanError::Validation(e)
    }
}

impl From<QueryError> for CkanError {
    fn from(e: QueryError) -> Self {
        CkanError::SearchQuery(e.to_string())
    }
}

pub(crate) fn field_error(field: &str, message: &str) -> CkanError {
    CkanError::Validation([(field.to_string(), vec![message.to_string()])].into())
}

pub(crate) type CkanResult<T> = Result<T, CkanError>;

fn envelope(st: &AppState, action: &str, outcome: CkanResult<Value>) -> Response {
    let help = format!("{}/api/3/action/help_show?name={action}", st.config.public_url.trim_end_matches('/'));
    let (status, body) = match outcome {
        Ok(result) => (StatusCode::OK, json!({"help": help, "success": true, "result": result})),
        Err(e) => {
            let (status, error) = match e {
                CkanError::Validation(fields) => {
                    let mut m: Map<String, Value> = fields.into_iter().map(|(k, v)| (k, json!(v))).collect();
                    m.insert("__type".into(), json!("Validation Error"));
                    (StatusCode::CONFLICT, Value::Object(m))
                }
                CkanError::NotFound(m) => (StatusCode::NOT_FOUND, json!({"__type": "Not Found Error", "message": m})),
                CkanError::Authorization(m) => {
                    (StatusCode::FORBIDDEN, json!({"__type": "Authorization Error", "message": m}))
                }
                CkanError::SearchQuery(m) => (
                    StatusCode::BAD_REQUEST,
                    json!({"__type": "Search Query Error", "message": format!("Search Query is invalid: {m}")}),
                ),
                CkanError::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({"__type": "Bad Request", "message": m})),
                CkanError::Internal(m) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, json!({"__type": "Internal Error", "message": m}))
                }
            };
            (status, json!({"help": help, "success": false, "error": error}))
        }
    };
    (status, [(header::CONTENT_TYPE, "application/json;charset=utf-8")], body.to_string()).into_response()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/3/action/{name}", get(action_get).post(action_post))
        .route("/api/action/{name}", get(action_get).post(action_post))
        .route("/api/3", get(api_version))
        .route("/api", get(api_version))
}

async fn api_version() -> Response {
    axum::Json(json!({"version": 3})).into_response()
}

async fn action_get(
    State(st): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let mut params = Map::new();
    for (k, v) in url_pairs(q.as_deref().unwrap_or_default()) {
        params.insert(k, Value::String(v));
    }
    let outcome = dispatch(&st, &name, &headers, params, false, None).await;
    envelope(&st, &name, outcome)
}

/// A file sent with an action (`resource_create` with `upload`), as ckanapi sends it.
pub struct Upload {
    pub file_name: String,
    pub bytes: Bytes,
}

/// The fields and the `upload` file of a `multipart/form-data` action.
async fn multipart_params(st: &AppState, req: Request) -> CkanResult<(Map<String, Value>, Option<Upload>)> {
    let mut form = Multipart::from_request(req, st)
        .await
        .map_err(|e| CkanError::BadRequest(format!("Bad request - multipart: {e}")))?;
    let mut params = Map::new();
    let mut upload = None;
    let limit = st.config.max_file_bytes;
    while let Some(field) =
        form.next_field().await.map_err(|e| CkanError::BadRequest(format!("Bad request - multipart: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "upload" {
            let file_name = field.file_name().unwrap_or("data").to_string();
            let bytes = field.bytes().await.map_err(|e| CkanError::BadRequest(format!("Bad request - upload: {e}")))?;
            if bytes.len() > limit {
                return Err(field_error("upload", &format!("At most {limit} bytes")));
            }
            upload = Some(Upload { file_name, bytes });
        } else {
            let text = field.text().await.map_err(|e| CkanError::BadRequest(format!("Bad request - {name}: {e}")))?;
            params.insert(name, Value::String(text));
        }
    }
    Ok((params, upload))
}

async fn action_post(State(st): State<AppState>, Path(name): Path<String>, req: Request) -> Response {
    let headers = req.headers().clone();
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let parsed = if ctype.starts_with("multipart/form-data") {
        multipart_params(&st, req).await
    } else {
        match Bytes::from_request(req, &st).await {
            Err(e) => Err(CkanError::BadRequest(format!("Bad request - {e}"))),
            Ok(body) if body.iter().all(u8::is_ascii_whitespace) => Ok((Map::new(), None)),
            Ok(body) if ctype.starts_with("application/x-www-form-urlencoded") => Ok((
                url_pairs(&String::from_utf8_lossy(&body)).into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
                None,
            )),
            Ok(body) => match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(m)) => Ok((m, None)),
                Ok(_) => Err(CkanError::BadRequest("Bad request - JSON Error: the body must be a JSON object".into())),
                Err(e) => Err(CkanError::BadRequest(format!("Bad request - JSON Error: {e}"))),
            },
        }
    };
    let outcome = match parsed {
        Ok((p, upload)) => dispatch(&st, &name, &headers, p, true, upload).await,
        Err(e) => Err(e),
    };
    envelope(&st, &name, outcome)
}

/// `a=1&b=x%20y` as pairs (`+` is a space, as in forms).
fn url_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn dispatch(
    st: &AppState,
    name: &str,
    headers: &HeaderMap,
    p: Map<String, Value>,
    post: bool,
    upload: Option<Upload>,
) -> CkanResult<Value> {
    match name {
        "site_read" => Ok(json!(true)),
        "status_show" => Ok(json!({
            "site_title": "Sen — Cổng dữ liệu mở",
            "site_description": "Dữ liệu mở của cơ quan nhà nước, tự do tái sử dụng",
            "site_url": st.config.public_url,
            "ckan_version": "2.10.4",
            "locale_default": "vi",
            "extensions": ["sen", "dcat", "datastore"],
        })),
        "package_list" => package_list(st, &p).await,
        "package_show" => package_show(st, &p).await.inspect(|v| {
            st.usage.count(headers, v["id"].as_str().unwrap_or_default(), "", Kind::Api);
        }),
        "package_search" => package_search(st, &p).await,
        "datastore_search" => crate::datastore_http::datastore_search(st, headers, &p).await,
        "datastore_search_sql" => crate::datastore_http::datastore_search_sql(st, &p).await,
        "current_package_list_with_resources" => current_packages(st, &p).await,
        "organization_list" => organization_list(st, &p),
        "organization_show" => organization_show(st, &p),
        "group_list" => group_list(&p),
        "group_show" => group_show(&p),
        "tag_list" => tag_list(st, &p),
        "license_list" => Ok(Value::Array(od::LICENCES.iter().map(licence_dict).collect())),
        "resource_show" => resource_show(st, &p).await.inspect(|v| {
            let (dataset, resource) =
                (v["package_id"].as_str().unwrap_or_default(), v["id"].as_str().unwrap_or_default());
            st.usage.count(headers, dataset, resource, Kind::Api);
        }),
        "package_create" | "package_update" | "package_patch" | "package_delete" | "resource_create" => {
            if !post {
                return Err(CkanError::BadRequest(format!("Bad request - {name} changes data: use POST")));
            }
            let who = publisher(st, headers).await?;
            match name {
                "package_create" => write_package(st, &who, p, Write::Create).await,
                "package_update" => write_package(st, &who, p, Write::Update).await,
                "package_patch" => write_package(st, &who, p, Write::Patch).await,
                "resource_create" => resource_create(st, &who, p, upload).await,
                _ => package_delete(st, &who, &p).await,
            }
        }
        other => Err(CkanError::BadRequest(format!("Bad request - Action name not known: {other}"))),
    }
}

pub(crate) fn str_param<'a>(p: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    p.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// An integer parameter (a number or a numeric string), within `0..=max`.
fn int_param(p: &Map<String, Value>, k: &str, default: u64, max: u64) -> CkanResult<u64> {
    let v = match p.get(k) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match v {
        Some(n) if n < 0 => Err(field_error(k, "Must be a natural number")),
        Some(n) if n as u64 > max => Err(field_error(k, &format!("Must be at most {max}"))),
        Some(n) => Ok(n as u64),
        None => Err(field_error(k, "Invalid integer")),
    }
}

fn bool_param(p: &Map<String, Value>, k: &str) -> bool {
    match p.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_lowercase().as_str(), "true" | "1" | "yes" | "on"),
        _ => false,
    }
}

/// An organisation's CKAN name: its agency code in URL form (`H01.STTTT` → `h01-stttt`).
pub fn org_name(a: &Agency) -> String {
    a.code.to_lowercase().replace(['.', ' '], "-")
}

fn org_by_key<'a>(agencies: &'a [Agency], key: &str) -> Option<&'a Agency> {
    let key = key.to_lowercase();
    agencies.iter().find(|a| org_name(a) == key)
}

pub fn org_dict(a: &Agency, package_count: Option<usize>) -> Value {
    let mut d = json!({
        "id": org_name(a),
        "name": org_name(a),
        "title": a.name,
        "display_name": a.name,
        "description": a.name_en,
        "type": "organization",
        "is_organization": true,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "level": a.level,
    });
    if let Some(n) = package_count {
        d["package_count"] = json!(n);
    }
    d
}

fn licence_dict(l: &od::Licence) -> Value {
    json!({"id": l.id, "title": l.title, "url": l.url, "od_conformance": "approved", "osd_conformance": "not reviewed", "status": "active", "is_okd_compliant": l.open})
}

fn theme_dict(t: &od::Theme, package_count: Option<usize>) -> Value {
    let mut d = json!({
        "id": t.name, "name": t.name, "title": t.title_vi, "display_name": t.title_vi,
        "description": t.title_en, "type": "group", "is_organization": false, "state": "active",
        "uri": t.iri(), "image_url": "",
    });
    if let Some(n) = package_count {
        d["package_count"] = json!(n);
    }
    d
}

/// CKAN's time form: ISO 8601 without a zone, in UTC, to the microsecond.
fn ckan_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn names_of(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default()
}

/// A resource's CKAN dictionary. An uploaded file's address is stored as a path and given
/// under the address Sen is reached at now.
fn resource_dict(base: &str, r: &StoredResource) -> Value {
    let mut m = r.body.as_object().cloned().unwrap_or_default();
    if let Some(path) = m.get("url").and_then(Value::as_str).filter(|u| u.starts_with("/dataset/")) {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        m.insert("url".into(), json!(url));
    }
    m.insert("id".into(), json!(r.id));
    m.insert("package_id".into(), json!(r.dataset_id));
    m.insert("position".into(), json!(r.position));
    m.insert("created".into(), json!(ckan_time(r.created_at)));
    m.insert("metadata_modified".into(), json!(ckan_time(r.modified_at)));
    m.insert("last_modified".into(), m.get("last_modified").cloned().unwrap_or(json!(ckan_time(r.modified_at))));
    m.insert("state".into(), json!("active"));
    m.entry("datastore_active").or_insert(json!(false));
    for k in ["name", "description", "format", "mimetype", "url"] {
        m.entry(k).or_insert(json!(""));
    }
    Value::Object(m)
}

/// A dataset's full CKAN dictionary.
pub fn package_dict(base: &str, agencies: &[Agency], d: &StoredDataset, resources: &[StoredResource]) -> Value {
    let mut m = d.body.as_object().cloned().unwrap_or_default();
    let org = agencies.iter().find(|a| a.id == d.agency_id);
    let licence = m.get("license_id").and_then(Value::as_str).and_then(od::licence);
    let tags = names_of(m.get("tags"));
    let groups = names_of(m.get("groups"));
    m.insert("id".into(), json!(d.id));
    m.insert("name".into(), json!(d.name));
    m.insert("state".into(), json!(d.state));
    m.insert("type".into(), json!("dataset"));
    m.insert("private".into(), json!(false));
    m.insert("owner_org".into(), json!(org.map(org_name)));
    m.insert("organization".into(), org.map(|a| org_dict(a, None)).unwrap_or(Value::Null));
    m.insert("metadata_created".into(), json!(ckan_time(d.created_at)));
    m.insert("metadata_modified".into(), json!(ckan_time(d.modified_at)));
    m.insert("license_title".into(), json!(licence.map(|l| l.title)));
    m.insert("license_url".into(), json!(licence.map(|l| l.url)));
    m.insert("isopen".into(), json!(licence.is_some_and(|l| l.open)));
    m.insert(
        "tags".into(),
        Value::Array(tags.iter().map(|t| json!({"name": t, "display_name": t, "state": "active"})).collect()),
    );
    m.insert(
        "groups".into(),
        Value::Array(groups.iter().filter_map(|g| od::theme(g)).map(|t| theme_dict(t, None)).collect()),
    );
    m.insert("num_tags".into(), json!(tags.len()));
    m.insert("num_resources".into(), json!(resources.len()));
    m.insert("resources".into(), Value::Array(resources.iter().map(|r| resource_dict(base, r)).collect()));
    for k in ["notes", "author", "author_email", "maintainer", "maintainer_email", "url", "version"] {
        m.entry(k).or_insert(json!(""));
    }
    m.entry("extras").or_insert(json!([]));
    Value::Object(m)
}

/// What the search index holds of a dataset.
pub fn index_doc(agencies: &[Agency], d: &StoredDataset, resources: &[StoredResource]) -> IndexDoc {
    let s = |k: &str| d.body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let tags = names_of(d.body.get("tags"));
    IndexDoc {
        id: d.id.clone(),
        name: d.name.clone(),
        title: s("title"),
        notes: s("notes"),
        num_tags: tags.len() as i64,
        tags,
        organization: agencies.iter().find(|a| a.id == d.agency_id).map(org_name).unwrap_or_default(),
        groups: names_of(d.body.get("groups")),
        res_format: resources
            .iter()
            .filter_map(|r| r.body.get("format").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        res_name: resources
            .iter()
            .filter_map(|r| r.body.get("name").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        license_id: s("license_id"),
        frequency: s("frequency"),
        metadata_created: index::index_time(d.created_at),
        metadata_modified: index::index_time(d.modified_at),
        num_resources: resources.len() as i64,
    }
}

/// Builds the search index from the store (at start).
pub async fn load_index(store: &sen_store::Store) -> Result<OpenDataIndex, StoreError> {
    let started = Utc::now();
    let agencies = store.agencies().await?;
    let mut ix = DatasetIndex::new();
    for (d, r) in store.all_datasets(2000).await? {
        ix.upsert(index_doc(&agencies, &d, &r));
    }
    ix.warm();
    Ok(Arc::new(OpenData { index: RwLock::new(ix), seen: std::sync::Mutex::new(started), dicts: Default::default() }))
}

/// Applies the changes other nodes (or this one) stored since the last refresh: a changed
/// dataset replaces its entry, a deleted one leaves. Entries already current are left alone,
/// so a quiet catalogue keeps its sort ranks. Returns the entries changed.
pub async fn refresh_index(st: &AppState) -> Result<usize, StoreError> {
    let seen = *st.open_data.seen.lock().expect("open data mark");
    let changes =
        st.store.datasets_changed_since(seen - chrono::Duration::seconds(CLOCK_SLACK_SECONDS), REFRESH_BATCH).await?;
    let cat = st.catalogue();
    let mut changed = 0;
    let mut newest = seen;
    {
        let mut ix = st.open_data.index.write().expect("open data index");
        for (d, r) in &changes {
            newest = newest.max(d.modified_at);
            let current = ix.get(&d.id).map(|x| x.metadata_modified.clone());
            if d.state == "active" {
                if current.as_deref() != Some(index::index_time(d.modified_at).as_str()) {
                    ix.upsert(index_doc(&cat.agencies, d, r));
                    changed += 1;
                }
            } else if current.is_some() {
                ix.remove(&d.id);
                changed += 1;
            }
        }
    }
    *st.open_data.seen.lock().expect("open data mark") = newest;
    Ok(changed)
}

/// Refreshes the index every `every`.
pub fn spawn_index_refresh(st: AppState, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match refresh_index(&st).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(datasets = n, "open-data index caught up"),
                Err(e) => tracing::warn!(error = %e, "open-data index refresh failed"),
            }
        }
    })
}

async fn package_list(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    let limit = int_param(p, "limit", MAX_LIST, MAX_LIST)?;
    let offset = int_param(p, "offset", 0, u64::MAX >> 1)?;
    Ok(json!(st.store.dataset_names(offset, limit).await?))
}

async fn shown(st: &AppState, key: &str) -> CkanResult<Value> {
    let (d, r) = st.store.published_dataset(key).await.map_err(|e| match e {
        StoreError::NotFound => CkanError::NotFound("Dataset not found".into()),
        e => e.into(),
    })?;
    Ok(package_dict(&st.config.public_url, &st.catalogue().agencies, &d, &r))
}

async fn package_show(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    let id = str_param(p, "id").or(str_param(p, "name")).ok_or_else(|| field_error("id", "Missing value"))?;
    shown(st, id).await
}

fn facet_fields(p: &Map<String, Value>) -> CkanResult<Vec<String>> {
    match p.get("facet.field") {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => Ok(a.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => Ok(a.iter().filter_map(Value::as_str).map(str::to_string).collect()),
            Ok(Value::String(one)) => Ok(vec![one]),
            _ => Ok(vec![s.clone()]),
        },
        Some(_) => Err(field_error("facet.field", "A JSON list of field names")),
    }
}

async fn package_search(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    let rows = int_param(p, "rows", DEFAULT_ROWS as u64, index::MAX_ROWS as u64)? as usize;
    let start = int_param(p, "start", 0, u32::MAX as u64)? as usize;
    let facet_limit = match p.get("facet.limit") {
        None | Some(Value::Null) => Some(50),
        Some(Value::Number(n)) if n.as_i64() == Some(-1) => None,
        Some(Value::String(s)) if s.trim() == "-1" => None,
        _ => Some(int_param(p, "facet.limit", 50, 10_000)? as usize),
    };
    let facet_on =
        !matches!(p.get("facet"), Some(Value::String(s)) if s == "false") && p.get("facet") != Some(&json!(false));
    let fields = if facet_on { facet_fields(p)? } else { vec![] };
    let mut fq = str_param(p, "fq").unwrap_or_default().to_string();
    if let Some(Value::Array(list)) = p.get("fq_list") {
        for f in list.iter().filter_map(Value::as_str) {
            fq = format!("{fq} ({f})");
        }
    }
    let sort = str_param(p, "sort").unwrap_or_default();
    let (result, versions) = {
        let ix = st.open_data.index.read().expect("open data index");
        let result = ix.search(&SearchRequest {
            q: str_param(p, "q").unwrap_or_default(),
            fq: &fq,
            sort,
            rows,
            start,
            facet_fields: &fields,
            facet_limit,
        })?;
        let versions: Vec<String> =
            result.ids.iter().map(|id| ix.get(id).map(|d| d.metadata_modified.clone()).unwrap_or_default()).collect();
        (result, versions)
    };
    let cat = st.catalogue();
    let agencies = &cat.agencies;
    let generation = Arc::as_ptr(&cat) as usize;
    let mut page: Vec<Option<Arc<Value>>> = {
        let dicts = st.open_data.dicts.lock().expect("search dictionaries");
        result
            .ids
            .iter()
            .zip(&versions)
            .map(|(id, v)| {
                dicts
                    .get(id)
                    .filter(|c| &c.modified == v && c.catalogue == generation && c.built.elapsed() < DICT_LIFE)
                    .map(|c| c.dict.clone())
            })
            .collect()
    };
    let missing: Vec<String> =
        result.ids.iter().zip(&page).filter(|(_, d)| d.is_none()).map(|(id, _)| id.clone()).collect();
    if !missing.is_empty() {
        let read = st.store.datasets_with_resources(&missing).await?;
        let mut dicts = st.open_data.dicts.lock().expect("search dictionaries");
        if dicts.len() + read.len() > DICTS_KEPT {
            dicts.clear();
        }
        for (d, r) in &read {
            let dict = Arc::new(package_dict(&st.config.public_url, agencies, d, r));
            if let Some(i) = result.ids.iter().position(|id| *id == d.id) {
                // Kept under the version the index had when this search began: a write
                // since then makes the entry stale at the next search, not wrong now.
                dicts.insert(
                    d.id.clone(),
                    CachedDict {
                        modified: versions[i].clone(),
                        catalogue: generation,
                        built: std::time::Instant::now(),
                        dict: dict.clone(),
                    },
                );
                page[i] = Some(dict);
            }
        }
    }
    let results: Vec<Value> = page.into_iter().flatten().map(|d| d.as_ref().clone()).collect();
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for (field, items) in &result.facets {
        facets.insert(field.clone(), Value::Object(items.iter().map(|(k, n)| (k.clone(), json!(n))).collect()));
        let display = |k: &str| facet_display(agencies, field, k);
        search_facets.insert(
            field.clone(),
            json!({"title": field, "items": items.iter().map(|(k, n)| json!({"name": k, "display_name": display(k), "count": n})).collect::<Vec<_>>()}),
        );
    }
    Ok(json!({
        "count": result.count,
        "sort": if sort.is_empty() { "score desc, metadata_modified desc" } else { sort },
        "results": results,
        "facets": facets,
        "search_facets": search_facets,
    }))
}

/// A facet value as people read it: the agency's name, the theme's Vietnamese title, the
/// licence's title; other values as they are.
pub fn facet_display(agencies: &[Agency], field: &str, value: &str) -> String {
    match field {
        "organization" => org_by_key(agencies, value).map(|a| a.name.clone()),
        "groups" => od::theme(value).map(|t| t.title_vi.to_string()),
        "license_id" => od::licence(value).map(|l| l.title.to_string()),
        _ => None,
    }
    .unwrap_or_else(|| value.to_string())
}

async fn current_packages(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    let limit = int_param(p, "limit", 100, MAX_LIST)?;
    let offset = int_param(p, "offset", 0, u64::MAX >> 1)?;
    let page = st.store.datasets_by_modified(offset, limit).await?;
    let ids: Vec<String> = page.iter().map(|d| d.id.clone()).collect();
    let cat = st.catalogue();
    let agencies = &cat.agencies;
    Ok(json!(
        st.store
            .datasets_with_resources(&ids)
            .await?
            .iter()
            .map(|(d, r)| package_dict(&st.config.public_url, agencies, d, r))
            .collect::<Vec<_>>()
    ))
}

/// Datasets per organisation name, from the index.
fn counts_by(st: &AppState, field: &str) -> std::collections::HashMap<String, usize> {
    let ix = st.open_data.index.read().expect("open data index");
    let f = vec![field.to_string()];
    ix.search(&SearchRequest {
        q: "",
        fq: "",
        sort: "name asc",
        rows: 0,
        start: 0,
        facet_fields: &f,
        facet_limit: None,
    })
    .map(|r| r.facets.into_iter().flat_map(|(_, v)| v).collect())
    .unwrap_or_default()
}

fn organization_list(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    let limit = int_param(p, "limit", MAX_LIST, MAX_LIST)? as usize;
    let offset = int_param(p, "offset", 0, u32::MAX as u64)? as usize;
    let all_fields = bool_param(p, "all_fields");
    let counts = counts_by(st, "organization");
    let cat = st.catalogue();
    let mut orgs: Vec<&Agency> = cat.agencies.iter().collect();
    orgs.sort_by_key(|a| org_name(a));
    Ok(Value::Array(
        orgs.into_iter()
            .skip(offset)
            .take(limit)
            .map(|a| {
                if all_fields {
                    org_dict(a, Some(counts.get(&org_name(a)).copied().unwrap_or(0)))
                } else {
                    json!(org_name(a))
                }
            })
            .collect(),
    ))
}

fn organization_show(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    let id = str_param(p, "id").ok_or_else(|| field_error("id", "Missing value"))?;
    let cat = st.catalogue();
    let a = org_by_key(&cat.agencies, id).ok_or_else(|| CkanError::NotFound("Organization not found".into()))?;
    let counts = counts_by(st, "organization");
    Ok(org_dict(a, Some(counts.get(&org_name(a)).copied().unwrap_or(0))))
}

fn group_list(p: &Map<String, Value>) -> CkanResult<Value> {
    let all_fields = bool_param(p, "all_fields");
    Ok(Value::Array(od::THEMES.iter().map(|t| if all_fields { theme_dict(t, None) } else { json!(t.name) }).collect()))
}

fn group_show(p: &Map<String, Value>) -> CkanResult<Value> {
    let id = str_param(p, "id").ok_or_else(|| field_error("id", "Missing value"))?;
    od::theme(&id.to_lowercase())
        .map(|t| theme_dict(t, None))
        .ok_or_else(|| CkanError::NotFound("Group not found".into()))
}

fn tag_list(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    let q = str_param(p, "query").map(sen_domain::text::fold);
    let mut tags: Vec<String> = counts_by(st, "tags").into_keys().collect();
    if let Some(q) = q {
        tags.retain(|t| sen_domain::text::fold(t).contains(&q));
    }
    tags.sort();
    Ok(json!(tags))
}

async fn resource_show(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    let id = str_param(p, "id").ok_or_else(|| field_error("id", "Missing value"))?;
    let r = st.store.resource(id).await?;
    let d = st.store.dataset(&r.dataset_id).await?;
    if d.state != "active" {
        return Err(CkanError::NotFound("Resource not found".into()));
    }
    Ok(resource_dict(&st.config.public_url, &r))
}

/// The caller of a write: an API token (as CKAN sends it, `Authorization: <token>`, or
/// `Bearer <token>`, or `X-CKAN-API-Key`) or a session with its CSRF header.
async fn publisher(st: &AppState, headers: &HeaderMap) -> CkanResult<Principal> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
    let token = h("authorization").map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim()).or(h("x-ckan-api-key"));
    let Some(token) = token else {
        return Err(CkanError::Authorization("Access denied: send the API token of an agency administrator".into()));
    };
    let user_id = st
        .store
        .api_token_user(token)
        .await?
        .ok_or_else(|| CkanError::Authorization("Access denied: unknown API token".into()))?;
    crate::auth::principal_for_user(st, user_id, None)
        .await
        .map_err(|e| CkanError::Authorization(format!("Access denied: {e}")))
}

/// Whether `who` may publish for `agency_id`: the agency's administrators, and Sen's.
pub(crate) fn may_publish(who: &Principal, agency_id: i64) -> bool {
    who.is_admin() || who.roles_in(agency_id).contains(&sen_domain::Role::AgencyAdmin)
}

#[derive(Clone, Copy, PartialEq)]
enum Write {
    Create,
    Update,
    Patch,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Resources from a checked list: the ids a client sent that this dataset already holds are
/// kept (with their creation time), the others are new.
fn resources_for(
    dataset_id: &str,
    checked: Vec<Map<String, Value>>,
    input: &Map<String, Value>,
    old: &[StoredResource],
) -> Vec<StoredResource> {
    let sent: Vec<Option<String>> = input
        .get("resources")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|r| r.get("id").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default();
    let t = now();
    checked
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let prior = sent.get(i).cloned().flatten().and_then(|id| old.iter().find(|r| r.id == id).cloned());
            // Whether a resource's table is in the datastore is Sen's to say, not the
            // client's: a kept resource keeps its state, a new one has none yet.
            let mut body = body;
            match prior.as_ref().and_then(|r| r.body.get("datastore_active")) {
                Some(v) => body.insert("datastore_active".into(), v.clone()),
                None => body.remove("datastore_active"),
            };
            StoredResource {
                id: prior.as_ref().map(|r| r.id.clone()).unwrap_or_else(new_id),
                dataset_id: dataset_id.to_string(),
                position: i as i64,
                body: Value::Object(body),
                created_at: prior.map(|r| r.created_at).unwrap_or(t),
                modified_at: t,
            }
        })
        .collect()
}

async fn write_package(st: &AppState, who: &Principal, mut input: Map<String, Value>, how: Write) -> CkanResult<Value> {
    let cat = st.catalogue();
    let agencies = &cat.agencies;
    let old = match how {
        Write::Create => None,
        Write::Update | Write::Patch => {
            let key = str_param(&input, "id")
                .or(str_param(&input, "name"))
                .ok_or_else(|| field_error("id", "Missing value"))?;
            let d = st.store.dataset(key).await?;
            let r = st.store.dataset_resources(&d.id).await?;
            if !may_publish(who, d.agency_id) {
                return Err(CkanError::Authorization("Access denied: the dataset belongs to another agency".into()));
            }
            Some((d, r))
        }
    };
    if let (Write::Patch, Some((d, r))) = (how, &old) {
        // A patch is the stored dictionary with the sent keys replaced.
        let mut full = package_dict(&st.config.public_url, agencies, d, r).as_object().cloned().unwrap_or_default();
        full.insert(
            "resources".into(),
            Value::Array(r.iter().map(|r| resource_dict(&st.config.public_url, r)).collect()),
        );
        for (k, v) in input {
            full.insert(k, v);
        }
        input = full;
    }
    if how == Write::Update
        && !input.contains_key("resources")
        && let Some((_, r)) = &old
    {
        // CKAN keeps the resources when an update does not send the key.
        input.insert(
            "resources".into(),
            Value::Array(r.iter().map(|r| resource_dict(&st.config.public_url, r)).collect()),
        );
    }
    let checked = package::check(&input, &|o| org_by_key(agencies, o).is_some())?;
    let agency = org_by_key(agencies, &checked.owner_org).expect("checked organisation");
    if !may_publish(who, agency.id) {
        return Err(CkanError::Authorization(format!("Access denied: you may not publish for {}", agency.name)));
    }
    let t = now();
    let id = match &old {
        Some((d, _)) => d.id.clone(),
        None => str_param(&input, "id")
            .map(str::to_string)
            .filter(|i| uuid::Uuid::parse_str(i).is_ok())
            .unwrap_or_else(new_id),
    };
    let old_resources = old.as_ref().map(|(_, r)| r.clone()).unwrap_or_default();
    // Uploaded files' addresses under this portal are kept as paths.
    let base = st.config.public_url.trim_end_matches('/');
    let mut checked_resources = checked.resources;
    for r in &mut checked_resources {
        let path = r.get("url").and_then(Value::as_str).and_then(|u| u.strip_prefix(base)).map(str::to_string);
        if let Some(path) = path.filter(|p| p.starts_with("/dataset/")) {
            r.insert("url".into(), json!(path));
        }
    }
    let resources = resources_for(&id, checked_resources, &input, &old_resources);
    let d = StoredDataset {
        id: id.clone(),
        name: checked.name,
        agency_id: agency.id,
        state: "active".into(),
        body: Value::Object(checked.body),
        created_at: old.as_ref().map(|(d, _)| d.created_at).unwrap_or(t),
        modified_at: t,
    };
    if how == Write::Create && st.store.dataset(&id).await.is_ok() {
        return Err(field_error("id", "Dataset id already exists"));
    }
    st.store.save_dataset(&d, &resources).await?;
    if old.is_some() {
        let listed: Vec<String> = resources.iter().map(|r| r.id.clone()).collect();
        st.store.drop_unlisted_files(&d.id, &listed).await?;
    }
    st.open_data.index.write().expect("open data index").upsert(index_doc(agencies, &d, &resources));
    let action = match how {
        Write::Create => "dataset.create",
        Write::Update => "dataset.update",
        Write::Patch => "dataset.patch",
    };
    audit(st, who, agency.id, action, &d.id, json!({"name": d.name})).await?;
    Ok(package_dict(&st.config.public_url, agencies, &d, &resources))
}

/// Checks an uploaded file and describes it in the resource's body; gives the file to keep.
pub fn take_upload(
    dataset_id: &str,
    resource_id: &str,
    body: &mut Map<String, Value>,
    upload: Upload,
) -> CkanResult<ResourceFile> {
    let sha256 = sen_store::dossiers::sha256_hex(&upload.bytes);
    let meta = od::table::describe_upload(body, dataset_id, resource_id, &upload.file_name, &upload.bytes, &sha256)
        .map_err(|e| field_error("upload", &e.to_string()))?;
    Ok(ResourceFile {
        resource_id: resource_id.to_string(),
        dataset_id: dataset_id.to_string(),
        file_name: meta.file_name,
        media_type: meta.media_type,
        size: upload.bytes.len() as i64,
        sha256,
        content: upload.bytes.to_vec(),
        created_at: now(),
    })
}

async fn resource_create(
    st: &AppState,
    who: &Principal,
    input: Map<String, Value>,
    upload: Option<Upload>,
) -> CkanResult<Value> {
    let pkg = str_param(&input, "package_id").ok_or_else(|| field_error("package_id", "Missing value"))?;
    let d = st.store.dataset(pkg).await.map_err(|e| match e {
        StoreError::NotFound => field_error("package_id", "Not found: Dataset"),
        e => e.into(),
    })?;
    if !may_publish(who, d.agency_id) {
        return Err(CkanError::Authorization("Access denied: the dataset belongs to another agency".into()));
    }
    let mut body = package::check_resource(&input)?;
    let mut resources = st.store.dataset_resources(&d.id).await?;
    if resources.len() >= package::MAX_RESOURCES {
        return Err(field_error("resources", &format!("At most {} resources", package::MAX_RESOURCES)));
    }
    let t = now();
    body.remove("package_id");
    body.remove("datastore_active");
    let id = new_id();
    let file = match upload {
        Some(u) => Some(take_upload(&d.id, &id, &mut body, u)?),
        None => None,
    };
    let r = StoredResource {
        id,
        dataset_id: d.id.clone(),
        position: resources.len() as i64,
        body: Value::Object(body),
        created_at: t,
        modified_at: t,
    };
    resources.push(r.clone());
    let d = StoredDataset { modified_at: t, ..d };
    if let Some(f) = &file {
        st.store.save_resource_file(f).await?;
    }
    st.store.save_dataset(&d, &resources).await?;
    let cat = st.catalogue();
    let agencies = &cat.agencies;
    st.open_data.index.write().expect("open data index").upsert(index_doc(agencies, &d, &resources));
    audit(
        st,
        who,
        d.agency_id,
        "dataset.resource_create",
        &d.id,
        json!({"resource": r.id, "uploaded": file.is_some()}),
    )
    .await?;
    Ok(resource_dict(&st.config.public_url, &r))
}

async fn package_delete(st: &AppState, who: &Principal, p: &Map<String, Value>) -> CkanResult<Value> {
    let id = str_param(p, "id").ok_or_else(|| field_error("id", "Missing value"))?;
    let d = st.store.dataset(id).await?;
    if !may_publish(who, d.agency_id) {
        return Err(CkanError::Authorization("Access denied: the dataset belongs to another agency".into()));
    }
    let resources = st.store.dataset_resources(&d.id).await?;
    let d = StoredDataset { state: "deleted".into(), modified_at: now(), ..d };
    st.store.save_dataset(&d, &resources).await?;
    st.open_data.index.write().expect("open data index").remove(&d.id);
    audit(st, who, d.agency_id, "dataset.delete", &d.id, json!({"name": d.name})).await?;
    Ok(Value::Null)
}

async fn audit(
    st: &AppState,
    who: &Principal,
    agency_id: i64,
    action: &str,
    id: &str,
    detail: Value,
) -> CkanResult<()> {
    st.store.record(&st.actor(who, Some(agency_id)), action, "dataset", id, detail).await?;
    Ok(())
}
