//! Once-only evidence (Decree 47/2020): what the state already holds about an applicant, and
//! how a procedure uses it.
//!
//! A procedure's component may name the base registries that hold it ([`EvidenceSource`]):
//! either the registry's record *stands in for* a document (a land-use certificate instead of
//! an uploaded proof of housing), or it *pre-fills* fields of the declaration (the household
//! head from the residence registry). The applicant asks for the fetch explicitly, previews
//! the [`Evidence`] this module reads out of each registry's answer, and confirms.
//!
//! Everything here is pure: which path of which registry service to ask for a subject, and
//! which facts an answer holds. The exchange call itself is the portal's business.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A base registry that can be asked for an applicant's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Registry {
    /// Population and residence (Ministry of Public Security).
    Residence,
    /// Civil status: births, marriages, deaths (Ministry of Justice).
    CivilStatus,
    /// Enterprises and household businesses (Ministry of Finance).
    Enterprises,
    /// Social and health insurance (Vietnam Social Security).
    Insurance,
    /// Land parcels and their certificates (Ministry of Agriculture and Environment).
    Land,
    /// The applicant's own data wallet: results issued to them by earlier dossiers, held by
    /// the portal itself (not asked through the exchange).
    Wallet,
}

/// Whose data is asked for: the applicant, by the identifier their account carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Person(String),
    Enterprise(String),
}

