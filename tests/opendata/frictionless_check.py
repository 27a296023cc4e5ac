"""Every dataset's datapackage.json, checked with frictionless, the Frictionless Data tool
reusers run (issue #6), and an upload through ckanapi.

    python3 tests/opendata/frictionless_check.py http://127.0.0.1:8097

`frictionless validate` reads each package, downloads each resource from Sen, and checks
the rows against the Table Schema Sen inferred. A CSV uploaded with ckanapi's
`resource_create(upload=…)` gets its schema and validates too; a ragged CSV is refused with a
Validation Error and changes nothing.
"""

import io
import json
import subprocess
import sys

import ckanapi
import requests
from common import check, finish, token

def validate(url):
    out = subprocess.run(["frictionless", "validate", "--json", url], capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        return False, out.stdout[-2000:] + out.stderr[-2000:]
    errors = [e.get("message") for t in report.get("tasks", []) for e in t.get("errors", [])] + [
        e.get("message") for e in report.get("errors", [])
    ]
    return report.get("valid") is True, "; ".join(str(e) for e in errors[:5])


def main():
    base = sys.argv[1].rstrip("/")
    ckan = ckanapi.RemoteCKAN(base)
    names = ckan.action.package_list()
    tabular = validated = 0
    for name in names:
        pkg = requests.get(f"{base}/dataset/{name}/datapackage.json", timeout=30).json()
        if not all(r["path"].startswith(base + "/") for r in pkg["resources"]):
            # Links to files elsewhere (other portals): frictionless would fetch them.
            print(f"--   {name}: resources linked elsewhere, not fetched")
            continue
        validated += 1
        tabular += sum(1 for r in pkg["resources"] if "schema" in r)
        ok, why = validate(f"{base}/dataset/{name}/datapackage.json")
        check(ok, f"frictionless validate {name} ({len(pkg['resources'])} resources) {why}")
    check(validated >= 14 and tabular >= validated, f"{validated} packages validated, {tabular} Table Schemas")

    publisher = ckanapi.RemoteCKAN(base, apikey=token(base, "dulieumo"))
    ds = publisher.action.package_create(
        name="diem-do-tieng-on", title="Điểm đo tiếng ồn", owner_org="h01-snnmt", notes="Mức ồn đo tại các nút giao."
    )
    csv = "ma_diem,ngay_do,muc_on_db,vuot_nguong\nON01,2026-11-30,72.5,true\nON02,2026-11-30,64,false\n"
    res = publisher.action.resource_create(
        package_id=ds["id"], name="Mức ồn", upload=("muc-on.csv", io.BytesIO(csv.encode()))
    )
    types = [f["type"] for f in res.get("schema", {}).get("fields", [])]
    check(types == ["string", "date", "number", "boolean"], f"uploaded CSV's schema: {types}")
    check(res["url_type"] == "upload" and res["size"] == len(csv.encode()), "the upload is described: url_type, size")
    body = requests.get(res["url"], timeout=30)
    check(body.status_code == 200 and body.text == csv, "the upload is served as sent")
    ok, why = validate(f"{base}/dataset/{ds['name']}/datapackage.json")
    check(ok, f"frictionless validate the uploaded table's package {why}")

    before = ckan.action.package_show(id=ds["id"])
    try:
        publisher.action.resource_create(package_id=ds["id"], upload=("lech.csv", io.BytesIO(b"a,b\n1,2\n3\n")))
        check(False, "a ragged CSV is refused")
    except ckanapi.ValidationError as e:
        check("upload" in str(e), f"a ragged CSV is refused: {e}")
    after = ckan.action.package_show(id=ds["id"])
    check(len(after["resources"]) == len(before["resources"]), "the refused upload changed nothing")

    finish("frictionless")


if __name__ == "__main__":
    main()
