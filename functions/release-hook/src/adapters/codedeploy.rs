//! CodeDeploy's API, the three operations the hook calls: `ListDeploymentTargets`,
//! `GetDeploymentTarget` and `PutLifecycleEventHookExecutionStatus`.
//!
//! Not `aws-sdk-codedeploy`: compiling it took 21 s (debug) and 27 s (arm64 release at
//! opt-level s) on this two-core machine, more than `./build.sh test`'s headroom under CI's limit.
//! CodeDeploy speaks AWS JSON 1.1, so each operation is one `POST /` to
//! `https://codedeploy.<region>.amazonaws.com/` with `X-Amz-Target: CodeDeploy_20141006.<Operation>`
//! and a JSON body: [`shared::signed`]'s client (SigV4, with the hyper and rustls the SDK is built
//! on), which the functions' Secrets Manager calls use too. The request and response structs are
//! the API reference's shapes, limited to the fields the hook uses (others are ignored when read).
//!
//! [`request`], [`sign`] and [`parse`] are pure and unit-tested; [`HttpCodeDeploy`] puts them
//! together, with a timeout per attempt and retries of what is worth retrying.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use experiments::adapters::invoke::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::signed::{CallError, JsonClient, Service};

pub use shared::signed::{CONTENT_TYPE, MAX_CALL};

/// CodeDeploy as a JSON 1.1 service: SigV4's name for it, and what prefixes `X-Amz-Target`.
pub const SERVICE: Service = Service {
    signing_name: "codedeploy",
    target_prefix: "CodeDeploy_20141006",
};

/// One operation: its name, its input (this type) and its output.
pub trait Operation: Serialize + Sync {
    const NAME: &'static str;
    type Output: DeserializeOwned + Send;
}

/// `ListDeploymentTargets` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDeploymentTargets {
    pub deployment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `ListDeploymentTargets` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentTargets {
    #[serde(default)]
    pub target_ids: Vec<String>,
    pub next_token: Option<String>,
}

impl Operation for ListDeploymentTargets {
    const NAME: &'static str = "ListDeploymentTargets";
    type Output = DeploymentTargets;
}

/// `GetDeploymentTarget` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeploymentTarget {
    pub deployment_id: String,
    pub target_id: String,
}

/// `GetDeploymentTarget` output.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentTargetOutput {
    pub deployment_target: Option<DeploymentTarget>,
}

/// A deployment's target; for a Lambda deployment, `lambdaTarget`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentTarget {
    /// `InstanceTarget`, `LambdaTarget`, `ECSTarget` or `CloudFormationTarget`.
    pub deployment_target_type: Option<String>,
    pub lambda_target: Option<LambdaTarget>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaTarget {
    pub target_id: Option<String>,
    pub status: Option<String>,
    pub lambda_function_info: Option<LambdaFunctionInfo>,
}

/// The function a Lambda deployment shifts an alias of, from one version to another.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaFunctionInfo {
    pub function_name: Option<String>,
    pub function_alias: Option<String>,
    pub current_version: Option<String>,
    pub target_version: Option<String>,
    pub target_version_weight: Option<f64>,
}

impl Operation for GetDeploymentTarget {
    const NAME: &'static str = "GetDeploymentTarget";
    type Output = DeploymentTargetOutput;
}

/// What a validation hook reports. (The API's other lifecycle statuses are refused here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookStatus {
    Succeeded,
    Failed,
}

impl std::fmt::Display for HookStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        })
    }
}

/// `PutLifecycleEventHookExecutionStatus` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLifecycleEventHookExecutionStatus {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
    pub status: HookStatus,
}

/// `PutLifecycleEventHookExecutionStatus` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookExecution {
    pub lifecycle_event_hook_execution_id: Option<String>,
}

