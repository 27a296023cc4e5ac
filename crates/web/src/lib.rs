//! Sen's HTTP edge: the citizen portal and back-office pages, the JSON API under `/api/v1`
//! (described by OpenAPI 3.1), health and Prometheus metrics.

pub mod api;
pub mod app;
pub mod assistant_http;
pub mod auth;
pub mod bundle_http;
pub mod ckan_http;
pub mod completeness_http;
pub mod consent_http;
pub mod data_reads_http;
pub mod datastore_http;
pub mod dcat_http;
pub mod error;
pub mod exchange_http;
pub mod exchange_pages;
pub mod i18n;
pub mod metrics;
pub mod notify_http;
pub mod once_only;
pub mod openapi;
pub mod opendata_pages;
pub mod own_stats_http;
pub mod pages;
pub mod petitions_http;
pub mod plan_http;
pub mod proactive_http;
pub mod quality_http;
pub mod recommend_http;
pub mod registry_http;
pub mod trust;
pub mod trust_http;
pub mod usage_http;

use app::Catalogue;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use sen_domain::Calendar;
use sen_store::Store;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Settings of the HTTP edge.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest accepted file (default 10 MB).
    pub max_file_bytes: usize,
    /// Set the `Secure` flag on cookies (off only for plain HTTP on loopback).
    pub secure_cookies: bool,
    /// How often the overdue job runs.
    pub overdue_every: Duration,
    /// The address people and relying parties reach Sen at (CRL and QR links).
    pub public_url: String,
    /// How often the log sequencer and the signature stamper run.
    pub trust_jobs_every: Duration,
    /// How often a signed checkpoint of the log is made (if it grew).
    pub checkpoint_every: Duration,
    /// The portal's way into the data exchange (its gateway); none: registries are not read.
    pub exchange: Option<data_reads_http::ExchangeClient>,
    /// E-mail and SMS channels of notifications.
    pub notify: notify_http::NotifyConfig,
    /// An OpenAI-compatible chat model that may rephrase the assistant's grounded answers;
    /// none: the assistant answers with the catalogue's facts as Sen composes them.
    pub assistant_llm: Option<sen_ai::llm::ChatClient>,
    /// The FAQs the assistant answers from beside the catalogue (shown on `/faq`): the
    /// shipped ones unless the operator gives their own file.
    pub assistant_faqs: Vec<sen_domain::assistant::Faq>,
    /// A sentence-embedding model that re-ranks the assistant's sources; none: retrieval's
    /// order.
    pub assistant_model: Option<Arc<sen_ai::embed::Embedder>>,
    /// Check the addresses of open-data resources that link elsewhere (metadata quality).
    pub check_links: bool,
    /// Let the link checker request loopback and private addresses (tests on one machine
    /// only: otherwise a publisher could make Sen probe its own network).
    pub link_check_private: bool,
    /// The agency (its code) that publishes the platform's own statistics as open data;
    /// none: the first provincial People's Committee.
    pub own_data_agency: Option<String>,
    /// Offer `datastore_search_sql` (read-only SELECTs over the datastore's tables).
    pub datastore_sql: bool,
    /// How long one `datastore_search_sql` query may run.
    pub datastore_sql_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_file_bytes: 10 * 1024 * 1024,
            secure_cookies: true,
            overdue_every: Duration::from_secs(60),
            public_url: "http://127.0.0.1:8080".into(),
            trust_jobs_every: Duration::from_millis(250),
            checkpoint_every: Duration::from_secs(10),
            exchange: None,
            notify: notify_http::NotifyConfig::default(),
            assistant_llm: None,
            assistant_faqs: sen_domain::assistant::shipped_faqs(),
            assistant_model: None,
            check_links: false,
            link_check_private: false,
            own_data_agency: None,
            datastore_sql: true,
            datastore_sql_timeout: Duration::from_secs(5),
        }
    }
}

/// An AI aid shown to an agency's officers on a day: (agency, aid, day).
pub type AiUse = (i64, &'static str, chrono::NaiveDate);

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub catalogue: Arc<RwLock<Arc<Catalogue>>>,
    pub calendar: Arc<RwLock<Arc<Calendar>>>,
    pub limiter: Arc<auth::LoginLimiter>,
    pub principals: Arc<auth::PrincipalCache>,
    pub metrics: Arc<metrics::Metrics>,
    pub trust: Arc<trust::TrustService>,
    /// For calls to the exchange gateway.
    pub http: reqwest::Client,
    /// The delay-risk model, retrained from closed dossiers by the overdue job.
    pub delay_model: Arc<RwLock<Arc<sen_domain::delay::Model>>>,
    /// "People who did this also needed", retrained with the delay model.
    pub recommend_model: Arc<RwLock<Arc<sen_domain::recommend::Model>>>,
    /// AI aids already noted as shown today (agency, aid, day): one write per day each.
    pub ai_uses: Arc<std::sync::Mutex<std::collections::HashSet<AiUse>>>,
    /// The petition router, retrained when officers correct routes.
    pub router_model: Arc<RwLock<Arc<sen_domain::routing::Model>>>,
    /// The open-data catalogue's search index (issue #6).
    pub open_data: ckan_http::OpenDataIndex,
    /// The open data's metadata quality as the quality job last computed it.
    pub open_data_quality: Arc<RwLock<Option<Arc<quality_http::QualityReport>>>>,
    /// Uses of the open data counted since the last flush.
    pub usage: Arc<usage_http::UsageCounter>,
}

