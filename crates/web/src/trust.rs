//! The trust service: Sen's certificate authority, seals and personal signing keys,
//! the built-in time-stamping authority, batched time-stamping of every signature,
//! the Merkle log's sequencer and checkpoints, and verification for anyone.
//!
//! Pure rules live in `sen-trust`; rows in `sen-store`. This module decides *when*:
//! which key signs what, when a certificate is enrolled, rotated or revoked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Datelike, FixedOffset, Utc};
use rand::Rng;
use sen_store::Store;
use sen_store::dossiers::Actor;
use sen_store::log::Checkpoint;
use sen_store::trust::{CertRow, IssuedResult, NewCert, RecordSigner, ResultRow, Signed};
use sen_trust::batch::{self, BatchStamp};
use sen_trust::cert::{self, CertKind, Issuer, PublicUrls, Revocation, RevocationReason, Subject};
use sen_trust::der::{Decode, Encode};
use sen_trust::keys::Vault;
use sen_trust::verify::{Anchors, Verdict};
use sen_trust::{Certificate, SigningKey, cades, jades, tsa};
use sen_trust::{cms, const_oid};
use serde_json::{Value, json};

use crate::error::AppError;

type Result<T> = std::result::Result<T, AppError>;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// The name under which Sen's CA issues.
pub const CA_ORGANIZATION: &str = "Sen - Nền tảng Chính phủ số";
/// Signatures time-stamped per token at most.
pub const STAMP_BATCH: u64 = 4_096;

/// What a gateway's operator asks the CA to certify.
pub struct GatewayEnrolment {
    pub owner: sen_exchange::MemberId,
    pub code: String,
    /// `https://host:port` of its server proxy; the host goes into the TLS certificate.
    pub address: String,
    pub serves: Vec<sen_exchange::ClientId>,
    /// The TLS key (P-256).
    pub tls_public_key: cert::Spki,
    /// The message-signing key (Ed25519).
    pub message_public_key: [u8; 32],
}

/// The certificates issued to a gateway, as PEM: its TLS chain, its message certificate
/// and Sen's root.
pub struct EnrolledGateway {
    pub tls_chain_pem: String,
    pub message_pem: String,
    pub root_pem: String,
}

/// A key with its certificate chain (signer first, then the issuing CA).
#[derive(Clone)]
pub struct Loaded {
    pub key: SigningKey,
    pub chain: Vec<Certificate>,
    pub serial: String,
}

pub struct TrustService {
    store: Store,
    vault: Vault,
    pub urls: PublicUrls,
    keys: Mutex<HashMap<i64, SigningKey>>,
    personal: RwLock<HashMap<i64, Loaded>>,
    anchors: RwLock<Arc<Anchors>>,
}

impl std::fmt::Debug for TrustService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustService").field("urls", &self.urls).finish_non_exhaustive()
    }
}

fn subject(cn: &str, unit: Option<&str>) -> Subject {
    Subject { common_name: cn.to_string(), organization: CA_ORGANIZATION.to_string(), unit: unit.map(str::to_string) }
}

fn ca_actor() -> Actor {
    Actor::system("Sen CA")
}

/// A short code people can type: 12 Crockford base-32 characters in groups of four.
pub fn verification_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::thread_rng();
    let chars: Vec<char> = (0..12).map(|_| ALPHABET[rng.gen_range(0..32)] as char).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

impl TrustService {
    /// `sen ca init`: a new data key under `passphrase`, a root CA, an issuing CA, the
    /// time-stamping authority and the log's key, and the first CRLs.
    pub async fn init(store: &Store, passphrase: &str, urls: PublicUrls) -> Result<TrustService> {
        Self::init_with_cost(store, passphrase, urls, 15).await
    }

