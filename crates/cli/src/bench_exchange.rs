//! `sen bench-exchange`: a registry lookup called directly and through a pair of gateways,
//! side by side in one run (issue #4's budget: ≥ 50% of the direct throughput, < 10 ms added
//! at p99). Everything runs in this process on loopback: the central directory, the
//! provider's registry service with its database, and two gateways, each with its own
//! database, signing and recording every message.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use sen_exchange::ClientId;
use sen_store::dossiers::Actor;
use sen_store::{Store, StoreConfig};

#[derive(Args)]
pub struct BenchExchangeArgs {
    /// Concurrent callers.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds per phase (direct, then through the gateways).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Rounds of the two phases, one after the other: a shared machine's speed drifts, and
    /// alternating keeps the comparison side by side; the figures are over all rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// People in the registries' database.
    #[arg(long, default_value_t = 5_000)]
    citizens: usize,
    /// Where the databases go (SQLite); default: a fresh temporary folder.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Calls per second of the latency phase (both paths, one after the other, at the same
    /// steady rate); default: half the throughput the gateways reached.
    #[arg(long)]
    latency_rate: Option<f64>,
    /// Runs the two gateways as `sen gateway run` processes on this CPU only, and the rest
    /// (callers, registry, directory) on the other CPUs: the gateways with CPU of their own,
    /// as deployed, instead of sharing every core with the provider they front.
    #[arg(long)]
    gateway_cpu: Option<usize>,
}

const PORTAL: &str = "VN/GOV/VPCP/DVCQG";

pub(crate) async fn sqlite(dir: &Path) -> anyhow::Result<Store> {
    std::fs::create_dir_all(dir)?;
    let store = Store::connect(&StoreConfig::sqlite_in(dir)).await?;
    store.migrate().await?;
    Ok(store)
}

/// The portal of a benchmark over `store`: a trust service with a throwaway passphrase and
/// `config` (plain-HTTP cookies).
pub(crate) async fn bench_portal(store: &Store, config: sen_web::Config) -> anyhow::Result<sen_web::AppState> {
    let urls = sen_trust::cert::PublicUrls { base: "http://127.0.0.1:8080".into() };
    let trust = sen_web::trust::TrustService::init(store, "bench-only-passphrase", urls)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    sen_web::AppState::new(store.clone(), sen_web::Config { secure_cookies: false, ..config }, Arc::new(trust))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) async fn serve(app: axum::Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

pub(crate) fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

struct Phase {
    calls: u64,
    errors: u64,
    bytes: u64,
    seconds: f64,
    /// Every call's time, sorted.
    times: Vec<Duration>,
    /// What the machine's CPUs did meanwhile (all processes), when known.
    cpu: Option<CpuTime>,
}

/// The machine's CPU time (`/proc/stat`, in clock ticks of 10 ms): busy, and taken by the
/// hypervisor for other guests (steal), summed over every CPU.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTime {
    busy: u64,
    steal: u64,
    all: u64,
}

impl CpuTime {
    /// Now, or `None` where `/proc/stat` is not Linux's.
    fn now() -> Option<CpuTime> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal …
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        Some(CpuTime { busy: at(0) + at(1) + at(2) + at(5) + at(6), steal: at(7), all: (0..8).map(at).sum() })
    }

    fn since(self, start: CpuTime) -> CpuTime {
        CpuTime {
            busy: self.busy.saturating_sub(start.busy),
            steal: self.steal.saturating_sub(start.steal),
            all: self.all.saturating_sub(start.all),
        }
    }

    fn add(self, o: CpuTime) -> CpuTime {
        CpuTime { busy: self.busy + o.busy, steal: self.steal + o.steal, all: self.all + o.all }
    }
}

/// Clock ticks per second of `/proc/stat` (USER_HZ, 100 on every Linux build that matters).
const TICKS_PER_SECOND: f64 = 100.0;

impl Phase {
    fn rate(&self) -> f64 {
        self.calls as f64 / self.seconds.max(1e-9)
    }

