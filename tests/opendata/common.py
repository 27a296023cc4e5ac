"""What the open-data checks share: reporting and a demo account's API token."""

import os
import sys

import requests

PASSWORD = os.environ.get("SEN_DEMO_PASSWORD", "sen-demo-2026")
FAILED = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILED.append(what)


def token(base, username, name="ckanapi"):
    """An API token of a demo account (signed in with the demo password)."""
    s = requests.Session()
    r = s.post(f"{base}/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    r = s.post(f"{base}/api/v1/auth/tokens", json={"name": name}, headers={"x-csrf-token": r.json()["csrf_token"]}, timeout=30)
    r.raise_for_status()
    return r.json()["token"]


def finish(what):
    """Lists the failures and exits 1 if there were any."""
    if FAILED:
        print(f"\n{len(FAILED)} {what} check(s) failed:")
        for f in FAILED:
            print("  - " + f)
        sys.exit(1)
    print(f"\nall {what} checks passed")
