//! "People who did this also needed" (issue #5): next-service recommendations learnt from the
//! dossier history.
//!
//! The model counts, for every procedure `a`, how many applicants later applied for `b`
//! within [`WINDOW_DAYS`] (each applicant counted once per pair). The share
//! `followed(a, b) / applicants(a)` is what the portal shows ("62% of the people who applied
//! for a birth registration then applied for …"). For a person, every procedure of their
//! recent history votes for what tends to follow it, weighted by how recent it is; what they
//! already applied for in the window is left out, and the most popular procedures fill in
//! when the history says nothing. Pure: the store hands it `(applicant, procedure, day)`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

/// How long after a dossier a later one still counts as following it.
pub const WINDOW_DAYS: i64 = 365;
/// Half-life of a past dossier's vote, in days.
const HALF_LIFE_DAYS: f64 = 60.0;
/// Pairs seen fewer times than this are noise, not advice.
const MIN_PAIR: u32 = 2;

/// One dossier as the recommender sees it: who, what, and the day (days since any fixed
/// epoch, the same for all visits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub applicant: i64,
    pub procedure: i64,
    pub day: i64,
}

/// A suggestion with its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub procedure: i64,
    pub score: f64,
    /// The procedure of the person's history that suggests it most (None: popular overall).
    pub because: Option<i64>,
    /// Of the applicants for `because`, the share who then applied for this one.
    pub share: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    /// applicants per procedure.
    applicants: HashMap<i64, u32>,
    /// a → b → applicants who applied for b within the window after a.
    followed: HashMap<i64, HashMap<i64, u32>>,
    /// Procedures by applicants, most first (ties by id).
    popular: Vec<(i64, u32)>,
    pub trained_on: usize,
}

impl Model {
    pub fn train(visits: &[Visit]) -> Model {
        let mut by_applicant: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for v in visits {
            by_applicant.entry(v.applicant).or_default().push((v.day, v.procedure));
        }
        let mut m = Model { trained_on: visits.len(), ..Model::default() };
        for history in by_applicant.values_mut() {
            history.sort_unstable();
            let mut seen: HashSet<i64> = HashSet::new();
            let mut pairs: HashSet<(i64, i64)> = HashSet::new();
            for (i, &(day, a)) in history.iter().enumerate() {
                if seen.insert(a) {
                    *m.applicants.entry(a).or_default() += 1;
                }
                for &(later, b) in &history[i + 1..] {
                    if later - day > WINDOW_DAYS {
                        break;
                    }
                    if b != a {
                        pairs.insert((a, b));
                    }
                }
            }
            for (a, b) in pairs {
                *m.followed.entry(a).or_default().entry(b).or_default() += 1;
            }
        }
        m.popular = m.applicants.iter().map(|(p, n)| (*p, *n)).collect();
        m.popular.sort_unstable_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        m
    }

    /// Of the applicants for `a`, the share who then applied for `b`.
    pub fn share(&self, a: i64, b: i64) -> f64 {
        let n = self.applicants.get(&a).copied().unwrap_or(0);
        let k = self.followed.get(&a).and_then(|f| f.get(&b)).copied().unwrap_or(0);
        if n == 0 || k < MIN_PAIR { 0.0 } else { k as f64 / n as f64 }
    }

    /// What the applicants for `procedure` applied for next, most often first.
    pub fn also_needed(&self, procedure: i64, k: usize) -> Vec<Suggestion> {
        let mut out: Vec<Suggestion> = self
            .followed
            .get(&procedure)
            .into_iter()
            .flatten()
            .filter(|(_, n)| **n >= MIN_PAIR)
            .map(|(b, _)| {
                let share = self.share(procedure, *b);
                Suggestion { procedure: *b, score: share, because: Some(procedure), share }
            })
            .collect();
        sort(&mut out);
        out.truncate(k);
        out
    }

    /// The next services for a person with `history` (their dossiers), seen on `today`.
    pub fn recommend(&self, history: &[(i64, i64)], today: i64, k: usize) -> Vec<Suggestion> {
        let recent: Vec<(i64, i64)> =
            history.iter().copied().filter(|(_, day)| today - day <= WINDOW_DAYS && *day <= today).collect();
        let done: HashSet<i64> = recent.iter().map(|(p, _)| *p).collect();
        let mut votes: HashMap<i64, (f64, i64, f64)> = HashMap::new();
        for &(a, day) in &recent {
            let weight = 0.5f64.powf((today - day) as f64 / HALF_LIFE_DAYS);
            for (&b, &n) in self.followed.get(&a).into_iter().flatten() {
                if done.contains(&b) || n < MIN_PAIR {
                    continue;
                }
                let share = self.share(a, b);
                let v = votes.entry(b).or_insert((0.0, a, 0.0));
                v.0 += weight * share;
                if share > v.2 {
                    (v.1, v.2) = (a, share);
                }
            }
        }
        let mut out: Vec<Suggestion> = votes
            .into_iter()
            .map(|(procedure, (score, because, share))| Suggestion { procedure, score, because: Some(because), share })
            .collect();
        sort(&mut out);
        out.truncate(k);
        // Nothing (or not enough) follows from the history: the most asked-for services.
        for &(p, _) in &self.popular {
            if out.len() >= k {
                break;
            }
            if !done.contains(&p) && out.iter().all(|s| s.procedure != p) {
                out.push(Suggestion { procedure: p, score: 0.0, because: None, share: 0.0 });
            }
        }
        out
    }

