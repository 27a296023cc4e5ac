//! The citizen assistant's grounded retrieval (issue #5, first slice): a question, in
//! Vietnamese with or without diacritics, everyday words and abbreviations, or English, is
//! matched against the procedure catalogue; the answer is composed only from the matched
//! procedures' published facts (documents, fees, deadline, where to apply). When nothing in
//! the catalogue answers, the answer says so and is not grounded — it never invents a
//! procedure, a fee or a deadline.

use crate::procedure::ProcedureSpec;
use crate::search::{CatalogueIndex, SearchDoc};
use crate::text::{fold, normalise};

/// Everyday words and abbreviations people use, with the catalogue's words for them (folded).
/// Each pair adds the catalogue's words to a question that contains the everyday phrase.
const SYNONYMS: [(&str, &str); 32] = [
    ("nguoi nha mat", "khai tu"),
    ("nguoi than mat", "khai tu"),
    ("cccd", "can cuoc"),
    ("cmnd", "can cuoc"),
    ("chung minh nhan dan", "can cuoc"),
    ("bhyt", "bao hiem y te"),
    ("bhxh", "bao hiem xa hoi"),
    ("so do", "giay chung nhan quyen su dung dat"),
    ("so hong", "giay chung nhan quyen su dung dat"),
    ("ho khau", "thuong tru"),
    ("chung tu", "khai tu"),
    ("qua doi", "khai tu"),
    ("bo me mat", "khai tu"),
    ("doc than", "tinh trang hon nhan"),
    ("bang lai", "giay phep lai xe"),
    ("mai tang", "tro cap mai tang"),
    ("tien tuat", "tu tuat"),
    ("luong huu", "huong luong huu"),
    ("nghi huu", "huong luong huu"),
    ("mat viec", "tro cap that nghiep"),
    ("bien so", "dang ky xe"),
    ("xe may", "dang ky xe"),
    ("o to", "dang ky xe"),
    ("sang ten", "bien dong dat dai"),
    ("passport", "ho chieu"),
    ("baby", "khai sinh"),
    ("birth", "khai sinh"),
    ("sole proprietorship", "doanh nghiep tu nhan"),
    ("lam ca phe", "ho kinh doanh"),
    ("tap hoa", "ho kinh doanh"),
    ("cong chung", "chung thuc"),
    ("ban sao", "ban sao"),
];

/// Below this score the best match is not taken as an answer (out of scope).
pub const MIN_SCORE: f64 = 6.0;
/// The least share of the question's content words the best match must cover.
pub const MIN_COVERAGE: f64 = 0.34;

/// Words that ask for an administrative act (folded; English as stems): register, apply,
/// issue, a paper, a fee, a benefit. A question that has none of them is grounded only when
/// it names a procedure by a phrase of its name: "nhà hàng nào ngon" shares a word with the
/// food-safety certificate's keywords but asks for no service.
const INTENT_WORDS: [&str; 69] = [
    "dang", "ky", "thu", "tuc", "ho", "so", "giay", "cap", "nop", "phi", "doi", "chuyen", "khai", "huong", "nhan",
    "the", "bang", "chung", "phep", "lap", "sao", "xoa", "cat", "nhap", "online", "truc", "tuyen", "dich", "vu", "sua",
    "thay", "xac", "tro", "che", "bao", "hiem", "tien", "thue", "mo", "gia", "han", "lai", "to", "tuat", "huu",
    "register", "regist", "certif", "card", "permit", "licens", "benefit", "allow", "pension", "document", "fee",
    "renew", "copi", "claim", "insur", "tax", "transfer", "registr", "suspend", "tam", "appli", "start", "open",
    "issu",
];

/// Whether `question` asks for an administrative act (see [`INTENT_WORDS`]).
fn asks_for_a_service(question: &str) -> bool {
    CatalogueIndex::content_words(question).iter().any(|w| INTENT_WORDS.contains(&w.as_str()))
}

