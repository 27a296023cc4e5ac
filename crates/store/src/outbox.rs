//! Registry change events through a transactional outbox (issue #4).
//!
//! Issuing a result that changes a base registry (a birth, a death, an address, an
//! enterprise: [`sen_domain::registry_change`]) writes the registry's row *and* an
//! `outbox_events` row in the transaction that issues the result, so an event exists exactly
//! when the change does. A relay (`sen-events`) publishes pending events — to consumers in
//! the same process, or to NATS JetStream for other nodes — and marks them published after
//! they are acknowledged. A crash in between publishes again: delivery is at least once, so
//! consumers are idempotent through `processed_events` (consumer, event id), written in the
//! transaction of the consumer's effect ([`Store::apply_event`]).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Func, Order, Query};
use sen_domain::ident::{self, Sex};
use sen_domain::registry_change::RegistryChange;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::exec::Tx;
use crate::models::{Agency, Dossier, Person};
use crate::{Result, Store, StoreError};

/// A change event, as stored and as it travels (JSON on NATS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique across nodes (128 random bits, hex): the NATS `Nats-Msg-Id` and the key of
    /// idempotent consumption.
    pub event_id: String,
    /// `<registry>.<what happened>`, e.g. `civil-status.birth-registered`.
    pub topic: String,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub event_id: String,
    pub topic: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

impl OutboxRow {
    pub fn event(&self) -> Event {
        Event {
            event_id: self.event_id.clone(),
            topic: self.topic.clone(),
            payload: serde_json::from_str(&self.payload).unwrap_or(Value::Null),
            created_at: self.created_at,
        }
    }
}

const OUTBOX_COLUMNS: [&str; 6] = ["id", "event_id", "topic", "payload", "created_at", "published_at"];

/// Adds an event to the outbox, in `tx`: it exists if and only if `tx` commits.
pub(crate) fn enqueue(tx: &mut Tx, topic: &str, payload: &Value, at: DateTime<Utc>) -> String {
    let event_id = hex::encode(rand::random::<[u8; 16]>());
    tx.append(
        "outbox_events",
        &["event_id", "topic", "payload", "created_at"],
        vec![event_id.clone().into(), topic.to_string().into(), payload.to_string().into(), at.into()],
    );
    event_id
}

#[derive(sqlx::FromRow)]
struct MaxRow {
    n: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    code: String,
}

/// The province part (three digits) of personal numbers given where `agency` sits.
fn province_of(agency: &Agency) -> String {
    match agency.province_code.as_deref() {
        Some(p) if p.len() == 2 => format!("0{p}"),
        Some(p) if p.len() == 3 => p.to_string(),
        _ => "001".into(),
    }
}

