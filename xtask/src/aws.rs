//! Deploying to and removing from AWS, as plans: lists of steps that a dry run prints and a real
//! run executes one by one. The plans are pure functions of what was asked and what the stack
//! said, so the unit tests below check them without AWS, stubs or a shell.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use registry::Registry;

use crate::cmd::Cmd;
use crate::log;
use crate::releases::Releases;
use crate::template::Template;
use crate::tools::{ARM64_TARGET, Paths};

/// Stacks are `<APP>-<env>`.
pub const APP: &str = "rust-serverless";

/// Where the stack is: environment, region and profile, as the README's verbs take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub env: String,
    pub region: String,
    pub profile: String,
}

impl Target {
    pub fn new(env: &str, region: &str, profile: &str) -> Result<Self> {
        let registry = Registry::load(&crate::cli::root()?)?;
        check_env_name(env, longest_env_name(&registry))?;
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

    /// `aws lambda get-account-settings`, read by [`AccountConcurrency::from_account_settings`].
    pub fn account_settings_query(&self) -> Cmd {
        self.aws(&["lambda", "get-account-settings", "--output", "json"])
    }

    fn aws(&self, args: &[&str]) -> Cmd {
        Cmd::new("aws").args(args.iter().copied()).args(self.at())
    }

    /// `describe-stacks` of this stack, narrowed by a JMESPath `query`, as text.
    fn describe(&self, stack: &str, query: &str) -> Cmd {
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

/// The commit a deploy tags the stack with: HEAD, marked `-dirty` with uncommitted changes.
pub fn source_commit(root: &Path) -> Result<String> {
    let head = Cmd::new("git")
        .args(["rev-parse", "HEAD"])
        .dir(root)
        .read()?
        .trim()
        .to_owned();
    let dirty = !Cmd::new("git")
        .args(["status", "--porcelain"])
        .dir(root)
        .read()?
        .trim()
        .is_empty();
    Ok(if dirty { format!("{head}-dirty") } else { head })
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A command that talks to AWS (or builds what goes there).
    Run(Cmd),
    /// Builds every function's arm64 zip in one cargo invocation (this command) and checks each
    /// bootstrap.
    BuildArtifacts(Cmd),
    /// Writes the template `sam deploy` uploads, each function pointing at its zip (a family's
    /// control at its released candidate's).
    Package { out: PathBuf, releases: Releases },
    /// Writes the environment's releases, once `sam deploy` has succeeded.
    RecordReleases { file: PathBuf, releases: Releases },
    /// Reads the stack's outputs into `.deploy/<env>/<region>/endpoints.json`.
    FetchEndpoints,
    /// Deletes `.deploy/<env>/<region>/`.
    ForgetEndpoints,
    /// A sentence for the operator.
    Say(String),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Run(cmd) => write!(f, "{cmd}"),
            Step::BuildArtifacts(cmd) => write!(f, "{cmd}"),
            Step::Package { out, releases } => {
                write!(f, "# write {} (CodeUri: each function's zip", out.display())?;
                for (family, release) in &releases.0 {
                    write!(f, "; {family}-control runs {}", release.function)?;
                }
                write!(f, ")")
            }
            Step::RecordReleases { file, releases } => write!(
                f,
                "# write {}: {}",
                file.display(),
                if releases.0.is_empty() {
                    "every control runs its own code".to_owned()
                } else {
                    releases
                        .0
                        .iter()
                        .map(|(family, r)| format!("{family}={}", r.candidate))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            Step::FetchEndpoints => write!(
                f,
                "# write .deploy/<env>/<region>/endpoints.json from the stack's outputs"
            ),
            Step::ForgetEndpoints => write!(f, "# delete .deploy/<env>/<region>/"),
            Step::Say(text) => write!(f, "# {text}"),
        }
    }
}

/// What the stack says about itself before a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// No such stack, or one whose first change set was never executed (`REVIEW_IN_PROGRESS`):
    /// `sam deploy` creates it.
    None,
    /// A stack whose last operation completed (`CREATE_COMPLETE`, `UPDATE_COMPLETE`,
    /// `IMPORT_COMPLETE`), with its `git-commit` tag.
    At(String),
    /// A stack that can be updated but whose last operation was rolled back
    /// (`UPDATE_ROLLBACK_COMPLETE`, ...) or that has no tag: deployed over, never skipped.
    Stale { status: String },
    /// `ROLLBACK_COMPLETE`: its first create failed; CloudFormation refuses to update it
    /// ("... is in ROLLBACK_COMPLETE state and can not be updated"): deleted, then created again.
    FailedCreate,
    /// An operation is under way (`*_IN_PROGRESS`): wait for it.
    Busy(String),
    /// A failed delete or rollback (`*_FAILED`): a person must look.
    Broken(String),
    /// Not asked (a dry run without `--stack-commit`).
    Unknown,
}

/// `describe-stacks`' answer for a stack that does not exist (xtask/recorded-aws/
/// describe-stacks.missing.stderr.txt).
const NO_SUCH_STACK: &str = "does not exist";

impl Deployed {
    /// From `aws cloudformation describe-stacks --stack-name <stack> --output json`: its stdout
    /// when it succeeded, its stderr when it failed. Any other failure (credentials, network)
    /// is an error: a deploy must not guess that there is no stack.
    pub fn from_describe_stacks(answer: Result<&str, &str>) -> Result<Self> {
        let json = match answer {
            Ok(json) => json,
            Err(stderr) if stderr.contains(NO_SUCH_STACK) => return Ok(Self::None),
            Err(stderr) => bail!("cannot read the stack: {}", stderr.trim()),
        };
        let stacks: serde_json::Value =
            serde_json::from_str(json).context("describe-stacks answered with no JSON")?;
        let stack = &stacks["Stacks"][0];
        let status = stack["StackStatus"]
            .as_str()
            .context("describe-stacks answered without a StackStatus")?;
        let commit = stack["Tags"].as_array().and_then(|tags| {
            tags.iter()
                .find(|t| t["Key"] == "git-commit")
                .and_then(|t| t["Value"].as_str())
        });
        Ok(match status {
            "REVIEW_IN_PROGRESS" => Self::None,
            "ROLLBACK_COMPLETE" => Self::FailedCreate,
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => match commit {
                Some(commit) => Self::At(commit.to_owned()),
                None => Self::Stale {
                    status: status.to_owned(),
                },
            },
            s if s.ends_with("_IN_PROGRESS") => Self::Busy(s.to_owned()),
            s if s.ends_with("_FAILED") => Self::Broken(s.to_owned()),
            s => Self::Stale {
                status: s.to_owned(),
            },
        })
    }

    /// Why a deploy cannot go on now, and what to do; None when it can.
    pub fn refusal(&self, stack: &str, region: &str) -> Option<String> {
        match self {
            Self::Busy(status) => Some(format!(
                "stack {stack} in {region} is {status}: wait until it ends (aws cloudformation \
                 describe-stacks --stack-name {stack}), then deploy again"
            )),
            Self::Broken(status) => Some(format!(
                "stack {stack} in {region} is {status}: read why in its events (aws cloudformation \
                 describe-stack-events --stack-name {stack}); after fixing the cause, \
                 `./build.sh remove` it, or continue the rollback (aws cloudformation \
                 continue-update-rollback) for UPDATE_ROLLBACK_FAILED"
            )),
            _ => None,
        }
    }
}

/// The account's Lambda concurrency in the deploy's region (`aws lambda get-account-settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountConcurrency {
    /// `AccountLimit.ConcurrentExecutions`.
    pub limit: u64,
    /// `AccountLimit.UnreservedConcurrentExecutions`: what no function has reserved.
    pub unreserved: u64,
}

impl AccountConcurrency {
    /// From `aws lambda get-account-settings --output json`.
    pub fn from_account_settings(json: &str) -> Result<Self> {
        let settings: serde_json::Value =
            serde_json::from_str(json).context("get-account-settings answered with no JSON")?;
        let field = |name: &str| {
            settings["AccountLimit"][name]
                .as_u64()
                .with_context(|| format!("get-account-settings answered without {name}"))
        };
        Ok(Self {
            limit: field("ConcurrentExecutions")?,
            unreserved: field("UnreservedConcurrentExecutions")?,
        })
    }

