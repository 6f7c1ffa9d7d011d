//! The invocation payload: the functions are `lambda_http` functions behind an HTTP API (and a
//! function URL), so a direct `Invoke` must send what API Gateway would: an HTTP API v2 event with
//! the request body inside it.

use serde_json::{Value, json};

/// An HTTP API v2 (payload format 2.0) event for `POST <path>` with a JSON `body`.
pub fn http_api_event(path: &str, body: &str, request_id: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "content-length": body.len().to_string(),
            "host": "tune.invalid",
            "user-agent": "tune",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "tune",
            "domainName": "tune.invalid",
            "domainPrefix": "tune",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "tune"
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2026:00:00:00 +0000",
            "timeEpoch": 1_795_305_600_000_u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// The HTTP status inside a function's answer (`{"statusCode": 200, ...}`), if it has one.
pub fn response_status(answer: &[u8]) -> Option<u16> {
    let value: Value = serde_json::from_slice(answer).ok()?;
    value["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
}

/// The payload as it may appear in a report: secrets a PBKDF2 request carries are replaced.
pub fn redacted(payload: &str) -> String {
    match serde_json::from_str::<Value>(payload) {
        Ok(Value::Object(mut map)) => {
            for key in ["password", "salt", "saltHex"] {
                if let Some(value) = map.get_mut(key) {
                    *value = Value::String("<redacted>".into());
                }
            }
            Value::Object(map).to_string()
        }
        _ => "<not a JSON object; not shown>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DEFAULT_PAYLOAD;
    use lambda_http::http::StatusCode;

    #[tokio::test]
    async fn the_default_event_is_served_200_by_the_pbkdf2_control_handler() {
        // The real handler, in process: the event shape and the default body are what it accepts.
        let body = DEFAULT_PAYLOAD.replace("100000", "1000");
        let event = http_api_event("/pbkdf2", &body, "req-1").to_string();
        let request = lambda_http::request::from_str(&event).expect("an HTTP API v2 event");
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri().path(), "/pbkdf2");
        let config = pbkdf2_fn::Config {
            max_iterations: 1_000_000,
        };
        let response = pbkdf2_fn::pbkdf2_control(&config, request).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn response_status_reads_status_code_or_nothing() {
        assert_eq!(
            response_status(br#"{"statusCode":200,"body":"{}"}"#),
            Some(200)
        );
        assert_eq!(response_status(br#"{"statusCode":400}"#), Some(400));
        assert_eq!(response_status(br#"{"errorMessage":"boom"}"#), None);
        assert_eq!(response_status(b"not json"), None);
    }

    #[test]
    fn reports_never_show_the_password_or_salt() {
        let shown = redacted(DEFAULT_PAYLOAD);
        assert!(!shown.contains("correct horse"), "{shown}");
        assert!(!shown.contains("NaCl"), "{shown}");
        assert!(shown.contains("100000"), "{shown}");
        assert_eq!(redacted("[1,2]"), "<not a JSON object; not shown>");
    }
}