/// Writes the registry change of issuing dossier `d`'s result, and its event, in `tx`.
/// Returns the event's id, or none when the procedure changes no registry.
pub(crate) async fn on_result(tx: &mut Tx, d: &Dossier, today: NaiveDate, at: DateTime<Utc>) -> Result<Option<String>> {
    let code: CodeRow = tx
        .fetch_one(
            &Query::select().column("code").from("procedures").and_where(Expr::col("id").eq(d.procedure_id)).to_owned(),
        )
        .await?;
    let data: Value = serde_json::from_str(&d.data).unwrap_or(Value::Null);
    let Some(change) = sen_domain::registry_change::on_result(&code.code, &d.applicant_id_number, &data) else {
        return Ok(None);
    };
    let agency: Agency = tx
        .fetch_one(
            &Query::select()
                .columns(crate::reference::AGENCY_COLUMNS)
                .from("agencies")
                .and_where(Expr::col("id").eq(d.agency_id))
                .to_owned(),
        )
        .await?;
    let mut payload = serde_json::to_value(&change).expect("serialises");
    payload["dossier_code"] = json!(d.code);
    payload["agency_code"] = json!(agency.code);
    match &change {
        RegistryChange::BirthRegistered {
            child_name,
            birth_date,
            sex,
            place,
            mother_name,
            mother_person_number,
            father_name,
            ..
        } => {
            let female = sex == "Nữ";
            // A personal number nobody in the population registry holds.
            let number = loop {
                let n = ident::personal_number(
                    &province_of(&agency),
                    if female { Sex::Female } else { Sex::Male },
                    *birth_date,
                    rand::random::<u32>(),
                );
                let taken: Option<MaxRow> = tx
                    .fetch_optional(
                        &Query::select()
                            .expr_as(Expr::val(1i64), "n")
                            .from("persons")
                            .and_where(Expr::col("person_number").eq(n.clone()))
                            .to_owned(),
                    )
                    .await?;
                if taken.is_none() {
                    break n;
                }
            };
            let book = civil_book_entry(tx, &agency.code, "birth", today.year().into()).await?;
            tx.append(
                "civil_events",
                &crate::registries::CIVIL_COLUMNS,
                vec![
                    "birth".into(),
                    agency.code.clone().into(),
                    i64::from(today.year()).into(),
                    book.into(),
                    today.into(),
                    (*birth_date).into(),
                    number.clone().into(),
                    child_name.clone().into(),
                    Some(mother_person_number.clone()).into(),
                    Some(mother_name.clone()).into(),
                    place.clone().into(),
                    json!({"sex": sex, "father": father_name, "mother": mother_name, "dossier": d.code})
                        .to_string()
                        .into(),
                ],
            );
            payload["person_number"] = json!(number);
            payload["record_id"] = json!(format!("{}/birth/{}/{book}", agency.code, today.year()));
        }
        RegistryChange::DeathRegistered { person_number, name, date_of_death, place } => {
            let book = civil_book_entry(tx, &agency.code, "death", today.year().into()).await?;
            tx.append(
                "civil_events",
                &crate::registries::CIVIL_COLUMNS,
                vec![
                    "death".into(),
                    agency.code.clone().into(),
                    i64::from(today.year()).into(),
                    book.into(),
                    today.into(),
                    (*date_of_death).into(),
                    person_number.clone().into(),
                    name.clone().into(),
                    None::<String>.into(),
                    None::<String>.into(),
                    place.clone().into(),
                    json!({"declarant": d.applicant_name, "dossier": d.code}).to_string().into(),
                ],
            );
            payload["record_id"] = json!(format!("{}/death/{}/{book}", agency.code, today.year()));
            // Whoever declared the death is who the family's offers go to.
            payload["declarant_person_number"] = json!(d.applicant_id_number);
        }
        RegistryChange::MarriageRegistered { husband_name, husband_person_number, wife_name, wife_person_number } => {
            let book = civil_book_entry(tx, &agency.code, "marriage", today.year().into()).await?;
            tx.append(
                "civil_events",
                &crate::registries::CIVIL_COLUMNS,
                vec![
                    "marriage".into(),
                    agency.code.clone().into(),
                    i64::from(today.year()).into(),
                    book.into(),
                    today.into(),
                    today.into(),
                    husband_person_number.clone().into(),
                    husband_name.clone().into(),
                    Some(wife_person_number.clone()).into(),
                    Some(wife_name.clone()).into(),
                    agency.name.clone().into(),
                    json!({"dossier": d.code}).to_string().into(),
                ],
            );
            payload["record_id"] = json!(format!("{}/marriage/{}/{book}", agency.code, today.year()));
        }
        RegistryChange::AddressChanged { person_number, new_address } => {
            let n = tx
                .execute(
                    &Query::update()
                        .table("persons")
                        .value("address", new_address.clone())
                        .and_where(Expr::col("person_number").eq(person_number.clone()))
                        .to_owned(),
                )
                .await?;
            if n == 0 {
                // Not in this node's residence registry: the result stands, no change to announce.
                return Ok(None);
            }
            payload["record_id"] = json!(person_number);
        }
        RegistryChange::EnterpriseRegistered { name, head_office, owner_person_number } => {
            let province = agency.province_code.clone().unwrap_or_else(|| "01".into());
            let tax_code = new_tax_code(&province);
            tx.append(
                "enterprises",
                &["tax_code", "name", "kind", "owner_person_number", "address", "province_code", "registered_on"],
                vec![
                    tax_code.clone().into(),
                    name.clone().into(),
                    "Doanh nghiệp tư nhân".into(),
                    owner_person_number.clone().into(),
                    head_office.clone().into(),
                    province.into(),
                    today.into(),
                ],
            );
            payload["tax_code"] = json!(tax_code);
            payload["record_id"] = json!(tax_code);
        }
        RegistryChange::HouseholdBusinessRegistered { name, head_office, owner_person_number } => {
            let province = agency.province_code.clone().unwrap_or_else(|| "01".into());
            let code = new_tax_code(&province);
            tx.append(
                "enterprises",
                &["tax_code", "name", "kind", "owner_person_number", "address", "province_code", "registered_on"],
                vec![
                    code.clone().into(),
                    name.clone().into(),
                    "Hộ kinh doanh".into(),
                    owner_person_number.clone().into(),
                    head_office.clone().into(),
                    province.into(),
                    today.into(),
                ],
            );
            payload["record_id"] = json!(code);
        }
    }
    Ok(Some(enqueue(tx, change.topic(), &payload, at)))
}

