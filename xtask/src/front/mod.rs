//! The local stack's front door: what AWS puts before the functions, in front of
//! `cargo lambda watch`, so that a client that would fail on AWS fails here too.
//!
//! - `/lambda-url/<function>/...` is that function's Function URL. With `AuthType: AWS_IAM`
//!   ([`UrlAuth::AwsIam`]) a request must carry a valid SigV4 signature for the service `lambda`
//!   ([`sigv4`]), or gets AWS's `403`. A function without a Function URL in `template.yaml` has no
//!   such address (`404`), as on AWS.
//! - Every other path is the HTTP API: a request that matches none of its routes gets `404
//!   {"message":"Not Found"}`; a route over its throttling limits ([`throttle`]) gets `429
//!   {"message":"Too Many Requests"}`.
//! - The Lambda Invoke API (`/2015-03-31/...`) is passed through: the functions call it with their
//!   own (local) credentials.
//!
//! It runs on its own thread and runtime until dropped.

pub mod sigv4;
pub mod throttle;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use self::sigv4::{Received, Verifier};
use self::throttle::{Buckets, RouteLimits};

/// SigV4's service name for Function URLs.
pub const SERVICE: &str = "lambda";
/// Where `cargo lambda watch` serves each function's Function URL.
pub const URL_PREFIX: &str = "/lambda-url/";

/// How the demonstration Function URLs authenticate (`DemoFunctionUrlAuth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UrlAuth {
    /// Callers sign with SigV4 (the template's default).
    #[value(name = "AWS_IAM", alias = "aws-iam")]
    AwsIam,
    /// Anyone with the URL (a workshop stack).
    #[value(name = "NONE", alias = "none")]
    None,
}

impl UrlAuth {
    pub fn parameter_value(self) -> &'static str {
        match self {
            Self::AwsIam => "AWS_IAM",
            Self::None => "NONE",
        }
    }
}

/// What the front enforces.
#[derive(Debug, Clone)]
pub struct Rules {
    /// `None`: Function URLs are public.
    pub verifier: Option<Verifier>,
    /// The functions that have a Function URL.
    pub url_functions: BTreeSet<String>,
    /// The HTTP API's route keys (`GET /{code}`, ...).
    pub routes: Vec<String>,
    pub limits: RouteLimits,
}

/// What the front does with one request.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Forward,
    Refuse {
        status: u16,
        error_type: Option<&'static str>,
        body: String,
    },
}

fn refuse(status: u16, message: &str) -> Decision {
    Decision::Refuse {
        status,
        error_type: None,
        body: serde_json::json!({ "message": message }).to_string(),
    }
}

impl Rules {
    fn decide(
        &self,
        request: &Received<'_>,
        buckets: &Mutex<Buckets>,
        now: SystemTime,
        instant: Instant,
    ) -> Decision {
        let path = request.path_and_query.split('?').next().unwrap_or_default();
        if path.starts_with("/2015-03-31/") {
            return Decision::Forward;
        }
        if let Some(rest) = path.strip_prefix(URL_PREFIX) {
            let function = rest.split('/').next().unwrap_or_default();
            if !self.url_functions.contains(function) {
                // Local addressing only (on AWS each URL is a host of its own): answered in the
                // shape of cargo lambda watch's own 404 for an unknown function.
                return Decision::Refuse {
                    status: 404,
                    error_type: None,
                    body: serde_json::json!({ "detail": format!(
                        "{function} has no Function URL in template.yaml (on AWS it is reached through the HTTP API or an invocation)"
                    )})
                    .to_string(),
                };
            }
            return match &self.verifier {
                None => Decision::Forward,
                Some(verifier) => match verifier.verify(request, now) {
                    Ok(()) => Decision::Forward,
                    Err(denial) => {
                        let answer = denial.answer();
                        Decision::Refuse {
                            status: answer.status,
                            error_type: Some(answer.error_type),
                            body: answer.body,
                        }
                    }
                },
            };
        }
        let Some(route) = throttle::route_key(&self.routes, request.method, path) else {
            return refuse(404, "Not Found");
        };
        if buckets.lock().expect("buckets").admit(route, instant) {
            Decision::Forward
        } else {
            refuse(429, "Too Many Requests")
        }
    }
}

/// A running front; stops when dropped.
pub struct Front {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Front {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

struct State {
    rules: Rules,
    buckets: Mutex<Buckets>,
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Starts the front on 127.0.0.1:`port`, passing what it admits to 127.0.0.1:`upstream_port`.
pub fn start(port: u16, upstream_port: u16, rules: Rules) -> Result<Front> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("front")
        .enable_all()
        .build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            port,
        ))))
        .with_context(|| format!("the local front cannot listen on 127.0.0.1:{port}"))?;
    let state = Arc::new(State {
        buckets: Mutex::new(Buckets::new(rules.limits.clone())),
        rules,
        upstream: format!("http://127.0.0.1:{upstream_port}"),
        client: Client::builder(TokioExecutor::new()).build_http(),
    });
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| handle(state.clone(), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Front {
        runtime: Some(runtime),
    })
}

