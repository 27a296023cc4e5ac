//! Sen's trust layer as pure rules: no database, no network, no clock of its own
//! (every function takes the time it needs). The storage and HTTP crates call it.
//!
//! - [`keys`]: P-256 keys sealed at rest under a passphrase-wrapped data key;
//! - [`cert`]: the certificate profiles of Sen's CA, and CRLs;
//! - [`jades`]: JWS (ES256) with JAdES baseline headers;
//! - [`cades`]: CMS SignedData with CAdES baseline attributes;
//! - [`tsa`]: RFC 3161 requests, tokens and responses;
//! - [`batch`]: one time-stamp token over a Merkle tree of many signatures;
//! - [`merkle`]: RFC 9162 Merkle trees, inclusion and consistency proofs;
//! - [`verify`]: the verdict on a signed document that anyone can ask for.

pub mod batch;
pub mod cades;
pub mod cert;
pub mod jades;
pub mod keys;
pub mod merkle;
pub mod tiles;
pub mod tsa;
pub mod verify;

pub use p256::ecdsa::{SigningKey, VerifyingKey};
pub use x509_cert::Certificate;

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("the passphrase does not open the key vault")]
    WrongPassphrase,
    #[error("key vault: {0}")]
    Vault(&'static str),
    #[error("certificate profile: {0}")]
    Profile(&'static str),
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the content was changed after it was signed")]
    ContentChanged,
    #[error("encoding: {0}")]
    Encoding(String),
}

impl From<der::Error> for TrustError {
    fn from(e: der::Error) -> Self {
        TrustError::Encoding(e.to_string())
    }
}

impl From<x509_cert::builder::Error> for TrustError {
    fn from(e: x509_cert::builder::Error) -> Self {
        TrustError::Encoding(e.to_string())
    }
}

impl From<spki::Error> for TrustError {
    fn from(e: spki::Error) -> Self {
        TrustError::Encoding(e.to_string())
    }
}

// The ASN.1 crates callers need to move signed objects around, at the versions used here.
pub use {cms, const_oid, der};
