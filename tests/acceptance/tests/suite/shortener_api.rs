//! The shortener's machine-facing routes, end to end: QR codes.

use crate::shortener_contract::Checked;
use acceptance::{Call, World, unique};
use serde_json::json;

/// The dark modules of a `qrcode` SVG (`M{x} {y}h{w}v{h}H{x}V{y}` rectangles) as a greyscale
/// bitmap, decoded with `rqrr`: the text the QR code holds.
fn decode_svg(svg: &str) -> String {
    let number = |attr: &str| -> usize {
        let start = svg.find(&format!(" {attr}=\"")).expect(attr) + attr.len() + 3;
        let end = start + svg[start..].find('"').expect("closing quote");
        svg[start..end].parse().expect("a number")
    };
    let (width, height) = (number("width"), number("height"));
    let d_start = svg.find(" d=\"").expect("a path") + 4;
    let d = &svg[d_start..d_start + svg[d_start..].find('"').expect("end of path")];
    let mut dark = vec![false; width * height];
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        // "x y h w v h H x V y"
        let fields: Vec<usize> = rect
            .split(|c: char| c == ' ' || c.is_ascii_alphabetic())
            .filter(|f| !f.is_empty())
            .map(|f| f.parse().expect("a coordinate"))
            .collect();
        let [x, y, w, h, ..] = fields[..] else {
            panic!("unexpected path segment {rect:?}");
        };
        for row in y..y + h {
            for col in x..x + w {
                dark[row * width + col] = true;
            }
        }
    }
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark[y * width + x] { 0 } else { 255 }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("a decodable QR code").1
}

#[tokio::test]
async fn the_qr_code_decodes_to_the_exact_short_url() {
    let world = World::new().await;
    let reply = world
        .checked(
            Call::post("shortener", "/")
                .json(&json!({ "url": format!("https://example.com/{}", unique("qr")) })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let (code, short_url) = {
        let body = reply.json();
        (
            body["code"].as_str().unwrap().to_owned(),
            body["shortUrl"].as_str().unwrap().to_owned(),
        )
    };
    let qr = world
        .checked(Call::get("shortener", &format!("/{code}/qr.svg")))
        .await;
    assert_eq!(qr.status, 200, "{}", qr.text());
    assert_eq!(qr.header("content-type"), Some("image/svg+xml"));
    assert_eq!(decode_svg(&qr.text()), short_url);

    let missing = world
        .checked(Call::get("shortener", "/zzzzzzz/qr.svg"))
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "not_found");
    let down = world
        .checked(Call::new("shortener", "DELETE", &format!("/{code}")))
        .await;
    assert_eq!(down.status, 200, "{}", down.text());
    let gone = world
        .checked(Call::get("shortener", &format!("/{code}/qr.svg")))
        .await;
    assert_eq!(gone.status, 410);
    assert_eq!(gone.error_code(), "taken_down");
}