async fn handle(
    state: Arc<State>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return Ok(plain(400, None, &format!("{{\"message\":\"{error}\"}}"))),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let received = Received {
        method: parts.method.as_str(),
        path_and_query: &path_and_query,
        headers: &headers,
        body: &body,
    };
    match state
        .rules
        .decide(&received, &state.buckets, SystemTime::now(), Instant::now())
    {
        Decision::Refuse {
            status,
            error_type,
            body,
        } => Ok(plain(status, error_type, &body)),
        Decision::Forward => Ok(forward(&state, parts, body, &path_and_query).await),
    }
}

async fn forward(
    state: &State,
    parts: hyper::http::request::Parts,
    body: Bytes,
    path_and_query: &str,
) -> Response<Full<Bytes>> {
    let mut upstream = Request::builder()
        .method(parts.method)
        .uri(format!("{}{path_and_query}", state.upstream));
    for (name, value) in &parts.headers {
        upstream = upstream.header(name, value);
    }
    let Ok(upstream) = upstream.body(Full::new(body)) else {
        return plain(400, None, r#"{"message":"Bad Request"}"#);
    };
    match state.client.request(upstream).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            Response::from_parts(parts, Full::new(body))
        }
        // As API Gateway answers when its integration fails.
        Err(_) => plain(503, None, r#"{"message":"Service Unavailable"}"#),
    }
}

fn plain(status: u16, error_type: Option<&str>, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(kind) = error_type {
        response = response.header("x-amzn-errortype", kind);
    }
    response
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid response")
}

/// The keys the local stack's clients sign with (`local::LOCAL_ENV`): the only ones it knows.
pub fn local_keys() -> BTreeMap<String, String> {
    let get = |name: &str| {
        crate::local::LOCAL_ENV
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .unwrap_or_default()
    };
    BTreeMap::from([(get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use throttle::Limit;

    fn rules(verifier: Option<Verifier>) -> Rules {
        Rules {
            verifier,
            url_functions: BTreeSet::from(["round-control".to_owned()]),
            routes: vec!["POST /".to_owned(), "GET /{code}".to_owned()],
            limits: RouteLimits {
                default: None,
                routes: BTreeMap::from([(
                    "POST /".to_owned(),
                    Limit {
                        rate: 1.0,
                        burst: 1.0,
                    },
                )]),
            },
        }
    }

    fn decide(rules: &Rules, method: &str, path: &str) -> Decision {
        let buckets = Mutex::new(Buckets::new(rules.limits.clone()));
        let headers = vec![("host".to_owned(), "127.0.0.1:9000".to_owned())];
        let request = Received {
            method,
            path_and_query: path,
            headers: &headers,
            body: b"",
        };
        rules.decide(&request, &buckets, SystemTime::now(), Instant::now())
    }

    #[test]
    fn function_urls_are_public_or_signed_and_only_where_the_template_has_one() {
        let public = rules(None);
        assert_eq!(
            decide(&public, "GET", "/lambda-url/round-control/round?number=1"),
            Decision::Forward
        );
        let signed = rules(Some(Verifier {
            keys: local_keys(),
            region: "us-east-1".into(),
        }));
        let Decision::Refuse {
            status, error_type, ..
        } = decide(&signed, "GET", "/lambda-url/round-control/round")
        else {
            panic!("an unsigned request passed")
        };
        assert_eq!((status, error_type), (403, Some("AccessDeniedException")));
        let Decision::Refuse { status, body, .. } =
            decide(&public, "GET", "/lambda-url/shortener/")
        else {
            panic!("a function without a URL answered")
        };
        assert_eq!(status, 404);
        assert!(body.contains("shortener has no Function URL"), "{body}");
        assert_eq!(
            decide(&signed, "POST", "/2015-03-31/functions/x/invocations"),
            Decision::Forward
        );
    }

    #[test]
    fn http_api_routes_are_throttled_and_unknown_ones_are_not_found() {
        let rules = rules(None);
        let buckets = Mutex::new(Buckets::new(rules.limits.clone()));
        let headers = vec![];
        let create = Received {
            method: "POST",
            path_and_query: "/",
            headers: &headers,
            body: b"{}",
        };
        let now = Instant::now();
        assert_eq!(
            rules.decide(&create, &buckets, SystemTime::now(), now),
            Decision::Forward
        );
        assert_eq!(
            rules.decide(&create, &buckets, SystemTime::now(), now),
            refuse(429, "Too Many Requests")
        );
        assert_eq!(decide(&rules, "GET", "/abc"), Decision::Forward);
        assert_eq!(decide(&rules, "PUT", "/abc"), refuse(404, "Not Found"));
    }
}
