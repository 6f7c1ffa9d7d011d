//! Sends one request to one function, in-process or over HTTP depending on `TEST_MODE`, and
//! returns status, headers (lower-case names) and body the same way in both modes.
//!
//! Over HTTP it behaves as a client of a real stack must: requests to Function URLs whose
//! `AuthType` is `AWS_IAM` (the endpoints file says which) are signed with SigV4 with the
//! environment's or the profile's credentials, and a `429` from the HTTP API's throttling is
//! retried with exponential backoff and jitter ([`RETRY_429`]), as the AWS SDKs retry throttling.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use shared::function_url::{IamUrls, Signer};

/// How the suite reaches the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Handler,
    Http,
}

impl Mode {
    pub fn from_env() -> Self {
        match std::env::var("TEST_MODE").as_deref() {
            Ok("http") => Mode::Http,
            Ok("handler") | Err(_) => Mode::Handler,
            Ok(other) => panic!("TEST_MODE must be handler or http, not {other:?}"),
        }
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Call {
    pub function: String,
    pub method: String,
    /// Path and query, e.g. `/round?number=1.5`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Sent without the shortener's API key (which every other shortener call carries, as its
    /// operator's would): what an anonymous client gets.
    pub anonymous: bool,
}

/// The key the shortener under test wants (`SHORTENER_API_KEY`; `./build.sh` sets it from the
/// deployed stack's secret, or to the local stack's key), else the in-process one
/// (`CREATE_API_KEY`).
pub fn shortener_api_key() -> Option<String> {
    ["SHORTENER_API_KEY", "CREATE_API_KEY"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|key| !key.is_empty()))
}

impl Call {
    pub fn new(function: &str, method: &str, path: &str) -> Self {
        Self {
            function: function.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
            anonymous: false,
        }
    }

    /// The same call without the API key.
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// The headers to send: the call's own, plus the shortener's API key unless the call is
    /// [`anonymous`](Call::anonymous) or brings a key of its own.
    fn headers_to_send(&self) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        if self.function == "shortener"
            && !self.anonymous
            && !headers.iter().any(|(name, _)| name == "x-api-key")
            && let Some(key) = shortener_api_key()
        {
            headers.push(("x-api-key".to_owned(), key));
        }
        headers
    }

    pub fn get(function: &str, path: &str) -> Self {
        Self::new(function, "GET", path)
    }

    pub fn post(function: &str, path: &str) -> Self {
        Self::new(function, "POST", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .raw_body(body.to_string().into_bytes())
    }

    pub fn raw_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// A response, as both modes report it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Asserts an HTML answer's security headers: a Content-Security-Policy that allows exactly
    /// the page's own inline blocks and no framing, `nosniff`, and no referrer.
    pub fn assert_safe_page(&self) {
        let policy = self.header("content-security-policy").unwrap_or_else(|| {
            panic!(
                "an HTML answer without a Content-Security-Policy: {:?}",
                self.headers
            )
        });
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(
            policy,
            shared::page::content_security_policy(&self.text()),
            "the policy does not match the page's inline blocks"
        );
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(self.header("referrer-policy"), Some("no-referrer"));
    }

    /// Asserts the `{"error", "message"}` error shape and returns the error code.
    pub fn error_code(&self) -> String {
        let body = self.json();
        let message = body["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "error without a message: {body}");
        body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {body}"))
            .to_owned()
    }
}

/// Attempts at a throttled (`429`) request, and the first backoff (doubled each time up to
/// 3.2 s, with full jitter): about 12 s of waiting on average, 25 s at most, before the `429`
/// is the answer.
pub const RETRY_429: (u32, std::time::Duration) = (12, std::time::Duration::from_millis(100));

/// The stack's pacer: one for the whole suite process, from the first world's endpoints file.
static PACER: std::sync::OnceLock<crate::pace::Pacer> = std::sync::OnceLock::new();

static HTTP_IN_FLIGHT: std::sync::LazyLock<Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(4)));

/// What one test talks to: the in-process handlers or the deployed/local endpoints.
#[derive(Clone)]
pub struct World {
    pub mode: Mode,
    inner: Arc<Inner>,
}

