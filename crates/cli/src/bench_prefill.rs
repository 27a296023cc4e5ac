//! `sen bench-prefill`: the once-only application form (issue #4's budget: a pre-filled form
//! with five fetched components renders in < 100 ms at p99). In this process on loopback:
//! the portal (the central directory too) with its own database, the registries' services
//! with theirs, and two gateways, each with its own database, signing and recording every
//! message. Measures the explicit request (every registry asked through the gateways, the
//! batch stored) and the pre-filled form rendered from a confirmed batch.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use sen_domain::evidence::{EvidenceSource, Registry};
use sen_domain::procedure::Component;
use sen_exchange::ClientId;
use sen_store::dossiers::Actor;
use serde_json::{Value, json};

use crate::bench_exchange::{bench_portal, free_port, serve, sqlite};

#[derive(Args)]
pub struct BenchPrefillArgs {
    /// Explicit requests measured (each asks four registries through the gateways).
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Pre-filled forms rendered.
    #[arg(long, default_value_t = 3_000)]
    renders: usize,
    /// Concurrent applicants rendering the form.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// People in the demo population (the portal's and the registries' databases hold the same).
    #[arg(long, default_value_t = 2_000)]
    citizens: usize,
    #[arg(long)]
    work: Option<PathBuf>,
}

const PORTAL: &str = "VN/GOV/VPCP/DVCQG";
const REGISTRIES: [&str; 5] =
    ["VN/GOV/BCA/CSDLQGDC", "VN/GOV/BTP/HOTICH", "VN/GOV/BTC/DKDN", "VN/GOV/BHXHVN/CSDLBH", "VN/GOV/BNNMT/CSDLDD"];

