//! The client proxy (loopback, for the member's own systems) and the server proxy (mutual
//! TLS, for peer gateways).
//!
//! A call, end to end:
//!
//! 1. the client proxy reads the route and the client, checks that it serves that client,
//!    finds the provider's gateway in the directory, computes the request hash and signs it;
//! 2. the server proxy identifies the peer gateway by its certificate, checks that the peer
//!    serves the client, recomputes the hash and checks the signature, and decides access
//!    from the directory;
//! 3. it calls the provider's system within the service's time-out, signs the answer (with
//!    the request hash), records the message and answers;
//! 4. the client proxy checks that the answer comes from the provider's registered gateway,
//!    answers this request and is signed by it, records the message and answers.
//!
//! A message is answered only once it is recorded: if the record cannot be written, the
//! caller gets `…DatabaseError` instead of the answer. Records are made durable in the
//! gateway's write-ahead journal (`<dir>/journal`, see [`sen_store::journal`]) and reach its
//! database within a fraction of a second; monitoring and usage reports import what is
//! journaled before they read.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use sen_exchange::error::{ExchangeError, Fault, Origin};
use sen_exchange::hash::{HASHED_HEADERS, canonical_head, request_hash};
use sen_exchange::id::client_from_headers;
use sen_exchange::message::{self, SIGNATURE_HEADER, VerifiedBatches};
use sen_exchange::route::{self, Route};
use sen_exchange::{ClientId, Gateway, MemberId};
use sen_store::Store;
use sen_store::exchange_log::{ExchangeMessage, Side};
use sen_store::journal::Journal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::GatewayError;
use crate::conf::{Conf, ConfHolder};
use crate::credentials::Credentials;
use crate::signer::BatchSigner;

/// The largest request or response body a gateway passes.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// How long a metaservice call may take between gateways.
const METASERVICE_TIMEOUT: Duration = Duration::from_secs(10);
/// What the client proxy allows beyond the service's own time-out, for the path between
/// gateways, so that a slow provider is reported by its gateway (`ServiceFailed.Timeout`).
const GATEWAY_MARGIN: Duration = Duration::from_secs(2);
/// A TLS handshake that takes longer is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request whose headers take longer to arrive is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How a gateway is run.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The member that runs it, and its code in the directory.
    pub owner: MemberId,
    pub code: String,
    /// The central directory's base address (`http://127.0.0.1:8080`).
    pub directory_url: String,
    /// Its keys, certificates and cached configuration (see [`crate::credentials`]).
    pub dir: PathBuf,
    /// The client proxy, for the member's own systems: keep it on loopback or a private network.
    pub client_listen: SocketAddr,
    /// The server proxy, for peer gateways.
    pub server_listen: SocketAddr,
    /// How often the configuration is fetched again.
    pub refresh: Duration,
    /// How old the configuration may grow (when it cannot be fetched again) before the
    /// gateway refuses every message with `…OutdatedGlobalConf` rather than decide on stale
    /// rights.
    pub max_conf_age: Duration,
}

struct Inner {
    max_conf_age: Duration,
    owner: MemberId,
    code: String,
    store: Store,
    /// Message records, durable before a message is answered.
    journal: Journal<ExchangeMessage>,
    conf: ConfHolder,
    message_key: ed25519_dalek::SigningKey,
    /// Signs messages, in natural batches.
    signer: BatchSigner,
    /// Peers' batch signatures already checked.
    verified: VerifiedBatches,
    /// To peer gateways, over mutual TLS.
    peers: reqwest::Client,
    /// To the member's own services.
    providers: reqwest::Client,
    /// Peers' and services' base addresses, parsed once.
    urls: BaseUrls,
}

/// Base addresses (a peer gateway's, a provider system's) parsed once: a call's address is
/// its base with the call's path and query set, without parsing a scheme and host per call.
#[derive(Default)]
struct BaseUrls(std::sync::Mutex<std::collections::HashMap<String, reqwest::Url>>);

/// Base addresses kept at most (the directory names far fewer).
const BASE_URLS_KEPT: usize = 4096;

impl BaseUrls {
    /// `base` (any trailing `/` dropped) followed by `path`, with `query`.
    fn join(&self, base: &str, path: &str, query: Option<&str>) -> Result<reqwest::Url, String> {
        let cached = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(base).cloned();
        let mut url = match cached {
            Some(u) => u,
            None => {
                let u = reqwest::Url::parse(base).map_err(|e| e.to_string())?;
                if u.cannot_be_a_base() || !matches!(u.scheme(), "http" | "https") {
                    return Err(format!("{base} is not an http(s) address"));
                }
                let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() >= BASE_URLS_KEPT {
                    kept.clear();
                }
                kept.insert(base.to_string(), u.clone());
                u
            }
        };
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_query(query);
        Ok(url)
    }
}

/// A running gateway: where its proxies listen, and the tasks to stop.
pub struct Running {
    pub client_addr: SocketAddr,
    pub server_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    inner: Arc<Inner>,
}