    /// The machine's busy CPU time per call, in microseconds.
    fn cpu_per_call(&self) -> Option<f64> {
        let cpu = self.cpu?;
        (self.calls > 0).then(|| cpu.busy as f64 / TICKS_PER_SECOND * 1e6 / self.calls as f64)
    }

    /// The share of the machine's CPU time that the hypervisor gave to others, in percent.
    fn steal_percent(&self) -> Option<f64> {
        let cpu = self.cpu?;
        (cpu.all > 0).then(|| 100.0 * cpu.steal as f64 / cpu.all as f64)
    }

    /// The `p` quantile of the call times, in milliseconds.
    fn percentile(&self, p: f64) -> f64 {
        if self.times.is_empty() {
            return 0.0;
        }
        self.times[((self.times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
    }

    /// All rounds' calls as one phase.
    fn merged(phases: &[Phase]) -> Phase {
        let mut times: Vec<Duration> = phases.iter().flat_map(|p| p.times.iter().copied()).collect();
        times.sort();
        Phase {
            calls: phases.iter().map(|p| p.calls).sum(),
            errors: phases.iter().map(|p| p.errors).sum(),
            bytes: phases.iter().map(|p| p.bytes).sum(),
            seconds: phases.iter().map(|p| p.seconds).sum(),
            times,
            cpu: phases.iter().try_fold(CpuTime::default(), |sum, p| Some(sum.add(p.cpu?))),
        }
    }
}

async fn load(urls: Arc<Vec<String>>, clients: usize, seconds: u64) -> Phase {
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().expect("client");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let cpu_at_start = CpuTime::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, urls) = (http.clone(), urls.clone());
        tasks.push(tokio::spawn(async move {
            let (mut times, mut errors, mut bytes) = (Vec::new(), 0u64, 0u64);
            let mut i = c;
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = http.get(&urls[i % urls.len()]).header("X-Road-Client", PORTAL).send().await;
                match r {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) => {
                            bytes += b.len() as u64;
                            times.push(t.elapsed());
                        }
                        Err(_) => errors += 1,
                    },
                    _ => errors += 1,
                }
                i += clients;
            }
            (times, errors, bytes)
        }));
    }
    let (mut times, mut errors, mut bytes) = (Vec::new(), 0, 0);
    for t in tasks {
        let (t, e, b) = t.await.expect("caller");
        times.extend(t);
        errors += e;
        bytes += b;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = CpuTime::now().zip(cpu_at_start).map(|(end, start)| end.since(start));
    times.sort();
    Phase { calls: times.len() as u64, errors, bytes, seconds, times, cpu }
}

/// Calls at a steady `rate` for `seconds` (open loop: a call starts when it is due, whether
/// or not earlier ones have finished, up to [`PACED_IN_FLIGHT`] at once), each timed from
/// when it was due, so that a stalled path cannot hide its delay by sending less.
async fn paced(urls: Arc<Vec<String>>, rate: f64, seconds: u64) -> Phase {
    let http = reqwest::Client::builder().pool_max_idle_per_host(PACED_IN_FLIGHT).build().expect("client");
    let calls = (rate * seconds as f64).max(1.0) as usize;
    let every = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let slots = Arc::new(tokio::sync::Semaphore::new(PACED_IN_FLIGHT));
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..calls {
        let due = started + every * i as u32;
        tokio::time::sleep_until(due).await;
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let (http, url) = (http.clone(), urls[i % urls.len()].clone());
        tasks.spawn(async move {
            let _slot = slot;
            let r = http.get(&url).header("X-Road-Client", PORTAL).send().await;
            match r {
                Ok(r) if r.status().is_success() => r.bytes().await.ok().map(|b| (due.elapsed(), b.len() as u64)),
                _ => None,
            }
        });
    }
    let (mut times, mut errors, mut bytes) = (Vec::with_capacity(calls), 0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.ok().flatten() {
            Some((t, b)) => {
                times.push(t);
                bytes += b;
            }
            None => errors += 1,
        }
    }
    times.sort();
    Phase { calls: times.len() as u64, errors, bytes, seconds: started.elapsed().as_secs_f64(), times, cpu: None }
}

