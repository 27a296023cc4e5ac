//! End-to-end tests through HTTP, on SQLite and (when configured) PostgreSQL.
//!
//! PostgreSQL runs when `SEN_TEST_POSTGRES_URL` is set (CI sets it); each test then gets its
//! own schema. Without it the PostgreSQL half is skipped with a message.

use reqwest::{Client, StatusCode};
use sen_store::{Store, StoreConfig};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

struct Server {
    base: String,
    store: Store,
    backend: &'static str,
    state: sen_web::AppState,
    _task: tokio::task::JoinHandle<()>,
}

async fn seeded_store(backend: &str) -> Option<Store> {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let store = match backend {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("sen-test-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Store::connect(&StoreConfig::sqlite_in(&dir)).await.unwrap()
        }
        _ => {
            let Ok(url) = std::env::var("SEN_TEST_POSTGRES_URL") else {
                eprintln!(
                    "SKIPPED on PostgreSQL: set SEN_TEST_POSTGRES_URL (for example postgres://postgres@127.0.0.1/test) to run it"
                );
                return None;
            };
            let schema = format!("t{}_{}_{}", std::process::id(), n, rand_suffix());
            Store::connect_postgres_schema(&url, &schema).await.unwrap()
        }
    };
    store.migrate().await.unwrap();
    let opts = sen_demo::SeedOptions { seed: 7, citizens: 400, businesses: 20, dossiers: 300, now: chrono::Utc::now() };
    sen_demo::seed(&store, &opts).await.unwrap();
    Some(store)
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
}