    /// As [`TrustService::init`] with another scrypt cost for the passphrase (tests).
    pub async fn init_with_cost(store: &Store, passphrase: &str, urls: PublicUrls, log_n: u8) -> Result<TrustService> {
        if store.vault().await?.is_some() {
            return Err(AppError::Conflict {
                code: "ca_exists",
                detail: "the certificate authority is already initialised".into(),
                state: None,
                version: None,
            });
        }
        let (vault, wrapped) =
            Vault::create_with_cost(passphrase, log_n).map_err(|e| AppError::bad("weak_passphrase", e.to_string()))?;
        store.put_vault(&wrapped).await?;
        let service = TrustService::with_vault(store.clone(), vault, urls);
        let now = Utc::now();
        let root_key = sen_trust::keys::generate();
        let root = cert::issue_root(&subject("Sen Root CA", None), &root_key, now).map_err(internal)?;
        service.record(CertKind::Root, &root, &root_key, None, None, None).await?;
        let issuing_key = sen_trust::keys::generate();
        let issuing = cert::issue(
            CertKind::Issuing,
            &subject("Sen Issuing CA 1", None),
            issuing_key.verifying_key(),
            Some(Issuer { cert: &root, key: &root_key }),
            now,
            &service.urls,
        )
        .map_err(internal)?;
        service.record(CertKind::Issuing, &issuing, &issuing_key, Some(&root), None, None).await?;
        service.issue(CertKind::Tsa, &subject("Sen Time-Stamping Authority", None), None, None).await?;
        service.issue(CertKind::Log, &subject("Sen Transparency Log", None), None, None).await?;
        service.publish_crls().await?;
        service.refresh_anchors().await?;
        Ok(service)
    }

    /// Opens the CA of an existing database; `None` if `sen ca init` never ran.
    pub async fn open(store: &Store, passphrase: &str, urls: PublicUrls) -> Result<Option<TrustService>> {
        let Some(wrapped) = store.vault().await? else { return Ok(None) };
        let vault = Vault::open(passphrase, &wrapped).map_err(|e| AppError::bad("wrong_passphrase", e.to_string()))?;
        let service = TrustService::with_vault(store.clone(), vault, urls);
        service.refresh_anchors().await?;
        Ok(Some(service))
    }

    fn with_vault(store: Store, vault: Vault, urls: PublicUrls) -> Self {
        TrustService {
            store,
            vault,
            urls,
            keys: Mutex::new(HashMap::new()),
            personal: RwLock::new(HashMap::new()),
            anchors: RwLock::new(Arc::new(Anchors::default())),
        }
    }

    async fn record(
        &self,
        kind: CertKind,
        c: &Certificate,
        key: &SigningKey,
        issuer: Option<&Certificate>,
        agency_id: Option<i64>,
        user_id: Option<i64>,
    ) -> Result<CertRow> {
        let sealed = self.vault.seal(key).map_err(internal)?;
        let key_id = self.store.insert_key(&sealed).await?;
        let facts = cert::facts(c).map_err(internal)?;
        let new = NewCert {
            serial: facts.serial.clone(),
            kind: kind.as_str().to_string(),
            agency_id,
            user_id,
            subject: facts.subject,
            der: c.to_der().map_err(internal)?,
            key_id,
            issuer_serial: issuer.map(cert::serial_hex),
            not_before: facts.not_before,
            not_after: facts.not_after,
        };
        self.store.insert_cert(&new, &ca_actor()).await?;
        self.keys.lock().expect("key cache").insert(key_id, key.clone());
        Ok(self.store.cert_by_serial(&facts.serial).await?)
    }

    async fn key_of(&self, row: &CertRow) -> Result<SigningKey> {
        if let Some(k) = self.keys.lock().expect("key cache").get(&row.key_id) {
            return Ok(k.clone());
        }
        let sealed = self.store.sealed_key(row.key_id).await?;
        let key = self.vault.unseal(&sealed).map_err(internal)?;
        self.keys.lock().expect("key cache").insert(row.key_id, key.clone());
        Ok(key)
    }

    fn parse(row: &CertRow) -> Result<Certificate> {
        Certificate::from_der(&row.der).map_err(internal)
    }

    /// The active platform certificate of `kind` (issuing CA, TSA, log) with its key and chain.
    pub async fn platform(&self, kind: CertKind) -> Result<Loaded> {
        let row =
            self.store.active_cert(kind.as_str(), None, None).await?.ok_or_else(|| {
                AppError::Internal(format!("no active {} certificate: run `sen ca init`", kind.as_str()))
            })?;
        self.loaded(&row).await
    }

    async fn loaded(&self, row: &CertRow) -> Result<Loaded> {
        let c = Self::parse(row)?;
        let mut chain = vec![c];
        if let Some(issuer) = &row.issuer_serial {
            let issuer_row = self.store.cert_by_serial(issuer).await?;
            if issuer_row.kind != CertKind::Root.as_str() {
                chain.push(Self::parse(&issuer_row)?);
            }
        }
        Ok(Loaded { key: self.key_of(row).await?, chain, serial: row.serial.clone() })
    }

