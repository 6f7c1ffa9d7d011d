//! The payloads the proxy and the comparator exchange with functions through the Invoke API:
//! API Gateway HTTP API (v2) events going in, the HTTP response payload coming out.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};

use crate::domain::compare::Observed;

/// The headers a comparison passes on: what an answer may depend on, and nothing that
/// authenticates the client (`authorization`, `cookie`, `x-api-key`, `x-amz-security-token`, …).
pub const COMPARISON_HEADERS: [&str; 5] = [
    "accept",
    "content-length",
    "content-type",
    "user-agent",
    "x-correlation-id",
];

/// `event` as the comparison sends it to every variant (candidates, and the control run again
/// beside them, so both answer the same input): its headers cut to [`COMPARISON_HEADERS`]. A
/// candidate may be an attendee's code: it never sees the client's credentials. The control
/// answering the client gets the whole event, as before.
pub fn for_comparison(mut event: Value) -> Value {
    if let Some(headers) = event["headers"].as_object_mut() {
        headers.retain(|name, _| COMPARISON_HEADERS.contains(&name.to_ascii_lowercase().as_str()));
    }
    event
}

/// The client's request as the HTTP API (v2) event a function behind API Gateway receives.
pub fn event_for(request: &Request, correlation_id: &str) -> Value {
    let path = match request.raw_http_path() {
        raw if !raw.is_empty() => raw.to_owned(),
        _ => request.uri().path().to_owned(),
    };
    let query = request.uri().query().unwrap_or("").to_owned();
    let mut headers = serde_json::Map::new();
    for (name, value) in request.headers() {
        if let Ok(value) = value.to_str() {
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| {
                    *v = Value::from(format!("{},{value}", v.as_str().unwrap_or_default()))
                })
                .or_insert_with(|| Value::from(value));
        }
    }
    headers.insert("x-correlation-id".to_owned(), Value::from(correlation_id));
    let parameters: serde_json::Map<String, Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect();
    let (body, encoded) = match request.body() {
        Body::Empty => (Value::Null, false),
        Body::Text(text) => (Value::from(text.as_str()), false),
        Body::Binary(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => (Value::from(text), false),
            Err(_) => (Value::from(BASE64.encode(bytes)), true),
        },
        _ => (Value::Null, false),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let method = request.method().as_str();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": if parameters.is_empty() { Value::Null } else { Value::Object(parameters) },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "experiment-proxy",
            "domainName": request.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "experiment-proxy",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": request.headers().get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": now,
        },
        "body": body,
        "isBase64Encoded": encoded,
    })
}

/// An HTTP response payload (`statusCode`, `headers`, `body`, `isBase64Encoded`), or `None` when
/// the bytes are not one.
pub fn observed(payload: &[u8]) -> Option<Observed> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let status = u16::try_from(value.get("statusCode")?.as_u64()?).ok()?;
    StatusCode::from_u16(status).ok()?;
    let mut headers = BTreeMap::new();
    if let Some(map) = value.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            headers.insert(name.to_ascii_lowercase(), value.as_str()?.to_owned());
        }
    }
    if let Some(map) = value.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in map {
            let joined: Vec<&str> = values
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            headers
                .entry(name.to_ascii_lowercase())
                .or_insert_with(|| joined.join(","));
        }
    }
    let body = match value.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => {
            if value.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                let bytes = BASE64.decode(text).ok()?;
                String::from_utf8(bytes).unwrap_or_else(|e| BASE64.encode(e.as_bytes()))
            } else {
                text.clone()
            }
        }
        Some(_) => return None,
    };
    Some(Observed {
        status,
        headers,
        body,
    })
}

/// The response the client gets: exactly the control's status, headers and body.
pub fn response_from(observed: &Observed) -> Response<Body> {
    let mut response = Response::new(if observed.body.is_empty() {
        Body::Empty
    } else {
        Body::Text(observed.body.clone())
    });
    *response.status_mut() =
        StatusCode::from_u16(observed.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in &observed.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_passes_on_no_credentials() {
        let event = json!({
            "headers": {
                "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA…",
                "cookie": "session=1",
                "x-api-key": "secret-key-0123456789",
                "x-amz-security-token": "token",
                "x-amz-date": "20261205T000000Z",
                "content-type": "application/json",
                "accept": "*/*",
                "user-agent": "curl/8",
                "x-correlation-id": "c-1",
            },
            "body": "[3,1,2]",
        });
        let sent = for_comparison(event);
        let names: Vec<&String> = sent["headers"].as_object().unwrap().keys().collect();
        assert_eq!(
            names,
            ["accept", "content-type", "user-agent", "x-correlation-id"]
        );
        assert_eq!(sent["body"], "[3,1,2]");
    }

    #[test]
    fn an_event_from_a_request_is_a_request_again() {
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://proxy.example/sort?x=1&y=two")
            .header("content-type", "application/json")
            .header("host", "proxy.example")
            .body(Body::Text("[3,1,2]".into()))
            .unwrap();
        let event = event_for(&request, "corr-1");
        let back = lambda_http::request::from_str(&event.to_string()).expect("a v2 event");
        assert_eq!(back.method(), "POST");
        assert_eq!(back.uri().path(), "/sort");
        assert_eq!(back.uri().query(), Some("x=1&y=two"));
        assert_eq!(back.headers()["x-correlation-id"], "corr-1");
        assert_eq!(
            back.query_string_parameters_ref().unwrap().first("y"),
            Some("two")
        );
        match back.body() {
            Body::Text(text) => assert_eq!(text, "[3,1,2]"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn response_payloads_parse_and_garbage_does_not() {
        let payload = br#"{"statusCode":200,"headers":{"Content-Type":"application/json"},"multiValueHeaders":{},"body":"{\"a\":1}","isBase64Encoded":false,"cookies":[]}"#;
        let seen = observed(payload).unwrap();
        assert_eq!(seen.status, 200);
        assert_eq!(seen.headers["content-type"], "application/json");
        assert_eq!(seen.body, r#"{"a":1}"#);
        let encoded = br#"{"statusCode":201,"body":"aGk=","isBase64Encoded":true}"#;
        assert_eq!(observed(encoded).unwrap().body, "hi");
        for garbage in [
            &b"not json"[..],
            b"{}",
            b"{\"statusCode\": \"200\"}",
            b"{\"statusCode\": 99}",
            b"[]",
        ] {
            assert!(
                observed(garbage).is_none(),
                "{}",
                String::from_utf8_lossy(garbage)
            );
        }
        let response = response_from(&seen);
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
    }
}
