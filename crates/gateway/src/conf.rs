//! The global configuration as a gateway holds it: fetched from the central directory,
//! checked (a JWS by the platform's log key, chaining up to the gateway's one trust
//! anchor), kept in memory for every message and on disk for restarts, refreshed
//! periodically. A configuration older than the one held is refused (no rollback).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use chrono::{DateTime, Utc};
use sen_exchange::directory::GlobalConf;
use sen_exchange::{ClientId, Directory, Gateway};
use sen_trust::Certificate;
use sen_trust::cert;
use sen_trust::jades;

use crate::GatewayError;

/// A checked configuration, with each gateway's message key decoded once.
#[derive(Debug)]
pub struct Conf {
    pub directory: Directory,
    pub generated_at: DateTime<Utc>,
    /// Ed25519 message keys by gateway id, decoded.
    keys: HashMap<i64, ed25519_dalek::VerifyingKey>,
}

impl Conf {
    pub fn from_global(conf: GlobalConf) -> Conf {
        let generated_at = conf.generated_at;
        let directory = conf.into_directory();
        let keys = directory
            .gateways
            .iter()
            .filter_map(|g| {
                let der = base64::engine::general_purpose::STANDARD.decode(&g.message_cert).ok()?;
                let c = cert::cert_from_der(&der).ok()?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&cert::ed25519_public_key(&c).ok()?).ok()?;
                Some((g.id, key))
            })
            .collect();
        Conf { directory, generated_at, keys }
    }

    pub fn message_key(&self, gateway: &Gateway) -> Option<&ed25519_dalek::VerifyingKey> {
        self.keys.get(&gateway.id)
    }

    pub fn gateway_of(&self, subsystem: &ClientId) -> Option<&Gateway> {
        self.directory.gateway_of(subsystem)
    }
}

/// Checks a configuration JWS against the root: its signer must chain to `root` through the
/// issuing CA and be certified for document signing.
pub fn verify(jws_text: &[u8], root: &Certificate) -> Result<GlobalConf, GatewayError> {
    let bad = |m: &str| GatewayError::Conf(m.to_string());
    let jws = jades::Jws::parse(jws_text)?;
    let v = jades::verify(&jws)?;
    let issuing = v.chain.get(1).ok_or_else(|| bad("the configuration's signature carries no issuing CA"))?;
    if !cert::signed_by(&v.signer, issuing) || !cert::signed_by(issuing, root) {
        return Err(bad("the configuration is not signed under Sen's root CA"));
    }
    if !cert::has_eku(&v.signer, cert::ID_KP_DOCUMENT_SIGNING) {
        return Err(bad("the configuration's signer is not certified for signing documents"));
    }
    let now = Utc::now();
    let facts = cert::facts(&v.signer)?;
    if now < facts.not_before || now > facts.not_after {
        return Err(bad("the configuration's signing certificate is not valid now"));
    }
    serde_json::from_slice(&v.payload).map_err(|e| GatewayError::Conf(format!("the configuration does not read: {e}")))
}

/// The configuration a gateway runs on, shared by its proxies.
pub struct ConfHolder {
    current: RwLock<Arc<Conf>>,
    url: String,
    cache: PathBuf,
    root: Certificate,
    http: reqwest::Client,
}

impl ConfHolder {
    /// Fetches the configuration, or falls back to the copy on disk when the directory
    /// cannot be reached.
    pub async fn start(directory_url: &str, data_dir: &Path, root: Certificate) -> Result<ConfHolder, GatewayError> {
        let url = format!("{}/api/v1/exchange/global-configuration", directory_url.trim_end_matches('/'));
        let cache = data_dir.join("global-conf.jws");
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        let first = match fetch(&http, &url, &root).await {
            Ok((text, conf)) => {
                let _ = std::fs::write(&cache, &text);
                conf
            }
            Err(e) => {
                tracing::warn!(error = %e, "the directory cannot be reached; using the configuration on disk");
                let text = std::fs::read(&cache).map_err(|_| {
                    GatewayError::Conf(format!("no configuration: the directory failed ({e}) and none is on disk"))
                })?;
                verify(&text, &root)?
            }
        };
        Ok(ConfHolder { current: RwLock::new(Arc::new(Conf::from_global(first))), url, cache, root, http })
    }

    pub fn get(&self) -> Arc<Conf> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Fetches the configuration again; keeps the one held if the new one fails a check or
    /// is older.
    pub async fn refresh(&self) -> Result<bool, GatewayError> {
        let text = download(&self.http, &self.url).await?;
        // Checking the signature chain, parsing the directory, decoding every gateway's key
        // and writing the cache take milliseconds of CPU: off the threads that answer calls
        // (a gateway with one CPU would otherwise hold every call meanwhile).
        let (root, cache, held) = (self.root.clone(), self.cache.clone(), self.get().generated_at);
        let conf = tokio::task::spawn_blocking(move || {
            let conf = verify(&text, &root)?;
            if conf.generated_at < held {
                return Err(GatewayError::Conf("the directory sent a configuration older than the one held".into()));
            }
            let _ = std::fs::write(&cache, &text);
            Ok(Conf::from_global(conf))
        })
        .await
        .map_err(|e| GatewayError::Conf(format!("configuration check stopped: {e}")))??;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(conf);
        Ok(true)
    }
}

/// The configuration's text as the directory serves it (unchecked).
async fn download(http: &reqwest::Client, url: &str) -> Result<bytes::Bytes, GatewayError> {
    let resp = http.get(url).send().await.map_err(|e| GatewayError::Conf(format!("{url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(GatewayError::Conf(format!("{url}: {}", resp.status())));
    }
    resp.bytes().await.map_err(|e| GatewayError::Conf(format!("{url}: {e}")))
}

async fn fetch(http: &reqwest::Client, url: &str, root: &Certificate) -> Result<(Vec<u8>, GlobalConf), GatewayError> {
    let text = download(http, url).await?.to_vec();
    let conf = verify(&text, root)?;
    Ok((text, conf))
}
