//! Sen's own open data (issue #6): the platform's dossier statistics — received, resolved,
//! resolved on time, satisfaction — per month, procedure and agency over the last 24 months,
//! published as the open dataset `thong-ke-ho-so-thu-tuc-hanh-chinh` (a CSV table Sen holds,
//! with its Table Schema, in the catalogue, the CKAN API and DCAT-AP like any other) and
//! refreshed every day. Counts only: no applicant is named or identifiable.

use crate::AppState;
use crate::ckan_http::{Upload, index_doc, org_name, take_upload};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use sen_domain::opendata::own_stats::{self, DossierFact, Tallies};
use sen_domain::opendata::package;
use sen_store::StoreError;
use sen_store::opendata::{StoredDataset, StoredResource};
use serde_json::{Value, json};

/// The dataset's name in the catalogue.
pub const DATASET: &str = "thong-ke-ho-so-thu-tuc-hanh-chinh";
/// Months covered.
pub const MONTHS: i64 = 24;
/// Dossiers read at once.
const PAGE: u64 = 20_000;

/// The agency that publishes the platform's statistics: the configured one, else the first
/// provincial People's Committee.
fn publisher(st: &AppState) -> AppResult<sen_store::Agency> {
    let cat = st.catalogue();
    let wanted = st.config.own_data_agency.as_deref();
    let mut candidates: Vec<&sen_store::Agency> = cat
        .agencies
        .iter()
        .filter(|a| match wanted {
            Some(code) => a.code == code,
            None => a.kind == "province_pc",
        })
        .collect();
    candidates.sort_by(|a, b| a.code.cmp(&b.code));
    candidates
        .first()
        .map(|a| (*a).clone())
        .ok_or_else(|| AppError::Internal("no agency to publish the platform's statistics".into()))
}

