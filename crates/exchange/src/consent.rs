//! Consent: a person's or an enterprise's permission for one client to read their data
//! from one service, for a stated purpose, until a date. Kept apart from the explicit request
//! a person makes inside a procedure (which needs no consent: the state may not ask again
//! for what it holds). A consent is effective from the moment it is given until it expires
//! or is revoked, whichever comes first; a revocation takes effect at the instant it is made.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// The longest a consent may run.
pub const MAX_DAYS: i64 = 366 * 2;
/// The longest purpose text.
pub const MAX_PURPOSE: usize = 500;

/// Whose data a consent is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Person,
    Enterprise,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Person => "person",
            SubjectKind::Enterprise => "enterprise",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(SubjectKind::Person),
            "enterprise" => Some(SubjectKind::Enterprise),
            _ => None,
        }
    }
}

/// When a consent holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub granted_at: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Validity {
    /// Whether the consent lets a read happen at `at`.
    pub fn effective_at(&self, at: DateTime<Utc>) -> bool {
        self.granted_at <= at && at < self.valid_until && self.revoked_at.is_none_or(|r| at < r)
    }

    /// `active`, `expired` or `revoked`, as of `now`.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        match self.revoked_at {
            Some(r) if r <= now => "revoked",
            _ if now >= self.valid_until => "expired",
            _ => "active",
        }
    }
}

/// Checks a new consent's terms: a purpose, and an end after `now` within [`MAX_DAYS`].
pub fn check_terms(purpose: &str, valid_until: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    let purpose = purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > MAX_PURPOSE {
        return Err(format!("a consent states its purpose in 1 to {MAX_PURPOSE} characters"));
    }
    if valid_until <= now {
        return Err("a consent ends in the future".into());
    }
    if valid_until > now + Duration::days(MAX_DAYS) {
        return Err(format!("a consent runs for at most {MAX_DAYS} days"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_consent_holds_between_its_grant_and_its_end() {
        let v = Validity { granted_at: t(0), valid_until: t(100), revoked_at: None };
        assert!(!v.effective_at(t(-1)));
        assert!(v.effective_at(t(0)) && v.effective_at(t(99)));
        assert!(!v.effective_at(t(100)));
        assert_eq!(v.status(t(50)), "active");
        assert_eq!(v.status(t(100)), "expired");
        let r = Validity { revoked_at: Some(t(40)), ..v };
        assert!(r.effective_at(t(39)) && !r.effective_at(t(40)));
        assert_eq!(r.status(t(40)), "revoked");
    }

    #[test]
    fn terms_are_checked() {
        assert!(check_terms("Thẩm định hồ sơ vay vốn", t(100), t(0)).is_ok());
        assert!(check_terms("  ", t(100), t(0)).is_err());
        assert!(check_terms("x", t(0), t(0)).is_err());
        assert!(check_terms("x", t(0) + Duration::days(MAX_DAYS + 1), t(0)).is_err());
    }

    proptest! {
        /// Revoked at T: no read at or after T succeeds, whatever the rest of the terms.
        #[test]
        fn nothing_is_read_after_revocation(granted in -1000i64..1000, len in 1i64..5000, revoked in -2000i64..6000, at in -3000i64..7000) {
            let v = Validity { granted_at: t(granted), valid_until: t(granted + len), revoked_at: Some(t(revoked)) };
            if at >= revoked {
                prop_assert!(!v.effective_at(t(at)));
            }
            if v.effective_at(t(at)) {
                prop_assert!(at >= granted && at < granted + len && at < revoked);
            }
        }
    }
}