    /// The most asked-for services not in `done` (the baseline the evaluation compares with).
    pub fn popular(&self, done: &HashSet<i64>, k: usize) -> Vec<i64> {
        self.popular.iter().map(|(p, _)| *p).filter(|p| !done.contains(p)).take(k).collect()
    }
}

fn sort(v: &mut [Suggestion]) {
    v.sort_unstable_by(|x, y| y.score.total_cmp(&x.score).then(x.procedure.cmp(&y.procedure)));
}

/// Hit@k on a time split: the model learns from visits before `cut_day`; for each applicant's
/// first dossier on or after it with some earlier dossier in the window, the model sees the
/// earlier ones and is right when that dossier's procedure is among its first `k`.
/// Returns (cases, model hits, popularity-baseline hits).
pub fn evaluate(visits: &[Visit], cut_day: i64, k: usize) -> (usize, usize, usize) {
    let train: Vec<Visit> = visits.iter().copied().filter(|v| v.day < cut_day).collect();
    let model = Model::train(&train);
    let mut by_applicant: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for v in visits {
        by_applicant.entry(v.applicant).or_default().push((v.day, v.procedure));
    }
    let (mut cases, mut hits, mut base) = (0, 0, 0);
    for history in by_applicant.values_mut() {
        history.sort_unstable();
        let Some(i) = history.iter().position(|(day, _)| *day >= cut_day) else { continue };
        let (today, target) = history[i];
        let before: Vec<(i64, i64)> =
            history[..i].iter().filter(|(d, _)| today - d <= WINDOW_DAYS).map(|(d, p)| (*p, *d)).collect();
        if before.is_empty() {
            continue;
        }
        cases += 1;
        if model.recommend(&before, today, k).iter().any(|s| s.procedure == target) {
            hits += 1;
        }
        let done: HashSet<i64> = before.iter().map(|(p, _)| *p).collect();
        if model.popular(&done, k).contains(&target) {
            base += 1;
        }
    }
    (cases, hits, base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(applicant: i64, procedure: i64, day: i64) -> Visit {
        Visit { applicant, procedure, day }
    }

    #[test]
    fn what_follows_is_suggested_with_its_share() {
        // Births (1) are followed by residence (2) for 3 of 4 parents, by insurance (3) for 2.
        let visits = [
            v(1, 1, 0),
            v(1, 2, 5),
            v(1, 3, 9),
            v(2, 1, 0),
            v(2, 2, 3),
            v(3, 1, 10),
            v(3, 2, 12),
            v(3, 3, 20),
            v(4, 1, 0),
            v(5, 4, 0),
            v(6, 4, 1),
            v(7, 4, 2),
        ];
        let m = Model::train(&visits);
        assert_eq!(m.share(1, 2), 0.75);
        assert_eq!(m.share(1, 3), 0.5);
        let also = m.also_needed(1, 3);
        assert_eq!(also.iter().map(|s| s.procedure).collect::<Vec<_>>(), vec![2, 3]);
        // A new parent: residence first, then insurance, both because of the birth.
        let r = m.recommend(&[(1, 100)], 101, 3);
        assert_eq!(r[0].procedure, 2);
        assert_eq!(r[0].because, Some(1));
        assert_eq!(r[1].procedure, 3);
        // The third place is filled from popularity (4: three applicants).
        assert_eq!(r[2].procedure, 4);
        assert_eq!(r[2].because, None);
        // Once residence is done, it is not suggested again.
        let r = m.recommend(&[(1, 100), (2, 101)], 102, 1);
        assert_eq!(r[0].procedure, 3);
    }

    #[test]
    fn pairs_outside_the_window_or_seen_once_are_not_advice() {
        let visits = [v(1, 1, 0), v(1, 2, WINDOW_DAYS + 1), v(2, 1, 0), v(2, 5, 1)];
        let m = Model::train(&visits);
        assert_eq!(m.share(1, 2), 0.0);
        assert_eq!(m.share(1, 5), 0.0, "one applicant is not a pattern");
        assert!(m.also_needed(1, 3).is_empty());
    }

    #[test]
    fn evaluation_learns_only_from_the_past() {
        let mut visits = Vec::new();
        for a in 0..50 {
            visits.push(v(a, 1, a));
            visits.push(v(a, 2, a + 3));
        }
        // Applicants 40, 41 and 42 have their first dossier before the cut and their second
        // after it; later applicants have nothing before it. The model saw 1 → 2 forty times.
        let (cases, hits, _) = evaluate(&visits, 43, 3);
        assert_eq!(cases, 3);
        assert_eq!(hits, 3);
    }

    proptest! {
        #[test]
        fn recommendations_are_distinct_new_and_at_most_k(
            visits in proptest::collection::vec((0i64..20, 0i64..8, 0i64..400), 0..200),
            history in proptest::collection::vec((0i64..8, 300i64..400), 0..5),
            k in 1usize..6,
        ) {
            let visits: Vec<Visit> = visits.into_iter().map(|(a, p, d)| v(a, p, d)).collect();
            let m = Model::train(&visits);
            let r = m.recommend(&history, 400, k);
            prop_assert!(r.len() <= k);
            let set: HashSet<i64> = r.iter().map(|s| s.procedure).collect();
            prop_assert_eq!(set.len(), r.len());
            for s in &r {
                prop_assert!(!history.iter().any(|(p, _)| *p == s.procedure));
                prop_assert!((0.0..=1.0).contains(&s.share));
            }
        }
    }
}
