//! Dossiers: submission, lifecycle actions, queues, the tracking log and the audit trail.

use crate::exec::Tx;
use crate::models::*;
use crate::{Result, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, UnionType};
use sen_domain::dossier::{Clock, ClockEffect};
use sen_domain::{Action, Calendar, DossierState};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Who is acting: recorded with every change and every read.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub role: Option<String>,
    pub agency_id: Option<i64>,
}

impl Actor {
    pub fn system(name: &str) -> Self {
        Actor { user_id: None, name: name.to_string(), role: Some("system".into()), agency_id: None }
    }
}

#[derive(Debug, Clone)]
pub struct NewFile {
    pub component: String,
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    /// A digest of the request, so that a key reused for another request is refused.
    pub request_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewDossier {
    pub procedure_id: i64,
    pub form_version: i64,
    pub agency_id: i64,
    pub agency_code: String,
    pub applicant_user_id: i64,
    pub applicant_name: String,
    pub applicant_id_number: String,
    pub data: Value,
    /// The provisional appointment date, shown on the submission receipt.
    pub due_date: NaiveDate,
    pub files: Vec<NewFile>,
    /// Where each component came from (once-only provenance), written with the dossier.
    pub components: Vec<crate::evidence::ComponentRecord>,
    pub idempotency: Option<Idempotency>,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub id: i64,
    pub code: String,
    pub submitted_at: DateTime<Utc>,
    pub due_date: Option<NaiveDate>,
    /// The same request was submitted before with this idempotency key: this is its answer.
    pub replayed: bool,
}

/// A lifecycle action, with everything the transition may need.
#[derive(Debug, Clone)]
pub struct ActRequest {
    pub dossier_id: i64,
    pub action: Action,
    pub actor: Actor,
    /// The version the actor saw; a different current version is a conflict.
    pub expected_version: Option<i64>,
    pub reason: Option<String>,
    /// Hand-off target: another agency and/or officer.
    pub to_agency_id: Option<i64>,
    pub to_user_id: Option<i64>,
    /// The issued result document (JSON), for `IssueResult`.
    pub result: Option<Value>,
    pub files: Vec<NewFile>,
    pub today: NaiveDate,
    pub deadline_days: u32,
    /// Signs the work record of a decision with the officer's personal certificate.
    pub signer: Option<SignerHandle>,
    /// The signed result, for `IssueResult`.
    pub issued: Option<crate::trust::IssuedResult>,
}

/// A shared work-record signer.
#[derive(Clone)]
pub struct SignerHandle(pub std::sync::Arc<dyn crate::trust::RecordSigner>);

impl std::fmt::Debug for SignerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignerHandle")
    }
}

/// Actions that decide something: their work records are signed by the officer.
pub fn is_decision(action: Action) -> bool {
    matches!(action, Action::Receive | Action::HandOff | Action::Approve | Action::Refuse | Action::IssueResult)
}

/// The queues an officer works from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Submitted, not yet claimed.
    New,
    /// Claimed by me and still open.
    Mine,
    /// Clock running, due within the next two working days.
    DueSoon,
    /// Clock running, past the appointment date.
    Overdue,
    /// Waiting for the applicant's supplement.
    Waiting,
    /// Every open dossier of my agencies.
    Open,
}

impl Queue {
    pub const ALL: [Queue; 6] = [Queue::New, Queue::Mine, Queue::DueSoon, Queue::Overdue, Queue::Waiting, Queue::Open];
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::New => "new",
            Queue::Mine => "mine",
            Queue::DueSoon => "due_soon",
            Queue::Overdue => "overdue",
            Queue::Waiting => "waiting",
            Queue::Open => "open",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == s)
    }
}

const CLOCK_STATES: [&str; 3] = ["RECEIVED", "IN_PROCESSING", "APPROVED"];
const OPEN_STATES: [&str; 5] = ["SUBMITTED", "RECEIVED", "IN_PROCESSING", "AWAITING_SUPPLEMENT", "APPROVED"];

/// The columns written for an audit-trail entry (the id is generated).
const AUDIT_COLUMNS: [&str; 11] = [
    "at",
    "actor_user_id",
    "actor_name",
    "actor_role",
    "actor_agency_id",
    "action",
    "subject_type",
    "subject_id",
    "dossier_id",
    "reason",
    "detail",
];

/// The columns written for a tracking-log entry (the id is generated).
pub(crate) const EVENT_COLUMNS: [&str; 11] = [
    "dossier_id",
    "at",
    "actor_user_id",
    "actor_name",
    "actor_role",
    "actor_agency_id",
    "action",
    "from_state",
    "to_state",
    "reason",
    "detail",
];

