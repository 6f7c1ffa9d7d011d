//! The command line, parsed once by clap into [`Options`]: where to run (local or an AWS environment),
//! what to invoke, how often, and how to choose. Each value is checked by its value parser (a typed
//! newtype or a checked number); what only the whole line can tell (the target, options for the
//! other target, `--payload @file`) is checked after. Every mistake is a clap error naming the flag
//! and an [`OptionsError`] saying what to fix; `main` prints it with the usage and exits 2.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::model::Method;

/// The memory sizes Lambda accepts, in MB.
pub const MIN_MEMORY_MB: u32 = 128;
pub const MAX_MEMORY_MB: u32 = 10_240;
/// The PBKDF2 control family as deployed by `template.yaml`.
pub const DEFAULT_FUNCTION: &str = "pbkdf2-control";
pub const DEFAULT_MEMORY_MB: [u32; 6] = [128, 256, 512, 1024, 1769, 3008];
/// The most invocations per size; sampling stops earlier once the mean is precise enough.
pub const DEFAULT_INVOCATIONS: u32 = 30;
/// Early stopping needs a spread to judge: never before this many warm invocations.
pub const MIN_INVOCATIONS_BEFORE_STOP: usize = 5;
pub const DEFAULT_STOP_AT_CI_PERCENT: f64 = 5.0;
pub const MAX_INVOCATIONS: u32 = 1000;
/// The cgroup v1 CPU period of the local run; the kernel accepts 1 ms to 1 s. 20 ms rather than the
/// kernel's default 100 ms: a 12 ms invocation fits inside one 100 ms period's quota at 512 MB and
/// runs at full speed (measured: see the README), while 20 ms still leaves 128 MB its 1 ms minimum.
pub const DEFAULT_CPU_PERIOD_US: u64 = 20_000;
pub const CPU_PERIOD_RANGE_US: std::ops::RangeInclusive<u64> = 1_000..=1_000_000;
pub const DEFAULT_PATH: &str = "/pbkdf2";
/// A synthetic password and salt: the payload ends up in reports, so it must never be a real secret.
pub const DEFAULT_PAYLOAD: &str = r#"{"password":"correct horse battery staple","salt":"NaCl-and-pepper","iterations":100000,"keyLength":32}"#;

/// Where the function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Local,
    Aws {
        env: String,
        region: String,
        profile: String,
    },
}

/// How to pick one memory size from the measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// The lowest cost per invocation.
    Cost,
    /// The lowest mean duration.
    Speed,
    /// The lowest `weight × cost/max cost + (1 − weight) × duration/max duration`.
    Balanced(Weight),
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cost => "cost",
            Self::Speed => "speed",
            Self::Balanced(_) => "balanced",
        }
    }
}

/// `--strategy` as written; the balanced one gets its weight once the whole line is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyName {
    Cost,
    Speed,
    Balanced,
}

impl StrategyName {
    pub fn parse(text: &str) -> Result<Self, OptionsError> {
        match text {
            "cost" => Ok(Self::Cost),
            "speed" => Ok(Self::Speed),
            "balanced" => Ok(Self::Balanced),
            other => Err(OptionsError::Strategy(other.to_string())),
        }
    }

    fn with(self, weight: Weight) -> Strategy {
        match self {
            Self::Cost => Strategy::Cost,
            Self::Speed => Strategy::Speed,
            Self::Balanced => Strategy::Balanced(weight),
        }
    }
}

/// The balanced strategy's weight of cost against speed, in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Weight(f64);

impl Weight {
    pub const DEFAULT: Weight = Weight(0.5);

