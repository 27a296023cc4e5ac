//! Delay risk (issue #5): the probability that an open dossier's result comes after its
//! appointment date, learned from the history of closed dossiers by logistic regression over
//! what is known when a dossier is received — the legal time limit, how often its procedure
//! and its agency were late before (smoothed), and the supplements asked for so far.

use std::collections::HashMap;

use serde::Serialize;

/// A closed or open dossier, as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub procedure_id: i64,
    pub agency_id: i64,
    pub deadline_days: i64,
    pub supplements: i64,
    /// Closed cases: finished after the appointment date.
    pub late: bool,
}

/// Smoothing of late rates: a procedure seen `n` times with `k` late has rate
/// `(k + PRIOR * base) / (n + PRIOR)`.
const PRIOR: f64 = 5.0;
const EPOCHS: usize = 300;
const RATE: f64 = 0.1;
const L2: f64 = 1e-3;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    weights: [f64; 5],
    base: f64,
    procedure: HashMap<i64, (u32, u32)>,
    agency: HashMap<i64, (u32, u32)>,
    pub trained_on: usize,
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    fn rate(&self, counts: Option<&(u32, u32)>) -> f64 {
        let (n, k) = counts.copied().unwrap_or((0, 0));
        (k as f64 + PRIOR * self.base) / (n as f64 + PRIOR)
    }

    fn features(&self, c: &Case) -> [f64; 5] {
        [
            1.0,
            ((c.deadline_days.max(0) + 1) as f64).ln(),
            logit(self.rate(self.procedure.get(&c.procedure_id))),
            logit(self.rate(self.agency.get(&c.agency_id))),
            c.supplements.min(5) as f64,
        ]
    }

    pub fn train(cases: &[Case]) -> Model {
        let mut m = Model { trained_on: cases.len(), ..Model::default() };
        if cases.is_empty() {
            return m;
        }
        m.base = cases.iter().filter(|c| c.late).count() as f64 / cases.len() as f64;
        for c in cases {
            let p = m.procedure.entry(c.procedure_id).or_default();
            p.0 += 1;
            p.1 += u32::from(c.late);
            let a = m.agency.entry(c.agency_id).or_default();
            a.0 += 1;
            a.1 += u32::from(c.late);
        }
        let xs: Vec<[f64; 5]> = cases.iter().map(|c| m.features(c)).collect();
        let n = cases.len() as f64;
        for _ in 0..EPOCHS {
            let mut grad = [0.0; 5];
            for (x, c) in xs.iter().zip(cases) {
                let err = sigmoid(dot(&m.weights, x)) - f64::from(u8::from(c.late));
                for (g, xi) in grad.iter_mut().zip(x) {
                    *g += err * xi;
                }
            }
            for (w, g) in m.weights.iter_mut().zip(grad) {
                *w -= RATE * (g / n + L2 * *w);
            }
        }
        m
    }

    /// The probability that `c` finishes late.
    pub fn risk(&self, c: &Case) -> f64 {
        if self.trained_on == 0 {
            return 0.0;
        }
        sigmoid(dot(&self.weights, &self.features(c)))
    }
}

fn dot(a: &[f64; 5], b: &[f64; 5]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Area under the ROC curve of scores against outcomes (the probability that a late case
/// scores above an on-time one; ties count half). `None` without both kinds.
pub fn auc(scored: &[(f64, bool)]) -> Option<f64> {
    let pos = scored.iter().filter(|s| s.1).count();
    let neg = scored.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut v: Vec<(f64, bool)> = scored.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Average ranks over ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1].0 == v[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg * v[i..=j].iter().filter(|s| s.1).count() as f64;
        i = j + 1;
    }
    Some((rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_deadlines_and_supplements_raise_the_risk() {
        let mut cases = vec![];
        for i in 0..400 {
            let deadline = [1, 3, 10, 15][i % 4];
            let supplements = (i % 7 == 0) as i64;
            let late = deadline <= 3 && (i % 3 != 0) || supplements == 1;
            cases.push(Case {
                procedure_id: deadline,
                agency_id: (i % 5) as i64,
                deadline_days: deadline,
                supplements,
                late,
            });
        }
        let m = Model::train(&cases);
        let quick = Case { procedure_id: 1, agency_id: 0, deadline_days: 1, supplements: 0, late: false };
        let slow = Case { procedure_id: 15, agency_id: 0, deadline_days: 15, supplements: 0, late: false };
        assert!(m.risk(&quick) > m.risk(&slow) + 0.3, "{} vs {}", m.risk(&quick), m.risk(&slow));
        let scored: Vec<(f64, bool)> = cases.iter().map(|c| (m.risk(c), c.late)).collect();
        assert!(auc(&scored).unwrap() > 0.8);
    }

    #[test]
    fn auc_is_rank_based() {
        assert_eq!(auc(&[(0.1, false), (0.9, true)]), Some(1.0));
        assert_eq!(auc(&[(0.9, false), (0.1, true)]), Some(0.0));
        assert_eq!(auc(&[(0.5, false), (0.5, true)]), Some(0.5));
        assert_eq!(auc(&[(0.5, true)]), None);
    }
}