impl Running {
    /// Stops at once, as a crash would: listeners and connections close, calls in flight
    /// are dropped unanswered. A record is written whole or not at all, and a call is
    /// answered only after its record, so nothing acknowledged is lost. The store stays open
    /// (its owner closes it).
    pub async fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Returns once every message answered so far is in the gateway's database (its records
    /// are durable from the moment it is answered, in the journal).
    pub async fn flush_records(&self) -> Result<(), GatewayError> {
        Ok(self.inner.journal.flush().await?)
    }

    /// Runs until the process is stopped.
    pub async fn wait(mut self) {
        if let Some(t) = self.tasks.pop() {
            let _ = t.await;
        }
    }
}

/// Opens the journal of message records of gateway `owner/code` whose folder is `dir`, on
/// its database `store`: what it holds from an earlier run is imported first. `start` does;
/// a tool that reads a stopped gateway's records does too.
pub async fn message_journal(
    store: &Store,
    dir: &std::path::Path,
    owner: &MemberId,
    code: &str,
) -> Result<Journal<ExchangeMessage>, GatewayError> {
    Ok(store.message_journal(&dir.join("journal"), &format!("exchange_messages {owner}/{code}")).await?)
}

/// Starts a gateway on `store` (its own database, migrated).
pub async fn start(cfg: GatewayConfig, store: Store) -> Result<Running, GatewayError> {
    let creds = Credentials::load(&cfg.dir)?;
    let root = sen_trust::cert::cert_from_der(&creds.root)?;
    let conf = ConfHolder::start(&cfg.directory_url, &cfg.dir, root).await?;
    let me = conf.get();
    let registered = me.directory.gateways.iter().find(|g| g.owner == cfg.owner && g.code == cfg.code && !g.retired);
    let Some(registered) = registered else {
        return Err(GatewayError::Config(format!(
            "gateway {}/{} is not registered in the directory (sen exchange enrol-gateway)",
            cfg.owner, cfg.code
        )));
    };
    let tls_sha = hex::encode(Sha256::digest(&creds.tls_chain[0]));
    if registered.tls_sha256 != tls_sha {
        return Err(GatewayError::Config("tls.crt is not the certificate registered for this gateway".into()));
    }
    let peers = reqwest::Client::builder()
        .use_preconfigured_tls(crate::tls::client_config(&creds)?)
        .tls_info(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| GatewayError::Config(format!("TLS client: {e}")))?;
    let providers = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| GatewayError::Config(e.to_string()))?;
    let journal = message_journal(&store, &cfg.dir, &cfg.owner, &cfg.code).await?;
    let inner = Arc::new(Inner {
        max_conf_age: cfg.max_conf_age,
        owner: cfg.owner.clone(),
        code: cfg.code.clone(),
        store: store.clone(),
        journal,
        conf,
        message_key: creds.message_key.clone(),
        signer: BatchSigner::start(creds.message_key.clone()),
        verified: VerifiedBatches::default(),
        peers,
        providers,
        urls: BaseUrls::default(),
    });
    let server_tls = Arc::new(crate::tls::server_config(&creds)?);

    if !cfg.client_listen.ip().is_loopback() {
        // The client proxy trusts the X-Road-Client header of whoever reaches it, as X-Road's
        // does without TLS to its clients: only the member's own network may reach it.
        tracing::warn!(addr = %cfg.client_listen, "the client proxy listens beyond loopback: keep it on the member's private network");
    }
    let client_listener = TcpListener::bind(cfg.client_listen).await?;
    let server_listener = TcpListener::bind(cfg.server_listen).await?;
    let client_addr = client_listener.local_addr()?;
    let server_addr = server_listener.local_addr()?;

    let client_app = Router::new()
        .route("/monitoring", get(monitoring))
        .route("/healthz", get(healthz))
        .route("/records/{message_id}", get(record_proof))
        .fallback(client_proxy)
        .with_state(inner.clone());
    let server_app = Router::new().fallback(server_proxy).with_state(inner.clone());

    let tasks = vec![
        tokio::spawn(refresher(inner.clone(), cfg.refresh)),
        tokio::spawn(usage_reporter(
            inner.clone(),
            cfg.directory_url.clone(),
            cfg.refresh.max(Duration::from_secs(1)) * 2,
        )),
        tokio::spawn(sequencer(store.clone())),
        tokio::spawn(serve_connections(server_listener, Some(server_tls), server_app)),
        tokio::spawn(serve_connections(client_listener, None, client_app)),
    ];
    tracing::info!(%client_addr, %server_addr, gateway = %format!("{}/{}", cfg.owner, cfg.code), "gateway started");
    Ok(Running { client_addr, server_addr, tasks, inner })
}

async fn refresher(gw: Arc<Inner>, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = gw.conf.refresh().await {
            tracing::warn!(error = %e, "configuration refresh failed; keeping the one held");
        }
    }
}