    pub fn parse(text: &str) -> Result<Self, OptionsError> {
        match text.trim().parse::<f64>() {
            Ok(w) if (0.0..=1.0).contains(&w) => Ok(Self(w)),
            _ => Err(OptionsError::Weight(text.to_string())),
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl std::fmt::Display for Weight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Memory sizes to try: not empty, each 128 to 10,240 MB, no repeats, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemorySizes(Vec<u32>);

impl MemorySizes {
    pub fn parse(text: &str) -> Result<Self, OptionsError> {
        let mut sizes = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mb = part
                .parse::<u32>()
                .ok()
                .filter(|mb| (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(mb))
                .ok_or_else(|| OptionsError::MemorySize(part.to_string()))?;
            if sizes.contains(&mb) {
                return Err(OptionsError::RepeatedMemorySize(mb));
            }
            sizes.push(mb);
        }
        if sizes.is_empty() {
            return Err(OptionsError::NoMemorySizes);
        }
        sizes.sort_unstable();
        Ok(Self(sizes))
    }

    pub fn get(&self) -> &[u32] {
        &self.0
    }
}

impl Default for MemorySizes {
    fn default() -> Self {
        Self(DEFAULT_MEMORY_MB.to_vec())
    }
}

/// `--payload` as written: JSON (already checked) or `@file`, read once the line is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadSource {
    Json(String),
    File(String),
}

impl PayloadSource {
    pub fn parse(text: &str) -> Result<Self, OptionsError> {
        match text.strip_prefix('@') {
            Some(path) => Ok(Self::File(path.to_string())),
            None => check_json(text).map(Self::Json),
        }
    }
}

fn check_json(text: &str) -> Result<String, OptionsError> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|_| text.to_string())
        .map_err(|e| OptionsError::Payload(e.to_string()))
}

fn parse_invocations(text: &str) -> Result<u32, OptionsError> {
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_INVOCATIONS).contains(n))
        .ok_or_else(|| OptionsError::Invocations(text.to_string()))
}

fn parse_cpu_period(text: &str) -> Result<u64, OptionsError> {
    text.parse::<u64>()
        .ok()
        .filter(|us| CPU_PERIOD_RANGE_US.contains(us))
        .ok_or_else(|| OptionsError::CpuPeriod(text.to_string()))
}

fn parse_request_path(text: &str) -> Result<String, OptionsError> {
    if text.starts_with('/') {
        Ok(text.to_string())
    } else {
        Err(OptionsError::RequestPath(text.to_string()))
    }
}

