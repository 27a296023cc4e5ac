//! Proactive services (issue #5): rules that turn a life event into offers.
//!
//! Life events arrive as the registries' change events (`registry_change`, plus the
//! population registry's daily `population.age-reached`). A [`Rule`] is data, edited and
//! tested by an agency administrator: for events of one topic, the facts the event (and the
//! registries' records of the people it names) establish must meet its conditions; the rule
//! then offers a procedure to a named person at one of the three proactive levels
//! ([`Level`]), with a "because …" written from the facts that decided it. Everything here is
//! pure: the store gathers the facts, this module decides.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The three proactive levels of the draft decree under the Law on Digital Transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Level {
    /// A reminder of an upcoming event or obligation, with guidance.
    Reminder = 1,
    /// A reminder with a dossier prepared from data the state holds, confirmed in one step.
    Prepared = 2,
    /// Level 2 with a recommendation where several services lead to the same outcome.
    Recommended = 3,
}

impl TryFrom<u8> for Level {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            1 => Ok(Level::Reminder),
            2 => Ok(Level::Prepared),
            3 => Ok(Level::Recommended),
            _ => Err(format!("level {v}: proactive levels are 1, 2 and 3")),
        }
    }
}

impl From<Level> for u8 {
    fn from(l: Level) -> u8 {
        l as u8
    }
}

/// How a condition compares a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// The fact is known (not null, not empty).
    Present,
    /// The fact is unknown.
    Absent,
}

/// One condition on a fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub fact: String,
    pub op: Op,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

/// Who receives an offer: a personal number named by a fact of the event.
pub type Recipient = String;

/// A document of the offered procedure that a registry already holds, named by the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldDocument {
    /// The procedure's component (its exact name in the catalogue).
    pub component: String,
    /// The registry that holds it (`civil-status`, `residence`, …).
    pub registry: String,
    /// The record, as a template over the facts (`{record_id}`).
    pub record: String,
}

/// One option of a level-3 rule: a procedure leading to the outcome, and when it is best.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub procedure: String,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Why this option, as a template over the facts.
    pub why: String,
    /// Fields this option sets in the prepared dossier, over the rule's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prepare: BTreeMap<String, String>,
}

/// A proactive rule, as an agency administrator edits it (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable key, e.g. `birth.health-insurance`.
    pub key: String,
    /// The life event: a change event topic.
    pub event: String,
    pub level: Level,
    /// The procedure offered (its code); for level 3 the default when no choice applies.
    pub procedure: String,
    /// The fact naming the recipient's personal number (`mother_person_number`, `person_number`).
    pub recipient: Recipient,
    /// Title shown in the inbox, as a template.
    pub title: String,
    /// "Because …", as a template over the facts.
    pub because: String,
    /// What to do, as a template.
    #[serde(default)]
    pub guidance: String,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Level 2 and 3: the prepared dossier's e-form fields, each a template over the facts.
    #[serde(default)]
    pub prepare: BTreeMap<String, String>,
    /// Level 2 and 3: documents the registries hold, so nobody uploads them.
    #[serde(default)]
    pub documents: Vec<HeldDocument>,
    /// Level 3: the options, best first.
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// Working days the offer stays open.
    #[serde(default = "default_valid_days")]
    pub valid_working_days: u32,
}

fn default_valid_days() -> u32 {
    30
}

/// The facts of one event: names to values (strings, numbers, booleans).
pub type Facts = BTreeMap<String, Value>;

/// An offer the rule makes for one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offer {
    pub rule: String,
    pub level: Level,
    pub procedure: String,
    pub recipient: String,
    pub title: String,
    pub because: String,
    pub guidance: String,
    pub prepared: BTreeMap<String, String>,
    pub documents: Vec<(HeldDocument, String)>,
    /// Level 3: the other options, with why each fits or not.
    pub alternatives: Vec<(String, String)>,
}

/// What a rule decides for an event, with the reason either way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Decision {
    Offer(Box<Offer>),
    /// Not eligible: the first condition that failed, in words.
    NotEligible(String),
}

/// A mistake in a rule, found before it is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

