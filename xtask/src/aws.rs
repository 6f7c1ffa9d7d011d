//! Deploying to and removing from AWS, as plans: lists of steps that a dry run prints and a real
//! run executes one by one. The plans are pure functions of what was asked and what the stack
//! said, so the unit tests (`aws/tests.rs`) check them without AWS, stubs or a shell.
//!
//! By job: [`target`] is which stack (environment, region, profile) and the names it allows;
//! [`state`] what the stack says about itself, [`account`] whether the account can hold it;
//! [`parameters`] the template parameters a deploy sets; [`deploy`] and [`remove`] the plans, made
//! of [`step`]s; [`artifacts`] the arm64 build and its check, [`package`](mod@package) the
//! template `sam deploy` uploads; [`outputs`] the deployed stack's endpoints. Callers use the
//! re-exports below.

mod account;
mod artifacts;
mod deploy;
mod outputs;
mod package;
mod parameters;
mod remove;
mod state;
mod step;
mod target;
#[cfg(test)]
mod tests;

pub use account::AccountConcurrency;
pub use artifacts::{
    ARTIFACTS_DIR, Optimisation, build_artifacts, build_artifacts_cmd, check_artifacts,
    start_artifacts_build, zip_path,
};
pub use deploy::{ReleaseChange, deploy_plan, source_commit};
pub use outputs::{endpoints_from_outputs, outputs_query, parse_outputs};
pub use package::{package, packaged_template};
pub use parameters::{parameter_overrides, test_route_limits};
pub use remove::{Retained, artifact_bucket_query, remove_plan, stack_resources_query};
pub use state::{Deployed, stack_query};
pub use step::Step;
pub use target::{APP, FUNCTION_NAME_LIMIT, Target, longest_env_name};
