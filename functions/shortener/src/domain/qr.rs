//! QR codes of short URLs, as SVG (the `qrcode` crate's own renderer; no image crate).
//!
//! Error correction level M (15% of the code may be damaged) and a quiet zone of four modules, as
//! the QR specification asks; 8 px per module at the least, so it prints and scans without scaling.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Why a QR code could not be made (only for data beyond a QR code's capacity, ~2,300 bytes at M).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode a QR code: {0}")]
pub struct QrError(String);

/// An SVG document whose QR code reads `text`.
pub fn svg(text: &str) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))?;
    Ok(code
        .render::<svg::Color>()
        .module_dimensions(8, 8)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_url_becomes_an_svg_document() {
        let doc = svg("https://sho.rt/abc1234").unwrap();
        assert!(doc.starts_with("<?xml"), "{}", &doc[..60]);
        assert!(doc.contains("<svg"));
        assert!(doc.contains("<path"));
    }

    #[test]
    fn different_urls_give_different_codes() {
        assert_ne!(
            svg("https://sho.rt/abc1234").unwrap(),
            svg("https://sho.rt/abc1235").unwrap()
        );
    }

    #[test]
    fn data_beyond_capacity_is_an_error_not_a_panic() {
        assert!(svg(&"x".repeat(5_000)).is_err());
    }
}
