//! Use of the open data (issue #6): what is counted — a dataset's page viewed, a file
//! downloaded, a dataset or resource read through the API — and who is not counted: known
//! crawlers and bots, by their `User-Agent`. No I/O.

use chrono::{Datelike, NaiveDate};

/// What a count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The dataset's page was viewed.
    View,
    /// A file of it was downloaded (its resource named).
    Download,
    /// It was read through the API (`package_show`, `resource_show`, `datapackage.json`,
    /// its DCAT-AP document).
    Api,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::View, Kind::Download, Kind::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::Download => "download",
            Kind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Words in the `User-Agent` of crawlers, link checkers and other robots (lower case). A
/// request without a `User-Agent` is not counted either. API clients people use (ckanapi,
/// curl, Python's requests) are people's use and are counted.
const BOTS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "slurp",
    "facebookexternalhit",
    "embedly",
    "preview",
    "ia_archiver",
    "archive.org",
    "bingpreview",
    "headlesschrome",
    "lighthouse",
    "pingdom",
    "uptime",
    "monitor",
    "scrapy",
    "wget",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "httrack",
    "ahrefs",
    "semrush",
    "mj12",
    "dotbot",
    "petalbot",
    "bytespider",
    "gptbot",
    "ccbot",
    "claudebot",
    "yandex",
    "baiduspider",
    "duckduckgo",
    "applebot",
    "google-extended",
    "coccoc",
];

/// Whether a request with this `User-Agent` is a robot's (not counted).
pub fn is_bot(user_agent: Option<&str>) -> bool {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else { return true };
    let ua = ua.to_ascii_lowercase();
    BOTS.iter().any(|b| ua.contains(b))
}

/// The days of a month `YYYY-MM`: [first day, first day of the next month).
pub fn month_range(s: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    Some((first, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_are_not_counted_and_people_are() {
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0)",
            "facebookexternalhit/1.1",
            "Mozilla/5.0 (compatible; AhrefsBot/7.0)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0)",
            "Wget/1.21",
            "",
        ] {
            assert!(is_bot(Some(bot)), "{bot}");
        }
        assert!(is_bot(None));
        for person in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "ckanapi/4.7 (+https://github.com/ckan/ckanapi)",
            "curl/8.5.0",
            "python-requests/2.32.3",
        ] {
            assert!(!is_bot(Some(person)), "{person}");
        }
    }

    #[test]
    fn months_run_to_the_next_first_day() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(month_range("2026-11"), Some((d(2026, 11, 1), d(2026, 12, 1))));
        assert_eq!(month_range("2026-12"), Some((d(2026, 12, 1), d(2027, 1, 1))));
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "", "abcd-ef"] {
            assert_eq!(month_range(bad), None, "{bad}");
        }
        assert_eq!(Kind::parse("download"), Some(Kind::Download));
    }
}
