//! Notifications (issue #5): versioned templates, messages with their delivery state, and
//! the portal inbox.
//!
//! A message is written before anyone tries to send it; a sender *claims* it (status
//! `sending`, a lease) in its own transaction, sends it, then records the outcome. A process
//! that dies after the claim leaves a lease that runs out, and the message is sent again
//! with the same id, which is its e-mail `Message-ID` and the SMS gateway's `reference`, so
//! the receiving side can recognise a repeat. Nothing written is lost.
//!
//! The *feed* turns what happens to dossiers (their tracking log) and proactive offers into
//! messages for the person concerned — an inbox message always, an e-mail when the account
//! has an address — in the transaction that moves the feed's cursor, so each happening is
//! told once.

use chrono::{DateTime, Duration, Utc};
use sea_query::{Expr, ExprTrait, Func, Order, Query};
use sen_domain::notify::{self, Kind, Status};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::exec::Tx;
use crate::{Result, Store, StoreError};

/// A template version.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Template {
    pub id: String,
    pub version: i64,
    pub name: String,
    pub kind: String,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

const TEMPLATE_COLUMNS: [&str; 8] = ["id", "version", "name", "kind", "subject", "body", "created_at", "created_by"];

/// A message and where its delivery stands.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notification {
    pub id: String,
    pub reference: Option<String>,
    pub template_id: String,
    pub template_version: i64,
    pub kind: String,
    /// The e-mail address or phone number: personal data, never logged.
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_by: String,
}

const NOTIFICATION_COLUMNS: [&str; 17] = [
    "id",
    "reference",
    "template_id",
    "template_version",
    "kind",
    "recipient",
    "subject",
    "body",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "created_at",
    "sent_at",
    "completed_at",
    "last_error",
    "created_by",
];

/// A message in a person's portal inbox.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InboxMessage {
    pub id: i64,
    pub user_id: i64,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A request to send one message.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub kind: Kind,
    pub template_id: String,
    pub recipient: String,
    pub personalisation: BTreeMap<String, String>,
    pub reference: Option<String>,
    pub created_by: String,
}

/// Why a message was refused before it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoTemplate,
    WrongKind,
    BadRecipient,
    Missing(Vec<String>),
}

/// How long a sender holds a claimed message before another may try it, by default.
pub const CLAIM_LEASE_SECS: i64 = 60;

/// The templates Sen ships (migration 13). The feed uses them by id.
pub fn default_templates() -> Vec<(&'static str, &'static str, Kind, Option<&'static str>, &'static str)> {
    vec![
        (
            "dossier-received",
            "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
            Kind::Email,
            Some("Hồ sơ ((code)) đã được tiếp nhận"),
            "Kính gửi ((name)),\n\nHồ sơ ((code)) — ((procedure)) — đã được ((agency)) tiếp nhận.\nNgày hẹn trả kết quả: ((due_date)).\n\nTra cứu tiến độ: ((url))\n\nCổng dịch vụ công Sen",
        ),
        (
            "dossier-supplement",
            "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
            Kind::Email,
            Some("Hồ sơ ((code)) cần bổ sung"),
            "Kính gửi ((name)),\n\n((agency)) đề nghị bổ sung hồ sơ ((code)) — ((procedure)):\n((reason))\n\nThời hạn giải quyết tạm dừng cho đến khi bạn bổ sung. Bổ sung trực tuyến: ((url))\n\nCổng dịch vụ công Sen",
        ),
        (
            "dossier-apology",
            "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
            Kind::Email,
            Some("Xin lỗi: hồ sơ ((code)) chậm so với hẹn"),
            "Kính gửi ((name)),\n\n((agency)) xin lỗi vì hồ sơ ((code)) — ((procedure)) — chưa có kết quả đúng hẹn.\nLý do: ((reason))\nNgày hẹn mới: ((due_date)).\n\n((url))\n\nCổng dịch vụ công Sen",
        ),
        (
            "dossier-result",
            "Thông báo có kết quả",
            Kind::Email,
            Some("Hồ sơ ((code)) đã có kết quả"),
            "Kính gửi ((name)),\n\nHồ sơ ((code)) — ((procedure)) — đã có kết quả điện tử, có giá trị pháp lý như bản giấy.\nTải kết quả: ((url))\n\nXin mời bạn đánh giá mức độ hài lòng.\n\nCổng dịch vụ công Sen",
        ),
        (
            "dossier-refused",
            "Thông báo từ chối giải quyết hồ sơ",
            Kind::Email,
            Some("Hồ sơ ((code)) không được giải quyết"),
            "Kính gửi ((name)),\n\n((agency)) từ chối giải quyết hồ sơ ((code)) — ((procedure)).\nLý do: ((reason))\n\n((url))\n\nCổng dịch vụ công Sen",
        ),
        (
            "proactive-offer",
            "Gợi ý dịch vụ chủ động",
            Kind::Email,
            Some("((title))"),
            "Kính gửi ((name)),\n\n((because))\n\n((guidance))\n\nXem và xác nhận: ((url))\n\nBạn có thể tắt gợi ý chủ động trong hộp thư của mình.\n\nCổng dịch vụ công Sen",
        ),
        (
            "dossier-result-sms",
            "Tin nhắn: hồ sơ có kết quả",
            Kind::Sms,
            None,
            "Ho so ((code)) da co ket qua. Tai tai ((url))",
        ),
    ]
}

