//! Correlation ids: one id per client request that travels with every hop it causes.
//!
//! A caller may send `x-correlation-id`; when it does not, one is generated. The id is put on the
//! request span (so every log line carries it) and echoed on the response.

use lambda_http::Request;

/// The header that carries the id between functions and back to the client.
pub const HEADER: &str = "x-correlation-id";

/// The longest id accepted from a caller; longer or odd ones are replaced, not trusted into logs.
const MAX_LEN: usize = 128;

/// The request's correlation id, or a new one when the caller sent none (or an unusable one).
pub fn from_request(request: &Request) -> String {
    request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn is_acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(id: Option<&str>) -> Request {
        let mut builder = lambda_http::http::Request::builder();
        if let Some(id) = id {
            builder = builder.header(HEADER, id);
        }
        builder.body(lambda_http::Body::Empty).unwrap()
    }

    #[test]
    fn caller_id_is_kept() {
        assert_eq!(from_request(&request_with(Some("abc-123"))), "abc-123");
    }

    #[test]
    fn missing_or_hostile_id_is_replaced_by_a_uuid() {
        for id in [None, Some("has space"), Some("x\tforged log line")] {
            let got = from_request(&request_with(id));
            assert_eq!(got.len(), 36, "{id:?} gave {got}");
            assert!(uuid::Uuid::parse_str(&got).is_ok());
        }
    }
}
