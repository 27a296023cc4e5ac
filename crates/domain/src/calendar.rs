//! Working days: Monday to Friday, minus public holidays, plus announced make-up working days.
//!
//! Holidays are data: lunar dates and extra days are announced every year, so the calendar is
//! configured (seeded for 2025–2027, editable by an administrator). Rules are in
//! `docs/calendar.md`.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A day that is not worked (or, with `working = true`, a weekend day that is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub name: String,
    /// `true` for a make-up working day on a weekend.
    pub working: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
    make_up_days: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn new(days: &[CalendarDay]) -> Self {
        let mut cal = Calendar::default();
        for d in days {
            if d.working {
                cal.make_up_days.insert(d.date);
            } else {
                cal.holidays.insert(d.date);
            }
        }
        cal
    }

    /// Vietnam's public holidays 2025–2027 as announced or, for later years, as the Labour
    /// Code's rules give them (see `docs/calendar.md`).
    pub fn vietnam() -> Self {
        Self::new(&vietnam_days())
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.make_up_days.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// The first working day on or after `d`.
    pub fn next_working_day_from(&self, mut d: NaiveDate) -> NaiveDate {
        while !self.is_working_day(d) {
            d += Duration::days(1);
        }
        d
    }

    /// The date `n` working days after `start` (the day of `start` is not counted). With
    /// `n = 0` it is `start` itself if that is a working day, else the next working day:
    /// a procedure handled "the same working day".
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            return self.next_working_day_from(start);
        }
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days `d` with `from < d <= to`; negative when `to` is before `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let mut n = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid calendar date")
}

/// The seeded calendar. Days off that fall on a weekend are already moved to the next working
/// day (Labour Code 2019, art. 112); make-up Saturdays are marked `working`.
pub fn vietnam_days() -> Vec<CalendarDay> {
    let off = |date: NaiveDate, name: &str| CalendarDay { date, name: name.to_string(), working: false };
    let work = |date: NaiveDate, name: &str| CalendarDay { date, name: name.to_string(), working: true };
    let mut v = vec![
        // 2025
        off(day(2025, 1, 1), "Tết Dương lịch"),
        off(day(2025, 1, 27), "Tết Nguyên đán"),
        off(day(2025, 1, 28), "Tết Nguyên đán"),
        off(day(2025, 1, 29), "Tết Nguyên đán"),
        off(day(2025, 1, 30), "Tết Nguyên đán"),
        off(day(2025, 1, 31), "Tết Nguyên đán"),
        off(day(2025, 4, 7), "Giỗ Tổ Hùng Vương"),
        off(day(2025, 4, 30), "Ngày Giải phóng miền Nam"),
        off(day(2025, 5, 1), "Ngày Quốc tế Lao động"),
        off(day(2025, 5, 2), "Nghỉ hoán đổi"),
        work(day(2025, 4, 26), "Làm bù cho ngày 2/5"),
        off(day(2025, 9, 1), "Quốc khánh"),
        off(day(2025, 9, 2), "Quốc khánh"),
        // 2026
        off(day(2026, 1, 1), "Tết Dương lịch"),
        off(day(2026, 2, 16), "Tết Nguyên đán"),
        off(day(2026, 2, 17), "Tết Nguyên đán"),
        off(day(2026, 2, 18), "Tết Nguyên đán"),
        off(day(2026, 2, 19), "Tết Nguyên đán"),
        off(day(2026, 2, 20), "Tết Nguyên đán"),
        off(day(2026, 4, 27), "Giỗ Tổ Hùng Vương (nghỉ bù)"),
        off(day(2026, 4, 30), "Ngày Giải phóng miền Nam"),
        off(day(2026, 5, 1), "Ngày Quốc tế Lao động"),
        off(day(2026, 9, 1), "Quốc khánh"),
        off(day(2026, 9, 2), "Quốc khánh"),
        // 2027
        off(day(2027, 1, 1), "Tết Dương lịch"),
        off(day(2027, 2, 4), "Tết Nguyên đán"),
        off(day(2027, 2, 5), "Tết Nguyên đán"),
        off(day(2027, 2, 8), "Tết Nguyên đán"),
        off(day(2027, 2, 9), "Tết Nguyên đán"),
        off(day(2027, 2, 10), "Tết Nguyên đán"),
        off(day(2027, 4, 16), "Giỗ Tổ Hùng Vương"),
        off(day(2027, 4, 30), "Ngày Giải phóng miền Nam"),
        off(day(2027, 5, 3), "Ngày Quốc tế Lao động (nghỉ bù)"),
        off(day(2027, 9, 2), "Quốc khánh"),
        off(day(2027, 9, 3), "Quốc khánh"),
    ];
    v.sort_by_key(|d| d.date);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tet_2026_is_skipped() {
        let cal = Calendar::vietnam();
        // Friday 13 Feb 2026 + 1 working day: the whole Tết week is off, so Monday 23 Feb.
        assert_eq!(cal.add_working_days(day(2026, 2, 13), 1), day(2026, 2, 23));
    }

    #[test]
    fn make_up_saturday_counts() {
        let cal = Calendar::vietnam();
        assert!(cal.is_working_day(day(2025, 4, 26)));
        assert!(!cal.is_working_day(day(2025, 5, 2)));
    }

    #[test]
    fn same_day_deadline() {
        let cal = Calendar::vietnam();
        // Saturday: the next working day is Monday.
        assert_eq!(cal.add_working_days(day(2026, 11, 28), 0), day(2026, 11, 30));
        assert_eq!(cal.add_working_days(day(2026, 11, 27), 0), day(2026, 11, 27));
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..3 * 366).prop_map(|n| day(2025, 1, 1) + Duration::days(n))
    }

    proptest! {
        #[test]
        fn adding_then_counting_gives_back_n(start in any_date(), n in 1u32..60) {
            let cal = Calendar::vietnam();
            let due = cal.add_working_days(start, n);
            prop_assert!(cal.is_working_day(due));
            prop_assert_eq!(cal.working_days_between(start, due), n as i64);
        }

        #[test]
        fn more_days_never_come_sooner(start in any_date(), n in 0u32..60) {
            let cal = Calendar::vietnam();
            // From a day off, "the same working day" (0) and "1 working day" are both the next
            // working day; beyond that every extra day moves the date.
            if n == 0 {
                prop_assert!(cal.add_working_days(start, 0) <= cal.add_working_days(start, 1));
            } else {
                prop_assert!(cal.add_working_days(start, n) < cal.add_working_days(start, n + 1));
            }
        }

        #[test]
        fn counting_is_antisymmetric_and_additive(a in any_date(), b in any_date(), c in any_date()) {
            let cal = Calendar::vietnam();
            prop_assert_eq!(cal.working_days_between(a, b), -cal.working_days_between(b, a));
            prop_assert_eq!(cal.working_days_between(a, b) + cal.working_days_between(b, c), cal.working_days_between(a, c));
        }

        /// A paused clock resumes with exactly the working days that were left.
        #[test]
        fn pause_and_resume_keep_the_remaining_days(received in any_date(), n in 1u32..30, pause_after in 0u32..30, pause_len in 0i64..40) {
            let cal = Calendar::vietnam();
            let due = cal.add_working_days(received, n);
            let paused_on = cal.add_working_days(received, pause_after.min(n));
            let left = cal.working_days_between(paused_on, due).max(0) as u32;
            let resumed_on = paused_on + Duration::days(pause_len);
            let new_due = cal.add_working_days(resumed_on, left);
            prop_assert!(new_due >= due);
            if left > 0 {
                prop_assert_eq!(cal.working_days_between(resumed_on, new_due), left as i64);
            }
        }
    }
}