pub(crate) async fn install_default_templates(tx: &mut Tx) -> Result<()> {
    let now = Utc::now();
    for (id, name, kind, subject, body) in default_templates() {
        tx.execute(
            &Query::insert()
                .into_table("notify_templates")
                .columns(TEMPLATE_COLUMNS)
                .values_panic([
                    id.into(),
                    1i64.into(),
                    name.into(),
                    kind.as_str().into(),
                    subject.map(str::to_string).into(),
                    body.into(),
                    now.into(),
                    "sen".into(),
                ])
                .to_owned(),
        )
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    v: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CursorRow {
    last_id: i64,
}

#[derive(sqlx::FromRow)]
struct FeedEvent {
    id: i64,
    dossier_id: i64,
    at: DateTime<Utc>,
    action: String,
    reason: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FeedDossier {
    code: String,
    applicant_user_id: i64,
    applicant_name: String,
    procedure_name: String,
    agency_name: String,
    due_date: Option<chrono::NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct FeedOffer {
    id: i64,
    event_id: String,
    recipient: String,
    title: String,
    because: String,
    guidance: String,
}

#[derive(sqlx::FromRow)]
struct FeedUser {
    id: i64,
    display_name: String,
    email: Option<String>,
}

/// Happenings older than this when the feed first sees them are history (a seeded demo, an
/// imported backlog): they are not told again.
const FEED_HORIZON_HOURS: i64 = 48;

async fn latest_template(tx: &mut Tx, id: &str) -> Result<Option<Template>> {
    tx.fetch_optional(
        &Query::select()
            .columns(TEMPLATE_COLUMNS)
            .from("notify_templates")
            .and_where(Expr::col("id").eq(id))
            .order_by("version", Order::Desc)
            .limit(1)
            .to_owned(),
    )
    .await
}

/// Renders and writes a message in `tx`; `Ok(Err(_))` is a refusal that wrote nothing.
async fn insert_notification(
    tx: &mut Tx,
    n: &NewNotification,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Notification, Refusal>> {
    let Some(t) = latest_template(tx, &n.template_id).await? else { return Ok(Err(Refusal::NoTemplate)) };
    if t.kind != n.kind.as_str() {
        return Ok(Err(Refusal::WrongKind));
    }
    let recipient = match n.kind {
        Kind::Email if notify::valid_email(n.recipient.trim()) => n.recipient.trim().to_string(),
        Kind::Sms => match notify::normalise_phone(&n.recipient) {
            Some(p) => p,
            None => return Ok(Err(Refusal::BadRecipient)),
        },
        Kind::Email => return Ok(Err(Refusal::BadRecipient)),
    };
    let body = match notify::render(&t.body, &n.personalisation) {
        Ok(b) => b,
        Err(missing) => return Ok(Err(Refusal::Missing(missing))),
    };
    let subject = match t.subject.as_deref().map(|s| notify::render(s, &n.personalisation)) {
        Some(Ok(s)) => Some(s),
        Some(Err(missing)) => return Ok(Err(Refusal::Missing(missing))),
        None => None,
    };
    let row = Notification {
        id: hex::encode(rand::random::<[u8; 16]>()),
        reference: n.reference.clone(),
        template_id: t.id,
        template_version: t.version,
        kind: n.kind.as_str().into(),
        recipient,
        subject,
        body,
        status: Status::Created.as_str().into(),
        attempts: 0,
        next_attempt_at: now,
        claimed_until: None,
        created_at: now,
        sent_at: None,
        completed_at: None,
        last_error: None,
        created_by: n.created_by.clone(),
    };
    tx.execute(
        &Query::insert()
            .into_table("notifications")
            .columns(NOTIFICATION_COLUMNS)
            .values_panic([
                row.id.clone().into(),
                row.reference.clone().into(),
                row.template_id.clone().into(),
                row.template_version.into(),
                row.kind.clone().into(),
                row.recipient.clone().into(),
                row.subject.clone().into(),
                row.body.clone().into(),
                row.status.clone().into(),
                0i64.into(),
                now.into(),
                None::<DateTime<Utc>>.into(),
                now.into(),
                None::<DateTime<Utc>>.into(),
                None::<DateTime<Utc>>.into(),
                None::<String>.into(),
                row.created_by.clone().into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(Ok(row))
}

fn inbox(tx: &mut Tx, user_id: i64, subject: &str, body: &str, link: &str, at: DateTime<Utc>) {
    tx.append(
        "inbox_messages",
        &["user_id", "subject", "body", "link", "created_at"],
        vec![user_id.into(), subject.into(), body.into(), Some(link.to_string()).into(), at.into()],
    );
}

async fn cursor(tx: &mut Tx, name: &str) -> Result<i64> {
    let r: Option<CursorRow> = tx
        .fetch_optional(
            &Query::select().column("last_id").from("notify_cursors").and_where(Expr::col("name").eq(name)).to_owned(),
        )
        .await?;
    Ok(r.map(|r| r.last_id).unwrap_or(0))
}

async fn set_cursor(tx: &mut Tx, name: &str, id: i64) -> Result<()> {
    tx.execute(
        &Query::insert()
            .into_table("notify_cursors")
            .columns(["name", "last_id"])
            .values_panic([name.into(), id.into()])
            .on_conflict(sea_query::OnConflict::column("name").update_column("last_id").to_owned())
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// A template's values from named pairs.
fn named<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Which template tells the applicant of a tracking-log action.
fn template_for(action: &str) -> Option<&'static str> {
    match action {
        "receive" => Some("dossier-received"),
        "request_supplement" => Some("dossier-supplement"),
        "apology" => Some("dossier-apology"),
        "issue_result" => Some("dossier-result"),
        "refuse" => Some("dossier-refused"),
        _ => None,
    }
}

impl Store {
    /// Sends nothing: writes a message for the senders, or says why not.
    pub async fn create_notification(&self, n: &NewNotification) -> Result<std::result::Result<Notification, Refusal>> {
        let mut tx = self.db.begin_write().await?;
        let out = insert_notification(&mut tx, n, Utc::now()).await?;
        if out.is_ok() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(out)
    }

    pub async fn notification(&self, id: &str) -> Result<Notification> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(NOTIFICATION_COLUMNS)
                    .from("notifications")
                    .and_where(Expr::col("id").eq(id))
                    .to_owned(),
            )
            .await
    }

    /// Messages newest first, filtered as Notify's list endpoint is; `older_than` pages.
    pub async fn notifications(
        &self,
        created_by: Option<&str>,
        status: Option<&str>,
        kind: Option<&str>,
        reference: Option<&str>,
        older_than: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Notification>> {
        let mut q = Query::select().columns(NOTIFICATION_COLUMNS).from("notifications").to_owned();
        if let Some(c) = created_by {
            q.and_where(Expr::col("created_by").eq(c));
        }
        if let Some(s) = status {
            q.and_where(Expr::col("status").eq(s));
        }
        if let Some(k) = kind {
            q.and_where(Expr::col("kind").eq(k));
        }
        if let Some(r) = reference {
            q.and_where(Expr::col("reference").eq(r));
        }
        if let Some(id) = older_than {
            let pivot = self.notification(id).await?;
            q.and_where(
                Expr::col("created_at")
                    .lt(pivot.created_at)
                    .or(Expr::col("created_at").eq(pivot.created_at).and(Expr::col("id").lt(pivot.id))),
            );
        }
        q.order_by("created_at", Order::Desc).order_by("id", Order::Desc).limit(limit);
        self.db.fetch_all(&q).await
    }

    pub async fn templates(&self) -> Result<Vec<Template>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(TEMPLATE_COLUMNS)
                    .from("notify_templates")
                    .order_by("id", Order::Asc)
                    .order_by("version", Order::Desc)
                    .to_owned(),
            )
            .await
    }

    pub async fn template(&self, id: &str, version: Option<i64>) -> Result<Template> {
        let mut q = Query::select()
            .columns(TEMPLATE_COLUMNS)
            .from("notify_templates")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        if let Some(v) = version {
            q.and_where(Expr::col("version").eq(v));
        }
        q.order_by("version", Order::Desc).limit(1);
        self.db.fetch_one(&q).await
    }

    /// Saves a new version of a template (version 1 for a new id); messages keep the
    /// version they were rendered from.
    pub async fn save_template(
        &self,
        id: &str,
        name: &str,
        kind: Kind,
        subject: Option<&str>,
        body: &str,
        by: &str,
    ) -> Result<i64> {
        let mut tx = self.db.begin_write().await?;
        let r: VersionRow = tx
            .fetch_one(
                &Query::select()
                    .expr_as(Func::max(Expr::col("version")), "v")
                    .from("notify_templates")
                    .and_where(Expr::col("id").eq(id))
                    .to_owned(),
            )
            .await?;
        if let Some(existing) = latest_template(&mut tx, id).await?
            && existing.kind != kind.as_str()
        {
            return Err(StoreError::Invalid("a template keeps its channel".into()));
        }
        let v = r.v.unwrap_or(0) + 1;
        tx.execute(
            &Query::insert()
                .into_table("notify_templates")
                .columns(TEMPLATE_COLUMNS)
                .values_panic([
                    id.into(),
                    v.into(),
                    name.into(),
                    kind.as_str().into(),
                    subject.map(str::to_string).into(),
                    body.into(),
                    Utc::now().into(),
                    by.into(),
                ])
                .to_owned(),
        )
        .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Claims up to `limit` messages due now: each becomes `sending` with a lease, one
    /// attempt more, in this transaction, before anything is sent.
    pub async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        limit: u64,
        lease_secs: i64,
    ) -> Result<Vec<Notification>> {
        let mut tx = self.db.begin_write().await?;
        let due: Vec<Notification> = tx
            .fetch_all(
                &Query::select()
                    .columns(NOTIFICATION_COLUMNS)
                    .from("notifications")
                    .and_where(Expr::col("status").is_in([Status::Created.as_str(), Status::Sending.as_str()]))
                    .and_where(Expr::col("next_attempt_at").lte(now))
                    .and_where(Expr::col("claimed_until").is_null().or(Expr::col("claimed_until").lt(now)))
                    .order_by("next_attempt_at", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await?;
        let lease = now + Duration::seconds(std::cmp::Ord::max(lease_secs, 1));
        let mut out = Vec::with_capacity(due.len());
        for mut n in due {
            // Another sender that claimed it first wins: no row changes here.
            let claimed = tx
                .execute(
                    &Query::update()
                        .table("notifications")
                        .value("status", Status::Sending.as_str())
                        .value("attempts", n.attempts + 1)
                        .value("claimed_until", lease)
                        .and_where(Expr::col("id").eq(n.id.clone()))
                        .and_where(Expr::col("attempts").eq(n.attempts))
                        .to_owned(),
                )
                .await?;
            if claimed == 0 {
                continue;
            }
            n.attempts += 1;
            n.status = Status::Sending.as_str().into();
            n.claimed_until = Some(lease);
            out.push(n);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records what attempt `n.attempts` came to.
    pub async fn record_attempt(
        &self,
        n: &Notification,
        outcome: &notify::Outcome,
        now: DateTime<Utc>,
    ) -> Result<Status> {
        let (status, retry) = notify::after_attempt(n.attempts as u32, outcome);
        let error = match outcome {
            notify::Outcome::Delivered => None,
            notify::Outcome::Permanent(e) | notify::Outcome::Temporary(e) | notify::Outcome::Technical(e) => {
                Some(e.chars().take(500).collect::<String>())
            }
        };
        let mut q = Query::update();
        q.table("notifications")
            .value("status", status.as_str())
            .value("claimed_until", None::<DateTime<Utc>>)
            .value("last_error", error)
            .value("sent_at", now);
        if let Some(secs) = retry {
            q.value("next_attempt_at", now + Duration::seconds(secs));
        } else {
            q.value("completed_at", now);
        }
        q.and_where(Expr::col("id").eq(n.id.clone())).and_where(Expr::col("attempts").eq(n.attempts));
        self.db.execute(&q).await?;
        Ok(status)
    }

    /// Turns new tracking-log actions and offers into messages for the people concerned.
    /// `url` is the portal's address, for links. Returns the happenings told.
    pub async fn run_notify_feed(&self, url: &str, limit: u64) -> Result<usize> {
        // Most runs find nothing new: look before taking the writer's place.
        if !self.feed_has_news().await? {
            return Ok(0);
        }
        let now = Utc::now();
        let horizon = now - Duration::hours(FEED_HORIZON_HOURS);
        let mut tx = self.db.begin_write().await?;
        let mut told = 0;
        let from = cursor(&mut tx, "dossier_events").await?;
        let events: Vec<FeedEvent> = tx
            .fetch_all(
                &Query::select()
                    .columns(["id", "dossier_id", "at", "action", "reason"])
                    .from("dossier_events")
                    .and_where(Expr::col("id").gt(from))
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await?;
        let mut last = from;
        for e in &events {
            last = e.id;
            let Some(template) = template_for(&e.action) else { continue };
            if e.at < horizon {
                continue;
            }
            let d: FeedDossier = tx
                .fetch_one(
                    &Query::select()
                        .column(("dossiers", "code"))
                        .column(("dossiers", "applicant_user_id"))
                        .column(("dossiers", "applicant_name"))
                        .column(("dossiers", "due_date"))
                        .expr_as(Expr::col(("procedures", "name")), "procedure_name")
                        .expr_as(Expr::col(("agencies", "name")), "agency_name")
                        .from("dossiers")
                        .inner_join("procedures", Expr::col(("procedures", "id")).equals(("dossiers", "procedure_id")))
                        .inner_join("agencies", Expr::col(("agencies", "id")).equals(("dossiers", "agency_id")))
                        .and_where(Expr::col(("dossiers", "id")).eq(e.dossier_id))
                        .to_owned(),
                )
                .await?;
            let link = format!("{url}/dossiers/{}", e.dossier_id);
            let values = named([
                ("name", d.applicant_name.clone()),
                ("code", d.code.clone()),
                ("procedure", d.procedure_name.clone()),
                ("agency", d.agency_name.clone()),
                ("due_date", d.due_date.map(|x| x.format("%d/%m/%Y").to_string()).unwrap_or_else(|| "—".into())),
                ("reason", e.reason.clone().unwrap_or_else(|| "—".into())),
                ("url", link.clone()),
            ]);
            self.tell(&mut tx, d.applicant_user_id, template, &values, &link, &format!("dossier-event-{}", e.id), now)
                .await?;
            told += 1;
        }
        if last != from {
            set_cursor(&mut tx, "dossier_events", last).await?;
        }
        let from = cursor(&mut tx, "offers").await?;
        let offers: Vec<FeedOffer> = tx
            .fetch_all(
                &Query::select()
                    .columns(["id", "event_id", "recipient", "title", "because", "guidance"])
                    .from("offers")
                    .and_where(Expr::col("id").gt(from))
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await?;
        let mut last = from;
        for o in &offers {
            last = o.id;
            let users: Vec<FeedUser> = tx
                .fetch_all(
                    &Query::select()
                        .columns(["id", "display_name", "email"])
                        .from("users")
                        .and_where(Expr::col("person_number").eq(o.recipient.clone()))
                        .to_owned(),
                )
                .await?;
            for u in users {
                let link = format!("{url}/inbox/events/{}#o{}", o.event_id, o.id);
                let values = named([
                    ("name", u.display_name.clone()),
                    ("title", o.title.clone()),
                    ("because", o.because.clone()),
                    ("guidance", o.guidance.clone()),
                    ("url", link.clone()),
                ]);
                self.tell(&mut tx, u.id, "proactive-offer", &values, &link, &format!("offer-{}", o.id), now).await?;
                told += 1;
            }
        }
        if last != from {
            set_cursor(&mut tx, "offers", last).await?;
        }
        tx.commit().await?;
        Ok(told)
    }

    async fn feed_has_news(&self) -> Result<bool> {
        #[derive(sqlx::FromRow)]
        struct IdRow {
            #[allow(dead_code)]
            id: i64,
        }
        for (name, table) in [("dossier_events", "dossier_events"), ("offers", "offers")] {
            let from: Option<CursorRow> = self
                .db
                .fetch_optional(
                    &Query::select()
                        .column("last_id")
                        .from("notify_cursors")
                        .and_where(Expr::col("name").eq(name))
                        .to_owned(),
                )
                .await?;
            let from = from.map(|c| c.last_id).unwrap_or(0);
            let next: Option<IdRow> = self
                .db
                .fetch_optional(
                    &Query::select().column("id").from(table).and_where(Expr::col("id").gt(from)).limit(1).to_owned(),
                )
                .await?;
            if next.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// An inbox message for the user, and an e-mail if their account has an address.
    #[allow(clippy::too_many_arguments)]
    async fn tell(
        &self,
        tx: &mut Tx,
        user_id: i64,
        template: &str,
        values: &BTreeMap<String, String>,
        link: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(t) = latest_template(tx, template).await? else { return Ok(()) };
        let subject =
            t.subject.as_deref().and_then(|s| notify::render(s, values).ok()).unwrap_or_else(|| t.name.clone());
        let body = notify::render(&t.body, values).unwrap_or_default();
        inbox(tx, user_id, &subject, &body, link, now);
        let u: Option<FeedUser> = tx
            .fetch_optional(
                &Query::select()
                    .columns(["id", "display_name", "email"])
                    .from("users")
                    .and_where(Expr::col("id").eq(user_id))
                    .to_owned(),
            )
            .await?;
        if let Some(email) = u.and_then(|u| u.email).filter(|e| notify::valid_email(e)) {
            let n = NewNotification {
                kind: Kind::Email,
                template_id: template.into(),
                recipient: email,
                personalisation: values.clone(),
                reference: Some(reference.into()),
                created_by: "sen".into(),
            };
            // A template edited to need a field the feed lacks sends no e-mail; the inbox has it.
            let _ = insert_notification(tx, &n, now).await?;
        }
        Ok(())
    }

    /// A user's inbox, newest first.
    pub async fn inbox_messages(&self, user_id: i64, limit: u64) -> Result<Vec<InboxMessage>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["id", "user_id", "subject", "body", "link", "created_at", "read_at"])
                    .from("inbox_messages")
                    .and_where(Expr::col("user_id").eq(user_id))
                    .order_by("id", Order::Desc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// Raw access for tests: how many messages have `status`.
    pub async fn notification_count(&self, status: &str) -> Result<i64> {
        let r: VersionRow = self
            .db
            .fetch_one(
                &Query::select()
                    .expr_as(Func::count(Expr::col("id")), "v")
                    .from("notifications")
                    .and_where(Expr::col("status").eq(status))
                    .to_owned(),
            )
            .await?;
        Ok(r.v.unwrap_or(0))
    }
}

/// The personalisation of a JSON object (strings as they are, other values as JSON).
pub fn personalisation(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}
