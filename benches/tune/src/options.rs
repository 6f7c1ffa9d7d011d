//! The command line, parsed once into [`Options`]: where to run (local or an AWS environment), what to
//! invoke, how often, and how to choose. Every mistake becomes an [`OptionsError`] that says what to fix.

use std::path::PathBuf;

/// The memory sizes Lambda accepts, in MB.
pub const MIN_MEMORY_MB: u32 = 128;
pub const MAX_MEMORY_MB: u32 = 10_240;
/// The PBKDF2 control family as deployed by `template.yaml`.
pub const DEFAULT_FUNCTION: &str = "pbkdf2-control";
pub const DEFAULT_MEMORY_MB: [u32; 6] = [128, 256, 512, 1024, 1769, 3008];
pub const DEFAULT_INVOCATIONS: u32 = 10;
pub const MAX_INVOCATIONS: u32 = 1000;
/// The cgroup v1 CPU period of the local run; the kernel accepts 1 ms to 1 s. 20 ms rather than the
/// kernel's default 100 ms: a 12 ms invocation fits inside one 100 ms period's quota at 512 MB and
/// runs at full speed (measured: see the README), while 20 ms still leaves 128 MB its 1 ms minimum.
pub const DEFAULT_CPU_PERIOD_US: u64 = 20_000;
pub const CPU_PERIOD_RANGE_US: std::ops::RangeInclusive<u64> = 1_000..=1_000_000;
pub const DEFAULT_PATH: &str = "/pbkdf2";
/// A synthetic password and salt: the payload ends up in reports, so it must never be a real secret.
pub const DEFAULT_PAYLOAD: &str = r#"{"password":"correct horse battery staple","salt":"NaCl-and-pepper","iterations":100000,"keyLength":32}"#;

pub const USAGE: &str = "\
usage: tune local [options]
       tune <env> <region> <profile> [options]

Invokes a function at each memory size and recommends one.
  local                     run the release binary here, under a cgroup v1 CPU quota of MB/1769 of a core
  <env> <region> <profile>  invoke the deployed <stack>-<function>-<MB> functions with the AWS CLI

options:
  --function <name>         function family (default pbkdf2-control)
  --stack <name>            AWS stack name (default rust-serverless-<env>)
  --memory <list>           comma-separated MB (default 128,256,512,1024,1769,3008)
  --invocations <n>         invocations per memory size, 1 to 1000 (default 10)
  --payload <json|@file>    request body (default PBKDF2 at 100,000 iterations)
  --path <path>             request path of the HTTP API event (default /pbkdf2)
  --strategy <s>            cost | speed | balanced (default balanced)
  --weight <w>              balanced: 0 = all speed, 1 = all cost (default 0.5)
  --output <dir>            report folder (default results/tune-<timestamp>)
  --binary <path>           local: the Lambda binary (default target/release/<function>)
  --cpu-period-us <us>      local: cgroup CPU period, quota = period x MB/1769 (default 20000)
  --dry-run                 print every command or step it would run, run none
  -h, --help                this text";

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
    pub dry_run: bool,
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

/// What the command line asked for: a run, or the usage text.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Box<Options>),
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("say where to run: `local` or `<env> <region> <profile>`")]
    MissingTarget,
    #[error("the AWS target needs <env> <region> <profile>; missing {0}")]
    MissingAwsArgument(&'static str),
    #[error("unknown option {0} (see --help)")]
    UnknownOption(String),
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("{0} was given twice")]
    Repeated(String),
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
    #[error("cannot read the payload file {path}: {reason}")]
    PayloadFile { path: String, reason: String },
    #[error("--path must start with '/', got {0:?}")]
    RequestPath(String),
    #[error(
        "--cpu-period-us must be a whole number of microseconds from 1000 to 1000000, got {0:?}"
    )]
    CpuPeriod(String),
    #[error("{0} applies only to {1}")]
    WrongTarget(&'static str, &'static str),
    #[error("unexpected argument {0:?} (options start with --)")]
    Unexpected(String),
}

