//! What an issued result changes in a base registry (issue #4): the result of a birth
//! registration is the birth's entry in the civil-status book; a death registration is the
//! death's; a permanent-residence registration changes the person's address in the residence
//! registry; an enterprise registration adds the enterprise. The store writes the change and
//! its change event (the transactional outbox) in the transaction that issues the result.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A change of a base registry, decided from a procedure's issued result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegistryChange {
    BirthRegistered {
        child_name: String,
        birth_date: NaiveDate,
        /// `Nam` or `Nữ`.
        sex: String,
        place: String,
        mother_name: String,
        mother_person_number: String,
        father_name: Option<String>,
        father_person_number: Option<String>,
    },
    DeathRegistered {
        person_number: String,
        name: String,
        date_of_death: NaiveDate,
        place: String,
    },
    AddressChanged {
        person_number: String,
        new_address: String,
    },
    EnterpriseRegistered {
        name: String,
        head_office: String,
        owner_person_number: String,
    },
    MarriageRegistered {
        husband_name: String,
        husband_person_number: String,
        wife_name: String,
        wife_person_number: String,
    },
    HouseholdBusinessRegistered {
        name: String,
        head_office: String,
        owner_person_number: String,
    },
}

impl RegistryChange {
    /// The event's topic: `<registry>.<what happened>`.
    pub fn topic(&self) -> &'static str {
        match self {
            RegistryChange::BirthRegistered { .. } => "civil-status.birth-registered",
            RegistryChange::DeathRegistered { .. } => "civil-status.death-registered",
            RegistryChange::AddressChanged { .. } => "residence.address-changed",
            RegistryChange::EnterpriseRegistered { .. } => "enterprises.registered",
            RegistryChange::MarriageRegistered { .. } => "civil-status.marriage-registered",
            RegistryChange::HouseholdBusinessRegistered { .. } => "enterprises.household-business-registered",
        }
    }
}

/// The topics of change events, for subscribers.
pub const TOPICS: [&str; 7] = [
    "civil-status.birth-registered",
    "civil-status.death-registered",
    "civil-status.marriage-registered",
    "residence.address-changed",
    "enterprises.registered",
    "enterprises.household-business-registered",
    // Written by the population registry's daily scan, not by a result.
    "population.age-reached",
];

fn text(data: &Value, field: &str) -> Option<String> {
    data.get(field).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn date(data: &Value, field: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&text(data, field)?, "%Y-%m-%d").ok()
}

/// The registry change of issuing the result of procedure `code` for a dossier with form
/// `data`, filed by the applicant with identifier `applicant_id`; none for procedures that
/// change no registry (or whose data lacks what the registry needs).
pub fn on_result(code: &str, applicant_id: &str, data: &Value) -> Option<RegistryChange> {
    match code {
        "1.001193" => Some(RegistryChange::BirthRegistered {
            child_name: text(data, "child_full_name")?,
            birth_date: date(data, "child_birth_date")?,
            sex: text(data, "child_sex")?,
            place: text(data, "place_of_birth")?,
            mother_name: text(data, "mother_full_name")?,
            mother_person_number: text(data, "mother_id_number")?,
            father_name: text(data, "father_full_name"),
            father_person_number: text(data, "father_id_number"),
        }),
        "1.000656" => Some(RegistryChange::DeathRegistered {
            person_number: text(data, "deceased_id_number")?,
            name: text(data, "deceased_full_name")?,
            date_of_death: date(data, "date_of_death")?,
            place: text(data, "place_of_death")?,
        }),
        // A parent may register a minor child: the change is the child's.
        "1.004194" if !applicant_id.is_empty() => Some(RegistryChange::AddressChanged {
            person_number: text(data, "registered_person_number").unwrap_or_else(|| applicant_id.to_string()),
            new_address: text(data, "new_address")?,
        }),
        "1.000894" => Some(RegistryChange::MarriageRegistered {
            husband_name: text(data, "spouse1_full_name")?,
            husband_person_number: text(data, "spouse1_id_number")?,
            wife_name: text(data, "spouse2_full_name")?,
            wife_person_number: text(data, "spouse2_id_number")?,
        }),
        "2.000575" if !applicant_id.is_empty() => Some(RegistryChange::HouseholdBusinessRegistered {
            name: text(data, "business_name")?,
            head_office: text(data, "address")?,
            owner_person_number: applicant_id.to_string(),
        }),
        "1.001612" if !applicant_id.is_empty() => Some(RegistryChange::EnterpriseRegistered {
            name: text(data, "enterprise_name")?,
            head_office: text(data, "head_office")?,
            owner_person_number: applicant_id.to_string(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_birth_registration_registers_the_birth() {
        let data = json!({"child_full_name": "Nguyễn Minh An", "child_birth_date": "2026-11-20", "child_sex": "Nam",
            "place_of_birth": "Bệnh viện Phụ sản Hà Nội", "mother_full_name": "Trần Thị Mai",
            "mother_id_number": "001190012345", "father_full_name": ""});
        let c = on_result("1.001193", "001190012345", &data).unwrap();
        assert_eq!(c.topic(), "civil-status.birth-registered");
        let RegistryChange::BirthRegistered { father_name, birth_date, .. } = &c else { panic!() };
        assert_eq!(*father_name, None);
        assert_eq!(*birth_date, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
        // Round trip as the event payload.
        let back: RegistryChange = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(TOPICS.contains(&c.topic()));
    }

    #[test]
    fn other_results_change_what_they_should_and_nothing_else() {
        let moved = on_result("1.004194", "001190012345", &json!({"new_address": "5 Lê Lợi"})).unwrap();
        assert_eq!(
            moved,
            RegistryChange::AddressChanged { person_number: "001190012345".into(), new_address: "5 Lê Lợi".into() }
        );
        assert_eq!(on_result("1.004194", "", &json!({"new_address": "5 Lê Lợi"})), None);
        assert_eq!(on_result("1.001193", "x", &json!({"child_full_name": "An"})), None, "incomplete data");
        assert_eq!(on_result("2.000635", "x", &json!({})), None);
        assert!(TOPICS.contains(&moved.topic()));
        let died = on_result(
            "1.000656",
            "x",
            &json!({"deceased_id_number": "001050000001", "deceased_full_name": "Lê Văn Bình",
                "date_of_death": "2026-11-01", "place_of_death": "Hà Nội"}),
        )
        .unwrap();
        assert_eq!(died.topic(), "civil-status.death-registered");
        let firm = on_result(
            "1.001612",
            "001190012345",
            &json!({"enterprise_name": "DNTN Minh An", "head_office": "5 Lê Lợi"}),
        );
        assert_eq!(firm.unwrap().topic(), "enterprises.registered");
    }
}
