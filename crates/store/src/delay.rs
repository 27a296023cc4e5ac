//! What the delay-risk model learns from (issue #5): closed dossiers with their time limit,
//! appointment date, closing time and the supplements asked for.

use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Func, Order, Query};
use std::collections::HashMap;

use crate::{Result, Store};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DelayRow {
    pub id: i64,
    pub procedure_id: i64,
    pub agency_id: i64,
    pub deadline_days: i64,
    pub submitted_at: DateTime<Utc>,
    pub due_date: Option<NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
    pub supplements: i64,
}

impl DelayRow {
    /// Finished after its appointment date (on Vietnam's calendar day).
    pub fn late(&self) -> bool {
        match (self.closed_at, self.due_date) {
            (Some(c), Some(d)) => c.with_timezone(&crate::vn_offset()).date_naive() > d,
            _ => false,
        }
    }
}

impl Store {
    /// Dossiers that ended with a decision (result issued or refused), oldest first.
    pub async fn delay_history(&self, limit: u64) -> Result<Vec<DelayRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .column(("dossiers", "id"))
                    .column(("dossiers", "procedure_id"))
                    .column(("dossiers", "agency_id"))
                    .column(("procedures", "deadline_days"))
                    .column(("dossiers", "submitted_at"))
                    .column(("dossiers", "due_date"))
                    .column(("dossiers", "closed_at"))
                    .expr_as(Func::count(Expr::col(("dossier_events", "id"))), "supplements")
                    .from("dossiers")
                    .inner_join("procedures", Expr::col(("procedures", "id")).equals(("dossiers", "procedure_id")))
                    .left_join(
                        "dossier_events",
                        Expr::col(("dossier_events", "dossier_id"))
                            .equals(("dossiers", "id"))
                            .and(Expr::col(("dossier_events", "action")).eq("request_supplement")),
                    )
                    .and_where(Expr::col(("dossiers", "state")).is_in(["RESULT_ISSUED", "REJECTED"]))
                    .and_where(Expr::col(("dossiers", "closed_at")).is_not_null())
                    .and_where(Expr::col(("dossiers", "due_date")).is_not_null())
                    .group_by_col(("dossiers", "id"))
                    .group_by_col(("dossiers", "procedure_id"))
                    .group_by_col(("dossiers", "agency_id"))
                    .group_by_col(("procedures", "deadline_days"))
                    .group_by_col(("dossiers", "submitted_at"))
                    .group_by_col(("dossiers", "due_date"))
                    .group_by_col(("dossiers", "closed_at"))
                    .order_by(("dossiers", "submitted_at"), Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// Supplements asked for so far, per dossier.
    pub async fn supplement_counts(&self, ids: &[i64]) -> Result<HashMap<i64, i64>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            dossier_id: i64,
            n: i64,
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<Row> = self
            .db
            .fetch_all(
                &Query::select()
                    .column("dossier_id")
                    .expr_as(Func::count(Expr::col("id")), "n")
                    .from("dossier_events")
                    .and_where(Expr::col("dossier_id").is_in(ids.to_vec()))
                    .and_where(Expr::col("action").eq("request_supplement"))
                    .group_by_col("dossier_id")
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.dossier_id, r.n)).collect())
    }
}
