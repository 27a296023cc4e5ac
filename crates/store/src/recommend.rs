//! What "people who did this also needed" learns from (issue #5): who applied for what, when.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};

use crate::{Result, Store};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitRow {
    pub applicant_user_id: i64,
    pub procedure_id: i64,
    pub submitted_at: DateTime<Utc>,
}

impl Store {
    /// Dossiers submitted since `since`, newest first, at most `limit`.
    pub async fn procedure_visits(&self, since: DateTime<Utc>, limit: u64) -> Result<Vec<VisitRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["applicant_user_id", "procedure_id", "submitted_at"])
                    .from("dossiers")
                    .and_where(Expr::col("submitted_at").gte(since))
                    .order_by("id", Order::Desc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// One applicant's dossiers since `since`: procedure and submission time.
    pub async fn visits_of(&self, user_id: i64, since: DateTime<Utc>) -> Result<Vec<VisitRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["applicant_user_id", "procedure_id", "submitted_at"])
                    .from("dossiers")
                    .and_where(Expr::col("applicant_user_id").eq(user_id))
                    .and_where(Expr::col("submitted_at").gte(since))
                    .order_by("submitted_at", Order::Asc)
                    .limit(1000)
                    .to_owned(),
            )
            .await
    }
}