/// Reports to the directory, every `every`, how many messages that exchanged data this
/// gateway passed today and yesterday (UTC) per subsystem, signed with its message key: the
/// directory counts the information systems exchanging data (programme target K12).
async fn usage_reporter(gw: Arc<Inner>, directory_url: String, every: Duration) {
    let http = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no usage reports");
            return;
        }
    };
    let url = format!("{}/api/v1/exchange/usage", directory_url.trim_end_matches('/'));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let today = chrono::Utc::now().date_naive();
        if let Err(e) = gw.journal.flush().await {
            tracing::warn!(error = %e, "usage not counted: the journal could not be imported");
            continue;
        }
        for day in [today - chrono::Duration::days(1), today] {
            let usage = match gw.store.exchange_usage(day).await {
                Ok(u) if !u.is_empty() => u,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "usage not counted");
                    continue;
                }
            };
            let body = serde_json::to_vec(&serde_json::json!({
                "owner": gw.owner.to_string(), "code": gw.code, "day": day, "subsystems": usage,
            }))
            .expect("serialises");
            let signature = message::sign(&gw.message_key, &message::usage_to_sign(&body));
            let sent = http
                .post(&url)
                .header("content-type", "application/json")
                .header(message::SIGNATURE_HEADER, signature)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(status = %r.status(), "the directory refused the usage report"),
                Err(e) => tracing::warn!(error = %e, "usage report not delivered; sent again later"),
            }
        }
    }
}

/// Gives the queued log entries their positions (PostgreSQL; SQLite does it at commit).
async fn sequencer(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        if let Err(e) = store.sequence_log(sen_store::log::SEQUENCE_BATCH).await {
            tracing::warn!(error = %e, "log sequencing failed; retrying");
        }
    }
}

/// The peer's certificate chain, leaf first, as the TLS handshake received it.
#[derive(Clone, Default)]
struct PeerChain(Option<Arc<Vec<Vec<u8>>>>);

/// Serves connections until dropped; dropping it (a stopped gateway) closes every
/// connection at once, as a crash would, so that peers see the restart.
async fn serve_connections(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>, app: Router) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tower::ServiceExt;
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (tcp, _) = match accepted {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        connections.spawn(async move {
            let serve = |io, chain: PeerChain| {
                let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(chain.clone());
                    app.clone().oneshot(req.map(Body::new))
                });
                async move {
                    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    // A peer that opens a connection and sends its headers slowly is dropped.
                    builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
                    let _ = builder.serve_connection(io, service).await;
                }
            };
            match acceptor {
                None => serve(TokioIo::new(Box::new(tcp) as Box<dyn Io>), PeerChain::default()).await,
                Some(acceptor) => {
                    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "TLS handshake refused");
                            return;
                        }
                        Err(_) => return,
                    };
                    let chain = PeerChain(
                        stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .map(|c| Arc::new(c.iter().map(|d| d.to_vec()).collect())),
                    );
                    serve(TokioIo::new(Box::new(stream) as Box<dyn Io>), chain).await
                }
            }
        });
    }
}

/// A connection, plain or TLS.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

// ---------------------------------------------------------------------------------------
// Answers and records

const X_ROAD_ID: &str = "x-road-id";
const X_ROAD_CLIENT: &str = "x-road-client";
const X_ROAD_ERROR: &str = "x-road-error";
const X_ROAD_REQUEST_HASH: &str = "x-road-request-hash";
const X_ROAD_REQUEST_ID: &str = "x-road-request-id";
const X_ROAD_SERVICE: &str = "x-road-service";

/// A new `X-Road-Id`: a time-ordered UUID (version 7, RFC 9562). Both gateways index their
/// records by it; ids that grow with time are appended at the end of that index, where
/// random ones would rewrite pages all over it at every import (measured: most of what a
/// gateway's database wrote).
fn new_message_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn header(name: &'static str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    Some((HeaderName::from_static(name), HeaderValue::from_str(value).ok()?))
}

/// An error as the protocol answers it: status, `X-Road-Error`, `{type, message, detail}`.
fn error_body(e: &ExchangeError, message_id: &str) -> (StatusCode, Vec<u8>) {
    let body = serde_json::to_vec(&e.body(message_id)).expect("error body serialises");
    (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body)
}

/// What a gateway learnt of a message, recorded whatever the outcome.
struct Record {
    message_id: String,
    client: String,
    service: String,
    method: String,
    request_hash: String,
    request_signature: Option<String>,
    response_digest: Option<String>,
    response_signature: Option<String>,
    peer: Option<String>,
    started: chrono::DateTime<Utc>,
    clock: Instant,
}

impl Record {
    fn new(message_id: &str, method: &str) -> Record {
        Record {
            message_id: message_id.to_string(),
            client: String::new(),
            service: String::new(),
            method: method.to_string(),
            request_hash: String::new(),
            request_signature: None,
            response_digest: None,
            response_signature: None,
            peer: None,
            started: Utc::now(),
            clock: Instant::now(),
        }
    }

