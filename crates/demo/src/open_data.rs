//! The demo's open-data catalogue (issue #6): datasets that provincial departments and
//! ministries publish, with their resources, checked by the same rules as `package_create`.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sen_domain::opendata::plan::PlanItem;
use sen_domain::opendata::{package, table};
use sen_store::opendata::{ResourceFile, StoredDataset, StoredPlan, StoredResource};
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
        &[("AQI theo giờ", "aqi-theo-gio.csv"), ("Danh sách trạm", "tram-quan-trac.csv")],
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
        &[("Điểm Wi-Fi công cộng", "diem-wifi.csv")],
    ),
    (
        "H01.UB",
        "Tuyến xe buýt và điểm dừng",
        "Lộ trình, giờ hoạt động, tần suất các tuyến xe buýt và vị trí điểm dừng đỗ.",
        &["giao thông", "xe buýt"],
        "tran",
        "IRREG",
        &[("Tuyến xe buýt", "tuyen-xe-buyt.csv"), ("Điểm dừng", "diem-dung.csv")],
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

/// Planned datasets not yet published: (agency, title, name, days from now, frequency).
const PLANNED: &[(&str, &str, &str, i64, &str)] = &[
    ("H01.SXD", "Danh sách dự án nhà ở xã hội", "du-an-nha-o-xa-hoi", -45, "QUARTERLY"),
    ("H01.SYT", "Số ca bệnh truyền nhiễm theo tuần", "ca-benh-truyen-nhiem-theo-tuan", 60, "WEEKLY"),
    ("H01.SNNMT", "Điểm thu gom chất thải nguy hại", "diem-thu-gom-chat-thai-nguy-hai", 30, "ANNUAL"),
];

/// How a demo table's column is filled, row by row.
#[derive(Clone, Copy)]
enum Cell {
    /// A code: prefix and row number.
    Code(&'static str),
    /// A commune or ward of the province.
    Place,
    /// One of these.
    Pick(&'static [&'static str]),
    /// A whole number in the range.
    Int(i64, i64),
    /// A number with one decimal in the range.
    Num(f64, f64),
    /// A day, this many days before the previous row's (newest first).
    Day(i64),
    /// An hour, newest first, per group of `n` rows.
    Hour(usize),
    Lat,
    Lon,
}

/// A demo file's columns and rows.
fn table_spec(file: &str) -> Option<(&'static [(&'static str, Cell)], usize)> {
    use Cell::*;
    const STATIONS: &[&str] = &["KK01", "KK02", "KK03", "KK04", "KK05", "KK06", "KK07", "KK08"];
    Some(match file {
        "aqi-theo-gio.csv" => (
            &[
                ("ma_tram", Pick(STATIONS)),
                ("thoi_gian", Hour(8)),
                ("aqi", Int(18, 240)),
                ("pm25", Num(4.0, 160.0)),
                ("pm10", Num(9.0, 210.0)),
            ],
            480,
        ),
        "tram-quan-trac.csv" => (
            &[
                ("ma_tram", Code("KK")),
                ("dia_ban", Place),
                ("vi_do", Lat),
                ("kinh_do", Lon),
                ("loai_tram", Pick(&["Tự động", "Bán tự động"])),
            ],
            8,
        ),
        "ke-hoach-su-dung-dat.csv" => (
            &[
                ("xa_phuong", Place),
                ("dat_nong_nghiep_ha", Num(0.0, 2500.0)),
                ("dat_phi_nong_nghiep_ha", Num(50.0, 1800.0)),
                ("dat_chua_su_dung_ha", Num(0.0, 90.0)),
            ],
            60,
        ),
        "giay-phep-xay-dung.csv" => (
            &[
                ("so_giay_phep", Code("GPXD-")),
                ("xa_phuong", Place),
                (
                    "loai_cong_trinh",
                    Pick(&["Nhà ở riêng lẻ", "Công trình công cộng", "Nhà xưởng", "Công trình hạ tầng"]),
                ),
                ("so_tang", Int(1, 12)),
                ("ngay_cap", Day(1)),
            ],
            200,
        ),
        "co-so-kham-chua-benh.csv" => (
            &[
                ("ma_co_so", Code("CS")),
                ("loai_hinh", Pick(&["Bệnh viện", "Phòng khám đa khoa", "Trạm y tế", "Phòng khám chuyên khoa"])),
                ("xa_phuong", Place),
                ("chuyen_khoa", Pick(&["Đa khoa", "Nhi", "Sản", "Mắt", "Răng hàm mặt", "Y học cổ truyền"])),
                ("so_giuong", Int(0, 800)),
            ],
            80,
        ),
        "truong-hoc.csv" => (
            &[
                ("ma_truong", Code("TR")),
                ("cap_hoc", Pick(&["Mầm non", "Tiểu học", "Trung học cơ sở", "Trung học phổ thông"])),
                ("xa_phuong", Place),
                ("so_lop", Int(5, 60)),
                ("so_hoc_sinh", Int(150, 2500)),
            ],
            150,
        ),
        "du-toan-ngan-sach.csv" | "quyet-toan-ngan-sach.csv" => (
            &[
                (
                    "linh_vuc",
                    Pick(&[
                        "Giáo dục - đào tạo",
                        "Y tế",
                        "Khoa học công nghệ",
                        "Giao thông",
                        "Môi trường",
                        "Quản lý hành chính",
                        "Văn hóa - thể thao",
                        "Bảo đảm xã hội",
                    ]),
                ),
                ("nam", Pick(&["2024", "2025", "2026"])),
                ("so_tien_trieu_dong", Int(20_000, 9_000_000)),
            ],
            24,
        ),
        "gia-ban-le.csv" => (
            &[
                (
                    "mat_hang",
                    Pick(&[
                        "Xăng RON 95-III",
                        "Xăng E5 RON 92-II",
                        "Dầu diesel 0,05S",
                        "Gạo tẻ thường",
                        "Thịt lợn hơi",
                        "Trứng gà",
                    ]),
                ),
                ("ngay", Day(7)),
                ("gia_dong", Int(3_000, 130_000)),
            ],
            104,
        ),
        "can-bo-cong-chuc-xa.csv" => (
            &[
                ("xa_phuong", Place),
                ("so_can_bo", Int(8, 25)),
                ("so_cong_chuc", Int(10, 30)),
                ("so_nguoi_hoat_dong_khong_chuyen_trach", Int(0, 12)),
            ],
            80,
        ),
        "diem-wifi.csv" => (
            &[
                ("ma_diem", Code("WF")),
                ("xa_phuong", Place),
                ("vi_do", Lat),
                ("kinh_do", Lon),
                ("bang_thong_mbps", Int(50, 300)),
            ],
            120,
        ),
        "tuyen-xe-buyt.csv" => (
            &[
                ("so_hieu_tuyen", Code("")),
                ("gio_bat_dau", Pick(&["05:00", "05:30", "06:00"])),
                ("gio_ket_thuc", Pick(&["21:00", "22:00", "22:30"])),
                ("tan_suat_phut", Int(8, 30)),
                ("so_diem_dung", Int(15, 60)),
            ],
            40,
        ),
        "diem-dung.csv" => (
            &[
                ("ma_diem_dung", Code("DD")),
                ("dia_ban", Place),
                ("vi_do", Lat),
                ("kinh_do", Lon),
                ("co_nha_cho", Pick(&["true", "false"])),
            ],
            150,
        ),
        "muc-nuoc.csv" => (
            &[
                ("ma_tram", Pick(&["TV-HN", "TV-ST", "TV-TL"])),
                ("ngay", Day(1)),
                ("luong_mua_mm", Num(0.0, 120.0)),
                ("muc_nuoc_cm", Int(200, 1200)),
            ],
            365,
        ),
        "doanh-nghiep-moi.csv" => (
            &[
                ("ngay_tong_hop", Day(30)),
                (
                    "nganh",
                    Pick(&[
                        "Bán buôn, bán lẻ",
                        "Xây dựng",
                        "Công nghiệp chế biến",
                        "Thông tin và truyền thông",
                        "Vận tải kho bãi",
                        "Lưu trú và ăn uống",
                    ]),
                ),
                ("so_doanh_nghiep", Int(20, 600)),
                ("von_dang_ky_ty_dong", Num(10.0, 5000.0)),
            ],
            72,
        ),
        "danh-muc-thuoc.csv" => (
            &[
                ("so_dang_ky", Code("VD-")),
                ("hoat_chat", Pick(&["Paracetamol", "Amoxicillin", "Metformin", "Omeprazol", "Vitamin C", "Losartan"])),
                ("dang_bao_che", Pick(&["Viên nén", "Viên nang", "Siro", "Thuốc tiêm"])),
                ("ngay_cap", Day(3)),
            ],
            200,
        ),
        "pho-diem.csv" => (
            &[
                ("mon_thi", Pick(&["Toán", "Ngữ văn", "Tiếng Anh", "Vật lý", "Hóa học", "Lịch sử", "Địa lý"])),
                ("khoang_diem", Pick(&["0-2", "2-4", "4-6", "6-8", "8-10"])),
                ("so_thi_sinh", Int(100, 40_000)),
            ],
            35,
        ),
        _ => return None,
    })
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// A demo file's content: realistic rows for the province's places, newest first.
fn demo_table(file: &str, places: &[String], rng: &mut ChaCha8Rng, now: DateTime<Utc>) -> Option<String> {
    let (columns, rows) = table_spec(file)?;
    let mut out = columns.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",");
    out.push('\n');
    let today = now.date_naive();
    let hour =
        now.date_naive().and_hms_opt(now.format("%H").to_string().parse().unwrap_or(0), 0, 0).unwrap_or_default();
    for i in 0..rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, c)| match *c {
                Cell::Code(p) => format!("{p}{:03}", i + 1),
                Cell::Place => places.get(i % places.len().max(1)).cloned().unwrap_or_else(|| "Hoàn Kiếm".into()),
                Cell::Pick(list) => list[i % list.len()].to_string(),
                Cell::Int(lo, hi) => rng.gen_range(lo..=hi).to_string(),
                Cell::Num(lo, hi) => format!("{:.1}", rng.gen_range(lo..hi)),
                Cell::Day(step) => (today - Duration::days(step * i as i64)).format("%Y-%m-%d").to_string(),
                Cell::Hour(n) => (hour - Duration::hours((i / n) as i64)).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                Cell::Lat => format!("{:.5}", rng.gen_range(20.95..21.10)),
                Cell::Lon => format!("{:.5}", rng.gen_range(105.75..105.90)),
            })
            .map(|c| csv_cell(&c))
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    Some(out)
}

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
    // Hà Nội's communes and wards name the places in the province's tables.
    let places: Vec<String> = store.communes_of("01").await?.into_iter().map(|c| c.name).collect();
    let mut n = 0;
    let mut plans: std::collections::BTreeMap<i64, Vec<PlanItem>> = Default::default();
    for (code, title, notes, tags, theme, frequency, files) in DATASETS {
        let Some(agency) = org(code) else { continue };
        let org_name = agency.code.to_lowercase().replace('.', "-");
        let name = sen_domain::opendata::name_from_title(title);
        let resources: Vec<Value> = files
            .iter()
            .map(|(rname, _)| {
                let mut r = json!({"name": rname, "description": format!("{rname} — {title}"), "format": "CSV"});
                // Departments state reuse rights on their files; ministries leave it to the licence.
                if code.starts_with('H') {
                    r["rights"] =
                        json!("Được tự do sử dụng, kể cả cho mục đích thương mại, với điều kiện ghi rõ nguồn.");
                }
                r
            })
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
        let mut kept = Vec::new();
        let mut resources = Vec::new();
        for (i, (mut body, (_, file))) in checked.resources.into_iter().zip(files.iter()).enumerate() {
            let rid = uuid(rng);
            if let Some(content) = demo_table(file, &places, rng, modified) {
                let sha256 = sen_store::dossiers::sha256_hex(content.as_bytes());
                let meta = table::describe_upload(&mut body, &id, &rid, file, content.as_bytes(), &sha256)
                    .map_err(|e| sen_store::StoreError::Invalid(format!("demo table {file}: {e}")))?;
                kept.push(ResourceFile {
                    resource_id: rid.clone(),
                    dataset_id: id.clone(),
                    file_name: meta.file_name,
                    media_type: meta.media_type,
                    size: content.len() as i64,
                    sha256,
                    content: content.into_bytes(),
                    created_at: modified,
                });
            }
            resources.push(StoredResource {
                id: rid,
                dataset_id: id.clone(),
                position: i as i64,
                body: Value::Object(body),
                created_at: created,
                modified_at: modified,
            });
        }
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
        for f in &kept {
            store.save_resource_file(f).await?;
        }
        // The dataset was in its agency's plan, due around when it was published.
        let due = (created + Duration::days(rng.gen_range(-30..20))).date_naive();
        plans.entry(agency.id).or_default().push(PlanItem {
            title: title.to_string(),
            dataset_name: d.name.clone(),
            planned_date: due,
            access_method: if files.len() > 1 { "download_api".into() } else { "download".into() },
            frequency: frequency.to_string(),
            responsible_unit: format!("Văn phòng {}", agency.name),
        });
        n += 1;
    }
    // Datasets still to come: one past its date, one ahead.
    for (code, title, name, days, frequency) in PLANNED {
        let Some(agency) = org(code) else { continue };
        plans.entry(agency.id).or_default().push(PlanItem {
            title: title.to_string(),
            dataset_name: name.to_string(),
            planned_date: (now + Duration::days(*days)).date_naive(),
            access_method: "download_api".into(),
            frequency: frequency.to_string(),
            responsible_unit: format!("Phòng Kế hoạch, {}", agency.name),
        });
    }
    for (i, (agency_id, items)) in plans.into_iter().enumerate() {
        // Most lists were reviewed this half-year; every fourth one is overdue.
        let ago = if i % 4 == 3 { rng.gen_range(190..300) } else { rng.gen_range(5..150) };
        store
            .save_plan(&StoredPlan {
                agency_id,
                items: serde_json::to_string(&items).map_err(|e| sen_store::StoreError::Invalid(e.to_string()))?,
                reviewed_at: now - Duration::days(ago),
                reviewed_by: "Sen seed".into(),
            })
            .await?;
    }
    Ok(n)
}