/// The questions's words with the catalogue's words for everyday phrases added.
pub fn expand(question: &str) -> String {
    let folded = format!(" {} ", fold(&normalise(question)));
    let mut out = question.to_string();
    for (everyday, catalogue) in SYNONYMS {
        if folded.contains(&format!(" {everyday} ")) {
            out.push(' ');
            out.push_str(catalogue);
        }
    }
    out
}

/// A frequently asked question with its answer, kept beside the catalogue as grounding: about
/// one procedure (`procedure`, its code) or about the portal itself (tracking a dossier, late
/// dossiers, electronic results, consents …). Its answer is published text, like a
/// procedure's facts; `links` are the portal's pages it points to (paths).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    /// A stable slug, the anchor on `/faq`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    pub question: String,
    pub question_en: String,
    /// Everyday words people use for it, folded or not.
    #[serde(default)]
    pub keywords: String,
    pub answer: String,
    pub answer_en: String,
    #[serde(default)]
    pub links: Vec<String>,
}

/// The most FAQs taken, and the longest text of one field.
pub const MAX_FAQS: usize = 1000;
pub const MAX_FAQ_CHARS: usize = 2000;

/// The FAQs Sen ships (`assistant_faqs.json`): what its own portal does, and the bundles.
pub fn shipped_faqs() -> Vec<Faq> {
    parse_faqs(include_str!("assistant_faqs.json")).expect("the shipped FAQs are valid")
}

/// Reads a JSON list of FAQs and checks it: ids unique slugs, questions and answers present
/// and at most [`MAX_FAQ_CHARS`], links paths on the portal, at most [`MAX_FAQS`]. Whether a
/// named procedure exists is the catalogue's to say (an unknown one is ignored there).
pub fn parse_faqs(text: &str) -> Result<Vec<Faq>, String> {
    let faqs: Vec<Faq> = serde_json::from_str(text).map_err(|e| format!("not a list of FAQs: {e}"))?;
    if faqs.len() > MAX_FAQS {
        return Err(format!("more than {MAX_FAQS} FAQs"));
    }
    let mut ids = std::collections::HashSet::new();
    for (i, f) in faqs.iter().enumerate() {
        let at = |what: &str| format!("FAQ {i} ({}): {what}", f.id);
        if f.id.is_empty() || !f.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(at("id must be a slug of a-z, 0-9 and -"));
        }
        if !ids.insert(f.id.as_str()) {
            return Err(at("id used twice"));
        }
        for (name, v) in [
            ("question", &f.question),
            ("question_en", &f.question_en),
            ("answer", &f.answer),
            ("answer_en", &f.answer_en),
        ] {
            if v.trim().is_empty() {
                return Err(at(&format!("{name} is empty")));
            }
            if v.chars().count() > MAX_FAQ_CHARS {
                return Err(at(&format!("{name} is longer than {MAX_FAQ_CHARS} characters")));
            }
        }
        if let Some(l) =
            f.links.iter().find(|l| !l.starts_with('/') || l.starts_with("//") || l.contains(char::is_whitespace))
        {
            return Err(at(&format!("link {l:?} is not a path on the portal")));
        }
    }
    Ok(faqs)
}

/// What answers a question: a procedure (with the FAQ about it that matched the question
/// before the procedure itself did, if any), or an FAQ about the portal.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Procedure { id: i64, score: f64, faq: Option<usize> },
    Faq { index: usize, score: f64 },
}

/// The catalogue as the assistant sees it: the published procedures and the FAQs, in one
/// index so that their scores compare.
pub struct Assistant {
    index: CatalogueIndex,
    faqs: Vec<Faq>,
    /// Per FAQ, the id of the procedure it is about, when that procedure is published.
    faq_procedure: Vec<Option<i64>>,
    /// Each document (procedure id, or an FAQ's negative id) as text for an embedding model.
    texts: Vec<(i64, String)>,
    /// The documents' embeddings, when a re-ranker is loaded.
    vectors: Option<Vectors>,
}