    /// Issues a certificate of `kind` under the active issuing CA.
    pub async fn issue(
        &self,
        kind: CertKind,
        subject: &Subject,
        agency_id: Option<i64>,
        user_id: Option<i64>,
    ) -> Result<CertRow> {
        let issuing = self.platform(CertKind::Issuing).await?;
        let key = sen_trust::keys::generate();
        let c = cert::issue(
            kind,
            subject,
            key.verifying_key(),
            Some(Issuer { cert: &issuing.chain[0], key: &issuing.key }),
            Utc::now(),
            &self.urls,
        )
        .map_err(internal)?;
        self.record(kind, &c, &key, Some(&issuing.chain[0]), agency_id, user_id).await
    }

    /// The agency's active seal, enrolled on first use.
    pub async fn seal(&self, agency_id: i64) -> Result<Loaded> {
        if let Some(row) = self.store.active_cert(CertKind::Seal.as_str(), Some(agency_id), None).await? {
            return self.loaded(&row).await;
        }
        let agency = self.store.agency(agency_id).await?;
        let row = self
            .issue(
                CertKind::Seal,
                &Subject {
                    common_name: agency.name.clone(),
                    organization: agency.name.clone(),
                    unit: Some(agency.code.clone()),
                },
                Some(agency_id),
                None,
            )
            .await?;
        self.loaded(&row).await
    }

    /// Replaces an agency's seal: the old one is retired (not revoked), so everything it
    /// signed stays valid.
    pub async fn rotate_seal(&self, agency_id: i64, actor: &Actor) -> Result<CertRow> {
        if let Some(old) = self.store.active_cert(CertKind::Seal.as_str(), Some(agency_id), None).await? {
            self.store.retire_cert(&old.serial, actor).await?;
        }
        let loaded = self.seal(agency_id).await?;
        Ok(self.store.cert_by_serial(&loaded.serial).await?)
    }

    /// The official's personal signing certificate, enrolled on first use and kept in
    /// memory so that work records are signed without a database read.
    pub async fn personal(&self, user_id: i64) -> Result<Loaded> {
        if let Some(l) = self.personal.read().expect("personal cache").get(&user_id) {
            return Ok(l.clone());
        }
        let row = match self.store.active_cert(CertKind::Personal.as_str(), None, Some(user_id)).await? {
            Some(row) => row,
            None => {
                let user = self.store.user(user_id).await?;
                self.issue(
                    CertKind::Personal,
                    &Subject {
                        common_name: user.display_name.clone(),
                        organization: CA_ORGANIZATION.to_string(),
                        unit: Some(user.username.clone()),
                    },
                    None,
                    Some(user_id),
                )
                .await?
            }
        };
        let loaded = self.loaded(&row).await?;
        self.personal.write().expect("personal cache").insert(user_id, loaded.clone());
        Ok(loaded)
    }

    /// Revokes a certificate, publishes the new CRL and forgets cached keys.
    pub async fn revoke(&self, serial: &str, reason: RevocationReason, actor: &Actor) -> Result<CertRow> {
        let row = self.store.revoke_cert(serial, reason.as_str(), Utc::now(), actor).await?;
        if let Some(user) = row.user_id {
            self.personal.write().expect("personal cache").remove(&user);
        }
        self.publish_crls().await?;
        self.refresh_anchors().await?;
        Ok(row)
    }

    /// Signs new CRLs for the root and every issuing CA.
    pub async fn publish_crls(&self) -> Result<()> {
        let revoked = self.store.revoked_certs().await?;
        let mut issuers = self.store.certs_of_kind(CertKind::Root.as_str()).await?;
        issuers.extend(self.store.certs_of_kind(CertKind::Issuing.as_str()).await?);
        let now = Utc::now();
        for issuer in issuers.iter().filter(|i| i.status != "revoked" || i.kind == "issuing") {
            let Ok(loaded) = self.loaded(issuer).await else { continue };
            let list: Vec<Revocation> = revoked
                .iter()
                .filter(|r| r.issuer_serial.as_deref() == Some(issuer.serial.as_str()))
                .map(|r| Revocation {
                    serial_hex: r.serial.clone(),
                    at: r.revoked_at.unwrap_or(now),
                    reason: r
                        .revocation_reason
                        .as_deref()
                        .and_then(RevocationReason::parse)
                        .unwrap_or(RevocationReason::Unspecified),
                })
                .collect();
            let number = self.store.latest_crl(&issuer.serial).await?.map(|c| c.number + 1).unwrap_or(1);
            let crl = cert::crl(&Issuer { cert: &loaded.chain[0], key: &loaded.key }, &list, number as u64, now)
                .map_err(internal)?;
            self.store.insert_crl(&issuer.serial, number, &crl.to_der().map_err(internal)?, now).await?;
        }
        Ok(())
    }

