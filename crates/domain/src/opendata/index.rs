//! The in-memory search index of the open-data catalogue: what `package_search` answers from.
//!
//! Datasets are slots; every keyword value and every folded text token has a bitset of the
//! slots holding it, so a query is bitwise AND/OR/NOT over at most a few thousand words per
//! 100,000 datasets. Updates replace a slot (the old one becomes a hole), so a write costs the
//! size of one dataset, not of the catalogue. Text matches are diacritic-insensitive; ranking
//! weighs title over tags over description by inverse document frequency.

use super::query::{Query, QueryError};
use crate::text::{fold, tokens};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the index knows of one dataset.
#[derive(Debug, Clone, Default)]
pub struct IndexDoc {
    /// The dataset's id (a UUID string, as CKAN's).
    pub id: String,
    pub name: String,
    pub title: String,
    pub notes: String,
    pub tags: Vec<String>,
    /// The owning organisation's name.
    pub organization: String,
    /// Group (theme) names.
    pub groups: Vec<String>,
    pub res_format: Vec<String>,
    pub res_name: Vec<String>,
    pub license_id: String,
    pub frequency: String,
    /// RFC 3339 UTC, so that text order is time order.
    pub metadata_created: String,
    pub metadata_modified: String,
    pub num_resources: i64,
    pub num_tags: i64,
}

/// Fields a query may name. `text` is the default field of bare terms.
pub const FIELDS: &[&str] = &[
    "text",
    "id",
    "name",
    "title",
    "notes",
    "tags",
    "organization",
    "groups",
    "res_format",
    "res_name",
    "license_id",
    "frequency",
    "metadata_created",
    "metadata_modified",
    "num_resources",
    "num_tags",
    // Always the same on this portal (public datasets of type dataset), accepted because CKAN
    // clients send them.
    "capacity",
    "dataset_type",
    "state",
    "site_id",
];

/// Fields `facet.field` may count.
pub const FACET_FIELDS: &[&str] = &["organization", "groups", "tags", "res_format", "license_id", "frequency"];

/// The sort keys of `sort`.
pub const SORT_FIELDS: &[&str] =
    &["score", "metadata_modified", "metadata_created", "name", "title_string", "num_resources", "num_tags"];

pub const MAX_ROWS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortKey {
    Score,
    Modified,
    Created,
    Name,
    Title,
    NumResources,
    NumTags,
}

/// `sort` parsed: up to three keys, each ascending or not.
pub fn parse_sort(s: &str) -> Result<Vec<(SortKey, bool)>, QueryError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let field = words.next().unwrap_or_default();
        let asc = match words.next().unwrap_or("asc") {
            "asc" => true,
            "desc" => false,
            other => return Err(QueryError::Syntax { at: 0, what: format!("sort direction '{other}'") }),
        };
        let key = match field {
            "score" => SortKey::Score,
            "metadata_modified" => SortKey::Modified,
            "metadata_created" => SortKey::Created,
            "name" => SortKey::Name,
            "title_string" | "title" => SortKey::Title,
            "num_resources" => SortKey::NumResources,
            "num_tags" => SortKey::NumTags,
            other => return Err(QueryError::UnknownField(other.to_string())),
        };
        if words.next().is_some() || out.len() == 3 {
            return Err(QueryError::Syntax { at: 0, what: format!("sort '{part}'") });
        }
        out.push((key, asc));
    }
    if out.is_empty() {
        out.push((SortKey::Score, false));
        out.push((SortKey::Modified, false));
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    pub q: &'a str,
    pub fq: &'a str,
    pub sort: &'a str,
    pub rows: usize,
    pub start: usize,
    pub facet_fields: &'a [String],
    /// `None` counts every value.
    pub facet_limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub count: usize,
    /// Dataset ids of the page, in order.
    pub ids: Vec<String>,
    /// Per facet field, its values by count (then name).
    pub facets: Vec<(String, Vec<(String, usize)>)>,
}

#[derive(Debug, Clone, Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn with_len(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        let w = i / 64;
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (i % 64);
    }
    fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn clear(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }
    fn and(&mut self, o: &Bits) {
        for (i, w) in self.0.iter_mut().enumerate() {
            *w &= o.0.get(i).copied().unwrap_or(0);
        }
    }
    fn or(&mut self, o: &Bits) {
        if self.0.len() < o.0.len() {
            self.0.resize(o.0.len(), 0);
        }
        for (i, w) in o.0.iter().enumerate() {
            self.0[i] |= w;
        }
    }
    fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(i, w)| {
            let mut w = *w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(i * 64 + b)
            })
        })
    }
    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// Text fields and the weight of a match in each.
const TEXT_FIELDS: [(&str, f64); 5] = [("title", 3.0), ("tags", 2.0), ("name", 1.5), ("notes", 1.0), ("res_name", 1.0)];

