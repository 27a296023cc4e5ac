//! `sen exchange …` (on the central directory's database) and `sen gateway …` (where a
//! member runs its gateway): enrolment of gateways, registration of the registry services,
//! and the gateway itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use sen_exchange::{ClientId, MemberId};
use sen_store::dossiers::Actor;

use crate::DbArgs;

#[derive(Subcommand)]
pub enum ExchangeCommand {
    /// Certify a gateway's keys (its request.json) and register it in the directory; the
    /// certificates are written next to its keys.
    EnrolGateway {
        /// The member that runs it, INSTANCE/CLASS/CODE.
        #[arg(long)]
        member: String,
        /// Its code, unique for the member.
        #[arg(long, default_value = "GW1")]
        code: String,
        /// https://host:port where peer gateways reach it.
        #[arg(long)]
        address: String,
        /// The subsystems it serves (INSTANCE/CLASS/MEMBER/SUBSYSTEM), comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        serves: Vec<String>,
        /// The gateway's directory, holding request.json (from `sen gateway keygen`).
        #[arg(long)]
        dir: PathBuf,
    },
    /// Withdraw a gateway: peers refuse it from their next configuration on.
    RetireGateway {
        #[arg(long)]
        member: String,
        #[arg(long, default_value = "GW1")]
        code: String,
    },
    /// Register the base registries' services (answering at --base-url) and grant clients the right to use them.
    RegisterRegistries {
        /// Where the registry services answer (`sen gateway run --registries-listen`).
        #[arg(long)]
        base_url: String,
        /// Clients granted the right, comma-separated (default: the national portal).
        #[arg(long, value_delimiter = ',', default_value = "VN/GOV/VPCP/DVCQG")]
        grant: Vec<String>,
        /// How long the provider's gateway waits for the registry, in ms.
        #[arg(long, default_value_t = 3000)]
        timeout_ms: u64,
    },
    /// Register the portal's consent check (answering at --base-url, `sen serve
    /// --services-listen`), which the registries ask before answering a read on consent.
    RegisterConsentCheck {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum GatewayCommand {
    /// Make a gateway's TLS and message keys in --dir and the request for the CA (request.json).
    Keygen {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Run a gateway: the client proxy for the member's systems, the server proxy for peers.
    Run {
        #[command(flatten)]
        db: DbArgs,
        /// The member that runs it, INSTANCE/CLASS/CODE.
        #[arg(long)]
        member: String,
        #[arg(long, default_value = "GW1")]
        code: String,
        /// Its keys and certificates (see `sen gateway keygen`, `sen exchange enrol-gateway`).
        #[arg(long)]
        dir: PathBuf,
        /// The central directory, e.g. http://127.0.0.1:8080.
        #[arg(long, env = "SEN_DIRECTORY_URL")]
        directory: String,
        /// The client proxy (keep it on loopback or a private network).
        #[arg(long, default_value = "127.0.0.1:8081")]
        client_listen: SocketAddr,
        /// The server proxy, for peer gateways (mutual TLS).
        #[arg(long, default_value = "127.0.0.1:8443")]
        server_listen: SocketAddr,
        /// Seconds between fetches of the directory.
        #[arg(long, default_value_t = 30)]
        refresh_secs: u64,
        /// Seconds the directory may age, when it cannot be fetched, before every message is
        /// refused (`OutdatedGlobalConf`).
        #[arg(long, default_value_t = 3600)]
        max_conf_age_secs: u64,
        /// Also serve the base registries' services from this gateway's database, on this (loopback) address.
        #[arg(long)]
        registries_listen: Option<SocketAddr>,
    },
}

fn member(s: &str) -> anyhow::Result<MemberId> {
    let c = ClientId::parse(s).map_err(|e| anyhow::anyhow!("{s}: {e}"))?;
    if c.subsystem.is_some() {
        anyhow::bail!("{s} names a subsystem; a member is INSTANCE/CLASS/CODE");
    }
    Ok(c.member)
}

fn clients(list: &[String]) -> anyhow::Result<Vec<ClientId>> {
    list.iter().map(|s| ClientId::parse(s.trim()).map_err(|e| anyhow::anyhow!("{s}: {e}"))).collect()
}

/// Has the CA certify the public keys of `request`, registers the gateway in the directory,
/// and writes its certificates into `dir`, next to its keys.
#[allow(clippy::too_many_arguments)]
async fn certify(
    trust: &sen_web::trust::TrustService,
    dir: &std::path::Path,
    request: &sen_gateway::credentials::KeyRequest,
    owner: MemberId,
    code: &str,
    address: String,
    serves: Vec<ClientId>,
    actor: &Actor,
) -> anyhow::Result<()> {
    let (tls_public_key, message_public_key) = request.keys()?;
    let enrolment = sen_web::trust::GatewayEnrolment {
        owner,
        code: code.to_string(),
        address,
        serves,
        tls_public_key,
        message_public_key,
    };
    let issued = trust.enrol_gateway(&enrolment, actor).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    sen_gateway::credentials::install(dir, &issued.tls_chain_pem, &issued.message_pem, &issued.root_pem)?;
    Ok(())
}

/// Makes a gateway `GW1` in `dir` (its keys, then its certificates) for a gateway run by this
/// process: the demo's and the benchmark's.
pub async fn enrol(
    trust: &sen_web::trust::TrustService,
    dir: &std::path::Path,
    owner: &str,
    serves: &[&str],
    server: SocketAddr,
) -> anyhow::Result<()> {
    let request = sen_gateway::credentials::generate(dir)?;
    let serves: Vec<String> = serves.iter().map(|s| s.to_string()).collect();
    let actor = Actor::system("sen (in-process gateway)");
    certify(trust, dir, &request, member(owner)?, "GW1", format!("https://{server}"), clients(&serves)?, &actor).await
}

pub async fn exchange(
    store: &sen_store::Store,
    trust: impl std::future::Future<Output = anyhow::Result<sen_web::trust::TrustService>>,
    action: ExchangeCommand,
) -> anyhow::Result<()> {
    let actor = Actor::system("sen exchange");
    match action {
        ExchangeCommand::EnrolGateway { member: owner, code, address, serves, dir } => {
            let request = sen_gateway::credentials::read_request(&dir.join("request.json"))?;
            let trust = trust.await?;
            certify(&trust, &dir, &request, member(&owner)?, &code, address, clients(&serves)?, &actor).await?;
            println!("gateway {owner}/{code} registered; certificates written to {}", dir.display());
        }
        ExchangeCommand::RetireGateway { member: owner, code } => {
            store.retire_exchange_gateway(&member(&owner)?, &code, &actor).await?;
            println!("gateway {owner}/{code} retired");
        }
        ExchangeCommand::RegisterRegistries { base_url, grant, timeout_ms } => {
            let n = sen_web::registry_http::register(store, &base_url, &clients(&grant)?, timeout_ms, &actor).await?;
            println!("{n} registry services registered at {base_url}");
        }
        ExchangeCommand::RegisterConsentCheck { base_url, timeout_ms } => {
            sen_web::registry_http::register_consent_check(store, &base_url, timeout_ms, &actor).await?;
            println!("the consent check is registered at {base_url}");
        }
    }
    Ok(())
}

pub async fn gateway(action: GatewayCommand) -> anyhow::Result<()> {
    match action {
        GatewayCommand::Keygen { dir } => {
            sen_gateway::credentials::generate(&dir)?;
            println!("keys and {} written", dir.join("request.json").display());
            Ok(())
        }
        GatewayCommand::Run {
            db,
            member: owner,
            code,
            dir,
            directory,
            client_listen,
            server_listen,
            refresh_secs,
            max_conf_age_secs,
            registries_listen,
        } => {
            let store = db.open().await?;
            let registries = match registries_listen {
                Some(addr) => {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("cannot listen on {addr}"))?;
                    // Reads on consent are checked through this gateway's own client proxy.
                    let consents = sen_web::registry_http::ConsentChecker {
                        gateway: format!("http://{client_listen}"),
                        http: reqwest::Client::new(),
                    };
                    let app = sen_web::registry_http::routes(store.clone(), Some(consents));
                    tracing::info!(%addr, "registry services listening");
                    Some(tokio::spawn(async move {
                        let _ = axum::serve(listener, app).await;
                    }))
                }
                None => None,
            };
            let cfg = sen_gateway::GatewayConfig {
                owner: member(&owner)?,
                code,
                directory_url: directory,
                dir,
                client_listen,
                server_listen,
                refresh: Duration::from_secs(refresh_secs.max(1)),
                max_conf_age: Duration::from_secs(max_conf_age_secs.max(refresh_secs.max(1))),
            };
            let running = sen_gateway::start(cfg, store.clone()).await?;
            println!(
                "gateway: client proxy http://{} · server proxy https://{}",
                running.client_addr, running.server_addr
            );
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = running.wait() => {}
            }
            if let Some(r) = registries {
                r.abort();
            }
            store.close().await;
            Ok(())
        }
    }
}
