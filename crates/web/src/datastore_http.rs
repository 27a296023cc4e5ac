//! The datastore's CKAN actions (issue #6), `datastore_search` and `datastore_search_sql`,
//! and the loader that fills a resource's table from its uploaded CSV file.
//!
//! A CSV upload asks for a load in the same transaction that keeps the file (so none is
//! lost); the loader reads the file, makes the table afresh and fills it a few thousand rows
//! per transaction, recording how far it got, then indexes it and opens it to searches. A
//! load interrupted by a stop is started again by whichever node sees it first.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::HeaderMap;
use sen_domain::opendata::datastore::{self as ds, SqlError};
use sen_domain::opendata::table::{MAX_UPLOAD_ROWS, read_csv};
use sen_domain::opendata::usage::Kind;
use sen_store::StoreError;
use sen_store::datastore::{ACTIVE, DatastoreTable, SqlRunError, table_name};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::ckan_http::{CkanError, CkanResult, field_error, str_param};

/// Rows added per transaction by the loader.
const LOAD_CHUNK: usize = 5_000;

fn not_found(resource_id: &str) -> CkanError {
    CkanError::NotFound(format!("Resource \"{resource_id}\" was not found."))
}

fn validation(problems: ds::Problems) -> CkanError {
    let mut fields = sen_domain::opendata::package::FieldErrors::new();
    for (k, m) in problems {
        fields.entry(k).or_default().push(m);
    }
    CkanError::Validation(fields)
}

/// The loaded table of a resource of a published dataset.
async fn searchable(st: &AppState, resource_id: &str) -> CkanResult<DatastoreTable> {
    let t = st.store.datastore_table(resource_id).await.map_err(|e| match e {
        StoreError::NotFound => not_found(resource_id),
        e => e.into(),
    })?;
    let dataset = st.store.dataset(&t.dataset_id).await?;
    if dataset.state != "active" {
        return Err(not_found(resource_id));
    }
    if t.state != ACTIVE {
        return Err(CkanError::NotFound(match t.error {
            Some(e) => format!("Resource \"{resource_id}\" could not be loaded into the datastore: {e}"),
            None => format!(
                "Resource \"{resource_id}\" is being loaded into the datastore ({} rows so far); try again shortly.",
                t.rows
            ),
        }));
    }
    Ok(t)
}

/// `datastore_search`: a page of a loaded table's rows, filtered, searched and sorted.
pub async fn datastore_search(st: &AppState, headers: &HeaderMap, p: &Map<String, Value>) -> CkanResult<Value> {
    let rid = str_param(p, "resource_id")
        .or(str_param(p, "id"))
        .ok_or_else(|| field_error("resource_id", "Missing value"))?;
    let t = searchable(st, rid).await?;
    let s = ds::check_search(p, &t.columns).map_err(validation)?;
    let (rows, total) = st.store.datastore_search(&t, &s).await?;
    st.usage.count(headers, &t.dataset_id, &t.resource_id, Kind::Api);
    let fields = ds::search_fields(&t.columns, &s);
    let names: Vec<String> = fields.iter().map(|f| f["id"].as_str().unwrap_or_default().to_string()).collect();
    let base = format!("/api/3/action/datastore_search?resource_id={}", t.resource_id);
    let mut out = json!({
        "resource_id": t.resource_id,
        "fields": fields,
        "records_format": s.records_format.as_str(),
        "records": ds::records(&names, rows, s.records_format),
        "limit": s.limit,
        "include_total": s.include_total,
        "_links": {
            "start": base,
            "next": format!("{base}&offset={}", s.offset + s.limit),
        },
    });
    if s.offset > 0 {
        out["offset"] = json!(s.offset);
    }
    if let Some(total) = total {
        out["total"] = json!(total);
        out["total_was_estimated"] = json!(false);
    }
    for k in ["filters", "q", "sort"] {
        if let Some(v) = p.get(k).filter(|v| !v.is_null()) {
            out[k] = v.clone();
        }
    }
    Ok(out)
}

