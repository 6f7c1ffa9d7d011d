//! A minimal Lambda Runtime API (`2018-06-01`) on 127.0.0.1, so the real function binary can run
//! here exactly as in a Lambda execution environment: it asks `GET …/invocation/next` for work and
//! posts its answer to `…/invocation/<id>/response`. The times the event is handed out and the
//! answer arrives are what Lambda's `Duration` measures; the first `next` ends its `Init Duration`.
//!
//! hyper serves HTTP/1.1 on a one-thread tokio runtime owned by [`RuntimeApi`]; each request, body
//! read in full, goes over a channel to the one (synchronous) caller of [`RuntimeApi::invoke`], which
//! decides the reply. A `next` is answered only when there is an event, as Lambda does.
//!
//! The routes and headers are those of AWS's reference, "Using the Lambda runtime API for custom
//! runtimes" (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>): `next`, an
//! invocation's `response` and `error`, and `init/error`. The Extensions API, which shares
//! `AWS_LAMBDA_RUNTIME_API`, is not served: a registration gets `404`, as from an emulator without it.
//! Besides `tune`, `cargo xtask arm64-smoke` starts every arm64 bootstrap behind one of these.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

const PREFIX: &str = "/2018-06-01/runtime/";
/// Larger than Lambda's 6 MB synchronous payload limit; anything bigger is refused.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How often a wait checks that the runtime process is still alive.
const LIVENESS_POLL: Duration = Duration::from_millis(50);

/// What the runtime asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Next,
    Response { request_id: String, body: Vec<u8> },
    Error { request_id: String, body: Vec<u8> },
    InitError { body: Vec<u8> },
    Unknown { method: String, path: String },
}

struct Request {
    call: Call,
    /// When the request had been read in full.
    at: Instant,
    /// Unbounded so the synchronous side can answer without blocking; one reply is ever sent.
    reply: UnboundedSender<Reply>,
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: br#"{"status":"OK"}"#.to_vec(),
        }
    }
}

/// One invocation as this API saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// When the runtime asked for this event (for the first one, the end of init).
    pub next_requested_at: Instant,
    pub handed_out_at: Instant,
    pub answered_at: Instant,
    pub answer: Vec<u8>,
}

