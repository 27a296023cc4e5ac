//! The printable result of a dossier, as a one-page A4 PDF.
//!
//! Text is set in DejaVu Serif (regular and bold, vendored under `fonts/` with their
//! licence), embedded as subset CID fonts with a ToUnicode map, so Vietnamese prints
//! and copies correctly everywhere. A QR code carries the verification address; the
//! short verification code is printed beside it.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use unicode_normalization::UnicodeNormalization;

static SERIF: &[u8] = include_bytes!("../fonts/DejaVuSerif.ttf");
static SERIF_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSerif-Bold.ttf");

/// What the result sheet says.
#[derive(Debug, Clone)]
pub struct ResultSheet {
    /// The issuing agency, printed top left.
    pub agency: String,
    /// The result document's name, e.g. "Giấy khai sinh".
    pub title: String,
    pub dossier_code: String,
    pub procedure: String,
    pub applicant: String,
    /// "Chấp thuận" or "Từ chối" and its reasons, already worded.
    pub decision: String,
    /// Further labelled lines (from the dossier's form data).
    pub lines: Vec<(String, String)>,
    /// Place and date, e.g. "Hà Nội, ngày 27 tháng 11 năm 2026".
    pub place_and_date: String,
    pub verification_code: String,
    /// The address the QR code opens.
    pub verify_url: String,
}

const A4: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 56.0;

struct Font {
    face: ttf_parser::Face<'static>,
    data: &'static [u8],
    remapper: subsetter::GlyphRemapper,
    used: BTreeMap<u16, char>,
    name: &'static str,
    resource: &'static [u8],
}

impl Font {
    fn new(data: &'static [u8], name: &'static str, resource: &'static [u8]) -> Self {
        let face = ttf_parser::Face::parse(data, 0).expect("the vendored font parses");
        Font { face, data, remapper: subsetter::GlyphRemapper::new(), used: BTreeMap::new(), name, resource }
    }

    fn units(&self) -> f32 {
        self.face.units_per_em() as f32
    }

    fn advance(&self, c: char) -> f32 {
        let gid = self.face.glyph_index(c).unwrap_or_default();
        self.face.glyph_hor_advance(gid).unwrap_or(0) as f32 / self.units()
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// The 2-byte CIDs of `text` in the subset being built.
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let gid = self.face.glyph_index(c).unwrap_or_default();
            let cid = self.remapper.remap(gid.0);
            self.used.insert(cid, c);
            out.extend(cid.to_be_bytes());
        }
        out
    }
}

struct Page {
    content: Content,
    regular: Font,
    bold: Font,
}

impl Page {
    fn text(&mut self, bold: bool, size: f32, x: f32, y: f32, text: &str) {
        let font = if bold { &mut self.bold } else { &mut self.regular };
        let encoded = font.encode(text);
        self.content.begin_text();
        self.content.set_font(Name(font.resource), size);
        self.content.next_line(x, y);
        self.content.show(Str(&encoded));
        self.content.end_text();
    }

    fn centered(&mut self, bold: bool, size: f32, cx: f32, y: f32, text: &str) {
        let w = if bold { &self.bold } else { &self.regular }.width(text, size);
        self.text(bold, size, cx - w / 2.0, y, text);
    }

