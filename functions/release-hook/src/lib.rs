//! CodeDeploy's lifecycle hooks for the workshop controls, two binaries of one crate:
//! - `release-hook` (pre-traffic): before any traffic of a control's `live` alias shifts to a
//!   new version, it runs the family's release gate cases against that version;
//! - `release-judge` (post-traffic): once the traffic has shifted, it judges the new version on
//!   the experiment's comparisons of the canary's window ([`experiments::domain::canary`]).
//!
//! Each reports `Succeeded` or `Failed`; on `Failed` CodeDeploy rolls back.
//!
//! | module        | what it holds                                                                 |
//! |---------------|-------------------------------------------------------------------------------|
//! | [`handler`]   | the hook: find the deployment's version, run its family's gate, report        |
//! | [`gate`]      | a family's cases sent to one function through the Invoke API, answers checked |
//! | [`judge`]     | after traffic: the canary's comparisons read and judged (`release-judge`)     |
//! | [`domain`]    | pure logic: the cases (`cases/<family>.yaml`), [`check`], [`family_of`]       |
//! | [`adapters`]  | CodeDeploy's API (signed JSON 1.1 calls, no SDK crate)                        |
//! | [`config`]    | the settings from the environment                                             |
//!
//! The acceptance suite runs the same [`gate`] with the same cases on every family's control and
//! candidates, in-process and over HTTP (`tests/acceptance/tests/suite/release_gate.rs`).

pub mod adapters;
pub mod config;
pub mod domain;
pub mod gate;
pub mod handler;
pub mod judge;

#[cfg(test)]
mod fakes;

use std::sync::Arc;

pub use domain::cases::{Case, Catalog};
pub use domain::check::{CaseFailure, check, family_of};
pub use handler::{HookApp, HookError, HookEvent, Stage};

use adapters::codedeploy::{HttpCodeDeploy, endpoint_for};
use experiments::adapters::invoke::LambdaInvoker;
use experiments::adapters::store::ExperimentStore;

/// What can stop a cold start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Cases(#[from] domain::cases::CasesError),
    #[error("no AWS region in the SDK configuration (AWS_REGION)")]
    NoRegion,
    #[error("no AWS credentials provider in the SDK configuration")]
    NoCredentials,
    #[error("cannot read the system's root certificates: {0}")]
    Certificates(#[from] std::io::Error),
}

/// The judge's evidence when its settings could not be read (never asked: the misconfiguration
/// is reported first).
struct Unconfigured;

impl judge::Evidence for Unconfigured {
    fn recorded<'a>(
        &'a self,
        _: &'a str,
    ) -> experiments::adapters::invoke::BoxFuture<'a, Result<judge::Recorded, judge::EvidenceError>>
    {
        Box::pin(async { Ok(judge::Recorded::default()) })
    }
}

impl HookApp {
    /// The configuration, the cases and the clients, once per cold start; `judging`: the
    /// post-traffic hook (`release-judge`), which reads the experiments table.
    pub async fn from_env(judging: bool) -> Result<Self, StartError> {
        // Not `?`: see HookApp::config. What reporting needs (region, credentials) still fails
        // the cold start: without it the hook could not report anything.
        let config =
            config::Config::from_env(&shared::config::ProcessEnv, judging).map_err(|error| {
                tracing::error!(%error, "misconfigured: every deployment will be reported Failed");
                error.to_string()
            });
        let catalog = Catalog::builtin()?;
        let sdk = shared::aws::sdk_config_with(experiments::INVOKE_LIMITS).await;
        let region = sdk.region().ok_or(StartError::NoRegion)?.to_string();
        let credentials = sdk
            .credentials_provider()
            .ok_or(StartError::NoCredentials)?;
        let codedeploy = HttpCodeDeploy::new(credentials, region.as_str(), endpoint_for(&region))?;
        // CodeDeploy names the function in full: no prefix to add.
        let invoker = LambdaInvoker::new(aws_sdk_lambda::Client::new(&sdk), "");
        // Misconfigured, the judge never reads the table: every deployment is reported Failed.
        let stage = match config.as_ref().ok().and_then(|c| c.judge.as_ref()) {
            Some(settings) => Stage::Judge(Arc::new(ExperimentStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                settings.table.clone(),
            ))),
            None if judging => Stage::Judge(Arc::new(Unconfigured)),
            None => Stage::Gate,
        };
        Ok(Self {
            config,
            catalog,
            codedeploy: Arc::new(codedeploy),
            invoker: Arc::new(invoker),
            stage,
        })
    }
}

/// `release-hook`'s Lambda runtime loop: the pre-traffic gate.
pub async fn run_pre_traffic() -> Result<(), lambda_http::lambda_runtime::Error> {
    serve(HookApp::from_env(false).await?, |app, event, budget| {
        handler::pre_traffic(app, event, budget)
    })
    .await
}

/// `release-judge`'s Lambda runtime loop: the post-traffic judge.
pub async fn run_post_traffic() -> Result<(), lambda_http::lambda_runtime::Error> {
    serve(HookApp::from_env(true).await?, |app, event, budget| {
        handler::post_traffic(app, event, budget)
    })
    .await
}

/// Serves `hook` with `app` for the life of the process, each invocation within the time left
/// of it ([`handler::budget`]).
async fn serve<F, Fut>(app: HookApp, hook: F) -> Result<(), lambda_http::lambda_runtime::Error>
where
    F: Fn(&'static HookApp, HookEvent, std::time::Duration) -> Fut,
    Fut: std::future::Future<Output = Result<handler::Report, HookError>>,
{
    use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
    shared::telemetry::init();
    let app: &'static HookApp = Box::leak(Box::new(app));
    let hook = &hook;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<HookEvent>| async move {
            let budget = handler::budget(event.context.deadline(), std::time::SystemTime::now());
            hook(app, event.payload, budget)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
