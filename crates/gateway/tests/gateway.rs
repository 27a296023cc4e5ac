//! The exchange end to end, in one process: the central directory (Sen's web app), two
//! member gateways each with its own database, and the registries' own services behind the
//! provider's gateway. On SQLite, and on PostgreSQL when `SEN_TEST_POSTGRES_URL` is set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use sen_exchange::{ClientId, Endpoint, MemberId, ServiceId};
use sen_gateway::{GatewayConfig, Running};
use sen_store::dossiers::Actor;
use sen_store::exchange::ServiceInput;
use sen_store::{Store, StoreConfig};
use serde_json::Value;

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn temp_dir(what: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let dir = std::env::temp_dir().join(format!("sen-gw-{what}-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn new_store(backend: &str, what: &str) -> Store {
    let store = match backend {
        "sqlite" => Store::connect(&StoreConfig::sqlite_in(&temp_dir(what))).await.unwrap(),
        _ => {
            let url = std::env::var("SEN_TEST_POSTGRES_URL").unwrap();
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
            Store::connect_postgres_schema(&url, &format!("gw{}_{n}_{nanos}", std::process::id())).await.unwrap()
        }
    };
    store.migrate().await.unwrap();
    store
}

fn backends() -> Vec<&'static str> {
    if std::env::var("SEN_TEST_POSTGRES_URL").is_ok() {
        vec!["sqlite", "postgres"]
    } else {
        eprintln!("SKIPPED on PostgreSQL: set SEN_TEST_POSTGRES_URL to run it");
        vec!["sqlite"]
    }
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

const PORTAL: &str = "VN/GOV/VPCP/DVCQG";
/// A subsystem served by the portal's gateway that holds no right.
const OTHER: &str = "VN/GOV/BTC/DKDN";
/// A bank (an enterprise member): it reads a person's data only on their consent.
const BANK: &str = "VN/COM/0100112233/NGANHANG";

struct Exchange {
    central: sen_web::AppState,
    portal_store: Store,
    registry_store: Store,
    portal: Running,
    registry: Option<Running>,
    registry_cfg: GatewayConfig,
    portal_cfg: GatewayConfig,
    http: reqwest::Client,
    /// A person in the registries, with a civil-status record.
    person: String,
    backend: &'static str,
}

fn member(s: &str) -> MemberId {
    ClientId::parse(s).unwrap().member
}

impl Exchange {
    async fn start(backend: &'static str) -> Exchange {
        let system = Actor::system("test");
        let opts =
            sen_demo::SeedOptions { seed: 11, citizens: 200, businesses: 10, dossiers: 0, now: chrono::Utc::now() };
        // The central directory and CA.
        let central_store = new_store(backend, "central").await;
        sen_demo::seed(&central_store, &opts).await.unwrap();
        let urls = sen_trust::cert::PublicUrls { base: "http://127.0.0.1:8080".into() };
        let trust = sen_web::trust::TrustService::init_with_cost(&central_store, "test passphrase only", urls, 10)
            .await
            .unwrap();
        let central = sen_web::AppState::new(
            central_store.clone(),
            sen_web::Config { secure_cookies: false, ..Default::default() },
            Arc::new(trust),
        )
        .await
        .unwrap();
        let central_addr = serve(sen_web::router(central.clone())).await;

        // The registries' database (the provider gateway's own), with the same demo population.
        let registry_store = new_store(backend, "registry").await;
        sen_demo::seed(&registry_store, &opts).await.unwrap();
        // The registries check consents through their own gateway's client proxy, which the
        // portal's consent check answers behind the portal's gateway.
        let registry_client = free_port();
        let checker = sen_web::registry_http::ConsentChecker {
            gateway: format!("http://{registry_client}"),
            http: reqwest::Client::new(),
        };
        let registry_addr = serve(sen_web::registry_http::routes(registry_store.clone(), Some(checker))).await;
        let consent_addr = serve(sen_web::consent_http::service_routes(central_store.clone())).await;
        sen_web::registry_http::register_consent_check(
            &central_store,
            &format!("http://{consent_addr}"),
            2000,
            &system,
        )
        .await
        .unwrap();
        // A bank, reading on consent only.
        let bank = ClientId::parse(BANK).unwrap();
        central_store.add_exchange_member(&bank.member, "Ngân hàng TMCP Sen Việt", None, &system).await.unwrap();
        central_store.add_exchange_subsystem(&bank, "Hệ thống ngân hàng lõi", &system).await.unwrap();
        // A provider that answers too late, and one that is down.
        let slow = serve(axum::Router::new().fallback(|| async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            "late"
        }))
        .await;
        let down = free_port();

        let portal = ClientId::parse(PORTAL).unwrap();
        sen_web::registry_http::register(&central_store, &format!("http://{registry_addr}"), &[portal], 3000, &system)
            .await
            .unwrap();
        central_store
            .grant_exchange_right(
                &ClientId::parse("VN/GOV/BCA/CSDLQGDC").unwrap().service("residence").unwrap(),
                &bank,
                &Endpoint::new("GET", "/persons/*").unwrap(),
                &system,
            )
            .await
            .unwrap();
        let bca = ClientId::parse("VN/GOV/BCA/CSDLQGDC").unwrap();
        for (code, url, timeout) in [("slow", format!("http://{slow}"), 300), ("down", format!("http://{down}"), 1000)]
        {
            let input = ServiceInput {
                code: code.into(),
                title: code.into(),
                base_url: url,
                openapi: None,
                disabled: false,
                timeout_ms: timeout,
            };
            central_store.put_exchange_service(&bca, &input, &system).await.unwrap();
            central_store
                .grant_exchange_right(
                    &bca.service(code).unwrap(),
                    &ClientId::parse(PORTAL).unwrap(),
                    &Endpoint::all(),
                    &system,
                )
                .await
                .unwrap();
        }

        // Two gateways: the portal's (VPCP), and one run by BCA that also hosts BTP's civil status.
        let enrol = |owner: &'static str, code: &'static str, serves: Vec<&'static str>, server: SocketAddr| {
            let central = central.clone();
            async move {
                let dir = temp_dir(code);
                let request = sen_gateway::credentials::generate(&dir).unwrap();
                let (tls_public_key, message_public_key) = request.keys().unwrap();
                let enrolled = central
                    .trust
                    .enrol_gateway(
                        &sen_web::trust::GatewayEnrolment {
                            owner: member(owner),
                            code: code.into(),
                            address: format!("https://{server}"),
                            serves: serves.iter().map(|s| ClientId::parse(s).unwrap()).collect(),
                            tls_public_key,
                            message_public_key,
                        },
                        &Actor::system("test"),
                    )
                    .await
                    .unwrap();
                sen_gateway::credentials::install(
                    &dir,
                    &enrolled.tls_chain_pem,
                    &enrolled.message_pem,
                    &enrolled.root_pem,
                )
                .unwrap();
                GatewayConfig {
                    owner: member(owner),
                    code: code.into(),
                    directory_url: format!("http://{central_addr}"),
                    dir,
                    client_listen: "127.0.0.1:0".parse().unwrap(),
                    server_listen: server,
                    refresh: Duration::from_millis(200),
                    max_conf_age: Duration::from_secs(3600),
                }
            }
        };
        let portal_cfg = enrol("VN/GOV/VPCP", "GW1", vec![PORTAL, OTHER, BANK], free_port()).await;
        let mut registry_cfg =
            enrol("VN/GOV/BCA", "GW1", vec!["VN/GOV/BCA/CSDLQGDC", "VN/GOV/BTP/HOTICH"], free_port()).await;
        registry_cfg.client_listen = registry_client;
        let portal_store = new_store(backend, "portal-gw").await;
        let registry = sen_gateway::start(registry_cfg.clone(), registry_store.clone()).await.unwrap();
        let portal = sen_gateway::start(portal_cfg.clone(), portal_store.clone()).await.unwrap();

        let person = registry_store.civil_event_subjects("birth", 1).await.unwrap().remove(0);
        Exchange {
            central,
            portal_store,
            registry_store,
            portal,
            registry: Some(registry),
            registry_cfg,
            portal_cfg,
            http: reqwest::Client::new(),
            person,
            backend,
        }
    }

    fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.portal.client_addr)
    }

    async fn call(&self, client: &str, method: reqwest::Method, target: &str) -> reqwest::Response {
        self.http.request(method, self.url(target)).header("X-Road-Client", client).send().await.unwrap()
    }

    async fn get(&self, client: &str, target: &str) -> reqwest::Response {
        self.call(client, reqwest::Method::GET, target).await
    }

    /// Waits until both gateways' journaled records are in their databases.
    async fn flush_records(&self) {
        self.portal.flush_records().await.unwrap();
        if let Some(r) = &self.registry {
            r.flush_records().await.unwrap();
        }
    }

    async fn stop(mut self) {
        self.portal.stop().await;
        if let Some(r) = self.registry.take() {
            r.stop().await;
        }
    }
}

