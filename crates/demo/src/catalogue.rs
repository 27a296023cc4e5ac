//! The seed catalogue: real administrative procedures as published in the national catalogue,
//! each with components, deadline in working days, fees, agency and level, applicants, legal
//! basis, result, online service level and an e-form (JSON Schema, draft 2020-12).
//!
//! Deadlines and fees follow the published procedure records where known; fees set by
//! provincial councils vary and are marked as such.

use sen_domain::evidence::{EvidenceSource, Registry};
use sen_domain::procedure::{Applicants, Component, Level, ProcedureSpec, ServiceLevel};
use serde_json::{Map, Value, json};

/// One e-form field: (name, Vietnamese title, English title, spec). Spec: a leading `*` marks
/// it required, then `text`, `long`, `date`, `int`, `bool`, `cccd` (12 digits), `mst`
/// (10 digits) or `enum:A|B|C`.
type Field = (&'static str, &'static str, &'static str, &'static str);

struct P {
    code: &'static str,
    name: &'static str,
    en: &'static str,
    sector: &'static str,
    level: Level,
    kind: &'static str,
    days: u32,
    fees: &'static str,
    fee_vnd: i64,
    full: bool,
    who: Applicants,
    basis: &'static str,
    result: &'static str,
    comps: &'static [(&'static str, bool)],
    kw: &'static str,
    fields: &'static [Field],
}

const HT: &str = "Luật Hộ tịch 2014; Nghị định 123/2015/NĐ-CP; Thông tư 04/2020/TT-BTP";
const CT: &str = "Luật Cư trú 2020; Nghị định 154/2024/NĐ-CP; Thông tư 53/2021/TT-BCA";
const DN: &str = "Luật Doanh nghiệp 2020; Nghị định 168/2025/NĐ-CP về đăng ký doanh nghiệp";
const BHXH: &str = "Luật Bảo hiểm xã hội 2024; Nghị định 158/2025/NĐ-CP";
const DD: &str = "Luật Đất đai 2024; Nghị định 101/2024/NĐ-CP; Nghị định 151/2025/NĐ-CP";

const TK: (&str, bool) = ("Tờ khai theo mẫu (điền trực tuyến)", true);

const SEX: Field = ("sex", "Giới tính", "Sex", "*enum:Nam|Nữ");