impl Subject {
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Person(_) => "person",
            Subject::Enterprise(_) => "enterprise",
        }
    }
    pub fn id(&self) -> &str {
        match self {
            Subject::Person(n) | Subject::Enterprise(n) => n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The registry holds nothing of this kind about the subject.
    #[error("the registry holds no such record of the applicant")]
    NotFound,
    /// This registry keeps no data about this kind of subject.
    #[error("this registry keeps no data about a {0}")]
    WrongSubject(&'static str),
    /// The answer is not what the registry's OpenAPI description promises.
    #[error("the registry's answer is malformed: {0}")]
    Malformed(&'static str),
}

impl Registry {
    pub const ALL: [Registry; 6] = [
        Registry::Residence,
        Registry::CivilStatus,
        Registry::Enterprises,
        Registry::Insurance,
        Registry::Land,
        Registry::Wallet,
    ];

    /// The service code in the exchange directory.
    pub fn service_code(self) -> &'static str {
        match self {
            Registry::Residence => "residence",
            Registry::CivilStatus => "civil-status",
            Registry::Enterprises => "enterprises",
            Registry::Insurance => "insurance",
            Registry::Land => "land",
            Registry::Wallet => "wallet",
        }
    }

    /// Whether it is asked through the data exchange (the wallet is the portal's own).
    pub fn through_exchange(self) -> bool {
        self != Registry::Wallet
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.service_code() == code)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Registry::Residence => "Cơ sở dữ liệu quốc gia về dân cư",
            Registry::CivilStatus => "Cơ sở dữ liệu hộ tịch điện tử",
            Registry::Enterprises => "Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp",
            Registry::Insurance => "Cơ sở dữ liệu quốc gia về bảo hiểm",
            Registry::Land => "Cơ sở dữ liệu quốc gia về đất đai",
            Registry::Wallet => "Kho dữ liệu của tôi (kết quả đã được cấp)",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Registry::Residence => "National population database",
            Registry::CivilStatus => "Electronic civil-status database",
            Registry::Enterprises => "National business registration database",
            Registry::Insurance => "National insurance database",
            Registry::Land => "National land database",
            Registry::Wallet => "My data wallet (results issued to me)",
        }
    }

    /// The path under the service that answers for `subject`.
    pub fn path(self, subject: &Subject) -> Result<String, EvidenceError> {
        match (self, subject) {
            (Registry::Residence | Registry::Insurance, Subject::Person(n)) => Ok(format!("/persons/{n}")),
            (Registry::CivilStatus, Subject::Person(n)) => Ok(format!("/persons/{n}/events")),
            (Registry::Enterprises, Subject::Enterprise(t)) => Ok(format!("/enterprises/{t}")),
            (Registry::Land, s) => Ok(format!("/holders/{}/{}/parcels", s.kind(), s.id())),
            (Registry::Wallet, s) => Err(EvidenceError::WrongSubject(s.kind())),
            (_, s) => Err(EvidenceError::WrongSubject(s.kind())),
        }
    }

    /// The facts of the registry's answer about `subject`, and the identifier of the record
    /// they come from.
    pub fn read(self, subject: &Subject, answer: &Value) -> Result<Evidence, EvidenceError> {
        let mut facts = Facts::default();
        let record_id = match self {
            Registry::Residence => {
                let number = str_at(answer, "/person_number").ok_or(EvidenceError::Malformed("person_number"))?;
                facts.put("full_name", "Họ, chữ đệm và tên", "Full name", str_at(answer, "/full_name"));
                facts.put("birth_date", "Ngày sinh", "Date of birth", str_at(answer, "/birth_date"));
                facts.put("sex", "Giới tính", "Sex", str_at(answer, "/sex"));
                facts.put(
                    "permanent_address",
                    "Nơi thường trú",
                    "Permanent address",
                    str_at(answer, "/permanent_residence/address"),
                );
                let household = answer.get("household").filter(|h| !h.is_null());
                if let Some(h) = household {
                    let head = str_at(h, "/head_person_number");
                    let head_name = h.get("members").and_then(Value::as_array).and_then(|ms| {
                        ms.iter()
                            .find(|m| m.get("person_number").and_then(Value::as_str) == head)
                            .and_then(|m| m.get("full_name").and_then(Value::as_str))
                    });
                    facts.put("household_head_name", "Họ tên chủ hộ", "Head of household", head_name);
                    facts.put("household_head_number", "Số định danh của chủ hộ", "Head's personal number", head);
                    facts.put("household_address", "Địa chỉ của hộ", "Household address", str_at(h, "/address"));
                }
                facts.put(
                    "relation_to_head",
                    "Quan hệ với chủ hộ",
                    "Relation to the head",
                    str_at(answer, "/relation_to_head"),
                );
                number.to_string()
            }
            Registry::CivilStatus => {
                let events =
                    answer.get("events").and_then(Value::as_array).ok_or(EvidenceError::Malformed("events"))?;
                let birth = events
                    .iter()
                    .find(|e| {
                        e.get("kind").and_then(Value::as_str) == Some("birth")
                            && e.get("subject_person_number").and_then(Value::as_str) == Some(subject.id())
                    })
                    .ok_or(EvidenceError::NotFound)?;
                facts.put(
                    "birth_date",
                    "Ngày sinh (theo giấy khai sinh)",
                    "Date of birth (birth record)",
                    str_at(birth, "/event_date"),
                );
                facts.put(
                    "birth_place",
                    "Nơi đăng ký khai sinh",
                    "Where the birth was registered",
                    str_at(birth, "/place"),
                );
                facts.put("father_name", "Họ tên cha", "Father", str_at(birth, "/details/father"));
                facts.put("mother_name", "Họ tên mẹ", "Mother", str_at(birth, "/details/mother"));
                let record = str_at(birth, "/record_id").ok_or(EvidenceError::Malformed("record_id"))?;
                facts.put("birth_record", "Số đăng ký khai sinh", "Birth record", Some(record));
                let married = events.iter().any(|e| e.get("kind").and_then(Value::as_str) == Some("marriage"));
                facts.put(
                    "marital_status",
                    "Tình trạng hôn nhân (theo sổ hộ tịch)",
                    "Marital status (civil-status books)",
                    Some(if married { "Đã đăng ký kết hôn" } else { "Chưa đăng ký kết hôn" }),
                );
                record.to_string()
            }
            Registry::Enterprises => {
                let e = answer.get("enterprise").ok_or(EvidenceError::Malformed("enterprise"))?;
                let tax = str_at(e, "/tax_code").ok_or(EvidenceError::Malformed("tax_code"))?;
                facts.put("enterprise_name", "Tên doanh nghiệp", "Enterprise name", str_at(e, "/name"));
                facts.put("tax_code", "Mã số doanh nghiệp", "Enterprise code", Some(tax));
                facts.put("enterprise_kind", "Loại hình", "Kind", str_at(e, "/kind"));
                facts.put("enterprise_address", "Địa chỉ trụ sở chính", "Head office", str_at(e, "/address"));
                facts.put("registered_on", "Ngày đăng ký lần đầu", "First registered on", str_at(e, "/registered_on"));
                tax.to_string()
            }
            Registry::Insurance => {
                let r = answer.get("insurance").ok_or(EvidenceError::Malformed("insurance"))?;
                let number =
                    str_at(r, "/social_insurance_number").ok_or(EvidenceError::Malformed("social_insurance_number"))?;
                facts.put("social_insurance_number", "Mã số bảo hiểm xã hội", "Social insurance number", Some(number));
                facts.put(
                    "health_card_number",
                    "Số thẻ bảo hiểm y tế",
                    "Health insurance card",
                    str_at(r, "/health_card_number"),
                );
                facts.put(
                    "health_card_valid_to",
                    "Thẻ BHYT có giá trị đến",
                    "Health card valid to",
                    str_at(r, "/health_card_valid_to"),
                );
                facts.put(
                    "initial_care_facility",
                    "Nơi đăng ký khám chữa bệnh ban đầu",
                    "Primary care facility",
                    str_at(r, "/initial_care_facility"),
                );
                facts.put(
                    "contribution_months",
                    "Số tháng đã đóng BHXH",
                    "Months of contributions",
                    r.get("contribution_months").and_then(Value::as_i64).map(|m| m.to_string()).as_deref(),
                );
                number.to_string()
            }
            Registry::Land => {
                let parcels =
                    answer.get("parcels").and_then(Value::as_array).ok_or(EvidenceError::Malformed("parcels"))?;
                // A residential parcel proves a home; other land is shown only when there is none.
                let residential = |p: &&Value| matches!(p.get("land_use").and_then(Value::as_str), Some("ODT" | "ONT"));
                let parcel = parcels.iter().find(residential).or(parcels.first()).ok_or(EvidenceError::NotFound)?;
                let serial =
                    str_at(parcel, "/certificate_serial").ok_or(EvidenceError::Malformed("certificate_serial"))?;
                facts.put("certificate_serial", "Số phát hành Giấy chứng nhận", "Certificate serial", Some(serial));
                facts.put(
                    "certificate_issued_on",
                    "Ngày cấp Giấy chứng nhận",
                    "Certificate issued on",
                    str_at(parcel, "/certificate_issued_on"),
                );
                facts.put("parcel_address", "Địa chỉ thửa đất", "Parcel address", str_at(parcel, "/address"));
                facts.put("land_use", "Mục đích sử dụng", "Land use", str_at(parcel, "/land_use"));
                facts.put(
                    "area_m2",
                    "Diện tích (m²)",
                    "Area (m²)",
                    parcel.get("area_m2").and_then(Value::as_f64).map(|a| format!("{a:.1}")).as_deref(),
                );
                facts.put("holder_name", "Người sử dụng đất", "Holder", str_at(parcel, "/holder_name"));
                facts.put(
                    "housing_proof_kind",
                    "Loại giấy tờ chứng minh chỗ ở",
                    "Kind of proof of housing",
                    Some("Sổ đỏ/GCN quyền sở hữu"),
                );
                serial.to_string()
            }
            Registry::Wallet => {
                // {"result": {verification_code, document, issued_on, dossier_code},
                //  "data": {field: value}, "titles": {field: title}}
                let r = answer.get("result").ok_or(EvidenceError::Malformed("result"))?;
                let code = str_at(r, "/verification_code").ok_or(EvidenceError::Malformed("verification_code"))?;
                facts.put("document", "Giấy tờ", "Document", str_at(r, "/document"));
                facts.put("verification_code", "Mã xác thực", "Verification code", Some(code));
                facts.put("issued_on", "Ngày cấp", "Issued on", str_at(r, "/issued_on"));
                facts.put("dossier_code", "Hồ sơ", "Dossier", str_at(r, "/dossier_code"));
                if let Some(data) = answer.get("data").and_then(Value::as_object) {
                    for (k, v) in data {
                        let Some(v) = v.as_str().filter(|v| !v.is_empty()) else { continue };
                        let title = answer.pointer(&format!("/titles/{k}")).and_then(Value::as_str).unwrap_or(k);
                        facts.0.push(Fact {
                            key: k.clone(),
                            label_vi: title.into(),
                            label_en: title.into(),
                            value: v.into(),
                        });
                    }
                }
                code.to_string()
            }
        };
        if facts.0.is_empty() {
            return Err(EvidenceError::NotFound);
        }
        Ok(Evidence { registry: self, record_id, facts: facts.0 })
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty())
}

