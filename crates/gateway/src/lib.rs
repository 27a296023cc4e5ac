//! Sen's exchange gateway: one per member (X-Road calls it a security server).
//!
//! It has two faces. The **client proxy** listens on loopback for the member's own
//! information systems, which call services in X-Road's REST shape
//! (`GET /r1/VN/GOV/BCA/CSDLQGDC/residence/persons/…` with `X-Road-Client`). The **server
//! proxy** listens for peer gateways over mutual TLS and passes calls, once checked, to the
//! member's own services. Between the two, every message is signed by the gateway that
//! sends it and recorded by both (digests and signatures, in the tamper-evident log), and
//! access rights are enforced by the provider's gateway from the signed directory.
//!
//! - [`credentials`]: the keys and certificates in the gateway's directory;
//! - [`conf`]: the signed global configuration (directory, gateways, OpenAPI descriptions);
//! - [`tls`]: mutual TLS with the peer identified from the directory;
//! - [`proxy`]: the two proxies, their checks and records, operational monitoring;
//! - [`signer`]: message signatures in natural batches.

pub mod conf;
pub mod credentials;
pub mod proxy;
pub mod signer;
pub mod tls;

pub use proxy::{GatewayConfig, Running, start};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("gateway configuration: {0}")]
    Config(String),
    #[error("global configuration: {0}")]
    Conf(String),
    #[error(transparent)]
    Trust(#[from] sen_trust::TrustError),
    #[error(transparent)]
    Store(#[from] sen_store::StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<sen_trust::der::Error> for GatewayError {
    fn from(e: sen_trust::der::Error) -> Self {
        GatewayError::Trust(e.into())
    }
}
