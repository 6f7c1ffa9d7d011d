//! One generated HTTP request, as the explorer sends it to a control and a candidate alike.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A request: method, path, query and body; JSON bodies carry `content-type: application/json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    pub method: String,
    pub path: String,
    /// Without the `?`; empty when there is none.
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Probe {
    pub fn get(path: &str, query: String) -> Self {
        Self {
            method: "GET".to_owned(),
            path: path.to_owned(),
            query,
            body: None,
        }
    }

    pub fn post_json(path: &str, body: &Value) -> Self {
        Self {
            method: "POST".to_owned(),
            path: path.to_owned(),
            query: String::new(),
            body: Some(body.to_string()),
        }
    }

    /// Path and query, as in a request line.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// The query's parameters, decoded.
    pub fn parameters(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The headers sent with it: the body's content type.
    pub fn headers(&self) -> Vec<(&'static str, &'static str)> {
        match self.body {
            Some(_) => vec![("content-type", "application/json")],
            None => Vec::new(),
        }
    }

    /// The API Gateway HTTP API (v2) event a function behind a route or a Function URL receives for
    /// it: what the Invoke API takes.
    pub fn event(&self) -> Value {
        let parameters: serde_json::Map<String, Value> = self
            .parameters()
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect();
        let headers: serde_json::Map<String, Value> = self
            .headers()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect();
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "queryStringParameters": if parameters.is_empty() { Value::Null } else { Value::Object(parameters) },
            "requestContext": {
                "accountId": "anonymous",
                "apiId": "explore",
                "domainName": "localhost",
                "domainPrefix": "explore",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "explore",
                },
                "requestId": "explore",
                "routeKey": "$default",
                "stage": "$default",
                "timeEpoch": 0,
            },
            "body": self.body,
            "isBase64Encoded": false,
        })
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.target())?;
        if let Some(body) = &self.body {
            write!(f, " {body}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_reads_as_a_request_line_with_its_body() {
        assert_eq!(
            Probe::get("/round", "number=0.5".to_owned()).to_string(),
            "GET /round?number=0.5"
        );
        assert_eq!(
            Probe::post_json("/sort", &json!([10, 9])).to_string(),
            "POST /sort [10,9]"
        );
    }

    #[test]
    fn the_event_carries_the_query_parameters_decoded_and_the_json_content_type() {
        let event = Probe::get("/fizzbuzz", "from=15&to=15".to_owned()).event();
        assert_eq!(event["queryStringParameters"]["from"], "15");
        assert_eq!(event["rawQueryString"], "from=15&to=15");
        let event = Probe::post_json("/sort", &json!([1])).event();
        assert_eq!(event["headers"]["content-type"], "application/json");
        assert_eq!(event["body"], "[1]");
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
    }
}
