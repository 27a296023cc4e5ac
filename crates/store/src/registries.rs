//! The base registries besides population and enterprises (issue #4): civil status, health
//! and social insurance, land parcels. Rows are keyed by the master-data identifier of the
//! person or enterprise they are about, so a provider answers "what do you hold on X" with
//! one indexed read.

use crate::{Result, Store};
use chrono::NaiveDate;
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

/// A birth, marriage or death as registered in a commune authority's civil-status book.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CivilEvent {
    /// `birth`, `marriage` or `death`.
    pub kind: String,
    /// The registering authority.
    pub agency_code: String,
    pub book_year: i64,
    pub number: i64,
    pub registered_on: NaiveDate,
    pub event_date: NaiveDate,
    /// The child, one spouse, or the deceased.
    pub subject_person_number: String,
    pub subject_name: String,
    /// The other spouse; for a birth, the mother.
    pub other_person_number: Option<String>,
    pub other_name: Option<String>,
    pub place: String,
    /// Further facts as a JSON object (parents, declarant).
    pub details: String,
}

pub(crate) const CIVIL_COLUMNS: [&str; 12] = [
    "kind",
    "agency_code",
    "book_year",
    "number",
    "registered_on",
    "event_date",
    "subject_person_number",
    "subject_name",
    "other_person_number",
    "other_name",
    "place",
    "details",
];

/// A person's social insurance number and health insurance card.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct InsuranceRecord {
    pub person_number: String,
    /// Mã số BHXH: 10 digits, for life.
    pub social_insurance_number: String,
    /// The health insurance card: two letters of the beneficiary group, a benefit level, the
    /// province code and the social insurance number.
    pub health_card_number: String,
    pub health_card_valid_from: NaiveDate,
    pub health_card_valid_to: NaiveDate,
    /// Where the holder registered for primary care.
    pub initial_care_facility: String,
    /// Months of contributions to social insurance so far.
    pub contribution_months: i64,
    /// The employer paying contributions now, if any.
    pub employer_tax_code: Option<String>,
}

const INSURANCE_COLUMNS: [&str; 8] = [
    "person_number",
    "social_insurance_number",
    "health_card_number",
    "health_card_valid_from",
    "health_card_valid_to",
    "initial_care_facility",
    "contribution_months",
    "employer_tax_code",
];

/// A land parcel and the certificate of land use rights over it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LandParcel {
    pub commune_code: String,
    pub map_sheet: i64,
    pub parcel_number: i64,
    pub area_m2: f64,
    /// ODT urban residential, ONT rural residential, CLN perennial crops, LUC rice land.
    pub land_use: String,
    pub address: String,
    /// `person` or `enterprise`.
    pub holder_kind: String,
    /// The holder's personal number or tax code.
    pub holder_id: String,
    pub holder_name: String,
    /// The certificate's serial (two letters and six digits).
    pub certificate_serial: String,
    pub certificate_issued_on: NaiveDate,
}

const LAND_COLUMNS: [&str; 11] = [
    "commune_code",
    "map_sheet",
    "parcel_number",
    "area_m2",
    "land_use",
    "address",
    "holder_kind",
    "holder_id",
    "holder_name",
    "certificate_serial",
    "certificate_issued_on",
];

impl Store {
    pub async fn insert_civil_events(&self, rows: &[CivilEvent]) -> Result<()> {
        let v = rows
            .iter()
            .map(|e| {
                vec![
                    e.kind.clone().into(),
                    e.agency_code.clone().into(),
                    e.book_year.into(),
                    e.number.into(),
                    e.registered_on.into(),
                    e.event_date.into(),
                    e.subject_person_number.clone().into(),
                    e.subject_name.clone().into(),
                    e.other_person_number.clone().into(),
                    e.other_name.clone().into(),
                    e.place.clone().into(),
                    e.details.clone().into(),
                ]
            })
            .collect();
        self.bulk("civil_events", &CIVIL_COLUMNS, v).await
    }

    pub async fn insert_insurance_records(&self, rows: &[InsuranceRecord]) -> Result<()> {
        let v = rows
            .iter()
            .map(|r| {
                vec![
                    r.person_number.clone().into(),
                    r.social_insurance_number.clone().into(),
                    r.health_card_number.clone().into(),
                    r.health_card_valid_from.into(),
                    r.health_card_valid_to.into(),
                    r.initial_care_facility.clone().into(),
                    r.contribution_months.into(),
                    r.employer_tax_code.clone().into(),
                ]
            })
            .collect();
        self.bulk("insurance_records", &INSURANCE_COLUMNS, v).await
    }

    pub async fn insert_land_parcels(&self, rows: &[LandParcel]) -> Result<()> {
        let v = rows
            .iter()
            .map(|p| {
                vec![
                    p.commune_code.clone().into(),
                    p.map_sheet.into(),
                    p.parcel_number.into(),
                    p.area_m2.into(),
                    p.land_use.clone().into(),
                    p.address.clone().into(),
                    p.holder_kind.clone().into(),
                    p.holder_id.clone().into(),
                    p.holder_name.clone().into(),
                    p.certificate_serial.clone().into(),
                    p.certificate_issued_on.into(),
                ]
            })
            .collect();
        self.bulk("land_parcels", &LAND_COLUMNS, v).await
    }

    /// Every civil-status record about a person: as the child, a spouse or the deceased, and
    /// as the other spouse or the mother.
    pub async fn civil_events_of(&self, person_number: &str) -> Result<Vec<CivilEvent>> {
        let mut rows: Vec<CivilEvent> = Vec::new();
        for column in ["subject_person_number", "other_person_number"] {
            rows.extend(
                self.db
                    .fetch_all::<CivilEvent, _>(
                        &Query::select()
                            .columns(CIVIL_COLUMNS)
                            .from("civil_events")
                            .and_where(Expr::col(column).eq(person_number))
                            .order_by("id", Order::Asc)
                            .to_owned(),
                    )
                    .await?,
            );
        }
        rows.sort_by_key(|e| (e.event_date, e.number));
        Ok(rows)
    }

    pub async fn insurance_of(&self, person_number: &str) -> Result<Option<InsuranceRecord>> {
        self.db
            .fetch_optional(
                &Query::select()
                    .columns(INSURANCE_COLUMNS)
                    .from("insurance_records")
                    .and_where(Expr::col("person_number").eq(person_number))
                    .to_owned(),
            )
            .await
    }

    /// The parcels held by a person (`person`) or an enterprise (`enterprise`).
    pub async fn land_parcels_of(&self, holder_kind: &str, holder_id: &str) -> Result<Vec<LandParcel>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(LAND_COLUMNS)
                    .from("land_parcels")
                    .and_where(Expr::col("holder_id").eq(holder_id))
                    .and_where(Expr::col("holder_kind").eq(holder_kind))
                    .order_by("id", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    /// Up to `limit` people with a civil-status event of `kind` (samples for the demo and tests).
    pub async fn civil_event_subjects(&self, kind: &str, limit: u64) -> Result<Vec<String>> {
        #[derive(sqlx::FromRow)]
        struct Subject {
            subject_person_number: String,
        }
        let rows: Vec<Subject> = self
            .db
            .fetch_all(
                &Query::select()
                    .column("subject_person_number")
                    .from("civil_events")
                    .and_where(Expr::col("kind").eq(kind))
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.subject_person_number).collect())
    }
}
