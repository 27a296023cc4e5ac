//! The catalogue in DCAT-AP 3 (issue #6): datasets as CKAN dictionaries turned into RDF
//! that harvesters read, in Turtle, JSON-LD and RDF/XML, with Hydra paging for the whole
//! catalogue. No I/O: a [`Graph`] is built in memory, one page at a time, and written to
//! bytes.
//!
//! The catalogue names no `dcat:DataService`: the DCAT-AP 3.0.1 shapes refer to two
//! data-service property shapes that they do not define, and a validator given such a node
//! stops with an error instead of a report.
//!
//! Every node that a DCAT-AP shape constrains by class (publishers, themes, licences,
//! frequencies, formats, languages…) is typed and labelled in the same graph, so a page
//! conforms to the shapes on its own, without fetching the EU vocabularies.

use chrono::{NaiveDate, NaiveDateTime};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{BlankNode, Literal, NamedNode, NamedOrBlankNode, Term, Triple};
use serde_json::Value;
use std::collections::HashSet;

pub const DCAT: &str = "http://www.w3.org/ns/dcat#";
pub const DCT: &str = "http://purl.org/dc/terms/";
pub const FOAF: &str = "http://xmlns.com/foaf/0.1/";
pub const VCARD: &str = "http://www.w3.org/2006/vcard/ns#";
pub const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
pub const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";
pub const DCATAP: &str = "http://data.europa.eu/r5r/";
pub const LOCN: &str = "http://www.w3.org/ns/locn#";
const WKT: &str = "http://www.opengis.net/ont/geosparql#wktLiteral";
const EU: &str = "http://publications.europa.eu/resource/authority/";

/// The prefixes written in Turtle, RDF/XML and JSON-LD.
pub const PREFIXES: &[(&str, &str)] = &[
    ("dcat", DCAT),
    ("dct", DCT),
    ("foaf", FOAF),
    ("vcard", VCARD),
    ("skos", SKOS),
    ("hydra", HYDRA),
    ("dcatap", DCATAP),
    ("locn", LOCN),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

/// Most datasets on one page of the catalogue.
pub const MAX_PAGE_SIZE: u64 = 1000;
/// Datasets on a page unless the client asks otherwise (what ckanext-dcat uses).
pub const DEFAULT_PAGE_SIZE: u64 = 100;

/// An RDF syntax the catalogue is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Turtle,
    JsonLd,
    RdfXml,
}

impl Syntax {
    /// From a file extension: `ttl`, `jsonld`, `rdf` or `xml`.
    pub fn from_extension(ext: &str) -> Option<Syntax> {
        match ext {
            "ttl" => Some(Syntax::Turtle),
            "jsonld" => Some(Syntax::JsonLd),
            "rdf" | "xml" => Some(Syntax::RdfXml),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Syntax::Turtle => "ttl",
            Syntax::JsonLd => "jsonld",
            Syntax::RdfXml => "rdf",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Syntax::Turtle => "text/turtle; charset=utf-8",
            Syntax::JsonLd => "application/ld+json",
            Syntax::RdfXml => "application/rdf+xml",
        }
    }
}

/// Who runs the portal and what it is called: the catalogue's own description.
#[derive(Debug, Clone)]
pub struct CatalogInfo {
    /// Where Sen is reached, without a trailing `/`; every IRI Sen mints starts with it.
    pub base: String,
    pub title: String,
    pub description: String,
    /// The publisher as a CKAN organisation dictionary (`name`, `title`, `level`).
    pub publisher: Value,
    /// The first dataset's publication (CKAN time or RFC 3339).
    pub issued: Option<String>,
    /// The last change to any dataset.
    pub modified: Option<String>,
}

/// Which page of the whole catalogue a graph holds.
#[derive(Debug, Clone)]
pub struct Paging {
    /// From 1.
    pub page: u64,
    pub page_size: u64,
    /// Datasets in the catalogue (after `modified_since`).
    pub total: u64,
    /// Kept in the page links.
    pub modified_since: Option<String>,
    pub syntax: Syntax,
}

impl Paging {
    pub fn last_page(&self) -> u64 {
        self.total.div_ceil(self.page_size.max(1)).max(1)
    }
}

