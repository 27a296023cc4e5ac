//! Vietnamese text for search: NFC normalisation, diacritic folding and tokenising.

use unicode_normalization::UnicodeNormalization;

/// Lower-cased NFC text, with the old and new tone placements made the same (`hoà` → `hòa`).
pub fn normalise(s: &str) -> String {
    let lower: String = s.nfc().collect::<String>().to_lowercase();
    // Tone placement: "oà/oá/oả/oã/oạ, uỳ…" (new style) vs "òa…, ùy…" (old style). Both
    // fold the same, so only the exact field cares; map the common new-style pairs.
    const PAIRS: [(&str, &str); 15] = [
        ("oà", "òa"),
        ("oá", "óa"),
        ("oả", "ỏa"),
        ("oã", "õa"),
        ("oạ", "ọa"),
        ("oè", "òe"),
        ("oé", "óe"),
        ("oẻ", "ỏe"),
        ("oẽ", "õe"),
        ("oẹ", "ọe"),
        ("uỳ", "ùy"),
        ("uý", "úy"),
        ("uỷ", "ủy"),
        ("uỹ", "ũy"),
        ("uỵ", "ụy"),
    ];
    let mut out = lower;
    for (new, old) in PAIRS {
        if out.contains(new) {
            out = out.replace(new, old);
        }
    }
    out
}

/// Removes diacritics: `Đăng ký` → `dang ky`. Lower-cases too.
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !('\u{0300}'..='\u{036f}').contains(c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            _ => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// Splits on anything that is not a letter or digit.
pub fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert_eq!(fold("Đăng ký khai sinh"), "dang ky khai sinh");
        assert_eq!(fold("Cấp thẻ Căn cước"), "cap the can cuoc");
        assert_eq!(fold("người"), "nguoi");
        // Decomposed input folds the same as composed input.
        assert_eq!(fold("ky\u{301}"), "ky");
    }

    #[test]
    fn tone_placement() {
        assert_eq!(normalise("Hoà"), normalise("Hòa"));
        assert_eq!(normalise("thuỷ"), normalise("thủy"));
    }
}