/// Unit-length embeddings of the assistant's documents and how much they weigh when they
/// reorder the sources retrieval found.
#[derive(Debug, Clone)]
pub struct Vectors {
    pub by_doc: std::collections::HashMap<i64, Vec<f32>>,
    /// Added to each source's score relative to the best (0 to 1) times its cosine with the
    /// question.
    pub weight: f64,
}

/// The re-ranker's weight measured best on the development set (`sen eval assistant --model`).
pub const RERANK_WEIGHT: f64 = 0.5;

/// FAQs take the negative ids of the shared index: FAQ `i` is `-(i + 1)`.
fn faq_doc_id(i: usize) -> i64 {
    -(i as i64) - 1
}

impl Assistant {
    /// `procedures`: (id, spec) of every published procedure; `faqs`: the FAQs beside them.
    pub fn new<'a>(procedures: impl IntoIterator<Item = (i64, &'a ProcedureSpec)>, faqs: Vec<Faq>) -> Self {
        let mut by_code = std::collections::HashMap::new();
        let mut docs: Vec<SearchDoc> = procedures
            .into_iter()
            .map(|(id, p)| {
                by_code.insert(p.code.clone(), id);
                SearchDoc {
                    id,
                    code: p.code.clone(),
                    name: p.name.clone(),
                    name_en: p.name_en.clone(),
                    sector: p.sector.clone(),
                    keywords: p.keywords.clone(),
                }
            })
            .collect();
        let faq_procedure: Vec<Option<i64>> =
            faqs.iter().map(|f| f.procedure.as_ref().and_then(|c| by_code.get(c).copied())).collect();
        let mut texts: Vec<(i64, String)> =
            docs.iter().map(|d| (d.id, format!("{}. {}. {}", d.name_en, d.name, d.keywords))).collect();
        texts.extend(
            faqs.iter()
                .enumerate()
                .map(|(i, f)| (faq_doc_id(i), format!("{}. {}. {}", f.question_en, f.question, f.keywords))),
        );
        docs.extend(faqs.iter().enumerate().map(|(i, f)| SearchDoc {
            id: faq_doc_id(i),
            code: format!("faq:{}", f.id),
            name: f.question.clone(),
            name_en: f.question_en.clone(),
            sector: String::new(),
            keywords: f.keywords.clone(),
        }));
        Assistant { index: CatalogueIndex::new(docs), faqs, faq_procedure, texts, vectors: None }
    }

    /// What an embedding model embeds for each document: (document id, text).
    pub fn embedding_texts(&self) -> &[(i64, String)] {
        &self.texts
    }

    /// Lets the documents' embeddings reorder sources (see [`Self::answer_sources_with`]).
    pub fn set_vectors(&mut self, vectors: Vectors) {
        self.vectors = Some(vectors);
    }

    pub fn has_vectors(&self) -> bool {
        self.vectors.is_some()
    }

    pub fn faqs(&self) -> &[Faq] {
        &self.faqs
    }

    /// What answers `question`, best first (at most `limit`), or nothing when neither the
    /// catalogue nor the FAQs answer it. A procedure reached through an FAQ about it counts
    /// once, with that FAQ.
    pub fn answer_sources(&self, question: &str, limit: usize) -> Vec<Source> {
        self.answer_sources_with(question, limit, None)
    }

    /// As [`Self::answer_sources`], and with the question's embedding (when the documents
    /// have theirs) the sources retrieval kept are reordered by their score relative to the
    /// best plus [`Vectors::weight`] times their cosine with the question. Whether anything
    /// answers is still decided by retrieval alone: embeddings never ground an answer.
    pub fn answer_sources_with(&self, question: &str, limit: usize, question_vector: Option<&[f32]>) -> Vec<Source> {
        let question: String = question.chars().take(500).collect();
        let limit = limit.max(1);
        let expanded = expand(&question);
        let hits = self.index.search_with_coverage(&expanded, limit * 4);
        let best = match hits.first() {
            Some((id, best, coverage))
                if *best >= MIN_SCORE
                    && *coverage >= MIN_COVERAGE
                    && (asks_for_a_service(&question) || self.index.phrase_in_name(*id, &expanded)) =>
            {
                *best
            }
            _ => return vec![],
        };
        // Keep the close runners-up only: a weak tail is noise, not a source.
        let mut kept: Vec<(i64, f64, f64)> = hits
            .into_iter()
            .filter(|(_, s, _)| *s >= best * 0.5 && *s >= MIN_SCORE)
            .map(|(id, s, _)| (id, s, s / best))
            .collect();
        if let (Some(v), Some(q)) = (&self.vectors, question_vector) {
            for k in &mut kept {
                let cos = v.by_doc.get(&k.0).map(|d| d.iter().zip(q).map(|(a, b)| f64::from(a * b)).sum::<f64>());
                k.2 += v.weight * cos.unwrap_or(0.0);
            }
            kept.sort_by(|a, b| b.2.total_cmp(&a.2));
        }
        let mut out: Vec<Source> = Vec::with_capacity(limit);
        for (id, score, _) in kept {
            let (procedure, faq) = if id >= 0 {
                (Some(id), None)
            } else {
                let i = (-id - 1) as usize;
                (self.faq_procedure.get(i).copied().flatten(), Some(i))
            };
            let seen = |p: i64| out.iter().any(|s| matches!(s, Source::Procedure { id, .. } if *id == p));
            match (procedure, faq) {
                (Some(p), _) if seen(p) => {}
                (Some(p), faq) => out.push(Source::Procedure { id: p, score, faq }),
                (None, Some(index)) if self.faqs[index].procedure.is_none() => out.push(Source::Faq { index, score }),
                // An FAQ about a procedure that is not published answers nothing.
                _ => {}
            }
            if out.len() == limit {
                break;
            }
        }
        out
    }

    /// The procedures that answer `question`, best first (at most `limit`).
    pub fn sources(&self, question: &str, limit: usize) -> Vec<(i64, f64)> {
        self.answer_sources(question, limit)
            .into_iter()
            .filter_map(|s| match s {
                Source::Procedure { id, score, .. } => Some((id, score)),
                Source::Faq { .. } => None,
            })
            .collect()
    }

    /// The best match's score and coverage, for tuning.
    pub fn explain(&self, question: &str) -> Option<(i64, f64, f64)> {
        self.index.search_with_coverage(&expand(question), 1).into_iter().next()
    }
}

