//! Secrets read at cold start from Secrets Manager, never from the function's configuration.
//!
//! On Lambda, `template.yaml` gives a function the secret's ARN (`CODE_KEY_SECRET_ARN`), never its
//! value: a value in an environment variable is readable by anyone with
//! `lambda:GetFunctionConfiguration` and shown in the console. [`resolve`] fetches each named
//! secret once with `GetSecretValue` (the function's role may read exactly those ARNs) and hands
//! the values to the function's `Config::from_env` as if they were variables; the instance keeps
//! them for its lifetime, so a secret costs one call per cold start. Locally no ARN is set and
//! the value comes from the environment (`CODE_KEY`) as before.
//!
//! Values are held as [`Secret`], whose `Debug` is redacted; only ARNs are logged.
//!
//! The call is [`crate::signed`]'s JSON 1.1 client, not `aws-sdk-secretsmanager` (a crate build
//! in debug and in the arm64 release build). [`get_secret_value_body`] and [`parse`] are
//! unit-tested; the call against Secrets Manager itself cannot be checked offline.

use aws_config::SdkConfig;
use serde::Deserialize;

use crate::config::{ConfigError, Env};
use crate::signed::{CallError, JsonClient, Service};

/// Secrets Manager as a JSON 1.1 service.
pub const SECRETS_MANAGER: Service = Service {
    signing_name: "secretsmanager",
    target_prefix: "secretsmanager",
};

/// The standard variable that points the SDKs' Secrets Manager clients elsewhere; honoured here.
pub const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL_SECRETS_MANAGER";

/// A variable whose value may be a secret's: `name` (`CODE_KEY`) and the variable that holds the
/// secret's ARN on Lambda (`CODE_KEY_SECRET_ARN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretVariable {
    pub name: &'static str,
    pub arn_variable: &'static str,
}

/// A secret's value: compared and read by the code that needs it, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `GetSecretValue`'s input.
pub fn get_secret_value_body(arn: &str) -> Vec<u8> {
    serde_json::json!({ "SecretId": arn })
        .to_string()
        .into_bytes()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretValueOutput {
    secret_string: Option<String>,
}

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Call(#[from] CallError),
    /// A 2xx answer without a `SecretString` (a binary secret, or not the operation's output).
    #[error("the answer has no SecretString: {0}")]
    Malformed(String),
    #[error("no AWS region configured to reach Secrets Manager in")]
    NoRegion,
    #[error("no AWS credentials configured to sign with")]
    NoCredentials,
    #[error("the HTTPS client could not be built: {0}")]
    Client(String),
}

/// `GetSecretValue`'s answer: its `SecretString`. Neither the error nor anything logged carries
/// the value.
pub fn parse(body: &[u8]) -> Result<Secret, SecretError> {
    let output: GetSecretValueOutput = serde_json::from_slice(body)
        .map_err(|e| SecretError::Malformed(format!("not the operation's output: {e}")))?;
    output
        .secret_string
        .map(Secret)
        .ok_or_else(|| SecretError::Malformed("a binary secret is not supported".into()))
}

/// The environment with some variables' values fetched from Secrets Manager.
pub struct WithSecrets<E> {
    env: E,
    fetched: Vec<(String, Secret)>,
}

impl<E: Env> Env for WithSecrets<E> {
    fn get(&self, name: &str) -> Option<String> {
        self.fetched
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, secret)| secret.expose().to_owned())
            .or_else(|| self.env.get(name))
    }
}

impl<E> WithSecrets<E> {
    /// `env` with `fetched` values over it (the unit tests' way in; [`resolve`] fetches them).
    pub fn new(env: E, fetched: Vec<(String, Secret)>) -> Self {
        Self { env, fetched }
    }
}

