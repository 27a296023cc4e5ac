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

/// The catalogue as the assistant sees it.
pub struct Assistant {
    index: CatalogueIndex,
}

impl Assistant {
    /// `procedures`: (id, spec) of every published procedure.
    pub fn new<'a>(procedures: impl IntoIterator<Item = (i64, &'a ProcedureSpec)>) -> Self {
        let docs = procedures.into_iter().map(|(id, p)| SearchDoc {
            id,
            code: p.code.clone(),
            name: p.name.clone(),
            name_en: p.name_en.clone(),
            sector: p.sector.clone(),
            keywords: p.keywords.clone(),
        });
        Assistant { index: CatalogueIndex::new(docs) }
    }

    /// The procedures that answer `question`, best first (at most `limit`), or none when the
    /// catalogue does not answer it.
    pub fn sources(&self, question: &str, limit: usize) -> Vec<(i64, f64)> {
        let question: String = question.chars().take(500).collect();
        let hits = self.index.search_with_coverage(&expand(&question), limit.max(1));
        match hits.first() {
            Some((_, best, coverage)) if *best >= MIN_SCORE && *coverage >= MIN_COVERAGE => {
                // Keep the close runners-up only: a weak tail is noise, not a source.
                let best = *best;
                hits.into_iter()
                    .filter(|(_, s, _)| *s >= best * 0.5 && *s >= MIN_SCORE)
                    .map(|(id, s, _)| (id, s))
                    .collect()
            }
            _ => vec![],
        }
    }

    /// The best match's score and coverage, for tuning.
    pub fn explain(&self, question: &str) -> Option<(i64, f64, f64)> {
        self.index.search_with_coverage(&expand(question), 1).into_iter().next()
    }
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
    if english {
        format!(
            "{} ({}). Documents: {}. Fees: {}. Time limit: {}. Apply online: {url}",
            p.name_en,
            p.name,
            docs.join("; "),
            p.fees,
            if days == 0 { "the same working day".to_string() } else { format!("{days} working days") },
        )
    } else {
        format!(
            "{}: hồ sơ gồm {}. Lệ phí: {}. Thời hạn giải quyết: {}. Nộp trực tuyến tại {url}",
            p.name,
            docs.join("; "),
            p.fees,
            if days == 0 { "trong ngày làm việc".to_string() } else { format!("{days} ngày làm việc") },
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
}