struct Inner {
    shortener: Option<shortener::App>,
    /// The experiment proxy and report functions (handler mode only).
    experiments: Option<(
        experiments::handlers::proxy::ProxyApp,
        experiments::handlers::report::ReportApp,
    )>,
    /// Bounds requests in flight over HTTP: `cargo lambda watch` 1.9.2 stops answering when many
    /// concurrent invocations queue up for one function instance (seen here with ~100).
    in_flight: Arc<tokio::sync::Semaphore>,
    http: reqwest::Client,
    endpoints: Value,
    /// The Function URLs that want signed requests, and the signer (HTTP mode, `AWS_IAM` stacks).
    signing: Option<(IamUrls, Signer)>,
}

impl World {
    /// A world for one test, in the mode `TEST_MODE` selects.
    pub async fn new() -> Self {
        Self::with_shortener(Mode::from_env(), |_| {}).await
    }

    /// Like [`World::new`], with the in-process shortener's configuration adjusted.
    pub async fn with_shortener(
        mode: Mode,
        adjust: impl FnOnce(&mut shortener::config::Config),
    ) -> Self {
        let (shortener, experiments) = match mode {
            Mode::Handler => (
                Some(shortener_app(adjust).await),
                Some(crate::in_process::experiment_apps().await),
            ),
            Mode::Http => (None, None),
        };
        let endpoints = match mode {
            Mode::Http => {
                let path = std::env::var("ENDPOINTS_FILE").expect(
                    "TEST_MODE=http needs ENDPOINTS_FILE (./build.sh acceptance-test sets it)",
                );
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
            }
            Mode::Handler => Value::Null,
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("reqwest client");
        let signing = match IamUrls::from_endpoints(&endpoints) {
            Some(urls) => {
                let signer = Signer::from_environment(&urls.region)
                    .await
                    .unwrap_or_else(|e| panic!("the stack's Function URLs are AWS_IAM: {e}"));
                Some((urls, signer))
            }
            None => None,
        };
        Self {
            mode,
            inner: Arc::new(Inner {
                shortener,
                experiments,
                in_flight: HTTP_IN_FLIGHT.clone(),
                http,
                endpoints,
                signing,
            }),
        }
    }

    /// A handler-mode world around a shortener built by the caller (for tests that bring their
    /// own DynamoDB, such as the fault tests).
    pub fn in_process(app: shortener::App) -> Self {
        Self {
            mode: Mode::Handler,
            inner: Arc::new(Inner {
                shortener: Some(app),
                experiments: None,
                in_flight: HTTP_IN_FLIGHT.clone(),
                http: reqwest::Client::new(),
                endpoints: Value::Null,
                signing: None,
            }),
        }
    }

    /// The in-process shortener (handler mode only).
    pub fn shortener(&self) -> Option<&shortener::App> {
        self.inner.shortener.as_ref()
    }

    /// The base URL of a function in HTTP mode.
    pub fn endpoint(&self, function: &str) -> String {
        self.inner.endpoints[function]
            .as_str()
            .unwrap_or_else(|| panic!("no endpoint for {function} in ENDPOINTS_FILE"))
            .trim_end_matches('/')
            .to_owned()
    }

    pub async fn send(&self, call: Call) -> Reply {
        match self.mode {
            Mode::Handler => self.send_in_process(call).await,
            Mode::Http => self.send_http(call).await,
        }
    }

    /// The Function URLs that want signed requests (HTTP mode on an `AWS_IAM` stack).
    pub fn iam_urls(&self) -> Option<&IamUrls> {
        self.inner.signing.as_ref().map(|(urls, _)| urls)
    }

    async fn send_http(&self, call: Call) -> Reply {
        let (attempts, first_backoff) = RETRY_429;
        let mut backoff = first_backoff;
        for attempt in 1..=attempts {
            let reply = self.send_http_once(&call).await;
            if reply.status != 429 || attempt == attempts {
                return reply;
            }
            // Full jitter: concurrent tests that were throttled together do not retry together.
            let wait = backoff.mul_f64(fastrand::f64());
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(first_backoff * 32);
        }
        unreachable!("the last attempt returns")
    }

    async fn send_http_once(&self, call: &Call) -> Reply {
        // Requests to the HTTP API (the shortener's base) wait for their route's limit.
        if self.endpoint(&call.function) == self.endpoint("shortener") {
            let path = call.path.split('?').next().unwrap_or_default();
            PACER
                .get_or_init(|| crate::pace::Pacer::from_endpoints(&self.inner.endpoints))
                .wait(&call.method, path)
                .await;
        }
        let _permit = self
            .inner
            .in_flight
            .acquire()
            .await
            .expect("semaphore open");
        let url = format!("{}{}", self.endpoint(&call.function), call.path);
        let method = reqwest::Method::from_bytes(call.method.as_bytes()).expect("method");
        let mut headers = call.headers_to_send();
        let body = call.body.clone().unwrap_or_default();
        if let Some((urls, signer)) = &self.inner.signing
            && urls.wants_signature(&call.function)
        {
            let signature = signer
                .headers_for(call.method.as_str(), &url, &headers, &body)
                .await
                .unwrap_or_else(|e| panic!("signing {} {url}: {e}", call.method));
            headers.extend(signature);
        }
        let mut request = self.inner.http.request(method, &url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        if call.body.is_some() {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {url}: {e:?}", call.method));
        let status = response.status().as_u16();
        let headers = lower_case_headers(response.headers());
        let body = response.bytes().await.expect("response body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn send_in_process(&self, call: Call) -> Reply {
        let request = api_gateway_event(&call);
        let response = match call.function.as_str() {
            "shortener" => {
                let app = self.inner.shortener.as_ref().expect("shortener app");
                shortener::handler(app, request).await
            }
            "experiment-proxy" | "experiment-report" => {
                let (proxy, report) = self.inner.experiments.as_ref().expect("experiment apps");
                if call.function == "experiment-proxy" {
                    experiments::handlers::proxy::handler(proxy, request).await
                } else {
                    experiments::handlers::report::handler(report, request).await
                }
            }
            other => crate::when::workshop(other, request).await,
        };
        let status = response.status().as_u16();
        let headers = lower_case_headers(response.headers());
        let body = shared::http::body_bytes(response.body()).to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// Header names are lower-case in both `http` header maps; values as text.
fn lower_case_headers(headers: &lambda_http::http::HeaderMap) -> HashMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Workshop functions in-process, by function name (the binary's name, as deployed): the
/// registry's handlers.
pub async fn workshop(
    function: &str,
    request: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    match dispatch::registered(function, request).await {
        Some(response) => response,
        None => panic!("no in-process handler in functions.toml for function {function:?}"),
    }
}

mod dispatch {
    include!(concat!(env!("OUT_DIR"), "/dispatch.rs"));
}

async fn shortener_app(adjust: impl FnOnce(&mut shortener::config::Config)) -> shortener::App {
    let mut config = shortener::config::Config::from_env(&shared::config::ProcessEnv)
        .expect("shortener configuration (LINKS_TABLE, CODE_KEY, APPLE_APP_SITE_ASSOCIATION)");
    adjust(&mut config);
    let sdk = shared::aws::sdk_config().await;
    shortener::App::new(config, aws_sdk_dynamodb::Client::new(&sdk))
}

/// A real API Gateway HTTP API (v2) event for `call`, from the fixture in `data/`.
fn api_gateway_event(call: &Call) -> lambda_http::Request {
    let mut event: Value =
        serde_json::from_str(include_str!("../data/apigw-v2-event.json")).expect("fixture event");
    let (path, query) = call.path.split_once('?').unwrap_or((&call.path, ""));
    event["rawPath"] = path.into();
    event["rawQueryString"] = query.into();
    event["requestContext"]["http"]["method"] = call.method.as_str().into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["requestId"] = uuid::Uuid::new_v4().to_string().into();
    if !query.is_empty() {
        let params: serde_json::Map<String, Value> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
            .collect();
        event["queryStringParameters"] = Value::Object(params);
    }
    for (name, value) in &call.headers_to_send() {
        event["headers"][name] = value.as_str().into();
    }
    if let Some(body) = &call.body {
        match std::str::from_utf8(body) {
            Ok(text) => event["body"] = text.into(),
            // As API Gateway sends a body that is not UTF-8.
            Err(_) => {
                use base64::Engine;
                event["body"] = base64::engine::general_purpose::STANDARD
                    .encode(body)
                    .into();
                event["isBase64Encoded"] = true.into();
            }
        }
    }
    lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway v2 event")
}
