"""Sen's DCAT-AP 3 catalogue, checked with the tools harvesters use (issue #6).

    python3 tests/opendata/dcat_check.py http://127.0.0.1:8097 tests/opendata/dcat-ap-3.0.1

Walks the whole catalogue through its Hydra pages in Turtle, JSON-LD and RDF/XML, parses
every page with rdflib and checks the three syntaxes give the same graph, validates the
whole catalogue and every dataset's own document with pyshacl against the DCAT-AP 3.0.1
shapes (zero violations; the recommended shapes' warnings are counted and shown), and
checks `modified_since` and the errors of bad paging.
"""

import sys
from collections import Counter

import pyshacl
import rdflib
import requests
from rdflib.compare import to_isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF

from common import check, finish

HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
SYNTAXES = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}

def graph(url):
    r = requests.get(url, timeout=60)
    r.raise_for_status()
    ext = url.split("?")[0].rsplit(".", 1)[1]
    g = rdflib.Graph()
    g.parse(data=r.content, format=SYNTAXES[ext])
    return g, r.headers.get("content-type", "")


def without_paging(g):
    out = rdflib.Graph()
    for s, p, o in g:
        if not str(p).startswith(str(HYDRA)) and o != HYDRA.PagedCollection:
            out.add((s, p, o))
    return out


def violations(data, shapes):
    conforms, report, text = pyshacl.validate(data, shacl_graph=shapes, allow_warnings=True)
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    results = list(report.subjects(RDF.type, sh.ValidationResult))
    by_severity = Counter(str(report.value(r, sh.resultSeverity)).rsplit("#", 1)[1] for r in results)
    paths = Counter(str(report.value(r, sh.resultPath)) for r in results)
    return conforms, by_severity, paths, text


def walk(base, page_size):
    """Every page of the catalogue in Turtle; checks the other syntaxes of each page."""
    url = f"{base}/catalog.ttl?page_size={page_size}"
    whole = rdflib.Graph()
    pages = 0
    total = None
    seen = []
    while url:
        g, ctype = graph(url)
        pages += 1
        if pages == 1:
            check(ctype.startswith("text/turtle"), f"Turtle media type: {ctype}")
        for ext in ("jsonld", "rdf"):
            other, _ = graph(url.replace("/catalog.ttl", f"/catalog.{ext}"))
            # The same graph, but for the page links, which name their own syntax.
            links = [str(o) for p in (HYDRA.nextPage, HYDRA.firstPage) for o in other.objects(None, p)]
            if to_isomorphic(without_paging(other)) != to_isomorphic(without_paging(g)) or not all(
                f"/catalog.{ext}?" in link for link in links
            ):
                check(False, f"page {pages} in {ext} is the same graph as in Turtle")
        coll = next(g.subjects(RDF.type, HYDRA.PagedCollection), None)
        if coll is None:
            check(False, f"page {pages} has a hydra:PagedCollection")
            break
        total = int(g.value(coll, HYDRA.totalItems))
        seen.extend(g.objects(None, DCAT.dataset))
        whole += g
        nxt = g.value(coll, HYDRA.nextPage)
        url = str(nxt) if nxt is not None else None
        if pages > 10_000:
            check(False, "the pages end")
            break
    return whole, pages, total, seen


