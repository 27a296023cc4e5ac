//! Reference data and the deterministic demo generator.
//!
//! `seed` fills an empty database with the 34 provinces and 3,321 commune-level units, the
//! central agencies and the departments and commune authorities of the demo provinces, the
//! procedure catalogue, citizens in households, enterprises, officials, and a history of
//! dossiers in every state. The same seed always gives the same data.

pub mod catalogue;
pub mod geo;
pub mod journeys;
pub mod open_data;
pub mod people;
pub mod petitions;
pub mod registries;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sen_domain::calendar::{Calendar, vietnam_days};
use sen_domain::dossier::{Clock, ClockEffect};
use sen_domain::eform::{EForm, FieldKind};
use sen_domain::ident::{self, Sex};
use sen_domain::procedure::Applicants;
use sen_domain::{Action, DossierState, Lifecycle};
use sen_store::accounts::NewUser;
use sen_store::dossiers::Actor;
use sen_store::reference::NewAgency;
use sen_store::seed::{HistoricDossier, HistoricEvent};
use sen_store::{Agency, Enterprise, Household, Person, Store, StoreError, user_kind};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The password of every demo account; printed when the demo starts.
/// The share of seeded dossiers that start a life situation (see [`journeys`]).
const JOURNEY_SHARE: f64 = 0.25;

pub const DEMO_PASSWORD: &str = "sen-demo-2026";

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub seed: u64,
    pub citizens: usize,
    pub businesses: usize,
    pub dossiers: usize,
    /// "Now" for the generated history (fixed in tests for determinism).
    pub now: DateTime<Utc>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions { seed: 2030, citizens: 10_000, businesses: 500, dossiers: 5_000, now: Utc::now() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the database already holds data; seed an empty database")]
    NotEmpty,
    #[error("loading the dossier history stopped: {0}")]
    Load(String),
}

/// A named demo account, printed at start-up.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub who: String,
}

const CENTRAL: [(&str, &str, &str, &str); 18] = [
    ("BQP", "Bộ Quốc phòng", "Ministry of National Defence", "ministry_defence"),
    ("BCA", "Bộ Công an", "Ministry of Public Security", "ministry_public_security"),
    ("BNG", "Bộ Ngoại giao", "Ministry of Foreign Affairs", "ministry_foreign_affairs"),
    ("BNV", "Bộ Nội vụ", "Ministry of Home Affairs", "ministry_home_affairs"),
    ("BTP", "Bộ Tư pháp", "Ministry of Justice", "ministry_justice"),
    ("BTC", "Bộ Tài chính", "Ministry of Finance", "ministry_finance"),
    ("BCT", "Bộ Công Thương", "Ministry of Industry and Trade", "ministry_industry_trade"),
    ("BNNMT", "Bộ Nông nghiệp và Môi trường", "Ministry of Agriculture and Environment", "ministry_agri_env"),
    ("BXD", "Bộ Xây dựng", "Ministry of Construction", "ministry_construction"),
    ("BVHTTDL", "Bộ Văn hóa, Thể thao và Du lịch", "Ministry of Culture, Sports and Tourism", "ministry_culture"),
    ("BKHCN", "Bộ Khoa học và Công nghệ", "Ministry of Science and Technology", "ministry_science"),
    ("BGDDT", "Bộ Giáo dục và Đào tạo", "Ministry of Education and Training", "ministry_education"),
    ("BYT", "Bộ Y tế", "Ministry of Health", "ministry_health"),
    ("BDTTG", "Bộ Dân tộc và Tôn giáo", "Ministry of Ethnic Minorities and Religions", "ministry_ethnic_religion"),
    ("NHNN", "Ngân hàng Nhà nước Việt Nam", "State Bank of Vietnam", "state_bank"),
    ("TTCP", "Thanh tra Chính phủ", "Government Inspectorate", "gov_inspectorate"),
    ("VPCP", "Văn phòng Chính phủ", "Government Office", "gov_office"),
    ("BHXHVN", "Bảo hiểm xã hội Việt Nam", "Vietnam Social Security", "vss"),
];

