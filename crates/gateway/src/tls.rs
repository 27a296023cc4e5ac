//! Mutual TLS between gateways.
//!
//! The server side asks every peer for a certificate but decides who it is only after the
//! handshake, from the directory: the certificate's SHA-256 must be that of a registered,
//! not retired gateway. Deciding there, not in the handshake, lets a refused peer get an
//! X-Road error it can read (`Server.ServerProxy.SslAuthenticationFailed`) instead of a
//! broken connection. The handshake still proves that the peer holds the certificate's key.
//!
//! The client side checks the server's chain up to Sen's root and its name (webpki), and
//! then, per call, that the certificate is the one registered for the provider's gateway.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::GatewayError;
use crate::credentials::Credentials;

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Asks for a client certificate and checks the handshake signature made with its key;
/// who the certificate belongs to is decided afterwards, from the directory.
#[derive(Debug)]
struct PeerCertificate {
    provider: Arc<CryptoProvider>,
    roots: Vec<DistinguishedName>,
}

impl ClientCertVerifier for PeerCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.roots
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_error(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Config(format!("TLS: {e}"))
}

/// The server proxy's TLS configuration.
pub fn server_config(creds: &Credentials) -> Result<rustls::ServerConfig, GatewayError> {
    let provider = provider();
    let root = sen_trust::cert::cert_from_der(&creds.root)?;
    let subject = sen_trust::der::Encode::to_der(&root.tbs_certificate.subject)?;
    let verifier = PeerCertificate { provider: provider.clone(), roots: vec![DistinguishedName::from(subject)] };
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(creds.tls_chain.clone(), creds.tls_key.clone_key())
        .map_err(tls_error)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// The client proxy's TLS configuration: its own certificate for the peer, and Sen's root
/// as the only anchor for the peer's.
pub fn client_config(creds: &Credentials) -> Result<rustls::ClientConfig, GatewayError> {
    let provider = provider();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(creds.root.clone()).map_err(tls_error)?;
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(roots)
        .with_client_auth_cert(creds.tls_chain.clone(), creds.tls_key.clone_key())
        .map_err(tls_error)?;
    Ok(cfg)
}