#[derive(Default)]
struct Facts(Vec<Fact>);

impl Facts {
    fn put(&mut self, key: &'static str, label_vi: &'static str, label_en: &'static str, value: Option<&str>) {
        if let Some(v) = value {
            self.0.push(Fact {
                key: key.into(),
                label_vi: label_vi.into(),
                label_en: label_en.into(),
                value: v.into(),
            });
        }
    }
}

/// One fact the state holds, as the applicant previews it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Fact {
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
    pub value: String,
}

/// What one registry holds about the applicant, read out of its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    pub registry: Registry,
    /// The registry's identifier of the record (personal number, certificate serial, …).
    pub record_id: String,
    pub facts: Vec<Fact>,
}

impl Evidence {
    pub fn fact(&self, key: &str) -> Option<&str> {
        self.facts.iter().find(|f| f.key == key).map(|f| f.value.as_str())
    }
}

/// How a procedure's component uses a registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceSource {
    pub registry: Registry,
    /// The registry's record stands in for the document: nothing is uploaded.
    #[serde(default)]
    pub replaces_document: bool,
    /// E-form fields filled from facts: field name → fact key.
    #[serde(default)]
    pub fills: BTreeMap<String, String>,
    /// For the wallet: the procedure whose issued result this is (e.g. `1.001193`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_of: Option<String>,
}

