//! `sen bench-open-data`: the open-data portal's budgets (issue #6) — with 100,000 datasets,
//! `package_search` p50 < 5 ms, p99 < 30 ms and ≥ 1,000 searches a second; `start=90000` as
//! fast as `start=0`; `package_show` p99 < 5 ms. The portal runs in this process on loopback
//! over its SQLite database; clients call it over HTTP as ckanapi does.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sen_store::opendata::{StoredDataset, StoredResource};
use serde_json::{Value, json};

use crate::bench_exchange::{bench_portal, serve, sqlite};

#[derive(Args)]
pub struct BenchOpenDataArgs {
    /// Datasets in the catalogue.
    #[arg(long, default_value_t = 100_000)]
    datasets: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    #[arg(long)]
    work: Option<PathBuf>,
}

const WORDS: &[&str] = &[
    "dân số",
    "lao động",
    "việc làm",
    "giáo dục",
    "trường học",
    "y tế",
    "bệnh viện",
    "giao thông",
    "xe buýt",
    "môi trường",
    "không khí",
    "nước sạch",
    "đất đai",
    "quy hoạch",
    "ngân sách",
    "thuế",
    "doanh nghiệp",
    "nông nghiệp",
    "lúa gạo",
    "thủy sản",
    "du lịch",
    "văn hóa",
    "xây dựng",
    "nhà ở",
    "năng lượng",
    "điện",
    "khí tượng",
    "thủy văn",
    "hộ tịch",
    "khai sinh",
    "cư trú",
    "bảo hiểm",
    "an sinh",
    "giá cả",
    "thị trường",
];
const FORMATS: &[&str] = &["CSV", "JSON", "XLSX", "GEOJSON", "XML", "PDF"];
const THEMES: &[&str] = &["agri", "econ", "educ", "envi", "gove", "heal", "regi", "soci", "tech", "tran"];
const FREQ: &[&str] = &["DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL", "IRREG"];

pub(crate) fn uuid(rng: &mut ChaCha8Rng) -> String {
    let v: u128 = rng.r#gen();
    let h = format!("{v:032x}");
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

pub(crate) struct Phase {
    pub(crate) calls: usize,
    pub(crate) errors: usize,
    pub(crate) rate: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
}

pub(crate) async fn load(urls: Arc<Vec<String>>, clients: usize, seconds: u64) -> Phase {
    if urls.is_empty() {
        return Phase { calls: 0, errors: 0, rate: 0.0, p50: 0.0, p99: 0.0 };
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().expect("client");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, urls) = (http.clone(), urls.clone());
        tasks.push(tokio::spawn(async move {
            let (mut times, mut errors) = (Vec::new(), 0usize);
            let mut i = c;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = match http.get(&urls[i % urls.len()]).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    times.push(t.elapsed());
                } else {
                    errors += 1;
                }
                i += clients;
            }
            (times, errors)
        }));
    }
    let (mut times, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (t, e) = t.await.expect("client task");
        times.extend(t);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort();
    let pct = |p: f64| {
        if times.is_empty() {
            return 0.0;
        }
        times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
    };
    Phase { calls: times.len(), errors, rate: times.len() as f64 / elapsed, p50: pct(0.5), p99: pct(0.99) }
}

