//! `sen bench-datastore`: the datastore's budget (issue #6) — `datastore_search` with a
//! filter on a 10-million-row resource, p99 < 50 ms. The table is loaded through the
//! loader's own store calls (make, fill in transactions of 50,000 rows, index, open); the
//! portal then runs in this process on loopback and clients call it over HTTP as ckanapi
//! does. SQLite by default; `--postgres URL` measures PostgreSQL (in a schema of its own,
//! dropped afterwards).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sen_domain::opendata::table::ColumnType;
use sen_store::opendata::{ResourceFile, StoredDataset, StoredResource};
use sen_store::{Store, StoreError};
use serde_json::json;

use crate::bench_exchange::{bench_portal, serve, sqlite};
use crate::bench_open_data::{load, memory_kb, uuid};

#[derive(Args)]
pub struct BenchDatastoreArgs {
    /// Rows of the table.
    #[arg(long, default_value_t = 10_000_000)]
    rows: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Measure on PostgreSQL at this URL instead of SQLite.
    #[arg(long)]
    postgres: Option<String>,
    #[arg(long)]
    work: Option<PathBuf>,
}

/// Rows per loading transaction.
const CHUNK: usize = 50_000;
/// Communes in the table (the selective filter).
const COMMUNES: usize = 3_321;
const KINDS: &[&str] = &[
    "Đăng ký khai sinh",
    "Đăng ký kết hôn",
    "Đăng ký thường trú",
    "Cấp giấy phép xây dựng",
    "Đăng ký hộ kinh doanh",
    "Cấp phiếu lý lịch tư pháp",
    "Chứng thực bản sao",
    "Đăng ký khai tử",
    "Cấp đổi giấy phép lái xe",
    "Trợ cấp xã hội hằng tháng",
];

fn columns() -> Vec<(String, ColumnType)> {
    [
        ("Mã tỉnh", ColumnType::String),
        ("Mã xã", ColumnType::String),
        ("Năm", ColumnType::Integer),
        ("Thủ tục", ColumnType::String),
        ("Số hồ sơ", ColumnType::Integer),
        ("Tỷ lệ đúng hạn", ColumnType::Number),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t))
    .collect()
}

fn row(rng: &mut ChaCha8Rng) -> Vec<String> {
    let commune = rng.gen_range(0..COMMUNES);
    vec![
        format!("{:02}", commune % 34 + 1),
        format!("{:05}", commune),
        (2015 + rng.gen_range(0..11)).to_string(),
        KINDS[rng.gen_range(0..KINDS.len())].to_string(),
        rng.gen_range(0..5_000).to_string(),
        format!("{}.{}", rng.gen_range(60..100), rng.gen_range(0..10)),
    ]
}