#[derive(sqlx::FromRow)]
struct SubmittedRow {
    id: i64,
    code: String,
    submitted_at: DateTime<Utc>,
    due_date: Option<NaiveDate>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn insert_files(tx: &mut Tx, dossier_id: i64, files: &[NewFile], purpose: &str, at: DateTime<Utc>) -> Result<()> {
    for f in files {
        tx.execute(
            &Query::insert()
                .into_table("dossier_files")
                .columns([
                    "dossier_id",
                    "component",
                    "filename",
                    "content_type",
                    "size",
                    "sha256",
                    "content",
                    "purpose",
                    "uploaded_at",
                ])
                .values_panic([
                    dossier_id.into(),
                    f.component.clone().into(),
                    f.filename.clone().into(),
                    f.content_type.clone().into(),
                    (f.content.len() as i64).into(),
                    sha256_hex(&f.content).into(),
                    f.content.clone().into(),
                    purpose.into(),
                    at.into(),
                ])
                .to_owned(),
        )
        .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    tx: &mut Tx,
    dossier_id: i64,
    actor: &Actor,
    action: &str,
    from: Option<DossierState>,
    to: DossierState,
    reason: Option<&str>,
    detail: &Value,
    at: DateTime<Utc>,
) -> Result<()> {
    // The tracking log is append-only and never read back inside the transaction: its row
    // is written with the others at commit.
    tx.append(
        "dossier_events",
        &EVENT_COLUMNS,
        vec![
            dossier_id.into(),
            at.into(),
            actor.user_id.into(),
            actor.name.clone().into(),
            actor.role.clone().into(),
            actor.agency_id.into(),
            action.into(),
            from.map(|s| s.as_str()).into(),
            to.as_str().into(),
            reason.map(str::to_string).into(),
            detail.to_string().into(),
        ],
    );
    audit(
        tx,
        actor,
        &format!("dossier.{action}"),
        "dossier",
        &dossier_id.to_string(),
        Some(dossier_id),
        reason,
        detail,
        at,
    )
    .await
}

/// Appends to the audit trail. There is no code path that updates or deletes its rows.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn audit(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    subject_type: &str,
    subject_id: &str,
    dossier_id: Option<i64>,
    reason: Option<&str>,
    detail: &Value,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.append(
        "audit_log",
        &AUDIT_COLUMNS,
        vec![
            at.into(),
            actor.user_id.into(),
            actor.name.clone().into(),
            actor.role.clone().into(),
            actor.agency_id.into(),
            action.into(),
            subject_type.into(),
            subject_id.into(),
            dossier_id.into(),
            reason.map(str::to_string).into(),
            detail.to_string().into(),
        ],
    );
    let entry = json!({
        "type": action,
        "at": at,
        "actor": {"user_id": actor.user_id, "name": actor.name, "role": actor.role, "agency_id": actor.agency_id},
        "subject": {"type": subject_type, "id": subject_id},
        "dossier_id": dossier_id,
        "reason": reason,
        "detail": detail,
    });
    crate::log::enqueue(tx, &entry, at);
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SeenKeyRow {
    user_id: i64,
    key: String,
    request_hash: String,
    dossier_id: i64,
}

#[derive(sqlx::FromRow)]
struct InsertedRow {
    id: i64,
    code: String,
}

/// Rows per statement when a group commit reads or inserts many submissions at once.
const SUBMISSIONS_PER_STATEMENT: usize = 400;

/// What became of one submission of a batch before anything is written.
enum Plan {
    /// Refused, or answered from an earlier submission with the same idempotency key.
    Done(Result<Submitted>),
    /// The same key as submission `i` of this batch, same request: its answer.
    SameAs(usize),
    /// To be written, with its new code.
    Insert(String),
}

/// Writes a batch of submissions inside the group commit's transaction, with a few
/// statements for the whole batch (one read of the idempotency keys, one multi-row insert
/// of the dossiers; tracking log, audit trail, log entries and keys written at commit).
/// Refusals (a reused idempotency key with another request) are decided before anything
/// is written, so the transaction stays good for the others.
impl crate::group_commit::Batched for NewDossier {
    type Out = Submitted;
    fn insert<'a>(
        tx: &'a mut Tx,
        items: &'a [&'a Self],
    ) -> impl std::future::Future<Output = Result<Vec<Result<Submitted>>>> + Send + 'a {
        insert_submissions(tx, items)
    }
}

