//! CMS SignedData (RFC 5652) with the CAdES baseline signed attributes
//! (content-type, message-digest, signing-time, signing-certificate-v2), ECDSA P-256
//! with SHA-256. Used for detached `.p7s` signatures of result PDFs and for the
//! RFC 3161 time-stamp tokens of the built-in TSA.

use chrono::{DateTime, Utc};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use crate::TrustError;
use crate::cert::{self, ECDSA_WITH_SHA256};

/// id-aa-signingCertificateV2 (RFC 5035).
pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// Sen's unsigned attribute carrying a batched time-stamp (see `batch`), in the UUID arc.
pub const ID_SEN_BATCH_STAMP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.25.27182818.1");

/// IssuerSerial (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// ESSCertIDv2 (RFC 5035); the hash algorithm is the default SHA-256, so it is omitted.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// SigningCertificateV2 (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: rfc5912::ID_SHA_256, parameters: None }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, TrustError> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
}

fn any_of<T: Encode>(value: &T) -> Result<Any, TrustError> {
    Ok(Any::from_der(&value.to_der()?)?)
}

/// What to sign.
pub struct CmsContent<'a> {
    /// id-data for a detached document, id-ct-TSTInfo for a time-stamp token.
    pub content_type: ObjectIdentifier,
    /// The content bytes (hashed into message-digest).
    pub bytes: &'a [u8],
    /// Embed the content (time-stamp tokens) or leave it detached (`.p7s`).
    pub embed: bool,
    /// Embed the signer's chain (always, except time-stamp tokens not asking for it).
    pub with_certificates: bool,
}

/// Signs `content` with `key`, whose certificate is `chain[0]`; the whole chain is embedded.
pub fn sign(
    content: CmsContent<'_>,
    key: &SigningKey,
    chain: &[Certificate],
    signing_time: Option<DateTime<Utc>>,
) -> Result<ContentInfo, TrustError> {
    let signer = chain.first().ok_or(TrustError::Profile("a signature needs the signer's certificate"))?;
    let digest = Sha256::digest(content.bytes);
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(cert::cert_sha256(signer)?.to_vec())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(signer.tbs_certificate.issuer.clone())],
                serial_number: signer.tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    let mut attrs = vec![
        attribute(rfc5911::ID_CONTENT_TYPE, any_of(&content.content_type)?)?,
        attribute(rfc5911::ID_MESSAGE_DIGEST, any_of(&OctetString::new(digest.to_vec())?)?)?,
        attribute(ID_AA_SIGNING_CERTIFICATE_V2, any_of(&ess)?)?,
    ];
    if let Some(t) = signing_time {
        attrs.push(attribute(rfc5911::ID_SIGNING_TIME, any_of(&cert::x509_time(t)?)?)?);
    }
    let signed_attrs = SetOfVec::try_from(attrs)?;
    let signature: DerSignature = key.sign(&signed_attrs.to_der()?);
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.tbs_certificate.issuer.clone(),
            serial_number: signer.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None },
        signature: OctetString::new(signature.as_bytes().to_vec())?,
        unsigned_attrs: None,
    };
    let certs: Vec<CertificateChoices> = chain.iter().cloned().map(CertificateChoices::Certificate).collect();
    let econtent = if content.embed { Some(any_of(&OctetString::new(content.bytes.to_vec())?)?) } else { None };
    let signed = SignedData {
        version: if content.content_type == rfc5911::ID_DATA { CmsVersion::V1 } else { CmsVersion::V3 },
        digest_algorithms: SetOfVec::try_from(vec![sha256_alg()])?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: content.content_type, econtent },
        certificates: if content.with_certificates { Some(CertificateSet(SetOfVec::try_from(certs)?)) } else { None },
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    Ok(ContentInfo { content_type: rfc5911::ID_SIGNED_DATA, content: any_of(&signed)? })
}

/// Adds (or replaces) an unsigned attribute of the only signer; the signature stays valid.
pub fn set_unsigned_attribute(
    info: &ContentInfo,
    oid: ObjectIdentifier,
    value: Any,
) -> Result<ContentInfo, TrustError> {
    let mut signed = SignedData::from_der(&info.content.to_der()?)?;
    let mut signers: Vec<SignerInfo> = signed.signer_infos.0.into_vec();
    let signer = signers.first_mut().ok_or(TrustError::Malformed("no signer".into()))?;
    let mut attrs: Vec<Attribute> = signer.unsigned_attrs.take().map(SetOfVec::into_vec).unwrap_or_default();
    attrs.retain(|a| a.oid != oid);
    attrs.push(attribute(oid, value)?);
    signer.unsigned_attrs = Some(SetOfVec::try_from(attrs)?);
    signed.signer_infos = SignerInfos(SetOfVec::try_from(signers)?);
    Ok(ContentInfo { content_type: rfc5911::ID_SIGNED_DATA, content: any_of(&signed)? })
}

