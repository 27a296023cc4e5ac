//! `sen`: start the platform, manage its database and accounts, and measure it.

mod bench;
mod bench_datastore;
mod bench_exchange;
mod bench_open_data;
mod bench_prefill;
mod bench_trust;
mod demo_exchange;
mod eval;
mod exchange;
mod verify;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use sen_store::accounts::NewUser;
use sen_store::{Store, StoreConfig, redact_url};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "sen",
    version,
    about = "Sen — open digital-government platform: one-stop public-service portal, online dossiers, back office."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Folder for the embedded SQLite database (used when no --database-url is given).
    #[arg(long, global = true, default_value = "data", env = "SEN_DATA")]
    data: PathBuf,
    /// `postgres://user@host/db` for PostgreSQL, or `sqlite://file.db`. Default: SQLite in --data.
    #[arg(long, global = true, env = "SEN_DATABASE_URL")]
    database_url: Option<String>,
}

impl DbArgs {
    fn config(&self) -> anyhow::Result<StoreConfig> {
        match &self.database_url {
            Some(url) => Ok(StoreConfig::new(url)),
            None => {
                std::fs::create_dir_all(&self.data)
                    .with_context(|| format!("cannot create {}", self.data.display()))?;
                Ok(StoreConfig::sqlite_in(&self.data))
            }
        }
    }
    async fn open(&self) -> anyhow::Result<Store> {
        self.open_with(|_| {}).await
    }
    async fn open_with(&self, tune: impl FnOnce(&mut StoreConfig)) -> anyhow::Result<Store> {
        let mut cfg = self.config()?;
        tune(&mut cfg);
        let store =
            Store::connect(&cfg).await.with_context(|| format!("cannot open the database {}", redact_url(&cfg.url)))?;
        store.migrate().await.context("migrations failed")?;
        Ok(store)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum CookieMode {
    /// Secure cookies unless listening on a loopback address over plain HTTP.
    Auto,
    Always,
    Never,
}

#[derive(Args, Clone)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "SEN_LISTEN")]
    listen: SocketAddr,
    /// Largest accepted upload per file, in bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024, env = "SEN_MAX_FILE_BYTES")]
    max_file_bytes: usize,
    /// When to mark cookies `Secure`.
    #[arg(long, value_enum, default_value = "auto")]
    secure_cookies: CookieMode,
    /// Seconds between runs of the overdue job.
    #[arg(long, default_value_t = 60)]
    overdue_every: u64,
    #[command(flatten)]
    trust: TrustArgs,
    /// Seconds between signed checkpoints of the tamper-evident log.
    #[arg(long, default_value_t = 10)]
    checkpoint_every: u64,
    /// Milliseconds between runs of the log sequencer and the signature stamper.
    #[arg(long, default_value_t = 250)]
    trust_jobs_every_ms: u64,
    /// The client proxy of the portal's exchange gateway (`sen gateway run`), through which
    /// the portal reads the base registries, e.g. http://127.0.0.1:8081.
    #[arg(long, env = "SEN_EXCHANGE_GATEWAY")]
    exchange_gateway: Option<String>,
    /// The portal's subsystem in the exchange.
    #[arg(long, default_value = "VN/GOV/VPCP/DVCQG", env = "SEN_EXCHANGE_CLIENT")]
    exchange_client: String,
    /// NATS server with JetStream, e.g. `nats://127.0.0.1:4222`: registry change events are
    /// also published there for other nodes. Without it they reach this node's consumers only.
    #[arg(long, env = "SEN_NATS_URL")]
    nats: Option<String>,
    /// How often the outbox relay looks for new events, in milliseconds.
    #[arg(long, default_value_t = 200)]
    events_every_ms: u64,
    /// Serve the portal's services for the exchange (the consent check) on this address,
    /// where the portal's gateway forwards them; keep it on loopback.
    #[arg(long)]
    services_listen: Option<SocketAddr>,
    /// SMTP relay for e-mail notifications, `host:port`. Without it e-mails wait (and
    /// finally fail as technical failures).
    #[arg(long, env = "SEN_SMTP")]
    smtp: Option<String>,
    /// `From:` of e-mail notifications.
    #[arg(long, env = "SEN_SMTP_FROM", default_value = "Cổng dịch vụ công Sen <no-reply@sen.gov.vn>")]
    smtp_from: String,
    /// Use plain SMTP without STARTTLS (only for a relay on loopback).
    #[arg(long)]
    smtp_plain: bool,
    /// SMTP user name; the password comes from SEN_SMTP_PASSWORD.
    #[arg(long, env = "SEN_SMTP_USER")]
    smtp_user: Option<String>,
    /// The SMS gateway's URL (`POST` JSON `{to, body, reference}`); the token comes from
    /// SEN_SMS_TOKEN.
    #[arg(long, env = "SEN_SMS_URL")]
    sms_url: Option<String>,
    /// How often the notification sender runs, in milliseconds.
    #[arg(long, default_value_t = 500)]
    notify_every_ms: u64,
    /// Seconds a claimed notification is held before another try (a sender that died
    /// mid-send); longer than a delivery may take.
    #[arg(long, default_value_t = 60)]
    notify_lease_secs: u64,
    /// An OpenAI-compatible chat endpoint (vLLM, llama.cpp's server, Ollama), its base URL
    /// such as `http://127.0.0.1:8000/v1`: it may rephrase the assistant's grounded answers,
    /// which are kept only if every fact survives. The key, if any, comes from SEN_LLM_API_KEY.
    #[arg(long, env = "SEN_LLM_URL")]
    llm_url: Option<String>,
    /// The model the chat endpoint serves.
    #[arg(long, env = "SEN_LLM_MODEL", default_value = "qwen2.5-7b-instruct")]
    llm_model: String,
    /// How long the assistant waits for the chat model before answering with the facts as
    /// composed, in milliseconds.
    #[arg(long, env = "SEN_LLM_TIMEOUT_MS", default_value_t = 4000)]
    llm_timeout_ms: u64,
    /// A JSON file of the assistant's FAQs, in place of the shipped ones
    /// (crates/domain/src/assistant_faqs.json shows the shape).
    #[arg(long, env = "SEN_FAQS")]
    faqs: Option<PathBuf>,
    /// A sentence-embedding model directory (config.json, vocab.txt, model.safetensors, as
    /// sentence-transformers saves all-MiniLM-L6-v2) that re-ranks the assistant's sources.
    /// Read from disk only, never downloaded.
    #[arg(long, env = "SEN_ASSISTANT_MODEL")]
    assistant_model: Option<PathBuf>,
    /// Check the addresses of open-data resources that link elsewhere, daily (the metadata
    /// quality's accessibility). Loopback and private addresses are never requested.
    #[arg(long, env = "SEN_CHECK_LINKS")]
    check_links: bool,
    /// The agency (code) that publishes Sen's own dossier statistics as open data (default:
    /// the first provincial People's Committee).
    #[arg(long, env = "SEN_OWN_DATA_AGENCY")]
    own_data_agency: Option<String>,
    /// Turn off `datastore_search_sql` (read-only SELECTs over the open data's tables).
    #[arg(long, env = "SEN_NO_DATASTORE_SQL")]
    no_datastore_sql: bool,
    /// How long one `datastore_search_sql` query may run, in milliseconds.
    #[arg(long, env = "SEN_DATASTORE_SQL_TIMEOUT_MS", default_value_t = 5_000)]
    datastore_sql_timeout_ms: u64,
}

#[derive(Args, Clone)]
struct TrustArgs {
    /// The address people and relying parties reach Sen at (CRL links, QR codes).
    /// Default: http://<--listen>.
    #[arg(long, global = true, env = "SEN_PUBLIC_URL")]
    public_url: Option<String>,
    /// A file holding the CA passphrase (else the environment variable SEN_CA_PASSPHRASE;
    /// the demo keeps a generated one in <data>/ca-passphrase).
    #[arg(long, global = true, env = "SEN_CA_PASSPHRASE_FILE")]
    ca_passphrase_file: Option<PathBuf>,
}

impl TrustArgs {
    fn urls(&self, listen: &SocketAddr) -> sen_trust::cert::PublicUrls {
        sen_trust::cert::PublicUrls { base: self.public_url.clone().unwrap_or_else(|| format!("http://{listen}")) }
    }

