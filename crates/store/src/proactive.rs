//! Proactive services (issue #5): the rules, the offers they make, and the life events that
//! come from the population registry itself.
//!
//! The `proactive` consumer of registry change events ([`Store::apply_event`]) gathers the
//! facts of an event — its payload, and the registries' records of the people it names — and
//! lets every enabled rule for that topic decide ([`sen_domain::proactive::decide`]). Each
//! offer is written in the consumer's transaction, with the `processed_events` row, so a
//! redelivered event offers nothing twice. Someone who turned proactive offers off gets none.
//!
//! Ages are life events too: the population registry's daily scan
//! ([`Store::scan_age_milestones`]) writes a `population.age-reached` event for everyone who
//! turns 6, 14 or 17, or reaches retirement age, that day, in the transaction that moves the
//! scan's mark, so each birthday is announced once.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Func, Order, Query};
use sen_domain::calendar::Calendar;
use sen_domain::proactive::{self, Decision, HeldDocument, Rule};
use serde::Serialize;
use serde_json::{Value, json};

use crate::exec::Tx;
use crate::models::Person;
use crate::outbox::Event;
use crate::{Result, Store, StoreError};

/// A rule as stored: who owns it, whether it is on, and its version.
#[derive(Debug, Clone, Serialize)]
pub struct StoredRule {
    pub id: i64,
    pub key: String,
    pub agency_code: Option<String>,
    pub enabled: bool,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub rule: Rule,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    rule_key: String,
    agency_code: Option<String>,
    body: String,
    enabled: bool,
    version: i64,
    updated_at: DateTime<Utc>,
    updated_by: String,
}

const RULE_COLUMNS: [&str; 8] =
    ["id", "rule_key", "agency_code", "body", "enabled", "version", "updated_at", "updated_by"];

impl RuleRow {
    fn stored(self) -> Result<StoredRule> {
        let rule: Rule = serde_json::from_str(&self.body)
            .map_err(|e| StoreError::Invalid(format!("stored rule {} does not parse: {e}", self.rule_key)))?;
        Ok(StoredRule {
            id: self.id,
            key: self.rule_key,
            agency_code: self.agency_code,
            enabled: self.enabled,
            version: self.version,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
            rule,
        })
    }
}

/// An offer made to a person.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OfferRow {
    pub id: i64,
    pub event_id: String,
    pub topic: String,
    pub rule_key: String,
    pub level: i64,
    pub procedure_code: String,
    pub recipient: String,
    pub origin: Option<String>,
    pub title: String,
    pub because: String,
    pub guidance: String,
    /// JSON object: e-form field → value prepared from the state's data.
    pub prepared: String,
    /// JSON array of `[HeldDocument, record id]`.
    pub documents: String,
    /// JSON array of `[procedure code, why]` (level 3).
    pub alternatives: String,
    pub status: String,
    pub valid_until: NaiveDate,
    pub postponed_until: Option<NaiveDate>,
    pub dossier_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub version: i64,
}

const OFFER_COLUMNS: [&str; 21] = [
    "id",
    "event_id",
    "topic",
    "rule_key",
    "level",
    "procedure_code",
    "recipient",
    "origin",
    "title",
    "because",
    "guidance",
    "prepared",
    "documents",
    "alternatives",
    "status",
    "valid_until",
    "postponed_until",
    "dossier_id",
    "created_at",
    "decided_at",
    "version",
];

/// Where an offer stands for its recipient on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    Open,
    Postponed,
    Accepted,
    Declined,
    Expired,
}

impl OfferState {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferState::Open => "open",
            OfferState::Postponed => "postponed",
            OfferState::Accepted => "accepted",
            OfferState::Declined => "declined",
            OfferState::Expired => "expired",
        }
    }
}

impl OfferRow {
    /// The offer's state on `today`: a postponement ends by itself, an open offer expires.
    pub fn state(&self, today: NaiveDate) -> OfferState {
        match self.status.as_str() {
            "accepted" => OfferState::Accepted,
            "declined" => OfferState::Declined,
            _ if today > self.valid_until => OfferState::Expired,
            "postponed" if self.postponed_until.is_some_and(|u| today < u) => OfferState::Postponed,
            _ => OfferState::Open,
        }
    }

    pub fn prepared_fields(&self) -> serde_json::Map<String, Value> {
        serde_json::from_str(&self.prepared).unwrap_or_default()
    }