impl Operation for PutLifecycleEventHookExecutionStatus {
    const NAME: &'static str = "PutLifecycleEventHookExecutionStatus";
    type Output = HookExecution;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeDeployError {
    /// CodeDeploy answered with an error (`__type` and `message` of its JSON body).
    #[error("CodeDeploy {operation}: HTTP {status} {code}: {message}")]
    Service {
        operation: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    /// No answer: connection, TLS, or the attempt's timeout.
    #[error("CodeDeploy {operation}: no answer: {detail}")]
    Transport {
        operation: &'static str,
        detail: String,
    },
    /// A 2xx answer that is not the operation's output.
    #[error("CodeDeploy {operation}: unexpected answer: {detail}")]
    Malformed {
        operation: &'static str,
        detail: String,
    },
    /// The input could not be made into a request.
    #[error("CodeDeploy request not built: {0}")]
    Request(String),
    #[error("no AWS credentials to sign with: {0}")]
    Credentials(String),
    #[error("could not sign the request: {0}")]
    Signing(String),
}

impl From<CallError> for CodeDeployError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Service {
                operation,
                status,
                code,
                message,
            } => Self::Service {
                operation,
                status,
                code,
                message,
            },
            CallError::Transport { operation, detail } => Self::Transport { operation, detail },
            CallError::Request(detail) => Self::Request(detail),
            CallError::Credentials(detail) => Self::Credentials(detail),
            CallError::Signing(detail) => Self::Signing(detail),
        }
    }
}

impl CodeDeployError {
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

/// CodeDeploy as the hook uses it: one method per operation. [`HttpCodeDeploy`] is the real one.
pub trait CodeDeploy: Send + Sync {
    fn list_deployment_targets<'a>(
        &'a self,
        input: &'a ListDeploymentTargets,
    ) -> BoxFuture<'a, Result<DeploymentTargets, CodeDeployError>>;

    fn get_deployment_target<'a>(
        &'a self,
        input: &'a GetDeploymentTarget,
    ) -> BoxFuture<'a, Result<DeploymentTargetOutput, CodeDeployError>>;

    fn put_lifecycle_event_hook_execution_status<'a>(
        &'a self,
        input: &'a PutLifecycleEventHookExecutionStatus,
    ) -> BoxFuture<'a, Result<HookExecution, CodeDeployError>>;
}

/// The regional endpoint (`amazonaws.com.cn` in the China regions).
pub fn endpoint_for(region: &str) -> String {
    SERVICE.endpoint(region)
}

/// The unsigned request for `input`: `POST` to `endpoint` with the target header, the JSON 1.1
/// content type and the input as JSON.
pub fn request<O: Operation>(
    endpoint: &str,
    input: &O,
) -> Result<http::Request<Vec<u8>>, CodeDeployError> {
    let body = serde_json::to_vec(input).map_err(|e| CodeDeployError::Request(e.to_string()))?;
    Ok(shared::signed::request(SERVICE, endpoint, O::NAME, body)?)
}

/// Signs `request` with SigV4 for CodeDeploy in `region` at `time`: adds `x-amz-date`,
/// `authorization` and, for temporary credentials, `x-amz-security-token`.
pub fn sign(
    request: &mut http::Request<Vec<u8>>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), CodeDeployError> {
    Ok(shared::signed::sign(
        request,
        SERVICE,
        credentials,
        region,
        time,
    )?)
}

/// An answer to `operation`: its output for a 2xx, otherwise the error CodeDeploy names in the
/// body (`{"__type": "...#DeploymentDoesNotExistException", "message": "..."}`).
pub fn parse<T: DeserializeOwned>(
    operation: &'static str,
    status: u16,
    body: &[u8],
) -> Result<T, CodeDeployError> {
    shared::signed::answer(operation, status, body)?;
    output(operation, body)
}

/// A 2xx body as the operation's output; an empty one is an output with no fields.
fn output<T: DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T, CodeDeployError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| CodeDeployError::Malformed {
        operation,
        detail: format!("{e}: {}", String::from_utf8_lossy(body)),
    })
}

pub(crate) use shared::signed::causes;

/// CodeDeploy over HTTPS, signed with the credentials of the function's role.
pub struct HttpCodeDeploy {
    client: JsonClient,
}

