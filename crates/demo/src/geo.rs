//! The 34 provinces and 3,321 commune-level units in force since 1 July 2025.
//!
//! Counts per province (total, wards, special zones) follow the 2025 reorganisation and add up
//! to 3,321 units: 2,621 communes (xã), 687 wards (phường), 13 special zones (đặc khu). Unit
//! names are real where listed here and generated (from common Vietnamese place-name
//! syllables, deterministically) elsewhere.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use sen_store::{Commune, Province};
use std::collections::HashSet;

/// (code, name, centrally-run city, units, wards, special zones).
pub const PROVINCES: [(&str, &str, bool, usize, usize, usize); 34] = [
    ("01", "Hà Nội", true, 126, 51, 0),
    ("04", "Cao Bằng", false, 56, 3, 0),
    ("08", "Tuyên Quang", false, 124, 7, 0),
    ("11", "Điện Biên", false, 45, 3, 0),
    ("12", "Lai Châu", false, 38, 2, 0),
    ("14", "Sơn La", false, 75, 8, 0),
    ("15", "Lào Cai", false, 99, 10, 0),
    ("19", "Thái Nguyên", false, 92, 15, 0),
    ("20", "Lạng Sơn", false, 65, 4, 0),
    ("22", "Quảng Ninh", false, 54, 30, 2),
    ("24", "Bắc Ninh", false, 99, 33, 0),
    ("25", "Phú Thọ", false, 148, 15, 0),
    ("31", "Hải Phòng", true, 114, 45, 2),
    ("33", "Hưng Yên", false, 104, 11, 0),
    ("37", "Ninh Bình", false, 129, 32, 0),
    ("38", "Thanh Hóa", false, 166, 19, 0),
    ("40", "Nghệ An", false, 130, 11, 0),
    ("42", "Hà Tĩnh", false, 69, 9, 0),
    ("44", "Quảng Trị", false, 78, 8, 1),
    ("46", "Huế", true, 40, 21, 0),
    ("48", "Đà Nẵng", true, 94, 23, 1),
    ("51", "Quảng Ngãi", false, 96, 9, 1),
    ("52", "Gia Lai", false, 135, 25, 0),
    ("56", "Khánh Hòa", false, 65, 16, 1),
    ("66", "Đắk Lắk", false, 102, 14, 0),
    ("68", "Lâm Đồng", false, 124, 20, 1),
    ("75", "Đồng Nai", false, 95, 23, 0),
    ("79", "TP Hồ Chí Minh", true, 168, 113, 1),
    ("80", "Tây Ninh", false, 96, 14, 0),
    ("82", "Đồng Tháp", false, 102, 20, 0),
    ("86", "Vĩnh Long", false, 124, 19, 0),
    ("91", "An Giang", false, 102, 14, 3),
    ("92", "Cần Thơ", true, 103, 31, 0),
    ("96", "Cà Mau", false, 64, 9, 0),
];

/// The provinces whose departments and commune authorities the demo staffs.
pub const DEMO_PROVINCES: [&str; 3] = ["01", "48", "15"];

const SPECIAL_ZONES: [(&str, &str); 13] = [
    ("79", "Côn Đảo"),
    ("31", "Cát Hải"),
    ("31", "Bạch Long Vĩ"),
    ("48", "Hoàng Sa"),
    ("22", "Vân Đồn"),
    ("22", "Cô Tô"),
    ("44", "Cồn Cỏ"),
    ("51", "Lý Sơn"),
    ("56", "Trường Sa"),
    ("68", "Phú Quý"),
    ("91", "Phú Quốc"),
    ("91", "Kiên Hải"),
    ("91", "Thổ Châu"),
];