fn catalogue() -> Vec<P> {
    use Applicants::*;
    use Level::*;
    vec![
        P {
            code: "1.001193",
            name: "Đăng ký khai sinh",
            en: "Birth registration",
            sector: "Hộ tịch",
            level: Commune,
            kind: "commune_pc",
            days: 0,
            fees: "Miễn lệ phí khi đăng ký đúng hạn",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: HT,
            result: "Giấy khai sinh (bản chính, bản điện tử)",
            comps: &[
                TK,
                ("Giấy chứng sinh hoặc văn bản của người làm chứng", true),
                ("Văn bản ủy quyền (nếu ủy quyền)", false),
            ],
            kw: "giấy khai sinh làm khai sinh sinh con em bé mới sinh trẻ sơ sinh birth certificate baby",
            fields: &[
                ("child_full_name", "Họ, chữ đệm, tên của trẻ", "Child's full name", "*text"),
                ("child_birth_date", "Ngày sinh của trẻ", "Child's date of birth", "*date"),
                ("child_sex", "Giới tính của trẻ", "Child's sex", "*enum:Nam|Nữ"),
                ("place_of_birth", "Nơi sinh", "Place of birth", "*text"),
                ("ethnicity", "Dân tộc", "Ethnicity", "*text"),
                ("mother_full_name", "Họ tên mẹ", "Mother's full name", "*text"),
                ("mother_id_number", "Số định danh cá nhân của mẹ", "Mother's personal number", "*cccd"),
                ("father_full_name", "Họ tên cha", "Father's full name", "text"),
                ("father_id_number", "Số định danh cá nhân của cha", "Father's personal number", "cccd"),
                (
                    "relationship",
                    "Quan hệ với trẻ",
                    "Relationship to the child",
                    "*enum:Cha|Mẹ|Ông, bà|Người thân thích khác",
                ),
            ],
        },
        P {
            code: "1.000894",
            name: "Đăng ký kết hôn",
            en: "Marriage registration",
            sector: "Hộ tịch",
            level: Commune,
            kind: "commune_pc",
            days: 5,
            fees: "Miễn lệ phí",
            fee_vnd: 0,
            full: false,
            who: Citizens,
            basis: HT,
            result: "Giấy chứng nhận kết hôn",
            comps: &[TK, ("Giấy xác nhận tình trạng hôn nhân (nếu đăng ký thường trú ở nơi khác)", false)],
            kw: "kết hôn cưới lấy vợ lấy chồng giấy đăng ký kết hôn marriage wedding",
            fields: &[
                ("spouse1_full_name", "Họ tên bên nam", "Groom's full name", "*text"),
                ("spouse1_id_number", "Số định danh bên nam", "Groom's personal number", "*cccd"),
                ("spouse2_full_name", "Họ tên bên nữ", "Bride's full name", "*text"),
                ("spouse2_id_number", "Số định danh bên nữ", "Bride's personal number", "*cccd"),
                ("appointment_wish", "Ngày mong muốn tổ chức trao giấy", "Preferred date for the ceremony", "date"),
            ],
        },
        P {
            code: "1.000656",
            name: "Đăng ký khai tử",
            en: "Death registration",
            sector: "Hộ tịch",
            level: Commune,
            kind: "commune_pc",
            days: 1,
            fees: "Miễn lệ phí khi đăng ký đúng hạn",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: HT,
            result: "Trích lục khai tử",
            comps: &[TK, ("Giấy báo tử hoặc giấy tờ thay giấy báo tử", true)],
            kw: "khai tử chứng tử giấy chứng tử người mất qua đời chết death certificate died",
            fields: &[
                ("deceased_full_name", "Họ tên người chết", "Deceased's full name", "*text"),
                ("deceased_id_number", "Số định danh của người chết", "Deceased's personal number", "*cccd"),
                ("date_of_death", "Ngày chết", "Date of death", "*date"),
                ("place_of_death", "Nơi chết", "Place of death", "*text"),
                ("cause", "Nguyên nhân chết", "Cause of death", "text"),
                ("relationship", "Quan hệ với người chết", "Relationship to the deceased", "*text"),
            ],
        },
        P {
            code: "2.000635",
            name: "Cấp bản sao trích lục hộ tịch",
            en: "Copy of a civil-status extract",
            sector: "Hộ tịch",
            level: Commune,
            kind: "commune_pc",
            days: 1,
            fees: "8.000 đồng/bản sao trích lục",
            fee_vnd: 8000,
            full: true,
            who: Citizens,
            basis: HT,
            result: "Bản sao trích lục hộ tịch",
            comps: &[TK],
            kw: "bản sao giấy khai sinh trích lục sao lục xin lại giấy khai sinh copy extract",
            fields: &[
                (
                    "event_kind",
                    "Loại sự kiện hộ tịch",
                    "Kind of civil-status event",
                    "*enum:Khai sinh|Kết hôn|Khai tử|Nhận cha, mẹ, con|Giám hộ",
                ),
                ("subject_full_name", "Họ tên người được cấp trích lục", "Name on the record", "*text"),
                ("registered_on", "Ngày đăng ký", "Date registered", "date"),
                ("copies", "Số bản sao", "Number of copies", "*int"),
            ],
        },
        P {
            code: "1.004873",
            name: "Xác nhận tình trạng hôn nhân",
            en: "Certificate of marital status",
            sector: "Hộ tịch",
            level: Commune,
            kind: "commune_pc",
            days: 3,
            fees: "Theo mức do Hội đồng nhân dân cấp tỉnh quy định (Hà Nội: 15.000 đồng)",
            fee_vnd: 15000,
            full: true,
            who: Citizens,
            basis: HT,
            result: "Giấy xác nhận tình trạng hôn nhân",
            comps: &[TK],
            kw: "xác nhận độc thân giấy độc thân tình trạng hôn nhân single status",
            fields: &[
                ("purpose", "Mục đích sử dụng", "Purpose", "*text"),
                (
                    "marital_status",
                    "Tình trạng hôn nhân hiện tại",
                    "Current marital status",
                    "*enum:Chưa kết hôn|Đã ly hôn|Vợ/chồng đã chết|Đang có vợ/chồng",
                ),
            ],
        },
        P {
            code: "1.001022",
            name: "Đăng ký nhận cha, mẹ, con",
            en: "Recognition of parentage",
            sector: "Hộ tịch",
            level: Commune,
            kind: "commune_pc",
            days: 3,
            fees: "Theo mức do Hội đồng nhân dân cấp tỉnh quy định",
            fee_vnd: 15000,
            full: false,
            who: Citizens,
            basis: HT,
            result: "Trích lục đăng ký nhận cha, mẹ, con",
            comps: &[TK, ("Văn bản của cơ quan y tế, giám định hoặc chứng cứ chứng minh quan hệ", true)],
            kw: "nhận con nhận cha nhận mẹ công nhận con parentage",
            fields: &[
                ("recognising_full_name", "Họ tên người nhận", "Recognising parent", "*text"),
                ("recognised_full_name", "Họ tên người được nhận", "Recognised person", "*text"),
                ("relation", "Quan hệ", "Relation", "*enum:Cha nhận con|Mẹ nhận con|Con nhận cha|Con nhận mẹ"),
            ],
        },
        P {
            code: "1.004859",
            name: "Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch",
            en: "Change or correction of civil-status information",
            sector: "Hộ tịch",
            level: Commune,
            kind: "commune_pc",
            days: 3,
            fees: "Theo mức do Hội đồng nhân dân cấp tỉnh quy định",
            fee_vnd: 15000,
            full: true,
            who: Citizens,
            basis: HT,
            result: "Trích lục thay đổi, cải chính, bổ sung thông tin hộ tịch",
            comps: &[TK, ("Giấy tờ làm căn cứ thay đổi, cải chính", true)],
            kw: "cải chính sửa tên đổi tên sai thông tin giấy khai sinh bổ sung",
            fields: &[
                (
                    "record_kind",
                    "Loại giấy tờ hộ tịch",
                    "Record",
                    "*enum:Giấy khai sinh|Giấy chứng nhận kết hôn|Trích lục khai tử",
                ),
                ("current_value", "Thông tin hiện ghi", "Information as recorded", "*text"),
                ("requested_value", "Thông tin đề nghị", "Requested information", "*text"),
                ("reason", "Lý do", "Reason", "*long"),
            ],
        },
        P {
            code: "2.000815",
            name: "Chứng thực bản sao từ bản chính",
            en: "Certified copy from the original",
            sector: "Chứng thực",
            level: Commune,
            kind: "commune_pc",
            days: 1,
            fees: "2.000 đồng/trang; từ trang thứ ba 1.000 đồng/trang, tối đa 200.000 đồng/bản",
            fee_vnd: 2000,
            full: false,
            who: Both,
            basis: "Nghị định 23/2015/NĐ-CP; Thông tư 226/2016/TT-BTC",
            result: "Bản sao có chứng thực",
            comps: &[("Bản chính giấy tờ", true), ("Bản sao cần chứng thực", true)],
            kw: "công chứng sao y chứng thực bản sao giấy tờ tùy thân photo công chứng certified copy notarise",
            fields: &[
                ("document_name", "Tên giấy tờ", "Document", "*text"),
                ("pages", "Số trang", "Pages", "*int"),
                ("copies", "Số bản", "Copies", "*int"),
            ],
        },
        P {
            code: "2.000488",
            name: "Cấp Phiếu lý lịch tư pháp",
            en: "Criminal record certificate",
            sector: "Lý lịch tư pháp",
            level: Province,
            kind: "province_justice",
            days: 10,
            fees: "200.000 đồng/lần/người (sinh viên, người có công: 100.000 đồng)",
            fee_vnd: 200000,
            full: true,
            who: Citizens,
            basis: "Luật Lý lịch tư pháp 2009; Thông tư 244/2016/TT-BTC",
            result: "Phiếu lý lịch tư pháp số 1 hoặc số 2",
            comps: &[TK, ("Văn bản ủy quyền (nếu ủy quyền)", false)],
            kw: "lý lịch tư pháp lý lịch án tích criminal record police check",
            fields: &[
                ("form_number", "Loại phiếu", "Certificate type", "*enum:Phiếu số 1|Phiếu số 2"),
                ("purpose", "Mục đích sử dụng", "Purpose", "*text"),
                ("copies", "Số lượng phiếu", "Copies", "*int"),
            ],
        },
        P {
            code: "1.004837",
            name: "Đăng ký giám hộ",
            en: "Guardianship registration",
            sector: "Hộ tịch",
            level: Commune,
            kind: "commune_pc",
            days: 3,
            fees: "Theo mức do Hội đồng nhân dân cấp tỉnh quy định",
            fee_vnd: 15000,
            full: true,
            who: Citizens,
            basis: HT,
            result: "Trích lục đăng ký giám hộ",
            comps: &[TK, ("Văn bản cử người giám hộ", true)],
            kw: "giám hộ người giám hộ trẻ mồ côi guardianship",
            fields: &[
                ("ward_full_name", "Họ tên người được giám hộ", "Person under guardianship", "*text"),
                ("guardian_full_name", "Họ tên người giám hộ", "Guardian", "*text"),
                ("basis", "Căn cứ giám hộ", "Grounds", "*long"),
            ],
        },
        P {
            code: "1.004194",
            name: "Đăng ký thường trú",
            en: "Permanent residence registration",
            sector: "Đăng ký, quản lý cư trú",
            level: Commune,
            kind: "commune_police",
            days: 7,
            fees: "20.000 đồng (nộp trực tuyến: 10.000 đồng)",
            fee_vnd: 10000,
            full: true,
            who: Citizens,
            basis: CT,
            result: "Thông tin thường trú được cập nhật trong Cơ sở dữ liệu về cư trú",
            comps: &[
                ("Tờ khai thay đổi thông tin cư trú (mẫu CT01)", true),
                ("Giấy tờ chứng minh chỗ ở hợp pháp", true),
            ],
            kw: "hộ khẩu nhập hộ khẩu chuyển hộ khẩu thường trú residence",
            fields: &[
                ("new_address", "Địa chỉ đăng ký thường trú", "New permanent address", "*text"),
                (
                    "housing_proof",
                    "Loại giấy tờ chứng minh chỗ ở",
                    "Proof of housing",
                    "*enum:Sổ đỏ/GCN quyền sở hữu|Hợp đồng thuê, mượn|Xác nhận của chủ hộ",
                ),
                ("head_of_household", "Họ tên chủ hộ", "Head of household", "text"),
                ("head_person_number", "Số định danh cá nhân của chủ hộ", "Head's personal number", "cccd"),
                ("relation_to_head", "Quan hệ với chủ hộ", "Relation to the head", "text"),
                ("birth_date", "Ngày sinh", "Date of birth", "date"),
                (
                    "registered_person_number",
                    "Số định danh của người được đăng ký (khi đăng ký cho con chưa thành niên)",
                    "Personal number of the person registered (for a minor child)",
                    "cccd",
                ),
                (
                    "registered_person_name",
                    "Họ tên người được đăng ký (khi đăng ký cho con chưa thành niên)",
                    "Name of the person registered (for a minor child)",
                    "text",
                ),
            ],
        },
        P {
            code: "1.004222",
            name: "Đăng ký tạm trú",
            en: "Temporary residence registration",
            sector: "Đăng ký, quản lý cư trú",
            level: Commune,
            kind: "commune_police",
            days: 3,
            fees: "15.000 đồng (nộp trực tuyến: 7.000 đồng)",
            fee_vnd: 7000,
            full: true,
            who: Citizens,
            basis: CT,
            result: "Thông tin tạm trú được cập nhật trong Cơ sở dữ liệu về cư trú",
            comps: &[
                ("Tờ khai thay đổi thông tin cư trú (mẫu CT01)", true),
                ("Giấy tờ chứng minh chỗ ở hợp pháp", true),
            ],
            kw: "tạm trú thuê trọ nhà trọ đăng ký tạm trú temporary residence renting",
            fields: &[
                ("address", "Địa chỉ tạm trú", "Temporary address", "*text"),
                ("from", "Từ ngày", "From", "*date"),
                ("until", "Đến ngày", "Until", "*date"),
            ],
        },
        P {
            code: "1.004206",
            name: "Xóa đăng ký thường trú",
            en: "Removal of permanent residence",
            sector: "Đăng ký, quản lý cư trú",
            level: Commune,
            kind: "commune_police",
            days: 1,
            fees: "Miễn lệ phí",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: CT,
            result: "Thông tin thường trú được xóa trong Cơ sở dữ liệu về cư trú",
            comps: &[("Tờ khai thay đổi thông tin cư trú (mẫu CT01)", true)],
            kw: "xóa hộ khẩu cắt khẩu xóa thường trú người mất",
            fields: &[
                ("subject_full_name", "Họ tên người bị xóa đăng ký", "Person removed", "*text"),
                ("subject_id_number", "Số định danh", "Personal number", "*cccd"),
                ("reason", "Lý do", "Reason", "*enum:Chết|Ra nước ngoài định cư|Đã đăng ký thường trú nơi khác|Khác"),
            ],
        },
        P {
            code: "1.004229",
            name: "Khai báo tạm vắng",
            en: "Notification of temporary absence",
            sector: "Đăng ký, quản lý cư trú",
            level: Commune,
            kind: "commune_police",
            days: 1,
            fees: "Miễn lệ phí",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: CT,
            result: "Phiếu khai báo tạm vắng",
            comps: &[TK],
            kw: "tạm vắng đi vắng khai báo tạm vắng",
            fields: &[
                ("destination", "Nơi đến", "Destination", "*text"),
                ("from", "Từ ngày", "From", "*date"),
                ("until", "Đến ngày", "Until", "*date"),
                ("reason", "Lý do", "Reason", "*text"),
            ],
        },
        P {
            code: "2.001386",
            name: "Cấp thẻ Căn cước",
            en: "Identity card issuance",
            sector: "Căn cước",
            level: Province,
            kind: "province_police",
            days: 7,
            fees: "Cấp lần đầu: miễn; cấp đổi: 50.000 đồng; cấp lại: 70.000 đồng",
            fee_vnd: 0,
            full: false,
            who: Citizens,
            basis: "Luật Căn cước 2023; Thông tư 73/2024/TT-BTC",
            result: "Thẻ Căn cước",
            comps: &[TK],
            kw: "CCCD căn cước công dân CMND chứng minh nhân dân làm căn cước identity card ID card",
            fields: &[
                ("request_kind", "Loại yêu cầu", "Request", "*enum:Cấp lần đầu|Cấp đổi|Cấp lại"),
                ("delivery", "Hình thức nhận thẻ", "Delivery", "*enum:Nhận tại nơi làm thủ tục|Chuyển phát về địa chỉ"),
            ],
        },
        P {
            code: "1.003578",
            name: "Cấp hộ chiếu phổ thông",
            en: "Ordinary passport issuance",
            sector: "Quản lý xuất nhập cảnh",
            level: Province,
            kind: "province_police",
            days: 8,
            fees: "200.000 đồng/hộ chiếu",
            fee_vnd: 200000,
            full: false,
            who: Citizens,
            basis: "Luật Xuất cảnh, nhập cảnh của công dân Việt Nam 2019",
            result: "Hộ chiếu phổ thông",
            comps: &[("Tờ khai đề nghị cấp hộ chiếu (mẫu TK01)", true), ("Ảnh chân dung 4x6", true)],
            kw: "hộ chiếu passport xuất cảnh đi nước ngoài",
            fields: &[
                ("passport_kind", "Loại hộ chiếu", "Kind", "*enum:Có gắn chíp điện tử|Không gắn chíp"),
                ("previous_passport", "Số hộ chiếu cũ (nếu có)", "Previous passport number", "text"),
                ("delivery", "Hình thức nhận", "Delivery", "*enum:Nhận tại nơi nộp|Chuyển phát về địa chỉ"),
            ],
        },
        P {
            code: "1.009449",
            name: "Đăng ký xe",
            en: "Vehicle registration",
            sector: "Đăng ký, quản lý phương tiện giao thông",
            level: Commune,
            kind: "commune_police",
            days: 2,
            fees: "Ô tô: 500.000 đồng; mô tô: 150.000–1.000.000 đồng tùy khu vực",
            fee_vnd: 150000,
            full: false,
            who: Both,
            basis: "Luật Trật tự, an toàn giao thông đường bộ 2024; Thông tư 79/2024/TT-BCA",
            result: "Chứng nhận đăng ký xe và biển số",
            comps: &[
                ("Giấy khai đăng ký xe", true),
                ("Chứng từ nguồn gốc xe", true),
                ("Chứng từ lệ phí trước bạ", true),
            ],
            kw: "đăng ký xe máy ô tô biển số cà vẹt vehicle registration number plate",
            fields: &[
                ("vehicle_kind", "Loại xe", "Vehicle", "*enum:Mô tô|Ô tô|Xe máy điện"),
                ("brand", "Nhãn hiệu", "Make", "*text"),
                ("engine_number", "Số máy", "Engine number", "*text"),
                ("chassis_number", "Số khung", "Chassis number", "*text"),
            ],
        },
        P {
            code: "1.011860",
            name: "Cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi",
            en: "Health-insurance card for a child under 6",
            sector: "Bảo hiểm y tế",
            level: Province,
            kind: "province_social_security",
            days: 3,
            fees: "Miễn phí",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: "Luật Bảo hiểm y tế 2008 (sửa đổi 2024); Nghị định 188/2025/NĐ-CP",
            result: "Thẻ bảo hiểm y tế (điện tử)",
            comps: &[TK],
            kw: "BHYT bảo hiểm y tế thẻ bảo hiểm cho con trẻ em health insurance child",
            fields: &[
                ("child_full_name", "Họ tên trẻ", "Child's name", "*text"),
                ("child_id_number", "Số định danh của trẻ", "Child's personal number", "*cccd"),
                ("child_birth_date", "Ngày sinh", "Date of birth", "*date"),
                ("initial_facility", "Nơi đăng ký khám chữa bệnh ban đầu", "Primary care facility", "*text"),
            ],
        },
        P {
            code: "1.011901",
            name: "Giải quyết hưởng trợ cấp mai táng",
            en: "Funeral allowance",
            sector: "Bảo hiểm xã hội",
            level: Province,
            kind: "province_social_security",
            days: 5,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: BHXH,
            result: "Quyết định hưởng trợ cấp mai táng",
            comps: &[TK, ("Trích lục khai tử", true)],
            kw: "mai táng phí tiền mai táng người mất chôn cất funeral allowance",
            fields: &[
                ("deceased_full_name", "Họ tên người chết", "Deceased", "*text"),
                ("social_insurance_number", "Mã số BHXH của người chết", "Social-insurance number", "*text"),
                ("date_of_death", "Ngày chết", "Date of death", "*date"),
                ("bank_account", "Số tài khoản nhận tiền", "Bank account", "*text"),
            ],
        },
        P {
            code: "1.011902",
            name: "Giải quyết hưởng chế độ tử tuất",
            en: "Survivor benefit",
            sector: "Bảo hiểm xã hội",
            level: Province,
            kind: "province_social_security",
            days: 12,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: BHXH,
            result: "Quyết định hưởng trợ cấp tuất",
            comps: &[TK, ("Trích lục khai tử", true)],
            kw: "tử tuất tiền tuất trợ cấp tuất thân nhân survivor pension",
            fields: &[
                ("deceased_full_name", "Họ tên người chết", "Deceased", "*text"),
                ("social_insurance_number", "Mã số BHXH của người chết", "Social-insurance number", "*text"),
                ("benefit_kind", "Loại trợ cấp", "Benefit", "*enum:Tuất một lần|Tuất hằng tháng"),
                ("bank_account", "Số tài khoản nhận tiền", "Bank account", "*text"),
            ],
        },
        P {
            code: "1.011893",
            name: "Giải quyết hưởng lương hưu",
            en: "Retirement pension",
            sector: "Bảo hiểm xã hội",
            level: Province,
            kind: "province_social_security",
            days: 10,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: BHXH,
            result: "Quyết định hưởng lương hưu",
            comps: &[TK, ("Quyết định nghỉ việc hoặc văn bản chấm dứt hợp đồng lao động", true)],
            kw: "lương hưu nghỉ hưu về hưu hưu trí pension retirement",
            fields: &[
                ("social_insurance_number", "Mã số BHXH", "Social-insurance number", "*text"),
                ("retirement_date", "Ngày nghỉ hưu", "Retirement date", "*date"),
                ("bank_account", "Số tài khoản nhận lương hưu", "Bank account", "*text"),
            ],
        },
        P {
            code: "1.011888",
            name: "Giải quyết hưởng chế độ thai sản",
            en: "Maternity benefit",
            sector: "Bảo hiểm xã hội",
            level: Province,
            kind: "province_social_security",
            days: 6,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: BHXH,
            result: "Quyết định hưởng chế độ thai sản",
            comps: &[TK, ("Giấy khai sinh hoặc trích lục khai sinh của con", true)],
            kw: "thai sản sinh con nghỉ đẻ tiền thai sản maternity",
            fields: &[
                ("social_insurance_number", "Mã số BHXH", "Social-insurance number", "*text"),
                ("child_birth_date", "Ngày sinh của con", "Child's date of birth", "*date"),
                ("leave_from", "Nghỉ từ ngày", "Leave from", "*date"),
                ("bank_account", "Số tài khoản", "Bank account", "*text"),
            ],
        },
        P {
            code: "1.001978",
            name: "Đăng ký hưởng trợ cấp thất nghiệp",
            en: "Unemployment benefit",
            sector: "Việc làm",
            level: Province,
            kind: "province_home_affairs",
            days: 20,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: "Luật Việc làm 2025; Nghị định 28/2015/NĐ-CP",
            result: "Quyết định hưởng trợ cấp thất nghiệp",
            comps: &[
                TK,
                ("Quyết định thôi việc hoặc hợp đồng lao động đã hết hạn", true),
                ("Sổ bảo hiểm xã hội", true),
            ],
            kw: "thất nghiệp mất việc trợ cấp thất nghiệp unemployment",
            fields: &[
                ("last_employer", "Đơn vị làm việc cuối cùng", "Last employer", "*text"),
                ("termination_date", "Ngày chấm dứt hợp đồng", "Termination date", "*date"),
                ("bank_account", "Số tài khoản", "Bank account", "*text"),
            ],
        },
        P {
            code: "1.001612",
            name: "Đăng ký thành lập doanh nghiệp tư nhân",
            en: "Registration of a sole proprietorship",
            sector: "Thành lập và hoạt động doanh nghiệp",
            level: Province,
            kind: "province_finance",
            days: 3,
            fees: "50.000 đồng (miễn khi nộp trực tuyến)",
            fee_vnd: 0,
            full: true,
            who: Both,
            basis: DN,
            result: "Giấy chứng nhận đăng ký doanh nghiệp",
            comps: &[("Giấy đề nghị đăng ký doanh nghiệp", true)],
            kw: "mở doanh nghiệp thành lập công ty doanh nghiệp tư nhân DNTN start a business",
            fields: &[
                ("enterprise_name", "Tên doanh nghiệp", "Enterprise name", "*text"),
                ("head_office", "Địa chỉ trụ sở chính", "Head office", "*text"),
                ("capital_vnd", "Vốn đầu tư (đồng)", "Capital (VND)", "*int"),
                ("main_activity", "Ngành, nghề kinh doanh chính", "Main activity", "*text"),
            ],
        },
        P {
            code: "2.001610",
            name: "Đăng ký thành lập công ty TNHH một thành viên",
            en: "Registration of a single-member limited liability company",
            sector: "Thành lập và hoạt động doanh nghiệp",
            level: Province,
            kind: "province_finance",
            days: 3,
            fees: "50.000 đồng (miễn khi nộp trực tuyến)",
            fee_vnd: 0,
            full: true,
            who: Both,
            basis: DN,
            result: "Giấy chứng nhận đăng ký doanh nghiệp",
            comps: &[("Giấy đề nghị đăng ký doanh nghiệp", true), ("Điều lệ công ty", true)],
            kw: "thành lập công ty TNHH mở công ty trách nhiệm hữu hạn limited company",
            fields: &[
                ("enterprise_name", "Tên công ty", "Company name", "*text"),
                ("head_office", "Địa chỉ trụ sở chính", "Head office", "*text"),
                ("charter_capital_vnd", "Vốn điều lệ (đồng)", "Charter capital (VND)", "*int"),
                ("legal_representative", "Người đại diện theo pháp luật", "Legal representative", "*text"),
                ("main_activity", "Ngành, nghề kinh doanh chính", "Main activity", "*text"),
            ],
        },
        P {
            code: "2.002030",
            name: "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
            en: "Change of enterprise registration details",
            sector: "Thành lập và hoạt động doanh nghiệp",
            level: Province,
            kind: "province_finance",
            days: 3,
            fees: "50.000 đồng (miễn khi nộp trực tuyến)",
            fee_vnd: 0,
            full: true,
            who: Businesses,
            basis: DN,
            result: "Giấy chứng nhận đăng ký doanh nghiệp (cập nhật)",
            comps: &[("Thông báo thay đổi nội dung đăng ký doanh nghiệp", true)],
            kw: "thay đổi đăng ký kinh doanh đổi tên công ty đổi địa chỉ công ty đổi người đại diện tăng vốn",
            fields: &[
                ("tax_code", "Mã số doanh nghiệp", "Enterprise code", "*mst"),
                (
                    "change_kind",
                    "Nội dung thay đổi",
                    "Change",
                    "*enum:Địa chỉ trụ sở|Người đại diện theo pháp luật|Vốn điều lệ|Ngành, nghề kinh doanh|Tên doanh nghiệp",
                ),
                ("new_value", "Nội dung sau thay đổi", "New value", "*long"),
            ],
        },
        P {
            code: "2.000575",
            name: "Đăng ký hộ kinh doanh",
            en: "Household business registration",
            sector: "Hộ kinh doanh",
            level: Commune,
            kind: "commune_pc",
            days: 3,
            fees: "Theo mức do Hội đồng nhân dân cấp tỉnh quy định (Hà Nội: 100.000 đồng)",
            fee_vnd: 100000,
            full: true,
            who: Citizens,
            basis: DN,
            result: "Giấy chứng nhận đăng ký hộ kinh doanh",
            comps: &[("Giấy đề nghị đăng ký hộ kinh doanh", true)],
            kw: "hộ kinh doanh cá thể mở cửa hàng buôn bán kinh doanh nhỏ household business shop",
            fields: &[
                ("business_name", "Tên hộ kinh doanh", "Business name", "*text"),
                ("address", "Địa điểm kinh doanh", "Address", "*text"),
                ("activity", "Ngành, nghề kinh doanh", "Activity", "*text"),
                ("capital_vnd", "Vốn kinh doanh (đồng)", "Capital (VND)", "*int"),
            ],
        },
        P {
            code: "1.007689",
            name: "Đăng ký thuế lần đầu",
            en: "First tax registration",
            sector: "Thuế",
            level: Province,
            kind: "province_tax",
            days: 3,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Both,
            basis: "Luật Quản lý thuế 2019; Thông tư 86/2024/TT-BTC",
            result: "Giấy chứng nhận đăng ký thuế / Thông báo mã số thuế",
            comps: &[("Tờ khai đăng ký thuế (mẫu 05-ĐK-TCT)", true)],
            kw: "mã số thuế MST đăng ký thuế thuế thu nhập cá nhân tax number tax code",
            fields: &[
                ("taxpayer_kind", "Loại người nộp thuế", "Taxpayer", "*enum:Cá nhân|Hộ kinh doanh|Tổ chức"),
                ("address", "Địa chỉ nhận thông báo thuế", "Address", "*text"),
            ],
        },
        P {
            code: "2.001575",
            name: "Tạm ngừng kinh doanh",
            en: "Temporary suspension of business",
            sector: "Thành lập và hoạt động doanh nghiệp",
            level: Province,
            kind: "province_finance",
            days: 3,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Businesses,
            basis: DN,
            result: "Giấy xác nhận về việc doanh nghiệp đăng ký tạm ngừng kinh doanh",
            comps: &[("Thông báo tạm ngừng kinh doanh", true)],
            kw: "tạm ngừng kinh doanh tạm dừng đóng cửa tạm thời suspend business",
            fields: &[
                ("tax_code", "Mã số doanh nghiệp", "Enterprise code", "*mst"),
                ("from", "Từ ngày", "From", "*date"),
                ("until", "Đến ngày", "Until", "*date"),
                ("reason", "Lý do", "Reason", "*text"),
            ],
        },
        P {
            code: "1.009994",
            name: "Cấp giấy phép xây dựng nhà ở riêng lẻ",
            en: "Building permit for a detached house",
            sector: "Hoạt động xây dựng",
            level: Commune,
            kind: "commune_pc",
            days: 15,
            fees: "75.000 đồng/giấy phép",
            fee_vnd: 75000,
            full: true,
            who: Citizens,
            basis: "Luật Xây dựng 2014 (sửa đổi 2020); Nghị định 175/2024/NĐ-CP",
            result: "Giấy phép xây dựng",
            comps: &[
                ("Đơn đề nghị cấp giấy phép xây dựng", true),
                ("Giấy tờ về quyền sử dụng đất", true),
                ("Bản vẽ thiết kế xây dựng", true),
            ],
            kw: "xin phép xây nhà giấy phép xây dựng xây nhà building permit",
            fields: &[
                ("plot_address", "Địa điểm xây dựng", "Site", "*text"),
                ("land_certificate_number", "Số giấy chứng nhận quyền sử dụng đất", "Land certificate number", "*text"),
                ("floors", "Số tầng", "Floors", "*int"),
                ("floor_area_m2", "Tổng diện tích sàn (m²)", "Floor area (m²)", "*int"),
            ],
        },
        P {
            code: "1.002804",
            name: "Cấp đổi giấy phép lái xe",
            en: "Driving licence renewal",
            sector: "Đường bộ",
            level: Province,
            kind: "province_police",
            days: 5,
            fees: "135.000 đồng (nộp trực tuyến: 115.000 đồng)",
            fee_vnd: 115000,
            full: true,
            who: Citizens,
            basis: "Luật Trật tự, an toàn giao thông đường bộ 2024; Thông tư 35/2024/TT-BCA",
            result: "Giấy phép lái xe",
            comps: &[("Đơn đề nghị đổi giấy phép lái xe", true), ("Giấy khám sức khỏe của người lái xe", true)],
            kw: "đổi bằng lái GPLX bằng lái xe giấy phép lái xe driving licence",
            fields: &[
                ("licence_number", "Số giấy phép lái xe", "Licence number", "*text"),
                ("licence_class", "Hạng", "Class", "*enum:A1|A|B|C1|C|D|E"),
                ("expires_on", "Ngày hết hạn", "Expiry date", "date"),
            ],
        },
        P {
            code: "1.012756",
            name: "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
            en: "First land-use right certificate",
            sector: "Đất đai",
            level: Commune,
            kind: "commune_pc",
            days: 20,
            fees: "Theo mức do Hội đồng nhân dân cấp tỉnh quy định",
            fee_vnd: 100000,
            full: false,
            who: Both,
            basis: DD,
            result: "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
            comps: &[
                ("Đơn đăng ký đất đai (mẫu 04/ĐK)", true),
                ("Giấy tờ về quyền sử dụng đất (nếu có)", false),
                ("Sơ đồ thửa đất", true),
            ],
            kw: "sổ đỏ sổ hồng làm sổ đỏ giấy chứng nhận quyền sử dụng đất land title",
            fields: &[
                ("parcel_address", "Địa chỉ thửa đất", "Parcel address", "*text"),
                ("map_sheet", "Tờ bản đồ số", "Map sheet", "*text"),
                ("parcel_number", "Thửa đất số", "Parcel number", "*text"),
                ("area_m2", "Diện tích (m²)", "Area (m²)", "*int"),
                ("land_use", "Mục đích sử dụng", "Land use", "*enum:Đất ở|Đất nông nghiệp|Đất thương mại, dịch vụ"),
            ],
        },
        P {
            code: "1.012757",
            name: "Đăng ký biến động đất đai",
            en: "Registration of land changes",
            sector: "Đất đai",
            level: Province,
            kind: "province_agri_env",
            days: 10,
            fees: "Theo mức do Hội đồng nhân dân cấp tỉnh quy định",
            fee_vnd: 50000,
            full: true,
            who: Both,
            basis: DD,
            result: "Giấy chứng nhận (xác nhận thay đổi) hoặc giấy chứng nhận mới",
            comps: &[
                ("Đơn đăng ký biến động (mẫu 11/ĐK)", true),
                ("Giấy chứng nhận đã cấp", true),
                ("Hợp đồng, văn bản về chuyển quyền", true),
            ],
            kw: "sang tên sổ đỏ mua bán đất chuyển nhượng tặng cho thừa kế biến động",
            fields: &[
                ("certificate_number", "Số giấy chứng nhận đã cấp", "Certificate number", "*text"),
                (
                    "change_kind",
                    "Loại biến động",
                    "Change",
                    "*enum:Chuyển nhượng|Tặng cho|Thừa kế|Thế chấp|Thay đổi thông tin",
                ),
                ("counterparty", "Bên nhận", "Counterparty", "text"),
            ],
        },
        P {
            code: "1.010727",
            name: "Cấp giấy phép môi trường",
            en: "Environmental permit",
            sector: "Môi trường",
            level: Province,
            kind: "province_agri_env",
            days: 30,
            fees: "Phí thẩm định theo mức do Hội đồng nhân dân cấp tỉnh quy định",
            fee_vnd: 0,
            full: true,
            who: Businesses,
            basis: "Luật Bảo vệ môi trường 2020; Nghị định 08/2022/NĐ-CP; Nghị định 05/2025/NĐ-CP",
            result: "Giấy phép môi trường",
            comps: &[
                ("Văn bản đề nghị cấp giấy phép môi trường", true),
                ("Báo cáo đề xuất cấp giấy phép môi trường", true),
            ],
            kw: "giấy phép môi trường xả thải environmental permit",
            fields: &[
                ("project_name", "Tên dự án, cơ sở", "Project", "*text"),
                ("location", "Địa điểm", "Location", "*text"),
                ("wastewater_m3_day", "Lưu lượng nước thải (m³/ngày)", "Wastewater (m³/day)", "int"),
            ],
        },
        P {
            code: "1.005142",
            name: "Đăng ký dự thi tốt nghiệp trung học phổ thông",
            en: "Registration for the upper-secondary graduation exam",
            sector: "Thi, tuyển sinh",
            level: Province,
            kind: "province_education",
            days: 5,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: "Thông tư 24/2024/TT-BGDĐT ban hành Quy chế thi tốt nghiệp THPT",
            result: "Xác nhận đăng ký dự thi",
            comps: &[TK],
            kw: "thi tốt nghiệp thi THPT thi đại học đăng ký dự thi graduation exam",
            fields: &[
                ("school", "Trường THPT", "School", "*text"),
                ("elective_group", "Bài thi tự chọn", "Elective", "*enum:Khoa học tự nhiên|Khoa học xã hội"),
                ("exam_site", "Điểm đăng ký dự thi", "Exam site", "*text"),
            ],
        },
        P {
            code: "3.000182",
            name: "Chuyển trường đối với học sinh trung học cơ sở",
            en: "Transfer of a lower-secondary pupil",
            sector: "Giáo dục trung học",
            level: Commune,
            kind: "commune_pc",
            days: 3,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: "Thông tư 50/2021/TT-BGDĐT",
            result: "Văn bản đồng ý tiếp nhận học sinh",
            comps: &[("Đơn xin chuyển trường", true), ("Học bạ", true)],
            kw: "chuyển trường cho con chuyển trường cấp 2 THCS school transfer",
            fields: &[
                ("pupil_full_name", "Họ tên học sinh", "Pupil", "*text"),
                ("grade", "Lớp", "Grade", "*enum:6|7|8|9"),
                ("from_school", "Trường đang học", "Current school", "*text"),
                ("to_school", "Trường chuyển đến", "New school", "*text"),
            ],
        },
        P {
            code: "2.001914",
            name: "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc",
            en: "Copy of a diploma from the master register",
            sector: "Văn bằng, chứng chỉ",
            level: Province,
            kind: "province_education",
            days: 1,
            fees: "Theo mức do cơ sở giáo dục quy định",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: "Thông tư 21/2019/TT-BGDĐT",
            result: "Bản sao văn bằng, chứng chỉ từ sổ gốc",
            comps: &[TK],
            kw: "bản sao bằng tốt nghiệp sao bằng mất bằng diploma copy",
            fields: &[
                (
                    "diploma_kind",
                    "Loại văn bằng",
                    "Diploma",
                    "*enum:Bằng tốt nghiệp THPT|Bằng tốt nghiệp THCS|Chứng chỉ",
                ),
                ("graduation_year", "Năm tốt nghiệp", "Year", "*int"),
                ("copies", "Số bản", "Copies", "*int"),
            ],
        },
        P {
            code: "1.012314",
            name: "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh",
            en: "Medical practice certificate",
            sector: "Khám bệnh, chữa bệnh",
            level: Province,
            kind: "province_health",
            days: 30,
            fees: "360.000 đồng/hồ sơ",
            fee_vnd: 360000,
            full: true,
            who: Citizens,
            basis: "Luật Khám bệnh, chữa bệnh 2023; Nghị định 96/2023/NĐ-CP",
            result: "Giấy phép hành nghề khám bệnh, chữa bệnh",
            comps: &[("Đơn đề nghị", true), ("Văn bằng chuyên môn", true), ("Giấy chứng nhận đủ sức khỏe", true)],
            kw: "chứng chỉ hành nghề y bác sĩ giấy phép hành nghề medical licence",
            fields: &[
                ("profession", "Chức danh chuyên môn", "Profession", "*enum:Bác sĩ|Y sĩ|Điều dưỡng|Hộ sinh|Kỹ thuật y"),
                ("scope", "Phạm vi hành nghề", "Scope", "*text"),
                ("degree", "Văn bằng", "Degree", "*text"),
            ],
        },
        P {
            code: "1.001252",
            name: "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
            en: "Food safety certificate for an establishment",
            sector: "An toàn thực phẩm",
            level: Province,
            kind: "province_health",
            days: 20,
            fees: "Phí thẩm định: 700.000 đồng (dịch vụ ăn uống đến 200 suất) đến 1.000.000 đồng/cơ sở",
            fee_vnd: 700000,
            full: true,
            who: Businesses,
            basis: "Luật An toàn thực phẩm 2010; Nghị định 15/2018/NĐ-CP",
            result: "Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
            comps: &[
                ("Đơn đề nghị", true),
                ("Bản thuyết minh cơ sở vật chất", true),
                ("Giấy xác nhận đủ sức khỏe của chủ cơ sở và người trực tiếp sản xuất", true),
            ],
            kw: "ATTP an toàn thực phẩm vệ sinh thực phẩm quán ăn nhà hàng food safety",
            fields: &[
                ("establishment", "Tên cơ sở", "Establishment", "*text"),
                ("address", "Địa chỉ", "Address", "*text"),
                ("kind", "Loại hình", "Kind", "*enum:Dịch vụ ăn uống|Sản xuất thực phẩm|Kinh doanh thực phẩm"),
                ("meals_per_day", "Số suất ăn/ngày", "Meals per day", "int"),
            ],
        },
        P {
            code: "2.000620",
            name: "Cấp giấy phép bán lẻ rượu",
            en: "Liquor retail licence",
            sector: "Lưu thông hàng hóa trong nước",
            level: Commune,
            kind: "commune_pc",
            days: 10,
            fees: "Phí thẩm định: 400.000 đồng (thành phố trực thuộc trung ương), 200.000 đồng (khu vực khác)",
            fee_vnd: 400000,
            full: true,
            who: Both,
            basis: "Nghị định 105/2017/NĐ-CP; Nghị định 17/2020/NĐ-CP",
            result: "Giấy phép bán lẻ rượu",
            comps: &[("Đơn đề nghị cấp giấy phép", true), ("Bản sao giấy chứng nhận đăng ký kinh doanh", true)],
            kw: "bán rượu giấy phép bán rượu kinh doanh rượu liquor licence alcohol",
            fields: &[
                ("shop_name", "Tên cửa hàng", "Shop", "*text"),
                ("address", "Địa điểm bán lẻ", "Address", "*text"),
                ("supplier", "Thương nhân cung cấp rượu", "Supplier", "*text"),
            ],
        },
        P {
            code: "1.001776",
            name: "Trợ cấp xã hội hàng tháng cho người cao tuổi",
            en: "Monthly social allowance for older persons",
            sector: "Bảo trợ xã hội",
            level: Commune,
            kind: "commune_pc",
            days: 15,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: "Luật Người cao tuổi 2009; Nghị định 20/2021/NĐ-CP; Nghị định 76/2024/NĐ-CP",
            result: "Quyết định trợ cấp xã hội hàng tháng",
            comps: &[("Tờ khai đề nghị trợ giúp xã hội (mẫu 1a)", true)],
            kw: "trợ cấp người già tiền người cao tuổi 80 tuổi trợ cấp xã hội elderly allowance",
            fields: &[
                ("beneficiary_full_name", "Họ tên người cao tuổi", "Beneficiary", "*text"),
                ("beneficiary_id_number", "Số định danh", "Personal number", "*cccd"),
                ("birth_date", "Ngày sinh", "Date of birth", "*date"),
                ("receiving_method", "Hình thức nhận", "Payment", "*enum:Tiền mặt tại xã|Tài khoản ngân hàng"),
            ],
        },
        P {
            code: "1.001813",
            name: "Đăng ký nghĩa vụ quân sự lần đầu",
            en: "First military-service registration",
            sector: "Nghĩa vụ quân sự",
            level: Commune,
            kind: "commune_pc",
            days: 1,
            fees: "Không",
            fee_vnd: 0,
            full: true,
            who: Citizens,
            basis: "Luật Nghĩa vụ quân sự 2015; Nghị định 13/2016/NĐ-CP",
            result: "Giấy chứng nhận đăng ký nghĩa vụ quân sự",
            comps: &[TK],
            kw: "nghĩa vụ quân sự đi bộ đội đủ 17 tuổi đăng ký quân sự military service",
            fields: &[
                ("education", "Trình độ học vấn", "Education", "*text"),
                ("occupation", "Nghề nghiệp", "Occupation", "text"),
                SEX,
            ],
        },
        P {
            code: "1.003003",
            name: "Hợp pháp hóa lãnh sự giấy tờ",
            en: "Consular legalisation of documents",
            sector: "Lãnh sự",
            level: Central,
            kind: "ministry_foreign_affairs",
            days: 1,
            fees: "30.000 đồng/bản",
            fee_vnd: 30000,
            full: true,
            who: Both,
            basis: "Nghị định 111/2011/NĐ-CP; Thông tư 264/2016/TT-BTC",
            result: "Giấy tờ được hợp pháp hóa lãnh sự",
            comps: &[("Tờ khai chứng nhận/hợp pháp hóa lãnh sự", true), ("Giấy tờ đề nghị hợp pháp hóa", true)],
            kw: "hợp pháp hóa lãnh sự chứng nhận lãnh sự giấy tờ nước ngoài legalisation apostille",
            fields: &[
                ("document_name", "Tên giấy tờ", "Document", "*text"),
                ("issuing_country", "Nước cấp", "Issuing country", "*text"),
                ("copies", "Số bản", "Copies", "*int"),
            ],
        },
    ]
}

