//! `POST /pbkdf2`: derives a key from a password with PBKDF2-HMAC-SHA256, a CPU-bound workload for
//! comparing memory sizes and implementations (slide 30).
//!
//! Two deployable functions share parsing, limits and errors: `pbkdf2-control` (the `pbkdf2` crate)
//! and `pbkdf2-candidate-fast` (the hand-tuned [`fast`] module). Both read [`Config`] once.
//!
//! Request: `{"password": "...", "salt": "..." | "saltHex": "00ff..", "iterations": 100000,
//! "keyLength": 32}` (password and salt as UTF-8; `keyLength` optional, default 32).
//! Response: `200 {"key": "<hex>", "iterations": N, "keyLength": L, "algorithm": "PBKDF2-HMAC-SHA256"}`.
//! Errors are `400` JSON (see [`RequestError::code`]), `413` over 1 MiB, `405` for any method but POST.
//! Passwords and salts are never logged.

pub mod domain;

/// Candidates written by workshop attendees (`./build.sh new-candidate <family> <name>`), one
/// module per file in `src/attendees/`, declared by build.rs: adding one edits no file here.
pub mod attendees {
    include!(concat!(env!("OUT_DIR"), "/attendees.rs"));
}
pub mod fast;

use domain::{DEFAULT_KEY_LENGTH, Derivation, InputError, Iterations, KeyLength, Secret};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::ApiError;
use shared::config::{self, ConfigError, Env, ProcessEnv};
use shared::http::body_bytes;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Settings read once at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The most iterations one request may ask for, counted once per 32-byte block of output
    /// (`PBKDF2_MAX_ITERATIONS`, default 1 000 000), so one request cannot hold the function until
    /// its timeout.
    pub max_iterations: u32,
}

impl Config {
    pub const DEFAULT_MAX_ITERATIONS: u32 = 1_000_000;

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&ProcessEnv)
    }

    pub fn load(env: &impl Env) -> Result<Self, ConfigError> {
        const NAME: &str = "PBKDF2_MAX_ITERATIONS";
        let max_iterations = config::parsed_or(env, NAME, Self::DEFAULT_MAX_ITERATIONS)?;
        if max_iterations == 0 {
            return Err(config::invalid(NAME, "0", "must be at least 1"));
        }
        Ok(Self { max_iterations })
    }
}

/// The request body as sent. `Debug` is written by hand so the password and salt never reach a log.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeriveRequest {
    password: Option<String>,
    salt: Option<String>,
    salt_hex: Option<String>,
    iterations: Option<Value>,
    key_length: Option<Value>,
}

impl std::fmt::Debug for DeriveRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |given: bool| if given { "<redacted>" } else { "<none>" };
        f.debug_struct("DeriveRequest")
            .field("password", &redacted(self.password.is_some()))
            .field("salt", &redacted(self.salt.is_some()))
            .field("salt_hex", &redacted(self.salt_hex.is_some()))
            .field("iterations", &self.iterations)
            .field("key_length", &self.key_length)
            .finish()
    }
}

/// The body of a successful response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeriveResponse {
    pub key: String,
    pub iterations: u32,
    pub key_length: usize,
    pub algorithm: &'static str,
}

/// Why a request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the body is {0} bytes; send at most {MAX_BODY_BYTES} bytes")]
    TooLarge(usize),
    // serde's own message may quote a password sent with the wrong type, so it is not passed on.
    #[error(
        "send a JSON object with password, salt (or saltHex), iterations and optionally keyLength"
    )]
    InvalidJson,
    #[error("password is required (a string, may be empty)")]
    MissingPassword,
    #[error("salt (a string) or saltHex (hex digits) is required")]
    MissingSalt,
    #[error("send salt or saltHex, not both")]
    AmbiguousSalt,
    #[error("saltHex must be an even number of hex digits")]
    InvalidSaltHex,
    #[error("iterations is required, e.g. 100000")]
    MissingIterations,
    #[error(transparent)]
    Input(#[from] InputError),
}

impl RequestError {
    /// The stable code a client sees in the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "body_too_large",
            Self::InvalidJson => "invalid_json",
            Self::MissingPassword => "missing_password",
            Self::MissingSalt => "missing_salt",
            Self::AmbiguousSalt => "ambiguous_salt",
            Self::InvalidSaltHex => "invalid_salt_hex",
            Self::MissingIterations => "missing_iterations",
            Self::Input(error) => error.code(),
        }
    }

    fn into_api_error(self) -> ApiError {
        let status = match self {
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, self.code(), self.to_string())
    }
}

