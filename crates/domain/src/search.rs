//! Catalogue search: works with and without diacritics, on names, everyday words and English.
//!
//! The catalogue is small (hundreds to a few thousand procedures), so an in-memory index with
//! IDF-weighted field matches answers in microseconds. Each token is matched in a folded form
//! (no diacritics) and, where the query has diacritics, rewarded for an exact match, since
//! folding merges different words (đường / dương).

use crate::text::{fold, normalise, tokens};
use std::collections::{HashMap, HashSet};

/// What the index knows of one procedure.
#[derive(Debug, Clone)]
pub struct SearchDoc {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub sector: String,
    pub keywords: String,
}

#[derive(Debug)]
struct Indexed {
    id: i64,
    code: String,
    name_exact: HashSet<String>,
    name: Vec<String>,
    name_folded: String,
    keywords: Vec<String>,
    /// The keywords' English stems (everyday English words sit among the keywords).
    keyword_stems: HashSet<String>,
    /// The English name's stems, in order (phrases are read from it too).
    english: Vec<String>,
    sector: HashSet<String>,
}

#[derive(Debug, Default)]
pub struct CatalogueIndex {
    docs: Vec<Indexed>,
    idf: HashMap<String, f64>,
}

fn folded_tokens(s: &str) -> Vec<String> {
    tokens(&fold(&normalise(s)))
}

/// Function words that never identify a procedure. Checked on the accented token, so that
/// `căn` (căn cước) is kept while `cần` (need) is dropped; the unaccented list holds only
/// words whose folded form is not also a content word of the catalogue.
const STOP_ACCENTED: [&str; 34] = [
    "cần", "gì", "làm", "thế", "nào", "ở", "đâu", "tôi", "muốn", "thì", "cho", "của", "là", "bao", "nhiêu", "mấy",
    "mất", "những", "để", "và", "với", "xin", "được", "em", "có", "không", "phải", "khi", "ạ", "nhé", "vậy", "sao",
    "rồi", "hay",
];
const STOP_FOLDED: [&str; 26] = [
    "lam", "gi", "nao", "dau", "toi", "muon", "thi", "cua", "nhieu", "nhung", "voi", "xin", "duoc", "khong", "phai",
    "nhe", "vay", "roi", "how", "what", "where", "my", "i", "is", "do", "for",
];
/// English function words. Several fold to Vietnamese content words (`the` is thẻ, `can`
/// căn, `to` tờ), so they are dropped only from a question written in English.
const STOP_ENGLISH: [&str; 44] = [
    "a", "an", "the", "to", "of", "in", "on", "at", "by", "and", "or", "can", "could", "we", "our", "you", "your",
    "me", "it", "its", "be", "am", "are", "was", "do", "does", "did", "should", "would", "will", "when", "which",
    "who", "why", "with", "from", "after", "need", "want", "get", "please", "apply", "new", "about",
];

/// Words that mark a question as English and are no Vietnamese syllable typed without its
/// marks (unlike `the`, `can`, `do`, `me`, `in`).
const ENGLISH_MARKERS: [&str; 29] = [
    "how", "what", "where", "when", "which", "who", "why", "my", "is", "are", "does", "for", "of", "with", "from",
    "after", "need", "want", "get", "you", "your", "we", "our", "and", "please", "should", "about", "apply", "i",
];

/// Whether a question reads as English: no Vietnamese letters and an English marker word.
fn is_english(exact: &[String]) -> bool {
    exact.iter().all(|t| t.is_ascii()) && exact.iter().any(|t| ENGLISH_MARKERS.contains(&t.as_str()))
}

/// Query tokens without function words: (folded, as typed after normalisation).
fn query_tokens(query: &str) -> (Vec<String>, Vec<String>) {
    let exact = tokens(&normalise(query));
    let english = is_english(&exact);
    exact
        .into_iter()
        .map(|e| (fold(&e), e))
        .filter(|(f, e)| {
            !(STOP_ACCENTED.contains(&e.as_str())
                || (f == e && STOP_FOLDED.contains(&f.as_str()))
                || (english && STOP_ENGLISH.contains(&f.as_str())))
        })
        .unzip()
}