pub(crate) async fn insert_submissions(tx: &mut Tx, news: &[&NewDossier]) -> Result<Vec<Result<Submitted>>> {
    // 1. Keys already used, in one read per 400 submissions.
    let keyed: Vec<(i64, &str)> =
        news.iter().filter_map(|n| n.idempotency.as_ref().map(|i| (n.applicant_user_id, i.key.as_str()))).collect();
    let mut seen: HashMap<(i64, String), (String, i64)> = HashMap::new();
    for chunk in keyed.chunks(SUBMISSIONS_PER_STATEMENT) {
        let keys: Vec<(i64, String)> = chunk.iter().map(|(u, k)| (*u, k.to_string())).collect();
        let rows: Vec<SeenKeyRow> = tx
            .fetch_all(
                &Query::select()
                    .columns(["user_id", "key", "request_hash", "dossier_id"])
                    .from("idempotency_keys")
                    .and_where(Expr::tuple([Expr::col("user_id"), Expr::col("key")]).in_tuples(keys))
                    .to_owned(),
            )
            .await?;
        seen.extend(rows.into_iter().map(|r| ((r.user_id, r.key), (r.request_hash, r.dossier_id))));
    }
    let earlier_ids: Vec<i64> = seen.values().map(|(_, id)| *id).collect();
    let mut earlier: HashMap<i64, SubmittedRow> = HashMap::new();
    for chunk in earlier_ids.chunks(SUBMISSIONS_PER_STATEMENT) {
        let rows: Vec<SubmittedRow> = tx
            .fetch_all(
                &Query::select()
                    .columns(["id", "code", "submitted_at", "due_date"])
                    .from("dossiers")
                    .and_where(Expr::col("id").is_in(chunk.to_vec()))
                    .to_owned(),
            )
            .await?;
        earlier.extend(rows.into_iter().map(|r| (r.id, r)));
    }

    // 2. Decide each submission.
    let mut in_batch: HashMap<(i64, &str), (usize, &str)> = HashMap::new();
    let mut plans = Vec::with_capacity(news.len());
    for (i, new) in news.iter().enumerate() {
        let plan = match &new.idempotency {
            Some(idem) => {
                if let Some((hash, id)) = seen.get(&(new.applicant_user_id, idem.key.clone())) {
                    Plan::Done(if *hash != idem.request_hash {
                        Err(StoreError::IdempotencyMismatch)
                    } else {
                        earlier
                            .get(id)
                            .map(|row| Submitted {
                                id: row.id,
                                code: row.code.clone(),
                                submitted_at: row.submitted_at,
                                due_date: row.due_date,
                                replayed: true,
                            })
                            .ok_or(StoreError::NotFound)
                    })
                } else if let Some((first, hash)) = in_batch.get(&(new.applicant_user_id, idem.key.as_str())) {
                    if *hash == idem.request_hash {
                        Plan::SameAs(*first)
                    } else {
                        Plan::Done(Err(StoreError::IdempotencyMismatch))
                    }
                } else {
                    in_batch.insert((new.applicant_user_id, idem.key.as_str()), (i, idem.request_hash.as_str()));
                    Plan::Insert(new_code(new))
                }
            }
            None => Plan::Insert(new_code(new)),
        };
        plans.push(plan);
    }

    // 3. The new dossiers, one multi-row insert per 400; codes are unique, so the returned
    //    rows are matched by code whatever order they come back in.
    let to_insert: Vec<(usize, &str)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Plan::Insert(code) => Some((i, code.as_str())),
            _ => None,
        })
        .collect();
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(to_insert.len());
    for chunk in to_insert.chunks(SUBMISSIONS_PER_STATEMENT) {
        let mut ins = Query::insert()
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
                "data",
                "submitted_at",
                "due_date",
                "overdue",
                "apologies",
                "version",
                "updated_at",
            ])
            .to_owned();
        for (i, code) in chunk {
            let new = news[*i];
            let at = new.submitted_at;
            ins.values_panic([
                (*code).into(),
                new.procedure_id.into(),
                new.form_version.into(),
                new.agency_id.into(),
                new.applicant_user_id.into(),
                new.applicant_name.clone().into(),
                new.applicant_id_number.clone().into(),
                DossierState::Submitted.as_str().into(),
                new.data.to_string().into(),
                at.into(),
                new.due_date.into(),
                false.into(),
                0i64.into(),
                1i64.into(),
                at.into(),
            ]);
        }
        let rows: Vec<InsertedRow> =
            tx.fetch_all(&ins.returning(Query::returning().columns(["id", "code"])).to_owned()).await?;
        ids.extend(rows.into_iter().map(|r| (r.code, r.id)));
    }

    // 4. Files, tracking log, audit trail and keys of each new dossier.
    let mut written: Vec<Option<Submitted>> = Vec::with_capacity(news.len());
    for (new, plan) in news.iter().zip(plans.iter()) {
        let Plan::Insert(code) = plan else {
            written.push(None);
            continue;
        };
        let id = *ids.get(code).ok_or(StoreError::Invalid("an inserted dossier was not returned".into()))?;
        let at = new.submitted_at;
        insert_files(tx, id, &new.files, "application", at).await?;
        if !new.components.is_empty() {
            let month = crate::evidence::month_of(at);
            for c in &new.components {
                tx.append(
                    "dossier_components",
                    &crate::evidence::COMPONENT_COLUMNS,
                    c.values(id, new.procedure_id, new.agency_id, &month),
                );
            }
        }
        let actor = Actor {
            user_id: Some(new.applicant_user_id),
            name: new.applicant_name.clone(),
            role: Some("applicant".into()),
            agency_id: None,
        };
        let fetched = new.components.iter().filter(|c| c.source == sen_domain::evidence::Provenance::Fetched).count();
        let detail = json!({"files": new.files.len(), "form_version": new.form_version, "fetched": fetched});
        insert_event(tx, id, &actor, "submit", None, DossierState::Submitted, None, &detail, at).await?;
        if let Some(idem) = &new.idempotency {
            tx.append(
                "idempotency_keys",
                &["user_id", "key", "request_hash", "dossier_id", "created_at"],
                vec![
                    new.applicant_user_id.into(),
                    idem.key.clone().into(),
                    idem.request_hash.clone().into(),
                    id.into(),
                    at.into(),
                ],
            );
        }
        written.push(Some(Submitted {
            id,
            code: code.clone(),
            submitted_at: at,
            due_date: Some(new.due_date),
            replayed: false,
        }));
    }
    let missing = || StoreError::Invalid("a submission of the batch was not written".into());
    Ok(plans
        .into_iter()
        .enumerate()
        .map(|(i, plan)| match plan {
            Plan::Done(r) => r,
            Plan::Insert(_) => written[i].clone().ok_or_else(missing),
            Plan::SameAs(first) => {
                written[first].clone().map(|s| Submitted { replayed: true, ..s }).ok_or_else(missing)
            }
        })
        .collect())
}