    /// The passphrase: SEN_CA_PASSPHRASE, else --ca-passphrase-file, else <data>/ca-passphrase.
    fn passphrase(&self, data: &std::path::Path) -> anyhow::Result<Option<String>> {
        if let Ok(p) = std::env::var("SEN_CA_PASSPHRASE") {
            return Ok(Some(p));
        }
        let file = self.ca_passphrase_file.clone().unwrap_or_else(|| data.join(DEMO_PASSPHRASE_FILE));
        match std::fs::read_to_string(&file) {
            Ok(p) => Ok(Some(p.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.ca_passphrase_file.is_none() => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
        }
    }
}

/// Where the demo keeps its generated CA passphrase (mode 0600).
const DEMO_PASSPHRASE_FILE: &str = "ca-passphrase";

async fn open_trust(
    store: &Store,
    db: &DbArgs,
    trust: &TrustArgs,
    listen: &SocketAddr,
) -> anyhow::Result<sen_web::trust::TrustService> {
    let passphrase = trust
        .passphrase(&db.data)?
        .context("no CA passphrase: set SEN_CA_PASSPHRASE or --ca-passphrase-file (and run `sen ca init` once)")?;
    sen_web::trust::TrustService::open(store, &passphrase, trust.urls(listen))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .context("the certificate authority is not initialised: run `sen ca init`")
}

#[derive(Args, Clone)]
struct SeedArgs {
    /// Citizens to generate (in households).
    #[arg(long, default_value_t = 10_000)]
    citizens: usize,
    /// Businesses to generate.
    #[arg(long, default_value_t = 500)]
    businesses: usize,
    /// Dossiers of history to generate.
    #[arg(long, default_value_t = 5_000)]
    dossiers: usize,
    /// The generator's seed: the same seed gives the same data.
    #[arg(long, default_value_t = 2030)]
    seed: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server on an existing database (applies migrations first).
    Serve(ServeArgs),
    /// Start with the demo province: seeds an empty database, prints the demo accounts, serves.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        seed: SeedArgs,
    },
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Fill an empty database with generated data (use large numbers for scale tests).
    Seed {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        seed: SeedArgs,
    },
    /// Manage accounts.
    User {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Print the OpenAPI 3.1 document of the JSON API.
    Openapi,
    /// Measure a running server (see docs/BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Measure the trust layer in process: signatures, PDFs, verification, log appends, proofs.
    BenchTrust(bench_trust::BenchTrustArgs),
    /// Measure a registry lookup directly and through a pair of gateways, in process.
    BenchExchange(bench_exchange::BenchExchangeArgs),
    /// Judge the assistant on a question set (`sen eval assistant FILE.jsonl`).
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Benchmark the once-only form: explicit requests through two gateways and the pre-filled form.
    BenchPrefill(bench_prefill::BenchPrefillArgs),
    /// Benchmark the open-data portal's CKAN API over a large catalogue.
    BenchOpenData(bench_open_data::BenchOpenDataArgs),
    /// Benchmark the open-data datastore: datastore_search and datastore_search_sql on a
    /// table of millions of rows.
    BenchDatastore(bench_datastore::BenchDatastoreArgs),
    /// Sen's certificate authority: initialise, issue, revoke, rotate seals.
    Ca {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        trust: TrustArgs,
        #[command(subcommand)]
        action: CaCommand,
    },
    /// Verify signed results (JWS `.json`, PDF with its `.p7s`): exit status 0 if all are valid, 1 if not.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Trust these CA certificates (PEM) instead of the database's.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Revocations from this CRL (DER), with --ca.
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// Print the verdicts as JSON.
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The exchange directory: enrol gateways, register the registries' services.
    Exchange {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        trust: TrustArgs,
        #[command(subcommand)]
        action: exchange::ExchangeCommand,
    },
    /// A member's exchange gateway: make its keys, run it.
    #[command(subcommand)]
    Gateway(exchange::GatewayCommand),
    /// The tamper-evident log.
    Log {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        action: LogCommand,
    },
    /// Registry change events: list the outbox, or consume events of other nodes from NATS.
    Events {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        action: EventsCommand,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// The population registry's age scan: announce who reaches 6, 14, 17 or retirement
    /// age on the days since the last scan, up to `--today`.
    ScanAges {
        /// The day to scan up to (YYYY-MM-DD); default today in Vietnam.
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
    /// The latest events of this node's outbox, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Run a durable JetStream consumer that applies other nodes' events to this database,
    /// each exactly once, until Ctrl-C.
    Consume {
        #[arg(long, env = "SEN_NATS_URL", default_value = "nats://127.0.0.1:4222")]
        nats: String,
        /// Which of Sen's consumers: `population` (newborns join the population registry) or
        /// `proactive` (life events become offers in people's inboxes).
        #[arg(long, default_value = "population")]
        consumer: String,
    },
}

#[derive(Subcommand)]
enum CaCommand {
    /// Create the root CA, the issuing CA, the time-stamping authority and the log key.
    Init,
    /// Issue a seal for an agency or a personal signing certificate for an official.
    Issue {
        /// `seal` or `personal`.
        #[arg(long)]
        kind: String,
        /// The agency's code (seal).
        #[arg(long)]
        agency: Option<String>,
        /// The official's username (personal).
        #[arg(long)]
        user: Option<String>,
    },
    /// Replace an agency's seal; what the old seal signed stays valid.
    RotateSeal {
        #[arg(long)]
        agency: String,
    },
    /// Revoke a certificate and publish a new CRL.
    Revoke {
        /// Hex serial number.
        #[arg(long)]
        serial: String,
        /// keyCompromise, affiliationChanged, superseded, cessationOfOperation or unspecified.
        #[arg(long)]
        reason: String,
    },
    /// Print the CA chain (PEM).
    Chain,
}

#[derive(Subcommand)]
enum LogCommand {
    /// Recompute every leaf, the tree and every checkpoint; name the first entry that does not match.
    Verify,
    /// Move queued entries into the log and sign a checkpoint now.
    Checkpoint {
        #[command(flatten)]
        trust: TrustArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from the environment variable named by --password-env.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// citizen, business, officer or admin.
        #[arg(long, default_value = "officer")]
        kind: String,
        #[arg(long, default_value = "SEN_PASSWORD")]
        password_env: String,
    },
    /// Grant a role in an agency: reception, specialist, approver or agency_admin.
    Grant {
        #[arg(long)]
        username: String,
        /// The agency's code, e.g. H01.STP.
        #[arg(long)]
        agency: String,
        #[arg(long)]
        role: String,
    },
    /// Set a new password, read from the environment variable named by --password-env.
    Password {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "SEN_PASSWORD")]
        password_env: String,
    },
}

fn init_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SEN_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sen::http=warn"));
    let json = std::env::var("SEN_LOG_FORMAT").is_ok_and(|v| v == "json");
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if json { b.json().init() } else { b.init() }
}

fn read_password(var: &str) -> anyhow::Result<String> {
    let p = std::env::var(var).with_context(|| format!("set the password in the environment variable {var}"))?;
    if p.chars().count() < sen_domain::password::MIN_LENGTH {
        bail!("the password must have at least {} characters", sen_domain::password::MIN_LENGTH);
    }
    Ok(p)
}

async fn serve(store: Store, args: &ServeArgs, demo: bool) -> anyhow::Result<()> {
    let secure = match args.secure_cookies {
        CookieMode::Always => true,
        CookieMode::Never => false,
        CookieMode::Auto => !args.listen.ip().is_loopback(),
    };
    let urls = args.trust.urls(&args.listen);
    let trust = open_trust(&store, &args.db, &args.trust, &args.listen).await?;
    let smtp = match &args.smtp {
        Some(addr) => {
            let (host, port) = addr.rsplit_once(':').ok_or_else(|| anyhow::anyhow!("--smtp is host:port"))?;
            Some(sen_web::notify_http::SmtpConfig {
                host: host.to_string(),
                port: port.parse().context("--smtp port")?,
                from: args.smtp_from.clone(),
                starttls: !args.smtp_plain,
                username: args.smtp_user.clone(),
                password: std::env::var("SEN_SMTP_PASSWORD").ok(),
            })
        }
        None => None,
    };
    let notify = sen_web::notify_http::NotifyConfig {
        smtp,
        sms: args
            .sms_url
            .clone()
            .map(|url| sen_web::notify_http::SmsConfig { url, token: std::env::var("SEN_SMS_TOKEN").ok() }),
        every: std::time::Duration::from_millis(args.notify_every_ms.max(10)),
        lease: std::time::Duration::from_secs(args.notify_lease_secs.clamp(2, 3600)),
    };
    let config = sen_web::Config {
        notify,
        max_file_bytes: args.max_file_bytes,
        secure_cookies: secure,
        overdue_every: std::time::Duration::from_secs(args.overdue_every.max(1)),
        public_url: urls.base.clone(),
        checkpoint_every: std::time::Duration::from_secs(args.checkpoint_every.max(1)),
        trust_jobs_every: std::time::Duration::from_millis(args.trust_jobs_every_ms.max(10)),
        exchange: match (&args.exchange_gateway, demo) {
            (Some(gateway), _) => Some(gateway.clone()),
            // The demo runs its own exchange, in process (see `demo_exchange`).
            (None, true) => demo_exchange::portal_gateway(&args.db.data).ok(),
            (None, false) => None,
        }
        .map(|gateway| sen_web::data_reads_http::ExchangeClient { gateway, client: args.exchange_client.clone() }),
        assistant_llm: match &args.llm_url {
            Some(url) => {
                let mut chat = sen_ai::llm::ChatConfig::new(url.clone(), args.llm_model.clone());
                chat.api_key = std::env::var("SEN_LLM_API_KEY").ok();
                chat.timeout = std::time::Duration::from_millis(args.llm_timeout_ms.clamp(100, 60_000));
                Some(sen_ai::llm::ChatClient::new(chat).map_err(|e| anyhow::anyhow!("{e}"))?)
            }
            None => None,
        },
        assistant_faqs: match &args.faqs {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
                sen_domain::assistant::parse_faqs(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => sen_domain::assistant::shipped_faqs(),
        },
        assistant_model: match &args.assistant_model {
            Some(dir) => Some(std::sync::Arc::new(
                sen_ai::embed::Embedder::load(dir)
                    .with_context(|| format!("the assistant model in {}", dir.display()))?,
            )),
            None => None,
        },
        check_links: args.check_links,
        link_check_private: false,
        own_data_agency: args.own_data_agency.clone(),
        datastore_sql: !args.no_datastore_sql,
        datastore_sql_timeout: std::time::Duration::from_millis(args.datastore_sql_timeout_ms.clamp(10, 600_000)),
    };
    let state = sen_web::AppState::new(store.clone(), config, std::sync::Arc::new(trust))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let job = sen_web::spawn_overdue_job(state.clone());
    let trust_job = sen_web::spawn_trust_jobs(state.clone());
    let sender = sen_web::notify_http::spawn_sender(state.clone());
    let bundles = sen_web::bundle_http::spawn_bundle_job(state.clone(), std::time::Duration::from_secs(2));
    // Other nodes' open-data writes reach this node's search index.
    let open_data = sen_web::ckan_http::spawn_index_refresh(state.clone(), std::time::Duration::from_secs(5));
    // The open data's metadata quality, with the link checker when --check-links.
    let quality = sen_web::quality_http::spawn_quality_job(state.clone(), std::time::Duration::from_secs(600));
    // Uploaded CSV tables loaded into the datastore (datastore_search).
    let datastore = sen_web::datastore_http::spawn_datastore_loader(state.clone(), std::time::Duration::from_secs(1));
    // Uses of the open data, counted in memory, added to the database every 5 s.
    let usage = sen_web::usage_http::spawn_usage_flush(state.clone(), std::time::Duration::from_secs(5));
    // Sen's own statistics as an open dataset, daily. The demo has them before it serves
    // (its catalogue is complete from the first request); a server starts with them at once,
    // in the background.
    let day = std::time::Duration::from_secs(86_400);
    let first = if demo {
        if let Err(e) = sen_web::own_stats_http::publish(&state, chrono::Utc::now()).await {
            tracing::warn!(error = ?e, "open data: the platform's statistics not published");
        }
        day
    } else {
        std::time::Duration::ZERO
    };
    let own_stats = sen_web::own_stats_http::spawn_own_statistics(state.clone(), first, day);
    // Registry change events: this node's population registry applies them in process; with
    // --nats, other nodes get them through JetStream.
    let mut relay = sen_events::Relay::new(store.clone())
        .with_local_consumer(sen_store::outbox::consumers::POPULATION)
        .with_local_consumer(sen_store::outbox::consumers::PROACTIVE);
    // The population registry announces birthdays that are life events (6, 14, 17,
    // retirement age) once a day; the scan keeps its mark, so running it hourly is harmless.
    let scan_store = store.clone();
    let age_scan = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let today = chrono::Utc::now().with_timezone(&sen_store::vn_offset()).date_naive();
            match scan_store.scan_age_milestones(today).await {
                Ok(n) if n > 0 => tracing::info!(events = n, "population age milestones announced"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "population age scan failed"),
            }
        }
    });
    if let Some(url) = &args.nats {
        let bus = sen_events::connect(url, sen_events::Names::default())
            .await
            .with_context(|| format!("cannot reach NATS JetStream at {url}"))?;
        tracing::info!(url, "registry change events are published on NATS JetStream");
        relay = relay.with_jetstream(bus);
    }
    let services = match args.services_listen {
        Some(addr) => {
            let listener =
                tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
            let app = sen_web::consent_http::service_routes(store.clone());
            tracing::info!(%addr, "exchange services (consent check) listening");
            Some(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }))
        }
        None => None,
    };
    let (stop_relay, relay_stopped) = tokio::sync::watch::channel(false);
    let relay_job = relay.spawn(std::time::Duration::from_millis(args.events_every_ms.max(10)), relay_stopped);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(backend = store.backend().as_str(), "Sen is listening on http://{}", args.listen);
    let app = sen_web::router(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    });
    // The demo's exchange needs the directory (this server) listening; it is an extra: if it
    // cannot start, the demo serves without it.
    let exchange = if demo && args.exchange_gateway.is_none() {
        match demo_exchange::start(&state, &args.db.data, &format!("http://{}", args.listen)).await {
            Ok(x) => Some(x),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "the demo's data exchange did not start; serving without it");
                None
            }
        }
    } else {
        None
    };
    server.await??;
    if let Some(x) = exchange {
        x.stop().await;
    }
    job.abort();
    trust_job.abort();
    let _ = stop_relay.send(true);
    if let Some(s) = services {
        s.abort();
    }
    age_scan.abort();
    sender.abort();
    bundles.abort();
    open_data.abort();
    quality.abort();
    usage.abort();
    datastore.abort();
    own_stats.abort();
    // What was counted since the last flush.
    let _ = sen_web::usage_http::flush(&state).await;
    let _ = relay_job.await;
    // Let the group commit write what it holds before the process ends.
    store.close().await;
    Ok(())
}