impl Invocation {
    pub fn duration(&self) -> Duration {
        self.answered_at
            .saturating_duration_since(self.handed_out_at)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot open the local Runtime API: {0}")]
    Listen(io::Error),
    #[error("the function failed to initialise: {0}")]
    InitError(String),
    #[error("the function answered request {request_id} with an error: {body}")]
    FunctionError {
        request_id: String,
        body: String,
        /// Its timings, as of an answer (`answer` holds the error document).
        invocation: Box<Invocation>,
    },
    #[error("the function did not {what} within {seconds} s")]
    Timeout { what: &'static str, seconds: u64 },
    #[error("the function process ended: {0}")]
    Exited(String),
}

/// Identity of the emulated function, as Lambda passes it in the invocation headers.
#[derive(Debug, Clone)]
pub struct FunctionIdentity {
    pub arn: String,
    pub timeout: Duration,
}

/// Where and as what a function process runs: what [`lambda_env`] tells it.
#[derive(Debug, Clone, Copy)]
pub struct Execution<'a> {
    pub function_name: &'a str,
    pub memory_mb: u32,
    /// `host:port` of its Runtime API ([`RuntimeApi::address`]).
    pub runtime_api: &'a str,
    /// The folder of its unpacked deployment package (`/var/task` on Lambda).
    pub task_root: &'a Path,
    /// What runs it, named in its log stream (`local/<host>`).
    pub host: &'a str,
}

/// The variables Lambda sets in a function's process, apart from the function's own and its
/// credentials (AWS's "Defined runtime environment variables",
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>).
pub fn lambda_env(execution: &Execution<'_>) -> Vec<(String, String)> {
    let name = execution.function_name;
    [
        ("AWS_LAMBDA_RUNTIME_API", execution.runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_string()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            execution.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("local/{}", execution.host),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        (
            "AWS_EXECUTION_ENV",
            format!("AWS_Lambda_rapid_local_{}", execution.host),
        ),
        ("_HANDLER", "bootstrap".to_string()),
        (
            "LAMBDA_TASK_ROOT",
            execution.task_root.display().to_string(),
        ),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_string()),
        ("TZ", ":UTC".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub struct RuntimeApi {
    address: SocketAddr,
    requests: Receiver<Request>,
    /// Serves the connections; dropping it stops the server and closes them.
    _server: tokio::runtime::Runtime,
}

impl RuntimeApi {
    pub fn start() -> Result<Self, RuntimeError> {
        let server = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("runtime-api")
            .enable_io()
            .enable_time()
            .build()
            .map_err(RuntimeError::Listen)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(RuntimeError::Listen)?;
        let address = listener.local_addr().map_err(RuntimeError::Listen)?;
        listener
            .set_nonblocking(true)
            .map_err(RuntimeError::Listen)?;
        let listener = {
            let _runtime = server.enter();
            TcpListener::from_std(listener).map_err(RuntimeError::Listen)?
        };
        let (sender, requests) = mpsc::channel();
        server.spawn(serve(listener, sender));
        Ok(Self {
            address,
            requests,
            _server: server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Hands `event` to the runtime's next `GET …/next` and waits for its answer. `alive` is asked
    /// while waiting and ends the wait with its error when the runtime process is gone.
    pub fn invoke(
        &mut self,
        event: &[u8],
        request_id: &str,
        function: &FunctionIdentity,
        mut alive: impl FnMut() -> Result<(), String>,
    ) -> Result<Invocation, RuntimeError> {
        let wait = function.timeout;
        let next = self.wait_for(wait, "ask for an event", &mut alive, |call| {
            matches!(call, Call::Next)
        })?;
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(wait)
            .as_millis();
        let reply = Reply {
            status: 200,
            headers: vec![
                ("Lambda-Runtime-Aws-Request-Id", request_id.to_string()),
                ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
                ("Lambda-Runtime-Invoked-Function-Arn", function.arn.clone()),
                (
                    "Lambda-Runtime-Trace-Id",
                    format!("Root=1-00000000-{request_id};Parent=0000000000000000;Sampled=0"),
                ),
                ("Content-Type", "application/json".to_string()),
            ],
            body: event.to_vec(),
        };
        let handed_out_at = Instant::now();
        // A runtime that hung up after asking is caught by the wait below (liveness or timeout).
        let _ = next.reply.send(reply);
        let answer = self.wait_for(wait, "answer", &mut alive, |call| match call {
            Call::Response { request_id: id, .. } | Call::Error { request_id: id, .. } => {
                id == request_id
            }
            _ => false,
        })?;
        let invocation = |answer_body: Vec<u8>| Invocation {
            next_requested_at: next.at,
            handed_out_at,
            answered_at: answer.at,
            answer: answer_body,
        };
        match answer.call {
            Call::Response { body, .. } => Ok(invocation(body)),
            Call::Error { request_id, body } => Err(RuntimeError::FunctionError {
                request_id,
                body: String::from_utf8_lossy(&body).into_owned(),
                invocation: Box::new(invocation(body)),
            }),
            other => Err(RuntimeError::Exited(format!(
                "the runtime broke the protocol: {other:?} instead of an answer"
            ))),
        }
    }

    /// Waits for a call `wanted` accepts and returns it with its reply still owed (for `Next`) or
    /// already sent (`202` for answers). Init errors end the wait; unknown paths get a 404.
    fn wait_for(
        &mut self,
        limit: Duration,
        what: &'static str,
        alive: &mut impl FnMut() -> Result<(), String>,
        wanted: impl Fn(&Call) -> bool,
    ) -> Result<Request, RuntimeError> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RuntimeError::Timeout {
                    what,
                    seconds: limit.as_secs(),
                });
            }
            let request = match self.requests.recv_timeout(left.min(LIVENESS_POLL)) {
                Ok(request) => request,
                Err(RecvTimeoutError::Timeout) => {
                    alive().map_err(RuntimeError::Exited)?;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(RuntimeError::Exited("the Runtime API stopped".into()));
                }
            };
            match &request.call {
                Call::InitError { body } => {
                    let _ = request.reply.send(Reply::status(202));
                    return Err(RuntimeError::InitError(
                        String::from_utf8_lossy(body).into_owned(),
                    ));
                }
                Call::Unknown { .. } => {
                    let _ = request.reply.send(Reply::status(404));
                }
                call if wanted(call) => {
                    if !matches!(call, Call::Next) {
                        let _ = request.reply.send(Reply::status(202));
                    }
                    return Ok(request);
                }
                // An answer to a request not asked about now, or a `next` while an answer is
                // awaited: a protocol error on the runtime's side.
                _ => {
                    let _ = request.reply.send(Reply::status(400));
                }
            }
        }
    }
}

async fn serve(listener: TcpListener, requests: Sender<Request>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors or the like: try again shortly rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let requests = requests.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, requests.clone()));
            // A runtime that breaks HTTP loses its connection; `invoke` notices by liveness or
            // timeout.
            let _ = http1::Builder::new()
                // As Lambda writes them: `Lambda-Runtime-Aws-Request-Id`, not lower case.
                .title_case_headers(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads the request in full, hands it to the waiting [`RuntimeApi::invoke`] and answers with its
/// reply (for a `next`, once there is an event).
async fn handle(
    request: hyper::Request<Incoming>,
    requests: Sender<Request>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes().to_vec(),
        Err(error) if error.is::<LengthLimitError>() => return Ok(response(Reply::status(413))),
        Err(_) => return Ok(response(Reply::status(400))),
    };
    let (reply, mut replied) = unbounded_channel();
    let request = Request {
        call: classify(&method, &path, body),
        at: Instant::now(),
        reply,
    };
    if requests.send(request).is_err() {
        return Ok(response(Reply::status(503)));
    }
    Ok(response(
        replied.recv().await.unwrap_or_else(|| Reply::status(503)),
    ))
}

fn response(reply: Reply) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn classify(method: &str, path: &str, body: Vec<u8>) -> Call {
    let route = path.strip_prefix(PREFIX).unwrap_or("");
    let parts: Vec<&str> = route.split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["invocation", "next"]) => Call::Next,
        ("POST", ["invocation", id, "response"]) => Call::Response {
            request_id: (*id).to_string(),
            body,
        },
        ("POST", ["invocation", id, "error"]) => Call::Error {
            request_id: (*id).to_string(),
            body,
        },
        ("POST", ["init", "error"]) => Call::InitError { body },
        _ => Call::Unknown {
            method: method.to_string(),
            path: path.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{Shutdown, TcpStream};
    use std::thread;

    fn identity() -> FunctionIdentity {
        FunctionIdentity {
            arn: "arn:aws:lambda:us-east-1:123456789012:function:local".into(),
            timeout: Duration::from_secs(5),
        }
    }

    /// Reads one HTTP response: its headers (lower-cased names) and body.
    fn read_response(reader: &mut impl BufRead) -> (String, Vec<(String, String)>, Vec<u8>) {
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            let (name, value) = (name.to_ascii_lowercase(), value.trim().to_string());
            if name == "content-length" {
                length = value.parse().unwrap();
            }
            headers.push((name, value));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        (status.trim_end().to_string(), headers, body)
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        &headers.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// A runtime that answers each event with its reversed body: the first on a keep-alive
    /// connection with Content-Length, the second on a new connection with a chunked body.
    fn fake_runtime(address: SocketAddr) -> thread::JoinHandle<Vec<String>> {
        thread::spawn(move || {
            let mut seen = Vec::new();
            for chunked in [false, true] {
                let stream = TcpStream::connect(address).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                write!(
                    writer,
                    "GET {PREFIX}invocation/next HTTP/1.1\r\nhost: x\r\n\r\n"
                )
                .unwrap();
                let (status, headers, body) = read_response(&mut reader);
                assert_eq!(status, "HTTP/1.1 200 OK");
                let id = header(&headers, "lambda-runtime-aws-request-id").to_string();
                assert!(
                    header(&headers, "lambda-runtime-deadline-ms")
                        .parse::<u128>()
                        .is_ok()
                );
                assert!(
                    header(&headers, "lambda-runtime-invoked-function-arn").starts_with("arn:")
                );
                seen.push(id.clone());
                let mut answer = body.clone();
                answer.reverse();
                if chunked {
                    let (a, b) = answer.split_at(answer.len() / 2);
                    write!(writer, "POST {PREFIX}invocation/{id}/response HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n", a.len()).unwrap();
                    writer.write_all(a).unwrap();
                    write!(writer, "\r\n{:x};ext=1\r\n", b.len()).unwrap();
                    writer.write_all(b).unwrap();
                    write!(writer, "\r\n0\r\n\r\n").unwrap();
                } else {
                    write!(writer, "POST {PREFIX}invocation/{id}/response HTTP/1.1\r\ncontent-length: {}\r\n\r\n", answer.len()).unwrap();
                    writer.write_all(&answer).unwrap();
                }
                let (status, _, _) = read_response(&mut reader);
                assert_eq!(status, "HTTP/1.1 202 Accepted");
            }
            seen
        })
    }

    #[test]
    fn events_go_out_and_answers_come_back_over_keep_alive_and_chunked_requests() {
        let mut api = RuntimeApi::start().unwrap();
        let runtime = fake_runtime(api.address());
        let first = api.invoke(b"abc", "req-1", &identity(), || Ok(())).unwrap();
        let second = api
            .invoke(b"hello", "req-2", &identity(), || Ok(()))
            .unwrap();
        assert_eq!(first.answer, b"cba");
        assert_eq!(second.answer, b"olleh");
        assert!(first.next_requested_at <= first.handed_out_at);
        assert!(first.handed_out_at <= first.answered_at);
        assert!(first.answered_at <= second.handed_out_at);
        assert_eq!(runtime.join().unwrap(), ["req-1", "req-2"]);
    }

    #[test]
    fn an_error_answer_is_an_error_not_a_measurement() {
        let mut api = RuntimeApi::start().unwrap();
        let address = api.address();
        let runtime = thread::spawn(move || {
            let stream = TcpStream::connect(address).unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            write!(writer, "GET {PREFIX}invocation/next HTTP/1.1\r\n\r\n").unwrap();
            let (_, headers, _) = read_response(&mut reader);
            let id = header(&headers, "lambda-runtime-aws-request-id").to_string();
            let body = r#"{"errorType":"boom","errorMessage":"no"}"#;
            write!(
                writer,
                "POST {PREFIX}invocation/{id}/error HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            read_response(&mut reader).0
        });
        let result = api.invoke(b"{}", "req-9", &identity(), || Ok(()));
        assert!(
            matches!(&result, Err(RuntimeError::FunctionError { request_id, body, .. }) if request_id == "req-9" && body.contains("boom")),
            "{result:?}"
        );
        assert_eq!(runtime.join().unwrap(), "HTTP/1.1 202 Accepted");
    }

    #[test]
    fn a_runtime_that_dies_ends_the_wait_with_its_reason() {
        let mut api = RuntimeApi::start().unwrap();
        let mut checks = 0;
        let result = api.invoke(b"{}", "req-1", &identity(), || {
            checks += 1;
            if checks < 3 {
                Ok(())
            } else {
                Err("exit status: 101".into())
            }
        });
        assert!(
            matches!(&result, Err(RuntimeError::Exited(reason)) if reason == "exit status: 101"),
            "{result:?}"
        );
    }

    #[test]
    fn requests_are_routed_by_method_and_path() {
        let cases = [
            ("GET", "/2018-06-01/runtime/invocation/next", Call::Next),
            (
                "POST",
                "/2018-06-01/runtime/invocation/abc/response",
                Call::Response {
                    request_id: "abc".into(),
                    body: vec![1],
                },
            ),
            (
                "POST",
                "/2018-06-01/runtime/invocation/abc/error",
                Call::Error {
                    request_id: "abc".into(),
                    body: vec![1],
                },
            ),
            (
                "POST",
                "/2018-06-01/runtime/init/error",
                Call::InitError { body: vec![1] },
            ),
            (
                "GET",
                "/2018-06-01/runtime/invocation/abc/response",
                Call::Unknown {
                    method: "GET".into(),
                    path: "/2018-06-01/runtime/invocation/abc/response".into(),
                },
            ),
        ];
        for (method, path, want) in cases {
            assert_eq!(
                classify(method, path, vec![1]),
                want,
                "case {method} {path}"
            );
        }
    }

    #[test]
    fn malformed_requests_get_no_success_and_the_api_keeps_serving() {
        let mut api = RuntimeApi::start().unwrap();
        let cases: &[&[u8]] = &[
            b"\r\n",
            b"GET /x HTTP/1.1\r\ncontent-length: nope\r\n\r\n",
            b"POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            b"POST /x HTTP/1.1\r\ncontent-length: 10\r\n\r\nshort",
            b"GET /x HTTP/1.1\r\nhost: cut",
        ];
        for case in cases {
            let mut stream = TcpStream::connect(api.address()).unwrap();
            stream.write_all(case).unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            assert!(
                !answer.starts_with("HTTP/1.1 2"),
                "case {:?} got {answer:?}",
                String::from_utf8_lossy(case)
            );
        }
        let runtime = fake_runtime(api.address());
        let first = api.invoke(b"ab", "req-1", &identity(), || Ok(())).unwrap();
        let second = api.invoke(b"cd", "req-2", &identity(), || Ok(())).unwrap();
        assert_eq!(
            (first.answer, second.answer),
            (b"ba".to_vec(), b"dc".to_vec())
        );
        assert_eq!(runtime.join().unwrap(), ["req-1", "req-2"]);
    }

    #[test]
    fn an_unknown_path_gets_404_while_an_event_is_awaited() {
        let mut api = RuntimeApi::start().unwrap();
        let address = api.address();
        let runtime = thread::spawn(move || {
            let stream = TcpStream::connect(address).unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            write!(writer, "GET {PREFIX}nope HTTP/1.1\r\n\r\n").unwrap();
            let unknown = read_response(&mut reader).0;
            write!(
                writer,
                "POST {PREFIX}init/error HTTP/1.1\r\ncontent-length: 4\r\n\r\nboom"
            )
            .unwrap();
            (unknown, read_response(&mut reader).0)
        });
        let result = api.invoke(b"{}", "req-1", &identity(), || Ok(()));
        assert!(
            matches!(&result, Err(RuntimeError::InitError(body)) if body == "boom"),
            "{result:?}"
        );
        assert_eq!(
            runtime.join().unwrap(),
            (
                "HTTP/1.1 404 Not Found".to_string(),
                "HTTP/1.1 202 Accepted".to_string()
            )
        );
    }
}