/// An FAQ's answer with the full addresses of the pages it points to.
pub fn faq_answer(f: &Faq, base_url: &str, english: bool) -> String {
    let mut out = if english { f.answer_en.clone() } else { f.answer.clone() };
    if !f.links.is_empty() {
        let links: Vec<String> = f.links.iter().map(|l| format!("{base_url}{l}")).collect();
        out.push_str(if english { " See: " } else { " Xem: " });
        out.push_str(&links.join(", "));
    }
    out
}

/// The grounded answer for one procedure, from its published facts only.
pub fn answer_for(p: &ProcedureSpec, url: &str, english: bool) -> String {
    let docs: Vec<String> = p
        .components
        .iter()
        .map(|c| {
            format!(
                "{}{}",
                c.name,
                if c.mandatory { "" } else { if english { " (if applicable)" } else { " (nếu có)" } }
            )
        })
        .collect();
    let days = p.deadline_working_days;
    use crate::procedure::{Level, ServiceLevel};
    if english {
        let level = match p.level {
            Level::Central => "a central agency",
            Level::Province => "the province",
            Level::Commune => "the commune",
        };
        let how = match p.service_level {
            ServiceLevel::FullProcess => "fully online: apply and receive the result online or by post",
            ServiceLevel::Partial => "partly online: some step is done in person",
        };
        format!(
            "{} ({}). Documents: {}. Fees: {}. Time limit: {}. Handled by {level}; {how}. Apply online: {url}",
            p.name_en,
            p.name,
            docs.join("; "),
            p.fees,
            if days == 0 { "the same working day".to_string() } else { format!("{days} working days") },
        )
    } else {
        let how = match p.service_level {
            ServiceLevel::FullProcess => "toàn trình: nộp hồ sơ và nhận kết quả trực tuyến hoặc qua bưu chính",
            ServiceLevel::Partial => "một phần: có bước phải thực hiện trực tiếp",
        };
        format!(
            "{}: hồ sơ gồm {}. Lệ phí: {}. Thời hạn giải quyết: {}. Cơ quan giải quyết: {}. Dịch vụ công trực tuyến {how}. Nộp trực tuyến tại {url}",
            p.name,
            docs.join("; "),
            p.fees,
            if days == 0 { "trong ngày làm việc".to_string() } else { format!("{days} ngày làm việc") },
            p.level.label_vi().to_lowercase(),
        )
    }
}