fn new_code(new: &NewDossier) -> String {
    sen_domain::ident::dossier_code(&new.agency_code, new.submitted_at.date_naive(), rand::random())
}

fn summary_select() -> SelectStatement {
    Query::select()
        .columns([
            ("dossiers", "id"),
            ("dossiers", "code"),
            ("dossiers", "procedure_id"),
            ("dossiers", "agency_id"),
            ("dossiers", "applicant_name"),
            ("dossiers", "state"),
            ("dossiers", "submitted_at"),
            ("dossiers", "due_date"),
            ("dossiers", "overdue"),
            ("dossiers", "assignee_user_id"),
            ("dossiers", "version"),
        ])
        .expr_as(Expr::col(("procedures", "name")), "procedure_name")
        .from("dossiers")
        .inner_join("procedures", Expr::col(("procedures", "id")).equals(("dossiers", "procedure_id")))
        .to_owned()
}

const DOSSIER_COLUMNS: [&str; 28] = [
    "id",
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
];

fn dossier_select() -> SelectStatement {
    Query::select().columns(DOSSIER_COLUMNS).from("dossiers").to_owned()
}

impl Store {
    /// Submits a dossier through the group commit; returns once it is durable.
    pub async fn submit_dossier(&self, new: NewDossier) -> Result<Submitted> {
        self.submitter.submit(new).await
    }

    pub async fn dossier(&self, id: i64) -> Result<Dossier> {
        self.db.fetch_one(&dossier_select().and_where(Expr::col("id").eq(id)).to_owned()).await
    }

    pub async fn dossier_by_code(&self, code: &str) -> Result<Dossier> {
        self.db.fetch_one(&dossier_select().and_where(Expr::col("code").eq(code)).to_owned()).await
    }

    /// The applicant's own dossiers, newest first.
    pub async fn dossiers_of_applicant(&self, user_id: i64, limit: u64, offset: u64) -> Result<Vec<DossierSummary>> {
        self.db
            .fetch_all(
                &summary_select()
                    .and_where(Expr::col(("dossiers", "applicant_user_id")).eq(user_id))
                    .order_by(("dossiers", "submitted_at"), Order::Desc)
                    .order_by(("dossiers", "id"), Order::Desc)
                    .limit(limit)
                    .offset(offset)
                    .to_owned(),
            )
            .await
    }

