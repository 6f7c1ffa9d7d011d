//! The URL shortener: one Lambda function serving every shortener route of the HTTP API.
//!
//! | route                            | code                      |
//! |----------------------------------|---------------------------|
//! | `GET /`                          | [`routes::index`]         |
//! | `POST /`                         | [`routes::create`]        |
//! | `GET /apple-app-site-association`| [`routes::aasa`]          |
//! | `GET /openapi.json`              | [`routes::openapi`]       |
//! | `POST /links`                    | [`routes::bulk`]          |
//! | `GET /{code}`                    | [`routes::redirect`]      |
//! | `GET /{code}/stats`              | [`routes::stats`]         |
//! | `GET /{code}/qr.svg`             | [`routes::qr`]            |
//!
//! [`handler`] is what the Lambda runtime calls and what the in-process tests call; it dispatches on
//! method and path (so it behaves the same behind API Gateway's routes, `cargo lambda watch`'s router
//! and a `$default` route).

pub mod config;
pub mod domain;
pub mod routes;
pub mod store;

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::ApiError;
use tokio::sync::Mutex;

use crate::config::Config;
use crate::domain::code::{CodeError, ShortCode};
use crate::domain::ids::IdBlock;
use crate::store::{LinkStore, StoreError};

/// Everything built once per cold start and shared by every request of the instance.
pub struct App {
    pub config: Config,
    pub store: LinkStore,
    /// The redirect's visit count and analytics, written after its response (see [`shared::after`]).
    pub after: shared::after::AfterResponse,
    /// What the analytics' daily visitor salt is derived from (from `CODE_KEY`, once).
    pub visitor_secret: [u8; 32],
    ids: Mutex<IdBlock>,
}

impl App {
    pub fn new(config: Config, client: aws_sdk_dynamodb::Client) -> Self {
        let store = LinkStore::new(client, config.table.clone());
        let visitor_secret = config.code_key.derive("visitor-salt");
        Self {
            config,
            store,
            after: shared::after::AfterResponse::default(),
            visitor_secret,
            ids: Mutex::new(IdBlock::default()),
        }
    }

    /// Reads the configuration (its secrets from Secrets Manager when their ARNs are set, see
    /// [`config::SECRETS`]) and builds the DynamoDB client from the environment.
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        let sdk = shared::aws::sdk_config().await;
        let env =
            shared::secrets::resolve(shared::config::ProcessEnv, &sdk, &config::SECRETS).await?;
        let config = Config::from_env(&env).inspect_err(|error| {
            // The one line an operator reads when the function does not start (a missing key
            // secret fails closed here, see `config::WriteAccess`).
            tracing::error!(%error, "configuration refused: the shortener does not start");
        })?;
        Ok(Self::new(config, aws_sdk_dynamodb::Client::new(&sdk)))
    }

    /// The next generated code, leasing a new block of ids when this instance's block is used up.
    pub async fn next_code(&self) -> Result<ShortCode, AppError> {
        let mut ids = self.ids.lock().await;
        let id = match ids.take() {
            Some(id) => id,
            None => {
                let end = self.store.lease_ids(self.config.id_block_size).await?;
                ids.refill(end, self.config.id_block_size);
                tracing::info!(
                    block_end = end,
                    size = self.config.id_block_size,
                    "leased id block"
                );
                ids.take().ok_or(AppError::Exhausted)?
            }
        };
        ShortCode::generate(&self.config.code_key, id).map_err(|_| AppError::Exhausted)
    }
}

/// Failures that are not the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("code space exhausted")]
    Exhausted,
    #[error("gave up after {0} attempts racing other writers")]
    TooManyConflicts(u32),
}

impl AppError {
    /// Logs the cause once and turns it into the opaque response the client sees.
    pub fn into_response(self) -> Response<Body> {
        self.into_api_error().into_response()
    }

    /// Logs the cause once and turns it into the opaque error the client sees.
    pub fn into_api_error(self) -> ApiError {
        match &self {
            AppError::Store(StoreError::Unavailable(_)) | AppError::TooManyConflicts(_) => {
                tracing::warn!(error = %self, "dependency unavailable");
                ApiError::unavailable()
            }
            _ => {
                tracing::error!(error = %self, "request failed");
                ApiError::internal()
            }
        }
    }
}

impl From<CodeError> for AppError {
    fn from(_: CodeError) -> Self {
        AppError::Exhausted
    }
}

/// The function's entry point, for the runtime and for in-process tests alike.
///
/// It first waits for the writes an earlier redirect of this instance deferred past its response
/// (a no-op on Lambda, whose extension already waited for them), so an instance reads its own
/// writes in every mode.
pub async fn handler(app: &App, request: Request) -> Response<Body> {
    app.after.drain().await;
    shared::run::traced(request, |request, _correlation_id| route(app, request)).await
}

async fn route(app: &App, request: Request) -> Response<Body> {
    let path = match request.raw_http_path() {
        raw if !raw.is_empty() => raw.to_owned(),
        _ => request.uri().path().to_owned(),
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = request.method().clone();
    match (&method, segments.as_slice()) {
        (&Method::GET | &Method::HEAD, [""]) => routes::index::get(),
        (&Method::POST, [""]) => routes::create::post(app, &request).await,
        (_, [""]) => ApiError::method_not_allowed("GET, POST").into_response(),
        (&Method::GET, ["apple-app-site-association"]) => routes::aasa::get(app),
        (&Method::GET, ["openapi.json"]) => routes::openapi::get(),
        (&Method::POST, ["links"]) => routes::bulk::post(app, &request).await,
        (&Method::GET, [code]) => routes::redirect::get(app, &request, code).await,
        (&Method::PATCH, [code]) => routes::manage::patch(app, &request, code).await,
        (&Method::DELETE, [code]) => routes::manage::delete(app, &request, code).await,
        (_, [_]) => ApiError::method_not_allowed("GET, PATCH, DELETE").into_response(),
        (&Method::GET, [code, "stats"]) => routes::stats::get(app, &request, code).await,
        (&Method::GET, [code, "qr.svg"]) => routes::qr::get(app, &request, code).await,
        (_, [_, "stats" | "qr.svg"]) => ApiError::method_not_allowed("GET").into_response(),
        _ => ApiError::not_found("no such route").into_response(),
    }
}