/// Handler of `pbkdf2-control`.
pub async fn pbkdf2_control(config: &Config, request: Request) -> Response<Body> {
    handle(config, request, domain::derive_control).await
}

/// Handler of `pbkdf2-candidate-fast`.
pub async fn pbkdf2_candidate_fast(config: &Config, request: Request) -> Response<Body> {
    handle(config, request, domain::derive_fast).await
}

async fn handle(
    config: &Config,
    request: Request,
    derive: fn(&Derivation) -> Vec<u8>,
) -> Response<Body> {
    shared::run::traced(request, |request, _correlation_id| async move {
        if request.method() != Method::POST {
            return ApiError::method_not_allowed("POST").into_response();
        }
        match parse(config, body_bytes(request.body())) {
            Ok(derivation) => {
                let key = derive(&derivation);
                tracing::info!(
                    iterations = derivation.iterations.get(),
                    key_length = derivation.key_length.get(),
                    "derived key"
                );
                let body = DeriveResponse {
                    key: hex::encode(key),
                    iterations: derivation.iterations.get(),
                    key_length: derivation.key_length.get(),
                    algorithm: "PBKDF2-HMAC-SHA256",
                };
                shared::http::json(StatusCode::OK, &body)
            }
            Err(error) => error.into_api_error().into_response(),
        }
    })
    .await
}

