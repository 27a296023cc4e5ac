//! Feedback and petitions (phản ánh, kiến nghị) with their route (issue #5): the classifier's
//! route, and the officer's correction, which the classifier learns from.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Petition {
    pub id: i64,
    pub user_id: i64,
    /// Personal data may be in it: shown to the person and the agency, never logged.
    pub text: String,
    /// `<agency kind>/<sector>` as the classifier routed it.
    pub predicted: String,
    pub confidence: f64,
    /// The route now (the prediction, or an officer's correction).
    pub label: String,
    pub agency_id: Option<i64>,
    pub corrected_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub corrected_at: Option<DateTime<Utc>>,
}

const COLUMNS: [&str; 10] = [
    "id",
    "user_id",
    "text",
    "predicted",
    "confidence",
    "label",
    "agency_id",
    "corrected_by",
    "created_at",
    "corrected_at",
];

impl Store {
    pub async fn create_petition(
        &self,
        user_id: i64,
        text: &str,
        predicted: &str,
        confidence: f64,
        agency_id: Option<i64>,
    ) -> Result<i64> {
        #[derive(sqlx::FromRow)]
        struct Id {
            id: i64,
        }
        let mut tx = self.db.begin_write().await?;
        let r: Id = tx
            .fetch_one(
                &Query::insert()
                    .into_table("petitions")
                    .columns(COLUMNS[1..].iter().copied())
                    .values_panic([
                        user_id.into(),
                        text.into(),
                        predicted.into(),
                        confidence.into(),
                        predicted.into(),
                        agency_id.into(),
                        None::<i64>.into(),
                        Utc::now().into(),
                        None::<DateTime<Utc>>.into(),
                    ])
                    .returning_col("id")
                    .to_owned(),
            )
            .await?;
        tx.commit().await?;
        Ok(r.id)
    }

    pub async fn petition(&self, id: i64) -> Result<Petition> {
        self.db
            .fetch_one(&Query::select().columns(COLUMNS).from("petitions").and_where(Expr::col("id").eq(id)).to_owned())
            .await
    }

    /// A person's petitions, or those routed to some agencies, newest first.
    pub async fn petitions(&self, user_id: Option<i64>, agencies: Option<&[i64]>, limit: u64) -> Result<Vec<Petition>> {
        let mut q = Query::select().columns(COLUMNS).from("petitions").to_owned();
        if let Some(u) = user_id {
            q.and_where(Expr::col("user_id").eq(u));
        }
        if let Some(a) = agencies {
            q.and_where(Expr::col("agency_id").is_in(a.to_vec()));
        }
        q.order_by("id", Order::Desc).limit(limit);
        self.db.fetch_all(&q).await
    }

    /// Petitions an officer corrected: what the classifier learns from.
    pub async fn corrected_petitions(&self, limit: u64) -> Result<Vec<Petition>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(COLUMNS)
                    .from("petitions")
                    .and_where(Expr::col("corrected_by").is_not_null())
                    .order_by("id", Order::Desc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// An officer's correction of a route (to `agency_id`).
    pub async fn correct_petition(&self, id: i64, label: &str, agency_id: Option<i64>, by: i64) -> Result<()> {
        let n = self
            .db
            .execute(
                &Query::update()
                    .table("petitions")
                    .value("label", label)
                    .value("agency_id", agency_id)
                    .value("corrected_by", by)
                    .value("corrected_at", Utc::now())
                    .and_where(Expr::col("id").eq(id))
                    .to_owned(),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Notes that officers of an agency were shown an AI aid (`completeness_check`,
    /// `delay_risk`) on `day`; once per agency, aid and day.
    pub async fn record_ai_use(&self, agency_id: i64, application: &str, day: chrono::NaiveDate) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            &Query::insert()
                .into_table("ai_uses")
                .columns(["agency_id", "application", "day"])
                .values_panic([agency_id.into(), application.into(), day.into()])
                .on_conflict(
                    sea_query::OnConflict::columns(["agency_id", "application", "day"]).do_nothing().to_owned(),
                )
                .to_owned(),
        )
        .await?;
        tx.commit().await
    }

    /// Agencies that AI routed petitions to since `since`, whose officers were shown an AI
    /// aid since then, or that own a proactive rule (K13: agencies with at least one AI
    /// application in use).
    pub async fn agencies_using_ai(&self, since: DateTime<Utc>) -> Result<Vec<i64>> {
        #[derive(sqlx::FromRow)]
        struct A {
            agency_id: Option<i64>,
        }
        let routed: Vec<A> = self
            .db
            .fetch_all(
                &Query::select()
                    .distinct()
                    .column("agency_id")
                    .from("petitions")
                    .and_where(Expr::col("created_at").gte(since))
                    .to_owned(),
            )
            .await?;
        #[derive(sqlx::FromRow)]
        struct C {
            id: i64,
        }
        let owners: Vec<C> = self
            .db
            .fetch_all(
                &Query::select()
                    .distinct()
                    .column(("agencies", "id"))
                    .from("proactive_rules")
                    .inner_join("agencies", Expr::col(("agencies", "code")).equals(("proactive_rules", "agency_code")))
                    .and_where(Expr::col(("proactive_rules", "enabled")).eq(true))
                    .to_owned(),
            )
            .await?;
        let shown: Vec<A> = self
            .db
            .fetch_all(
                &Query::select()
                    .distinct()
                    .column("agency_id")
                    .from("ai_uses")
                    .and_where(Expr::col("day").gte(since.with_timezone(&crate::vn_offset()).date_naive()))
                    .to_owned(),
            )
            .await?;
        let mut out: Vec<i64> = routed
            .into_iter()
            .chain(shown)
            .filter_map(|a| a.agency_id)
            .chain(owners.into_iter().map(|c| c.id))
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}