    /// Word-wraps `text` into lines no wider than `width`.
    fn wrap(&self, bold: bool, size: f32, width: f32, text: &str) -> Vec<String> {
        let font = if bold { &self.bold } else { &self.regular };
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if font.width(&candidate, size) > width && !line.is_empty() {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Writes wrapped text from `y` down; returns the next free baseline.
    fn paragraph(&mut self, bold: bool, size: f32, x: f32, mut y: f32, width: f32, text: &str) -> f32 {
        for line in self.wrap(bold, size, width, text) {
            self.text(bold, size, x, y, &line);
            y -= size * 1.45;
        }
        y
    }
}

/// Renders the result sheet.
pub fn render(sheet: &ResultSheet) -> Vec<u8> {
    let nfc = |s: &str| s.nfc().collect::<String>();
    let mut page = Page {
        content: Content::new(),
        regular: Font::new(SERIF, "DejaVuSerif", b"F1"),
        bold: Font::new(SERIF_BOLD, "DejaVuSerif-Bold", b"F2"),
    };
    let (w, h) = A4;
    // Two header columns that never meet: the agency (left) and the national motto (right).
    let left_col = (MARGIN + 95.0, 190.0);
    let right_col = (w - MARGIN - 125.0, 250.0);

    // Header: the agency on the left, the national motto on the right.
    let mut y = h - MARGIN - 10.0;
    let agency = nfc(&sheet.agency).to_uppercase();
    let mut ly = y;
    for line in page.wrap(true, 10.0, left_col.1, &agency) {
        page.centered(true, 10.0, left_col.0, ly, &line);
        ly -= 14.0;
    }
    page.centered(true, 10.0, right_col.0, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM");
    page.centered(true, 11.0, right_col.0, y - 16.0, "Độc lập - Tự do - Hạnh phúc");
    page.content.set_line_width(0.6);
    page.content.move_to(right_col.0 - 70.0, y - 22.0);
    page.content.line_to(right_col.0 + 70.0, y - 22.0);
    page.content.stroke();
    page.centered(false, 10.5, left_col.0, ly - 2.0, &format!("Số hồ sơ: {}", sheet.dossier_code));
    y = y.min(ly) - 50.0;
    let place = nfc(&sheet.place_and_date);
    let pw = page.regular.width(&place, 11.0);
    page.text(false, 11.0, w - MARGIN - pw, y, &place);

    // Title.
    y -= 45.0;
    for line in page.wrap(true, 17.0, w - 2.0 * MARGIN, &nfc(&sheet.title).to_uppercase()) {
        page.centered(true, 17.0, w / 2.0, y, &line);
        y -= 24.0;
    }
    y -= 18.0;

    // Body.
    let body_width = w - 2.0 * MARGIN;
    let mut rows = vec![
        ("Thủ tục".to_string(), sheet.procedure.clone()),
        ("Người nộp hồ sơ".to_string(), sheet.applicant.clone()),
        ("Mã hồ sơ".to_string(), sheet.dossier_code.clone()),
    ];
    rows.extend(sheet.lines.iter().cloned());
    rows.push(("Kết quả".to_string(), sheet.decision.clone()));
    for (label, value) in rows.iter().take(18) {
        let label = format!("{}:", nfc(label));
        page.text(true, 11.5, MARGIN, y, &label);
        let lw = page.bold.width(&label, 11.5) + 6.0;
        let lines = page.wrap(false, 11.5, body_width - lw, &nfc(value));
        for (i, line) in lines.iter().enumerate().take(4) {
            page.text(false, 11.5, MARGIN + lw, y - i as f32 * 16.5, line);
        }
        y -= 16.5 * lines.len().clamp(1, 4) as f32 + 5.0;
        if y < 260.0 {
            break;
        }
    }

    // Signature block.
    let sy = 230.0;
    page.centered(true, 11.5, right_col.0, sy, "THỦ TRƯỞNG CƠ QUAN");
    page.centered(false, 10.0, right_col.0, sy - 16.0, "(Đã ký số bằng con dấu điện tử của cơ quan)");
    let _ = page.paragraph(false, 10.0, right_col.0 - 110.0, sy - 40.0, 220.0, &nfc(&sheet.agency));

    // QR code and verification code.
    let qr = qrcode::QrCode::with_error_correction_level(sheet.verify_url.as_bytes(), qrcode::EcLevel::M)
        .or_else(|_| qrcode::QrCode::new(b"sen"))
        .expect("a QR code fits");
    let modules = qr.width();
    let size = 100.0;
    let cell = size / modules as f32;
    let (qx, qy) = (MARGIN, 80.0);
    for (i, color) in qr.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (cx, cy) = ((i % modules) as f32, (i / modules) as f32);
            page.content.rect(qx + cx * cell, qy + size - (cy + 1.0) * cell, cell + 0.05, cell + 0.05);
        }
    }
    page.content.fill_nonzero();
    page.text(false, 9.5, qx + size + 12.0, qy + 70.0, "Mã xác thực:");
    page.text(true, 14.0, qx + size + 12.0, qy + 52.0, &sheet.verification_code);
    page.text(false, 9.0, qx + size + 12.0, qy + 34.0, "Kiểm tra tính xác thực tại:");
    let _ = page.paragraph(false, 8.5, qx + size + 12.0, qy + 20.0, 200.0, &sheet.verify_url);

    finish(page, (w, h))
}

fn finish(page: Page, (w, h): (f32, f32)) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let (catalog, pages, page_id, content_id) = (alloc(), alloc(), alloc(), alloc());
    let fonts: Vec<(Font, Ref)> = vec![(page.regular, alloc()), (page.bold, alloc())];
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page_id]).count(1);
    let mut p = pdf.page(page_id);
    p.media_box(Rect::new(0.0, 0.0, w, h)).parent(pages).contents(content_id);
    {
        let mut resources = p.resources();
        let mut f = resources.fonts();
        for (font, id) in &fonts {
            f.pair(Name(font.resource), *id);
        }
    }
    p.finish();
    pdf.stream(content_id, &page.content.finish());

    for (font, type0) in fonts {
        let (cid, descriptor, file, cmap) = (alloc(), alloc(), alloc(), alloc());
        let base = format!("SENSUB+{}", font.name);
        let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
        pdf.type0_font(type0)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);
        let units = font.units();
        let mut widths = vec![0.0f32; font.remapper.num_gids() as usize];
        for old in 0..font.face.number_of_glyphs() {
            if let Some(new) = font.remapper.get(old) {
                let adv = font.face.glyph_hor_advance(ttf_parser::GlyphId(old)).unwrap_or(0) as f32;
                widths[new as usize] = adv / units * 1000.0;
            }
        }
        let mut c = pdf.cid_font(cid);
        c.subtype(CidFontType::Type2)
            .base_font(Name(base.as_bytes()))
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        c.widths().consecutive(0, widths);
        c.finish();
        let bbox = font.face.global_bounding_box();
        let scale = |v: i16| v as f32 / units * 1000.0;
        pdf.font_descriptor(descriptor)
            .name(Name(base.as_bytes()))
            .flags(FontFlags::SERIF | FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(scale(bbox.x_min), scale(bbox.y_min), scale(bbox.x_max), scale(bbox.y_max)))
            .italic_angle(0.0)
            .ascent(scale(font.face.ascender()))
            .descent(scale(font.face.descender()))
            .cap_height(scale(font.face.capital_height().unwrap_or(font.face.ascender())))
            .stem_v(80.0)
            .font_file2(file);
        let subset = subsetter::subset(font.data, 0, &font.remapper).expect("the vendored font subsets");
        pdf.stream(file, &subset).pair(Name(b"Length1"), subset.len() as i32);
        let mut unicode = UnicodeCmap::new(Name(b"Sen-UCS"), system);
        for (cid, ch) in &font.used {
            unicode.pair(*cid, *ch);
        }
        pdf.cmap(cmap, &unicode.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> ResultSheet {
        ResultSheet {
            agency: "Ủy ban nhân dân phường Hoàn Kiếm".into(),
            title: "Giấy khai sinh".into(),
            dossier_code: "HK-261127-7Q2M9XKD".into(),
            procedure: "Đăng ký khai sinh".into(),
            applicant: "Nguyễn Thị Hằng".into(),
            decision: "Chấp thuận".into(),
            lines: vec![("Họ, chữ đệm và tên người được khai sinh".into(), "Trần Minh Đức".into())],
            place_and_date: "Hà Nội, ngày 27 tháng 11 năm 2026".into(),
            verification_code: "7Q2M-9XKD-4HTA".into(),
            verify_url: "http://127.0.0.1:8080/verify/7Q2M-9XKD-4HTA".into(),
        }
    }

    #[test]
    fn renders_a_small_self_contained_pdf() {
        let bytes = render(&sheet());
        assert!(bytes.starts_with(b"%PDF-"));
        // To look at it: SEN_PDF_SAMPLE=/tmp/result.pdf cargo test -p sen-pdf
        if let Ok(path) = std::env::var("SEN_PDF_SAMPLE") {
            std::fs::write(path, &bytes).unwrap();
        }
        assert!(bytes.len() < 120_000, "subset fonts keep the file small: {} bytes", bytes.len());
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("FontFile2") && text.contains("ToUnicode") && text.contains("Identity-H"));
        // Deterministic: the same sheet gives the same bytes (and the same signature input).
        assert_eq!(render(&sheet()), bytes);
    }
}