    /// The current CRL (DER) of the root (`root`) or the active issuing CA; a fresh one
    /// is signed when the last is more than a day old.
    pub async fn crl(&self, root: bool) -> Result<Vec<u8>> {
        let kind = if root { CertKind::Root } else { CertKind::Issuing };
        let issuer = self
            .store
            .active_cert(kind.as_str(), None, None)
            .await?
            .ok_or(AppError::NotFound("certificate authority"))?;
        if let Some(c) = self.store.latest_crl(&issuer.serial).await?
            && Utc::now() - c.this_update < chrono::Duration::days(1)
        {
            return Ok(c.der);
        }
        self.publish_crls().await?;
        Ok(self.store.latest_crl(&issuer.serial).await?.ok_or(AppError::NotFound("CRL"))?.der)
    }

    /// Certifies an exchange gateway's two public keys and registers the gateway in the
    /// directory, in that order: a gateway exists in the directory only with certificates.
    /// The private keys never reach the CA.
    pub async fn enrol_gateway(&self, enrolment: &GatewayEnrolment, actor: &Actor) -> Result<EnrolledGateway> {
        let directory = self.store.exchange_directory().await?;
        let member = directory.member(&enrolment.owner).ok_or(AppError::NotFound("exchange member"))?;
        let (host, _) = sen_store::exchange::gateway_host_port(&enrolment.address)
            .map_err(|e| AppError::bad("invalid_address", e.to_string()))?;
        let issuing = self.platform(CertKind::Issuing).await?;
        let subject = Subject {
            common_name: format!("{}/{}", enrolment.owner, enrolment.code),
            organization: member.name.clone(),
            unit: Some(enrolment.owner.code.clone()),
        };
        let now = Utc::now();
        let issuer = || Some(Issuer { cert: &issuing.chain[0], key: &issuing.key });
        let tls = cert::issue_for(
            CertKind::Gateway,
            &subject,
            enrolment.tls_public_key.clone(),
            &[cert::AltName::of_host(&host)],
            issuer(),
            now,
            &self.urls,
        )
        .map_err(|e| AppError::bad("invalid_key", e.to_string()))?;
        let message_subject = Subject { common_name: format!("{} (message signing)", subject.common_name), ..subject };
        let spki = cert::ed25519_spki(&enrolment.message_public_key).map_err(internal)?;
        let message = cert::issue_for(CertKind::Message, &message_subject, spki, &[], issuer(), now, &self.urls)
            .map_err(|e| AppError::bad("invalid_key", e.to_string()))?;
        let tls_der = tls.to_der().map_err(internal)?;
        let message_der = message.to_der().map_err(internal)?;
        self.store
            .add_exchange_gateway(
                &sen_store::exchange::GatewayInput {
                    owner: enrolment.owner.clone(),
                    code: enrolment.code.clone(),
                    address: enrolment.address.clone(),
                    tls_cert: tls_der,
                    message_cert: message_der,
                    serves: enrolment.serves.clone(),
                },
                actor,
            )
            .await?;
        let root = Certificate::from_der(&self.ca_certificate(true).await?).map_err(internal)?;
        let pem = |c: &Certificate| cert::to_pem(c).map_err(internal);
        Ok(EnrolledGateway {
            tls_chain_pem: format!("{}{}", pem(&tls)?, pem(&issuing.chain[0])?),
            message_pem: pem(&message)?,
            root_pem: pem(&root)?,
        })
    }

    /// The CA certificate (DER) of the root or the active issuing CA.
    pub async fn ca_certificate(&self, root: bool) -> Result<Vec<u8>> {
        let kind = if root { CertKind::Root } else { CertKind::Issuing };
        Ok(self
            .store
            .active_cert(kind.as_str(), None, None)
            .await?
            .ok_or(AppError::NotFound("certificate authority"))?
            .der)
    }

