//! Batched time-stamping: one RFC 3161 token covers a Merkle tree (RFC 9162)
//! whose leaves are signature values. Each signature carries the token, its leaf
//! index, the tree size and its inclusion path; a verifier recomputes the root
//! from `SHA-256(0x00 || signature)` and the path, and checks that the token's
//! message imprint (SHA-256) equals that root.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use der::Encode;
use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use crate::TrustError;
use crate::merkle::{self, Hash};
use crate::tsa::{self, Request, TokenVerified};

/// What each signature of a batch carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchStamp {
    /// The DER time-stamp token, base64.
    pub tst: String,
    pub index: u64,
    pub size: u64,
    /// Inclusion path, base64 hashes, leaf to root.
    pub path: Vec<String>,
}

/// Time-stamps all `signatures` with one token from the TSA key.
pub fn stamp(
    signatures: &[&[u8]],
    serial: u64,
    time: DateTime<Utc>,
    tsa_key: &SigningKey,
    tsa_chain: &[Certificate],
) -> Result<Vec<BatchStamp>, TrustError> {
    let leaves: Vec<Hash> = signatures.iter().map(|s| merkle::leaf_hash(s)).collect();
    let (root, paths) = merkle::batch_paths(&leaves);
    let request = Request {
        hash_algorithm: const_oid::db::rfc5912::ID_SHA_256,
        hashed_message: root.to_vec(),
        nonce: None,
        cert_req: true,
    };
    let token = B64.encode(tsa::stamp(&request, serial, time, tsa_key, tsa_chain)?.to_der()?);
    let size = signatures.len() as u64;
    Ok(paths
        .into_iter()
        .enumerate()
        .map(|(i, path)| BatchStamp {
            tst: token.clone(),
            index: i as u64,
            size,
            path: path.iter().map(|h| B64.encode(h)).collect(),
        })
        .collect())
}

/// Checks that `stamp` covers `signature`, and returns the verified token.
pub fn verify(stamp: &BatchStamp, signature: &[u8]) -> Result<TokenVerified, TrustError> {
    let bad = |m: &str| TrustError::Malformed(m.to_string());
    let path: Vec<Hash> = stamp
        .path
        .iter()
        .map(|p| B64.decode(p).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or(bad("unreadable batch path")))
        .collect::<Result<_, _>>()?;
    let root = merkle::root_from_inclusion(stamp.index, stamp.size, &merkle::leaf_hash(signature), &path)
        .ok_or(bad("the batch path has the wrong length"))?;
    let token = B64.decode(&stamp.tst).map_err(|_| bad("unreadable time-stamp token"))?;
    tsa::verify_token(&token, Some(&root))
}

/// The stamp as the value of Sen's CMS unsigned attribute: an OCTET STRING of its JSON.
pub fn as_cms_attribute(stamp: &BatchStamp) -> Result<der::Any, TrustError> {
    let json = serde_json::to_vec(stamp).expect("stamp serialises");
    Ok(<der::Any as der::Decode>::from_der(&der::asn1::OctetString::new(json)?.to_der()?)?)
}
