//! The assistant's exchanges (issue #5): every question with what was answered, kept
//! without personal identifiers (the question is redacted before it is stored:
//! `sen_domain::assistant::redact`), and the asker's thumbs up or down, for the quality page.

use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

use crate::{Result, Store, StoreError};

/// One exchange as kept.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AssistantExchange {
    pub id: String,
    pub asked_at: DateTime<Utc>,
    pub lang: String,
    /// Redacted.
    pub question: String,
    pub grounded: bool,
    /// The procedure codes answered with, best first, comma-separated.
    pub sources: String,
    pub latency_us: i64,
    /// `up`, `down`, or none.
    pub feedback: Option<String>,
    pub feedback_at: Option<DateTime<Utc>>,
}

const COLUMNS: [&str; 9] =
    ["id", "asked_at", "lang", "question", "grounded", "sources", "latency_us", "feedback", "feedback_at"];

/// The quality page's figures.
#[derive(Debug, Clone, Serialize)]
pub struct AssistantQuality {
    pub since: NaiveDate,
    pub asked: i64,
    pub grounded: i64,
    pub rated: i64,
    pub helpful: i64,
    pub not_helpful: i64,
    /// Per day: (day, asked, grounded, helpful, not helpful).
    pub days: Vec<(NaiveDate, i64, i64, i64, i64)>,
    /// The latest exchanges rated not helpful, to learn from.
    pub unhelpful: Vec<AssistantExchange>,
    /// The latest questions nothing in the catalogue answered.
    pub unanswered: Vec<AssistantExchange>,
}

/// Exchanges read back for the quality page, at most.
const QUALITY_ROWS: u64 = 20_000;

impl Store {
    /// Keeps an exchange; `question` must already be redacted. Returns its id, which only
    /// the asker learns (to rate it).
    pub async fn log_assistant_exchange(
        &self,
        lang: &str,
        question: &str,
        grounded: bool,
        sources: &[String],
        latency_us: i64,
    ) -> Result<String> {
        let id = hex::encode(rand::random::<[u8; 16]>());
        self.db
            .execute(
                &Query::insert()
                    .into_table("assistant_exchanges")
                    .columns(COLUMNS[..7].iter().copied())
                    .values_panic([
                        id.clone().into(),
                        Utc::now().into(),
                        lang.into(),
                        question.chars().take(500).collect::<String>().into(),
                        grounded.into(),
                        sources.join(",").into(),
                        latency_us.into(),
                    ])
                    .to_owned(),
            )
            .await?;
        Ok(id)
    }

    /// Records the asker's thumbs up (`helpful`) or down; a second rating replaces the first.
    pub async fn rate_assistant_exchange(&self, id: &str, helpful: bool) -> Result<()> {
        let n = self
            .db
            .execute(
                &Query::update()
                    .table("assistant_exchanges")
                    .value("feedback", if helpful { "up" } else { "down" })
                    .value("feedback_at", Utc::now())
                    .and_where(Expr::col("id").eq(id))
                    .to_owned(),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn assistant_quality(&self, since: NaiveDate) -> Result<AssistantQuality> {
        let from = since.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let rows: Vec<AssistantExchange> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(COLUMNS)
                    .from("assistant_exchanges")
                    .and_where(Expr::col("asked_at").gte(from))
                    .order_by("asked_at", Order::Desc)
                    .limit(QUALITY_ROWS)
                    .to_owned(),
            )
            .await?;
        let mut days: std::collections::BTreeMap<NaiveDate, (i64, i64, i64, i64)> = Default::default();
        let mut q = AssistantQuality {
            since,
            asked: 0,
            grounded: 0,
            rated: 0,
            helpful: 0,
            not_helpful: 0,
            days: vec![],
            unhelpful: vec![],
            unanswered: vec![],
        };
        for r in &rows {
            let d = days.entry(r.asked_at.with_timezone(&crate::vn_offset()).date_naive()).or_default();
            q.asked += 1;
            d.0 += 1;
            if r.grounded {
                q.grounded += 1;
                d.1 += 1;
            }
            match r.feedback.as_deref() {
                Some("up") => {
                    q.rated += 1;
                    q.helpful += 1;
                    d.2 += 1;
                }
                Some("down") => {
                    q.rated += 1;
                    q.not_helpful += 1;
                    d.3 += 1;
                    if q.unhelpful.len() < 20 {
                        q.unhelpful.push(r.clone());
                    }
                }
                _ => {}
            }
            if !r.grounded && q.unanswered.len() < 20 {
                q.unanswered.push(r.clone());
            }
        }
        q.days = days.into_iter().map(|(d, (a, g, u, n))| (d, a, g, u, n)).collect();
        Ok(q)
    }
}
