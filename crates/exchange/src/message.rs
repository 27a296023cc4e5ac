//! Message signatures between gateways.
//!
//! Every message that crosses from one gateway to another is signed by the sending gateway
//! with its Ed25519 message key (certified by Sen's CA, published in the directory). A
//! request's signature covers its [request hash](crate::hash) — method, target, client,
//! message id, the headers that carry meaning and the body digest — so a provider's gateway
//! can prove who asked what. A response's signature covers the message id, that request
//! hash, the status, the `X-Road-Error` type if any and the body digest, so a client's
//! gateway can prove what was answered to which question. Both sides keep the signatures and
//! digests in their tamper-evident logs, never the payloads.
//!
//! Why Ed25519, and batches: it signs in about 20 µs and verifies in about 50 µs on the
//! machines Sen runs on, a tenth of ECDSA P-256; even so, signing and checking were a fifth
//! of a gateway's CPU per message. So a gateway signs the messages that wait for its signer
//! at the same moment together, as X-Road does ([`sign_batch`]): one signature over the
//! RFC 9162 Merkle root of their inputs, each message carrying that signature with its leaf
//! index, the batch size and its inclusion path. A message alone is signed alone (the plain
//! 64-byte form), so nothing waits for a batch to fill: batches form only under load, when
//! they save the most. The receiving gateway checks the path, then the signature once per
//! batch ([`VerifiedBatches`] remembers the batches already checked). Each message's
//! signature stays verifiable on its own, from the log, with the sender's certificate.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, Verifier};
use sen_trust::merkle::{self, Hash};
use sha2::{Digest, Sha256, Sha512};

use crate::error::{ExchangeError, Fault, Origin};

/// The header that carries a message's signature: base64 of the 64-byte Ed25519 signature,
/// or of a batch signature (the 64 bytes, then the leaf index and the batch size as
/// big-endian `u32`, then the inclusion path's 32-byte hashes, leaf to root).
pub const SIGNATURE_HEADER: &str = "x-sen-signature";

const REQUEST_TAG: &str = "sen-exchange-request-v1";
const BATCH_TAG: &str = "sen-exchange-batch-v1";
/// The most messages one batch signature covers.
pub const MAX_BATCH: usize = 1024;
/// Batches remembered as verified, at most.
const VERIFIED_KEPT: usize = 4096;
const RESPONSE_TAG: &str = "sen-exchange-response-v1";

/// SHA-512 of a body, base64: the digest logged in place of a payload.
pub fn body_digest(body: &[u8]) -> String {
    B64.encode(Sha512::digest(body))
}

/// What a request's signature covers.
pub fn request_to_sign(request_hash: &str) -> Vec<u8> {
    format!("{REQUEST_TAG}\n{request_hash}\n").into_bytes()
}

/// What a response's signature covers.
pub fn response_to_sign(
    message_id: &str,
    request_hash: &str,
    status: u16,
    error_type: Option<&str>,
    body_digest: &str,
) -> Vec<u8> {
    format!("{RESPONSE_TAG}\n{message_id}\n{request_hash}\n{status}\n{}\n{body_digest}\n", error_type.unwrap_or(""))
        .into_bytes()
}

const USAGE_TAG: &str = "sen-exchange-usage-v1";

/// What a gateway's usage report's signature covers: the report's body.
pub fn usage_to_sign(body: &[u8]) -> Vec<u8> {
    format!("{USAGE_TAG}\n{}\n", body_digest(body)).into_bytes()
}

/// Signs `input` with a gateway's message key.
pub fn sign(key: &ed25519_dalek::SigningKey, input: &[u8]) -> String {
    B64.encode(key.sign(input).to_bytes())
}

/// Signs each of `inputs` (at most [`MAX_BATCH`]): one alone with a plain signature, several
/// with one signature over the Merkle root of their leaf hashes. The signatures come back in
/// the order of `inputs`.
pub fn sign_batch(key: &ed25519_dalek::SigningKey, inputs: &[&[u8]]) -> Vec<String> {
    assert!(inputs.len() <= MAX_BATCH, "a batch signs at most {MAX_BATCH} messages");
    if let [one] = inputs {
        return vec![sign(key, one)];
    }
    let leaves: Vec<Hash> = inputs.iter().map(|i| merkle::leaf_hash(i)).collect();
    let (root, paths) = merkle::batch_paths(&leaves);
    let size = inputs.len() as u32;
    let signature = key.sign(&batch_statement(&root, u64::from(size))).to_bytes();
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let mut blob = Vec::with_capacity(72 + 32 * path.len());
            blob.extend_from_slice(&signature);
            blob.extend_from_slice(&(i as u32).to_be_bytes());
            blob.extend_from_slice(&size.to_be_bytes());
            for h in path {
                blob.extend_from_slice(h);
            }
            B64.encode(blob)
        })
        .collect()
}