impl HttpCodeDeploy {
    /// A client for `endpoint` (see [`endpoint_for`]). Fails when the system's root certificates
    /// cannot be read.
    pub fn new(
        credentials: SharedCredentialsProvider,
        region: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> std::io::Result<Self> {
        Ok(Self {
            client: JsonClient::new(SERVICE, credentials, region, endpoint)?,
        })
    }

    async fn call<O: Operation>(&self, input: &O) -> Result<O::Output, CodeDeployError> {
        let body =
            serde_json::to_vec(input).map_err(|e| CodeDeployError::Request(e.to_string()))?;
        let answer = self.client.call(O::NAME, body).await?;
        output(O::NAME, &answer)
    }
}

impl CodeDeploy for HttpCodeDeploy {
    fn list_deployment_targets<'a>(
        &'a self,
        input: &'a ListDeploymentTargets,
    ) -> BoxFuture<'a, Result<DeploymentTargets, CodeDeployError>> {
        Box::pin(self.call(input))
    }

    fn get_deployment_target<'a>(
        &'a self,
        input: &'a GetDeploymentTarget,
    ) -> BoxFuture<'a, Result<DeploymentTargetOutput, CodeDeployError>> {
        Box::pin(self.call(input))
    }

    fn put_lifecycle_event_hook_execution_status<'a>(
        &'a self,
        input: &'a PutLifecycleEventHookExecutionStatus,
    ) -> BoxFuture<'a, Result<HookExecution, CodeDeployError>> {
        Box::pin(self.call(input))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};

    use serde_json::{Value, json};

    use super::*;

    fn body_json(request: &http::Request<Vec<u8>>) -> Value {
        serde_json::from_slice(request.body()).expect("a JSON body")
    }

    #[test]
    fn each_operation_is_a_post_with_its_target_and_its_input_as_json() {
        let endpoint = endpoint_for("eu-west-1");
        assert_eq!(endpoint, "https://codedeploy.eu-west-1.amazonaws.com/");
        assert_eq!(
            endpoint_for("cn-north-1"),
            "https://codedeploy.cn-north-1.amazonaws.com.cn/"
        );

        let list = request(
            &endpoint,
            &ListDeploymentTargets {
                deployment_id: "d-A1B2C3D4E".into(),
                next_token: None,
            },
        )
        .unwrap();
        assert_eq!(list.method(), http::Method::POST);
        assert_eq!(list.uri(), "https://codedeploy.eu-west-1.amazonaws.com/");
        assert_eq!(list.headers()["content-type"], "application/x-amz-json-1.1");
        assert_eq!(
            list.headers()["x-amz-target"],
            "CodeDeploy_20141006.ListDeploymentTargets"
        );
        assert_eq!(body_json(&list), json!({"deploymentId": "d-A1B2C3D4E"}));

        let next = request(
            &endpoint,
            &ListDeploymentTargets {
                deployment_id: "d-A1B2C3D4E".into(),
                next_token: Some("page-2".into()),
            },
        )
        .unwrap();
        assert_eq!(
            body_json(&next),
            json!({"deploymentId": "d-A1B2C3D4E", "nextToken": "page-2"})
        );

        let get = request(
            &endpoint,
            &GetDeploymentTarget {
                deployment_id: "d-A1B2C3D4E".into(),
                target_id: "rust-serverless-dev-round-control".into(),
            },
        )
        .unwrap();
        assert_eq!(
            get.headers()["x-amz-target"],
            "CodeDeploy_20141006.GetDeploymentTarget"
        );
        assert_eq!(
            body_json(&get),
            json!({"deploymentId": "d-A1B2C3D4E", "targetId": "rust-serverless-dev-round-control"})
        );

        let put = request(
            &endpoint,
            &PutLifecycleEventHookExecutionStatus {
                deployment_id: "d-A1B2C3D4E".into(),
                lifecycle_event_hook_execution_id: "eyJhbGciOi".into(),
                status: HookStatus::Failed,
            },
        )
        .unwrap();
        assert_eq!(
            put.headers()["x-amz-target"],
            "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"
        );
        assert_eq!(
            body_json(&put),
            json!({"deploymentId": "d-A1B2C3D4E", "lifecycleEventHookExecutionId": "eyJhbGciOi", "status": "Failed"})
        );
    }

    /// The signature for fixed credentials, region and time, recomputed outside Rust (Python's
    /// hmac and hashlib, by SigV4's steps: canonical request, string to sign, derived key).
    #[test]
    fn signing_adds_the_date_the_token_and_a_sigv4_authorization() {
        let mut put = request(
            "https://codedeploy.us-east-1.amazonaws.com/",
            &PutLifecycleEventHookExecutionStatus {
                deployment_id: "d-A1B2C3D4E".into(),
                lifecycle_event_hook_execution_id: "exec-1".into(),
                status: HookStatus::Succeeded,
            },
        )
        .unwrap();
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session-token".into()),
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        sign(&mut put, &credentials, "us-east-1", time).unwrap();
        let headers = put.headers();
        assert_eq!(headers["x-amz-date"], "20150830T123600Z");
        assert_eq!(headers["x-amz-security-token"], "session-token");
        let authorization = headers["authorization"].to_str().unwrap();
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/codedeploy/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
             Signature=dd592ca9201cace5187567b51dd7b91b1585f4c85998bb674b28de9b61a69263"
        );
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn documented_answers_parse_into_the_outputs() {
        let targets: DeploymentTargets = parse(
            "ListDeploymentTargets",
            200,
            &fixture("list-deployment-targets.json"),
        )
        .unwrap();
        assert_eq!(targets.target_ids, ["rust-serverless-dev-round-control"]);
        assert_eq!(targets.next_token, None);

        let target: DeploymentTargetOutput = parse(
            "GetDeploymentTarget",
            200,
            &fixture("get-deployment-target.json"),
        )
        .unwrap();
        let target = target.deployment_target.unwrap();
        assert_eq!(
            target.deployment_target_type.as_deref(),
            Some("LambdaTarget")
        );
        let info = target.lambda_target.unwrap().lambda_function_info.unwrap();
        assert_eq!(
            info,
            LambdaFunctionInfo {
                function_name: Some("rust-serverless-dev-round-control".into()),
                function_alias: Some("live".into()),
                current_version: Some("6".into()),
                target_version: Some("7".into()),
                target_version_weight: Some(0.0),
            }
        );

        let put: HookExecution = parse(
            "PutLifecycleEventHookExecutionStatus",
            200,
            &fixture("put-lifecycle-event-hook-execution-status.json"),
        )
        .unwrap();
        assert!(put.lifecycle_event_hook_execution_id.is_some());
        let empty: HookExecution = parse("PutLifecycleEventHookExecutionStatus", 200, b"").unwrap();
        assert_eq!(empty, HookExecution::default());
    }

    #[test]
    fn error_answers_name_the_exception_and_say_whether_to_retry() {
        let error = parse::<DeploymentTargets>(
            "ListDeploymentTargets",
            400,
            &fixture("error-deployment-does-not-exist.json"),
        )
        .unwrap_err();
        assert_eq!(
            error,
            CodeDeployError::Service {
                operation: "ListDeploymentTargets",
                status: 400,
                code: "DeploymentDoesNotExistException".into(),
                message: "The deployment d-A1B2C3D4E could not be found.".into(),
            }
        );
        assert!(!error.is_retryable());
        let throttled = parse::<DeploymentTargets>(
            "ListDeploymentTargets",
            400,
            br#"{"__type":"ThrottlingException","Message":"Rate exceeded"}"#,
        )
        .unwrap_err();
        assert!(throttled.is_retryable(), "{throttled}");
        let unavailable =
            parse::<DeploymentTargets>("ListDeploymentTargets", 503, b"<html>busy</html>")
                .unwrap_err();
        assert!(
            matches!(&unavailable, CodeDeployError::Service { code, message, .. } if code == "UnknownError" && message.contains("busy"))
        );
        assert!(unavailable.is_retryable());
        let garbage = parse::<DeploymentTargets>("ListDeploymentTargets", 200, b"[1, 2]");
        assert!(matches!(garbage, Err(CodeDeployError::Malformed { .. })));
    }

    /// What the stand-in endpoint saw: target header, whether signed, body.
    type Seen = Arc<Mutex<Vec<(String, bool, Value)>>>;

    /// A stand-in CodeDeploy on 127.0.0.1: answers each request with the next of `answers`.
    async fn stand_in(answers: Vec<(u16, Vec<u8>)>) -> (String, Seen) {
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}/", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let answers = Arc::new(Mutex::new(answers.into_iter().rev().collect::<Vec<_>>()));
        let record = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (record, answers) = (record.clone(), answers.clone());
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (record, answers) = (record.clone(), answers.clone());
                    async move {
                        let target = request.headers()["x-amz-target"]
                            .to_str()
                            .unwrap()
                            .to_owned();
                        let signed = request.headers().contains_key("authorization");
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        let body = serde_json::from_slice(&body).unwrap();
                        record.lock().unwrap().push((target, signed, body));
                        let (status, answer) = answers.lock().unwrap().pop().unwrap();
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .header("content-type", CONTENT_TYPE)
                                .body(Full::new(Bytes::from(answer)))
                                .unwrap(),
                        )
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        (endpoint, seen)
    }

    fn test_credentials() -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "test"))
    }

    #[tokio::test]
    async fn a_call_goes_over_http_signed_and_its_answer_is_read() {
        let (endpoint, seen) = stand_in(vec![
            (200, fixture("list-deployment-targets.json")),
            (400, fixture("error-deployment-does-not-exist.json")),
        ])
        .await;
        let client = HttpCodeDeploy::new(test_credentials(), "us-east-1", endpoint).unwrap();
        let input = ListDeploymentTargets {
            deployment_id: "d-A1B2C3D4E".into(),
            next_token: None,
        };
        let targets = client.list_deployment_targets(&input).await.unwrap();
        assert_eq!(targets.target_ids.len(), 1);
        let error = client.list_deployment_targets(&input).await.unwrap_err();
        assert!(
            matches!(error, CodeDeployError::Service { status: 400, .. }),
            "{error}"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "a 400 is not retried");
        assert_eq!(seen[0].0, "CodeDeploy_20141006.ListDeploymentTargets");
        assert!(seen[0].1, "signed");
        assert_eq!(seen[0].2, json!({"deploymentId": "d-A1B2C3D4E"}));
    }

    #[tokio::test]
    async fn no_answer_is_a_transport_error_tried_three_times() {
        // A port nothing listens on: every attempt is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}/");
        let client = HttpCodeDeploy::new(test_credentials(), "us-east-1", endpoint).unwrap();
        let input = ListDeploymentTargets {
            deployment_id: "d-A1B2C3D4E".into(),
            next_token: None,
        };
        let started = std::time::Instant::now();
        let error = client.list_deployment_targets(&input).await.unwrap_err();
        assert!(
            matches!(&error, CodeDeployError::Transport { detail, .. } if detail.contains("onnect")),
            "{error}"
        );
        // Two backoffs (200 ms, 400 ms) between three attempts.
        assert!(
            started.elapsed() >= Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(MAX_CALL, Duration::from_millis(15_600));
    }

    #[tokio::test]
    async fn a_throttled_call_is_tried_again() {
        let (endpoint, seen) = stand_in(vec![
            (
                400,
                br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_vec(),
            ),
            (
                200,
                fixture("put-lifecycle-event-hook-execution-status.json"),
            ),
        ])
        .await;
        let client = HttpCodeDeploy::new(test_credentials(), "us-east-1", endpoint).unwrap();
        let input = PutLifecycleEventHookExecutionStatus {
            deployment_id: "d-A1B2C3D4E".into(),
            lifecycle_event_hook_execution_id: "exec-1".into(),
            status: HookStatus::Succeeded,
        };
        client
            .put_lifecycle_event_hook_execution_status(&input)
            .await
            .unwrap();
        assert_eq!(seen.lock().unwrap().len(), 2);
    }
}