    /// The states a queue covers.
    fn queue_states(queue: Queue) -> &'static [&'static str] {
        match queue {
            Queue::New => &["SUBMITTED"],
            Queue::Mine | Queue::Open => &OPEN_STATES,
            Queue::DueSoon | Queue::Overdue => &CLOCK_STATES,
            Queue::Waiting => &["AWAITING_SUPPLEMENT"],
        }
    }

    /// Queues are ordered by appointment date, or by submission (first come, first served).
    fn by_due_date(queue: Queue) -> bool {
        matches!(queue, Queue::Mine | Queue::DueSoon | Queue::Overdue)
    }

    /// One slice of a queue: one agency (or the assignee) and one state, so that each slice is
    /// a single range of an index already in the queue's order.
    fn queue_slice(
        base: SelectStatement,
        agency: Option<i64>,
        state: &str,
        user_id: i64,
        queue: Queue,
        today: NaiveDate,
        soon: NaiveDate,
    ) -> SelectStatement {
        let mut q = base;
        q.and_where(Expr::col(("dossiers", "state")).eq(state));
        if let Some(a) = agency {
            q.and_where(Expr::col(("dossiers", "agency_id")).eq(a));
        }
        match queue {
            Queue::New => {
                q.and_where(Expr::col(("dossiers", "assignee_user_id")).is_null());
            }
            Queue::Mine => {
                q.and_where(Expr::col(("dossiers", "assignee_user_id")).eq(user_id));
            }
            Queue::DueSoon => {
                q.and_where(Expr::col(("dossiers", "due_date")).gte(today))
                    .and_where(Expr::col(("dossiers", "due_date")).lte(soon));
            }
            Queue::Overdue => {
                q.and_where(Expr::col(("dossiers", "due_date")).lt(today));
            }
            Queue::Waiting | Queue::Open => {}
        }
        let key = if Self::by_due_date(queue) { "due_date" } else { "submitted_at" };
        // Only the index's own order column: a tie-breaker here would make PostgreSQL sort the
        // whole slice. Ties are broken by id when the slices are merged.
        q.order_by(("dossiers", key), Order::Asc);
        q
    }

    /// The slices of a queue: per state, and per agency except for "assigned to me".
    fn queue_slices(
        base: &SelectStatement,
        agencies: &[i64],
        user_id: i64,
        queue: Queue,
        today: NaiveDate,
        soon: NaiveDate,
    ) -> Vec<SelectStatement> {
        let owners: Vec<Option<i64>> =
            if queue == Queue::Mine { vec![None] } else { agencies.iter().copied().map(Some).collect() };
        let mut out = Vec::new();
        for owner in owners {
            for state in Self::queue_states(queue) {
                let mut q = Self::queue_slice(base.clone(), owner, state, user_id, queue, today, soon);
                if queue == Queue::Mine {
                    q.and_where(Expr::col(("dossiers", "agency_id")).is_in(agencies.iter().copied()));
                }
                out.push(q);
            }
        }
        out
    }

    /// A queue of the agencies an officer serves. `soon` is the last day counted as due soon.
    ///
    /// Each slice (agency × state) is read in index order up to `offset + limit` entries,
    /// only ids and the order key (the index covers them: no table row is read), and the
    /// slices are merged here; then only the page's rows are read, in one statement. A page
    /// costs a few short index range scans and `limit` row reads however many dossiers the
    /// agency holds.
    #[allow(clippy::too_many_arguments)]
    pub async fn queue(
        &self,
        agencies: &[i64],
        user_id: i64,
        queue: Queue,
        today: NaiveDate,
        soon: NaiveDate,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<DossierSummary>> {
        #[derive(sqlx::FromRow)]
        struct BySubmission {
            id: i64,
            submitted_at: DateTime<Utc>,
        }
        #[derive(sqlx::FromRow)]
        struct ByDueDate {
            id: i64,
            due_date: Option<NaiveDate>,
        }
        if agencies.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let by_due = Self::by_due_date(queue);
        let key = if by_due { "due_date" } else { "submitted_at" };
        let keys = Query::select().column(("dossiers", "id")).column(("dossiers", key)).from("dossiers").to_owned();
        let page: Vec<i64> = if by_due {
            let mut rows: Vec<ByDueDate> = Vec::new();
            for mut slice in Self::queue_slices(&keys, agencies, user_id, queue, today, soon) {
                rows.extend(self.db.fetch_all::<ByDueDate, _>(slice.limit(offset + limit)).await?);
            }
            rows.sort_by(|a, b| a.due_date.cmp(&b.due_date).then(a.id.cmp(&b.id)));
            rows.into_iter().skip(offset as usize).take(limit as usize).map(|r| r.id).collect()
        } else {
            let mut rows: Vec<BySubmission> = Vec::new();
            for mut slice in Self::queue_slices(&keys, agencies, user_id, queue, today, soon) {
                rows.extend(self.db.fetch_all::<BySubmission, _>(slice.limit(offset + limit)).await?);
            }
            rows.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.id.cmp(&b.id)));
            rows.into_iter().skip(offset as usize).take(limit as usize).map(|r| r.id).collect()
        };
        if page.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: HashMap<i64, DossierSummary> = self
            .db
            .fetch_all::<DossierSummary, _>(
                &summary_select().and_where(Expr::col(("dossiers", "id")).is_in(page.iter().copied())).to_owned(),
            )
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
        Ok(page.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// How many dossiers each queue holds, capped at `cap` (a tab shows "1000+").
    pub async fn queue_counts(
        &self,
        agencies: &[i64],
        user_id: i64,
        today: NaiveDate,
        soon: NaiveDate,
        cap: u64,
    ) -> Result<Vec<(Queue, i64)>> {
        #[derive(sqlx::FromRow)]
        struct SliceCount {
            q: i64,
            n: i64,
        }
        let mut totals = [0i64; Queue::ALL.len()];
        if !agencies.is_empty() {
            // Every slice counted up to `cap`, all in one round trip.
            let mut all: Option<SelectStatement> = None;
            for (qi, queue) in Queue::ALL.into_iter().enumerate() {
                // Counting needs no join and no columns; each slice keeps its ORDER BY, which
                // names the index to read, in order, up to `cap`.
                let ids = Query::select().column(("dossiers", "id")).from("dossiers").to_owned();
                for (si, mut slice) in
                    Self::queue_slices(&ids, agencies, user_id, queue, today, soon).into_iter().enumerate()
                {
                    let inner = slice.limit(cap).to_owned();
                    let count = Query::select()
                        .expr_as(Expr::cust(format!("CAST({qi} AS BIGINT)")), "q")
                        .expr_as(Expr::cust("COUNT(*)"), "n")
                        .from_subquery(inner, format!("s{qi}_{si}"))
                        .to_owned();
                    match &mut all {
                        None => all = Some(count),
                        Some(u) => {
                            u.union(UnionType::All, count);
                        }
                    }
                }
            }
            if let Some(all) = all {
                for c in self.db.fetch_all::<SliceCount, _>(&all).await? {
                    totals[c.q as usize] += c.n;
                }
            }
        }
        Ok(Queue::ALL.into_iter().zip(totals).map(|(q, n)| (q, Ord::min(n, cap as i64))).collect())
    }

    /// Takes a lifecycle action. The domain decides whether it is legal; the update only
    /// applies if nobody changed the dossier since it was read (else [`StoreError::Conflict`]).
    pub async fn act(&self, req: ActRequest, calendar: &Calendar) -> Result<Dossier> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let d: Dossier =
            tx.fetch_one(&dossier_select().and_where(Expr::col("id").eq(req.dossier_id)).to_owned()).await?;
        if let Some(v) = req.expected_version
            && v != d.version
        {
            return Err(StoreError::Conflict { state: d.state.clone(), version: d.version });
        }
        let before = d.lifecycle();
        let (after, clock) = before.apply(req.action)?;
        let mut upd = Query::update();
        upd.table("dossiers")
            .value("state", after.state.as_str())
            .value("resume_state", after.resume_state.map(|s| s.as_str()))
            .value("version", Expr::col("version").add(1))
            .value("updated_at", now)
            .and_where(Expr::col("id").eq(d.id))
            .and_where(Expr::col("version").eq(d.version));
        let mut detail = json!({});
        let clock_before = Clock {
            due_date: d.due_date,
            original_due_date: d.original_due_date,
            paused_on: d.paused_on,
            remaining_days: d.remaining_days,
        };
        let c = clock_before.after(clock, req.today, req.deadline_days, calendar);
        if c != clock_before {
            upd.value("due_date", c.due_date)
                .value("original_due_date", c.original_due_date)
                .value("paused_on", c.paused_on)
                .value("remaining_days", c.remaining_days);
        }
        match clock {
            ClockEffect::Start => {
                upd.value("received_at", now);
                detail["due_date"] = json!(c.due_date);
            }
            ClockEffect::Pause => {
                detail["remaining_working_days"] = json!(c.remaining_days);
            }
            ClockEffect::Resume => {
                upd.value("overdue", false);
                detail["due_date"] = json!(c.due_date);
            }
            ClockEffect::Stop => {
                upd.value("decided_at", now);
            }
            ClockEffect::None => {}
        }
        if after.state.is_terminal() {
            upd.value("closed_at", now);
        }
        match req.action {
            Action::HandOff => {
                if let Some(a) = req.to_agency_id {
                    upd.value("agency_id", a);
                    detail["to_agency_id"] = json!(a);
                }
                upd.value("assignee_user_id", req.to_user_id);
                detail["to_user_id"] = json!(req.to_user_id);
            }
            Action::Receive if d.assignee_user_id.is_none() => {
                upd.value("assignee_user_id", req.actor.user_id);
            }
            Action::IssueResult => {
                let result = req.result.clone().unwrap_or(Value::Null);
                upd.value("result", result.to_string());
                detail["result"] = result;
            }
            _ => {}
        }
        if !req.files.is_empty() {
            detail["files"] = json!(req.files.len());
        }
        if tx.execute(&upd).await? == 0 {
            return Err(StoreError::Conflict { state: d.state.clone(), version: d.version });
        }
        insert_files(&mut tx, d.id, &req.files, req.action.as_str(), now).await?;
        insert_event(
            &mut tx,
            d.id,
            &req.actor,
            req.action.as_str(),
            Some(before.state),
            after.state,
            req.reason.as_deref(),
            &detail,
            now,
        )
        .await?;
        if let Some(issued) = &req.issued
            && req.action == Action::IssueResult
        {
            crate::trust::insert_result(&mut tx, d.id, issued).await?;
        }
        if req.action == Action::IssueResult {
            // The result changes its base registry, with the change event, in this transaction.
            crate::outbox::on_result(&mut tx, &d, req.today, now).await?;
        }
        if is_decision(req.action)
            && let (Some(signer), Some(user_id)) = (&req.signer, req.actor.user_id)
        {
            let content = json!({
                "from": before.state.as_str(),
                "to": after.state.as_str(),
                "officer": {"user_id": user_id, "name": req.actor.name, "role": req.actor.role,
                    "agency_id": req.actor.agency_id},
                "reason": req.reason,
                "detail": detail,
            });
            crate::trust::insert_work_record(
                &mut tx,
                signer.0.as_ref(),
                user_id,
                d.id,
                &d.code,
                req.action.as_str(),
                content,
                now,
            )
            .await?;
        }
        let updated: Dossier = tx.fetch_one(&dossier_select().and_where(Expr::col("id").eq(d.id)).to_owned()).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// An officer takes a dossier into their own queue.
    pub async fn claim(&self, dossier_id: i64, expected_version: Option<i64>, actor: &Actor) -> Result<Dossier> {
        self.update_with_event(dossier_id, expected_version, actor, "claim", None, json!({}), |u| {
            u.value("assignee_user_id", actor.user_id);
        })
        .await
    }

    /// Sends the apology letter: a new appointment date, with reasons.
    pub async fn apologise(
        &self,
        dossier_id: i64,
        expected_version: Option<i64>,
        actor: &Actor,
        new_due: NaiveDate,
        reason: &str,
    ) -> Result<Dossier> {
        self.update_with_event(
            dossier_id,
            expected_version,
            actor,
            "apology",
            Some(reason),
            json!({"new_due_date": new_due}),
            |u| {
                u.value("due_date", new_due).value("apologies", Expr::col("apologies").add(1));
            },
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn update_with_event(
        &self,
        dossier_id: i64,
        expected_version: Option<i64>,
        actor: &Actor,
        action: &str,
        reason: Option<&str>,
        detail: Value,
        set: impl FnOnce(&mut sea_query::UpdateStatement),
    ) -> Result<Dossier> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let d: Dossier = tx.fetch_one(&dossier_select().and_where(Expr::col("id").eq(dossier_id)).to_owned()).await?;
        if expected_version.is_some_and(|v| v != d.version) || d.state().is_terminal() {
            return Err(StoreError::Conflict { state: d.state.clone(), version: d.version });
        }
        let mut upd = Query::update();
        upd.table("dossiers")
            .value("version", Expr::col("version").add(1))
            .value("updated_at", now)
            .and_where(Expr::col("id").eq(d.id))
            .and_where(Expr::col("version").eq(d.version));
        set(&mut upd);
        if tx.execute(&upd).await? == 0 {
            return Err(StoreError::Conflict { state: d.state.clone(), version: d.version });
        }
        insert_event(&mut tx, d.id, actor, action, Some(d.state()), d.state(), reason, &detail, now).await?;
        let updated: Dossier = tx.fetch_one(&dossier_select().and_where(Expr::col("id").eq(d.id)).to_owned()).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// The applicant rates the service once, at an end state (rejections included).
    pub async fn rate(&self, dossier_id: i64, applicant_user_id: i64, score: i64, comment: &str) -> Result<()> {
        if !(1..=5).contains(&score) {
            return Err(StoreError::Invalid("the rating is 1 to 5".into()));
        }
        let ended: Vec<&str> = DossierState::ALL.iter().filter(|s| s.is_terminal()).map(|s| s.as_str()).collect();
        let n = self
            .db
            .execute(
                &Query::update()
                    .table("dossiers")
                    .value("rating", score)
                    .value("rating_comment", comment)
                    .value("rated_at", Utc::now())
                    .and_where(Expr::col("id").eq(dossier_id))
                    .and_where(Expr::col("applicant_user_id").eq(applicant_user_id))
                    .and_where(Expr::col("rating").is_null())
                    .and_where(Expr::col("state").is_in(ended))
                    .to_owned(),
            )
            .await?;
        if n == 0 {
            let d = self.dossier(dossier_id).await?;
            return Err(StoreError::Conflict { state: d.state, version: d.version });
        }
        Ok(())
    }

    /// Records that an official read a dossier, and why.
    pub async fn record_read(&self, actor: &Actor, dossier_id: i64, purpose: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        audit(
            &mut tx,
            actor,
            "dossier.read",
            "dossier",
            &dossier_id.to_string(),
            Some(dossier_id),
            Some(purpose),
            &json!({}),
            Utc::now(),
        )
        .await?;
        tx.commit().await
    }

    /// Appends an administrative action to the audit trail.
    pub async fn record(
        &self,
        actor: &Actor,
        action: &str,
        subject_type: &str,
        subject_id: &str,
        detail: Value,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        audit(&mut tx, actor, action, subject_type, subject_id, None, None, &detail, Utc::now()).await?;
        tx.commit().await
    }

    pub async fn events(&self, dossier_id: i64) -> Result<Vec<DossierEvent>> {
        self.db
            .fetch_all(
                &Query::select()
                    .column("id")
                    .columns(EVENT_COLUMNS)
                    .from("dossier_events")
                    .and_where(Expr::col("dossier_id").eq(dossier_id))
                    .order_by("id", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    /// The audit trail of one dossier (who opened and changed it).
    pub async fn dossier_audit(&self, dossier_id: i64, only_reads: bool) -> Result<Vec<AuditEntry>> {
        let mut q = Query::select()
            .column("id")
            .columns(AUDIT_COLUMNS)
            .from("audit_log")
            .and_where(Expr::col("dossier_id").eq(dossier_id))
            .order_by("id", Order::Asc)
            .to_owned();
        if only_reads {
            q.and_where(Expr::col("action").eq("dossier.read"));
        }
        self.db.fetch_all(&q).await
    }

    pub async fn files(&self, dossier_id: i64) -> Result<Vec<FileMeta>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns([
                        "id",
                        "dossier_id",
                        "component",
                        "filename",
                        "content_type",
                        "size",
                        "sha256",
                        "purpose",
                        "uploaded_at",
                    ])
                    .from("dossier_files")
                    .and_where(Expr::col("dossier_id").eq(dossier_id))
                    .order_by("id", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    pub async fn file_content(&self, dossier_id: i64, file_id: i64) -> Result<FileContent> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(["filename", "content_type", "content"])
                    .from("dossier_files")
                    .and_where(Expr::col("dossier_id").eq(dossier_id))
                    .and_where(Expr::col("id").eq(file_id))
                    .to_owned(),
            )
            .await
    }

    /// Marks dossiers whose clock ran past the appointment date. Idempotent, so several
    /// nodes may run it at once: each row changes at most once.
    pub async fn mark_overdue(&self, today: NaiveDate) -> Result<u64> {
        self.db
            .execute(
                &Query::update()
                    .table("dossiers")
                    .value("overdue", true)
                    .and_where(Expr::col("overdue").eq(false))
                    .and_where(Expr::col("state").is_in(CLOCK_STATES))
                    .and_where(Expr::col("due_date").lt(today))
                    .to_owned(),
            )
            .await
    }

    pub async fn count_by_state(&self) -> Result<Vec<StateCount>> {
        self.db
            .fetch_all(
                &Query::select()
                    .column("state")
                    .expr_as(Expr::cust("COUNT(*)"), "n")
                    .from("dossiers")
                    .group_by_col("state")
                    .to_owned(),
            )
            .await
    }

    pub async fn count_dossiers(&self) -> Result<i64> {
        let c: Count = self
            .db
            .fetch_one(&Query::select().expr_as(Expr::cust("COUNT(*)"), "n").from("dossiers").to_owned())
            .await?;
        Ok(c.n)
    }
}