    /// Reloads roots, CAs and revocations for verification.
    pub async fn refresh_anchors(&self) -> Result<()> {
        *self.anchors.write().expect("anchors") = Arc::new(anchors_from(&self.store).await?);
        Ok(())
    }

    pub fn anchors(&self) -> Arc<Anchors> {
        self.anchors.read().expect("anchors").clone()
    }

    /// The verdict on an uploaded file (and the signed file, for a detached `.p7s`).
    pub fn verify(&self, file: &[u8], content: Option<&[u8]>) -> Verdict {
        sen_trust::verify::verify(sen_trust::verify::detect(file, content), &self.anchors(), Utc::now())
    }

    /// Answers an RFC 3161 request (DER in, DER out); refusals are `TimeStampResp`s too.
    pub async fn time_stamp(&self, request: &[u8]) -> Result<Vec<u8>> {
        let req = match tsa::parse_request(request) {
            Ok(r) => r,
            Err(why) => return tsa::refused(why).map_err(internal),
        };
        let now = Utc::now();
        let serial = self.store.next_timestamp_serial(&req.hashed_message, now, 1).await?;
        let tsa_key = self.platform(CertKind::Tsa).await?;
        let token = tsa::stamp(&req, serial, now, &tsa_key.key, &tsa_key.chain).map_err(internal)?;
        tsa::granted(&token).map_err(internal)
    }

    /// Time-stamps signatures still waiting, one token per batch. Returns how many.
    pub async fn stamp_pending(&self) -> Result<usize> {
        let pending = self.store.unstamped_signatures(STAMP_BATCH).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let tsa_key = self.platform(CertKind::Tsa).await?;
        let now = Utc::now();
        let values: Vec<&[u8]> = pending.iter().map(|s| s.value.as_slice()).collect();
        let leaves: Vec<_> = values.iter().map(|v| sen_trust::merkle::leaf_hash(v)).collect();
        let root = sen_trust::merkle::root_of(&leaves);
        let serial = self.store.next_timestamp_serial(&root, now, pending.len() as i64).await?;
        let stamps = batch::stamp(&values, serial, now, &tsa_key.key, &tsa_key.chain).map_err(internal)?;
        let rows: Vec<(i64, String)> = pending
            .iter()
            .zip(stamps)
            .map(|(s, st)| (s.id, serde_json::to_string(&st).expect("stamp serialises")))
            .collect();
        self.store.set_stamps(&rows).await?;
        Ok(rows.len())
    }