    /// What Lambda keeps unreserved: 100 ("as long as you leave at least 100 simultaneous
    /// executions unreserved", PutFunctionConcurrency), and on accounts whose limit is under 100
    /// the whole limit (its error reads "below its minimum value of [10]" on a 10-limit account:
    /// xtask/recorded-aws/SOURCES.md).
    pub fn minimum_unreserved(&self) -> u64 {
        self.limit.min(100)
    }

    /// Pre-flight of a stack's create: whether `reserved` (the sum of the template's
    /// `ReservedConcurrentExecutions`) fits; what was checked when it does, and when it does not,
    /// what to ask AWS for.
    pub fn check_create(&self, reserved: u64, region: &str) -> Result<String> {
        let free = self.unreserved.saturating_sub(self.minimum_unreserved());
        if reserved <= free {
            return Ok(format!(
                "pre-flight: the stack reserves {reserved} concurrent executions; the account has \
                 {} unreserved of {} in {region}, {} of which Lambda keeps: fits",
                self.unreserved,
                self.limit,
                self.minimum_unreserved()
            ));
        }
        bail!(
            "pre-flight: the stack reserves {reserved} concurrent executions \
             (ReservedConcurrentExecutions in template.yaml: each demo function is capped so that \
             anonymous traffic cannot run up the bill), but this account has a Lambda concurrency \
             limit of {} in {region}, {} of it unreserved, and Lambda keeps {} unreserved. \
             CloudFormation would roll the create back with \
             \"Specified ReservedConcurrentExecutions for function decreases account's \
             UnreservedConcurrentExecution below its minimum value of [{}]\". \
             Ask AWS for more: Service Quotas > AWS Lambda > Concurrent executions \
             (quota code L-B99A9384) in {region}, at least {} (new accounts often start at 10 \
             and are raised on request), then deploy again. Nothing was created.",
            self.limit,
            self.unreserved,
            self.minimum_unreserved(),
            self.minimum_unreserved(),
            reserved + 100 + (self.limit - self.unreserved)
        )
    }
}

/// The HTTP API's route limits of a test stack (`ROUTE_LIMITS=test`, and the stack
/// `./build.sh test` runs): high enough that the acceptance suite, which paces itself and retries
/// `429`, is not held up by its own creates, low enough that it is throttled now and then (so its
/// retries are exercised). A production stack keeps the template's defaults.
pub const TEST_ROUTE_LIMITS: [(&str, &str); 4] = [
    ("CreateRateLimit", "50"),
    ("CreateBurstLimit", "50"),
    ("BulkCreateRateLimit", "5"),
    ("BulkCreateBurstLimit", "5"),
];

pub fn test_route_limits() -> BTreeMap<String, String> {
    TEST_ROUTE_LIMITS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The template parameters a deploy sets, as `sam deploy --parameter-overrides` items: every one
/// of them on every deploy (`sam deploy` would otherwise keep a parameter's previous value, so a
/// stack once public would stay public and an alarm e-mail could never be cleared): the
/// environment's value when set, else the template's default (`defaults`). Each value is quoted
/// as SAM CLI's parser wants it (checked with SAM CLI 1.170.0's `CfnParameterOverridesType`: an
/// unquoted JSON value is cut at its first `"`, an empty one is refused).
pub fn parameter_overrides(
    env: &str,
    vars: &BTreeMap<String, String>,
    defaults: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let test_limits = vars.get("ROUTE_LIMITS").map(String::as_str) == Some("test");
    let mut values = vec![("Stage".to_owned(), env.to_owned())];
    for (parameter, test_value) in TEST_ROUTE_LIMITS {
        let value = if test_limits {
            test_value.to_owned()
        } else {
            default_of(defaults, parameter)?
        };
        values.push((parameter.to_owned(), value));
    }
    for (var, parameter) in DEPLOY_VARIABLES {
        let value = match vars.get(var) {
            Some(value) => value.clone(),
            None => default_of(defaults, parameter)?,
        };
        values.push((parameter.to_owned(), value));
    }
    // The rest at their defaults, but the releases' (`<Family>Release`, from releases.rs).
    for (parameter, default) in defaults {
        if !parameter.ends_with("Release") && !values.iter().any(|(p, _)| p == parameter) {
            values.push((parameter.clone(), default.clone()));
        }
    }
    values
        .into_iter()
        .map(|(parameter, value)| {
            if value.contains(['\'', '\\']) {
                bail!(
                    "{parameter}: a value with ' or \\ cannot be passed to sam deploy (got {value})"
                );
            }
            Ok(format!("{parameter}='{value}'"))
        })
        .collect()
}

/// The environment variables a deploy reads, and the template parameter each sets.
pub const DEPLOY_VARIABLES: [(&str, &str); 5] = [
    ("SHORT_URL_BASE", "ShortUrlBase"),
    ("BLOCKED_DOMAINS", "BlockedDomains"),
    ("ALARM_EMAIL", "AlarmEmail"),
    ("DEMO_FUNCTION_URL_AUTH", "DemoFunctionUrlAuth"),
    ("APPLE_APP_SITE_ASSOCIATION", "AppleAppSiteAssociation"),
];

fn default_of(defaults: &BTreeMap<String, String>, parameter: &str) -> Result<String> {
    defaults
        .get(parameter)
        .cloned()
        .with_context(|| format!("template.yaml has no parameter {parameter}"))
}

/// The packaged template's path.
pub fn packaged_template(paths: &Paths) -> PathBuf {
    paths.root.join(".aws-sam/build/template.yaml")
}

/// The stack as `describe-stacks` tells it (status and tags), read by
/// [`Deployed::from_describe_stacks`].
pub fn stack_query(target: &Target) -> Cmd {
    target
        .aws(&[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            &target.stack(),
        ])
        .args(["--output", "json"])
}

/// What a deploy changes besides the code at a commit.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseChange {
    /// What it does, for the operator.
    pub sentence: String,
    /// Where the stack's releases are kept, and what they become.
    pub file: PathBuf,
}

/// `./build.sh deploy`: skip when the stack is at this clean commit (unless a release changes);
/// otherwise build, package with the stack's releases, `sam deploy` tagged with the commit; then
/// read the outputs. A release change is recorded once `sam deploy` has succeeded: CodeDeploy
/// rolling a release back fails the stack update, and the recorded releases stay as they were.
#[allow(clippy::too_many_arguments)]
pub fn deploy_plan(
    target: &Target,
    build: Cmd,
    commit: &str,
    deployed: &Deployed,
    overrides: &[String],
    packaged: &Path,
    releases: &Releases,
    change: Option<&ReleaseChange>,
) -> Vec<Step> {
    let stack = target.stack();
    let mut plan = Vec::new();
    if let Some(change) = change {
        plan.push(Step::Say(change.sentence.clone()));
    }
    if *deployed == Deployed::At(commit.to_owned()) && change.is_none() {
        plan.push(Step::Say(format!(
            "skipping deploy: stack {stack} is already tagged git-commit={commit} and the tree is clean"
        )));
    } else {
        let at = match deployed {
            Deployed::None => "no stack yet".to_owned(),
            Deployed::At(c) => format!("stack at {c}"),
            Deployed::Stale { status } => format!("stack {status}"),
            Deployed::FailedCreate => "its first create failed".to_owned(),
            Deployed::Busy(status) | Deployed::Broken(status) => format!("stack {status}"),
            Deployed::Unknown => "stack commit unknown".to_owned(),
        };
        if commit.ends_with("-dirty") {
            plan.push(Step::Say(format!(
                "deploying: the tree has uncommitted changes ({at})"
            )));
        } else {
            plan.push(Step::Say(format!("deploying {commit} ({at})")));
        }
        plan.push(Step::BuildArtifacts(build));
        plan.push(Step::Package {
            out: packaged.to_owned(),
            releases: releases.clone(),
        });
        let mut deploy = Cmd::new("sam")
            .args(["deploy", "--template-file"])
            .arg(packaged.display().to_string())
            .args(["--stack-name", &stack])
            .args(["--region", &target.region, "--profile", &target.profile])
            .args(["--resolve-s3", "--s3-prefix", &stack])
            .args(["--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
            .args(["--no-confirm-changeset", "--no-fail-on-empty-changeset"])
            .arg("--parameter-overrides")
            .args(overrides.iter().cloned())
            .arg("--tags")
            .arg(format!("app={APP}"))
            .arg(format!("env={}", target.env))
            .arg(format!("git-commit={commit}"));
        deploy = deploy.env("SAM_CLI_TELEMETRY", "0");
        if *deployed == Deployed::FailedCreate {
            plan.push(Step::Say(format!(
                "stack {stack} is ROLLBACK_COMPLETE (its first create failed; CloudFormation cannot \
                 update it): deleting it, then creating it again. Nothing is lost: what the failed \
                 create made was deleted by its rollback (RetainExceptOnCreate)"
            )));
            plan.push(Step::Run(target.aws(&[
                "cloudformation",
                "delete-stack",
                "--stack-name",
                &stack,
            ])));
            plan.push(Step::Run(target.aws(&[
                "cloudformation",
                "wait",
                "stack-delete-complete",
                "--stack-name",
                &stack,
            ])));
        }
        plan.push(Step::Run(deploy));
        if let Some(change) = change {
            plan.push(Step::RecordReleases {
                file: change.file.clone(),
                releases: releases.clone(),
            });
        }
    }
    plan.push(Step::Run(outputs_query(target)));
    plan.push(Step::FetchEndpoints);
    plan
}

/// The stack's outputs as JSON.
pub fn outputs_query(target: &Target) -> Cmd {
    target
        .aws(&[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            &target.stack(),
        ])
        .args(["--query", "Stacks[0].Outputs", "--output", "json"])
}

/// What a stack keeps when it goes (`DeletionPolicy: RetainExceptOnCreate`): each one's physical
/// id, None when the stack does not have it (a create rolled back deleted it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    pub links_table: Option<String>,
    pub experiments_table: Option<String>,
    pub code_key_secret: Option<String>,
}

/// The retained resources' logical ids in template.yaml.
const RETAINED: [&str; 3] = ["LinksTable", "ExperimentsTable", "CodeKeySecret"];

impl Retained {
    /// Placeholders for a dry run, which asks AWS nothing.
    pub fn placeholders() -> Self {
        Self {
            links_table: Some("<LinksTable>".to_owned()),
            experiments_table: Some("<ExperimentsTable>".to_owned()),
            code_key_secret: Some("<CodeKeySecret>".to_owned()),
        }
    }

    /// From `aws cloudformation list-stack-resources --output json`: works for a stack without
    /// outputs too (a failed or half-made one). A resource deleted already (`DELETE_COMPLETE`,
    /// as after a rolled-back create) is not kept.
    pub fn from_stack_resources(json: &str) -> Result<Self> {
        let listed: serde_json::Value =
            serde_json::from_str(json).context("list-stack-resources answered with no JSON")?;
        let summaries = listed["StackResourceSummaries"]
            .as_array()
            .context("list-stack-resources answered without StackResourceSummaries")?;
        let physical = |logical: &str| {
            summaries
                .iter()
                .find(|r| r["LogicalResourceId"] == logical)
                .filter(|r| r["ResourceStatus"] != "DELETE_COMPLETE")
                .and_then(|r| r["PhysicalResourceId"].as_str())
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        };
        let [links, experiments, key] = RETAINED;
        Ok(Self {
            links_table: physical(links),
            experiments_table: physical(experiments),
            code_key_secret: physical(key),
        })
    }
}

/// The stack's resources (for [`Retained::from_stack_resources`]).
pub fn stack_resources_query(target: &Target) -> Cmd {
    target.aws(&[
        "cloudformation",
        "list-stack-resources",
        "--stack-name",
        &target.stack(),
        "--output",
        "json",
    ])
}

/// The query for SAM's managed artifact bucket.
pub fn artifact_bucket_query(target: &Target) -> Cmd {
    target.describe(
        "aws-sam-cli-managed-default",
        "Stacks[0].Outputs[?OutputKey=='SourceBucket'].OutputValue | [0]",
    )
}

/// `./build.sh remove`: delete the stack and wait, delete its uploaded artifacts, and the
/// retained data only when asked.
pub fn remove_plan(
    target: &Target,
    retained: &Retained,
    bucket: Option<&str>,
    delete_data: bool,
) -> Vec<Step> {
    let stack = target.stack();
    let mut plan = vec![
        Step::Say(format!("removing {stack} from {}", target.region)),
        Step::Run(target.aws(&["cloudformation", "delete-stack", "--stack-name", &stack])),
        Step::Run(target.aws(&[
            "cloudformation",
            "wait",
            "stack-delete-complete",
            "--stack-name",
            &stack,
        ])),
    ];
    // sam deploy --resolve-s3 uploaded the artifacts under the stack's prefix.
    if let Some(bucket) = bucket.filter(|b| !b.is_empty() && *b != "None") {
        plan.push(Step::Run(target.aws(&[
            "s3",
            "rm",
            &format!("s3://{bucket}/{stack}"),
            "--recursive",
        ])));
    }
    let tables = [&retained.links_table, &retained.experiments_table];
    if delete_data {
        for table in tables.into_iter().flatten() {
            plan.push(Step::Run(target.aws(&[
                "dynamodb",
                "delete-table",
                "--table-name",
                table,
            ])));
        }
        if let Some(secret) = &retained.code_key_secret {
            plan.push(Step::Run(target.aws(&[
                "secretsmanager",
                "delete-secret",
                "--secret-id",
                secret,
                "--force-delete-without-recovery",
            ])));
        }
    } else {
        let kept: Vec<String> = [
            ("the links table", &retained.links_table),
            ("the experiments table", &retained.experiments_table),
            ("the code key", &retained.code_key_secret),
        ]
        .into_iter()
        .filter_map(|(what, id)| id.as_ref().map(|id| format!("{what} {id}")))
        .collect();
        if !kept.is_empty() {
            plan.push(Step::Say(format!(
                "kept {} (--delete-data deletes them)",
                kept.join(", ")
            )));
        }
    }
    plan.push(Step::ForgetEndpoints);
    plan
}

/// How the arm64 zips are optimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimisation {
    /// What `deploy` ships: the release profile (opt-level 3; the SDK crates for size).
    Deploy,
    /// `./build.sh test`'s check that every function cross-compiles for AArch64, links, zips
    /// and packages: unoptimised (opt-level 0). Its zips are never deployed (a deploy builds
    /// again, at its own levels, in the same folder), and this build is the longest path of a
    /// fresh run on two cores: optimising was most of its time.
    Check,
}

impl Optimisation {
    /// The build's target folder, relative to the workspace root: each level has its own, so the
    /// test's unoptimised zips are never packaged for a deploy or measured as deployment zips.
    pub fn dir(self) -> &'static str {
        match self {
            Optimisation::Deploy => ARTIFACTS_DIR,
            Optimisation::Check => "target/lambda-arm64-check",
        }
    }
}