async fn events(store: &Store, action: EventsCommand) -> anyhow::Result<()> {
    match action {
        EventsCommand::ScanAges { today } => {
            let today = today.unwrap_or_else(|| chrono::Utc::now().with_timezone(&sen_store::vn_offset()).date_naive());
            let n = store.scan_age_milestones(today).await?;
            println!("{n} age milestone event(s) written to the outbox through {today}");
            Ok(())
        }
        EventsCommand::List { limit } => {
            for e in store.outbox_recent(limit.min(1000)).await? {
                let state = match e.published_at {
                    Some(t) => format!("published {}", t.to_rfc3339()),
                    None => "pending".into(),
                };
                println!("{} {} {} {}", e.created_at.to_rfc3339(), e.event_id, e.topic, state);
            }
            Ok(())
        }
        EventsCommand::Consume { nats, consumer } => {
            if !sen_store::outbox::consumers::ALL.contains(&consumer.as_str()) {
                bail!("unknown consumer {consumer}: Sen runs {}", sen_store::outbox::consumers::ALL.join(", "));
            }
            let bus = sen_events::connect(&nats, sen_events::Names::default())
                .await
                .with_context(|| format!("cannot reach NATS JetStream at {nats}"))?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                let _ = stop.send(true);
            });
            println!("consuming registry change events as `{consumer}` from {nats} (Ctrl-C stops)");
            let n = sen_events::consume(&bus, store, &consumer, stopped).await?;
            println!("{n} events applied");
            Ok(())
        }
    }
}