fn field_schema(title: &str, title_en: &str, spec: &str) -> Value {
    let kind = spec.trim_start_matches('*');
    let mut s = Map::new();
    s.insert("title".into(), json!(title));
    s.insert("x-title-en".into(), json!(title_en));
    match kind {
        "date" => {
            s.insert("type".into(), json!("string"));
            s.insert("format".into(), json!("date"));
        }
        "int" => {
            s.insert("type".into(), json!("integer"));
            s.insert("minimum".into(), json!(0));
        }
        "bool" => {
            s.insert("type".into(), json!("boolean"));
        }
        "long" => {
            s.insert("type".into(), json!("string"));
            s.insert("minLength".into(), json!(1));
            s.insert("maxLength".into(), json!(2000));
        }
        "cccd" => {
            s.insert("type".into(), json!("string"));
            s.insert("pattern".into(), json!("^[0-9]{12}$"));
        }
        "mst" => {
            s.insert("type".into(), json!("string"));
            s.insert("pattern".into(), json!("^[0-9]{10}(-[0-9]{3})?$"));
        }
        k if k.starts_with("enum:") => {
            s.insert("type".into(), json!("string"));
            s.insert("enum".into(), json!(k[5..].split('|').collect::<Vec<_>>()));
        }
        _ => {
            s.insert("type".into(), json!("string"));
            s.insert("minLength".into(), json!(1));
            s.insert("maxLength".into(), json!(200));
        }
    }
    Value::Object(s)
}