/// ` (310 µs CPU per call, 2% stolen)`, when the CPU time is known.
fn cpu_note(p: &Phase) -> String {
    match (p.cpu_per_call(), p.steal_percent()) {
        (Some(c), Some(s)) => format!(" ({c:.0} µs CPU per call, {s:.0}% stolen)"),
        _ => String::new(),
    }
}

/// Calls the latency phase may have in flight at once.
const PACED_IN_FLIGHT: usize = 512;

pub async fn run(args: BenchExchangeArgs) -> anyhow::Result<()> {
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("sen-bench-exchange-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&work);
    let system = Actor::system("sen bench-exchange");
    let opts =
        |citizens| sen_demo::SeedOptions { seed: 2030, citizens, businesses: 50, dossiers: 0, now: chrono::Utc::now() };

    println!("setting up: central directory, registry ({} people), two gateways…", args.citizens);
    let central_store = sqlite(&work.join("central")).await?;
    sen_demo::seed(&central_store, &opts(200)).await?;
    let central = bench_portal(&central_store, Default::default()).await?;
    let central_addr = serve(sen_web::router(central.clone())).await?;

    let registry_store = sqlite(&work.join("registry")).await?;
    sen_demo::seed(&registry_store, &opts(args.citizens)).await?;
    let registry_addr = serve(sen_web::registry_http::routes(registry_store.clone(), None)).await?;
    let portal = ClientId::parse(PORTAL).map_err(anyhow::Error::msg)?;
    sen_web::registry_http::register(&central_store, &format!("http://{registry_addr}"), &[portal], 3000, &system)
        .await?;

    let (portal_server, registry_server) = (free_port()?, free_port()?);
    let (portal_dir, registry_dir) = (work.join("portal-gw"), work.join("registry-gw"));
    crate::exchange::enrol(&central.trust, &portal_dir, "VN/GOV/VPCP", &[PORTAL], portal_server).await?;
    crate::exchange::enrol(&central.trust, &registry_dir, "VN/GOV/BCA", &["VN/GOV/BCA/CSDLQGDC"], registry_server)
        .await?;
    let gw = |owner: &str, dir: &Path, server| {
        Ok::<_, anyhow::Error>(sen_gateway::GatewayConfig {
            owner: ClientId::parse(owner).map_err(anyhow::Error::msg)?.member,
            code: "GW1".into(),
            directory_url: format!("http://{central_addr}"),
            dir: dir.to_path_buf(),
            client_listen: "127.0.0.1:0".parse()?,
            server_listen: server,
            refresh: Duration::from_secs(30),
            max_conf_age: Duration::from_secs(3600),
        })
    };
    let (gateways, portal_client) = match args.gateway_cpu {
        None => {
            let portal_store = sqlite(&work.join("portal-gw-db")).await?;
            let provider_store = sqlite(&work.join("registry-gw-db")).await?;
            let provider_gw =
                sen_gateway::start(gw("VN/GOV/BCA", &registry_dir, registry_server)?, provider_store.clone()).await?;
            let portal_gw =
                sen_gateway::start(gw("VN/GOV/VPCP", &portal_dir, portal_server)?, portal_store.clone()).await?;
            let client = portal_gw.client_addr;
            (
                Gateways::InProcess {
                    running: vec![portal_gw, provider_gw],
                    stores: vec![portal_store, provider_store],
                },
                client,
            )
        }
        Some(cpu) => {
            let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            anyhow::ensure!(cpu < cpus && cpus >= 2, "--gateway-cpu {cpu}: this machine has CPUs 0..{}", cpus - 1);
            let others: Vec<String> = (0..cpus).filter(|c| *c != cpu).map(|c| c.to_string()).collect();
            pin_this_process(&others.join(","))?;
            let directory = format!("http://{central_addr}");
            let portal_client = free_port()?;
            let provider = GatewayProcess::spawn(
                cpu,
                "VN/GOV/BCA",
                &registry_dir,
                &work.join("registry-gw-db"),
                &directory,
                free_port()?,
                registry_server,
            )?;
            let portal = GatewayProcess::spawn(
                cpu,
                "VN/GOV/VPCP",
                &portal_dir,
                &work.join("portal-gw-db"),
                &directory,
                portal_client,
                portal_server,
            )?;
            for g in [&provider, &portal] {
                g.ready().await?;
            }
            (Gateways::Processes(vec![portal, provider]), portal_client)
        }
    };
    println!(
        "gateways: {}",
        match args.gateway_cpu {
            None => "in this process, sharing every CPU".to_string(),
            Some(c) =>
                format!("two `sen gateway run` processes on CPU {c}; callers, registry and directory on the others"),
        }
    );

    let people = registry_store.civil_event_subjects("birth", 2_000).await?;
    anyhow::ensure!(!people.is_empty(), "the registry holds no one");
    let direct: Vec<String> =
        people.iter().map(|n| format!("http://{registry_addr}/registry/residence/persons/{n}")).collect();
    let through: Vec<String> =
        people.iter().map(|n| format!("http://{portal_client}/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{n}")).collect();
    // Warm both paths (connections, caches).
    load(Arc::new(direct.clone()), args.clients, 2).await;
    load(Arc::new(through.clone()), args.clients, 2).await;

    println!("{} callers, {} rounds of {} s per phase", args.clients, args.rounds.max(1), args.seconds);
    let (direct, through) = (Arc::new(direct), Arc::new(through));
    let (mut ds, mut gs, mut kept) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=args.rounds.max(1) {
        let d = load(direct.clone(), args.clients, args.seconds).await;
        let g = load(through.clone(), args.clients, args.seconds).await;
        kept.push(100.0 * g.rate() / d.rate().max(1e-9));
        println!(
            "round {round}: direct {:.0}/s{}, through the gateways {:.0}/s{}: {:.0}% kept, {:+.2} ms at p99",
            d.rate(),
            cpu_note(&d),
            g.rate(),
            cpu_note(&g),
            kept[kept.len() - 1],
            g.percentile(0.99) - d.percentile(0.99)
        );
        ds.push(d);
        gs.push(g);
    }
    let (d, g) = (Phase::merged(&ds), Phase::merged(&gs));
    let size = |p: &Phase| p.bytes.checked_div(p.calls).unwrap_or(0);
    for (name, p) in [("direct to the registry", &d), ("through two gateways", &g)] {
        println!(
            "{name:<24} {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} calls, {} errors, {} B each)",
            p.rate(),
            p.percentile(0.5),
            p.percentile(0.99),
            p.calls,
            p.errors,
            size(p)
        );
    }
    kept.sort_by(f64::total_cmp);
    println!(
        "gateways keep {:.0}% of the direct throughput (rounds: {}; budget ≥ 50%); with every caller waiting, p99 is {:.2} ms more",
        100.0 * g.rate() / d.rate().max(1e-9),
        kept.iter().map(|k| format!("{k:.0}%")).collect::<Vec<_>>().join(", "),
        g.percentile(0.99) - d.percentile(0.99)
    );
    if let (Some(dc), Some(gc)) = (d.cpu_per_call(), g.cpu_per_call()) {
        // Where both paths are bound by CPU, the share kept is the ratio of their costs: a
        // figure the machine's drift from minute to minute moves far less than throughput.
        println!(
            "CPU per call, every process of the machine: direct {dc:.0} µs, through the gateways {gc:.0} µs \
             (the gateways add {:.0} µs; direct/through = {:.0}%)",
            gc - dc,
            100.0 * dc / gc
        );
    }
    // Latency at a steady load both paths carry: what the gateways add to each call, apart
    // from the queueing of callers at a saturated path (which the rounds above measure).
    let rate = args.latency_rate.unwrap_or(g.rate() / 2.0).max(1.0);
    let (dl, gl) = (paced(direct.clone(), rate, args.seconds).await, paced(through.clone(), rate, args.seconds).await);
    for (name, p) in [("direct to the registry", &dl), ("through two gateways", &gl)] {
        println!(
            "at {rate:.0} calls/s, {name:<24} p50 {:>6.2} ms  p99 {:>6.2} ms  ({} calls, {} errors)",
            p.percentile(0.5),
            p.percentile(0.99),
            p.calls,
            p.errors
        );
    }
    println!(
        "at a steady {rate:.0} calls/s the gateways add {:.2} ms at p50 and {:.2} ms at p99 (budget: < 10 ms)",
        gl.percentile(0.5) - dl.percentile(0.5),
        gl.percentile(0.99) - dl.percentile(0.99)
    );
    let recorded = gateways.stop(&work).await?;
    println!("records written by the portal's gateway: {recorded}");
    for s in [registry_store, central_store] {
        s.close().await;
    }
    if args.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(())
}

/// The two gateways of a run: tasks of this process, or processes of their own.
enum Gateways {
    InProcess { running: Vec<sen_gateway::Running>, stores: Vec<Store> },
    Processes(Vec<GatewayProcess>),
}

impl Gateways {
    /// Stops both and counts the messages the portal's gateway (the first) recorded.
    async fn stop(self, work: &Path) -> anyhow::Result<u64> {
        match self {
            Gateways::InProcess { running, stores } => {
                for r in running {
                    r.flush_records().await?;
                    r.stop().await;
                }
                let recorded = stores[0].exchange_message_count().await.context("records")?;
                for s in stores {
                    s.close().await;
                }
                Ok(recorded)
            }
            Gateways::Processes(children) => {
                drop(children);
                // Killed: what their journals hold reaches the database when reopened.
                let store = sqlite(&work.join("portal-gw-db")).await?;
                let portal = ClientId::parse(PORTAL).map_err(anyhow::Error::msg)?.member;
                let journal =
                    sen_gateway::proxy::message_journal(&store, &work.join("portal-gw"), &portal, "GW1").await?;
                journal.flush().await?;
                drop(journal);
                let recorded = store.exchange_message_count().await.context("records")?;
                store.close().await;
                Ok(recorded)
            }
        }
    }
}

/// `sen gateway run` in a process of its own, pinned to one CPU (`taskset`), killed on drop.
struct GatewayProcess {
    child: std::process::Child,
    client: SocketAddr,
}

impl GatewayProcess {
    fn spawn(
        cpu: usize,
        member: &str,
        dir: &Path,
        data: &Path,
        directory: &str,
        client: SocketAddr,
        server: SocketAddr,
    ) -> anyhow::Result<GatewayProcess> {
        let exe = std::env::current_exe()?;
        let child = std::process::Command::new("taskset")
            .arg("-c")
            .arg(cpu.to_string())
            .arg(exe)
            .args(["gateway", "run", "--member", member, "--directory", directory])
            .arg("--dir")
            .arg(dir)
            .arg("--data")
            .arg(data)
            .arg("--client-listen")
            .arg(client.to_string())
            .arg("--server-listen")
            .arg(server.to_string())
            .env("SEN_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("cannot start `taskset … sen gateway run` (taskset is in util-linux)")?;
        Ok(GatewayProcess { child, client })
    }

    /// Waits until its client proxy answers.
    async fn ready(&self) -> anyhow::Result<()> {
        let url = format!("http://{}/healthz", self.client);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(&url).await
                && r.status().is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "the gateway at {} did not start", self.client);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps every thread of this process (and those it starts later) on `cpus` (`taskset -a -p`).
fn pin_this_process(cpus: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run taskset (util-linux)")?;
    anyhow::ensure!(status.success(), "taskset could not pin this process to CPUs {cpus}");
    Ok(())
}