async fn seed(store: &Store, s: &SeedArgs) -> anyhow::Result<Vec<sen_demo::DemoAccount>> {
    let opts = sen_demo::SeedOptions {
        seed: s.seed,
        citizens: s.citizens,
        businesses: s.businesses,
        dossiers: s.dossiers,
        now: chrono::Utc::now(),
    };
    let started = std::time::Instant::now();
    let accounts = sen_demo::seed(store, &opts).await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "seeded");
    Ok(accounts)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logs();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The message and its causes, for the person at the terminal; no backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let store = args.db.open().await?;
            serve(store, &args, false).await
        }
        Command::Demo { serve: args, seed: s } => {
            let store = args.db.open().await?;
            if store.count_rows("provinces").await? == 0 {
                let accounts = seed(&store, &s).await?;
                println!(
                    "\nSen demo — tài khoản thử nghiệm (mật khẩu chung / shared password: {})",
                    sen_demo::DEMO_PASSWORD
                );
                for a in &accounts {
                    println!("  {:<16} {}", a.username, a.who);
                }
                println!(
                    "  Mọi công dân mẫu đăng nhập bằng số định danh; mọi cán bộ mẫu bằng cb.<mã cơ quan>.<vai trò>.\n"
                );
            } else {
                println!(
                    "\nSen demo: the database in use already holds data; demo accounts use the password {}.\n",
                    sen_demo::DEMO_PASSWORD
                );
            }
            init_demo_ca(&store, &args).await?;
            println!("Open http://{}/\n", args.listen);
            serve(store, &args, true).await
        }
        Command::Exchange { db, trust, action } => {
            let store = db.open().await?;
            let listen: SocketAddr = "127.0.0.1:8080".parse().expect("address");
            let result = exchange::exchange(&store, open_trust(&store, &db, &trust, &listen), action).await;
            store.close().await;
            result
        }
        Command::Gateway(action) => exchange::gateway(action).await,
        Command::Events { db, action } => {
            let store = db.open().await?;
            let result = events(&store, action).await;
            store.close().await;
            result
        }
        Command::Migrate(db) => {
            let cfg = db.config()?;
            let store = Store::connect(&cfg).await?;
            let applied = store.migrate().await?;
            println!("migrations applied: {applied:?} ({})", store.backend().as_str());
            store.close().await;
            Ok(())
        }
        Command::Seed { db, seed: s } => {
            // A bulk load: a large page cache keeps the growing indexes in memory.
            let store = db.open_with(|cfg| cfg.sqlite_cache_mib = 1024).await?;
            seed(&store, &s).await?;
            store.close().await;
            Ok(())
        }
        Command::User { db, action } => {
            let store = db.open().await?;
            match action {
                UserCommand::Add { username, name, kind, password_env } => {
                    if !["citizen", "business", "officer", "admin"].contains(&kind.as_str()) {
                        bail!("--kind is citizen, business, officer or admin");
                    }
                    let password = read_password(&password_env)?;
                    let id = store
                        .create_user(&NewUser {
                            username: username.clone(),
                            password_hash: sen_domain::password::hash(&password),
                            display_name: name,
                            kind,
                            person_number: None,
                            tax_code: None,
                            email: None,
                        })
                        .await?;
                    println!("created {username} (id {id})");
                }
                UserCommand::Grant { username, agency, role } => {
                    if sen_domain::Role::parse(&role).is_none() {
                        bail!("--role is reception, specialist, approver or agency_admin");
                    }
                    let u = store.user_by_username(&username).await.context("no such user")?;
                    let a = store.agency_by_code(&agency).await.context("no such agency")?;
                    store.grant_role(u.id, a.id, &role).await?;
                    store
                        .record(
                            &sen_store::dossiers::Actor::system("sen user grant"),
                            "role.grant",
                            "user",
                            &u.id.to_string(),
                            serde_json::json!({"agency": a.code, "role": role}),
                        )
                        .await?;
                    println!("{username} is {role} in {}", a.name);
                }
                UserCommand::Password { username, password_env } => {
                    let password = read_password(&password_env)?;
                    let u = store.user_by_username(&username).await.context("no such user")?;
                    store.set_password(u.id, &sen_domain::password::hash(&password)).await?;
                    println!("password changed for {username}");
                }
            }
            store.close().await;
            Ok(())
        }
        Command::Openapi => {
            println!("{}", sen_web::openapi::document());
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::BenchTrust(args) => bench_trust::run(args).await,
        Command::BenchExchange(args) => bench_exchange::run(args).await,
        Command::BenchPrefill(args) => bench_prefill::run(args).await,
        Command::BenchOpenData(args) => bench_open_data::run(args).await,
        Command::BenchDatastore(args) => bench_datastore::run(args).await,
        Command::Eval(cmd) => eval::run(cmd).await,
        Command::Ca { db, trust, action } => ca_command(db, trust, action).await,
        Command::Verify { db, ca, crl, json, files } => {
            let code = verify::run(&db, ca, crl, json, files).await?;
            std::process::exit(code)
        }
        Command::Log { db, action } => {
            let store = db.open().await?;
            match action {
                LogCommand::Verify => {
                    let report = sen_web::trust::verify_log(&store).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    store.close().await;
                    if report.ok {
                        println!(
                            "log ok: {} entries, {} signed checkpoints, every root and signature holds",
                            report.entries, report.checkpoints
                        );
                        Ok(())
                    } else {
                        for p in &report.problems {
                            println!("✘ {p}");
                        }
                        if let Some(e) = report.first_bad_entry {
                            println!("first entry that does not match: {e}");
                        }
                        std::process::exit(1)
                    }
                }
                LogCommand::Checkpoint { trust } => {
                    let listen: SocketAddr = "127.0.0.1:8080".parse().expect("address");
                    let service = open_trust(&store, &db, &trust, &listen).await?;
                    let (logged, stamped) = service.run_jobs().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    let c = service.checkpoint().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!(
                        "logged {logged}, stamped {stamped}; checkpoint: {}",
                        c.map(|c| c.size.to_string()).unwrap_or("unchanged".into())
                    );
                    store.close().await;
                    Ok(())
                }
            }
        }
    }
}