/// The one cargo invocation that builds every function's arm64 zip. Release builds without LTO
/// and with 16 codegen units: thin LTO with one unit made each binary's last step a minute here.
/// A target folder of its own, so the build can run beside the tests' cargo commands.
pub fn build_artifacts_cmd(registry: &Registry, optimisation: Optimisation) -> Cmd {
    let mut cmd = Cmd::new("cargo")
        .args([
            "lambda",
            "build",
            "--release",
            "--arm64",
            "--output-format",
            "zip",
        ])
        // (cargo lambda passes --target-dir on to `cargo metadata`, which refuses it.)
        .env("CARGO_TARGET_DIR", optimisation.dir())
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16");
    // The two SDK crates are most of the build's compile time; their code waits on the network,
    // so they are optimised for size (smaller zips too), as is the release hook, which only calls
    // CodeDeploy and the functions. Their effect on a function's CPU time is not measured (README).
    match optimisation {
        Optimisation::Deploy => {
            for sdk in ["aws-sdk-dynamodb", "aws-sdk-lambda", "release-hook"] {
                cmd = cmd
                    .arg("--config")
                    .arg(format!("profile.release.package.{sdk}.opt-level=\"s\""));
            }
        }
        Optimisation::Check => cmd = cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
    }
    let binaries: std::collections::BTreeSet<&str> =
        registry.functions.iter().map(|f| f.binary()).collect();
    for binary in binaries {
        cmd = cmd.args(["--bin", binary]);
    }
    cmd
}