/// Invokes a function at each memory size and recommends one.
///
/// TARGET is `local` (the release binary runs here, under a cgroup v1 CPU quota of MB/1769 of a
/// core) or `<env> <region> <profile>` (the deployed <stack>-<function>-<MB> functions, invoked with
/// the AWS CLI).
#[derive(Debug, Parser)]
#[command(
    name = "tune",
    override_usage = "tune local [options]\n       tune <env> <region> <profile> [options]"
)]
struct Cli {
    /// `local`, or `<env> <region> <profile>`.
    #[arg(value_name = "TARGET")]
    target: Vec<String>,
    /// Function family: AWS name <stack>-<name>-<MB>, local binary <name>.
    #[arg(long, value_name = "name", default_value = DEFAULT_FUNCTION)]
    function: String,
    /// AWS only: the stack name [default: rust-serverless-<env>].
    #[arg(long, value_name = "name")]
    stack: Option<String>,
    /// Comma-separated MB, 128 to 10240, no repeats.
    #[arg(long, value_name = "list", value_parser = MemorySizes::parse, default_value = "128,256,512,1024,1769,3008")]
    memory: MemorySizes,
    /// Invocations per memory size, 1 to 1000, one after another.
    #[arg(long, value_name = "n", value_parser = parse_invocations, default_value_t = DEFAULT_INVOCATIONS, allow_negative_numbers = true)]
    invocations: u32,
    /// Request body, checked to be JSON [default: PBKDF2 at 100,000 iterations].
    #[arg(long, value_name = "json|@file", value_parser = PayloadSource::parse)]
    payload: Option<PayloadSource>,
    /// Path of the HTTP API v2 event the body is wrapped in.
    #[arg(long, value_name = "path", value_parser = parse_request_path, default_value = DEFAULT_PATH)]
    path: String,
    /// cost | speed | balanced (the report shows all three).
    #[arg(long, value_name = "s", value_parser = StrategyName::parse, default_value = "balanced")]
    strategy: StrategyName,
    /// Balanced: 0 = all speed, 1 = all cost.
    #[arg(long, value_name = "w", value_parser = Weight::parse, default_value_t = Weight::DEFAULT, allow_negative_numbers = true)]
    weight: Weight,
    /// Report folder [default: results/tune-<UTC timestamp>].
    #[arg(long, value_name = "dir")]
    output: Option<PathBuf>,
    /// Local only: the Lambda binary [default: $CARGO_TARGET_DIR or target, /release/<function>].
    #[arg(long, value_name = "path")]
    binary: Option<PathBuf>,
    /// Local only: cgroup CPU period, quota = period × MB/1769; 1000 to 1000000.
    #[arg(long, value_name = "us", value_parser = parse_cpu_period, default_value_t = DEFAULT_CPU_PERIOD_US, allow_negative_numbers = true)]
    cpu_period_us: u64,
    /// Local only: how to hold the function to its CPU share: cgroup-v1, cgroup-v2, duty-cycle or
    /// duty-cycle-wall [default: the first this machine allows, in that order].
    #[arg(long, value_name = "method", value_parser = parse_throttle)]
    throttle: Option<Method>,
    /// Stop sampling a size once the 95 % confidence interval of its mean warm duration is within
    /// this percentage of the mean; 0 = always run --invocations.
    #[arg(long, value_name = "percent", value_parser = parse_percent, default_value_t = DEFAULT_STOP_AT_CI_PERCENT)]
    stop_at_ci: f64,
    /// Gate: exit 1 when the recommended size costs more than this (USD per 1M invocations).
    #[arg(long, value_name = "usd", value_parser = parse_limit, allow_negative_numbers = true)]
    max_cost_per_million: Option<f64>,
    /// Gate: exit 1 when the recommended size's p99 (cold starts included) is above this.
    #[arg(long, value_name = "ms", value_parser = parse_limit, allow_negative_numbers = true)]
    max_p99_ms: Option<f64>,
    /// Print every command or step it would run, run none, write nothing.
    #[arg(long)]
    dry_run: bool,
}

fn parse_throttle(text: &str) -> Result<Method, OptionsError> {
    Method::parse(text).ok_or_else(|| OptionsError::Throttle(text.to_string()))
}

fn parse_percent(text: &str) -> Result<f64, OptionsError> {
    text.parse::<f64>()
        .ok()
        .filter(|p| (0.0..100.0).contains(p))
        .ok_or_else(|| OptionsError::Percent(text.to_string()))
}

fn parse_limit(text: &str) -> Result<f64, OptionsError> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| OptionsError::Limit(text.to_string()))
}

/// Everything one run needs, valid once built.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub target: Target,
    pub function: String,
    pub stack: Option<String>,
    pub memory: MemorySizes,
    pub invocations: u32,
    /// The request body, as given (`@file` already read).
    pub payload: String,
    pub path: String,
    pub strategy: Strategy,
    pub weight: Weight,
    pub output: Option<PathBuf>,
    pub binary: Option<PathBuf>,
    /// Local only: the CPU quota's period in microseconds.
    pub cpu_period_us: u64,
    /// Local only: the throttling method asked for (`None`: detect).
    pub throttle: Option<Method>,
    /// Early stop once the 95 % interval is within this percentage of the mean; `None`: never.
    pub stop_at_ci_percent: Option<f64>,
    pub gate: Gate,
    pub dry_run: bool,
}

/// Limits the recommended size must keep, for CI (`tune` exits 1 when one is broken).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Gate {
    pub max_cost_per_million_usd: Option<f64>,
    pub max_p99_ms: Option<f64>,
}