/// The demo initialises the CA with a generated passphrase kept in <data>/ca-passphrase
/// (unless SEN_CA_PASSPHRASE is set), then enrols the named officers and their agencies.
async fn init_demo_ca(store: &Store, args: &ServeArgs) -> anyhow::Result<()> {
    if store.vault().await?.is_some() {
        return Ok(());
    }
    let passphrase = match args.trust.passphrase(&args.db.data)? {
        Some(p) => p,
        None => {
            use rand::Rng;
            let p: String =
                rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(32).map(char::from).collect();
            std::fs::create_dir_all(&args.db.data)?;
            let file = args.db.data.join(DEMO_PASSPHRASE_FILE);
            write_private(&file, &p)?;
            println!("CA passphrase generated for the demo and kept in {} (readable by you only)", file.display());
            p
        }
    };
    let service = sen_web::trust::TrustService::init(store, &passphrase, args.trust.urls(&args.listen))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for username in ["motcua", "chuyenvien", "lanhdao", "quantri", "motcua.badinh"] {
        if let Ok(u) = store.user_by_username(username).await {
            service.personal(u.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            for role in store.roles(u.id).await? {
                service.seal(role.agency_id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
    }
    println!(
        "Certificate authority initialised: root, issuing CA, time-stamping authority, log key, seals of the demo agencies."
    );
    Ok(())
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

async fn ca_command(db: DbArgs, trust: TrustArgs, action: CaCommand) -> anyhow::Result<()> {
    let store = db.open().await?;
    let listen: SocketAddr = "127.0.0.1:8080".parse().expect("address");
    let err = |e: sen_web::error::AppError| anyhow::anyhow!("{e}");
    let actor = sen_store::dossiers::Actor::system("sen ca");
    match action {
        CaCommand::Init => {
            let passphrase = trust.passphrase(&db.data)?.context("set SEN_CA_PASSPHRASE or --ca-passphrase-file")?;
            let service =
                sen_web::trust::TrustService::init(&store, &passphrase, trust.urls(&listen)).await.map_err(err)?;
            let root = service.ca_certificate(true).await.map_err(err)?;
            println!(
                "certificate authority initialised; root SHA-256 fingerprint {}",
                sen_web::trust::thumbprint(&root)
            );
        }
        CaCommand::Issue { kind, agency, user } => {
            let service = open_trust(&store, &db, &trust, &listen).await?;
            let loaded = match (kind.as_str(), agency, user) {
                ("seal", Some(code), _) => {
                    let a = store.agency_by_code(&code).await.context("no such agency")?;
                    service.seal(a.id).await.map_err(err)?
                }
                ("personal", _, Some(username)) => {
                    let u = store.user_by_username(&username).await.context("no such user")?;
                    service.personal(u.id).await.map_err(err)?
                }
                _ => bail!("use --kind seal --agency CODE or --kind personal --user USERNAME"),
            };
            println!("active certificate {}", loaded.serial);
        }
        CaCommand::RotateSeal { agency } => {
            let service = open_trust(&store, &db, &trust, &listen).await?;
            let a = store.agency_by_code(&agency).await.context("no such agency")?;
            let row = service.rotate_seal(a.id, &actor).await.map_err(err)?;
            println!("new seal {} for {}", row.serial, a.name);
        }
        CaCommand::Revoke { serial, reason } => {
            let service = open_trust(&store, &db, &trust, &listen).await?;
            let reason = sen_trust::cert::RevocationReason::parse(&reason).context("unknown reason")?;
            let row = service.revoke(&serial.to_ascii_lowercase(), reason, &actor).await.map_err(err)?;
            println!(
                "revoked {} ({}) at {}",
                row.serial,
                row.subject,
                row.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            );
        }
        CaCommand::Chain => {
            for kind in ["issuing", "root"] {
                if let Some(c) = store.active_cert(kind, None, None).await? {
                    let cert = sen_trust::cert::cert_from_der(&c.der)?;
                    print!("{}", sen_trust::cert::to_pem(&cert)?);
                }
            }
        }
    }
    store.close().await;
    Ok(())
}