/// (code suffix, name prefix, English, kind) of provincial bodies in each demo province.
const DEPARTMENTS: [(&str, &str, &str, &str); 12] = [
    ("UB", "Ủy ban nhân dân", "People's Committee", "province_pc"),
    ("CA", "Công an", "Police", "province_police"),
    ("STP", "Sở Tư pháp", "Department of Justice", "province_justice"),
    ("STC", "Sở Tài chính", "Department of Finance", "province_finance"),
    ("THUE", "Thuế", "Tax Office", "province_tax"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường", "Department of Agriculture and Environment", "province_agri_env"),
    ("SXD", "Sở Xây dựng", "Department of Construction", "province_construction"),
    ("SGDDT", "Sở Giáo dục và Đào tạo", "Department of Education and Training", "province_education"),
    ("SYT", "Sở Y tế", "Department of Health", "province_health"),
    ("SCT", "Sở Công Thương", "Department of Industry and Trade", "province_industry_trade"),
    ("SNV", "Sở Nội vụ", "Department of Home Affairs", "province_home_affairs"),
    ("BHXH", "Bảo hiểm xã hội", "Social Security", "province_social_security"),
];

fn province_label(code: &str) -> String {
    let (_, name, city, ..) = geo::PROVINCES.iter().find(|p| p.0 == code).copied().unwrap_or(geo::PROVINCES[0]);
    if name.starts_with("TP ") {
        name.to_string()
    } else if city {
        format!("thành phố {name}")
    } else {
        format!("tỉnh {name}")
    }
}

fn agencies(communes: &[sen_store::Commune]) -> Vec<NewAgency> {
    let mut out: Vec<NewAgency> = CENTRAL
        .iter()
        .map(|(code, name, en, kind)| NewAgency {
            code: code.to_string(),
            name: name.to_string(),
            name_en: en.to_string(),
            kind: kind.to_string(),
            level: "central".into(),
            province_code: None,
            commune_code: None,
        })
        .collect();
    for p in geo::DEMO_PROVINCES {
        let label = province_label(p);
        for (suffix, prefix, en, kind) in DEPARTMENTS {
            let name = match kind {
                "province_pc" | "province_police" | "province_tax" | "province_social_security" => {
                    format!("{prefix} {label}")
                }
                _ => format!("{prefix} {}", label.trim_start_matches("thành phố ").trim_start_matches("tỉnh ")),
            };
            out.push(NewAgency {
                code: format!("H{p}.{suffix}"),
                name,
                name_en: format!("{en}, {}", label),
                kind: kind.to_string(),
                level: "province".into(),
                province_code: Some(p.to_string()),
                commune_code: None,
            });
        }
        for c in communes.iter().filter(|c| c.province_code == p) {
            for (suffix, prefix, en, kind) in [
                ("UB", "Ủy ban nhân dân", "People's Committee", "commune_pc"),
                ("CA", "Công an", "Police", "commune_police"),
            ] {
                out.push(NewAgency {
                    code: format!("X{}.{suffix}", c.code),
                    name: format!("{prefix} {}", c.name),
                    name_en: format!("{en}, {}", c.name),
                    kind: kind.to_string(),
                    level: "commune".into(),
                    province_code: Some(p.to_string()),
                    commune_code: Some(c.code.clone()),
                });
            }
        }
    }
    out
}

fn birth_province(rng: &mut ChaCha8Rng) -> &'static str {
    ident::BIRTH_PROVINCE_CODES.choose(rng).unwrap()
}

fn random_date(rng: &mut ChaCha8Rng, from_year: i32, to_year: i32) -> NaiveDate {
    let y = rng.gen_range(from_year..=to_year);
    NaiveDate::from_ymd_opt(y, rng.gen_range(1..=12), rng.gen_range(1..=28)).unwrap()
}