/// The topics a rule may listen to, with the facts each establishes.
pub const EVENTS: [(&str, &[&str]); 7] = [
    (
        "civil-status.birth-registered",
        &[
            "child_name",
            "person_number",
            "birth_date",
            "sex",
            "place",
            "mother_name",
            "mother_person_number",
            "father_name",
            "father_person_number",
            "record_id",
            "dossier_code",
            "agency_code",
            "age_years",
            "age_months",
            "mother_address",
            "mother_household_head",
            "mother_social_insurance_number",
            "mother_contribution_months",
        ],
    ),
    (
        "civil-status.death-registered",
        &[
            "person_number",
            "name",
            "date_of_death",
            "place",
            "record_id",
            "dossier_code",
            "declarant_person_number",
            "social_insurance_number",
            "contribution_months",
            "address",
        ],
    ),
    (
        "civil-status.marriage-registered",
        &["husband_name", "husband_person_number", "wife_name", "wife_person_number", "record_id", "dossier_code"],
    ),
    ("residence.address-changed", &["person_number", "new_address", "record_id", "dossier_code", "name"]),
    (
        "enterprises.registered",
        &["name", "head_office", "owner_person_number", "tax_code", "record_id", "dossier_code"],
    ),
    (
        "enterprises.household-business-registered",
        &["name", "head_office", "owner_person_number", "record_id", "dossier_code"],
    ),
    (
        "population.age-reached",
        &[
            "person_number",
            "name",
            "sex",
            "birth_date",
            "milestone",
            "age_years",
            "age_months",
            "household_head_number",
            "household_head_name",
            "address",
            "social_insurance_number",
            "contribution_months",
        ],
    ),
];

/// The facts a topic establishes, if Sen knows the topic.
pub fn facts_for(topic: &str) -> Option<&'static [&'static str]> {
    EVENTS.iter().find(|(t, _)| *t == topic).map(|(_, f)| *f)
}

/// Whole years and months between `birth` and `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> (i64, i64) {
    let mut months = (on.year() - birth.year()) as i64 * 12 + on.month() as i64 - birth.month() as i64;
    if on.day() < birth.day() {
        months -= 1;
    }
    let months = months.max(0);
    (months / 12, months)
}

/// The retirement age in months for someone of `sex` (`Nam`/`Nữ`) reaching it in `year`
/// (Labour Code 2019, art. 169; Decree 135/2020): men from 60 years 3 months in 2021, three
/// months more a year up to 62; women from 55 years 4 months, four months more a year up to 60.
pub fn retirement_age_months(sex: &str, year: i32) -> i64 {
    let steps = i64::from((year - 2021).max(0));
    if sex == "Nữ" { (55 * 12 + 4 + 4 * steps).min(60 * 12) } else { (60 * 12 + 3 + 3 * steps).min(62 * 12) }
}

/// Adds the facts derived from dates: the age (years and months) on `today` of whoever the
/// event's `birth_date` belongs to.
pub fn derive(facts: &mut Facts, today: NaiveDate) {
    if let Some(b) =
        facts.get("birth_date").and_then(Value::as_str).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    {
        let (y, m) = age_on(b, today);
        facts.insert("age_years".into(), y.into());
        facts.insert("age_months".into(), m.into());
    }
}

fn is_known(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::Number(y)) => x.parse::<f64>().ok()?.partial_cmp(&y.as_f64()?),
        _ => None,
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => {
            // Dates read the Vietnamese way.
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_else(|_| s.clone())
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn op_words(op: Op) -> &'static str {
    match op {
        Op::Eq => "là",
        Op::Ne => "khác",
        Op::Lt => "nhỏ hơn",
        Op::Le => "không quá",
        Op::Gt => "lớn hơn",
        Op::Ge => "từ",
        Op::Present => "đã có",
        Op::Absent => "chưa có",
    }
}

/// Whether `c` holds; if not, why not (in Vietnamese).
pub fn check(c: &Condition, facts: &Facts) -> Result<(), String> {
    let v = facts.get(&c.fact);
    let holds = match c.op {
        Op::Present => is_known(v),
        Op::Absent => !is_known(v),
        op => match v.filter(|v| !v.is_null()) {
            None => false,
            Some(v) => match compare(v, &c.value) {
                None => op == Op::Ne,
                Some(o) => match op {
                    Op::Eq => o.is_eq(),
                    Op::Ne => o.is_ne(),
                    Op::Lt => o.is_lt(),
                    Op::Le => o.is_le(),
                    Op::Gt => o.is_gt(),
                    Op::Ge => o.is_ge(),
                    Op::Present | Op::Absent => unreachable!(),
                },
            },
        },
    };
    if holds {
        return Ok(());
    }
    let actual = v.map(shown).filter(|s| !s.is_empty()).unwrap_or_else(|| "chưa có".into());
    Err(match c.op {
        Op::Present | Op::Absent => format!("{} {} (hiện: {actual})", c.fact, op_words(c.op)),
        _ => format!("{} phải {} {} (hiện: {actual})", c.fact, op_words(c.op), shown(&c.value)),
    })
}

