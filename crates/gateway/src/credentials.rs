//! A gateway's keys and certificates, kept as PEM files in its directory:
//!
//! | file          | what                                                           |
//! |---------------|----------------------------------------------------------------|
//! | `tls.key`     | P-256 private key for mutual TLS (PKCS#8), mode 0600           |
//! | `message.key` | Ed25519 private key that signs every message sent (PKCS#8), 0600 |
//! | `request.json`| the two public keys, for the CA to certify (`sen exchange enrol-gateway`) |
//! | `tls.crt`     | the TLS certificate, then the issuing CA's                     |
//! | `message.crt` | the message-signing certificate                                |
//! | `ca.crt`      | Sen's root CA, the one trust anchor                            |
//!
//! The private keys are made where the gateway runs and never leave it: the central CA sees
//! only `request.json`.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};

use crate::GatewayError;

/// What a gateway operator sends to the CA: the public halves of its keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRequest {
    /// The TLS key's SubjectPublicKeyInfo (DER, base64).
    pub tls_public_key: String,
    /// The Ed25519 message key (32 bytes, base64).
    pub message_public_key: String,
}

/// The files of a gateway's directory.
pub struct Files {
    pub dir: PathBuf,
}

impl Files {
    pub fn new(dir: &Path) -> Files {
        Files { dir: dir.to_path_buf() }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), GatewayError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).map_err(|e| GatewayError::Config(format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(|e| GatewayError::Config(format!("{}: {e}", path.display())))
}

/// Makes a gateway's two keys in `dir` (refusing to overwrite existing ones) and writes the
/// request for the CA. Returns the request.
pub fn generate(dir: &Path) -> Result<KeyRequest, GatewayError> {
    std::fs::create_dir_all(dir).map_err(|e| GatewayError::Config(format!("{}: {e}", dir.display())))?;
    let files = Files::new(dir);
    let tls = sen_trust::keys::generate();
    let message = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    write_private(&files.path("tls.key"), &sen_trust::keys::to_pkcs8_pem(&tls)?)?;
    let pem = message
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| GatewayError::Config(e.to_string()))?;
    write_private(&files.path("message.key"), &pem)?;
    let spki = sen_trust::cert::p256_spki(tls.verifying_key())?;
    let request = KeyRequest {
        tls_public_key: B64.encode(sen_trust::der::Encode::to_der(&spki)?),
        message_public_key: B64.encode(message.verifying_key().to_bytes()),
    };
    let text = serde_json::to_string_pretty(&request).expect("request serialises");
    std::fs::write(files.path("request.json"), text).map_err(|e| GatewayError::Config(format!("request.json: {e}")))?;
    Ok(request)
}

/// A gateway's credentials, loaded.
pub struct Credentials {
    /// Leaf first, then the issuing CA.
    pub tls_chain: Vec<CertificateDer<'static>>,
    pub tls_key: PrivateKeyDer<'static>,
    pub message_key: ed25519_dalek::SigningKey,
    pub message_cert: Vec<u8>,
    pub root: CertificateDer<'static>,
}

impl Credentials {
    pub fn load(dir: &Path) -> Result<Credentials, GatewayError> {
        let files = Files::new(dir);
        let read = |name: &str| {
            std::fs::read_to_string(files.path(name))
                .map_err(|e| GatewayError::Config(format!("{}: {e}", files.path(name).display())))
        };
        let certs = |name: &str| -> Result<Vec<CertificateDer<'static>>, GatewayError> {
            let text = read(name)?;
            CertificateDer::pem_slice_iter(text.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| GatewayError::Config(format!("{name}: {e}")))
        };
        let tls_chain = certs("tls.crt")?;
        if tls_chain.is_empty() {
            return Err(GatewayError::Config("tls.crt holds no certificate".into()));
        }
        let tls_key = sen_trust::keys::from_pkcs8_pem(&read("tls.key")?)?;
        let tls_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(sen_trust::keys::to_pkcs8_der(&tls_key)?));
        let message_key = ed25519_dalek::SigningKey::from_pkcs8_pem(&read("message.key")?)
            .map_err(|_| GatewayError::Config("message.key is not an Ed25519 key in PKCS#8 PEM".into()))?;
        let message_cert = certs("message.crt")?
            .into_iter()
            .next()
            .ok_or_else(|| GatewayError::Config("message.crt holds no certificate".into()))?
            .to_vec();
        let cert = sen_trust::cert::cert_from_der(&message_cert)?;
        if sen_trust::cert::ed25519_public_key(&cert)? != message_key.verifying_key().to_bytes() {
            return Err(GatewayError::Config("message.crt does not certify message.key".into()));
        }
        let root = certs("ca.crt")?
            .into_iter()
            .next()
            .ok_or_else(|| GatewayError::Config("ca.crt holds no certificate".into()))?;
        Ok(Credentials { tls_chain, tls_key, message_key, message_cert, root })
    }
}

/// Writes the certificates the CA issued into a gateway's directory.
pub fn install(dir: &Path, tls_chain_pem: &str, message_pem: &str, root_pem: &str) -> Result<(), GatewayError> {
    let files = Files::new(dir);
    for (name, text) in [("tls.crt", tls_chain_pem), ("message.crt", message_pem), ("ca.crt", root_pem)] {
        std::fs::write(files.path(name), text).map_err(|e| GatewayError::Config(format!("{name}: {e}")))?;
    }
    Ok(())
}

/// Reads a request written by [`generate`].
pub fn read_request(path: &Path) -> Result<KeyRequest, GatewayError> {
    let text = std::fs::read_to_string(path).map_err(|e| GatewayError::Config(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| GatewayError::Config(format!("{}: {e}", path.display())))
}

impl KeyRequest {
    /// The two public keys: the TLS key's SPKI and the Ed25519 key.
    pub fn keys(&self) -> Result<(sen_trust::cert::Spki, [u8; 32]), GatewayError> {
        let bad = |m: &str| GatewayError::Config(format!("request.json: {m}"));
        let spki_der = B64.decode(&self.tls_public_key).map_err(|_| bad("tls_public_key is not base64"))?;
        let spki: sen_trust::cert::Spki =
            sen_trust::der::Decode::from_der(&spki_der).map_err(|_| bad("tls_public_key is not a public key"))?;
        let ed = B64.decode(&self.message_public_key).map_err(|_| bad("message_public_key is not base64"))?;
        let ed = <[u8; 32]>::try_from(ed.as_slice()).map_err(|_| bad("message_public_key is not 32 bytes"))?;
        Ok((spki, ed))
    }
}
