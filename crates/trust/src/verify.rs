//! The verdict on a signed document, for anyone: which format, who signed, for
//! which agency, when (claimed and time-stamped), the certificate's status at that
//! time, and whether the content is intact. Never an error: anything unreadable is
//! a verdict with a reason code.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use x509_cert::Certificate;

use crate::cert::{self, CertFacts, RevocationReason};
use crate::{TrustError, batch, cades, jades};

/// What the verifier trusts: the roots, the CA certificates issued under them
/// (current and retired) and the revocations published in the CRLs.
#[derive(Debug, Clone, Default)]
pub struct Anchors {
    pub roots: Vec<Certificate>,
    pub cas: Vec<Certificate>,
    /// Serial (hex) → when and why.
    pub revoked: HashMap<String, (DateTime<Utc>, RevocationReason)>,
    /// Certificate links (child, issuer) already checked: a certificate's signature never
    /// changes, so each link costs one ECDSA verification per process, not per document.
    links: LinkCache,
}

#[derive(Debug, Clone, Default)]
struct LinkCache(Arc<Mutex<HashSet<Link>>>);

/// (SHA-256 of a certificate, SHA-256 of its issuer).
type Link = ([u8; 32], [u8; 32]);

impl Anchors {
    pub fn new(
        roots: Vec<Certificate>,
        cas: Vec<Certificate>,
        revoked: HashMap<String, (DateTime<Utc>, RevocationReason)>,
    ) -> Self {
        Anchors { roots, cas, revoked, links: LinkCache::default() }
    }