/// Fills `{fact}` placeholders from the facts; an unknown or empty fact is an error naming it.
pub fn render(template: &str, facts: &Facts) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("unclosed placeholder in {template:?}"));
        };
        let name = &rest[open + 1..open + close];
        match facts.get(name).filter(|v| is_known(Some(v))) {
            Some(v) => out.push_str(&shown(v)),
            None => return Err(format!("fact {name} is not known")),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Fills placeholders keeping ISO values (for e-form fields: dates stay `YYYY-MM-DD`).
fn render_raw(template: &str, facts: &Facts) -> Result<String, String> {
    let t = template.trim();
    if let Some(name) = t.strip_prefix('{').and_then(|s| s.strip_suffix('}')).filter(|n| !n.contains('{')) {
        return match facts.get(name).filter(|v| is_known(Some(v))) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Ok(v.to_string()),
            None => Err(format!("fact {name} is not known")),
        };
    }
    render(template, facts)
}

fn placeholders(template: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        out.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    out
}

/// Checks a rule before it is saved: a known event, facts that event establishes, a
/// procedure in the catalogue (`known_procedure`), and what its level needs.
pub fn validate(rule: &Rule, known_procedure: impl Fn(&str) -> bool) -> Vec<RuleError> {
    let mut errors = vec![];
    let mut err = |field: &str, message: String| errors.push(RuleError { field: field.into(), message });
    if rule.key.trim().is_empty() || !rule.key.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) {
        err("key", "a key of letters, digits, '-', '.', '_'".into());
    }
    let Some(facts) = facts_for(&rule.event) else {
        err("event", format!("unknown life event {}; known: {}", rule.event, EVENTS.map(|(t, _)| t).join(", ")));
        return errors;
    };
    let known = |f: &str| facts.contains(&f);
    if !known(&rule.recipient) {
        err("recipient", format!("{} is not a fact of {}", rule.recipient, rule.event));
    }
    if !known_procedure(&rule.procedure) {
        err("procedure", format!("no procedure {} in the catalogue", rule.procedure));
    }
    for (i, c) in rule.conditions.iter().enumerate() {
        if !known(&c.fact) {
            err(&format!("conditions/{i}/fact"), format!("{} is not a fact of {}", c.fact, rule.event));
        }
        if !matches!(c.op, Op::Present | Op::Absent) && c.value.is_null() {
            err(&format!("conditions/{i}/value"), "a value to compare with".into());
        }
    }
    let mut templates: Vec<(String, &str)> = vec![
        ("title".into(), rule.title.as_str()),
        ("because".into(), rule.because.as_str()),
        ("guidance".into(), rule.guidance.as_str()),
    ];
    templates.extend(rule.prepare.iter().map(|(k, v)| (format!("prepare/{k}"), v.as_str())));
    templates
        .extend(rule.documents.iter().enumerate().map(|(i, d)| (format!("documents/{i}/record"), d.record.as_str())));
    templates.extend(rule.choices.iter().enumerate().map(|(i, c)| (format!("choices/{i}/why"), c.why.as_str())));
    for (field, t) in templates {
        for p in placeholders(t) {
            if !known(p) {
                err(&field, format!("{{{p}}} is not a fact of {}", rule.event));
            }
        }
    }
    if rule.title.trim().is_empty() {
        err("title", "a title".into());
    }
    if rule.because.trim().is_empty() {
        err("because", "say why the person is offered this".into());
    }
    match rule.level {
        Level::Reminder if !rule.prepare.is_empty() || !rule.documents.is_empty() => {
            err("level", "a level-1 reminder prepares no dossier: use level 2".into())
        }
        Level::Prepared | Level::Recommended if rule.prepare.is_empty() => {
            err("prepare", "level 2 and 3 prepare the dossier: name at least one field".into())
        }
        Level::Recommended if rule.choices.len() < 2 => {
            err("choices", "level 3 recommends among at least two services".into())
        }
        _ => {}
    }
    for (i, c) in rule.choices.iter().enumerate() {
        if !known_procedure(&c.procedure) {
            err(&format!("choices/{i}/procedure"), format!("no procedure {} in the catalogue", c.procedure));
        }
        for (j, cond) in c.conditions.iter().enumerate() {
            if !known(&cond.fact) {
                err(
                    &format!("choices/{i}/conditions/{j}/fact"),
                    format!("{} is not a fact of {}", cond.fact, rule.event),
                );
            }
        }
    }
    errors
}