const HANOI_WARDS: [&str; 51] = [
    "Hoàn Kiếm",
    "Cửa Nam",
    "Ba Đình",
    "Ngọc Hà",
    "Giảng Võ",
    "Hai Bà Trưng",
    "Vĩnh Tuy",
    "Bạch Mai",
    "Đống Đa",
    "Kim Liên",
    "Văn Miếu - Quốc Tử Giám",
    "Láng",
    "Ô Chợ Dừa",
    "Hồng Hà",
    "Lĩnh Nam",
    "Hoàng Mai",
    "Vĩnh Hưng",
    "Tương Mai",
    "Định Công",
    "Hoàng Liệt",
    "Yên Sở",
    "Thanh Xuân",
    "Khương Đình",
    "Phương Liệt",
    "Cầu Giấy",
    "Nghĩa Đô",
    "Yên Hòa",
    "Tây Hồ",
    "Phú Thượng",
    "Tây Tựu",
    "Phú Diễn",
    "Xuân Đỉnh",
    "Đông Ngạc",
    "Thượng Cát",
    "Từ Liêm",
    "Xuân Phương",
    "Tây Mỗ",
    "Đại Mỗ",
    "Long Biên",
    "Bồ Đề",
    "Việt Hưng",
    "Phúc Lợi",
    "Hà Đông",
    "Dương Nội",
    "Yên Nghĩa",
    "Phú Lương",
    "Kiến Hưng",
    "Thanh Liệt",
    "Chương Mỹ",
    "Sơn Tây",
    "Tùng Thiện",
];

const HANOI_COMMUNES: [&str; 75] = [
    "Sóc Sơn",
    "Đa Phúc",
    "Nội Bài",
    "Trung Giã",
    "Kim Anh",
    "Đông Anh",
    "Phúc Thịnh",
    "Thư Lâm",
    "Thiên Lộc",
    "Vĩnh Thanh",
    "Mê Linh",
    "Yên Lãng",
    "Tiến Thắng",
    "Quang Minh",
    "Gia Lâm",
    "Thuận An",
    "Bát Tràng",
    "Phù Đổng",
    "Thanh Trì",
    "Đại Thanh",
    "Nam Phù",
    "Ngọc Hồi",
    "Thượng Phúc",
    "Thường Tín",
    "Chương Dương",
    "Hồng Vân",
    "Phú Xuyên",
    "Phượng Dực",
    "Chuyên Mỹ",
    "Đại Xuyên",
    "Thanh Oai",
    "Bình Minh",
    "Tam Hưng",
    "Dân Hòa",
    "Vân Đình",
    "Ứng Thiên",
    "Hòa Xá",
    "Ứng Hòa",
    "Mỹ Đức",
    "Hồng Sơn",
    "Phúc Sơn",
    "Hương Sơn",
    "Phú Nghĩa",
    "Xuân Mai",
    "Trần Phú",
    "Hòa Phú",
    "Quảng Bị",
    "Minh Châu",
    "Quảng Oai",
    "Vật Lại",
    "Cổ Đô",
    "Bất Bạt",
    "Suối Hai",
    "Ba Vì",
    "Yên Bài",
    "Đoài Phương",
    "Phúc Thọ",
    "Phúc Lộc",
    "Hát Môn",
    "Thạch Thất",
    "Hạ Bằng",
    "Tây Phương",
    "Hòa Lạc",
    "Yên Xuân",
    "Quốc Oai",
    "Hưng Đạo",
    "Kiều Phú",
    "Phú Cát",
    "Hoài Đức",
    "Dương Hòa",
    "Sơn Đồng",
    "An Khánh",
    "Đan Phượng",
    "Ô Diên",
    "Liên Minh",
];

const DANANG_WARDS: [&str; 23] = [
    "Hải Châu",
    "Hòa Cường",
    "Thanh Khê",
    "An Khê",
    "An Hải",
    "Sơn Trà",
    "Ngũ Hành Sơn",
    "Hòa Khánh",
    "Hải Vân",
    "Liên Chiểu",
    "Cẩm Lệ",
    "Hòa Xuân",
    "Tam Kỳ",
    "Quảng Phú",
    "Hương Trà",
    "Bàn Thạch",
    "Điện Bàn",
    "Điện Bàn Đông",
    "An Thắng",
    "Điện Bàn Bắc",
    "Hội An",
    "Hội An Đông",
    "Hội An Tây",
];