    /// Signs a checkpoint of the log if it grew since the last one, time-stamped.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        let (size, root) = self.store.log_head().await?;
        let last = self.store.latest_checkpoint().await?;
        if size == 0 || last.as_ref().is_some_and(|c| c.size as u64 >= size) {
            return Ok(None);
        }
        let now = Utc::now();
        let log = self.platform(CertKind::Log).await?;
        let body = json!({
            "origin": self.urls.base.trim_end_matches('/'),
            "size": size,
            "root": B64.encode(root),
            "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        let signed = jades::sign(body.to_string().as_bytes(), &log.key, &log.chain, now).map_err(internal)?;
        let serial = self.store.next_timestamp_serial(&root, now, 1).await?;
        let tsa_key = self.platform(CertKind::Tsa).await?;
        let req = tsa::Request {
            hash_algorithm: const_oid::db::rfc5912::ID_SHA_256,
            hashed_message: root.to_vec(),
            nonce: None,
            cert_req: true,
        };
        let token = tsa::stamp(&req, serial, now, &tsa_key.key, &tsa_key.chain).map_err(internal)?;
        let c = Checkpoint {
            size: size as i64,
            root: root.to_vec(),
            at: now,
            signed: signed.to_json(),
            tst: Some(token.to_der().map_err(internal)?),
        };
        match self.store.insert_checkpoint(&c).await {
            Ok(()) => Ok(Some(c)),
            // Another node signed the same size first.
            Err(e) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Signs the result of a dossier with its agency's seal: the JSON document as a
    /// JAdES JWS, the printable PDF with a detached CAdES signature.
    pub async fn sign_result(
        &self,
        agency_id: i64,
        document: Value,
        sheet: sen_pdf::ResultSheet,
    ) -> Result<IssuedResult> {
        let seal = self.seal(agency_id).await?;
        let now = Utc::now();
        let jws = jades::sign(document.to_string().as_bytes(), &seal.key, &seal.chain, now).map_err(internal)?;
        let pdf = tokio::task::spawn_blocking(move || sen_pdf::render(&sheet)).await.map_err(internal)?;
        let info = cades::sign(
            cades::CmsContent {
                content_type: const_oid::db::rfc5911::ID_DATA,
                bytes: &pdf,
                embed: false,
                with_certificates: true,
            },
            &seal.key,
            &seal.chain,
            Some(now),
        )
        .map_err(internal)?;
        let p7s = info.to_der().map_err(internal)?;
        let cms_signature = cades::verify(&p7s, Some(&pdf)).map_err(internal)?.signature;
        let code = document["verification_code"].as_str().unwrap_or_default().to_string();
        Ok(IssuedResult {
            verification_code: code,
            document,
            jws: Signed {
                object: jws.to_json().into_bytes(),
                signature: jws.signature_bytes().map_err(internal)?,
                signer_serial: seal.serial.clone(),
            },
            pdf,
            p7s: Signed { object: p7s, signature: cms_signature, signer_serial: seal.serial },
            issued_at: now,
        })
    }

    async fn stamp(&self, signature_id: i64) -> Result<Option<BatchStamp>> {
        Ok(self.store.stamp_of(signature_id).await?.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// The result JWS as delivered: with its batched time-stamp once it has one.
    pub async fn result_jws(&self, r: &ResultRow) -> Result<String> {
        let jws = jades::Jws::parse(r.jws.as_bytes()).map_err(internal)?;
        Ok(match self.stamp(r.jws_signature_id).await? {
            Some(s) => jws.with_batch_stamp(&s).to_json(),
            None => jws.to_json(),
        })
    }

    /// The detached CMS signature of the result PDF, with its batched time-stamp.
    pub async fn result_p7s(&self, r: &ResultRow) -> Result<Vec<u8>> {
        let Some(stamp) = self.stamp(r.cms_signature_id).await? else { return Ok(r.p7s.clone()) };
        let info = cms::content_info::ContentInfo::from_der(&r.p7s).map_err(internal)?;
        let value = batch::as_cms_attribute(&stamp).map_err(internal)?;
        cades::set_unsigned_attribute(&info, cades::ID_SEN_BATCH_STAMP, value)
            .map_err(internal)?
            .to_der()
            .map_err(internal)
    }

    /// A work record's JWS with its batched time-stamp.
    pub async fn work_record_jws(&self, jws_text: &str, signature_id: i64) -> Result<String> {
        let jws = jades::Jws::parse(jws_text.as_bytes()).map_err(internal)?;
        Ok(match self.stamp(signature_id).await? {
            Some(s) => jws.with_batch_stamp(&s).to_json(),
            None => jws.to_json(),
        })
    }

    /// One round of the background jobs: sequence the log, stamp signatures.
    pub async fn run_jobs(&self) -> Result<(u64, usize)> {
        let mut logged = 0;
        loop {
            let n = self.store.sequence_log(sen_store::log::SEQUENCE_BATCH).await?;
            logged += n;
            if n < sen_store::log::SEQUENCE_BATCH {
                break;
            }
        }
        let mut stamped = 0;
        loop {
            let n = self.stamp_pending().await?;
            stamped += n;
            if (n as u64) < STAMP_BATCH {
                break;
            }
        }
        Ok((logged, stamped))
    }
}

impl RecordSigner for TrustService {
    fn sign_record(&self, signer_user_id: i64, record: &[u8]) -> std::result::Result<Signed, String> {
        let loaded = self
            .personal
            .read()
            .expect("personal cache")
            .get(&signer_user_id)
            .cloned()
            .ok_or_else(|| "the official has no signing certificate loaded".to_string())?;
        let jws = jades::sign(record, &loaded.key, &loaded.chain, Utc::now()).map_err(|e| e.to_string())?;
        Ok(Signed {
            signature: jws.signature_bytes().map_err(|e| e.to_string())?,
            object: jws.to_json().into_bytes(),
            signer_serial: loaded.serial,
        })
    }
}

/// "Hà Nội, ngày 27 tháng 11 năm 2026" for the result sheet.
pub fn place_and_date(place: &str, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&FixedOffset::east_opt(7 * 3600).expect("UTC+7"));
    format!("{place}, ngày {} tháng {} năm {}", local.day(), local.month(), local.year())
}

/// A thumbprint for display: the first 16 hex digits of the certificate's SHA-256.
pub fn thumbprint(der_bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(der_bytes)[..8])
}

/// What a verifier trusts, read from the database: no key is needed.
pub async fn anchors_from(store: &Store) -> Result<Anchors> {
    let parse_all = |rows: Vec<CertRow>| rows.iter().filter_map(|r| Certificate::from_der(&r.der).ok()).collect();
    let roots = parse_all(store.certs_of_kind(CertKind::Root.as_str()).await?);
    let cas = parse_all(store.certs_of_kind(CertKind::Issuing.as_str()).await?);
    let revoked = store
        .revoked_certs()
        .await?
        .into_iter()
        .filter_map(|r| {
            let reason = r.revocation_reason.as_deref().and_then(RevocationReason::parse)?;
            Some((r.serial, (r.revoked_at?, reason)))
        })
        .collect();
    Ok(Anchors::new(roots, cas, revoked))
}

/// The outcome of recomputing the whole log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogReport {
    pub entries: u64,
    pub checkpoints: usize,
    pub ok: bool,
    /// The first entry whose recomputed leaf differs from the stored tree, if any.
    pub first_bad_entry: Option<u64>,
    pub problems: Vec<String>,
}

/// `sen log verify`: recomputes every leaf from the stored entries, the tree from the
/// leaves, and checks every checkpoint's root, signature and time-stamp.
pub async fn verify_log(store: &Store) -> Result<LogReport> {
    let anchors = anchors_from(store).await?;
    let checkpoints = store.log_checkpoints_all().await?;
    let (size, _) = store.log_head().await?;
    let mut report =
        LogReport { entries: size, checkpoints: checkpoints.len(), ok: true, first_bad_entry: None, problems: vec![] };
    let mut frontier = sen_trust::merkle::Frontier::new();
    let mut next_checkpoint = checkpoints.iter().peekable();
    let mut seq = 0u64;
    const CHUNK: u64 = 10_000;
    while seq < size {
        let entries = store.log_entries(seq, CHUNK).await?;
        let stored = store.log_leaves(seq, CHUNK).await?;
        if entries.is_empty() {
            break;
        }
        for (e, (idx, leaf)) in entries.iter().zip(stored.iter()) {
            let recomputed = sen_trust::merkle::leaf_hash(e.body.as_bytes());
            if e.seq as u64 != seq || *idx != seq {
                report.problems.push(format!("entry {seq} is missing"));
                report.first_bad_entry.get_or_insert(seq);
            } else if recomputed != *leaf {
                report.problems.push(format!("entry {seq} does not match its leaf hash (changed after logging)"));
                report.first_bad_entry.get_or_insert(seq);
            }
            frontier.append(recomputed);
            seq += 1;
            while let Some(c) = next_checkpoint.peek() {
                if c.size as u64 != seq {
                    break;
                }
                let c = next_checkpoint.next().expect("peeked");
                check_checkpoint(c, &frontier.root(), &anchors, &mut report);
            }
        }
    }
    for c in next_checkpoint {
        report.problems.push(format!("checkpoint at size {} is beyond the {} logged entries", c.size, size));
    }
    report.ok = report.problems.is_empty();
    Ok(report)
}

fn check_checkpoint(c: &Checkpoint, recomputed: &sen_trust::merkle::Hash, anchors: &Anchors, report: &mut LogReport) {
    if c.root.as_slice() != recomputed {
        report.problems.push(format!(
            "the entries up to {} do not give the root signed in the checkpoint at size {}",
            c.size, c.size
        ));
    }
    let verdict = sen_trust::verify::verify(sen_trust::verify::Input::Jws(c.signed.as_bytes()), anchors, c.at);
    let body_ok = verdict.payload.as_ref().is_some_and(|p| {
        p["size"].as_i64() == Some(c.size) && p["root"].as_str() == Some(B64.encode(&c.root).as_str())
    });
    if !verdict.valid || !body_ok {
        report
            .problems
            .push(format!("the signature of the checkpoint at size {} does not hold ({})", c.size, verdict.code));
    }
    match &c.tst {
        Some(t) => {
            if tsa::verify_token(t, Some(&c.root)).is_err() {
                report
                    .problems
                    .push(format!("the time-stamp of the checkpoint at size {} does not cover its root", c.size));
            }
        }
        None => report.problems.push(format!("the checkpoint at size {} has no time-stamp", c.size)),
    }
}
