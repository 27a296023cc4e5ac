//! Prometheus metrics: requests by route and status, latency histograms, dossiers by state.
//! Paths are recorded as route templates, never with identifiers or personal data.

use crate::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Series>>,
    pub submissions: AtomicU64,
    states: Mutex<Option<(Instant, Vec<sen_store::StateCount>)>>,
    /// The assistant's calls to its chat model, by outcome.
    assistant_llm: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts one call of the assistant to its chat model: `rephrased`, `unfaithful` or `failed`.
    pub fn assistant_llm(&self, outcome: &'static str) {
        *self.assistant_llm.lock().expect("metrics").entry(outcome).or_default() += 1;
    }

    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        *self.requests.lock().expect("metrics").entry((method.into(), route.into(), status)).or_default() += 1;
        let mut l = self.latency.lock().expect("metrics");
        let s = l.entry((method.into(), route.into())).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.metrics.observe(&method, &route, status, secs);
    tracing::info!(target: "sen::http", %method, %route, status, ms = secs * 1000.0, "request");
    resp
}

/// Dossier counts are a table scan on a large store: cached for 15 seconds.
const STATE_TTL: Duration = Duration::from_secs(15);

async fn render(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let cached =
        m.states.lock().expect("metrics").as_ref().filter(|(at, _)| at.elapsed() < STATE_TTL).map(|(_, v)| v.clone());
    let states = match cached {
        Some(v) => v,
        None => {
            let v = state.store.count_by_state().await.unwrap_or_default();
            *m.states.lock().expect("metrics") = Some((Instant::now(), v.clone()));
            v
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "# HELP sen_http_requests_total HTTP requests by method, route and status.");
    let _ = writeln!(out, "# TYPE sen_http_requests_total counter");
    for ((method, route, status), n) in m.requests.lock().expect("metrics").iter() {
        let _ =
            writeln!(out, "sen_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP sen_http_request_duration_seconds HTTP request latency.");
    let _ = writeln!(out, "# TYPE sen_http_request_duration_seconds histogram");
    for ((method, route), s) in m.latency.lock().expect("metrics").iter() {
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "sen_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"{b}\"}} {}",
                s.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "sen_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"+Inf\"}} {}",
            s.count
        );
        let _ =
            writeln!(out, "sen_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\"}} {}", s.sum);
        let _ = writeln!(
            out,
            "sen_http_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\"}} {}",
            s.count
        );
    }
    let _ = writeln!(out, "# HELP sen_dossier_submissions_total Dossiers submitted through this node.");
    let _ = writeln!(out, "# TYPE sen_dossier_submissions_total counter");
    let _ = writeln!(out, "sen_dossier_submissions_total {}", m.submissions.load(Ordering::Relaxed));
    let _ = writeln!(out, "# HELP sen_assistant_llm_total The assistant's calls to its chat model, by outcome.");
    let _ = writeln!(out, "# TYPE sen_assistant_llm_total counter");
    for (outcome, n) in m.assistant_llm.lock().expect("metrics").iter() {
        let _ = writeln!(out, "sen_assistant_llm_total{{outcome=\"{outcome}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP sen_dossiers Dossiers by state.");
    let _ = writeln!(out, "# TYPE sen_dossiers gauge");
    for s in states {
        let _ = writeln!(out, "sen_dossiers{{state=\"{}\"}} {}", s.state, s.n);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(render)).route("/healthz", get(healthz)).route("/readyz", get(readyz))
}
