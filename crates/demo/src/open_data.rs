//! The demo's open-data catalogue (issue #6): datasets that provincial departments and
//! ministries publish, with their resources, checked by the same rules as `package_create`.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sen_domain::opendata::package;
use sen_store::opendata::{StoredDataset, StoredResource};
use sen_store::{Agency, Store};
use serde_json::{Value, json};

/// (agency code, title, description, tags, theme, frequency, resources as (name, file)).
type Seed = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const DATASETS: &[Seed] = &[
    (
        "H01.SNNMT",
        "Chất lượng không khí theo trạm quan trắc",
        "Chỉ số chất lượng không khí (AQI) và nồng độ PM2.5, PM10 theo giờ tại các trạm quan trắc tự động trên địa bàn thành phố Hà Nội.",
        &["môi trường", "không khí", "AQI"],
        "envi",
        "DAILY",
        &[("AQI theo giờ", "aqi-theo-gio.csv"), ("Danh sách trạm", "tram-quan-trac.json")],
    ),
    (
        "H01.SNNMT",
        "Kế hoạch sử dụng đất hằng năm cấp xã",
        "Diện tích đất theo mục đích sử dụng trong kế hoạch sử dụng đất được phê duyệt của các xã, phường.",
        &["đất đai", "quy hoạch"],
        "envi",
        "ANNUAL",
        &[("Kế hoạch sử dụng đất", "ke-hoach-su-dung-dat.csv")],
    ),
    (
        "H01.SXD",
        "Danh mục công trình xây dựng được cấp phép",
        "Giấy phép xây dựng đã cấp: địa điểm, loại công trình, số tầng, ngày cấp.",
        &["xây dựng", "giấy phép"],
        "regi",
        "MONTHLY",
        &[("Giấy phép xây dựng", "giay-phep-xay-dung.csv")],
    ),
    (
        "H01.SYT",
        "Danh sách cơ sở khám bệnh, chữa bệnh",
        "Cơ sở khám chữa bệnh được cấp phép hoạt động: tên, địa chỉ, chuyên khoa, số giường.",
        &["y tế", "bệnh viện"],
        "heal",
        "QUARTERLY",
        &[("Cơ sở khám chữa bệnh", "co-so-kham-chua-benh.csv")],
    ),
    (
        "H01.SGDDT",
        "Danh sách trường học và quy mô học sinh",
        "Trường mầm non, tiểu học, trung học cơ sở và trung học phổ thông với số lớp, số học sinh theo năm học.",
        &["giáo dục", "trường học"],
        "educ",
        "ANNUAL",
        &[("Trường học", "truong-hoc.csv")],
    ),
    (
        "H01.STC",
        "Dự toán và quyết toán ngân sách tỉnh",
        "Dự toán, quyết toán thu chi ngân sách địa phương theo lĩnh vực, công khai theo Luật Ngân sách nhà nước.",
        &["ngân sách", "tài chính công"],
        "econ",
        "ANNUAL",
        &[("Dự toán ngân sách", "du-toan-ngan-sach.csv"), ("Quyết toán ngân sách", "quyet-toan-ngan-sach.csv")],
    ),
    (
        "H01.SCT",
        "Giá bán lẻ xăng dầu và mặt hàng thiết yếu",
        "Giá bán lẻ bình quân các mặt hàng thiết yếu trên địa bàn theo tuần.",
        &["giá cả", "thị trường"],
        "econ",
        "WEEKLY",
        &[("Giá bán lẻ", "gia-ban-le.csv")],
    ),
    (
        "H01.SNV",
        "Số lượng cán bộ, công chức cấp xã",
        "Số lượng cán bộ, công chức cấp xã theo đơn vị hành chính và trình độ chuyên môn.",
        &["công chức", "tổ chức bộ máy"],
        "gove",
        "ANNUAL",
        &[("Cán bộ công chức cấp xã", "can-bo-cong-chuc-xa.csv")],
    ),
    (
        "H01.UB",
        "Điểm truy cập Internet không dây công cộng",
        "Vị trí các điểm phát Wi-Fi công cộng miễn phí do thành phố đầu tư.",
        &["wifi", "hạ tầng số"],
        "tech",
        "QUARTERLY",
        &[("Điểm Wi-Fi công cộng", "diem-wifi.geojson")],
    ),
    (
        "H01.UB",
        "Tuyến xe buýt và điểm dừng",
        "Lộ trình, giờ hoạt động, tần suất các tuyến xe buýt và vị trí điểm dừng đỗ.",
        &["giao thông", "xe buýt"],
        "tran",
        "IRREG",
        &[("Tuyến xe buýt", "tuyen-xe-buyt.csv"), ("Điểm dừng", "diem-dung.json")],
    ),
    (
        "BNNMT",
        "Lượng mưa và mực nước các trạm thủy văn",
        "Số liệu quan trắc lượng mưa, mực nước tại các trạm khí tượng thủy văn quốc gia.",
        &["khí tượng", "thủy văn"],
        "envi",
        "DAILY",
        &[("Mực nước", "muc-nuoc.csv")],
    ),
    (
        "BTC",
        "Số doanh nghiệp đăng ký thành lập mới theo tháng",
        "Số doanh nghiệp thành lập mới, tạm ngừng và giải thể theo tỉnh và ngành kinh tế.",
        &["doanh nghiệp", "đăng ký kinh doanh"],
        "econ",
        "MONTHLY",
        &[("Doanh nghiệp mới", "doanh-nghiep-moi.csv")],
    ),
    (
        "BYT",
        "Danh mục thuốc được cấp số đăng ký lưu hành",
        "Thuốc được cấp, gia hạn số đăng ký lưu hành: tên thuốc, hoạt chất, dạng bào chế, cơ sở sản xuất.",
        &["thuốc", "dược phẩm"],
        "heal",
        "MONTHLY",
        &[("Danh mục thuốc", "danh-muc-thuoc.csv")],
    ),
    (
        "BGDDT",
        "Điểm thi tốt nghiệp trung học phổ thông theo tỉnh",
        "Phổ điểm và điểm trung bình các môn thi tốt nghiệp THPT theo tỉnh, không có dữ liệu cá nhân.",
        &["giáo dục", "thi cử"],
        "educ",
        "ANNUAL",
        &[("Phổ điểm", "pho-diem.csv")],
    ),
];

