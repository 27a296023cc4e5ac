//! X.509 certificate profiles of Sen's certificate authority, and its CRLs.
//!
//! | kind      | issued by | key usage                        | extended key usage           |
//! |-----------|-----------|----------------------------------|------------------------------|
//! | root      | itself    | keyCertSign, cRLSign             | —                            |
//! | issuing   | root      | keyCertSign, cRLSign (pathLen 0) | —                            |
//! | seal      | issuing   | digitalSignature, nonRepudiation | documentSigning, emailProt.  |
//! | personal  | issuing   | digitalSignature, nonRepudiation | documentSigning, emailProt.  |
//! | tsa       | issuing   | digitalSignature, nonRepudiation | timeStamping (critical)      |
//! | log       | issuing   | digitalSignature                 | documentSigning              |
//! | gateway   | issuing   | digitalSignature                 | serverAuth, clientAuth       |
//! | message   | issuing   | digitalSignature                 | documentSigning (Ed25519 key)|
//!
//! A `gateway` certificate authenticates an exchange gateway in mutual TLS (P-256 key, the
//! gateway's host name or address as subjectAltName); a `message` certificate carries the
//! Ed25519 key with which a gateway signs every message it sends (see `docs/exchange.md`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519;
use const_oid::db::rfc5280;
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, SetOfVec, UtcTime};
use der::referenced::OwnedToRef;
use der::{Decode, Encode, EncodePem, Tag};
use ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;

/// A subject public key info (any algorithm).
pub type Spki = SubjectPublicKeyInfoOwned;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, CrlDistributionPoints, CrlNumber, CrlReason,
    ExtendedKeyUsage, SubjectAltName,
};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, Version};

use crate::TrustError;

/// id-kp-documentSigning (RFC 9336).
pub const ID_KP_DOCUMENT_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.36");
/// id-Ed25519 (RFC 8410).
pub const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-ecPublicKey (RFC 5480).
pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// ecdsa-with-SHA256.
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertKind {
    Root,
    Issuing,
    Seal,
    Personal,
    Tsa,
    Log,
    Gateway,
    Message,
}

impl CertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CertKind::Root => "root",
            CertKind::Issuing => "issuing",
            CertKind::Seal => "seal",
            CertKind::Personal => "personal",
            CertKind::Tsa => "tsa",
            CertKind::Log => "log",
            CertKind::Gateway => "gateway",
            CertKind::Message => "message",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "root" => CertKind::Root,
            "issuing" => CertKind::Issuing,
            "seal" => CertKind::Seal,
            "personal" => CertKind::Personal,
            "tsa" => CertKind::Tsa,
            "log" => CertKind::Log,
            "gateway" => CertKind::Gateway,
            "message" => CertKind::Message,
            _ => return None,
        })
    }

    /// How long a certificate of this kind is valid.
    pub fn lifetime(self) -> Duration {
        const DAY: u64 = 86_400;
        Duration::from_secs(match self {
            CertKind::Root => 20 * 365 * DAY,
            CertKind::Issuing => 10 * 365 * DAY,
            CertKind::Seal | CertKind::Tsa | CertKind::Log => 3 * 365 * DAY,
            CertKind::Gateway | CertKind::Message => 2 * 365 * DAY,
            CertKind::Personal => 2 * 365 * DAY,
        })
    }
}

/// Where relying parties fetch the CA certificates and the CRL.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    pub base: String,
}

impl PublicUrls {
    pub fn issuing_crl(&self) -> String {
        format!("{}/ca/issuing.crl", self.base.trim_end_matches('/'))
    }
    pub fn root_crl(&self) -> String {
        format!("{}/ca/root.crl", self.base.trim_end_matches('/'))
    }
    pub fn issuing_cert(&self) -> String {
        format!("{}/ca/issuing.crt", self.base.trim_end_matches('/'))
    }
    pub fn root_cert(&self) -> String {
        format!("{}/ca/root.crt", self.base.trim_end_matches('/'))
    }
}