def main():
    base = sys.argv[1].rstrip("/")
    shapes_dir = sys.argv[2].rstrip("/")
    shapes = rdflib.Graph().parse(f"{shapes_dir}/dcat-ap-SHACL.ttl")
    recommended = rdflib.Graph().parse(f"{shapes_dir}/shapes_recommended.ttl")

    names = requests.get(f"{base}/api/3/action/package_list", timeout=30).json()["result"]
    whole, pages, total, seen = walk(base, 4)
    check(total == len(names), f"hydra:totalItems {total} = package_list {len(names)}")
    check(len(seen) == len(set(seen)) == len(names), f"{len(seen)} datasets over {pages} pages, none twice")
    check(pages == -(-len(names) // 4), f"{pages} pages of 4")
    check(len(set(whole.subjects(RDF.type, DCAT.Catalog))) == 1, "one dcat:Catalog")

    conforms, sev, paths, text = violations(whole, shapes)
    check(sev.get("Violation", 0) == 0 and conforms, f"whole catalogue conforms to DCAT-AP 3.0.1: {dict(sev)}")
    if not conforms:
        print(text[:4000])
    _, sev, paths, _ = violations(whole, recommended)
    check(sev.get("Violation", 0) == 0, f"recommended shapes: no violation, warnings {dict(paths)}")

    one, _ = graph(f"{base}/catalog.ttl?page_size=1000")
    check(len(set(one.objects(None, DCAT.dataset))) == len(names), "one page of 1000 holds every dataset")

    for name in names:
        show = requests.get(f"{base}/api/3/action/package_show", params={"id": name}, timeout=30).json()["result"]
        graphs = [graph(f"{base}/dataset/{show['id']}.{ext}")[0] for ext in SYNTAXES]
        same = all(to_isomorphic(g) == to_isomorphic(graphs[0]) for g in graphs[1:])
        ds = rdflib.URIRef(f"{base}/dataset/{show['id']}")
        title = graphs[0].value(ds, DCTERMS.title)
        dists = len(list(graphs[0].objects(ds, DCAT.distribution)))
        ok, sev, _, text = violations(graphs[0], shapes)
        good = same and str(title) == show["title"] and dists == len(show["resources"]) and ok
        check(good, f"dataset {name}: 3 syntaxes alike, title, {dists} distributions, conforms {dict(sev)}")
        if not ok:
            print(text[:2000])
    by_name, _ = graph(f"{base}/dataset/{names[0]}.ttl")
    check(len(by_name) > 0, "a dataset's document by name too")

    # modified_since keeps the datasets changed since then, and in the page links.
    modified = sorted(str(o) for o in whole.objects(None, DCTERMS.modified) if "T" in str(o))
    since = modified[len(modified) // 2][:10]
    g, _ = graph(f"{base}/catalog.ttl?modified_since={since}&page_size=1000")
    coll = next(g.subjects(RDF.type, HYDRA.PagedCollection))
    kept = list(g.objects(None, DCAT.dataset))
    newer = all(str(g.value(d, DCTERMS.modified)) >= since for d in kept)
    check(0 < len(kept) < len(names) and newer, f"modified_since={since}: {len(kept)} of {len(names)}, all newer")
    check(int(g.value(coll, HYDRA.totalItems)) == len(kept), "modified_since counts what it keeps")
    g, _ = graph(f"{base}/catalog.ttl?modified_since={since}&page_size=1")
    nxt = str(g.value(next(g.subjects(RDF.type, HYDRA.PagedCollection)), HYDRA.nextPage))
    check(f"modified_since={since}" in nxt and "page=2" in nxt, f"next page keeps the filter: {nxt}")

    r = requests.get(f"{base}/catalog", headers={"Accept": "application/ld+json"}, timeout=30)
    check(r.headers["content-type"].startswith("application/ld+json"), "Accept chooses JSON-LD at /catalog")
    rdflib.Graph().parse(data=r.content, format="json-ld")

    for query, code in [
        ("page=0", "invalid_page"),
        ("page=abc", "invalid_page"),
        ("page_size=5000", "invalid_page_size"),
        ("modified_since=yesterday", "invalid_modified_since"),
        ("page=100000", "page_out_of_range"),
    ]:
        r = requests.get(f"{base}/catalog.ttl?{query}", timeout=30)
        body = r.json() if r.headers.get("content-type", "").startswith("application/problem+json") else {}
        check(r.status_code == 400 and body.get("code") == code, f"{query}: 400 {code} ({r.status_code} {body.get('code')})")
    r = requests.get(f"{base}/dataset/no-such-dataset.ttl", timeout=30)
    check(r.status_code == 404, f"an unknown dataset's document is 404 ({r.status_code})")

    finish("DCAT")


if __name__ == "__main__":
    main()
