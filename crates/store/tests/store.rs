//! Storage tests, run on SQLite and (with `SEN_TEST_POSTGRES_URL`) PostgreSQL.

use chrono::{NaiveDate, Utc};
use sea_query::{ExprTrait, Query};
use sen_domain::procedure::{Applicants, Level, ProcedureSpec, ServiceLevel};
use sen_domain::{Action, Calendar};
use sen_store::accounts::NewUser;
use sen_store::dossiers::{ActRequest, Actor, Idempotency, NewDossier};
use sen_store::reference::NewAgency;
use sen_store::{Store, StoreConfig, StoreError};
use sen_trust::merkle::{self, Frontier};
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};

static N: AtomicU32 = AtomicU32::new(0);

async fn stores() -> Vec<Store> {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("sen-store-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut v = vec![Store::connect(&StoreConfig::sqlite_in(&dir)).await.unwrap()];
    match std::env::var("SEN_TEST_POSTGRES_URL") {
        Ok(url) => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
            v.push(
                Store::connect_postgres_schema(&url, &format!("s{}_{n}_{nanos}", std::process::id())).await.unwrap(),
            );
        }
        Err(_) => eprintln!("SKIPPED on PostgreSQL: set SEN_TEST_POSTGRES_URL to run it"),
    }
    v
}

struct Fixture {
    procedure_id: i64,
    agency_id: i64,
    user_id: i64,
}

async fn fixture(s: &Store) -> Fixture {
    s.migrate().await.unwrap();
    s.insert_agencies(&[NewAgency {
        code: "H01.STP".into(),
        name: "Sở Tư pháp Hà Nội".into(),
        name_en: "Department of Justice, Hà Nội".into(),
        kind: "province_justice".into(),
        level: "province".into(),
        province_code: None,
        commune_code: None,
    }])
    .await
    .unwrap();
    let agency_id = s.agency_by_code("H01.STP").await.unwrap().id;
    let spec = ProcedureSpec {
        code: "2.000488".into(),
        name: "Cấp Phiếu lý lịch tư pháp".into(),
        name_en: "Criminal record certificate".into(),
        sector: "Lý lịch tư pháp".into(),
        level: Level::Province,
        agency_kind: "province_justice".into(),
        deadline_working_days: 10,
        fees: "200.000 đồng".into(),
        fee_vnd: 200_000,
        service_level: ServiceLevel::FullProcess,
        applicants: Applicants::Citizens,
        conditions: String::new(),
        steps: String::new(),
        legal_basis: "Luật Lý lịch tư pháp 2009".into(),
        result_document: "Phiếu lý lịch tư pháp".into(),
        components: vec![],
        keywords: String::new(),
    };
    let procedure_id =
        s.create_procedure(&spec, &json!({"type": "object", "properties": {}}), &Actor::system("test")).await.unwrap();
    let user_id = s
        .create_user(&NewUser {
            username: "001190012345".into(),
            password_hash: "x".into(),
            display_name: "Nguyễn Văn An".into(),
            kind: "citizen".into(),
            person_number: Some("001190012345".into()),
            tax_code: None,
            email: None,
        })
        .await
        .unwrap();
    Fixture { procedure_id, agency_id, user_id }
}