/// An RDF graph being built: triples in the order they were added, and the descriptions
/// of shared nodes (a theme, a licence…) once each, after them.
#[derive(Debug, Default)]
pub struct Graph {
    triples: Vec<Triple>,
    shared: Vec<Triple>,
    described: HashSet<String>,
    blanks: u64,
}

fn node(iri: &str) -> NamedNode {
    NamedNode::new_unchecked(iri)
}

fn term(prefix: &str, local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{prefix}{local}"))
}

fn vi(text: &str) -> Literal {
    Literal::new_language_tagged_literal_unchecked(text, "vi")
}

fn en(text: &str) -> Literal {
    Literal::new_language_tagged_literal_unchecked(text, "en")
}

/// An IRI a client gave (a resource URL, an e-mail address) if it is one.
fn checked_iri(s: &str) -> Option<NamedNode> {
    NamedNode::new(s.trim()).ok().filter(|n| n.as_str().contains(':'))
}

/// A CKAN time (`2025-01-31T10:00:00.123456`, UTC without a zone) or RFC 3339 time as an
/// `xsd:dateTime` in UTC.
fn date_time(s: &str) -> Option<Literal> {
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()?;
    Some(Literal::new_typed_literal(t.format("%Y-%m-%dT%H:%M:%SZ").to_string(), xsd::DATE_TIME))
}

fn date(s: &str) -> Option<Literal> {
    let d = NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()?;
    Some(Literal::new_typed_literal(d.format("%Y-%m-%d").to_string(), xsd::DATE))
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).map(str::trim).unwrap_or_default()
}

/// A format's code in the EU file-type vocabulary and its IANA media type.
pub fn file_type(format: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match format.to_uppercase().as_str() {
        "CSV" => ("CSV", Some("text/csv")),
        "JSON" => ("JSON", Some("application/json")),
        "GEOJSON" => ("GEOJSON", Some("application/geo+json")),
        "XML" => ("XML", Some("application/xml")),
        "XLSX" => ("XLSX", Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
        "XLS" => ("XLS", Some("application/vnd.ms-excel")),
        "ODS" => ("ODS", Some("application/vnd.oasis.opendocument.spreadsheet")),
        "PDF" => ("PDF", Some("application/pdf")),
        "ZIP" => ("ZIP", Some("application/zip")),
        "HTML" => ("HTML", Some("text/html")),
        "TXT" => ("TXT", Some("text/plain")),
        "TTL" | "TURTLE" => ("RDF_TURTLE", Some("text/turtle")),
        "RDF" => ("RDF_XML", Some("application/rdf+xml")),
        "JSONLD" | "JSON-LD" => ("JSON_LD", Some("application/ld+json")),
        "KML" => ("KML", Some("application/vnd.google-earth.kml+xml")),
        "SHP" => ("SHP", None),
        "API" => ("REST", None),
        _ => return None,
    })
}

