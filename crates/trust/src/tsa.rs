//! RFC 3161 time-stamping: read a `TimeStampReq`, answer with a `TimeStampResp`
//! whose token is CMS SignedData over a `TSTInfo`, and verify tokens.

use chrono::{DateTime, Utc};
use cmpv2::status::{PkiFailureInfoValues, PkiStatus, PkiStatusInfo};
use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{GeneralizedTime, Int, OctetString};
use der::{Decode, Encode};
use p256::ecdsa::SigningKey;
use x509_cert::Certificate;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::TrustError;
use crate::cades::{self, CmsContent};
use crate::cert;

/// id-ct-TSTInfo.
pub const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// The policy under which Sen's TSA stamps.
pub const SEN_TSA_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.25.27182818.2");

/// A request that can be granted.
#[derive(Debug, Clone)]
pub struct Request {
    pub hash_algorithm: ObjectIdentifier,
    pub hashed_message: Vec<u8>,
    pub nonce: Option<Vec<u8>>,
    pub cert_req: bool,
}

/// Why a request is refused, as RFC 3161's PKIFailureInfo names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadAlg,
    BadRequest,
    BadDataFormat,
    UnacceptedPolicy,
}

fn digest_len(oid: ObjectIdentifier) -> Option<usize> {
    match oid {
        o if o == rfc5912::ID_SHA_256 => Some(32),
        o if o == rfc5912::ID_SHA_384 => Some(48),
        o if o == rfc5912::ID_SHA_512 => Some(64),
        _ => None,
    }
}

/// Reads a DER `TimeStampReq`.
pub fn parse_request(der_bytes: &[u8]) -> Result<Request, Refusal> {
    let req = TimeStampReq::from_der(der_bytes).map_err(|_| Refusal::BadDataFormat)?;
    if let Some(policy) = req.req_policy
        && policy != SEN_TSA_POLICY
    {
        return Err(Refusal::UnacceptedPolicy);
    }
    let alg = req.message_imprint.hash_algorithm.oid;
    let len = digest_len(alg).ok_or(Refusal::BadAlg)?;
    let hashed = req.message_imprint.hashed_message.as_bytes().to_vec();
    if hashed.len() != len {
        return Err(Refusal::BadRequest);
    }
    Ok(Request {
        hash_algorithm: alg,
        hashed_message: hashed,
        nonce: req.nonce.map(|n| n.as_bytes().to_vec()),
        cert_req: req.cert_req,
    })
}

/// A request for a SHA-256 digest, as `openssl ts -query -sha256` makes it.
pub fn request_der(sha256: &[u8; 32], nonce: Option<u64>, cert_req: bool) -> Result<Vec<u8>, TrustError> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier { oid: rfc5912::ID_SHA_256, parameters: None },
            hashed_message: OctetString::new(sha256.to_vec())?,
        },
        req_policy: None,
        nonce: nonce.map(int_from_u64).transpose()?,
        cert_req,
        extensions: None,
    };
    Ok(req.to_der()?)
}

/// Makes a token for `request`: `chain[0]` is the TSA certificate of `key`.
pub fn stamp(
    request: &Request,
    serial: u64,
    gen_time: DateTime<Utc>,
    key: &SigningKey,
    chain: &[Certificate],
) -> Result<ContentInfo, TrustError> {
    let generalized =
        GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(gen_time.timestamp().max(0) as u64))?;
    let info = TstInfo {
        version: TspVersion::V1,
        policy: SEN_TSA_POLICY,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier { oid: request.hash_algorithm, parameters: None },
            hashed_message: OctetString::new(request.hashed_message.clone())?,
        },
        serial_number: int_from_u64(serial)?,
        gen_time: generalized,
        accuracy: Some(Accuracy { seconds: Some(1), millis: None, micros: None }),
        ordering: false,
        nonce: request.nonce.as_deref().map(Int::new).transpose()?,
        tsa: None,
        extensions: None,
    };
    let der_info = info.to_der()?;
    // RFC 3161 §2.4.1: certificates only when the requester asked for them.
    cades::sign(
        CmsContent { content_type: ID_CT_TST_INFO, bytes: &der_info, embed: true, with_certificates: request.cert_req },
        key,
        chain,
        None,
    )
}

