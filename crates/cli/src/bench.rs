//! `sen bench`: load generators for a running server. Figures go to docs/BENCHMARKS.md.

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Scenario {
    /// POST /api/v1/dossiers as one citizen, each with its own Idempotency-Key.
    Submit,
    /// GET /api/v1/procedures?q=… with rotating queries, with and without diacritics.
    Search,
    /// GET a procedure page.
    ProcedurePage,
    /// GET an officer's queue page.
    Queue,
    /// GET the citizen's dossier list.
    MyDossiers,
    /// GET /api/v1/lookup/{code} for the citizen's own dossier codes.
    Lookup,
}

#[derive(Args)]
pub struct BenchArgs {
    #[arg(value_enum)]
    scenario: Scenario,
    /// The server to measure.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// How long to run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Account used (a citizen for submit/my-dossiers, an official for queue).
    #[arg(long, default_value = "congdan")]
    username: String,
    #[arg(long, default_value = "sen-demo-2026", env = "SEN_BENCH_PASSWORD")]
    password: String,
    /// Write every acknowledged dossier code to this file, one per line, as soon as it is
    /// acknowledged (the crash test compares it with the database).
    #[arg(long)]
    acknowledged: Option<std::path::PathBuf>,
}

struct Session {
    client: reqwest::Client,
    csrf: String,
}

async fn login(url: &str, username: &str, password: &str) -> anyhow::Result<Session> {
    let client = reqwest::Client::builder().cookie_store(true).pool_max_idle_per_host(256).build()?;
    let r = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("login as {username} failed: {}", r.status());
    }
    let body: serde_json::Value = r.json().await?;
    Ok(Session { client, csrf: body["csrf_token"].as_str().unwrap_or_default().to_string() })
}

const QUERIES: [&str; 8] =
    ["khai sinh", "dang ky ket hon", "CCCD", "hộ chiếu", "so do", "tạm trú", "lý lịch tư pháp", "birth registration"];

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let url = args.url.trim_end_matches('/').to_string();
    let session =
        Arc::new(login(&url, &args.username, &args.password).await.context("cannot sign in for the benchmark")?);
    let procedures: serde_json::Value =
        session.client.get(format!("{url}/api/v1/procedures?q=1.004873")).send().await?.json().await?;
    let procedure_id = procedures[0]["id"].as_i64().context("the demo procedure 1.004873 is missing")?;
    let codes: Arc<Vec<String>> = Arc::new(if args.scenario == Scenario::Lookup {
        let mine: serde_json::Value =
            session.client.get(format!("{url}/api/v1/dossiers?limit=200")).send().await?.json().await?;
        let v: Vec<String> =
            mine.as_array().into_iter().flatten().filter_map(|d| d["code"].as_str().map(str::to_string)).collect();
        if v.is_empty() {
            bail!("{} has no dossier to look up", args.username);
        }
        v
    } else {
        Vec::new()
    });
    let ack_file = match &args.acknowledged {
        Some(p) => Some(Arc::new(tokio::sync::Mutex::new(
            tokio::fs::OpenOptions::new().create(true).append(true).open(p).await?,
        ))),
        None => None,
    };
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (session, url, errors, ack_file, codes) =
            (session.clone(), url.clone(), errors.clone(), ack_file.clone(), codes.clone());
        let scenario = args.scenario;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let t = Instant::now();
                let req = match scenario {
                    Scenario::Submit => session
                        .client
                        .post(format!("{url}/api/v1/dossiers"))
                        .header("x-csrf-token", &session.csrf)
                        .header("idempotency-key", format!("bench-{}-{c}-{i}", std::process::id()))
                        .json(&json!({"procedure_id": procedure_id, "data": {"purpose": "Bổ sung hồ sơ vay vốn", "marital_status": "Chưa kết hôn"}})),
                    Scenario::Search => session.client.get(format!("{url}/api/v1/procedures?q={}", QUERIES[(i as usize + c) % QUERIES.len()])),
                    Scenario::ProcedurePage => session.client.get(format!("{url}/procedures/{procedure_id}")),
                    Scenario::Queue => session.client.get(format!("{url}/office?queue=open")),
                    Scenario::MyDossiers => session.client.get(format!("{url}/api/v1/dossiers")),
                    Scenario::Lookup => session.client.get(format!("{url}/api/v1/lookup/{}", codes[(i as usize + c) % codes.len()])),
                };
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        if scenario == Scenario::Submit {
                            let body: serde_json::Value = r.json().await.unwrap_or_default();
                            if let (Some(f), Some(code)) = (&ack_file, body["code"].as_str()) {
                                use tokio::io::AsyncWriteExt;
                                let mut f = f.lock().await;
                                let _ = f.write_all(format!("{code}\n").as_bytes()).await;
                                let _ = f.flush().await;
                            }
                        } else {
                            let _ = r.bytes().await;
                        }
                        lat.push(t.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!(
        "{{\"scenario\":\"{}\",\"clients\":{},\"seconds\":{:.1},\"ok\":{},\"errors\":{},\"per_second\":{:.0},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
        args.scenario.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default(),
        args.clients,
        secs,
        all.len(),
        errors.load(Ordering::Relaxed),
        all.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        all.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
    );
    Ok(())
}