/// The ADMS licence type of a licence: public domain, share-alike or attribution.
fn licence_type(id: &str) -> (&'static str, &'static str) {
    match id {
        "cc-zero" | "odc-pddl" => ("PublicDomain", "Public domain"),
        "cc-by-sa-4.0" | "odc-odbl" => ("ShareAlike", "Share alike"),
        _ => ("Attribution", "Attribution"),
    }
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    pub fn len(&self) -> usize {
        self.triples.len() + self.shared.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn add(&mut self, s: impl Into<NamedOrBlankNode>, p: impl Into<NamedNode>, o: impl Into<Term>) {
        self.triples.push(Triple::new(s, p, o));
    }

    fn blank(&mut self) -> BlankNode {
        self.blanks += 1;
        BlankNode::new_unchecked(format!("n{}", self.blanks))
    }

    /// Describes a shared node once per graph: `types` and `labels` (Vietnamese, English).
    fn describe(&mut self, iri: &NamedNode, types: &[NamedNode], labels: &[Literal], extra: &[(NamedNode, Term)]) {
        if !self.described.insert(iri.as_str().to_string()) {
            return;
        }
        for t in types {
            self.shared.push(Triple::new(iri.clone(), rdf::TYPE, t.clone()));
        }
        for l in labels {
            self.shared.push(Triple::new(iri.clone(), term(SKOS, "prefLabel"), l.clone()));
        }
        for (p, o) in extra {
            self.shared.push(Triple::new(iri.clone(), p.clone(), o.clone()));
        }
    }

    fn concept(&mut self, iri: &NamedNode, also: &[NamedNode], label: &str, scheme: &str) {
        let mut types = vec![term(SKOS, "Concept")];
        types.extend_from_slice(also);
        self.describe(iri, &types, &[en(label)], &[(term(SKOS, "inScheme"), node(scheme).into())]);
    }

    fn vietnamese(&mut self) -> NamedNode {
        let iri = node(&format!("{EU}language/VIE"));
        self.describe(&iri, &[term(DCT, "LinguisticSystem")], &[vi("Tiếng Việt"), en("Vietnamese")], &[]);
        iri
    }

    fn vietnam(&mut self) -> NamedNode {
        let iri = node(&format!("{EU}country/VNM"));
        let wkt = |s: &str| Term::from(Literal::new_typed_literal(s, node(WKT)));
        // The mainland's extent; the islands' waters lie beyond it.
        self.describe(
            &iri,
            &[term(DCT, "Location")],
            &[vi("Việt Nam"), en("Viet Nam")],
            &[
                (term(DCAT, "bbox"), wkt("POLYGON((102.14 8.18,109.47 8.18,109.47 23.39,102.14 23.39,102.14 8.18))")),
                (term(DCAT, "centroid"), wkt("POINT(105.85 16.05)")),
            ],
        );
        iri
    }

    fn document(&mut self, iri: &NamedNode) {
        self.describe(iri, &[term(FOAF, "Document")], &[], &[]);
    }

    /// A CKAN organisation dictionary as a `foaf:Agent` with its ADMS publisher type.
    fn agent(&mut self, base: &str, org: &Value) -> Option<NamedNode> {
        let name = text(org, "name");
        if name.is_empty() {
            return None;
        }
        let iri = node(&format!("{base}/organization/{name}"));
        let title = match text(org, "title") {
            "" => name,
            t => t,
        };
        let (kind, label) = match text(org, "level") {
            "central" => ("NationalAuthority", "National authority"),
            "commune" => ("LocalAuthority", "Local authority"),
            _ => ("RegionalAuthority", "Regional authority"),
        };
        let kind = node(&format!("http://purl.org/adms/publishertype/{kind}"));
        self.concept(&kind, &[], label, "http://purl.org/adms/publishertype/1.0");
        self.describe(
            &iri,
            &[term(FOAF, "Agent"), term(FOAF, "Organization")],
            &[],
            &[(term(FOAF, "name"), vi(title).into()), (term(DCT, "type"), kind.into())],
        );
        Some(iri)
    }

    /// A dataset's IRI: `{base}/dataset/{id}`.
    pub fn dataset_iri(base: &str, id: &str) -> String {
        format!("{base}/dataset/{id}")
    }

    /// Adds a dataset from its CKAN dictionary (what `package_show` returns); gives its IRI.
    pub fn add_dataset(&mut self, base: &str, pkg: &Value) -> NamedNode {
        let id = text(pkg, "id");
        let name = text(pkg, "name");
        let ds = node(&Graph::dataset_iri(base, id));
        self.add(ds.clone(), rdf::TYPE, term(DCAT, "Dataset"));
        let title = match text(pkg, "title") {
            "" => name,
            t => t,
        };
        self.add(ds.clone(), term(DCT, "title"), vi(title));
        let notes = match text(pkg, "notes") {
            "" => title,
            n => n,
        };
        self.add(ds.clone(), term(DCT, "description"), vi(notes));
        self.add(ds.clone(), term(DCT, "identifier"), Literal::new_simple_literal(id));
        for tag in pkg.get("tags").and_then(Value::as_array).into_iter().flatten() {
            let t = text(tag, "name");
            if !t.is_empty() {
                self.add(ds.clone(), term(DCAT, "keyword"), vi(t));
            }
        }
        for group in pkg.get("groups").and_then(Value::as_array).into_iter().flatten() {
            if let Some(theme) = super::theme(text(group, "name")) {
                let iri = node(&theme.iri());
                self.describe(
                    &iri,
                    &[term(SKOS, "Concept")],
                    &[vi(theme.title_vi), en(theme.title_en)],
                    &[(term(SKOS, "inScheme"), node(&format!("{EU}data-theme")).into())],
                );
                self.add(ds.clone(), term(DCAT, "theme"), iri);
            }
        }
        let org = pkg.get("organization").cloned().unwrap_or(Value::Null);
        if let Some(agent) = self.agent(base, &org) {
            self.add(ds.clone(), term(DCT, "publisher"), agent);
        }
        let contact = self.blank();
        self.add(ds.clone(), term(DCAT, "contactPoint"), contact.clone());
        self.add(contact.clone(), rdf::TYPE, term(VCARD, "Kind"));
        self.add(contact.clone(), rdf::TYPE, term(VCARD, "Organization"));
        let contact_name = [text(pkg, "maintainer"), text(&org, "title"), name].into_iter().find(|s| !s.is_empty());
        self.add(contact.clone(), term(VCARD, "fn"), vi(contact_name.unwrap_or(name)));
        let email = [text(pkg, "maintainer_email"), text(pkg, "author_email")].into_iter().find(|s| !s.is_empty());
        if let Some(mail) = email.and_then(|e| checked_iri(&format!("mailto:{e}"))) {
            self.add(contact, term(VCARD, "hasEmail"), mail);
        }
        if let Some(t) = date_time(text(pkg, "metadata_created")) {
            self.add(ds.clone(), term(DCT, "issued"), t);
        }
        if let Some(t) = date_time(text(pkg, "metadata_modified")) {
            self.add(ds.clone(), term(DCT, "modified"), t);
        }
        let landing = node(&format!("{base}/dataset/{name}"));
        self.document(&landing);
        self.add(ds.clone(), term(DCAT, "landingPage"), landing.clone());
        let frequency = text(pkg, "frequency");
        if let Some((code, label, _)) = super::FREQUENCIES.iter().find(|f| f.0 == frequency) {
            let iri = node(&format!("{EU}frequency/{code}"));
            self.describe(
                &iri,
                &[term(DCT, "Frequency"), term(SKOS, "Concept")],
                &[vi(label)],
                &[(term(SKOS, "inScheme"), node(&format!("{EU}frequency")).into())],
            );
            self.add(ds.clone(), term(DCT, "accrualPeriodicity"), iri);
        }
        let (start, end) = (date(text(pkg, "temporal_start")), date(text(pkg, "temporal_end")));
        if start.is_some() || end.is_some() {
            let period = self.blank();
            self.add(ds.clone(), term(DCT, "temporal"), period.clone());
            self.add(period.clone(), rdf::TYPE, term(DCT, "PeriodOfTime"));
            if let Some(s) = start {
                self.add(period.clone(), term(DCAT, "startDate"), s);
            }
            if let Some(e) = end {
                self.add(period, term(DCAT, "endDate"), e);
            }
        }
        match text(pkg, "spatial") {
            "" => {}
            "Việt Nam" | "Viet Nam" | "Vietnam" => {
                let country = self.vietnam();
                self.add(ds.clone(), term(DCT, "spatial"), country);
            }
            place => {
                let area = self.blank();
                self.add(ds.clone(), term(DCT, "spatial"), area.clone());
                self.add(area.clone(), rdf::TYPE, term(DCT, "Location"));
                self.add(area.clone(), term(LOCN, "geographicName"), vi(place));
                self.add(area, term(SKOS, "prefLabel"), vi(place));
            }
        }
        let language = self.vietnamese();
        self.add(ds.clone(), term(DCT, "language"), language);
        let public = node(&format!("{EU}access-right/PUBLIC"));
        self.describe(
            &public,
            &[term(DCT, "RightsStatement"), term(SKOS, "Concept")],
            &[vi("Công khai"), en("Public")],
            &[],
        );
        self.add(ds.clone(), term(DCT, "accessRights"), public);
        let version = text(pkg, "version");
        if !version.is_empty() {
            self.add(ds.clone(), term(DCAT, "version"), Literal::new_simple_literal(version));
        }
        let licence = pkg.get("license_id").and_then(Value::as_str).and_then(super::licence);
        for r in pkg.get("resources").and_then(Value::as_array).into_iter().flatten() {
            self.add_distribution(&ds, &landing, licence, r);
        }
        ds
    }

    fn add_distribution(&mut self, ds: &NamedNode, landing: &NamedNode, licence: Option<&super::Licence>, r: &Value) {
        let dist = node(&format!("{}/resource/{}", ds.as_str(), text(r, "id")));
        self.add(ds.clone(), term(DCAT, "distribution"), dist.clone());
        self.add(dist.clone(), rdf::TYPE, term(DCAT, "Distribution"));
        let name = text(r, "name");
        if !name.is_empty() {
            self.add(dist.clone(), term(DCT, "title"), vi(name));
        }
        let description = [text(r, "description"), name].into_iter().find(|s| !s.is_empty());
        if let Some(d) = description {
            self.add(dist.clone(), term(DCT, "description"), vi(d));
        }
        match checked_iri(text(r, "url")) {
            Some(url) => {
                self.add(dist.clone(), term(DCAT, "accessURL"), url.clone());
                self.add(dist.clone(), term(DCAT, "downloadURL"), url);
            }
            None => self.add(dist.clone(), term(DCAT, "accessURL"), landing.clone()),
        }
        let format = text(r, "format");
        if let Some((code, media)) = file_type(format) {
            let iri = node(&format!("{EU}file-type/{code}"));
            self.concept(&iri, &[term(DCT, "MediaTypeOrExtent")], code, &format!("{EU}file-type"));
            self.add(dist.clone(), term(DCT, "format"), iri);
            if let Some(m) = media {
                let iri = node(&format!("https://www.iana.org/assignments/media-types/{m}"));
                self.describe(&iri, &[term(DCT, "MediaType")], &[], &[]);
                self.add(dist.clone(), term(DCAT, "mediaType"), iri);
            }
        }
        if let Some(l) = licence {
            let iri = node(l.url);
            let (kind, label) = licence_type(l.id);
            let kind = node(&format!("http://purl.org/adms/licencetype/{kind}"));
            self.concept(&kind, &[], label, "http://purl.org/adms/licencetype/1.0");
            self.describe(
                &iri,
                &[term(DCT, "LicenseDocument")],
                &[],
                &[(term(DCT, "title"), en(l.title).into()), (term(DCT, "type"), kind.into())],
            );
            self.add(dist.clone(), term(DCT, "license"), iri);
        }
        let stable = node(&format!("{EU}planned-availability/STABLE"));
        self.concept(&stable, &[], "Stable", &format!("{EU}planned-availability"));
        self.add(dist.clone(), term(DCATAP, "availability"), stable);
        if let Some(t) = date_time(text(r, "created")) {
            self.add(dist.clone(), term(DCT, "issued"), t);
        }
        if let Some(t) = date_time(text(r, "last_modified")).or_else(|| date_time(text(r, "metadata_modified"))) {
            self.add(dist.clone(), term(DCT, "modified"), t);
        }
        let rights = text(r, "rights");
        if !rights.is_empty() {
            let statement = self.blank();
            self.add(statement.clone(), rdf::TYPE, term(DCT, "RightsStatement"));
            self.add(statement.clone(), oxrdf::vocab::rdfs::LABEL, vi(rights));
            self.add(dist.clone(), term(DCT, "rights"), statement);
        }
        let size = r.get("size").and_then(|s| s.as_u64().or_else(|| s.as_str().and_then(|s| s.parse().ok())));
        if let Some(n) = size {
            self.add(
                dist,
                term(DCAT, "byteSize"),
                Literal::new_typed_literal(n.to_string(), xsd::NON_NEGATIVE_INTEGER),
            );
        }
    }

    /// Adds the catalogue itself, listing `datasets`, and its Hydra page if it is one.
    pub fn add_catalog(&mut self, info: &CatalogInfo, datasets: &[NamedNode], paging: Option<&Paging>) {
        let base = info.base.as_str();
        let cat = node(&format!("{base}/catalog"));
        self.add(cat.clone(), rdf::TYPE, term(DCAT, "Catalog"));
        self.add(cat.clone(), term(DCT, "title"), vi(&info.title));
        self.add(cat.clone(), term(DCT, "description"), vi(&info.description));
        if let Some(agent) = self.agent(base, &info.publisher) {
            self.add(cat.clone(), term(DCT, "publisher"), agent);
        }
        let home = node(&format!("{base}/"));
        self.document(&home);
        self.add(cat.clone(), term(FOAF, "homepage"), home);
        let language = self.vietnamese();
        self.add(cat.clone(), term(DCT, "language"), language);
        let country = self.vietnam();
        self.add(cat.clone(), term(DCT, "spatial"), country);
        if let Some(l) = super::licence("cc-by-4.0") {
            let iri = node(l.url);
            let kind = node("http://purl.org/adms/licencetype/Attribution");
            self.concept(&kind, &[], "Attribution", "http://purl.org/adms/licencetype/1.0");
            self.describe(
                &iri,
                &[term(DCT, "LicenseDocument")],
                &[],
                &[(term(DCT, "title"), en(l.title).into()), (term(DCT, "type"), kind.into())],
            );
            self.add(cat.clone(), term(DCT, "license"), iri);
        }
        if let Some(t) = info.issued.as_deref().and_then(date_time) {
            self.add(cat.clone(), term(DCT, "issued"), t);
        }
        if let Some(t) = info.modified.as_deref().and_then(date_time) {
            self.add(cat.clone(), term(DCT, "modified"), t);
        }
        let themes = node(&format!("{EU}data-theme"));
        self.describe(&themes, &[term(SKOS, "ConceptScheme")], &[], &[(term(DCT, "title"), en("Data theme").into())]);
        self.add(cat.clone(), term(DCAT, "themeTaxonomy"), themes);
        for d in datasets {
            self.add(cat.clone(), term(DCAT, "dataset"), d.clone());
        }
        if let Some(p) = paging {
            let link = |n: u64| {
                let mut s = format!("{base}/catalog.{}?page={n}", p.syntax.extension());
                if p.page_size != DEFAULT_PAGE_SIZE {
                    s.push_str(&format!("&page_size={}", p.page_size));
                }
                if let Some(m) = &p.modified_since {
                    s.push_str("&modified_since=");
                    s.push_str(&url_escape(m));
                }
                s
            };
            let this = node(&link(p.page));
            let lit = |n: u64| Literal::new_simple_literal(link(n));
            self.add(this.clone(), rdf::TYPE, term(HYDRA, "PagedCollection"));
            self.add(this.clone(), term(HYDRA, "totalItems"), Literal::from(p.total as i64));
            self.add(this.clone(), term(HYDRA, "itemsPerPage"), Literal::from(p.page_size as i64));
            self.add(this.clone(), term(HYDRA, "firstPage"), lit(1));
            self.add(this.clone(), term(HYDRA, "lastPage"), lit(p.last_page()));
            if p.page < p.last_page() {
                self.add(this.clone(), term(HYDRA, "nextPage"), lit(p.page + 1));
            }
            if p.page > 1 {
                self.add(this, term(HYDRA, "previousPage"), lit(p.page - 1));
            }
        }
    }

    /// The triples: what was added, then the shared nodes' descriptions, each subject's
    /// together (Turtle then writes each subject once).
    pub fn triples(&self) -> Vec<&Triple> {
        let mut all: Vec<&Triple> = self.triples.iter().chain(self.shared.iter()).collect();
        let mut first: std::collections::HashMap<&NamedOrBlankNode, usize> = Default::default();
        for (i, t) in all.iter().enumerate() {
            first.entry(&t.subject).or_insert(i);
        }
        all.sort_by_key(|t| first[&t.subject]);
        all
    }

    /// Writes the graph in `syntax`.
    pub fn write(&self, syntax: Syntax) -> Vec<u8> {
        let out = Vec::with_capacity(self.len() * 80);
        let written = match syntax {
            Syntax::JsonLd => {
                let mut s = oxjsonld::JsonLdSerializer::new();
                for (p, iri) in PREFIXES {
                    s = s.with_prefix(*p, *iri).expect("a valid prefix");
                }
                let mut w = s.for_writer(out);
                self.triples()
                    .into_iter()
                    .try_for_each(|t| w.serialize_quad(t.as_ref().in_graph(oxrdf::GraphNameRef::DefaultGraph)))
                    .and_then(|()| w.finish())
            }
            _ => {
                let format =
                    if syntax == Syntax::Turtle { oxrdfio::RdfFormat::Turtle } else { oxrdfio::RdfFormat::RdfXml };
                let mut s = oxrdfio::RdfSerializer::from_format(format);
                for (p, iri) in PREFIXES {
                    s = s.with_prefix(*p, *iri).expect("a valid prefix");
                }
                let mut w = s.for_writer(out);
                self.triples().into_iter().try_for_each(|t| w.serialize_triple(t)).and_then(|()| w.finish())
            }
        };
        // Writing into memory cannot fail.
        written.unwrap_or_default()
    }
}

/// Percent-escapes what a query-string value cannot hold as is.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package() -> Value {
        json!({
            "id": "0d6c2c3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f", "name": "chat-luong-khong-khi",
            "title": "Chất lượng không khí", "notes": "AQI theo giờ", "license_id": "cc-by-4.0",
            "tags": [{"name": "môi trường"}], "groups": [{"name": "envi"}], "frequency": "DAILY",
            "temporal_start": "2024-01-01", "spatial": "Thành phố Hà Nội",
            "maintainer": "Sở Nông nghiệp và Môi trường", "maintainer_email": "dulieumo@h01-snnmt.gov.vn",
            "metadata_created": "2025-01-31T10:00:00.123456", "metadata_modified": "2025-02-01T08:30:00.000000",
            "organization": {"name": "h01-snnmt", "title": "Sở Nông nghiệp và Môi trường", "level": "province"},
            "resources": [
                {"id": "r1", "name": "AQI", "url": "https://dulieu.hanoi.gov.vn/aqi.csv", "format": "CSV", "size": 1024,
                 "rights": "Tự do tái sử dụng, ghi nguồn"},
                {"id": "r2", "name": "Trạm", "url": "not a url", "format": "WEIRD"}
            ]
        })
    }

    fn info() -> CatalogInfo {
        CatalogInfo {
            base: "https://sen.example.vn".into(),
            title: "Cổng dữ liệu mở".into(),
            description: "Dữ liệu mở của thành phố".into(),
            publisher: json!({"name": "h01", "title": "UBND thành phố Hà Nội", "level": "province"}),
            issued: Some("2025-01-31T10:00:00.123456".into()),
            modified: Some("2025-02-01T08:30:00.000000".into()),
        }
    }

    fn turtle(g: &Graph) -> String {
        String::from_utf8(g.write(Syntax::Turtle)).unwrap()
    }

    #[test]
    fn a_dataset_carries_what_dcat_ap_asks_for() {
        let mut g = Graph::new();
        let ds = g.add_dataset("https://sen.example.vn", &package());
        assert_eq!(ds.as_str(), "https://sen.example.vn/dataset/0d6c2c3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f");
        let ttl = turtle(&g);
        for want in [
            "dcat:Dataset",
            "dct:title \"Chất lượng không khí\"@vi",
            "<http://publications.europa.eu/resource/authority/data-theme/ENVI>",
            "<http://publications.europa.eu/resource/authority/frequency/DAILY>",
            "\"2025-01-31T10:00:00Z\"^^xsd:dateTime",
            "\"2024-01-01\"^^xsd:date",
            "<mailto:dulieumo@h01-snnmt.gov.vn>",
            "<https://dulieu.hanoi.gov.vn/aqi.csv>",
            "<http://publications.europa.eu/resource/authority/file-type/CSV>",
            "<https://www.iana.org/assignments/media-types/text/csv>",
            "\"1024\"^^xsd:nonNegativeInteger",
            "<http://purl.org/adms/publishertype/RegionalAuthority>",
            "<https://creativecommons.org/licenses/by/4.0/>",
            "dct:RightsStatement",
            "\"Tự do tái sử dụng, ghi nguồn\"@vi",
        ] {
            assert!(ttl.contains(want), "missing {want} in\n{ttl}");
        }
        // A resource whose URL is not an IRI is reached through the dataset's page.
        assert!(ttl.contains("dcat:accessURL <https://sen.example.vn/dataset/chat-luong-khong-khi>"), "{ttl}");
    }

    #[test]
    fn shared_nodes_are_described_once() {
        let mut g = Graph::new();
        let mut other = package();
        other["id"] = json!("another");
        g.add_dataset("https://sen.example.vn", &package());
        g.add_dataset("https://sen.example.vn", &other);
        let ttl = turtle(&g);
        let theme_types =
            ttl.matches("<http://publications.europa.eu/resource/authority/data-theme/ENVI> a skos:Concept").count();
        assert_eq!(theme_types, 1, "{ttl}");
        assert_eq!(ttl.matches("foaf:name \"Sở Nông nghiệp và Môi trường\"@vi").count(), 1);
    }

    #[test]
    fn pages_link_to_their_neighbours() {
        let mut g = Graph::new();
        let ds = g.add_dataset("https://sen.example.vn", &package());
        let paging = Paging {
            page: 2,
            page_size: 100,
            total: 250,
            modified_since: Some("2025-01-01T00:00:00Z".into()),
            syntax: Syntax::Turtle,
        };
        g.add_catalog(&info(), &[ds], Some(&paging));
        let ttl = turtle(&g);
        assert!(ttl.contains("hydra:PagedCollection"));
        assert!(ttl.contains("hydra:totalItems 250"), "{ttl}");
        assert!(ttl.contains("\"https://sen.example.vn/catalog.ttl?page=3&modified_since=2025-01-01T00:00:00Z\""));
        assert!(ttl.contains("hydra:lastPage \"https://sen.example.vn/catalog.ttl?page=3"));
        assert!(ttl.contains("hydra:previousPage \"https://sen.example.vn/catalog.ttl?page=1"));
        assert_eq!(
            Paging { page: 1, page_size: 100, total: 0, modified_since: None, syntax: Syntax::Turtle }.last_page(),
            1
        );
    }

    #[test]
    fn every_syntax_is_written() {
        let mut g = Graph::new();
        let ds = g.add_dataset("https://sen.example.vn", &package());
        g.add_catalog(&info(), &[ds], None);
        let json: Value = serde_json::from_slice(&g.write(Syntax::JsonLd)).expect("JSON-LD is JSON");
        assert!(json.get("@context").is_some() || json.get("@graph").is_some(), "{json}");
        let xml = String::from_utf8(g.write(Syntax::RdfXml)).unwrap();
        assert!(xml.starts_with("<?xml") && xml.contains("dcat:Catalog"), "{xml}");
        assert_eq!(Syntax::from_extension("xml"), Some(Syntax::RdfXml));
        assert_eq!(Syntax::from_extension("html"), None);
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// `cargo test -p sen-domain --release -- --ignored dcat_page_time --nocapture`
    #[test]
    #[ignore = "a timing, not a check"]
    fn dcat_page_time() {
        let mut pkg = serde_json::json!({
            "id": "0d6c2c3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f", "name": "chat-luong-khong-khi", "title": "Chất lượng không khí",
            "notes": "AQI theo giờ", "license_id": "cc-by-4.0", "tags": [{"name": "môi trường"}, {"name": "AQI"}],
            "groups": [{"name": "envi"}], "frequency": "DAILY", "temporal_start": "2024-01-01", "spatial": "Thành phố Hà Nội",
            "maintainer": "Sở", "maintainer_email": "a@b.vn", "metadata_created": "2025-01-31T10:00:00.123456",
            "metadata_modified": "2025-02-01T08:30:00.000000", "organization": {"name": "h01-snnmt", "title": "Sở", "level": "province"},
            "resources": [{"id": "r1", "name": "AQI", "url": "https://x.vn/aqi.csv", "format": "CSV"}, {"id": "r2", "name": "B", "url": "https://x.vn/b.json", "format": "JSON"}]
        });
        let t = std::time::Instant::now();
        let mut g = Graph::new();
        for i in 0..100 {
            pkg["id"] = serde_json::json!(format!("id-{i}"));
            g.add_dataset("https://sen.vn", &pkg);
        }
        let built = t.elapsed();
        for s in [Syntax::Turtle, Syntax::JsonLd, Syntax::RdfXml] {
            let t = std::time::Instant::now();
            let n = g.write(s).len();
            println!("{s:?}: {} triples built in {built:?}, {n} bytes written in {:?}", g.len(), t.elapsed());
        }
    }
}
