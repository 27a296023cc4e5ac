//! Identifiers that people and businesses carry: the 12-digit personal identification number
//! (CCCD), the 10-digit enterprise (tax) code, and dossier codes.

use chrono::{Datelike, NaiveDate};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentError {
    #[error("must be exactly {0} digits")]
    Length(usize),
    #[error("unknown province code {0}")]
    Province(String),
    #[error("the sex/century digit {0} is not used")]
    Century(char),
    #[error("the check digit does not match")]
    CheckDigit,
}

/// Province-of-birth codes used in personal numbers: `0` followed by the province's code.
pub const BIRTH_PROVINCE_CODES: [&str; 34] = [
    "001", "004", "008", "011", "012", "014", "015", "019", "020", "022", "024", "025", "031", "033", "037", "038",
    "040", "042", "044", "046", "048", "051", "052", "056", "066", "068", "075", "079", "080", "082", "086", "091",
    "092", "096",
];

/// Sex as recorded in the personal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// Checks a personal identification number: 12 digits = province of birth (3), sex and
/// century (1), year of birth (2), serial (6).
pub fn validate_personal_number(s: &str) -> Result<(), IdentError> {
    if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdentError::Length(12));
    }
    if !BIRTH_PROVINCE_CODES.contains(&&s[..3]) {
        return Err(IdentError::Province(s[..3].to_string()));
    }
    let c = s.as_bytes()[3] as char;
    if !('0'..='3').contains(&c) {
        return Err(IdentError::Century(c));
    }
    Ok(())
}

/// Builds a personal number from its parts; `serial` is reduced to six digits.
pub fn personal_number(province: &str, sex: Sex, birth: NaiveDate, serial: u32) -> String {
    let century = if birth.year() >= 2000 { 2 } else { 0 };
    let s = century + if sex == Sex::Female { 1 } else { 0 };
    format!("{province}{s}{:02}{:06}", birth.year() % 100, serial % 1_000_000)
}

/// Sex and century read back from a valid personal number.
pub fn personal_number_sex(s: &str) -> Option<Sex> {
    match s.as_bytes().get(3)? {
        b'0' | b'2' => Some(Sex::Male),
        b'1' | b'3' => Some(Sex::Female),
        _ => None,
    }
}

const TAX_WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

/// The check digit (10th) of an enterprise code from its first nine digits, if one exists.
pub fn tax_code_check_digit(first_nine: &str) -> Option<u32> {
    let digits: Vec<u32> = first_nine.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    if digits.len() != 9 {
        return None;
    }
    let sum: u32 = digits.iter().zip(TAX_WEIGHTS).map(|(d, w)| d * w).sum();
    let check = 10 - (sum % 11);
    (check < 10).then_some(check)
}

/// Checks a 10-digit enterprise code (tax code) and its check digit.
pub fn validate_tax_code(s: &str) -> Result<(), IdentError> {
    if s.len() != 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdentError::Length(10));
    }
    match tax_code_check_digit(&s[..9]) {
        Some(c) if c == (s.as_bytes()[9] - b'0') as u32 => Ok(()),
        _ => Err(IdentError::CheckDigit),
    }
}

/// Crockford base-32 alphabet: no I, L, O, U, so codes can be read aloud and typed.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A dossier code: `{agency code}-{yymmdd}-{8 random characters}`, e.g.
/// `H01.TP-261127-7K3F9Q2M`. The random part makes codes unguessable and needs no counter.
pub fn dossier_code(agency_code: &str, day: NaiveDate, random: u64) -> String {
    let mut r = random;
    let mut tail = String::with_capacity(8);
    for _ in 0..8 {
        tail.push(CROCKFORD[(r % 32) as usize] as char);
        r /= 32;
    }
    format!("{agency_code}-{}-{tail}", day.format("%y%m%d"))
}

/// Normalises a code typed by a person: trims and upper-cases it.
pub fn normalise_dossier_code(s: &str) -> String {
    s.trim().to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn personal_numbers() {
        let n = personal_number("001", Sex::Female, NaiveDate::from_ymd_opt(2003, 5, 1).unwrap(), 123);
        assert_eq!(n, "001303000123");
        assert!(validate_personal_number(&n).is_ok());
        assert_eq!(personal_number_sex(&n), Some(Sex::Female));
        assert_eq!(validate_personal_number("00130300012"), Err(IdentError::Length(12)));
        assert!(matches!(validate_personal_number("999303000123"), Err(IdentError::Province(_))));
        assert!(matches!(validate_personal_number("001903000123"), Err(IdentError::Century('9'))));
    }

    #[test]
    fn tax_codes() {
        let check = tax_code_check_digit("010010112").unwrap();
        let code = format!("010010112{check}");
        assert!(validate_tax_code(&code).is_ok());
        let wrong = format!("010010112{}", (check + 1) % 10);
        assert_eq!(validate_tax_code(&wrong), Err(IdentError::CheckDigit));
    }

    proptest! {
        #[test]
        fn generated_tax_codes_validate(n in 0u32..1_000_000_000) {
            let nine = format!("{n:09}");
            if let Some(c) = tax_code_check_digit(&nine) {
                let code = format!("{nine}{c}");
                prop_assert!(validate_tax_code(&code).is_ok());
            }
        }

        #[test]
        fn dossier_codes_have_a_fixed_shape(r in any::<u64>()) {
            let c = dossier_code("H01.TP", NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(), r);
            prop_assert_eq!(c.len(), "H01.TP-261127-".len() + 8);
            prop_assert_eq!(normalise_dossier_code(&c.to_lowercase()), c);
        }
    }
}
