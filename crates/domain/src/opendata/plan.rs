//! Publication plans (issue #6): each agency's list of priority datasets with their planned
//! dates, access method, update frequency and responsible unit; what is late, what is stale,
//! which lists were not reviewed in time; and programme target K5. No I/O.
//!
//! The law's terms (DOMAIN.md §4): the open-data list is reviewed at least every 6 months;
//! published open data is updated within 3 months (and within its own frequency).

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// Days after which a plan that was not reviewed is overdue for review (6 months).
pub const REVIEW_DAYS: i64 = 183;
/// Items in one agency's plan, at most.
pub const MAX_ITEMS: usize = 500;

/// How a dataset is to be reached.
pub const ACCESS_METHODS: &[(&str, &str, &str)] = &[
    ("download", "Tải tệp", "File download"),
    ("api", "API", "API"),
    ("download_api", "Tải tệp và API", "File download and API"),
];

/// One priority dataset of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanItem {
    /// What will be published.
    pub title: String,
    /// The CKAN name of the dataset once published (or the name it will have).
    pub dataset_name: String,
    /// When it is to be published.
    pub planned_date: NaiveDate,
    /// `download`, `api` or `download_api`.
    pub access_method: String,
    /// `DAILY`, `WEEKLY`, `MONTHLY`, `QUARTERLY`, `ANNUAL` or `IRREG`.
    pub frequency: String,
    /// The unit that keeps it up to date.
    pub responsible_unit: String,
}

/// Field errors of a plan: the item's position (from 0) or `-` for the plan, and what is wrong.
pub type PlanErrors = Vec<(String, String)>;

/// Checks a plan's items.
pub fn check(items: &[PlanItem]) -> Result<(), PlanErrors> {
    let mut errors = PlanErrors::new();
    if items.len() > MAX_ITEMS {
        errors.push(("-".into(), format!("at most {MAX_ITEMS} items")));
    }
    for (i, it) in items.iter().enumerate() {
        let mut bad = |m: &str| errors.push((format!("items/{i}"), m.to_string()));
        if it.title.trim().is_empty() || it.title.chars().count() > super::package::MAX_TITLE {
            bad("title: 1 to 500 characters");
        }
        if !super::valid_name(&it.dataset_name) {
            bad("dataset_name: lower-case ASCII letters, digits, - and _, 2 to 100 long");
        }
        if !ACCESS_METHODS.iter().any(|a| a.0 == it.access_method) {
            bad("access_method: download, api or download_api");
        }
        if !super::FREQUENCIES.iter().any(|f| f.0 == it.frequency) {
            bad("frequency: DAILY, WEEKLY, MONTHLY, QUARTERLY, ANNUAL or IRREG");
        }
        if it.responsible_unit.trim().is_empty() || it.responsible_unit.chars().count() > 300 {
            bad("responsible_unit: 1 to 300 characters");
        }
        if items[..i].iter().any(|o| o.dataset_name == it.dataset_name) {
            bad("dataset_name: listed twice");
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// What the catalogue holds of a planned dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// When it was first published.
    pub created: NaiveDate,
    /// When it last changed.
    pub modified: NaiveDate,
}

/// Where a planned dataset stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Not yet published; its date has not come.
    Planned,
    /// Not published and its date has passed.
    Late,
    /// Published by its date.
    Published,
    /// Published, after its date.
    PublishedLate,
}

/// An item with its status and whether its data is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemReport {
    #[serde(flatten)]
    pub item: PlanItem,
    pub status: ItemStatus,
    /// Published but not updated within its frequency, or within 3 months.
    pub stale: bool,
    /// Days since it was last updated, when published.
    pub days_since_update: Option<i64>,
}

/// Whether published data is stale on `today`: older than its frequency allows, and never
/// more than 3 months old.
pub fn is_stale(frequency: &str, modified: NaiveDate, today: NaiveDate) -> bool {
    (today - modified).num_days() > i64::from(super::stale_after_days(frequency))
}

/// Assesses one item against the catalogue.
pub fn assess(item: &PlanItem, published: Option<Published>, today: NaiveDate) -> ItemReport {
    let (status, stale, days) = match published {
        None if today > item.planned_date => (ItemStatus::Late, false, None),
        None => (ItemStatus::Planned, false, None),
        Some(p) => {
            let status = if p.created <= item.planned_date { ItemStatus::Published } else { ItemStatus::PublishedLate };
            (status, is_stale(&item.frequency, p.modified, today), Some((today - p.modified).num_days()))
        }
    };
    ItemReport { item: item.clone(), status, stale, days_since_update: days }
}

/// Whether a plan last reviewed on `reviewed` (never: `None`) is due for review on `today`.
pub fn review_overdue(reviewed: Option<NaiveDate>, today: NaiveDate) -> bool {
    reviewed.is_none_or(|r| today - r > Duration::days(REVIEW_DAYS))
}