/// A CMS signature that checked out.
#[derive(Debug, Clone)]
pub struct CmsVerified {
    pub signer: Certificate,
    /// Every certificate embedded, the signer's included.
    pub certificates: Vec<Certificate>,
    pub content_type: ObjectIdentifier,
    /// The embedded content, if not detached.
    pub content: Option<Vec<u8>>,
    pub signing_time: Option<DateTime<Utc>>,
    /// The signature value, which batched time-stamps cover.
    pub signature: Vec<u8>,
    pub unsigned_attrs: Vec<Attribute>,
}

/// Verifies a DER ContentInfo holding SignedData: the one signer's signature over its
/// signed attributes, the message digest of the content (`detached` or embedded), the
/// content-type attribute and the signing-certificate-v2 binding.
pub fn verify(der_bytes: &[u8], detached: Option<&[u8]>) -> Result<CmsVerified, TrustError> {
    let info = ContentInfo::from_der(der_bytes).map_err(|_| TrustError::Malformed("not a DER CMS message".into()))?;
    if info.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(TrustError::Malformed("the CMS message is not SignedData".into()));
    }
    let signed = SignedData::from_der(&info.content.to_der()?)
        .map_err(|_| TrustError::Malformed("unreadable SignedData".into()))?;
    let certificates: Vec<Certificate> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let [signer_info] = signed.signer_infos.0.as_slice() else {
        return Err(TrustError::Malformed("exactly one signer expected".into()));
    };
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer_info.sid else {
        return Err(TrustError::Malformed("the signer is not named by issuer and serial".into()));
    };
    let signer = certificates
        .iter()
        .find(|c| c.tbs_certificate.issuer == sid.issuer && c.tbs_certificate.serial_number == sid.serial_number)
        .cloned()
        .ok_or(TrustError::Malformed("the signer's certificate is not embedded".into()))?;
    if signer_info.digest_alg.oid != rfc5912::ID_SHA_256 || signer_info.signature_algorithm.oid != ECDSA_WITH_SHA256 {
        return Err(TrustError::Malformed("only ECDSA with SHA-256 is accepted".into()));
    }
    let embedded = match &signed.encap_content_info.econtent {
        Some(any) => Some(OctetString::from_der(&any.to_der()?)?.into_bytes()),
        None => None,
    };
    let content = match (&embedded, detached) {
        (Some(e), _) => e.as_slice(),
        (None, Some(d)) => d,
        (None, None) => return Err(TrustError::Malformed("detached signature: the signed file is needed".into())),
    };
    let attrs = signer_info.signed_attrs.as_ref().ok_or(TrustError::Malformed("no signed attributes".into()))?;
    let find = |oid: ObjectIdentifier| attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.get(0));
    let digest = find(rfc5911::ID_MESSAGE_DIGEST).ok_or(TrustError::Malformed("no message-digest".into()))?;
    let digest = OctetString::from_der(&digest.to_der()?)?;
    let content_type = find(rfc5911::ID_CONTENT_TYPE).ok_or(TrustError::Malformed("no content-type".into()))?;
    if ObjectIdentifier::from_der(&content_type.to_der()?)? != signed.encap_content_info.econtent_type {
        return Err(TrustError::Malformed("the content-type attribute does not match".into()));
    }
    let key = cert::public_key(&signer)?;
    let sig = DerSignature::from_bytes(signer_info.signature.as_bytes()).map_err(|_| TrustError::BadSignature)?;
    key.verify(&attrs.to_der()?, &sig).map_err(|_| TrustError::BadSignature)?;
    if digest.as_bytes() != Sha256::digest(content).as_slice() {
        return Err(TrustError::ContentChanged);
    }
    let ess = find(ID_AA_SIGNING_CERTIFICATE_V2).ok_or(TrustError::Malformed("no signing-certificate-v2".into()))?;
    let ess = SigningCertificateV2::from_der(&ess.to_der()?)?;
    let bound = ess
        .certs
        .first()
        .is_some_and(|id| cert::cert_sha256(&signer).is_ok_and(|h| id.cert_hash.as_bytes() == h.as_slice()));
    if !bound {
        return Err(TrustError::Malformed("signing-certificate-v2 does not name the signer".into()));
    }
    let signing_time = match find(rfc5911::ID_SIGNING_TIME) {
        Some(t) => Some(cert::from_x509_time(&Time::from_der(&t.to_der()?)?)),
        None => None,
    };
    Ok(CmsVerified {
        signer,
        certificates,
        content_type: signed.encap_content_info.econtent_type,
        content: embedded,
        signing_time,
        signature: signer_info.signature.as_bytes().to_vec(),
        unsigned_attrs: signer_info.unsigned_attrs.clone().map(SetOfVec::into_vec).unwrap_or_default(),
    })
}

/// The value of an unsigned attribute as raw DER.
pub fn unsigned_attribute(v: &CmsVerified, oid: ObjectIdentifier) -> Option<Vec<u8>> {
    v.unsigned_attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.get(0)).and_then(|v| v.to_der().ok())
}