fn new_dossier(f: &Fixture, key: Option<(&str, &str)>) -> NewDossier {
    NewDossier {
        procedure_id: f.procedure_id,
        form_version: 1,
        agency_id: f.agency_id,
        agency_code: "H01.STP".into(),
        applicant_user_id: f.user_id,
        applicant_name: "Nguyễn Văn An".into(),
        applicant_id_number: "001190012345".into(),
        data: json!({"purpose": "xin việc"}),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 11).unwrap(),
        files: vec![],
        components: vec![],
        idempotency: key.map(|(k, h)| Idempotency { key: k.into(), request_hash: h.into() }),
        submitted_at: Utc::now(),
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_safe_to_run_concurrently() {
    for s in stores().await {
        let (a, b) = tokio::join!(s.migrate(), s.migrate());
        // Each migration once, whichever of the two applied it.
        let mut applied: Vec<i64> = a.unwrap().into_iter().chain(b.unwrap()).collect();
        applied.sort();
        let all: Vec<i64> = sen_store::schema::migrations().iter().map(|m| m.version).collect();
        assert_eq!(applied, all, "{:?}: applied once", s.backend());
        assert!(s.migrate().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn group_commit_writes_every_submission_and_isolates_a_bad_one() {
    for s in stores().await {
        let f = fixture(&s).await;
        // A key used before, now with another request: refused alone.
        s.submit_dossier(new_dossier(&f, Some(("dup", "h1")))).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..300 {
            let (s, d) = (s.clone(), new_dossier(&f, if i == 150 { Some(("dup", "h2")) } else { None }));
            tasks.push(tokio::spawn(async move { s.submit_dossier(d).await }));
        }
        let mut ok = 0;
        let mut refused = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::IdempotencyMismatch) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((ok, refused), (299, 1));
        assert_eq!(s.count_dossiers().await.unwrap(), 300);
        let events = s.count_rows("dossier_events").await.unwrap();
        assert_eq!(events, 300, "each dossier has its submit event, none from the refused one");
    }
}

#[tokio::test]
async fn a_replayed_key_returns_the_first_dossier() {
    for s in stores().await {
        let f = fixture(&s).await;
        let a = s.submit_dossier(new_dossier(&f, Some(("k", "h")))).await.unwrap();
        let b = s.submit_dossier(new_dossier(&f, Some(("k", "h")))).await.unwrap();
        assert_eq!((a.id, a.replayed, b.replayed), (b.id, false, true));
        assert_eq!(s.count_dossiers().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn actions_follow_the_state_machine_and_the_clock() {
    for s in stores().await {
        let f = fixture(&s).await;
        let sub = s.submit_dossier(new_dossier(&f, None)).await.unwrap();
        let cal = Calendar::vietnam();
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let req = |action, today| ActRequest {
            dossier_id: sub.id,
            action,
            actor: Actor::system("test"),
            expected_version: None,
            reason: Some("lý do".into()),
            to_agency_id: None,
            to_user_id: None,
            result: None,
            files: vec![],
            today,
            deadline_days: 10,
            signer: None,
            issued: None,
        };
        let d = s.act(req(Action::Receive, monday), &cal).await.unwrap();
        assert_eq!(d.due_date, Some(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()));
        // Paused on Wednesday with 8 working days left, resumed a week later.
        let wed = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let d = s.act(req(Action::RequestSupplement, wed), &cal).await.unwrap();
        assert_eq!(d.remaining_days, Some(8));
        let d = s.act(req(Action::Supply, wed + chrono::Duration::days(7)), &cal).await.unwrap();
        assert_eq!(d.due_date, Some(NaiveDate::from_ymd_opt(2026, 12, 14).unwrap()));
        let err = s.act(req(Action::IssueResult, wed), &cal).await.unwrap_err();
        assert!(matches!(err, StoreError::Transition(_)));
        assert_eq!(s.events(sub.id).await.unwrap().len(), 4);
        assert_eq!(s.dossier_audit(sub.id, false).await.unwrap().len(), 4, "every change is in the audit trail");
    }
}

/// Appends `bodies` and waits until the sequencer (PostgreSQL) or the writer (SQLite) gave
/// them their positions; mirrors them in the reference tree.
async fn append_entries(s: &Store, bodies: &[serde_json::Value], reference: &mut Frontier) {
    s.enqueue_log_entries(bodies).await.unwrap();
    while s.sequence_log(sen_store::log::SEQUENCE_BATCH).await.unwrap() > 0 {}
    for b in bodies {
        reference.append(merkle::leaf_hash(b.to_string().as_bytes()));
    }
}

#[tokio::test]
async fn the_log_proves_inclusion_and_consistency_across_tile_edges() {
    for s in stores().await {
        s.migrate().await.unwrap();
        let mut reference = Frontier::new();
        let mut heads = Vec::new();
        let mut n = 0;
        // Batches that end inside, on and across the 256-hash tile edges.
        for batch in [1usize, 2, 253, 1, 255, 300, 1, 2_000] {
            let bodies: Vec<_> = (n..n + batch).map(|i| json!({"type": "test", "n": i})).collect();
            n += batch;
            append_entries(&s, &bodies, &mut reference).await;
            let head = s.log_head().await.unwrap();
            assert_eq!(head, (reference.size(), reference.root()), "{:?} after {n}", s.backend());
            heads.push(head);
        }
        let (size, root) = *heads.last().unwrap();
        for index in [0, 1, 255, 256, 511, 512, 1_000, size - 1] {
            let (leaf, path) = s.inclusion_proof(index, size).await.unwrap();
            assert!(merkle::verify_inclusion(index, size, &leaf, &path, &root), "{:?} index {index}", s.backend());
            // The same proof against an earlier head, from tiles that grew since.
            let (old, old_root) = heads[4];
            if index < old {
                let (leaf, path) = s.inclusion_proof(index, old).await.unwrap();
                assert!(merkle::verify_inclusion(index, old, &leaf, &path, &old_root));
            }
        }
        for (old, old_root) in &heads {
            let proof = s.consistency_proof(*old, size).await.unwrap();
            assert!(merkle::verify_consistency(*old, size, old_root, &root, &proof), "{:?} from {old}", s.backend());
        }
        let leaves = s.log_leaves(250, 20).await.unwrap();
        assert_eq!(leaves.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (250..270).collect::<Vec<_>>());
        assert_eq!(s.log_leaves(size - 3, 100).await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn migration_3_turns_stored_nodes_into_tiles() {
    for s in stores().await {
        s.migrate_to(2).await.unwrap();
        // A log written by version 2: one row per complete node.
        let mut reference = Frontier::new();
        let mut nodes = Vec::new();
        let mut leaves = Query::insert().into_table("log_leaves").columns(["seq", "entry_id", "logged_at"]).to_owned();
        for i in 0..700u64 {
            nodes.extend(reference.append(merkle::leaf_hash(format!("entry {i}").as_bytes())));
            leaves.values_panic([(i as i64).into(), (i as i64 + 1).into(), Utc::now().into()]);
        }
        s.db().execute(&leaves).await.unwrap();
        for chunk in nodes.chunks(400) {
            let mut ins = Query::insert().into_table("log_nodes").columns(["level", "idx", "hash"]).to_owned();
            for (id, h) in chunk {
                ins.values_panic([i64::from(id.level).into(), (id.idx as i64).into(), h.to_vec().into()]);
            }
            s.db().execute(&ins).await.unwrap();
        }
        assert_eq!(s.migrate_to(3).await.unwrap(), vec![3]);
        assert_eq!(s.log_head().await.unwrap(), (700, reference.root()), "{:?}", s.backend());
        let (leaf, path) = s.inclusion_proof(300, 700).await.unwrap();
        assert!(merkle::verify_inclusion(300, 700, &leaf, &path, &reference.root()));
        assert!(s.db().execute(&Query::select().column("level").from("log_nodes").to_owned()).await.is_err());
    }
}

#[tokio::test]
async fn the_exchange_directory_holds_members_services_and_rights_and_audits_each_change() {
    use sen_exchange::{ClientId, Endpoint, MemberId, ServiceId};
    use sen_store::exchange::ServiceInput;
    for s in stores().await {
        s.migrate().await.unwrap();
        let admin = Actor::system("test");
        let bca = MemberId::new("VN", "GOV", "000.00.00.G01").unwrap();
        let portal = MemberId::new("VN", "GOV", "000.00.00.H01").unwrap();
        s.add_exchange_member(&bca, "Bộ Công an", None, &admin).await.unwrap();
        s.add_exchange_member(&portal, "Văn phòng Chính phủ", None, &admin).await.unwrap();
        assert!(matches!(s.add_exchange_member(&bca, "again", None, &admin).await, Err(StoreError::Duplicate(_))));
        let registry = bca.subsystem("CSDLQGDC").unwrap();
        let client = portal.subsystem("DVCQG").unwrap();
        s.add_exchange_subsystem(&registry, "Cơ sở dữ liệu quốc gia về dân cư", &admin).await.unwrap();
        s.add_exchange_subsystem(&client, "Cổng Dịch vụ công quốc gia", &admin).await.unwrap();
        let unknown_member = MemberId::new("VN", "GOV", "nobody").unwrap().subsystem("X").unwrap();
        assert!(matches!(s.add_exchange_subsystem(&unknown_member, "x", &admin).await, Err(StoreError::NotFound)));

        let mut input = ServiceInput {
            code: "residence".into(),
            title: "Thông tin cư trú".into(),
            base_url: "http://127.0.0.1:9000".into(),
            openapi: Some(r#"{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{}}"#.into()),
            disabled: false,
            timeout_ms: 5000,
        };
        assert!(s.put_exchange_service(&registry, &input, &admin).await.unwrap().1, "new");
        // Bad input changes nothing.
        for bad in [
            ServiceInput { code: "listMethods".into(), ..input.clone() },
            ServiceInput { base_url: "ftp://x".into(), ..input.clone() },
            ServiceInput { openapi: Some("{\"swagger\":\"2.0\"}".into()), ..input.clone() },
            ServiceInput { timeout_ms: 10, ..input.clone() },
        ] {
            assert!(matches!(s.put_exchange_service(&registry, &bad, &admin).await, Err(StoreError::Invalid(_))));
        }
        input.title = "Thông tin cư trú của công dân".into();
        assert!(!s.put_exchange_service(&registry, &input, &admin).await.unwrap().1, "changed");

        let service = ServiceId::parse("VN/GOV/000.00.00.G01/CSDLQGDC/residence").unwrap();
        let right = s
            .grant_exchange_right(&service, &client, &Endpoint::new("GET", "/persons/*").unwrap(), &admin)
            .await
            .unwrap();
        assert!(matches!(
            s.grant_exchange_right(&service, &client, &Endpoint::new("get", "/persons/*").unwrap(), &admin).await,
            Err(StoreError::Duplicate(_))
        ));
        let stranger = ClientId::parse("VN/COM/0100112437/CORE").unwrap();
        assert!(matches!(
            s.grant_exchange_right(&service, &stranger, &Endpoint::all(), &admin).await,
            Err(StoreError::Invalid(_))
        ));

        let d = s.exchange_directory().await.unwrap();
        assert_eq!(d.members.len(), 2);
        let svc = d.authorise(&client, &service, "GET", "/persons/001203004567").unwrap();
        assert_eq!(svc.title, "Thông tin cư trú của công dân");
        assert!(svc.openapi.as_deref().is_some_and(|o| o.contains("3.0.3")));
        assert_eq!(
            d.authorise(&client, &service, "GET", "/households/1").unwrap_err().type_string(),
            "Server.ServerProxy.AccessDenied"
        );

        s.revoke_exchange_right(&service, right, &admin).await.unwrap();
        assert!(matches!(s.revoke_exchange_right(&service, right, &admin).await, Err(StoreError::NotFound)));
        let d = s.exchange_directory().await.unwrap();
        assert!(d.authorise(&client, &service, "GET", "/persons/1").is_err(), "revoked at once");

        // A gateway of BCA serving its registry; bad entries change nothing.
        use sen_store::exchange::GatewayInput;
        let gw = GatewayInput {
            owner: bca.clone(),
            code: "GW1".into(),
            address: "https://127.0.0.1:8443".into(),
            tls_cert: vec![1, 2, 3],
            message_cert: vec![4, 5, 6],
            serves: vec![registry.clone()],
        };
        for bad in [
            GatewayInput { address: "http://127.0.0.1:8443".into(), ..gw.clone() },
            GatewayInput { address: "https://127.0.0.1".into(), ..gw.clone() },
            GatewayInput { serves: vec![], ..gw.clone() },
            GatewayInput { serves: vec![ClientId::parse("VN/GOV/BCA/NOPE").unwrap()], ..gw.clone() },
            GatewayInput { code: "a/b".into(), ..gw.clone() },
        ] {
            assert!(matches!(s.add_exchange_gateway(&bad, &admin).await, Err(StoreError::Invalid(_))), "{bad:?}");
        }
        s.add_exchange_gateway(&gw, &admin).await.unwrap();
        assert!(matches!(s.add_exchange_gateway(&gw, &admin).await, Err(StoreError::Duplicate(_))));
        let d = s.exchange_directory().await.unwrap();
        assert_eq!(d.gateways.len(), 1);
        assert_eq!(d.gateway_of(&registry).unwrap().code, "GW1");
        assert!(d.gateway_by_tls(&d.gateways[0].tls_sha256).is_some());
        assert!(d.gateway_of(&client).is_none());
        s.retire_exchange_gateway(&bca, "GW1", &admin).await.unwrap();
        assert!(matches!(s.retire_exchange_gateway(&bca, "GW1", &admin).await, Err(StoreError::NotFound)));
        assert!(s.exchange_directory().await.unwrap().gateway_of(&registry).is_none(), "retired");

        #[derive(sqlx::FromRow)]
        struct A {
            action: String,
        }
        let actions: Vec<A> = s
            .db()
            .fetch_all(
                &Query::select()
                    .column("action")
                    .from("audit_log")
                    .and_where(sea_query::Expr::col("action").like("exchange.%"))
                    .order_by("id", sea_query::Order::Asc)
                    .to_owned(),
            )
            .await
            .unwrap();
        let actions: Vec<&str> = actions.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "exchange.member.add",
                "exchange.member.add",
                "exchange.subsystem.add",
                "exchange.subsystem.add",
                "exchange.service.add",
                "exchange.service.update",
                "exchange.right.grant",
                "exchange.right.revoke",
                "exchange.gateway.add",
                "exchange.gateway.retire",
            ]
        );
    }
}

#[tokio::test]
async fn a_revoked_consent_lets_no_read_through_after_the_instant_of_revocation() {
    use chrono::Duration;
    use sen_exchange::consent::SubjectKind;
    use sen_exchange::{ClientId, MemberId, ServiceId};
    use sen_store::consents::NewConsent;
    use sen_store::exchange::ServiceInput;
    for s in stores().await {
        s.migrate().await.unwrap();
        let admin = Actor::system("test");
        let btc = MemberId::new("VN", "GOV", "BTC").unwrap();
        let bank = MemberId::new("VN", "COM", "0100112437").unwrap();
        s.add_exchange_member(&btc, "Bộ Tài chính", None, &admin).await.unwrap();
        s.add_exchange_member(&bank, "Vietcombank", None, &admin).await.unwrap();
        s.add_exchange_subsystem(&btc.subsystem("DKDN").unwrap(), "Đăng ký doanh nghiệp", &admin).await.unwrap();
        s.add_exchange_subsystem(&bank.subsystem("CORE").unwrap(), "Core banking", &admin).await.unwrap();
        let input = ServiceInput {
            code: "enterprises".into(),
            title: "Thông tin doanh nghiệp".into(),
            base_url: "http://127.0.0.1:9".into(),
            openapi: None,
            disabled: false,
            timeout_ms: 1000,
        };
        s.put_exchange_service(&btc.subsystem("DKDN").unwrap(), &input, &admin).await.unwrap();
        let service = ServiceId::parse("VN/GOV/BTC/DKDN/enterprises").unwrap();
        let client = ClientId::parse("VN/COM/0100112437/CORE").unwrap();
        let owner = Actor {
            user_id: Some(1),
            name: "Công ty TNHH An Phát".into(),
            role: Some("business".into()),
            agency_id: None,
        };
        let new = NewConsent {
            subject_kind: SubjectKind::Enterprise,
            subject_id: "0101234567".into(),
            client: client.clone(),
            service: service.clone(),
            purpose: "Thẩm định hồ sơ vay vốn".into(),
            valid_until: Utc::now() + Duration::days(30),
        };
        // Bad terms and unknown parties change nothing.
        assert!(matches!(
            s.grant_consent(&NewConsent { purpose: " ".into(), ..new.clone() }, &owner).await,
            Err(StoreError::Invalid(_))
        ));
        let stranger = ClientId::parse("VN/COM/999/X").unwrap();
        assert!(matches!(
            s.grant_consent(&NewConsent { client: stranger, ..new.clone() }, &owner).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(s.consents_of(SubjectKind::Enterprise, "0101234567").await.unwrap().is_empty());

        let c = s.grant_consent(&new, &owner).await.unwrap();
        let kind = SubjectKind::Enterprise;
        assert!(s.effective_consent(kind, "0101234567", &client, &service, Utc::now()).await.unwrap().is_some());
        let other_client = ClientId::parse("VN/GOV/BTC/DKDN").unwrap();
        assert!(s.effective_consent(kind, "0101234567", &other_client, &service, Utc::now()).await.unwrap().is_none());
        assert!(s.effective_consent(kind, "0109999999", &client, &service, Utc::now()).await.unwrap().is_none());
        // Only the subject revokes its consent.
        assert!(matches!(s.revoke_consent(kind, "0109999999", c.id, &owner).await, Err(StoreError::NotFound)));
        let revoked = s.revoke_consent(kind, "0101234567", c.id, &owner).await.unwrap();
        let t = revoked.revoked_at.unwrap();
        assert!(s.effective_consent(kind, "0101234567", &client, &service, t).await.unwrap().is_none());
        assert!(s.effective_consent(kind, "0101234567", &client, &service, Utc::now()).await.unwrap().is_none());
        assert!(
            s.effective_consent(kind, "0101234567", &client, &service, t - Duration::milliseconds(1))
                .await
                .unwrap()
                .is_some()
        );
        // Revoking again keeps the first instant.
        assert_eq!(s.revoke_consent(kind, "0101234567", c.id, &owner).await.unwrap().revoked_at, Some(t));
        assert_eq!(s.consents_of(kind, "0101234567").await.unwrap()[0].validity().status(Utc::now()), "revoked");
    }
}

#[tokio::test]
async fn reads_of_a_persons_data_are_recorded_with_their_log_entry_and_listed_for_them_only() {
    use sen_store::data_reads::DataRead;
    for s in stores().await {
        s.migrate().await.unwrap();
        let (size_before, _) = s.log_head().await.unwrap();
        let read = |who: &str, service: &str, minutes: i64| DataRead {
            subject_kind: "person".into(),
            subject_id: who.into(),
            service: service.into(),
            client: "VN/GOV/VPCP/DVCQG".into(),
            user_id: Some("cb.001".into()),
            purpose: Some("1.004194".into()),
            message_id: Some(format!("m-{}-{minutes}", who.len())),
            read_at: chrono::Utc::now() - chrono::Duration::minutes(minutes),
        };
        let writes = [
            read("001203004567", "VN/GOV/BCA/CSDLQGDC/residence", 10),
            read("001203004567", "VN/GOV/BTP/HOTICH/civil-status", 5),
            read("079199001234", "VN/GOV/BCA/CSDLQGDC/residence", 1),
        ];
        let tasks: Vec<_> = writes.iter().cloned().map(|r| s.record_data_read(r)).collect();
        for t in tasks {
            t.await.unwrap();
        }
        let mine = s.data_reads_of("person", "001203004567", None).await.unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].service, "VN/GOV/BTP/HOTICH/civil-status", "newest first");
        assert_eq!(mine[1].message_id.as_deref(), Some("m-12-10"));
        let one = s.data_reads_of("person", "001203004567", Some("VN/GOV/BCA/CSDLQGDC/residence")).await.unwrap();
        assert_eq!(one.len(), 1);
        assert!(s.data_reads_of("enterprise", "001203004567", None).await.unwrap().is_empty());
        // Each read committed one log entry holding the row's digest, not the personal number.
        s.sequence_log(100).await.unwrap();
        let (size, _) = s.log_head().await.unwrap();
        assert_eq!(size - size_before, 3);
        let entries = s.log_entries(size_before, 10).await.unwrap();
        let digests: Vec<String> = entries
            .iter()
            .map(|e| {
                serde_json::from_str::<serde_json::Value>(&e.body).unwrap()["digest"].as_str().unwrap().to_string()
            })
            .collect();
        // The rows read back hash to what the log holds.
        for r in mine.iter().chain(&one) {
            assert!(digests.contains(&r.digest()), "{r:?}");
        }
        assert!(entries.iter().all(|e| !e.body.contains("001203004567")));
    }
}

#[tokio::test]
async fn fetched_evidence_is_the_applicants_own_and_provenance_is_written_with_the_dossier() {
    use sen_domain::evidence::{Evidence, Fact, Provenance, Registry};
    use sen_store::evidence::{ComponentRecord, FetchStatus, NewFetchedEvidence};
    for s in stores().await {
        let f = fixture(&s).await;
        let at = Utc::now();
        let land = Evidence {
            registry: Registry::Land,
            record_id: "CS123456".into(),
            facts: vec![Fact {
                key: "parcel_address".into(),
                label_vi: "Địa chỉ".into(),
                label_en: "Address".into(),
                value: "5 Lê Lợi".into(),
            }],
        };
        let answers = vec![
            NewFetchedEvidence {
                registry: Registry::Land,
                service: "VN/GOV/BNNMT/CSDLDD/land".into(),
                status: FetchStatus::Found,
                evidence: Some(land.clone()),
                digest: Some("ab".repeat(32)),
                message_id: Some("m-1".into()),
                fetched_at: at,
            },
            NewFetchedEvidence {
                registry: Registry::CivilStatus,
                service: "VN/GOV/BTP/HOTICH/civil-status".into(),
                status: FetchStatus::Unavailable,
                evidence: None,
                digest: None,
                message_id: None,
                fetched_at: at,
            },
        ];
        assert!(matches!(s.record_fetched_evidence(f.user_id, f.procedure_id, &[]).await, Err(StoreError::Invalid(_))));
        let batch = s.record_fetched_evidence(f.user_id, f.procedure_id, &answers).await.unwrap();
        // Another user's batch does not exist for them, and cannot be confirmed by them.
        assert!(s.fetched_evidence(f.user_id + 1, &batch).await.unwrap().is_empty());
        assert!(matches!(s.confirm_evidence(f.user_id + 1, &batch, at).await, Err(StoreError::NotFound)));
        let rows = s.fetched_evidence(f.user_id, &batch).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].evidence(), Some(land));
        assert_eq!(rows[1].status(), FetchStatus::Unavailable);
        assert!(rows[1].evidence().is_none());
        assert!(!rows[0].usable_at(at), "not confirmed yet");
        assert_eq!(s.confirm_evidence(f.user_id, &batch, at).await.unwrap(), 2);
        assert_eq!(s.confirm_evidence(f.user_id, &batch, at).await.unwrap(), 0, "once");
        let rows = s.fetched_evidence(f.user_id, &batch).await.unwrap();
        assert!(rows[0].usable_at(at));
        assert!(!rows[0].usable_at(at + sen_store::evidence::EVIDENCE_VALID_FOR + chrono::Duration::seconds(1)));
        // A purge keeps what is younger than its limit, and deletes the rest.
        assert_eq!(s.purge_fetched_evidence(at - chrono::Duration::seconds(1)).await.unwrap(), 0);

        let mut new = new_dossier(&f, None);
        new.components = vec![
            ComponentRecord::provided("Tờ khai", Provenance::Form),
            ComponentRecord::from_registry(
                "Giấy tờ chứng minh chỗ ở hợp pháp",
                Provenance::Fetched,
                &rows[0],
                vec!["new_address".into()],
            ),
            ComponentRecord::provided("Ảnh", Provenance::Upload),
        ];
        let d = s.submit_dossier(new.clone()).await.unwrap();
        let stored = s.dossier_components(d.id).await.unwrap();
        assert_eq!(stored.len(), 3);
        let fetched = stored.iter().find(|c| c.source == Provenance::Fetched).unwrap();
        assert_eq!(fetched.registry, Some(Registry::Land));
        assert_eq!(fetched.record_id.as_deref(), Some("CS123456"));
        assert_eq!(fetched.message_id.as_deref(), Some("m-1"));
        assert_eq!(fetched.fields, vec!["new_address".to_string()]);
        // A second dossier, all uploaded: one fetched of three documents this month.
        let mut other = new_dossier(&f, None);
        other.components = vec![
            ComponentRecord::provided("Giấy tờ chứng minh chỗ ở hợp pháp", Provenance::Upload),
            ComponentRecord::provided("Ảnh", Provenance::Upload),
        ];
        s.submit_dossier(other).await.unwrap();
        let figures = s.reuse_figures("2000-01").await.unwrap();
        assert_eq!(figures.len(), 1, "{figures:?}");
        assert_eq!((figures[0].fetched, figures[0].uploaded), (1, 3));
        assert_eq!(figures[0].procedure_id, f.procedure_id);
        assert!(s.reuse_figures("2999-01").await.unwrap().is_empty());
        // Deleting the batch keeps the dossier's provenance.
        assert_eq!(s.purge_fetched_evidence(at + chrono::Duration::seconds(1)).await.unwrap(), 2);
        assert!(s.fetched_evidence(f.user_id, &batch).await.unwrap().is_empty());
        assert_eq!(s.dossier_components(d.id).await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn a_birth_registered_writes_the_civil_status_book_and_one_event_that_each_consumer_applies_once() {
    use sen_store::outbox::{Applied, consumers};
    let stores_a = stores().await;
    let stores_b = stores().await;
    for (s, other_node) in stores_a.into_iter().zip(stores_b) {
        let f = fixture(&s).await;
        other_node.migrate().await.unwrap();
        let mut spec = s.procedure(f.procedure_id).await.unwrap().spec();
        spec.code = "1.001193".into();
        spec.name = "Đăng ký khai sinh".into();
        let birth = s
            .create_procedure(&spec, &json!({"type": "object", "properties": {}}), &Actor::system("test"))
            .await
            .unwrap();
        let mut new = new_dossier(&f, None);
        new.procedure_id = birth;
        new.data = json!({"child_full_name": "Nguyễn Minh An", "child_birth_date": "2026-11-20", "child_sex": "Nam",
            "place_of_birth": "Bệnh viện Phụ sản Hà Nội", "mother_full_name": "Trần Thị Mai", "mother_id_number": "001190012345"});
        let sub = s.submit_dossier(new).await.unwrap();
        let cal = Calendar::vietnam();
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let req = |action| ActRequest {
            dossier_id: sub.id,
            action,
            actor: Actor::system("test"),
            expected_version: None,
            reason: None,
            to_agency_id: None,
            to_user_id: None,
            result: Some(json!({"document": "Giấy khai sinh"})),
            files: vec![],
            today,
            deadline_days: 0,
            signer: None,
            issued: None,
        };
        for a in [Action::Receive, Action::Approve] {
            s.act(req(a), &cal).await.unwrap();
            assert!(s.outbox_pending(10).await.unwrap().is_empty(), "no event before the result");
        }
        s.act(req(Action::IssueResult), &cal).await.unwrap();
        let pending = s.outbox_pending(10).await.unwrap();
        assert_eq!(pending.len(), 1);
        let event = pending[0].event();
        assert_eq!(event.topic, "civil-status.birth-registered");
        assert_eq!(event.event_id.len(), 32);
        let child = event.payload["person_number"].as_str().unwrap().to_string();
        assert!(sen_domain::ident::validate_personal_number(&child).is_ok(), "{child}");
        assert_eq!(event.payload["record_id"], "H01.STP/birth/2026/1");
        // The civil-status book has the birth, in the same transaction as the result.
        let book = s.civil_events_of(&child).await.unwrap();
        assert_eq!(book.len(), 1);
        assert_eq!(
            (book[0].kind.as_str(), book[0].number, book[0].subject_name.as_str()),
            ("birth", 1, "Nguyễn Minh An")
        );

        // The population registry, here and on another node, applies it once each.
        for node in [&s, &other_node] {
            assert_eq!(node.apply_event(consumers::POPULATION, &event).await.unwrap(), Applied::Done);
            assert_eq!(node.apply_event(consumers::POPULATION, &event).await.unwrap(), Applied::AlreadyProcessed);
            assert_eq!(node.person(&child).await.unwrap().full_name, "Nguyễn Minh An");
            assert_eq!(node.processed_count(consumers::POPULATION).await.unwrap(), 1);
        }
        s.mark_published(&[pending[0].id], Utc::now()).await.unwrap();
        assert!(s.outbox_pending(10).await.unwrap().is_empty());
        assert_eq!(s.outbox_recent(10).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn life_events_become_offers_once_for_those_who_want_them_and_ages_are_announced_once() {
    use sen_store::models::{Household, Person};
    use sen_store::outbox::{Applied, Event, consumers};
    use sen_store::proactive::{OfferDecision, OfferState};
    use sen_store::registries::InsuranceRecord;
    for s in stores().await {
        s.migrate().await.unwrap();
        // The shipped rules are installed with the schema.
        let rules = s.proactive_rules().await.unwrap();
        assert!(rules.iter().any(|r| r.key == "birth.health-insurance" && r.enabled && r.version == 1));
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let person = |n: &str, name: &str, born, sex: &str, rel: &str| Person {
            person_number: n.into(),
            full_name: name.into(),
            birth_date: born,
            sex: sex.into(),
            birth_province_code: "001".into(),
            commune_code: "00001".into(),
            address: "12 Hàng Bạc, Hoàn Kiếm, Hà Nội".into(),
            household_id: Some(1),
            relation_to_head: rel.into(),
        };
        let today = Utc::now().with_timezone(&sen_store::vn_offset()).date_naive();
        let fourteen = today.checked_sub_months(chrono::Months::new(168)).unwrap();
        s.insert_households(&[Household {
            id: 1,
            head_person_number: "001080005566".into(),
            address: "12 Hàng Bạc".into(),
            commune_code: "00001".into(),
        }])
        .await
        .unwrap();
        s.insert_persons(&[
            person("001080005566", "Phạm Văn Long", d(1980, 3, 2), "Nam", "Chủ hộ"),
            person("001190012345", "Trần Thị Mai", d(1990, 5, 6), "Nữ", "Vợ"),
            person("001212004455", "Phạm Gia Huy", fourteen, "Nam", "Con"),
        ])
        .await
        .unwrap();
        s.insert_insurance_records(&[InsuranceRecord {
            person_number: "001190012345".into(),
            social_insurance_number: "0101234567".into(),
            health_card_number: "DN4010101234567".into(),
            health_card_valid_from: d(2026, 1, 1),
            health_card_valid_to: d(2026, 12, 31),
            initial_care_facility: "Bệnh viện Bạch Mai".into(),
            contribution_months: 40,
            employer_tax_code: None,
        }])
        .await
        .unwrap();
        let birth = |id: &str, mother: &str| Event {
            event_id: id.into(),
            topic: "civil-status.birth-registered".into(),
            payload: json!({"kind": "birth_registered", "child_name": "Phạm Minh An", "person_number": "001226012345",
                "birth_date": today.to_string(), "sex": "Nam", "place": "Bệnh viện Phụ sản Hà Nội",
                "mother_name": "Trần Thị Mai", "mother_person_number": mother, "record_id": "H01/birth/2026/7"}),
            created_at: Utc::now(),
        };
        let e = birth("e1", "001190012345");
        assert_eq!(s.apply_event(consumers::PROACTIVE, &e).await.unwrap(), Applied::Done);
        assert_eq!(s.apply_event(consumers::PROACTIVE, &e).await.unwrap(), Applied::AlreadyProcessed);
        let offers = s.offers_for("001190012345", 50).await.unwrap();
        let mut keys: Vec<&str> = offers.iter().map(|o| o.rule_key.as_str()).collect();
        keys.sort();
        assert_eq!(keys, ["birth.health-insurance", "birth.maternity-benefit", "birth.permanent-residence"]);
        let maternity = offers.iter().find(|o| o.rule_key == "birth.maternity-benefit").unwrap();
        // Eligibility from the insurance registry, explained.
        assert!(
            maternity.because.contains("0101234567") && maternity.because.contains("40 tháng"),
            "{}",
            maternity.because
        );
        assert_eq!(maternity.prepared_fields()["social_insurance_number"], "0101234567");
        assert_eq!(maternity.held_documents()[0].1, "H01/birth/2026/7");
        let residence = offers.iter().find(|o| o.rule_key == "birth.permanent-residence").unwrap();
        assert_eq!(residence.prepared_fields()["head_of_household"], "Phạm Văn Long");
        assert_eq!(residence.state(today), OfferState::Open);

        // Decisions are versioned: the second of two racing decisions loses.
        let hi = offers.iter().find(|o| o.rule_key == "birth.health-insurance").unwrap();
        let later = s
            .decide_offer(hi.id, hi.version, OfferDecision::Postpone { until: today + chrono::Duration::days(7) })
            .await
            .unwrap();
        assert_eq!(later.state(today), OfferState::Postponed);
        assert_eq!(later.state(today + chrono::Duration::days(7)), OfferState::Open, "a postponement ends by itself");
        assert!(matches!(
            s.decide_offer(hi.id, hi.version, OfferDecision::Decline).await,
            Err(StoreError::Conflict { .. })
        ));
        s.decide_offer(residence.id, residence.version, OfferDecision::Decline).await.unwrap();
        assert!(
            matches!(
                s.decide_offer(residence.id, residence.version + 1, OfferDecision::Accept { dossier_id: 1 }).await,
                Err(StoreError::Conflict { .. })
            ),
            "a declined offer stays declined"
        );

        // Someone who turned offers off gets none; a mother without insurance gets no maternity offer.
        s.set_proactive_opt_out("001190012345", true).await.unwrap();
        assert!(s.proactive_opted_out("001190012345").await.unwrap());
        s.apply_event(consumers::PROACTIVE, &birth("e2", "001190012345")).await.unwrap();
        assert!(s.offers_of_event("e2").await.unwrap().is_empty());
        s.apply_event(consumers::PROACTIVE, &birth("e3", "001080005566")).await.unwrap();
        let e3: Vec<String> = s.offers_of_event("e3").await.unwrap().into_iter().map(|o| o.rule_key).collect();
        assert!(!e3.contains(&"birth.maternity-benefit".to_string()), "{e3:?}");

        // An edited rule is versioned; a stale edit is refused.
        let mut r = s.proactive_rule("age14.identity-card").await.unwrap();
        r.rule.title = "{name} đủ 14 tuổi".into();
        assert_eq!(s.save_proactive_rule(&r.rule, None, true, Some(1), "user:1").await.unwrap(), 2);
        assert!(matches!(
            s.save_proactive_rule(&r.rule, None, true, Some(1), "user:1").await,
            Err(StoreError::Conflict { .. })
        ));

        // The age scan announces the 14th birthday once, however often it runs.
        let n = s.scan_age_milestones(today).await.unwrap();
        assert_eq!(n, 1);
        assert_eq!(s.scan_age_milestones(today).await.unwrap(), 0);
        let ev = s
            .outbox_pending(10)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.topic == "population.age-reached")
            .unwrap()
            .event();
        assert_eq!(ev.payload["milestone"], "14");
        assert_eq!(ev.payload["household_head_number"], "001080005566");
        s.apply_event(consumers::PROACTIVE, &ev).await.unwrap();
        let card = s.offers_for("001080005566", 10).await.unwrap();
        let card = card.iter().find(|o| o.rule_key == "age14.identity-card").unwrap();
        assert_eq!(card.title, "Phạm Gia Huy đủ 14 tuổi");
        assert_eq!(card.procedure_code, "2.001386");
    }
}

#[tokio::test]
async fn a_notification_is_claimed_once_retried_after_its_lease_and_kept_until_it_ends() {
    use sen_domain::notify::{Kind, Outcome};
    use sen_store::notify::{NewNotification, Refusal};
    for s in stores().await {
        s.migrate().await.unwrap();
        let new = |template: &str, to: &str, values: &[(&str, &str)]| NewNotification {
            kind: Kind::Email,
            template_id: template.into(),
            recipient: to.into(),
            personalisation: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            reference: Some("ref-1".into()),
            created_by: "user:1".into(),
        };
        let all = [("name", "Mai"), ("code", "H01-1"), ("procedure", "Khai sinh"), ("url", "http://x")];
        assert_eq!(
            s.create_notification(&new("nope", "a@b.vn", &all)).await.unwrap().unwrap_err(),
            Refusal::NoTemplate
        );
        assert_eq!(
            s.create_notification(&new("dossier-result", "a b", &all)).await.unwrap().unwrap_err(),
            Refusal::BadRecipient
        );
        assert_eq!(
            s.create_notification(&new("dossier-result", "a@b.vn", &all[..2])).await.unwrap().unwrap_err(),
            Refusal::Missing(vec!["procedure".into(), "url".into()])
        );
        assert_eq!(s.notification_count("created").await.unwrap(), 0, "a refusal writes nothing");
        let n = s.create_notification(&new("dossier-result", "a@b.vn", &all)).await.unwrap().unwrap();
        let t0 = Utc::now();
        let claimed = s.claim_notifications(t0, 10, 60).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 1);
        // Held: nobody else takes it while the lease runs.
        assert!(s.claim_notifications(t0 + chrono::Duration::seconds(30), 10, 60).await.unwrap().is_empty());
        // The sender died: after the lease another takes it, one attempt more.
        let again = s.claim_notifications(t0 + chrono::Duration::seconds(61), 10, 60).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 2);
        // The late first sender's outcome does not overwrite the second's attempt.
        s.record_attempt(&claimed[0], &Outcome::Delivered, t0).await.unwrap();
        assert_eq!(s.notification(&n.id).await.unwrap().status, "sending");
        let st = s.record_attempt(&again[0], &Outcome::Technical("refused".into()), t0).await.unwrap();
        assert_eq!(st.as_str(), "sending");
        let third = s.claim_notifications(t0 + chrono::Duration::seconds(100), 10, 60).await.unwrap();
        assert_eq!(third.len(), 1, "due again after the back-off");
        s.record_attempt(&third[0], &Outcome::Delivered, t0).await.unwrap();
        let done = s.notification(&n.id).await.unwrap();
        assert_eq!((done.status.as_str(), done.attempts), ("delivered", 3));
        assert!(s.claim_notifications(t0 + chrono::Duration::days(1), 10, 60).await.unwrap().is_empty());
        let listed =
            s.notifications(Some("user:1"), Some("delivered"), Some("email"), Some("ref-1"), None, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(s.notifications(Some("user:2"), None, None, None, None, 10).await.unwrap().is_empty());
        assert_eq!(
            s.save_template("dossier-result", "Kết quả", Kind::Email, Some("KQ ((code))"), "((code))", "user:1")
                .await
                .unwrap(),
            2
        );
        assert!(
            s.save_template("dossier-result", "x", Kind::Sms, None, "x", "user:1").await.is_err(),
            "a template keeps its channel"
        );
    }
}

#[tokio::test]
async fn open_data_datasets_keep_their_dictionary_and_replace_their_resources() {
    use sen_store::opendata::{StoredDataset, StoredResource};
    for s in stores().await {
        let f = fixture(&s).await;
        let now = Utc::now();
        let ds = |id: &str, name: &str| StoredDataset {
            id: id.into(),
            name: name.into(),
            agency_id: f.agency_id,
            state: "active".into(),
            body: json!({"title": "Dân số theo xã", "extra_field": {"kept": true}}),
            created_at: now,
            modified_at: now,
        };
        let res = |id: &str, pos: i64| StoredResource {
            id: id.into(),
            dataset_id: "d1".into(),
            position: pos,
            body: json!({"name": format!("Tệp {pos}"), "format": "CSV"}),
            created_at: now,
            modified_at: now,
        };
        s.save_dataset(&ds("d1", "dan-so"), &[res("r1", 0), res("r2", 1)]).await.unwrap();
        let got = s.dataset("dan-so").await.unwrap();
        assert_eq!(got.id, "d1");
        assert_eq!(got.body["extra_field"]["kept"], json!(true));
        assert_eq!(s.dataset("d1").await.unwrap().name, "dan-so");
        assert_eq!(s.dataset_resources("d1").await.unwrap().len(), 2);
        // An update replaces the resources.
        s.save_dataset(&ds("d1", "dan-so-2025"), &[res("r3", 0)]).await.unwrap();
        let rs = s.dataset_resources("d1").await.unwrap();
        assert_eq!(rs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec!["r3"]);
        assert!(matches!(s.resource("r1").await, Err(StoreError::NotFound)));
        // A second dataset may not take the name.
        assert!(matches!(s.save_dataset(&ds("d2", "dan-so-2025"), &[]).await, Err(StoreError::Duplicate(_))));
        assert!(matches!(s.dataset("d2").await, Err(StoreError::NotFound)));
        s.save_dataset(&ds("d2", "khong-khi"), &[]).await.unwrap();
        assert_eq!(s.dataset_names(0, 10).await.unwrap(), vec!["dan-so-2025", "khong-khi"]);
        assert_eq!(s.all_datasets(1).await.unwrap().len(), 2);
        let mut deleted = ds("d2", "khong-khi");
        deleted.state = "deleted".into();
        s.save_dataset(&deleted, &[]).await.unwrap();
        assert_eq!(s.dataset_names(0, 10).await.unwrap(), vec!["dan-so-2025"]);
        assert_eq!(s.datasets_per_agency().await.unwrap(), vec![(f.agency_id, 1)]);
        assert_eq!(s.datasets_by_modified(0, 10).await.unwrap().len(), 1);

        // Link checks: every resource of an active dataset is due once, then not until its
        // check is old or the resource changed.
        use sen_store::opendata::LinkCheck;
        let due = s.links_due(now - chrono::Duration::days(1), 100).await.unwrap();
        assert_eq!(due.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(), vec!["r3"]);
        assert_eq!(due[0].1["format"], "CSV");
        let check = |status: Option<i64>, at| LinkCheck {
            resource_id: "r3".into(),
            url: "https://example.vn/dan-so.csv".into(),
            status,
            error: status.is_none().then(|| "refused".to_string()),
            checked_at: at,
        };
        s.save_link_checks(&[check(None, now + chrono::Duration::seconds(1))]).await.unwrap();
        assert!(s.links_due(now - chrono::Duration::days(1), 100).await.unwrap().is_empty());
        assert_eq!(s.links_due(now + chrono::Duration::days(2), 100).await.unwrap().len(), 1, "old checks are due");
        // A later check replaces the first.
        s.save_link_checks(&[check(Some(200), now + chrono::Duration::seconds(2))]).await.unwrap();
        let got = s.link_checks(&["r3".into(), "r9".into()]).await.unwrap();
        assert_eq!(got.len(), 1);
        assert!(got[0].reachable() && got[0].error.is_none());
        // The resource changes: due again.
        let mut changed = res("r3", 0);
        changed.modified_at = now + chrono::Duration::seconds(10);
        s.save_dataset(&ds("d1", "dan-so-2025"), &[changed]).await.unwrap();
        assert_eq!(s.links_due(now - chrono::Duration::days(1), 100).await.unwrap().len(), 1);

        // Usage: counts from several flushes (or nodes) add up per dataset, resource, day, kind.
        use sen_store::opendata::Usage;
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let u = |res: &str, d: u32, kind: &str, count: i64| Usage {
            dataset_id: "d1".into(),
            resource_id: res.into(),
            day: day(d),
            kind: kind.into(),
            count,
        };
        s.add_usage(&[u("", 1, "view", 3), u("r3", 1, "download", 2), u("", 2, "api", 5)]).await.unwrap();
        s.add_usage(&[u("", 1, "view", 4), u("", 30, "view", 1)]).await.unwrap();
        let days = s.dataset_usage("d1", day(1), day(3)).await.unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!(days.iter().find(|x| x.kind == "view").unwrap().count, 7);
        let totals = s.usage_totals(day(1), day(30)).await.unwrap();
        let total =
            |res: &str, kind: &str| totals.iter().find(|t| t.resource_id == res && t.kind == kind).map(|t| t.count);
        assert_eq!((total("", "view"), total("r3", "download"), total("", "api")), (Some(7), Some(2), Some(5)));
        let december = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(s.usage_totals(day(1), december).await.unwrap().iter().find(|t| t.kind == "view").unwrap().count, 8);

        // Reuses, linked to the datasets they use.
        use sen_store::opendata::StoredReuse;
        let reuse = StoredReuse {
            id: "u1".into(),
            title: "Bản đồ dân số".into(),
            kind: "visualisation".into(),
            url: "https://example.vn/ban-do".into(),
            description: "Dân số theo xã trên bản đồ".into(),
            author_id: f.user_id,
            created_at: chrono::SubsecRound::trunc_subsecs(now, 3),
            datasets: vec!["d1".into()],
        };
        s.save_reuse(&reuse).await.unwrap();
        assert_eq!(s.reuses(Some("d1"), 10).await.unwrap(), vec![reuse.clone()]);
        assert!(s.reuses(Some("d2"), 10).await.unwrap().is_empty());
        assert_eq!(s.reuse_counts().await.unwrap().get("d1"), Some(&1));
        assert!(s.save_reuse(&reuse).await.is_err(), "an id once");
        s.delete_reuse("u1").await.unwrap();
        assert!(matches!(s.delete_reuse("u1").await, Err(StoreError::NotFound)));
        assert!(s.reuses(None, 10).await.unwrap().is_empty());
    }
}

/// Where a store lives, to connect to it again as a restarted process would.
enum Place {
    Sqlite(std::path::PathBuf),
    Postgres(String, String),
}

impl Place {
    fn all(what: &str) -> Vec<Place> {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("sen-store-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut v = vec![Place::Sqlite(dir)];
        if let Ok(url) = std::env::var("SEN_TEST_POSTGRES_URL") {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
            v.push(Place::Postgres(url, format!("{what}{}_{n}_{nanos}", std::process::id())));
        }
        v
    }

    async fn connect(&self) -> Store {
        let s = self.open().await;
        s.migrate().await.unwrap();
        s
    }

    /// Connected, not migrated.
    async fn open(&self) -> Store {
        match self {
            Place::Sqlite(dir) => Store::connect(&StoreConfig::sqlite_in(dir)).await.unwrap(),
            Place::Postgres(url, schema) => Store::connect_postgres_schema(url, schema).await.unwrap(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Place::Sqlite(_) => "SQLite",
            Place::Postgres(..) => "PostgreSQL",
        }
    }
}

/// A folder of its own for one store's journal, say (not created).
fn scratch_dir(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("sen-{what}-it-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)))
}

fn message(i: usize) -> sen_store::exchange_log::ExchangeMessage {
    sen_store::exchange_log::ExchangeMessage {
        message_id: format!("m-{i}"),
        side: "client".into(),
        client: "VN/GOV/VPCP/DVCQG".into(),
        service: "VN/GOV/BCA/CSDLQGDC/residence".into(),
        method: "GET".into(),
        request_hash: format!("hash-{i}"),
        request_signature: Some("sig".into()),
        response_digest: Some("digest".into()),
        response_signature: Some("sig".into()),
        status: 200,
        error_type: None,
        peer: Some("VN/GOV/BCA/GW1".into()),
        started_at: Utc::now(),
        duration_us: 1000,
    }
}

async fn recorded(s: &Store) -> u64 {
    let stats = s.exchange_monitoring(Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    stats.iter().map(|x| x.count).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journaled_records_reach_the_database_once_even_when_it_went_away_before_import() {
    for place in Place::all("journal") {
        let dir = scratch_dir("journal");
        let name = "exchange_messages VN/GOV/VPCP/GW1";
        let store = place.connect().await;
        let journal = store.message_journal(&dir, name).await.unwrap();
        let journal = std::sync::Arc::new(journal);
        let append = |range: std::ops::Range<usize>| {
            let journal = journal.clone();
            async move {
                let tasks: Vec<_> = range
                    .map(|i| {
                        let journal = journal.clone();
                        tokio::spawn(async move { journal.append(message(i)).await })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap().unwrap();
                }
            }
        };
        // Acknowledged and imported.
        append(0..100).await;
        journal.flush().await.unwrap();
        assert_eq!(recorded(&store).await, 100);
        // Acknowledged (on disk), then the database goes away and the process stops before
        // (some of) them were imported.
        append(100..300).await;
        store.close().await;
        drop(journal);

        // Started again: what the journal holds past the imported position is imported, once.
        let store = place.connect().await;
        let journal = store.message_journal(&dir, name).await.unwrap();
        assert_eq!(journal.waiting(), 0);
        assert_eq!(recorded(&store).await, 300);
        for i in [0, 150, 299] {
            assert_eq!(store.exchange_message(&format!("m-{i}")).await.unwrap().len(), 1, "m-{i}");
        }
        // Each record is in the tamper-evident log too (one entry per import).
        store.sequence_log(10_000).await.unwrap();
        for i in [0, 150, 299] {
            let proofs = store.exchange_record_proof(&format!("m-{i}")).await.unwrap();
            assert_eq!(proofs.len(), 1);
            proofs[0].verify().unwrap_or_else(|e| panic!("m-{i} on {}: {e}", place.name()));
        }
        // And writing goes on after what was read back.
        journal.append(message(300)).await.unwrap();
        drop(journal);
        let journal = store.message_journal(&dir, name).await.unwrap();
        journal.flush().await.unwrap();
        assert_eq!(recorded(&store).await, 301);
        drop(journal);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The usage a gateway reports (K12): per subsystem, as client or as provider, the messages
/// that exchanged data — refused or failed ones (an `X-Road-Error`, a 5xx) left out — counted
/// by the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_counts_the_messages_that_exchanged_data_per_subsystem() {
    for place in Place::all("usage") {
        let dir = scratch_dir("usage");
        let store = place.connect().await;
        let journal = store.message_journal(&dir, "exchange_messages VN/GOV/BCA/GW1").await.unwrap();
        for i in 0..12 {
            let mut m = message(i);
            if i % 3 == 0 {
                m.client = "VN/GOV/BTP/HTTP".into();
                m.service = "VN/GOV/BTP/CSDLHT/civil-status".into();
            }
            match i {
                1 => m.status = 503,
                2 => (m.status, m.error_type) = (403, Some("Server.ServerProxy.AccessDenied".into())),
                4 => m.status = 404,
                _ => {}
            }
            journal.append(m).await.unwrap();
        }
        journal.flush().await.unwrap();
        let now = Utc::now();
        let usage = store.exchange_usage(now.date_naive()).await.unwrap();
        // i = 0, 3, 6, 9: the justice ministry's client calling its own registry; the other
        // eight, the portal calling residence, less the 503 (i = 1) and the refusal (i = 2).
        let expected: std::collections::BTreeMap<String, i64> =
            [("VN/GOV/BCA/CSDLQGDC", 6), ("VN/GOV/BTP/CSDLHT", 4), ("VN/GOV/BTP/HTTP", 4), ("VN/GOV/VPCP/DVCQG", 6)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        assert_eq!(usage, expected, "{}", place.name());
        let earlier = store.exchange_usage(now.date_naive() - chrono::Duration::days(1)).await.unwrap();
        assert!(earlier.is_empty(), "{earlier:?}");
        drop(journal);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A gateway's records are logged one entry per import: a record is proved from its row to
/// the log's root, and a record changed in the database afterwards, or an entry changed, no
/// longer proves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_record_is_proved_from_its_row_to_the_log_and_a_changed_row_is_not() {
    for place in Place::all("proof") {
        let dir = scratch_dir("proof");
        let store = place.connect().await;
        let journal =
            std::sync::Arc::new(store.message_journal(&dir, "exchange_messages VN/GOV/BCA/GW1").await.unwrap());
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let journal = journal.clone();
                tokio::spawn(async move {
                    let mut m = message(i);
                    // Times with nanoseconds: the text is kept to the microsecond, as stored.
                    m.started_at += chrono::Duration::nanoseconds(i as i64 * 7 + 1);
                    m.error_type = (i % 5 == 0).then(|| "Server.ServerProxy.AccessDenied".to_string());
                    journal.append(m).await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        journal.flush().await.unwrap();
        journal.append(message(40)).await.unwrap();
        journal.flush().await.unwrap();
        store.sequence_log(10_000).await.unwrap();
        let (size, _) = store.log_head().await.unwrap();
        assert!(size < 41, "{} entries for 41 records on {}", size, place.name());
        for i in [0, 13, 39, 40] {
            let proofs = store.exchange_record_proof(&format!("m-{i}")).await.unwrap();
            assert_eq!(proofs.len(), 1, "m-{i}");
            let p = &proofs[0];
            p.verify().unwrap_or_else(|e| panic!("m-{i} on {}: {e}", place.name()));
            assert_eq!(p.record.message_id, format!("m-{i}"));
            assert!(p.batch_index < p.batch_size && p.entry_seq < p.log_size);
            // A proof altered on its way does not verify either.
            let mut forged = p.clone();
            forged.record.status = 500;
            forged.record_text = forged.record.record_text();
            assert!(forged.verify().unwrap_err().contains("not in the batch"), "{}", place.name());
        }
        // A row changed in the database after it was logged: its proof fails.
        store
            .db()
            .execute(
                &Query::update()
                    .table("exchange_messages")
                    .value("status", 404)
                    .and_where(sea_query::Expr::col("message_id").eq("m-13"))
                    .to_owned(),
            )
            .await
            .unwrap();
        let err = store.exchange_record_proof("m-13").await.unwrap()[0].verify().unwrap_err();
        assert!(err.contains("not in the batch"), "{err}");
        // So does every other record of its batch (their batch's root changed).
        let other = store.exchange_record_proof("m-39").await.unwrap()[0].clone();
        let mate = store.exchange_record_proof("m-0").await.unwrap()[0].clone();
        if other.entry_seq == mate.entry_seq {
            assert!(other.verify().is_err());
        }
        // A record of another import is untouched.
        store.exchange_record_proof("m-40").await.unwrap()[0].verify().unwrap();
        assert!(store.exchange_record_proof("nothing").await.unwrap().is_empty());
        drop(journal);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Migration 26 tallies the messages a gateway recorded in the week before it (what usage
/// reports and monitoring read); their records, logged one entry each then, are said to be
/// so rather than proved as batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_26_counts_the_messages_recorded_before_it() {
    for place in Place::all("usage26") {
        let store = place.open().await;
        store.migrate_to(25).await.unwrap();
        let now = Utc::now();
        for (i, (status, error, at)) in [
            (200, None, now),
            (404, None, now),
            (503, None, now),
            (403, Some("Server.ServerProxy.AccessDenied"), now),
            (200, None, now - chrono::Duration::days(1)),
            (200, None, now - chrono::Duration::days(8)),
        ]
        .into_iter()
        .enumerate()
        {
            let m = message(i);
            store
                .db()
                .execute(
                    &Query::insert()
                        .into_table("exchange_messages")
                        .columns([
                            "message_id",
                            "side",
                            "client",
                            "service",
                            "method",
                            "request_hash",
                            "status",
                            "error_type",
                            "started_at",
                            "duration_us",
                        ])
                        .values_panic([
                            m.message_id.into(),
                            m.side.into(),
                            m.client.into(),
                            m.service.into(),
                            m.method.into(),
                            m.request_hash.into(),
                            i64::from(status).into(),
                            error.map(str::to_string).into(),
                            at.into(),
                            1000i64.into(),
                        ])
                        .to_owned(),
                )
                .await
                .unwrap();
        }
        store.migrate().await.unwrap();
        let counts = |day: chrono::NaiveDate| {
            let store = store.clone();
            async move { store.exchange_usage(day).await.unwrap().get("VN/GOV/VPCP/DVCQG").copied().unwrap_or(0) }
        };
        let today = now.date_naive();
        // Today: the 200 and the 404 (the 503 and the refusal did not exchange data).
        assert_eq!(counts(today).await, 2, "{}", place.name());
        assert_eq!(counts(today - chrono::Duration::days(1)).await, 1, "{}", place.name());
        assert_eq!(counts(today - chrono::Duration::days(8)).await, 0, "beyond a week, not counted again");
        // Monitoring's tallies too: five calls in two days, the 503 and the refusal failed.
        let stats = store.exchange_monitoring(now - chrono::Duration::days(2)).await.unwrap();
        assert_eq!(stats.len(), 1);
        assert_eq!((stats[0].count, stats[0].failures), (5, 2), "{}", place.name());
        let err = store.exchange_record_proof("m-0").await.unwrap_err().to_string();
        assert!(err.contains("before batch entries"), "{err}");
        store.close().await;
    }
}

/// Monitoring reads the minutes' tallies each import adds to: every call counted once, the
/// failures, percentiles within their bucket's 4.4%, the exact slowest call; per side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_counts_every_call_with_its_latency_percentiles() {
    for place in Place::all("monitoring") {
        let dir = scratch_dir("monitoring");
        let store = place.connect().await;
        let journal = store.message_journal(&dir, "exchange_messages VN/GOV/BCA/GW1").await.unwrap();
        for i in 1..=200usize {
            let mut m = message(i);
            // 1..=100 ms on each side; every tenth provider-side call a 503.
            m.duration_us = ((i - 1) % 100 + 1) as i64 * 1000;
            if i > 100 {
                m.side = "provider".into();
                if i % 10 == 0 {
                    m.status = 503;
                }
            }
            journal.append(m).await.unwrap();
            if i % 64 == 0 {
                journal.flush().await.unwrap();
            }
        }
        journal.flush().await.unwrap();
        let stats = store.exchange_monitoring(Utc::now() - chrono::Duration::minutes(5)).await.unwrap();
        let sides: Vec<(&str, u64, u64)> = stats.iter().map(|s| (s.side.as_str(), s.count, s.failures)).collect();
        assert_eq!(sides, [("client", 100, 0), ("provider", 100, 10)], "{}", place.name());
        for s in &stats {
            for (got, exact) in [(s.p50_ms, 50.0), (s.p95_ms, 95.0), (s.p99_ms, 99.0)] {
                assert!(got >= exact && got <= exact * 1.045, "{got} for {exact} on {}", place.name());
            }
            assert_eq!(s.max_ms, 100.0);
        }
        assert!(store.exchange_monitoring(Utc::now() + chrono::Duration::minutes(2)).await.unwrap().is_empty());
        drop(journal);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
