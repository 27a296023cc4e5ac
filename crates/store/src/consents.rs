//! Consents (issue #4): who may read a person's or an enterprise's data, from which service,
//! why and until when. Granting and revoking are audited in the same transaction; a
//! revocation is stamped with the instant it is made and holds from then on.

use crate::dossiers::{Actor, audit};
use crate::{Result, Store, StoreError};
use chrono::{DateTime, SubsecRound, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use sen_exchange::consent::{SubjectKind, Validity, check_terms};
use sen_exchange::rights::covers;
use sen_exchange::{ClientId, ServiceId};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Consent {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: String,
    /// The client allowed to read: `INSTANCE/CLASS/MEMBER[/SUBSYSTEM]`.
    pub client: String,
    /// The service it may read from: `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub service: String,
    pub purpose: String,
    pub granted_at: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Consent {
    pub fn validity(&self) -> Validity {
        Validity { granted_at: self.granted_at, valid_until: self.valid_until, revoked_at: self.revoked_at }
    }
}

/// The columns a consent is read with.
const COLUMNS: [&str; 9] =
    ["id", "subject_kind", "subject_id", "client", "service", "purpose", "granted_at", "valid_until", "revoked_at"];

fn consent_select() -> sea_query::SelectStatement {
    Query::select().columns(COLUMNS).from("consents").to_owned()
}

/// A consent about to be given.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub client: ClientId,
    pub service: ServiceId,
    pub purpose: String,
    pub valid_until: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

impl Store {
    /// Records a consent. The client and the service must be in the exchange directory.
    pub async fn grant_consent(&self, new: &NewConsent, actor: &Actor) -> Result<Consent> {
        // Microseconds: what both backends store, so the instant returned is the one kept.
        let now = Utc::now().trunc_subsecs(6);
        check_terms(&new.purpose, new.valid_until, now).map_err(StoreError::Invalid)?;
        let mut tx = self.db.begin_write().await?;
        let unknown = |what: String| {
            move |e: StoreError| match e {
                StoreError::NotFound => StoreError::Invalid(format!("{what} is not in the exchange directory")),
                e => e,
            }
        };
        Self::service_row_id(&mut tx, &new.service).await.map_err(unknown(format!("service {}", new.service)))?;
        match &new.client.subsystem {
            Some(_) => Self::subsystem_row_id(&mut tx, &new.client).await.map(|_| ()),
            None => Self::member_row_id(&mut tx, &new.client.member).await.map(|_| ()),
        }
        .map_err(unknown(format!("client {}", new.client)))?;
        let row: IdRow = tx
            .fetch_one(
                &Query::insert()
                    .into_table("consents")
                    .columns(COLUMNS[1..].iter().copied().chain(["granted_by"]))
                    .values_panic([
                        new.subject_kind.as_str().into(),
                        new.subject_id.clone().into(),
                        new.client.to_string().into(),
                        new.service.to_string().into(),
                        new.purpose.trim().into(),
                        now.into(),
                        new.valid_until.into(),
                        Option::<DateTime<Utc>>::None.into(),
                        actor.user_id.into(),
                    ])
                    .returning_col("id")
                    .to_owned(),
            )
            .await?;
        let detail = json!({"id": row.id, "client": new.client.to_string(), "service": new.service.to_string(),
            "purpose": new.purpose.trim(), "valid_until": new.valid_until});
        audit(&mut tx, actor, "consent.grant", "consent", &row.id.to_string(), None, None, &detail, now).await?;
        tx.commit().await?;
        Ok(Consent {
            id: row.id,
            subject_kind: new.subject_kind.as_str().into(),
            subject_id: new.subject_id.clone(),
            client: new.client.to_string(),
            service: new.service.to_string(),
            purpose: new.purpose.trim().into(),
            granted_at: now,
            valid_until: new.valid_until,
            revoked_at: None,
        })
    }

    /// A subject's consents, newest first.
    pub async fn consents_of(&self, kind: SubjectKind, subject_id: &str) -> Result<Vec<Consent>> {
        self.db
            .fetch_all(
                &consent_select()
                    .and_where(Expr::col("subject_kind").eq(kind.as_str()))
                    .and_where(Expr::col("subject_id").eq(subject_id))
                    .order_by("id", Order::Desc)
                    .to_owned(),
            )
            .await
    }

    /// Revokes one of the subject's consents now. Revoking a revoked consent changes nothing;
    /// another subject's consent is not found.
    pub async fn revoke_consent(&self, kind: SubjectKind, subject_id: &str, id: i64, actor: &Actor) -> Result<Consent> {
        let now = Utc::now().trunc_subsecs(6);
        let mut tx = self.db.begin_write().await?;
        let mut consent: Consent = tx
            .fetch_optional(
                &consent_select()
                    .and_where(Expr::col("id").eq(id))
                    .and_where(Expr::col("subject_kind").eq(kind.as_str()))
                    .and_where(Expr::col("subject_id").eq(subject_id))
                    .to_owned(),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        if consent.revoked_at.is_some() {
            tx.rollback().await?;
            return Ok(consent);
        }
        tx.execute(
            &Query::update()
                .table("consents")
                .value("revoked_at", now)
                .and_where(Expr::col("id").eq(id))
                .and_where(Expr::col("revoked_at").is_null())
                .to_owned(),
        )
        .await?;
        audit(&mut tx, actor, "consent.revoke", "consent", &id.to_string(), None, None, &json!({"id": id}), now)
            .await?;
        tx.commit().await?;
        consent.revoked_at = Some(now);
        Ok(consent)
    }

    /// The consent that lets `client` read the subject's data from `service` at `at`, if any:
    /// what a provider checks before answering a read that needs consent.
    pub async fn effective_consent(
        &self,
        kind: SubjectKind,
        subject_id: &str,
        client: &ClientId,
        service: &ServiceId,
        at: DateTime<Utc>,
    ) -> Result<Option<Consent>> {
        let rows: Vec<Consent> = self
            .db
            .fetch_all(
                &consent_select()
                    .and_where(Expr::col("subject_kind").eq(kind.as_str()))
                    .and_where(Expr::col("subject_id").eq(subject_id))
                    .and_where(Expr::col("service").eq(service.to_string()))
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().find(|c| {
            c.validity().effective_at(at) && ClientId::parse(&c.client).is_ok_and(|granted| covers(&granted, client))
        }))
    }
}