#[derive(Debug, Default)]
pub struct DatasetIndex {
    docs: Vec<Option<IndexDoc>>,
    by_id: HashMap<String, usize>,
    /// Live slots.
    live: Bits,
    /// (field, exact value lower-cased) → slots.
    keywords: HashMap<(&'static str, String), Bits>,
    /// (text field, folded token) → slots.
    words: HashMap<(&'static str, String), Bits>,
    /// Folded token → number of live datasets holding it in any text field (for IDF).
    df: HashMap<String, usize>,
    /// Folded text of each slot per text field, for phrases.
    folded: Vec<[String; 5]>,
    /// Sort orders, dropped by every change and rebuilt by the next search.
    ranks: Mutex<Option<Arc<Ranks>>>,
}

/// Per slot, its rank in each sort order (holes last), so that ordering 100,000 hits compares
/// integers in a few arrays instead of strings scattered over the heap.
#[derive(Debug)]
struct Ranks {
    id: Vec<u32>,
    name: Vec<u32>,
    title: Vec<u32>,
    modified: Vec<u32>,
    created: Vec<u32>,
    num_resources: Vec<i64>,
    num_tags: Vec<i64>,
    /// The sorted keys behind `name`, `modified` and `created`: a range's bounds are looked
    /// up here and become thresholds on the ranks.
    name_keys: Vec<String>,
    modified_keys: Vec<String>,
    created_keys: Vec<String>,
    /// The live slots.
    live: Vec<u32>,
    /// Per sort key and direction (see [`Ranks::order`]), the live slots in that order, made
    /// the first time a search asks.
    orders: [std::sync::OnceLock<Vec<u32>>; 12],
}

impl Ranks {
    fn compare(&self, key: SortKey, x: usize, y: usize) -> std::cmp::Ordering {
        match key {
            // Scores are per search, not per dataset: the caller weighs them.
            SortKey::Score => std::cmp::Ordering::Equal,
            SortKey::Modified => self.modified[x].cmp(&self.modified[y]),
            SortKey::Created => self.created[x].cmp(&self.created[y]),
            SortKey::Name => self.name[x].cmp(&self.name[y]),
            SortKey::Title => self.title[x].cmp(&self.title[y]),
            SortKey::NumResources => self.num_resources[x].cmp(&self.num_resources[y]),
            SortKey::NumTags => self.num_tags[x].cmp(&self.num_tags[y]),
        }
    }

    /// Every live slot in the order of one key (ties by id, as searches break them).
    fn order(&self, key: SortKey, asc: bool) -> &[u32] {
        let i = key as usize * 2 + usize::from(asc);
        self.orders[i].get_or_init(|| {
            let mut v = self.live.clone();
            v.sort_unstable_by(|a, b| {
                let (x, y) = (*a as usize, *b as usize);
                let o = self.compare(key, x, y);
                let o = if asc { o } else { o.reverse() };
                o.then_with(|| self.id[x].cmp(&self.id[y]))
            });
            v
        })
    }
}

fn keyword_fields(d: &IndexDoc) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("id", d.id.clone()),
        ("name", d.name.clone()),
        ("organization", d.organization.clone()),
        ("license_id", d.license_id.clone()),
        ("frequency", d.frequency.clone()),
    ];
    v.extend(d.tags.iter().map(|t| ("tags", t.clone())));
    v.extend(d.groups.iter().map(|t| ("groups", t.clone())));
    v.extend(d.res_format.iter().map(|t| ("res_format", t.clone())));
    v.into_iter().filter(|(_, x)| !x.is_empty()).map(|(f, x)| (f, x.to_lowercase())).collect()
}

fn text_of(d: &IndexDoc) -> [String; 5] {
    [d.title.clone(), d.tags.join(" "), d.name.replace(['-', '_'], " "), d.notes.clone(), d.res_name.join(" ")]
}

fn folded_tokens(s: &str) -> Vec<String> {
    tokens(&fold(s))
}