    fn finish(self, side: Side, status: u16, error_type: Option<String>) -> ExchangeMessage {
        ExchangeMessage {
            message_id: self.message_id,
            side: side.as_str().to_string(),
            client: self.client,
            service: self.service,
            method: self.method,
            request_hash: self.request_hash,
            request_signature: self.request_signature,
            response_digest: self.response_digest,
            response_signature: self.response_signature,
            status: i64::from(status),
            error_type,
            peer: self.peer,
            started_at: self.started,
            duration_us: self.clock.elapsed().as_micros() as i64,
        }
    }
}

fn gateway_name(g: &Gateway) -> String {
    format!("{}/{}", g.owner, g.code)
}

fn service_name(route: &Route) -> String {
    match route {
        Route::ListClients { .. } => "listClients".into(),
        Route::ListMethods { provider } => format!("{provider}/listMethods"),
        Route::AllowedMethods { provider } => format!("{provider}/allowedMethods"),
        Route::GetOpenApi { provider, .. } => format!("{provider}/getOpenAPI"),
        Route::Service { service, .. } => service.to_string(),
    }
}

fn provider_of(route: &Route) -> Option<&ClientId> {
    match route {
        Route::ListClients { .. } => None,
        Route::ListMethods { provider } | Route::AllowedMethods { provider } | Route::GetOpenApi { provider, .. } => {
            Some(provider)
        }
        Route::Service { service, .. } => Some(&service.provider),
    }
}

fn lower_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers.iter().filter_map(|(n, v)| Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string()))).collect()
}