/// A fresh ten-digit tax code of a province, with its check digit.
fn new_tax_code(province: &str) -> String {
    loop {
        let nine = format!("{province:0>2}{:07}", rand::random::<u32>() % 10_000_000);
        if let Some(check) = ident::tax_code_check_digit(&nine) {
            return format!("{nine}{check}");
        }
    }
}

/// The next number in an authority's civil-status book of a kind for a year.
async fn civil_book_entry(tx: &mut Tx, agency_code: &str, kind: &str, year: i64) -> Result<i64> {
    let max: MaxRow = tx
        .fetch_one(
            &Query::select()
                .expr_as(Func::max(Expr::col("number")), "n")
                .from("civil_events")
                .and_where(Expr::col("agency_code").eq(agency_code))
                .and_where(Expr::col("kind").eq(kind))
                .and_where(Expr::col("book_year").eq(year))
                .to_owned(),
        )
        .await?;
    Ok(max.n.unwrap_or(0) + 1)
}

/// What a consumer did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Its effect is written now.
    Done,
    /// This consumer had already processed it: nothing was written again.
    AlreadyProcessed,
}

/// Consumers Sen runs itself.
pub mod consumers {
    /// The population registry (Public Security) learns of births and deaths registered in
    /// the civil-status books (Justice): a newborn joins the mother's household.
    pub const POPULATION: &str = "population";
    /// Proactive services: the rules turn life events into offers to people.
    pub const PROACTIVE: &str = "proactive";
    /// Every consumer Sen runs.
    pub const ALL: [&str; 2] = [POPULATION, PROACTIVE];
}

impl Store {
    /// Events not yet published, oldest first.
    pub async fn outbox_pending(&self, limit: u64) -> Result<Vec<OutboxRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(OUTBOX_COLUMNS)
                    .from("outbox_events")
                    .and_where(Expr::col("published_at").is_null())
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// The last events, newest first (published or not).
    pub async fn outbox_recent(&self, limit: u64) -> Result<Vec<OutboxRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(OUTBOX_COLUMNS)
                    .from("outbox_events")
                    .order_by("id", Order::Desc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// Marks events published once every sink acknowledged them.
    pub async fn mark_published(&self, ids: &[i64], at: DateTime<Utc>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            &Query::update()
                .table("outbox_events")
                .value("published_at", at)
                .and_where(Expr::col("id").is_in(ids.to_vec()))
                .to_owned(),
        )
        .await?;
        tx.commit().await
    }

