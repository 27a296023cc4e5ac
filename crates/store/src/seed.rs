//! Bulk loading of generated history (demo and scale data). Rows go in chunked multi-row
//! inserts; events are attached to their dossier by its unique code.

use crate::dossiers::{Actor, EVENT_COLUMNS};
use crate::{Result, Store};
use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Query};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct HistoricEvent {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: Option<String>,
    pub detail: String,
}

/// A dossier with its whole past, as a generator produced it.
#[derive(Debug, Clone)]
pub struct HistoricDossier {
    pub code: String,
    pub procedure_id: i64,
    pub agency_id: i64,
    pub applicant_user_id: i64,
    pub applicant_name: String,
    pub applicant_id_number: String,
    pub state: String,
    pub resume_state: Option<String>,
    pub data: String,
    pub submitted_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDate>,
    pub original_due_date: Option<NaiveDate>,
    pub paused_on: Option<NaiveDate>,
    pub remaining_days: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub assignee_user_id: Option<i64>,
    pub overdue: bool,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub result: Option<String>,
    pub events: Vec<HistoricEvent>,
}

#[derive(sqlx::FromRow)]
struct CodeId {
    id: i64,
    code: String,
}

/// Dossiers per INSERT statement (28 columns; well under both parameter limits).
const CHUNK: usize = 500;

impl Store {
    /// Loads generated dossiers and their tracking logs, in one transaction per chunk.
    pub async fn insert_history(&self, dossiers: &[HistoricDossier]) -> Result<()> {
        for chunk in dossiers.chunks(CHUNK) {
            let mut tx = self.db.begin_write().await?;
            let mut q = Query::insert()
                .into_table("dossiers")
                .columns([
                    "code",
                    "procedure_id",
                    "form_version",
                    "agency_id",
                    "applicant_user_id",
                    "applicant_name",
                    "applicant_id_number",
                    "state",
                    "resume_state",
                    "data",
                    "submitted_at",
                    "received_at",
                    "due_date",
                    "original_due_date",
                    "paused_on",
                    "remaining_days",
                    "decided_at",
                    "closed_at",
                    "assignee_user_id",
                    "overdue",
                    "apologies",
                    "version",
                    "rating",
                    "rating_comment",
                    "rated_at",
                    "result",
                    "updated_at",
                ])
                .to_owned();
            for d in chunk {
                let updated = d.events.last().map(|e| e.at).unwrap_or(d.submitted_at);
                q.values_panic([
                    d.code.clone().into(),
                    d.procedure_id.into(),
                    1i64.into(),
                    d.agency_id.into(),
                    d.applicant_user_id.into(),
                    d.applicant_name.clone().into(),
                    d.applicant_id_number.clone().into(),
                    d.state.clone().into(),
                    d.resume_state.clone().into(),
                    d.data.clone().into(),
                    d.submitted_at.into(),
                    d.received_at.into(),
                    d.due_date.into(),
                    d.original_due_date.into(),
                    d.paused_on.into(),
                    d.remaining_days.into(),
                    d.decided_at.into(),
                    d.closed_at.into(),
                    d.assignee_user_id.into(),
                    d.overdue.into(),
                    0i64.into(),
                    (d.events.len() as i64).into(),
                    d.rating.into(),
                    d.rating_comment.clone().into(),
                    d.rating.map(|_| updated).into(),
                    d.result.clone().into(),
                    updated.into(),
                ]);
            }
            let ids: Vec<CodeId> =
                tx.fetch_all(&q.returning(Query::returning().columns(["id", "code"])).to_owned()).await?;
            let by_code: HashMap<&str, i64> = ids.iter().map(|r| (r.code.as_str(), r.id)).collect();
            let mut ev = Query::insert().into_table("dossier_events").columns(EVENT_COLUMNS).to_owned();
            let mut n = 0;
            for d in chunk {
                let id = by_code[d.code.as_str()];
                for e in &d.events {
                    ev.values_panic([
                        id.into(),
                        e.at.into(),
                        e.actor.user_id.into(),
                        e.actor.name.clone().into(),
                        e.actor.role.clone().into(),
                        e.actor.agency_id.into(),
                        e.action.clone().into(),
                        e.from_state.clone().into(),
                        e.to_state.clone().into(),
                        e.reason.clone().into(),
                        e.detail.clone().into(),
                    ]);
                    n += 1;
                    if n == 2000 {
                        tx.execute(&ev).await?;
                        ev = Query::insert().into_table("dossier_events").columns(EVENT_COLUMNS).to_owned();
                        n = 0;
                    }
                }
            }
            if n > 0 {
                tx.execute(&ev).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// User ids of accounts linked to personal numbers (seeding links dossiers to applicants).
    pub async fn user_ids_by_username(&self, usernames: &[String]) -> Result<HashMap<String, i64>> {
        #[derive(sqlx::FromRow)]
        struct UserIdRow {
            id: i64,
            username: String,
        }
        let mut out = HashMap::new();
        for chunk in usernames.chunks(5000) {
            let rows: Vec<UserIdRow> = self
                .db
                .fetch_all(
                    &Query::select()
                        .columns(["id", "username"])
                        .from("users")
                        .and_where(Expr::col("username").is_in(chunk.iter().cloned()))
                        .to_owned(),
                )
                .await?;
            out.extend(rows.into_iter().map(|r| (r.username, r.id)));
        }
        Ok(out)
    }
}
