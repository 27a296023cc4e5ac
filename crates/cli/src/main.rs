//! `sen`: start the platform, manage its database and accounts, and measure it.

mod bench;

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
    #[arg(long, default_value = "data", env = "SEN_DATA")]
    data: PathBuf,
    /// `postgres://user@host/db` for PostgreSQL, or `sqlite://file.db`. Default: SQLite in --data.
    #[arg(long, env = "SEN_DATABASE_URL")]
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
        let cfg = self.config()?;
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

async fn serve(store: Store, args: &ServeArgs) -> anyhow::Result<()> {
    let secure = match args.secure_cookies {
        CookieMode::Always => true,
        CookieMode::Never => false,
        CookieMode::Auto => !args.listen.ip().is_loopback(),
    };
    let config = sen_web::Config {
        max_file_bytes: args.max_file_bytes,
        secure_cookies: secure,
        overdue_every: std::time::Duration::from_secs(args.overdue_every.max(1)),
    };
    let state = sen_web::AppState::new(store.clone(), config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let job = sen_web::spawn_overdue_job(state.clone());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(backend = store.backend().as_str(), "Sen is listening on http://{}", args.listen);
    axum::serve(listener, sen_web::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    job.abort();
    // Let the group commit write what it holds before the process ends.
    store.close().await;
    Ok(())
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
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs();
    match cli.command {
        Command::Serve(args) => {
            let store = args.db.open().await?;
            serve(store, &args).await
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
            println!("Open http://{}/\n", args.listen);
            serve(store, &args).await
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
            let store = db.open().await?;
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
    }
}