fn hashed_headers(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .filter(|(n, _)| HASHED_HEADERS.contains(&n.as_str()))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

fn id_json(c: &ClientId) -> Value {
    let mut v = json!({
        "xroad_instance": c.member.instance, "member_class": c.member.class, "member_code": c.member.code,
        "object_type": if c.subsystem.is_some() { "SUBSYSTEM" } else { "MEMBER" },
    });
    if let Some(s) = &c.subsystem {
        v["subsystem_code"] = json!(s);
    }
    v
}

// ---------------------------------------------------------------------------------------
// The client proxy

async fn healthz(State(gw): State<Arc<Inner>>) -> Response {
    let conf = gw.conf.get();
    axum::Json(json!({"gateway": format!("{}/{}", gw.owner, gw.code), "configuration": conf.generated_at}))
        .into_response()
}

#[derive(serde::Deserialize)]
struct MonitoringQuery {
    minutes: Option<u32>,
}

/// Operational monitoring: per service and side, calls, failures and latency percentiles
/// over the last `minutes` (60 by default, at most 7 days). No payloads, no identifiers of people.
async fn monitoring(State(gw): State<Arc<Inner>>, q: axum::extract::Query<MonitoringQuery>) -> Response {
    let minutes = q.minutes.unwrap_or(60).clamp(1, 7 * 24 * 60);
    let since = Utc::now() - chrono::Duration::minutes(i64::from(minutes));
    if let Err(e) = gw.journal.flush().await {
        tracing::error!(error = %e, "the journal could not be imported for monitoring");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match gw.store.exchange_monitoring(since).await {
        Ok(stats) => axum::Json(json!({
            "gateway": format!("{}/{}", gw.owner, gw.code), "since": since, "services": stats,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "monitoring query failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Proof that this gateway logged message `message_id` (`X-Road-Id`): its record, the
/// record's path in its batch, the batch's log entry and the entry's path to the log's root
/// now — for the member's auditors (the client proxy is on the member's own network).
async fn record_proof(
    State(gw): State<Arc<Inner>>,
    axum::extract::Path(message_id): axum::extract::Path<String>,
) -> Response {
    let problem = |status: StatusCode, detail: String| {
        (status, axum::Json(json!({"type": "record_proof", "message": detail}))).into_response()
    };
    if let Err(e) = gw.journal.flush().await {
        tracing::error!(error = %e, "the journal could not be imported for a record proof");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    // Records just imported into PostgreSQL wait for the sequencer: give them their place now.
    if let Err(e) = gw.store.sequence_log(sen_store::log::SEQUENCE_BATCH).await {
        tracing::warn!(error = %e, "log sequencing failed before a record proof");
    }
    match gw.store.exchange_record_proof(&message_id).await {
        Ok(proofs) if proofs.is_empty() => {
            problem(StatusCode::NOT_FOUND, format!("this gateway has no record of message {message_id}"))
        }
        Ok(proofs) => {
            let records: Vec<Value> = proofs
                .into_iter()
                .map(|p| {
                    let verified = p.verify();
                    json!({"proof": p, "verified": verified.is_ok(), "error": verified.err()})
                })
                .collect();
            axum::Json(json!({"gateway": format!("{}/{}", gw.owner, gw.code), "records": records})).into_response()
        }
        Err(sen_store::StoreError::Invalid(m)) => problem(StatusCode::CONFLICT, m),
        Err(sen_store::StoreError::NotFound) => {
            problem(StatusCode::SERVICE_UNAVAILABLE, "the record is not yet in the log; ask again in a moment".into())
        }
        Err(e) => {
            tracing::error!(error = %e, "record proof failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn client_proxy(State(gw): State<Arc<Inner>>, req: Request) -> Response {
    let message_id = new_message_id();
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let mut rec = Record::new(&message_id, &method);
    let fail = |e: ExchangeError| -> Response { answer_error(&e, &message_id) };
    let route = match route::route(&method, parts.uri.path(), parts.uri.query()) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let conf = gw.conf.get();
    if let Err(e) = fresh(&gw, &conf, Origin::ClientProxy) {
        return fail(e);
    }
    if let Route::ListClients { instance } = &route {
        return list_clients(&conf, instance.as_deref(), &message_id);
    }
    let headers = lower_headers(&parts.headers);
    let client = match client_from_headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let body = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return fail(ExchangeError::client(
                Fault::BadRequest,
                format!("the request body is larger than {MAX_MESSAGE_BYTES} bytes"),
            ));
        }
    };
    rec.client = client.to_string();
    rec.service = service_name(&route);
    let target = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let outcome = forward(&gw, &conf, &route, &client, &method, &target, &headers, body, &mut rec).await;
    let (status, error_type, response) = match outcome {
        Ok(answer) => (answer.status, answer.error_type.clone(), answer.into_response(&rec)),
        Err(e) => (e.status(), Some(e.type_string()), answer_error(&e, &message_id)),
    };
    if let Err(e) = gw.journal.append(rec.finish(Side::Client, status, error_type)).await {
        tracing::error!(error = %e, "the message record could not be written");
        return answer_error(
            &ExchangeError::client_proxy(
                Fault::DatabaseError,
                "the message could not be recorded; it was not delivered",
            ),
            &message_id,
        );
    }
    response
}

fn answer_error(e: &ExchangeError, message_id: &str) -> Response {
    let (status, body) = error_body(e, message_id);
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (n, v) in [header(X_ROAD_ERROR, &e.type_string()), header(X_ROAD_ID, message_id)].into_iter().flatten() {
        h.insert(n, v);
    }
    r
}

fn list_clients(conf: &Conf, instance: Option<&str>, message_id: &str) -> Response {
    let members: Vec<Value> = conf
        .directory
        .clients(instance)
        .into_iter()
        .map(|(id, name)| json!({"id": id_json(&id), "name": name}))
        .collect();
    let mut r = axum::Json(json!({"member": members})).into_response();
    if let Some((n, v)) = header(X_ROAD_ID, message_id) {
        r.headers_mut().insert(n, v);
    }
    r
}

/// The provider gateway's answer, checked.
struct Answer {
    status: u16,
    content_type: Option<String>,
    error_type: Option<String>,
    body: Bytes,
}

impl Answer {
    fn into_response(self, rec: &Record) -> Response {
        let mut r = Response::new(Body::from(self.body));
        *r.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let h = r.headers_mut();
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut add = vec![
            header(X_ROAD_ID, &rec.message_id),
            header(X_ROAD_REQUEST_ID, &request_id),
            header(X_ROAD_REQUEST_HASH, &rec.request_hash),
            header(X_ROAD_CLIENT, &rec.client),
            header(X_ROAD_SERVICE, &rec.service),
        ];
        if let Some(t) = &self.error_type {
            add.push(header(X_ROAD_ERROR, t));
        }
        if let Some(v) = self.content_type.as_deref().and_then(|ct| HeaderValue::from_str(ct).ok()) {
            h.insert(axum::http::header::CONTENT_TYPE, v);
        }
        for (n, v) in add.into_iter().flatten() {
            h.insert(n, v);
        }
        r
    }
}

#[allow(clippy::too_many_arguments)]
async fn forward(
    gw: &Inner,
    conf: &Conf,
    route: &Route,
    client: &ClientId,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: Bytes,
    rec: &mut Record,
) -> Result<Answer, ExchangeError> {
    let me = conf
        .directory
        .gateways
        .iter()
        .find(|g| g.owner == gw.owner && g.code == gw.code && !g.retired)
        .ok_or_else(|| ExchangeError::client_proxy(Fault::InternalError, "this gateway is not in the directory"))?;
    if !me.serves.contains(client) {
        return Err(ExchangeError::client_proxy(
            Fault::UnknownMember,
            format!("client {client} is not served by this gateway"),
        ));
    }
    let provider = provider_of(route).expect("listClients is answered before");
    let peer = conf
        .gateway_of(provider)
        .ok_or_else(|| ExchangeError::client_proxy(Fault::UnknownService, format!("no gateway serves {provider}")))?;
    let peer_key = *conf.message_key(peer).ok_or_else(|| {
        ExchangeError::client_proxy(Fault::InternalError, "the provider's gateway has no readable message certificate")
    })?;
    rec.peer = Some(gateway_name(peer));
    let timeout = match route {
        Route::Service { service, .. } => conf
            .directory
            .service(service)
            .map(|s| Duration::from_millis(s.timeout_ms) + GATEWAY_MARGIN)
            .unwrap_or(METASERVICE_TIMEOUT),
        _ => METASERVICE_TIMEOUT,
    };
    let client_text = client.to_string();
    let hashed = hashed_headers(headers);
    let head = canonical_head(method, target, &client_text, &rec.message_id, hashed.iter().copied());
    rec.request_hash = request_hash(&head, &body);
    let signature = gw.signer.sign(&message::request_to_sign(&rec.request_hash)).await;
    rec.request_signature = Some(signature.clone());

    let method_value = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| ExchangeError::client(Fault::BadRequest, "unknown method"))?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let url = gw.urls.join(&peer.address, path, query).map_err(|e| {
        ExchangeError::client_proxy(
            Fault::NetworkError,
            format!("the provider's gateway {} has no valid address: {e}", gateway_name(peer)),
        )
    })?;
    let mut out = gw
        .peers
        .request(method_value, url)
        .timeout(timeout)
        .header(X_ROAD_CLIENT, &client_text)
        .header(X_ROAD_ID, &rec.message_id)
        .header(SIGNATURE_HEADER, &signature);
    for (n, v) in &hashed {
        out = out.header(*n, *v);
    }
    let resp = out.body(body).send().await.map_err(|e| peer_failure(&e, peer))?;
    let presented = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(|der| hex::encode(Sha256::digest(der)));
    if presented.as_deref() != Some(peer.tls_sha256.as_str()) {
        return Err(ExchangeError::client_proxy(
            Fault::SslAuthenticationFailed,
            format!("the peer did not present the certificate registered for {}", gateway_name(peer)),
        ));
    }
    let status = resp.status().as_u16();
    let text = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let error_type = text(X_ROAD_ERROR);
    let echoed_hash = text(X_ROAD_REQUEST_HASH);
    let response_signature = text(SIGNATURE_HEADER);
    let content_type = text("content-type");
    let body = read_limited(resp).await.map_err(|e| match e {
        Limited::TooLarge => ExchangeError::client_proxy(
            Fault::InvalidMessage,
            format!("the answer is larger than {MAX_MESSAGE_BYTES} bytes"),
        ),
        Limited::Failed(e) => peer_failure(&e, peer),
    })?;
    let digest = message::body_digest(&body);
    rec.response_digest = Some(digest.clone());
    rec.response_signature = response_signature.clone();
    gw.verified.verify(
        &peer_key,
        &message::response_to_sign(&rec.message_id, &rec.request_hash, status, error_type.as_deref(), &digest),
        response_signature.as_deref(),
        Origin::ClientProxy,
    )?;
    // A signed error of the peer about the request's hash (it could not read it) is passed on as it is.
    if echoed_hash.as_deref() != Some(rec.request_hash.as_str()) && error_type.is_none() {
        return Err(ExchangeError::client_proxy(
            Fault::InvalidMessage,
            "the answer does not carry the hash of this request",
        ));
    }
    Ok(Answer { status, content_type, error_type, body })
}

fn peer_failure(e: &reqwest::Error, peer: &Gateway) -> ExchangeError {
    let name = gateway_name(peer);
    if e.is_timeout() {
        ExchangeError::client_proxy(
            Fault::NetworkError,
            format!("the provider's gateway {name} did not answer in time"),
        )
        .because(Fault::Timeout)
    } else {
        ExchangeError::client_proxy(Fault::NetworkError, format!("the provider's gateway {name} cannot be reached"))
    }
}

enum Limited {
    TooLarge,
    Failed(reqwest::Error),
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Bytes, Limited> {
    if resp.content_length().is_some_and(|n| n as usize > MAX_MESSAGE_BYTES) {
        return Err(Limited::TooLarge);
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Limited::Failed)? {
        if buf.len() + chunk.len() > MAX_MESSAGE_BYTES {
            return Err(Limited::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

// ---------------------------------------------------------------------------------------
// The server proxy

async fn server_proxy(State(gw): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let chain = parts.extensions.get::<PeerChain>().cloned().unwrap_or_default();
    let method = parts.method.as_str().to_string();
    let headers = lower_headers(&parts.headers);
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let given_id = get(X_ROAD_ID).filter(|id| !id.is_empty() && id.len() <= 200);
    let message_id = given_id.clone().unwrap_or_else(new_message_id);
    let mut rec = Record::new(&message_id, &method);
    let conf = gw.conf.get();
    let result = serve(&gw, &conf, &chain, &parts, &headers, given_id.is_some(), body, &mut rec).await;
    let (status, error_type, content_type, body) = match result {
        Ok((status, content_type, body)) => (status, None, content_type, body),
        Err(e) => {
            let (status, body) = error_body(&e, &message_id);
            (status.as_u16(), Some(e.type_string()), Some("application/json".to_string()), Bytes::from(body))
        }
    };
    let digest = message::body_digest(&body);
    let signature = gw
        .signer
        .sign(&message::response_to_sign(&message_id, &rec.request_hash, status, error_type.as_deref(), &digest))
        .await;
    rec.response_digest = Some(digest);
    rec.response_signature = Some(signature.clone());
    let request_hash = rec.request_hash.clone();
    if let Err(e) = gw.journal.append(rec.finish(Side::Provider, status, error_type.clone())).await {
        tracing::error!(error = %e, "the message record could not be written");
        let e = ExchangeError::server_proxy(
            Fault::DatabaseError,
            "the message could not be recorded; it was not delivered",
        );
        let (status, body) = error_body(&e, &message_id);
        let digest = message::body_digest(&body);
        let signature = message::sign(
            &gw.message_key,
            &message::response_to_sign(&message_id, "", status.as_u16(), Some(&e.type_string()), &digest),
        );
        return signed_response(
            status.as_u16(),
            Some("application/json"),
            Some(&e.type_string()),
            &message_id,
            "",
            &signature,
            Bytes::from(body),
        );
    }
    signed_response(
        status,
        content_type.as_deref(),
        error_type.as_deref(),
        &message_id,
        &request_hash,
        &signature,
        body,
    )
}

fn signed_response(
    status: u16,
    content_type: Option<&str>,
    error_type: Option<&str>,
    message_id: &str,
    request_hash: &str,
    signature: &str,
    body: Bytes,
) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let h = r.headers_mut();
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert(axum::http::header::CONTENT_TYPE, ct);
    }
    let mut add = vec![
        header(X_ROAD_ID, message_id),
        header(X_ROAD_REQUEST_HASH, request_hash),
        header(SIGNATURE_HEADER, signature),
    ];
    if let Some(t) = error_type {
        add.push(header(X_ROAD_ERROR, t));
    }
    for (n, v) in add.into_iter().flatten() {
        h.insert(n, v);
    }
    r
}

/// Refuses to decide on a configuration older than the gateway may use.
fn fresh(gw: &Inner, conf: &Conf, origin: Origin) -> Result<(), ExchangeError> {
    let age = (Utc::now() - conf.generated_at).to_std().unwrap_or_default();
    if age > gw.max_conf_age {
        return Err(ExchangeError::new(
            origin,
            Fault::OutdatedGlobalConf,
            format!("the gateway's directory is {} s old and could not be refreshed", age.as_secs()),
        ));
    }
    Ok(())
}

fn sp(fault: Fault, message: impl Into<String>) -> ExchangeError {
    ExchangeError::server_proxy(fault, message)
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    gw: &Inner,
    conf: &Conf,
    chain: &PeerChain,
    parts: &axum::http::request::Parts,
    headers: &[(String, String)],
    has_id: bool,
    body: Body,
    rec: &mut Record,
) -> Result<(u16, Option<String>, Bytes), ExchangeError> {
    fresh(gw, conf, Origin::ServerProxy)?;
    // 1. Who is calling: a registered gateway, by the certificate it proved it holds.
    let leaf = chain
        .0
        .as_ref()
        .and_then(|c| c.first())
        .ok_or_else(|| sp(Fault::SslAuthenticationFailed, "the peer presented no client certificate"))?;
    let sha = hex::encode(Sha256::digest(leaf));
    let sender = conf.directory.gateway_by_tls(&sha).ok_or_else(|| {
        sp(Fault::SslAuthenticationFailed, "the peer's certificate is not that of a gateway in the directory")
    })?;
    rec.peer = Some(gateway_name(sender));
    if !has_id {
        return Err(sp(Fault::InvalidMessage, "the message has no X-Road-Id"));
    }
    let method = parts.method.as_str();
    let route = route::route(method, parts.uri.path(), parts.uri.query())?;
    rec.service = service_name(&route);
    let client = client_from_headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))?;
    rec.client = client.to_string();
    let body = axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await.map_err(|_| {
        ExchangeError::client(Fault::BadRequest, format!("the request body is larger than {MAX_MESSAGE_BYTES} bytes"))
    })?;
    // 2. The message is the one the sender signed.
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let hashed = hashed_headers(headers);
    let head = canonical_head(method, target, &rec.client, &rec.message_id, hashed.iter().copied());
    rec.request_hash = request_hash(&head, &body);
    let signature = headers.iter().find(|(n, _)| n == SIGNATURE_HEADER).map(|(_, v)| v.as_str());
    rec.request_signature = signature.map(str::to_string);
    let key = conf
        .message_key(sender)
        .ok_or_else(|| sp(Fault::InternalError, "the sender has no readable message certificate"))?;
    gw.verified.verify(key, &message::request_to_sign(&rec.request_hash), signature, Origin::ServerProxy)?;
    // 3. The sender speaks for this client, and this gateway for the provider.
    if !sender.serves.contains(&client) {
        return Err(sp(
            Fault::AccessDenied,
            format!("gateway {} does not serve client {client}", gateway_name(sender)),
        ));
    }
    let provider = provider_of(&route).ok_or_else(|| {
        ExchangeError::client(Fault::BadRequest, "listClients is answered by the caller's own gateway")
    })?;
    let serves_provider = conf.gateway_of(provider).is_some_and(|g| g.owner == gw.owner && g.code == gw.code);
    if !serves_provider {
        return Err(sp(Fault::UnknownService, format!("this gateway does not serve {provider}")));
    }
    if !conf.directory.knows(&client) {
        return Err(sp(Fault::UnknownMember, format!("client {client} is not registered")));
    }
    // 4. The call.
    match &route {
        Route::Service { service, path, query } => {
            let s = conf.directory.authorise(&client, service, method, if path.is_empty() { "/" } else { path })?;
            let url = gw.urls.join(&s.base_url, path, query.as_deref()).map_err(|e| {
                sp(Fault::ServiceFailed, format!("the service's address is not valid: {e}"))
                    .because(Fault::NetworkError)
            })?;
            let m = reqwest::Method::from_bytes(method.as_bytes())
                .map_err(|_| ExchangeError::client(Fault::BadRequest, "unknown method"))?;
            let mut out = gw
                .providers
                .request(m, url)
                .timeout(Duration::from_millis(s.timeout_ms))
                .header(X_ROAD_CLIENT, &rec.client)
                .header(X_ROAD_ID, &rec.message_id)
                .header(X_ROAD_SERVICE, service.to_string());
            for (n, v) in &hashed {
                out = out.header(*n, *v);
            }
            let failed = |e: &reqwest::Error| {
                let cause = if e.is_timeout() { Fault::Timeout } else { Fault::NetworkError };
                sp(
                    Fault::ServiceFailed,
                    format!(
                        "the provider's system did not answer ({})",
                        if e.is_timeout() { "time-out" } else { "unreachable" }
                    ),
                )
                .because(cause)
            };
            let resp = out.body(body).send().await.map_err(|e| failed(&e))?;
            let status = resp.status().as_u16();
            let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = read_limited(resp).await.map_err(|e| match e {
                Limited::TooLarge => {
                    sp(Fault::ServiceFailed, format!("the provider's answer is larger than {MAX_MESSAGE_BYTES} bytes"))
                        .because(Fault::InvalidMessage)
                }
                Limited::Failed(e) => failed(&e),
            })?;
            Ok((status, content_type, body))
        }
        Route::ListMethods { provider } | Route::AllowedMethods { provider } => {
            let services: Vec<&sen_exchange::directory::Service> = if matches!(route, Route::ListMethods { .. }) {
                conf.directory.subsystem(provider).map(|(_, s)| s.services.iter().collect()).unwrap_or_default()
            } else {
                conf.directory.allowed_services(provider, &client)
            };
            let list: Vec<Value> = services
                .iter()
                .map(|s| {
                    let mut v = id_json(provider);
                    v["object_type"] = json!("SERVICE");
                    v["service_code"] = json!(s.code);
                    v["service_type"] = json!("REST");
                    v
                })
                .collect();
            Ok((200, Some("application/json".into()), Bytes::from(json!({"service": list}).to_string())))
        }
        Route::GetOpenApi { provider, service_code } => {
            let id = provider
                .service(service_code)
                .map_err(|e| ExchangeError::client(Fault::InvalidServiceIdentifier, e))?;
            let s = conf
                .directory
                .service(&id)
                .ok_or_else(|| sp(Fault::UnknownService, format!("service {id} is not registered")))?;
            if !s.grants_anything_to(&client) {
                return Err(sp(Fault::AccessDenied, format!("client {client} has no right on {id}")));
            }
            let doc = s
                .openapi
                .clone()
                .ok_or_else(|| sp(Fault::UnknownService, format!("service {id} has no OpenAPI description")))?;
            Ok((200, Some("application/json".into()), Bytes::from(doc)))
        }
        Route::ListClients { .. } => unreachable!("refused above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A joined address is the one the concatenated text parses to, with or without a
    /// base path, a trailing slash, a query or escapes; a cached base serves every call.
    #[test]
    fn joined_addresses_are_the_concatenated_ones() {
        let urls = BaseUrls::default();
        let cases = [
            ("https://10.0.0.7:8443", "/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/001", None),
            ("http://127.0.0.1:8080/registry/", "/residence/persons/001", Some("fields=address&x=%C3%A1")),
            ("http://127.0.0.1:8080/registry", "", None),
            ("http://h.example/base", "/a%20b/c", Some("")),
        ];
        for _ in 0..2 {
            for (base, path, query) in cases {
                let text = match query {
                    Some(q) => format!("{}{path}?{q}", base.trim_end_matches('/')),
                    None => format!("{}{path}", base.trim_end_matches('/')),
                };
                assert_eq!(urls.join(base, path, query).unwrap(), reqwest::Url::parse(&text).unwrap(), "{text}");
            }
        }
        assert!(urls.join("not an address", "/x", None).is_err());
        assert!(urls.join("mailto:a@b.example", "/x", None).is_err());
    }
}