/// A distinguished name from (attribute, value) pairs, values as UTF8String
/// (Vietnamese names need it) except the country, a PrintableString.
pub fn name(parts: &[(ObjectIdentifier, &str)]) -> Result<Name, TrustError> {
    let mut rdns = Vec::new();
    for (oid, value) in parts {
        let tag = if *oid == rfc4519::C { Tag::PrintableString } else { Tag::Utf8String };
        let atv = AttributeTypeAndValue { oid: *oid, value: der::Any::new(tag, value.as_bytes())? };
        rdns.push(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?));
    }
    Ok(RdnSequence(rdns))
}

/// The subject of a certificate to issue.
#[derive(Debug, Clone)]
pub struct Subject {
    pub common_name: String,
    pub organization: String,
    /// Organisational unit, e.g. the agency code.
    pub unit: Option<String>,
}

impl Subject {
    pub fn to_name(&self) -> Result<Name, TrustError> {
        let mut parts = vec![(rfc4519::C, "VN"), (rfc4519::O, self.organization.as_str())];
        if let Some(u) = &self.unit {
            parts.push((rfc4519::OU, u.as_str()));
        }
        parts.push((rfc4519::CN, self.common_name.as_str()));
        name(&parts)
    }
}

/// Reads one attribute of a name as text.
pub fn name_attr(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| std::str::from_utf8(atv.value.value()).ok().map(str::to_owned))
}

pub fn x509_time(t: DateTime<Utc>) -> Result<Time, TrustError> {
    let d = Duration::from_secs(t.timestamp().max(0) as u64);
    Ok(if t.timestamp() < 2_524_608_000 {
        Time::UtcTime(UtcTime::from_unix_duration(d)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?)
    })
}

pub fn from_x509_time(t: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.to_unix_duration().as_secs() as i64, 0).unwrap_or_default()
}

/// A random positive 16-byte serial number.
pub fn random_serial() -> Result<SerialNumber, TrustError> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x10;
    Ok(SerialNumber::new(&bytes)?)
}

/// An extension with the criticality we choose (the builder marks EKU non-critical;
/// RFC 3161 requires it critical for a TSA).
struct Critical<E>(E);

impl<E: const_oid::AssociatedOid> const_oid::AssociatedOid for Critical<E> {
    const OID: ObjectIdentifier = E::OID;
}

impl<E: Encode> Encode for Critical<E> {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.0.encoded_len()
    }
    fn encode(&self, w: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode(w)
    }
}

impl<E: Encode + const_oid::AssociatedOid> AsExtension for Critical<E> {
    fn critical(&self, _: &Name, _: &[Extension]) -> bool {
        true
    }
}

/// The issuer of a certificate about to be made: its certificate and key.
pub struct Issuer<'a> {
    pub cert: &'a Certificate,
    pub key: &'a SigningKey,
}

/// Issues a certificate of `kind` for `public_key`. Roots sign themselves (`issuer` None).
pub fn issue(
    kind: CertKind,
    subject: &Subject,
    public_key: &VerifyingKey,
    issuer: Option<Issuer<'_>>,
    not_before: DateTime<Utc>,
    urls: &PublicUrls,
) -> Result<Certificate, TrustError> {
    let spki = SubjectPublicKeyInfoOwned::from_key(*public_key).map_err(|e| TrustError::Encoding(e.to_string()))?;
    issue_for(kind, subject, spki, &[], issuer, not_before, urls)
}

/// A subjectAltName entry: a DNS name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AltName {
    Dns(String),
    Ip(std::net::IpAddr),
}

impl AltName {
    /// The alternative name of a host as written in an address (`127.0.0.1`, `gw.bca.gov.vn`).
    pub fn of_host(host: &str) -> AltName {
        match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
            Ok(ip) => AltName::Ip(ip),
            Err(_) => AltName::Dns(host.to_ascii_lowercase()),
        }
    }
}

