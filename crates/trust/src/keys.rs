//! Private keys at rest: envelope encryption.
//!
//! A random 256-bit data key seals every private key (AES-256-GCM, a fresh nonce
//! each). The data key itself is stored only wrapped by a key derived from the
//! operator's passphrase with scrypt, so the database alone never reveals a key.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand::RngCore;
use rand::rngs::OsRng;

use crate::TrustError;

const VAULT_TAG: &str = "sen-vault-v1";
/// scrypt cost: 2^15 × 8 × 1 ≈ 32 MiB and ~0.1 s, done once per process start.
const SCRYPT_LOG_N: u8 = 15;

/// The unwrapped data key. Never serialised; dropped with the process.
pub struct Vault {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn kek(passphrase: &str, salt: &[u8], log_n: u8) -> Result<Aes256Gcm, TrustError> {
    let params = scrypt::Params::new(log_n, 8, 1, 32).map_err(|_| TrustError::Vault("bad scrypt parameters"))?;
    let mut out = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), salt, &params, &mut out).map_err(|_| TrustError::Vault("scrypt failed"))?;
    Ok(Aes256Gcm::new_from_slice(&out).expect("32-byte key"))
}

impl Vault {
    /// A new data key, and its wrapped form to store.
    pub fn create(passphrase: &str) -> Result<(Vault, String), TrustError> {
        Self::create_with_cost(passphrase, SCRYPT_LOG_N)
    }

    /// As [`Vault::create`] with another scrypt cost (2^log_n); tests use a low one.
    pub fn create_with_cost(passphrase: &str, log_n: u8) -> Result<(Vault, String), TrustError> {
        if passphrase.chars().count() < 12 {
            return Err(TrustError::Vault("the passphrase must have at least 12 characters"));
        }
        let mut dek = [0u8; 32];
        OsRng.fill_bytes(&mut dek);
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let wrapped = kek(passphrase, &salt, log_n)?
            .encrypt(Nonce::from_slice(&nonce), dek.as_slice())
            .map_err(|_| TrustError::Vault("wrap failed"))?;
        let text =
            format!("{VAULT_TAG}${SCRYPT_LOG_N}${}${}${}", B64.encode(salt), B64.encode(nonce), B64.encode(wrapped));
        Ok((Vault { cipher: Aes256Gcm::new_from_slice(&dek).expect("32-byte key") }, text))
    }

    /// Unwraps a stored data key; a wrong passphrase is [`TrustError::WrongPassphrase`].
    pub fn open(passphrase: &str, wrapped: &str) -> Result<Vault, TrustError> {
        let parts: Vec<&str> = wrapped.split('$').collect();
        let [tag, log_n, salt, nonce, ct] = parts.as_slice() else {
            return Err(TrustError::Vault("unreadable wrapped key"));
        };
        if *tag != VAULT_TAG {
            return Err(TrustError::Vault("unknown wrapped key format"));
        }
        let log_n: u8 = log_n.parse().map_err(|_| TrustError::Vault("unreadable wrapped key"))?;
        let dec = |s: &str| B64.decode(s).map_err(|_| TrustError::Vault("unreadable wrapped key"));
        let (salt, nonce, ct) = (dec(salt)?, dec(nonce)?, dec(ct)?);
        if nonce.len() != 12 {
            return Err(TrustError::Vault("unreadable wrapped key"));
        }
        let dek = kek(passphrase, &salt, log_n)?
            .decrypt(Nonce::from_slice(&nonce), ct.as_slice())
            .map_err(|_| TrustError::WrongPassphrase)?;
        let cipher = Aes256Gcm::new_from_slice(&dek).map_err(|_| TrustError::Vault("bad data key"))?;
        Ok(Vault { cipher })
    }

    /// Encrypts a private key for storage: `nonce || AES-GCM(PKCS#8 DER)`.
    pub fn seal(&self, key: &SigningKey) -> Result<Vec<u8>, TrustError> {
        let der = key.to_pkcs8_der().map_err(|_| TrustError::Vault("key encoding failed"))?;
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), der.as_bytes())
            .map_err(|_| TrustError::Vault("seal failed"))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(out)
    }

    /// Decrypts a key sealed by [`Vault::seal`] with the same data key.
    pub fn unseal(&self, sealed: &[u8]) -> Result<SigningKey, TrustError> {
        if sealed.len() < 12 + 16 {
            return Err(TrustError::Vault("sealed key too short"));
        }
        let der = self
            .cipher
            .decrypt(Nonce::from_slice(&sealed[..12]), &sealed[12..])
            .map_err(|_| TrustError::Vault("sealed key does not open with this data key"))?;
        SigningKey::from_pkcs8_der(&der).map_err(|_| TrustError::Vault("sealed key is not a P-256 key"))
    }
}

/// A P-256 private key as PKCS#8 PEM, for a key kept in a file (an exchange gateway's TLS key).
pub fn to_pkcs8_pem(key: &SigningKey) -> Result<String, TrustError> {
    Ok(key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).map_err(|_| TrustError::Vault("key encoding failed"))?.to_string())
}

/// Reads a P-256 private key from PKCS#8 PEM.
pub fn from_pkcs8_pem(text: &str) -> Result<SigningKey, TrustError> {
    SigningKey::from_pkcs8_pem(text).map_err(|_| TrustError::Malformed("not a P-256 private key in PKCS#8 PEM".into()))
}

/// A P-256 private key as PKCS#8 DER.
pub fn to_pkcs8_der(key: &SigningKey) -> Result<Vec<u8>, TrustError> {
    Ok(key.to_pkcs8_der().map_err(|_| TrustError::Vault("key encoding failed"))?.as_bytes().to_vec())
}

/// A new P-256 key from the operating system's random source.
pub fn generate() -> SigningKey {
    SigningKey::random(&mut OsRng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_passphrase() {
        let (vault, wrapped) = Vault::create("correct horse battery").unwrap();
        assert!(!wrapped.contains("correct"));
        let key = generate();
        let sealed = vault.seal(&key).unwrap();
        let again = Vault::open("correct horse battery", &wrapped).unwrap();
        assert_eq!(again.unseal(&sealed).unwrap().to_bytes(), key.to_bytes());
        assert!(matches!(Vault::open("wrong horse battery", &wrapped), Err(TrustError::WrongPassphrase)));
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(again.unseal(&flipped).is_err());
        assert!(Vault::create("short").is_err());
    }
}
