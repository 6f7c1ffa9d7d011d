//! A small AWS client without an SDK crate: one JSON 1.1 operation per call, signed with SigV4.
//!
//! AWS services that speak JSON 1.1 (Secrets Manager, CodeDeploy, ...) take every operation as a
//! `POST /` to `https://<endpoint prefix>.<region>.amazonaws.com/` with
//! `X-Amz-Target: <target prefix>.<Operation>` and the input as JSON. Signing is [`aws_sigv4`] and
//! the transport the hyper and rustls that the SDK's own HTTP client is built on, so this costs
//! no crate the workspace does not compile already. An SDK crate per service would: compiling
//! `aws-sdk-codedeploy` took 21 s (debug) and 27 s (arm64 release) on this two-core machine.
//!
//! [`request`], [`sign`] and [`answer`] are pure and unit-tested; [`JsonClient`] puts them
//! together with a timeout per attempt and retries of what is worth retrying.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as sigv4};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// The JSON 1.1 content type, on requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Attempts per call: a throttled, failed (5xx) or unanswered attempt is tried again.
const ATTEMPTS: u32 = 3;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Before attempt n + 1: n times this.
const BACKOFF: Duration = Duration::from_millis(200);

/// The longest a call can take: every attempt timing out, and the backoffs between them.
pub const MAX_CALL: Duration = Duration::from_millis(
    ATTEMPTS as u64 * ATTEMPT_TIMEOUT.as_millis() as u64
        + (ATTEMPTS as u64 - 1) * ATTEMPTS as u64 / 2 * BACKOFF.as_millis() as u64,
);

/// A JSON 1.1 service: what SigV4 calls it and what prefixes its operations' targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// SigV4's name for the service, also the first label of its endpoint's host.
    pub signing_name: &'static str,
    /// `X-Amz-Target` is this, `.`, and the operation's name.
    pub target_prefix: &'static str,
}

impl Service {
    /// The regional endpoint (`amazonaws.com.cn` in the China regions).
    pub fn endpoint(&self, region: &str) -> String {
        let domain = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://{}.{region}.{domain}/", self.signing_name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The service answered with an error (`__type` and `message` of its JSON body).
    #[error("{operation}: HTTP {status} {code}: {message}")]
    Service {
        operation: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    /// No answer: connection, TLS, or the attempt's timeout.
    #[error("{operation}: no answer: {detail}")]
    Transport {
        operation: &'static str,
        detail: String,
    },
    /// The request could not be built.
    #[error("request not built: {0}")]
    Request(String),
    #[error("no AWS credentials to sign with: {0}")]
    Credentials(String),
    #[error("could not sign the request: {0}")]
    Signing(String),
}

impl CallError {
    /// Worth another attempt: no answer, a server error, or throttling.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Service { status, code, .. } => {
                *status >= 500 || code.contains("Throttling") || *status == 429
            }
            _ => false,
        }
    }
}

/// The unsigned request for `operation` of `service`: `POST` to `endpoint` with the target
/// header, the JSON 1.1 content type and `body` (the input as JSON).
pub fn request(
    service: Service,
    endpoint: &str,
    operation: &str,
    body: Vec<u8>,
) -> Result<http::Request<Vec<u8>>, CallError> {
    http::Request::builder()
        .method(http::Method::POST)
        .uri(endpoint)
        .header("content-type", CONTENT_TYPE)
        .header(
            "x-amz-target",
            format!("{}.{operation}", service.target_prefix),
        )
        .body(body)
        .map_err(|e| CallError::Request(format!("{endpoint}: {e}")))
}

/// Signs `request` with SigV4 for `service` in `region` at `time`: adds `x-amz-date`,
/// `authorization` and, for temporary credentials, `x-amz-security-token`.
pub fn sign(
    request: &mut http::Request<Vec<u8>>,
    service: Service,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), CallError> {
    let signing = |e: &dyn std::fmt::Display| CallError::Signing(e.to_string());
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service.signing_name)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| signing(&e))?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri,
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| signing(&e))?;
    let (instructions, _signature) = sigv4(signable, &params)
        .map_err(|e| signing(&e))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "__type")]
    kind: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
}

/// `Ok` for a 2xx; otherwise the error the body names
/// (`{"__type": "...#ResourceNotFoundException", "message": "..."}`).
pub fn answer(operation: &'static str, status: u16, body: &[u8]) -> Result<(), CallError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let error: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let code = error
        .as_ref()
        .and_then(|e| e.kind.as_deref())
        .map(|kind| kind.rsplit('#').next().unwrap_or(kind).to_owned())
        .unwrap_or_else(|| "UnknownError".to_owned());
    let message = error
        .and_then(|e| e.message)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    Err(CallError::Service {
        operation,
        status,
        code,
        message,
    })
}