fn pct(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    if times.is_empty() {
        return 0.0;
    }
    times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

/// A procedure whose five documents the registries hold.
fn five_components() -> Vec<Component> {
    let doc = |name: &str, registry, fills: &[(&str, &str)]| Component {
        name: name.into(),
        quantity: "01 bản".into(),
        mandatory: true,
        template: None,
        evidence: vec![EvidenceSource {
            registry,
            replaces_document: true,
            fills: fills.iter().map(|(f, k)| (f.to_string(), k.to_string())).collect(),
            result_of: None,
        }],
    };
    vec![
        doc("Giấy xác nhận thông tin về cư trú", Registry::Residence, &[("head_of_household", "household_head_name")]),
        doc("Trích lục khai sinh", Registry::CivilStatus, &[("birth_date", "birth_date")]),
        doc("Giấy xác nhận tình trạng hôn nhân", Registry::CivilStatus, &[]),
        doc("Thẻ bảo hiểm y tế", Registry::Insurance, &[]),
        doc("Giấy chứng nhận quyền sử dụng đất", Registry::Land, &[("new_address", "parcel_address")]),
    ]
}

pub async fn run(args: BenchPrefillArgs) -> anyhow::Result<()> {
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("sen-bench-prefill-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&work);
    let system = Actor::system("sen bench-prefill");
    let opts = sen_demo::SeedOptions {
        seed: 2031,
        citizens: args.citizens,
        businesses: 20,
        dossiers: 0,
        now: chrono::Utc::now(),
    };
    println!("setting up: the portal and the registries ({} people each), two gateways…", args.citizens);
    let portal_store = sqlite(&work.join("portal")).await?;
    sen_demo::seed(&portal_store, &opts).await?;
    let registry_store = sqlite(&work.join("registry")).await?;
    sen_demo::seed(&registry_store, &opts).await?;

    let portal_client = free_port()?;
    let exchange =
        sen_web::data_reads_http::ExchangeClient { gateway: format!("http://{portal_client}"), client: PORTAL.into() };
    let portal =
        bench_portal(&portal_store, sen_web::Config { exchange: Some(exchange), ..Default::default() }).await?;
    let portal_addr = serve(sen_web::router(portal.clone())).await?;
    let registry_addr = serve(sen_web::registry_http::routes(registry_store.clone(), None)).await?;
    let client = ClientId::parse(PORTAL).map_err(anyhow::Error::msg)?;
    sen_web::registry_http::register(&portal_store, &format!("http://{registry_addr}"), &[client], 3000, &system)
        .await?;

    let (portal_server, registry_server) = (free_port()?, free_port()?);
    let (portal_dir, registry_dir) = (work.join("portal-gw"), work.join("registry-gw"));
    crate::exchange::enrol(&portal.trust, &portal_dir, "VN/GOV/VPCP", &[PORTAL], portal_server).await?;
    crate::exchange::enrol(&portal.trust, &registry_dir, "VN/GOV/BCA", &REGISTRIES, registry_server).await?;
    let gw = |owner: &str, dir: PathBuf, client_listen, server| {
        Ok::<_, anyhow::Error>(sen_gateway::GatewayConfig {
            owner: ClientId::parse(owner).map_err(anyhow::Error::msg)?.member,
            code: "GW1".into(),
            directory_url: format!("http://{portal_addr}"),
            dir,
            client_listen,
            server_listen: server,
            refresh: Duration::from_secs(30),
            max_conf_age: Duration::from_secs(3600),
        })
    };
    let gw_store = sqlite(&work.join("portal-gw-db")).await?;
    let provider_gw = sen_gateway::start(
        gw("VN/GOV/BCA", registry_dir, "127.0.0.1:0".parse()?, registry_server)?,
        registry_store.clone(),
    )
    .await?;
    let portal_gw =
        sen_gateway::start(gw("VN/GOV/VPCP", portal_dir, portal_client, portal_server)?, gw_store.clone()).await?;

    // The procedure, and an applicant whom every one of its registries knows.
    let mut spec = portal.procedure(portal.catalogue().by_code("1.004194").context("the demo catalogue")?.id)?.spec();
    spec.code = "9.000001".into();
    spec.name = "Thủ tục thử năm thành phần được lấy".into();
    spec.components = five_components();
    let form = json!({"type": "object", "properties": {
        "head_of_household": {"type": "string", "title": "Họ tên chủ hộ"},
        "birth_date": {"type": "string", "format": "date", "title": "Ngày sinh"},
        "new_address": {"type": "string", "title": "Địa chỉ"}}});
    let procedure = portal_store.create_procedure(&spec, &form, &system).await?;
    portal.reload_catalogue().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut person = None;
    for n in registry_store.civil_event_subjects("birth", 500).await? {
        let lands = registry_store.land_parcels_of("person", &n).await?;
        let insured = registry_store.insurance_of(&n).await?.is_some();
        if !lands.is_empty() && insured && registry_store.person(&n).await.is_ok() && n.as_bytes()[3] < b'2' {
            person = Some(n);
            break;
        }
    }
    let person = person.context("no adult with a birth record, a parcel and a health card")?;

    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let base = format!("http://{portal_addr}");
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": person, "password": "sen-demo-2026"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let csrf = login["csrf_token"].as_str().context("csrf")?.to_string();
    let ask =
        || http.post(format!("{base}/api/v1/procedures/{procedure}/evidence")).header("x-csrf-token", &csrf).send();
    // Warm-up, and a check that every registry answered.
    let first: Value = ask().await?.error_for_status()?.json().await?;
    let found = first["answers"].as_array().map(|a| a.iter().filter(|x| x["status"] == "found").count());
    if found != Some(4) {
        bail!("expected the four registries to find the applicant: {first}");
    }
    let batch = first["batch"].as_str().context("batch")?.to_string();
    http.post(format!("{base}/api/v1/procedures/{procedure}/evidence/{batch}/confirm"))
        .header("x-csrf-token", &csrf)
        .send()
        .await?
        .error_for_status()?;

    let mut times = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        let t = Instant::now();
        ask().await?.error_for_status()?.bytes().await?;
        times.push(t.elapsed());
    }
    println!(
        "explicit request (4 registries through 2 gateways, batch stored): p50 {:.2} ms  p99 {:.2} ms  ({} requests, one at a time)",
        pct(&mut times, 0.5),
        pct(&mut times, 0.99),
        args.requests
    );

    let page = format!("{base}/procedures/{procedure}/apply?evidence={batch}");
    let html = http.get(&page).send().await?.error_for_status()?.text().await?;
    let fetched = html.matches("class=\"fetched\"").count();
    if fetched != 5 {
        bail!("the form shows {fetched} fetched components, not 5");
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (http, page) = (http.clone(), page.clone());
        let n = args.renders / args.clients + usize::from(c < args.renders % args.clients);
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let r = http.get(&page).send().await?.error_for_status()?;
                r.bytes().await?;
                times.push(t.elapsed());
            }
            Ok::<_, reqwest::Error>(times)
        }));
    }
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await??);
    }
    let rate = times.len() as f64 / started.elapsed().as_secs_f64();
    println!(
        "pre-filled form, 5 fetched components: p50 {:.2} ms  p99 {:.2} ms  {:.0}/s  ({} renders, {} applicants at once; budget p99 < 100 ms)",
        pct(&mut times, 0.5),
        pct(&mut times, 0.99),
        rate,
        times.len(),
        args.clients
    );
    portal_gw.stop().await;
    provider_gw.stop().await;
    for s in [gw_store, registry_store, portal_store] {
        s.close().await;
    }
    if args.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(())
}