impl DatasetIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
    /// Every dataset in the index, in no particular order.
    pub fn docs(&self) -> impl Iterator<Item = &IndexDoc> {
        self.docs.iter().flatten()
    }

    pub fn get(&self, id: &str) -> Option<&IndexDoc> {
        self.by_id.get(id).and_then(|s| self.docs[*s].as_ref())
    }

    /// Adds a dataset, replacing the one with the same id.
    pub fn upsert(&mut self, doc: IndexDoc) {
        self.remove(&doc.id);
        *self.ranks.get_mut().expect("ranks lock") = None;
        let slot = self.docs.len();
        for key in keyword_fields(&doc) {
            self.keywords.entry(key).or_default().set(slot);
        }
        let texts = text_of(&doc);
        let mut seen = std::collections::HashSet::new();
        for (i, (field, _)) in TEXT_FIELDS.iter().enumerate() {
            for tok in folded_tokens(&texts[i]) {
                self.words.entry((field, tok.clone())).or_default().set(slot);
                if seen.insert(tok.clone()) {
                    *self.df.entry(tok).or_default() += 1;
                }
            }
        }
        self.folded.push(texts.map(|t| folded_tokens(&t).join(" ")));
        self.live.set(slot);
        self.by_id.insert(doc.id.clone(), slot);
        self.docs.push(Some(doc));
    }

    /// Removes a dataset (a deleted dataset is not searchable).
    pub fn remove(&mut self, id: &str) {
        let Some(slot) = self.by_id.remove(id) else { return };
        *self.ranks.get_mut().expect("ranks lock") = None;
        self.live.clear(slot);
        if let Some(doc) = self.docs[slot].take() {
            let mut seen = std::collections::HashSet::new();
            for t in text_of(&doc).iter().flat_map(|t| folded_tokens(t)) {
                if seen.insert(t.clone())
                    && let Some(n) = self.df.get_mut(&t)
                {
                    *n = n.saturating_sub(1);
                }
            }
        }
        self.folded[slot] = Default::default();
    }

    fn all(&self) -> Bits {
        self.live.clone()
    }

    fn slots_for_text(&self, field: Option<&str>, value: &str, prefix: bool) -> Bits {
        let toks = folded_tokens(value);
        let mut out: Option<Bits> = None;
        let fields: Vec<&'static str> = match field {
            None | Some("text") => TEXT_FIELDS.iter().map(|(f, _)| *f).collect(),
            Some(f) => TEXT_FIELDS.iter().map(|(x, _)| *x).filter(|x| *x == f).collect(),
        };
        if toks.is_empty() {
            return Bits::with_len(0);
        }
        let last = toks.len() - 1;
        for (i, tok) in toks.iter().enumerate() {
            let mut any = Bits::with_len(0);
            for f in &fields {
                if prefix && i == last {
                    for ((kf, w), bits) in &self.words {
                        if kf == f && w.starts_with(tok.as_str()) {
                            any.or(bits);
                        }
                    }
                } else if let Some(bits) = self.words.get(&(*f, tok.clone())) {
                    any.or(bits);
                }
            }
            match out.as_mut() {
                None => out = Some(any),
                Some(o) => o.and(&any),
            }
        }
        out.unwrap_or_default()
    }

    fn eval(&self, q: &Query) -> Result<Bits, QueryError> {
        Ok(match q {
            Query::All => self.all(),
            Query::And(parts) => {
                let mut acc = self.all();
                for p in parts {
                    acc.and(&self.eval(p)?);
                }
                acc
            }
            Query::Or(parts) => {
                let mut acc = Bits::with_len(0);
                for p in parts {
                    acc.or(&self.eval(p)?);
                }
                acc
            }
            Query::Not(inner) => {
                let hit = self.eval(inner)?;
                let mut acc = self.all();
                for (i, w) in acc.0.iter_mut().enumerate() {
                    *w &= !hit.0.get(i).copied().unwrap_or(0);
                }
                acc
            }
            Query::Term { field, value, prefix } => self.term(field.as_deref(), value, *prefix)?,
            Query::Phrase { field, value } => {
                let mut bits = self.slots_for_text(field.as_deref(), value, false);
                let want = folded_tokens(value).join(" ");
                let keep: Vec<usize> = bits
                    .ones()
                    .filter(|s| {
                        TEXT_FIELDS.iter().enumerate().any(|(i, (f, _))| {
                            field.as_deref().is_none_or(|x| x == "text" || x == *f)
                                && format!(" {} ", self.folded[*s][i]).contains(&format!(" {want} "))
                        })
                    })
                    .collect();
                bits = Bits::with_len(self.docs.len());
                keep.into_iter().for_each(|s| bits.set(s));
                match field.as_deref() {
                    Some(f) if !TEXT_FIELDS.iter().any(|(x, _)| *x == f) && f != "text" => {
                        self.term(Some(f), value, false)?
                    }
                    _ => bits,
                }
            }
            Query::Range { field, lo, hi, lo_inclusive, hi_inclusive } => {
                let numeric = matches!(field.as_str(), "num_resources" | "num_tags");
                let is_time = field.starts_with("metadata_");
                let lo = lo.as_deref().map(|v| RangeValue::parse(v, numeric, is_time, false)).transpose()?;
                let hi = hi.as_deref().map(|v| RangeValue::parse(v, numeric, is_time, true)).transpose()?;
                // A range is a scan of one contiguous column — the numbers, or the sort ranks
                // with each bound turned into a rank — never of the records themselves.
                let r = self.ranks();
                let mut bits = Bits::with_len(self.docs.len());
                match field.as_str() {
                    "num_resources" | "num_tags" => {
                        let column = if field == "num_resources" { &r.num_resources } else { &r.num_tags };
                        let num = |b: &Option<RangeValue>| match b {
                            Some(RangeValue::Num(n)) => Some(*n),
                            _ => None,
                        };
                        let (lo, hi) = (num(&lo), num(&hi));
                        for s in self.live.ones() {
                            let v = column[s];
                            if lo.is_none_or(|l| if *lo_inclusive { v >= l } else { v > l })
                                && hi.is_none_or(|h| if *hi_inclusive { v <= h } else { v < h })
                            {
                                bits.set(s);
                            }
                        }
                    }
                    "metadata_modified" | "metadata_created" | "name" => {
                        let (ranks, keys) = match field.as_str() {
                            "metadata_modified" => (&r.modified, &r.modified_keys),
                            "metadata_created" => (&r.created, &r.created_keys),
                            _ => (&r.name, &r.name_keys),
                        };
                        let text = |b: &Option<RangeValue>| match b {
                            Some(RangeValue::Text(t)) => Some(t.clone()),
                            _ => None,
                        };
                        // Keys at or above `from`'s position are above the lower bound;
                        // keys below `to`'s position are below the upper bound.
                        let from = text(&lo).map_or(0, |l| {
                            keys.partition_point(|k| if *lo_inclusive { *k < l } else { *k <= l }) as u32
                        });
                        let to = text(&hi).map_or(u32::MAX, |h| {
                            keys.partition_point(|k| if *hi_inclusive { *k <= h } else { *k < h }) as u32
                        });
                        for s in self.live.ones() {
                            let x = ranks[s];
                            if x >= from && x < to {
                                bits.set(s);
                            }
                        }
                    }
                    _ => return Err(QueryError::Syntax { at: 0, what: format!("{field} has no ranges") }),
                }
                bits
            }
        })
    }

    fn term(&self, field: Option<&str>, value: &str, prefix: bool) -> Result<Bits, QueryError> {
        Ok(match field {
            None | Some("text" | "title" | "notes" | "res_name") => self.slots_for_text(field, value, prefix),
            Some("capacity") => {
                if value == "public" {
                    self.all()
                } else {
                    Bits::default()
                }
            }
            Some("dataset_type") => {
                if value == "dataset" {
                    self.all()
                } else {
                    Bits::default()
                }
            }
            Some("state") => {
                if value == "active" {
                    self.all()
                } else {
                    Bits::default()
                }
            }
            Some("site_id") => self.all(),
            Some(f @ ("num_resources" | "num_tags")) => {
                let n: i64 =
                    value.parse().map_err(|_| QueryError::Syntax { at: 0, what: format!("{f} is a number") })?;
                let mut bits = Bits::with_len(self.docs.len());
                for s in self.live.ones() {
                    let d = self.docs[s].as_ref().expect("live slot");
                    if (if f == "num_tags" { d.num_tags } else { d.num_resources }) == n {
                        bits.set(s);
                    }
                }
                bits
            }
            Some(f @ ("metadata_modified" | "metadata_created")) => {
                let v = RangeValue::parse(value, false, true, false)?;
                let mut bits = Bits::with_len(self.docs.len());
                for s in self.live.ones() {
                    let d = self.docs[s].as_ref().expect("live slot");
                    let t = if f == "metadata_created" { &d.metadata_created } else { &d.metadata_modified };
                    if RangeValue::Text(t.clone()) == v {
                        bits.set(s);
                    }
                }
                bits
            }
            Some(f) => {
                let Some(kf) = FIELDS.iter().find(|x| **x == f) else {
                    return Err(QueryError::UnknownField(f.to_string()));
                };
                let v = value.to_lowercase();
                let mut bits = Bits::with_len(0);
                if prefix {
                    for ((k, w), b) in &self.keywords {
                        if k == kf && w.starts_with(&v) {
                            bits.or(b);
                        }
                    }
                } else if let Some(b) = self.keywords.get(&(*kf, v)) {
                    bits.or(b);
                }
                // Tags and names are words too: `tags:dan số` finds "Dân số".
                if matches!(f, "tags" | "name") {
                    bits.or(&self.slots_for_text(Some(f), value, prefix));
                }
                bits
            }
        })
    }

    /// Each query word with its IDF and its slots per text field, looked up once per search.
    fn term_bits(&self, terms: &[String]) -> Vec<(f64, [Option<&Bits>; 5])> {
        let n = self.by_id.len().max(1) as f64;
        terms
            .iter()
            .map(|t| {
                let idf = (1.0 + n / (1.0 + *self.df.get(t).unwrap_or(&0) as f64)).ln();
                (idf, TEXT_FIELDS.map(|(f, _)| self.words.get(&(f, t.clone()))))
            })
            .collect()
    }

    fn score(slot: usize, terms: &[(f64, [Option<&Bits>; 5])]) -> f64 {
        let mut s = 0.0;
        for (idf, fields) in terms {
            for (i, (_, w)) in TEXT_FIELDS.iter().enumerate() {
                if fields[i].is_some_and(|b| b.0.get(slot / 64).is_some_and(|x| x & (1 << (slot % 64)) != 0)) {
                    s += w * idf;
                }
            }
        }
        s
    }

    /// Builds the sort orders now rather than on the next search (after a bulk load).
    pub fn warm(&self) {
        self.ranks();
    }

    /// The sort orders of every slot, built on the first search after a change.
    fn ranks(&self) -> Arc<Ranks> {
        let mut cached = self.ranks.lock().expect("ranks lock");
        if let Some(r) = cached.as_ref() {
            return r.clone();
        }
        let live: Vec<usize> = self.live.ones().collect();
        let doc = |s: usize| self.docs[s].as_ref().expect("live slot");
        let rank_by = |key: &dyn Fn(&IndexDoc) -> String| -> (Vec<u32>, Vec<String>) {
            let mut keyed: Vec<(String, usize)> = live.iter().map(|s| (key(doc(*s)), *s)).collect();
            keyed.sort_unstable();
            let mut ranks = vec![u32::MAX; self.docs.len()];
            let mut rank = 0u32;
            for (i, (k, s)) in keyed.iter().enumerate() {
                if i > 0 && keyed[i - 1].0 != *k {
                    rank = i as u32;
                }
                ranks[*s] = rank;
            }
            (ranks, keyed.into_iter().map(|(k, _)| k).collect())
        };
        let ints = |key: &dyn Fn(&IndexDoc) -> i64| -> Vec<i64> {
            self.docs.iter().map(|d| d.as_ref().map(key).unwrap_or(0)).collect()
        };
        let (name, name_keys) = rank_by(&|d| d.name.clone());
        let (modified, modified_keys) = rank_by(&|d| d.metadata_modified.clone());
        let (created, created_keys) = rank_by(&|d| d.metadata_created.clone());
        let r = Arc::new(Ranks {
            id: rank_by(&|d| d.id.clone()).0,
            name,
            title: rank_by(&|d| fold(&d.title)).0,
            modified,
            created,
            num_resources: ints(&|d| d.num_resources),
            num_tags: ints(&|d| d.num_tags),
            name_keys,
            modified_keys,
            created_keys,
            live: live.iter().map(|s| *s as u32).collect(),
            orders: Default::default(),
        });
        *cached = Some(r.clone());
        r
    }

    /// Answers a `package_search`.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResult, QueryError> {
        let known = |f: &str| FIELDS.contains(&f);
        let q = super::query::parse(req.q, &known)?;
        let fq = super::query::parse(req.fq, &known)?;
        let sort = parse_sort(req.sort)?;
        for f in req.facet_fields {
            if !FACET_FIELDS.contains(&f.as_str()) {
                return Err(QueryError::UnknownField(f.clone()));
            }
        }
        let mut hits = self.eval(&q)?;
        hits.and(&self.eval(&fq)?);
        let count = hits.count();
        let terms: Vec<String> = positive_terms(&q).iter().flat_map(|t| folded_tokens(t)).collect();
        let rows = req.rows.min(MAX_ROWS);
        // One sort key (a score without words to weigh ties everywhere, so it drops out) over
        // a broad match: walk that key's order, keeping hits, until the page is full — no
        // sort of the hits, and a deep page costs a bit test per dataset before it.
        let keys: Vec<(SortKey, bool)> =
            sort.iter().copied().filter(|(k, _)| !(*k == SortKey::Score && terms.is_empty())).collect();
        let live = self.live.count();
        if let [(key, asc)] = keys[..]
            && key != SortKey::Score
            && count.saturating_mul(8) >= live
        {
            let r = self.ranks();
            let mut ids = Vec::with_capacity(rows);
            let mut seen = 0usize;
            if rows > 0 {
                for &s in r.order(key, asc) {
                    let s = s as usize;
                    if !hits.get(s) {
                        continue;
                    }
                    if seen >= req.start {
                        ids.push(self.docs[s].as_ref().expect("live slot").id.clone());
                        if ids.len() == rows {
                            break;
                        }
                    }
                    seen += 1;
                }
            }
            let slots: Vec<usize> = if req.facet_fields.is_empty() { vec![] } else { hits.ones().collect() };
            let facets = req.facet_fields.iter().map(|f| (f.clone(), self.facet(f, &slots, req.facet_limit))).collect();
            return Ok(SearchResult { count, ids, facets });
        }
        let slots: Vec<usize> = hits.ones().collect();
        let scored: Vec<(usize, f64)> = if sort.iter().any(|(k, _)| *k == SortKey::Score) && !terms.is_empty() {
            let bits = self.term_bits(&terms);
            slots.iter().map(|s| (*s, Self::score(*s, &bits))).collect()
        } else {
            slots.iter().map(|s| (*s, 0.0)).collect()
        };
        let doc = |s: usize| self.docs[s].as_ref().expect("live slot");
        let r = self.ranks();
        let cmp = |a: &(usize, f64), b: &(usize, f64)| {
            let (x, y) = (a.0, b.0);
            for (key, asc) in &sort {
                let o = match key {
                    SortKey::Score => a.1.total_cmp(&b.1),
                    k => r.compare(*k, x, y),
                };
                let o = if *asc { o } else { o.reverse() };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            r.id[x].cmp(&r.id[y])
        };
        let end = req.start.saturating_add(rows).min(scored.len());
        let mut scored = scored;
        let ids = if req.start >= scored.len() || rows == 0 {
            Vec::new()
        } else {
            // Only the page and what comes before it are ordered: select, then sort the page.
            if end < scored.len() {
                scored.select_nth_unstable_by(end, cmp);
                scored.truncate(end);
            }
            if req.start > 0 {
                scored.select_nth_unstable_by(req.start, cmp);
            }
            let mut page = scored.split_off(req.start);
            page.sort_by(cmp);
            page.into_iter().map(|(s, _)| doc(s).id.clone()).collect()
        };
        let facets = req.facet_fields.iter().map(|f| (f.clone(), self.facet(f, &slots, req.facet_limit))).collect();
        Ok(SearchResult { count, ids, facets })
    }

    fn facet(&self, field: &str, slots: &[usize], limit: Option<usize>) -> Vec<(String, usize)> {
        // Counted straight from each hit's record, without collecting its values first.
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for s in slots {
            let d = self.docs[*s].as_ref().expect("live slot");
            match field {
                "organization" => bump(&mut counts, &d.organization),
                "license_id" => bump(&mut counts, &d.license_id),
                "frequency" => bump(&mut counts, &d.frequency),
                "tags" => d.tags.iter().for_each(|t| bump(&mut counts, t)),
                "groups" => d.groups.iter().for_each(|g| bump(&mut counts, g)),
                // A format counts once per dataset, however many resources have it.
                "res_format" => {
                    for (i, f) in d.res_format.iter().enumerate() {
                        if !d.res_format[..i].contains(f) {
                            bump(&mut counts, f);
                        }
                    }
                }
                _ => {}
            }
        }
        let mut out: Vec<(String, usize)> = counts.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some(l) = limit {
            out.truncate(l);
        }
        out
    }
}