/// What a batch's one signature covers: its root and size.
fn batch_statement(root: &Hash, size: u64) -> Vec<u8> {
    format!("{BATCH_TAG}\n{}\n{size}\n", B64.encode(root)).into_bytes()
}

/// A signature read from its header: the Ed25519 signature and the statement it must cover
/// for `input` (the input itself, or the root its batch path leads to).
fn statement<'a>(
    input: &'a [u8],
    signature: &str,
) -> Option<(ed25519_dalek::Signature, std::borrow::Cow<'a, [u8]>, bool)> {
    let bytes = B64.decode(signature.trim()).ok()?;
    let sig = ed25519_dalek::Signature::from_slice(bytes.get(..64)?).ok()?;
    if bytes.len() == 64 {
        return Some((sig, input.into(), false));
    }
    let rest = &bytes[64..];
    if rest.len() < 8 || (rest.len() - 8) % 32 != 0 {
        return None;
    }
    let index = u64::from(u32::from_be_bytes(rest[..4].try_into().ok()?));
    let size = u64::from(u32::from_be_bytes(rest[4..8].try_into().ok()?));
    if size < 2 || size > MAX_BATCH as u64 {
        return None;
    }
    let path: Vec<Hash> = rest[8..].chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect();
    let root = merkle::root_from_inclusion(index, size, &merkle::leaf_hash(input), &path)?;
    Some((sig, batch_statement(&root, size).into(), true))
}

fn missing(origin: Origin) -> ExchangeError {
    ExchangeError::new(origin, Fault::MissingSignature, "the message carries no signature")
}

fn invalid(origin: Origin) -> ExchangeError {
    ExchangeError::new(origin, Fault::InvalidSignatureValue, "the message signature does not verify")
}

/// Checks a signature (alone or of a batch) made by the gateway whose message key is `key`
/// (decoded once per configuration: decoding a point costs about a fifth of a
/// verification). `origin` says whose gateway checks (a provider's checks requests, a
/// client's checks responses).
pub fn verify(
    key: &ed25519_dalek::VerifyingKey,
    input: &[u8],
    signature: Option<&str>,
    origin: Origin,
) -> Result<(), ExchangeError> {
    let (sig, covered, _) =
        statement(input, signature.ok_or_else(|| missing(origin))?).ok_or_else(|| invalid(origin))?;
    key.verify(&covered, &sig).map_err(|_| invalid(origin))
}

/// The batch signatures a gateway has already verified, so that the other messages of a
/// batch cost a path check (a few hashes) instead of a signature check. Bounded; shared by
/// the gateway's tasks.
#[derive(Default)]
pub struct VerifiedBatches {
    seen: std::sync::Mutex<std::collections::HashSet<Hash>>,
}

