//! The metadata quality of a dataset, scored as data.europa.eu's Metadata Quality Assessment
//! (MQA) scores a DCAT-AP dataset: five dimensions, 405 points, each indicator with what to
//! fix. Dataset-level indicators score all or nothing; distribution-level ones score the share
//! of the distributions that meet them, as the MQA does. The scores are of what Sen publishes
//! in DCAT-AP for the dataset (`dcat.rs`), computed from the same CKAN dictionary.
//!
//! | dimension | indicator | points |
//! |---|---|---|
//! | findability | keywords 30, themes 30, spatial coverage 20, temporal coverage 20 | 100 |
//! | accessibility | access URL reachable 50, download URL given 20, download URL reachable 30 | 100 |
//! | interoperability | format 20, media type 10, format from the EU vocabulary 10, non-proprietary 20, machine-readable 20, DCAT-AP conformance 30 | 110 |
//! | reusability | licence 20, licence from a vocabulary 10, access rights 10, access rights from the vocabulary 5, contact point 20, publisher 10 | 75 |
//! | contextuality | rights 5, byte size 5, date of issue 5, modification date 5 | 20 |
//!
//! Ratings, as the MQA's: excellent 351–405, good 221–350, sufficient 121–220, bad 0–120.

use serde::Serialize;
use serde_json::Value;

/// The most points a dataset can score.
pub const MAX_POINTS: u32 = 405;

/// Whether a resource's address answered when it was last checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// It answered 2xx or 3xx (a file Sen holds always does).
    Reachable,
    /// It answered an error or not at all.
    Unreachable,
    /// Not checked yet.
    Unchecked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Findability,
    Accessibility,
    Interoperability,
    Reusability,
    Contextuality,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Findability,
        Dimension::Accessibility,
        Dimension::Interoperability,
        Dimension::Reusability,
        Dimension::Contextuality,
    ];

    pub fn max_points(self) -> u32 {
        match self {
            Dimension::Findability | Dimension::Accessibility => 100,
            Dimension::Interoperability => 110,
            Dimension::Reusability => 75,
            Dimension::Contextuality => 20,
        }
    }

    pub fn label(self, english: bool) -> &'static str {
        match (self, english) {
            (Dimension::Findability, false) => "Khả năng tìm thấy",
            (Dimension::Accessibility, false) => "Khả năng truy cập",
            (Dimension::Interoperability, false) => "Khả năng liên thông",
            (Dimension::Reusability, false) => "Khả năng tái sử dụng",
            (Dimension::Contextuality, false) => "Thông tin ngữ cảnh",
            (Dimension::Findability, true) => "Findability",
            (Dimension::Accessibility, true) => "Accessibility",
            (Dimension::Interoperability, true) => "Interoperability",
            (Dimension::Reusability, true) => "Reusability",
            (Dimension::Contextuality, true) => "Contextuality",
        }
    }
}

/// One indicator's score, with what to do when it is not full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// A stable code (`keywords`, `access_url_reachable`, …).
    pub code: &'static str,
    pub dimension: Dimension,
    pub points: u32,
    pub max_points: u32,
    /// What to fix, in Vietnamese and English; empty when the indicator is full.
    pub fix_vi: String,
    pub fix_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub points: u32,
    pub max_points: u32,
    /// `excellent`, `good`, `sufficient` or `bad`.
    pub rating: &'static str,
    /// Per dimension, in the order of [`Dimension::ALL`]: (dimension, points, max).
    pub dimensions: Vec<(Dimension, u32, u32)>,
    pub indicators: Vec<Indicator>,
}

impl Score {
    /// The indicators not at full points, the most points to gain first.
    pub fn to_fix(&self) -> Vec<&Indicator> {
        let mut v: Vec<&Indicator> = self.indicators.iter().filter(|i| i.points < i.max_points).collect();
        v.sort_by_key(|i| std::cmp::Reverse(i.max_points - i.points));
        v
    }
}

/// The MQA's rating for a number of points.
pub fn rating(points: u32) -> &'static str {
    match points {
        351.. => "excellent",
        221.. => "good",
        121.. => "sufficient",
        _ => "bad",
    }
}

/// Rating labels for people.
pub fn rating_label(rating: &str, english: bool) -> &'static str {
    match (rating, english) {
        ("excellent", false) => "Rất tốt",
        ("good", false) => "Tốt",
        ("sufficient", false) => "Đạt",
        (_, false) => "Kém",
        ("excellent", true) => "Excellent",
        ("good", true) => "Good",
        ("sufficient", true) => "Sufficient",
        (_, true) => "Bad",
    }
}

