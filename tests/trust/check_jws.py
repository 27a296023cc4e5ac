#!/usr/bin/env python3
"""Independent check of a Sen result JWS with jwcrypto and pyca/cryptography.

Usage: check_jws.py RESULT.json CHAIN.pem
Exit status 0 when the JWS verifies (ES256) with the key of its x5c signer certificate,
the signer chains to the root in CHAIN.pem through the issuing CA there, and the signer
certificate is meant for signing documents. Exit status 1 otherwise.
"""
import base64
import json
import sys

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from jwcrypto import jwk, jws

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main(result_path, chain_path):
    text = open(result_path, encoding="utf-8").read()
    trusted = x509.load_pem_x509_certificates(open(chain_path, "rb").read())
    protected = json.loads(b64url(json.loads(text)["protected"]))
    x5c = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in protected["x5c"]]
    signer = x5c[0]

    # The path: signer <- an issuing CA we trust <- a root we trust.
    issuing = next(c for c in trusted if c.subject == signer.issuer and c.issuer != c.subject)
    signer.verify_directly_issued_by(issuing)
    root = next(c for c in trusted if c.subject == issuing.issuer and c.issuer == c.subject)
    issuing.verify_directly_issued_by(root)
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in eku or ExtendedKeyUsageOID.EMAIL_PROTECTION in eku, "not a signing certificate"

    # The JAdES header sigT is critical: tell jwcrypto we understand it.
    registry = {"sigT": jws.JWSEHeaderParameter("JAdES claimed signing time", False, True, None)}
    token = jws.JWS(header_registry=registry)
    token.deserialize(text)
    token.verify(jwk.JWK.from_pyca(signer.public_key()), alg="ES256")
    payload = json.loads(token.payload)
    print(f"valid JAdES signature by {signer.subject.rfc4514_string()}: {payload.get('document')} "
          f"for dossier {payload.get('dossier_code')}, signed {protected['sigT']}")


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except Exception as e:  # any failure is a verdict of "not valid"
        print(f"NOT valid: {type(e).__name__}: {e}")
        sys.exit(1)