/// The e-form (JSON Schema) of a procedure from its field list.
fn form_schema(p: &P) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, vi, en, spec) in p.fields {
        props.insert(name.to_string(), field_schema(vi, en, spec));
        if spec.starts_with('*') {
            required.push(*name);
        }
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": p.name,
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": false,
    })
}

/// The registries that hold (or fill) a component of a demo procedure, for once-only.
fn evidence(code: &str, component: &str) -> Vec<EvidenceSource> {
    let source = |registry, replaces_document, fills: &[(&str, &str)]| EvidenceSource {
        registry,
        replaces_document,
        fills: fills.iter().map(|(f, k)| (f.to_string(), k.to_string())).collect(),
        result_of: None,
    };
    let declaration = component.starts_with("Tờ khai");
    // A result issued to the applicant earlier, from their data wallet.
    let wallet = |result_of: &str, fills: &[(&str, &str)]| EvidenceSource {
        registry: Registry::Wallet,
        replaces_document: true,
        fills: fills.iter().map(|(f, k)| (f.to_string(), k.to_string())).collect(),
        result_of: Some(result_of.to_string()),
    };
    match code {
        // Maternity benefit: the child's birth certificate the parent was issued, and the
        // social insurance number.
        "1.011888" if declaration => {
            vec![source(Registry::Insurance, false, &[("social_insurance_number", "social_insurance_number")])]
        }
        "1.011888" => vec![wallet("1.001193", &[("child_birth_date", "child_birth_date")])],
        // Funeral allowance and survivor benefit: the death certificate issued to the declarant.
        "1.011901" | "1.011902" if !declaration => {
            vec![wallet("1.000656", &[("deceased_full_name", "deceased_full_name")])]
        }
        // Permanent residence: the household head from the residence registry, the date of
        // birth from the birth record, and the land certificate as proof of housing.
        "1.004194" if declaration => vec![
            source(
                Registry::Residence,
                false,
                &[
                    ("head_of_household", "household_head_name"),
                    ("head_person_number", "household_head_number"),
                    ("relation_to_head", "relation_to_head"),
                ],
            ),
            source(Registry::CivilStatus, false, &[("birth_date", "birth_date")]),
        ],
        "1.004194" if component.starts_with("Giấy tờ chứng minh chỗ ở") => vec![source(
            Registry::Land,
            true,
            &[("new_address", "parcel_address"), ("housing_proof", "housing_proof_kind")],
        )],
        "1.004222" if component.starts_with("Giấy tờ chứng minh chỗ ở") => {
            vec![source(Registry::Land, true, &[("address", "parcel_address")])]
        }
        // Marriage: the civil-status books show whether either side is already married.
        "1.000894" if component.starts_with("Giấy xác nhận tình trạng hôn nhân") => {
            vec![source(Registry::CivilStatus, true, &[])]
        }
        // Business procedures: the enterprise's registration, never asked again.
        "2.002030" => vec![source(Registry::Enterprises, false, &[("tax_code", "tax_code")])],
        "1.001252" if component == "Đơn đề nghị" => vec![source(
            Registry::Enterprises,
            false,
            &[("establishment", "enterprise_name"), ("address", "enterprise_address")],
        )],
        _ => vec![],
    }
}

