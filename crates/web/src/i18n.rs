//! Vietnamese first, English on request (`?lang=en`, remembered in a cookie).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    /// Picks the Vietnamese or English text.
    pub fn t<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// A human message for a field error code.
pub fn field_error_message(lang: Lang, code: &str) -> &'static str {
    match (lang, code) {
        (Lang::Vi, "required") => "Vui lòng nhập thông tin này.",
        (Lang::En, "required") => "This field is required.",
        (Lang::Vi, "maxLength") => "Nội dung quá dài.",
        (Lang::En, "maxLength") => "Too long.",
        (Lang::Vi, "minLength") => "Vui lòng nhập thông tin này.",
        (Lang::En, "minLength") => "This field is required.",
        (Lang::Vi, "format") => "Ngày không hợp lệ (định dạng năm-tháng-ngày).",
        (Lang::En, "format") => "Not a valid date (year-month-day).",
        (Lang::Vi, "pattern") => "Không đúng định dạng.",
        (Lang::En, "pattern") => "Wrong format.",
        (Lang::Vi, "enum") => "Vui lòng chọn một giá trị trong danh sách.",
        (Lang::En, "enum") => "Choose one of the options.",
        (Lang::Vi, "type") => "Giá trị không đúng kiểu (ví dụ: phải là số).",
        (Lang::En, "type") => "Wrong kind of value (for example, a number is expected).",
        (Lang::Vi, "minimum" | "maximum") => "Giá trị nằm ngoài khoảng cho phép.",
        (Lang::En, "minimum" | "maximum") => "Out of the allowed range.",
        (Lang::Vi, "too_large") => "Tệp quá lớn.",
        (Lang::En, "too_large") => "The file is too large.",
        (Lang::Vi, _) => "Giá trị không hợp lệ.",
        (Lang::En, _) => "Invalid value.",
    }
}
