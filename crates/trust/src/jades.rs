//! JWS in the flattened JSON serialisation, ES256, with JAdES baseline B-B
//! protected headers: `alg`, `x5c` (signer first, then its CA), `x5t#S256`,
//! `sigT` (claimed signing time) and `crit: ["sigT"]`. The batched time-stamp
//! (B-T) travels in the unprotected `header` as `senBatchStamp`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64U};
use chrono::{DateTime, SecondsFormat, Utc};
use der::{Decode, Encode};
use ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use x509_cert::Certificate;

use crate::TrustError;
use crate::batch::BatchStamp;
use crate::cert;

/// A JWS in flattened JSON serialisation (RFC 7515 §7.2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jws {
    pub payload: String,
    pub protected: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Map<String, Value>>,
    pub signature: String,
}

/// The header name of the batched time-stamp.
pub const BATCH_STAMP_HEADER: &str = "senBatchStamp";

/// Signs `payload` (JSON bytes) with `key`, whose certificate is `chain[0]`.
pub fn sign(
    payload: &[u8],
    key: &SigningKey,
    chain: &[Certificate],
    sig_time: DateTime<Utc>,
) -> Result<Jws, TrustError> {
    let signer = chain.first().ok_or(TrustError::Profile("a signature needs the signer's certificate"))?;
    let x5c: Vec<String> = chain.iter().map(|c| Ok(STANDARD.encode(c.to_der()?))).collect::<Result<_, TrustError>>()?;
    let header = json!({
        "alg": "ES256",
        "cty": "json",
        "x5t#S256": B64U.encode(cert::cert_sha256(signer)?),
        "x5c": x5c,
        "sigT": sig_time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "crit": ["sigT"],
    });
    let protected = B64U.encode(serde_json::to_vec(&header).expect("header serialises"));
    let payload = B64U.encode(payload);
    let signature: Signature = key.sign(format!("{protected}.{payload}").as_bytes());
    Ok(Jws { payload, protected, header: None, signature: B64U.encode(signature.to_bytes()) })
}

impl Jws {
    pub fn signature_bytes(&self) -> Result<Vec<u8>, TrustError> {
        B64U.decode(&self.signature).map_err(|_| TrustError::Malformed("the signature is not base64url".into()))
    }

    pub fn with_batch_stamp(mut self, stamp: &BatchStamp) -> Self {
        let mut header = self.header.take().unwrap_or_default();
        header.insert(BATCH_STAMP_HEADER.into(), serde_json::to_value(stamp).expect("stamp serialises"));
        self.header = Some(header);
        self
    }

    pub fn batch_stamp(&self) -> Option<BatchStamp> {
        self.header.as_ref()?.get(BATCH_STAMP_HEADER).and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("JWS serialises")
    }

    pub fn parse(text: &[u8]) -> Result<Jws, TrustError> {
        serde_json::from_slice(text)
            .map_err(|_| TrustError::Malformed("not a JWS in flattened JSON serialisation".into()))
    }
}

/// A JWS that checked out.
#[derive(Debug, Clone)]
pub struct JwsVerified {
    pub header: Map<String, Value>,
    pub payload: Vec<u8>,
    pub signer: Certificate,
    pub chain: Vec<Certificate>,
    pub sig_time: Option<DateTime<Utc>>,
}

/// Checks the protected header and the ES256 signature with the key of `x5c[0]`.
pub fn verify(jws: &Jws) -> Result<JwsVerified, TrustError> {
    let bad = |m: &str| TrustError::Malformed(m.to_string());
    let header_bytes = B64U.decode(&jws.protected).map_err(|_| bad("the protected header is not base64url"))?;
    let header: Map<String, Value> =
        serde_json::from_slice(&header_bytes).map_err(|_| bad("the protected header is not a JSON object"))?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(bad("only ES256 signatures are accepted"));
    }
    let crit: Vec<&str> = header
        .get("crit")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if crit.iter().any(|c| *c != "sigT") || !crit.contains(&"sigT") {
        return Err(bad("crit must name exactly the JAdES header sigT"));
    }
    let chain: Vec<Certificate> = header
        .get("x5c")
        .and_then(Value::as_array)
        .ok_or(bad("no x5c certificate chain"))?
        .iter()
        .map(|v| {
            let der_bytes = STANDARD.decode(v.as_str().unwrap_or_default()).map_err(|_| bad("x5c is not base64"))?;
            Certificate::from_der(&der_bytes).map_err(|_| bad("x5c holds something that is not a certificate"))
        })
        .collect::<Result<_, _>>()?;
    let signer = chain.first().cloned().ok_or(bad("x5c is empty"))?;
    let thumb = B64U.encode(cert::cert_sha256(&signer)?);
    if header.get("x5t#S256").and_then(Value::as_str) != Some(thumb.as_str()) {
        return Err(bad("x5t#S256 does not match the signer's certificate"));
    }
    let sig = Signature::from_slice(&jws.signature_bytes()?).map_err(|_| TrustError::BadSignature)?;
    cert::public_key(&signer)?
        .verify(format!("{}.{}", jws.protected, jws.payload).as_bytes(), &sig)
        .map_err(|_| TrustError::BadSignature)?;
    let payload = B64U.decode(&jws.payload).map_err(|_| bad("the payload is not base64url"))?;
    let sig_time = header
        .get("sigT")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(JwsVerified { header, payload, signer, chain, sig_time })
}