/// What the assistant says when the catalogue does not answer.
pub fn not_grounded(english: bool) -> String {
    if english {
        "I found no administrative procedure in the catalogue that answers this. Please call the public service hotline 1022 or ask at the one-stop desk of your commune.".into()
    } else {
        "Tôi không tìm thấy thủ tục hành chính nào trong danh mục trả lời được câu hỏi này. Bạn có thể gọi tổng đài dịch vụ công 1022 hoặc hỏi tại bộ phận một cửa của xã, phường.".into()
    }
}

/// The longest rephrased answer taken, in characters (a grounded answer is a few hundred).
pub const MAX_REPHRASED_CHARS: usize = 2000;

/// What an OpenAI-compatible chat model is asked when it may rephrase a grounded answer: a
/// system message that binds it to the facts given, and a user message with the question and
/// the facts (the answer composed from the catalogue). The model's reply is used only if
/// [`faithful`] accepts it.
pub fn rephrase_request(question: &str, grounded_answer: &str, english: bool) -> (String, String) {
    let system = if english {
        "You are the assistant of a Vietnamese public-service portal. Rewrite the FACTS below as a short, friendly \
         answer to the QUESTION, in English. Use only the FACTS: do not add, change or round any procedure, \
         document, fee, amount, time limit, number, place or link. Keep procedure names exactly as written and \
         keep the link to apply. If the FACTS do not answer the question, repeat them unchanged."
    } else {
        "Bạn là trợ lý của Cổng dịch vụ công. Hãy viết lại THÔNG TIN dưới đây thành câu trả lời ngắn gọn, thân \
         thiện cho CÂU HỎI, bằng tiếng Việt. Chỉ dùng THÔNG TIN đã cho: không thêm, sửa hay làm tròn thủ tục, giấy \
         tờ, lệ phí, số tiền, thời hạn, con số, địa điểm hay đường dẫn nào. Giữ nguyên tên thủ tục và đường dẫn \
         nộp hồ sơ. Nếu THÔNG TIN không trả lời được câu hỏi, hãy nhắc lại nguyên văn."
    };
    let user = if english {
        format!("QUESTION: {question}\n\nFACTS: {grounded_answer}")
    } else {
        format!("CÂU HỎI: {question}\n\nTHÔNG TIN: {grounded_answer}")
    };
    (system.to_string(), user)
}

/// Why a rephrased answer was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfaithful {
    Empty,
    TooLong,
    /// A number (amount, days, count) the facts do not hold.
    Number(String),
    /// A link the facts do not hold.
    Link(String),
    /// A number written as a word (nghìn, triệu, thousand …) the facts do not hold.
    NumberWord(String),
    /// The link to apply was dropped.
    ApplyLinkDropped,
}

