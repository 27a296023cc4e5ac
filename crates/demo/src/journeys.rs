//! Life situations of the seeded history: the procedures people tend to apply for one after
//! another (a birth, then the child's residence and health-insurance card; a new enterprise,
//! then its tax registration and licences). Part of the seeded dossiers follow them, so the
//! history has the patterns that "people who did this also needed" learns from; the rest stay
//! random. The probabilities are this generator's, not measured figures.

/// Who applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Citizen,
    Business,
}

/// A life situation: its steps in order, each taken with its probability, the later ones
/// `gap` days (at most) after the one before.
pub struct Journey {
    pub name: &'static str,
    pub who: Who,
    pub steps: &'static [(&'static str, f64)],
    pub gap: i64,
}

pub const JOURNEYS: &[Journey] = &[
    Journey {
        name: "sinh con",
        who: Who::Citizen,
        steps: &[("1.001193", 1.0), ("1.004194", 0.8), ("1.011860", 0.75), ("1.011888", 0.5)],
        gap: 20,
    },
    Journey {
        name: "kết hôn",
        who: Who::Citizen,
        steps: &[("1.004873", 0.9), ("1.000894", 1.0), ("1.004194", 0.5), ("1.004222", 0.3)],
        gap: 30,
    },
    Journey {
        name: "người thân mất",
        who: Who::Citizen,
        steps: &[("1.000656", 1.0), ("1.004206", 0.7), ("1.011901", 0.7), ("1.011902", 0.5)],
        gap: 15,
    },
    Journey {
        name: "đi làm ở nước ngoài",
        who: Who::Citizen,
        steps: &[("2.001386", 0.6), ("1.003578", 1.0), ("2.000488", 0.7), ("1.003003", 0.5)],
        gap: 25,
    },
    Journey {
        name: "xây nhà",
        who: Who::Citizen,
        steps: &[("1.012756", 1.0), ("1.009994", 0.7), ("1.012757", 0.3)],
        gap: 45,
    },
    Journey {
        name: "chuyển đến nơi ở mới",
        who: Who::Citizen,
        steps: &[("1.004222", 1.0), ("1.004194", 0.6), ("3.000182", 0.3), ("1.009449", 0.3)],
        gap: 40,
    },
    Journey { name: "nghỉ hưu", who: Who::Citizen, steps: &[("1.011893", 1.0), ("2.000815", 0.4)], gap: 30 },
    Journey {
        name: "mất việc làm",
        who: Who::Citizen,
        steps: &[("1.001978", 1.0), ("2.000815", 0.5), ("2.000488", 0.4)],
        gap: 20,
    },
    Journey {
        name: "mở doanh nghiệp",
        who: Who::Business,
        steps: &[("2.001610", 1.0), ("1.007689", 0.9), ("1.001252", 0.4), ("2.000620", 0.25)],
        gap: 20,
    },
    Journey {
        name: "thay đổi kinh doanh",
        who: Who::Business,
        steps: &[("2.002030", 1.0), ("2.001575", 0.4)],
        gap: 30,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_is_a_seeded_procedure() {
        let codes: Vec<String> = crate::catalogue::procedures().into_iter().map(|(p, _)| p.code).collect();
        for j in JOURNEYS {
            for (code, p) in j.steps {
                assert!(codes.iter().any(|c| c == code), "{}: {code} is not in the catalogue", j.name);
                assert!((0.0..=1.0).contains(p));
            }
        }
    }
}