/// An English word's stem (licence and license, registration and register meet), for
/// matching procedures' English names.
fn stem(word: &str) -> String {
    thread_local! {
        static STEMMER: rust_stemmers::Stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
    }
    let word = match word {
        "licence" | "licences" => "license",
        "legalisation" => "legalization",
        "practise" | "practising" => "practice",
        w => w,
    };
    STEMMER.with(|s| s.stem(word).into_owned())
}

fn bigrams(t: &[String]) -> HashSet<(String, String)> {
    t.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect()
}

impl CatalogueIndex {
    pub fn new(docs: impl IntoIterator<Item = SearchDoc>) -> Self {
        let docs: Vec<Indexed> = docs
            .into_iter()
            .map(|d| Indexed {
                id: d.id,
                code: d.code.to_lowercase(),
                name_exact: tokens(&normalise(&d.name)).into_iter().collect(),
                name: folded_tokens(&d.name),
                name_folded: folded_tokens(&d.name).join(" "),
                keywords: folded_tokens(&d.keywords),
                keyword_stems: folded_tokens(&d.keywords).iter().map(|t| stem(t)).collect(),
                english: folded_tokens(&d.name_en).iter().map(|t| stem(t)).collect(),
                sector: folded_tokens(&d.sector).into_iter().collect(),
            })
            .collect();
        let mut df: HashMap<String, usize> = HashMap::new();
        for d in &docs {
            let all: HashSet<&String> = d.name.iter().chain(&d.keywords).chain(&d.english).chain(&d.sector).collect();
            for t in all {
                *df.entry(t.clone()).or_default() += 1;
            }
        }
        let n = docs.len().max(1) as f64;
        let idf = df.into_iter().map(|(t, c)| (t, (1.0 + n / c as f64).ln())).collect();
        CatalogueIndex { docs, idf }
    }

    /// Whether the name of document `id` holds two consecutive words of `query` (a phrase,
    /// not a chance syllable: Vietnamese words are mostly two syllables).
    pub fn phrase_in_name(&self, id: i64, query: &str) -> bool {
        let (q, _) = query_tokens(query);
        let pairs = bigrams(&q);
        let stems: Vec<String> = q.iter().map(|t| stem(t)).collect();
        let stem_pairs = bigrams(&stems);
        self.docs.iter().find(|d| d.id == id).is_some_and(|d| {
            bigrams(&d.name).iter().any(|p| pairs.contains(p))
                || bigrams(&d.english).iter().any(|p| stem_pairs.contains(p))
        })
    }

