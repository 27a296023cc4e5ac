//! The completeness check an officer sees before receiving a dossier (issue #5): are the
//! mandatory components there, are the personal numbers well formed, and do the people the
//! form names exist in the population registry under those names. Pure: the store looks the
//! people up, this module judges.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use crate::procedure::ProcedureSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    /// Worth a look; does not by itself stop the dossier.
    Warning,
    /// Something required is absent: ask for a supplement or refuse.
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The e-form field or component concerned.
    pub subject: String,
    pub message: String,
}

/// What the population registry holds about a person named in the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPerson {
    pub full_name: String,
    pub birth_date: NaiveDate,
}

/// The e-form fields holding a personal number, each with the field holding that person's
/// name, if the form has one.
pub fn person_fields(data: &Value) -> Vec<(String, Option<String>)> {
    let Some(map) = data.as_object() else { return vec![] };
    let mut out = vec![];
    for k in map.keys() {
        let prefix = k.strip_suffix("_id_number").or_else(|| k.strip_suffix("_person_number"));
        let Some(prefix) = prefix else { continue };
        let name = [format!("{prefix}_full_name"), format!("{prefix}_person_name"), format!("{prefix}_name")]
            .into_iter()
            .chain((prefix == "head").then(|| "head_of_household".to_string()))
            .find(|n| map.contains_key(n));
        out.push((k.clone(), name));
    }
    out
}

fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    data.get(field).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// Judges a dossier: `provided` are the components it has (uploaded, filled in, fetched),
/// `people` the registry's records of the personal numbers the form names, `today` the day.
pub fn check(
    spec: &ProcedureSpec,
    data: &Value,
    provided: &[String],
    people: &HashMap<String, RegistryPerson>,
    today: NaiveDate,
) -> Vec<Finding> {
    let mut out = vec![];
    for c in &spec.components {
        let has = provided.contains(&c.name) || c.name.starts_with("Tờ khai");
        out.push(match (c.mandatory, has) {
            (_, true) => {
                Finding { severity: Severity::Ok, subject: c.name.clone(), message: "có trong hồ sơ".into() }
            }
            (true, false) => Finding {
                severity: Severity::Missing,
                subject: c.name.clone(),
                message: "thành phần bắt buộc chưa có".into(),
            },
            (false, false) => continue,
        });
    }
    for (field, name_field) in person_fields(data) {
        let Some(number) = text(data, &field) else { continue };
        if crate::ident::validate_personal_number(number).is_err() {
            out.push(Finding {
                severity: Severity::Missing,
                subject: field,
                message: format!("{number} không phải số định danh cá nhân hợp lệ"),
            });
            continue;
        }
        let Some(person) = people.get(number) else {
            out.push(Finding {
                severity: Severity::Warning,
                subject: field,
                message: "không có trong Cơ sở dữ liệu quốc gia về dân cư của hệ thống này".into(),
            });
            continue;
        };
        match name_field.as_deref().and_then(|n| text(data, n)) {
            Some(name) if crate::text::fold(name) != crate::text::fold(&person.full_name) => out.push(Finding {
                severity: Severity::Warning,
                subject: name_field.unwrap_or_default(),
                message: format!("họ tên khác với cơ sở dữ liệu dân cư ({})", person.full_name),
            }),
            _ => out.push(Finding {
                severity: Severity::Ok,
                subject: field,
                message: "khớp cơ sở dữ liệu dân cư".into(),
            }),
        }
    }
    if let Some(map) = data.as_object() {
        for (k, v) in map {
            let past_only = k.contains("birth_date") || k.contains("date_of_death");
            if let (true, Some(d)) = (past_only, v.as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()))
                && d > today
            {
                out.push(Finding {
                    severity: Severity::Warning,
                    subject: k.clone(),
                    message: "ngày ở tương lai".into(),
                });
            }
        }
    }
    out
}

/// Complete: nothing required is missing.
pub fn complete(findings: &[Finding]) -> bool {
    !findings.iter().any(|f| f.severity == Severity::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedure::Component;
    use serde_json::json;

    fn spec() -> ProcedureSpec {
        let mut s: ProcedureSpec = serde_json::from_value(json!({
            "code": "1.000656", "name": "Đăng ký khai tử", "name_en": "", "sector": "", "level": "commune",
            "agency_kind": "commune_pc", "deadline_working_days": 1, "fees": "", "fee_vnd": 0,
            "service_level": "full_process", "applicants": "citizens", "conditions": "", "steps": "",
            "legal_basis": "", "result_document": "", "components": [], "keywords": ""
        }))
        .unwrap();
        let comp = |name: &str, mandatory| Component {
            name: name.into(),
            quantity: "01".into(),
            mandatory,
            template: None,
            evidence: vec![],
        };
        s.components =
            vec![comp("Tờ khai đăng ký khai tử", true), comp("Giấy báo tử", true), comp("Giấy tờ khác", false)];
        s
    }

    #[test]
    fn finds_what_is_missing_and_what_does_not_match_the_registry() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let data = json!({"deceased_full_name": "Le Van Ba", "deceased_id_number": "001048001122", "date_of_death": "2026-12-30"});
        let mut people = HashMap::new();
        people.insert(
            "001048001122".to_string(),
            RegistryPerson {
                full_name: "Lê Văn Ba".into(), birth_date: NaiveDate::from_ymd_opt(1948, 3, 2).unwrap()
            },
        );
        let f = check(&spec(), &data, &[], &people, today);
        assert!(!complete(&f));
        assert!(f.iter().any(|x| x.subject == "Giấy báo tử" && x.severity == Severity::Missing));
        assert!(
            f.iter().any(|x| x.subject == "deceased_id_number" && x.severity == Severity::Ok),
            "names match without diacritics: {f:?}"
        );
        assert!(f.iter().any(|x| x.subject == "date_of_death" && x.severity == Severity::Warning));
        let other = json!({"deceased_full_name": "Trần Văn C", "deceased_id_number": "001048001122"});
        let f = check(&spec(), &other, &["Giấy báo tử".to_string()], &people, today);
        assert!(complete(&f));
        assert!(f.iter().any(|x| x.subject == "deceased_full_name"
            && x.severity == Severity::Warning
            && x.message.contains("Lê Văn Ba")));
        let bad = json!({"deceased_id_number": "123"});
        assert!(!complete(&check(&spec(), &bad, &["Giấy báo tử".to_string()], &people, today)));
    }
}