impl Options {
    /// The CloudFormation stack holding the functions: `--stack`, else `rust-serverless-<env>`.
    pub fn stack_name(&self) -> Option<String> {
        match &self.target {
            Target::Local => None,
            Target::Aws { env, .. } => Some(
                self.stack
                    .clone()
                    .unwrap_or_else(|| format!("rust-serverless-{env}")),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("say where to run: `local` or `<env> <region> <profile>`")]
    MissingTarget,
    #[error("the AWS target needs <env> <region> <profile>; missing {0}")]
    MissingAwsArgument(&'static str),
    #[error("unknown strategy {0:?}: use cost, speed or balanced")]
    Strategy(String),
    #[error("--weight must be a number from 0 to 1 (0 = all speed, 1 = all cost), got {0:?}")]
    Weight(String),
    #[error("--memory needs at least one size, e.g. --memory 128,512,1769")]
    NoMemorySizes,
    #[error("memory size {0:?} is not a whole number of MB from 128 to 10240")]
    MemorySize(String),
    #[error("memory size {0} MB is listed twice")]
    RepeatedMemorySize(u32),
    #[error("--invocations must be a whole number from 1 to {MAX_INVOCATIONS}, got {0:?}")]
    Invocations(String),
    #[error("--payload must be JSON: {0}")]
    Payload(String),
    #[error("--payload: cannot read the payload file {path}: {reason}")]
    PayloadFile { path: String, reason: String },
    #[error("--path must start with '/', got {0:?}")]
    RequestPath(String),
    #[error(
        "--cpu-period-us must be a whole number of microseconds from 1000 to 1000000, got {0:?}"
    )]
    CpuPeriod(String),
    #[error("unknown --throttle {0:?}: use cgroup-v1, cgroup-v2, duty-cycle or duty-cycle-wall")]
    Throttle(String),
    #[error("--stop-at-ci must be a percentage from 0 (never stop early) to under 100, got {0:?}")]
    Percent(String),
    #[error("a gate limit must be a positive number, got {0:?}")]
    Limit(String),
    #[error("{0} applies only to {1}")]
    WrongTarget(&'static str, &'static str),
    #[error("unexpected argument {0:?} (options start with --)")]
    Unexpected(String),
}

/// The command line's definition, for its help and the generated CLI reference.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses the arguments after the program name. `read_file` serves `--payload @file` so tests need
/// no files. `--help` comes back as an error of kind [`ErrorKind::DisplayHelp`]; `Error::exit`
/// prints it to stdout and exits 0, any other error to stderr with status 2.
pub fn parse<I, T>(
    args: I,
    read_file: impl Fn(&str) -> Result<String, String>,
) -> Result<Options, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let args =
        std::iter::once(std::ffi::OsString::from("tune")).chain(args.into_iter().map(Into::into));
    let matches = Cli::command().try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    let given = |id| matches.value_source(id) == Some(ValueSource::CommandLine);
    let fail = |kind: ErrorKind, error: OptionsError| Cli::command().error(kind, error);
    let target = target(&cli.target).map_err(|e| {
        let kind = match e {
            OptionsError::Unexpected(_) => ErrorKind::UnknownArgument,
            _ => ErrorKind::MissingRequiredArgument,
        };
        fail(kind, e)
    })?;
    let wrong_target = match target {
        Target::Local if given("stack") => Some(("--stack", "an AWS target")),
        Target::Aws { .. } if given("binary") => Some(("--binary", "the local target")),
        Target::Aws { .. } if given("cpu_period_us") => {
            Some(("--cpu-period-us", "the local target"))
        }
        Target::Aws { .. } if given("throttle") => Some(("--throttle", "the local target")),
        _ => None,
    };
    if let Some((flag, target)) = wrong_target {
        return Err(fail(
            ErrorKind::ArgumentConflict,
            OptionsError::WrongTarget(flag, target),
        ));
    }
    let payload = match cli.payload {
        None => DEFAULT_PAYLOAD.to_string(),
        Some(PayloadSource::Json(text)) => text,
        Some(PayloadSource::File(path)) => read_file(&path)
            .map_err(|reason| OptionsError::PayloadFile { path, reason })
            .and_then(|text| check_json(&text))
            .map_err(|e| fail(ErrorKind::ValueValidation, e))?,
    };
    let weight = cli.weight;
    Ok(Options {
        target,
        function: cli.function,
        stack: cli.stack,
        memory: cli.memory,
        invocations: cli.invocations,
        payload,
        path: cli.path,
        strategy: cli.strategy.with(weight),
        weight,
        output: cli.output,
        binary: cli.binary,
        cpu_period_us: cli.cpu_period_us,
        throttle: cli.throttle,
        stop_at_ci_percent: (cli.stop_at_ci > 0.0).then_some(cli.stop_at_ci),
        gate: Gate {
            max_cost_per_million_usd: cli.max_cost_per_million,
            max_p99_ms: cli.max_p99_ms,
        },
        dry_run: cli.dry_run,
    })
}