fn parse(config: &Config, body: &[u8]) -> Result<Derivation, RequestError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge(body.len()));
    }
    let request: DeriveRequest =
        serde_json::from_slice(body).map_err(|_| RequestError::InvalidJson)?;
    let password = request.password.ok_or(RequestError::MissingPassword)?;
    let salt = match (request.salt, request.salt_hex) {
        (Some(salt), None) => salt.into_bytes(),
        (None, Some(hex)) => hex::decode(hex).map_err(|_| RequestError::InvalidSaltHex)?,
        (Some(_), Some(_)) => return Err(RequestError::AmbiguousSalt),
        (None, None) => return Err(RequestError::MissingSalt),
    };
    let iterations = match request.iterations {
        None => return Err(RequestError::MissingIterations),
        Some(value) => {
            let n = value.as_u64().ok_or(InputError::InvalidIterations)?;
            Iterations::parse(n, config.max_iterations)?
        }
    };
    let key_length = match request.key_length {
        None => DEFAULT_KEY_LENGTH,
        Some(value) => KeyLength::parse(value.as_u64().ok_or(InputError::InvalidKeyLength)?)?,
    };
    domain::check_work(iterations, key_length, config.max_iterations)?;
    Ok(Derivation {
        password: Secret::new(password),
        salt: Secret::new(salt),
        iterations,
        key_length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONFIG: Config = Config {
        max_iterations: 5000,
    };

    fn post(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(Method::POST)
            .uri("/pbkdf2")
            .body(Body::Text(body.to_owned()))
            .expect("static test request is valid")
    }

    fn json_of(response: &Response<Body>) -> Value {
        serde_json::from_slice(body_bytes(response.body())).expect("body is JSON")
    }

    #[tokio::test]
    async fn both_functions_answer_the_published_key() {
        let body = r#"{"password": "password", "salt": "salt", "iterations": 4096}"#;
        let expected = json!({
            "key": "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
            "iterations": 4096,
            "keyLength": 32,
            "algorithm": "PBKDF2-HMAC-SHA256",
        });
        for response in [
            pbkdf2_control(&CONFIG, post(body)).await,
            pbkdf2_candidate_fast(&CONFIG, post(body)).await,
        ] {
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["content-type"], "application/json");
            assert_eq!(json_of(&response), expected);
        }
    }

    #[tokio::test]
    async fn salt_hex_is_the_same_salt_as_bytes() {
        let as_text = r#"{"password": "p", "salt": "salt", "iterations": 2, "keyLength": 40}"#;
        let as_hex =
            r#"{"password": "p", "saltHex": "73616C74", "iterations": 2, "keyLength": 40}"#;
        let a = json_of(&pbkdf2_candidate_fast(&CONFIG, post(as_text)).await);
        let b = json_of(&pbkdf2_candidate_fast(&CONFIG, post(as_hex)).await);
        assert_eq!(a["key"].as_str().map(str::len), Some(80));
        assert_eq!(a, b);
    }

    #[tokio::test]
    async fn bad_requests_are_a_400_with_a_code() {
        for (body, code) in [
            ("nope", "invalid_json"),
            ("[]", "invalid_json"),
            (
                r#"{"password": 1, "salt": "s", "iterations": 1}"#,
                "invalid_json",
            ),
            (
                r#"{"password": "p", "salt": "s", "iterations": 1, "extra": 1}"#,
                "invalid_json",
            ),
            (r#"{"salt": "s", "iterations": 1}"#, "missing_password"),
            (r#"{"password": "p", "iterations": 1}"#, "missing_salt"),
            (
                r#"{"password": "p", "salt": "s", "saltHex": "00", "iterations": 1}"#,
                "ambiguous_salt",
            ),
            (
                r#"{"password": "p", "saltHex": "0g", "iterations": 1}"#,
                "invalid_salt_hex",
            ),
            (r#"{"password": "p", "salt": "s"}"#, "missing_iterations"),
            (
                r#"{"password": "p", "salt": "s", "iterations": 0}"#,
                "invalid_iterations",
            ),
            (
                r#"{"password": "p", "salt": "s", "iterations": -5}"#,
                "invalid_iterations",
            ),
            (
                r#"{"password": "p", "salt": "s", "iterations": 1.5}"#,
                "invalid_iterations",
            ),
            (
                r#"{"password": "p", "salt": "s", "iterations": "9"}"#,
                "invalid_iterations",
            ),
            (
                r#"{"password": "p", "salt": "s", "iterations": 5001}"#,
                "iterations_too_high",
            ),
            (
                r#"{"password": "p", "salt": "s", "iterations": 2501, "keyLength": 64}"#,
                "work_too_high",
            ),
            (
                r#"{"password": "p", "salt": "s", "iterations": 1, "keyLength": 0}"#,
                "invalid_key_length",
            ),
            (
                r#"{"password": "p", "salt": "s", "iterations": 1, "keyLength": 1025}"#,
                "invalid_key_length",
            ),
        ] {
            let response = pbkdf2_control(&CONFIG, post(body)).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(json_of(&response)["error"], code, "{body}");
        }
    }

    #[tokio::test]
    async fn too_many_iterations_names_the_cap() {
        let body = r#"{"password": "p", "salt": "s", "iterations": 5001}"#;
        let response = pbkdf2_candidate_fast(&CONFIG, post(body)).await;
        let message = json_of(&response)["message"].as_str().map(str::to_owned);
        assert_eq!(
            message.as_deref(),
            Some("iterations is 5001; this function allows at most 5000")
        );
    }

    #[tokio::test]
    async fn a_body_over_one_mebibyte_is_a_413() {
        let body = format!(r#"{{"password": "{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        let response = pbkdf2_control(&CONFIG, post(&body)).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json_of(&response)["error"], "body_too_large");
    }

    #[tokio::test]
    async fn get_is_a_405() {
        let request = lambda_http::http::Request::builder()
            .method(Method::GET)
            .uri("/pbkdf2")
            .body(Body::Empty)
            .expect("static test request is valid");
        let response = pbkdf2_control(&CONFIG, request).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn request_debug_redacts_password_and_salt() {
        let request: DeriveRequest =
            serde_json::from_str(r#"{"password": "hunter2", "salt": "pepper", "iterations": 1}"#)
                .expect("valid body");
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("pepper"),
            "{shown}"
        );
    }

    #[test]
    fn config_defaults_to_a_million_iterations_and_refuses_zero_or_garbage() {
        assert_eq!(
            Config::load(&[("OTHER", "1")])
                .map(|c| c.max_iterations)
                .ok(),
            Some(1_000_000)
        );
        assert_eq!(
            Config::load(&[("PBKDF2_MAX_ITERATIONS", "20")])
                .map(|c| c.max_iterations)
                .ok(),
            Some(20)
        );
        for bad in ["0", "-1", "lots"] {
            let error = Config::load(&[("PBKDF2_MAX_ITERATIONS", bad)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains("PBKDF2_MAX_ITERATIONS"), "{bad}: {error:?}");
        }
    }
}
