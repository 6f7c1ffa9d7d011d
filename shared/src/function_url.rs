//! Calling a Function URL whose `AuthType` is `AWS_IAM`: requests signed with SigV4 for the
//! service `lambda`, as AWS requires ("Control access to Lambda function URLs", Lambda developer
//! guide). Tooling and tests use this; no function calls another's URL.
//!
//! Which URLs need it is written in the endpoints file (`./build.sh` writes it for a local stack
//! and from a deployed stack's outputs) under [`AUTH_KEY`]:
//!
//! ```json
//! "functionUrlAuth": {"type": "AWS_IAM", "region": "eu-west-1", "functions": ["round-control"]}
//! ```
//!
//! Functions reached through the HTTP API (the shortener, the report) are not listed: their routes
//! are public and an `Authorization` header would only be passed on to them.

use std::collections::BTreeSet;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use crate::signed::{self, CallError, Service};

/// The endpoints file's key for how its Function URLs authenticate.
pub const AUTH_KEY: &str = "functionUrlAuth";

/// SigV4's name for Function URLs: the Lambda service's.
pub const SERVICE: Service = Service {
    signing_name: "lambda",
    target_prefix: "",
};

/// The Function URLs of one stack that want signed requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUrls {
    pub region: String,
    pub functions: BTreeSet<String>,
}

impl IamUrls {
    /// From an endpoints file's JSON: `None` when its Function URLs are public (`NONE`) or the
    /// file says nothing (then nothing is signed, as before the key existed).
    pub fn from_endpoints(endpoints: &serde_json::Value) -> Option<Self> {
        let auth = &endpoints[AUTH_KEY];
        if auth["type"].as_str() != Some("AWS_IAM") {
            return None;
        }
        Some(Self {
            region: auth["region"].as_str().unwrap_or("us-east-1").to_owned(),
            functions: auth["functions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| Some(f.as_str()?.to_owned()))
                .collect(),
        })
    }

    /// The endpoints file's entry for these URLs.
    pub fn to_endpoints_entry(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "AWS_IAM",
            "region": self.region,
            "functions": self.functions,
        })
    }

    pub fn wants_signature(&self, function: &str) -> bool {
        self.functions.contains(function)
    }
}

/// Signs requests to IAM-authenticated Function URLs with the caller's credentials (the
/// environment's, or the profile's: the SDK's default chain).
#[derive(Clone)]
pub struct Signer {
    credentials: SharedCredentialsProvider,
    region: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(credentials: SharedCredentialsProvider, region: &str) -> Self {
        Self {
            credentials,
            region: region.to_owned(),
        }
    }

    /// With the credentials of the SDK's default chain (`AWS_PROFILE`, the environment, ...).
    pub async fn from_environment(region: &str) -> Result<Self, CallError> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let credentials = config.credentials_provider().ok_or_else(|| {
            CallError::Credentials("no credentials provider in the environment".into())
        })?;
        Ok(Self::new(credentials, region))
    }

    /// The headers that sign a request (`authorization`, `x-amz-date`, and
    /// `x-amz-security-token` for temporary credentials), for clients that build their requests
    /// with another crate: `headers` are the ones it sets itself (all of them are signed), `url`
    /// absolute, `body` whole.
    pub async fn headers_for(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, CallError> {
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut request = request
            .body(body.to_vec())
            .map_err(|e| CallError::Request(format!("{method} {url}: {e}")))?;
        self.sign(&mut request).await?;
        Ok(["authorization", "x-amz-date", "x-amz-security-token"]
            .iter()
            .filter_map(|name| {
                let value = request.headers().get(*name)?.to_str().ok()?;
                Some(((*name).to_owned(), value.to_owned()))
            })
            .collect())
    }

    /// With the credentials a child process given `vars` would use: its access keys when they are
    /// there (a local stack's), otherwise its `AWS_PROFILE` (a deployed stack's).
    pub async fn from_variables(
        vars: &[(String, String)],
        region: &str,
    ) -> Result<Self, CallError> {
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        {
            let credentials = aws_credential_types::Credentials::new(
                key,
                secret,
                var("AWS_SESSION_TOKEN"),
                None,
                "stack variables",
            );
            return Ok(Self::new(
                SharedCredentialsProvider::new(credentials),
                region,
            ));
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(profile) = var("AWS_PROFILE") {
            loader = loader.profile_name(profile);
        }
        let credentials = loader.load().await.credentials_provider().ok_or_else(|| {
            CallError::Credentials("no credentials for the stack's profile".into())
        })?;
        Ok(Self::new(credentials, region))
    }

    /// Adds `authorization`, `x-amz-date` (and `x-amz-security-token` for temporary
    /// credentials) to `request`, which must carry its absolute URL and its whole body.
    pub async fn sign(&self, request: &mut http::Request<Vec<u8>>) -> Result<(), CallError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| CallError::Credentials(signed::causes(&e)))?;
        signed::sign(
            request,
            SERVICE,
            &credentials,
            &self.region,
            SystemTime::now(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[test]
    fn only_an_aws_iam_entry_asks_for_signatures() {
        let endpoints = serde_json::json!({
            "round-control": "http://127.0.0.1:9000/lambda-url/round-control",
            AUTH_KEY: {"type": "AWS_IAM", "region": "eu-west-1", "functions": ["round-control"]},
        });
        let urls = IamUrls::from_endpoints(&endpoints).unwrap();
        assert_eq!(urls.region, "eu-west-1");
        assert!(urls.wants_signature("round-control"));
        assert!(!urls.wants_signature("shortener"));
        assert_eq!(
            IamUrls::from_endpoints(
                &serde_json::json!({"functionUrlAuth": urls.to_endpoints_entry()})
            ),
            Some(urls)
        );
        let public =
            serde_json::json!({AUTH_KEY: {"type": "NONE", "functions": ["round-control"]}});
        assert_eq!(IamUrls::from_endpoints(&public), None);
        assert_eq!(IamUrls::from_endpoints(&serde_json::json!({})), None);
    }

    #[tokio::test]
    async fn a_signed_request_names_the_lambda_service_and_the_region() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let signer = Signer::new(SharedCredentialsProvider::new(credentials), "eu-west-1");
        let mut request = http::Request::builder()
            .method("POST")
            .uri("https://abc.lambda-url.eu-west-1.on.aws/sort")
            .body(b"[2,1]".to_vec())
            .unwrap();
        signer.sign(&mut request).await.unwrap();
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{authorization}"
        );
        assert!(
            authorization.contains("/eu-west-1/lambda/aws4_request"),
            "{authorization}"
        );
        assert!(request.headers().contains_key("x-amz-date"));
        let added = signer
            .headers_for(
                "GET",
                "https://abc.lambda-url.eu-west-1.on.aws/round?number=1",
                &[("x-correlation-id".to_owned(), "c1".to_owned())],
                b"",
            )
            .await
            .unwrap();
        let names: Vec<&str> = added.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["authorization", "x-amz-date"]);
        assert!(
            added[0]
                .1
                .contains("SignedHeaders=host;x-amz-date;x-correlation-id"),
            "{added:?}"
        );
    }
}
