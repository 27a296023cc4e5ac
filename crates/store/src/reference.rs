//! Reference and registry data: administrative units, agencies, people, households and
//! enterprises. Bulk inserts are chunked to stay under both backends' parameter limits.

use crate::models::*;
use crate::{Result, Store};
use sea_query::{Expr, ExprTrait, InsertStatement, Order, Query};

/// Rows per multi-row INSERT: under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK_PARAMS: usize = 30_000;

pub(crate) const AGENCY_COLUMNS: [&str; 9] =
    ["id", "code", "name", "name_en", "kind", "level", "province_code", "commune_code", "parent_id"];

#[derive(Debug, Clone)]
pub struct NewAgency {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub kind: String,
    pub level: String,
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
}

pub(crate) const PERSON_COLUMNS: [&str; 9] = [
    "person_number",
    "full_name",
    "birth_date",
    "sex",
    "birth_province_code",
    "commune_code",
    "address",
    "household_id",
    "relation_to_head",
];

impl Store {
    /// Inserts rows in chunks inside one transaction.
    pub(crate) async fn bulk(
        &self,
        table: &'static str,
        columns: &[&'static str],
        rows: Vec<Vec<sea_query::Value>>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let per = (CHUNK_PARAMS / columns.len()).max(1);
        let mut tx = self.db.begin_write().await?;
        for chunk in rows.chunks(per) {
            let mut q: InsertStatement = Query::insert().into_table(table).columns(columns.iter().copied()).to_owned();
            for r in chunk {
                q.values_panic(r.iter().cloned().map(Into::into));
            }
            tx.execute(&q).await?;
        }
        tx.commit().await
    }

    pub async fn insert_provinces(&self, rows: &[Province]) -> Result<()> {
        let v =
            rows.iter().map(|p| vec![p.code.clone().into(), p.name.clone().into(), p.kind.clone().into()]).collect();
        self.bulk("provinces", &["code", "name", "kind"], v).await
    }

    pub async fn insert_communes(&self, rows: &[Commune]) -> Result<()> {
        let v = rows
            .iter()
            .map(|c| {
                vec![
                    c.code.clone().into(),
                    c.province_code.clone().into(),
                    c.name.clone().into(),
                    c.kind.clone().into(),
                ]
            })
            .collect();
        self.bulk("communes", &["code", "province_code", "name", "kind"], v).await
    }

    pub async fn insert_agencies(&self, rows: &[NewAgency]) -> Result<()> {
        let v = rows
            .iter()
            .map(|a| {
                vec![
                    a.code.clone().into(),
                    a.name.clone().into(),
                    a.name_en.clone().into(),
                    a.kind.clone().into(),
                    a.level.clone().into(),
                    a.province_code.clone().into(),
                    a.commune_code.clone().into(),
                ]
            })
            .collect();
        self.bulk("agencies", &["code", "name", "name_en", "kind", "level", "province_code", "commune_code"], v).await
    }

    pub async fn insert_persons(&self, rows: &[Person]) -> Result<()> {
        let v = rows
            .iter()
            .map(|p| {
                vec![
                    p.person_number.clone().into(),
                    p.full_name.clone().into(),
                    p.birth_date.into(),
                    p.sex.clone().into(),
                    p.birth_province_code.clone().into(),
                    p.commune_code.clone().into(),
                    p.address.clone().into(),
                    p.household_id.into(),
                    p.relation_to_head.clone().into(),
                ]
            })
            .collect();
        self.bulk(
            "persons",
            &[
                "person_number",
                "full_name",
                "birth_date",
                "sex",
                "birth_province_code",
                "commune_code",
                "address",
                "household_id",
                "relation_to_head",
            ],
            v,
        )
        .await
    }

    pub async fn insert_households(&self, rows: &[Household]) -> Result<()> {
        let v = rows
            .iter()
            .map(|h| {
                vec![
                    h.id.into(),
                    h.head_person_number.clone().into(),
                    h.address.clone().into(),
                    h.commune_code.clone().into(),
                ]
            })
            .collect();
        self.bulk("households", &["id", "head_person_number", "address", "commune_code"], v).await
    }

    pub async fn insert_enterprises(&self, rows: &[Enterprise]) -> Result<()> {
        let v = rows
            .iter()
            .map(|e| {
                vec![
                    e.tax_code.clone().into(),
                    e.name.clone().into(),
                    e.kind.clone().into(),
                    e.owner_person_number.clone().into(),
                    e.address.clone().into(),
                    e.province_code.clone().into(),
                    e.registered_on.into(),
                ]
            })
            .collect();
        self.bulk(
            "enterprises",
            &["tax_code", "name", "kind", "owner_person_number", "address", "province_code", "registered_on"],
            v,
        )
        .await
    }

    pub async fn provinces(&self) -> Result<Vec<Province>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["code", "name", "kind"])
                    .from("provinces")
                    .order_by("code", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    pub async fn communes_of(&self, province_code: &str) -> Result<Vec<Commune>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["code", "province_code", "name", "kind"])
                    .from("communes")
                    .and_where(Expr::col("province_code").eq(province_code))
                    .order_by("code", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    pub async fn count_rows(&self, table: &'static str) -> Result<i64> {
        let c: Count =
            self.db.fetch_one(&Query::select().expr_as(Expr::cust("COUNT(*)"), "n").from(table).to_owned()).await?;
        Ok(c.n)
    }

    pub async fn agencies(&self) -> Result<Vec<Agency>> {
        self.db
            .fetch_all(&Query::select().columns(AGENCY_COLUMNS).from("agencies").order_by("id", Order::Asc).to_owned())
            .await
    }

    pub async fn agency(&self, id: i64) -> Result<Agency> {
        self.db
            .fetch_one(
                &Query::select().columns(AGENCY_COLUMNS).from("agencies").and_where(Expr::col("id").eq(id)).to_owned(),
            )
            .await
    }

    pub async fn agency_by_code(&self, code: &str) -> Result<Agency> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(AGENCY_COLUMNS)
                    .from("agencies")
                    .and_where(Expr::col("code").eq(code))
                    .to_owned(),
            )
            .await
    }

    /// Agencies of a kind, optionally within a province.
    pub async fn agencies_of_kind(&self, kind: &str, province_code: Option<&str>) -> Result<Vec<Agency>> {
        let mut q = Query::select()
            .columns(AGENCY_COLUMNS)
            .from("agencies")
            .and_where(Expr::col("kind").eq(kind))
            .order_by("id", Order::Asc)
            .to_owned();
        if let Some(p) = province_code {
            q.and_where(Expr::col("province_code").eq(p));
        }
        self.db.fetch_all(&q).await
    }

    pub async fn person(&self, person_number: &str) -> Result<Person> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(PERSON_COLUMNS)
                    .from("persons")
                    .and_where(Expr::col("person_number").eq(person_number))
                    .to_owned(),
            )
            .await
    }

    pub async fn household(&self, id: i64) -> Result<Household> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(["id", "head_person_number", "address", "commune_code"])
                    .from("households")
                    .and_where(Expr::col("id").eq(id))
                    .to_owned(),
            )
            .await
    }

    /// The members of a household, head first.
    pub async fn household_members(&self, id: i64) -> Result<Vec<Person>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(PERSON_COLUMNS)
                    .from("persons")
                    .and_where(Expr::col("household_id").eq(id))
                    .order_by("birth_date", sea_query::Order::Asc)
                    .to_owned(),
            )
            .await
    }

    pub async fn enterprise(&self, tax_code: &str) -> Result<Enterprise> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns([
                        "tax_code",
                        "name",
                        "kind",
                        "owner_person_number",
                        "address",
                        "province_code",
                        "registered_on",
                    ])
                    .from("enterprises")
                    .and_where(Expr::col("tax_code").eq(tax_code))
                    .to_owned(),
            )
            .await
    }
}