/// Issues a certificate of `kind` for any subject public key (P-256 or Ed25519), with
/// `alt_names` as its subjectAltName (required for a gateway certificate).
pub fn issue_for(
    kind: CertKind,
    subject: &Subject,
    spki: SubjectPublicKeyInfoOwned,
    alt_names: &[AltName],
    issuer: Option<Issuer<'_>>,
    not_before: DateTime<Utc>,
    urls: &PublicUrls,
) -> Result<Certificate, TrustError> {
    match kind {
        CertKind::Gateway if alt_names.is_empty() => {
            return Err(TrustError::Profile("a gateway certificate names its host"));
        }
        CertKind::Message if spki.algorithm.oid != ID_ED25519 => {
            return Err(TrustError::Profile("a message-signing certificate holds an Ed25519 key"));
        }
        CertKind::Gateway if spki.algorithm.oid != ID_EC_PUBLIC_KEY => {
            return Err(TrustError::Profile("a gateway certificate holds a P-256 key"));
        }
        _ => {}
    }
    let not_after = not_before + chrono::Duration::from_std(kind.lifetime()).expect("lifetime fits");
    let validity = Validity { not_before: x509_time(not_before)?, not_after: x509_time(not_after)? };
    let serial = random_serial()?;
    let subject_name = subject.to_name()?;
    let Some(issuer) = issuer else {
        return Err(TrustError::Profile("only a root certificate signs itself; use issue_root"));
    };
    let issuer_name = issuer.cert.tbs_certificate.subject.clone();
    let profile = match kind {
        CertKind::Root => return Err(TrustError::Profile("a root certificate signs itself; use issue_root")),
        CertKind::Issuing => Profile::SubCA { issuer: issuer_name, path_len_constraint: Some(0) },
        _ => Profile::Leaf { issuer: issuer_name, enable_key_agreement: false, enable_key_encipherment: false },
    };
    let mut builder = CertificateBuilder::new(profile, serial, validity, subject_name, spki, issuer.key)?;
    match kind {
        CertKind::Seal | CertKind::Personal => {
            builder.add_extension(&ExtendedKeyUsage(vec![ID_KP_DOCUMENT_SIGNING, rfc5280::ID_KP_EMAIL_PROTECTION]))?
        }
        CertKind::Tsa => builder.add_extension(&Critical(ExtendedKeyUsage(vec![rfc5280::ID_KP_TIME_STAMPING])))?,
        CertKind::Log | CertKind::Message => builder.add_extension(&ExtendedKeyUsage(vec![ID_KP_DOCUMENT_SIGNING]))?,
        CertKind::Gateway => {
            builder.add_extension(&ExtendedKeyUsage(vec![rfc5280::ID_KP_SERVER_AUTH, rfc5280::ID_KP_CLIENT_AUTH]))?
        }
        CertKind::Root | CertKind::Issuing => {}
    }
    if !alt_names.is_empty() {
        let names = alt_names
            .iter()
            .map(|n| {
                Ok(match n {
                    AltName::Dns(d) => GeneralName::DnsName(Ia5String::new(d)?),
                    AltName::Ip(std::net::IpAddr::V4(a)) => GeneralName::IpAddress(OctetString::new(a.octets())?),
                    AltName::Ip(std::net::IpAddr::V6(a)) => GeneralName::IpAddress(OctetString::new(a.octets())?),
                })
            })
            .collect::<Result<Vec<_>, TrustError>>()?;
        builder.add_extension(&SubjectAltName(names))?;
    }
    let crl_url = if kind == CertKind::Issuing { urls.root_crl() } else { urls.issuing_crl() };
    let issuer_url = if kind == CertKind::Issuing { urls.root_cert() } else { urls.issuing_cert() };
    builder.add_extension(&CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![GeneralName::UniformResourceIdentifier(
            Ia5String::new(&crl_url)?,
        )])),
        reasons: None,
        crl_issuer: None,
    }]))?;
    builder.add_extension(&AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: rfc5280::ID_AD_CA_ISSUERS,
        access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(&issuer_url)?),
    }]))?;
    Ok(builder.build::<DerSignature>()?)
}

/// Issues a self-signed root certificate for `key`.
pub fn issue_root(subject: &Subject, key: &SigningKey, not_before: DateTime<Utc>) -> Result<Certificate, TrustError> {
    let spki =
        SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(|e| TrustError::Encoding(e.to_string()))?;
    let not_after = not_before + chrono::Duration::from_std(CertKind::Root.lifetime()).expect("lifetime fits");
    let validity = Validity { not_before: x509_time(not_before)?, not_after: x509_time(not_after)? };
    let builder = CertificateBuilder::new(Profile::Root, random_serial()?, validity, subject.to_name()?, spki, key)?;
    Ok(builder.build::<DerSignature>()?)
}