impl std::fmt::Display for Unfaithful {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unfaithful::Empty => write!(f, "empty"),
            Unfaithful::TooLong => write!(f, "longer than {MAX_REPHRASED_CHARS} characters"),
            Unfaithful::Number(n) => write!(f, "a number not in the facts: {n}"),
            Unfaithful::Link(l) => write!(f, "a link not in the facts: {l}"),
            Unfaithful::NumberWord(w) => write!(f, "a number word not in the facts: {w}"),
            Unfaithful::ApplyLinkDropped => write!(f, "the link to apply was dropped"),
        }
    }
}

/// Numbers written as words: a rephrasing may not bring one the facts do not have.
const NUMBER_WORDS: [&str; 12] =
    ["muoi", "tram", "nghin", "ngan", "trieu", "ty", "hundred", "thousand", "million", "billion", "dozen", "half"];

/// The digit runs of `s`, separators dropped (`100.000` and `100,000` are both `100000`).
fn numbers(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            cur.push(c);
        } else if !cur.is_empty() && (c == '.' || c == ',') && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            // A thousands or decimal separator inside a number.
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn links(s: &str) -> Vec<&str> {
    s.split_whitespace()
        .filter(|w| w.contains("://"))
        .map(|w| w.trim_end_matches(['.', ',', ';', ')', ']', '"', '\'']))
        .map(|w| w.trim_start_matches(['(', '[', '"', '\'', '<']))
        .collect()
}

/// Accepts a model's rephrasing of `grounded_answer` only if it brings nothing the facts do
/// not hold: every number (in digits or as a number word) and every link in it is in the
/// facts, the link to apply (`apply_url`) is kept, and it is neither empty nor over
/// [`MAX_REPHRASED_CHARS`]. Wording may change; facts may not.
pub fn faithful(candidate: &str, grounded_answer: &str, apply_url: &str) -> Result<(), Unfaithful> {
    let candidate = candidate.trim();
    if candidate.is_empty() {
        return Err(Unfaithful::Empty);
    }
    if candidate.chars().count() > MAX_REPHRASED_CHARS {
        return Err(Unfaithful::TooLong);
    }
    let fact_links = links(grounded_answer);
    let cand_links = links(candidate);
    if let Some(l) = cand_links.iter().find(|l| !fact_links.contains(l)) {
        return Err(Unfaithful::Link(l.to_string()));
    }
    if !cand_links.contains(&apply_url) {
        return Err(Unfaithful::ApplyLinkDropped);
    }
    // Numbers outside links: a link's digits are checked as the link.
    let without_links = |s: &str| s.split_whitespace().filter(|w| !w.contains("://")).collect::<Vec<_>>().join(" ");
    let facts = numbers(&without_links(grounded_answer));
    if let Some(n) = numbers(&without_links(candidate)).into_iter().find(|n| !facts.contains(n)) {
        return Err(Unfaithful::Number(n));
    }
    let fact_words: Vec<String> = crate::text::tokens(&fold(grounded_answer));
    for w in crate::text::tokens(&fold(candidate)) {
        if NUMBER_WORDS.contains(&w.as_str()) && !fact_words.contains(&w) {
            return Err(Unfaithful::NumberWord(w));
        }
    }
    Ok(())
}

