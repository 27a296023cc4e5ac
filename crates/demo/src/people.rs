//! Vietnamese names, addresses, households and enterprises, generated deterministically.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Family names with their approximate share of the population (percent × 10).
const FAMILY: [(&str, u32); 16] = [
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 51),
    ("Huỳnh", 40),
    ("Phan", 45),
    ("Vũ", 39),
    ("Võ", 30),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
];
const MIDDLE_MALE: [&str; 12] =
    ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thanh", "Công", "Gia", "Bảo", "Xuân", "Trung", "Tiến"];
const MIDDLE_FEMALE: [&str; 12] =
    ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Hồng", "Kim", "Phương", "Bảo", "Diệu", "Khánh", "Mai"];
const GIVEN_MALE: [&str; 30] = [
    "An", "Anh", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy", "Khánh", "Khoa", "Kiên",
    "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thành", "Trung", "Tuấn", "Việt",
    "Vinh",
];
const GIVEN_FEMALE: [&str; 30] = [
    "An", "Anh", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hoa", "Hương", "Huyền", "Lan", "Linh", "Loan", "Mai",
    "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Uyên", "Vân",
    "Yến",
];
const STREETS: [&str; 20] = [
    "Nguyễn Trãi",
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Hai Bà Trưng",
    "Quang Trung",
    "Lý Thường Kiệt",
    "Điện Biên Phủ",
    "Hoàng Diệu",
    "Phan Chu Trinh",
    "Bạch Đằng",
    "Lê Duẩn",
    "Nguyễn Du",
    "Trần Phú",
    "Hùng Vương",
    "Lê Thánh Tông",
    "Nguyễn Huệ",
    "Phạm Văn Đồng",
    "Võ Nguyên Giáp",
    "Nguyễn Văn Cừ",
    "Tôn Đức Thắng",
];
const TRADES: [&str; 14] = [
    "Thương mại",
    "Dịch vụ",
    "Xây dựng",
    "Công nghệ",
    "Vận tải",
    "Thực phẩm",
    "May mặc",
    "Nông sản",
    "Du lịch",
    "Giáo dục",
    "Cơ khí",
    "Điện tử",
    "Nội thất",
    "Dược phẩm",
];
const BRANDS: [&str; 24] = [
    "Hưng Thịnh",
    "An Phát",
    "Minh Long",
    "Sao Việt",
    "Hồng Hà",
    "Trường Sơn",
    "Phú Gia",
    "Thành Công",
    "Đại Dương",
    "Bình Minh",
    "Hoàng Gia",
    "Tân Tiến",
    "Việt Tín",
    "Kim Ngân",
    "Phương Nam",
    "Đông Á",
    "Lạc Hồng",
    "Thiên Long",
    "Hải Âu",
    "Mê Kông",
    "Sông Hồng",
    "Bắc Việt",
    "Nam Sơn",
    "Vạn Xuân",
];

pub fn family_name(rng: &mut ChaCha8Rng) -> &'static str {
    let total: u32 = FAMILY.iter().map(|f| f.1).sum();
    let mut x = rng.gen_range(0..total);
    for (name, w) in FAMILY {
        if x < w {
            return name;
        }
        x -= w;
    }
    "Nguyễn"
}

pub fn full_name(rng: &mut ChaCha8Rng, family: &str, female: bool) -> String {
    let (m, g) = if female { (&MIDDLE_FEMALE, &GIVEN_FEMALE) } else { (&MIDDLE_MALE, &GIVEN_MALE) };
    format!("{family} {} {}", m.choose(rng).unwrap(), g.choose(rng).unwrap())
}

pub fn street_address(rng: &mut ChaCha8Rng) -> String {
    if rng.gen_bool(0.4) {
        format!("Số {}, ngõ {}, đường {}", rng.gen_range(1..200), rng.gen_range(1..150), STREETS.choose(rng).unwrap())
    } else {
        format!("Số {} đường {}", rng.gen_range(1..400), STREETS.choose(rng).unwrap())
    }
}

/// (kind, name) of a generated enterprise.
pub fn enterprise_name(rng: &mut ChaCha8Rng) -> (&'static str, String) {
    let brand = BRANDS.choose(rng).unwrap();
    let trade = TRADES.choose(rng).unwrap();
    match rng.gen_range(0..10) {
        0..=4 => ("tnhh", format!("Công ty TNHH {trade} {brand}")),
        5..=7 => ("co_phan", format!("Công ty Cổ phần {trade} {brand}")),
        8 => ("tu_nhan", format!("Doanh nghiệp tư nhân {brand}")),
        _ => ("tnhh_1tv", format!("Công ty TNHH Một thành viên {trade} {brand}")),
    }
}