/// The words of a query's text clauses that are not negated: what ranking weighs.
fn positive_terms(q: &Query) -> Vec<String> {
    let text_field = |f: &Option<String>| f.as_deref().is_none_or(|f| ["text", "title", "notes", "tags"].contains(&f));
    match q {
        Query::Term { field, value, .. } | Query::Phrase { field, value } if text_field(field) => vec![value.clone()],
        Query::And(v) | Query::Or(v) => v.iter().flat_map(positive_terms).collect(),
        _ => vec![],
    }
}

#[derive(Debug, Clone, PartialEq)]
enum RangeValue {
    Num(i64),
    Text(String),
}

fn bump<'a>(counts: &mut HashMap<&'a str, usize>, v: &'a str) {
    if !v.is_empty() {
        *counts.entry(v).or_default() += 1;
    }
}

impl RangeValue {
    /// A bound of a range. Times are compared as RFC 3339 UTC text; a date alone is its
    /// midnight (or the end of the day as an upper bound); `NOW` is the current time.
    fn parse(v: &str, numeric: bool, time: bool, upper: bool) -> Result<Self, QueryError> {
        if numeric {
            return v
                .parse()
                .map(RangeValue::Num)
                .map_err(|_| QueryError::Syntax { at: 0, what: format!("'{v}' is not a number") });
        }
        if !time {
            return Ok(RangeValue::Text(v.to_string()));
        }
        if v == "NOW" {
            return Ok(RangeValue::Text(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
            return Ok(RangeValue::Text(t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()));
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            let t = if upper { d.and_hms_micro_opt(23, 59, 59, 999_999) } else { d.and_hms_opt(0, 0, 0) };
            return Ok(RangeValue::Text(t.expect("valid time").format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()));
        }
        Err(QueryError::Syntax {
            at: 0,
            what: format!("'{v}' is not a time (use 2025-01-01T00:00:00Z, a date, NOW or *)"),
        })
    }
}

/// The form of time stored in [`IndexDoc`] and compared in ranges.
pub fn index_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(id: &str, title: &str, org: &str, tags: &[&str], formats: &[&str], modified: &str) -> IndexDoc {
        IndexDoc {
            id: id.into(),
            name: format!("ds-{id}"),
            title: title.into(),
            notes: format!("Mô tả {title}"),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            organization: org.into(),
            groups: vec!["gove".into()],
            res_format: formats.iter().map(|t| t.to_string()).collect(),
            res_name: vec![],
            license_id: "cc-by-4.0".into(),
            frequency: "MONTHLY".into(),
            metadata_created: "2024-01-01T00:00:00.000000Z".into(),
            metadata_modified: modified.into(),
            num_resources: formats.len() as i64,
            num_tags: tags.len() as i64,
        }
    }

    fn sample() -> DatasetIndex {
        let mut ix = DatasetIndex::new();
        ix.upsert(doc(
            "1",
            "Dân số theo xã",
            "so-tttt",
            &["dân số", "thống kê"],
            &["CSV"],
            "2025-03-01T00:00:00.000000Z",
        ));
        ix.upsert(doc(
            "2",
            "Hồ sơ thủ tục hành chính theo tháng",
            "so-tttt",
            &["thủ tục"],
            &["CSV", "JSON"],
            "2025-06-01T00:00:00.000000Z",
        ));
        ix.upsert(doc(
            "3",
            "Chất lượng không khí",
            "so-tnmt",
            &["môi trường"],
            &["JSON"],
            "2024-11-01T00:00:00.000000Z",
        ));
        ix
    }

    /// The walk along one key's order (a broad match) gives the pages a full sort gives,
    /// ties and deleted slots included.
    #[test]
    fn pages_along_a_sort_order_match_a_full_sort() {
        let mut ix = DatasetIndex::new();
        let formats = ["CSV", "JSON", "XLSX"];
        for i in 0..300usize {
            let f: Vec<&str> = formats[..1 + i % 3].to_vec();
            let tags: &[&str] = if i % 10 == 0 { &["hiếm"] } else { &["thường", "dữ liệu"] };
            let modified = format!("2025-01-{:02}T00:00:00.000000Z", 1 + (i * 7) % 28);
            ix.upsert(doc(&format!("{:04}", (i * 37) % 1000), &format!("Bộ {}", i % 50), "org", tags, &f, &modified));
        }
        ix.remove("0037");
        let all: Vec<IndexDoc> = ix.docs.iter().flatten().cloned().collect();
        for (sort, key) in [
            ("name asc", "name"),
            ("name desc", "name"),
            ("metadata_modified desc", "modified"),
            ("metadata_modified asc", "modified"),
            ("num_resources desc", "num"),
            ("num_resources asc", "num"),
        ] {
            for (fq, keep) in [("", None), ("tags:thường", Some("thường")), ("tags:hiếm", Some("hiếm"))] {
                let mut want: Vec<&IndexDoc> =
                    all.iter().filter(|d| keep.is_none_or(|t| d.tags.iter().any(|x| x == t))).collect();
                want.sort_by(|a, b| {
                    let o = match key {
                        "name" => a.name.cmp(&b.name),
                        "modified" => a.metadata_modified.cmp(&b.metadata_modified),
                        _ => a.num_resources.cmp(&b.num_resources),
                    };
                    let o = if sort.ends_with("desc") { o.reverse() } else { o };
                    o.then_with(|| a.id.cmp(&b.id))
                });
                for start in [0, 7, 250, 299] {
                    let got = ix
                        .search(&SearchRequest {
                            q: "*:*",
                            fq,
                            sort,
                            rows: 10,
                            start,
                            facet_fields: &[],
                            facet_limit: None,
                        })
                        .unwrap();
                    let expected: Vec<String> = want.iter().skip(start).take(10).map(|d| d.id.clone()).collect();
                    assert_eq!(got.ids, expected, "{sort} {fq} {start}");
                    assert_eq!(got.count, want.len());
                }
            }
        }
    }

    fn search(ix: &DatasetIndex, q: &str, fq: &str, sort: &str) -> Result<SearchResult, QueryError> {
        ix.search(&SearchRequest { q, fq, sort, rows: 10, start: 0, facet_fields: &[], facet_limit: None })
    }

    #[test]
    fn diacritic_insensitive_text() {
        let ix = sample();
        assert_eq!(search(&ix, "dan so", "", "").unwrap().ids, vec!["1"]);
        assert_eq!(search(&ix, "Dân số", "", "").unwrap().ids, vec!["1"]);
        assert_eq!(search(&ix, "khong*", "", "").unwrap().ids, vec!["3"]);
        assert_eq!(search(&ix, "\"theo tháng\"", "", "").unwrap().ids, vec!["2"]);
        assert_eq!(search(&ix, "\"tháng theo\"", "", "").unwrap().count, 0);
    }

    #[test]
    fn fields_booleans_ranges() {
        let ix = sample();
        let ids = |q: &str, fq: &str| search(&ix, q, fq, "name asc").unwrap().ids;
        assert_eq!(ids("*:*", "organization:so-tttt"), vec!["1", "2"]);
        assert_eq!(ids("*:*", "+organization:so-tttt +res_format:JSON"), vec!["2"]);
        assert_eq!(ids("res_format:csv", ""), vec!["1", "2"]);
        assert_eq!(ids("tags:\"môi trường\" OR tags:\"thủ tục\"", ""), vec!["2", "3"]);
        assert_eq!(ids("-organization:so-tttt", ""), vec!["3"]);
        assert_eq!(ids("metadata_modified:[2025-01-01T00:00:00Z TO *]", ""), vec!["1", "2"]);
        assert_eq!(ids("metadata_modified:[* TO 2025-03-01]", ""), vec!["1", "3"]);
        assert_eq!(ids("metadata_modified:{2025-03-01T00:00:00Z TO *]", ""), vec!["2"]);
        assert_eq!(ids("num_resources:[2 TO *]", ""), vec!["2"]);
        assert_eq!(ids("capacity:public", "dataset_type:dataset"), vec!["1", "2", "3"]);
    }

    #[test]
    fn sort_paging_facets() {
        let ix = sample();
        assert_eq!(search(&ix, "", "", "metadata_modified desc").unwrap().ids, vec!["2", "1", "3"]);
        assert_eq!(search(&ix, "", "", "title_string asc").unwrap().ids, vec!["3", "1", "2"]);
        let page = |start| {
            ix.search(&SearchRequest {
                q: "",
                fq: "",
                sort: "name asc",
                rows: 1,
                start,
                facet_fields: &[],
                facet_limit: None,
            })
            .unwrap()
        };
        assert_eq!(
            (page(0).ids, page(1).ids, page(2).ids, page(3).ids),
            (vec!["1".into()], vec!["2".into()], vec!["3".into()], vec![])
        );
        assert_eq!(page(2).count, 3);
        let f = vec!["organization".to_string(), "res_format".to_string()];
        let r = ix
            .search(&SearchRequest {
                q: "",
                fq: "",
                sort: "",
                rows: 0,
                start: 0,
                facet_fields: &f,
                facet_limit: Some(1),
            })
            .unwrap();
        assert_eq!(
            r.facets,
            vec![("organization".into(), vec![("so-tttt".into(), 2)]), ("res_format".into(), vec![("CSV".into(), 2)])]
        );
    }

    #[test]
    fn title_outranks_description() {
        let mut ix = sample();
        let mut d = doc("4", "Ngân sách", "so-tc", &[], &[], "2025-01-01T00:00:00.000000Z");
        d.notes = "Có số liệu không khí".into();
        ix.upsert(d);
        assert_eq!(search(&ix, "không khí", "", "").unwrap().ids, vec!["3", "4"]);
    }

    #[test]
    fn updates_and_deletes() {
        let mut ix = sample();
        ix.upsert(doc("1", "Lao động việc làm", "so-ldtbxh", &[], &[], "2025-07-01T00:00:00.000000Z"));
        assert_eq!(search(&ix, "dan so", "", "").unwrap().count, 0);
        assert_eq!(search(&ix, "lao dong", "", "").unwrap().ids, vec!["1"]);
        ix.remove("3");
        assert_eq!(search(&ix, "", "", "").unwrap().count, 2);
        assert_eq!(ix.len(), 2);
        assert!(ix.get("3").is_none());
    }

    #[test]
    fn bad_requests() {
        let ix = sample();
        assert_eq!(search(&ix, "colour:red", "", ""), Err(QueryError::UnknownField("colour".into())));
        assert!(search(&ix, "", "", "popularity desc").is_err());
        assert!(search(&ix, "", "", "name sideways").is_err());
        assert!(search(&ix, "metadata_modified:[yesterday TO *]", "", "").is_err());
        let f = vec!["notes".to_string()];
        assert!(
            ix.search(&SearchRequest {
                q: "",
                fq: "",
                sort: "",
                rows: 1,
                start: 0,
                facet_fields: &f,
                facet_limit: None
            })
            .is_err()
        );
    }

    proptest! {
        /// Paging through any sort gives every hit exactly once, in the order of one big page.
        #[test]
        fn pages_partition_the_hits(n in 1usize..60, rows in 1usize..9, sort in prop::sample::select(vec!["name asc", "metadata_modified desc", "title_string asc, name desc", "", "num_resources desc"])) {
            let mut ix = DatasetIndex::new();
            for i in 0..n {
                let mut d = doc(&format!("{i:03}"), &format!("Bộ dữ liệu {}", i % 7), "org", &[], &["CSV"][..(i % 2)], &format!("2025-01-{:02}T00:00:00.000000Z", 1 + i % 28));
                d.num_resources = (i % 3) as i64;
                ix.upsert(d);
            }
            let all = ix.search(&SearchRequest { q: "", fq: "", sort, rows: 1000, start: 0, facet_fields: &[], facet_limit: None }).unwrap().ids;
            let mut paged = Vec::new();
            let mut start = 0;
            loop {
                let r = ix.search(&SearchRequest { q: "", fq: "", sort, rows, start, facet_fields: &[], facet_limit: None }).unwrap();
                prop_assert_eq!(r.count, n);
                if r.ids.is_empty() { break; }
                start += r.ids.len();
                paged.extend(r.ids);
            }
            prop_assert_eq!(paged, all);
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// Not a test of speed (timing assertions do not belong in tests): run with
    /// `cargo test --release -p sen-domain timing -- --ignored --nocapture` to see where a
    /// search spends its time.
    #[test]
    #[ignore]
    fn where_time_goes() {
        let mut ix = DatasetIndex::new();
        for i in 0..100_000 {
            ix.upsert(IndexDoc {
                id: format!("{i:08}"),
                name: format!("bo-du-lieu-{i}"),
                title: format!("Số liệu dân số và lao động năm {} (bộ {i})", 2015 + i % 11),
                notes: "Bộ dữ liệu về dân số".into(),
                tags: vec!["dân số".into(), "lao động".into()],
                organization: format!("org-{}", i % 700),
                groups: vec!["soci".into()],
                res_format: vec!["CSV".into()],
                res_name: vec!["Tệp".into()],
                license_id: "cc-by-4.0".into(),
                frequency: "MONTHLY".into(),
                metadata_created: "2024-01-01T00:00:00.000000Z".into(),
                metadata_modified: format!("2024-01-01T00:00:{:02}.000000Z", i % 60),
                num_resources: 1,
                num_tags: 2,
            });
        }
        for (q, sort, start) in
            [("*:*", "name asc", 0), ("*:*", "name asc", 90_000), ("dân số", "", 0), ("dan so", "", 0)]
        {
            let t = std::time::Instant::now();
            let r = ix
                .search(&SearchRequest { q, fq: "", sort, rows: 10, start, facet_fields: &[], facet_limit: None })
                .unwrap();
            eprintln!("{q} {sort} {start}: {} hits in {:?}", r.count, t.elapsed());
        }
    }
}