/// Whether a dataset is *standard* open data (for K5): an open licence, a title and a
/// description, and at least one resource in a machine-readable open format (CSV, JSON, XML,
/// GeoJSON, RDF, an API) that can be reached.
pub fn is_standard(licence_id: &str, title: &str, notes: &str, formats: &[&str]) -> bool {
    const MACHINE_READABLE: &[&str] =
        &["CSV", "JSON", "GEOJSON", "XML", "RDF", "TTL", "JSONLD", "JSON-LD", "API", "ODS", "XLSX"];
    super::licence(licence_id).is_some_and(|l| l.open)
        && !title.trim().is_empty()
        && !notes.trim().is_empty()
        && formats.iter().any(|f| MACHINE_READABLE.contains(&f.to_uppercase().as_str()))
}

/// K5: the share of agencies that publish standard open data, of the agencies that should
/// (every ministry-, sector- and province-level body, and any agency with a plan or data).
/// `None` when no agency should.
pub fn k5(should_publish: usize, publishing_standard: usize) -> Option<f64> {
    (should_publish > 0).then(|| publishing_standard.min(should_publish) as f64 / should_publish as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn item(planned: &str, frequency: &str) -> PlanItem {
        PlanItem {
            title: "Danh sách trạm sạc".into(),
            dataset_name: "tram-sac".into(),
            planned_date: d(planned),
            access_method: "download".into(),
            frequency: frequency.into(),
            responsible_unit: "Phòng Kế hoạch".into(),
        }
    }

    #[test]
    fn items_are_late_published_or_stale() {
        let today = d("2026-12-01");
        assert_eq!(assess(&item("2027-01-01", "MONTHLY"), None, today).status, ItemStatus::Planned);
        assert_eq!(assess(&item("2026-06-30", "MONTHLY"), None, today).status, ItemStatus::Late);
        let fresh = Published { created: d("2026-06-01"), modified: d("2026-11-20") };
        let r = assess(&item("2026-06-30", "MONTHLY"), Some(fresh), today);
        assert_eq!((r.status, r.stale, r.days_since_update), (ItemStatus::Published, false, Some(11)));
        let old = Published { created: d("2026-07-15"), modified: d("2026-09-15") };
        let r = assess(&item("2026-06-30", "MONTHLY"), Some(old), today);
        assert_eq!((r.status, r.stale), (ItemStatus::PublishedLate, true));
        // An annual dataset is still stale after 3 months: the law's limit.
        assert!(is_stale("ANNUAL", d("2026-08-01"), today));
        assert!(!is_stale("QUARTERLY", d("2026-09-15"), today));
    }

    #[test]
    fn plans_are_due_for_review_after_six_months() {
        let today = d("2026-12-01");
        assert!(review_overdue(None, today));
        assert!(review_overdue(Some(d("2026-05-01")), today));
        assert!(!review_overdue(Some(d("2026-07-01")), today));
    }

    #[test]
    fn bad_items_are_named() {
        let mut bad = item("2026-06-30", "HOURLY");
        bad.dataset_name = "Trạm Sạc".into();
        let e = check(&[item("2026-06-30", "DAILY"), bad.clone(), item("2026-01-01", "DAILY")]).unwrap_err();
        let at: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(at, ["items/1", "items/1", "items/2"]);
        assert!(check(&[item("2026-06-30", "DAILY")]).is_ok());
    }

    #[test]
    fn standard_open_data_and_k5() {
        assert!(is_standard("cc-by-4.0", "Trường học", "Danh sách", &["PDF", "csv"]));
        assert!(!is_standard("cc-by-4.0", "Trường học", "Danh sách", &["PDF"]));
        assert!(!is_standard("proprietary", "Trường học", "Danh sách", &["CSV"]));
        assert!(!is_standard("cc-by-4.0", "Trường học", " ", &["CSV"]));
        assert_eq!(k5(0, 0), None);
        assert_eq!(k5(4, 3), Some(0.75));
    }

    proptest! {
        /// Publishing never makes an item late where not publishing would not, and an item
        /// that is published on its planned day or earlier is never reported late.
        #[test]
        fn publishing_by_the_date_is_never_late(days_before in 0i64..400, today_offset in -400i64..400) {
            let planned = d("2026-06-30");
            let today = planned + Duration::days(today_offset);
            let created = planned - Duration::days(days_before);
            let p = Published { created, modified: created };
            let r = assess(&item("2026-06-30", "ANNUAL"), Some(p), today);
            prop_assert_eq!(r.status, ItemStatus::Published);
            let unpublished = assess(&item("2026-06-30", "ANNUAL"), None, today);
            prop_assert_eq!(unpublished.status == ItemStatus::Late, today > planned);
        }
    }
}
