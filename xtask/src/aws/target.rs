//! Which stack a command means (environment, region, profile, as the verbs take them, docs/reference/cli.md),
//! the AWS CLI arguments that reach it, and the environment names Lambda's limits allow.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use registry::Registry;

use crate::cmd::Cmd;

/// Stacks are `<APP>-<env>`.
pub const APP: &str = "rust-serverless";

/// Where the stack is: environment, region and profile, as the verbs take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub env: String,
    pub region: String,
    pub profile: String,
}

impl Target {
    /// The stack `env` in `region`, reached with `profile`, `env` checked against the longest
    /// function name in `registry` (functions.toml, as the command read it).
    pub fn new(registry: &Registry, env: &str, region: &str, profile: &str) -> Result<Self> {
        check_env_name(env, longest_env_name(registry))?;
        Ok(Self {
            env: env.to_owned(),
            region: region.to_owned(),
            profile: profile.to_owned(),
        })
    }

    /// What the tools keep of this stack on this machine (its endpoints, its releases):
    /// `.deploy/<env>/<region>/`, so that a stack of the same environment in another region
    /// has its own, and a release recorded in one region is never applied in another.
    pub fn state_dir(&self, deploy_dir: &Path) -> PathBuf {
        deploy_dir.join(&self.env).join(&self.region)
    }

    pub fn stack(&self) -> String {
        format!("{APP}-{}", self.env)
    }

    fn at(&self) -> [String; 4] {
        [
            "--region".to_owned(),
            self.region.clone(),
            "--profile".to_owned(),
            self.profile.clone(),
        ]
    }

    /// `aws lambda get-account-settings`, read by
    /// [`AccountConcurrency::from_account_settings`](super::AccountConcurrency::from_account_settings).
    pub fn account_settings_query(&self) -> Cmd {
        self.aws(&["lambda", "get-account-settings", "--output", "json"])
    }

    pub(super) fn aws(&self, args: &[&str]) -> Cmd {
        Cmd::new("aws").args(args.iter().copied()).args(self.at())
    }

    /// `describe-stacks` of this stack, narrowed by a JMESPath `query`, as text.
    pub(super) fn describe(&self, stack: &str, query: &str) -> Cmd {
        self.aws(&["cloudformation", "describe-stacks", "--stack-name", stack])
            .args(["--query", query, "--output", "text"])
    }
}

/// Lambda's limit on a function name: "If you specify only the function name, it is limited to
/// 64 characters in length" (Lambda API reference, CreateFunction, FunctionName;
/// xtask/recorded-aws/SOURCES.md).
pub const FUNCTION_NAME_LIMIT: usize = 64;

/// The name `template.yaml` gives a deployment on stack `stack`: `<stack>-<name>`, and for the
/// release hook `CodeDeployHook_<stack>-<name>` (CodeDeploy's managed policy lets a deployment
/// invoke only hooks named so).
pub fn deployed_function_name(stack: &str, deployment: &str, family: &str) -> String {
    if family == "release" {
        format!("CodeDeployHook_{stack}-{deployment}")
    } else {
        format!("{stack}-{deployment}")
    }
}

/// The longest environment name whose every function name fits Lambda's limit, from the longest
/// deployment in functions.toml (variants and scaffolded candidates included).
pub fn longest_env_name(registry: &Registry) -> usize {
    let with_empty_env = registry
        .functions
        .iter()
        .flat_map(|f| {
            f.deployments()
                .into_iter()
                .map(|d| deployed_function_name(&format!("{APP}-"), &d.name, &f.family).len())
        })
        .max()
        .unwrap_or(0);
    FUNCTION_NAME_LIMIT.saturating_sub(with_empty_env)
}

/// Environment names: 1 to [`longest_env_name`] of a-z, 0-9 and '-'; `local...` means the local
/// stack.
pub fn check_env_name(env: &str, longest: usize) -> Result<()> {
    let valid = (1..=longest).contains(&env.len())
        && env
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(
            "environment names are 1-{longest} characters of a-z, 0-9 and '-' (got '{env}'): \
             the longest function name in functions.toml must stay within Lambda's \
             {FUNCTION_NAME_LIMIT} characters as {APP}-<env>-<function>"
        );
    }
    if env.starts_with("local") {
        bail!("environment names starting with 'local' mean the local stack");
    }
    Ok(())
}
