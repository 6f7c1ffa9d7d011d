//! HTML answers with the headers a page needs to be safe to open: a Content-Security-Policy that
//! allows exactly the page's own inline `<script>` and `<style>` blocks (by their SHA-256, so an
//! injected script does not run even if escaping ever failed), `frame-ancestors 'none'` (no page
//! of another site can frame it), `X-Content-Type-Options: nosniff` and `Referrer-Policy:
//! no-referrer` (the page's address, an experiment's name or a code, does not leave with a click).
//!
//! Inline `style="…"` attributes and `on…=` handlers are not allowed by such a policy: pages use
//! classes and `addEventListener`. The browser test fails on any CSP violation.

use base64::Engine;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};

/// An HTML response carrying its Content-Security-Policy and the other security headers.
pub fn html(status: StatusCode, page: String) -> Response<Body> {
    let policy = content_security_policy(&page);
    with_policy(status, page, &policy)
}

/// [`html`] for a page that never changes: its policy is computed once per instance, not per
/// request.
pub fn fixed(
    status: StatusCode,
    page: &'static str,
    policy: &std::sync::OnceLock<String>,
) -> Response<Body> {
    let policy = policy.get_or_init(|| content_security_policy(page));
    with_policy(status, page.to_owned(), policy)
}

fn with_policy(status: StatusCode, page: String, policy: &str) -> Response<Body> {
    let mut response = crate::http::with_body(status, "text/html; charset=utf-8", Body::Text(page));
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The policy for `page`: nothing but its own inline blocks, same-origin requests, images from
/// itself (and `data:`), forms posted to itself, and no framing.
pub fn content_security_policy(page: &str) -> String {
    let sources = |tag: &str| {
        let hashes: Vec<String> = inline_blocks(page, tag)
            .map(|block| format!("'sha256-{}'", sha256_base64(block)))
            .collect();
        if hashes.is_empty() {
            "'none'".to_owned()
        } else {
            hashes.join(" ")
        }
    };
    format!(
        "default-src 'none'; script-src {}; style-src {}; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        sources("script"),
        sources("style"),
    )
}

fn sha256_base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// The contents of every `<tag>` or `<tag …attributes>` element of `page`, exactly as the browser
/// hashes them (everything between the start tag's `>` and `</tag>`).
fn inline_blocks<'p>(page: &'p str, tag: &str) -> impl Iterator<Item = &'p str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut rest = page;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find(&open)?;
            let after = &rest[start + open.len()..];
            // `<style>` or `<style media=…>`, not `<styles>`.
            if !after.starts_with(['>', ' ', '\t', '\n', '\r']) {
                rest = after;
                continue;
            }
            let body_start = after.find('>')? + 1;
            let body = &after[body_start..];
            let end = body.find(&close)?;
            rest = &body[end + close.len()..];
            return Some(&body[..end]);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inline_script_is_allowed_by_its_hash() {
        // The example of the CSP specification and MDN ("script-src", "Unsafe inline script").
        let page = "<html><script>alert('Hello, world.');</script></html>";
        let policy = content_security_policy(page);
        assert!(
            policy.contains("script-src 'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"),
            "{policy}"
        );
        assert!(policy.contains("style-src 'none'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }

    #[test]
    fn every_block_is_hashed_with_its_attributes_left_out() {
        let page = "<style>a{}</style><styles></styles><style media=\"print\">b{}</style>\
                    <script type=\"module\">x</script><script>y</script>";
        let styles: Vec<&str> = inline_blocks(page, "style").collect();
        assert_eq!(styles, ["a{}", "b{}"]);
        let scripts: Vec<&str> = inline_blocks(page, "script").collect();
        assert_eq!(scripts, ["x", "y"]);
        let policy = content_security_policy(page);
        assert_eq!(policy.matches("'sha256-").count(), 4, "{policy}");
    }

    #[test]
    fn a_page_gets_every_security_header() {
        let response = html(StatusCode::OK, "<p>hi</p>".to_owned());
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'none'; style-src 'none'")
        );
    }
}