impl VerifiedBatches {
    /// As [`verify`], remembering verified batches.
    pub fn verify(
        &self,
        key: &ed25519_dalek::VerifyingKey,
        input: &[u8],
        signature: Option<&str>,
        origin: Origin,
    ) -> Result<(), ExchangeError> {
        let (sig, covered, batch) =
            statement(input, signature.ok_or_else(|| missing(origin))?).ok_or_else(|| invalid(origin))?;
        if !batch {
            return key.verify(&covered, &sig).map_err(|_| invalid(origin));
        }
        // The same key, statement and signature verified once verify always.
        let mut h = Sha256::new();
        h.update(key.as_bytes());
        h.update(sig.to_bytes());
        h.update(&covered);
        let id: Hash = h.finalize().into();
        if self.seen.lock().unwrap_or_else(|e| e.into_inner()).contains(&id) {
            return Ok(());
        }
        key.verify(&covered, &sig).map_err(|_| invalid(origin))?;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= VERIFIED_KEPT {
            // Simple and bounded: start over rather than track recency.
            seen.clear();
        }
        seen.insert(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(seed: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_request_verifies_with_the_senders_key_only() {
        let k = key(1);
        let input = request_to_sign("hash-1");
        let sig = sign(&k, &input);
        let public = k.verifying_key();
        assert!(verify(&public, &input, Some(&sig), Origin::ServerProxy).is_ok());
        let other = key(2).verifying_key();
        let e = verify(&other, &input, Some(&sig), Origin::ServerProxy).unwrap_err();
        assert_eq!(e.type_string(), "Server.ServerProxy.InvalidSignatureValue");
        let e = verify(&public, &input, None, Origin::ServerProxy).unwrap_err();
        assert_eq!(e.type_string(), "Server.ServerProxy.MissingSignature");
        let e = verify(&public, &input, Some("not base64!"), Origin::ClientProxy).unwrap_err();
        assert_eq!(e.type_string(), "Server.ClientProxy.InvalidSignatureValue");
    }

    #[test]
    fn each_message_of_a_batch_verifies_alone_and_only_its_own_input() {
        let k = key(4);
        let public = k.verifying_key();
        let inputs: Vec<Vec<u8>> = (0..5).map(|i| request_to_sign(&format!("hash-{i}"))).collect();
        let refs: Vec<&[u8]> = inputs.iter().map(|i| i.as_slice()).collect();
        let sigs = sign_batch(&k, &refs);
        assert_eq!(sigs.len(), 5);
        let seen = VerifiedBatches::default();
        for (input, sig) in inputs.iter().zip(&sigs) {
            assert!(verify(&public, input, Some(sig), Origin::ServerProxy).is_ok());
            assert!(seen.verify(&public, input, Some(sig), Origin::ServerProxy).is_ok());
        }
        // Another message's signature (same batch, same root signature) does not cover it.
        let e = seen.verify(&public, &inputs[0], Some(&sigs[1]), Origin::ServerProxy).unwrap_err();
        assert_eq!(e.type_string(), "Server.ServerProxy.InvalidSignatureValue");
        // Nor a changed input, even once the batch is known.
        assert!(seen.verify(&public, &request_to_sign("hash-9"), Some(&sigs[2]), Origin::ServerProxy).is_err());
        // Nor another key.
        assert!(verify(&key(5).verifying_key(), &inputs[0], Some(&sigs[0]), Origin::ServerProxy).is_err());
        // A batch of one is a plain signature.
        let one = sign_batch(&k, &[inputs[0].as_slice()]);
        assert_eq!(one[0], sign(&k, &inputs[0]));
    }

    #[test]
    fn a_batch_signature_with_a_changed_index_size_or_path_does_not_verify() {
        let k = key(6);
        let public = k.verifying_key();
        let inputs: Vec<Vec<u8>> = (0..3).map(|i| request_to_sign(&format!("h{i}"))).collect();
        let refs: Vec<&[u8]> = inputs.iter().map(|i| i.as_slice()).collect();
        let sigs = sign_batch(&k, &refs);
        let blob = B64.decode(&sigs[1]).unwrap();
        for at in [64, 67, 71, 72, blob.len() - 1] {
            let mut changed = blob.clone();
            changed[at] ^= 1;
            let changed = B64.encode(changed);
            assert!(
                VerifiedBatches::default().verify(&public, &inputs[1], Some(&changed), Origin::ClientProxy).is_err(),
                "{at}"
            );
        }
        // Cut short, or grown by a hash.
        let mut longer = blob.clone();
        longer.extend_from_slice(&[0u8; 32]);
        for bad in [&blob[..blob.len() - 1], &blob[..70], &longer[..]] {
            assert!(verify(&public, &inputs[1], Some(&B64.encode(bad)), Origin::ClientProxy).is_err());
        }
    }

    proptest! {
        /// Whatever the batch's size, every member verifies and no member verifies another's input.
        #[test]
        fn batches_of_any_size_verify(n in 1usize..40, probe in 0usize..40) {
            let k = key(7);
            let public = k.verifying_key();
            let inputs: Vec<Vec<u8>> = (0..n).map(|i| response_to_sign(&format!("m-{i}"), "h", 200, None, "d")).collect();
            let refs: Vec<&[u8]> = inputs.iter().map(|i| i.as_slice()).collect();
            let sigs = sign_batch(&k, &refs);
            let seen = VerifiedBatches::default();
            for (input, sig) in inputs.iter().zip(&sigs) {
                prop_assert!(seen.verify(&public, input, Some(sig), Origin::ClientProxy).is_ok());
            }
            let p = probe % n;
            let other = (p + 1) % n;
            if other != p {
                prop_assert!(seen.verify(&public, &inputs[other], Some(&sigs[p]), Origin::ClientProxy).is_err());
            }
        }

        /// Any change to what a response says breaks its signature.
        #[test]
        fn a_changed_response_does_not_verify(status in 100u16..600, other in 100u16..600, body in ".{0,40}", flip in any::<bool>()) {
            let k = key(3);
            let public = k.verifying_key();
            let digest = body_digest(body.as_bytes());
            let input = response_to_sign("m-1", "h", status, None, &digest);
            let sig = sign(&k, &input);
            prop_assert!(verify(&public, &input, Some(&sig), Origin::ClientProxy).is_ok());
            let changed = if flip {
                response_to_sign("m-1", "h", status, None, &body_digest(format!("{body}x").as_bytes()))
            } else {
                response_to_sign("m-1", "h", other, Some("Server.ServerProxy.AccessDenied"), &digest)
            };
            prop_assert!(verify(&public, &changed, Some(&sig), Origin::ClientProxy).is_err());
        }
    }
}