fn uuid(rng: &mut ChaCha8Rng) -> String {
    let v: u128 = rng.r#gen();
    // A version-4 UUID's fixed bits, so clients that check the form accept it.
    let v = (v & !(0xF << 76)) | (0x4 << 76);
    let v = (v & !(0x3 << 62)) | (0x2 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        v >> 96,
        (v >> 80) & 0xffff,
        (v >> 64) & 0xffff,
        (v >> 48) & 0xffff,
        v & 0xffff_ffff_ffff
    )
}

/// Publishes the demo datasets.
pub async fn seed(
    store: &Store,
    agencies: &[Agency],
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
) -> Result<usize, sen_store::StoreError> {
    let org = |code: &str| agencies.iter().find(|a| a.code == code);
    let mut n = 0;
    for (code, title, notes, tags, theme, frequency, files) in DATASETS {
        let Some(agency) = org(code) else { continue };
        let org_name = agency.code.to_lowercase().replace('.', "-");
        let name = sen_domain::opendata::name_from_title(title);
        let base = format!("https://dulieu.{}.gov.vn/{}/", if code.starts_with('H') { "hanoi" } else { "mic" }, name);
        let resources: Vec<Value> = files
            .iter()
            .map(|(rname, file)| json!({"name": rname, "url": format!("{base}{file}"), "description": format!("{rname} — {title}")}))
            .collect();
        let input = json!({
            "name": name, "title": title, "notes": notes, "owner_org": org_name, "license_id": "cc-by-4.0",
            "tags": tags, "groups": [theme], "frequency": frequency,
            "temporal_start": "2024-01-01", "spatial": if code.starts_with('H') { "Thành phố Hà Nội" } else { "Việt Nam" },
            "maintainer": agency.name, "maintainer_email": format!("dulieumo@{}.gov.vn", org_name),
            "resources": resources,
        });
        let checked = package::check(input.as_object().expect("object"), &|o| o == org_name)
            .map_err(|e| sen_store::StoreError::Invalid(format!("demo dataset {name}: {e:?}")))?;
        let created = now - Duration::days(rng.gen_range(60..720));
        let modified = now - Duration::days(rng.gen_range(0..120));
        let id = uuid(rng);
        let resources: Vec<StoredResource> = checked
            .resources
            .into_iter()
            .enumerate()
            .map(|(i, body)| StoredResource {
                id: uuid(rng),
                dataset_id: id.clone(),
                position: i as i64,
                body: Value::Object(body),
                created_at: created,
                modified_at: modified,
            })
            .collect();
        let d = StoredDataset {
            id,
            name: checked.name,
            agency_id: agency.id,
            state: "active".into(),
            body: Value::Object(checked.body),
            created_at: created,
            modified_at: modified,
        };
        store.save_dataset(&d, &resources).await?;
        n += 1;
    }
    Ok(n)
}
