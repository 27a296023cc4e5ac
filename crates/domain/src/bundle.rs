//! Life-event bundles (Decree 63/2024): one application that splits into dossiers for
//! several agencies. The first procedure (the civil-status registration) goes at once; the
//! others follow when its result is in the registry, prepared from it (the proactive
//! offers of that event), with what the applicant added in the bundle. Missing documents
//! must come within seven working days, or the bundle is refused.

use serde::Serialize;

/// Working days to bring the documents a bundle lacks.
pub const MISSING_DOCUMENTS_WORKING_DAYS: u32 = 7;

/// A bundle's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BundleKind {
    pub key: &'static str,
    pub name_vi: &'static str,
    pub name_en: &'static str,
    /// The procedure submitted at once; its result starts the others.
    pub first: &'static str,
    /// Every procedure of the bundle, the first included.
    pub parts: &'static [&'static str],
    /// How many of them an applicant picks, at least and at most.
    pub min_parts: usize,
    pub max_parts: usize,
}

pub const BIRTH: BundleKind = BundleKind {
    key: "birth",
    name_vi: "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi",
    name_en: "Birth: birth registration, permanent residence, health-insurance card for a child under 6",
    first: "1.001193",
    parts: &["1.001193", "1.004194", "1.011860"],
    min_parts: 3,
    max_parts: 3,
};

pub const DEATH: BundleKind = BundleKind {
    key: "death",
    name_vi: "Liên thông đăng ký khai tử, xóa đăng ký thường trú, trợ cấp mai táng, chế độ tử tuất",
    name_en: "Death: death registration, removal of permanent residence, funeral allowance, survivor benefit",
    first: "1.000656",
    parts: &["1.000656", "1.004206", "1.011901", "1.011902"],
    min_parts: 2,
    max_parts: 4,
};

pub const KINDS: [BundleKind; 2] = [BIRTH, DEATH];

pub fn kind(key: &str) -> Option<BundleKind> {
    KINDS.into_iter().find(|k| k.key == key)
}

/// The procedures an applicant picked, checked: known parts, no repeats, the first always
/// (the others rest on its result), and as many as the bundle allows. Returned in the
/// bundle's order.
pub fn choose(kind: &BundleKind, picked: &[String]) -> Result<Vec<&'static str>, String> {
    if let Some(unknown) = picked.iter().find(|p| !kind.parts.contains(&p.as_str())) {
        return Err(format!("{unknown} is not part of this bundle"));
    }
    let chosen: Vec<&'static str> = kind.parts.iter().copied().filter(|p| picked.iter().any(|x| x == p)).collect();
    if chosen.len() != picked.len() {
        return Err("a procedure is picked twice".into());
    }
    if !chosen.contains(&kind.first) {
        return Err(format!("the bundle starts with {}: the others need its result", kind.first));
    }
    if chosen.len() < kind.min_parts || chosen.len() > kind.max_parts {
        return Err(if kind.min_parts == kind.max_parts {
            format!("this bundle has all {} procedures", kind.max_parts)
        } else {
            format!("pick {} to {} procedures", kind.min_parts, kind.max_parts)
        });
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn death_bundles_take_two_to_four_with_the_registration() {
        assert_eq!(choose(&DEATH, &s(&["1.011901", "1.000656"])).unwrap(), vec!["1.000656", "1.011901"]);
        assert_eq!(choose(&DEATH, &s(DEATH.parts)).unwrap().len(), 4);
        assert!(choose(&DEATH, &s(&["1.000656"])).is_err());
        assert!(choose(&DEATH, &s(&["1.011901", "1.011902"])).unwrap_err().contains("1.000656"));
        assert!(choose(&DEATH, &s(&["1.000656", "1.000656"])).is_err());
        assert!(choose(&DEATH, &s(&["1.000656", "2.000488"])).is_err());
    }

    #[test]
    fn a_birth_bundle_is_all_three() {
        assert!(choose(&BIRTH, &s(&["1.001193", "1.011860"])).is_err());
        assert_eq!(choose(&BIRTH, &s(&["1.011860", "1.004194", "1.001193"])).unwrap(), BIRTH.parts.to_vec());
        assert_eq!(kind("death"), Some(DEATH));
        assert_eq!(kind("x"), None);
    }
}