/// The deployed arm64 build's target folder, relative to the workspace root.
pub const ARTIFACTS_DIR: &str = "target/lambda-arm64";

/// The zip `cargo lambda build` writes for `binary` at `optimisation`.
pub fn zip_path(paths: &Paths, optimisation: Optimisation, binary: &str) -> PathBuf {
    paths
        .root
        .join(optimisation.dir())
        .join("lambda")
        .join(binary)
        .join("bootstrap.zip")
}

/// ELF `e_machine` of AArch64.
const EM_AARCH64: u16 = 183;

/// The ELF machine of the file starting with `header`, if it is an ELF file.
pub fn elf_machine(header: &[u8]) -> Option<u16> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return None;
    }
    let bytes = [header[18], header[19]];
    Some(if header[5] == 1 {
        u16::from_le_bytes(bytes)
    } else {
        u16::from_be_bytes(bytes)
    })
}

/// The arm64 build, run by [`build_artifacts`] or started beside the tests.
fn artifacts_build(paths: &Paths, optimisation: Optimisation) -> Result<Cmd> {
    let registry = Registry::load(&paths.root)?;
    crate::tools::ensure_arm64_target()?;
    Ok(build_artifacts_cmd(&registry, optimisation)
        .env("PATH", paths.path_var())
        .dir(&paths.root))
}

/// Starts the arm64 build in the background at the lowest priority (so tests running beside it
/// keep the CPU), its output in `.local/arm64-build.log`; stopped with the other processes.
/// Used by `./build.sh test` only, at [`Optimisation::Check`].
pub fn start_artifacts_build(paths: &Paths) -> Result<crate::procs::Background> {
    let build = artifacts_build(paths, Optimisation::Check)?;
    let niced = Cmd::new("nice")
        .args(["-n", "19", build.program()])
        .args(build.get_args().to_vec())
        .envs(build.get_envs().to_vec())
        .dir(&paths.root);
    let log = paths.local.join("arm64-build.log");
    log!(
        "arm64 artifacts of every function: one cargo lambda build, niced, beside the tests (log: {})",
        log.display()
    );
    crate::procs::spawn(&niced, &log)
}