pub async fn run(args: BenchOpenDataArgs) -> anyhow::Result<()> {
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("sen-bench-open-data-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&work);
    let store = sqlite(&work).await?;
    let opts =
        sen_demo::SeedOptions { seed: 2030, citizens: 200, businesses: 20, dossiers: 0, now: chrono::Utc::now() };
    sen_demo::seed(&store, &opts).await?;
    let agencies = store.agencies().await?;
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let started = Instant::now();
    let now = chrono::Utc::now();
    let mut batch = Vec::new();
    for i in 0..args.datasets {
        let a = &agencies[rng.gen_range(0..agencies.len())];
        let (w1, w2) = (WORDS[rng.gen_range(0..WORDS.len())], WORDS[rng.gen_range(0..WORDS.len())]);
        let title = format!("Số liệu {w1} và {w2} năm {} (bộ {i})", 2015 + i % 11);
        let id = uuid(&mut rng);
        let resources: Vec<StoredResource> = (0..rng.gen_range(1..4))
            .map(|p| StoredResource {
                id: uuid(&mut rng),
                dataset_id: id.clone(),
                position: p,
                body: json!({"name": format!("Tệp {w1} {p}"), "url": format!("https://dulieu.gov.vn/{i}/{p}"), "format": FORMATS[rng.gen_range(0..FORMATS.len())]}),
                created_at: now,
                modified_at: now,
            })
            .collect();
        let d = StoredDataset {
            id,
            name: format!("bo-du-lieu-{i}"),
            agency_id: a.id,
            state: "active".into(),
            body: json!({"title": title, "notes": format!("Bộ dữ liệu về {w1}, {w2} do {} công bố.", a.name), "license_id": "cc-by-4.0",
                "tags": [{"name": w1}, {"name": w2}], "groups": [{"name": THEMES[i % THEMES.len()]}], "frequency": FREQ[i % FREQ.len()]}),
            created_at: now - chrono::Duration::days(rng.gen_range(0..3000)),
            modified_at: now - chrono::Duration::minutes(rng.gen_range(0..4_000_000)),
        };
        batch.push((d, resources));
        if batch.len() == 2_000 {
            store.insert_datasets(&batch).await?;
            batch.clear();
        }
    }
    store.insert_datasets(&batch).await?;
    println!("{} datasets stored in {:.1} s", args.datasets, started.elapsed().as_secs_f64());

    let t = Instant::now();
    let state = bench_portal(&store, Default::default()).await?;
    println!("portal started, search index built, in {:.1} s", t.elapsed().as_secs_f64());
    let addr = serve(sen_web::router(state)).await?;
    let base = format!("http://{addr}/api/3/action");

    let enc = |s: &str| {
        s.replace('%', "%25")
            .replace(' ', "%20")
            .replace('"', "%22")
            .replace('+', "%2B")
            .replace(':', "%3A")
            .replace('[', "%5B")
            .replace(']', "%5D")
    };
    let mut searches = Vec::new();
    for (i, w) in WORDS.iter().enumerate() {
        let folded = sen_domain::text::fold(w);
        searches.push(format!("{base}/package_search?q={}", enc(if i % 2 == 0 { w } else { &folded })));
        searches.push(format!(
            "{base}/package_search?q={}&fq={}&facet.field=%5B%22organization%22,%22res_format%22%5D",
            enc(w),
            enc(&format!("groups:{} +res_format:CSV", THEMES[i % THEMES.len()]))
        ));
        searches.push(format!(
            "{base}/package_search?fq={}&sort=metadata_modified%20desc&rows=20",
            enc("metadata_modified:[2024-01-01T00:00:00Z TO *]")
        ));
    }
    let first = Arc::new(vec![format!("{base}/package_search?q=*:*&sort=name%20asc&rows=10&start=0")]);
    let deep_start = args.datasets.saturating_sub(10_000).min(90_000);
    let deep = Arc::new(vec![format!("{base}/package_search?q=*:*&sort=name%20asc&rows=10&start={deep_start}")]);
    let http = reqwest::Client::new();
    let names: Value = http
        .get(format!("{base}/package_list?limit=1000&offset={}", (args.datasets / 2).min(5_000)))
        .send()
        .await?
        .json()
        .await?;
    let shows: Vec<String> = names["result"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(|n| format!("{base}/package_show?id={n}")).collect())
        .unwrap_or_default();

    println!("\n{:<44} {:>8} {:>7} {:>9} {:>9} {:>9}", "phase", "calls", "errors", "per s", "p50 ms", "p99 ms");
    for (label, urls) in [
        ("package_search (words, facets, ranges)", Arc::new(searches)),
        ("package_search start=0", first),
        (if deep_start == 90_000 { "package_search start=90000" } else { "package_search deep page" }, deep),
        ("package_show", Arc::new(shows)),
    ] {
        let p = load(urls, args.clients, args.seconds).await;
        println!("{label:<44} {:>8} {:>7} {:>9.0} {:>9.2} {:>9.2}", p.calls, p.errors, p.rate, p.p50, p.p99);
    }
    let root = base.trim_end_matches("/api/3/action").to_string();
    let page = Arc::new(vec![format!("{root}/catalog.ttl?page=3")]);
    let p = load(page, args.clients, args.seconds).await;
    println!(
        "{:<44} {:>8} {:>7} {:>9.0} {:>9.2} {:>9.2}",
        "DCAT page of 100 (Turtle)", p.calls, p.errors, p.rate, p.p50, p.p99
    );

    // A harvester walking the whole catalogue in pages of 1000: the server holds one page at
    // a time, so its resident memory stays where it was.
    let rss_before = memory_kb("VmRSS");
    let mut next = Some(format!("{root}/catalog.ttl?page_size=1000"));
    let (mut pages, mut bytes, mut times) = (0u64, 0u64, Vec::new());
    let walk = Instant::now();
    while let Some(url) = next.take() {
        let t = Instant::now();
        let body = http.get(&url).send().await?.error_for_status()?.text().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        pages += 1;
        bytes += body.len() as u64;
        next = body
            .split("hydra:nextPage \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|u| u.replacen("http://127.0.0.1:8080", &root, 1));
    }
    times.sort_by(f64::total_cmp);
    let pct = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "\nDCAT catalogue walked: {pages} pages of 1000, {:.0} MB of Turtle in {:.1} s; per page p50 {:.0} ms, p99 {:.0} ms",
        bytes as f64 / 1e6,
        walk.elapsed().as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
    println!(
        "server resident memory: {} MB before the walk, {} MB after (peak {} MB)",
        rss_before / 1024,
        memory_kb("VmRSS") / 1024,
        memory_kb("VmHWM") / 1024
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// A figure of this process's memory from /proc (kB): `VmRSS` now, `VmHWM` at its peak.
pub(crate) fn memory_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}
