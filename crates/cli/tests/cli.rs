//! The `sen` command end to end: help, and a `kill -9` in the middle of a submission load
//! losing no acknowledged dossier.

use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SEN: &str = env!("CARGO_BIN_EXE_sen");

#[test]
fn help_explains_every_subcommand() {
    let out = Command::new(SEN).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for c in ["serve", "demo", "migrate", "seed", "user", "openapi", "bench"] {
        assert!(text.contains(c), "{c} in --help");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_ready(base: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_acknowledged_dossier() {
    let dir = std::env::temp_dir().join(format!("sen-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(SEN)
        .args(["seed", "--citizens", "300", "--businesses", "10", "--dossiers", "50", "--data"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(SEN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&base).await;

    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "congdan", "password": "sen-demo-2026"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let procs: Value =
        client.get(format!("{base}/api/v1/procedures?q=1.004873")).send().await.unwrap().json().await.unwrap();
    let pid = procs[0]["id"].as_i64().unwrap();

    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Instant::now() + Duration::from_secs(20);
    let mut tasks = Vec::new();
    for c in 0..32 {
        let (client, base, csrf, acknowledged) = (client.clone(), base.clone(), csrf.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < stop {
                i += 1;
                let r = client
                    .post(format!("{base}/api/v1/dossiers"))
                    .header("x-csrf-token", &csrf)
                    .header("idempotency-key", format!("crash-{c}-{i}"))
                    .json(
                        &json!({"procedure_id": pid, "data": {"purpose": "vay vốn", "marital_status": "Chưa kết hôn"}}),
                    )
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                        if let Ok(v) = r.json::<Value>().await {
                            acknowledged.lock().unwrap().push(v["code"].as_str().unwrap().to_string());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    // Let the load build up, then kill the server without warning.
    let t0 = Instant::now();
    while acknowledged.lock().unwrap().len() < 300 && t0.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let codes = acknowledged.lock().unwrap().clone();
    assert!(codes.len() >= 100, "the load ran ({} acknowledged)", codes.len());

    let store = sen_store::Store::connect(&sen_store::StoreConfig::sqlite_in(&dir)).await.unwrap();
    let mut missing = Vec::new();
    for code in &codes {
        if store.dossier_by_code(code).await.is_err() {
            missing.push(code.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged dossiers lost: {:?}",
        missing.len(),
        codes.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!("{} acknowledged dossiers, all on disk after kill -9", codes.len());
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
