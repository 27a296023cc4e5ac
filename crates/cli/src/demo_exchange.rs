//! The demo's data exchange, in the `sen demo` process: the base registries' services on the
//! demo database, a gateway that hosts them, and the portal's own gateway, so that one command
//! shows registry data travelling through two gateways and "who read my data". The gateways'
//! keys, certificates and the portal gateway's database live under `<data>/exchange/`; their
//! ports are chosen once and kept there (the directory records the addresses).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sen_exchange::ClientId;
use sen_store::Store;
use sen_store::dossiers::Actor;
use serde::{Deserialize, Serialize};

const PORTAL: &str = "VN/GOV/VPCP/DVCQG";
/// The registries' subsystems, hosted by one gateway of the Ministry of Public Security.
const REGISTRIES: [&str; 5] =
    ["VN/GOV/BCA/CSDLQGDC", "VN/GOV/BTP/HOTICH", "VN/GOV/BTC/DKDN", "VN/GOV/BHXHVN/CSDLBH", "VN/GOV/BNNMT/CSDLDD"];

#[derive(Serialize, Deserialize, Clone, Copy)]
struct Ports {
    portal_client: u16,
    portal_server: u16,
    registry_client: u16,
    registry_server: u16,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn ports(dir: &Path) -> anyhow::Result<Ports> {
    let file = dir.join("ports.json");
    if let Ok(text) = std::fs::read_to_string(&file) {
        return serde_json::from_str(&text).with_context(|| format!("{} is unreadable", file.display()));
    }
    let p = Ports {
        portal_client: free_port()?,
        portal_server: free_port()?,
        registry_client: free_port()?,
        registry_server: free_port()?,
    };
    std::fs::create_dir_all(dir)?;
    std::fs::write(&file, serde_json::to_string_pretty(&p)?)?;
    Ok(p)
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The portal gateway's client proxy, known before anything starts (the portal's config).
pub fn portal_gateway(data: &Path) -> anyhow::Result<String> {
    Ok(format!("http://{}", addr(ports(&data.join("exchange"))?.portal_client)))
}

/// The running parts, stopped with the demo.
pub struct DemoExchange {
    gateways: Vec<sen_gateway::Running>,
    registry: tokio::task::JoinHandle<()>,
    portal_store: Store,
}

impl DemoExchange {
    pub async fn stop(self) {
        for g in self.gateways {
            g.stop().await;
        }
        self.registry.abort();
        self.portal_store.close().await;
    }
}

async fn gateway_dir(
    state: &sen_web::AppState,
    dir: PathBuf,
    owner: &str,
    serves: &[&str],
    server: SocketAddr,
) -> anyhow::Result<PathBuf> {
    if dir.join("tls.crt").exists() {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    crate::exchange::enrol(&state.trust, &dir, owner, serves, server).await?;
    Ok(dir)
}

/// Starts the demo's exchange once the portal (the directory) listens at `directory`.
pub async fn start(state: &sen_web::AppState, data: &Path, directory: &str) -> anyhow::Result<DemoExchange> {
    let root = data.join("exchange");
    let p = ports(&root)?;
    let store = state.store.clone();
    let system = Actor::system("sen demo");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let registry_url = format!("http://{}", listener.local_addr()?);
    // The registries check consents through the registries' gateway; the portal's consent
    // check is served beside them (the demo keeps one database for all).
    let consents = sen_web::registry_http::ConsentChecker {
        gateway: format!("http://{}", addr(p.registry_client)),
        http: reqwest::Client::new(),
    };
    let app = sen_web::registry_http::routes(store.clone(), Some(consents))
        .merge(sen_web::consent_http::service_routes(store.clone()));
    let registry = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let portal = ClientId::parse(PORTAL).map_err(anyhow::Error::msg)?;
    sen_web::registry_http::register(&store, &registry_url, &[portal], 3000, &system).await?;
    sen_web::registry_http::register_consent_check(&store, &registry_url, 2000, &system).await?;

    let portal_dir =
        gateway_dir(state, root.join("portal-gw"), "VN/GOV/VPCP", &[PORTAL], addr(p.portal_server)).await?;
    let registry_dir =
        gateway_dir(state, root.join("registry-gw"), "VN/GOV/BCA", &REGISTRIES, addr(p.registry_server)).await?;
    let config = |owner: &str, dir: PathBuf, client: u16, server: u16| {
        Ok::<_, anyhow::Error>(sen_gateway::GatewayConfig {
            owner: ClientId::parse(owner).map_err(anyhow::Error::msg)?.member,
            code: "GW1".into(),
            directory_url: directory.to_string(),
            dir,
            client_listen: addr(client),
            server_listen: addr(server),
            refresh: Duration::from_secs(5),
            max_conf_age: Duration::from_secs(3600),
        })
    };
    std::fs::create_dir_all(root.join("portal-gw-db"))?;
    let portal_store = Store::connect(&sen_store::StoreConfig::sqlite_in(&root.join("portal-gw-db"))).await?;
    portal_store.migrate().await?;
    let registry_gw =
        sen_gateway::start(config("VN/GOV/BCA", registry_dir, p.registry_client, p.registry_server)?, store.clone())
            .await?;
    let portal_gw =
        sen_gateway::start(config("VN/GOV/VPCP", portal_dir, p.portal_client, p.portal_server)?, portal_store.clone())
            .await?;
    println!(
        "Data exchange: the portal's gateway at http://{} (try GET /listClients), the registries' at https://{}",
        portal_gw.client_addr, registry_gw.server_addr
    );
    Ok(DemoExchange { gateways: vec![portal_gw, registry_gw], registry, portal_store })
}
