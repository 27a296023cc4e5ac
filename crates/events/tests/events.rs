//! Registry change events across two nodes through the NATS JetStream server on
//! 127.0.0.1:4222 (`SEN_TEST_NATS_URL` to change it): node A registers births, node B's
//! population registry consumes them. Each run uses its own stream, so runs do not see each
//! other's events. Storage on SQLite and, with `SEN_TEST_POSTGRES_URL`, PostgreSQL.

use chrono::{NaiveDate, Utc};
use sen_domain::procedure::{Applicants, Level, ProcedureSpec, ServiceLevel};
use sen_domain::{Action, Calendar};
use sen_events::{Bus, Names, Relay};
use sen_store::dossiers::{ActRequest, Actor, NewDossier};
use sen_store::outbox::consumers::POPULATION;
use sen_store::reference::NewAgency;
use sen_store::{Store, StoreConfig};
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static N: AtomicU32 = AtomicU32::new(0);

fn nats_url() -> String {
    std::env::var("SEN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

async fn bus() -> Bus {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let tag = format!("{}{n}{}", std::process::id(), Utc::now().timestamp_micros());
    let names = Names { stream: format!("SEN_TEST_{tag}"), prefix: format!("sentest{tag}.events") };
    sen_events::connect(&nats_url(), names).await.expect("NATS with JetStream on 127.0.0.1:4222 (CI starts it)")
}

/// Two nodes' stores per backend: (A, B).
async fn node_pairs() -> Vec<(Store, Store)> {
    let mut out = vec![];
    let one = |backend: &'static str| async move {
        let n = N.fetch_add(1, Ordering::SeqCst);
        match backend {
            "sqlite" => {
                let dir = std::env::temp_dir().join(format!("sen-events-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
                Some(Store::connect(&StoreConfig::sqlite_in(&dir)).await.unwrap())
            }
            _ => {
                let url = std::env::var("SEN_TEST_POSTGRES_URL").ok()?;
                let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
                let schema = format!("ev{}_{n}_{nanos}", std::process::id());
                Some(Store::connect_postgres_schema(&url, &schema).await.unwrap())
            }
        }
    };
    for backend in ["sqlite", "postgres"] {
        if let (Some(a), Some(b)) = (one(backend).await, one(backend).await) {
            a.migrate().await.unwrap();
            b.migrate().await.unwrap();
            out.push((a, b));
        }
    }
    out
}

/// Node A: a commune authority that registers births (procedure 1.001193).
struct Births {
    procedure_id: i64,
    agency_id: i64,
    user_id: i64,
}

async fn births(s: &Store) -> Births {
    s.insert_agencies(&[NewAgency {
        code: "X01.UB".into(),
        name: "UBND Phường Hoàn Kiếm".into(),
        name_en: "Hoàn Kiếm Ward People's Committee".into(),
        kind: "commune_pc".into(),
        level: "commune".into(),
        province_code: Some("01".into()),
        commune_code: None,
    }])
    .await
    .unwrap();
    let agency_id = s.agency_by_code("X01.UB").await.unwrap().id;
    let spec = ProcedureSpec {
        code: "1.001193".into(),
        name: "Đăng ký khai sinh".into(),
        name_en: "Birth registration".into(),
        sector: "Hộ tịch".into(),
        level: Level::Commune,
        agency_kind: "commune_pc".into(),
        deadline_working_days: 0,
        fees: String::new(),
        fee_vnd: 0,
        service_level: ServiceLevel::FullProcess,
        applicants: Applicants::Citizens,
        conditions: String::new(),
        steps: String::new(),
        legal_basis: "Luật Hộ tịch 2014".into(),
        result_document: "Giấy khai sinh".into(),
        components: vec![],
        keywords: String::new(),
    };
    let procedure_id =
        s.create_procedure(&spec, &json!({"type": "object", "properties": {}}), &Actor::system("test")).await.unwrap();
    let user_id = s
        .create_user(&sen_store::accounts::NewUser {
            username: "001190012345".into(),
            password_hash: "x".into(),
            display_name: "Trần Thị Mai".into(),
            kind: "citizen".into(),
            person_number: Some("001190012345".into()),
            tax_code: None,
            email: None,
        })
        .await
        .unwrap();
    Births { procedure_id, agency_id, user_id }
}

/// Registers the birth of `child` on node A, through the dossier's whole path.
async fn register_birth(s: &Store, b: &Births, child: &str) {
    let sub = s
        .submit_dossier(NewDossier {
            procedure_id: b.procedure_id,
            form_version: 1,
            agency_id: b.agency_id,
            agency_code: "X01.UB".into(),
            applicant_user_id: b.user_id,
            applicant_name: "Trần Thị Mai".into(),
            applicant_id_number: "001190012345".into(),
            data: json!({"child_full_name": child, "child_birth_date": "2026-11-20", "child_sex": "Nữ",
                "place_of_birth": "Bệnh viện Phụ sản Hà Nội", "mother_full_name": "Trần Thị Mai",
                "mother_id_number": "001190012345"}),
            due_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            files: vec![],
            components: vec![],
            idempotency: None,
            submitted_at: Utc::now(),
        })
        .await
        .unwrap();
    for action in [Action::Receive, Action::Approve, Action::IssueResult] {
        s.act(
            ActRequest {
                dossier_id: sub.id,
                action,
                actor: Actor::system("test"),
                expected_version: None,
                reason: None,
                to_agency_id: None,
                to_user_id: None,
                result: Some(json!({"document": "Giấy khai sinh"})),
                files: vec![],
                today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                deadline_days: 0,
                signer: None,
                issued: None,
            },
            &Calendar::vietnam(),
        )
        .await
        .unwrap();
    }
}

async fn until(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if ok().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn births_reach_another_nodes_population_registry_once_each_through_jetstream() {
    for (a, b) in node_pairs().await {
        let bus = bus().await;
        let fixture = births(&a).await;
        let relay = Relay::new(a.clone()).with_local_consumer(POPULATION).with_jetstream(bus.clone());

        register_birth(&a, &fixture, "Nguyễn Minh Anh").await;
        let first = a.outbox_pending(10).await.unwrap()[0].event();
        assert_eq!(relay.publish_pending().await.unwrap(), 1);
        assert!(a.outbox_pending(10).await.unwrap().is_empty(), "published and marked");
        // The relay died before marking: the same event is published again, and the stream
        // drops it (same Nats-Msg-Id inside its duplicate window).
        assert!(relay.deliver(&first).await.unwrap(), "a re-publication is a duplicate");
        // Node A's own population registry applied it in process, once.
        assert_eq!(a.processed_count(POPULATION).await.unwrap(), 1);

        // Node B consumes the stream durably.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (bus_b, store_b) = (bus.clone(), b.clone());
        let consumer = tokio::spawn(async move { sen_events::consume(&bus_b, &store_b, POPULATION, stopped).await });
        let child = first.payload["person_number"].as_str().unwrap().to_string();
        until("the newborn on node B", async || b.person(&child).await.is_ok()).await;
        assert_eq!(b.person(&child).await.unwrap().full_name, "Nguyễn Minh Anh");

        // A copy under another message id gets past the stream's de-duplication; the
        // consumer's own record makes it a no-op. A message that is not an event is dropped.
        assert!(!sen_events::publish(&bus, &first, "another-id").await.unwrap());
        bus.js
            .publish(bus.names.subject("civil-status.birth-registered"), "not json".into())
            .await
            .unwrap()
            .await
            .unwrap();
        register_birth(&a, &fixture, "Nguyễn Minh Châu").await;
        let second = a.outbox_pending(10).await.unwrap()[0].event();
        relay.publish_pending().await.unwrap();
        let second_child = second.payload["person_number"].as_str().unwrap().to_string();
        until("the second newborn on node B", async || b.person(&second_child).await.is_ok()).await;
        assert_eq!(b.processed_count(POPULATION).await.unwrap(), 2, "each event applied once");

        // Node B's consumer stops; a birth registered meanwhile arrives when it comes back.
        stop.send(true).unwrap();
        assert_eq!(consumer.await.unwrap().unwrap(), 2);
        register_birth(&a, &fixture, "Nguyễn Minh Đức").await;
        let third = a.outbox_pending(10).await.unwrap()[0].event();
        relay.publish_pending().await.unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (bus_b, store_b) = (bus.clone(), b.clone());
        let consumer = tokio::spawn(async move { sen_events::consume(&bus_b, &store_b, POPULATION, stopped).await });
        let third_child = third.payload["person_number"].as_str().unwrap().to_string();
        until("the third newborn after the restart", async || b.person(&third_child).await.is_ok()).await;
        assert_eq!(b.processed_count(POPULATION).await.unwrap(), 3);
        assert_eq!(a.processed_count(POPULATION).await.unwrap(), 3);
        stop.send(true).unwrap();
        consumer.await.unwrap().unwrap();
        bus.js.delete_stream(&bus.names.stream).await.unwrap();
    }
}