/// Citizens in households: a head, often a spouse, and children.
fn population(
    rng: &mut ChaCha8Rng,
    n: usize,
    communes: &[sen_store::Commune],
    today: NaiveDate,
) -> (Vec<Household>, Vec<Person>) {
    let now_year = today.year();
    let mut persons: Vec<Person> = Vec::with_capacity(n);
    let mut households = Vec::new();
    let demo: Vec<&sen_store::Commune> =
        communes.iter().filter(|c| geo::DEMO_PROVINCES.contains(&c.province_code.as_str())).collect();
    // Serials are counted per (province, sex and century, year) prefix, so numbers stay unique
    // at any population size.
    let mut serials: HashMap<String, u32> = HashMap::new();
    let province_names: HashMap<&str, &str> = geo::PROVINCES.iter().map(|p| (p.0, p.1)).collect();
    let mut hid = 1i64;
    while persons.len() < n {
        // 85% of people live in the demo provinces, the rest anywhere in the country.
        let commune = if rng.gen_bool(0.85) { *demo.choose(rng).unwrap() } else { communes.choose(rng).unwrap() };
        let address = format!(
            "{}, {}, {}",
            people::street_address(rng),
            commune.name,
            province_names.get(commune.province_code.as_str()).unwrap_or(&"")
        );
        let family = people::family_name(rng);
        let head_female = rng.gen_bool(0.3);
        let head_birth = random_date(rng, now_year - 80, now_year - 22);
        let mut members: Vec<(String, NaiveDate, bool, &str)> =
            vec![(people::full_name(rng, family, head_female), head_birth, head_female, "Chủ hộ")];
        if rng.gen_bool(0.75) {
            let spouse_family = people::family_name(rng);
            let y = (head_birth.year() + rng.gen_range(-4..=4)).min(now_year - 20);
            members.push((
                people::full_name(rng, spouse_family, !head_female),
                random_date(rng, y, y),
                !head_female,
                if head_female { "Chồng" } else { "Vợ" },
            ));
        }
        let youngest_parent = members.iter().map(|m| m.1.year()).max().unwrap();
        for _ in 0..rng.gen_range(0..=3) {
            let from = (youngest_parent + 20).min(now_year);
            let y = rng.gen_range(from..=(youngest_parent + 40).min(now_year).max(from));
            let female = rng.gen_bool(0.49);
            members.push((people::full_name(rng, family, female), random_date(rng, y, y).min(today), female, "Con"));
        }
        let mut head_number = String::new();
        for (name, birth, female, relation) in members {
            if persons.len() >= n {
                break;
            }
            let sex = if female { Sex::Female } else { Sex::Male };
            let province = birth_province(rng);
            let prefix = ident::personal_number(province, sex, birth, 0)[..6].to_string();
            let serial = serials.entry(prefix).or_insert_with(|| rng.gen_range(0..1000));
            *serial += 1 + rng.gen_range(0..3);
            let number = ident::personal_number(province, sex, birth, *serial);
            if head_number.is_empty() {
                head_number = number.clone();
            }
            persons.push(Person {
                person_number: number,
                full_name: name,
                birth_date: birth,
                sex: if female { "Nữ" } else { "Nam" }.into(),
                birth_province_code: persons.len().to_string(),
                commune_code: commune.code.clone(),
                address: address.clone(),
                household_id: Some(hid),
                relation_to_head: relation.into(),
            });
            let p = persons.last_mut().unwrap();
            p.birth_province_code = p.person_number[..3].to_string();
        }
        households.push(Household {
            id: hid,
            head_person_number: head_number,
            address,
            commune_code: commune.code.clone(),
        });
        hid += 1;
    }
    (households, persons)
}

fn enterprises(rng: &mut ChaCha8Rng, n: usize, persons: &[Person]) -> Vec<Enterprise> {
    let mut out = Vec::with_capacity(n);
    let mut seen = std::collections::HashSet::new();
    let adults: Vec<&Person> = persons.iter().filter(|p| p.birth_date.year() < 2004).collect();
    while out.len() < n {
        let province = geo::DEMO_PROVINCES.choose(rng).unwrap();
        let nine = format!("{province}{:07}", rng.gen_range(0..10_000_000u32));
        let Some(check) = ident::tax_code_check_digit(&nine) else { continue };
        let code = format!("{nine}{check}");
        if !seen.insert(code.clone()) {
            continue;
        }
        let (kind, name) = people::enterprise_name(rng);
        let owner = adults.choose(rng).map(|p| p.person_number.clone()).unwrap_or_default();
        out.push(Enterprise {
            tax_code: code,
            name,
            kind: kind.into(),
            owner_person_number: owner,
            address: format!("{}, {}", people::street_address(rng), province_label(province)),
            province_code: province.to_string(),
            registered_on: random_date(rng, 2000, 2025),
        });
    }
    out
}

/// Plausible form data for a generated dossier.
fn sample_data(rng: &mut ChaCha8Rng, form: &EForm, applicant: &Person) -> Value {
    let mut m = Map::new();
    for f in form.fields() {
        let v = match f.kind {
            FieldKind::Date => json!(random_date(rng, 2024, 2026).to_string()),
            FieldKind::Choice => json!(f.choices.choose(rng).cloned().unwrap_or_default()),
            FieldKind::Integer | FieldKind::Number => json!(rng.gen_range(1..5)),
            FieldKind::Boolean => json!(true),
            _ if f.name.ends_with("id_number") => json!(applicant.person_number),
            _ if f.name.ends_with("full_name") => json!(applicant.full_name),
            _ if f.name.contains("address") || f.name.contains("place") => json!(applicant.address),
            _ => json!(format!("{} (dữ liệu mẫu)", f.title_vi)),
        };
        if !f.required && rng.gen_bool(0.3) {
            continue;
        }
        m.insert(f.name.clone(), v);
    }
    Value::Object(m)
}