/// Parses the arguments after the program name. `read_file` serves `--payload @file` so tests need
/// no files.
pub fn parse(
    args: &[String],
    read_file: impl Fn(&str) -> Result<String, String>,
) -> Result<Command, OptionsError> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(Command::Help);
    }
    let mut rest = args.iter();
    let target = match rest.next().map(String::as_str) {
        None => return Err(OptionsError::MissingTarget),
        Some(first) if first.starts_with("--") => return Err(OptionsError::MissingTarget),
        Some("local") => Target::Local,
        Some(env) => {
            let mut positional = |what| {
                rest.next()
                    .filter(|a| !a.starts_with("--"))
                    .cloned()
                    .ok_or(OptionsError::MissingAwsArgument(what))
            };
            let region = positional("<region>")?;
            let profile = positional("<profile>")?;
            Target::Aws {
                env: env.to_string(),
                region,
                profile,
            }
        }
    };

    let mut seen: Vec<String> = Vec::new();
    let mut value_of: Vec<(String, String)> = Vec::new();
    let mut dry_run = false;
    while let Some(arg) = rest.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if arg.starts_with("--") => (name.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        if !name.starts_with("--") {
            return Err(OptionsError::Unexpected(arg.clone()));
        }
        if seen.contains(&name) {
            return Err(OptionsError::Repeated(name));
        }
        seen.push(name.clone());
        match name.as_str() {
            "--dry-run" => dry_run = true,
            "--function" | "--stack" | "--memory" | "--invocations" | "--payload" | "--path"
            | "--strategy" | "--weight" | "--output" | "--binary" | "--cpu-period-us" => {
                let value = match inline {
                    Some(value) => value.to_string(),
                    None => rest
                        .next()
                        .cloned()
                        .ok_or_else(|| OptionsError::MissingValue(name.clone()))?,
                };
                value_of.push((name, value));
            }
            _ => return Err(OptionsError::UnknownOption(arg.clone())),
        }
    }
    let get = |name: &str| {
        value_of
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    let weight = get("--weight").map(Weight::parse).transpose()?;
    let strategy = match get("--strategy").unwrap_or("balanced") {
        "cost" => Strategy::Cost,
        "speed" => Strategy::Speed,
        "balanced" => Strategy::Balanced(weight.unwrap_or(Weight::DEFAULT)),
        other => return Err(OptionsError::Strategy(other.to_string())),
    };
    let memory = get("--memory")
        .map(MemorySizes::parse)
        .transpose()?
        .unwrap_or_default();
    let invocations = match get("--invocations") {
        None => DEFAULT_INVOCATIONS,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_INVOCATIONS).contains(n))
            .ok_or_else(|| OptionsError::Invocations(text.to_string()))?,
    };
    let payload = match get("--payload") {
        None => DEFAULT_PAYLOAD.to_string(),
        Some(text) => {
            let text = match text.strip_prefix('@') {
                Some(path) => read_file(path).map_err(|reason| OptionsError::PayloadFile {
                    path: path.to_string(),
                    reason,
                })?,
                None => text.to_string(),
            };
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| OptionsError::Payload(e.to_string()))?;
            text
        }
    };
    let path = get("--path").unwrap_or(DEFAULT_PATH).to_string();
    if !path.starts_with('/') {
        return Err(OptionsError::RequestPath(path));
    }
    let cpu_period_us = match get("--cpu-period-us") {
        None => DEFAULT_CPU_PERIOD_US,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|us| CPU_PERIOD_RANGE_US.contains(us))
            .ok_or_else(|| OptionsError::CpuPeriod(text.to_string()))?,
    };
    match target {
        Target::Local if get("--stack").is_some() => {
            return Err(OptionsError::WrongTarget("--stack", "an AWS target"));
        }
        Target::Aws { .. } => {
            for local_only in ["--binary", "--cpu-period-us"] {
                if get(local_only).is_some() {
                    return Err(OptionsError::WrongTarget(local_only, "the local target"));
                }
            }
        }
        _ => {}
    }

    Ok(Command::Run(Box::new(Options {
        target,
        function: get("--function").unwrap_or(DEFAULT_FUNCTION).to_string(),
        stack: get("--stack").map(str::to_string),
        memory,
        invocations,
        payload,
        path,
        strategy,
        weight: weight.unwrap_or(Weight::DEFAULT),
        output: get("--output").map(PathBuf::from),
        binary: get("--binary").map(PathBuf::from),
        cpu_period_us,
        dry_run,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    fn no_files(path: &str) -> Result<String, String> {
        Err(format!("no file {path} in tests"))
    }

    fn options(line: &str) -> Options {
        match parse(&args(line), no_files) {
            Ok(Command::Run(options)) => *options,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    #[test]
    fn local_with_no_options_takes_every_default() {
        let o = options("local");
        assert_eq!(o.target, Target::Local);
        assert_eq!(o.function, "pbkdf2-control");
        assert_eq!(o.memory.get(), &DEFAULT_MEMORY_MB);
        assert_eq!(o.invocations, 10);
        assert_eq!(o.strategy, Strategy::Balanced(Weight::DEFAULT));
        assert_eq!(o.payload, DEFAULT_PAYLOAD);
        assert_eq!(o.cpu_period_us, 20_000);
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
    fn payload_from_a_file_is_read_and_checked_as_json() {
        let read = |path: &str| {
            assert_eq!(path, "body.json");
            Ok(r#"{"iterations": 5}"#.to_string())
        };
        match parse(&args("local --payload @body.json"), read) {
            Ok(Command::Run(o)) => assert_eq!(o.payload, r#"{"iterations": 5}"#),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn help_wins_over_everything_else() {
        assert_eq!(
            parse(&args("local --strategy nope --help"), no_files),
            Ok(Command::Help)
        );
    }

    #[test]
    fn bad_command_lines_are_rejected_with_a_message_naming_the_fix() {
        let cases: &[(&str, OptionsError)] = &[
            ("", OptionsError::MissingTarget),
            ("--dry-run", OptionsError::MissingTarget),
            ("dev", OptionsError::MissingAwsArgument("<region>")),
            (
                "dev eu-west-1 --dry-run",
                OptionsError::MissingAwsArgument("<profile>"),
            ),
            (
                "local --strategy fastest",
                OptionsError::Strategy("fastest".into()),
            ),
            ("local --weight 1.5", OptionsError::Weight("1.5".into())),
            ("local --weight -0.1", OptionsError::Weight("-0.1".into())),
            ("local --weight NaN", OptionsError::Weight("NaN".into())),
            ("local --memory ,", OptionsError::NoMemorySizes),
            ("local --memory 64", OptionsError::MemorySize("64".into())),
            (
                "local --memory 128,abc",
                OptionsError::MemorySize("abc".into()),
            ),
            (
                "local --memory 128,128",
                OptionsError::RepeatedMemorySize(128),
            ),
            (
                "local --invocations 0",
                OptionsError::Invocations("0".into()),
            ),
            (
                "local --invocations 1001",
                OptionsError::Invocations("1001".into()),
            ),
            (
                "local --memory",
                OptionsError::MissingValue("--memory".into()),
            ),
            (
                "local --colour",
                OptionsError::UnknownOption("--colour".into()),
            ),
            (
                "local --dry-run --dry-run",
                OptionsError::Repeated("--dry-run".into()),
            ),
            ("local extra", OptionsError::Unexpected("extra".into())),
            (
                "local --path pbkdf2",
                OptionsError::RequestPath("pbkdf2".into()),
            ),
            (
                "local --stack s",
                OptionsError::WrongTarget("--stack", "an AWS target"),
            ),
            (
                "dev r p --binary b",
                OptionsError::WrongTarget("--binary", "the local target"),
            ),
            (
                "dev r p --cpu-period-us 20000",
                OptionsError::WrongTarget("--cpu-period-us", "the local target"),
            ),
            (
                "local --cpu-period-us 999",
                OptionsError::CpuPeriod("999".into()),
            ),
            (
                "local --cpu-period-us 1000001",
                OptionsError::CpuPeriod("1000001".into()),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse(&args(line), no_files).as_ref(),
                Err(want),
                "case {line:?}"
            );
        }
    }

    #[test]
    fn a_payload_that_is_not_json_is_rejected() {
        let result = parse(&args("local --payload {nope"), no_files);
        assert!(
            matches!(result, Err(OptionsError::Payload(_))),
            "{result:?}"
        );
    }

    #[test]
    fn a_missing_payload_file_names_the_file() {
        let result = parse(&args("local --payload @missing.json"), no_files);
        assert!(
            matches!(&result, Err(OptionsError::PayloadFile { path, .. }) if path == "missing.json"),
            "{result:?}"
        );
    }
}