async fn start(backend: &'static str, mut config: sen_web::Config) -> Option<Server> {
    let store = seeded_store(backend).await?;
    let urls = sen_trust::cert::PublicUrls { base: "http://127.0.0.1:8080".into() };
    let trust = sen_web::trust::TrustService::init_with_cost(&store, "test passphrase only", urls, 10).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    // Links Sen writes (catalogue pages, notifications) lead back to this server.
    config.public_url = format!("http://{addr}");
    let state = sen_web::AppState::new(store.clone(), config, std::sync::Arc::new(trust)).await.unwrap();
    let app = sen_web::router(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Some(Server { base: format!("http://{addr}"), store, backend, state, _task: task })
}

fn test_config() -> sen_web::Config {
    sen_web::Config { secure_cookies: false, ..Default::default() }
}

/// Runs `f` against a fresh server on each backend.
macro_rules! on_both {
    (|$s:ident| $body:block) => {
        for backend in ["sqlite", "postgres"] {
            let Some($s) = start(backend, test_config()).await else { continue };
            eprintln!("-- {backend}");
            $body
        }
    };
}

struct User {
    client: Client,
    csrf: String,
    id: i64,
}

async fn login(s: &Server, username: &str) -> User {
    let client = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = client
        .post(format!("{}/api/v1/auth/login", s.base))
        .json(&json!({"username": username, "password": sen_demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "login {username}");
    let v: Value = r.json().await.unwrap();
    User { client, csrf: v["csrf_token"].as_str().unwrap().into(), id: v["user_id"].as_i64().unwrap() }
}

async fn procedure_id(s: &Server, code: &str) -> i64 {
    let v: Value = reqwest::get(format!("{}/api/v1/procedures?q={code}", s.base)).await.unwrap().json().await.unwrap();
    v[0]["id"].as_i64().unwrap()
}

async fn post(u: &User, url: String, body: Value) -> (StatusCode, Value) {
    let r = u.client.post(url).header("x-csrf-token", &u.csrf).json(&body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(u: &User, url: String) -> (StatusCode, Value) {
    let r = u.client.get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The agency id of the demo desk (UBND Phường Hoàn Kiếm).
async fn hoan_kiem(s: &Server) -> i64 {
    let v: Value = reqwest::get(format!("{}/api/v1/agencies?kind=commune_pc&province=01", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_array().unwrap().iter().find(|a| a["name"].as_str().unwrap().ends_with("Phường Hoàn Kiếm")).unwrap()["id"]
        .as_i64()
        .unwrap()
}

const PDF: &str =
    "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==";

async fn submit_birth(s: &Server, citizen: &User) -> (StatusCode, Value) {
    let pid = procedure_id(s, "1.001193").await;
    let agency = hoan_kiem(s).await;
    post(
        citizen,
        format!("{}/api/v1/dossiers", s.base),
        json!({
            "procedure_id": pid, "agency_id": agency,
            "data": {"child_full_name": "Nguyễn Minh An", "child_birth_date": "2026-11-20", "child_sex": "Nam", "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
                     "ethnicity": "Kinh", "mother_full_name": "Trần Thị Mai", "mother_id_number": "001190012345", "relationship": "Mẹ"},
            "files": [{"component": "Giấy chứng sinh hoặc văn bản của người làm chứng", "filename": "chung-sinh.pdf", "content_type": "application/pdf", "content_base64": PDF}]
        }),
    )
    .await
}

#[tokio::test]
async fn the_main_journey_through_the_api() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let (st, sub) = submit_birth(&s, &citizen).await;
        assert_eq!(st, StatusCode::CREATED, "{sub}");
        let id = sub["id"].as_i64().unwrap();
        assert!(sub["code"].as_str().unwrap().starts_with('X'));
        assert!(sub["appointment_date"].is_string());

        let desk = login(&s, "motcua").await;
        let (st, q) = get(&desk, format!("{}/api/v1/queues/new?limit=200", s.base)).await;
        assert_eq!(st, StatusCode::OK);
        assert!(q.as_array().unwrap().iter().any(|d| d["id"].as_i64() == Some(id)), "new queue shows the dossier");
        let (_, counts) = get(&desk, format!("{}/api/v1/queues", s.base)).await;
        let new_count =
            counts.as_array().unwrap().iter().find(|c| c["queue"] == "new").unwrap()["count"].as_i64().unwrap();
        assert_eq!(new_count, q.as_array().unwrap().len().min(100) as i64, "the tab count matches the queue");

        let (st, _) = get(&desk, format!("{}/api/v1/dossiers/{id}", s.base)).await;
        assert_eq!(st, StatusCode::OK, "the desk opens the dossier");
        let (st, d) =
            post(&desk, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "receive"})).await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["state"], "RECEIVED");
        let (st, d) = post(
            &desk,
            format!("{}/api/v1/dossiers/{id}/actions", s.base),
            json!({"action": "request_supplement", "reason": "Thiếu bản sao giấy chứng sinh có xác nhận"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["state"], "AWAITING_SUPPLEMENT");

        let (st, d) = post(&citizen, format!("{}/api/v1/dossiers/{id}/actions", s.base),
            json!({"action": "supply", "files": [{"component": "Bổ sung", "filename": "bo-sung.pdf", "content_type": "application/pdf", "content_base64": PDF}]})).await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["state"], "RECEIVED");

        let specialist = login(&s, "chuyenvien").await;
        let (st, d) = post(
            &desk,
            format!("{}/api/v1/dossiers/{id}/actions", s.base),
            json!({"action": "hand_off", "to_user_id": specialist.id}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["assignee_user_id"].as_i64(), Some(specialist.id));
        let approver = login(&s, "lanhdao").await;
        let (st, d) =
            post(&approver, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "approve"})).await;
        assert_eq!(st, StatusCode::OK, "{d}");
        let (st, d) =
            post(&desk, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "issue_result"})).await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["state"], "RESULT_ISSUED");
        assert_eq!(d["result"]["document"], "Giấy khai sinh (bản chính, bản điện tử)");

        let r = citizen
            .client
            .post(format!("{}/api/v1/dossiers/{id}/rating", s.base))
            .header("x-csrf-token", &citizen.csrf)
            .json(&json!({"score": 5, "comment": "Nhanh"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (st, p) = post(&citizen, format!("{}/api/v1/dossiers/{id}/rating", s.base), json!({"score": 4})).await;
        assert_eq!((st, p["code"].as_str()), (StatusCode::CONFLICT, Some("already_rated")));

        let (_, events) = get(&citizen, format!("{}/api/v1/dossiers/{id}/events", s.base)).await;
        let actions: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            ["submit", "receive", "request_supplement", "supply", "hand_off", "approve", "issue_result"]
        );
        // The applicant sees which officials opened the dossier.
        let (_, reads) = get(&citizen, format!("{}/api/v1/dossiers/{id}/reads", s.base)).await;
        assert!(reads.as_array().unwrap().iter().any(|r| r["official"] == "Trần Thị Thu Hà"), "{reads}");
        let (_, files) = get(&citizen, format!("{}/api/v1/dossiers/{id}/files", s.base)).await;
        assert_eq!(files.as_array().unwrap().len(), 2);
        // Anyone can look the status up by code, without personal data.
        let code = sub["code"].as_str().unwrap();
        let v: Value = reqwest::get(format!("{}/api/v1/lookup/{}", s.base, code.to_lowercase()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["state"], "RESULT_ISSUED");
        assert!(v.get("applicant_name").is_none());
    });
}

#[tokio::test]
async fn other_agencies_other_citizens_and_anonymous_users_are_refused() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let (_, sub) = submit_birth(&s, &citizen).await;
        let id = sub["id"].as_i64().unwrap();
        let other_desk = login(&s, "motcua.badinh").await;
        let other_citizen = login(&s, "congdan2").await;
        for u in [&other_desk, &other_citizen] {
            let (st, p) = get(u, format!("{}/api/v1/dossiers/{id}", s.base)).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{p}");
            let (st, _) =
                post(u, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "receive"})).await;
            assert_eq!(st, StatusCode::NOT_FOUND);
            let r = u.client.get(format!("{}/dossiers/{id}", s.base)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "page refused too");
        }
        let (_, q) = get(&other_desk, format!("{}/api/v1/queues/new?limit=200", s.base)).await;
        assert!(!q.as_array().unwrap().iter().any(|d| d["id"].as_i64() == Some(id)));
        // A citizen may not act as an officer on their own dossier.
        let (st, p) =
            post(&citizen, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "receive"})).await;
        assert_eq!((st, p["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
        // An approver may not receive (desk role).
        let approver = login(&s, "lanhdao").await;
        let (st, _) =
            post(&approver, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "receive"})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // Anonymous.
        let anon = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = anon.get(format!("{}/api/v1/dossiers/{id}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let r = anon.get(format!("{}/dossiers/{id}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/login"));
        let r = anon.get(format!("{}/api/v1/queues/new", s.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // Citizens have no queues.
        let (st, _) = get(&citizen, format!("{}/api/v1/queues/new", s.base)).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // Nothing changed.
        let d = s.store.dossier(id).await.unwrap();
        assert_eq!((d.state.as_str(), d.version), ("SUBMITTED", 1));
    });
}

#[tokio::test]
async fn bad_input_is_refused_precisely_and_changes_nothing() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let before = s.store.count_dossiers().await.unwrap();
        let pid = procedure_id(&s, "1.001193").await;
        // Malformed JSON: 400 with a pointer.
        let r = citizen
            .client
            .post(format!("{}/api/v1/dossiers", s.base))
            .header("x-csrf-token", &citizen.csrf)
            .header("content-type", "application/json")
            .body("{\"procedure_id\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let (st, p) =
            post(&citizen, format!("{}/api/v1/dossiers", s.base), json!({"procedure_id": "one", "data": {}})).await;
        assert_eq!(
            (st, p["code"].as_str(), p["pointer"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_json"), Some("/procedure_id"))
        );
        // Schema failures: 422, one error per field.
        let (st, p) = post(
            &citizen,
            format!("{}/api/v1/dossiers", s.base),
            json!({"procedure_id": pid, "data": {"child_birth_date": "2026-02-30", "child_sex": "X"}}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        for f in ["child_full_name", "child_birth_date", "child_sex", "mother_full_name"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        // Unknown procedure: 404.
        let (st, p) =
            post(&citizen, format!("{}/api/v1/dossiers", s.base), json!({"procedure_id": 999999, "data": {}})).await;
        assert_eq!((st, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        // Missing CSRF header with a session cookie: 403.
        let r = citizen
            .client
            .post(format!("{}/api/v1/dossiers", s.base))
            .json(&json!({"procedure_id": pid, "data": {}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(s.store.count_dossiers().await.unwrap(), before, "nothing was written");
        // Illegal transition: 409 with the current state.
        let (_, sub) = submit_birth(&s, &citizen).await;
        let id = sub["id"].as_i64().unwrap();
        let desk = login(&s, "motcua").await;
        let (st, p) =
            post(&desk, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "issue_result"})).await;
        assert_eq!(
            (st, p["code"].as_str(), p["current_state"].as_str()),
            (StatusCode::CONFLICT, Some("illegal_transition"), Some("SUBMITTED"))
        );
        // A reason is required to refuse.
        let (st, p) =
            post(&desk, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "refuse"})).await;
        assert_eq!((st, p["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")));
        // Stale version: 409.
        let (st, p) = post(
            &desk,
            format!("{}/api/v1/dossiers/{id}/actions", s.base),
            json!({"action": "receive", "version": 99}),
        )
        .await;
        assert_eq!(
            (st, p["code"].as_str(), p["current_version"].as_i64()),
            (StatusCode::CONFLICT, Some("stale_version"), Some(1))
        );
        assert_eq!(s.store.dossier(id).await.unwrap().state, "SUBMITTED");
    });
}

#[tokio::test]
async fn oversize_files_are_refused_with_413() {
    for backend in ["sqlite", "postgres"] {
        let Some(s) =
            start(backend, sen_web::Config { max_file_bytes: 1000, secure_cookies: false, ..Default::default() }).await
        else {
            continue;
        };
        let citizen = login(&s, "congdan").await;
        let pid = procedure_id(&s, "1.001193").await;
        let big = base64_of(&vec![b'a'; 5000]);
        let before = s.store.count_dossiers().await.unwrap();
        let (st, p) = post(&citizen, format!("{}/api/v1/dossiers", s.base), json!({"procedure_id": pid, "data": {}, "files": [{"component": "x", "filename": "big.pdf", "content_type": "application/pdf", "content_base64": big}]})).await;
        assert_eq!((st, p["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")), "{backend}");
        assert_eq!(s.store.count_dossiers().await.unwrap(), before);
    }
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn two_officers_at_once_one_wins_the_other_gets_a_conflict() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let (_, sub) = submit_birth(&s, &citizen).await;
        let id = sub["id"].as_i64().unwrap();
        let a = login(&s, "motcua").await;
        let b = login(&s, "motcua").await;
        let url = format!("{}/api/v1/dossiers/{id}/actions", s.base);
        let (ra, rb) = tokio::join!(
            post(&a, url.clone(), json!({"action": "receive", "version": 1})),
            post(&b, url.clone(), json!({"action": "request_supplement", "reason": "Thiếu giấy tờ", "version": 1}))
        );
        let statuses = [ra.0, rb.0];
        assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
        assert!(statuses.contains(&StatusCode::CONFLICT), "{statuses:?}");
        let loser = if ra.0 == StatusCode::CONFLICT { &ra.1 } else { &rb.1 };
        assert!(["stale_version", "illegal_transition"].contains(&loser["code"].as_str().unwrap()));
        let events = s.store.events(id).await.unwrap();
        assert_eq!(events.len(), 2, "exactly one action was recorded");
    });
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let pid = procedure_id(&s, "1.004873").await;
        let body = json!({"procedure_id": pid, "data": {"purpose": "Vay vốn", "marital_status": "Chưa kết hôn"}});
        let send = |b: Value| {
            citizen
                .client
                .post(format!("{}/api/v1/dossiers", s.base))
                .header("x-csrf-token", &citizen.csrf)
                .header("idempotency-key", "k-1")
                .json(&b)
                .send()
        };
        let r1 = send(body.clone()).await.unwrap();
        assert_eq!(r1.status(), StatusCode::CREATED);
        let v1: Value = r1.json().await.unwrap();
        let r2 = send(body.clone()).await.unwrap();
        assert_eq!(r2.status(), StatusCode::OK);
        let v2: Value = r2.json().await.unwrap();
        assert_eq!((v1["id"].clone(), v2["replayed"].clone()), (v2["id"].clone(), json!(true)));
        let mut other = body.clone();
        other["data"]["purpose"] = json!("Khác");
        let r3 = send(other).await.unwrap();
        assert_eq!(r3.status(), StatusCode::CONFLICT);
    });
}

#[tokio::test]
async fn supplement_stops_the_clock_and_apology_sets_a_new_appointment() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let (_, sub) = submit_birth(&s, &citizen).await;
        let id = sub["id"].as_i64().unwrap();
        let desk = login(&s, "motcua").await;
        post(&desk, format!("{}/api/v1/dossiers/{id}/actions", s.base), json!({"action": "receive"})).await;
        let (_, d) = post(
            &desk,
            format!("{}/api/v1/dossiers/{id}/actions", s.base),
            json!({"action": "request_supplement", "reason": "Thiếu"}),
        )
        .await;
        let stored = s.store.dossier(id).await.unwrap();
        assert!(stored.paused_on.is_some() && stored.remaining_days.is_some(), "{d}");
        let (_, d) = post(
            &citizen,
            format!("{}/api/v1/dossiers/{id}/actions", s.base),
            json!({"action": "supply", "reason": "Đã nộp bản sao tại bộ phận một cửa"}),
        )
        .await;
        assert_eq!(d["state"], "RECEIVED");
        let stored = s.store.dossier(id).await.unwrap();
        assert!(stored.paused_on.is_none() && stored.due_date.is_some());
        // Apology: a new appointment later than the current one, on a working day.
        let cal = sen_domain::Calendar::vietnam();
        let new_due = cal.add_working_days(stored.due_date.unwrap(), 3);
        let (st, d) = post(
            &desk,
            format!("{}/api/v1/dossiers/{id}/apology", s.base),
            json!({"new_appointment_date": new_due, "reason": "Cần xác minh thêm", "version": stored.version}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["appointment_date"], json!(new_due));
        let (st, _) = post(
            &desk,
            format!("{}/api/v1/dossiers/{id}/apology", s.base),
            json!({"new_appointment_date": "2020-01-01", "reason": "x"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    });
}

#[tokio::test]
async fn overdue_job_marks_late_dossiers_once() {
    on_both!(|s| {
        let far = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
        let (a, b) = tokio::join!(s.store.mark_overdue(far), s.store.mark_overdue(far));
        let first = a.unwrap() + b.unwrap();
        assert!(first > 0);
        assert_eq!(s.store.mark_overdue(far).await.unwrap(), 0, "idempotent");
    });
}

#[tokio::test]
async fn pages_speak_vietnamese_and_english_and_work_without_javascript() {
    on_both!(|s| {
        let anon = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let home = anon.get(format!("{}/", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("lang=\"vi\"") && home.contains("Dịch vụ công trực tuyến"));
        let en = anon.get(format!("{}/?lang=en", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(en.contains("lang=\"en\"") && en.contains("Online public services"));
        // The choice is remembered.
        let again = anon.get(format!("{}/procedures", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(again.contains("Administrative procedures"));
        // Search with and without diacritics.
        for q in ["đăng ký khai sinh", "dang ky khai sinh"] {
            let html =
                anon.get(format!("{}/procedures?q={q}&lang=vi", s.base)).send().await.unwrap().text().await.unwrap();
            assert!(html.contains("Đăng ký khai sinh"), "{q}");
        }
        assert!(!home.contains("<script"), "no JavaScript needed");
        // Form page: every input has a label.
        let citizen = login(&s, "congdan").await;
        let pid = procedure_id(&s, "1.001193").await;
        let form = citizen
            .client
            .get(format!("{}/procedures/{pid}/apply", s.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(form.contains("name=\"csrf\"") && form.contains("for=\"f-child_full_name\""));
        // A form POST without the CSRF token is refused.
        let r =
            citizen.client.post(format!("{}/dossiers/1/rate", s.base)).form(&[("score", "5")]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    });
}

#[tokio::test]
async fn login_is_rate_limited() {
    let Some(s) = start("sqlite", test_config()).await else { return };
    let c = Client::new();
    let mut last = StatusCode::OK;
    for _ in 0..7 {
        last = c
            .post(format!("{}/api/v1/auth/login", s.base))
            .json(&json!({"username": "congdan", "password": "wrong-password"}))
            .send()
            .await
            .unwrap()
            .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(s.backend, "sqlite");
}

#[tokio::test]
async fn api_tokens_authenticate_system_clients_and_are_stored_hashed() {
    on_both!(|s| {
        let desk = login(&s, "motcua").await;
        let (st, t) =
            post(&desk, format!("{}/api/v1/auth/tokens", s.base), json!({"name": "hệ thống một cửa tỉnh"})).await;
        assert_eq!(st, StatusCode::CREATED);
        let token = t["token"].as_str().unwrap();
        let c = Client::new();
        let r = c.get(format!("{}/api/v1/queues", s.base)).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = c.get(format!("{}/api/v1/queues", s.base)).bearer_auth("sen_wrong").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(s.store.api_token_user(token).await.unwrap().is_some());
    });
}

#[tokio::test]
async fn a_changed_eform_is_a_new_version_and_running_dossiers_keep_theirs() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let (_, sub) = submit_birth(&s, &citizen).await;
        let id = sub["id"].as_i64().unwrap();
        let admin = login(&s, "quantri").await;
        let pid = procedure_id(&s, "1.001193").await;
        let (_, detail) = get(&admin, format!("{}/api/v1/procedures/{pid}", s.base)).await;
        let mut form = detail["form"].clone();
        form["properties"]["note"] = json!({"type": "string", "title": "Ghi chú", "maxLength": 100});
        let mut spec = detail.clone();
        spec.as_object_mut().unwrap().remove("form");
        let body = json!({
            "code": spec["code"], "name": spec["name"], "name_en": spec["name_en"], "sector": spec["sector"], "level": spec["level"],
            "agency_kind": spec["agency_kind"], "deadline_working_days": spec["deadline_working_days"], "fees": spec["fees"], "fee_vnd": spec["fee_vnd"],
            "service_level": spec["service_level"], "applicants": spec["applicants"], "conditions": "", "steps": "", "legal_basis": spec["legal_basis"],
            "result_document": spec["result_document"], "components": spec["components"], "keywords": "khai sinh", "form": form
        });
        let r = admin
            .client
            .put(format!("{}/api/v1/procedures/{pid}", s.base))
            .header("x-csrf-token", &admin.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["form_version"], 2);
        assert_eq!(s.store.dossier(id).await.unwrap().form_version, 1);
        let (st, old) = get(&admin, format!("{}/api/v1/procedures/{pid}/forms/1", s.base)).await;
        assert_eq!(st, StatusCode::OK);
        assert!(old["properties"].get("note").is_none());
        // A citizen may not edit procedures.
        let r = citizen
            .client
            .put(format!("{}/api/v1/procedures/{pid}", s.base))
            .header("x-csrf-token", &citizen.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    });
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi() {
    let Some(s) = start("sqlite", test_config()).await else { return };
    assert_eq!(reqwest::get(format!("{}/healthz", s.base)).await.unwrap().status(), StatusCode::OK);
    assert_eq!(reqwest::get(format!("{}/readyz", s.base)).await.unwrap().status(), StatusCode::OK);
    let m = reqwest::get(format!("{}/metrics", s.base)).await.unwrap().text().await.unwrap();
    assert!(m.contains("sen_dossiers{state=\"RESULT_ISSUED\"}"));
    assert!(m.contains("sen_http_request_duration_seconds_bucket"));
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", s.base)).await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/dossiers/{id}/actions"]["post"].is_object());
}

#[test]
fn committed_openapi_document_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json"))
        .expect("docs/openapi.json exists");
    let current = sen_web::openapi::document();
    assert!(
        committed.trim() == current.trim(),
        "docs/openapi.json is stale: run `cargo run -- openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn the_holiday_calendar_is_configurable_by_administrators_only() {
    on_both!(|s| {
        let (_, days) = get(&login(&s, "congdan").await, format!("{}/api/v1/calendar", s.base)).await;
        assert!(days.as_array().unwrap().iter().any(|d| d["date"] == "2026-09-02"), "seeded 2025-2027");
        let desk = login(&s, "motcua").await;
        let body = json!([{"date": "2026-12-31", "name": "Nghỉ bù", "working": false}]);
        let r = desk
            .client
            .put(format!("{}/api/v1/calendar", s.base))
            .header("x-csrf-token", &desk.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let admin = login(&s, "admin").await;
        let r = admin
            .client
            .put(format!("{}/api/v1/calendar", s.base))
            .header("x-csrf-token", &admin.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(s.store.holidays().await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn agency_admins_edit_procedures_through_the_pages() {
    on_both!(|s| {
        let admin = login(&s, "quantri").await;
        let pid = procedure_id(&s, "1.004873").await;
        let page = admin.client.get(format!("{}/admin/procedures/{pid}", s.base)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("Xác nhận tình trạng hôn nhân"));
        let (_, detail) = get(&admin, format!("{}/api/v1/procedures/{pid}", s.base)).await;
        let mut form = detail["form"].clone();
        form["properties"]["note"] = json!({"type": "string", "title": "Ghi chú"});
        let fields = [
            ("csrf", admin.csrf.clone()),
            ("code", "1.004873".into()),
            ("name", "Xác nhận tình trạng hôn nhân".into()),
            ("name_en", "Certificate of marital status".into()),
            ("sector", "Hộ tịch".into()),
            ("level", "commune".into()),
            ("agency_kind", "commune_pc".into()),
            ("deadline_working_days", "3".into()),
            ("fees", "15.000 đồng".into()),
            ("fee_vnd", "15000".into()),
            ("service_level", "full_process".into()),
            ("applicants", "citizens".into()),
            ("legal_basis", "Luật Hộ tịch 2014".into()),
            ("result_document", "Giấy xác nhận tình trạng hôn nhân".into()),
            ("keywords", "độc thân".into()),
            ("components", "* Tờ khai theo mẫu".into()),
            ("form", form.to_string()),
        ];
        let r = admin.client.post(format!("{}/admin/procedures/{pid}", s.base)).form(&fields).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, after) = get(&admin, format!("{}/api/v1/procedures/{pid}", s.base)).await;
        assert_eq!(after["form_version"], 2);
        // Broken JSON in the e-form: the page says so and nothing changes.
        let mut broken = fields.clone();
        broken[16].1 = "{not json".into();
        let r = admin.client.post(format!("{}/admin/procedures/{pid}", s.base)).form(&broken).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // A desk officer without the admin role and a citizen are refused.
        for who in ["motcua", "congdan"] {
            let u = login(&s, who).await;
            let r = u.client.get(format!("{}/admin/procedures/{pid}", s.base)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}");
        }
    });
}

/// Submits, receives, hands off, approves and issues: a dossier with a signed result.
async fn issue_a_result(s: &Server) -> (User, User, i64) {
    let citizen = login(s, "congdan").await;
    let (st, sub) = submit_birth(s, &citizen).await;
    assert_eq!(st, StatusCode::CREATED, "{sub}");
    let id = sub["id"].as_i64().unwrap();
    let desk = login(s, "motcua").await;
    let specialist = login(s, "chuyenvien").await;
    let approver = login(s, "lanhdao").await;
    for (u, body) in [
        (&desk, json!({"action": "receive"})),
        (&desk, json!({"action": "hand_off", "to_user_id": specialist.id})),
        (&approver, json!({"action": "approve"})),
        (&desk, json!({"action": "issue_result"})),
    ] {
        let (st, d) = post(u, format!("{}/api/v1/dossiers/{id}/actions", s.base), body).await;
        assert_eq!(st, StatusCode::OK, "{d}");
    }
    (citizen, desk, id)
}

async fn bytes_of(u: &User, url: String) -> (StatusCode, String, Vec<u8>) {
    let r = u.client.get(url).send().await.unwrap();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), ct, r.bytes().await.unwrap().to_vec())
}

async fn verify_files(s: &Server, files: &[(&str, Vec<u8>)]) -> Value {
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes) in files {
        form = form
            .part(name.to_string(), reqwest::multipart::Part::bytes(bytes.clone()).file_name(format!("{name}.bin")));
    }
    let r = Client::new().post(format!("{}/api/v1/verify", s.base)).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a verdict is always a 200, valid or not");
    r.json().await.unwrap()
}

#[tokio::test]
async fn results_are_sealed_time_stamped_and_verifiable_by_anyone() {
    on_both!(|s| {
        let (citizen, _desk, id) = issue_a_result(&s).await;
        let base = format!("{}/api/v1/dossiers/{id}", s.base);
        let (st, ct, jws) = bytes_of(&citizen, format!("{base}/result.jws")).await;
        assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/jose+json"));
        let (_, ct, pdf) = bytes_of(&citizen, format!("{base}/result.pdf")).await;
        assert_eq!(ct, "application/pdf");
        assert!(pdf.starts_with(b"%PDF"));
        // Before the stamper runs the signature is B-B; afterwards it carries its batch stamp.
        assert!(!String::from_utf8_lossy(&jws).contains("senBatchStamp"));
        s.state.trust.run_jobs().await.unwrap();
        let (_, _, jws) = bytes_of(&citizen, format!("{base}/result.jws")).await;
        assert!(String::from_utf8_lossy(&jws).contains("senBatchStamp"));
        let (_, ct, p7s) = bytes_of(&citizen, format!("{base}/result.pdf.p7s")).await;
        assert_eq!(ct, "application/pkcs7-signature");

        let v = verify_files(&s, &[("file", jws.clone())]).await;
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["format"], "JAdES");
        assert_eq!(v["signer"]["organization"], "Ủy ban nhân dân Phường Hoàn Kiếm", "{v}");
        assert!(v["timestamp"]["time"].is_string());
        assert_eq!(v["certificate"]["status"], "valid");
        assert_eq!(v["payload"]["holder"], "Huỳnh Thanh Tuấn");
        let v = verify_files(&s, &[("file", p7s.clone()), ("content", pdf.clone())]).await;
        assert_eq!((v["valid"].as_bool(), v["format"].as_str()), (Some(true), Some("CAdES")), "{v}");
        let v = verify_files(&s, &[("file", pdf.clone())]).await;
        assert_eq!(v["valid"], true, "a PDF alone is checked against the signature Sen keeps: {v}");

        // Tampered, truncated, foreign: a clear verdict, never a server error.
        let mut changed = pdf.clone();
        let at = changed.len() / 2;
        changed[at] ^= 1;
        let v = verify_files(&s, &[("file", p7s.clone()), ("content", changed.clone())]).await;
        assert_eq!((v["valid"].as_bool(), v["code"].as_str()), (Some(false), Some("content_changed")), "{v}");
        let v = verify_files(&s, &[("file", changed)]).await;
        assert_eq!(v["valid"], false);
        let v = verify_files(&s, &[("file", jws[..jws.len() - 30].to_vec())]).await;
        assert_eq!(v["valid"], false);
        let mut sig_flipped = p7s.clone();
        let n = sig_flipped.len();
        sig_flipped[n - 3] ^= 0x20;
        let v = verify_files(&s, &[("file", sig_flipped), ("content", pdf.clone())]).await;
        assert_eq!(v["valid"], false, "{v}");
        let v = verify_files(&s, &[("file", b"hello world".to_vec())]).await;
        assert_eq!(v["code"], "not_signed");

        // The code printed on the result opens its verdict for anyone.
        let (_, d) = get(&citizen, base.clone()).await;
        let code = d["result"]["verification_code"].as_str().unwrap().to_string();
        let v: Value = reqwest::get(format!("{}/api/v1/verify/{code}", s.base)).await.unwrap().json().await.unwrap();
        assert_eq!((v["document"]["valid"].as_bool(), v["pdf"]["valid"].as_bool()), (Some(true), Some(true)), "{v}");
        let page = reqwest::get(format!("{}/verify/{code}", s.base)).await.unwrap().text().await.unwrap();
        assert!(page.contains("Chữ ký hợp lệ"), "the verification page says so in Vietnamese");

        // Another citizen cannot download it through the dossier.
        let other = login(&s, "congdan2").await;
        let (st, _, _) = bytes_of(&other, format!("{base}/result.pdf")).await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // Each decision is a work record signed by the official, chained to the previous one.
        let (_, records) = get(&citizen, format!("{base}/work-records")).await;
        let actions: Vec<&str> = records.as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["receive", "hand_off", "approve", "issue_result"]);
        for r in records.as_array().unwrap() {
            assert_eq!((r["verdict"]["valid"].as_bool(), r["chained"].as_bool()), (Some(true), Some(true)), "{r}");
        }
        assert_eq!(records[2]["verdict"]["signer"]["subject"], "Phạm Quang Huy", "the approver signs the approval");

        // Revoking the seal afterwards does not undo what it signed before; the CRL lists it.
        let admin = login(&s, "admin").await;
        let serial = v["document"]["signer"]["serial"].as_str().unwrap().to_string();
        let (st, c) = post(
            &admin,
            format!("{}/api/v1/ca/certificates/{serial}/revoke", s.base),
            json!({"reason": "keyCompromise"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        let (st, _) = post(
            &citizen,
            format!("{}/api/v1/ca/certificates/{serial}/revoke", s.base),
            json!({"reason": "keyCompromise"}),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let v = verify_files(&s, &[("file", jws.clone())]).await;
        assert_eq!(v["valid"], true, "signed and time-stamped before the revocation: {v}");
        assert_eq!(v["certificate"]["revocation_reason"], "keyCompromise");
        let crl = reqwest::get(format!("{}/ca/issuing.crl", s.base)).await.unwrap().bytes().await.unwrap();
        let issuing = reqwest::get(format!("{}/ca/issuing.crt", s.base)).await.unwrap().bytes().await.unwrap();
        let revoked = sen_trust::cert::read_crl(&crl, &sen_trust::cert::cert_from_der(&issuing).unwrap()).unwrap();
        assert!(revoked.iter().any(|r| r.serial_hex == serial));
        // A result issued now gets a new seal, enrolled at once.
        let (_, _, id2) = issue_a_result(&s).await;
        let (_, _, jws2) = bytes_of(&citizen, format!("{}/api/v1/dossiers/{id2}/result.jws", s.base)).await;
        let v2 = verify_files(&s, &[("file", jws2)]).await;
        assert_eq!(v2["valid"], true, "{v2}");
        assert_ne!(v2["signer"]["serial"].as_str(), Some(serial.as_str()));
    });
}

fn b64d(s: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s.as_str().unwrap()).unwrap()
}

fn hash32(s: &Value) -> [u8; 32] {
    b64d(s).try_into().unwrap()
}

#[tokio::test]
async fn the_log_proves_inclusion_and_consistency_and_names_a_tampered_entry() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        submit_birth(&s, &citizen).await;
        s.state.trust.run_jobs().await.unwrap();
        let first = s.state.trust.checkpoint().await.unwrap().expect("the log grew");
        for _ in 0..3 {
            submit_birth(&s, &citizen).await;
        }
        s.state.trust.run_jobs().await.unwrap();
        let second = s.state.trust.checkpoint().await.unwrap().expect("the log grew");
        assert!(second.size > first.size);

        let c: Value = reqwest::get(format!("{}/api/v1/log/checkpoint", s.base)).await.unwrap().json().await.unwrap();
        assert_eq!(c["size"].as_i64(), Some(second.size));
        let root = hash32(&c["root"]);
        let n = second.size as u64;
        for index in [0, n / 2, n - 1] {
            let p: Value = reqwest::get(format!("{}/api/v1/log/proof/inclusion?index={index}&size={n}", s.base))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let path: Vec<[u8; 32]> = p["path"].as_array().unwrap().iter().map(hash32).collect();
            assert!(sen_trust::merkle::verify_inclusion(index, n, &hash32(&p["leaf_hash"]), &path, &root), "{p}");
        }
        let p: Value = reqwest::get(format!("{}/api/v1/log/proof/consistency?from={}&to={n}", s.base, first.size))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let proof: Vec<[u8; 32]> = p["proof"].as_array().unwrap().iter().map(hash32).collect();
        let old_root: [u8; 32] = first.root.clone().try_into().unwrap();
        assert!(sen_trust::merkle::verify_consistency(first.size as u64, n, &old_root, &root, &proof));
        let r = reqwest::get(format!("{}/api/v1/log/proof/inclusion?index={}&size={n}", s.base, n + 5)).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // Entries are for auditors only.
        let (st, _) = get(&citizen, format!("{}/api/v1/log/entries/0", s.base)).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let admin = login(&s, "admin").await;
        let (st, e) = get(&admin, format!("{}/api/v1/log/entries/1", s.base)).await;
        assert_eq!(st, StatusCode::OK);
        assert!(e["body"].as_str().unwrap().contains("\"type\""));

        let report = sen_web::trust::verify_log(&s.store).await.unwrap();
        assert!(report.ok, "{report:?}");
        // One changed byte in a stored entry is found and named.
        let victim = n / 2;
        let entry = s.store.log_entry(victim).await.unwrap();
        let tampered = entry.body.replacen("\"type\"", "\"typf\"", 1);
        s.store
            .db()
            .execute(
                &sea_query::Query::update()
                    .table("log_entries")
                    .value("body", tampered)
                    .and_where(sea_query::ExprTrait::eq(sea_query::Expr::col("id"), entry.entry_id))
                    .to_owned(),
            )
            .await
            .unwrap();
        let report = sen_web::trust::verify_log(&s.store).await.unwrap();
        assert!(!report.ok);
        assert_eq!(report.first_bad_entry, Some(victim), "{report:?}");
    });
}

#[tokio::test]
async fn the_time_stamping_authority_answers_rfc3161_over_http() {
    on_both!(|s| {
        let digest: [u8; 32] = sen_trust::merkle::leaf_hash(b"a document");
        let req = sen_trust::tsa::request_der(&digest, Some(77), true).unwrap();
        let r = Client::new()
            .post(format!("{}/tsa", s.base))
            .header("content-type", "application/timestamp-query")
            .body(req)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "application/timestamp-reply");
        let token = sen_trust::tsa::token_of_response(&r.bytes().await.unwrap()).unwrap();
        let v = sen_trust::tsa::verify_token(&token, Some(&digest)).unwrap();
        assert!((chrono::Utc::now() - v.gen_time).num_seconds().abs() < 60);
        // Garbage gets a refusal in RFC 3161's own terms; a wrong media type a problem.
        let r = Client::new()
            .post(format!("{}/tsa", s.base))
            .header("content-type", "application/timestamp-query")
            .body("nonsense")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(sen_trust::tsa::token_of_response(&r.bytes().await.unwrap()).is_err());
        let r = Client::new().post(format!("{}/tsa", s.base)).body("x").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    });
}

/// Is an independent tool here? In CI it must be; elsewhere its check is skipped with a message.
fn tool_available(program: &str, args: &[&str]) -> bool {
    let ok = std::process::Command::new(program).args(args).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{program} {args:?} is required in CI");
        eprintln!("SKIPPED: {program} {args:?} is not available here");
    }
    ok
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let o = std::process::Command::new(program).args(args).output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

// Multi-threaded: the tools block one worker while the server answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_tools_verify_sen_signatures() {
    let have_openssl = tool_available("openssl", &["version"]);
    let have_jwcrypto = tool_available("python3", &["-c", "import jwcrypto, cryptography"]);
    let scripts = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/trust");
    on_both!(|s| {
        let dir = std::env::temp_dir().join(format!("sen-trust-{}-{}", s.backend, rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
        let (citizen, _, id) = issue_a_result(&s).await;
        s.state.trust.run_jobs().await.unwrap();
        let first = s.state.trust.checkpoint().await.unwrap().unwrap();
        issue_a_result(&s).await;
        s.state.trust.run_jobs().await.unwrap();
        s.state.trust.checkpoint().await.unwrap().unwrap();
        let base = format!("{}/api/v1/dossiers/{id}", s.base);
        for (name, url) in [
            ("result.json", format!("{base}/result.jws")),
            ("result.pdf", format!("{base}/result.pdf")),
            ("result.pdf.p7s", format!("{base}/result.pdf.p7s")),
        ] {
            let (st, _, bytes) = bytes_of(&citizen, url).await;
            assert_eq!(st, StatusCode::OK);
            std::fs::write(path(name), bytes).unwrap();
        }
        let chain = reqwest::get(format!("{}/ca/chain.pem", s.base)).await.unwrap().text().await.unwrap();
        std::fs::write(path("chain.pem"), chain).unwrap();
        let mut pdf = std::fs::read(path("result.pdf")).unwrap();
        let at = pdf.len() / 3;
        pdf[at] ^= 1;
        std::fs::write(path("changed.pdf"), pdf).unwrap();
        let mut json_text = std::fs::read_to_string(path("result.json")).unwrap();
        json_text = json_text.replacen("\"payload\":\"ey", "\"payload\":\"ez", 1);
        std::fs::write(path("changed.json"), json_text).unwrap();

        if have_openssl {
            let cms = |content: &str| {
                run(
                    "openssl",
                    &[
                        "cms",
                        "-verify",
                        "-binary",
                        "-inform",
                        "DER",
                        "-in",
                        &path("result.pdf.p7s"),
                        "-content",
                        &path(content),
                        "-CAfile",
                        &path("chain.pem"),
                        "-out",
                        &path("out.bin"),
                    ],
                )
            };
            let (ok, out) = cms("result.pdf");
            assert!(ok, "openssl cms -verify refused Sen's .p7s: {out}");
            let (ok, _) = cms("changed.pdf");
            assert!(!ok, "openssl cms -verify must fail on a changed PDF");

            let (ok, out) = run(
                "openssl",
                &["ts", "-query", "-data", &path("result.pdf"), "-sha256", "-cert", "-out", &path("req.tsq")],
            );
            assert!(ok, "{out}");
            let reply = Client::new()
                .post(format!("{}/tsa", s.base))
                .header("content-type", "application/timestamp-query")
                .body(std::fs::read(path("req.tsq")).unwrap())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            std::fs::write(path("resp.tsr"), reply).unwrap();
            let (ok, out) = run(
                "openssl",
                &[
                    "ts",
                    "-verify",
                    "-in",
                    &path("resp.tsr"),
                    "-queryfile",
                    &path("req.tsq"),
                    "-CAfile",
                    &path("chain.pem"),
                ],
            );
            assert!(ok, "openssl ts -verify refused Sen's time-stamp: {out}");
            let (ok, _) = run(
                "openssl",
                &[
                    "ts",
                    "-verify",
                    "-in",
                    &path("resp.tsr"),
                    "-data",
                    &path("changed.pdf"),
                    "-CAfile",
                    &path("chain.pem"),
                ],
            );
            assert!(!ok, "openssl ts -verify must fail for other data");
        }
        if have_jwcrypto {
            let (ok, out) =
                run("python3", &[&format!("{scripts}/check_jws.py"), &path("result.json"), &path("chain.pem")]);
            assert!(ok, "jwcrypto refused Sen's JWS: {out}");
            let (ok, _) =
                run("python3", &[&format!("{scripts}/check_jws.py"), &path("changed.json"), &path("chain.pem")]);
            assert!(!ok, "jwcrypto must refuse a changed payload");
        }
        let (ok, out) = run("python3", &[&format!("{scripts}/check_log.py"), &s.base, &first.size.to_string()]);
        assert!(ok, "the independent proof checker refused Sen's proofs: {out}");
        std::fs::remove_dir_all(&dir).ok();
    });
}

async fn delete_req(u: &User, url: String) -> StatusCode {
    u.client.delete(url).header("x-csrf-token", &u.csrf).send().await.unwrap().status()
}

#[tokio::test]
async fn the_exchange_directory_is_managed_by_its_members_administrators_only() {
    on_both!(|s| {
        let api = |p: &str| format!("{}/api/v1/exchange/{p}", s.base);
        let admin = login(&s, "admin").await;
        let citizen = login(&s, "congdan").await;
        let ward_admin = login(&s, "quantri").await;
        // The demo registers the registries' owners and the national portal.
        let (st, d) = get(&admin, api("directory")).await;
        assert_eq!(st, StatusCode::OK);
        let codes: Vec<&str> = d["members"].as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["BCA", "BTP", "BTC", "BHXHVN", "BNNMT", "VPCP"]);
        assert_eq!(d["members"][0]["subsystems"][0]["code"], "CSDLQGDC");
        assert_eq!(get(&citizen, api("directory")).await.0, StatusCode::FORBIDDEN);
        assert_eq!(reqwest::get(api("directory")).await.unwrap().status(), StatusCode::UNAUTHORIZED);

        // Only system administrators register members.
        let bank = json!({"class": "COM", "code": "0100112437", "name": "Ngân hàng TMCP Ngoại thương Việt Nam"});
        assert_eq!(post(&ward_admin, api("members"), bank.clone()).await.0, StatusCode::FORBIDDEN);
        assert_eq!(post(&citizen, api("members"), bank.clone()).await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            post(&admin, api("members"), json!({"class": "XYZ", "code": "1", "name": "x"})).await.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(post(&admin, api("members"), bank.clone()).await.0, StatusCode::CREATED);
        assert_eq!(post(&admin, api("members"), bank).await.0, StatusCode::CONFLICT);
        assert_eq!(
            post(
                &admin,
                api("subsystems"),
                json!({"member": "VN/COM/0100112437", "code": "CORE", "name": "Core banking"})
            )
            .await
            .0,
            StatusCode::CREATED
        );

        // The Ministry of Public Security's own administrator registers its service; another
        // agency's administrator may not.
        let bca = s.store.agency_by_code("BCA").await.unwrap().id;
        let officer = s.store.user_by_username("cb.bca.reception").await.unwrap();
        s.store.grant_role(officer.id, bca, "agency_admin").await.unwrap();
        let bca_admin = login(&s, "cb.bca.reception").await;
        let service = json!({
            "provider": "VN/GOV/BCA/CSDLQGDC", "code": "residence", "title": "Thông tin cư trú",
            "base_url": "http://127.0.0.1:9/residence", "timeout_ms": 3000,
            "openapi": {"openapi": "3.0.3", "info": {"title": "Cư trú", "version": "1"}, "paths": {}},
        });
        assert_eq!(post(&ward_admin, api("services"), service.clone()).await.0, StatusCode::FORBIDDEN);
        let (st, bad) = post(
            &bca_admin,
            api("services"),
            json!({"provider": "VN/GOV/BCA/CSDLQGDC", "code": "listMethods", "title": "x", "base_url": "http://x"}),
        )
        .await;
        assert_eq!((st, bad["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
        assert_eq!(post(&bca_admin, api("services"), service.clone()).await.0, StatusCode::CREATED);
        assert_eq!(post(&bca_admin, api("services"), service).await.0, StatusCode::OK);

        // Rights: granted by the provider's administrator, to registered clients only.
        let right = json!({"service": "VN/GOV/BCA/CSDLQGDC/residence", "client": "VN/GOV/VPCP/DVCQG", "method": "GET", "path": "/persons/*"});
        assert_eq!(post(&ward_admin, api("rights"), right.clone()).await.0, StatusCode::FORBIDDEN);
        let (st, bad) =
            post(&bca_admin, api("rights"), json!({"service": "VN/GOV/BCA/CSDLQGDC/residence", "client": "VN/GOV"}))
                .await;
        assert_eq!((st, bad["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{bad}");
        let unknown = json!({"service": "VN/GOV/BCA/CSDLQGDC/residence", "client": "VN/ORG/nobody/X"});
        assert_eq!(post(&bca_admin, api("rights"), unknown).await.0, StatusCode::BAD_REQUEST);
        let (st, granted) = post(&bca_admin, api("rights"), right).await;
        assert_eq!(st, StatusCode::CREATED);
        let id = granted["id"].as_i64().unwrap();

        let (_, d) = get(&admin, api("directory")).await;
        let residence = &d["members"][0]["subsystems"][0]["services"][0];
        assert_eq!(residence["code"], "residence");
        assert_eq!(residence["has_openapi"], true);
        assert_eq!(residence["rights"][0]["client"], "VN/GOV/VPCP/DVCQG");

        assert_eq!(delete_req(&ward_admin, api(&format!("rights/{id}"))).await, StatusCode::FORBIDDEN);
        assert_eq!(delete_req(&bca_admin, api(&format!("rights/{id}"))).await, StatusCode::NO_CONTENT);
        assert_eq!(delete_req(&bca_admin, api(&format!("rights/{id}"))).await, StatusCode::NOT_FOUND);
        let (_, d) = get(&admin, api("directory")).await;
        assert!(d["members"][0]["subsystems"][0]["services"][0]["rights"].as_array().unwrap().is_empty());
    });
}

#[tokio::test]
async fn the_exchange_directory_page_works_without_javascript_and_refuses_outsiders() {
    on_both!(|s| {
        let page = |u: &User| u.client.get(format!("{}/admin/exchange", s.base)).send();
        let admin = login(&s, "admin").await;
        let r = page(&admin).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Danh bạ trao đổi dữ liệu") && html.contains("Bộ Công an") && html.contains("VN/GOV/BCA")
        );
        assert!(html.contains(r#"<label for="m-code">"#), "labelled fields");
        let citizen = login(&s, "congdan").await;
        assert_eq!(page(&citizen).await.unwrap().status(), StatusCode::FORBIDDEN);

        let post_form = |u: &User, path: &str, fields: Vec<(&str, String)>| {
            u.client.post(format!("{}/admin/exchange/{path}", s.base)).form(&fields).send()
        };
        // A refused change shows the page again with the reason, and writes nothing.
        let r = post_form(
            &admin,
            "members",
            vec![("csrf", admin.csrf.clone()), ("class", "COM".into()), ("code", "a;b".into()), ("name", "x".into())],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("forbidden character"));
        // Without the CSRF token nothing happens.
        let r = post_form(
            &admin,
            "members",
            vec![("class", "COM".into()), ("code", "0100112437".into()), ("name", "VCB".into())],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = post_form(
            &admin,
            "members",
            vec![
                ("csrf", admin.csrf.clone()),
                ("class", "COM".into()),
                ("code", "0100112437".into()),
                ("name", "Vietcombank".into()),
            ],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(page(&admin).await.unwrap().text().await.unwrap().contains("VN/COM/0100112437"));

        // Another agency's administrator may not register a service for the ministry.
        let ward_admin = login(&s, "quantri").await;
        let service = |u: &User| {
            vec![
                ("csrf", u.csrf.clone()),
                ("provider", "VN/GOV/BCA/CSDLQGDC".into()),
                ("code", "residence".into()),
                ("title", "Thông tin cư trú".into()),
                ("base_url", "http://127.0.0.1:9/r".into()),
                ("timeout_ms", "2000".into()),
            ]
        };
        assert_eq!(
            post_form(&ward_admin, "services", service(&ward_admin)).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(post_form(&admin, "services", service(&admin)).await.unwrap().status(), StatusCode::SEE_OTHER);
        let grant = vec![
            ("csrf", admin.csrf.clone()),
            ("service", "VN/GOV/BCA/CSDLQGDC/residence".into()),
            ("client", "VN/GOV/VPCP/DVCQG".into()),
            ("method", "GET".into()),
            ("path", "/persons/*".into()),
        ];
        assert_eq!(post_form(&admin, "rights", grant).await.unwrap().status(), StatusCode::SEE_OTHER);
        let html = page(&admin).await.unwrap().text().await.unwrap();
        assert!(html.contains("/persons/*") && html.contains("Thu hồi"));
    });
}

#[tokio::test]
async fn the_base_registries_hold_the_demo_population() {
    on_both!(|s| {
        let citizen = s.store.user_by_username("congdan").await.unwrap();
        let number = citizen.person_number.clone().unwrap();
        let events = s.store.civil_events_of(&number).await.unwrap();
        let birth =
            events.iter().find(|e| e.kind == "birth" && e.subject_person_number == number).expect("a birth record");
        assert!(birth.agency_code.starts_with('X') && birth.agency_code.ends_with(".UB"));
        let insurance = s.store.insurance_of(&number).await.unwrap().expect("an insurance record");
        assert_eq!(insurance.health_card_number.len(), 15);
        assert!(insurance.health_card_number.ends_with(&insurance.social_insurance_number));
        assert!(s.store.insurance_of("000000000000").await.unwrap().is_none());
        for table in ["civil_events", "insurance_records", "land_parcels"] {
            assert!(s.store.count_rows(table).await.unwrap() > 0, "{table}");
        }
        // Every household's head holds its home parcel.
        let heads = s.store.count_rows("households").await.unwrap();
        assert!(s.store.count_rows("land_parcels").await.unwrap() >= heads);
        #[derive(sqlx::FromRow)]
        struct Head {
            head_person_number: String,
            address: String,
        }
        let head: Head = s
            .store
            .db()
            .fetch_one(
                &sea_query::Query::select()
                    .columns(["head_person_number", "address"])
                    .from("households")
                    .limit(1)
                    .to_owned(),
            )
            .await
            .unwrap();
        let parcels = s.store.land_parcels_of("person", &head.head_person_number).await.unwrap();
        assert!(parcels.iter().any(|p| p.address == head.address && (p.land_use == "ODT" || p.land_use == "ONT")));
    });
}

#[tokio::test]
async fn people_and_enterprises_give_and_revoke_consents_and_no_one_else_can() {
    on_both!(|s| {
        let api = |p: &str| format!("{}/api/v1/{p}", s.base);
        let admin = login(&s, "admin").await;
        // A bank and the enterprise registry's service, in the directory.
        post(&admin, api("exchange/members"), json!({"class": "COM", "code": "0100112437", "name": "Vietcombank"}))
            .await;
        post(
            &admin,
            api("exchange/subsystems"),
            json!({"member": "VN/COM/0100112437", "code": "CORE", "name": "Core banking"}),
        )
        .await;
        let (st, _) = post(&admin, api("exchange/services"), json!({"provider": "VN/GOV/BTC/DKDN", "code": "enterprises", "title": "Thông tin đăng ký doanh nghiệp", "base_url": "http://127.0.0.1:9/dkdn"})).await;
        assert_eq!(st, StatusCode::CREATED);

        let business = login(&s, "doanhnghiep").await;
        let until = (chrono::Utc::now() + chrono::Duration::days(90)).to_rfc3339();
        let consent = json!({"client": "VN/COM/0100112437/CORE", "service": "VN/GOV/BTC/DKDN/enterprises", "purpose": "Thẩm định hồ sơ vay vốn", "valid_until": until});
        // Officials give no consent about others; unknown parties and bad terms change nothing.
        let officer = login(&s, "motcua").await;
        assert_eq!(post(&officer, api("consents"), consent.clone()).await.0, StatusCode::FORBIDDEN);
        assert_eq!(get(&officer, api("consents")).await.0, StatusCode::FORBIDDEN);
        let mut unknown = consent.clone();
        unknown["client"] = json!("VN/COM/999/X");
        assert_eq!(post(&business, api("consents"), unknown).await.0, StatusCode::BAD_REQUEST);
        let mut past = consent.clone();
        past["valid_until"] = json!("2020-01-01T00:00:00Z");
        assert_eq!(post(&business, api("consents"), past).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(get(&business, api("consents")).await.1.as_array().unwrap().len(), 0);

        let (st, given) = post(&business, api("consents"), consent).await;
        assert_eq!(st, StatusCode::CREATED, "{given}");
        assert_eq!(given["status"], "active");
        let id = given["id"].as_i64().unwrap();
        // Another applicant cannot revoke it.
        let citizen = login(&s, "congdan").await;
        assert_eq!(post(&citizen, api(&format!("consents/{id}/revoke")), json!({})).await.0, StatusCode::NOT_FOUND);
        let html = business.client.get(format!("{}/consents", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Thẩm định hồ sơ vay vốn") && html.contains("Đang hiệu lực"));
        // Revoked through the page: at once.
        let r = business
            .client
            .post(format!("{}/consents/{id}/revoke", s.base))
            .form(&[("csrf", business.csrf.clone())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, list) = get(&business, api("consents")).await;
        assert_eq!(list[0]["status"], "revoked");
        assert!(list[0]["revoked_at"].is_string());
        // A form with a missing date is answered on the page.
        let r = business
            .client
            .post(format!("{}/consents", s.base))
            .form(&[
                ("csrf", business.csrf.clone()),
                ("client", "VN/COM/0100112437/CORE".into()),
                ("service", "VN/GOV/BTC/DKDN/enterprises".into()),
                ("purpose", "x".into()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_read_my_data_is_for_the_subject_and_says_when_the_exchange_is_not_connected() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let (st, body) = get(&citizen, format!("{}/api/v1/me/data-reads", s.base)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "exchange_not_configured");
        let html = citizen.client.get(format!("{}/my-data", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Ai đã đọc dữ liệu của tôi") && html.contains("chưa được kết nối"));
        // Officials have no data of their own to list.
        let desk = login(&s, "motcua").await;
        assert_eq!(get(&desk, format!("{}/api/v1/me/data-reads", s.base)).await.0, StatusCode::FORBIDDEN);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_only_evidence_is_the_applicants_own_confirmed_before_use_and_counted_in_reuse() {
    use sen_domain::evidence::{Evidence, Fact, Registry};
    use sen_store::evidence::{FetchStatus, NewFetchedEvidence};
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let residence = procedure_id(&s, "1.004194").await;
        // Not connected to the exchange: said so, nothing fetched.
        let (st, body) = post(&citizen, format!("{}/api/v1/procedures/{residence}/evidence", s.base), json!({})).await;
        assert_eq!((st, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("exchange_not_configured")));
        // A procedure whose documents no registry holds.
        let birth = procedure_id(&s, "1.001193").await;
        let (st, body) = post(&citizen, format!("{}/api/v1/procedures/{birth}/evidence", s.base), json!({})).await;
        assert_eq!((st, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("no_registry_data")));
        let html = citizen
            .client
            .get(format!("{}/procedures/{residence}/apply", s.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("Dữ liệu Nhà nước đã có") && html.contains("chưa kết nối"));

        // What the land registry answered for this citizen (as the exchange would bring it).
        let user_id = citizen.id;
        let land = NewFetchedEvidence {
            registry: Registry::Land,
            service: "VN/GOV/BNNMT/CSDLDD/land".into(),
            status: FetchStatus::Found,
            evidence: Some(Evidence {
                registry: Registry::Land,
                record_id: "CS765432".into(),
                facts: vec![Fact {
                    key: "parcel_address".into(),
                    label_vi: "Địa chỉ thửa đất".into(),
                    label_en: "Parcel address".into(),
                    value: "5 Lê Lợi, Hoàn Kiếm".into(),
                }],
            }),
            digest: Some("0".repeat(64)),
            message_id: Some("msg-land-1".into()),
            fetched_at: chrono::Utc::now(),
        };
        let batch = s.store.record_fetched_evidence(user_id, residence, &[land]).await.unwrap();
        // Another citizen cannot see, confirm or use it.
        let other = login(&s, "congdan2").await;
        let url = format!("{}/api/v1/procedures/{residence}/evidence/{batch}", s.base);
        assert_eq!(get(&other, url.clone()).await.0, StatusCode::NOT_FOUND);
        assert_eq!(post(&other, format!("{url}/confirm"), json!({})).await.0, StatusCode::NOT_FOUND);
        let (st, shown) = get(&citizen, url.clone()).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(shown["prefill"]["new_address"], "5 Lê Lợi, Hoàn Kiếm");
        let preview = citizen
            .client
            .get(format!("{}/procedures/{residence}/evidence/{batch}", s.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(preview.contains("CS765432") && preview.contains("Dùng dữ liệu này cho hồ sơ"));

        let submission = |batch: &str| {
            json!({"procedure_id": residence, "evidence_batch": batch,
            "data": {"new_address": "5 Lê Lợi, Hoàn Kiếm", "housing_proof": "Sổ đỏ/GCN quyền sở hữu"}})
        };
        let dossiers = format!("{}/api/v1/dossiers", s.base);
        let before = s.store.count_dossiers().await.unwrap();
        // Unknown, then unconfirmed: refused with the field named, nothing written.
        let (st, body) = post(&citizen, dossiers.clone(), submission("no-such-batch")).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("evidence_batch"), "{body}");
        let (st, body) = post(&other, dossiers.clone(), submission(&batch)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (st, body) = post(&citizen, dossiers.clone(), submission(&batch)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("not_confirmed"), "{body}");
        // Without the batch the proof of housing is missing.
        let (st, body) =
            post(&citizen, dossiers.clone(), json!({"procedure_id": residence, "data": submission("")["data"]})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(s.store.count_dossiers().await.unwrap(), before);

        assert_eq!(post(&citizen, format!("{url}/confirm"), json!({})).await.0, StatusCode::OK);
        let (st, body) = post(&citizen, dossiers.clone(), submission(&batch)).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        let id = body["id"].as_i64().unwrap();
        let (st, components) = get(&citizen, format!("{}/api/v1/dossiers/{id}/components", s.base)).await;
        assert_eq!(st, StatusCode::OK);
        let fetched = components.as_array().unwrap().iter().find(|c| c["source"] == "fetched").expect("fetched");
        assert_eq!(fetched["record_id"], "CS765432");
        assert_eq!(fetched["message_id"], "msg-land-1");
        assert_eq!(fetched["fields"], json!(["new_address"]));
        // Another citizen cannot read the provenance of this dossier (nor learn that it exists).
        assert_eq!(get(&other, format!("{}/api/v1/dossiers/{id}/components", s.base)).await.0, StatusCode::NOT_FOUND);
        let page = citizen.client.get(format!("{}/dossiers/{id}", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Nguồn thành phần hồ sơ") && page.contains("CS765432"));

        // Reuse figures: for officials, not citizens.
        assert_eq!(get(&citizen, format!("{}/api/v1/stats/reuse", s.base)).await.0, StatusCode::FORBIDDEN);
        let desk = login(&s, "motcua").await;
        let (st, reuse) = get(&desk, format!("{}/api/v1/stats/reuse", s.base)).await;
        assert_eq!(st, StatusCode::OK);
        let row =
            reuse["figures"].as_array().unwrap().iter().find(|f| f["procedure_code"] == "1.004194").expect("counted");
        assert_eq!(row["fetched"], 1);
        assert!(reuse["fetched_share"].as_f64().unwrap() > 0.0);
        assert_eq!(get(&desk, format!("{}/api/v1/stats/reuse?from=2026-13", s.base)).await.0, StatusCode::BAD_REQUEST);
        let page = desk.client.get(format!("{}/admin/reuse", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("<svg") && page.contains("Đăng ký thường trú"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issued_result_is_reused_from_the_wallet_and_counted_in_k7() {
    on_both!(|s| {
        // The citizen was issued a birth certificate for their child.
        let (citizen, desk, birth) = issue_a_result(&s).await;
        let maternity = procedure_id(&s, "1.011888").await;
        // Asking for the maternity benefit: the wallet has the birth certificate; the insurance
        // registry cannot be asked here (no exchange) and is named unavailable.
        let (st, fetched) =
            post(&citizen, format!("{}/api/v1/procedures/{maternity}/evidence", s.base), json!({})).await;
        assert_eq!(st, StatusCode::CREATED, "{fetched}");
        let status: Vec<(&str, &str)> = fetched["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["registry"].as_str().unwrap(), a["status"].as_str().unwrap()))
            .collect();
        assert_eq!(status, [("insurance", "unavailable"), ("wallet", "found")], "{fetched}");
        assert_eq!(fetched["prefill"]["child_birth_date"], "2026-11-20");
        let batch = fetched["batch"].as_str().unwrap();
        let code = fetched["answers"][1]["record_id"].as_str().unwrap().to_string();
        let (_, dossier) = get(&citizen, format!("{}/api/v1/dossiers/{birth}", s.base)).await;
        let signed = s.store.result_of(birth).await.unwrap().unwrap();
        assert_eq!(code, signed.verification_code, "the wallet names the result by its verification code: {dossier}");
        // Nobody else's wallet answers for them.
        let other = login(&s, "congdan2").await;
        let (_, theirs) = post(&other, format!("{}/api/v1/procedures/{maternity}/evidence", s.base), json!({})).await;
        assert_eq!(theirs["answers"][1]["status"], "not_found", "{theirs}");

        let url = format!("{}/api/v1/procedures/{maternity}/evidence/{batch}", s.base);
        assert_eq!(post(&citizen, format!("{url}/confirm"), json!({})).await.0, StatusCode::OK);
        let (st, body) = post(
            &citizen,
            format!("{}/api/v1/dossiers", s.base),
            json!({
            "procedure_id": maternity, "evidence_batch": batch,
            "data": {"social_insurance_number": "0123456789", "child_birth_date": "2026-11-20",
                "leave_from": "2026-11-20", "bank_account": "0011223344"}}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        let id = body["id"].as_i64().unwrap();
        let (_, components) = get(&citizen, format!("{}/api/v1/dossiers/{id}/components", s.base)).await;
        let from_wallet = components.as_array().unwrap().iter().find(|c| c["registry"] == "wallet").expect("wallet");
        assert_eq!(
            (from_wallet["source"].as_str(), from_wallet["record_id"].as_str()),
            (Some("fetched"), Some(code.as_str()))
        );
        let (_, reuse) = get(&desk, format!("{}/api/v1/stats/reuse", s.base)).await;
        assert_eq!(reuse["results_reused"], 1, "{reuse}");
        assert!(reuse["results_issued"].as_i64().unwrap() >= 1);
        assert!(reuse["results_reused_share"].as_f64().unwrap() > 0.0);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assistant_answers_from_the_catalogue_or_says_it_cannot() {
    on_both!(|s| {
        let http = Client::new();
        let ask = |q: &str, lang: &str| {
            http.post(format!("{}/api/v1/assistant/ask", s.base)).json(&json!({"question": q, "lang": lang})).send()
        };
        let r = ask("lam giay khai sinh cho con o dau", "vi").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let a: Value = r.json().await.unwrap();
        assert_eq!(a["grounded"], true);
        assert_eq!(a["sources"][0]["procedure"], "Đăng ký khai sinh");
        assert!(a["sources"][0]["url"].as_str().unwrap().contains("/procedures/"));
        let answer = a["answer"].as_str().unwrap();
        assert!(answer.contains("Giấy chứng sinh"), "{a}");
        // Where and how to apply, as published.
        assert!(answer.contains("Cơ quan giải quyết: cấp xã") && answer.contains("toàn trình"), "{answer}");
        let a: Value = ask("Làm CCCD cho con 14 tuổi", "vi").await.unwrap().json().await.unwrap();
        assert_eq!(a["sources"][0]["procedure"], "Cấp thẻ Căn cước");
        let a: Value = ask("How to apply for a passport", "en").await.unwrap().json().await.unwrap();
        assert_eq!(a["sources"][0]["procedure"], "Cấp hộ chiếu phổ thông");
        assert!(a["answer"].as_str().unwrap().contains("working days"), "{a}");
        assert_eq!(a["sources"][0]["kind"], "procedure");
        // About the portal itself: an FAQ answers, with the page it points to.
        let a: Value = ask("ho so bi tre han thi sao", "vi").await.unwrap().json().await.unwrap();
        assert_eq!((a["grounded"].as_bool(), a["sources"][0]["kind"].as_str()), (Some(true), Some("faq")), "{a}");
        assert_eq!(a["sources"][0]["code"], "faq:ho-so-tre-han");
        assert!(a["sources"][0]["url"].as_str().unwrap().ends_with("/faq#ho-so-tre-han"));
        assert!(a["answer"].as_str().unwrap().contains("thư xin lỗi"), "{a}");
        let a: Value = ask("How can I see who read my personal data?", "en").await.unwrap().json().await.unwrap();
        assert_eq!(a["sources"][0]["code"], "faq:ai-da-xem-du-lieu", "{a}");
        assert!(a["answer"].as_str().unwrap().contains("/my-data"), "{a}");
        // An FAQ about a procedure leads to the procedure, its answer before the facts.
        let a: Value = ask("sinh con làm liên thông khai sinh, thường trú và bảo hiểm y tế một lần được không", "vi")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (a["sources"][0]["kind"].as_str(), a["sources"][0]["procedure"].as_str()),
            (Some("procedure"), Some("Đăng ký khai sinh")),
            "{a}"
        );
        let answer = a["answer"].as_str().unwrap();
        assert!(answer.contains("7 ngày làm việc") && answer.contains("hồ sơ gồm"), "{answer}");
        // The FAQs are a page of their own.
        let faq = http.get(format!("{}/faq", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(faq.contains("id=\"ho-so-tre-han\"") && faq.contains("Câu hỏi thường gặp"));
        let faq = http.get(format!("{}/faq?lang=en", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(faq.contains("Frequently asked questions"), "English on request");
        // Nothing in the catalogue answers: said so, no source, a human channel.
        let a: Value = ask("Cách nấu phở bò ngon", "vi").await.unwrap().json().await.unwrap();
        assert_eq!((a["grounded"].as_bool(), a["sources"].as_array().unwrap().len()), (Some(false), 0));
        assert!(a["answer"].as_str().unwrap().contains("1022"));
        // Bad input.
        assert_eq!(ask("   ", "vi").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(ask("x", "fr").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
        let long = "a".repeat(501);
        assert_eq!(ask(&long, "vi").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
        // The page, from the box on every page, without JavaScript.
        let home = http.get(format!("{}/", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("action=\"/assistant\""));
        let page =
            http.get(format!("{}/assistant?q=dang+ky+ket+hon", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Đăng ký kết hôn") && page.contains("Nguồn"));
        assert!(page.contains("action=\"/assistant/feedback\""), "thumbs on the page");

        // Every exchange is kept without personal identifiers, and rated by its asker.
        let a: Value =
            ask("Mất CCCD số 001190012345, gọi 0912345678 làm lại thế nào", "vi").await.unwrap().json().await.unwrap();
        let id = a["exchange_id"].as_str().unwrap().to_string();
        let rate = |id: String, helpful: bool| {
            http.post(format!("{}/api/v1/assistant/feedback", s.base))
                .json(&json!({"exchange_id": id, "helpful": helpful}))
                .send()
        };
        assert_eq!(rate(id.clone(), false).await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(rate("0".repeat(32), true).await.unwrap().status(), StatusCode::NOT_FOUND);
        let today = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        let q = s.store.assistant_quality(today).await.unwrap();
        assert!(q.asked >= 5 && q.grounded >= 3 && q.not_helpful == 1, "{q:?}");
        let kept = &q.unhelpful[0];
        assert!(!kept.question.contains("001190012345") && !kept.question.contains("0912345678"), "{}", kept.question);
        assert!(kept.question.contains("CCCD"));
        let r = http
            .post(format!("{}/assistant/feedback", s.base))
            .form(&[("exchange", id.as_str()), ("helpful", "1")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection() || r.status().is_success());
        let officer = login(&s, "motcua").await;
        let page = officer.client.get(format!("{}/admin/assistant", s.base)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("Chất lượng trợ lý"));
        let citizen = login(&s, "congdan").await;
        assert_eq!(
            citizen.client.get(format!("{}/admin/assistant", s.base)).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    });
}

/// An OpenAI-compatible chat endpoint on loopback: in mode 0 it rephrases faithfully (a
/// greeting before the facts it was given), in mode 1 it invents a fee, in mode 2 it is too
/// slow. It keeps every request it got.
async fn chat_model(mode: std::sync::Arc<AtomicU32>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::routing::post as axum_post;
    let seen: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
    let sn = seen.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum_post(move |axum::Json(body): axum::Json<Value>| {
            let (sn, mode) = (sn.clone(), mode.clone());
            async move {
                sn.lock().unwrap().push(body.clone());
                let user = body["messages"][1]["content"].as_str().unwrap_or_default().to_string();
                let facts = user.split_once("THÔNG TIN: ").or_else(|| user.split_once("FACTS: ")).map(|x| x.1).unwrap_or("");
                let text = match mode.load(Ordering::SeqCst) {
                    0 => format!("Chào bạn! {facts}"),
                    1 => format!("Lệ phí là 999.000 đồng. {facts}"),
                    _ => {
                        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                        format!("Chào bạn! {facts}")
                    }
                };
                axum::Json(json!({"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_model_may_rephrase_the_assistants_answer_but_never_change_a_fact() {
    let mode = std::sync::Arc::new(AtomicU32::new(0));
    let (base, seen) = chat_model(mode.clone()).await;
    for backend in ["sqlite", "postgres"] {
        mode.store(0, Ordering::SeqCst);
        seen.lock().unwrap().clear();
        let mut config = test_config();
        let mut chat = sen_ai::llm::ChatConfig::new(base.clone(), "qwen2.5-7b-instruct");
        chat.timeout = std::time::Duration::from_millis(500);
        config.assistant_llm = Some(sen_ai::llm::ChatClient::new(chat).unwrap());
        let Some(s) = start(backend, config).await else { continue };
        eprintln!("-- {backend}");
        let http = Client::new();
        let ask = |q: &str| {
            http.post(format!("{}/api/v1/assistant/ask", s.base)).json(&json!({"question": q, "lang": "vi"})).send()
        };
        // A faithful rephrasing is the answer; the model was asked with the question and
        // the catalogue's facts.
        let a: Value = ask("lệ phí đăng ký kết hôn là bao nhiêu").await.unwrap().json().await.unwrap();
        assert_eq!((a["grounded"].as_bool(), a["rephrased"].as_bool()), (Some(true), Some(true)), "{a}");
        let answer = a["answer"].as_str().unwrap();
        assert!(answer.starts_with("Chào bạn! Đăng ký kết hôn"), "{answer}");
        assert_eq!(a["sources"][0]["procedure"], "Đăng ký kết hôn");
        let asked = seen.lock().unwrap()[0].clone();
        assert_eq!(asked["model"], "qwen2.5-7b-instruct");
        assert!(asked["messages"][0]["content"].as_str().unwrap().contains("Chỉ dùng THÔNG TIN"));
        let user = asked["messages"][1]["content"].as_str().unwrap();
        assert!(user.contains("lệ phí đăng ký kết hôn") && user.contains("Thời hạn giải quyết"), "{user}");

        // A rephrasing that brings a fee the catalogue does not have is dropped.
        mode.store(1, Ordering::SeqCst);
        let a: Value = ask("lệ phí đăng ký kết hôn là bao nhiêu").await.unwrap().json().await.unwrap();
        assert_eq!(a["rephrased"], false, "{a}");
        let answer = a["answer"].as_str().unwrap();
        assert!(!answer.contains("999") && answer.starts_with("Đăng ký kết hôn: hồ sơ gồm"), "{answer}");

        // A model slower than the time limit: the facts, in time.
        mode.store(2, Ordering::SeqCst);
        let started = std::time::Instant::now();
        let a: Value = ask("dang ky ket hon can giay to gi").await.unwrap().json().await.unwrap();
        assert_eq!((a["grounded"].as_bool(), a["rephrased"].as_bool()), (Some(true), Some(false)), "{a}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "the time limit holds");

        // Nothing grounded: the model is not asked at all.
        mode.store(0, Ordering::SeqCst);
        let before = seen.lock().unwrap().len();
        let a: Value = ask("Cách nấu phở bò ngon").await.unwrap().json().await.unwrap();
        assert_eq!((a["grounded"].as_bool(), a["rephrased"].as_bool()), (Some(false), Some(false)));
        assert_eq!(seen.lock().unwrap().len(), before);
        let metrics = http.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
        for outcome in ["rephrased", "unfaithful", "failed"] {
            assert!(metrics.contains(&format!("sen_assistant_llm_total{{outcome=\"{outcome}\"}} 1")), "{outcome}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedding_model_reorders_the_assistants_sources_but_never_grounds_an_answer() {
    let dir = match std::env::var("SEN_TEST_ASSISTANT_MODEL") {
        Ok(d) => d,
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => panic!("SEN_TEST_ASSISTANT_MODEL is required in CI"),
        Err(_) => return eprintln!("SKIPPED: set SEN_TEST_ASSISTANT_MODEL to an all-MiniLM-L6-v2 directory"),
    };
    let model = std::sync::Arc::new(sen_ai::embed::Embedder::load(std::path::Path::new(&dir)).unwrap());
    let ask = |s: &Server, q: &'static str| {
        let url = format!("{}/api/v1/assistant/ask", s.base);
        async move {
            Client::new().post(url).json(&json!({"question": q})).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    for backend in ["sqlite", "postgres"] {
        // Retrieval alone puts the first-time land certificate first for a transfer.
        let Some(plain) = start(backend, test_config()).await else { continue };
        let a = ask(&plain, "Sang tên sổ đỏ khi mua đất").await;
        assert_eq!(a["sources"][0]["procedure"], "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", "{a}");
        let mut config = test_config();
        config.assistant_model = Some(model.clone());
        let s = start(backend, config).await.unwrap();
        let a = ask(&s, "Sang tên sổ đỏ khi mua đất").await;
        assert_eq!(a["sources"][0]["procedure"], "Đăng ký biến động đất đai", "{a}");
        assert_eq!(a["sources"].as_array().unwrap().len(), 2, "the same sources, reordered: {a}");
        // What retrieval does not ground stays unanswered, however close an embedding is.
        let a = ask(&s, "Giá vàng hôm nay bao nhiêu?").await;
        assert_eq!((a["grounded"].as_bool(), a["sources"].as_array().unwrap().len()), (Some(false), 0));
        // A catalogue reload embeds the procedures again.
        s.state.reload_catalogue().await.unwrap();
        assert!(s.state.catalogue().assistant.has_vectors());
    }
}

/// Takes a dossier from submission to its result, as the officers of its agency.
async fn process(s: &Server, officer: &User, id: i64) {
    for body in [json!({"action": "receive"}), json!({"action": "approve"}), json!({"action": "issue_result"})] {
        let (st, d) = post(officer, format!("{}/api/v1/dossiers/{id}/actions", s.base), body).await;
        assert_eq!(st, StatusCode::OK, "{d}");
    }
}

#[tokio::test]
async fn a_registered_birth_offers_prepared_dossiers_that_the_parent_confirms_in_one_step() {
    use sen_store::outbox::consumers;
    on_both!(|s| {
        let parent = login(&s, "congdan").await;
        let me = s.store.user_by_username("congdan").await.unwrap().person_number.unwrap();
        let mother = s.store.person(&me).await.unwrap();
        if s.store.insurance_of(&me).await.unwrap().is_none_or(|i| i.contribution_months < 6)
            && s.store.insurance_of(&me).await.unwrap().is_none()
        {
            s.store
                .insert_insurance_records(&[sen_store::registries::InsuranceRecord {
                    person_number: me.clone(),
                    social_insurance_number: "0109998887".into(),
                    health_card_number: "GD4010109998887".into(),
                    health_card_valid_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                    health_card_valid_to: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                    initial_care_facility: "Bệnh viện Bạch Mai".into(),
                    contribution_months: 48,
                    employer_tax_code: None,
                }])
                .await
                .unwrap();
        }
        let insured = s.store.insurance_of(&me).await.unwrap().is_some_and(|i| i.contribution_months >= 6);
        // The parent registers the birth; the commune issues the result.
        let today = chrono::Utc::now().with_timezone(&sen_store::vn_offset()).date_naive();
        let (st, sub) = post(
            &parent,
            format!("{}/api/v1/dossiers", s.base),
            json!({"procedure_id": procedure_id(&s, "1.001193").await, "agency_id": hoan_kiem(&s).await,
                "data": {"child_full_name": "Nguyễn Minh Khang", "child_birth_date": today.to_string(), "child_sex": "Nam",
                    "place_of_birth": "Bệnh viện Phụ sản Hà Nội", "ethnicity": "Kinh", "mother_full_name": mother.full_name,
                    "mother_id_number": me, "relationship": "Mẹ"},
                "files": [{"component": "Giấy chứng sinh hoặc văn bản của người làm chứng", "filename": "chung-sinh.pdf", "content_type": "application/pdf", "content_base64": PDF}]}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{sub}");
        let id = sub["id"].as_i64().unwrap();
        issue_result(&s, id).await;
        let desk = login(&s, "motcua").await;
        // The registry's change event reaches the proactive consumer (the relay's job in `sen serve`).
        let (_, event) = deliver_result_event(&s, id).await;
        assert_eq!(event.topic, "civil-status.birth-registered");
        let (st, offers) = get(&parent, format!("{}/api/v1/me/offers", s.base)).await;
        assert_eq!(st, StatusCode::OK, "{offers}");
        let ours: Vec<&Value> =
            offers.as_array().unwrap().iter().filter(|o| o["event_id"] == event.event_id.as_str()).collect();
        let mut codes: Vec<&str> = ours.iter().map(|o| o["procedure_code"].as_str().unwrap()).collect();
        codes.sort();
        let mut expected = vec!["1.004194", "1.011860"];
        if insured {
            expected.push("1.011888");
        }
        assert_eq!(codes, expected, "{offers}");
        assert!(ours.iter().all(|o| o["level"] == 2 && o["state"] == "open"));
        let hi = ours.iter().find(|o| o["procedure_code"] == "1.011860").unwrap();
        assert!(hi["because"].as_str().unwrap().contains("Nguyễn Minh Khang"), "{hi}");
        assert_eq!(hi["prepared"]["child_id_number"], event.payload["person_number"]);

        // Nobody else sees or accepts them.
        let other = login(&s, "congdan2").await;
        let (_, theirs) = get(&other, format!("{}/api/v1/me/offers", s.base)).await;
        assert!(!theirs.to_string().contains(&event.event_id), "{theirs}");
        let ids: Vec<i64> = ours.iter().map(|o| o["id"].as_i64().unwrap()).collect();
        let (st, _) =
            post(&other, format!("{}/api/v1/me/offers/accept", s.base), json!({"offers": [{"id": ids[0]}]})).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) =
            post(&desk, format!("{}/api/v1/me/offers/accept", s.base), json!({"offers": [{"id": ids[0]}]})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // What the state does not hold is asked for; nothing is submitted until all is there.
        let before = get(&parent, format!("{}/api/v1/dossiers", s.base)).await.1.as_array().unwrap().len();
        let all: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
        let (st, problem) = post(&parent, format!("{}/api/v1/me/offers/accept", s.base), json!({"offers": all})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(problem.to_string().contains(".initial_facility"), "{problem}");
        assert_eq!(get(&parent, format!("{}/api/v1/dossiers", s.base)).await.1.as_array().unwrap().len(), before);

        // One step: every prepared dossier submitted, each to its agency.
        let filled: Vec<Value> = ours
            .iter()
            .map(|o| json!({"id": o["id"], "data": {"initial_facility": "Trạm y tế Phường Hoàn Kiếm", "bank_account": "0011223344"}}))
            .collect();
        let (st, done) = post(&parent, format!("{}/api/v1/me/offers/accept", s.base), json!({"offers": filled})).await;
        assert_eq!(st, StatusCode::OK, "{done}");
        assert_eq!(done.as_array().unwrap().len(), expected.len());
        // Sent again (a retry): the same dossiers, no new ones.
        let (st, again) = post(&parent, format!("{}/api/v1/me/offers/accept", s.base), json!({"offers": filled})).await;
        assert_eq!(st, StatusCode::OK, "{again}");
        let dossier_of = |v: &Value, code: &str| -> i64 {
            let o = ours.iter().find(|o| o["procedure_code"] == code).unwrap();
            v.as_array().unwrap().iter().find(|d| d["offer_id"] == o["id"]).unwrap()["dossier_id"].as_i64().unwrap()
        };
        for code in &expected {
            assert_eq!(dossier_of(&done, code), dossier_of(&again, code));
        }
        assert_eq!(
            get(&parent, format!("{}/api/v1/dossiers", s.base)).await.1.as_array().unwrap().len(),
            before + expected.len()
        );
        // The residence dossier needed no proof of housing: the mother's residence record stands in.
        let residence = dossier_of(&done, "1.004194");
        let (_, comps) = get(&parent, format!("{}/api/v1/dossiers/{residence}/components", s.base)).await;
        let proof =
            comps.as_array().unwrap().iter().find(|c| c["component"] == "Giấy tờ chứng minh chỗ ở hợp pháp").unwrap();
        assert_eq!(
            (proof["source"].as_str(), proof["record_id"].as_str()),
            (Some("fetched"), Some(me.as_str())),
            "{comps}"
        );
        assert_eq!(proof["message_id"], event.event_id.as_str());

        // The agencies of the parent's commune and province process them (the demo's officers
        // are given roles there if the parent lives elsewhere).
        for (username, code) in [("congan", "1.004194"), ("baohiem", "1.011860"), ("baohiem", "1.011888")] {
            if code == "1.011888" && !insured {
                continue;
            }
            let user = s.store.user_by_username(username).await.unwrap();
            let agency = s.store.dossier(dossier_of(&done, code)).await.unwrap().agency_id;
            for role in ["reception", "specialist", "approver"] {
                let _ = s.store.grant_role(user.id, agency, role).await;
            }
        }
        let police = login(&s, "congan").await;
        process(&s, &police, residence).await;
        let insurance = login(&s, "baohiem").await;
        process(&s, &insurance, dossier_of(&done, "1.011860")).await;
        if insured {
            process(&s, &insurance, dossier_of(&done, "1.011888")).await;
        }
        let (_, offers) = get(&parent, format!("{}/api/v1/me/offers", s.base)).await;
        assert!(
            offers
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["event_id"] == event.event_id.as_str())
                .all(|o| o["state"] == "accepted")
        );

        // K4 counts them.
        let (st, k4) = get(&desk, format!("{}/api/v1/stats/proactive", s.base)).await;
        assert_eq!(st, StatusCode::OK, "{k4}");
        assert_eq!(k4["delivered_proactively"], expected.len());
        assert!(k4["share"].as_f64().unwrap() > 0.0 && k4["share"].as_f64().unwrap() <= 1.0);
        assert_eq!(get(&parent, format!("{}/api/v1/stats/proactive", s.base)).await.0, StatusCode::FORBIDDEN);

        // Turned off: the next birth offers nothing.
        let r = parent
            .client
            .put(format!("{}/api/v1/me/proactive", s.base))
            .header("x-csrf-token", &parent.csrf)
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let mut again = event.clone();
        again.event_id = "another-birth".into();
        s.store.apply_event(consumers::PROACTIVE, &again).await.unwrap();
        assert!(s.store.offers_of_event("another-birth").await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn proactive_rules_are_edited_and_tested_by_administrators_of_their_owner_only() {
    on_both!(|s| {
        let admin = login(&s, "admin").await;
        let agency_admin = login(&s, "quantri").await;
        let citizen = login(&s, "congdan").await;
        let (st, rules) = get(&admin, format!("{}/api/v1/proactive/rules", s.base)).await;
        assert_eq!(st, StatusCode::OK);
        let r = rules.as_array().unwrap().iter().find(|r| r["key"] == "age14.identity-card").unwrap().clone();
        assert_eq!(get(&citizen, format!("{}/api/v1/proactive/rules", s.base)).await.0, StatusCode::FORBIDDEN);

        // Testing explains the decision either way.
        let payload = json!({"person_number": "001212004455", "name": "Phạm Gia Huy", "sex": "Nam", "birth_date": "2012-12-01", "milestone": "14", "household_head_number": "001080005566"});
        let (st, t) = post(
            &agency_admin,
            format!("{}/api/v1/proactive/rules/test", s.base),
            json!({"rule": r["rule"], "payload": payload}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{t}");
        assert_eq!(t["eligible"], true);
        assert!(t["offer"]["because"].as_str().unwrap().contains("01/12/2012"), "{t}");
        let mut p2 = payload.clone();
        p2["milestone"] = json!("17");
        let (_, t) = post(
            &agency_admin,
            format!("{}/api/v1/proactive/rules/test", s.base),
            json!({"rule": r["rule"], "payload": p2}),
        )
        .await;
        assert_eq!(t["eligible"], false);
        assert!(t["reason"].as_str().unwrap().contains("milestone"), "{t}");

        // A bad rule is refused with the field named, and nothing changes.
        let mut bad = r["rule"].clone();
        bad["because"] = json!("vì {shoe_size}");
        let put = |u: &User, key: &str, body: Value| {
            u.client
                .put(format!("{}/api/v1/proactive/rules/{key}", s.base))
                .header("x-csrf-token", &u.csrf)
                .json(&body)
                .send()
        };
        let res = put(&admin, "age14.identity-card", json!({"rule": bad, "version": r["version"]})).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("shoe_size"));
        // The platform's rule is not an agency administrator's to change; a rule of their own is.
        let res = put(&agency_admin, "age14.identity-card", json!({"rule": r["rule"], "version": r["version"]}))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let mut own = r["rule"].clone();
        own["key"] = json!("hk.age14.reminder");
        own["title"] = json!("Phường Hoàn Kiếm nhắc: {name} đủ 14 tuổi");
        let res = put(&agency_admin, "hk.age14.reminder", json!({"rule": own})).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = put(&agency_admin, "hk.age14.reminder", json!({"rule": own, "version": 1})).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        // A stale edit loses.
        let res = put(&agency_admin, "hk.age14.reminder", json!({"rule": own, "version": 1})).await.unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let stored = s.store.proactive_rule("hk.age14.reminder").await.unwrap();
        assert_eq!((stored.version, stored.agency_code.is_some()), (2, true));
        // The platform administrator may edit any rule.
        let res = put(&admin, "hk.age14.reminder", json!({"rule": own, "enabled": false, "version": 2})).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        // Pages: the rules page and K4 for officers.
        let page = agency_admin.client.get(format!("{}/admin/proactive", s.base)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("hk.age14.reminder"));
        let page = citizen.client.get(format!("{}/inbox", s.base)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
    });
}

#[tokio::test]
async fn notifications_tell_people_what_happens_and_sms_retries_with_back_off() {
    use axum::routing::post as axum_post;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    // An SMS gateway that fails once (503), then accepts.
    let hits = Arc::new(AtomicUsize::new(0));
    let seen: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
    let (h, sn) = (hits.clone(), seen.clone());
    let gateway = axum::Router::new().route(
        "/sms",
        axum_post(move |axum::Json(body): axum::Json<Value>| {
            let (h, sn) = (h.clone(), sn.clone());
            async move {
                sn.lock().unwrap().push(body);
                if h.fetch_add(1, Ordering::SeqCst) == 0 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::ACCEPTED
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, gateway).await.unwrap() });
    for backend in ["sqlite", "postgres"] {
        hits.store(0, Ordering::SeqCst);
        seen.lock().unwrap().clear();
        let mut config = test_config();
        config.notify.sms =
            Some(sen_web::notify_http::SmsConfig { url: gw.clone(), token: Some("gateway-token".into()) });
        let Some(s) = start(backend, config).await else { continue };
        let client = reqwest::Client::new();
        // People do not send notifications; agencies' systems and administrators do.
        let citizen = login(&s, "congdan").await;
        let (st, _) = post(&citizen, format!("{}/v2/notifications/sms", s.base), json!({"phone_number": "0912345678", "template_id": "dossier-result-sms", "personalisation": {"code": "X", "url": "u"}})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let officer = login(&s, "motcua").await;
        let (st, p) = post(&officer, format!("{}/v2/notifications/sms", s.base), json!({"phone_number": "12", "template_id": "dossier-result-sms", "personalisation": {"code": "X", "url": "u"}})).await;
        assert_eq!((st, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_recipient")));
        let (st, p) = post(
            &officer,
            format!("{}/v2/notifications/sms", s.base),
            json!({"phone_number": "0912345678", "template_id": "dossier-received", "personalisation": {}}),
        )
        .await;
        assert_eq!((st, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("template_kind")));
        let (st, created) = post(&officer, format!("{}/v2/notifications/sms", s.base), json!({"phone_number": "+84 912 345 678", "template_id": "dossier-result-sms", "reference": "sms-1", "personalisation": {"code": "H01-1", "url": "http://sen.test/1"}})).await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        // Another officer's system does not see it.
        let other = login(&s, "motcua.badinh").await;
        assert_eq!(get(&other, format!("{}/v2/notifications/{id}", s.base)).await.0, StatusCode::NOT_FOUND);

        let now = chrono::Utc::now();
        sen_web::notify_http::run_sender_at(&s.state, &client, now).await.unwrap();
        let (_, n) = get(&officer, format!("{}/v2/notifications/{id}", s.base)).await;
        assert_eq!(n["status"], "sending", "a 503 is retried: {n}");
        // Not due again before the back-off.
        sen_web::notify_http::run_sender_at(&s.state, &client, now + chrono::Duration::seconds(5)).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        sen_web::notify_http::run_sender_at(&s.state, &client, now + chrono::Duration::seconds(11)).await.unwrap();
        let (_, n) = get(&officer, format!("{}/v2/notifications/{id}", s.base)).await;
        assert_eq!((n["status"].as_str(), n["phone_number"].as_str()), (Some("delivered"), Some("0912345678")), "{n}");
        let sent = seen.lock().unwrap().clone();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[1]["reference"], id.as_str(), "the gateway can drop a repeat by its reference");
        assert_eq!(sent[1]["body"], "Ho so H01-1 da co ket qua. Tai tai http://sen.test/1");

        // Versioned templates: a new version renders new messages; old ones keep theirs.
        let admin = login(&s, "admin").await;
        let (st, t) = post(
            &admin,
            format!("{}/v2/template/dossier-result-sms", s.base),
            json!({"name": "SMS kết quả", "type": "sms", "body": "Ho so ((code)) co ket qua: ((url))"}),
        )
        .await;
        assert_eq!((st, t["version"].as_i64()), (StatusCode::CREATED, Some(2)), "{t}");
        assert_eq!(
            post(
                &officer,
                format!("{}/v2/template/dossier-result-sms", s.base),
                json!({"name": "x", "type": "sms", "body": "x"})
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        let (_, pv) = post(
            &officer,
            format!("{}/v2/template/dossier-result-sms/preview", s.base),
            json!({"personalisation": {"code": "A", "url": "B"}}),
        )
        .await;
        assert_eq!(pv["body"], "Ho so A co ket qua: B");
        let (_, old) = get(&officer, format!("{}/v2/notifications/{id}", s.base)).await;
        assert_eq!(old["template"]["version"], 1);

        // What happens to a dossier reaches its applicant: the inbox, and e-mail when known.
        s.store.set_user_email(citizen.id, Some("congdan@example.vn")).await.unwrap();
        let (_, _, dossier) = issue_a_result(&s).await;
        sen_web::notify_http::run_sender_once(&s.state, &client).await.unwrap();
        let inbox = s.store.inbox_messages(citizen.id, 20).await.unwrap();
        assert!(
            inbox.iter().any(|m| m.subject.contains("đã được tiếp nhận")
                && m.link.as_deref().is_some_and(|l| l.ends_with(&format!("/dossiers/{dossier}")))),
            "{inbox:?}"
        );
        assert!(inbox.iter().any(|m| m.subject.contains("đã có kết quả")), "{inbox:?}");
        let mails = s.store.notifications(Some("sen"), None, Some("email"), None, None, 50).await.unwrap();
        assert!(
            mails.iter().any(|m| m.recipient == "congdan@example.vn"
                && m.subject.as_deref().is_some_and(|x| x.contains("đã có kết quả"))),
            "{mails:?}"
        );
        // Told once: another run adds nothing.
        let before = s.store.inbox_messages(citizen.id, 100).await.unwrap().len();
        sen_web::notify_http::run_sender_once(&s.state, &client).await.unwrap();
        assert_eq!(s.store.inbox_messages(citizen.id, 100).await.unwrap().len(), before);
        // No e-mail channel here: the e-mail waits, retried, never silently dropped.
        let m = mails.iter().find(|m| m.recipient == "congdan@example.vn").unwrap();
        assert_eq!(s.store.notification(&m.id).await.unwrap().status, "sending");
        let page = citizen.client.get(format!("{}/inbox", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("đã có kết quả"), "the inbox page lists the messages");
        eprintln!("-- {backend}");
    }
}

/// The commune's desk and its leader (given the roles) receive, approve and issue the result
/// of dossier `id`.
async fn issue_result(s: &Server, id: i64) {
    let agency = s.store.dossier(id).await.unwrap().agency_id;
    for (u, roles) in [("motcua", ["reception", "specialist"]), ("lanhdao", ["approver", "specialist"])] {
        let user = s.store.user_by_username(u).await.unwrap();
        for r in roles {
            let _ = s.store.grant_role(user.id, agency, r).await;
        }
    }
    let (desk, approver) = (login(s, "motcua").await, login(s, "lanhdao").await);
    for (u, body) in [
        (&desk, json!({"action": "receive"})),
        (&approver, json!({"action": "approve"})),
        (&desk, json!({"action": "issue_result"})),
    ] {
        let (st, d) = post(u, format!("{}/api/v1/dossiers/{id}/actions", s.base), body).await;
        assert_eq!(st, StatusCode::OK, "{d}");
    }
}

/// Delivers the registry change event of dossier `id`'s result to every consumer (the relay's
/// job in `sen serve`): (the dossier's code, the event).
async fn deliver_result_event(s: &Server, id: i64) -> (String, sen_store::outbox::Event) {
    let code = s.store.dossier(id).await.unwrap().code;
    let event = s
        .store
        .outbox_pending(20)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event())
        .find(|e| e.payload["dossier_code"] == code.as_str())
        .unwrap();
    for c in sen_store::outbox::consumers::ALL {
        s.store.apply_event(c, &event).await.unwrap();
    }
    (code, event)
}

#[tokio::test]
async fn a_death_bundle_splits_into_the_dossiers_picked_and_a_bundle_missing_documents_is_refused_after_seven_working_days()
 {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let today = chrono::Utc::now().with_timezone(&sen_store::vn_offset()).date_naive();
        // The deceased, insured for 200 months.
        s.store
            .insert_persons(&[sen_store::models::Person {
                person_number: "001048001122".into(),
                full_name: "Lê Văn Ba".into(),
                birth_date: chrono::NaiveDate::from_ymd_opt(1948, 3, 2).unwrap(),
                sex: "Nam".into(),
                birth_province_code: "001".into(),
                commune_code: "00001".into(),
                address: "5 Lê Lợi, Hà Nội".into(),
                household_id: None,
                relation_to_head: "Chủ hộ".into(),
            }])
            .await
            .unwrap();
        s.store
            .insert_insurance_records(&[sen_store::registries::InsuranceRecord {
                person_number: "001048001122".into(),
                social_insurance_number: "0104800112".into(),
                health_card_number: "HT4010104800112".into(),
                health_card_valid_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                health_card_valid_to: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                initial_care_facility: "Bệnh viện Thanh Nhàn".into(),
                contribution_months: 200,
                employer_tax_code: None,
            }])
            .await
            .unwrap();
        let death = json!({"deceased_full_name": "Lê Văn Ba", "deceased_id_number": "001048001122", "date_of_death": today.to_string(),
            "place_of_death": "Bệnh viện Thanh Nhàn", "relationship": "Con"});
        let notice = json!([{"component": "Giấy báo tử hoặc giấy tờ thay giấy báo tử", "filename": "bao-tu.pdf", "content_type": "application/pdf", "content_base64": PDF}]);
        let url = format!("{}/api/v1/bundles", s.base);
        // One part only, or a part without the registration: refused, nothing written.
        for parts in [json!(["1.000656"]), json!(["1.011901", "1.011902"]), json!(["1.000656", "2.000488"])] {
            let (st, p) =
                post(&citizen, url.clone(), json!({"kind": "death", "parts": parts, "data": death, "files": notice}))
                    .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        }
        assert!(get(&citizen, url.clone()).await.1.as_array().unwrap().is_empty());
        let officer = login(&s, "motcua").await;
        let (st, _) = post(
            &officer,
            url.clone(),
            json!({"kind": "death", "parts": ["1.000656", "1.011901"], "data": death, "files": notice}),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        let (st, b) = post(
            &citizen,
            url.clone(),
            json!({"kind": "death", "parts": ["1.000656", "1.011901", "1.011902"], "data": death, "files": notice,
            "part_data": {"1.011901": {"bank_account": "0011223344"}, "1.011902": {"bank_account": "0011223344"}}}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        assert_eq!(b["status"], "submitted");
        let id = b["id"].as_i64().unwrap();
        let first = b["parts"][0]["dossier_id"].as_i64().unwrap();
        // Another citizen does not see it.
        let other = login(&s, "congdan2").await;
        assert_eq!(get(&other, format!("{url}/{id}")).await.0, StatusCode::NOT_FOUND);

        // The commune registers the death; the later parts follow from its result.
        issue_result(&s, first).await;
        assert_eq!(s.state.follow_bundles(today).await.unwrap(), 0, "not before the proactive consumer saw the event");
        deliver_result_event(&s, first).await;
        assert_eq!(s.state.follow_bundles(today).await.unwrap(), 1);
        let (_, b) = get(&citizen, format!("{url}/{id}")).await;
        assert_eq!(b["status"], "completed", "{b}");
        let parts = b["parts"].as_array().unwrap();
        assert!(parts.iter().all(|p| p["status"] == "submitted" && p["dossier_id"].is_i64()), "{b}");
        let survivor =
            parts.iter().find(|p| p["procedure_code"] == "1.011902").unwrap()["dossier_id"].as_i64().unwrap();
        let (_, d) = get(&citizen, format!("{}/api/v1/dossiers/{survivor}", s.base)).await;
        assert_eq!(
            d["data"]["benefit_kind"], "Tuất hằng tháng",
            "200 months of contributions: the monthly benefit is recommended: {d}"
        );
        assert_eq!(d["data"]["social_insurance_number"], "0104800112");
        let (_, comps) = get(&citizen, format!("{}/api/v1/dossiers/{survivor}/components", s.base)).await;
        assert!(comps.to_string().contains("Trích lục khai tử"), "{comps}");

        // A birth bundle without the birth notice waits seven working days, then is refused.
        let birth = json!({"child_full_name": "Nguyễn An Nhiên", "child_birth_date": today.to_string(), "child_sex": "Nữ", "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
            "ethnicity": "Kinh", "mother_full_name": "Trần Thị Mai", "mother_id_number": "001190012345", "relationship": "Mẹ"});
        let (st, w) = post(
            &citizen,
            url.clone(),
            json!({"kind": "birth", "parts": ["1.001193", "1.004194", "1.011860"], "data": birth,
                "part_data": {"1.011860": {"initial_facility": "Trạm Y tế phường Hoàn Kiếm"}}}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{w}");
        assert_eq!(w["status"], "awaiting_documents");
        let due = chrono::NaiveDate::parse_from_str(w["documents_due"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let cal = s.state.calendar();
        assert_eq!(due, cal.add_working_days(cal.next_working_day_from(today), 7));
        let (st, w2) = post(
            &citizen,
            url.clone(),
            json!({"kind": "birth", "parts": ["1.001193", "1.004194", "1.011860"], "data": birth,
                "part_data": {"1.011860": {"initial_facility": "Trạm Y tế phường Hoàn Kiếm"}}}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        // The second brings its document in time: submitted.
        let notice = json!([{"component": "Giấy chứng sinh hoặc văn bản của người làm chứng", "filename": "chung-sinh.pdf", "content_type": "application/pdf", "content_base64": PDF}]);
        let (st, moved) = post(&citizen, format!("{url}/{}/documents", w2["id"]), json!({"files": notice})).await;
        assert_eq!((st, moved["status"].as_str()), (StatusCode::OK, Some("submitted")), "{moved}");
        s.state.follow_bundles(due).await.unwrap();
        assert_eq!(
            get(&citizen, format!("{url}/{}", w["id"])).await.1["status"],
            "awaiting_documents",
            "still in time on the last day"
        );
        s.state.follow_bundles(due + chrono::Duration::days(1)).await.unwrap();
        let (_, refused) = get(&citizen, format!("{url}/{}", w["id"])).await;
        assert_eq!(refused["status"], "refused");
        assert!(refused["reason"].as_str().unwrap().contains("7 ngày làm việc"));
        let (st, _) = post(&citizen, format!("{url}/{}/documents", w["id"]), json!({"files": notice})).await;
        assert_eq!(st, StatusCode::CONFLICT, "too late");
        let page = citizen.client.get(format!("{}/bundles", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Bị từ chối") && page.contains("Đã nộp đủ các hồ sơ"));
    });
}

#[tokio::test]
async fn a_birth_bundle_filed_by_the_father_takes_over_the_offers_made_to_the_mother() {
    on_both!(|s| {
        let mother_number = s.store.user_by_username("congdan").await.unwrap().person_number.unwrap();
        let father_number = s.store.user_by_username("congdan2").await.unwrap().person_number.unwrap();
        let mother = s.store.person(&mother_number).await.unwrap();
        let father = login(&s, "congdan2").await;
        let today = sen_web::app::today();
        let url = format!("{}/api/v1/bundles", s.base);
        let birth = json!({"child_full_name": "Nguyễn Gia Bảo", "child_birth_date": today.to_string(), "child_sex": "Nam",
            "place_of_birth": "Bệnh viện Phụ sản Hà Nội", "ethnicity": "Kinh", "mother_full_name": mother.full_name,
            "mother_id_number": mother_number, "father_full_name": "Nguyễn Văn Hùng", "father_id_number": father_number,
            "relationship": "Cha"});
        let notice = json!([{"component": "Giấy chứng sinh hoặc văn bản của người làm chứng", "filename": "chung-sinh.pdf", "content_type": "application/pdf", "content_base64": PDF}]);
        let (st, b) = post(
            &father,
            url.clone(),
            json!({"kind": "birth", "parts": ["1.001193", "1.004194", "1.011860"], "data": birth, "files": notice,
                "part_data": {"1.011860": {"initial_facility": "Trạm Y tế phường Hoàn Kiếm"}}}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        let id = b["id"].as_i64().unwrap();
        let first = b["parts"][0]["dossier_id"].as_i64().unwrap();
        issue_result(&s, first).await;
        let (code, event) = deliver_result_event(&s, first).await;
        // The rules address the child's offers to the mother.
        let to_mother = s.store.offers_from_dossier(&code, Some(&mother_number)).await.unwrap();
        assert!(to_mother.iter().any(|o| o.procedure_code == "1.011860"), "{to_mother:?}");
        assert_eq!(s.state.follow_bundles(today).await.unwrap(), 1);
        let (_, b) = get(&father, format!("{url}/{id}")).await;
        assert_eq!(b["status"], "completed", "{b}");
        let parts = b["parts"].as_array().unwrap();
        assert!(parts.iter().all(|p| p["status"] == "submitted" && p["dossier_id"].is_i64()), "{b}");
        // The father's dossiers, prepared from the state's data; the offers left the mother's inbox.
        let card = parts.iter().find(|p| p["procedure_code"] == "1.011860").unwrap()["dossier_id"].as_i64().unwrap();
        let (st, d) = get(&father, format!("{}/api/v1/dossiers/{card}", s.base)).await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["data"]["child_id_number"], event.payload["person_number"], "{d}");
        let left: Vec<String> = s
            .store
            .offers_from_dossier(&code, Some(&mother_number))
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.procedure_code)
            .collect();
        assert!(!left.iter().any(|c| c == "1.011860" || c == "1.004194"), "{left:?}");
        let mother_user = login(&s, "congdan").await;
        assert_eq!(get(&mother_user, format!("{}/api/v1/dossiers/{card}", s.base)).await.0, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn petitions_are_routed_by_the_classifier_and_corrections_retrain_it() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let url = format!("{}/api/v1/petitions", s.base);
        let (st, p) = post(
            &citizen,
            url.clone(),
            json!({"text": "Nhà máy giấy xả nước thải đen ra kênh, cá chết, mùi hôi thối"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{p}");
        assert_eq!(p["agency_kind"], "province_agri_env", "{p}");
        assert!(p["agency_id"].is_i64() && p["confidence"].as_f64().unwrap() > 0.5);
        let (st, _) = post(&citizen, url.clone(), json!({"text": "ngắn"})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        // A session without its CSRF token changes nothing.
        let r = citizen
            .client
            .post(url.clone())
            .json(&json!({"text": "Đường bị ổ gà rất nguy hiểm cho xe máy"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let officer = login(&s, "motcua").await;
        assert_eq!(
            post(&officer, url.clone(), json!({"text": "Đường bị ổ gà rất nguy hiểm"})).await.0,
            StatusCode::FORBIDDEN
        );
        // Without diacritics, as typed on many phones.
        let (_, q) = post(&citizen, url.clone(), json!({"text": "cong ty no luong cong nhan 3 thang chua tra"})).await;
        assert_eq!(q["agency_kind"], "province_home_affairs", "{q}");

        // The officer of another agency can neither see nor correct it.
        let id = p["id"].as_i64().unwrap();
        let (_, theirs) = get(&officer, url.clone()).await;
        assert!(!theirs.to_string().contains("Nhà máy giấy"), "{theirs}");
        let route = format!("{url}/{id}/route");
        assert_eq!(
            post(&officer, route.clone(), json!({"label": "province_health/Y tế"})).await.0,
            StatusCode::NOT_FOUND
        );
        // An officer of the agency it went to corrects it; the router learns.
        let user = s.store.user_by_username("baohiem").await.unwrap();
        s.store.grant_role(user.id, p["agency_id"].as_i64().unwrap(), "specialist").await.unwrap();
        let handler = login(&s, "baohiem").await;
        let (st, bad) = post(&handler, route.clone(), json!({"label": "nowhere/Nothing"})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let before = s.state.router_model.read().unwrap().examples();
        let (st, fixed) = post(&handler, route.clone(), json!({"label": "province_health/Y tế"})).await;
        assert_eq!(st, StatusCode::OK, "{fixed}");
        assert_eq!((fixed["label"].as_str(), fixed["corrected"].as_bool()), (Some("province_health/Y tế"), Some(true)));
        assert_ne!(fixed["agency_id"], p["agency_id"], "now with the health department");
        assert_eq!(s.state.router_model.read().unwrap().examples(), before + 3, "retrained with the correction");
        // The citizen sees the route of their own petitions.
        let (_, mine) = get(&citizen, url.clone()).await;
        assert_eq!(mine.as_array().unwrap().len(), 2);
        // K13.
        let (st, k13) = get(&officer, format!("{}/api/v1/stats/ai", s.base)).await;
        assert_eq!(st, StatusCode::OK);
        assert!(k13["agencies_using_ai"].as_i64().unwrap() >= 2, "{k13}");
        assert_eq!(get(&citizen, format!("{}/api/v1/stats/ai", s.base)).await.0, StatusCode::FORBIDDEN);
    });
}

#[tokio::test]
async fn officers_see_a_completeness_check_before_receiving() {
    on_both!(|s| {
        let citizen = login(&s, "congdan").await;
        let (st, sub) = submit_birth(&s, &citizen).await;
        assert_eq!(st, StatusCode::CREATED, "{sub}");
        let id = sub["id"].as_i64().unwrap();
        let desk = login(&s, "motcua").await;
        let url = format!("{}/api/v1/dossiers/{id}/completeness", s.base);
        let (st, c) = get(&desk, url.clone()).await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(c["complete"], true, "{c}");
        let findings = c["findings"].as_array().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f["subject"] == "Giấy chứng sinh hoặc văn bản của người làm chứng" && f["severity"] == "ok"),
            "{c}"
        );
        // The mother's number is checked against the population registry.
        assert!(
            findings.iter().any(|f| f["subject"] == "mother_id_number" || f["subject"] == "mother_full_name"),
            "{c}"
        );
        // K13 counts the agency whose officer was shown the check (noted in the background).
        let desk_agency = hoan_kiem(&s).await;
        let mut counted = false;
        for _ in 0..50 {
            let since = chrono::Utc::now() - chrono::Duration::days(1);
            if s.store.agencies_using_ai(since).await.unwrap().contains(&desk_agency) {
                counted = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(counted, "the completeness check counts as an AI aid in use");
        assert_eq!(get(&citizen, url.clone()).await.0, StatusCode::FORBIDDEN);
        let other = login(&s, "motcua.badinh").await;
        assert_eq!(get(&other, url.clone()).await.0, StatusCode::NOT_FOUND);
        let page = desk.client.get(format!("{}/dossiers/{id}", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Kiểm tra tính đầy đủ"));
    });
}

#[tokio::test]
async fn the_queues_show_a_delay_risk_learned_from_closed_dossiers() {
    on_both!(|s| {
        let history = s.store.delay_history(10_000).await.unwrap();
        assert!(history.len() > 50, "closed dossiers to learn from: {}", history.len());
        assert!(history.iter().any(|r| r.late()) && history.iter().any(|r| !r.late()));
        assert!(s.state.delay_model.read().unwrap().trained_on == history.len());
        let citizen = login(&s, "congdan").await;
        assert_eq!(submit_birth(&s, &citizen).await.0, StatusCode::CREATED);
        let desk = login(&s, "motcua").await;
        let page = desk.client.get(format!("{}/office?queue=open", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Nguy cơ trễ"), "the column is there: {page}");
        assert!(page.matches('%').count() >= 1, "open dossiers carry a risk");
    });
}

#[tokio::test]
async fn people_who_registered_a_birth_are_told_what_others_needed_next() {
    use sen_domain::recommend::{Model, Visit};
    on_both!(|s| {
        // Trained at start from the seeded history of the window.
        let since = chrono::Utc::now() - chrono::Duration::days(sen_domain::recommend::WINDOW_DAYS);
        let seeded = s.store.procedure_visits(since, 1_000_000).await.unwrap().len();
        assert_eq!(s.state.recommender().trained_on, seeded);
        // A known history: of 10 parents, 8 registered the child's residence, 6 the child's card.
        let (birth, residence, card, passport) = (
            procedure_id(&s, "1.001193").await,
            procedure_id(&s, "1.004194").await,
            procedure_id(&s, "1.011860").await,
            procedure_id(&s, "1.003578").await,
        );
        let mut visits = Vec::new();
        for a in 0..10 {
            visits.push(Visit { applicant: 1000 + a, procedure: birth, day: 1000 });
            if a < 8 {
                visits.push(Visit { applicant: 1000 + a, procedure: residence, day: 1010 });
            }
            if a < 6 {
                visits.push(Visit { applicant: 1000 + a, procedure: card, day: 1020 });
            }
            visits.push(Visit { applicant: 2000 + a, procedure: passport, day: 1000 });
        }
        *s.state.recommend_model.write().unwrap() = std::sync::Arc::new(Model::train(&visits));

        let v: Value = reqwest::get(format!("{}/api/v1/procedures/1.001193/also-needed", s.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let codes: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["1.004194", "1.011860"]);
        assert_eq!(v[0]["share"], 0.8);
        assert_eq!(v[0]["procedure"], "Đăng ký thường trú");
        assert!(v[0]["why"].as_str().unwrap().starts_with("80% người đã làm thủ tục “Đăng ký khai sinh”"));
        let r = reqwest::get(format!("{}/api/v1/procedures/9.999999/also-needed", s.base)).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let page = reqwest::get(format!("{}/procedures/{birth}", s.base)).await.unwrap().text().await.unwrap();
        assert!(page.contains("Người làm thủ tục này cũng cần"));

        // A parent who just registered a birth: residence, the card, then what is asked most.
        let citizen = login(&s, "congdan").await;
        assert_eq!(submit_birth(&s, &citizen).await.0, StatusCode::CREATED);
        let (st, mine) = get(&citizen, format!("{}/api/v1/me/recommendations?lang=en", s.base)).await;
        assert_eq!(st, StatusCode::OK);
        let codes: Vec<&str> = mine.as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
        assert_eq!(&codes[..2], ["1.004194", "1.011860"], "{mine}");
        assert_eq!(mine[0]["because"], "1.001193");
        assert!(
            mine[0]["why"].as_str().unwrap().contains("of the people who applied for “Birth registration”"),
            "{mine}"
        );
        assert!(mine.as_array().unwrap().iter().all(|r| r["code"] != "1.001193"), "not what they already did");
        let page = citizen.client.get(format!("{}/dossiers", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Có thể bạn cũng cần") && page.contains("Đăng ký thường trú"));
        // Officers have no applicant history to recommend from; anonymous callers must log in.
        let desk = login(&s, "motcua").await;
        assert_eq!(get(&desk, format!("{}/api/v1/me/recommendations", s.base)).await.0, StatusCode::FORBIDDEN);
        let r = reqwest::get(format!("{}/api/v1/me/recommendations", s.base)).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    });
}

#[tokio::test]
async fn a_bundle_is_applied_for_and_completed_from_the_pages() {
    on_both!(|s| {
        use reqwest::multipart::{Form, Part};
        let citizen = login(&s, "congdan").await;
        let today = sen_web::app::today();
        let pid = procedure_id(&s, "1.000656").await;
        let html =
            citizen.client.get(format!("{}/procedures/{pid}", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("href=\"/bundles/death/apply\""), "the registration's page leads to its bundle");
        let page = citizen.client.get(format!("{}/bundles/death/apply", s.base)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("for=\"f-part-1.011901-bank_account\""),
            "the survivor benefit asks what the state lacks"
        );
        assert!(html.contains("for=\"f-deceased_full_name\"") && html.contains("type=\"file\""));
        // The funeral allowance picked without its bank account: the page says so, nothing is written.
        let form = Form::new()
            .text("csrf", citizen.csrf.clone())
            .text("part:1.000656", "on")
            .text("part:1.011901", "on")
            .text("deceased_full_name", "Lê Văn Ba")
            .text("deceased_id_number", "001048001122")
            .text("date_of_death", today.to_string())
            .text("place_of_death", "Bệnh viện Thanh Nhàn")
            .text("relationship", "Con");
        let r = citizen.client.post(format!("{}/bundles/death/apply", s.base)).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("href=\"#f-part-1.011901-bank_account\""), "{html}");
        assert!(get(&citizen, format!("{}/api/v1/bundles", s.base)).await.1.as_array().unwrap().is_empty());
        // Without the CSRF token: refused.
        let form = Form::new().text("part:1.001193", "on");
        let r = citizen.client.post(format!("{}/bundles/birth/apply", s.base)).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // A birth bundle from the form, without the birth notice: it waits for it.
        let birth = [
            ("child_full_name", "Nguyễn An Nhiên".to_string()),
            ("child_birth_date", today.to_string()),
            ("child_sex", "Nữ".into()),
            ("place_of_birth", "Bệnh viện Phụ sản Hà Nội".into()),
            ("ethnicity", "Kinh".into()),
            ("mother_full_name", "Trần Thị Mai".into()),
            ("mother_id_number", "001190012345".into()),
            ("relationship", "Mẹ".into()),
            ("part:1.011860:initial_facility", "Trạm Y tế phường Hoàn Kiếm".into()),
        ];
        let mut form = Form::new().text("csrf", citizen.csrf.clone());
        for code in ["1.001193", "1.004194", "1.011860"] {
            form = form.text(format!("part:{code}"), "on");
        }
        for (k, v) in &birth {
            form = form.text(k.to_string(), v.clone());
        }
        let r = citizen.client.post(format!("{}/bundles/birth/apply", s.base)).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let (_, list) = get(&citizen, format!("{}/api/v1/bundles", s.base)).await;
        assert_eq!(list[0]["status"], "awaiting_documents", "{list}");
        let id = list[0]["id"].as_i64().unwrap();
        let page = citizen.client.get(format!("{}/bundles", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("action=\"/bundles/{id}/documents\"")), "the page offers to add the documents");
        // Someone else cannot add them.
        let other = login(&s, "congdan2").await;
        use base64::Engine;
        let pdf = base64::engine::general_purpose::STANDARD.decode(PDF).unwrap();
        let doc = || Part::bytes(pdf.clone()).file_name("chung-sinh.pdf").mime_str("application/pdf").unwrap();
        let form = Form::new().text("csrf", other.csrf.clone()).part("component_1", doc());
        let r = other.client.post(format!("{}/bundles/{id}/documents", s.base)).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let form = Form::new().text("csrf", citizen.csrf.clone()).part("component_1", doc());
        let r = citizen.client.post(format!("{}/bundles/{id}/documents", s.base)).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, b) = get(&citizen, format!("{}/api/v1/bundles/{id}", s.base)).await;
        assert_eq!(b["status"], "submitted", "{b}");
        assert!(b["parts"][0]["dossier_id"].is_i64());
    });
}

/// A CKAN action: (HTTP status, the envelope).
async fn ckan(s: &Server, action: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let c = Client::new();
    let url = format!("{}/api/3/action/{action}", s.base);
    let mut r = match &body {
        Some(b) => c.post(url).json(b),
        None => c.get(url),
    };
    if let Some(t) = token {
        r = r.header("Authorization", t);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn ckan_token(s: &Server, username: &str) -> String {
    let u = login(s, username).await;
    let (st, v) = post(&u, format!("{}/api/v1/auth/tokens", s.base), json!({"name": "ckanapi"})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn ckan_action_api_reads_and_searches_the_catalogue() {
    on_both!(|s| {
        let (st, v) = ckan(&s, "site_read", None, None).await;
        assert_eq!((st, &v["success"], &v["result"]), (StatusCode::OK, &json!(true), &json!(true)));
        assert!(v["help"].as_str().unwrap().ends_with("help_show?name=site_read"));
        let (_, list) = ckan(&s, "package_list", None, None).await;
        let names = list["result"].as_array().unwrap().clone();
        assert!(names.len() >= 10, "{list}");
        let (_, all) = ckan(&s, "package_search", None, Some(json!({"q": "*:*", "rows": 0}))).await;
        assert_eq!(all["result"]["count"].as_u64().unwrap() as usize, names.len());
        // Diacritics or not, the same dataset; facets count the hits.
        for q in ["không khí", "khong khi"] {
            let (st, v) =
                ckan(&s, "package_search", None, Some(json!({"q": q, "facet.field": ["organization", "tags"]}))).await;
            assert_eq!(st, StatusCode::OK, "{v}");
            let r = &v["result"];
            assert_eq!(r["results"][0]["name"], "chat-luong-khong-khi-theo-tram-quan-trac", "{q}");
            assert_eq!(r["results"][0]["organization"]["name"], "h01-snnmt");
            assert_eq!(r["results"][0]["resources"].as_array().unwrap().len(), 2);
            assert_eq!(r["search_facets"]["organization"]["items"][0]["name"], "h01-snnmt");
            assert_eq!(r["facets"]["organization"]["h01-snnmt"], r["count"]);
        }
        // GET with fq, as ckanapi and browsers send it.
        let c = Client::new();
        let v: Value = c
            .get(format!(
                "{}/api/action/package_search?fq=organization:h01-snnmt%20%2Bres_format:CSV&sort=name%20asc",
                s.base
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["result"]["count"], 2, "{v}");
        assert_eq!(v["result"]["results"][0]["name"], "chat-luong-khong-khi-theo-tram-quan-trac");
        let (_, v) = ckan(
            &s,
            "package_search",
            None,
            Some(json!({"fq": "metadata_modified:[2000-01-01T00:00:00Z TO *]", "rows": 1000})),
        )
        .await;
        assert_eq!(v["result"]["count"].as_u64().unwrap() as usize, names.len());
        // Paging: every dataset once.
        let mut seen = Vec::new();
        for start in (0..names.len()).step_by(4) {
            let (_, v) =
                ckan(&s, "package_search", None, Some(json!({"rows": 4, "start": start, "sort": "name asc"}))).await;
            seen.extend(
                v["result"]["results"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap().to_string()),
            );
        }
        let mut sorted: Vec<String> = names.iter().map(|n| n.as_str().unwrap().to_string()).collect();
        sorted.sort();
        assert_eq!(seen, sorted);
        // Show, organisations, groups, tags, licences, resources.
        let (_, d) =
            ckan(&s, "package_show", None, Some(json!({"id": "chat-luong-khong-khi-theo-tram-quan-trac"}))).await;
        let d = &d["result"];
        assert_eq!(d["license_id"], "cc-by-4.0");
        assert_eq!(d["groups"][0]["name"], "envi");
        assert_eq!(d["num_resources"], 2);
        let (_, again) = ckan(&s, "package_show", None, Some(json!({"id": d["id"]}))).await;
        assert_eq!(&again["result"], d);
        let (_, r) = ckan(&s, "resource_show", None, Some(json!({"id": d["resources"][0]["id"]}))).await;
        assert_eq!(r["result"]["package_id"], d["id"]);
        let (_, o) = ckan(&s, "organization_show", None, Some(json!({"id": "h01-snnmt"}))).await;
        assert_eq!(
            (&o["result"]["package_count"], &o["result"]["title"]),
            (&json!(2), &json!("Sở Nông nghiệp và Môi trường Hà Nội"))
        );
        let (_, g) = ckan(&s, "group_list", None, None).await;
        assert_eq!(g["result"].as_array().unwrap().len(), 13);
        let (_, t) = ckan(&s, "tag_list", None, Some(json!({"query": "moi truong"}))).await;
        assert_eq!(t["result"], json!(["môi trường"]));
        let (_, l) = ckan(&s, "license_list", None, None).await;
        assert!(l["result"].as_array().unwrap().iter().all(|l| l["is_okd_compliant"] == true));
        let (_, cur) = ckan(&s, "current_package_list_with_resources", None, Some(json!({"limit": 3}))).await;
        assert_eq!(cur["result"].as_array().unwrap().len(), 3);
        // Bad input: CKAN's error types and codes.
        let cases = [
            ("package_search", json!({"q": "title:(dân"}), StatusCode::BAD_REQUEST, "Search Query Error"),
            ("package_search", json!({"fq": "colour:red"}), StatusCode::BAD_REQUEST, "Search Query Error"),
            ("package_search", json!({"sort": "popularity desc"}), StatusCode::BAD_REQUEST, "Search Query Error"),
            ("package_search", json!({"rows": 1001}), StatusCode::CONFLICT, "Validation Error"),
            ("package_search", json!({"start": "x"}), StatusCode::CONFLICT, "Validation Error"),
            ("package_show", json!({"id": "khong-co"}), StatusCode::NOT_FOUND, "Not Found Error"),
            ("package_show", json!({}), StatusCode::CONFLICT, "Validation Error"),
            ("organization_show", json!({"id": "khong-co"}), StatusCode::NOT_FOUND, "Not Found Error"),
            ("resource_show", json!({"id": "khong-co"}), StatusCode::NOT_FOUND, "Not Found Error"),
            ("no_such_action", json!({}), StatusCode::BAD_REQUEST, "Bad Request"),
        ];
        for (action, body, status, kind) in cases {
            let (st, v) = ckan(&s, action, None, Some(body.clone())).await;
            assert_eq!(
                (st, &v["success"], v["error"]["__type"].as_str().unwrap_or_default()),
                (status, &json!(false), kind),
                "{action} {body}: {v}"
            );
        }
        assert_eq!(
            ckan(&s, "package_search", None, Some(json!({"rows": 1001}))).await.1["error"]["rows"][0],
            "Must be at most 1000"
        );
    });
}

#[tokio::test]
async fn sens_own_statistics_are_published_as_open_data_and_refreshed_in_place() {
    on_both!(|s| {
        let now = chrono::Utc::now();
        let id = sen_web::own_stats_http::publish(&s.state, now).await.unwrap();
        let (st, v) = ckan(&s, "package_show", None, Some(json!({"id": sen_web::own_stats_http::DATASET}))).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let pkg = v["result"].clone();
        assert_eq!((pkg["id"].as_str(), pkg["organization"]["name"].as_str()), (Some(id.as_str()), Some("h01-ub")));
        let res = pkg["resources"][0].clone();
        assert_eq!(res["format"], "CSV");
        // The table counts the seeded dossiers: every one submitted in the last 24 months,
        // each once, and no personal data.
        let csv = Client::new().get(res["url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
        assert!(csv.starts_with(&sen_domain::opendata::own_stats::HEADER.join(",")));
        let table = |text: &str| sen_domain::opendata::table::read_csv(text.as_bytes(), 1_000_000).unwrap().rows;
        let rows = table(&csv);
        let submitted: u64 = rows.iter().map(|r| r[5].parse::<u64>().unwrap()).sum();
        let resolved: u64 = rows.iter().map(|r| r[6].parse::<u64>().unwrap()).sum();
        assert!(submitted > 0 && submitted <= 300 && resolved > 0, "{submitted} {resolved}");
        assert!(
            rows.iter().all(|r| r[7].parse::<u64>().unwrap() <= r[6].parse::<u64>().unwrap()),
            "on time ≤ resolved"
        );
        let someone = s.store.dossier(1).await.unwrap();
        assert!(!csv.contains(&someone.applicant_name) && !csv.contains(&someone.applicant_id_number), "counts only");
        // Its Table Schema, searchable, in DCAT-AP.
        assert_eq!(res["schema"]["fields"][5]["type"], "integer", "{}", res["schema"]);
        let (_, v) = ckan(&s, "package_search", None, Some(json!({"q": "thong ke ho so"}))).await;
        assert_eq!(v["result"]["results"][0]["name"], sen_web::own_stats_http::DATASET);
        // A new dossier, then the daily refresh: the same dataset and table, new figures.
        let citizen = login(&s, "congdan").await;
        let (st, v) = submit_birth(&s, &citizen).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(sen_web::own_stats_http::publish(&s.state, chrono::Utc::now()).await.unwrap(), id);
        let (_, v) = ckan(&s, "package_show", None, Some(json!({"id": id}))).await;
        assert_eq!(v["result"]["resources"].as_array().unwrap().len(), 1);
        assert_eq!(v["result"]["resources"][0]["id"], res["id"]);
        let csv = Client::new().get(res["url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
        let again: u64 = table(&csv).iter().map(|r| r[5].parse::<u64>().unwrap()).sum();
        assert_eq!(again, submitted + 1);
    });
}

#[tokio::test]
async fn open_data_use_is_counted_per_dataset_resource_and_day_without_robots() {
    on_both!(|s| {
        let person = Client::builder().user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0").build().unwrap();
        let robot = Client::builder().user_agent("Mozilla/5.0 (compatible; Googlebot/2.1)").build().unwrap();
        let (_, v) = ckan(&s, "package_search", None, Some(json!({"fq": "organization:h01-syt", "rows": 1}))).await;
        let pkg = v["result"]["results"][0].clone();
        let (name, id) = (pkg["name"].as_str().unwrap().to_string(), pkg["id"].as_str().unwrap().to_string());
        let res = pkg["resources"][0].clone();
        // A search counts nothing; views, a download and API reads count; a robot does not.
        let (_, _) = ckan(&s, "package_search", None, Some(json!({"q": "*:*"}))).await;
        for c in [&person, &person, &robot] {
            assert_eq!(c.get(format!("{}/dataset/{name}", s.base)).send().await.unwrap().status(), StatusCode::OK);
        }
        let file = person.get(res["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        robot.get(res["url"].as_str().unwrap()).send().await.unwrap();
        person.get(format!("{}/api/3/action/package_show?id={name}", s.base)).send().await.unwrap();
        person.get(format!("{}/dataset/{id}/datapackage.json", s.base)).send().await.unwrap();
        person.get(format!("{}/dataset/{name}.ttl", s.base)).send().await.unwrap();
        let flushed = sen_web::usage_http::flush(&s.state).await.unwrap();
        assert_eq!(flushed, 3, "(dataset, view), (resource, download), (dataset, api)");
        let month = chrono::Utc::now().format("%Y-%m").to_string();
        let metrics = |query: String| {
            let (c, url) = (person.clone(), format!("{}/api/v1/open-data/metrics?{query}", s.base));
            async move { c.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let m = metrics(format!("month={month}")).await;
        let d = m["datasets"].as_array().unwrap().iter().find(|d| d["name"] == name.as_str()).unwrap().clone();
        assert_eq!(
            (d["views"].as_i64(), d["downloads"].as_i64(), d["api_calls"].as_i64()),
            (Some(2), Some(1), Some(3)),
            "{m}"
        );
        assert_eq!(d["organization"], "h01-syt");
        let r = d["resources"].as_array().unwrap().iter().find(|r| r["id"] == res["id"]).unwrap();
        assert_eq!(r["downloads"], 1);
        // Another month saw none; a bad month is refused.
        let m = metrics("month=2020-01".to_string()).await;
        assert_eq!(m["datasets"].as_array().unwrap().len(), 0);
        let bad = person.get(format!("{}/api/v1/open-data/metrics?month=2026-13", s.base)).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Only one agency's datasets.
        let m = metrics(format!("month={month}&organization=h01-snnmt")).await;
        assert!(m["datasets"].as_array().unwrap().iter().all(|d| d["organization"] == "h01-snnmt"));
        // Reuses: people name what they made with the data.
        let citizen = login(&s, "congdan").await;
        let reuse = json!({"title": "Bản đồ cơ sở y tế gần nhà", "kind": "application", "url": "https://bando.example.vn/y-te",
            "description": "Ứng dụng tìm cơ sở khám chữa bệnh", "datasets": [name]});
        assert_eq!(
            Client::new()
                .post(format!("{}/api/v1/open-data/reuses", s.base))
                .json(&reuse)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );
        for (field, bad) in [
            ("kind", json!("game")),
            ("url", json!("javascript:alert(1)")),
            ("datasets", json!(["khong-co"])),
            ("datasets", json!([])),
            ("title", json!(" ")),
        ] {
            let mut b = reuse.clone();
            b[field] = bad;
            let (st, p) = post(&citizen, format!("{}/api/v1/open-data/reuses", s.base), b).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {p}");
        }
        assert!(
            get(&citizen, format!("{}/api/v1/open-data/reuses", s.base)).await.1.as_array().unwrap().is_empty(),
            "nothing refused was kept"
        );
        let (st, made) = post(&citizen, format!("{}/api/v1/open-data/reuses", s.base), reuse).await;
        assert_eq!(st, StatusCode::CREATED, "{made}");
        assert_eq!(made["datasets"], json!([name]));
        let (_, listed) = get(&citizen, format!("{}/api/v1/open-data/reuses?dataset={name}", s.base)).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let m = metrics(format!("month={month}")).await;
        let d = m["datasets"].as_array().unwrap().iter().find(|d| d["name"] == name.as_str()).unwrap().clone();
        assert_eq!(d["reuses"], 1);
        // The plan's evaluation criteria: use in 30 days and reuses per agency.
        let (_, plans) = get(&citizen, format!("{}/api/v1/open-data/plans", s.base)).await;
        let syt =
            plans["agencies"].as_array().unwrap().iter().find(|a| a["organization"] == "h01-syt").unwrap().clone();
        assert_eq!(
            (syt["use_30_days"]["views"].as_i64(), syt["use_30_days"]["downloads"].as_i64(), syt["reuses"].as_i64()),
            (Some(2), Some(1), Some(1)),
            "{syt}"
        );
        assert!(syt["unused"].as_array().unwrap().iter().all(|n| n != name.as_str()), "a dataset used is not unused");
        // The dataset's page shows its last 30 days and its reuses.
        let page = person.get(format!("{}/dataset/{name}", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains("Lượt sử dụng trong 30 ngày") && page.contains("Bản đồ cơ sở y tế gần nhà"),
            "the page shows use"
        );
        // The same from the dataset's page, a plain form.
        let page = citizen.client.get(format!("{}/dataset/{name}", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("action=\"/dataset/{name}/reuses\"")), "the form for people signed in");
        let form = |title: &str, url: &str| {
            citizen
                .client
                .post(format!("{}/dataset/{name}/reuses", s.base))
                .form(&[
                    ("csrf", citizen.csrf.as_str()),
                    ("title", title),
                    ("kind", "article"),
                    ("url", url),
                    ("description", ""),
                ])
                .send()
        };
        assert_eq!(form("Bài phân tích", "ftp://x").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(form("Bài phân tích", "https://bao.example.vn/y-te").await.unwrap().status(), StatusCode::SEE_OTHER);
        let (_, listed) = get(&citizen, format!("{}/api/v1/open-data/reuses?dataset={name}", s.base)).await;
        assert_eq!(listed.as_array().unwrap().len(), 2, "the refused one was not kept");
        // Only its author (or an administrator) removes it.
        let other = login(&s, "congdan2").await;
        let id = made["id"].as_str().unwrap();
        let del = |u: &User| {
            u.client.delete(format!("{}/api/v1/open-data/reuses/{id}", s.base)).header("x-csrf-token", &u.csrf).send()
        };
        assert_eq!(del(&other).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(del(&citizen).await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(del(&citizen).await.unwrap().status(), StatusCode::NOT_FOUND);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_data_quality_is_scored_per_dataset_and_agency_with_what_to_fix() {
    use axum::routing::get as axum_get;
    // A publisher's own web server on loopback: one file answers, one is gone.
    let files = axum::Router::new()
        .route("/ok.csv", axum_get(|| async { "a,b\n1,2\n" }))
        .route("/gone.csv", axum_get(|| async { StatusCode::NOT_FOUND }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, files).await.unwrap() });
    for backend in ["sqlite", "postgres"] {
        let mut config = test_config();
        config.check_links = true;
        config.link_check_private = true;
        let Some(s) = start(backend, config).await else { continue };
        eprintln!("-- {backend}");
        let publisher = ckan_token(&s, "dulieumo").await;
        let new = json!({"name": "diem-sac-xe-dien", "title": "Điểm sạc xe điện", "notes": "Vị trí các điểm sạc xe điện công cộng.",
            "owner_org": "h01-snnmt", "groups": ["tran"], "license_id": "cc-by-4.0",
            "resources": [{"name": "Điểm sạc", "url": format!("{web}/ok.csv"), "format": "CSV"},
                          {"name": "Bản đồ cũ", "url": format!("{web}/gone.csv"), "format": "CSV"}]});
        let (st, v) = ckan(&s, "package_create", Some(&publisher), Some(new)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let http = Client::new();
        let quality = |name: &str| {
            let (http, url) = (http.clone(), format!("{}/api/v1/open-data/datasets/{name}/quality", s.base));
            async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let ind = |q: &Value, code: &str| {
            q["indicators"].as_array().unwrap().iter().find(|i| i["code"] == code).unwrap().clone()
        };
        // Before the links are checked they do not count as answering.
        let q = quality("diem-sac-xe-dien").await;
        assert_eq!(q["max_points"], 405);
        assert_eq!(ind(&q, "access_url_reachable")["points"], 0, "{q}");
        assert_eq!(ind(&q, "keywords")["points"], 0);
        assert!(ind(&q, "keywords")["fix_vi"].as_str().unwrap().contains("từ khóa"));
        assert_eq!(ind(&q, "themes")["points"], 30);
        assert_eq!(q["to_fix"][0], "access_url_reachable", "the most points to gain first: {q}");
        let before = q["points"].as_u64().unwrap();
        // The checker: the file that answers counts, the gone one is named.
        let checked = sen_web::quality_http::check_links(&s.state, chrono::Utc::now()).await.unwrap();
        assert!(checked >= 2, "{checked}");
        let q = quality("diem-sac-xe-dien").await;
        assert_eq!(ind(&q, "access_url_reachable")["points"], 25, "{q}");
        assert!(ind(&q, "access_url_reachable")["fix_en"].as_str().unwrap().contains("Bản đồ cũ"));
        assert!(q["points"].as_u64().unwrap() > before);
        assert_eq!(
            sen_web::quality_http::check_links(&s.state, chrono::Utc::now()).await.unwrap(),
            0,
            "not again for a day"
        );
        // A demo dataset whose files Sen holds: fully accessible.
        let (_, v) = ckan(&s, "package_search", None, Some(json!({"fq": "organization:h01-syt", "rows": 1}))).await;
        let held = v["result"]["results"][0]["name"].as_str().unwrap().to_string();
        let q = quality(&held).await;
        assert_eq!(ind(&q, "access_url_reachable")["points"], 50, "{q}");
        assert_eq!(
            http.get(format!("{}/api/v1/open-data/datasets/khong-co/quality", s.base)).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
        // Per agency, the lowest first, with its weakest datasets.
        let r: Value =
            http.get(format!("{}/api/v1/open-data/quality", s.base)).send().await.unwrap().json().await.unwrap();
        let agencies = r["agencies"].as_array().unwrap();
        assert!(agencies.len() >= 3, "{r}");
        let means: Vec<u64> = agencies.iter().map(|a| a["mean_points"].as_u64().unwrap()).collect();
        assert!(means.windows(2).all(|w| w[0] <= w[1]), "{means:?}");
        let mine = agencies.iter().find(|a| a["organization"] == "h01-snnmt").unwrap();
        assert_eq!(mine["dimensions"].as_array().unwrap().len(), 5);
        assert!(mine["weakest"].as_array().unwrap().iter().any(|d| d["name"] == "diem-sac-xe-dien"), "{mine}");
        // The pages.
        let page = http.get(format!("{}/open-data/quality", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains("Chất lượng dữ liệu mở") && page.contains("diem-sac-xe-dien"),
            "the agency page lists it"
        );
        let page = http.get(format!("{}/dataset/diem-sac-xe-dien", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains("Chất lượng siêu dữ liệu") && page.contains("Bản đồ cũ"),
            "the dataset page says what to fix"
        );
    }
}

#[tokio::test]
async fn ckan_writes_need_a_token_of_the_owning_agency_and_change_nothing_when_refused() {
    on_both!(|s| {
        let publisher = ckan_token(&s, "dulieumo").await;
        let other = ckan_token(&s, "quantri").await;
        let count = |v: &Value| v["result"]["count"].as_u64().unwrap();
        let before = count(&ckan(&s, "package_search", None, Some(json!({}))).await.1);
        let new = json!({"name": "diem-thu-gom-rac", "title": "Điểm thu gom rác thải sinh hoạt", "owner_org": "h01-snnmt",
            "tags": ["rác thải"], "groups": ["envi"], "frequency": "MONTHLY",
            "resources": [{"name": "Điểm thu gom", "url": "https://dulieu.hanoi.gov.vn/diem-thu-gom.csv"}]});
        // Refused: no token, a token of another agency, an agency the publisher is not in,
        // a GET, a bad dataset. None changes anything.
        let (st, v) = ckan(&s, "package_create", None, Some(new.clone())).await;
        assert_eq!((st, v["error"]["__type"].as_str().unwrap()), (StatusCode::FORBIDDEN, "Authorization Error"));
        let (st, _) = ckan(&s, "package_create", Some(&other), Some(new.clone())).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = ckan(&s, "package_create", Some("sen_not_a_token"), Some(new.clone())).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let mut elsewhere = new.clone();
        elsewhere["owner_org"] = json!("h01-syt");
        assert_eq!(ckan(&s, "package_create", Some(&publisher), Some(elsewhere)).await.0, StatusCode::FORBIDDEN);
        let mut bad = new.clone();
        bad["name"] = json!("Điểm Rác");
        bad["license_id"] = json!("proprietary");
        let (st, v) = ckan(&s, "package_create", Some(&publisher), Some(bad)).await;
        assert_eq!((st, v["error"]["__type"].as_str().unwrap()), (StatusCode::CONFLICT, "Validation Error"), "{v}");
        assert!(v["error"]["name"].is_array() && v["error"]["license_id"].is_array());
        let (st, _) = ckan(&s, "package_create", Some(&publisher), None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(count(&ckan(&s, "package_search", None, Some(json!({}))).await.1), before);

        // Created by its agency: searchable at once, Bearer or raw token alike.
        let (st, v) = ckan(&s, "package_create", Some(&format!("Bearer {publisher}")), Some(new.clone())).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let id = v["result"]["id"].as_str().unwrap().to_string();
        assert_eq!(v["result"]["resources"][0]["format"], "CSV");
        let (_, v) = ckan(&s, "package_search", None, Some(json!({"q": "rac thai"}))).await;
        assert_eq!(v["result"]["results"][0]["id"], id.as_str());
        let (st, v) = ckan(&s, "package_create", Some(&publisher), Some(new.clone())).await;
        assert_eq!(
            (st, v["error"]["__type"].as_str().unwrap()),
            (StatusCode::CONFLICT, "Validation Error"),
            "a taken name"
        );

        // Another agency's administrator may not change it.
        let (st, _) = ckan(&s, "package_patch", Some(&other), Some(json!({"id": id, "title": "Đổi tên"}))).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // Patch keeps the rest; update without resources keeps them; resource_create adds one.
        let (st, v) =
            ckan(&s, "package_patch", Some(&publisher), Some(json!({"id": id, "title": "Điểm tập kết rác thải"})))
                .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (&v["result"]["title"], &v["result"]["tags"][0]["name"]),
            (&json!("Điểm tập kết rác thải"), &json!("rác thải"))
        );
        let res_id = v["result"]["resources"][0]["id"].clone();
        let mut full = v["result"].clone();
        full.as_object_mut().unwrap().remove("resources");
        full["notes"] = json!("Cập nhật hằng tháng");
        let (st, v) = ckan(&s, "package_update", Some(&publisher), Some(full)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["result"]["resources"][0]["id"], res_id);
        let (st, v) = ckan(
            &s,
            "resource_create",
            Some(&publisher),
            Some(json!({"package_id": id, "name": "Bản đồ", "url": "https://dulieu.hanoi.gov.vn/ban-do.geojson"})),
        )
        .await;
        assert_eq!((st, &v["result"]["format"]), (StatusCode::OK, &json!("GEOJSON")), "{v}");
        let (_, shown) = ckan(&s, "package_show", None, Some(json!({"id": "diem-thu-gom-rac"}))).await;
        assert_eq!(shown["result"]["num_resources"], 2);
        let (_, v) =
            ckan(&s, "package_search", None, Some(json!({"fq": "res_format:GEOJSON +organization:h01-snnmt"}))).await;
        assert_eq!(v["result"]["count"], 1);
        // The audit trail holds each write.
        let n: i64 = sqlx_count(&s, "audit_log", "dataset.%").await;
        assert!(n >= 4, "{n}");

        // Deleted: gone from show and search.
        assert_eq!(ckan(&s, "package_delete", Some(&other), Some(json!({"id": id}))).await.0, StatusCode::FORBIDDEN);
        let (st, _) = ckan(&s, "package_delete", Some(&publisher), Some(json!({"id": id}))).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(ckan(&s, "package_show", None, Some(json!({"id": id}))).await.0, StatusCode::NOT_FOUND);
        assert_eq!(count(&ckan(&s, "package_search", None, Some(json!({}))).await.1), before);
    });
}

/// Audit entries of `table` whose action is like `pattern`.
async fn sqlx_count(s: &Server, table: &str, pattern: &str) -> i64 {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let n: N = s
        .store
        .db()
        .fetch_one(
            &sea_query::Query::select()
                .expr_as(sea_query::Func::count(sea_query::Expr::col("id")), "n")
                .from(table.to_string())
                .and_where(sea_query::ExprTrait::like(sea_query::Expr::col("action"), pattern))
                .to_owned(),
        )
        .await
        .unwrap();
    n.n
}

/// Triples of an RDF document, parsed by oxrdfio (a parser Sen's writer does not use).
fn rdf_triples(body: &[u8], format: oxrdfio::RdfFormat) -> Vec<oxrdf::Triple> {
    oxrdfio::RdfParser::from_format(format)
        .for_slice(body)
        .map(|q| oxrdf::Triple::from(q.expect("well-formed RDF")))
        .collect()
}

#[tokio::test]
async fn the_dcat_catalogue_pages_through_every_dataset_in_three_syntaxes() {
    on_both!(|s| {
        use oxrdfio::RdfFormat;
        let c = Client::new();
        let (_, list) = ckan(&s, "package_list", None, None).await;
        let names = list["result"].as_array().unwrap().len();
        let dataset = "http://www.w3.org/ns/dcat#dataset";
        let hydra = |t: &[oxrdf::Triple], p: &str| {
            t.iter().find(|x| x.predicate.as_str() == format!("http://www.w3.org/ns/hydra/core#{p}")).map(|x| match &x
                .object
            {
                oxrdf::Term::Literal(l) => l.value().to_string(),
                o => o.to_string(),
            })
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut url = Some(format!("{}/catalog.ttl?page_size=5", s.base));
        let mut pages = 0;
        while let Some(u) = url {
            let r = c.get(&u).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/turtle"));
            let t = rdf_triples(&r.bytes().await.unwrap(), RdfFormat::Turtle);
            assert_eq!(hydra(&t, "totalItems").unwrap(), names.to_string());
            seen.extend(t.iter().filter(|x| x.predicate.as_str() == dataset).map(|x| x.object.to_string()));
            url = hydra(&t, "nextPage");
            pages += 1;
        }
        assert_eq!((seen.len(), pages), (names, names.div_ceil(5)));
        // The same page in JSON-LD and RDF/XML holds the same triples but for its links.
        let count = |t: &[oxrdf::Triple]| t.iter().filter(|x| !x.predicate.as_str().contains("hydra")).count();
        let ttl = rdf_triples(
            &c.get(format!("{}/catalog.ttl", s.base)).send().await.unwrap().bytes().await.unwrap(),
            RdfFormat::Turtle,
        );
        for (ext, format) in [("jsonld", RdfFormat::JsonLd { profile: Default::default() }), ("rdf", RdfFormat::RdfXml)]
        {
            let body = c.get(format!("{}/catalog.{ext}", s.base)).send().await.unwrap().bytes().await.unwrap();
            assert_eq!(count(&rdf_triples(&body, format)), count(&ttl), "{ext}");
        }
        // One dataset's document, by name; a new dataset is in the catalogue of changes since today.
        let (_, show) =
            ckan(&s, "package_show", None, Some(json!({"id": "chat-luong-khong-khi-theo-tram-quan-trac"}))).await;
        let id = show["result"]["id"].as_str().unwrap();
        let r = c.get(format!("{}/dataset/chat-luong-khong-khi-theo-tram-quan-trac.rdf", s.base)).send().await.unwrap();
        let t = rdf_triples(&r.bytes().await.unwrap(), RdfFormat::RdfXml);
        let subject = format!("<{}/dataset/{id}>", s.base);
        assert!(t.iter().any(|x| x.subject.to_string() == subject && x.predicate.as_str().ends_with("#distribution")));
        let token = ckan_token(&s, "dulieumo").await;
        let before = (chrono::Utc::now() - chrono::Duration::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ");
        let since = format!("{}/catalog.ttl?modified_since={before}", s.base);
        let r = c.get(&since).send().await.unwrap();
        let already: usize =
            hydra(&rdf_triples(&r.bytes().await.unwrap(), RdfFormat::Turtle), "totalItems").unwrap().parse().unwrap();
        let (st, v) = ckan(
            &s,
            "package_create",
            Some(&token),
            Some(json!({"name": "diem-quan-trac-moi", "title": "Điểm quan trắc mới", "owner_org": "h01-snnmt", "notes": "Mới."})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let r = c.get(&since).send().await.unwrap();
        let t = rdf_triples(&r.bytes().await.unwrap(), RdfFormat::Turtle);
        assert_eq!(hydra(&t, "totalItems").unwrap(), (already + 1).to_string());
        assert!(already < names, "modified_since leaves out older datasets");
        let new_iri = format!("<{}/dataset/{}>", s.base, v["result"]["id"].as_str().unwrap());
        assert!(t.iter().any(|x| x.predicate.as_str() == dataset && x.object.to_string() == new_iri));
        // Bad paging is a problem with a stable code.
        for (q, code) in [
            ("page=0", "invalid_page"),
            ("page_size=1001", "invalid_page_size"),
            ("modified_since=soon", "invalid_modified_since"),
            ("page=999", "page_out_of_range"),
        ] {
            let r = c.get(format!("{}/catalog.ttl?{q}", s.base)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["code"], code, "{q}");
        }
        let r = c.get(format!("{}/dataset/no-such-thing.ttl", s.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn uploaded_tables_are_kept_described_and_packaged() {
    on_both!(|s| {
        let c = Client::new();
        let token = ckan_token(&s, "dulieumo").await;
        let other = ckan_token(&s, "quantri").await;
        let (_, v) =
            ckan(&s, "package_show", None, Some(json!({"id": "chat-luong-khong-khi-theo-tram-quan-trac"}))).await;
        let id = v["result"]["id"].as_str().unwrap().to_string();
        let upload = |tok: String, file: &'static [u8]| {
            use reqwest::multipart::{Form, Part};
            let form = Form::new()
                .text("package_id", id.clone())
                .text("name", "Đo bổ sung")
                .part("upload", Part::bytes(file).file_name("do bo sung.csv"));
            c.post(format!("{}/api/3/action/resource_create", s.base))
                .header("Authorization", tok)
                .multipart(form)
                .send()
        };
        let csv: &'static [u8] = "ma_tram,ngay,aqi,pm25\nKK01,2026-11-30,85,31.5\nKK02,2026-11-30,,12\n".as_bytes();
        // Another agency's token and a ragged table are refused; nothing is added.
        let r = upload(other, csv).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = upload(token.clone(), b"a,b\n1\n").await.unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["__type"], "Validation Error");
        assert!(v["error"]["upload"][0].as_str().unwrap().contains("row 2"), "{v}");
        let count = || async {
            ckan(&s, "package_show", None, Some(json!({"id": id}))).await.1["result"]["resources"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(count().await, 2);
        let r = upload(token, csv).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        let res = &v["result"];
        assert_eq!(
            (res["url_type"].as_str(), res["format"].as_str(), res["size"].as_u64()),
            (Some("upload"), Some("CSV"), Some(csv.len() as u64))
        );
        let types: Vec<&str> =
            res["schema"]["fields"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["string", "date", "integer", "number"]);
        let url = res["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/dataset/{id}/resource/", s.base)) && url.ends_with("/download/do-bo-sung.csv"),
            "{url}"
        );
        assert_eq!(count().await, 3);
        let got = c.get(url).send().await.unwrap();
        assert_eq!(got.headers()["content-type"], "text/csv; charset=utf-8");
        assert_eq!(&got.bytes().await.unwrap()[..], csv);
        // Under another dataset's path the file is not found.
        let wrong = url.replace(&id, "no-such-dataset");
        assert_eq!(c.get(wrong).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        // The data package lists it with its schema and hash.
        let p: Value =
            c.get(format!("{}/dataset/{id}/datapackage.json", s.base)).send().await.unwrap().json().await.unwrap();
        let last = p["resources"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["path"], url);
        assert_eq!(last["profile"], "tabular-data-resource");
        assert_eq!(last["schema"], res["schema"]);
        assert!(last["hash"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(p["licenses"][0]["name"], "CC-BY-4.0");
        // Demo resources are files Sen holds, each with a schema.
        assert!(p["resources"].as_array().unwrap().iter().all(|r| r["schema"]["fields"].is_array()), "{p}");
        // An update that keeps the resources keeps their files; one that drops a resource
        // forgets its file.
        let publisher = ckan_token(&s, "dulieumo").await;
        let (_, shown) = ckan(&s, "package_show", None, Some(json!({"id": id}))).await;
        let mut resources = shown["result"]["resources"].as_array().unwrap().clone();
        let (st, v) =
            ckan(&s, "package_patch", Some(&publisher), Some(json!({"id": id, "resources": resources.clone()}))).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["result"]["resources"][2]["url"], url, "the upload keeps its address");
        assert_eq!(c.get(url).send().await.unwrap().status(), StatusCode::OK);
        resources.pop();
        let (st, _) =
            ckan(&s, "package_patch", Some(&publisher), Some(json!({"id": id, "resources": resources}))).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(c.get(url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    });
}

/// A table of dossier figures by province, with Vietnamese column names, as an agency
/// would upload it.
fn datastore_csv() -> String {
    let provinces = ["Hà Nội", "Huế", "Đà Nẵng", "Cần Thơ", "Hải Phòng"];
    let mut csv = String::from("Tỉnh,Năm,Số hồ sơ,Tỷ lệ đúng hạn,Hoàn thành,Ghi chú\n");
    for i in 0..30 {
        let note = if i % 7 == 0 { "Đã kiểm tra, \"\"đạt\"\"" } else { "" };
        csv.push_str(&format!(
            "{},{},{},{}.5,{},\"{note}\"\n",
            provinces[i % 5],
            2020 + i / 5,
            100 + i * 10,
            80 + i % 10,
            if i % 2 == 0 { "true" } else { "false" }
        ));
    }
    csv
}

/// Uploads `csv` as a new resource of the demo's air-quality dataset; gives its id.
async fn upload_table(s: &Server, token: &str, csv: String) -> (String, String) {
    use reqwest::multipart::{Form, Part};
    let (_, v) = ckan(s, "package_show", None, Some(json!({"id": "chat-luong-khong-khi-theo-tram-quan-trac"}))).await;
    let dataset = v["result"]["id"].as_str().unwrap().to_string();
    let form = Form::new()
        .text("package_id", dataset.clone())
        .text("name", "Hồ sơ theo tỉnh")
        .part("upload", Part::bytes(csv.into_bytes()).file_name("ho-so.csv"));
    let r = Client::new()
        .post(format!("{}/api/3/action/resource_create", s.base))
        .header("Authorization", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    (dataset, v["result"]["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn uploaded_tables_are_searched_in_the_datastore() {
    on_both!(|s| {
        let token = ckan_token(&s, "dulieumo").await;
        let (dataset, rid) = upload_table(&s, &token, datastore_csv()).await;
        let search = |body: Value| {
            let mut body = body;
            body["resource_id"] = json!(rid);
            ckan(&s, "datastore_search", None, Some(body))
        };
        // Until the loader has run, the table is not there yet, and says so.
        let (st, v) = search(json!({})).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
        assert_eq!(v["error"]["__type"], "Not Found Error");
        assert!(v["error"]["message"].as_str().unwrap().contains("being loaded"), "{v}");
        let page = || async {
            Client::new()
                .get(format!("{}/dataset/chat-luong-khong-khi-theo-tram-quan-trac", s.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        assert!(
            page().await.contains(&format!(r#"<progress id="load-{rid}" max="30" value="0">"#)),
            "the load's progress"
        );
        let in_search = || async {
            let (_, v) =
                ckan(&s, "package_search", None, Some(json!({"q": "name:chat-luong-khong-khi-theo-tram-quan-trac"})))
                    .await;
            let resources = v["result"]["results"][0]["resources"].as_array().unwrap().clone();
            resources.iter().find(|r| r["id"] == json!(rid)).unwrap()["datastore_active"].clone()
        };
        assert_eq!(in_search().await, false);
        let modified = || async {
            ckan(&s, "package_show", None, Some(json!({"id": dataset}))).await.1["result"]["metadata_modified"].clone()
        };
        let before = modified().await;
        assert!(sen_web::datastore_http::load_due(&s.state).await.unwrap() >= 1);
        assert_eq!(in_search().await, true, "search pages are not served from a stale dictionary");
        assert_eq!(modified().await, before, "loading is not a change of the dataset's metadata");
        assert!(page().await.contains(&format!("/api/3/action/datastore_search?resource_id={rid}&amp;limit=5")));
        let (_, shown) = ckan(&s, "resource_show", None, Some(json!({"id": rid}))).await;
        assert_eq!(shown["result"]["datastore_active"], true, "{shown}");

        let (st, v) = search(json!({})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let r = &v["result"];
        assert_eq!(r["total"], 30);
        assert_eq!(r["limit"], 100);
        let fields: Vec<(&str, &str)> = r["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].as_str().unwrap(), f["type"].as_str().unwrap()))
            .collect();
        assert_eq!(
            fields,
            [
                ("_id", "int"),
                ("Tỉnh", "text"),
                ("Năm", "int"),
                ("Số hồ sơ", "int"),
                ("Tỷ lệ đúng hạn", "numeric"),
                ("Hoàn thành", "bool"),
                ("Ghi chú", "text")
            ]
        );
        assert_eq!(
            r["records"][0],
            json!({"_id": 1, "Tỉnh": "Hà Nội", "Năm": 2020, "Số hồ sơ": 100, "Tỷ lệ đúng hạn": 80.5, "Hoàn thành": true, "Ghi chú": "Đã kiểm tra, \"đạt\""})
        );
        assert_eq!(r["records"][1]["Ghi chú"], Value::Null, "an empty cell is null");

        // Filters (one value, several, in the column's type), sorting, paging and fields.
        let (_, v) = search(json!({"filters": {"Tỉnh": "Huế"}})).await;
        assert_eq!(v["result"]["total"], 6);
        assert!(v["result"]["records"].as_array().unwrap().iter().all(|r| r["Tỉnh"] == "Huế"));
        let (_, v) = search(json!({"filters": {"Năm": ["2021", 2022], "Hoàn thành": true}, "sort": "Số hồ sơ desc", "fields": ["_id", "Số hồ sơ"], "limit": 2, "offset": 1})).await;
        let r = &v["result"];
        assert_eq!(r["total"], 5, "{v}");
        assert_eq!(r["records"], json!([{"_id": 13, "Số hồ sơ": 220}, {"_id": 11, "Số hồ sơ": 200}]));
        assert_eq!(r["offset"], 1);
        assert!(r["_links"]["next"].as_str().unwrap().ends_with("offset=3"));
        // Pages without a filter, either way.
        let (_, v) = search(json!({"offset": 28, "fields": "_id"})).await;
        assert_eq!(
            (v["result"]["records"].clone(), v["result"]["total"].clone()),
            (json!([{"_id": 29}, {"_id": 30}]), json!(30))
        );
        let (_, v) = search(json!({"offset": 1, "limit": 2, "sort": "_id desc", "fields": "_id"})).await;
        assert_eq!(v["result"]["records"], json!([{"_id": 29}, {"_id": 28}]));
        let (_, v) = search(
            json!({"offset": 1, "limit": 2, "sort": "Số hồ sơ desc", "filters": {"Tỉnh": "Huế"}, "fields": "Số hồ sơ"}),
        )
        .await;
        assert_eq!(v["result"]["records"], json!([{"Số hồ sơ": 310}, {"Số hồ sơ": 260}]), "{v}");
        // Full text, with or without diacritics.
        for q in ["đà nẵng", "da nang"] {
            let (_, v) = search(json!({"q": q, "include_total": false})).await;
            assert_eq!(v["result"]["records"].as_array().unwrap().len(), 6, "{q}");
            assert!(v["result"].get("total").is_none());
        }
        // Records as lists and as CSV; a limit above the maximum is brought down to it.
        let (_, v) = search(json!({"records_format": "lists", "fields": "Tỉnh,Năm", "limit": 1})).await;
        assert_eq!(v["result"]["records"], json!([["Hà Nội", 2020]]));
        let (_, v) = search(json!({"records_format": "csv", "fields": ["_id", "Ghi chú"], "limit": 50_000})).await;
        assert!(v["result"]["records"].as_str().unwrap().starts_with("1,\"Đã kiểm tra, \"\"đạt\"\"\"\n"), "{v}");
        assert_eq!(v["result"]["limit"], 32_000);
        // GET, with the filters as JSON text in the query string.
        let got: Value = Client::new()
            .get(format!("{}/api/action/datastore_search", s.base))
            .query(&[("resource_id", rid.as_str()), ("filters", r#"{"Tỉnh":"Cần Thơ"}"#), ("limit", "1")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["result"]["total"], 6, "{got}");

        // Bad input: CKAN's error types, and nothing changes.
        for (body, key) in [
            (json!({"filters": {"Huyện": "x"}}), "filters"),
            (json!({"filters": {"Năm": "hai nghìn"}}), "filters"),
            (json!({"sort": "Huyện"}), "sort"),
            (json!({"fields": ["Tỉnh", "nope"]}), "fields"),
            (json!({"limit": -5}), "limit"),
            (json!({"records_format": "xml"}), "records_format"),
        ] {
            let (st, v) = search(body.clone()).await;
            assert_eq!(st, StatusCode::CONFLICT, "{body}: {v}");
            assert_eq!(v["error"]["__type"], "Validation Error");
            assert!(v["error"][key].is_array(), "{body}: {v}");
        }
        let (st, v) = ckan(&s, "datastore_search", None, Some(json!({}))).await;
        assert_eq!((st, v["error"]["resource_id"].is_array()), (StatusCode::CONFLICT, true), "{v}");
        let (st, _) = ckan(&s, "datastore_search", None, Some(json!({"resource_id": "khong-co"}))).await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // One checked SELECT, with the resource id as the table's name.
        let sql = |q: String| ckan(&s, "datastore_search_sql", None, Some(json!({"sql": q})));
        let (st, v) = sql(format!(
            r#"SELECT "Tỉnh", count(*) AS n, sum("Số hồ sơ") AS tong FROM "{rid}" WHERE "Năm" >= 2021 GROUP BY "Tỉnh" ORDER BY "Tỉnh""#
        ))
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let records = v["result"]["records"].as_array().unwrap();
        assert_eq!(records.len(), 5);
        let can_tho = records.iter().find(|r| r["Tỉnh"] == "Cần Thơ").unwrap();
        assert_eq!(can_tho["n"], 5);
        assert_eq!(can_tho["tong"], json!(180 + 230 + 280 + 330 + 380), "{v}");
        let names: Vec<&str> =
            v["result"]["fields"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
        assert_eq!(names, ["Tỉnh", "n", "tong"]);
        // Casts are written the standard way, so both backends read them.
        let (st, v) = sql(format!(r#"SELECT "Năm"::text AS nam FROM "{rid}" WHERE "_id" = 1"#)).await;
        assert_eq!((st, &v["result"]["records"][0]["nam"]), (StatusCode::OK, &json!("2020")), "{v}");
        // Not one SELECT, or over what is not a datastore table: refused before the database.
        for bad in [
            format!(r#"DELETE FROM "{rid}""#),
            format!(r#"SELECT 1; DROP TABLE "{rid}""#),
            "SELEC * FROM x".to_string(),
            format!(r#"SELECT pg_sleep(5) FROM "{rid}""#),
            format!(r#"SELECT "Tỉnh" INTO copy FROM "{rid}""#),
        ] {
            let (st, v) = sql(bad.clone()).await;
            assert_eq!(
                (st, v["error"]["__type"].as_str()),
                (StatusCode::CONFLICT, Some("Validation Error")),
                "{bad}: {v}"
            );
            assert!(v["error"]["query"].is_array(), "{v}");
        }
        for bad in ["SELECT * FROM users", "SELECT * FROM sqlite_master", "SELECT * FROM pg_catalog.pg_user"] {
            let (st, v) = sql(bad.to_string()).await;
            assert_eq!(
                (st, v["error"]["__type"].as_str()),
                (StatusCode::FORBIDDEN, Some("Authorization Error")),
                "{bad}: {v}"
            );
        }
        // What the database refuses comes back as a validation error naming the resource.
        let (st, v) = sql(format!(r#"SELECT "Huyện" FROM "{rid}""#)).await;
        assert_eq!(st, StatusCode::CONFLICT, "{v}");
        assert!(!v["error"]["query"][0].as_str().unwrap().contains("ds_"), "{v}");
        let (_, v) = search(json!({"limit": 0})).await;
        assert_eq!(v["result"]["total"], 30, "nothing changed");
        assert!(s.store.user_by_username("dulieumo").await.is_ok());

        // A resource dropped from its dataset takes its table with it.
        let (_, shown) = ckan(&s, "package_show", None, Some(json!({"id": dataset}))).await;
        let mut resources = shown["result"]["resources"].as_array().unwrap().clone();
        resources.retain(|r| r["id"] != json!(rid));
        let (st, _) =
            ckan(&s, "package_patch", Some(&token), Some(json!({"id": dataset, "resources": resources}))).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(search(json!({})).await.0, StatusCode::NOT_FOUND);
        let (st, v) = sql(format!(r#"SELECT count(*) FROM "{rid}""#)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    });
}

#[tokio::test]
async fn datastore_sql_stops_at_its_time_limit_and_can_be_turned_off() {
    for backend in ["sqlite", "postgres"] {
        let config = sen_web::Config { datastore_sql_timeout: std::time::Duration::from_millis(300), ..test_config() };
        let Some(s) = start(backend, config).await else { continue };
        eprintln!("-- {backend}");
        let token = ckan_token(&s, "dulieumo").await;
        let (_, rid) = upload_table(&s, &token, datastore_csv()).await;
        sen_web::datastore_http::load_due(&s.state).await.unwrap();
        // 30⁶ rows to count: far more than 300 ms.
        let from: Vec<String> = ["a", "b", "c", "d", "e", "f"].iter().map(|t| format!(r#""{rid}" {t}"#)).collect();
        let started = std::time::Instant::now();
        let (st, v) = ckan(
            &s,
            "datastore_search_sql",
            None,
            Some(json!({"sql": format!("SELECT count(*) FROM {}", from.join(", "))})),
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["error"]["query"][0], "Query took too long");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        // The connection it ran on is as good as before.
        for _ in 0..3 {
            let (st, v) = ckan(
                &s,
                "datastore_search_sql",
                None,
                Some(json!({"sql": format!(r#"SELECT count(*) AS n FROM "{rid}""#)})),
            )
            .await;
            assert_eq!((st, &v["result"]["records"][0]["n"]), (StatusCode::OK, &json!(30)), "{v}");
        }
        let config = sen_web::Config { datastore_sql: false, ..test_config() };
        let Some(off) = start(backend, config).await else { continue };
        let (st, v) = ckan(&off, "datastore_search_sql", None, Some(json!({"sql": "SELECT 1"}))).await;
        assert_eq!((st, v["error"]["__type"].as_str()), (StatusCode::BAD_REQUEST, Some("Bad Request")), "{v}");
    }
}

#[tokio::test]
async fn the_open_data_pages_search_with_facets_and_show_tables_with_charts() {
    on_both!(|s| {
        let c = Client::new();
        let page = |path: String| {
            let c = c.clone();
            let base = s.base.clone();
            async move {
                let r = c.get(format!("{base}{path}")).send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        // With and without diacritics, the same dataset; facets are links that filter.
        for q in ["kh%C3%B4ng+kh%C3%AD", "khong+khi"] {
            let (st, html) = page(format!("/dataset?q={q}")).await;
            assert_eq!(st, StatusCode::OK);
            assert!(html.contains("href=\"/dataset/chat-luong-khong-khi-theo-tram-quan-trac\""), "{q}");
            assert!(html.contains("organization=h01-snnmt"), "a facet link");
        }
        let (_, all) = page("/dataset".into()).await;
        let (_, filtered) = page("/dataset?organization=h01-snnmt".into()).await;
        let count = |html: &str| {
            html.split("<strong>").nth(1).and_then(|r| r.split('<').next()).unwrap().parse::<usize>().unwrap()
        };
        assert!(count(&filtered) < count(&all) && count(&filtered) >= 2, "{} of {}", count(&filtered), count(&all));
        assert!(filtered.contains("aria-current=\"true\""), "the chosen facet is marked");
        let (_, bad) = page("/dataset?q=%28unclosed".into()).await;
        assert!(bad.contains("error-summary"), "a query that cannot be read is said so");
        // The dataset's page: facts, resources, a chart and a preview of its table, tool links.
        let (st, html) = page("/dataset/chat-luong-khong-khi-theo-tram-quan-trac".into()).await;
        assert_eq!(st, StatusCode::OK);
        for want in [
            "<svg",
            "role=\"img\"",
            "<th scope=\"col\">ma_tram",
            "datapackage.json",
            ".ttl\"",
            "Hằng ngày",
            "Sở Nông nghiệp và Môi trường",
        ] {
            assert!(html.contains(want), "missing {want}");
        }
        let (_, en) = page("/dataset/chat-luong-khong-khi-theo-tram-quan-trac?lang=en".into()).await;
        assert!(en.contains("Preview") && en.contains("Use it from tools"));
        let (st, _) = page("/dataset/no-such-dataset".into()).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn publication_plans_flag_late_and_stale_data_and_count_k5() {
    on_both!(|s| {
        let anonymous = Client::new();
        let v: Value =
            anonymous.get(format!("{}/api/v1/open-data/plans", s.base)).send().await.unwrap().json().await.unwrap();
        let k5_before = v["k5_publishing"].as_u64().unwrap();
        assert!(v["k5_agencies"].as_u64().unwrap() >= k5_before && k5_before >= 1, "{}", v["k5_agencies"]);
        assert!(
            v["agencies"].as_array().unwrap().iter().any(|a| a["review_overdue"] == true),
            "the demo has an overdue list"
        );
        let put = |u: &User, org: &str, body: Value| {
            let r = u
                .client
                .put(format!("{}/api/v1/open-data/plans/{org}", s.base))
                .header("x-csrf-token", &u.csrf)
                .json(&body);
            async move {
                let r = r.send().await.unwrap();
                let st = r.status();
                (st, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let item = |name: &str, date: &str| {
            json!({"title": "Bộ dữ liệu", "dataset_name": name, "planned_date": date,
            "access_method": "download", "frequency": "DAILY", "responsible_unit": "Phòng Quan trắc"})
        };
        let publisher = login(&s, "dulieumo").await;
        // Another agency's plan, and a plan with a bad item, are refused; nothing changes.
        let (st, _) = put(&publisher, "h01-syt", json!({"items": [item("x-y", "2026-01-01")]})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let mut bad = item("Khong Hop Le", "2026-01-01");
        bad["frequency"] = json!("HOURLY");
        let (st, v) = put(&publisher, "h01-snnmt", json!({"items": [item("ok-name", "2026-01-01"), bad]})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v.to_string().contains("items/1"), "{v}");
        let r = anonymous
            .put(format!("{}/api/v1/open-data/plans/h01-snnmt", s.base))
            .json(&json!({"items": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // The agency's own plan: the published dataset, one overdue, one ahead.
        let today = chrono::Utc::now().date_naive();
        let (st, v) = put(
            &publisher,
            "h01-snnmt",
            json!({"items": [
                item("chat-luong-khong-khi-theo-tram-quan-trac", "2020-01-01"),
                item("tram-quan-trac-tieng-on", &(today - chrono::Duration::days(10)).to_string()),
                item("ban-do-ngap-ung", &(today + chrono::Duration::days(90)).to_string()),
            ]}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let statuses: Vec<&str> =
            v["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["published_late", "late", "planned"]);
        assert_eq!(
            (v["late"].as_u64(), v["published"].as_u64(), &v["review_overdue"]),
            (Some(1), Some(1), &json!(false))
        );
        assert!(v["reviewed_at"].as_str().unwrap().starts_with(&today.to_string()[..4]));
        let html = anonymous.get(format!("{}/open-data/plan", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("K5") && html.contains("Chậm so với kế hoạch") && html.contains("<svg"));
        assert!(!html.contains("action=\"/open-data/plan/"), "no form for the public");

        // The same from the page: the agency's administrator sees a form for its plan only.
        let html =
            publisher.client.get(format!("{}/open-data/plan", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(
            html.contains("action=\"/open-data/plan/h01-snnmt\"")
                && !html.contains("action=\"/open-data/plan/h01-syt\"")
        );
        let form = |u: &User, org: &str, rows: Vec<(String, String)>| {
            let mut fields = vec![("csrf".to_string(), u.csrf.clone())];
            fields.extend(rows);
            u.client.post(format!("{}/open-data/plan/{org}", s.base)).form(&fields).send()
        };
        let row = |i: usize, title: &str, date: &str| {
            vec![
                (format!("title.{i}"), title.to_string()),
                (format!("dataset_name.{i}"), "diem-sac-xe-dien".to_string()),
                (format!("planned_date.{i}"), date.to_string()),
                (format!("access_method.{i}"), "download".to_string()),
                (format!("frequency.{i}"), "MONTHLY".to_string()),
                (format!("responsible_unit.{i}"), "Phòng Giao thông".to_string()),
            ]
        };
        // A row without a date is refused and nothing changes.
        let r = form(&publisher, "h01-snnmt", row(0, "Điểm sạc xe điện", "")).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let mine = |v: &Value| {
            v["agencies"].as_array().unwrap().iter().find(|a| a["organization"] == "h01-snnmt").unwrap()["items"]
                .as_array()
                .unwrap()
                .len()
        };
        let v: Value =
            anonymous.get(format!("{}/api/v1/open-data/plans", s.base)).send().await.unwrap().json().await.unwrap();
        assert_eq!(mine(&v), 3);
        // Another agency's administrator may not.
        let other = login(&s, "quantri").await;
        let mut rows = row(0, "Điểm sạc xe điện", "2027-06-30");
        rows.push(("remove.1".into(), "1".into()));
        let r = form(&other, "h01-syt", rows.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Saved: one row kept, one new.
        let r = form(&publisher, "h01-snnmt", rows).await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let v: Value =
            anonymous.get(format!("{}/api/v1/open-data/plans", s.base)).send().await.unwrap().json().await.unwrap();
        assert_eq!(mine(&v), 1);
    });
}

#[tokio::test]
async fn a_second_node_sees_open_data_writes_after_a_refresh() {
    on_both!(|s| {
        // A second node over the same database (the same trust service: one CA).
        let other = sen_web::AppState::new(s.store.clone(), test_config(), s.state.trust.clone()).await.unwrap();
        let search = |st: &sen_web::AppState, q: &str| {
            let ix = st.open_data.index.read().unwrap();
            let r = ix
                .search(&sen_domain::opendata::index::SearchRequest {
                    q,
                    fq: "",
                    sort: "",
                    rows: 10,
                    start: 0,
                    facet_fields: &[],
                    facet_limit: None,
                })
                .unwrap();
            r.count
        };
        let publisher = ckan_token(&s, "dulieumo").await;
        let (st, v) = ckan(
            &s,
            "package_create",
            Some(&publisher),
            Some(json!({"name": "cay-xanh-do-thi", "title": "Cây xanh đô thị", "owner_org": "h01-snnmt"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let id = v["result"]["id"].as_str().unwrap().to_string();
        assert_eq!(search(&s.state, "cay xanh"), 1);
        assert_eq!(search(&other, "cay xanh"), 0);
        assert_eq!(sen_web::ckan_http::refresh_index(&other).await.unwrap(), 1);
        assert_eq!(search(&other, "cay xanh"), 1);
        // Nothing changed: nothing is redone.
        assert_eq!(sen_web::ckan_http::refresh_index(&other).await.unwrap(), 0);
        ckan(&s, "package_delete", Some(&publisher), Some(json!({"id": id}))).await;
        assert_eq!(sen_web::ckan_http::refresh_index(&other).await.unwrap(), 1);
        assert_eq!(search(&other, "cay xanh"), 0);
    });
}