fn error_type(r: &reqwest::Response) -> String {
    r.headers().get("x-road-error").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

async fn expect_error(r: reqwest::Response, status: u16, kind: &str) {
    assert_eq!(r.status().as_u16(), status, "{kind}");
    assert_eq!(error_type(&r), kind);
    let id = r.headers().get("x-road-id").unwrap().to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], kind);
    assert_eq!(body["detail"], id.as_str());
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_data_travels_signed_and_recorded_on_both_sides() {
    for backend in backends() {
        let x = Exchange::start(backend).await;
        eprintln!("-- {}", x.backend);
        let r = x.get(PORTAL, &format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{}", x.person)).await;
        assert_eq!(r.status(), StatusCode::OK);
        for h in ["x-road-id", "x-road-request-id", "x-road-request-hash"] {
            assert!(r.headers().contains_key(h), "{h}");
        }
        assert!(!r.headers().contains_key("x-road-error"));
        let id = r.headers()["x-road-id"].to_str().unwrap().to_string();
        let hash = r.headers()["x-road-request-hash"].to_str().unwrap().to_string();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["person_number"], x.person.as_str());
        assert!(body["permanent_residence"]["address"].as_str().is_some());

        // Both gateways recorded the message: same id and request hash, digests, no payload.
        x.flush_records().await;
        let mine = x.portal_store.exchange_message(&id).await.unwrap();
        let theirs = x.registry_store.exchange_message(&id).await.unwrap();
        assert_eq!((mine.len(), theirs.len()), (1, 1));
        let (c, p) = (&mine[0], &theirs[0]);
        assert_eq!((c.side.as_str(), p.side.as_str()), ("client", "provider"));
        assert_eq!(c.request_hash, hash);
        assert_eq!(p.request_hash, hash);
        assert_eq!(c.response_digest, p.response_digest);
        assert_eq!(c.request_signature, p.request_signature);
        assert_eq!(c.response_signature, p.response_signature);
        assert_eq!(c.service, "VN/GOV/BCA/CSDLQGDC/residence");
        assert_eq!(c.client, PORTAL);
        assert_eq!(p.peer.as_deref(), Some("VN/GOV/VPCP/GW1"));
        let row = serde_json::to_string(c).unwrap();
        assert!(!row.contains(&x.person), "a record holds no personal number");

        // Civil status, owned by another member but served by the same gateway.
        let r = x.get(PORTAL, &format!("/r1/VN/GOV/BTP/HOTICH/civil-status/persons/{}/events", x.person)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert!(!body["events"].as_array().unwrap().is_empty());

        // The provider's own answers pass through: a person not in the registry.
        let r = x.get(PORTAL, "/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/001099999999").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(!r.headers().contains_key("x-road-error"));

        // The registries recorded both reads of the person's data (not the miss), and list them
        // through the exchange for the portal's "who read my data".
        let reads = x.registry_store.data_reads_of("person", &x.person, None).await.unwrap();
        let services: Vec<&str> = reads.iter().map(|r| r.service.as_str()).collect();
        assert_eq!(services, ["VN/GOV/BTP/HOTICH/civil-status", "VN/GOV/BCA/CSDLQGDC/residence"]);
        assert!(reads.iter().all(|r| r.client == PORTAL));
        assert_eq!(reads[1].message_id.as_deref(), Some(id.as_str()));
        let r = x.get(PORTAL, &format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/reads/person/{}", x.person)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let listed: Value = r.json().await.unwrap();
        assert_eq!(listed["reads"].as_array().unwrap().len(), 1);
        assert_eq!(listed["reads"][0]["digest"], reads[1].digest().as_str());

        // Both logs hold the records and verify.
        x.flush_records().await;
        for store in [&x.portal_store, &x.registry_store] {
            store.sequence_log(10_000).await.unwrap();
            let report = sen_web::trust::verify_log(store).await.unwrap();
            assert!(report.ok, "{:?}", report.problems);
            // One entry per import of records (each record proved below).
            assert!(report.entries >= 1);
        }

        // Monitoring counts the calls per service, on each side.
        let m: Value = x
            .http
            .get(format!("http://{}/monitoring", x.portal.client_addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let residence =
            m["services"].as_array().unwrap().iter().find(|s| s["service"] == "VN/GOV/BCA/CSDLQGDC/residence").unwrap();
        assert_eq!(residence["count"], 3);
        assert_eq!(residence["failures"], 0);
        assert!(residence["p99_ms"].as_f64().unwrap() > 0.0);

        // Each gateway proves its record of the first message from the row to its log's root.
        let gateways = [
            ("VN/GOV/VPCP/GW1", "client", x.portal.client_addr),
            ("VN/GOV/BCA/GW1", "provider", x.registry.as_ref().unwrap().client_addr),
        ];
        for (name, side, addr) in gateways {
            let r = x.http.get(format!("http://{addr}/records/{id}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{name}");
            let proof: Value = r.json().await.unwrap();
            assert_eq!(proof["gateway"], name);
            let records = proof["records"].as_array().unwrap();
            assert_eq!(records.len(), 1, "{proof}");
            assert_eq!(records[0]["verified"], true, "{proof}");
            assert_eq!(records[0]["proof"]["record"]["side"], side);
            assert_eq!(records[0]["proof"]["record"]["request_hash"], hash.as_str());
            let checked: sen_store::exchange_log::RecordProof =
                serde_json::from_value(records[0]["proof"].clone()).unwrap();
            checked.verify().unwrap();
        }
        let r = x.http.get(format!("http://{}/records/no-such-message", x.portal.client_addr)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        x.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metaservices_answer_from_the_directory() {
    let x = Exchange::start("sqlite").await;
    let r = x.get(PORTAL, "/listClients?xRoadInstance=VN").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let members = body["member"].as_array().unwrap();
    assert!(members.iter().any(|m| m["id"]["member_code"] == "BCA" && m["id"]["subsystem_code"] == "CSDLQGDC"));
    assert!(members.iter().any(|m| m["id"]["object_type"] == "MEMBER"));

    let r = x.get(PORTAL, "/r1/VN/GOV/BCA/CSDLQGDC/listMethods").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let codes: Vec<&str> =
        body["service"].as_array().unwrap().iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["residence", "slow", "down"]);

    // The subsystem without rights is allowed nothing.
    let r = x.get(OTHER, "/r1/VN/GOV/BCA/CSDLQGDC/allowedMethods").await;
    let body: Value = r.json().await.unwrap();
    assert!(body["service"].as_array().unwrap().is_empty());
    let r = x.get(PORTAL, "/r1/VN/GOV/BCA/CSDLQGDC/allowedMethods").await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["service"].as_array().unwrap().len(), 3);

    let r = x.get(PORTAL, "/r1/VN/GOV/BCA/CSDLQGDC/getOpenAPI?serviceCode=residence").await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    expect_error(
        x.get(OTHER, "/r1/VN/GOV/BCA/CSDLQGDC/getOpenAPI?serviceCode=residence").await,
        500,
        "Server.ServerProxy.AccessDenied",
    )
    .await;
    x.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_refusal_has_its_precise_error_type_and_changes_nothing() {
    let x = Exchange::start("sqlite").await;
    let residence = format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{}", x.person);
    // The caller's request breaks the protocol.
    let r = x.http.get(x.url(&residence)).send().await.unwrap();
    expect_error(r, 400, "Client.BadRequest").await;
    expect_error(x.get("VN/GOV", &residence).await, 400, "Client.InvalidClientIdentifier").await;
    expect_error(x.get(PORTAL, "/r2/VN/GOV/BCA/CSDLQGDC/residence").await, 400, "Client.BadRequest").await;
    expect_error(x.get(PORTAL, "/r1/VN/GOV/BCA/CSDLQGDC/residence/a%2Fb").await, 400, "Client.BadRequest").await;
    // A client this gateway does not serve (unknown to the exchange, or another gateway's).
    expect_error(x.get("VN/GOV/XYZ/ABC", &residence).await, 500, "Server.ClientProxy.UnknownMember").await;
    expect_error(x.get("VN/GOV/BCA/CSDLQGDC", &residence).await, 500, "Server.ClientProxy.UnknownMember").await;
    // A provider no gateway serves.
    expect_error(
        x.get(PORTAL, "/r1/VN/GOV/BHXHVN/CSDLBH/insurance/persons/1").await,
        500,
        "Server.ClientProxy.UnknownService",
    )
    .await;
    // Decided by the provider's gateway: no right, a method not granted, an unknown service.
    expect_error(x.get(OTHER, &residence).await, 500, "Server.ServerProxy.AccessDenied").await;
    expect_error(x.call(PORTAL, reqwest::Method::DELETE, &residence).await, 500, "Server.ServerProxy.AccessDenied")
        .await;
    expect_error(x.get(PORTAL, "/r1/VN/GOV/BCA/CSDLQGDC/nothing/x").await, 500, "Server.ServerProxy.UnknownService")
        .await;
    // A provider that is slow, or down.
    expect_error(
        x.get(PORTAL, "/r1/VN/GOV/BCA/CSDLQGDC/slow/x").await,
        500,
        "Server.ServerProxy.ServiceFailed.Timeout",
    )
    .await;
    expect_error(
        x.get(PORTAL, "/r1/VN/GOV/BCA/CSDLQGDC/down/x").await,
        500,
        "Server.ServerProxy.ServiceFailed.NetworkError",
    )
    .await;

    // A right withdrawn stops calls once the gateways have the new configuration.
    let system = Actor::system("test");
    let d = x.central.store.exchange_directory().await.unwrap();
    let service = ServiceId::parse("VN/GOV/BCA/CSDLQGDC/residence").unwrap();
    let right = d.service(&service).unwrap().rights[0].id;
    assert_eq!(x.get(PORTAL, &residence).await.status(), StatusCode::OK);
    x.central.store.revoke_exchange_right(&service, right, &system).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    expect_error(x.get(PORTAL, &residence).await, 500, "Server.ServerProxy.AccessDenied").await;
    x.stop().await;
}

/// A peer that talks to the provider's gateway directly, with the certificate given.
fn peer_client(
    root_pem: &str,
    identity: Option<(Vec<rustls::pki_types::CertificateDer<'static>>, rustls::pki_types::PrivateKeyDer<'static>)>,
) -> reqwest::Client {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from_pem_slice(root_pem.as_bytes()).unwrap()).unwrap();
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match identity {
        Some((chain, key)) => b.with_client_auth_cert(chain, key).unwrap(),
        None => b.with_no_client_auth(),
    };
    reqwest::Client::builder().use_preconfigured_tls(cfg).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_provider_gateway_refuses_strangers_and_tampered_messages() {
    let x = Exchange::start("sqlite").await;
    let root_pem = std::fs::read_to_string(x.registry_cfg.dir.join("ca.crt")).unwrap();
    let base = format!("https://{}", x.registry_cfg.server_listen);
    let target = format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{}", x.person);
    x.flush_records().await;
    let before = x.registry_store.exchange_message_count().await.unwrap();

    // No client certificate.
    let r = peer_client(&root_pem, None)
        .get(format!("{base}{target}"))
        .header("X-Road-Client", PORTAL)
        .header("X-Road-Id", "m-1")
        .send()
        .await
        .unwrap();
    assert_eq!(error_type(&r), "Server.ServerProxy.SslAuthenticationFailed");

    // A certificate from another CA, for the same name.
    let other_root_key = sen_trust::keys::generate();
    let subject =
        |cn: &str| sen_trust::cert::Subject { common_name: cn.into(), organization: "Rogue".into(), unit: None };
    let now = chrono::Utc::now();
    let other_root = sen_trust::cert::issue_root(&subject("Rogue root"), &other_root_key, now).unwrap();
    let urls = sen_trust::cert::PublicUrls { base: "http://rogue".into() };
    let rogue_key = sen_trust::keys::generate();
    let rogue = sen_trust::cert::issue_for(
        sen_trust::cert::CertKind::Gateway,
        &subject("VN/GOV/VPCP/GW1"),
        sen_trust::cert::p256_spki(rogue_key.verifying_key()).unwrap(),
        &[sen_trust::cert::AltName::of_host("127.0.0.1")],
        Some(sen_trust::cert::Issuer { cert: &other_root, key: &other_root_key }),
        now,
        &urls,
    )
    .unwrap();
    let chain = vec![rustls::pki_types::CertificateDer::from(sen_trust::der::Encode::to_der(&rogue).unwrap())];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(sen_trust::keys::to_pkcs8_der(&rogue_key).unwrap().into());
    let r = peer_client(&root_pem, Some((chain, key)))
        .get(format!("{base}{target}"))
        .header("X-Road-Client", PORTAL)
        .header("X-Road-Id", "m-2")
        .send()
        .await
        .unwrap();
    assert_eq!(error_type(&r), "Server.ServerProxy.SslAuthenticationFailed");

    // A registered gateway's certificate, but messages it did not sign.
    // (The registry gateway's own credentials: registered, serving BCA, not the portal.)
    let creds = sen_gateway::credentials::Credentials::load(&x.registry_cfg.dir).unwrap();
    let me = peer_client(&root_pem, Some((creds.tls_chain.clone(), creds.tls_key.clone_key())));
    let unsigned = me
        .get(format!("{base}{target}"))
        .header("X-Road-Client", "VN/GOV/BCA/CSDLQGDC")
        .header("X-Road-Id", "m-3")
        .send()
        .await
        .unwrap();
    assert_eq!(error_type(&unsigned), "Server.ServerProxy.MissingSignature");
    let forged = me
        .get(format!("{base}{target}"))
        .header("X-Road-Client", "VN/GOV/BCA/CSDLQGDC")
        .header("X-Road-Id", "m-4")
        .header("x-sen-signature", sen_exchange::message::sign(&creds.message_key, b"another message"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_type(&forged), "Server.ServerProxy.InvalidSignatureValue");
    // Signed properly, but for a client this gateway does not serve.
    // reqwest sends `accept: */*`, a header the hash covers.
    let head = sen_exchange::hash::canonical_head("GET", &target, PORTAL, "m-5", [("accept", "*/*")]);
    let hash = sen_exchange::hash::request_hash(&head, b"");
    let signed = sen_exchange::message::sign(&creds.message_key, &sen_exchange::message::request_to_sign(&hash));
    let r = me
        .get(format!("{base}{target}"))
        .header("X-Road-Client", PORTAL)
        .header("X-Road-Id", "m-5")
        .header("x-sen-signature", &signed)
        .send()
        .await
        .unwrap();
    assert_eq!(error_type(&r), "Server.ServerProxy.AccessDenied");
    // The same signature over a changed target (another person) is refused.
    let r = me
        .get(format!("{base}{target}9"))
        .header("X-Road-Client", PORTAL)
        .header("X-Road-Id", "m-5")
        .header("x-sen-signature", &signed)
        .send()
        .await
        .unwrap();
    assert_eq!(error_type(&r), "Server.ServerProxy.InvalidSignatureValue");
    // Every refusal is recorded, signed, and nothing reached the provider.
    x.flush_records().await;
    let after = x.registry_store.exchange_message_count().await.unwrap();
    assert_eq!(after - before, 6);
    x.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_gateway_restarted_mid_traffic_loses_nothing_acknowledged() {
    for backend in backends() {
        let mut x = Exchange::start(backend).await;
        eprintln!("-- {}", x.backend);
        let target = format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{}", x.person);
        let url = x.url(&target);
        let http = x.http.clone();
        let traffic = tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in 0..40 {
                let calls = (0..8).map(|_| {
                    let http = http.clone();
                    let url = url.clone();
                    async move {
                        let r = http.get(url).header("X-Road-Client", PORTAL).send().await.unwrap();
                        let id = r.headers()["x-road-id"].to_str().unwrap().to_string();
                        (r.status().as_u16(), error_type(&r), id)
                    }
                });
                out.extend(futures_join(calls).await);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            out
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        x.registry.take().unwrap().stop().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let reopened = x.registry_store.clone();
        x.registry = Some(sen_gateway::start(x.registry_cfg.clone(), reopened).await.unwrap());
        let results = traffic.await.unwrap();
        let (ok, failed): (Vec<_>, Vec<_>) = results.iter().partition(|(s, _, _)| *s == 200);
        eprintln!("{} answered, {} refused during the restart", ok.len(), failed.len());
        assert!(!ok.is_empty());
        for (status, kind, _) in &failed {
            assert_eq!(*status, 500);
            assert!(kind.starts_with("Server.ClientProxy.NetworkError"), "{kind}");
        }
        // Every call answered 200 is recorded on both sides (what the stopped gateway had
        // journaled was imported when it started again).
        x.flush_records().await;
        for (_, _, id) in &ok {
            assert_eq!(x.portal_store.exchange_message(id).await.unwrap().len(), 1);
            assert_eq!(x.registry_store.exchange_message(id).await.unwrap().len(), 1, "{id}");
        }
        // After the restart, calls pass again.
        assert_eq!(x.get(PORTAL, &target).await.status(), StatusCode::OK);
        x.stop().await;
    }
}

/// Runs the calls concurrently and collects their results in order.
async fn futures_join<F>(fs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_gateway_that_is_down_is_a_network_error() {
    let mut x = Exchange::start("sqlite").await;
    x.registry.take().unwrap().stop().await;
    let target = format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{}", x.person);
    expect_error(x.get(PORTAL, &target).await, 500, "Server.ClientProxy.NetworkError").await;
    x.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_whose_directory_grows_too_old_refuses_rather_than_decide_on_stale_rights() {
    let mut x = Exchange::start("sqlite").await;
    let target = format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{}", x.person);
    assert_eq!(x.get(PORTAL, &target).await.status(), StatusCode::OK);
    // The portal's gateway restarts with a configuration it will not refresh in time.
    let stale = GatewayConfig {
        refresh: Duration::from_secs(3600),
        max_conf_age: Duration::from_secs(3),
        ..x.portal_cfg.clone()
    };
    let old = x.portal;
    old.stop().await;
    x.portal = sen_gateway::start(stale, x.portal_store.clone()).await.unwrap();
    assert_eq!(x.get(PORTAL, &target).await.status(), StatusCode::OK, "fresh at first");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    expect_error(x.get(PORTAL, &target).await, 500, "Server.ClientProxy.OutdatedGlobalConf").await;
    x.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bank_reads_only_on_consent_and_never_after_its_revocation() {
    use sen_exchange::consent::SubjectKind;
    for backend in backends() {
        let x = Exchange::start(backend).await;
        eprintln!("-- {}", x.backend);
        let target = format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{}", x.person);
        let bank_reads = |x: &Exchange| {
            let person = x.person.clone();
            let store = x.registry_store.clone();
            async move {
                store
                    .data_reads_of("person", &person, None)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|r| r.client == BANK)
                    .count()
            }
        };
        // No consent: refused by the registry, and nothing read is recorded.
        let r = x.get(BANK, &target).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "consent_required", "{body}");
        assert_eq!(bank_reads(&x).await, 0);

        // The person consents: the bank reads, and the read is recorded.
        let actor = Actor::system("test");
        let consent = x
            .central
            .store
            .grant_consent(
                &sen_store::consents::NewConsent {
                    subject_kind: SubjectKind::Person,
                    subject_id: x.person.clone(),
                    client: ClientId::parse(BANK).unwrap(),
                    service: ClientId::parse("VN/GOV/BCA/CSDLQGDC").unwrap().service("residence").unwrap(),
                    purpose: "Thẩm định hồ sơ vay mua nhà".into(),
                    valid_until: chrono::Utc::now() + chrono::Duration::days(30),
                },
                &actor,
            )
            .await
            .unwrap();
        let r = x.get(BANK, &target).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(bank_reads(&x).await, 1);

        // Revoked at T: no read after T succeeds.
        let revoked = x.central.store.revoke_consent(SubjectKind::Person, &x.person, consent.id, &actor).await.unwrap();
        let t = revoked.revoked_at.unwrap();
        for _ in 0..3 {
            let r = x.get(BANK, &target).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }
        let after_t = x
            .registry_store
            .data_reads_of("person", &x.person, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.client == BANK && r.read_at >= t)
            .count();
        assert_eq!(after_t, 0);
        assert_eq!(bank_reads(&x).await, 1);

        // Only the provider of a service may ask about consents to read it.
        let r = x
            .http
            .get(x.url(&format!(
                "/r1/VN/GOV/VPCP/DVCQG/consents/subjects/person/{}/check?client={BANK}&service=VN/GOV/BCA/CSDLQGDC/residence",
                x.person
            )))
            .header("X-Road-Client", OTHER)
            .send()
            .await
            .unwrap();
        assert!(r.status() == StatusCode::FORBIDDEN, "{}", r.status());
        x.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateways_report_signed_usage_and_the_directory_counts_systems_exchanging_data() {
    for backend in backends() {
        let x = Exchange::start(backend).await;
        eprintln!("-- {}", x.backend);
        let r = x.get(PORTAL, &format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{}", x.person)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let since = chrono::Utc::now().date_naive() - chrono::Duration::days(29);
        let mut active = vec![];
        for _ in 0..100 {
            active = x.central.store.exchange_activity(since).await.unwrap().active;
            if active.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(active, ["VN/GOV/BCA/CSDLQGDC", PORTAL], "both ends of the exchange are counted");
        let registered = x.central.store.exchange_activity(since).await.unwrap().registered;
        assert!(registered > 2, "every registered subsystem counts in the denominator");

        // A report not signed by the gateway's message key is refused and changes nothing.
        let body = serde_json::json!({"owner": "VN/GOV/VPCP", "code": "GW1", "day": chrono::Utc::now().date_naive(),
            "subsystems": {"VN/GOV/BTC/DKDN": 5}});
        let r = x
            .http
            .post(format!("{}/api/v1/exchange/usage", x.portal_cfg.directory_url))
            .header("x-sen-signature", "AAAA")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let after = x.central.store.exchange_activity(since).await.unwrap().active;
        assert!(!after.contains(&OTHER.to_string()), "{after:?}");
        x.stop().await;
    }
}
