//! How the explorer reaches a function: over HTTP at its Function URL ([`HttpTransport`], the
//! local stack's `/lambda-url/<function>` or a deployed stack's URLs, from the endpoints file), or
//! through the Invoke API ([`InvokeTransport`], any [`Invoker`]: AWS, `cargo lambda watch`, or the
//! handlers in-process). Never through the experiment proxy: exploring is not traffic.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use experiments::adapters::invoke::{InvokeError, Invoker};
use experiments::adapters::payload;
use experiments::domain::compare::{Observed, excerpt};

use shared::function_url::{IamUrls, Signer};

use crate::probe::Probe;

/// A function could not be asked, or its answer not read (an answer with any status is an answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function}: {detail}")]
pub struct SendError {
    pub function: String,
    pub detail: String,
}

impl SendError {
    pub fn new(function: &str, detail: impl Into<String>) -> Self {
        Self {
            function: function.to_owned(),
            detail: detail.into(),
        }
    }
}

/// Sends one request to one function and returns its HTTP answer.
pub trait Transport {
    fn send(
        &self,
        function: &str,
        probe: &Probe,
    ) -> impl Future<Output = Result<Observed, SendError>>;
}

/// Function URLs: `{"<function>": "<base URL>", ...}` as in the endpoints file.
pub struct HttpTransport {
    urls: BTreeMap<String, String>,
    client: reqwest::Client,
    timeout: Duration,
    /// For a stack whose Function URLs are `AWS_IAM`: which, and the signer.
    signing: Option<(IamUrls, Signer)>,
}

impl HttpTransport {
    /// From the endpoints file's JSON (entries that are not text, such as `tables`, are skipped).
    pub fn from_endpoints(endpoints: &serde_json::Value, timeout: Duration) -> Self {
        let urls = endpoints
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, url)| {
                Some((name.clone(), url.as_str()?.trim_end_matches('/').to_owned()))
            })
            .collect();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Self {
            urls,
            client,
            timeout,
            signing: None,
        }
    }

    /// Signs the requests to the Function URLs the endpoints file lists as `AWS_IAM`.
    pub fn signed(mut self, urls: IamUrls, signer: Signer) -> Self {
        self.signing = Some((urls, signer));
        self
    }

    pub fn url(&self, function: &str, probe: &Probe) -> Option<String> {
        Some(format!("{}{}", self.urls.get(function)?, probe.target()))
    }
}

impl Transport for HttpTransport {
    async fn send(&self, function: &str, probe: &Probe) -> Result<Observed, SendError> {
        let url = self
            .url(function, probe)
            .ok_or_else(|| SendError::new(function, "not in the endpoints file"))?;
        let method = reqwest::Method::from_bytes(probe.method.as_bytes())
            .map_err(|e| SendError::new(function, e.to_string()))?;
        let mut request = self.client.request(method, &url);
        let mut headers: Vec<(String, String)> = probe
            .headers()
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        if let Some((urls, signer)) = &self.signing
            && urls.wants_signature(function)
        {
            let body = probe.body.clone().unwrap_or_default();
            let signature = signer
                .headers_for(&probe.method, &url, &headers, body.as_bytes())
                .await
                .map_err(|e| SendError::new(function, e.to_string()))?;
            headers.extend(signature);
        }
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        if let Some(body) = &probe.body {
            request = request.body(body.clone());
        }
        let response = match request.send().await {
            Ok(response) => response,
            // As the comparator counts it, a difference: 504, as a gateway would answer.
            Err(error) if error.is_timeout() => return Ok(no_answer(self.timeout)),
            Err(error) => return Err(SendError::new(function, format!("{url}: {error}"))),
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .text()
            .await
            .map_err(|e| SendError::new(function, format!("{url}: {e}")))?;
        Ok(Observed {
            status,
            headers,
            body,
        })
    }
}

/// What a function that did not answer within `timeout` is taken to have answered.
pub fn no_answer(timeout: Duration) -> Observed {
    Observed {
        status: 504,
        headers: BTreeMap::new(),
        body: format!("no answer within {} ms", timeout.as_millis()),
    }
}

/// The Invoke API through an [`Invoker`] (the experiments crate's `LambdaInvoker` on AWS or
/// locally, or an in-process one). A function that fails answers 502, as its Function URL would.
pub struct InvokeTransport<I> {
    pub invoker: I,
}

impl<I: Invoker> Transport for InvokeTransport<I> {
    async fn send(&self, function: &str, probe: &Probe) -> Result<Observed, SendError> {
        let event = probe.event().to_string().into_bytes();
        match self.invoker.invoke(function, event).await {
            Ok(bytes) => payload::observed(&bytes).ok_or_else(|| {
                SendError::new(
                    function,
                    format!(
                        "not an HTTP answer: {}",
                        excerpt(&String::from_utf8_lossy(&bytes))
                    ),
                )
            }),
            Err(InvokeError::FunctionError(detail)) => Ok(Observed {
                status: 502,
                headers: BTreeMap::new(),
                body: format!("the function failed: {}", excerpt(&detail)),
            }),
            Err(InvokeError::Failed(detail)) => Err(SendError::new(function, detail)),
        }
    }
}

#[cfg(test)]
mod tests {
    use experiments::adapters::invoke::BoxFuture;
    use serde_json::json;

