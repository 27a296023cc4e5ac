#!/usr/bin/env python3
"""Independent check of Sen's Merkle log proofs, with the standard library only.

Usage: check_log.py BASE_URL OLD_SIZE
Fetches the latest checkpoint, checks inclusion proofs of several entries against its
root and the consistency proof from the checkpoint at OLD_SIZE, with the algorithms of
RFC 9162 §2.1.3.2 and §2.1.4.2. Also checks that a changed proof is refused.
"""
import base64
import hashlib
import json
import sys
import urllib.request


def get(base, path):
    with urllib.request.urlopen(base + path) as r:
        return json.load(r)


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, path, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, old_root, new_root, proof):
    if m == n:
        return not proof and old_root == new_root
    if m == 0 or m > n or not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, old_root)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def main(base, old_size):
    b64 = base64.b64decode
    cp = get(base, "/api/v1/log/checkpoint")
    n, root = cp["size"], b64(cp["root"])
    signed = json.loads(base64.urlsafe_b64decode(cp["signed"]["payload"] + "=="))
    assert signed["size"] == n and b64(signed["root"]) == root, "the signed checkpoint says another thing"
    for i in sorted({0, n // 3, n // 2, n - 1}):
        p = get(base, f"/api/v1/log/proof/inclusion?index={i}&size={n}")
        path = [b64(h) for h in p["path"]]
        assert verify_inclusion(i, n, b64(p["leaf_hash"]), path, root), f"inclusion of {i} fails"
        if path:
            bad = [bytes([path[0][0] ^ 1]) + path[0][1:]] + path[1:]
            assert not verify_inclusion(i, n, b64(p["leaf_hash"]), bad, root), "a changed path must fail"
    old = get(base, f"/api/v1/log/checkpoints/{old_size}")
    c = get(base, f"/api/v1/log/proof/consistency?from={old_size}&to={n}")
    proof = [b64(h) for h in c["proof"]]
    assert verify_consistency(old_size, n, b64(old["root"]), root, proof), "consistency fails"
    if proof:
        bad = proof[:-1] + [bytes([proof[-1][0] ^ 1]) + proof[-1][1:]]
        assert not verify_consistency(old_size, n, b64(old["root"]), root, bad), "a changed proof must fail"
    print(f"log ok: inclusion proofs at size {n} and consistency {old_size} -> {n} verified")


if __name__ == "__main__":
    try:
        main(sys.argv[1].rstrip("/"), int(sys.argv[2]))
    except Exception as e:
        print(f"NOT valid: {type(e).__name__}: {e}")
        sys.exit(1)