/// A question as it may be kept: runs of six or more digits (personal numbers, phone
/// numbers, tax codes, dossier numbers) and e-mail addresses replaced, so the log of
/// exchanges holds no personal identifier.
pub fn redact(question: &str) -> String {
    let mut out = Vec::new();
    for word in question.split_whitespace() {
        let w = if word.contains('@') && word.contains('.') {
            "[email]".to_string()
        } else {
            let mut t = String::new();
            let mut digits = String::new();
            let flush = |t: &mut String, d: &mut String| {
                if d.len() >= 6 {
                    t.push_str("[số]");
                } else {
                    t.push_str(d);
                }
                d.clear();
            };
            for c in word.chars() {
                if c.is_ascii_digit() || (!digits.is_empty() && (c == '.' || c == '-')) {
                    digits.push(c);
                } else {
                    flush(&mut t, &mut digits);
                    t.push(c);
                }
            }
            flush(&mut t, &mut digits);
            t
        };
        out.push(w);
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_no_identifier() {
        assert_eq!(redact("CCCD 001190012345 của tôi mất"), "CCCD [số] của tôi mất");
        assert_eq!(redact("gọi 0912.345.678 hoặc mai@example.vn"), "gọi [số] hoặc [email]");
        assert_eq!(redact("con 14 tuổi làm CCCD"), "con 14 tuổi làm CCCD");
        assert_eq!(redact("hồ sơ H01.1-261202-0001"), "hồ sơ H[số]");
    }

    #[test]
    fn everyday_phrases_add_the_catalogues_words() {
        assert!(expand("Làm CCCD cho con").ends_with("can cuoc"));
        assert!(expand("lam so do lan dau").contains("giay chung nhan quyen su dung dat"));
        assert_eq!(expand("Cách nấu phở bò"), "Cách nấu phở bò");
    }

    #[test]
    fn a_rephrasing_may_change_words_but_not_facts() {
        let url = "http://sen.test/procedures/4";
        let facts = format!(
            "Đăng ký kết hôn: hồ sơ gồm Tờ khai đăng ký kết hôn; Giấy xác nhận tình trạng hôn nhân. Lệ phí: Miễn lệ phí. \
             Thời hạn giải quyết: 5 ngày làm việc. Nộp trực tuyến tại {url}"
        );
        let good = format!(
            "Để đăng ký kết hôn, bạn cần tờ khai và giấy xác nhận tình trạng hôn nhân; không mất lệ phí, có kết quả trong 5 ngày làm việc. Nộp tại {url}."
        );
        assert_eq!(faithful(&good, &facts, url), Ok(()));
        let fee = format!("Lệ phí 100.000 đồng, 5 ngày làm việc. Nộp tại {url}");
        assert_eq!(faithful(&fee, &facts, url), Err(Unfaithful::Number("100000".into())));
        let days = format!("Có kết quả trong 3 ngày làm việc: {url}");
        assert_eq!(faithful(&days, &facts, url), Err(Unfaithful::Number("3".into())));
        let words = format!("Lệ phí khoảng hai trăm nghìn đồng. {url}");
        assert_eq!(faithful(&words, &facts, url), Err(Unfaithful::NumberWord("tram".into())));
        let elsewhere = format!("Nộp tại https://dichvucong.example.vn/ket-hon hoặc {url}");
        assert!(matches!(faithful(&elsewhere, &facts, url), Err(Unfaithful::Link(_))));
        assert_eq!(faithful("Bạn cần tờ khai và 5 ngày làm việc.", &facts, url), Err(Unfaithful::ApplyLinkDropped));
        assert_eq!(faithful("   ", &facts, url), Err(Unfaithful::Empty));
        assert_eq!(faithful(&format!("{} {url}", "a".repeat(2001)), &facts, url), Err(Unfaithful::TooLong));
        // The facts given back unchanged are always faithful.
        assert_eq!(faithful(&facts, &facts, url), Ok(()));
    }

    #[test]
    fn the_model_is_asked_with_the_question_and_the_facts() {
        let (system, user) = rephrase_request("lệ phí kết hôn?", "Đăng ký kết hôn: Miễn lệ phí.", false);
        assert!(system.contains("Chỉ dùng THÔNG TIN"));
        assert!(user.contains("lệ phí kết hôn?") && user.contains("Miễn lệ phí"));
        let (system, _) = rephrase_request("fee?", "x", true);
        assert!(system.contains("Use only the FACTS"));
    }

    fn spec(code: &str, name: &str, keywords: &str) -> ProcedureSpec {
        serde_json::from_value(serde_json::json!({
            "code": code, "name": name, "name_en": "", "sector": "Hộ tịch", "level": "commune",
            "agency_kind": "commune_pc", "deadline_working_days": 1, "fees": "", "fee_vnd": 0,
            "service_level": "full_process", "applicants": "citizens", "conditions": "", "steps": "",
            "legal_basis": "", "result_document": "", "components": [], "keywords": keywords
        }))
        .unwrap()
    }

    #[test]
    fn the_shipped_faqs_are_valid_and_bad_ones_are_refused() {
        let faqs = shipped_faqs();
        assert!(faqs.len() >= 10);
        assert!(parse_faqs("[]").unwrap().is_empty());
        let one = |id: &str, link: &str| {
            format!(
                r#"[{{"id": "{id}", "question": "q", "question_en": "q", "answer": "a", "answer_en": "a", "links": ["{link}"]}}]"#
            )
        };
        assert!(parse_faqs(&one("tra-cuu", "/lookup")).is_ok());
        assert!(parse_faqs(&one("Tra cứu", "/lookup")).unwrap_err().contains("slug"));
        assert!(parse_faqs(&one("x", "https://elsewhere.example/")).unwrap_err().contains("not a path"));
        assert!(parse_faqs(&one("x", "//elsewhere.example/")).unwrap_err().contains("not a path"));
        let twice = r#"[{"id": "a", "question": "q", "question_en": "q", "answer": "a", "answer_en": "a"},
                        {"id": "a", "question": "q", "question_en": "q", "answer": "a", "answer_en": "a"}]"#;
        assert!(parse_faqs(twice).unwrap_err().contains("twice"));
        assert!(
            parse_faqs(r#"[{"id": "a", "question": "", "question_en": "q", "answer": "a", "answer_en": "a"}]"#)
                .unwrap_err()
                .contains("empty")
        );
        assert!(parse_faqs(r#"[{"id": "a", "quest": "q"}]"#).is_err());
    }

    #[test]
    fn faqs_answer_questions_about_the_portal_and_lead_to_their_procedure() {
        let birth = spec("1.001193", "Đăng ký khai sinh", "làm giấy khai sinh cho con");
        let marriage = spec("1.000894", "Đăng ký kết hôn", "lấy vợ lấy chồng");
        let a = Assistant::new([(10, &birth), (11, &marriage)], shipped_faqs());
        // About the portal: the FAQ.
        let s = a.answer_sources("làm sao tra cứu tình trạng hồ sơ đã nộp", 3);
        let Some(Source::Faq { index, .. }) = s.first() else { panic!("{s:?}") };
        assert_eq!(a.faqs()[*index].id, "tra-cuu-ho-so");
        let s = a.answer_sources("ho so bi tre han thi sao", 3);
        assert!(
            matches!(s.first(), Some(Source::Faq { index, .. }) if a.faqs()[*index].id == "ho-so-tre-han"),
            "{s:?}"
        );
        // About a procedure: the procedure, with the FAQ that matched.
        let s = a.answer_sources("sinh con làm liên thông khai sinh thường trú bảo hiểm y tế một lần", 3);
        assert!(matches!(s.first(), Some(Source::Procedure { id: 10, faq: Some(_), .. })), "{s:?}");
        // The procedure alone when no FAQ matched better.
        let s = a.answer_sources("đăng ký kết hôn", 3);
        assert!(matches!(s.first(), Some(Source::Procedure { id: 11, faq: None, .. })), "{s:?}");
        // Still nothing for what neither answers.
        assert!(a.answer_sources("Cách nấu phở bò ngon", 3).is_empty());
        assert!(a.answer_sources("Giá vàng hôm nay bao nhiêu?", 3).is_empty());
        // An FAQ about a procedure that is not published answers nothing by itself.
        let a = Assistant::new([(11, &marriage)], shipped_faqs());
        let s = a.answer_sources("nhóm thủ tục liên thông khi sinh con", 3);
        assert!(
            s.iter().all(|x| !matches!(x, Source::Faq { index, .. } if a.faqs()[*index].procedure.is_some())),
            "{s:?}"
        );
    }
}