    use super::*;

    /// Echoes the event's raw query as an HTTP answer; `broken` fails as a function.
    struct Echo;

    impl Invoker for Echo {
        fn invoke<'a>(
            &'a self,
            function: &'a str,
            payload: Vec<u8>,
        ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
            Box::pin(async move {
                if function == "broken" {
                    return Err(InvokeError::FunctionError("panicked".to_owned()));
                }
                let event: serde_json::Value = serde_json::from_slice(&payload).unwrap();
                Ok(json!({"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": event["rawQueryString"]})
                    .to_string()
                    .into_bytes())
            })
        }

        fn invoke_event<'a>(
            &'a self,
            _: &'a str,
            _: Vec<u8>,
        ) -> BoxFuture<'a, Result<(), InvokeError>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn the_invoke_api_gets_the_probe_as_an_event_and_a_failure_answers_502() {
        let transport = InvokeTransport { invoker: Echo };
        let probe = Probe::get("/round", "number=0.5".to_owned());
        let answer = transport.send("round-control", &probe).await.unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "number=0.5");
        assert_eq!(answer.headers["content-type"], "text/plain");
        let failed = transport.send("broken", &probe).await.unwrap();
        assert_eq!(failed.status, 502);
    }

    #[tokio::test]
    async fn a_function_that_does_not_answer_in_time_answered_504_and_one_not_listening_is_an_error()
     {
        // Connections queue in the backlog; nothing ever answers them.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let transport = HttpTransport::from_endpoints(
            &json!({
                "silent": format!("http://{}", silent.local_addr().unwrap()),
                "closed": format!("http://127.0.0.1:{closed_port}"),
            }),
            Duration::from_millis(100),
        );
        let probe = Probe::get("/round", "number=0.5".to_owned());
        let answer = transport.send("silent", &probe).await.unwrap();
        assert_eq!(answer, no_answer(Duration::from_millis(100)));
        assert_eq!(answer.status, 504);
        let error = transport.send("closed", &probe).await.unwrap_err();
        assert_eq!(error.function, "closed");
        let missing = transport.send("nobody", &probe).await.unwrap_err();
        assert!(missing.detail.contains("endpoints file"), "{missing}");
    }

    #[test]
    fn a_function_url_is_its_base_then_the_path_and_query() {
        let transport = HttpTransport::from_endpoints(
            &json!({"round-control": "http://127.0.0.1:9000/lambda-url/round-control/", "tables": {"a": "b"}}),
            Duration::from_secs(1),
        );
        let probe = Probe::get("/round", "number=0.5".to_owned());
        assert_eq!(
            transport.url("round-control", &probe).as_deref(),
            Some("http://127.0.0.1:9000/lambda-url/round-control/round?number=0.5")
        );
        assert_eq!(transport.url("tables", &probe), None);
    }
}
