//! The base registries' records for the generated population: a birth record for everyone,
//! a marriage record for every couple heading a household, death records for some of the
//! heads' parents, an insurance record for everyone, and the households' land parcels.
//!
//! Generated from their own random stream (derived from the seed), so adding them leaves
//! the rest of the demo as it was for a given seed.

use crate::people;
use chrono::{Datelike, Duration, NaiveDate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sen_domain::ident::{self, Sex};
use sen_store::registries::{CivilEvent, InsuranceRecord, LandParcel};
use sen_store::{Commune, Enterprise, Household, Person};
use serde_json::json;
use std::collections::HashMap;

pub struct Registries {
    pub civil_events: Vec<CivilEvent>,
    pub insurance: Vec<InsuranceRecord>,
    pub land: Vec<LandParcel>,
}

/// The commune authority that keeps a commune's civil-status books (the demo's agency code
/// scheme: `X{commune}.UB`).
pub fn commune_authority(commune_code: &str) -> String {
    format!("X{commune_code}.UB")
}

/// Numbers civil-status registrations per book: (authority, kind, year).
#[derive(Default)]
struct Books(HashMap<(String, &'static str, i32), i64>);

impl Books {
    fn next(&mut self, agency: &str, kind: &'static str, year: i32) -> i64 {
        let n = self.0.entry((agency.to_string(), kind, year)).or_insert(0);
        *n += 1;
        *n
    }
}

fn family_of(full_name: &str) -> &str {
    full_name.split(' ').next().unwrap_or(full_name)
}

pub fn generate(
    seed: u64,
    persons: &[Person],
    households: &[Household],
    communes: &[Commune],
    firms: &[Enterprise],
    today: NaiveDate,
) -> Registries {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5245_4749_5354_5259);
    let commune_names: HashMap<&str, &Commune> = communes.iter().map(|c| (c.code.as_str(), c)).collect();
    let mut books = Books::default();
    let mut civil_events = Vec::new();
    let by_household: HashMap<i64, Vec<&Person>> = persons.iter().fold(HashMap::new(), |mut m, p| {
        if let Some(h) = p.household_id {
            m.entry(h).or_default().push(p);
        }
        m
    });

    let mut serials: HashMap<String, u32> = HashMap::new();
    for h in households {
        let members = by_household.get(&h.id).map(Vec::as_slice).unwrap_or_default();
        let authority = commune_authority(&h.commune_code);
        let place = commune_names.get(h.commune_code.as_str()).map(|c| c.name.clone()).unwrap_or_default();
        let head = members.iter().find(|p| p.relation_to_head == "Chủ hộ");
        let spouse = members.iter().find(|p| p.relation_to_head == "Vợ" || p.relation_to_head == "Chồng");
        let (father, mother) = match (head, spouse) {
            (Some(h), Some(s)) if s.sex == "Nữ" => (Some(*h), Some(*s)),
            (Some(h), Some(s)) => (Some(*s), Some(*h)),
            (Some(h), None) if h.sex == "Nữ" => (None, Some(*h)),
            (Some(h), None) => (Some(*h), None),
            _ => (None, None),
        };
        for p in members {
            let child = p.relation_to_head == "Con";
            let registered = (p.birth_date + Duration::days(rng.gen_range(3..60))).min(today);
            let number = books.next(&authority, "birth", registered.year());
            civil_events.push(CivilEvent {
                kind: "birth".into(),
                agency_code: authority.clone(),
                book_year: registered.year().into(),
                number,
                registered_on: registered,
                event_date: p.birth_date,
                subject_person_number: p.person_number.clone(),
                subject_name: p.full_name.clone(),
                other_person_number: mother.filter(|_| child).map(|m| m.person_number.clone()),
                other_name: mother.filter(|_| child).map(|m| m.full_name.clone()),
                place: place.clone(),
                details: json!({
                    "sex": p.sex,
                    "father": father.filter(|_| child).map(|f| f.full_name.clone()),
                    "mother": mother.filter(|_| child).map(|m| m.full_name.clone()),
                })
                .to_string(),
            });
        }
        if let (Some(a), Some(b)) = (head, spouse) {
            // Married once both were 18 or older, and before the eldest child was born.
            let adult = a.birth_date.max(b.birth_date).year() + 18;
            let eldest = members.iter().filter(|p| p.relation_to_head == "Con").map(|p| p.birth_date.year()).min();
            let latest = eldest.map(|y| y - 1).unwrap_or(today.year()).max(adult);
            let year = rng.gen_range(adult..=latest.min(today.year()));
            let date = NaiveDate::from_ymd_opt(year, rng.gen_range(1..=12), rng.gen_range(1..=28)).unwrap().min(today);
            let number = books.next(&authority, "marriage", date.year());
            civil_events.push(CivilEvent {
                kind: "marriage".into(),
                agency_code: authority.clone(),
                book_year: date.year().into(),
                number,
                registered_on: date,
                event_date: date,
                subject_person_number: a.person_number.clone(),
                subject_name: a.full_name.clone(),
                other_person_number: Some(b.person_number.clone()),
                other_name: Some(b.full_name.clone()),
                place: place.clone(),
                details: json!({"first_marriage": true}).to_string(),
            });
        }
        if let Some(head) = head.filter(|_| rng.gen_bool(0.04)) {
            // A parent of the head died; the head declared the death.
            let female = rng.gen_bool(0.5);
            let birth = NaiveDate::from_ymd_opt(
                head.birth_date.year() - rng.gen_range(20..36),
                rng.gen_range(1..=12),
                rng.gen_range(1..=28),
            )
            .unwrap();
            let died = (today - Duration::days(rng.gen_range(10..3650))).max(birth + Duration::days(365 * 40));
            let province = &head.person_number[..3];
            let prefix = ident::personal_number(province, if female { Sex::Female } else { Sex::Male }, birth, 0)[..6]
                .to_string();
            // Deceased parents get serials of their own, above any a living person could have.
            let serial = serials.entry(prefix).or_insert(900_000);
            *serial += 1;
            let number_of_deceased =
                ident::personal_number(province, if female { Sex::Female } else { Sex::Male }, birth, *serial);
            let name = if female {
                let family = people::family_name(&mut rng);
                people::full_name(&mut rng, family, true)
            } else {
                people::full_name(&mut rng, family_of(&head.full_name), false)
            };
            let registered = (died + Duration::days(rng.gen_range(1..15))).min(today);
            let number = books.next(&authority, "death", registered.year());
            civil_events.push(CivilEvent {
                kind: "death".into(),
                agency_code: authority.clone(),
                book_year: registered.year().into(),
                number,
                registered_on: registered,
                event_date: died,
                subject_person_number: number_of_deceased,
                subject_name: name,
                other_person_number: None,
                other_name: None,
                place: place.clone(),
                details: json!({"declarant": head.full_name, "declarant_person_number": head.person_number, "relation": if female { "Mẹ" } else { "Cha" }, "birth_date": birth}).to_string(),
            });
        }
    }

    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap();
    let year_end = NaiveDate::from_ymd_opt(today.year(), 12, 31).unwrap();
    let insurance = persons
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let age = today.year() - p.birth_date.year();
            let province2 =
                commune_names.get(p.commune_code.as_str()).map(|c| c.province_code.clone()).unwrap_or("01".into());
            let social = format!("{province2}{:08}", i + 1);
            let employed = (18..60).contains(&age) && rng.gen_bool(0.55);
            let (group, level) = match age {
                0..=5 => ("TE", 1),
                6..=17 => ("HS", 4),
                _ if age >= 60 && rng.gen_bool(0.5) => ("HT", 2),
                _ if employed => ("DN", 4),
                _ => ("GD", 4),
            };
            let (valid_from, valid_to) = if group == "TE" {
                let sixth =
                    NaiveDate::from_ymd_opt(p.birth_date.year() + 6, p.birth_date.month(), p.birth_date.day().min(28))
                        .unwrap();
                (p.birth_date, sixth - Duration::days(1))
            } else {
                (year_start, year_end)
            };
            let months = match group {
                "DN" => rng.gen_range(12..=((age - 17) * 12).max(12) as i64),
                "HT" => rng.gen_range(240..=420),
                _ => 0,
            };
            let facility = commune_names
                .get(p.commune_code.as_str())
                .map(|c| format!("Trạm Y tế {}", c.name))
                .unwrap_or_else(|| "Trạm Y tế".into());
            InsuranceRecord {
                person_number: p.person_number.clone(),
                health_card_number: format!("{group}{level}{province2}{social}"),
                social_insurance_number: social,
                health_card_valid_from: valid_from,
                health_card_valid_to: valid_to,
                initial_care_facility: facility,
                contribution_months: months,
                employer_tax_code: if employed { firms.choose(&mut rng).map(|f| f.tax_code.clone()) } else { None },
            }
        })
        .collect();

    let mut land = Vec::new();
    let mut parcels_in: HashMap<&str, i64> = HashMap::new();
    let names: HashMap<&str, &str> = persons.iter().map(|p| (p.person_number.as_str(), p.full_name.as_str())).collect();
    for (i, h) in households.iter().enumerate() {
        let urban = commune_names.get(h.commune_code.as_str()).is_some_and(|c| c.kind == "phuong");
        let holder = names.get(h.head_person_number.as_str()).copied().unwrap_or_default();
        let extra = !urban && rng.gen_bool(0.3);
        for (k, (use_code, area)) in [(
            if urban { "ODT" } else { "ONT" },
            if urban { rng.gen_range(35.0..150.0) } else { rng.gen_range(100.0..400.0) },
        )]
        .into_iter()
        .chain(extra.then(|| (if rng.gen_bool(0.5) { "CLN" } else { "LUC" }, rng.gen_range(300.0..2500.0))))
        .enumerate()
        {
            let n = parcels_in.entry(h.commune_code.as_str()).or_insert(0);
            *n += 1;
            let issued = NaiveDate::from_ymd_opt(
                rng.gen_range(2005..=today.year()),
                rng.gen_range(1..=12),
                rng.gen_range(1..=28),
            )
            .unwrap()
            .min(today);
            land.push(LandParcel {
                commune_code: h.commune_code.clone(),
                map_sheet: 1 + *n / 400,
                parcel_number: *n,
                area_m2: (area * 10.0_f64).round() / 10.0,
                land_use: use_code.into(),
                address: if k == 0 {
                    h.address.clone()
                } else {
                    format!("Cánh đồng thôn, {}", h.address.split(", ").skip(1).collect::<Vec<_>>().join(", "))
                },
                holder_kind: "person".into(),
                holder_id: h.head_person_number.clone(),
                holder_name: holder.to_string(),
                certificate_serial: {
                    let n = i * 2 + k;
                    format!("{}{:06}", ["CS", "CT", "DA", "DB"][(n / 1_000_000) % 4], n % 1_000_000)
                },
                certificate_issued_on: issued,
            });
        }
    }
    Registries { civil_events, insurance, land }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_is_born_couples_are_married_and_numbers_are_unique() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let communes = crate::geo::communes(&mut rng);
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let (households, persons) = crate::population(&mut rng, 3000, &communes, today);
        let r = generate(9, &persons, &households, &communes, &[], today);
        let births = r.civil_events.iter().filter(|e| e.kind == "birth").count();
        assert_eq!(births, persons.len());
        let couples = persons.iter().filter(|p| p.relation_to_head == "Vợ" || p.relation_to_head == "Chồng").count();
        assert_eq!(r.civil_events.iter().filter(|e| e.kind == "marriage").count(), couples);
        let mut numbers: Vec<_> =
            r.civil_events.iter().map(|e| (&e.agency_code, &e.kind, e.book_year, e.number)).collect();
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), r.civil_events.len(), "one number per book entry");
        for e in &r.civil_events {
            assert!(e.registered_on >= e.event_date && e.registered_on <= today, "{e:?}");
            assert!(ident::validate_personal_number(&e.subject_person_number).is_ok(), "{}", e.subject_person_number);
        }
        let living: std::collections::HashSet<&str> = persons.iter().map(|p| p.person_number.as_str()).collect();
        assert!(
            r.civil_events
                .iter()
                .filter(|e| e.kind == "death")
                .all(|e| !living.contains(e.subject_person_number.as_str()))
        );
        assert_eq!(r.insurance.len(), persons.len());
        let mut social: Vec<_> = r.insurance.iter().map(|i| &i.social_insurance_number).collect();
        social.sort();
        social.dedup();
        assert_eq!(social.len(), persons.len());
        assert!(
            r.insurance
                .iter()
                .all(|i| i.health_card_number.len() == 15 && i.health_card_valid_from <= i.health_card_valid_to)
        );
        assert!(r.land.len() >= households.len());
        let again = generate(9, &persons, &households, &communes, &[], today);
        assert_eq!(again.civil_events, r.civil_events, "deterministic");
    }
}