const SYLLABLES: [&str; 48] = [
    "An", "Bình", "Tân", "Phú", "Hòa", "Thạnh", "Long", "Phước", "Thịnh", "Hưng", "Đông", "Tây", "Nam", "Bắc", "Minh",
    "Quang", "Thành", "Trung", "Nghĩa", "Hợp", "Lợi", "Đức", "Thuận", "Xuân", "Hải", "Sơn", "Lâm", "Vĩnh", "Mỹ",
    "Khánh", "Tiến", "Phong", "Lộc", "Tường", "Yên", "Định", "Hiệp", "Thái", "Cát", "Thắng", "Quý", "Hà", "Châu",
    "Giang", "Lạc", "Điền", "Kim", "Ninh",
];

pub fn provinces() -> Vec<Province> {
    PROVINCES
        .iter()
        .map(|(code, name, city, ..)| Province {
            code: code.to_string(),
            name: name.to_string(),
            kind: if *city { "city" } else { "province" }.to_string(),
        })
        .collect()
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "phuong" => "Phường",
        "dac_khu" => "Đặc khu",
        _ => "Xã",
    }
}

/// All 3,321 units, deterministic for a given generator.
pub fn communes(rng: &mut ChaCha8Rng) -> Vec<Commune> {
    let mut out = Vec::with_capacity(3321);
    let mut serial = 1u32;
    for (pcode, _, _, total, wards, zones) in PROVINCES {
        let mut used: HashSet<String> = HashSet::new();
        let mut real_wards: Vec<&str> = match pcode {
            "01" => HANOI_WARDS.to_vec(),
            "48" => DANANG_WARDS.to_vec(),
            _ => vec![],
        };
        let mut real_communes: Vec<&str> = if pcode == "01" { HANOI_COMMUNES.to_vec() } else { vec![] };
        real_wards.reverse();
        real_communes.reverse();
        let zone_names: Vec<&str> = SPECIAL_ZONES.iter().filter(|(p, _)| *p == pcode).map(|(_, n)| *n).collect();
        for i in 0..total {
            let (kind, real) = if i < wards {
                ("phuong", real_wards.pop())
            } else if i < wards + zones {
                ("dac_khu", zone_names.get(i - wards).copied())
            } else {
                ("xa", real_communes.pop())
            };
            let name = match real {
                Some(n) => n.to_string(),
                None => loop {
                    let a = SYLLABLES.choose(rng).unwrap();
                    let b = SYLLABLES.choose(rng).unwrap();
                    let n = if rng.gen_bool(0.15) {
                        format!("{a} {b} {}", SYLLABLES.choose(rng).unwrap())
                    } else {
                        format!("{a} {b}")
                    };
                    if a != b && !used.contains(&n) {
                        break n;
                    }
                },
            };
            used.insert(name.clone());
            out.push(Commune {
                code: format!("{:05}", serial * 3 + 1),
                province_code: pcode.to_string(),
                name: format!("{} {}", kind_label(kind), name),
                kind: kind.to_string(),
            });
            serial += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn counts_match_the_2025_reorganisation() {
        let c = communes(&mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(provinces().len(), 34);
        assert_eq!(c.len(), 3321);
        assert_eq!(c.iter().filter(|c| c.kind == "xa").count(), 2621);
        assert_eq!(c.iter().filter(|c| c.kind == "phuong").count(), 687);
        assert_eq!(c.iter().filter(|c| c.kind == "dac_khu").count(), 13);
        assert_eq!(c.iter().filter(|c| c.province_code == "79").count(), 168);
        assert_eq!(c.iter().filter(|c| c.province_code == "01").count(), 126);
        assert_eq!(c.iter().filter(|c| c.province_code == "12").count(), 38);
        assert!(c.iter().any(|c| c.name == "Phường Hoàn Kiếm"));
        assert!(c.iter().any(|c| c.name == "Đặc khu Phú Quốc"));
        let mut names: Vec<_> = c.iter().map(|c| (&c.province_code, &c.name)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 3321, "names are unique within a province");
    }

    #[test]
    fn generation_is_deterministic() {
        let a = communes(&mut ChaCha8Rng::seed_from_u64(7));
        let b = communes(&mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(a.iter().map(|c| &c.name).collect::<Vec<_>>(), b.iter().map(|c| &c.name).collect::<Vec<_>>());
    }
}
