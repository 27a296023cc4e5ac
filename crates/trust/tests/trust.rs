//! The trust rules end to end, in memory: a CA, a seal, signed and time-stamped
//! documents, and every way a verifier must refuse them.

use chrono::{DateTime, Duration, Utc};
use der::{Decode, Encode};
use sen_trust::cert::{self, CertKind, Issuer, PublicUrls, Revocation, RevocationReason, Subject};
use sen_trust::verify::{self, Anchors, Input};
use sen_trust::{Certificate, SigningKey, batch, cades, jades, keys, tsa};

struct Pki {
    root: (Certificate, SigningKey),
    issuing: (Certificate, SigningKey),
    tsa: (Certificate, SigningKey),
}

fn subject(cn: &str) -> Subject {
    Subject {
        common_name: cn.into(), organization: "Ủy ban nhân dân phường Hoàn Kiếm".into(), unit: Some("HK".into())
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T08:00:00Z").unwrap().with_timezone(&Utc)
}

fn urls() -> PublicUrls {
    PublicUrls { base: "http://127.0.0.1:8080".into() }
}

fn pki() -> Pki {
    let root_key = keys::generate();
    let root = cert::issue_root(&subject("Sen Root CA"), &root_key, t0()).unwrap();
    let issuing_key = keys::generate();
    let issuing = cert::issue(
        CertKind::Issuing,
        &subject("Sen Issuing CA"),
        issuing_key.verifying_key(),
        Some(Issuer { cert: &root, key: &root_key }),
        t0(),
        &urls(),
    )
    .unwrap();
    let tsa_key = keys::generate();
    let tsa = leaf(CertKind::Tsa, "Sen TSA", &tsa_key, &issuing, &issuing_key);
    Pki { root: (root, root_key), issuing: (issuing, issuing_key), tsa: (tsa, tsa_key) }
}

fn leaf(kind: CertKind, cn: &str, key: &SigningKey, ca: &Certificate, ca_key: &SigningKey) -> Certificate {
    cert::issue(kind, &subject(cn), key.verifying_key(), Some(Issuer { cert: ca, key: ca_key }), t0(), &urls()).unwrap()
}

impl Pki {
    fn anchors(&self) -> Anchors {
        Anchors::new(vec![self.root.0.clone()], vec![self.issuing.0.clone()], Default::default())
    }
    fn seal(&self) -> (Certificate, SigningKey) {
        let key = keys::generate();
        (leaf(CertKind::Seal, "Con dấu UBND phường Hoàn Kiếm", &key, &self.issuing.0, &self.issuing.1), key)
    }
    fn tsa_chain(&self) -> Vec<Certificate> {
        vec![self.tsa.0.clone(), self.issuing.0.clone()]
    }
    /// A JWS of `doc` signed at `at`, time-stamped in a batch of three.
    fn stamped_jws(&self, seal: &(Certificate, SigningKey), doc: &serde_json::Value, at: DateTime<Utc>) -> jades::Jws {
        let chain = vec![seal.0.clone(), self.issuing.0.clone()];
        let jws = jades::sign(doc.to_string().as_bytes(), &seal.1, &chain, at).unwrap();
        let others = [b"one".to_vec(), b"two".to_vec()];
        let sig = jws.signature_bytes().unwrap();
        let all: Vec<&[u8]> = vec![&others[0], &sig, &others[1]];
        let stamps = batch::stamp(&all, 7, at, &self.tsa.1, &self.tsa_chain()).unwrap();
        jws.with_batch_stamp(&stamps[1])
    }
}

#[test]
fn certificates_have_the_profiles_relying_parties_expect() {
    let p = pki();
    assert!(cert::signed_by(&p.root.0, &p.root.0));
    assert!(cert::signed_by(&p.issuing.0, &p.root.0));
    assert!(cert::has_eku(&p.tsa.0, const_oid::db::rfc5280::ID_KP_TIME_STAMPING));
    let (seal, _) = p.seal();
    assert!(cert::signed_by(&seal, &p.issuing.0));
    assert!(!cert::signed_by(&seal, &p.root.0));
    assert!(cert::has_eku(&seal, cert::ID_KP_DOCUMENT_SIGNING));
    let facts = cert::facts(&seal).unwrap();
    assert_eq!(facts.subject, "Con dấu UBND phường Hoàn Kiếm");
    assert_eq!(facts.organization.as_deref(), Some("Ủy ban nhân dân phường Hoàn Kiếm"));
    assert_eq!(facts.not_before, t0());
    // A root cannot be made by `issue`, a leaf cannot sign itself.
    assert!(cert::issue(CertKind::Seal, &subject("x"), p.tsa.1.verifying_key(), None, t0(), &urls()).is_err());
}

#[test]
fn gateway_and_message_certificates_follow_their_profiles() {
    let p = pki();
    let issuer = || Some(cert::Issuer { cert: &p.issuing.0, key: &p.issuing.1 });
    let key = sen_trust::keys::generate();
    let spki = cert::p256_spki(key.verifying_key()).unwrap();
    let host = cert::AltName::of_host("127.0.0.1");
    assert_eq!(host, cert::AltName::Ip("127.0.0.1".parse().unwrap()));
    assert_eq!(cert::AltName::of_host("GW.bca.gov.vn"), cert::AltName::Dns("gw.bca.gov.vn".into()));
    let gw = cert::issue_for(
        CertKind::Gateway,
        &subject("gw"),
        spki.clone(),
        std::slice::from_ref(&host),
        issuer(),
        t0(),
        &urls(),
    )
    .unwrap();
    assert!(cert::signed_by(&gw, &p.issuing.0));
    assert!(cert::has_eku(&gw, const_oid::db::rfc5280::ID_KP_SERVER_AUTH));
    assert!(cert::has_eku(&gw, const_oid::db::rfc5280::ID_KP_CLIENT_AUTH));
    // A gateway names its host; a message certificate holds an Ed25519 key, a gateway's a P-256 one.
    assert!(cert::issue_for(CertKind::Gateway, &subject("gw"), spki.clone(), &[], issuer(), t0(), &urls()).is_err());
    assert!(cert::issue_for(CertKind::Message, &subject("m"), spki, &[], issuer(), t0(), &urls()).is_err());
    let ed = [7u8; 32];
    let ed_spki = cert::ed25519_spki(&ed).unwrap();
    assert!(
        cert::issue_for(CertKind::Gateway, &subject("gw"), ed_spki.clone(), &[host], issuer(), t0(), &urls()).is_err()
    );
    let m = cert::issue_for(CertKind::Message, &subject("m"), ed_spki, &[], issuer(), t0(), &urls()).unwrap();
    assert!(cert::signed_by(&m, &p.issuing.0));
    assert!(cert::has_eku(&m, cert::ID_KP_DOCUMENT_SIGNING));
    assert_eq!(cert::ed25519_public_key(&m).unwrap(), ed);
    assert!(cert::ed25519_public_key(&gw).is_err());
    assert!(cert::public_key(&m).is_err());
}

#[test]
fn a_time_stamped_jws_verifies_and_every_change_is_caught() {
    let p = pki();
    let seal = p.seal();
    let doc = serde_json::json!({"dossier": "HK-260105-ABCDEFGH", "result": "Giấy khai sinh"});
    let at = t0() + Duration::days(30);
    let jws = p.stamped_jws(&seal, &doc, at);
    let text = jws.to_json();
    let v = verify::verify(Input::Jws(text.as_bytes()), &p.anchors(), at + Duration::days(1));
    assert!(v.valid, "{v:?}");
    assert_eq!(v.format, Some("JAdES"));
    assert_eq!(v.payload.as_ref().unwrap()["result"], "Giấy khai sinh");
    assert_eq!(v.timestamp.as_ref().unwrap().batch_size, 3);
    assert_eq!(v.timestamp.as_ref().unwrap().time, at);
    assert_eq!(v.signing_time, Some(at));

    // The payload changed.
    let mut changed = jws.clone();
    changed.payload = base64_url(br#"{"dossier":"HK-260105-ABCDEFGH","result":"Giay khai tu"}"#);
    let v = verify::verify(Input::Jws(changed.to_json().as_bytes()), &p.anchors(), at);
    assert_eq!((v.valid, v.code, v.intact), (false, "signature_invalid", false));

    // The signature changed (one byte).
    let mut sig = jws.signature_bytes().unwrap();
    sig[10] ^= 1;
    let mut changed = jws.clone();
    changed.signature = base64_url(&sig);
    let v = verify::verify(Input::Jws(changed.to_json().as_bytes()), &p.anchors(), at);
    assert_eq!(v.code, "signature_invalid");

    // Truncated, foreign, and not JSON at all.
    for bad in [&text.as_bytes()[..text.len() / 2], b"{\"payload\":\"e30\"}".as_slice(), b"%PDF-1.7 hello".as_slice()] {
        let v = verify::verify(verify::detect(bad, None), &p.anchors(), at);
        assert!(!v.valid);
        assert!(["not_signed", "malformed"].contains(&v.code), "{v:?}");
    }

    // A seal from another CA.
    let other = pki();
    let foreign = other.stamped_jws(&other.seal(), &doc, at);
    let v = verify::verify(Input::Jws(foreign.to_json().as_bytes()), &p.anchors(), at);
    assert_eq!(v.code, "timestamp_invalid", "the foreign TSA is caught first: {v:?}");
    let unstamped =
        jades::sign(doc.to_string().as_bytes(), &other.seal().1, &[other.seal().0, other.issuing.0.clone()], at)
            .unwrap();
    let v = verify::verify(Input::Jws(unstamped.to_json().as_bytes()), &p.anchors(), at);
    assert!(!v.valid);
}

#[test]
fn revocation_counts_from_its_date_and_time_stamps_keep_older_signatures_valid() {
    let p = pki();
    let seal = p.seal();
    let doc = serde_json::json!({"n": 1});
    let signed_at = t0() + Duration::days(10);
    let jws = p.stamped_jws(&seal, &doc, signed_at).to_json();

    // Revoked after signing: still valid, the report says when and why.
    let mut p_anchors = p.anchors();
    p_anchors.revoked.insert(cert::serial_hex(&seal.0), (signed_at + Duration::days(5), RevocationReason::Superseded));
    let v = verify::verify(Input::Jws(jws.as_bytes()), &p_anchors, signed_at + Duration::days(100));
    assert!(v.valid, "{v:?}");
    assert_eq!(v.certificate.as_ref().unwrap().revocation_reason, Some("superseded"));

    // Revoked before signing: invalid.
    p_anchors
        .revoked
        .insert(cert::serial_hex(&seal.0), (signed_at - Duration::days(1), RevocationReason::KeyCompromise));
    let v = verify::verify(Input::Jws(jws.as_bytes()), &p_anchors, signed_at);
    assert_eq!((v.valid, v.code), (false, "certificate_revoked"));
    assert_eq!(v.certificate.as_ref().unwrap().status, "revoked");

    // Without a time-stamp the check happens now: after expiry it fails.
    let plain = jades::sign(b"{}", &seal.1, &[seal.0.clone(), p.issuing.0.clone()], signed_at).unwrap().to_json();
    let v = verify::verify(Input::Jws(plain.as_bytes()), &p.anchors(), t0() + Duration::days(3 * 366));
    assert_eq!(v.code, "certificate_expired");
    // With one, an expired seal still proves a signature made in time.
    let v = verify::verify(Input::Jws(jws.as_bytes()), &p.anchors(), t0() + Duration::days(3 * 366));
    assert!(v.valid);
}

#[test]
fn a_detached_cades_signature_verifies_and_catches_a_changed_file() {
    let p = pki();
    let seal = p.seal();
    let pdf = b"%PDF-1.7\n... Giay khai sinh ...\n%%EOF".to_vec();
    let at = t0() + Duration::days(2);
    let chain = vec![seal.0.clone(), p.issuing.0.clone()];
    let info = cades::sign(
        cades::CmsContent {
            content_type: const_oid::db::rfc5911::ID_DATA,
            bytes: &pdf,
            embed: false,
            with_certificates: true,
        },
        &seal.1,
        &chain,
        Some(at),
    )
    .unwrap();
    let sig = cades::verify(&info.to_der().unwrap(), Some(&pdf)).unwrap().signature;
    let stamps = batch::stamp(&[&sig], 1, at, &p.tsa.1, &p.tsa_chain()).unwrap();
    let info =
        cades::set_unsigned_attribute(&info, cades::ID_SEN_BATCH_STAMP, batch::as_cms_attribute(&stamps[0]).unwrap())
            .unwrap();
    let p7s = info.to_der().unwrap();

    let v = verify::verify(Input::Cms { signature: &p7s, content: Some(&pdf) }, &p.anchors(), at);
    assert!(v.valid, "{v:?}");
    assert_eq!(v.format, Some("CAdES"));
    assert_eq!(v.timestamp.unwrap().batch_size, 1);

    let mut changed = pdf.clone();
    changed[12] ^= 1;
    let v = verify::verify(Input::Cms { signature: &p7s, content: Some(&changed) }, &p.anchors(), at);
    assert_eq!((v.valid, v.code, v.intact), (false, "content_changed", false));
    let v = verify::verify(Input::Cms { signature: &p7s, content: None }, &p.anchors(), at);
    assert_eq!(v.code, "content_missing");
    let mut flipped = p7s.clone();
    let n = flipped.len();
    flipped[n - 40] ^= 1;
    let v = verify::verify(Input::Cms { signature: &flipped, content: Some(&pdf) }, &p.anchors(), at);
    assert!(!v.valid);
    let v = verify::verify(Input::Cms { signature: &p7s[..p7s.len() / 2], content: Some(&pdf) }, &p.anchors(), at);
    assert!(!v.valid);
}

#[test]
fn the_tsa_answers_requests_and_refuses_bad_ones() {
    let p = pki();
    let digest = [7u8; 32];
    let req = tsa::parse_request(&tsa::request_der(&digest, Some(42), true).unwrap()).unwrap();
    let token = tsa::stamp(&req, 99, t0(), &p.tsa.1, &p.tsa_chain()).unwrap();
    let resp = tsa::granted(&token).unwrap();
    let tok = tsa::token_of_response(&resp).unwrap();
    let v = tsa::verify_token(&tok, Some(&digest)).unwrap();
    assert_eq!(v.gen_time, t0());
    assert!(tsa::verify_token(&tok, Some(&[8u8; 32])).is_err());
    assert!(tsa::parse_request(b"garbage").is_err());
    let refused = tsa::refused(tsa::Refusal::BadDataFormat).unwrap();
    assert!(tsa::token_of_response(&refused).is_err());
}

#[test]
fn crls_list_revocations_with_reasons() {
    let p = pki();
    let (seal, _) = p.seal();
    let list = cert::crl(
        &Issuer { cert: &p.issuing.0, key: &p.issuing.1 },
        &[Revocation { serial_hex: cert::serial_hex(&seal), at: t0(), reason: RevocationReason::KeyCompromise }],
        3,
        t0(),
    )
    .unwrap();
    let der_bytes = list.to_der().unwrap();
    let read = cert::read_crl(&der_bytes, &p.issuing.0).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].serial_hex, cert::serial_hex(&seal));
    assert_eq!(read[0].reason, RevocationReason::KeyCompromise);
    assert!(cert::read_crl(&der_bytes, &p.root.0).is_err());
    assert!(x509_cert::crl::CertificateList::from_der(&der_bytes).is_ok());
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
