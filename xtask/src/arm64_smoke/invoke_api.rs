//! Lambda's Invoke API, as much of it as the experiment functions call, in front of the running
//! arm64 bootstraps: the proxy invokes a control and the comparator every variant through it
//! (`AWS_ENDPOINT_URL_LAMBDA`), so their requests in the smoke run reach the other functions' real
//! binaries, as on AWS.
//!
//! `POST /2015-03-31/functions/{FunctionName}/invocations`, as AWS's API reference "Invoke"
//! describes it (<https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>): the function by
//! name, `name:qualifier` or ARN (a qualifier, such as the controls' alias `live`, names the one
//! instance there is); `RequestResponse` answers `200` with the payload, and a function's error as
//! `200` with `X-Amz-Function-Error: Unhandled` and the error document; `Event` answers `202` and
//! runs the invocation on its own; an unknown function gets `404 ResourceNotFoundException`.
//!
//! It serves on its own thread and runtime until dropped, like the local front (`front/`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// What the API invokes.
pub trait Functions: Send + Sync + 'static {
    /// Invokes `function` with `payload` and waits for its answer: `None` when there is no such
    /// function, `Err` with the function's error document when it failed.
    fn invoke(&self, function: &str, payload: Vec<u8>) -> Option<Result<Vec<u8>, Vec<u8>>>;
}

/// The API's socket, bound before the functions start: they are given its address.
pub struct Bound {
    listener: std::net::TcpListener,
    /// `http://127.0.0.1:<port>`, the functions' `AWS_ENDPOINT_URL_LAMBDA`.
    pub url: String,
}

/// Binds 127.0.0.1 on a free port.
pub fn bind() -> Result<Bound> {
    let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .context("the local Invoke API cannot listen on 127.0.0.1")?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok(Bound { listener, url })
}

/// A running API; stops when dropped.
pub struct Server {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Server {
    /// Waits (briefly) for the API's tasks to be dropped, so that what they hold (the functions,
    /// with runtimes of their own) is released on the caller's thread, not inside this runtime.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

impl Bound {
    /// Serves `functions` until the returned server is dropped.
    pub fn serve(self, functions: Arc<dyn Functions>) -> Result<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("invoke-api")
            .enable_all()
            .build()?;
        self.listener.set_nonblocking(true)?;
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(self.listener)?
        };
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let functions = functions.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(functions.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Server {
            runtime: Some(runtime),
        })
    }
}

const PREFIX: &str = "/2015-03-31/functions/";

/// The function a path names: `/2015-03-31/functions/{FunctionName}/invocations`, the name
/// percent-decoded, its qualifier and ARN prefix taken off.
fn function_of(path: &str) -> Option<String> {
    let name = path.strip_prefix(PREFIX)?.strip_suffix("/invocations")?;
    let name = percent_decoded(name)?;
    let name = match name.split_once(":function:") {
        Some((_arn, rest)) => rest.to_owned(),
        None => name,
    };
    let name = name.split(':').next().unwrap_or_default();
    (!name.is_empty() && !name.contains('/')).then(|| name.to_owned())
}

/// `%3A` -> `:` and the like; `None` for a malformed escape or non-UTF-8 result.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn handle(
    functions: Arc<dyn Functions>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let Some(function) = (parts.method == hyper::Method::POST)
        .then(|| function_of(parts.uri.path()))
        .flatten()
    else {
        return Ok(answer(
            404,
            &[("x-amzn-errortype", "UnknownOperationException")],
            r#"{"message":"the arm64 smoke run serves only Invoke"}"#.into(),
        ));
    };
    let payload = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => return Ok(answer(400, &[], Vec::new())),
    };
    let kind = parts
        .headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_owned();
    let invoke = {
        let function = function.clone();
        move || functions.invoke(&function, payload)
    };
    if kind == "Event" {
        // Lambda queues it and answers at once; the invocation runs on its own.
        tokio::task::spawn_blocking(invoke);
        return Ok(answer(202, &[], Vec::new()));
    }
    Ok(match tokio::task::spawn_blocking(invoke).await {
        Ok(Some(Ok(payload))) => answer(200, &[], payload),
        Ok(Some(Err(error))) => answer(200, &[("x-amz-function-error", "Unhandled")], error),
        Ok(None) => answer(
            404,
            &[("x-amzn-errortype", "ResourceNotFoundException")],
            serde_json::json!({
                "Type": "User",
                "message": format!("Function not found: {function}"),
            })
            .to_string()
            .into_bytes(),
        ),
        Err(_) => answer(500, &[("x-amzn-errortype", "ServiceException")], Vec::new()),
    })
}

fn answer(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn the_function_is_read_from_its_name_qualified_name_or_arn() {
        let cases = [
            (
                "/2015-03-31/functions/round-control/invocations",
                Some("round-control"),
            ),
            (
                "/2015-03-31/functions/round-control%3Alive/invocations",
                Some("round-control"),
            ),
            (
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Asort-control%3A3/invocations",
                Some("sort-control"),
            ),
            ("/2015-03-31/functions/round-control/configuration", None),
            ("/2015-03-31/functions//invocations", None),
            ("/2015-03-31/functions/a%2/invocations", None),
            ("/other", None),
        ];
        for (path, expected) in cases {
            assert_eq!(function_of(path).as_deref(), expected, "case {path}");
        }
    }

    /// Echoes the payload; `fails` answers an error; anything else does not exist.
    struct Echo;

    impl Functions for Echo {
        fn invoke(&self, function: &str, payload: Vec<u8>) -> Option<Result<Vec<u8>, Vec<u8>>> {
            match function {
                "echo" => Some(Ok(payload)),
                "fails" => Some(Err(br#"{"errorType":"Boom"}"#.to_vec())),
                _ => None,
            }
        }
    }

    /// One request over a real socket: the response's head (lower case) and body.
    fn send(url: &str, head: &str, body: &str) -> (String, String) {
        let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        write!(
            stream,
            "{head}\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.to_ascii_lowercase(), body.to_owned())
    }

    #[test]
    fn invocations_answer_as_lambdas_invoke_api_does() {
        let bound = bind().unwrap();
        let url = bound.url.clone();
        let _server = bound.serve(Arc::new(Echo)).unwrap();
        let path = |f: &str| format!("POST /2015-03-31/functions/{f}/invocations HTTP/1.1");

        let (head, body) = send(&url, &path("echo%3Alive"), r#"{"a":1}"#);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert_eq!(body, r#"{"a":1}"#);

        let (head, body) = send(&url, &path("fails"), "{}");
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("x-amz-function-error: unhandled"), "{head}");
        assert_eq!(body, r#"{"errorType":"Boom"}"#);

        let (head, _) = send(
            &url,
            &format!("{}\r\nx-amz-invocation-type: Event", path("echo")),
            "{}",
        );
        assert!(head.starts_with("http/1.1 202"), "{head}");

        let (head, body) = send(&url, &path("nobody"), "{}");
        assert!(head.starts_with("http/1.1 404"), "{head}");
        assert!(head.contains("resourcenotfoundexception"), "{head}");
        assert!(body.contains("nobody"), "{body}");

        let (head, _) = send(
            &url,
            "GET /2015-03-31/functions/echo/configuration HTTP/1.1",
            "",
        );
        assert!(head.starts_with("http/1.1 404"), "{head}");
    }
}