impl AppState {
    pub async fn new(store: Store, config: Config, trust: Arc<trust::TrustService>) -> Result<Self, error::AppError> {
        let catalogue = Catalogue::load(&store, &config.assistant_faqs, config.assistant_model.as_ref()).await?;
        let days = store.holidays().await?;
        let calendar = if days.is_empty() { Calendar::vietnam() } else { Calendar::new(&days) };
        let router = petitions_http::train(&store).await?;
        let delay = train_delay(&store).await?;
        let recommender = recommend_http::train(&store).await?;
        let open_data = ckan_http::load_index(&store).await?;
        Ok(AppState {
            store,
            config: Arc::new(config),
            catalogue: Arc::new(RwLock::new(Arc::new(catalogue))),
            calendar: Arc::new(RwLock::new(Arc::new(calendar))),
            limiter: Arc::new(auth::LoginLimiter::default()),
            principals: Arc::new(auth::PrincipalCache::default()),
            metrics: Arc::new(metrics::Metrics::default()),
            router_model: Arc::new(RwLock::new(Arc::new(router))),
            delay_model: Arc::new(RwLock::new(Arc::new(delay))),
            recommend_model: Arc::new(RwLock::new(Arc::new(recommender))),
            ai_uses: Default::default(),
            open_data,
            open_data_quality: Default::default(),
            usage: Default::default(),
            trust,
            http: reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| error::AppError::Internal(e.to_string()))?,
        })
    }
}

impl FromRef<AppState> for () {
    fn from_ref(_: &AppState) {}
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    // Requests may carry several files of up to `max_file_bytes` each.
    let body_limit = state.config.max_file_bytes.saturating_mul(3).saturating_add(1024 * 1024);
    Router::new()
        .merge(trust_http::public_routes())
        .merge(pages::routes(state.clone()))
        .nest("/api/v1", api::routes())
        .merge(notify_http::routes())
        .merge(ckan_http::routes())
        .merge(dcat_http::routes())
        .merge(opendata_pages::routes())
        .merge(plan_http::page_routes())
        .merge(quality_http::page_routes())
        .merge(metrics::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .with_state(state)
}

/// Marks overdue dossiers periodically. Safe on several nodes at once: the update is
/// idempotent and each row changes at most once.
/// Runs the log sequencer and the signature stamper every `trust_jobs_every`, and
/// signs a checkpoint every `checkpoint_every`. Safe on several nodes at once.
pub fn spawn_trust_jobs(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.trust_jobs_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_checkpoint = std::time::Instant::now();
        loop {
            tick.tick().await;
            if let Err(e) = state.trust.run_jobs().await {
                tracing::warn!(error = %e, "trust jobs failed");
            }
            if last_checkpoint.elapsed() >= state.config.checkpoint_every {
                last_checkpoint = std::time::Instant::now();
                match state.trust.checkpoint().await {
                    Ok(Some(c)) => tracing::info!(size = c.size, "log checkpoint signed"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
                }
            }
        }
    })
}

/// Closed dossiers the delay model learns from, at most (the oldest first).
const DELAY_HISTORY: u64 = 200_000;

/// Trains the delay-risk model on the closed dossiers.
pub async fn train_delay(store: &Store) -> Result<sen_domain::delay::Model, sen_store::StoreError> {
    let cases: Vec<sen_domain::delay::Case> =
        store.delay_history(DELAY_HISTORY).await?.iter().map(delay_case).collect();
    Ok(sen_domain::delay::Model::train(&cases))
}

pub fn delay_case(r: &sen_store::delay::DelayRow) -> sen_domain::delay::Case {
    sen_domain::delay::Case {
        procedure_id: r.procedure_id,
        agency_id: r.agency_id,
        deadline_days: r.deadline_days,
        supplements: r.supplements,
        late: r.late(),
    }
}

pub fn spawn_overdue_job(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.overdue_every);
        let mut runs: u64 = 0;
        loop {
            tick.tick().await;
            runs += 1;
            // The delay model learns from what closed since, about hourly.
            if runs.is_multiple_of(60) {
                match train_delay(&state.store).await {
                    Ok(m) => *state.delay_model.write().expect("delay model") = Arc::new(m),
                    Err(e) => tracing::warn!(error = %e, "delay model not retrained"),
                }
                match recommend_http::train(&state.store).await {
                    Ok(m) => *state.recommend_model.write().expect("recommender") = Arc::new(m),
                    Err(e) => tracing::warn!(error = %e, "recommender not retrained"),
                }
            }
            match state.store.mark_overdue(app::today()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(marked = n, "dossiers marked overdue"),
                Err(e) => tracing::warn!(error = %e, "overdue job failed"),
            }
            // Fetched registry data is personal: kept no longer than it can be used.
            let before = chrono::Utc::now() - sen_store::evidence::EVIDENCE_KEPT_FOR;
            match state.store.purge_fetched_evidence(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired fetched evidence deleted"),
                Err(e) => tracing::warn!(error = %e, "fetched evidence purge failed"),
            }
        }
    })
}