struct Staff {
    reception: i64,
    specialist: i64,
    approver: i64,
}

/// Fills an empty database. Returns the named demo accounts.
pub async fn seed(store: &Store, opts: &SeedOptions) -> Result<Vec<DemoAccount>, SeedError> {
    if store.count_rows("provinces").await? > 0 {
        return Err(SeedError::NotEmpty);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let today = opts.now.date_naive();
    let cal = Calendar::vietnam();
    let system = Actor::system("Sen seed");
    store.set_holidays(&vietnam_days()).await?;
    store.insert_provinces(&geo::provinces()).await?;
    let communes = geo::communes(&mut rng);
    store.insert_communes(&communes).await?;
    store.insert_agencies(&agencies(&communes)).await?;
    let agencies = store.agencies().await?;
    tracing::info!(provinces = 34, communes = communes.len(), agencies = agencies.len(), "administrative units");
    exchange_members(store, &agencies, &system).await?;
    // Its own random stream, so the people and dossiers stay those of the seed.
    let mut od_rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x0da7a);
    let datasets = open_data::seed(store, &agencies, &mut od_rng, opts.now).await?;
    tracing::info!(datasets, "open data catalogue");

    let mut procedures = Vec::new();
    for (spec, form) in catalogue::procedures() {
        let id = store.create_procedure(&spec, &form, &system).await?;
        procedures.push((id, spec, EForm::compile(form).expect("seed forms compile")));
    }

    let (households, persons) = population(&mut rng, opts.citizens, &communes, today);
    store.insert_households(&households).await?;
    store.insert_persons(&persons).await?;
    let firms = enterprises(&mut rng, opts.businesses, &persons);
    store.insert_enterprises(&firms).await?;
    let records = registries::generate(opts.seed, &persons, &households, &communes, &firms, today);
    store.insert_civil_events(&records.civil_events).await?;
    store.insert_insurance_records(&records.insurance).await?;
    store.insert_land_parcels(&records.land).await?;
    tracing::info!(
        civil_events = records.civil_events.len(),
        insurance = records.insurance.len(),
        land_parcels = records.land.len(),
        "base registries"
    );

    // Accounts share one argon2id hash of the demo password: hashing is deliberately slow,
    // and thousands of identical passwords need not be hashed thousands of times.
    let demo_hash = sen_domain::password::hash(DEMO_PASSWORD);
    let adults: Vec<&Person> = persons.iter().filter(|p| (today.year() - p.birth_date.year()) >= 18).collect();
    let mut users: Vec<NewUser> = adults
        .iter()
        .map(|p| NewUser {
            username: p.person_number.clone(),
            password_hash: demo_hash.clone(),
            display_name: p.full_name.clone(),
            kind: user_kind::CITIZEN.into(),
            person_number: Some(p.person_number.clone()),
            tax_code: None,
            email: None,
        })
        .collect();
    users.extend(firms.iter().map(|e| NewUser {
        username: e.tax_code.clone(),
        password_hash: demo_hash.clone(),
        display_name: e.name.clone(),
        kind: user_kind::BUSINESS.into(),
        person_number: Some(e.owner_person_number.clone()),
        tax_code: Some(e.tax_code.clone()),
        email: None,
    }));
    // Officials: a desk officer, a specialist and an approver in every agency of the demo
    // provinces, and in the central agencies.
    let mut staff_names: Vec<(String, i64, &'static str)> = Vec::new();
    for a in &agencies {
        for role in ["reception", "specialist", "approver"] {
            let family = people::family_name(&mut rng);
            let female = rng.gen_bool(0.5);
            let username = format!("cb.{}.{}", a.code.to_lowercase(), role);
            users.push(NewUser {
                username: username.clone(),
                password_hash: demo_hash.clone(),
                display_name: people::full_name(&mut rng, family, female),
                kind: user_kind::OFFICER.into(),
                person_number: None,
                tax_code: None,
                email: None,
            });
            staff_names.push((username, a.id, role));
        }
    }
    for chunk in users.chunks(2000) {
        store.create_users_bulk(chunk).await?;
    }
    let all_usernames: Vec<String> = users.iter().map(|u| u.username.clone()).collect();
    let ids = store.user_ids_by_username(&all_usernames).await?;
    let display: HashMap<&str, &str> = users.iter().map(|u| (u.username.as_str(), u.display_name.as_str())).collect();
    let staff_display: HashMap<i64, String> =
        staff_names.iter().map(|(username, _, _)| (ids[username], display[username.as_str()].to_string())).collect();
    let mut staff: HashMap<i64, Staff> = HashMap::new();
    for (username, agency_id, role) in &staff_names {
        let uid = ids[username];
        store.grant_role(uid, *agency_id, role).await?;
        let s = staff.entry(*agency_id).or_insert(Staff { reception: 0, specialist: 0, approver: 0 });
        match *role {
            "reception" => s.reception = uid,
            "specialist" => s.specialist = uid,
            _ => s.approver = uid,
        }
    }

    let accounts = named_accounts(store, &agencies, &persons, &firms, &demo_hash).await?;
    tracing::info!(
        citizens = persons.len(),
        households = households.len(),
        businesses = firms.len(),
        accounts = users.len(),
        "population"
    );

    // The history of dossiers.
    let by_kind: HashMap<&str, Vec<&Agency>> = agencies.iter().fold(HashMap::new(), |mut m, a| {
        m.entry(a.kind.as_str()).or_default().push(a);
        m
    });
    let citizen_ids: Vec<(&Person, i64)> = adults.iter().map(|p| (*p, ids[&p.person_number])).collect();
    let firm_ids: Vec<(&Enterprise, i64)> = firms.iter().map(|e| (e, ids[&e.tax_code])).collect();
    let persons_by_number: HashMap<&str, &Person> = persons.iter().map(|p| (p.person_number.as_str(), p)).collect();
    let mut history = Vec::with_capacity(opts.dossiers.min(5000));
    let mut loading: Option<tokio::task::JoinHandle<Result<(), StoreError>>> = None;
    let mut loaded = 0usize;
    let mut codes = std::collections::HashSet::new();
    let by_code: HashMap<&str, usize> =
        procedures.iter().enumerate().map(|(i, (_, spec, _))| (spec.code.as_str(), i)).collect();
    // A chosen applicant: user id, name, identifier, and the person (a firm's owner).
    let pick_applicant = |rng: &mut ChaCha8Rng, business: bool| {
        if business && !firm_ids.is_empty() {
            let (e, uid) = firm_ids.choose(rng).unwrap();
            let owner = persons_by_number.get(e.owner_person_number.as_str()).copied().unwrap_or(&persons[0]);
            (*uid, e.name.clone(), e.tax_code.clone(), owner)
        } else {
            let (p, uid) = citizen_ids.choose(rng).unwrap();
            (*uid, p.full_name.clone(), p.person_number.clone(), *p)
        }
    };
    // The next dossiers of a life situation being played out: procedure, applicant, time.
    let mut planned = std::collections::VecDeque::new();
    for _ in 0..opts.dossiers {
        if planned.is_empty() && rng.gen_bool(JOURNEY_SHARE) {
            let journey = journeys::JOURNEYS.choose(&mut rng).unwrap();
            let business = journey.who == journeys::Who::Business;
            let applicant = pick_applicant(&mut rng, business);
            let mut t = opts.now - Duration::days(rng.gen_range(0..150)) - Duration::minutes(rng.gen_range(0..600));
            for (code, p) in journey.steps {
                let Some(&i) = by_code.get(code) else { continue };
                if !rng.gen_bool(*p) {
                    continue;
                }
                if t <= opts.now {
                    planned.push_back((i, applicant.clone(), t));
                }
                t += Duration::days(rng.gen_range(1..=journey.gap)) + Duration::minutes(rng.gen_range(0..600));
            }
        }
        let (index, chosen) = match planned.pop_front() {
            Some((i, applicant, t)) => (i, Some((applicant, t))),
            None => (rng.gen_range(0..procedures.len()), None),
        };
        let (pid, spec, form) = &procedures[index];
        let Some(candidates) = by_kind.get(spec.agency_kind.as_str()) else { continue };
        let agency = *candidates.choose(&mut rng).unwrap();
        let Some(team) = staff.get(&agency.id) else { continue };
        let ((applicant_id, applicant_name, id_number, person), mut t) = match chosen {
            Some(c) => c,
            None => {
                let business = spec.applicants == Applicants::Businesses
                    || (spec.applicants == Applicants::Both && rng.gen_bool(0.3));
                let applicant = pick_applicant(&mut rng, business);
                let days_ago = rng.gen_range(0..150);
                (applicant, opts.now - Duration::days(days_ago) - Duration::minutes(rng.gen_range(0..600)))
            }
        };
        let submitted_at = t;
        let code = loop {
            let c = ident::dossier_code(&agency.code, t.date_naive(), rng.r#gen());
            if codes.insert(c.clone()) {
                break c;
            }
        };
        let applicant = Actor {
            user_id: Some(applicant_id),
            name: applicant_name.clone(),
            role: Some("applicant".into()),
            agency_id: None,
        };
        let officer = |uid: i64, role: &str| Actor {
            user_id: Some(uid),
            name: staff_display.get(&uid).cloned().unwrap_or_default(),
            role: Some(role.into()),
            agency_id: Some(agency.id),
        };
        let mut events = vec![HistoricEvent {
            at: t,
            actor: applicant.clone(),
            action: "submit".into(),
            from_state: None,
            to_state: "SUBMITTED".into(),
            reason: None,
            detail: "{}".into(),
        }];
        let mut life = Lifecycle::new();
        let mut clock = Clock {
            due_date: Some(cal.add_working_days(t.date_naive(), spec.deadline_working_days)),
            ..Clock::default()
        };
        let (mut received_at, mut decided_at, mut closed_at, mut assignee) = (None, None, None, None);
        // Walk the state machine with realistic choices until the history reaches today.
        loop {
            let choices: &[(Action, u32)] = match life.state {
                DossierState::Submitted => {
                    &[(Action::Receive, 85), (Action::RequestSupplement, 8), (Action::Refuse, 3), (Action::Withdraw, 4)]
                }
                DossierState::Received => {
                    &[(Action::HandOff, 80), (Action::RequestSupplement, 10), (Action::Approve, 10)]
                }
                DossierState::InProcessing => {
                    &[(Action::Approve, 80), (Action::Refuse, 8), (Action::RequestSupplement, 7), (Action::HandOff, 5)]
                }
                DossierState::AwaitingSupplement => {
                    &[(Action::Supply, 85), (Action::Withdraw, 10), (Action::Refuse, 5)]
                }
                DossierState::Approved => &[(Action::IssueResult, 100)],
                _ => break,
            };
            let step = Duration::hours(rng.gen_range(2..72));
            if t + step > opts.now {
                break;
            }
            t += step;
            let action = choices.choose_weighted(&mut rng, |c| c.1).unwrap().0;
            let Ok((next, effect)) = life.apply(action) else { break };
            let actor = match action {
                Action::Supply | Action::Withdraw => applicant.clone(),
                Action::Receive | Action::IssueResult => officer(team.reception, "reception"),
                Action::RequestSupplement | Action::Refuse if life.state == DossierState::Submitted => {
                    officer(team.reception, "reception")
                }
                Action::RequestSupplement | Action::HandOff => officer(team.specialist, "specialist"),
                _ => officer(team.approver, "approver"),
            };
            clock = clock.after(effect, t.date_naive(), spec.deadline_working_days, &cal);
            match action {
                Action::Receive => {
                    received_at = Some(t);
                    assignee = Some(team.reception);
                }
                Action::HandOff => assignee = Some(team.specialist),
                _ => {}
            }
            if effect == ClockEffect::Stop {
                decided_at = Some(t);
            }
            let reason = match action {
                Action::RequestSupplement => Some("Thiếu bản sao giấy tờ chứng minh; đề nghị bổ sung.".to_string()),
                Action::Refuse => Some("Hồ sơ không đủ điều kiện theo quy định.".to_string()),
                _ => None,
            };
            events.push(HistoricEvent {
                at: t,
                actor,
                action: action.as_str().into(),
                from_state: Some(life.state.as_str().into()),
                to_state: next.state.as_str().into(),
                reason,
                detail: "{}".into(),
            });
            life = next;
            if life.state.is_terminal() {
                closed_at = Some(t);
                break;
            }
            // Some dossiers stay where they are: queues are never empty.
            if rng.gen_bool(0.12) {
                break;
            }
        }
        let overdue = life.state.clock_runs() && clock.due_date.is_some_and(|d| d < today);
        let rated = life.state.is_terminal() && rng.gen_bool(0.6);
        let rating = rated.then(|| *[5, 5, 5, 4, 4, 3, 2, 1].choose(&mut rng).unwrap());
        history.push(HistoricDossier {
            code,
            procedure_id: *pid,
            agency_id: agency.id,
            applicant_user_id: applicant_id,
            applicant_name,
            applicant_id_number: id_number,
            state: life.state.as_str().into(),
            resume_state: life.resume_state.map(|s| s.as_str().into()),
            data: sample_data(&mut rng, form, person).to_string(),
            submitted_at,
            received_at,
            due_date: clock.due_date,
            original_due_date: clock.original_due_date,
            paused_on: clock.paused_on,
            remaining_days: clock.remaining_days,
            decided_at,
            closed_at,
            assignee_user_id: assignee,
            overdue,
            rating,
            rating_comment: rating.map(|r| {
                if r >= 4 {
                    "Cán bộ hướng dẫn tận tình, giải quyết nhanh."
                } else {
                    "Thời gian chờ còn lâu."
                }
                .to_string()
            }),
            result: (life.state == DossierState::ResultIssued)
                .then(|| json!({"document": spec.result_document, "issued_on": t.date_naive()}).to_string()),
            events,
        });
        if history.len() >= 5000 {
            // Generation overlaps the previous chunk's insert: one core each.
            if let Some(previous) = loading.take() {
                previous.await.map_err(|e| SeedError::Load(e.to_string()))??;
            }
            let store = store.clone();
            let chunk = std::mem::take(&mut history);
            loaded += chunk.len();
            loading = Some(tokio::spawn(async move { store.insert_history(&chunk).await }));
            if loaded.is_multiple_of(100_000) {
                tracing::info!(loaded, of = opts.dossiers, "dossier history");
            }
        }
    }
    if let Some(previous) = loading.take() {
        previous.await.map_err(|e| SeedError::Load(e.to_string()))??;
    }
    store.insert_history(&history).await?;
    tracing::info!(dossiers = opts.dossiers, "dossier history");
    // A bulk load leaves the query planner without statistics; without them PostgreSQL picks
    // the wrong index for the queues until autovacuum catches up.
    store.db().analyze().await?;
    Ok(accounts)
}

/// The owners of the base registries and the national portal, as members of the exchange,
/// with the information systems they run. Their services are registered by the systems
/// that serve them.
pub const EXCHANGE_SUBSYSTEMS: [(&str, &str, &str); 6] = [
    ("BCA", "CSDLQGDC", "Cơ sở dữ liệu quốc gia về dân cư"),
    ("BTP", "HOTICH", "Cơ sở dữ liệu hộ tịch điện tử toàn quốc"),
    ("BTC", "DKDN", "Hệ thống thông tin quốc gia về đăng ký doanh nghiệp"),
    ("BHXHVN", "CSDLBH", "Cơ sở dữ liệu quốc gia về bảo hiểm"),
    ("BNNMT", "CSDLDD", "Cơ sở dữ liệu quốc gia về đất đai"),
    ("VPCP", "DVCQG", "Cổng Dịch vụ công quốc gia"),
];

async fn exchange_members(store: &Store, agencies: &[Agency], system: &Actor) -> Result<(), SeedError> {
    for (agency_code, subsystem, name) in EXCHANGE_SUBSYSTEMS {
        let agency = agencies.iter().find(|a| a.code == agency_code).expect("the central agencies are seeded");
        let member = sen_exchange::MemberId::new(sen_exchange::DEMO_INSTANCE, "GOV", agency_code)
            .expect("demo identifiers are valid");
        store.add_exchange_member(&member, &agency.name, Some(agency.id), system).await?;
        let id = member.subsystem(subsystem).expect("demo identifiers are valid");
        store.add_exchange_subsystem(&id, name, system).await?;
    }
    Ok(())
}

/// Memorable accounts for trying Sen out, on top of the generated ones.
async fn named_accounts(
    store: &Store,
    agencies: &[Agency],
    persons: &[Person],
    firms: &[Enterprise],
    hash: &str,
) -> Result<Vec<DemoAccount>, SeedError> {
    let find = |code: &str| agencies.iter().find(|a| a.code == code).map(|a| a.id);
    // The commune people's committee of Phường Hoàn Kiếm (Hà Nội) is the demo's front desk.
    let hoan_kiem =
        agencies.iter().find(|a| a.kind == "commune_pc" && a.name.ends_with("Phường Hoàn Kiếm")).map(|a| a.id);
    let ba_dinh = agencies.iter().find(|a| a.kind == "commune_pc" && a.name.ends_with("Phường Ba Đình")).map(|a| a.id);
    let justice = find("H01.STP");
    let social_security = agencies
        .iter()
        .find(|a| a.kind == "province_social_security" && a.province_code.as_deref() == Some("01"))
        .map(|a| a.id);
    let hoan_kiem_commune = agencies.iter().find(|a| Some(a.id) == hoan_kiem).and_then(|a| a.commune_code.clone());
    let police = agencies
        .iter()
        .find(|a| a.kind == "commune_police" && a.commune_code.is_some() && a.commune_code == hoan_kiem_commune)
        .map(|a| a.id);
    let adult =
        persons.iter().find(|p| p.relation_to_head == "Chủ hộ" && p.birth_date.year() < 1995).unwrap_or(&persons[0]);
    let mut out = Vec::new();
    let mut add = |username: &str, name: &str, kind: &str, person: Option<&str>, tax: Option<&str>, who: &str| {
        out.push((
            NewUser {
                username: username.into(),
                password_hash: hash.into(),
                display_name: name.into(),
                kind: kind.into(),
                person_number: person.map(str::to_string),
                tax_code: tax.map(str::to_string),
                email: None,
            },
            who.to_string(),
        ));
    };
    add("congdan", &adult.full_name, user_kind::CITIZEN, Some(&adult.person_number), None, "công dân / citizen");
    let other = persons.iter().rev().find(|p| p.relation_to_head == "Chủ hộ").unwrap_or(&persons[0]);
    add(
        "congdan2",
        &other.full_name,
        user_kind::CITIZEN,
        Some(&other.person_number),
        None,
        "công dân khác / another citizen",
    );
    if let Some(f) = firms.first() {
        add(
            "doanhnghiep",
            &f.name,
            user_kind::BUSINESS,
            Some(&f.owner_person_number),
            Some(&f.tax_code),
            "doanh nghiệp / business",
        );
    }
    add(
        "motcua",
        "Trần Thị Thu Hà",
        user_kind::OFFICER,
        None,
        None,
        "cán bộ một cửa, UBND Phường Hoàn Kiếm / desk officer",
    );
    add(
        "chuyenvien",
        "Lê Minh Đức",
        user_kind::OFFICER,
        None,
        None,
        "chuyên viên, UBND Phường Hoàn Kiếm và Sở Tư pháp Hà Nội / specialist in two agencies",
    );
    add(
        "lanhdao",
        "Phạm Quang Huy",
        user_kind::OFFICER,
        None,
        None,
        "lãnh đạo phê duyệt, UBND Phường Hoàn Kiếm / approver",
    );
    add(
        "quantri",
        "Vũ Ngọc Lan",
        user_kind::OFFICER,
        None,
        None,
        "quản trị cơ quan, UBND Phường Hoàn Kiếm / agency admin",
    );
    add(
        "motcua.badinh",
        "Đỗ Văn Nam",
        user_kind::OFFICER,
        None,
        None,
        "cán bộ một cửa, UBND Phường Ba Đình / desk officer of another agency",
    );
    add(
        "baohiem",
        "Ngô Thị Hồng",
        user_kind::OFFICER,
        None,
        None,
        "cán bộ Bảo hiểm xã hội Hà Nội (tiếp nhận, xử lý, phê duyệt) / social security officer",
    );
    add(
        "congan",
        "Đặng Văn Tùng",
        user_kind::OFFICER,
        None,
        None,
        "cán bộ Công an Phường Hoàn Kiếm (cư trú) / commune police officer",
    );
    add(
        "dulieumo",
        "Trần Thu Hà",
        user_kind::OFFICER,
        None,
        None,
        "quản trị dữ liệu mở, Sở Nông nghiệp và Môi trường Hà Nội / open-data publisher",
    );
    add("admin", "Quản trị hệ thống", user_kind::ADMIN, None, None, "quản trị hệ thống / system administrator");
    let mut accounts = Vec::new();
    for (u, who) in out {
        let id = store.create_user(&u).await?;
        let grants: Vec<(Option<i64>, &str)> = match u.username.as_str() {
            "motcua" => vec![(hoan_kiem, "reception")],
            "chuyenvien" => vec![(hoan_kiem, "specialist"), (justice, "specialist")],
            "lanhdao" => vec![(hoan_kiem, "approver")],
            "quantri" => vec![(hoan_kiem, "agency_admin")],
            "dulieumo" => vec![(find("H01.SNNMT"), "agency_admin")],
            "motcua.badinh" => vec![(ba_dinh, "reception"), (ba_dinh, "approver")],
            "baohiem" => {
                vec![(social_security, "reception"), (social_security, "specialist"), (social_security, "approver")]
            }
            "congan" => vec![(police, "reception"), (police, "specialist"), (police, "approver")],
            _ => vec![],
        };
        for (agency, role) in grants {
            if let Some(a) = agency {
                store.grant_role(id, a, role).await?;
            }
        }
        accounts.push(DemoAccount { username: u.username, who });
    }
    Ok(accounts)
}

/// A fixed instant for reproducible tests.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}
