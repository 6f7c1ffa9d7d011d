//! Work a handler leaves for after its response, the Lambda way: an internal extension.
//!
//! A handler hands work that the client need not wait for (the shortener's visit count and
//! analytics) to [`AfterResponse::spawn`] and returns. The runtime posts the response, and the
//! client has its answer, while that work runs. Lambda freezes an instance once the runtime *and*
//! every registered extension have asked for their next event, so [`serve`](crate::run::serve_after)
//! registers an internal extension for `INVOKE` events whose handling of each invocation waits for
//! the runtime to have posted that invocation's response (or error), then [`AfterResponse::drain`]s:
//! the instance is frozen only after the deferred work of that invocation has ended, and the next
//! invocation starts after it. The deferred time is billed as part of the
//! invocation (Lambda's "post-runtime" duration); it is bounded by whatever budget the work sets
//! itself.
//!
//! Where no extension can register (in-process tests, benches, an emulator without the Extensions
//! API), work still runs as soon as the handler yields, and the next request of the same instance
//! drains what is left first ([`AfterResponse::drain`] at the top of the handler), so an instance
//! always reads its own writes.
//!
//! AWS documents the pattern in "Running code after returning a response from an AWS Lambda
//! function" (AWS Compute Blog, 2023).

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// The work one instance has deferred and not yet seen end.
#[derive(Debug)]
pub struct AfterResponse {
    pending: Mutex<Vec<JoinHandle<()>>>,
    /// How many invocations' handlers have returned (so their work is all spawned).
    handled: watch::Sender<u64>,
    /// How many `INVOKE` events the extension has been given.
    invoked: AtomicU64,
}

impl Default for AfterResponse {
    fn default() -> Self {
        Self {
            pending: Mutex::new(Vec::new()),
            handled: watch::Sender::new(0),
            invoked: AtomicU64::new(0),
        }
    }
}

impl AfterResponse {
    /// Starts `work` now, in the current request's span, without making the response wait for it.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(work.instrument(tracing::Span::current()));
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|h| !h.is_finished());
        pending.push(handle);
    }

    /// Waits until every piece of work spawned so far has ended (a panic in one is logged).
    pub async fn drain(&self) {
        loop {
            let batch =
                std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
            if batch.is_empty() {
                return;
            }
            for handle in batch {
                if let Err(error) = handle.await {
                    tracing::error!(%error, "work deferred past the response failed");
                }
            }
        }
    }

    /// How many pieces of deferred work have not been seen to end.
    #[cfg(test)]
    fn pending(&self) -> usize {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.iter().filter(|h| !h.is_finished()).count()
    }

    /// Marks one invocation's handler as returned: everything it defers is spawned.
    pub fn handled(&self) {
        self.handled.send_modify(|n| *n += 1);
    }

    /// The extension's part of one `INVOKE` event: wait for that invocation's handler to return,
    /// then for its deferred work.
    async fn invoked(&self) {
        let invocation = self.invoked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut handled = self.handled.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = handled.wait_for(|n| *n >= invocation).await;
        self.drain().await;
    }

    /// Registers the internal extension that holds each invocation open until its deferred work
    /// ends, and runs it on this runtime. Must run before the runtime asks for its first event.
    /// Returns `false` (and logs why) where there is no Extensions API to register with.
    pub async fn register(&'static self) -> bool {
        let api = match extensions_api::Extension::register(EXTENSION_NAME).await {
            Ok(api) => api,
            Err(error) => {
                tracing::info!(
                    %error,
                    "no Lambda Extensions API: deferred work ends before the next request instead"
                );
                return false;
            }
        };
        tokio::spawn(async move {
            loop {
                match api.next().await {
                    Ok(extensions_api::Event::Invoke) => self.invoked().await,
                    Ok(extensions_api::Event::Other) => {}
                    Err(error) => {
                        // Lambda would now wait for this extension's next call at every invocation
                        // until the function's timeout: end the process, and Lambda starts a new one.
                        tracing::error!(%error, "the after-response extension stopped; exiting");
                        std::process::exit(70);
                    }
                }
            }
        });
        tracing::info!(
            extension = EXTENSION_NAME,
            "deferred work holds each invocation open"
        );
        true
    }
}