/// Every seed procedure with its first e-form.
pub fn procedures() -> Vec<(ProcedureSpec, Value)> {
    catalogue()
        .into_iter()
        .map(|p| {
            let form = form_schema(&p);
            let spec = ProcedureSpec {
                code: p.code.to_string(),
                name: p.name.to_string(),
                name_en: p.en.to_string(),
                sector: p.sector.to_string(),
                level: p.level,
                agency_kind: p.kind.to_string(),
                deadline_working_days: p.days,
                fees: p.fees.to_string(),
                fee_vnd: p.fee_vnd,
                service_level: if p.full { ServiceLevel::FullProcess } else { ServiceLevel::Partial },
                applicants: p.who,
                conditions: String::new(),
                steps: "Nộp hồ sơ trực tuyến trên Cổng dịch vụ công; cán bộ một cửa tiếp nhận, kiểm tra và chuyển xử lý; trả kết quả điện tử hoặc qua bưu chính.".into(),
                legal_basis: p.basis.to_string(),
                result_document: p.result.to_string(),
                components: p
                    .comps
                    .iter()
                    .map(|(n, m)| Component {
                        name: n.to_string(),
                        quantity: "01 bản".into(),
                        mandatory: *m,
                        template: None,
                        evidence: evidence(p.code, n),
                    })
                    .collect(),
                keywords: p.kw.to_string(),
            };
            (spec, form)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sen_domain::eform::EForm;

    #[test]
    fn every_required_procedure_is_there_with_a_valid_form() {
        let all = procedures();
        assert!(all.len() >= 42);
        for (spec, form) in &all {
            spec.check().unwrap();
            let f = EForm::compile(form.clone()).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
            assert!(!f.fields().is_empty(), "{} has fields", spec.name);
        }
        let mut codes: Vec<_> = all.iter().map(|(s, _)| &s.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "codes are unique");
    }
}