/// `local` or `<env> <region> <profile>`, from the positional arguments.
fn target(words: &[String]) -> Result<Target, OptionsError> {
    match words {
        [] => Err(OptionsError::MissingTarget),
        [local, rest @ ..] if local == "local" => match rest.first() {
            Some(extra) => Err(OptionsError::Unexpected(extra.clone())),
            None => Ok(Target::Local),
        },
        [_] => Err(OptionsError::MissingAwsArgument("<region>")),
        [_, _] => Err(OptionsError::MissingAwsArgument("<profile>")),
        [env, region, profile] => Ok(Target::Aws {
            env: env.clone(),
            region: region.clone(),
            profile: profile.clone(),
        }),
        [_, _, _, extra, ..] => Err(OptionsError::Unexpected(extra.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn no_files(path: &str) -> Result<String, String> {
        Err(format!("no file {path} in tests"))
    }

    fn parse_line(line: &str) -> Result<Options, clap::Error> {
        parse(line.split_whitespace(), no_files)
    }

    fn options(line: &str) -> Options {
        parse_line(line).unwrap_or_else(|e| panic!("{line:?} gave {e}"))
    }

    #[test]
    fn local_with_no_options_takes_every_default() {
        let o = options("local");
        assert_eq!(o.target, Target::Local);
        assert_eq!(o.function, "pbkdf2-control");
        assert_eq!(o.memory.get(), &DEFAULT_MEMORY_MB);
        assert_eq!(o.invocations, 30);
        assert_eq!(o.stop_at_ci_percent, Some(5.0));
        assert_eq!(o.throttle, None);
        assert_eq!(o.gate, Gate::default());
        assert_eq!(o.strategy, Strategy::Balanced(Weight::DEFAULT));
        assert_eq!(o.payload, DEFAULT_PAYLOAD);
        assert_eq!(o.path, "/pbkdf2");
        assert_eq!(o.cpu_period_us, 20_000);
        assert_eq!((o.output, o.binary, o.stack), (None, None, None));
        assert!(!o.dry_run);
    }

    #[test]
    fn aws_target_takes_env_region_profile_and_names_the_stack_after_env() {
        let o = options("dev eu-west-1 workshop --strategy cost --dry-run");
        assert_eq!(
            o.target,
            Target::Aws {
                env: "dev".into(),
                region: "eu-west-1".into(),
                profile: "workshop".into()
            }
        );
        assert_eq!(o.stack_name().as_deref(), Some("rust-serverless-dev"));
        assert_eq!(o.strategy, Strategy::Cost);
        assert!(o.dry_run);
        let named = options("dev eu-west-1 workshop --stack mine");
        assert_eq!(named.stack_name().as_deref(), Some("mine"));
    }

    #[test]
    fn options_accept_both_spellings_and_sort_memory() {
        let o = options(
            "local --memory=1024,128 --invocations 3 --strategy balanced --weight=0.25 --path /x --cpu-period-us 20000",
        );
        assert_eq!(o.cpu_period_us, 20_000);
        assert_eq!(o.memory.get(), &[128, 1024]);
        assert_eq!(o.invocations, 3);
        assert_eq!(o.strategy, Strategy::Balanced(Weight(0.25)));
        assert_eq!(o.path, "/x");
    }

    #[test]
    fn options_may_come_before_the_target() {
        let o = options("--invocations 2 dev eu-west-1 workshop --memory 512");
        assert_eq!(o.stack_name().as_deref(), Some("rust-serverless-dev"));
        assert_eq!((o.invocations, o.memory.get()), (2, &[512][..]));
    }

    #[test]
    fn payload_from_a_file_is_read_and_checked_as_json() {
        let read = |path: &str| {
            assert_eq!(path, "body.json");
            Ok(r#"{"iterations": 5}"#.to_string())
        };
        let o = parse(["local", "--payload", "@body.json"], read).unwrap();
        assert_eq!(o.payload, r#"{"iterations": 5}"#);
        let not_json = parse(["local", "--payload", "@body.json"], |_| Ok("{".into()));
        let message = not_json.unwrap_err().to_string();
        assert!(message.contains("--payload must be JSON"), "{message}");
    }

    #[test]
    fn help_lists_every_option_and_both_targets() {
        for line in ["--help", "-h", "local --strategy cost --help"] {
            let error = parse_line(line).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::DisplayHelp, "case {line:?}");
            let help = error.to_string();
            for text in [
                "tune local [options]",
                "tune <env> <region> <profile> [options]",
                "--function <name>",
                "--stack <name>",
                "--memory <list>",
                "--invocations <n>",
                "--payload <json|@file>",
                "--path <path>",
                "--strategy <s>",
                "--weight <w>",
                "--output <dir>",
                "--binary <path>",
                "--cpu-period-us <us>",
                "--dry-run",
                "[default: 20000]",
                "[default: 0.5]",
            ] {
                assert!(
                    help.contains(text),
                    "case {line:?}: missing {text:?} in\n{help}"
                );
            }
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_command_lines_are_rejected_with_a_message_naming_the_flag_and_the_fix() {
        use ErrorKind::*;
        // (command line, error kind, the flag or word it names, our own message when it is ours)
        let cases: &[(&str, ErrorKind, &str, Option<OptionsError>)] = &[
            (
                "",
                MissingRequiredArgument,
                "local",
                Some(OptionsError::MissingTarget),
            ),
            (
                "--dry-run",
                MissingRequiredArgument,
                "local",
                Some(OptionsError::MissingTarget),
            ),
            (
                "dev",
                MissingRequiredArgument,
                "<region>",
                Some(OptionsError::MissingAwsArgument("<region>")),
            ),
            (
                "dev eu-west-1 --dry-run",
                MissingRequiredArgument,
                "<profile>",
                Some(OptionsError::MissingAwsArgument("<profile>")),
            ),
            (
                "local --strategy fastest",
                ValueValidation,
                "--strategy",
                Some(OptionsError::Strategy("fastest".into())),
            ),
            (
                "local --weight 1.5",
                ValueValidation,
                "--weight",
                Some(OptionsError::Weight("1.5".into())),
            ),
            (
                "local --weight -0.1",
                ValueValidation,
                "--weight",
                Some(OptionsError::Weight("-0.1".into())),
            ),
            (
                "local --weight NaN",
                ValueValidation,
                "--weight",
                Some(OptionsError::Weight("NaN".into())),
            ),
            (
                "local --memory ,",
                ValueValidation,
                "--memory",
                Some(OptionsError::NoMemorySizes),
            ),
            (
                "local --memory 64",
                ValueValidation,
                "--memory",
                Some(OptionsError::MemorySize("64".into())),
            ),
            (
                "local --memory 128,abc",
                ValueValidation,
                "--memory",
                Some(OptionsError::MemorySize("abc".into())),
            ),
            (
                "local --memory 128,128",
                ValueValidation,
                "--memory",
                Some(OptionsError::RepeatedMemorySize(128)),
            ),
            (
                "local --invocations 0",
                ValueValidation,
                "--invocations",
                Some(OptionsError::Invocations("0".into())),
            ),
            (
                "local --invocations 1001",
                ValueValidation,
                "--invocations",
                Some(OptionsError::Invocations("1001".into())),
            ),
            (
                "local --invocations -1",
                ValueValidation,
                "--invocations",
                None,
            ),
            ("local --payload {nope", ValueValidation, "--payload", None),
            (
                "local --path pbkdf2",
                ValueValidation,
                "--path",
                Some(OptionsError::RequestPath("pbkdf2".into())),
            ),
            (
                "local --cpu-period-us 999",
                ValueValidation,
                "--cpu-period-us",
                Some(OptionsError::CpuPeriod("999".into())),
            ),
            (
                "local --cpu-period-us 1000001",
                ValueValidation,
                "--cpu-period-us",
                Some(OptionsError::CpuPeriod("1000001".into())),
            ),
            ("local --memory", InvalidValue, "--memory", None),
            ("local --colour", UnknownArgument, "--colour", None),
            (
                "local --dry-run --dry-run",
                ArgumentConflict,
                "--dry-run",
                None,
            ),
            (
                "local --memory 128 --memory 256",
                ArgumentConflict,
                "--memory",
                None,
            ),
            (
                "local extra",
                UnknownArgument,
                "extra",
                Some(OptionsError::Unexpected("extra".into())),
            ),
            (
                "dev r p extra",
                UnknownArgument,
                "extra",
                Some(OptionsError::Unexpected("extra".into())),
            ),
            (
                "local --stack s",
                ArgumentConflict,
                "--stack",
                Some(OptionsError::WrongTarget("--stack", "an AWS target")),
            ),
            (
                "dev r p --binary b",
                ArgumentConflict,
                "--binary",
                Some(OptionsError::WrongTarget("--binary", "the local target")),
            ),
            (
                "dev r p --cpu-period-us 20000",
                ArgumentConflict,
                "--cpu-period-us",
                Some(OptionsError::WrongTarget(
                    "--cpu-period-us",
                    "the local target",
                )),
            ),
        ];
        for (line, kind, names, ours) in cases {
            let error = match parse_line(line) {
                Ok(o) => panic!("case {line:?} was accepted: {o:?}"),
                Err(error) => error,
            };
            let message = error.to_string();
            assert_eq!(error.kind(), *kind, "case {line:?}: {message}");
            assert!(
                message.contains(names),
                "case {line:?} does not name {names:?}: {message}"
            );
            if let Some(ours) = ours {
                assert!(
                    message.contains(&ours.to_string()),
                    "case {line:?} lacks {ours:?}: {message}"
                );
                if let Some(source) = error.source() {
                    assert_eq!(
                        source.downcast_ref::<OptionsError>(),
                        Some(ours),
                        "case {line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_payload_that_is_not_json_is_rejected() {
        let error = parse_line("local --payload {nope").unwrap_err();
        assert!(
            matches!(
                error
                    .source()
                    .and_then(|s| s.downcast_ref::<OptionsError>()),
                Some(OptionsError::Payload(_))
            ),
            "{error}"
        );
    }

    #[test]
    fn a_missing_payload_file_names_the_file() {
        let message = parse_line("local --payload @missing.json")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(
                "cannot read the payload file missing.json: no file missing.json in tests"
            ),
            "{message}"
        );
    }
}