/// Decides a rule for an event's facts.
pub fn decide(rule: &Rule, facts: &Facts) -> Decision {
    for c in &rule.conditions {
        if let Err(why) = check(c, facts) {
            return Decision::NotEligible(why);
        }
    }
    let recipient = match facts.get(&rule.recipient).and_then(Value::as_str).filter(|s| !s.trim().is_empty()) {
        Some(r) => r.to_string(),
        None => return Decision::NotEligible(format!("{} chưa có: không biết gửi cho ai", rule.recipient)),
    };
    let text = |t: &str| render(t, facts);
    let (title, because, guidance) = match (text(&rule.title), text(&rule.because), text(&rule.guidance)) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Decision::NotEligible(e),
    };
    let mut prepared = BTreeMap::new();
    for (field, t) in &rule.prepare {
        // A field the state does not hold stays for the person to fill in.
        if let Ok(v) = render_raw(t, facts) {
            prepared.insert(field.clone(), v);
        }
    }
    let documents =
        rule.documents.iter().filter_map(|d| render(&d.record, facts).ok().map(|r| (d.clone(), r))).collect();
    let mut procedure = rule.procedure.clone();
    let mut because = because;
    let mut alternatives = vec![];
    if rule.level == Level::Recommended {
        let mut chosen = false;
        for c in &rule.choices {
            let fits = c.conditions.iter().try_for_each(|cond| check(cond, facts));
            let why = render(&c.why, facts).unwrap_or_default();
            match fits {
                Ok(()) if !chosen => {
                    chosen = true;
                    procedure = c.procedure.clone();
                    for (field, t) in &c.prepare {
                        if let Ok(v) = render_raw(t, facts) {
                            prepared.insert(field.clone(), v);
                        }
                    }
                    because = format!("{because} Đề xuất: {why}");
                }
                Ok(()) => alternatives.push((c.procedure.clone(), why)),
                Err(not) => alternatives.push((c.procedure.clone(), format!("{why} — không phù hợp: {not}"))),
            }
        }
    }
    Decision::Offer(Box::new(Offer {
        rule: rule.key.clone(),
        level: rule.level,
        procedure,
        recipient,
        title,
        because,
        guidance,
        prepared,
        documents,
        alternatives,
    }))
}

/// The rules Sen ships, as an agency starts with them.
pub fn default_rules() -> Vec<Rule> {
    serde_json::from_str(include_str!("proactive_rules.json")).expect("the shipped rules parse")
}