    /// Applies `event` for `consumer` exactly once: the `processed_events` row and the effect
    /// are one transaction, so a redelivered event changes nothing.
    pub async fn apply_event(&self, consumer: &str, event: &Event) -> Result<Applied> {
        let calendar = if consumer == consumers::PROACTIVE {
            Some(sen_domain::calendar::Calendar::new(&self.holidays().await?))
        } else {
            None
        };
        let mut tx = self.db.begin_write().await?;
        let seen = tx
            .fetch_optional::<MaxRow, _>(
                &Query::select()
                    .expr_as(Expr::val(1i64), "n")
                    .from("processed_events")
                    .and_where(Expr::col("consumer").eq(consumer))
                    .and_where(Expr::col("event_id").eq(event.event_id.clone()))
                    .to_owned(),
            )
            .await?;
        if seen.is_some() {
            return Ok(Applied::AlreadyProcessed);
        }
        let now = Utc::now();
        match consumer {
            consumers::POPULATION => population_effect(&mut tx, event).await?,
            consumers::PROACTIVE => {
                let today = now.with_timezone(&crate::vn_offset()).date_naive();
                let cal = calendar.as_ref().expect("loaded above");
                crate::proactive::offer_effect(&mut tx, event, today, cal).await?;
            }
            _ => return Err(StoreError::Invalid(format!("unknown consumer {consumer}"))),
        }
        tx.execute(
            &Query::insert()
                .into_table("processed_events")
                .columns(["consumer", "event_id", "topic", "processed_at"])
                .values_panic([consumer.into(), event.event_id.clone().into(), event.topic.clone().into(), now.into()])
                .to_owned(),
        )
        .await?;
        match tx.commit().await {
            Ok(()) => Ok(Applied::Done),
            // Another worker of the same consumer got there first.
            Err(e) if e.is_unique_violation() => Ok(Applied::AlreadyProcessed),
            Err(e) => Err(e),
        }
    }

    /// Whether `consumer` has processed the change event of dossier `code`'s result, if
    /// that result made one (`None`: no event names the dossier).
    pub async fn result_event_processed(&self, code: &str, consumer: &str) -> Result<Option<bool>> {
        let rows: Vec<OutboxRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(OUTBOX_COLUMNS)
                    .from("outbox_events")
                    .and_where(Expr::col("payload").like(format!("%\"dossier_code\":\"{code}\"%")))
                    .limit(5)
                    .to_owned(),
            )
            .await?;
        let Some(row) = rows.into_iter().find(|r| r.event().payload["dossier_code"] == code) else { return Ok(None) };
        let seen = self
            .db
            .fetch_optional::<MaxRow, _>(
                &Query::select()
                    .expr_as(Expr::val(1i64), "n")
                    .from("processed_events")
                    .and_where(Expr::col("consumer").eq(consumer))
                    .and_where(Expr::col("event_id").eq(row.event_id))
                    .to_owned(),
            )
            .await?;
        Ok(Some(seen.is_some()))
    }

    /// How many events `consumer` has processed.
    pub async fn processed_count(&self, consumer: &str) -> Result<i64> {
        let r: MaxRow = self
            .db
            .fetch_one(
                &Query::select()
                    .expr_as(Func::count(Expr::col("event_id")), "n")
                    .from("processed_events")
                    .and_where(Expr::col("consumer").eq(consumer))
                    .to_owned(),
            )
            .await?;
        Ok(r.n.unwrap_or(0))
    }
}

/// The population registry's part: a newborn enters the registry in the mother's household.
async fn population_effect(tx: &mut Tx, event: &Event) -> Result<()> {
    if event.topic != "civil-status.birth-registered" {
        return Ok(());
    }
    let p = &event.payload;
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let number = s("person_number");
    if ident::validate_personal_number(&number).is_err() {
        return Err(StoreError::Invalid("a birth event without a valid personal number".into()));
    }
    let birth_date = NaiveDate::parse_from_str(&s("birth_date"), "%Y-%m-%d")
        .map_err(|_| StoreError::Invalid("a birth event without a date".into()))?;
    let mother: Option<Person> = tx
        .fetch_optional(
            &Query::select()
                .columns(crate::reference::PERSON_COLUMNS)
                .from("persons")
                .and_where(Expr::col("person_number").eq(s("mother_person_number")))
                .to_owned(),
        )
        .await?;
    let (commune, address, household) = match &mother {
        Some(m) => (m.commune_code.clone(), m.address.clone(), m.household_id),
        None => (String::new(), String::new(), None),
    };
    tx.append(
        "persons",
        &crate::reference::PERSON_COLUMNS,
        vec![
            number.clone().into(),
            s("child_name").into(),
            birth_date.into(),
            s("sex").into(),
            number[..3].to_string().into(),
            commune.into(),
            address.into(),
            household.into(),
            "Con".into(),
        ],
    );
    Ok(())
}
