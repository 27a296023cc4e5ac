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
    for c in [
        "serve",
        "demo",
        "migrate",
        "seed",
        "user",
        "openapi",
        "bench",
        "bench-trust",
        "ca",
        "verify",
        "log",
        "exchange",
        "gateway",
        "events",
        "eval",
        "bench-exchange",
        "bench-prefill",
    ] {
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

fn sen(args: &[&str]) -> String {
    let out = Command::new(SEN).env("SEN_CA_PASSPHRASE", PASSPHRASE).args(args).output().unwrap();
    assert!(out.status.success(), "sen {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(SEN)
        .env("SEN_CA_PASSPHRASE", PASSPHRASE)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_for(url: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer");
}

/// Kills the child processes when the test ends, passed or not.
struct Children(Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Three processes on loopback, each with its own database: the central directory, the
/// portal's gateway, and the gateway of the Ministry of Public Security that also hosts the
/// civil-status registry. Residence and civil-status data reach the portal's side through
/// both gateways, and each gateway counts the calls on its side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_data_crosses_two_gateway_processes() {
    let root = std::env::temp_dir().join(format!("sen-exchange-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (central, portal, registry) = (root.join("central"), root.join("portal"), root.join("registry"));
    let p = |d: &std::path::Path| d.to_str().unwrap().to_string();
    for d in [&central, &registry] {
        sen(&["seed", "--citizens", "200", "--businesses", "10", "--dossiers", "0", "--data", &p(d)]);
    }
    sen(&["ca", "init", "--data", &p(&central)]);
    let (web, portal_client, portal_server, registry_client, registry_server, registries) =
        (free_port(), free_port(), free_port(), free_port(), free_port(), free_port());
    for (dir, owner, server, serves) in [
        (&portal, "VN/GOV/VPCP", portal_server, "VN/GOV/VPCP/DVCQG"),
        (&registry, "VN/GOV/BCA", registry_server, "VN/GOV/BCA/CSDLQGDC,VN/GOV/BTP/HOTICH"),
    ] {
        let keys = p(&dir.join("keys"));
        sen(&["gateway", "keygen", "--dir", &keys]);
        let address = format!("https://127.0.0.1:{server}");
        let out = sen(&[
            "exchange",
            "enrol-gateway",
            "--data",
            &p(&central),
            "--member",
            owner,
            "--address",
            &address,
            "--serves",
            serves,
            "--dir",
            &keys,
        ]);
        assert!(out.contains("registered"), "{out}");
        // The certificates are ordinary X.509: openssl checks both chains to Sen's root.
        let k = dir.join("keys");
        for cert in ["tls.crt", "message.crt"] {
            let ok = Command::new("openssl")
                .arg("verify")
                .arg("-CAfile")
                .arg(k.join("ca.crt"))
                .arg("-untrusted")
                .arg(k.join("tls.crt"))
                .arg(k.join(cert))
                .output()
                .unwrap();
            assert!(ok.status.success(), "openssl verify {cert}: {}", String::from_utf8_lossy(&ok.stdout));
        }
    }
    sen(&[
        "exchange",
        "register-registries",
        "--data",
        &p(&central),
        "--base-url",
        &format!("http://127.0.0.1:{registries}"),
    ]);

    let directory = format!("http://127.0.0.1:{web}");
    let mut children = Children(vec![spawn(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{web}"),
        "--data",
        &p(&central),
        "--exchange-gateway",
        &format!("http://127.0.0.1:{portal_client}"),
    ])]);
    wait_ready(&directory).await;
    for (dir, owner, client, server, extra) in [
        (&portal, "VN/GOV/VPCP", portal_client, portal_server, None),
        (&registry, "VN/GOV/BCA", registry_client, registry_server, Some(registries)),
    ] {
        let (data, keys) = (p(dir), p(&dir.join("keys")));
        let (client, server) = (format!("127.0.0.1:{client}"), format!("127.0.0.1:{server}"));
        let mut args = vec![
            "gateway",
            "run",
            "--data",
            &data,
            "--member",
            owner,
            "--dir",
            &keys,
            "--directory",
            &directory,
            "--client-listen",
            &client,
            "--server-listen",
            &server,
            "--refresh-secs",
            "1",
        ];
        let extra = extra.map(|port| format!("127.0.0.1:{port}"));
        if let Some(e) = &extra {
            args.extend(["--registries-listen", e.as_str()]);
        }
        children.0.push(spawn(&args));
    }
    for port in [portal_client, registry_client] {
        wait_for(&format!("http://127.0.0.1:{port}/healthz")).await;
    }

    // A person of the registries' database with a birth record.
    let store = sen_store::Store::connect(&sen_store::StoreConfig::sqlite_in(&registry)).await.unwrap();
    // (not the first: the demo account `congdan`, used below as another person, may be that one)
    let person = store.civil_event_subjects("birth", 5).await.unwrap().remove(3);
    store.close().await;

    let http = reqwest::Client::new();
    let call = |target: String| {
        http.get(format!("http://127.0.0.1:{portal_client}{target}"))
            .header("X-Road-Client", "VN/GOV/VPCP/DVCQG")
            .send()
    };
    let r = call(format!("/r1/VN/GOV/BCA/CSDLQGDC/residence/persons/{person}")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-road-request-hash"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["person_number"], person.as_str());
    let r = call(format!("/r1/VN/GOV/BTP/HOTICH/civil-status/persons/{person}/events")).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["events"].as_array().unwrap().iter().any(|e| e["kind"] == "birth"));
    // The portal has no right to the insurance registry (not served by any gateway here).
    let r = call(format!("/r1/VN/GOV/BHXHVN/CSDLBH/insurance/persons/{person}")).await.unwrap();
    assert_eq!(r.headers()["x-road-error"], "Server.ClientProxy.UnknownService");

    // Each gateway counted the two calls on its side (the insurance call never left the portal's).
    for (port, side) in [(portal_client, "client"), (registry_client, "provider")] {
        let m: Value =
            http.get(format!("http://127.0.0.1:{port}/monitoring")).send().await.unwrap().json().await.unwrap();
        let calls: u64 = m["services"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["side"] == side && s["failures"] == 0)
            .map(|s| s["count"].as_u64().unwrap())
            .sum();
        assert_eq!(calls, 2, "{side}: {m}");
    }

    // The person signs in to the portal and sees both reads, by the portal's system.
    let citizen = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = citizen
        .post(format!("{directory}/api/v1/auth/login"))
        .json(&json!({"username": person, "password": "sen-demo-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let csrf = login.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_string();

    // They apply for permanent residence (Đăng ký thường trú), once-only: an explicit request
    // fetches their residence and birth records through both gateways; land is not served
    // here, so they attach the proof of housing themselves.
    let found: Value =
        citizen.get(format!("{directory}/api/v1/procedures?q=1.004194")).send().await.unwrap().json().await.unwrap();
    let procedure = found.as_array().unwrap().iter().find(|p| p["code"] == "1.004194").expect("in the catalogue")["id"]
        .as_i64()
        .unwrap();
    let evidence = citizen
        .post(format!("{directory}/api/v1/procedures/{procedure}/evidence"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(evidence.status(), 201);
    let evidence: Value = evidence.json().await.unwrap();
    let status: Vec<(&str, &str)> = evidence["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["registry"].as_str().unwrap(), a["status"].as_str().unwrap()))
        .collect();
    assert_eq!(status, [("residence", "found"), ("civil-status", "found"), ("land", "unavailable")], "{evidence}");
    let batch = evidence["batch"].as_str().unwrap();
    let prefill = evidence["prefill"].clone();
    assert!(prefill["head_of_household"].is_string() && prefill["birth_date"].is_string(), "{evidence}");
    let mut data = prefill.clone();
    data["new_address"] = json!("Số 8 ngõ 12 Hàng Bạc, phường Hoàn Kiếm");
    data["housing_proof"] = json!("Hợp đồng thuê, mượn");
    let submission = |batch: &str| {
        json!({"procedure_id": procedure, "data": data, "evidence_batch": batch, "files": [{
            "component": "Giấy tờ chứng minh chỗ ở hợp pháp", "filename": "hop-dong.pdf",
            "content_type": "application/pdf", "content_base64": "JVBERi0xLjQKJSVFT0YK"}]})
    };
    // Not confirmed yet: refused, nothing written.
    let r = citizen
        .post(format!("{directory}/api/v1/dossiers"))
        .header("x-csrf-token", &csrf)
        .json(&submission(batch))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());
    let r = citizen
        .post(format!("{directory}/api/v1/procedures/{procedure}/evidence/{batch}/confirm"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = citizen
        .post(format!("{directory}/api/v1/dossiers"))
        .header("x-csrf-token", &csrf)
        .json(&submission(batch))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let dossier = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let components: Value = citizen
        .get(format!("{directory}/api/v1/dossiers/{dossier}/components"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows: Vec<(&str, Option<&str>)> = components
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["source"].as_str().unwrap(), c["registry"].as_str()))
        .collect();
    assert_eq!(
        rows,
        [("form", None), ("prefill", Some("residence")), ("prefill", Some("civil-status")), ("upload", None)],
        "{components}"
    );
    let message_ids: Vec<&str> =
        components.as_array().unwrap().iter().filter_map(|c| c["message_id"].as_str()).collect();
    assert_eq!(message_ids.len(), 2, "each fetched record names its exchange message: {components}");

    let reads: Value =
        citizen.get(format!("{directory}/api/v1/me/data-reads")).send().await.unwrap().json().await.unwrap();
    // The application's two reads, for the procedure, and the two direct calls above.
    let for_procedure: Vec<&Value> =
        reads["reads"].as_array().unwrap().iter().filter(|r| r["purpose"] == "1.004194").collect();
    assert_eq!(for_procedure.len(), 2, "{reads}");
    for id in &message_ids {
        assert!(for_procedure.iter().any(|r| r["message_id"] == *id), "read {id} is listed: {reads}");
    }
    let services: Vec<&str> = reads["reads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["purpose"].is_null())
        .map(|r| r["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["VN/GOV/BTP/HOTICH/civil-status", "VN/GOV/BCA/CSDLQGDC/residence"], "{reads}");
    assert!(
        reads["reads"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["client"] == "VN/GOV/VPCP/DVCQG" && r["client_name"].is_string())
    );
    // Insurance and land are not served by any gateway in this set-up: named, not hidden.
    assert_eq!(reads["unavailable"].as_array().unwrap().len(), 2, "{reads}");
    let page = citizen.get(format!("{directory}/my-data")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Ai đã đọc dữ liệu của tôi") && page.contains("VN/GOV/BCA/CSDLQGDC/residence"));
    // Another person sees none of them.
    let other = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = other
        .post(format!("{directory}/api/v1/auth/login"))
        .json(&json!({"username": "congdan", "password": "sen-demo-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let theirs: Value =
        other.get(format!("{directory}/api/v1/me/data-reads")).send().await.unwrap().json().await.unwrap();
    assert!(theirs["reads"].as_array().unwrap().iter().all(|r| r["message_id"] != reads["reads"][0]["message_id"]));
    drop(children);
    let _ = std::fs::remove_dir_all(&root);
}

/// Python's aiosmtpd, a real SMTP server writing every message it accepts to a maildir.
fn smtp_server(port: u16, maildir: &std::path::Path) -> Option<std::process::Child> {
    let ok = Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var("CI").is_err(), "aiosmtpd must be installed in CI (.ci/run)");
        eprintln!("SKIPPED: python3 -m pip install aiosmtpd");
        return None;
    }
    Some(
        Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn mails(maildir: &std::path::Path) -> Vec<String> {
    let mut out = vec![];
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(maildir.join(sub)) {
            for e in rd.flatten() {
                out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_survives_a_crash_mid_send_and_arrives_once_at_a_real_smtp_server() {
    let dir = std::env::temp_dir().join(format!("sen-notify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let maildir = dir.join("maildir");
    let status = Command::new(SEN)
        .args(["seed", "--citizens", "200", "--businesses", "5", "--dossiers", "20", "--data"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    ca_init(&dir);
    let smtp_port = free_port();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let serve = |fault: bool| {
        let mut c = Command::new(SEN);
        c.env("SEN_CA_PASSPHRASE", PASSPHRASE)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--smtp", &format!("127.0.0.1:{smtp_port}")])
            .args(["--smtp-plain", "--notify-every-ms", "100", "--notify-lease-secs", "2", "--data"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if fault {
            c.env("SEN_NOTIFY_FAULT", "exit-after-claim");
        }
        c.spawn().unwrap()
    };
    // The first process claims the message and dies before sending it.
    let mut first = serve(true);
    wait_ready(&base).await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "sen-demo-2026"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let send = |body: Value| {
        client.post(format!("{base}/v2/notifications/email")).header("x-csrf-token", &csrf).json(&body).send()
    };
    // Bad input is refused and writes nothing.
    let r = send(json!({"email_address": "mai.tran@example.vn", "template_id": "dossier-result", "personalisation": {"name": "Mai"}}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "missing_personalisation", "{problem}");
    let r = send(json!({"email_address": "not an address", "template_id": "dossier-result", "personalisation": {}}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = send(json!({
        "email_address": "mai.tran@example.vn", "template_id": "dossier-result", "reference": "crash-test-1",
        "personalisation": {"name": "Trần Thị Mai", "code": "H01.1-261202-0001", "procedure": "Đăng ký khai sinh", "url": "http://sen.test/r/1"}}))
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["content"]["subject"], "Hồ sơ H01.1-261202-0001 đã có kết quả");
    let start = Instant::now();
    let code = loop {
        if let Some(s) = first.try_wait().unwrap() {
            break s.code();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the first process should die after its claim");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(code, Some(70));

    // The SMTP server comes up, and a new process takes the message over once the lease ends.
    let Some(mut smtp) = smtp_server(smtp_port, &maildir) else { return };
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut second = serve(false);
    wait_ready(&base).await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "sen-demo-2026"}))
        .send()
        .await
        .unwrap();
    let start = Instant::now();
    let n = loop {
        let n: Value = client.get(format!("{base}/v2/notifications/{id}")).send().await.unwrap().json().await.unwrap();
        if n["status"] == "delivered" {
            break n;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not delivered: {n}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(n["reference"], "crash-test-1");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = mails(&maildir);
    assert_eq!(got.len(), 1, "exactly one e-mail arrived");
    assert!(got[0].contains(&format!("<{id}@sen>")), "the message id names the notification: {}", got[0]);
    assert!(got[0].contains("mai.tran@example.vn"));
    // Listed, filtered by status and reference.
    let list: Value = client
        .get(format!("{base}/v2/notifications?status=delivered&reference=crash-test-1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["notifications"].as_array().unwrap().len(), 1, "{list}");
    let _ = second.kill();
    let _ = second.wait();
    let _ = smtp.kill();
    let _ = smtp.wait();
}

/// `sen bench-exchange --gateway-cpu`: both gateways run as `sen gateway run` processes pinned
/// to one CPU, every call passes through them without an error, and the portal's gateway
/// recorded each one.
#[test]
fn the_exchange_benchmark_runs_its_gateways_as_processes_on_a_cpu_of_their_own() {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    assert!(cpus >= 2, "this test needs two CPUs (the benchmark pins its gateways to one of them)");
    let work = std::env::temp_dir().join(format!("sen-bench-exchange-test-{}", std::process::id()));
    let out = Command::new(SEN)
        .args(["bench-exchange", "--clients", "2", "--seconds", "1", "--citizens", "300"])
        .args(["--gateway-cpu", &(cpus - 1).to_string(), "--work"])
        .arg(&work)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("processes on CPU {}", cpus - 1)), "{text}");
    let line = |start: &str| text.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("{start}: {text}"));
    for phase in ["direct to the registry", "through two gateways"] {
        assert!(line(phase).contains(" 0 errors"), "{text}");
    }
    let calls: u64 =
        line("through two gateways").split('(').nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let recorded: u64 = line("records written").rsplit(' ').next().unwrap().parse().unwrap();
    assert!(calls > 0, "{text}");
    // Warm-up calls are recorded too.
    assert!(recorded >= calls, "{text}");
    let _ = std::fs::remove_dir_all(&work);
}