/// An id that every Sen publishing for the same agency gives the dataset (and its table), so
/// that catalogues harvested from several nodes or instances agree on it.
fn stable_id(seed: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("sen:own-statistics:{seed}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Counts every dossier submitted in the last 24 months, a page at a time.
async fn tallies(st: &AppState, now: DateTime<Utc>) -> AppResult<Tallies> {
    let cat = st.catalogue();
    let code_of_procedure: std::collections::HashMap<i64, &str> =
        cat.procedures.iter().map(|p| (p.id, p.code.as_str())).collect();
    let code_of_agency: std::collections::HashMap<i64, &str> =
        cat.agencies.iter().map(|a| (a.id, a.code.as_str())).collect();
    let vn = |t: DateTime<Utc>| t.with_timezone(&crate::app::vn_offset()).date_naive();
    let since = now - Duration::days(MONTHS * 31);
    let mut out = Tallies::new();
    let mut after = 0;
    loop {
        let rows = st.store.dossier_facts(since, after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let n = rows.len() as u64;
        own_stats::tally(
            rows.into_iter().map(|r| DossierFact {
                procedure: code_of_procedure.get(&r.procedure_id).copied().unwrap_or("?").to_string(),
                agency: code_of_agency.get(&r.agency_id).copied().unwrap_or("?").to_string(),
                submitted: vn(r.submitted_at),
                resolved: matches!(r.state.as_str(), "RESULT_ISSUED" | "REJECTED")
                    .then_some(r.closed_at)
                    .flatten()
                    .map(vn),
                due: r.due_date,
                rating: r.rating,
            }),
            &mut out,
        );
        if n < PAGE {
            break;
        }
    }
    Ok(out)
}

/// Computes the statistics and publishes them: creates the dataset the first time, then
/// replaces its table in place (the resource keeps its id and address). Returns the
/// dataset's id.
pub async fn publish(st: &AppState, now: DateTime<Utc>) -> AppResult<String> {
    let agency = publisher(st)?;
    let counted = tallies(st, now).await?;
    let cat = st.catalogue();
    // Names by code, looked up once per row of the table.
    let procedures: std::collections::HashMap<&str, &str> =
        cat.procedures.iter().map(|p| (p.code.as_str(), p.name.as_str())).collect();
    let agencies: std::collections::HashMap<&str, &str> =
        cat.agencies.iter().map(|a| (a.code.as_str(), a.name.as_str())).collect();
    let name =
        |names: &std::collections::HashMap<&str, &str>, code: &str| names.get(code).copied().unwrap_or("").to_string();
    let table = own_stats::csv(&counted, &|code| name(&procedures, code), &|code| name(&agencies, code));
    let first_month = counted.keys().next().map(|k| format!("{}-01", k.0));
    let org = org_name(&agency);
    let input = json!({
        "name": DATASET,
        "title": "Thống kê hồ sơ thủ tục hành chính theo thủ tục, cơ quan và tháng",
        "notes": "Số hồ sơ tiếp nhận, đã giải quyết, giải quyết đúng hạn và mức độ hài lòng của người dân, doanh nghiệp theo từng thủ tục hành chính, cơ quan giải quyết và tháng, trong 24 tháng gần nhất. Số liệu do Cổng dịch vụ công Sen tự động tổng hợp và cập nhật hằng ngày; không chứa thông tin cá nhân.",
        "owner_org": org,
        "license_id": "cc-by-4.0",
        "tags": ["thủ tục hành chính", "dịch vụ công", "thống kê", "mức độ hài lòng"],
        "groups": ["gove"],
        "frequency": "DAILY",
        "spatial": "Việt Nam",
        "temporal_start": first_month,
        "maintainer": agency.name,
        "maintainer_email": format!("dulieumo@{org}.gov.vn"),
        "resources": [{"name": "Hồ sơ theo thủ tục, cơ quan và tháng", "format": "CSV",
            "description": "Một dòng cho mỗi tháng, thủ tục và cơ quan giải quyết.",
            "rights": "Được tự do sử dụng, kể cả cho mục đích thương mại, với điều kiện ghi rõ nguồn."}],
    });
    let checked = package::check(input.as_object().expect("an object"), &|o| o == org)
        .map_err(|e| AppError::Internal(format!("the platform's statistics dataset: {e:?}")))?;
    let existing = match st.store.dataset(DATASET).await {
        Ok(d) => Some((st.store.dataset_resources(&d.id).await?, d)),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let (dataset_id, resource_id, created) = match &existing {
        Some((resources, d)) => (
            d.id.clone(),
            resources.first().map(|r| r.id.clone()).unwrap_or_else(|| stable_id(&format!("{org}/table"))),
            d.created_at,
        ),
        None => (stable_id(&org), stable_id(&format!("{org}/table")), now),
    };
    let mut body = checked.resources.into_iter().next().unwrap_or_default();
    let file = take_upload(
        &dataset_id,
        &resource_id,
        &mut body,
        Upload { file_name: format!("{DATASET}.csv"), bytes: table.into_bytes().into() },
    )
    .map_err(|e| AppError::Internal(format!("the platform's statistics table: {e:?}")))?;
    let resource = StoredResource {
        id: resource_id,
        dataset_id: dataset_id.clone(),
        position: 0,
        body: Value::Object(body),
        created_at: created,
        modified_at: now,
    };
    let dataset = StoredDataset {
        id: dataset_id.clone(),
        name: checked.name,
        agency_id: agency.id,
        state: "active".into(),
        body: Value::Object(checked.body),
        created_at: created,
        modified_at: now,
    };
    st.store.save_dataset(&dataset, std::slice::from_ref(&resource)).await?;
    st.store.save_resource_file(&file).await?;
    st.open_data.index.write().expect("open data index").upsert(index_doc(&cat.agencies, &dataset, &[resource]));
    Ok(dataset_id)
}

/// Publishes the statistics every `every`, the first time after `first`.
pub fn spawn_own_statistics(
    st: AppState,
    first: std::time::Duration,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match publish(&st, Utc::now()).await {
                Ok(_) => tracing::info!("open data: the platform's statistics published"),
                Err(e) => tracing::warn!(error = ?e, "open data: the platform's statistics not published"),
            }
        }
    })
}