    pub fn held_documents(&self) -> Vec<(HeldDocument, String)> {
        serde_json::from_str(&self.documents).unwrap_or_default()
    }

    pub fn alternative_services(&self) -> Vec<(String, String)> {
        serde_json::from_str(&self.alternatives).unwrap_or_default()
    }
}

/// What the recipient does with an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferDecision {
    Postpone {
        until: NaiveDate,
    },
    Decline,
    /// The dossier submitted from it.
    Accept {
        dossier_id: i64,
    },
}

/// K4 and the offers' funnel.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProactiveStats {
    pub since: NaiveDate,
    /// Dossiers of the services the rules offer, submitted since `since`.
    pub dossiers: i64,
    /// Of those, submitted from an accepted offer.
    pub delivered_proactively: i64,
    /// K4: `delivered_proactively / dossiers`.
    pub share: f64,
    pub per_procedure: Vec<ProcedureProactive>,
    pub offers: OfferCounts,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcedureProactive {
    pub code: String,
    pub name: String,
    pub dossiers: i64,
    pub proactive: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OfferCounts {
    pub made: i64,
    pub accepted: i64,
    pub declined: i64,
    pub postponed: i64,
    pub open: i64,
    pub expired: i64,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    n: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct OptRow {
    opted_out: bool,
}

#[derive(sqlx::FromRow)]
struct ScanRow {
    scanned_through: NaiveDate,
}

#[derive(sqlx::FromRow)]
struct InsuranceFacts {
    social_insurance_number: String,
    contribution_months: i64,
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    full_name: String,
    person_number: String,
}

#[derive(sqlx::FromRow)]
struct ProcDossiers {
    code: String,
    name: String,
    n: i64,
    proactive: Option<i64>,
}

/// Writes the rules Sen ships (migration 12), owned by the platform.
pub(crate) async fn install_default_rules(tx: &mut Tx) -> Result<()> {
    let now = Utc::now();
    for r in proactive::default_rules() {
        tx.execute(&insert_rule(&r, None, "sen", now)).await?;
    }
    Ok(())
}

fn insert_rule(r: &Rule, agency: Option<&str>, by: &str, at: DateTime<Utc>) -> sea_query::InsertStatement {
    Query::insert()
        .into_table("proactive_rules")
        .columns(["rule_key", "topic", "agency_code", "body", "enabled", "version", "updated_at", "updated_by"])
        .values_panic([
            r.key.clone().into(),
            r.event.clone().into(),
            agency.map(str::to_string).into(),
            serde_json::to_string(r).expect("serialises").into(),
            true.into(),
            1i64.into(),
            at.into(),
            by.into(),
        ])
        .to_owned()
}

async fn insurance_of(tx: &mut Tx, person: &str) -> Result<Option<InsuranceFacts>> {
    tx.fetch_optional(
        &Query::select()
            .columns(["social_insurance_number", "contribution_months"])
            .from("insurance_records")
            .and_where(Expr::col("person_number").eq(person))
            .to_owned(),
    )
    .await
}

async fn person_of(tx: &mut Tx, person: &str) -> Result<Option<Person>> {
    tx.fetch_optional(
        &Query::select()
            .columns(crate::reference::PERSON_COLUMNS)
            .from("persons")
            .and_where(Expr::col("person_number").eq(person))
            .to_owned(),
    )
    .await
}

async fn head_of(tx: &mut Tx, household: i64) -> Result<Option<HeadRow>> {
    tx.fetch_optional(
        &Query::select()
            .column(("persons", "full_name"))
            .column(("persons", "person_number"))
            .from("households")
            .inner_join("persons", Expr::col(("persons", "person_number")).equals(("households", "head_person_number")))
            .and_where(Expr::col(("households", "id")).eq(household))
            .to_owned(),
    )
    .await
}

/// The facts of an event: its payload, and what the registries on this node hold about the
/// people it names (the mother's residence and social insurance for a birth, the deceased's
/// insurance for a death).
async fn facts(tx: &mut Tx, event: &Event, today: NaiveDate) -> Result<proactive::Facts> {
    let mut f = proactive::facts_of(&event.payload, today);
    let get = |f: &proactive::Facts, k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
    match event.topic.as_str() {
        "civil-status.birth-registered" => {
            if let Some(mother) = get(&f, "mother_person_number") {
                if let Some(p) = person_of(tx, &mother).await? {
                    f.insert("mother_address".into(), json!(p.address));
                    if let Some(h) = p.household_id
                        && let Some(head) = head_of(tx, h).await?
                    {
                        f.insert("mother_household_head".into(), json!(head.full_name));
                    }
                }
                if let Some(i) = insurance_of(tx, &mother).await? {
                    f.insert("mother_social_insurance_number".into(), json!(i.social_insurance_number));
                    f.insert("mother_contribution_months".into(), json!(i.contribution_months));
                }
            }
        }
        "civil-status.death-registered" => {
            if let Some(who) = get(&f, "person_number") {
                if let Some(i) = insurance_of(tx, &who).await? {
                    f.insert("social_insurance_number".into(), json!(i.social_insurance_number));
                    f.insert("contribution_months".into(), json!(i.contribution_months));
                }
                if let Some(p) = person_of(tx, &who).await? {
                    f.insert("address".into(), json!(p.address));
                }
            }
        }
        _ => {}
    }
    Ok(f)
}

async fn opted_out(tx: &mut Tx, person: &str) -> Result<bool> {
    let r: Option<OptRow> = tx
        .fetch_optional(
            &Query::select()
                .column("opted_out")
                .from("proactive_preferences")
                .and_where(Expr::col("person_number").eq(person))
                .to_owned(),
        )
        .await?;
    Ok(r.is_some_and(|r| r.opted_out))
}

/// The `proactive` consumer's effect: every enabled rule for the topic decides; offers are
/// written for those eligible who have not turned offers off. Returns how many were made.
pub(crate) async fn offer_effect(tx: &mut Tx, event: &Event, today: NaiveDate, cal: &Calendar) -> Result<usize> {
    let rows: Vec<RuleRow> = tx
        .fetch_all(
            &Query::select()
                .columns(RULE_COLUMNS)
                .from("proactive_rules")
                .and_where(Expr::col("topic").eq(event.topic.clone()))
                .and_where(Expr::col("enabled").eq(true))
                .order_by("id", Order::Asc)
                .to_owned(),
        )
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let facts = facts(tx, event, today).await?;
    let now = Utc::now();
    let mut made = 0;
    for row in rows {
        let Ok(stored) = row.stored() else { continue };
        let Decision::Offer(offer) = proactive::decide(&stored.rule, &facts) else { continue };
        if opted_out(tx, &offer.recipient).await? {
            continue;
        }
        let valid_until = cal.add_working_days(cal.next_working_day_from(today), stored.rule.valid_working_days);
        tx.execute(
            &Query::insert()
                .into_table("offers")
                .columns(OFFER_COLUMNS[1..].iter().copied())
                .values_panic([
                    event.event_id.clone().into(),
                    event.topic.clone().into(),
                    offer.rule.clone().into(),
                    i64::from(u8::from(offer.level)).into(),
                    offer.procedure.clone().into(),
                    offer.recipient.clone().into(),
                    event.payload.get("dossier_code").and_then(Value::as_str).map(str::to_string).into(),
                    offer.title.clone().into(),
                    offer.because.clone().into(),
                    offer.guidance.clone().into(),
                    serde_json::to_string(&offer.prepared).expect("serialises").into(),
                    serde_json::to_string(&offer.documents).expect("serialises").into(),
                    serde_json::to_string(&offer.alternatives).expect("serialises").into(),
                    "open".into(),
                    valid_until.into(),
                    None::<NaiveDate>.into(),
                    None::<i64>.into(),
                    now.into(),
                    None::<DateTime<Utc>>.into(),
                    1i64.into(),
                ])
                .to_owned(),
        )
        .await?;
        made += 1;
    }
    Ok(made)
}

/// Milestones the population registry announces, in whole months of age, for a person of
/// `sex` on `day`.
fn milestones(sex: &str, day: NaiveDate) -> Vec<(&'static str, u32)> {
    let retire = proactive::retirement_age_months(sex, day.year()) as u32;
    vec![("6", 72), ("14", 168), ("17", 204), ("retirement", retire)]
}

/// An update of offer `id` that applies only while the offer is still open or postponed at
/// `version`, and moves its version on (the recipient has not decided yet; nobody changed it).
fn undecided_offer(id: i64, version: i64) -> sea_query::UpdateStatement {
    Query::update()
        .table("offers")
        .value("version", version + 1)
        .and_where(Expr::col("id").eq(id))
        .and_where(Expr::col("version").eq(version))
        .and_where(Expr::col("status").is_in(["open", "postponed"]))
        .to_owned()
}

impl Store {
    /// Every rule, by key.
    pub async fn proactive_rules(&self) -> Result<Vec<StoredRule>> {
        let rows: Vec<RuleRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(RULE_COLUMNS)
                    .from("proactive_rules")
                    .order_by("rule_key", Order::Asc)
                    .to_owned(),
            )
            .await?;
        rows.into_iter().map(RuleRow::stored).collect()
    }

    pub async fn proactive_rule(&self, key: &str) -> Result<StoredRule> {
        let row: RuleRow = self
            .db
            .fetch_one(
                &Query::select()
                    .columns(RULE_COLUMNS)
                    .from("proactive_rules")
                    .and_where(Expr::col("rule_key").eq(key))
                    .to_owned(),
            )
            .await?;
        row.stored()
    }

    /// Creates a rule (`expected_version` none) or replaces one at `expected_version`. The
    /// caller validated it; the owner of an existing rule does not change.
    pub async fn save_proactive_rule(
        &self,
        rule: &Rule,
        agency: Option<&str>,
        enabled: bool,
        expected_version: Option<i64>,
        by: &str,
    ) -> Result<i64> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let version = match expected_version {
            None => {
                match tx.execute(&insert_rule(rule, agency, by, now)).await {
                    Err(e) if e.is_unique_violation() => return Err(StoreError::Duplicate(rule.key.clone())),
                    r => r?,
                };
                if !enabled {
                    tx.execute(
                        &Query::update()
                            .table("proactive_rules")
                            .value("enabled", false)
                            .and_where(Expr::col("rule_key").eq(rule.key.clone()))
                            .to_owned(),
                    )
                    .await?;
                }
                1
            }
            Some(v) => {
                let n = tx
                    .execute(
                        &Query::update()
                            .table("proactive_rules")
                            .value("body", serde_json::to_string(rule).expect("serialises"))
                            .value("topic", rule.event.clone())
                            .value("enabled", enabled)
                            .value("version", v + 1)
                            .value("updated_at", now)
                            .value("updated_by", by)
                            .and_where(Expr::col("rule_key").eq(rule.key.clone()))
                            .and_where(Expr::col("version").eq(v))
                            .to_owned(),
                    )
                    .await?;
                if n == 0 {
                    let _ = tx.rollback().await;
                    return match self.proactive_rule(&rule.key).await {
                        Ok(current) => Err(StoreError::Conflict { state: "rule".into(), version: current.version }),
                        Err(e) => Err(e),
                    };
                }
                v + 1
            }
        };
        tx.commit().await?;
        Ok(version)
    }

    /// Offers for a person, newest first.
    pub async fn offers_for(&self, person_number: &str, limit: u64) -> Result<Vec<OfferRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(OFFER_COLUMNS)
                    .from("offers")
                    .and_where(Expr::col("recipient").eq(person_number))
                    .order_by("created_at", Order::Desc)
                    .order_by("id", Order::Desc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    pub async fn offer(&self, id: i64) -> Result<OfferRow> {
        self.db
            .fetch_one(
                &Query::select().columns(OFFER_COLUMNS).from("offers").and_where(Expr::col("id").eq(id)).to_owned(),
            )
            .await
    }

    /// Offers made from the result of dossier `code`, to `recipient` (or to anyone).
    pub async fn offers_from_dossier(&self, code: &str, recipient: Option<&str>) -> Result<Vec<OfferRow>> {
        let mut q = Query::select();
        q.columns(OFFER_COLUMNS).from("offers").and_where(Expr::col("origin").eq(code));
        if let Some(r) = recipient {
            q.and_where(Expr::col("recipient").eq(r));
        }
        self.db.fetch_all(&q.order_by("id", Order::Asc).to_owned()).await
    }

    /// Hands an offer still open or postponed (at `version`) to another recipient, in the
    /// audit log: a parent who applied for the child's services in a life-event bundle takes
    /// over the offer the rules made to the other parent, which then leaves that inbox.
    pub async fn readdress_offer(
        &self,
        id: i64,
        version: i64,
        recipient: &str,
        actor: &crate::dossiers::Actor,
    ) -> Result<OfferRow> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let n = tx.execute(undecided_offer(id, version).value("recipient", recipient)).await?;
        if n == 0 {
            let _ = tx.rollback().await;
            let current = self.offer(id).await?;
            return Err(StoreError::Conflict { state: current.status, version: current.version });
        }
        // The personal numbers stay in the offer; the log names the offer only.
        crate::dossiers::audit(
            &mut tx,
            actor,
            "offer.readdressed",
            "offer",
            &id.to_string(),
            None,
            None,
            &json!({}),
            now,
        )
        .await?;
        tx.commit().await?;
        self.offer(id).await
    }

    /// Offers made for one event.
    pub async fn offers_of_event(&self, event_id: &str) -> Result<Vec<OfferRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(OFFER_COLUMNS)
                    .from("offers")
                    .and_where(Expr::col("event_id").eq(event_id))
                    .order_by("id", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    /// Records the recipient's decision on an offer still open (or postponed) at `version`.
    pub async fn decide_offer(&self, id: i64, version: i64, decision: OfferDecision) -> Result<OfferRow> {
        let now = Utc::now();
        let mut q = undecided_offer(id, version);
        q.value("decided_at", now);
        match decision {
            OfferDecision::Postpone { until } => {
                q.value("status", "postponed").value("postponed_until", until);
            }
            OfferDecision::Decline => {
                q.value("status", "declined");
            }
            OfferDecision::Accept { dossier_id } => {
                q.value("status", "accepted").value("dossier_id", dossier_id);
            }
        }
        let n = self.db.execute(&q).await?;
        let current = self.offer(id).await?;
        if n == 0 {
            return Err(StoreError::Conflict { state: current.status, version: current.version });
        }
        Ok(current)
    }

    /// Turns proactive offers off (or on again) for a person.
    pub async fn set_proactive_opt_out(&self, person_number: &str, opted_out: bool) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            &Query::insert()
                .into_table("proactive_preferences")
                .columns(["person_number", "opted_out", "updated_at"])
                .values_panic([person_number.into(), opted_out.into(), Utc::now().into()])
                .on_conflict(
                    sea_query::OnConflict::column("person_number")
                        .update_columns(["opted_out", "updated_at"])
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        tx.commit().await
    }

    pub async fn proactive_opted_out(&self, person_number: &str) -> Result<bool> {
        let r: Option<OptRow> = self
            .db
            .fetch_optional(
                &Query::select()
                    .column("opted_out")
                    .from("proactive_preferences")
                    .and_where(Expr::col("person_number").eq(person_number))
                    .to_owned(),
            )
            .await?;
        Ok(r.is_some_and(|r| r.opted_out))
    }

    /// The population registry's daily scan: a `population.age-reached` event for everyone
    /// who reaches a milestone on a day after the last scan, up to `today` (at most 31 days
    /// back; a first scan covers `today` only). Returns the events written.
    pub async fn scan_age_milestones(&self, today: NaiveDate) -> Result<usize> {
        let mut tx = self.db.begin_write().await?;
        // One node at a time moves the mark, so each birthday is announced once.
        tx.lock(crate::exec::Lock::PopulationScan).await?;
        let mark: Option<ScanRow> = tx
            .fetch_optional(
                &Query::select()
                    .column("scanned_through")
                    .from("population_scans")
                    .and_where(Expr::col("id").eq(1))
                    .to_owned(),
            )
            .await?;
        let first = match &mark {
            Some(m) => {
                std::cmp::Ord::max(m.scanned_through + chrono::Duration::days(1), today - chrono::Duration::days(30))
            }
            None => today,
        };
        let now = Utc::now();
        let mut written = 0;
        let mut day = first;
        while day <= today {
            for sex in ["Nam", "Nữ"] {
                for (milestone, months) in milestones(sex, day) {
                    let Some(born) = day.checked_sub_months(Months::new(months)) else { continue };
                    let people: Vec<Person> = tx
                        .fetch_all(
                            &Query::select()
                                .columns(crate::reference::PERSON_COLUMNS)
                                .from("persons")
                                .and_where(Expr::col("birth_date").eq(born))
                                .and_where(Expr::col("sex").eq(sex))
                                .to_owned(),
                        )
                        .await?;
                    for p in people {
                        let mut payload = json!({
                            "person_number": p.person_number, "name": p.full_name, "sex": p.sex,
                            "birth_date": p.birth_date, "milestone": milestone, "address": p.address,
                            "record_id": p.person_number,
                        });
                        if let Some(h) = p.household_id
                            && let Some(head) = head_of(&mut tx, h).await?
                        {
                            payload["household_head_number"] = json!(head.person_number);
                            payload["household_head_name"] = json!(head.full_name);
                        }
                        if let Some(i) = insurance_of(&mut tx, &p.person_number).await? {
                            payload["social_insurance_number"] = json!(i.social_insurance_number);
                            payload["contribution_months"] = json!(i.contribution_months);
                        }
                        crate::outbox::enqueue(&mut tx, "population.age-reached", &payload, now);
                        written += 1;
                    }
                }
            }
            day += chrono::Duration::days(1);
        }
        let upsert = Query::insert()
            .into_table("population_scans")
            .columns(["id", "scanned_through"])
            .values_panic([1i64.into(), today.into()])
            .on_conflict(sea_query::OnConflict::column("id").update_column("scanned_through").to_owned())
            .to_owned();
        tx.execute(&upsert).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// K4 since `since`: the share of dossiers of the services the rules offer that came from
    /// an accepted offer, per procedure, and how offers fared.
    pub async fn proactive_stats(&self, since: NaiveDate, today: NaiveDate) -> Result<ProactiveStats> {
        let codes: Vec<String> = {
            let mut c: Vec<String> = self
                .proactive_rules()
                .await?
                .into_iter()
                .filter(|r| r.enabled && r.rule.level >= proactive::Level::Prepared)
                .flat_map(|r| {
                    let mut v = vec![r.rule.procedure.clone()];
                    v.extend(r.rule.choices.iter().map(|c| c.procedure.clone()));
                    v
                })
                .collect();
            c.sort();
            c.dedup();
            c
        };
        let since_ts = since.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let rows: Vec<ProcDossiers> = if codes.is_empty() {
            vec![]
        } else {
            self.db
                .fetch_all(
                    &Query::select()
                        .column(("procedures", "code"))
                        .column(("procedures", "name"))
                        .expr_as(Func::count(Expr::col(("dossiers", "id"))), "n")
                        .expr_as(Func::count(Expr::col(("offers", "id"))), "proactive")
                        .from("dossiers")
                        .inner_join("procedures", Expr::col(("procedures", "id")).equals(("dossiers", "procedure_id")))
                        .left_join("offers", Expr::col(("offers", "dossier_id")).equals(("dossiers", "id")))
                        .and_where(Expr::col(("procedures", "code")).is_in(codes.clone()))
                        .and_where(Expr::col(("dossiers", "submitted_at")).gte(since_ts))
                        .group_by_col(("procedures", "code"))
                        .group_by_col(("procedures", "name"))
                        .order_by(("procedures", "code"), Order::Asc)
                        .to_owned(),
                )
                .await?
        };
        let per_procedure: Vec<ProcedureProactive> = rows
            .into_iter()
            .map(|r| ProcedureProactive {
                code: r.code,
                name: r.name,
                dossiers: r.n,
                proactive: r.proactive.unwrap_or(0),
            })
            .collect();
        let dossiers: i64 = per_procedure.iter().map(|p| p.dossiers).sum();
        let delivered: i64 = per_procedure.iter().map(|p| p.proactive).sum();
        let offers: Vec<OfferRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(OFFER_COLUMNS)
                    .from("offers")
                    .and_where(Expr::col("created_at").gte(since_ts))
                    .to_owned(),
            )
            .await?;
        let mut counts = OfferCounts::default();
        for o in &offers {
            counts.made += 1;
            match o.state(today) {
                OfferState::Open => counts.open += 1,
                OfferState::Postponed => counts.postponed += 1,
                OfferState::Accepted => counts.accepted += 1,
                OfferState::Declined => counts.declined += 1,
                OfferState::Expired => counts.expired += 1,
            }
        }
        Ok(ProactiveStats {
            since,
            dossiers,
            delivered_proactively: delivered,
            share: if dossiers == 0 { 0.0 } else { delivered as f64 / dossiers as f64 },
            per_procedure,
            offers: counts,
        })
    }

    /// How many offers exist (for tests and the CLI).
    pub async fn offer_count(&self) -> Result<i64> {
        let r: CountRow = self
            .db
            .fetch_one(&Query::select().expr_as(Func::count(Expr::col("id")), "n").from("offers").to_owned())
            .await?;
        Ok(r.n.unwrap_or(0))
    }
}