/// The facts of an event's payload (its top-level scalar fields), with derived ages.
pub fn facts_of(payload: &Value, today: NaiveDate) -> Facts {
    let mut facts = Facts::new();
    if let Some(map) = payload.as_object() {
        for (k, v) in map {
            if !v.is_object() && !v.is_array() {
                facts.insert(k.clone(), v.clone());
            }
        }
    }
    derive(&mut facts, today);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn birth() -> Facts {
        facts_of(
            &json!({"child_name": "Nguyễn Minh An", "person_number": "001226012345", "birth_date": "2026-11-20",
                "sex": "Nam", "mother_name": "Trần Thị Mai", "mother_person_number": "001190012345",
                "record_id": "UBND-X/birth/2026/7", "mother_address": "12 Hàng Bạc", "mother_social_insurance_number": "0123456789"}),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        )
    }

    #[test]
    fn the_shipped_rules_are_valid() {
        let rules = default_rules();
        assert!(rules.len() >= 10);
        for r in &rules {
            assert_eq!(validate(r, |_| true), vec![], "{}", r.key);
        }
        let mut keys: Vec<_> = rules.iter().map(|r| &r.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), rules.len(), "keys are unique");
        for (topic, _) in EVENTS {
            assert!(rules.iter().any(|r| r.event == topic), "a rule for {topic}");
        }
    }

    #[test]
    fn a_birth_offers_the_health_insurance_card_prepared() {
        let rules = default_rules();
        let rule = rules.iter().find(|r| r.key == "birth.health-insurance").unwrap();
        let Decision::Offer(o) = decide(rule, &birth()) else { panic!() };
        assert_eq!(o.level, Level::Prepared);
        assert_eq!(o.recipient, "001190012345");
        assert_eq!(o.prepared["child_birth_date"], "2026-11-20");
        assert_eq!(o.prepared["child_id_number"], "001226012345");
        assert!(o.because.contains("20/11/2026"), "{}", o.because);
    }

    #[test]
    fn conditions_explain_why_not() {
        let c = Condition { fact: "age_years".into(), op: Op::Lt, value: json!(6) };
        let mut f = birth();
        assert_eq!(check(&c, &f), Ok(()));
        f.insert("age_years".into(), json!(7));
        let why = check(&c, &f).unwrap_err();
        assert!(why.contains("age_years") && why.contains('7'), "{why}");
        let absent = Condition { fact: "father_person_number".into(), op: Op::Present, value: Value::Null };
        assert!(check(&absent, &f).is_err());
    }

    #[test]
    fn a_rule_with_unknown_facts_or_procedures_is_refused() {
        let mut r = default_rules().into_iter().find(|r| r.key == "birth.health-insurance").unwrap();
        r.because = "vì {shoe_size}".into();
        r.procedure = "9.999999".into();
        r.conditions.push(Condition { fact: "height".into(), op: Op::Gt, value: json!(1) });
        let errors = validate(&r, |c| c != "9.999999");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"because"), "{errors:?}");
        assert!(fields.contains(&"procedure"), "{errors:?}");
        assert!(fields.iter().any(|f| f.starts_with("conditions/") && f.ends_with("/fact")), "{errors:?}");
        let mut l1 = r.clone();
        l1.level = Level::Recommended;
        l1.choices.clear();
        assert!(validate(&l1, |_| true).iter().any(|e| e.field == "choices"));
    }

    #[test]
    fn level_three_recommends_the_option_that_fits() {
        let rule = default_rules().into_iter().find(|r| r.key == "retirement.income").unwrap();
        let mut f = facts_of(
            &json!({"person_number": "001065000001", "name": "Lê Văn Ba", "sex": "Nam", "birth_date": "1965-06-01",
                "milestone": "retirement", "contribution_months": 250, "social_insurance_number": "0101010101"}),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        );
        let Decision::Offer(o) = decide(&rule, &f) else { panic!() };
        let first = o.procedure.clone();
        assert!(!o.alternatives.is_empty());
        f.insert("contribution_months".into(), json!(40));
        let Decision::Offer(o2) = decide(&rule, &f) else { panic!() };
        assert_ne!(o2.procedure, first, "a short contribution record recommends the other service");
    }

    #[test]
    fn ages_and_retirement() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(age_on(d(2020, 12, 2), d(2026, 12, 1)), (5, 71));
        assert_eq!(age_on(d(2020, 12, 1), d(2026, 12, 1)), (6, 72));
        assert_eq!(retirement_age_months("Nam", 2021), 60 * 12 + 3);
        assert_eq!(retirement_age_months("Nam", 2026), 61 * 12 + 6);
        assert_eq!(retirement_age_months("Nam", 2040), 62 * 12);
        assert_eq!(retirement_age_months("Nữ", 2026), 57 * 12);
        assert_eq!(retirement_age_months("Nữ", 2040), 60 * 12);
    }

    #[test]
    fn render_fills_and_refuses_unknowns() {
        let f = birth();
        assert_eq!(render("Bé {child_name}, sinh {birth_date}", &f).unwrap(), "Bé Nguyễn Minh An, sinh 20/11/2026");
        assert!(render("{father_name}", &f).is_err());
        assert_eq!(render_raw("{birth_date}", &f).unwrap(), "2026-11-20");
    }

    proptest::proptest! {
        #[test]
        fn ages_never_decrease(days in 0i64..40_000, more in 0i64..400) {
            let b = NaiveDate::from_ymd_opt(1930, 1, 1).unwrap() + chrono::Duration::days(days);
            let t1 = b + chrono::Duration::days(more);
            let t2 = t1 + chrono::Duration::days(1);
            proptest::prop_assert!(age_on(b, t1).1 <= age_on(b, t2).1);
        }
    }
}