/// Facts about a certificate that reports and pages show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertFacts {
    pub serial: String,
    pub subject: String,
    pub organization: Option<String>,
    pub unit: Option<String>,
    pub issuer: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub sha256: String,
}

pub fn serial_hex(cert: &Certificate) -> String {
    hex::encode(cert.tbs_certificate.serial_number.as_bytes())
}

pub fn facts(cert: &Certificate) -> Result<CertFacts, TrustError> {
    let tbs = &cert.tbs_certificate;
    Ok(CertFacts {
        serial: serial_hex(cert),
        subject: name_attr(&tbs.subject, rfc4519::CN).unwrap_or_default(),
        organization: name_attr(&tbs.subject, rfc4519::O),
        unit: name_attr(&tbs.subject, rfc4519::OU),
        issuer: name_attr(&tbs.issuer, rfc4519::CN).unwrap_or_default(),
        not_before: from_x509_time(&tbs.validity.not_before),
        not_after: from_x509_time(&tbs.validity.not_after),
        sha256: hex::encode(Sha256::digest(cert.to_der()?)),
    })
}

pub fn cert_from_der(der: &[u8]) -> Result<Certificate, TrustError> {
    Certificate::from_der(der).map_err(|_| TrustError::Malformed("not a DER X.509 certificate".into()))
}

pub fn to_pem(cert: &Certificate) -> Result<String, TrustError> {
    Ok(cert.to_pem(der::pem::LineEnding::LF)?)
}

/// The subject public key of a certificate, if it is a P-256 key.
pub fn public_key(cert: &Certificate) -> Result<VerifyingKey, TrustError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes())
        .map_err(|_| TrustError::Malformed("the certificate does not hold a P-256 key".into()))
}

/// The subject public key of a certificate, if it is an Ed25519 key: its 32 bytes.
pub fn ed25519_public_key(cert: &Certificate) -> Result<[u8; 32], TrustError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != ID_ED25519 {
        return Err(TrustError::Malformed("the certificate does not hold an Ed25519 key".into()));
    }
    <[u8; 32]>::try_from(spki.subject_public_key.raw_bytes())
        .map_err(|_| TrustError::Malformed("an Ed25519 key has 32 bytes".into()))
}

/// The subject public key info of an Ed25519 public key.
pub fn ed25519_spki(public_key: &[u8; 32]) -> Result<SubjectPublicKeyInfoOwned, TrustError> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned { oid: ID_ED25519, parameters: None },
        subject_public_key: BitString::from_bytes(public_key)?,
    })
}

/// The subject public key info of a P-256 public key.
pub fn p256_spki(public_key: &VerifyingKey) -> Result<SubjectPublicKeyInfoOwned, TrustError> {
    SubjectPublicKeyInfoOwned::from_key(*public_key).map_err(|e| TrustError::Encoding(e.to_string()))
}

/// Does `issuer` hold the key that signed `cert`, and name it as issuer?
pub fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    use ecdsa::signature::Verifier;
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject
        || cert.signature_algorithm.oid != ECDSA_WITH_SHA256
    {
        return false;
    }
    let Ok(key) = public_key(issuer) else { return false };
    let Ok(tbs) = cert.tbs_certificate.to_der() else { return false };
    let Ok(sig) = p256::ecdsa::DerSignature::from_bytes(cert.signature.raw_bytes()) else { return false };
    key.verify(&tbs, &sig).is_ok()
}

/// Does the certificate carry this extended key usage?
pub fn has_eku(cert: &Certificate, oid: ObjectIdentifier) -> bool {
    cert.tbs_certificate.extensions.iter().flatten().any(|ext| {
        ext.extn_id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE
            && ExtendedKeyUsage::from_der(ext.extn_value.as_bytes()).is_ok_and(|eku| eku.0.contains(&oid))
    })
}

/// One revoked certificate as the CRL lists it.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub serial_hex: String,
    pub at: DateTime<Utc>,
    pub reason: RevocationReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
}