    /// The query's content words, folded, with English words also as their stems.
    pub fn content_words(query: &str) -> Vec<String> {
        let (q, _) = query_tokens(query);
        let stems: Vec<String> = q.iter().map(|t| stem(t)).collect();
        q.into_iter().chain(stems).collect()
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Procedure ids ranked best first, with their scores; only matches are returned.
    pub fn search(&self, query: &str, limit: usize) -> Vec<(i64, f64)> {
        self.search_with_coverage(query, limit).into_iter().map(|(id, s, _)| (id, s)).collect()
    }

    /// As [`search`](Self::search), with the share of the query's content words each match
    /// covers (0 to 1): what tells a real answer from a chance match on one common word.
    pub fn search_with_coverage(&self, query: &str, limit: usize) -> Vec<(i64, f64, f64)> {
        let (q, q_exact) = query_tokens(query);
        if q.is_empty() {
            return Vec::new();
        }
        let q_folded = q.join(" ");
        let q_pairs = bigrams(&q);
        let q_stems: Vec<String> = q.iter().map(|t| stem(t)).collect();
        // A word the catalogue does not know weighs as much as its rarest word: a question
        // about something else (lottery results, a restaurant) is mostly such words.
        let unknown = (1.0 + self.docs.len().max(1) as f64).ln();
        let idf = |i: usize| self.idf.get(&q[i]).or_else(|| self.idf.get(&q_stems[i])).copied();
        let weight = |i: usize| {
            if q[i].chars().all(|c| c.is_ascii_digit()) { 0.0 } else { idf(i).unwrap_or(unknown) }
        };
        let total: f64 = (0..q.len()).map(weight).sum::<f64>().max(f64::MIN_POSITIVE);
        let mut hits: Vec<(i64, f64, f64)> = self
            .docs
            .iter()
            .filter_map(|d| {
                if d.code == query.trim().to_lowercase() {
                    return Some((d.id, 1000.0, 1.0));
                }
                let name: HashSet<&String> = d.name.iter().collect();
                let kw: HashSet<&String> = d.keywords.iter().collect();
                let mut score = 0.0;
                let mut matched = 0.0;
                for (i, t) in q.iter().enumerate() {
                    let idf = idf(i).unwrap_or(0.0);
                    let mut s = 0.0;
                    if name.contains(t) {
                        s += 3.0 * idf;
                        // Reward the exact (accented) word when the query was typed with accents.
                        if q_exact.get(i).is_some_and(|e| e != t && d.name_exact.contains(e)) {
                            s += 1.0 * idf;
                        }
                    } else if kw.contains(t) || d.keyword_stems.contains(&q_stems[i]) {
                        s += 2.0 * idf;
                    }
                    if d.english.contains(&q_stems[i]) {
                        s += 2.0 * idf;
                    }
                    if d.sector.contains(t) {
                        s += 0.5 * idf;
                    }
                    if s > 0.0 {
                        matched += weight(i);
                    }
                    score += s;
                }
                if score == 0.0 {
                    return None;
                }
                let name_pairs = bigrams(&d.name);
                let kw_pairs = bigrams(&d.keywords);
                for p in &q_pairs {
                    if name_pairs.contains(p) {
                        score += 4.0;
                    } else if kw_pairs.contains(p) {
                        score += 3.0;
                    }
                }
                if q.len() > 1 && d.name_folded.contains(&q_folded) {
                    score += 10.0;
                }
                Some((d.id, score, matched / total))
            })
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(limit);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> CatalogueIndex {
        let doc = |id, name: &str, en: &str, kw: &str| SearchDoc {
            id,
            code: format!("P{id}"),
            name: name.into(),
            name_en: en.into(),
            sector: "Hộ tịch".into(),
            keywords: kw.into(),
        };
        CatalogueIndex::new([
            doc(1, "Đăng ký khai sinh", "Birth registration", "giấy khai sinh sinh con làm khai sinh"),
            doc(2, "Đăng ký kết hôn", "Marriage registration", "cưới lấy vợ lấy chồng"),
            doc(3, "Cấp thẻ Căn cước", "Identity card", "CCCD căn cước công dân CMND"),
            doc(4, "Đăng ký thường trú", "Permanent residence registration", "hộ khẩu nhập khẩu chuyển hộ khẩu"),
        ])
    }

    #[test]
    fn with_and_without_diacritics() {
        let i = index();
        assert_eq!(i.search("đăng ký khai sinh", 5)[0].0, 1);
        assert_eq!(i.search("dang ky khai sinh", 5)[0].0, 1);
        assert_eq!(i.search("DANG KY KET HON", 5)[0].0, 2);
    }

    #[test]
    fn everyday_words_abbreviations_and_english() {
        let i = index();
        assert_eq!(i.search("làm CCCD", 5)[0].0, 3);
        assert_eq!(i.search("chuyen ho khau", 5)[0].0, 4);
        assert_eq!(i.search("birth", 5)[0].0, 1);
        assert_eq!(i.search("P2", 5)[0].0, 2);
    }

    #[test]
    fn nothing_for_nonsense() {
        assert!(index().search("xyzzy", 5).is_empty());
        assert!(index().search("   ", 5).is_empty());
    }
}
