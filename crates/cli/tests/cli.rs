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
    for c in ["serve", "demo", "migrate", "seed", "user", "openapi", "bench", "bench-trust", "ca", "verify", "log"] {
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

const PASSPHRASE: &str = "cli test passphrase, not secret";

fn ca_init(dir: &std::path::Path) {
    let out = Command::new(SEN)
        .env("SEN_CA_PASSPHRASE", PASSPHRASE)
        .args(["ca", "init", "--data"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
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
    ca_init(&dir);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(SEN)
        .env("SEN_CA_PASSPHRASE", PASSPHRASE)
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

/// `sen verify` and `sen log verify` on what a running server issued, offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sen_verify_and_sen_log_verify_judge_issued_results() {
    let dir = std::env::temp_dir().join(format!("sen-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let seeded = Command::new(SEN)
        .args(["seed", "--citizens", "300", "--businesses", "10", "--dossiers", "50", "--data"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(seeded.success());
    ca_init(&dir);
    let again = Command::new(SEN)
        .env("SEN_CA_PASSPHRASE", PASSPHRASE)
        .args(["ca", "init", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!again.status.success(), "a second `ca init` is refused");
    let wrong = Command::new(SEN)
        .env("SEN_CA_PASSPHRASE", "a wrong passphrase!")
        .args(["ca", "chain", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(wrong.status.success(), "the chain is public: no passphrase needed");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(SEN)
        .env("SEN_CA_PASSPHRASE", PASSPHRASE)
        .args(["serve", "--checkpoint-every", "1", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&base).await;
    let login = |user: &'static str| {
        let base = base.clone();
        async move {
            let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
            let v: Value = client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"username": user, "password": "sen-demo-2026"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (client, v["csrf_token"].as_str().unwrap().to_string(), v["user_id"].as_i64().unwrap())
        }
    };
    let (citizen, c_csrf, _) = login("congdan").await;
    let procs: Value =
        citizen.get(format!("{base}/api/v1/procedures?q=1.004873")).send().await.unwrap().json().await.unwrap();
    let pid = procs[0]["id"].as_i64().unwrap();
    let agencies: Value = citizen
        .get(format!("{base}/api/v1/agencies?kind=commune_pc&province=01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agency = agencies
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"].as_str().unwrap().ends_with("Phường Hoàn Kiếm"))
        .unwrap()["id"]
        .as_i64();
    let sub: Value = citizen
        .post(format!("{base}/api/v1/dossiers"))
        .header("x-csrf-token", &c_csrf)
        .json(&json!({"procedure_id": pid, "agency_id": agency, "data": {"purpose": "vay vốn", "marital_status": "Chưa kết hôn"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = sub["id"].as_i64().unwrap_or_else(|| panic!("{sub}"));
    let desk = login("motcua").await;
    let approver = login("lanhdao").await;
    let (_, _, specialist) = login("chuyenvien").await;
    for (who, body) in [
        (&desk, json!({"action": "receive"})),
        (&desk, json!({"action": "hand_off", "to_user_id": specialist})),
        (&approver, json!({"action": "approve"})),
        (&desk, json!({"action": "issue_result"})),
    ] {
        let r: Value = who
            .0
            .post(format!("{base}/api/v1/dossiers/{id}/actions"))
            .header("x-csrf-token", &who.1)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(r["state"].is_string(), "{body}: {r}");
    }
    tokio::time::sleep(Duration::from_millis(2500)).await; // stamped and checkpointed
    for (name, part) in
        [("result.json", "result.jws"), ("result.pdf", "result.pdf"), ("result.pdf.p7s", "result.pdf.p7s")]
    {
        let bytes =
            citizen.get(format!("{base}/api/v1/dossiers/{id}/{part}")).send().await.unwrap().bytes().await.unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let chain = citizen.get(format!("{base}/ca/chain.pem")).send().await.unwrap().bytes().await.unwrap();
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
    let crl = citizen.get(format!("{base}/ca/issuing.crl")).send().await.unwrap().bytes().await.unwrap();
    std::fs::write(dir.join("issuing.crl"), crl).unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let verify = |args: &[&str]| {
        let out = Command::new(SEN).arg("verify").args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let f = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (code, out) = verify(&["--data", &f(""), &f("result.json"), &f("result.pdf")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("time-stamp:"), "{out}");
    let (code, out) =
        verify(&["--ca", &f("chain.pem"), "--crl", &f("issuing.crl"), &f("result.json"), &f("result.pdf.p7s")]);
    assert_eq!(code, Some(0), "offline with the CA file and the CRL: {out}");
    let mut pdf = std::fs::read(dir.join("result.pdf")).unwrap();
    let n = pdf.len() / 2;
    pdf[n] ^= 1;
    std::fs::write(dir.join("changed.pdf"), &pdf).unwrap();
    std::fs::copy(dir.join("result.pdf.p7s"), dir.join("changed.pdf.p7s")).unwrap();
    let (code, out) = verify(&["--data", &f(""), &f("changed.pdf")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("content_changed"), "{out}");
    std::fs::write(dir.join("junk.json"), "{\"payload\": 1}").unwrap();
    let (code, _) = verify(&["--data", &f(""), &f("junk.json")]);
    assert_eq!(code, Some(1));

    let out = Command::new(SEN).args(["log", "verify", "--data"]).arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("log ok"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}