/// The Lambda Extensions API, as much of it as an internal extension for `INVOKE` events uses:
/// `register`, then `event/next` in a loop. Plain HTTP to `AWS_LAMBDA_RUNTIME_API`, on the
/// hyper client the crate has already (the `lambda-extension` crate added 231 KB to the
/// shortener's zip, which is over its 6 MB target; this adds about none).
mod extensions_api {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_rustls::HttpsConnector;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;

    /// The client type `crate::signed` uses too, so the binary carries one copy of its code
    /// (a plain `HttpConnector` client was another 100 KB in the shortener's zip). It only ever
    /// speaks plain HTTP here, so it trusts no certificate at all.
    type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

    fn http_client() -> Result<HttpClient, ApiError> {
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::Http(e.to_string()))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(HttpConnector::new());
        Ok(Client::builder(TokioExecutor::new()).build(connector))
    }

    pub struct Extension {
        http: HttpClient,
        base: String,
        id: String,
    }

    /// What `event/next` handed out.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Event {
        Invoke,
        /// `SHUTDOWN` (internal extensions are not sent it) or anything newer.
        Other,
    }

    #[derive(Debug, thiserror::Error)]
    pub enum ApiError {
        #[error("AWS_LAMBDA_RUNTIME_API is not set")]
        NoApi,
        #[error("{0}")]
        Http(String),
        #[error("{path} answered {status}")]
        Status {
            path: &'static str,
            status: http::StatusCode,
        },
        #[error("register answered without a Lambda-Extension-Identifier")]
        NoIdentifier,
    }

    /// `AWS_LAMBDA_RUNTIME_API` as a base URL: Lambda gives `host:port`; emulators such as
    /// `cargo lambda watch` give a URL with a path (`http://[::]:9000/.rt`).
    pub fn base_url(api: &str) -> String {
        let api = api.trim_end_matches('/');
        if api.starts_with("http://") || api.starts_with("https://") {
            api.to_owned()
        } else {
            format!("http://{api}")
        }
    }

    const REGISTER: &str = "/2020-01-01/extension/register";
    const NEXT: &str = "/2020-01-01/extension/event/next";

    impl Extension {
        pub async fn register(name: &str) -> Result<Self, ApiError> {
            let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| ApiError::NoApi)?;
            Self::register_at(&base_url(&api), name).await
        }

        pub async fn register_at(base: &str, name: &str) -> Result<Self, ApiError> {
            let http = http_client()?;
            let request = http::Request::post(format!("{base}{REGISTER}"))
                .header("Lambda-Extension-Name", name)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(br#"{"events":["INVOKE"]}"#)))
                .map_err(|e| ApiError::Http(e.to_string()))?;
            let response = http
                .request(request)
                .await
                .map_err(|e| ApiError::Http(e.to_string()))?;
            if !response.status().is_success() {
                return Err(ApiError::Status {
                    path: REGISTER,
                    status: response.status(),
                });
            }
            let id = response
                .headers()
                .get("Lambda-Extension-Identifier")
                .and_then(|v| v.to_str().ok())
                .ok_or(ApiError::NoIdentifier)?
                .to_owned();
            Ok(Self {
                http,
                base: base.to_owned(),
                id,
            })
        }

        /// Waits for the next event (a long poll: it returns when Lambda hands one out).
        pub async fn next(&self) -> Result<Event, ApiError> {
            let request = http::Request::get(format!("{}{NEXT}", self.base))
                .header("Lambda-Extension-Identifier", &self.id)
                .body(Full::new(Bytes::new()))
                .map_err(|e| ApiError::Http(e.to_string()))?;
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| ApiError::Http(e.to_string()))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| ApiError::Http(e.to_string()))?
                .to_bytes();
            if !status.is_success() {
                return Err(ApiError::Status { path: NEXT, status });
            }
            let event: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| ApiError::Http(e.to_string()))?;
            Ok(match event["eventType"].as_str() {
                Some("INVOKE") => Event::Invoke,
                _ => Event::Other,
            })
        }
    }
}

