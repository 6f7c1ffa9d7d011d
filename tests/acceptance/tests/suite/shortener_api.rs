//! The shortener's machine-facing routes, end to end: QR codes and bulk creation.

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

/// Short URLs and QR codes come from the deployment, never from what a client says its host is;
/// a QR answer is not kept by shared caches.
#[tokio::test]
async fn a_forwarded_host_poisons_no_short_url_and_no_qr_code() {
    let world = World::new().await;
    let forged = |call: Call| {
        call.header("x-forwarded-host", "evil.example")
            .header("x-forwarded-proto", "http")
    };
    let reply = world
        .checked(forged(Call::post("shortener", "/").json(
            &json!({ "url": format!("https://example.com/{}", unique("forged-host")) }),
        )))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    let (code, short_url) = (
        body["code"].as_str().unwrap().to_owned(),
        body["shortUrl"].as_str().unwrap().to_owned(),
    );
    assert!(!short_url.contains("evil.example"), "{short_url}");
    let qr = world
        .checked(forged(Call::get("shortener", &format!("/{code}/qr.svg"))))
        .await;
    assert_eq!(qr.status, 200, "{}", qr.text());
    assert_eq!(decode_svg(&qr.text()), short_url);
    let cache = qr.header("cache-control").unwrap_or_default();
    assert!(cache.starts_with("private"), "QR answers are {cache:?}");
}

#[tokio::test]
async fn a_bulk_create_answers_item_by_item_and_one_bad_url_does_not_fail_the_batch() {
    let world = World::new().await;
    let (a, b) = (
        format!("https://example.com/{}", unique("bulk-a")),
        format!("https://example.com/{}", unique("bulk-b")),
    );
    let alias = unique("bulk");
    let items = json!([
        { "url": a },
        { "url": "ftp://example.com/file" },
        { "url": b, "alias": alias },
        { "url": a },
        "not an object",
        { "url": format!("https://example.com/{}", unique("bulk-c")), "alias": alias },
    ]);
    let reply = world
        .checked(Call::post("shortener", "/links").json(&items))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let results = reply.json()["results"].as_array().expect("results").clone();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    // Items are stored concurrently: the two of URL a are one 201 and one 200 in either order,
    // the two of the alias one 201 and one 409.
    assert_eq!(statuses.len(), 6, "{results:?}");
    assert_eq!(statuses[1], 400, "{results:?}");
    assert_eq!(results[1]["error"], "unsupported_scheme");
    assert_eq!(statuses[4], 400);
    assert_eq!(results[4]["error"], "invalid_json");
    let mut pair = [statuses[0], statuses[3]];
    pair.sort();
    assert_eq!(pair, [200, 201], "{results:?}");
    assert_eq!(results[0]["code"], results[3]["code"]);
    let mut alias_pair = [statuses[2], statuses[5]];
    alias_pair.sort();
    assert_eq!(alias_pair, [201, 409], "{results:?}");
    let winner = if statuses[2] == 201 {
        &results[2]
    } else {
        &results[5]
    };
    let location = world
        .checked(Call::get("shortener", &format!("/{alias}")))
        .await;
    assert_eq!(location.status, 308);
    assert_eq!(location.header("location"), winner["url"].as_str());
    let redirect = world
        .checked(Call::get(
            "shortener",
            &format!("/{}", results[0]["code"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(redirect.header("location"), Some(a.as_str()));
}

#[tokio::test]
async fn a_bulk_create_refuses_an_empty_a_malformed_or_an_oversized_batch() {
    let world = World::new().await;
    let too_many: Vec<_> = (0..101)
        .map(|i| json!({ "url": format!("https://example.com/{i}") }))
        .collect();
    let cases = [
        ("empty", json!([]), "empty_batch"),
        (
            "object",
            json!({ "url": "https://example.com/" }),
            "invalid_json",
        ),
        ("101 items", json!(too_many), "too_many_links"),
    ];
    for (name, body, error) in cases {
        let reply = world
            .checked(Call::post("shortener", "/links").json(&body))
            .await;
        assert_eq!(reply.status, 400, "case {name}: {}", reply.text());
        assert_eq!(reply.error_code(), error, "case {name}");
    }
}