    /// Did `issuer` sign `cert`? Remembered once checked.
    fn link(&self, cert: &Certificate, issuer: &Certificate) -> bool {
        let (Ok(a), Ok(b)) = (cert::cert_sha256(cert), cert::cert_sha256(issuer)) else { return false };
        if self.links.0.lock().expect("link cache").contains(&(a, b)) {
            return true;
        }
        let ok = cert::signed_by(cert, issuer);
        if ok {
            let mut cache = self.links.0.lock().expect("link cache");
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert((a, b));
        }
        ok
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TimestampReport {
    pub time: DateTime<Utc>,
    pub authority: String,
    /// How many signatures the token covers.
    pub batch_size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateStatus {
    /// `valid`, `revoked`, `expired` or `not_yet_valid`, at `checked_at`.
    pub status: &'static str,
    /// The time of the check: the time-stamp if there is one, otherwise now.
    pub checked_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<&'static str>,
    pub not_after: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub valid: bool,
    /// `valid`, or why not: `not_signed`, `malformed`, `signature_invalid`,
    /// `content_changed`, `content_missing`, `unknown_issuer`, `wrong_key_usage`,
    /// `certificate_revoked`, `certificate_expired`, `certificate_not_yet_valid`,
    /// `timestamp_invalid`.
    pub code: &'static str,
    pub reason: Option<String>,
    /// `JAdES` or `CAdES`.
    pub format: Option<&'static str>,
    /// False when the content or the signature was changed.
    pub intact: bool,
    pub signer: Option<CertFacts>,
    pub signing_time: Option<DateTime<Utc>>,
    pub timestamp: Option<TimestampReport>,
    pub certificate: Option<CertificateStatus>,
    /// The signed JSON document of a JWS.
    pub payload: Option<Value>,
}

impl Verdict {
    fn refused(code: &'static str, reason: impl Into<String>) -> Self {
        Verdict {
            valid: false,
            code,
            reason: Some(reason.into()),
            format: None,
            intact: false,
            signer: None,
            signing_time: None,
            timestamp: None,
            certificate: None,
            payload: None,
        }
    }
}

/// What was handed in.
pub enum Input<'a> {
    /// A JWS in flattened JSON serialisation.
    Jws(&'a [u8]),
    /// A CMS signature (DER or PEM) and, for a detached one, the signed file.
    Cms { signature: &'a [u8], content: Option<&'a [u8]> },
}

/// Guesses the input from its first bytes.
pub fn detect<'a>(file: &'a [u8], content: Option<&'a [u8]>) -> Input<'a> {
    match file.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Input::Jws(file),
        _ => Input::Cms { signature: file, content },
    }
}

fn error_verdict(e: TrustError, format: &'static str) -> Verdict {
    let mut v = match e {
        TrustError::BadSignature => {
            Verdict::refused("signature_invalid", "the signature does not match the signed content or was changed")
        }
        TrustError::ContentChanged => {
            Verdict::refused("content_changed", "the content was changed after it was signed")
        }
        TrustError::Malformed(m) if m.starts_with("detached") => Verdict::refused("content_missing", m),
        other => Verdict::refused("malformed", other.to_string()),
    };
    v.format = Some(format);
    v
}

fn pem_to_der(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    if let Some(start) = text.find("-----BEGIN") {
        let body: String = text[start..].lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().concat();
        use base64::Engine;
        if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(body.trim()) {
            return d;
        }
    }
    bytes.to_vec()
}

/// The verdict on `input`, checked against `anchors` at `now`.
pub fn verify(input: Input<'_>, anchors: &Anchors, now: DateTime<Utc>) -> Verdict {
    // 1. The signature itself.
    let (format, signer, signing_time, signature, stamp, payload) = match input {
        Input::Jws(bytes) => {
            let jws = match jades::Jws::parse(bytes) {
                Ok(j) => j,
                Err(_) => return Verdict::refused("not_signed", "not a signed Sen document (JWS JSON or CMS)"),
            };
            let v = match jades::verify(&jws) {
                Ok(v) => v,
                Err(e) => return error_verdict(e, "JAdES"),
            };
            let sig = jws.signature_bytes().unwrap_or_default();
            let payload = serde_json::from_slice(&v.payload).ok();
            let stamp = jws.batch_stamp();
            let header_has_stamp = jws.header.as_ref().is_some_and(|h| h.contains_key(jades::BATCH_STAMP_HEADER));
            if header_has_stamp && stamp.is_none() {
                let mut verdict = Verdict::refused("timestamp_invalid", "the time-stamp header is damaged");
                verdict.format = Some("JAdES");
                return verdict;
            }
            ("JAdES", v.signer, v.sig_time, sig, stamp, payload)
        }
        Input::Cms { signature, content } => {
            let der_bytes = pem_to_der(signature);
            let v = match cades::verify(&der_bytes, content) {
                Ok(v) => v,
                Err(TrustError::Malformed(m)) if m == "not a DER CMS message" => {
                    return Verdict::refused("not_signed", "not a signed Sen document (JWS JSON or CMS)");
                }
                Err(e) => return error_verdict(e, "CAdES"),
            };
            let stamp = match cades::unsigned_attribute(&v, cades::ID_SEN_BATCH_STAMP) {
                None => None,
                Some(d) => match <der::asn1::OctetString as der::Decode>::from_der(&d)
                    .ok()
                    .and_then(|o| serde_json::from_slice(o.as_bytes()).ok())
                {
                    Some(stamp) => Some(stamp),
                    None => {
                        let mut verdict = Verdict::refused("timestamp_invalid", "the time-stamp attribute is damaged");
                        verdict.format = Some("CAdES");
                        return verdict;
                    }
                },
            };
            ("CAdES", v.signer, v.signing_time, v.signature, stamp, None)
        }
    };
    let mut verdict = Verdict {
        valid: false,
        code: "valid",
        reason: None,
        format: Some(format),
        intact: true,
        signer: cert::facts(&signer).ok(),
        signing_time,
        timestamp: None,
        certificate: None,
        payload,
    };
    let fail = |mut v: Verdict, code: &'static str, reason: String| {
        v.code = code;
        v.reason = Some(reason);
        v.valid = false;
        v
    };

    // 2. The time-stamp, which fixes the time of every further check.
    let mut checked_at = now;
    if let Some(stamp) = &stamp {
        match batch::verify(stamp, &signature) {
            Ok(token) => {
                if let Err(why) = chain_status(&token.tsa, anchors, token.gen_time) {
                    return fail(verdict, "timestamp_invalid", format!("time-stamping authority: {why}"));
                }
                checked_at = token.gen_time;
                verdict.timestamp = Some(TimestampReport {
                    time: token.gen_time,
                    authority: cert::facts(&token.tsa).map(|f| f.subject).unwrap_or_default(),
                    batch_size: stamp.size,
                });
            }
            Err(e) => {
                return fail(
                    verdict,
                    "timestamp_invalid",
                    format!("the time-stamp does not cover this signature: {e}"),
                );
            }
        }
    }

    // 3. Key usage, path to a trusted root, status at the checked time.
    if !cert::has_eku(&signer, cert::ID_KP_DOCUMENT_SIGNING) {
        return fail(verdict, "wrong_key_usage", "the signer's certificate is not for signing documents".into());
    }
    let facts = cert::facts(&signer).ok();
    let revocation = anchors.revoked.get(&cert::serial_hex(&signer)).copied();
    if let Some(f) = &facts {
        verdict.certificate = Some(CertificateStatus {
            status: "valid",
            checked_at,
            revoked_at: revocation.map(|r| r.0),
            revocation_reason: revocation.map(|r| r.1.as_str()),
            not_after: f.not_after,
        });
    }
    match chain_status(&signer, anchors, checked_at) {
        Ok(()) => {}
        Err(ChainError::UnknownIssuer) => {
            return fail(
                verdict,
                "unknown_issuer",
                "the certificate was not issued by Sen's certificate authority".into(),
            );
        }
        Err(e @ ChainError::Revoked { at, reason, .. }) => {
            if let Some(c) = verdict.certificate.as_mut() {
                c.status = "revoked";
                c.revoked_at = Some(at);
                c.revocation_reason = Some(reason.as_str());
            }
            return fail(verdict, "certificate_revoked", e.to_string());
        }
        Err(e @ ChainError::Expired { .. }) => {
            if let Some(c) = verdict.certificate.as_mut() {
                c.status = "expired";
            }
            return fail(verdict, "certificate_expired", e.to_string());
        }
        Err(e @ ChainError::NotYetValid { .. }) => {
            if let Some(c) = verdict.certificate.as_mut() {
                c.status = "not_yet_valid";
            }
            return fail(verdict, "certificate_not_yet_valid", e.to_string());
        }
    }
    verdict.valid = true;
    verdict
}

#[derive(Debug, thiserror::Error)]
enum ChainError {
    #[error("no path to a trusted root")]
    UnknownIssuer,
    #[error("the certificate of {who} was revoked on {at} ({})", reason.as_str())]
    Revoked { who: String, at: DateTime<Utc>, reason: RevocationReason },
    #[error("the certificate of {who} expired on {at}")]
    Expired { who: String, at: DateTime<Utc> },
    #[error("the certificate of {who} was not yet valid")]
    NotYetValid { who: String },
}

/// Checks `leaf` → a known CA → a trusted root, each valid and unrevoked at `at`.
/// Only CA certificates the verifier already trusts are used, never those embedded in the document.
fn chain_status(leaf: &Certificate, anchors: &Anchors, at: DateTime<Utc>) -> Result<(), ChainError> {
    let ca = anchors.cas.iter().find(|ca| anchors.link(leaf, ca)).ok_or(ChainError::UnknownIssuer)?;
    let root = anchors.roots.iter().find(|r| anchors.link(ca, r)).ok_or(ChainError::UnknownIssuer)?;
    for c in [leaf, ca, root] {
        let f = cert::facts(c).map_err(|_| ChainError::UnknownIssuer)?;
        if at > f.not_after {
            return Err(ChainError::Expired { who: f.subject, at: f.not_after });
        }
        if at < f.not_before - chrono::Duration::minutes(5) {
            return Err(ChainError::NotYetValid { who: f.subject });
        }
        if let Some((revoked_at, reason)) = anchors.revoked.get(&f.serial)
            && *revoked_at <= at
        {
            return Err(ChainError::Revoked { who: f.subject, at: *revoked_at, reason: *reason });
        }
    }
    Ok(())
}
