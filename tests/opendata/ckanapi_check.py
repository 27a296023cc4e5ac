"""The CKAN Action API of Sen, checked with ckanapi, the client CKAN reusers use (issue #6).

    python3 tests/opendata/ckanapi_check.py http://127.0.0.1:8097 http://127.0.0.1:8098

Both URLs are Sen demo instances (`sen demo`, same seed). The first is read, written and
dumped; the dump is loaded into the second with `ckanapi load`, and the two are compared.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import ckanapi
import requests
from common import check, finish, token

def raises(exc, fn, what):
    try:
        fn()
    except exc:
        check(True, what)
        return
    except Exception as e:  # noqa: BLE001 - the wrong exception is the failure reported
        check(False, f"{what}: raised {type(e).__name__}: {e}")
        return
    check(False, f"{what}: nothing raised")


def reads(ckan):
    check(ckan.action.site_read() is True, "site_read")
    check(ckan.action.status_show()["locale_default"] == "vi", "status_show")
    names = ckan.action.package_list()
    check(len(names) >= 10, f"package_list: {len(names)} datasets")
    check(ckan.action.package_list(limit=3, offset=2) == names[2:5], "package_list pages")
    r = ckan.action.package_search(q="khong khi", **{"facet.field": '["organization","tags","res_format"]'})
    check(r["results"] and r["results"][0]["name"] == "chat-luong-khong-khi-theo-tram-quan-trac", "package_search without diacritics")
    check(r["search_facets"]["organization"]["items"][0]["name"] == "h01-snnmt", "search_facets")
    r = ckan.action.package_search(fq="organization:h01-snnmt AND res_format:CSV", sort="name asc")
    check(r["count"] == 2, f"fq fielded terms and AND: {r['count']}")
    r = ckan.action.package_search(q='title:"không khí" OR tags:"ngân sách"')
    check(r["count"] == 2, f"phrases and OR: {r['count']}")
    r = ckan.action.package_search(fq="metadata_modified:[2000-01-01T00:00:00Z TO *]", rows=1000)
    check(r["count"] == len(names), "ranges")
    r = ckan.action.package_search(q="*:*", fq="-groups:envi")
    check(0 < r["count"] < len(names), "NOT")
    d = ckan.action.package_show(id="chat-luong-khong-khi-theo-tram-quan-trac")
    check(d["num_resources"] == 2 and d["organization"]["name"] == "h01-snnmt", "package_show")
    check(ckan.action.resource_show(id=d["resources"][0]["id"])["package_id"] == d["id"], "resource_show")
    orgs = ckan.action.organization_list()
    check("h01-snnmt" in orgs, f"organization_list: {len(orgs)}")
    check(ckan.action.organization_show(id="h01-snnmt")["package_count"] == 2, "organization_show")
    groups = ckan.action.group_list(all_fields=True)
    check(len(groups) == 13 and ckan.action.group_show(id="envi")["name"] == "envi", "group_list, group_show")
    check("môi trường" in ckan.action.tag_list(), "tag_list")
    cur = ckan.action.current_package_list_with_resources(limit=5)
    check(len(cur) == 5 and all("resources" in x for x in cur), "current_package_list_with_resources")
    return names


def errors(ckan, anonymous):
    raises(ckanapi.NotFound, lambda: ckan.action.package_show(id="khong-co-bo-du-lieu-nay"), "NotFound for an unknown dataset")
    raises(ckanapi.NotFound, lambda: ckan.action.organization_show(id="khong-co"), "NotFound for an unknown organisation")
    raises(ckanapi.SearchQueryError, lambda: ckan.action.package_search(q="title:(dân"), "SearchQueryError for malformed q")
    raises(ckanapi.SearchQueryError, lambda: ckan.action.package_search(fq="colour:red"), "SearchQueryError for an unknown fq field")
    raises(ckanapi.ValidationError, lambda: ckan.action.package_search(rows=1001), "ValidationError for rows over 1000")
    raises(ckanapi.NotAuthorized, lambda: anonymous.action.package_create(name="khong-duoc", owner_org="h01-snnmt"), "NotAuthorized without a token")


def datastore(anonymous):
    """datastore_search and datastore_search_sql on a demo table, as a reuser calls them."""
    d = anonymous.action.package_show(id="chat-luong-khong-khi-theo-tram-quan-trac")
    rid = next(r["id"] for r in d["resources"] if r["format"] == "CSV" and r.get("url_type") == "upload")
    # The loader fills the demo's tables in the background, right after start.
    for _ in range(120):
        if anonymous.action.resource_show(id=rid)["datastore_active"]:
            break
        time.sleep(0.5)
    check(anonymous.action.resource_show(id=rid)["datastore_active"] is True, "datastore_active after the load")
    r = anonymous.action.datastore_search(resource_id=rid, limit=5)
    total = r["total"]
    check(r["fields"][0]["id"] == "_id" and 0 < len(r["records"]) <= 5 and total >= len(r["records"]), f"datastore_search: {total} rows")
    field = r["fields"][1]["id"]
    value = r["records"][0][field]
    f = anonymous.action.datastore_search(resource_id=rid, filters={field: value}, sort="_id desc", limit=1000)
    check(f["total"] >= 1 and all(x[field] == value for x in f["records"]), f"filters on {field}")
    check(f["records"][0]["_id"] > f["records"][-1]["_id"] or f["total"] == 1, "sort")
    c = anonymous.action.datastore_search(resource_id=rid, records_format="csv", limit=2, offset=1)
    check(isinstance(c["records"], str) and c["records"].startswith("2,"), "records_format=csv with offset")
    q = anonymous.action.datastore_search_sql(sql=f'SELECT count(*) AS n FROM "{rid}"')
    check(q["records"][0]["n"] == total, "datastore_search_sql")
    raises(ckanapi.ValidationError, lambda: anonymous.action.datastore_search(resource_id=rid, filters={"khong_co": 1}), "ValidationError for an unknown filter field")
    raises(ckanapi.NotFound, lambda: anonymous.action.datastore_search(resource_id="khong-co"), "NotFound for an unknown resource")
    raises(ckanapi.ValidationError, lambda: anonymous.action.datastore_search_sql(sql=f'DELETE FROM "{rid}"'), "ValidationError for SQL that is not a SELECT")
    raises(ckanapi.ValidationError, lambda: anonymous.action.datastore_search_sql(sql="SELECT 1; SELECT 2"), "ValidationError for two statements")
    raises(ckanapi.ValidationError, lambda: anonymous.action.datastore_search_sql(sql="SELEC 1"), "ValidationError for malformed SQL")
    raises(ckanapi.NotAuthorized, lambda: anonymous.action.datastore_search_sql(sql="SELECT * FROM users"), "NotAuthorized for a table that is not a datastore resource")
    check(anonymous.action.datastore_search(resource_id=rid, limit=0)["total"] == total, "refused SQL changed nothing")


def writes(ckan, other):
    before = ckan.action.package_search()["count"]
    new = {
        "name": "diem-thu-gom-rac-thai",
        "title": "Điểm thu gom rác thải sinh hoạt",
        "owner_org": "h01-snnmt",
        "tags": [{"name": "rác thải"}],
        "groups": [{"name": "envi"}],
        "frequency": "MONTHLY",
        "resources": [{"name": "Điểm thu gom", "url": "https://dulieu.hanoi.gov.vn/diem-thu-gom.csv"}],
    }
    raises(ckanapi.NotAuthorized, lambda: other.action.package_create(**new), "NotAuthorized for another agency's token")
    raises(ckanapi.ValidationError, lambda: ckan.action.package_create(**dict(new, name="Tên Sai")), "ValidationError for a bad name")
    check(ckan.action.package_search()["count"] == before, "refused writes change nothing")
    d = ckan.action.package_create(**new)
    check(d["name"] == new["name"] and d["resources"][0]["format"] == "CSV", "package_create")
    d = ckan.action.package_patch(id=d["id"], notes="Cập nhật hằng tháng")
    check(d["notes"] == "Cập nhật hằng tháng" and d["title"] == new["title"], "package_patch")
    d["title"] = "Điểm tập kết rác thải sinh hoạt"
    d = ckan.action.package_update(**d)
    check(d["title"] == "Điểm tập kết rác thải sinh hoạt" and d["num_resources"] == 1, "package_update")
    r = ckan.action.resource_create(package_id=d["id"], name="Bản đồ", url="https://dulieu.hanoi.gov.vn/diem-thu-gom.geojson")
    check(r["format"] == "GEOJSON", "resource_create")
    check(ckan.action.package_search(q="rac thai")["results"][0]["id"] == d["id"], "a new dataset is searchable at once")
    gone = ckan.action.package_create(**dict(new, name="tam-thoi", resources=[]))
    ckan.action.package_delete(id=gone["id"])
    raises(ckanapi.NotFound, lambda: ckan.action.package_show(id="tam-thoi"), "package_delete")
    return d


def cli(base_a, base_b, admin_b, names_a):
    # `ckanapi search datasets` pages through everything (1000 rows a query).
    out = subprocess.run(["ckanapi", "search", "datasets", "q=*:*", "-r", base_a], check=True, capture_output=True, text=True).stdout
    found = [json.loads(line)["name"] for line in out.splitlines() if line.strip()]
    check(sorted(found) == sorted(names_a), f"ckanapi search datasets: {len(found)} of {len(names_a)}")
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "datasets.jsonl")
        subprocess.run(["ckanapi", "dump", "datasets", "--all", "-q", "-r", base_a, "-O", dump], check=True)
        lines = [json.loads(x) for x in open(dump, encoding="utf-8") if x.strip()]
        check(len(lines) == len(names_a), f"ckanapi dump datasets --all: {len(lines)}")
        load = subprocess.run(["ckanapi", "load", "datasets", "-r", base_b, "-a", admin_b, "-I", dump], capture_output=True, text=True)
        check(load.returncode == 0, "ckanapi load datasets")
        # ckanapi reports a line per record: "<n> [<line>] <time> <create|update> <error or None> <detail>".
        replies = [x.split(None, 5) for x in (load.stdout + load.stderr).splitlines() if x.strip()]
        acts = [r for r in replies if len(r) >= 5 and r[3] in ("create", "update")]
        bad = [r for r in acts if r[4] != "None"]
        check(len(acts) == len(lines) and not bad, f"every dataset loaded ({len(acts)} replies): {bad[:3]}")
        check(any(r[3] == "create" for r in acts) and any(r[3] == "update" for r in acts), "the load both created and updated")
    b = ckanapi.RemoteCKAN(base_b)
    for d in lines:
        got = b.action.package_show(id=d["name"])
        same = (
            got["title"] == d["title"]
            and got["owner_org"] == d["owner_org"]
            and sorted(t["name"] for t in got["tags"]) == sorted(t["name"] for t in d["tags"])
            and [r["url"] for r in got["resources"]] == [r["url"] for r in d["resources"]]
        )
        if not same:
            check(False, f"round trip of {d['name']}")
            return
    check(True, f"round trip: {len(lines)} datasets equal in the second instance")


def main():
    base_a, base_b = sys.argv[1], sys.argv[2]
    publisher = token(base_a, "dulieumo")
    other = ckanapi.RemoteCKAN(base_a, apikey=token(base_a, "quantri"))
    ckan = ckanapi.RemoteCKAN(base_a, apikey=publisher)
    anonymous = ckanapi.RemoteCKAN(base_a)
    reads(anonymous)
    errors(ckan, anonymous)
    datastore(anonymous)
    writes(ckan, other)
    cli(base_a, base_b, token(base_b, "admin"), anonymous.action.package_list())
    finish("ckanapi")


if __name__ == "__main__":
    main()
