//! Open data (issue #6): the catalogue's vocabularies, the query language CKAN clients
//! speak, and the search index that answers them. No I/O.

pub mod datastore;
pub mod dcat;
pub mod index;
pub mod own_stats;
pub mod package;
pub mod plan;
pub mod quality;
pub mod query;
pub mod table;
pub mod usage;

/// A licence a dataset may carry: CKAN's id, its title and where its text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Licence {
    pub id: &'static str,
    pub title: &'static str,
    pub url: &'static str,
    /// Open in the sense of the Open Definition (free reuse, commercial too).
    pub open: bool,
}

/// The licences of the portal. Open data is published for free reuse, commercial included
/// (DOMAIN.md §4), so only open licences may be chosen for published datasets.
pub const LICENCES: &[Licence] = &[
    Licence {
        id: "cc-by-4.0",
        title: "Creative Commons Attribution 4.0",
        url: "https://creativecommons.org/licenses/by/4.0/",
        open: true,
    },
    Licence {
        id: "cc-zero",
        title: "Creative Commons CCZero",
        url: "https://creativecommons.org/publicdomain/zero/1.0/",
        open: true,
    },
    Licence {
        id: "cc-by-sa-4.0",
        title: "Creative Commons Attribution Share-Alike 4.0",
        url: "https://creativecommons.org/licenses/by-sa/4.0/",
        open: true,
    },
    Licence {
        id: "odc-by",
        title: "Open Data Commons Attribution License",
        url: "https://opendatacommons.org/licenses/by/1-0/",
        open: true,
    },
    Licence {
        id: "odc-odbl",
        title: "Open Data Commons Open Database License (ODbL)",
        url: "https://opendatacommons.org/licenses/odbl/1-0/",
        open: true,
    },
    Licence {
        id: "odc-pddl",
        title: "Open Data Commons Public Domain Dedication and License (PDDL)",
        url: "https://opendatacommons.org/licenses/pddl/1-0/",
        open: true,
    },
];

pub fn licence(id: &str) -> Option<&'static Licence> {
    LICENCES.iter().find(|l| l.id == id)
}

/// A theme (CKAN group): the EU data-theme vocabulary that DCAT-AP uses for `dcat:theme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// The group name, lower case (`econ`).
    pub name: &'static str,
    pub title_vi: &'static str,
    pub title_en: &'static str,
}

impl Theme {
    /// The theme's IRI in the EU vocabulary.
    pub fn iri(&self) -> String {
        format!("http://publications.europa.eu/resource/authority/data-theme/{}", self.name.to_uppercase())
    }
}

pub const THEMES: &[Theme] = &[
    Theme {
        name: "agri",
        title_vi: "Nông nghiệp, thủy sản, lâm nghiệp và thực phẩm",
        title_en: "Agriculture, fisheries, forestry and food",
    },
    Theme { name: "econ", title_vi: "Kinh tế và tài chính", title_en: "Economy and finance" },
    Theme { name: "educ", title_vi: "Giáo dục, văn hóa và thể thao", title_en: "Education, culture and sport" },
    Theme { name: "ener", title_vi: "Năng lượng", title_en: "Energy" },
    Theme { name: "envi", title_vi: "Môi trường", title_en: "Environment" },
    Theme { name: "gove", title_vi: "Chính phủ và khu vực công", title_en: "Government and public sector" },
    Theme { name: "heal", title_vi: "Y tế", title_en: "Health" },
    Theme { name: "intr", title_vi: "Quốc tế", title_en: "International issues" },
    Theme {
        name: "just",
        title_vi: "Tư pháp, hệ thống pháp luật và an toàn công cộng",
        title_en: "Justice, legal system and public safety",
    },
    Theme { name: "regi", title_vi: "Vùng và đô thị", title_en: "Regions and cities" },
    Theme { name: "soci", title_vi: "Dân số và xã hội", title_en: "Population and society" },
    Theme { name: "tech", title_vi: "Khoa học và công nghệ", title_en: "Science and technology" },
    Theme { name: "tran", title_vi: "Giao thông vận tải", title_en: "Transport" },
];

pub fn theme(name: &str) -> Option<&'static Theme> {
    THEMES.iter().find(|t| t.name == name)
}

/// Update frequencies (the EU frequency vocabulary) and the days after which a dataset that
/// was not updated is stale.
pub const FREQUENCIES: &[(&str, &str, u32)] = &[
    ("DAILY", "Hằng ngày", 1),
    ("WEEKLY", "Hằng tuần", 7),
    ("MONTHLY", "Hằng tháng", 31),
    ("QUARTERLY", "Hằng quý", 92),
    ("ANNUAL", "Hằng năm", 366),
    ("IRREG", "Không định kỳ", 92),
];

/// Days without an update after which a dataset of `frequency` is stale: its frequency, and
/// never more than 3 months, the most the law allows for published open data (DOMAIN.md §4).
pub fn stale_after_days(frequency: &str) -> u32 {
    FREQUENCIES.iter().find(|f| f.0 == frequency).map(|f| f.2).unwrap_or(92).min(92)
}

/// A dataset's URL name as CKAN accepts it: 2 to 100 characters of lower-case ASCII letters,
/// digits, `-` and `_`.
pub fn valid_name(name: &str) -> bool {
    (2..=100).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A URL name from a Vietnamese title: `Dân số theo xã` → `dan-so-theo-xa`.
pub fn name_from_title(title: &str) -> String {
    let folded = crate::text::fold(title);
    let mut out = String::new();
    for t in crate::text::tokens(&folded) {
        let t: String = t.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if t.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&t);
    }
    out.truncate(100);
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name_from_title("Dân số theo xã, phường"), "dan-so-theo-xa-phuong");
        assert!(valid_name("dan-so_2025"));
        assert!(!valid_name("Dân"));
        assert!(!valid_name("a"));
        assert!(!valid_name(&"a".repeat(101)));
    }

    #[test]
    fn staleness_is_capped_at_three_months() {
        assert_eq!(stale_after_days("MONTHLY"), 31);
        assert_eq!(stale_after_days("ANNUAL"), 92);
        assert_eq!(stale_after_days("unknown"), 92);
    }

    #[test]
    fn vocabularies() {
        assert!(LICENCES.iter().all(|l| l.open));
        assert_eq!(theme("econ").unwrap().iri(), "http://publications.europa.eu/resource/authority/data-theme/ECON");
        assert!(licence("cc-by-4.0").is_some() && licence("proprietary").is_none());
    }
}
