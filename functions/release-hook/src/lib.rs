//! `release-hook`: CodeDeploy's pre-traffic hook for the workshop controls. Before any traffic
//! of a control's `live` alias shifts to a new version, it runs the family's release gate cases
//! against that version and reports `Succeeded` or `Failed`; on `Failed` CodeDeploy rolls back.
//!
//! | module        | what it holds                                                                 |
//! |---------------|-------------------------------------------------------------------------------|
//! | [`handler`]   | the hook: find the deployment's version, run its family's gate, report        |
//! | [`gate`]      | a family's cases sent to one function through the Invoke API, answers checked |
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

#[cfg(test)]
mod fakes;

use std::sync::Arc;

pub use domain::cases::{Case, Catalog};
pub use domain::check::{CaseFailure, check, family_of};
pub use handler::{HookApp, HookEvent, handler};

use adapters::codedeploy::{HttpCodeDeploy, endpoint_for};
use experiments::adapters::invoke::LambdaInvoker;

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

impl HookApp {
    /// The configuration, the cases and the clients, once per cold start.
    pub async fn from_env() -> Result<Self, StartError> {
        // Not `?`: see HookApp::config. What reporting needs (region, credentials) still fails
        // the cold start: without it the hook could not report anything.
        let config = config::Config::from_env(&shared::config::ProcessEnv).map_err(|error| {
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
        Ok(Self {
            config,
            catalog,
            codedeploy: Arc::new(codedeploy),
            invoker: Arc::new(invoker),
        })
    }
}