/// The layer around the runtime's service that marks each invocation handled once the runtime
/// has posted its response or error (see [`crate::run::serve_after`]).
#[derive(Clone, Copy)]
pub struct HandledLayer(pub &'static AfterResponse);

impl<S> lambda_http::tower::Layer<S> for HandledLayer {
    type Service = Handled<S>;

    fn layer(&self, inner: S) -> Handled<S> {
        Handled {
            inner,
            after: self.0,
        }
    }
}

/// See [`HandledLayer`].
#[derive(Clone)]
pub struct Handled<S> {
    inner: S,
    after: &'static AfterResponse,
}

impl<S, R> lambda_http::tower::Service<R> for Handled<S>
where
    S: lambda_http::tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        /// Marks the invocation handled even if the runtime's future is dropped or panics.
        struct Mark(&'static AfterResponse);
        impl Drop for Mark {
            fn drop(&mut self) {
                self.0.handled();
            }
        }
        let mark = Mark(self.after);
        let call = self.inner.call(request);
        Box::pin(async move {
            let _mark = mark;
            call.await
        })
    }
}

/// The name the extension registers under (it shows in Lambda's platform logs).
pub const EXTENSION_NAME: &str = "after-response";

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    }

    #[test]
    fn drain_waits_for_work_spawned_before_and_during_it() {
        runtime().block_on(async {
            let after = Arc::new(AfterResponse::default());
            let done = Arc::new(AtomicU64::new(0));
            for delay in [5, 1, 3] {
                let (after2, done2) = (after.clone(), done.clone());
                after.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    done2.fetch_add(1, Ordering::SeqCst);
                    // Work that defers more work: drain waits for that too.
                    if delay == 5 {
                        let done3 = done2.clone();
                        after2.spawn(async move {
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            done3.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                });
            }
            assert_eq!(done.load(Ordering::SeqCst), 0, "spawn made the caller wait");
            after.drain().await;
            assert_eq!(done.load(Ordering::SeqCst), 4);
            assert_eq!(after.pending(), 0);
        });
    }

    #[test]
    fn an_invoke_event_ends_only_after_its_handler_and_its_work() {
        runtime().block_on(async {
            let after: &'static AfterResponse = Box::leak(Box::default());
            let work_done = Arc::new(AtomicBool::new(false));
            // The extension is given the event while the handler is still running.
            let extension = tokio::spawn(after.invoked());
            tokio::task::yield_now().await;
            assert!(
                !extension.is_finished(),
                "ended before the handler returned"
            );
            let flag = work_done.clone();
            after.spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                flag.store(true, Ordering::SeqCst);
            });
            after.handled();
            extension.await.expect("the extension's invoke");
            assert!(
                work_done.load(Ordering::SeqCst),
                "ended before the deferred work"
            );
        });
    }

    #[test]
    fn an_invoke_event_given_after_the_handler_returned_still_waits_for_the_work() {
        runtime().block_on(async {
            let after: &'static AfterResponse = Box::leak(Box::default());
            let work_done = Arc::new(AtomicBool::new(false));
            let flag = work_done.clone();
            after.spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                flag.store(true, Ordering::SeqCst);
            });
            after.handled();
            after.invoked().await;
            assert!(work_done.load(Ordering::SeqCst));
        });
    }

    #[test]
    fn the_layer_marks_an_invocation_handled_when_the_runtime_is_done_with_it_however_it_ended() {
        use lambda_http::tower::{Layer, Service, service_fn};
        runtime().block_on(async {
            let after: &'static AfterResponse = Box::leak(Box::default());
            let handled = || *after.handled.borrow();
            let mut service = HandledLayer(after).layer(service_fn(|ok: bool| async move {
                tokio::task::yield_now().await;
                if ok { Ok(()) } else { Err("not an HTTP event") }
            }));
            let call = service.call(true);
            assert_eq!(handled(), 0, "marked before the runtime was done");
            call.await.expect("the response");
            assert_eq!(handled(), 1);
            // An event that fails before any handler runs is still an invocation done with.
            assert!(service.call(false).await.is_err());
            assert_eq!(handled(), 2);
            // So is one whose future is dropped unpolled.
            drop(service.call(true));
            assert_eq!(handled(), 3);
        });
    }

    /// A stand-in for Lambda's Extensions API: answers each connection's one request with the
    /// next of `answers` (status, extra header, body) and hands back the requests it got.
    async fn fake_api(
        answers: Vec<(u16, &'static str, &'static str)>,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for (status, header, body) in answers {
                let (mut socket, _) = listener.accept().await.expect("a connection");
                let mut request = vec![0u8; 4096];
                let n = socket.read(&mut request).await.expect("a request");
                seen.push(String::from_utf8_lossy(&request[..n]).into_owned());
                let response = format!(
                    "HTTP/1.1 {status} X\r\n{header}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket
                    .write_all(response.as_bytes())
                    .await
                    .expect("an answer");
            }
            seen
        });
        (base, server)
    }

    #[test]
    fn the_extension_registers_for_invoke_and_reads_its_events() {
        use extensions_api::{Event, Extension};
        runtime().block_on(async {
            let (base, server) = fake_api(vec![
                (200, "Lambda-Extension-Identifier: ext-1\r\n", "{}"),
                (
                    200,
                    "",
                    r#"{"eventType":"INVOKE","requestId":"r1","deadlineMs":1}"#,
                ),
                (200, "", r#"{"eventType":"SHUTDOWN"}"#),
                (500, "", "{}"),
            ])
            .await;
            let extension = Extension::register_at(&base, "after-response")
                .await
                .expect("registered");
            assert_eq!(extension.next().await.expect("an event"), Event::Invoke);
            assert_eq!(extension.next().await.expect("an event"), Event::Other);
            assert!(extension.next().await.is_err(), "a 500 is an error");
            let seen = server.await.expect("the fake API");
            let register = seen[0].to_ascii_lowercase();
            assert!(
                register.starts_with("post /2020-01-01/extension/register "),
                "{register}"
            );
            assert!(
                register.contains("lambda-extension-name: after-response"),
                "{register}"
            );
            assert!(register.contains(r#"{"events":["invoke"]}"#), "{register}");
            let next = seen[1].to_ascii_lowercase();
            assert!(
                next.starts_with("get /2020-01-01/extension/event/next "),
                "{next}"
            );
            assert!(
                next.contains("lambda-extension-identifier: ext-1"),
                "{next}"
            );
        });
    }

    #[test]
    fn the_runtime_api_is_read_as_lambda_and_emulators_give_it() {
        use extensions_api::base_url;
        assert_eq!(base_url("127.0.0.1:9001"), "http://127.0.0.1:9001");
        assert_eq!(base_url("http://[::]:9000/.rt/"), "http://[::]:9000/.rt");
    }

    #[test]
    fn registering_without_an_identifier_fails() {
        runtime().block_on(async {
            let (base, _server) = fake_api(vec![(200, "", "{}")]).await;
            assert!(
                extensions_api::Extension::register_at(&base, "x")
                    .await
                    .is_err()
            );
        });
    }

    #[test]
    fn a_panic_in_deferred_work_is_contained() {
        runtime().block_on(async {
            let after = AfterResponse::default();
            after.spawn(async { panic!("deferred work failed") });
            after.drain().await;
            assert_eq!(after.pending(), 0);
        });
    }
}