/// Builds the arm64 zips and proves each function has one, around an AArch64 `bootstrap`.
pub fn build_artifacts(paths: &Paths) -> Result<()> {
    log!("arm64 artifacts of every function (one cargo lambda build)");
    artifacts_build(paths, Optimisation::Deploy)?.run()?;
    check_artifacts(paths, Optimisation::Deploy)
}

/// Every registered function has a zip and an AArch64 ELF `bootstrap` (built at `optimisation`).
pub fn check_artifacts(paths: &Paths, optimisation: Optimisation) -> Result<()> {
    let registry = Registry::load(&paths.root)?;
    let mut failures = Vec::new();
    for function in &registry.functions {
        let binary = paths
            .root
            .join(optimisation.dir())
            .join(ARM64_TARGET)
            .join("release")
            .join(function.binary());
        let zip = zip_path(paths, optimisation, function.binary());
        let header = std::fs::read(&binary)
            .map(|bytes| bytes[..bytes.len().min(64)].to_vec())
            .unwrap_or_default();
        match (elf_machine(&header), std::fs::metadata(&zip)) {
            (Some(EM_AARCH64), Ok(meta)) if meta.len() > 0 => println!(
                "{:32} bootstrap.zip {:6.2} MB (aarch64)",
                function.name,
                meta.len() as f64 / 1e6
            ),
            (Some(EM_AARCH64), _) => {
                failures.push(format!("{}: no {}", function.name, zip.display()))
            }
            _ => failures.push(format!(
                "{}: {} is not an AArch64 ELF executable",
                function.name,
                binary.display()
            )),
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

/// Writes the packaged template for `sam deploy` (the zips of the build at `optimisation`).
pub fn package(
    paths: &Paths,
    out: &Path,
    releases: &Releases,
    optimisation: Optimisation,
) -> Result<()> {
    let registry = registry::Registry::load(&paths.root)?;
    let template = crate::scaffolded::template(&paths.root, &registry)?;
    let text = template.packaged(|binary| {
        zip_path(paths, optimisation, releases.binary_of(&registry, binary))
            .display()
            .to_string()
    })?;
    std::fs::create_dir_all(out.parent().expect("a folder"))?;
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))
}

/// The endpoints file of a deployed stack, in the local file's shape: the shortener (and the
/// report, on the same HTTP API) at the API's URL, every function with a Function URL at it, the
/// tables.
pub fn endpoints_from_outputs(
    template: &Template,
    outputs: &BTreeMap<String, String>,
    region: &str,
) -> Result<serde_json::Value> {
    let mut map = serde_json::Map::new();
    let api = outputs
        .get("ApiUrl")
        .context("the stack has no output ApiUrl: deployed from another template?")?
        .trim_end_matches('/')
        .to_owned();
    map.insert("shortener".to_owned(), api.clone().into());
    map.insert("experiment-report".to_owned(), api.into());
    let names: BTreeMap<String, String> = template
        .functions()?
        .into_iter()
        .map(|f| (f.logical_id, f.name))
        .collect();
    let mut url_functions = std::collections::BTreeSet::new();
    for (key, function) in template.function_url_outputs() {
        let url = outputs.get(&key).with_context(|| {
            format!("the stack has no output {key}: deployed from another template?")
        })?;
        let name = names
            .get(&function)
            .with_context(|| format!("output {key} names no function ({function})"))?;
        map.insert(name.clone(), url.trim_end_matches('/').into());
        url_functions.insert(name.clone());
    }
    if outputs.get("DemoFunctionUrlAuth").map(String::as_str) == Some("AWS_IAM") {
        let iam = shared::function_url::IamUrls {
            region: region.to_owned(),
            functions: url_functions,
        };
        map.insert(
            shared::function_url::AUTH_KEY.to_owned(),
            iam.to_endpoints_entry(),
        );
    }
    // The limits as deployed: template.yaml's, with the stack's parameter values.
    let parameters: BTreeMap<String, String> = outputs
        .get("RouteLimitParameters")
        .map(|text| {
            text.split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    map.insert(
        crate::front::throttle::ROUTE_LIMITS_KEY.to_owned(),
        crate::front::throttle::RouteLimits::from_template(template, &parameters)?.to_json(),
    );
    let table = |key: &str| outputs.get(key).cloned().unwrap_or_default();
    map.insert(
        "tables".to_owned(),
        serde_json::json!({
            "LinksTable": table("LinksTableName"),
            "ExperimentsTable": table("ExperimentsTableName"),
        }),
    );
    Ok(serde_json::Value::Object(map))
}

/// `[{"OutputKey": k, "OutputValue": v}, ...]` as a map.
pub fn parse_outputs(json: &str) -> Result<BTreeMap<String, String>> {
    let value: serde_json::Value = serde_json::from_str(json).context("stack outputs")?;
    Ok(value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some((
                o["OutputKey"].as_str()?.to_owned(),
                o["OutputValue"].as_str()?.to_owned(),
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target::new("dev", "eu-west-1", "default").unwrap()
    }

    fn lines(plan: &[Step]) -> Vec<String> {
        plan.iter().map(ToString::to_string).collect()
    }

    const AT: &str = "--region eu-west-1 --profile default";

    #[test]
    fn a_deploy_builds_packages_deploys_tagged_and_reads_the_outputs() {
        // The plan passes the overrides as given (their making is tested below).
        let overrides = vec!["Stage=dev".to_owned()];
        let plan = deploy_plan(
            &target(),
            Cmd::new("build"),
            "abc123",
            &Deployed::At("old".into()),
            &overrides,
            Path::new("/repo/.aws-sam/build/template.yaml"),
            &Releases::default(),
            None,
        );
        assert_eq!(plan[1], Step::BuildArtifacts(Cmd::new("build")));
        assert!(matches!(plan[2], Step::Package { .. }));
        let lines = lines(&plan);
        assert_eq!(
            lines[3],
            "env SAM_CLI_TELEMETRY=0 sam deploy --template-file /repo/.aws-sam/build/template.yaml \
             --stack-name rust-serverless-dev --region eu-west-1 --profile default --resolve-s3 \
             --s3-prefix rust-serverless-dev --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
             --no-confirm-changeset --no-fail-on-empty-changeset --parameter-overrides Stage=dev \
             --tags app=rust-serverless env=dev git-commit=abc123"
        );
        assert_eq!(
            lines[4],
            format!(
                "aws cloudformation describe-stacks --stack-name rust-serverless-dev {AT} --query \"Stacks[0].Outputs\" --output json"
            )
        );
        assert_eq!(plan[5], Step::FetchEndpoints);
    }

    #[test]
    fn a_stack_already_at_this_clean_commit_is_not_redeployed() {
        let plan = deploy_plan(
            &target(),
            Cmd::new("build"),
            "abc123",
            &Deployed::At("abc123".into()),
            &[],
            Path::new("t.yaml"),
            &Releases::default(),
            None,
        );
        assert!(matches!(&plan[0], Step::Say(s) if s.contains("skipping deploy")));
        assert!(!plan.iter().any(|s| matches!(s, Step::BuildArtifacts(_))));
        assert!(!lines(&plan).iter().any(|l| l.contains("sam deploy")));
        assert_eq!(plan.last(), Some(&Step::FetchEndpoints));
    }

    #[test]
    fn a_dirty_tree_is_deployed_and_tagged_dirty() {
        let plan = deploy_plan(
            &target(),
            Cmd::new("build"),
            "abc123-dirty",
            &Deployed::At("abc123".into()),
            &[],
            Path::new("t.yaml"),
            &Releases::default(),
            None,
        );
        let lines = lines(&plan);
        assert!(lines[0].contains("uncommitted changes"), "{lines:?}");
        assert!(lines.iter().any(|l| l.ends_with("git-commit=abc123-dirty")));
    }

    #[test]
    fn a_release_deploys_even_at_the_same_commit_and_is_recorded_after_sam_deploy() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let registry = Registry::load(&root).unwrap();
        let releases = Releases::default()
            .with(
                &registry,
                "sort",
                Some(crate::releases::Release {
                    candidate: "fixed".into(),
                    function: "sort-candidate-fixed".into(),
                }),
            )
            .unwrap();
        let mut overrides = vec!["Stage=dev".to_owned()];
        overrides.extend(releases.parameter_overrides(&registry));
        let change = ReleaseChange {
            sentence: "release sort-candidate-fixed to sort-control".into(),
            file: "/repo/.deploy/dev/eu-west-1/releases.json".into(),
        };
        let plan = deploy_plan(
            &target(),
            Cmd::new("build"),
            "abc123",
            &Deployed::At("abc123".into()),
            &overrides,
            Path::new("t.yaml"),
            &releases,
            Some(&change),
        );
        let lines = lines(&plan);
        assert_eq!(lines[0], "# release sort-candidate-fixed to sort-control");
        assert_eq!(
            lines[3],
            "# write t.yaml (CodeUri: each function's zip; sort-control runs sort-candidate-fixed)"
        );
        assert!(
            lines[4].contains(
                "--parameter-overrides Stage=dev RoundRelease=none SortRelease=fixed \
                 FizzbuzzRelease=none Pbkdf2Release=none --tags"
            ),
            "{}",
            lines[4]
        );
        assert!(lines[4].starts_with("env SAM_CLI_TELEMETRY=0 sam deploy"));
        assert_eq!(
            plan[5],
            Step::RecordReleases {
                file: change.file.clone(),
                releases
            }
        );
        assert_eq!(
            lines[5],
            "# write /repo/.deploy/dev/eu-west-1/releases.json: sort=fixed"
        );
        assert_eq!(plan.last(), Some(&Step::FetchEndpoints));
    }

    fn defaults() -> BTreeMap<String, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Template::load(&root).unwrap().parameter_defaults()
    }

    #[test]
    fn a_test_stack_gets_the_test_route_limits() {
        let vars = BTreeMap::from([("ROUTE_LIMITS".to_owned(), "test".to_owned())]);
        let overrides = parameter_overrides("ci", &vars, &defaults()).unwrap();
        assert!(
            overrides.contains(&"CreateRateLimit='50'".to_owned()),
            "{overrides:?}"
        );
        let production = parameter_overrides("ci", &BTreeMap::new(), &defaults()).unwrap();
        assert!(
            production.contains(&"CreateRateLimit='10'".to_owned()),
            "{production:?}"
        );
    }

    #[test]
    fn every_parameter_is_passed_on_every_deploy_from_the_environment_or_its_default() {
        let vars = BTreeMap::from([
            ("SHORT_URL_BASE".to_owned(), "https://sho.rt".to_owned()),
            ("ALARM_EMAIL".to_owned(), String::new()),
        ]);
        let overrides = parameter_overrides("dev", &vars, &defaults()).unwrap();
        for expected in [
            "Stage='dev'",
            "ShortUrlBase='https://sho.rt'",
            // Cleared, not kept from the last deploy.
            "AlarmEmail=''",
            // Unset: back to the template's default, however the stack was deployed before.
            "DemoFunctionUrlAuth='AWS_IAM'",
            r#"AppleAppSiteAssociation='{"applinks":{"apps":[],"details":[]}}'"#,
            "LogRetentionDays='30'",
        ] {
            assert!(
                overrides.contains(&expected.to_owned()),
                "{expected}: {overrides:?}"
            );
        }
        // Every parameter once, the releases' apart (releases.rs passes them).
        let named: Vec<&str> = overrides
            .iter()
            .filter_map(|o| o.split('=').next())
            .collect();
        let all = defaults();
        let expected: Vec<&String> = all.keys().filter(|p| !p.ends_with("Release")).collect();
        assert_eq!(named.len(), expected.len(), "{named:?}");
        for parameter in expected {
            assert!(named.contains(&parameter.as_str()), "{parameter}");
        }
        let quoted = BTreeMap::from([("BLOCKED_DOMAINS".to_owned(), "it's".to_owned())]);
        assert!(parameter_overrides("dev", &quoted, &defaults()).is_err());
    }

    #[test]
    fn remove_keeps_the_data_unless_asked_and_cleans_the_artifacts() {
        let retained = Retained {
            links_table: Some("links".into()),
            experiments_table: Some("exp".into()),
            code_key_secret: Some("arn:secret".into()),
        };
        let kept = lines(&remove_plan(&target(), &retained, Some("bucket"), false));
        for command in [
            format!("aws cloudformation delete-stack --stack-name rust-serverless-dev {AT}"),
            format!(
                "aws cloudformation wait stack-delete-complete --stack-name rust-serverless-dev {AT}"
            ),
            format!("aws s3 rm s3://bucket/rust-serverless-dev --recursive {AT}"),
        ] {
            assert!(kept.contains(&command), "missing {command}: {kept:?}");
        }
        assert!(
            !kept
                .iter()
                .any(|l| l.contains("delete-table") || l.contains("delete-secret"))
        );
        assert!(
            kept.iter()
                .any(|l| l.contains("kept the links table links"))
        );

        let deleted = lines(&remove_plan(&target(), &retained, None, true));
        for command in [
            format!("aws dynamodb delete-table --table-name links {AT}"),
            format!("aws dynamodb delete-table --table-name exp {AT}"),
            format!(
                "aws secretsmanager delete-secret --secret-id arn:secret --force-delete-without-recovery {AT}"
            ),
        ] {
            assert!(deleted.contains(&command), "missing {command}: {deleted:?}");
        }
        assert!(
            !deleted.iter().any(|l| l.contains("s3 rm")),
            "no bucket, no rm"
        );
    }

    #[test]
    fn remove_finds_what_is_kept_from_the_stacks_resources_even_without_outputs() {
        let retained =
            Retained::from_stack_resources(&recorded("list-stack-resources.retained.json"))
                .unwrap();
        assert_eq!(
            retained.links_table.as_deref(),
            Some("rust-serverless-dev-LinksTable-1VC62XMPLGGUF")
        );
        assert_eq!(
            retained.experiments_table.as_deref(),
            Some("rust-serverless-dev-ExperimentsTable-HIZXMPLEOM9E")
        );
        assert!(
            retained
                .code_key_secret
                .unwrap()
                .starts_with("arn:aws:secretsmanager:")
        );
        // AWS's own example (another stack): none of ours, nothing to keep or delete.
        let other =
            Retained::from_stack_resources(&recorded("list-stack-resources.doc-example.json"))
                .unwrap();
        assert_eq!(
            other,
            Retained {
                links_table: None,
                experiments_table: None,
                code_key_secret: None
            }
        );
        let plan = lines(&remove_plan(&target(), &other, None, true));
        assert!(plan.iter().any(|l| l.contains("delete-stack")), "{plan:?}");
        assert!(!plan.iter().any(|l| l.contains("delete-table")), "{plan:?}");
        // A create rolled back: its resources are listed as DELETE_COMPLETE, gone already.
        let rolled_back = recorded("list-stack-resources.retained.json")
            .replace("CREATE_COMPLETE", "DELETE_COMPLETE");
        assert_eq!(
            Retained::from_stack_resources(&rolled_back)
                .unwrap()
                .links_table,
            None
        );
    }

    fn recorded(file: &str) -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("recorded-aws")
                .join(file),
        )
        .unwrap()
    }

    #[test]
    fn the_stack_state_is_read_from_describe_stacks_recorded_answers() {
        let ok = |file: &str| Deployed::from_describe_stacks(Ok(&recorded(file))).unwrap();
        assert_eq!(
            ok("describe-stacks.create-complete.json"),
            Deployed::At("abc123".into())
        );
        assert_eq!(
            ok("describe-stacks.update-complete.json"),
            Deployed::At("abc123".into())
        );
        assert_eq!(
            ok("describe-stacks.rollback-complete.json"),
            Deployed::FailedCreate
        );
        assert_eq!(
            ok("describe-stacks.update-rollback-complete.json"),
            Deployed::Stale {
                status: "UPDATE_ROLLBACK_COMPLETE".into()
            }
        );
        // AWS's own example has no git-commit tag: deployed over, never skipped.
        assert_eq!(
            ok("describe-stacks.doc-example.json"),
            Deployed::Stale {
                status: "CREATE_COMPLETE".into()
            }
        );
        assert_eq!(
            ok("describe-stacks.review-in-progress.json"),
            Deployed::None
        );
        assert_eq!(
            ok("describe-stacks.create-in-progress.json"),
            Deployed::Busy("CREATE_IN_PROGRESS".into())
        );
        assert_eq!(
            ok("describe-stacks.delete-failed.json"),
            Deployed::Broken("DELETE_FAILED".into())
        );
        let missing = recorded("describe-stacks.missing.stderr.txt");
        assert_eq!(
            Deployed::from_describe_stacks(Err(&missing)).unwrap(),
            Deployed::None
        );
        // Not knowing is not "no stack".
        let expired = "An error occurred (ExpiredToken) when calling the DescribeStacks operation";
        assert!(Deployed::from_describe_stacks(Err(expired)).is_err());
    }

    #[test]
    fn a_busy_or_broken_stack_stops_the_deploy_with_what_to_do() {
        for (deployed, expected) in [
            (
                Deployed::Busy("UPDATE_IN_PROGRESS".into()),
                "wait until it ends",
            ),
            (
                Deployed::Broken("DELETE_FAILED".into()),
                "describe-stack-events",
            ),
        ] {
            let why = deployed
                .refusal("rust-serverless-dev", "eu-west-1")
                .unwrap();
            assert!(why.contains(expected), "{why}");
        }
        for fine in [
            Deployed::None,
            Deployed::FailedCreate,
            Deployed::At("a".into()),
            Deployed::Stale {
                status: "UPDATE_ROLLBACK_COMPLETE".into(),
            },
        ] {
            assert_eq!(fine.refusal("s", "r"), None);
        }
    }

    #[test]
    fn a_failed_first_create_is_deleted_then_created_again_and_a_rolled_back_update_is_redeployed()
    {
        let plan = |deployed: &Deployed| {
            lines(&deploy_plan(
                &target(),
                Cmd::new("cargo"),
                "abc123",
                deployed,
                &[],
                Path::new("packaged.yaml"),
                &Releases::default(),
                None,
            ))
        };
        let retry = plan(&Deployed::FailedCreate);
        let delete = retry
            .iter()
            .position(|l| l.starts_with("aws cloudformation delete-stack"))
            .expect("the failed stack is deleted");
        let wait = retry
            .iter()
            .position(|l| l.starts_with("aws cloudformation wait stack-delete-complete"))
            .expect("and waited for");
        let deploy = retry
            .iter()
            .position(|l| l.contains("sam deploy "))
            .expect("then created");
        assert!(delete < wait && wait < deploy, "{retry:#?}");
        assert!(retry.iter().any(|l| l.contains("ROLLBACK_COMPLETE")));
        // At the same commit, but its last update was rolled back: deployed again.
        let stale = plan(&Deployed::Stale {
            status: "UPDATE_ROLLBACK_COMPLETE".into(),
        });
        assert!(
            stale.iter().any(|l| l.contains("sam deploy ")),
            "{stale:#?}"
        );
        assert!(!stale.iter().any(|l| l.contains("delete-stack")));
    }

    #[test]
    fn the_pre_flight_stops_a_create_the_account_cannot_hold_and_says_what_to_ask_for() {
        let account =
            |file: &str| AccountConcurrency::from_account_settings(&recorded(file)).unwrap();
        let new = account("get-account-settings.new-account.json");
        assert_eq!(
            new,
            AccountConcurrency {
                limit: 10,
                unreserved: 10
            }
        );
        let error = new.check_create(70, "eu-west-1").unwrap_err().to_string();
        for expected in [
            "limit of 10",
            "minimum value of [10]",
            "L-B99A9384",
            "at least 170",
            "Nothing was created",
        ] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
        // A user's recorded account with a limit of 50.
        let fifty = account("get-account-settings.limit-50.recorded.json");
        assert!(fifty.check_create(70, "eu-west-1").is_err());
        let default = account("get-account-settings.default.json");
        assert_eq!(default.limit, 1000);
        let fits = default.check_create(70, "eu-west-1").unwrap();
        assert!(fits.contains("fits"), "{fits}");
        // At the edge: 100 must stay unreserved.
        let edge = AccountConcurrency {
            limit: 1000,
            unreserved: 170,
        };
        assert!(edge.check_create(70, "r").is_ok());
        assert!(edge.check_create(71, "r").is_err());
        assert!(AccountConcurrency::from_account_settings("{}").is_err());
    }

    #[test]
    fn bad_environment_names_are_refused() {
        for env in ["", "Dev", "a_b", "local", "local2", "x".repeat(21).as_str()] {
            assert!(check_env_name(env, 20).is_err(), "{env:?} was accepted");
        }
        assert!(check_env_name("dev-2", 20).is_ok());
    }

    #[test]
    fn the_longest_environment_name_keeps_every_function_name_within_64_characters() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let registry = Registry::load(&root).unwrap().as_shipped();
        let longest = longest_env_name(&registry);
        // rust-serverless-<env>-fizzbuzz-candidate-reference: 16 + env + 29 <= 64.
        assert_eq!(longest, 64 - 16 - 29);
        let env = "e".repeat(longest);
        let stack = format!("{APP}-{env}");
        for f in &registry.functions {
            for d in f.deployments() {
                let name = deployed_function_name(&stack, &d.name, &f.family);
                assert!(name.len() <= FUNCTION_NAME_LIMIT, "{name}");
            }
        }
        assert!(check_env_name(&env, longest).is_ok());
        // The issue's case: 20 characters made a 65-character name.
        let error = check_env_name(&"e".repeat(20), longest)
            .unwrap_err()
            .to_string();
        assert!(error.contains("1-19 characters"), "{error}");
        // A new candidate with a longer name shortens what is accepted.
        let mut longer = registry.clone();
        longer
            .functions
            .push(registry::Function::workshop_candidate(
                "fizzbuzz",
                "a-much-longer-attendee-name",
                "fizzbuzz",
            ));
        assert!(longest_env_name(&longer) < longest);
    }

    #[test]
    fn the_artifacts_build_is_one_invocation_naming_every_binary_once() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let registry = Registry::load(&root).unwrap();
        let check = build_artifacts_cmd(&registry, Optimisation::Check).to_string();
        assert!(
            check.contains("CARGO_PROFILE_RELEASE_OPT_LEVEL=0"),
            "{check}"
        );
        // Never in the folder deploys package and PERFORMANCE.md measures.
        assert!(
            check.contains("CARGO_TARGET_DIR=target/lambda-arm64-check "),
            "{check}"
        );
        assert!(!check.contains("opt-level"), "{check}");
        let cmd = build_artifacts_cmd(&registry, Optimisation::Deploy).to_string();
        assert!(!cmd.contains("CARGO_PROFILE_RELEASE_OPT_LEVEL"), "{cmd}");
        assert!(cmd.starts_with(
            "env CARGO_TARGET_DIR=target/lambda-arm64 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo lambda build --release --arm64 --output-format zip"
        ), "{cmd}");
        assert!(
            cmd.contains("--config 'profile.release.package.aws-sdk-dynamodb.opt-level=\"s\"'"),
            "{cmd}"
        );
        for function in &registry.functions {
            assert_eq!(
                cmd.matches(&format!("--bin {} ", function.binary()))
                    .count()
                    + usize::from(cmd.ends_with(&format!("--bin {}", function.binary()))),
                1,
                "{}",
                function.name
            );
        }
    }

    #[test]
    fn elf_machines_are_read_from_the_header() {
        let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1];
        header.resize(20, 0);
        header[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(elf_machine(&header), Some(EM_AARCH64));
        header[18..20].copy_from_slice(&62u16.to_le_bytes());
        assert_eq!(elf_machine(&header), Some(62), "x86-64");
        assert_eq!(elf_machine(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn endpoints_come_from_the_outputs_named_by_the_template() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let template = Template::load(&root).unwrap();
        let mut outputs = BTreeMap::from([
            ("ApiUrl".to_owned(), "https://api.example/".to_owned()),
            ("LinksTableName".to_owned(), "links".to_owned()),
            ("ExperimentsTableName".to_owned(), "exp".to_owned()),
        ]);
        for key in template.function_url_outputs().keys() {
            outputs.insert(key.clone(), format!("https://{key}.lambda-url.example/"));
        }
        let endpoints = endpoints_from_outputs(&template, &outputs, "eu-west-1").unwrap();
        assert_eq!(endpoints["shortener"], "https://api.example");
        assert!(
            endpoints[shared::function_url::AUTH_KEY].is_null(),
            "no auth output: nothing signed"
        );
        assert_eq!(
            endpoints["round-control"],
            "https://RoundControlUrl.lambda-url.example"
        );
        assert_eq!(
            endpoints["pbkdf2-control-3008"],
            "https://Pbkdf2Control3008Url.lambda-url.example"
        );
        assert_eq!(endpoints["tables"]["ExperimentsTable"], "exp");
        assert_eq!(endpoints["routeLimits"]["POST /"]["rate"], 10.0);
        outputs.insert(
            "RouteLimitParameters".to_owned(),
            "CreateRateLimit=50,CreateBurstLimit=50".to_owned(),
        );
        outputs.insert("DemoFunctionUrlAuth".to_owned(), "AWS_IAM".to_owned());
        let signed = endpoints_from_outputs(&template, &outputs, "eu-west-1").unwrap();
        assert_eq!(signed["routeLimits"]["POST /"]["rate"], 50.0);
        let iam = shared::function_url::IamUrls::from_endpoints(&signed).unwrap();
        assert_eq!(iam.region, "eu-west-1");
        assert!(iam.wants_signature("round-control") && iam.wants_signature("pbkdf2-control-3008"));
        assert!(!iam.wants_signature("shortener") && !iam.wants_signature("experiment-report"));
        outputs.remove("RoundControlUrl");
        assert!(endpoints_from_outputs(&template, &outputs, "eu-west-1").is_err());
    }
}