/// An error and its causes on one line: hyper's own message ("client error (Connect)") says
/// little without them.
pub fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One JSON 1.1 service over HTTPS, signed with the credentials of the function's role.
pub struct JsonClient {
    service: Service,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    credentials: SharedCredentialsProvider,
    region: String,
    endpoint: String,
}

impl JsonClient {
    /// A client for `service` at `endpoint` (see [`Service::endpoint`]). Fails when the system's
    /// root certificates cannot be read.
    pub fn new(
        service: Service,
        credentials: SharedCredentialsProvider,
        region: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> std::io::Result<Self> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())?
            // Plain HTTP only for an endpoint given as http:// (a test's stand-in).
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            service,
            client: Client::builder(TokioExecutor::new()).build(https),
            credentials,
            region: region.into(),
            endpoint: endpoint.into(),
        })
    }

    /// Sends `operation` with its JSON input until it is accepted (2xx), gives an error not worth
    /// retrying, or the attempts are used up; the accepted answer's body.
    pub async fn call(&self, operation: &'static str, body: Vec<u8>) -> Result<Bytes, CallError> {
        let mut attempt = 1;
        loop {
            match self.attempt(operation, body.clone()).await {
                Err(error) if error.is_retryable() && attempt < ATTEMPTS => {
                    tracing::warn!(operation, attempt, %error, "AWS call retried");
                    tokio::time::sleep(BACKOFF * attempt).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn attempt(&self, operation: &'static str, body: Vec<u8>) -> Result<Bytes, CallError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| CallError::Credentials(e.to_string()))?;
        let mut request = request(self.service, &self.endpoint, operation, body)?;
        sign(
            &mut request,
            self.service,
            &credentials,
            &self.region,
            SystemTime::now(),
        )?;
        let transport = |detail: String| CallError::Transport { operation, detail };
        let exchange = async {
            let response = self
                .client
                .request(request.map(|body| Full::new(Bytes::from(body))))
                .await
                .map_err(|e| transport(causes(&e)))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| transport(causes(&e)))?
                .to_bytes();
            Ok::<_, CallError>((status, body))
        };
        let (status, body) = tokio::time::timeout(ATTEMPT_TIMEOUT, exchange)
            .await
            .map_err(|_| transport(format!("none within {} s", ATTEMPT_TIMEOUT.as_secs())))??;
        answer(operation, status, &body)?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRETS: Service = Service {
        signing_name: "secretsmanager",
        target_prefix: "secretsmanager",
    };

    #[test]
    fn an_operation_is_a_post_with_its_target_to_the_regional_endpoint() {
        assert_eq!(
            SECRETS.endpoint("eu-west-1"),
            "https://secretsmanager.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            SECRETS.endpoint("cn-north-1"),
            "https://secretsmanager.cn-north-1.amazonaws.com.cn/"
        );
        let get = request(
            SECRETS,
            &SECRETS.endpoint("eu-west-1"),
            "GetSecretValue",
            b"{}".to_vec(),
        )
        .unwrap();
        assert_eq!(get.method(), http::Method::POST);
        assert_eq!(get.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(
            get.headers()["x-amz-target"],
            "secretsmanager.GetSecretValue"
        );
    }

    #[test]
    fn signing_adds_the_date_the_token_and_a_sigv4_authorization_for_the_service() {
        let mut get = request(
            SECRETS,
            "https://secretsmanager.us-east-1.amazonaws.com/",
            "GetSecretValue",
            br#"{"SecretId":"s"}"#.to_vec(),
        )
        .unwrap();
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "t");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        sign(&mut get, SECRETS, &credentials, "us-east-1", time).unwrap();
        assert_eq!(get.headers()["x-amz-date"], "20150830T123600Z");
        assert_eq!(get.headers()["x-amz-security-token"], "token");
        let authorization = get.headers()["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/secretsmanager/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature="
            ),
            "{authorization}"
        );
    }

    #[test]
    fn error_answers_name_the_exception_and_say_whether_to_retry() {
        let error = answer(
            "GetSecretValue",
            400,
            br#"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#,
        )
        .unwrap_err();
        assert_eq!(
            error,
            CallError::Service {
                operation: "GetSecretValue",
                status: 400,
                code: "ResourceNotFoundException".into(),
                message: "Secrets Manager can't find the specified secret.".into(),
            }
        );
        assert!(!error.is_retryable());
        let throttled = answer(
            "GetSecretValue",
            400,
            br#"{"__type":"com.amazonaws#ThrottlingException","message":"Rate exceeded"}"#,
        )
        .unwrap_err();
        assert!(throttled.is_retryable(), "{throttled}");
        let unavailable = answer("GetSecretValue", 503, b"<html>busy</html>").unwrap_err();
        assert!(unavailable.is_retryable());
        assert!(answer("GetSecretValue", 200, b"{}").is_ok());
    }
}