pub async fn run(args: BenchDatastoreArgs) -> anyhow::Result<()> {
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("sen-bench-datastore-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&work);
    let schema = format!("bench_datastore_{}", std::process::id());
    let store = match &args.postgres {
        Some(url) => {
            let s = Store::connect_postgres_schema(url, &schema).await?;
            s.migrate().await?;
            s
        }
        None => sqlite(&work).await?,
    };
    let opts = sen_demo::SeedOptions { seed: 2030, citizens: 50, businesses: 5, dossiers: 0, now: chrono::Utc::now() };
    sen_demo::seed(&store, &opts).await?;
    let agency = store.agencies().await?.into_iter().next().ok_or_else(|| anyhow::anyhow!("no agency"))?;
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let now = chrono::Utc::now();
    let (dataset_id, rid) = (uuid(&mut rng), uuid(&mut rng));
    let d = StoredDataset {
        id: dataset_id.clone(),
        name: "ho-so-theo-xa-va-thu-tuc".into(),
        agency_id: agency.id,
        state: "active".into(),
        body: json!({"title": "Hồ sơ theo xã và thủ tục", "license_id": "cc-by-4.0"}),
        created_at: now,
        modified_at: now,
    };
    let r = StoredResource {
        id: rid.clone(),
        dataset_id: dataset_id.clone(),
        position: 0,
        body: json!({"name": "ho-so.csv", "format": "CSV", "url_type": "upload"}),
        created_at: now,
        modified_at: now,
    };
    store.insert_datasets(&[(d, vec![r])]).await?;
    let cols = columns();
    let header = cols.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(",");
    // The kept file is the header only: the rows are generated straight into the table.
    store
        .save_resource_file(&ResourceFile {
            resource_id: rid.clone(),
            dataset_id: dataset_id.clone(),
            file_name: "ho-so.csv".into(),
            media_type: "text/csv; charset=utf-8".into(),
            size: header.len() as i64,
            sha256: String::new(),
            content: header.into_bytes(),
            created_at: now,
        })
        .await?;
    let started = Instant::now();
    let table = store.datastore_begin_load(&rid, &cols).await?.ok_or(StoreError::NotFound)?;
    let mut first = 1i64;
    let mut sample = Vec::new();
    while (first as usize) <= args.rows {
        let n = CHUNK.min(args.rows + 1 - first as usize);
        let rows: Vec<Vec<String>> = (0..n).map(|_| row(&mut rng)).collect();
        if sample.is_empty() {
            sample = rows[..rows.len().min(1000)].to_vec();
        }
        store.datastore_append(&table, first, &rows).await?;
        first += n as i64;
        if (first as usize - 1) % 1_000_000 < CHUNK {
            println!("  {} rows loaded, {:.0} s", first - 1, started.elapsed().as_secs_f64());
        }
    }
    let loaded = started.elapsed().as_secs_f64();
    let indexed = sen_domain::opendata::datastore::indexed_columns(&cols, &sample);
    store.datastore_finish(&table, &indexed).await?;
    println!(
        "{} rows loaded in {loaded:.0} s ({:.0} rows/s), {} columns indexed in {:.0} s more, on {}",
        args.rows,
        args.rows as f64 / loaded,
        indexed.len(),
        started.elapsed().as_secs_f64() - loaded,
        store.backend().as_str()
    );

    let state = bench_portal(&store, Default::default()).await?;
    let addr = serve(sen_web::router(state)).await?;
    let base = format!("http://{addr}/api/3/action");
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    let search = |filters: serde_json::Value, extra: &str| {
        format!("{base}/datastore_search?resource_id={rid}&filters={}{extra}", enc(&filters.to_string()))
    };
    let mut q = ChaCha8Rng::seed_from_u64(11);
    let communes: Vec<String> =
        (0..500).map(|_| search(json!({"Mã xã": format!("{:05}", q.gen_range(0..COMMUNES))}), "")).collect();
    let provinces: Vec<String> = (1..=34).map(|p| search(json!({"Mã tỉnh": format!("{p:02}")}), "")).collect();
    let provinces_no_total: Vec<String> =
        (1..=34).map(|p| search(json!({"Mã tỉnh": format!("{p:02}")}), "&include_total=false")).collect();
    let two: Vec<String> = (0..500)
        .map(|_| {
            search(
                json!({"Mã xã": format!("{:05}", q.gen_range(0..COMMUNES)), "Năm": 2015 + q.gen_range(0..11)}),
                "&sort=S%E1%BB%91%20h%E1%BB%93%20s%C6%A1%20desc",
            )
        })
        .collect();
    let sql: Vec<String> = (0..200)
        .map(|_| {
            let c = format!("{:05}", q.gen_range(0..COMMUNES));
            let s = format!(
                r#"SELECT "Thủ tục", count(*) AS n, sum("Số hồ sơ") AS tong FROM "{rid}" WHERE "Mã xã" = '{c}' GROUP BY "Thủ tục""#
            );
            format!("{base}/datastore_search_sql?sql={}", enc(&s))
        })
        .collect();
    let pages: Vec<String> = (0..100)
        .map(|_| format!("{base}/datastore_search?resource_id={rid}&offset={}", q.gen_range(0..args.rows as u64)))
        .collect();

    println!("\n{:<58} {:>7} {:>6} {:>8} {:>8} {:>8}", "phase", "calls", "errors", "per s", "p50 ms", "p99 ms");
    for (label, urls) in [
        ("datastore_search, filter on commune (~3,000 rows), total", communes),
        ("… commune and year, sorted by another column", two),
        ("… filter on province (~300,000 rows), total", provinces),
        ("… filter on province, include_total=false", provinces_no_total),
        ("datastore_search_sql, GROUP BY over a commune", sql),
        ("datastore_search, no filter, random offset", pages),
    ] {
        let p = load(Arc::new(urls), args.clients, args.seconds).await;
        println!("{label:<58} {:>7} {:>6} {:>8.0} {:>8.2} {:>8.2}", p.calls, p.errors, p.rate, p.p50, p.p99);
    }
    println!("server resident memory: {} MB (peak {} MB)", memory_kb("VmRSS") / 1024, memory_kb("VmHWM") / 1024);
    if args.postgres.is_some() {
        store.drop_postgres_schema(&schema).await?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
