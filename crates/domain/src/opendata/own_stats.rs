//! Sen's own open data (issue #6): the platform's statistics of dossiers — received,
//! resolved, resolved on time and satisfaction — per month, procedure and agency, as a CSV
//! table published and refreshed as an open dataset. No I/O; no personal data (only counts).

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// One dossier as the statistics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct DossierFact {
    pub procedure: String,
    pub agency: String,
    pub submitted: NaiveDate,
    /// When it was resolved (a result issued or a refusal), if it was.
    pub resolved: Option<NaiveDate>,
    /// Its appointment date for the result.
    pub due: Option<NaiveDate>,
    /// The applicant's satisfaction, 1 to 5, if rated.
    pub rating: Option<i64>,
}

/// What a month, procedure and agency add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Dossiers submitted in the month.
    pub submitted: u64,
    /// Dossiers resolved in the month.
    pub resolved: u64,
    /// Of those, resolved on or before their appointment date.
    pub on_time: u64,
    /// Ratings of the dossiers resolved in the month, and their sum.
    pub ratings: u64,
    pub rating_sum: u64,
}

/// (month `YYYY-MM`, procedure code, agency code) → its tally.
pub type Tallies = BTreeMap<(String, String, String), Tally>;

fn month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// Adds dossiers to the tallies: a submission to its month, a resolution (on time or not,
/// with its rating) to the month it was resolved in.
pub fn tally(facts: impl IntoIterator<Item = DossierFact>, into: &mut Tallies) {
    for f in facts {
        into.entry((month(f.submitted), f.procedure.clone(), f.agency.clone())).or_default().submitted += 1;
        if let Some(r) = f.resolved {
            let t = into.entry((month(r), f.procedure, f.agency)).or_default();
            t.resolved += 1;
            if f.due.is_none_or(|due| r <= due) {
                t.on_time += 1;
            }
            if let Some(score) = f.rating.filter(|s| (1..=5).contains(s)) {
                t.ratings += 1;
                t.rating_sum += score as u64;
            }
        }
    }
}

/// The columns of the published table.
pub const HEADER: [&str; 11] = [
    "thang",
    "ma_thu_tuc",
    "ten_thu_tuc",
    "ma_co_quan",
    "ten_co_quan",
    "ho_so_tiep_nhan",
    "ho_so_da_giai_quyet",
    "giai_quyet_dung_han",
    "ty_le_dung_han",
    "luot_danh_gia",
    "diem_hai_long_trung_binh",
];

/// The tallies as CSV (UTF-8, a header, a row per month, procedure and agency in that
/// order); `procedure_name` and `agency_name` name the codes. Rates are blank where nothing
/// was resolved or rated.
pub fn csv(tallies: &Tallies, procedure_name: &dyn Fn(&str) -> String, agency_name: &dyn Fn(&str) -> String) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(HEADER);
    for ((m, p, a), t) in tallies {
        let rate = if t.resolved == 0 { String::new() } else { format!("{:.4}", t.on_time as f64 / t.resolved as f64) };
        let mean =
            if t.ratings == 0 { String::new() } else { format!("{:.2}", t.rating_sum as f64 / t.ratings as f64) };
        let _ = w.write_record([
            m.as_str(),
            p,
            &procedure_name(p),
            a,
            &agency_name(a),
            &t.submitted.to_string(),
            &t.resolved.to_string(),
            &t.on_time.to_string(),
            &rate,
            &t.ratings.to_string(),
            &mean,
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn submissions_and_resolutions_count_in_their_own_months() {
        let fact = |sub, res: Option<NaiveDate>, due, rating| DossierFact {
            procedure: "1.001193".into(),
            agency: "X00001.UB".into(),
            submitted: sub,
            resolved: res,
            due,
            rating,
        };
        let mut t = Tallies::new();
        tally(
            [
                fact(d(10, 30), Some(d(11, 2)), Some(d(11, 3)), Some(5)),
                fact(d(11, 1), Some(d(11, 10)), Some(d(11, 5)), Some(2)),
                fact(d(11, 2), None, Some(d(11, 20)), None),
            ],
            &mut t,
        );
        let oct = t[&("2026-10".into(), "1.001193".into(), "X00001.UB".into())];
        assert_eq!((oct.submitted, oct.resolved), (1, 0));
        let nov = t[&("2026-11".into(), "1.001193".into(), "X00001.UB".into())];
        assert_eq!((nov.submitted, nov.resolved, nov.on_time, nov.ratings, nov.rating_sum), (2, 2, 1, 2, 7));
        let text = csv(&t, &|_| "Đăng ký khai sinh".into(), &|_| "UBND xã".into());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(lines[1], "2026-10,1.001193,Đăng ký khai sinh,X00001.UB,UBND xã,1,0,0,,0,");
        assert_eq!(lines[2], "2026-11,1.001193,Đăng ký khai sinh,X00001.UB,UBND xã,2,2,1,0.5000,2,3.50");
    }
}
