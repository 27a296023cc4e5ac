//! Routing feedback and petitions (phản ánh, kiến nghị) to the responsible agency and sector
//! (issue #5): a multinomial naive Bayes classifier over Vietnamese syllables, trained in
//! Sen from routed petitions and retrained when officers correct a route.
//!
//! Features: every syllable folded (no diacritics, lower case, so "duong" and "đường" meet)
//! and every pair of adjacent folded syllables (Vietnamese words are mostly two syllables:
//! "ô nhiễm", "giấy phép"). Laplace smoothing; log probabilities. Pure and deterministic.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// A label: where a petition goes, `"<agency kind>/<sector>"`.
pub type Label = String;

/// One labelled petition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub label: Label,
}

/// The features of a text.
pub fn features(text: &str) -> Vec<String> {
    let words: Vec<String> = crate::text::fold(&crate::text::normalise(text))
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let mut out = words.clone();
    out.extend(words.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    out
}

/// A trained classifier.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    labels: Vec<Label>,
    /// Per label: documents, total feature count, feature counts.
    docs: Vec<u64>,
    totals: Vec<u64>,
    counts: Vec<HashMap<String, u32>>,
    vocabulary: usize,
    examples: u64,
}

/// Smoothing.
const ALPHA: f64 = 0.5;

impl Model {
    pub fn train(examples: &[Example]) -> Model {
        let mut m = Model::default();
        let mut vocab: std::collections::HashSet<String> = Default::default();
        for e in examples {
            let i = match m.labels.iter().position(|l| *l == e.label) {
                Some(i) => i,
                None => {
                    m.labels.push(e.label.clone());
                    m.docs.push(0);
                    m.totals.push(0);
                    m.counts.push(HashMap::new());
                    m.labels.len() - 1
                }
            };
            m.docs[i] += 1;
            m.examples += 1;
            for f in features(&e.text) {
                m.totals[i] += 1;
                *m.counts[i].entry(f.clone()).or_insert(0) += 1;
                vocab.insert(f);
            }
        }
        m.vocabulary = vocab.len();
        m
    }

    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    pub fn examples(&self) -> u64 {
        self.examples
    }

    /// Labels ranked best first, with their posterior probability.
    pub fn rank(&self, text: &str) -> Vec<(Label, f64)> {
        if self.labels.is_empty() {
            return vec![];
        }
        let fs = features(text);
        let v = self.vocabulary as f64 + 1.0;
        let mut scores: Vec<(usize, f64)> = (0..self.labels.len())
            .map(|i| {
                let prior = (self.docs[i] as f64 / self.examples as f64).ln();
                let denom = self.totals[i] as f64 + ALPHA * v;
                let lik: f64 =
                    fs.iter().map(|f| ((*self.counts[i].get(f).unwrap_or(&0) as f64 + ALPHA) / denom).ln()).sum();
                (i, prior + lik)
            })
            .collect();
        let max = scores.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = scores.iter().map(|s| (s.1 - max).exp()).sum();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scores.into_iter().map(|(i, s)| (self.labels[i].clone(), (s - max).exp() / z)).collect()
    }

    pub fn predict(&self, text: &str) -> Option<(Label, f64)> {
        self.rank(text).into_iter().next()
    }
}

/// Accuracy and macro-F1 of a model on held-out examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Per label: (precision, recall, F1, support).
    pub per_label: BTreeMap<Label, (f64, f64, f64, usize)>,
}

pub fn evaluate(model: &Model, test: &[Example]) -> Evaluation {
    let mut tp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fp: BTreeMap<String, usize> = BTreeMap::new();
    let mut support: BTreeMap<&str, usize> = BTreeMap::new();
    let mut right = 0;
    for e in test {
        *support.entry(&e.label).or_insert(0) += 1;
        let got = model.predict(&e.text).map(|p| p.0).unwrap_or_default();
        if got == e.label {
            right += 1;
            *tp.entry(&e.label).or_insert(0) += 1;
        } else {
            *fp.entry(got).or_insert(0) += 1;
        }
    }
    let mut per_label = BTreeMap::new();
    for (label, n) in &support {
        let t = *tp.get(label).unwrap_or(&0) as f64;
        let p = if t + (*fp.get(*label).unwrap_or(&0) as f64) == 0.0 {
            0.0
        } else {
            t / (t + *fp.get(*label).unwrap_or(&0) as f64)
        };
        let r = t / *n as f64;
        let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        per_label.insert(label.to_string(), (p, r, f1, *n));
    }
    let macro_f1 =
        if per_label.is_empty() { 0.0 } else { per_label.values().map(|v| v.2).sum::<f64>() / per_label.len() as f64 };
    Evaluation {
        examples: test.len(),
        accuracy: if test.is_empty() { 0.0 } else { right as f64 / test.len() as f64 },
        macro_f1,
        per_label,
    }
}

/// A deterministic split: every `k`-th example of each label is held out.
pub fn split(examples: &[Example], k: usize) -> (Vec<Example>, Vec<Example>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let (mut train, mut test) = (vec![], vec![]);
    for e in examples {
        let n = seen.entry(&e.label).or_insert(0);
        *n += 1;
        if (*n).is_multiple_of(k.max(2)) { test.push(e.clone()) } else { train.push(e.clone()) }
    }
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, label: &str) -> Example {
        Example { text: text.into(), label: label.into() }
    }

    #[test]
    fn learns_syllables_with_and_without_diacritics() {
        let m = Model::train(&[
            ex("Đường ngõ 12 bị ổ gà, đề nghị sửa đường", "giao-thong/Đường bộ"),
            ex("Đèn đường hỏng, đường tối", "giao-thong/Đường bộ"),
            ex("Nhà máy xả nước thải gây ô nhiễm kênh", "moi-truong/Môi trường"),
            ex("Khói bụi ô nhiễm từ xưởng gỗ", "moi-truong/Môi trường"),
        ]);
        assert_eq!(m.predict("duong bi o ga rat nguy hiem").unwrap().0, "giao-thong/Đường bộ");
        assert_eq!(m.predict("Ô NHIỄM nước thải").unwrap().0, "moi-truong/Môi trường");
        let ranked = m.rank("ô nhiễm");
        assert!((ranked.iter().map(|r| r.1).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(features("ô nhiễm").contains(&"o nhiem".to_string()));
    }

    #[test]
    fn evaluation_counts_accuracy_and_macro_f1() {
        let train = vec![ex("a b", "x"), ex("c d", "y")];
        let m = Model::train(&train);
        let e = evaluate(&m, &[ex("a", "x"), ex("c", "y"), ex("a", "y")]);
        assert!((e.accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(e.per_label["y"].3, 2);
        assert!(e.macro_f1 > 0.5 && e.macro_f1 < 1.0);
        let (tr, te) = split(&[ex("1", "x"), ex("2", "x"), ex("3", "x"), ex("4", "x")], 2);
        assert_eq!((tr.len(), te.len()), (2, 2));
    }
}