/// `env` with each of `variables` whose ARN variable is set read from that secret; those without
/// an ARN keep their value from `env` (local runs). A secret that cannot be read fails the cold
/// start naming the ARN variable.
pub async fn resolve<E: Env>(
    env: E,
    sdk: &SdkConfig,
    variables: &[SecretVariable],
) -> Result<WithSecrets<E>, ConfigError> {
    let wanted: Vec<(&'static str, &'static str, String)> = variables
        .iter()
        .filter_map(|v| Some((v.name, v.arn_variable, env.get(v.arn_variable)?)))
        .collect();
    let mut fetched = Vec::new();
    if wanted.is_empty() {
        return Ok(WithSecrets::new(env, fetched));
    }
    let failed = |variable: &'static str, arn: &str, error: SecretError| ConfigError::Invalid {
        name: variable,
        value: arn.to_owned(),
        reason: format!("the secret could not be read: {error}"),
    };
    let client = client(&env, sdk).map_err(|e| failed(wanted[0].1, &wanted[0].2, e))?;
    for (name, variable, arn) in wanted {
        let secret = fetch(&client, &arn)
            .await
            .map_err(|e| failed(variable, &arn, e))?;
        tracing::info!(secret_arn = %arn, variable = name, "read secret");
        fetched.push((name.to_owned(), secret));
    }
    Ok(WithSecrets::new(env, fetched))
}

fn client(env: &impl Env, sdk: &SdkConfig) -> Result<JsonClient, SecretError> {
    let region = sdk.region().ok_or(SecretError::NoRegion)?.to_string();
    let credentials = sdk
        .credentials_provider()
        .ok_or(SecretError::NoCredentials)?;
    let endpoint = env
        .get(ENDPOINT_VARIABLE)
        .unwrap_or_else(|| SECRETS_MANAGER.endpoint(&region));
    JsonClient::new(SECRETS_MANAGER, credentials, region, endpoint)
        .map_err(|e| SecretError::Client(e.to_string()))
}

async fn fetch(client: &JsonClient, arn: &str) -> Result<Secret, SecretError> {
    let body = client
        .call("GetSecretValue", get_secret_value_body(arn))
        .await?;
    parse(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer as the API reference documents it.
    const ANSWER: &str = r#"{
        "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:CodeKeySecret-a1b2c3",
        "CreatedDate": 1.523477145713E9,
        "Name": "CodeKeySecret-a1b2c3",
        "SecretString": "0123456789abcdef0123456789abcdef",
        "VersionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1",
        "VersionStages": ["AWSCURRENT"]
    }"#;

    const CODE_KEY: SecretVariable = SecretVariable {
        name: "CODE_KEY",
        arn_variable: "CODE_KEY_SECRET_ARN",
    };

    #[test]
    fn the_answer_gives_the_secret_string_and_never_prints_it() {
        let secret = parse(ANSWER.as_bytes()).unwrap();
        assert_eq!(secret.expose(), "0123456789abcdef0123456789abcdef");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn a_binary_or_malformed_answer_is_an_error_without_the_value() {
        let binary = parse(br#"{"Name": "n", "SecretBinary": "c2VjcmV0"}"#).unwrap_err();
        assert!(binary.to_string().contains("binary"), "{binary}");
        assert!(!binary.to_string().contains("c2VjcmV0"));
        assert!(matches!(parse(b"[1]"), Err(SecretError::Malformed(_))));
    }

    #[test]
    fn the_request_names_the_secret_by_arn() {
        let body: serde_json::Value =
            serde_json::from_slice(&get_secret_value_body("arn:aws:secretsmanager:x")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"SecretId": "arn:aws:secretsmanager:x"})
        );
    }

    #[test]
    fn fetched_values_come_before_the_environment() {
        let env = WithSecrets::new(
            [("CODE_KEY", "from-the-environment"), ("OTHER", "kept")],
            vec![("CODE_KEY".into(), Secret("fetched".into()))],
        );
        assert_eq!(env.get("CODE_KEY").as_deref(), Some("fetched"));
        assert_eq!(env.get("OTHER").as_deref(), Some("kept"));
        assert_eq!(env.get("MISSING"), None);
    }

    #[test]
    fn without_an_arn_nothing_is_fetched_and_the_environment_is_used() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let sdk = SdkConfig::builder().build();
        let env = runtime
            .block_on(resolve([("CODE_KEY", "local")], &sdk, &[CODE_KEY]))
            .unwrap();
        assert_eq!(env.get("CODE_KEY").as_deref(), Some("local"));
    }

    #[test]
    fn an_arn_without_region_fails_naming_the_variable() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let sdk = SdkConfig::builder().build();
        let error = runtime
            .block_on(resolve(
                [("CODE_KEY_SECRET_ARN", "arn:aws:secretsmanager:x")],
                &sdk,
                &[CODE_KEY],
            ))
            .err()
            .unwrap();
        assert!(error.to_string().contains("CODE_KEY_SECRET_ARN"), "{error}");
    }
}