/// A granted `TimeStampResp`.
pub fn granted(token: &ContentInfo) -> Result<Vec<u8>, TrustError> {
    let resp = TimeStampResp {
        status: PkiStatusInfo { status: PkiStatus::Accepted, status_string: None, fail_info: None },
        time_stamp_token: Some(token.clone()),
    };
    Ok(resp.to_der()?)
}

/// A refused `TimeStampResp`.
pub fn refused(why: Refusal) -> Result<Vec<u8>, TrustError> {
    let flag = match why {
        Refusal::BadAlg => PkiFailureInfoValues::BadAlg,
        Refusal::BadRequest => PkiFailureInfoValues::BadRequest,
        Refusal::BadDataFormat => PkiFailureInfoValues::BadDataFormat,
        Refusal::UnacceptedPolicy => PkiFailureInfoValues::UnacceptedPolicy,
    };
    let resp = TimeStampResp {
        status: PkiStatusInfo { status: PkiStatus::Rejection, status_string: None, fail_info: Some(flag.into()) },
        time_stamp_token: None,
    };
    Ok(resp.to_der()?)
}

/// The token out of a `TimeStampResp`.
pub fn token_of_response(der_bytes: &[u8]) -> Result<Vec<u8>, TrustError> {
    let resp = TimeStampResp::from_der(der_bytes).map_err(|_| TrustError::Malformed("not a TimeStampResp".into()))?;
    let token = resp.time_stamp_token.ok_or(TrustError::Malformed("the time-stamp was refused".into()))?;
    Ok(token.to_der()?)
}

/// A token that checked out.
#[derive(Debug, Clone)]
pub struct TokenVerified {
    pub gen_time: DateTime<Utc>,
    pub serial: String,
    pub tsa: Certificate,
    pub certificates: Vec<Certificate>,
    pub hashed_message: Vec<u8>,
}

/// Verifies a DER token: its CMS signature, that the signer is a TSA (critical
/// timeStamping EKU) and, if given, that it stamps `expected` (a SHA-256 value).
pub fn verify_token(der_bytes: &[u8], expected: Option<&[u8]>) -> Result<TokenVerified, TrustError> {
    let v = cades::verify(der_bytes, None)?;
    if v.content_type != ID_CT_TST_INFO {
        return Err(TrustError::Malformed("the token does not hold a TSTInfo".into()));
    }
    let info = TstInfo::from_der(v.content.as_deref().unwrap_or_default())
        .map_err(|_| TrustError::Malformed("unreadable TSTInfo".into()))?;
    if !cert::has_eku(&v.signer, const_oid::db::rfc5280::ID_KP_TIME_STAMPING) {
        return Err(TrustError::Malformed("the token's signer is not a time-stamping authority".into()));
    }
    let hashed = info.message_imprint.hashed_message.as_bytes().to_vec();
    if let Some(e) = expected
        && (info.message_imprint.hash_algorithm.oid != rfc5912::ID_SHA_256 || hashed != e)
    {
        return Err(TrustError::ContentChanged);
    }
    let stamped_at = DateTime::from_timestamp(info.gen_time.to_unix_duration().as_secs() as i64, 0).unwrap_or_default();
    Ok(TokenVerified {
        gen_time: stamped_at,
        serial: hex::encode(info.serial_number.as_bytes()),
        tsa: v.signer,
        certificates: v.certificates,
        hashed_message: hashed,
    })
}

/// A DER INTEGER from an unsigned number: minimal bytes, a leading zero if the top bit is set.
pub fn int_from_u64(n: u64) -> der::Result<Int> {
    let bytes = n.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    let mut minimal = bytes[first..].to_vec();
    if minimal[0] & 0x80 != 0 {
        minimal.insert(0, 0);
    }
    Int::new(&minimal)
}
