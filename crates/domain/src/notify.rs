//! Notifications (issue #5), shaped like GOV.UK Notify: versioned templates with
//! `((placeholder))` fields, a message's statuses and what happens after each delivery
//! attempt. Pure: the store keeps messages, the edge sends them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Notify's statuses. `Created` → `Sending` → one of the four final ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Created,
    Sending,
    Delivered,
    /// The provider refused the address for good (no such mailbox, invalid number).
    PermanentFailure,
    /// The provider kept failing to deliver (mailbox full, phone off) after every retry.
    TemporaryFailure,
    /// Sen could not reach the provider after every retry.
    TechnicalFailure,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Sending => "sending",
            Status::Delivered => "delivered",
            Status::PermanentFailure => "permanent-failure",
            Status::TemporaryFailure => "temporary-failure",
            Status::TechnicalFailure => "technical-failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Status::Created,
            Status::Sending,
            Status::Delivered,
            Status::PermanentFailure,
            Status::TemporaryFailure,
            Status::TechnicalFailure,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Status::Created | Status::Sending)
    }
}

/// The channel of a template and a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Email,
    Sms,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Sms => "sms",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Kind::Email),
            "sms" => Some(Kind::Sms),
            _ => None,
        }
    }
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The provider refused for good (SMTP 5xx, gateway 4xx).
    Permanent(String),
    /// The provider refused for now (SMTP 4xx, gateway 429/5xx).
    Temporary(String),
    /// The provider could not be reached (connection, time-out).
    Technical(String),
}

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: u32 = 6;

/// The wait before attempt `attempts + 1`: 10 s, 20 s, 40 s … doubled, at most an hour.
pub fn retry_delay_secs(attempts: u32) -> i64 {
    (10i64 << attempts.saturating_sub(1).min(12)).min(3600)
}

/// What to record after attempt number `attempts` (1-based): the new status and, if the
/// message is to be tried again, after how many seconds.
pub fn after_attempt(attempts: u32, outcome: &Outcome) -> (Status, Option<i64>) {
    match outcome {
        Outcome::Delivered => (Status::Delivered, None),
        Outcome::Permanent(_) => (Status::PermanentFailure, None),
        Outcome::Temporary(_) if attempts >= MAX_ATTEMPTS => (Status::TemporaryFailure, None),
        Outcome::Technical(_) if attempts >= MAX_ATTEMPTS => (Status::TechnicalFailure, None),
        Outcome::Temporary(_) | Outcome::Technical(_) => (Status::Sending, Some(retry_delay_secs(attempts))),
    }
}

/// A template's placeholders, in order of first appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut rest = text;
    while let Some(open) = rest.find("((") {
        let Some(close) = rest[open + 2..].find("))") else { break };
        let name = rest[open + 2..open + 2 + close].trim().to_string();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
        rest = &rest[open + 2 + close + 2..];
    }
    out
}

/// Fills `((name))` from `values`; the missing names are the error (Notify's "Missing
/// personalisation").
pub fn render(text: &str, values: &BTreeMap<String, String>) -> Result<String, Vec<String>> {
    let missing: Vec<String> = placeholders(text).into_iter().filter(|p| !values.contains_key(p)).collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("((") {
        let Some(close) = rest[open + 2..].find("))") else { break };
        out.push_str(&rest[..open]);
        let name = rest[open + 2..open + 2 + close].trim();
        out.push_str(values.get(name).map(String::as_str).unwrap_or_default());
        rest = &rest[open + 2 + close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A plausible e-mail address: one `@`, a dot in the domain, no spaces, at most 254 bytes.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        && !domain.contains('@')
}

/// A Vietnamese mobile number in its national form: `0` and nine digits (`+84…` and
/// spaces accepted and normalised).
pub fn normalise_phone(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace() && *c != '.' && *c != '-').collect();
    let national = if let Some(r) = digits.strip_prefix("+84") { format!("0{r}") } else { digits };
    (national.len() == 10 && national.starts_with('0') && national.chars().all(|c| c.is_ascii_digit()))
        .then_some(national)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_and_name_what_is_missing() {
        let t = "Hồ sơ ((code)) đã được tiếp nhận. Hẹn trả: ((due_date)). ((code))";
        assert_eq!(placeholders(t), vec!["code", "due_date"]);
        let mut v = BTreeMap::new();
        v.insert("code".to_string(), "H01.1-261202-0001".to_string());
        assert_eq!(render(t, &v), Err(vec!["due_date".to_string()]));
        v.insert("due_date".to_string(), "11/12/2026".to_string());
        assert_eq!(
            render(t, &v).unwrap(),
            "Hồ sơ H01.1-261202-0001 đã được tiếp nhận. Hẹn trả: 11/12/2026. H01.1-261202-0001"
        );
    }

    #[test]
    fn retries_back_off_then_give_up() {
        assert_eq!(after_attempt(1, &Outcome::Technical("refused".into())), (Status::Sending, Some(10)));
        assert_eq!(after_attempt(3, &Outcome::Temporary("452".into())), (Status::Sending, Some(40)));
        assert_eq!(after_attempt(MAX_ATTEMPTS, &Outcome::Temporary("452".into())).0, Status::TemporaryFailure);
        assert_eq!(after_attempt(MAX_ATTEMPTS, &Outcome::Technical("x".into())).0, Status::TechnicalFailure);
        assert_eq!(after_attempt(1, &Outcome::Permanent("550".into())), (Status::PermanentFailure, None));
        assert_eq!(after_attempt(2, &Outcome::Delivered), (Status::Delivered, None));
        assert_eq!(retry_delay_secs(40), 3600);
    }

    #[test]
    fn addresses() {
        assert!(valid_email("mai.tran@example.vn"));
        assert!(
            !valid_email("mai tran@example.vn")
                && !valid_email("x@y")
                && !valid_email("@y.vn")
                && !valid_email("a@b@c.vn")
        );
        assert_eq!(normalise_phone("+84 912 345 678").as_deref(), Some("0912345678"));
        assert_eq!(normalise_phone("0912.345.678").as_deref(), Some("0912345678"));
        assert_eq!(normalise_phone("12345"), None);
        for s in ["created", "sending", "delivered", "permanent-failure", "temporary-failure", "technical-failure"] {
            assert_eq!(Status::parse(s).unwrap().as_str(), s);
        }
    }

    proptest::proptest! {
        #[test]
        fn every_attempt_ends_or_waits_longer(attempts in 1u32..20) {
            let (s, wait) = after_attempt(attempts, &Outcome::Technical("x".into()));
            proptest::prop_assert!(s.is_final() == wait.is_none());
            if let (Some(a), (_, Some(b))) = (wait, after_attempt(attempts + 1, &Outcome::Technical("x".into()))) {
                proptest::prop_assert!(b >= a);
            }
        }
    }
}
