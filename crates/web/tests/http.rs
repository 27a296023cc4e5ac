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

async fn start(backend: &'static str, config: sen_web::Config) -> Option<Server> {
    let store = seeded_store(backend).await?;
    let state = sen_web::AppState::new(store.clone(), config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let app = sen_web::router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Some(Server { base: format!("http://{addr}"), store, backend, _task: task })
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