impl EvidenceSource {
    /// The form values this evidence gives, field by field.
    pub fn values<'a>(&'a self, evidence: &'a Evidence) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.fills.iter().filter_map(|(field, fact)| evidence.fact(fact).map(|v| (field.as_str(), v)))
    }
}

/// Where a component of a submitted dossier came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// The applicant uploaded a document.
    Upload,
    /// The applicant filled in the e-form (the declaration).
    Form,
    /// Fetched from a registry instead of uploaded.
    Fetched,
    /// Fields of the declaration pre-filled from a registry (an extra row beside `Form`).
    Prefill,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Upload => "upload",
            Provenance::Form => "form",
            Provenance::Fetched => "fetched",
            Provenance::Prefill => "prefill",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Provenance::Upload, Provenance::Form, Provenance::Fetched, Provenance::Prefill]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person() -> Subject {
        Subject::Person("001085012345".into())
    }

    #[test]
    fn paths_follow_the_registries_openapi() {
        assert_eq!(Registry::Residence.path(&person()).unwrap(), "/persons/001085012345");
        assert_eq!(Registry::CivilStatus.path(&person()).unwrap(), "/persons/001085012345/events");
        assert_eq!(Registry::Land.path(&person()).unwrap(), "/holders/person/001085012345/parcels");
        let firm = Subject::Enterprise("0101234567".into());
        assert_eq!(Registry::Enterprises.path(&firm).unwrap(), "/enterprises/0101234567");
        assert_eq!(Registry::Residence.path(&firm), Err(EvidenceError::WrongSubject("enterprise")));
        assert_eq!(Registry::Enterprises.path(&person()), Err(EvidenceError::WrongSubject("person")));
        for r in Registry::ALL {
            assert_eq!(Registry::parse(r.service_code()), Some(r));
        }
    }

    #[test]
    fn residence_gives_the_household_head_by_name() {
        let answer = json!({
            "person_number": "001085012345", "full_name": "Trần Thị Mai", "birth_date": "1985-03-02",
            "permanent_residence": {"address": "12 Hàng Bạc, Hoàn Kiếm"},
            "relation_to_head": "Vợ",
            "household": {"head_person_number": "001080000001", "address": "12 Hàng Bạc",
                "members": [{"person_number": "001080000001", "full_name": "Nguyễn Văn An"}]}
        });
        let e = Registry::Residence.read(&person(), &answer).unwrap();
        assert_eq!(e.record_id, "001085012345");
        assert_eq!(e.fact("household_head_name"), Some("Nguyễn Văn An"));
        assert_eq!(e.fact("relation_to_head"), Some("Vợ"));
        let source = EvidenceSource {
            registry: Registry::Residence,
            replaces_document: false,
            fills: [("head_of_household".to_string(), "household_head_name".to_string())].into(),
            result_of: None,
        };
        assert_eq!(source.values(&e).collect::<Vec<_>>(), vec![("head_of_household", "Nguyễn Văn An")]);
        assert!(matches!(Registry::Residence.read(&person(), &json!({})), Err(EvidenceError::Malformed(_))));
    }

    #[test]
    fn civil_status_needs_the_subjects_own_birth() {
        let events = json!({"events": [
            {"kind": "birth", "subject_person_number": "001110000009", "record_id": "X/birth/2011/3", "event_date": "2011-01-01"},
        ]});
        assert_eq!(Registry::CivilStatus.read(&person(), &events), Err(EvidenceError::NotFound));
        let events = json!({"events": [
            {"kind": "marriage", "subject_person_number": "001085012345", "record_id": "X/marriage/2010/1"},
            {"kind": "birth", "subject_person_number": "001085012345", "record_id": "X/birth/1985/7",
             "event_date": "1985-03-02", "details": {"mother": "Lê Thị Hoa"}},
        ]});
        let e = Registry::CivilStatus.read(&person(), &events).unwrap();
        assert_eq!(e.record_id, "X/birth/1985/7");
        assert_eq!(e.fact("mother_name"), Some("Lê Thị Hoa"));
        assert_eq!(e.fact("marital_status"), Some("Đã đăng ký kết hôn"));
        assert_eq!(e.fact("father_name"), None);
    }

    #[test]
    fn land_prefers_a_residential_parcel() {
        let answer = json!({"parcels": [
            {"certificate_serial": "AA111111", "land_use": "LUC", "address": "Cánh đồng"},
            {"certificate_serial": "BB222222", "land_use": "ODT", "address": "5 Lê Lợi", "area_m2": 72.5},
        ]});
        let e = Registry::Land.read(&person(), &answer).unwrap();
        assert_eq!(e.record_id, "BB222222");
        assert_eq!(e.fact("parcel_address"), Some("5 Lê Lợi"));
        assert_eq!(e.fact("area_m2"), Some("72.5"));
        assert_eq!(Registry::Land.read(&person(), &json!({"parcels": []})), Err(EvidenceError::NotFound));
    }

    #[test]
    fn a_wallet_result_gives_its_verification_code_and_the_dossiers_fields() {
        let answer = json!({"result": {"verification_code": "AB12-CD34", "document": "Giấy khai sinh",
            "issued_on": "2026-11-23", "dossier_code": "X01.UB-261123-0001"},
            "data": {"child_birth_date": "2026-11-20", "child_full_name": "Nguyễn Minh An", "n": 3},
            "titles": {"child_birth_date": "Ngày sinh của trẻ"}});
        let e = Registry::Wallet.read(&person(), &answer).unwrap();
        assert_eq!(e.record_id, "AB12-CD34");
        assert_eq!(e.fact("child_birth_date"), Some("2026-11-20"));
        assert_eq!(e.facts.iter().find(|f| f.key == "child_birth_date").unwrap().label_vi, "Ngày sinh của trẻ");
        assert_eq!(e.fact("n"), None, "only text values");
        assert!(!Registry::Wallet.through_exchange());
        assert!(Registry::Wallet.path(&person()).is_err());
    }

    #[test]
    fn sources_round_trip_as_procedure_json() {
        let s: EvidenceSource = serde_json::from_value(json!({"registry": "civil-status"})).unwrap();
        assert_eq!(s.registry, Registry::CivilStatus);
        assert!(!s.replaces_document && s.fills.is_empty());
        for p in ["upload", "form", "fetched", "prefill"] {
            assert_eq!(Provenance::parse(p).unwrap().as_str(), p);
        }
    }
}