/// Formats in the EU file-type vocabulary that are not tied to one vendor's software.
const NON_PROPRIETARY: &[&str] = &[
    "CSV", "JSON", "GEOJSON", "XML", "ODS", "PDF", "HTML", "TXT", "TTL", "TURTLE", "RDF", "JSONLD", "JSON-LD", "KML",
    "ZIP", "API",
];
/// Formats a program can read as data.
const MACHINE_READABLE: &[&str] = &[
    "CSV", "JSON", "GEOJSON", "XML", "XLSX", "XLS", "ODS", "TTL", "TURTLE", "RDF", "JSONLD", "JSON-LD", "KML", "SHP",
    "API",
];

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).map(str::trim).unwrap_or("")
}

fn non_empty_list(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

/// Scores a dataset from its CKAN dictionary (with `resources` and `organization`, as
/// `package_show` gives it); `reach` tells whether a resource's address answered.
pub fn score(pkg: &Value, reach: &dyn Fn(&Value) -> Reachability) -> Score {
    let resources: Vec<&Value> =
        pkg.get("resources").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let mut out: Vec<Indicator> = Vec::new();
    let whole = |out: &mut Vec<Indicator>, code, dimension, max: u32, ok: bool, fix_vi: &str, fix_en: &str| {
        out.push(Indicator {
            code,
            dimension,
            points: if ok { max } else { 0 },
            max_points: max,
            fix_vi: if ok { String::new() } else { fix_vi.to_string() },
            fix_en: if ok { String::new() } else { fix_en.to_string() },
        });
    };
    use Dimension::*;
    whole(
        &mut out,
        "keywords",
        Findability,
        30,
        non_empty_list(pkg, "tags"),
        "Thêm từ khóa (tags).",
        "Add keywords (tags).",
    );
    let themed = pkg
        .get("groups")
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|g| super::theme(text(g, "name")).is_some()));
    whole(
        &mut out,
        "themes",
        Findability,
        30,
        themed,
        "Gắn chủ đề dữ liệu (nhóm theo danh mục chủ đề của EU).",
        "Add a data theme (a group from the EU theme list).",
    );
    whole(
        &mut out,
        "spatial",
        Findability,
        20,
        !text(pkg, "spatial").is_empty(),
        "Ghi phạm vi không gian (spatial).",
        "Give the spatial coverage (spatial).",
    );
    let temporal = !text(pkg, "temporal_start").is_empty() || !text(pkg, "temporal_end").is_empty();
    whole(
        &mut out,
        "temporal",
        Findability,
        20,
        temporal,
        "Ghi phạm vi thời gian (temporal_start, temporal_end).",
        "Give the temporal coverage (temporal_start, temporal_end).",
    );
    let licence = super::licence(text(pkg, "license_id"));
    let contact = ["maintainer", "maintainer_email", "author", "author_email"].iter().any(|k| !text(pkg, k).is_empty());
    let publisher =
        pkg.get("organization").is_some_and(|o| !text(o, "title").is_empty() || !text(o, "name").is_empty());
    let conformant = !text(pkg, "title").is_empty()
        && !text(pkg, "notes").is_empty()
        && publisher
        && resources.iter().all(|r| !text(r, "url").is_empty());

    // Distribution-level indicators: the share of the resources that meet them.
    let n = resources.len() as u32;
    let mut shared = |code, dimension, max: u32, ok: &dyn Fn(&Value) -> bool, fix_vi: &str, fix_en: &str| {
        let met = resources.iter().filter(|r| ok(r)).count() as u32;
        let points = (max * met + n / 2).checked_div(n).unwrap_or(0);
        let missing: Vec<&str> = resources
            .iter()
            .filter(|r| !ok(r))
            .map(|r| match text(r, "name") {
                "" => text(r, "id"),
                name => name,
            })
            .collect();
        let (fix_vi, fix_en) = match (points == max, n) {
            (true, _) => (String::new(), String::new()),
            (false, 0) => (
                "Thêm ít nhất một tài nguyên (tệp hoặc liên kết).".to_string(),
                "Add at least one resource (a file or a link).".to_string(),
            ),
            (false, _) => (
                format!("{fix_vi} Tài nguyên: {}.", missing.join("; ")),
                format!("{fix_en} Resources: {}.", missing.join("; ")),
            ),
        };
        out.push(Indicator { code, dimension, points, max_points: max, fix_vi, fix_en });
    };
    let reachable = |r: &Value| reach(r) == Reachability::Reachable;
    shared(
        "access_url_reachable",
        Accessibility,
        50,
        &reachable,
        "Sửa liên kết không truy cập được (hoặc chờ lần kiểm tra tới).",
        "Mend the links that do not answer (or wait for the next check).",
    );
    let has_download = |r: &Value| !text(r, "url").is_empty();
    shared(
        "download_url",
        Accessibility,
        20,
        &has_download,
        "Cho địa chỉ tải về trực tiếp.",
        "Give a direct download address.",
    );
    shared(
        "download_url_reachable",
        Accessibility,
        30,
        &|r| has_download(r) && reachable(r),
        "Sửa địa chỉ tải về không truy cập được.",
        "Mend the download addresses that do not answer.",
    );
    let format = |r: &Value| text(r, "format").to_uppercase();
    shared("format", Interoperability, 20, &|r| !format(r).is_empty(), "Ghi định dạng (format).", "Give the format.");
    shared(
        "media_type",
        Interoperability,
        10,
        &|r| super::dcat::file_type(&format(r)).is_some_and(|(_, m)| m.is_some()),
        "Dùng định dạng có kiểu phương tiện IANA (CSV, JSON, XML …).",
        "Use a format with an IANA media type (CSV, JSON, XML …).",
    );
    shared(
        "format_vocabulary",
        Interoperability,
        10,
        &|r| super::dcat::file_type(&format(r)).is_some(),
        "Dùng định dạng trong danh mục định dạng tệp của EU.",
        "Use a format from the EU file-type list.",
    );
    shared(
        "non_proprietary",
        Interoperability,
        20,
        &|r| NON_PROPRIETARY.contains(&format(r).as_str()),
        "Cung cấp thêm định dạng mở, không phụ thuộc phần mềm (CSV thay cho XLSX).",
        "Add an open, vendor-neutral format (CSV beside XLSX).",
    );
    shared(
        "machine_readable",
        Interoperability,
        20,
        &|r| MACHINE_READABLE.contains(&format(r).as_str()),
        "Cung cấp định dạng máy đọc được (CSV, JSON, XML), không chỉ PDF hay HTML.",
        "Add a machine-readable format (CSV, JSON, XML), not only PDF or HTML.",
    );
    shared(
        "rights",
        Contextuality,
        5,
        &|r| !text(r, "rights").is_empty(),
        "Ghi tuyên bố quyền (rights) cho tài nguyên.",
        "Give a rights statement (rights) for the resource.",
    );
    let size = |r: &Value| {
        r.get("size").is_some_and(|s| s.as_u64().is_some() || s.as_str().is_some_and(|s| s.parse::<u64>().is_ok()))
    };
    shared("byte_size", Contextuality, 5, &size, "Ghi kích thước tệp (size).", "Give the file size (size).");
    shared(
        "issued",
        Contextuality,
        5,
        &|r| !text(r, "created").is_empty(),
        "Ghi ngày phát hành.",
        "Give the date of issue.",
    );
    shared(
        "modified",
        Contextuality,
        5,
        &|r| !text(r, "last_modified").is_empty() || !text(r, "metadata_modified").is_empty(),
        "Ghi ngày cập nhật.",
        "Give the modification date.",
    );

    whole(
        &mut out,
        "dcat_ap_conformance",
        Interoperability,
        30,
        conformant,
        "Điền đủ các thuộc tính bắt buộc của DCAT-AP: tiêu đề, mô tả, cơ quan công bố, địa chỉ của mọi tài nguyên.",
        "Give every property DCAT-AP requires: title, description, publisher, and each resource's address.",
    );
    whole(
        &mut out,
        "licence",
        Reusability,
        20,
        !text(pkg, "license_id").is_empty(),
        "Chọn giấy phép.",
        "Choose a licence.",
    );
    whole(
        &mut out,
        "licence_vocabulary",
        Reusability,
        10,
        licence.is_some(),
        "Chọn giấy phép trong danh mục giấy phép mở của cổng.",
        "Choose a licence from the portal's list of open licences.",
    );
    // Sen publishes only open data, and says so with the EU access-right PUBLIC.
    whole(&mut out, "access_rights", Reusability, 10, true, "", "");
    whole(&mut out, "access_rights_vocabulary", Reusability, 5, true, "", "");
    whole(
        &mut out,
        "contact_point",
        Reusability,
        20,
        contact,
        "Ghi đầu mối liên hệ (maintainer, maintainer_email).",
        "Give a contact point (maintainer, maintainer_email).",
    );
    whole(&mut out, "publisher", Reusability, 10, publisher, "Ghi cơ quan công bố.", "Name the publisher.");

    let points: u32 = out.iter().map(|i| i.points).sum();
    let dimensions = Dimension::ALL
        .iter()
        .map(|d| (*d, out.iter().filter(|i| i.dimension == *d).map(|i| i.points).sum(), d.max_points()))
        .collect();
    Score { points, max_points: MAX_POINTS, rating: rating(points), dimensions, indicators: out }
}