/// `datastore_search_sql`: one read-only SELECT over loaded tables, named by resource id.
pub async fn datastore_search_sql(st: &AppState, p: &Map<String, Value>) -> CkanResult<Value> {
    if !st.config.datastore_sql {
        return Err(CkanError::BadRequest("Bad request - Action name not known: datastore_search_sql".into()));
    }
    let sql = str_param(p, "sql").ok_or_else(|| field_error("sql", "Missing value"))?;
    let tables: HashMap<String, i64> = st.store.datastore_active_tables().await?.into_iter().collect();
    let quotes = match st.store.backend() {
        sen_store::Backend::Sqlite => ds::Quotes::Backtick,
        sen_store::Backend::Postgres => ds::Quotes::Double,
    };
    let checked = ds::check_sql(sql, quotes, |id| tables.get(id).map(|no| table_name(*no))).map_err(|e| match e {
        SqlError::Invalid(m) => field_error("query", &m),
        SqlError::NotPermitted(m) => CkanError::Authorization(m),
    })?;
    let rows =
        st.store.datastore_sql(&checked, st.config.datastore_sql_timeout, ds::MAX_LIMIT as usize).await.map_err(
            |e| match e {
                SqlRunError::Timeout => field_error("query", "Query took too long"),
                // The database's words, with its table names given back as resource ids.
                SqlRunError::Rejected(m) => {
                    let m = tables.iter().fold(m, |m, (id, no)| m.replace(&table_name(*no), id));
                    field_error("query", &m)
                }
                SqlRunError::Store(e) => e.into(),
            },
        )?;
    let names: Vec<String> = rows.columns.iter().map(|(n, _)| n.clone()).collect();
    let mut out = json!({
        "sql": sql,
        "fields": rows.columns.iter().map(|(n, t)| json!({"id": n, "type": t})).collect::<Vec<_>>(),
        "records": ds::records(&names, rows.rows, ds::RecordsFormat::Objects),
    });
    if rows.truncated {
        out["records_truncated"] = json!(true);
    }
    Ok(out)
}

/// Loads every resource waiting for it; gives how many tables were opened.
pub async fn load_due(st: &AppState) -> Result<usize, StoreError> {
    let mut opened = 0;
    for rid in st.store.datastore_due(20).await? {
        match load(st, &rid).await {
            Ok(true) => opened += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(resource = %rid, error = %e, "datastore load failed");
                st.store.datastore_fail(&rid, &format!("the load stopped: {e}")).await?;
            }
        }
    }
    Ok(opened)
}

async fn load(st: &AppState, rid: &str) -> Result<bool, StoreError> {
    let file = match st.store.resource_file(rid).await {
        Ok(f) => f,
        Err(StoreError::NotFound) => {
            st.store.datastore_fail(rid, "the resource has no uploaded file").await?;
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    let table = match tokio::task::spawn_blocking(move || read_csv(&file.content, MAX_UPLOAD_ROWS)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            st.store.datastore_fail(rid, &e.to_string()).await?;
            return Ok(false);
        }
        Err(e) => return Err(StoreError::Invalid(format!("the CSV reader stopped: {e}"))),
    };
    if let Err(e) = ds::check_columns(&table.columns) {
        st.store.datastore_fail(rid, &e).await?;
        return Ok(false);
    }
    let Some(t) = st.store.datastore_begin_load(rid, &table.columns).await? else {
        return Ok(false);
    };
    let indexed = ds::indexed_columns(&table.columns, &table.rows[..table.rows.len().min(1_000)]);
    let mut first = 1i64;
    for chunk in table.rows.chunks(LOAD_CHUNK) {
        if !st.store.datastore_append(&t, first, chunk).await? {
            return Ok(false);
        }
        first += chunk.len() as i64;
    }
    let opened = st.store.datastore_finish(&t, &indexed).await?;
    if opened {
        tracing::info!(resource = %rid, rows = table.rows.len(), "datastore table loaded");
        // Search pages on this node show `datastore_active` at once (other nodes when their
        // kept dictionary expires).
        st.open_data.forget_dict(&t.dataset_id);
    }
    Ok(opened)
}

/// Runs the loader every `every`.
pub fn spawn_datastore_loader(st: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = load_due(&st).await {
                tracing::warn!(error = %e, "datastore loader");
            }
        }
    })
}