impl RevocationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "unspecified" => RevocationReason::Unspecified,
            "keyCompromise" => RevocationReason::KeyCompromise,
            "affiliationChanged" => RevocationReason::AffiliationChanged,
            "superseded" => RevocationReason::Superseded,
            "cessationOfOperation" => RevocationReason::CessationOfOperation,
            _ => return None,
        })
    }
    fn crl_reason(self) -> CrlReason {
        match self {
            RevocationReason::Unspecified => CrlReason::Unspecified,
            RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
            RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
            RevocationReason::Superseded => CrlReason::Superseded,
            RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
        }
    }
}

/// A CRL signed by `issuer`, valid from `this_update` for 7 days.
pub fn crl(
    issuer: &Issuer<'_>,
    revoked: &[Revocation],
    number: u64,
    this_update: DateTime<Utc>,
) -> Result<CertificateList, TrustError> {
    let algorithm = spki::AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None };
    let mut entries = Vec::new();
    for r in revoked {
        let serial =
            SerialNumber::new(&hex::decode(&r.serial_hex).map_err(|_| TrustError::Malformed("serial".into()))?)?;
        let reason = r.reason.crl_reason();
        entries.push(RevokedCert {
            serial_number: serial,
            revocation_date: x509_time(r.at)?,
            crl_entry_extensions: Some(vec![Extension {
                extn_id: const_oid::db::rfc5280::ID_CE_CRL_REASONS,
                critical: false,
                extn_value: OctetString::new(reason.to_der()?)?,
            }]),
        });
    }
    let aki = AuthorityKeyIdentifier::try_from(issuer.cert.tbs_certificate.subject_public_key_info.owned_to_ref())?;
    let number_bytes = number.to_be_bytes();
    let tbs = TbsCertList {
        version: Version::V2,
        signature: algorithm.clone(),
        issuer: issuer.cert.tbs_certificate.subject.clone(),
        this_update: x509_time(this_update)?,
        next_update: Some(x509_time(this_update + chrono::Duration::days(7))?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![
            Extension {
                extn_id: const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
                critical: false,
                extn_value: OctetString::new(aki.to_der()?)?,
            },
            Extension {
                extn_id: const_oid::db::rfc5280::ID_CE_CRL_NUMBER,
                critical: false,
                extn_value: OctetString::new(CrlNumber(der::asn1::Uint::new(&number_bytes)?).to_der()?)?,
            },
        ]),
    };
    let sig: DerSignature = issuer.key.sign(&tbs.to_der()?);
    Ok(CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(sig.as_bytes())?,
    })
}

/// Reads the revocations out of a CRL after checking its signature.
pub fn read_crl(der_bytes: &[u8], issuer: &Certificate) -> Result<Vec<Revocation>, TrustError> {
    use ecdsa::signature::Verifier;
    let list = CertificateList::from_der(der_bytes).map_err(|_| TrustError::Malformed("not a DER CRL".into()))?;
    let key = public_key(issuer)?;
    let sig = DerSignature::from_bytes(list.signature.raw_bytes()).map_err(|_| TrustError::BadSignature)?;
    key.verify(&list.tbs_cert_list.to_der()?, &sig).map_err(|_| TrustError::BadSignature)?;
    let mut out = Vec::new();
    for r in list.tbs_cert_list.revoked_certificates.iter().flatten() {
        let reason = r
            .crl_entry_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS)
            .and_then(|e| CrlReason::from_der(e.extn_value.as_bytes()).ok());
        let reason = match reason {
            Some(CrlReason::KeyCompromise) => RevocationReason::KeyCompromise,
            Some(CrlReason::AffiliationChanged) => RevocationReason::AffiliationChanged,
            Some(CrlReason::Superseded) => RevocationReason::Superseded,
            Some(CrlReason::CessationOfOperation) => RevocationReason::CessationOfOperation,
            _ => RevocationReason::Unspecified,
        };
        out.push(Revocation {
            serial_hex: hex::encode(r.serial_number.as_bytes()),
            at: from_x509_time(&r.revocation_date),
            reason,
        });
    }
    Ok(out)
}

/// The SHA-256 of a certificate's DER, as ESSCertIDv2 and `x5t#S256` use it.
pub fn cert_sha256(cert: &Certificate) -> Result<[u8; 32], TrustError> {
    Ok(Sha256::digest(cert.to_der()?).into())
}