/// An agency's score: the mean of its datasets' points (none: no score).
pub fn mean_points(points: &[u32]) -> Option<u32> {
    if points.is_empty() {
        return None;
    }
    Some(((points.iter().map(|p| u64::from(*p)).sum::<u64>() + points.len() as u64 / 2) / points.len() as u64) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full() -> Value {
        json!({
            "title": "Chất lượng không khí", "notes": "AQI theo giờ", "license_id": "cc-by-4.0",
            "tags": [{"name": "không khí"}], "groups": [{"name": "envi"}],
            "spatial": "Thành phố Hà Nội", "temporal_start": "2024-01-01",
            "maintainer": "Sở Nông nghiệp và Môi trường", "organization": {"name": "h01-snnmt", "title": "Sở NN&MT"},
            "resources": [{"id": "r1", "name": "AQI", "url": "https://x/aqi.csv", "format": "CSV", "size": 1024,
                "rights": "Tự do tái sử dụng", "created": "2025-01-01T00:00:00", "last_modified": "2025-02-01T00:00:00"}]
        })
    }

    #[test]
    fn the_dimensions_add_up_to_405() {
        assert_eq!(Dimension::ALL.iter().map(|d| d.max_points()).sum::<u32>(), MAX_POINTS);
        let s = score(&full(), &|_| Reachability::Reachable);
        assert_eq!(s.indicators.iter().map(|i| i.max_points).sum::<u32>(), MAX_POINTS);
        assert_eq!((s.points, s.rating), (405, "excellent"));
        assert!(s.to_fix().is_empty());
    }

    #[test]
    fn what_is_missing_costs_its_points_and_says_what_to_fix() {
        let mut pkg = full();
        pkg["tags"] = json!([]);
        pkg["resources"] = json!([
            {"id": "r1", "name": "AQI", "url": "https://x/aqi.csv", "format": "CSV"},
            {"id": "r2", "name": "Báo cáo", "url": "https://x/bao-cao.pdf", "format": "PDF"}
        ]);
        let s = score(&pkg, &|r| if r["id"] == "r1" { Reachability::Reachable } else { Reachability::Unreachable });
        let get = |code: &str| s.indicators.iter().find(|i| i.code == code).unwrap();
        assert_eq!(get("keywords").points, 0);
        assert!(get("keywords").fix_vi.contains("từ khóa"));
        // Half the resources answer: half the points, and the one that does not is named.
        assert_eq!(get("access_url_reachable").points, 25);
        assert!(get("access_url_reachable").fix_en.contains("Báo cáo"));
        assert_eq!(get("machine_readable").points, 10);
        assert_eq!(get("non_proprietary").points, 20, "PDF and CSV are both open formats");
        assert_eq!(get("byte_size").points, 0);
        assert_eq!(s.to_fix()[0].code, "keywords", "the most points to gain first");
        assert_eq!(s.points, s.dimensions.iter().map(|d| d.1).sum::<u32>());
        assert!(s.points < 405);
    }

    #[test]
    fn a_dataset_without_resources_scores_no_distribution_points() {
        let mut pkg = full();
        pkg["resources"] = json!([]);
        let s = score(&pkg, &|_| Reachability::Reachable);
        let get = |code: &str| s.indicators.iter().find(|i| i.code == code).unwrap();
        assert_eq!(get("format").points, 0);
        assert!(get("format").fix_en.contains("at least one resource"));
        assert_eq!(rating(120), "bad");
        assert_eq!(rating(121), "sufficient");
        assert_eq!(rating(350), "good");
        assert_eq!(mean_points(&[405, 200]), Some(303));
        assert_eq!(mean_points(&[]), None);
    }
}
