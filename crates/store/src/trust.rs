//! Storage of the trust layer: the wrapped data key, sealed private keys, issued
//! certificates and their status, CRLs, signatures waiting for (or holding) their
//! batched time-stamp, time-stamp tokens, signed results and signed work records.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::{Value, json};

use crate::exec::Tx;
use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertRow {
    pub id: i64,
    pub serial: String,
    pub kind: String,
    pub agency_id: Option<i64>,
    pub user_id: Option<i64>,
    pub subject: String,
    pub der: Vec<u8>,
    pub key_id: i64,
    pub issuer_serial: Option<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub status: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

const CERT_COLUMNS: [&str; 15] = [
    "id",
    "serial",
    "kind",
    "agency_id",
    "user_id",
    "subject",
    "der",
    "key_id",
    "issuer_serial",
    "not_before",
    "not_after",
    "status",
    "revoked_at",
    "revocation_reason",
    "created_at",
];

#[derive(Debug, Clone)]
pub struct NewCert {
    pub serial: String,
    pub kind: String,
    pub agency_id: Option<i64>,
    pub user_id: Option<i64>,
    pub subject: String,
    pub der: Vec<u8>,
    pub key_id: i64,
    pub issuer_serial: Option<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// A signature made by Sen, with the signer's certificate serial.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The signed object as delivered (a JWS in JSON serialisation, or DER CMS).
    pub object: Vec<u8>,
    /// The signature value that the batched time-stamp covers.
    pub signature: Vec<u8>,
    pub signer_serial: String,
}

/// Signs officers' work records; the store calls it inside the transaction of the action.
pub trait RecordSigner: Send + Sync {
    /// Signs the canonical JSON of a work record for `signer_user_id`.
    fn sign_record(&self, signer_user_id: i64, record: &[u8]) -> std::result::Result<Signed, String>;
}

/// A result signed before the `IssueResult` transition, stored with it.
#[derive(Debug, Clone)]
pub struct IssuedResult {
    pub verification_code: String,
    pub document: Value,
    pub jws: Signed,
    pub pdf: Vec<u8>,
    pub p7s: Signed,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResultRow {
    pub dossier_id: i64,
    pub verification_code: String,
    pub document: String,
    pub jws: String,
    pub jws_signature_id: i64,
    pub pdf: Vec<u8>,
    pub pdf_sha256: String,
    pub p7s: Vec<u8>,
    pub cms_signature_id: i64,
    pub seal_serial: String,
    pub issued_at: DateTime<Utc>,
}

const RESULT_COLUMNS: [&str; 11] = [
    "dossier_id",
    "verification_code",
    "document",
    "jws",
    "jws_signature_id",
    "pdf",
    "pdf_sha256",
    "p7s",
    "cms_signature_id",
    "seal_serial",
    "issued_at",
];

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct WorkRecord {
    pub id: i64,
    pub dossier_id: i64,
    pub seq: i64,
    pub action: String,
    pub jws: String,
    pub record_sha256: String,
    pub signature_id: i64,
    pub signer_serial: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignatureRow {
    pub id: i64,
    pub value: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct StampRow {
    stamp: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TextRow {
    wrapped: String,
}

#[derive(sqlx::FromRow)]
struct BlobRow {
    sealed: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CrlRow {
    pub issuer_serial: String,
    pub number: i64,
    pub der: Vec<u8>,
    pub this_update: DateTime<Utc>,
}

/// Records a signature inside a transaction; returns its id.
pub(crate) async fn insert_signature(tx: &mut Tx, purpose: &str, s: &Signed, at: DateTime<Utc>) -> Result<i64> {
    let row: IdRow = tx
        .fetch_one(
            &Query::insert()
                .into_table("signatures")
                .columns(["purpose", "value", "signer_serial", "signed_at", "stamped"])
                .values_panic([
                    purpose.into(),
                    s.signature.clone().into(),
                    s.signer_serial.clone().into(),
                    at.into(),
                    false.into(),
                ])
                .returning_col("id")
                .to_owned(),
        )
        .await?;
    crate::log::enqueue(
        tx,
        &json!({
            "type": "signature.issued",
            "at": at,
            "purpose": purpose,
            "signature_id": row.id,
            "signer_serial": s.signer_serial,
            "signature_sha256": crate::dossiers::sha256_hex(&s.signature),
        }),
        at,
    );
    Ok(row.id)
}

fn cert_select() -> sea_query::SelectStatement {
    Query::select().columns(CERT_COLUMNS).from("certificates").to_owned()
}

impl Store {
    pub async fn vault(&self) -> Result<Option<String>> {
        let row: Option<TextRow> = self
            .db
            .fetch_optional(
                &Query::select().column("wrapped").from("trust_vault").and_where(Expr::col("id").eq(1)).to_owned(),
            )
            .await?;
        Ok(row.map(|r| r.wrapped))
    }

    /// Stores the wrapped data key; refuses a second one.
    pub async fn put_vault(&self, wrapped: &str) -> Result<()> {
        self.db
            .execute(
                &Query::insert()
                    .into_table("trust_vault")
                    .columns(["id", "wrapped", "created_at"])
                    .values_panic([1.into(), wrapped.into(), Utc::now().into()])
                    .to_owned(),
            )
            .await
            .map_err(|e| if e.is_unique_violation() { StoreError::Duplicate("the key vault".into()) } else { e })?;
        Ok(())
    }

    pub async fn insert_key(&self, sealed: &[u8]) -> Result<i64> {
        let row: IdRow = self
            .db
            .fetch_one(
                &Query::insert()
                    .into_table("trust_keys")
                    .columns(["sealed", "created_at"])
                    .values_panic([sealed.to_vec().into(), Utc::now().into()])
                    .returning_col("id")
                    .to_owned(),
            )
            .await?;
        Ok(row.id)
    }

    pub async fn sealed_key(&self, id: i64) -> Result<Vec<u8>> {
        let row: Option<BlobRow> = self
            .db
            .fetch_optional(
                &Query::select().column("sealed").from("trust_keys").and_where(Expr::col("id").eq(id)).to_owned(),
            )
            .await?;
        row.map(|r| r.sealed).ok_or(StoreError::NotFound)
    }

    /// Records an issued certificate (active) and logs the event.
    pub async fn insert_cert(&self, c: &NewCert, actor: &crate::dossiers::Actor) -> Result<i64> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let row: IdRow = tx
            .fetch_one(
                &Query::insert()
                    .into_table("certificates")
                    .columns([
                        "serial",
                        "kind",
                        "agency_id",
                        "user_id",
                        "subject",
                        "der",
                        "key_id",
                        "issuer_serial",
                        "not_before",
                        "not_after",
                        "status",
                        "created_at",
                    ])
                    .values_panic([
                        c.serial.clone().into(),
                        c.kind.clone().into(),
                        c.agency_id.into(),
                        c.user_id.into(),
                        c.subject.clone().into(),
                        c.der.clone().into(),
                        c.key_id.into(),
                        c.issuer_serial.clone().into(),
                        c.not_before.into(),
                        c.not_after.into(),
                        "active".into(),
                        now.into(),
                    ])
                    .returning_col("id")
                    .to_owned(),
            )
            .await?;
        let detail = json!({"kind": c.kind, "serial": c.serial, "agency_id": c.agency_id, "user_id": c.user_id,
            "not_after": c.not_after});
        crate::dossiers::audit(
            &mut tx,
            actor,
            "certificate.issued",
            "certificate",
            &c.serial,
            None,
            None,
            &detail,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(row.id)
    }

    pub async fn cert_by_serial(&self, serial: &str) -> Result<CertRow> {
        self.db
            .fetch_optional(&cert_select().and_where(Expr::col("serial").eq(serial)).to_owned())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Certificates of a kind, newest first (all statuses).
    pub async fn certs_of_kind(&self, kind: &str) -> Result<Vec<CertRow>> {
        self.db
            .fetch_all(&cert_select().and_where(Expr::col("kind").eq(kind)).order_by("id", Order::Desc).to_owned())
            .await
    }

    /// The active certificate of a kind for an agency or a user (or the platform: both None).
    pub async fn active_cert(
        &self,
        kind: &str,
        agency_id: Option<i64>,
        user_id: Option<i64>,
    ) -> Result<Option<CertRow>> {
        let mut q = cert_select()
            .and_where(Expr::col("kind").eq(kind))
            .and_where(Expr::col("status").eq("active"))
            .order_by("id", Order::Desc)
            .limit(1)
            .to_owned();
        match agency_id {
            Some(a) => q.and_where(Expr::col("agency_id").eq(a)),
            None => q.and_where(Expr::col("agency_id").is_null()),
        };
        match user_id {
            Some(u) => q.and_where(Expr::col("user_id").eq(u)),
            None => q.and_where(Expr::col("user_id").is_null()),
        };
        self.db.fetch_optional(&q).await
    }

    /// Certificates of an agency or a user, newest first.
    pub async fn certs_of(&self, agency_id: Option<i64>, user_id: Option<i64>) -> Result<Vec<CertRow>> {
        let mut q = cert_select().order_by("id", Order::Desc).to_owned();
        if let Some(a) = agency_id {
            q.and_where(Expr::col("agency_id").eq(a));
        }
        if let Some(u) = user_id {
            q.and_where(Expr::col("user_id").eq(u));
        }
        self.db.fetch_all(&q).await
    }

    /// Marks an active certificate retired (superseded by rotation): its old signatures stay valid.
    pub async fn retire_cert(&self, serial: &str, actor: &crate::dossiers::Actor) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let n = tx
            .execute(
                &Query::update()
                    .table("certificates")
                    .value("status", "retired")
                    .and_where(Expr::col("serial").eq(serial))
                    .and_where(Expr::col("status").eq("active"))
                    .to_owned(),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        crate::dossiers::audit(
            &mut tx,
            actor,
            "certificate.retired",
            "certificate",
            serial,
            None,
            None,
            &json!({}),
            now,
        )
        .await?;
        tx.commit().await
    }

    /// Revokes a certificate from `at` on, with a reason. Revoking twice is refused.
    pub async fn revoke_cert(
        &self,
        serial: &str,
        reason: &str,
        at: DateTime<Utc>,
        actor: &crate::dossiers::Actor,
    ) -> Result<CertRow> {
        let mut tx = self.db.begin_write().await?;
        let n = tx
            .execute(
                &Query::update()
                    .table("certificates")
                    .value("status", "revoked")
                    .value("revoked_at", at)
                    .value("revocation_reason", reason)
                    .and_where(Expr::col("serial").eq(serial))
                    .and_where(Expr::col("status").ne("revoked"))
                    .to_owned(),
            )
            .await?;
        if n == 0 {
            let exists: Option<CertRow> =
                tx.fetch_optional(&cert_select().and_where(Expr::col("serial").eq(serial)).to_owned()).await?;
            return Err(match exists {
                Some(_) => StoreError::Invalid("the certificate is already revoked".into()),
                None => StoreError::NotFound,
            });
        }
        crate::dossiers::audit(
            &mut tx,
            actor,
            "certificate.revoked",
            "certificate",
            serial,
            None,
            Some(reason),
            &json!({"revoked_at": at}),
            Utc::now(),
        )
        .await?;
        let row: CertRow = tx.fetch_one(&cert_select().and_where(Expr::col("serial").eq(serial)).to_owned()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Every revoked certificate.
    pub async fn revoked_certs(&self) -> Result<Vec<CertRow>> {
        self.db
            .fetch_all(
                &cert_select().and_where(Expr::col("status").eq("revoked")).order_by("id", Order::Asc).to_owned(),
            )
            .await
    }

    pub async fn insert_crl(
        &self,
        issuer_serial: &str,
        number: i64,
        der: &[u8],
        this_update: DateTime<Utc>,
    ) -> Result<()> {
        self.db
            .execute(
                &Query::insert()
                    .into_table("crls")
                    .columns(["issuer_serial", "number", "der", "this_update"])
                    .values_panic([issuer_serial.into(), number.into(), der.to_vec().into(), this_update.into()])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    pub async fn latest_crl(&self, issuer_serial: &str) -> Result<Option<CrlRow>> {
        self.db
            .fetch_optional(
                &Query::select()
                    .columns(["issuer_serial", "number", "der", "this_update"])
                    .from("crls")
                    .and_where(Expr::col("issuer_serial").eq(issuer_serial))
                    .order_by("number", Order::Desc)
                    .limit(1)
                    .to_owned(),
            )
            .await
    }

    /// Reserves the serial number of a time-stamp token.
    pub async fn next_timestamp_serial(&self, imprint: &[u8], gen_time: DateTime<Utc>, batch_size: i64) -> Result<u64> {
        let row: IdRow = self
            .db
            .fetch_one(
                &Query::insert()
                    .into_table("timestamp_tokens")
                    .columns(["imprint", "gen_time", "batch_size"])
                    .values_panic([imprint.to_vec().into(), gen_time.into(), batch_size.into()])
                    .returning_col("id")
                    .to_owned(),
            )
            .await?;
        Ok(row.id as u64)
    }

    /// Signatures still waiting for a time-stamp, oldest first.
    pub async fn unstamped_signatures(&self, limit: u64) -> Result<Vec<SignatureRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["id", "value"])
                    .from("signatures")
                    .and_where(Expr::col("stamped").eq(false))
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// Stores the batch stamps of signatures (JSON), in one transaction.
    pub async fn set_stamps(&self, stamps: &[(i64, String)]) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        tx.lock(crate::Lock::Stamper).await?;
        for (id, stamp) in stamps {
            tx.execute(
                &Query::update()
                    .table("signatures")
                    .value("stamp", stamp.as_str())
                    .value("stamped", true)
                    .and_where(Expr::col("id").eq(*id))
                    .and_where(Expr::col("stamped").eq(false))
                    .to_owned(),
            )
            .await?;
        }
        tx.commit().await
    }

    /// The batch stamp (JSON) of a signature, once it has one.
    pub async fn stamp_of(&self, signature_id: i64) -> Result<Option<String>> {
        let row: Option<StampRow> = self
            .db
            .fetch_optional(
                &Query::select()
                    .column("stamp")
                    .from("signatures")
                    .and_where(Expr::col("id").eq(signature_id))
                    .to_owned(),
            )
            .await?;
        Ok(row.and_then(|r| r.stamp))
    }

    fn result_select() -> sea_query::SelectStatement {
        Query::select().columns(RESULT_COLUMNS).from("results").to_owned()
    }

    pub async fn result_of(&self, dossier_id: i64) -> Result<Option<ResultRow>> {
        self.db
            .fetch_optional(&Self::result_select().and_where(Expr::col("dossier_id").eq(dossier_id)).to_owned())
            .await
    }

    pub async fn result_by_code(&self, code: &str) -> Result<Option<ResultRow>> {
        self.db
            .fetch_optional(&Self::result_select().and_where(Expr::col("verification_code").eq(code)).to_owned())
            .await
    }

    pub async fn result_by_pdf(&self, sha256_hex: &str) -> Result<Option<ResultRow>> {
        self.db
            .fetch_optional(&Self::result_select().and_where(Expr::col("pdf_sha256").eq(sha256_hex)).to_owned())
            .await
    }

    pub async fn work_records(&self, dossier_id: i64) -> Result<Vec<WorkRecord>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns([
                        "id",
                        "dossier_id",
                        "seq",
                        "action",
                        "jws",
                        "record_sha256",
                        "signature_id",
                        "signer_serial",
                        "at",
                    ])
                    .from("work_records")
                    .and_where(Expr::col("dossier_id").eq(dossier_id))
                    .order_by("seq", Order::Asc)
                    .to_owned(),
            )
            .await
    }
}

/// Writes the signed result of an `IssueResult` inside its transaction.
pub(crate) async fn insert_result(tx: &mut Tx, dossier_id: i64, r: &IssuedResult) -> Result<()> {
    let jws_id = insert_signature(tx, "result.jws", &r.jws, r.issued_at).await?;
    let cms_id = insert_signature(tx, "result.cms", &r.p7s, r.issued_at).await?;
    tx.execute(
        &Query::insert()
            .into_table("results")
            .columns(RESULT_COLUMNS)
            .values_panic([
                dossier_id.into(),
                r.verification_code.clone().into(),
                r.document.to_string().into(),
                String::from_utf8_lossy(&r.jws.object).into_owned().into(),
                jws_id.into(),
                r.pdf.clone().into(),
                crate::dossiers::sha256_hex(&r.pdf).into(),
                r.p7s.object.clone().into(),
                cms_id.into(),
                r.jws.signer_serial.clone().into(),
                r.issued_at.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct LastRecord {
    seq: i64,
    record_sha256: String,
}

/// Signs and chains a work record inside the action's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_work_record(
    tx: &mut Tx,
    signer: &dyn RecordSigner,
    signer_user_id: i64,
    dossier_id: i64,
    dossier_code: &str,
    action: &str,
    content: Value,
    at: DateTime<Utc>,
) -> Result<()> {
    let last: Option<LastRecord> = tx
        .fetch_optional(
            &Query::select()
                .columns(["seq", "record_sha256"])
                .from("work_records")
                .and_where(Expr::col("dossier_id").eq(dossier_id))
                .order_by("seq", Order::Desc)
                .limit(1)
                .to_owned(),
        )
        .await?;
    let seq = last.as_ref().map(|l| l.seq + 1).unwrap_or(1);
    let mut record = json!({
        "type": "sen.work-record/v1",
        "dossier": dossier_code,
        "seq": seq,
        "action": action,
        "at": at,
        "previous": last.as_ref().map(|l| l.record_sha256.clone()),
    });
    if let (Some(obj), Value::Object(extra)) = (record.as_object_mut(), content) {
        obj.extend(extra);
    }
    let bytes = serde_json::to_vec(&record).expect("record serialises");
    let signed = signer.sign_record(signer_user_id, &bytes).map_err(StoreError::Invalid)?;
    let signature_id = insert_signature(tx, "work_record", &signed, at).await?;
    tx.execute(
        &Query::insert()
            .into_table("work_records")
            .columns(["dossier_id", "seq", "action", "jws", "record_sha256", "signature_id", "signer_serial", "at"])
            .values_panic([
                dossier_id.into(),
                seq.into(),
                action.into(),
                String::from_utf8_lossy(&signed.object).into_owned().into(),
                crate::dossiers::sha256_hex(&bytes).into(),
                signature_id.into(),
                signed.signer_serial.into(),
                at.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}
