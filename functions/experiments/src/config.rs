//! The experiment functions' configuration, read once at cold start.

use std::time::Duration;

use shared::config::{ConfigError, Env, invalid, optional, parsed_or, required};

/// How the proxy hands a comparison to the comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// An `Event` invocation, awaited: on AWS Lambda queues it and answers `202` at once, and the
    /// proxy's instance is frozen as soon as it answers, so the call must finish first.
    Event,
    /// An `Event` invocation in a background task: `cargo lambda watch` runs an `Event` invocation
    /// to its end before answering, which would make the client wait for every candidate. Locally
    /// the process is never frozen, so the task finishes after the client has its answer.
    Detached,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `EXPERIMENTS_TABLE`: definitions and comparison records.
    pub table: String,
    /// `FUNCTION_PREFIX`: put before function names that are not ARNs (the stack's name and `-`
    /// when deployed; empty locally).
    pub function_prefix: String,
    /// `COMPARATOR_FUNCTION` (proxy): the comparator's function name (default `experiment-comparator`).
    pub comparator_function: String,
    /// `HANDOFF` (proxy): `event` (default) or `detached`.
    pub handoff: Handoff,
    /// `MAX_DETACHED_HANDOFFS` (proxy, `detached`): hand-offs queued for the background workers
    /// (default 1024); a hand-off beyond them is skipped and counted. The workers hand off one
    /// job each at a time, as many as the machine has cores.
    pub max_detached: usize,
    /// `CONTROL_TIMEOUT_MS` (proxy): the most the client waits for the control (default 25000).
    pub control_timeout: Duration,
    /// `DEFINITIONS_CACHE_SECONDS` (proxy): how long definitions are reused before re-reading.
    pub definitions_ttl: Duration,
    /// `LIVE_ALIAS_FUNCTIONS` (proxy, comparator): `name,name`, the functions invoked through their
    /// alias `live` (on AWS the controls, whose routes serve it; none locally).
    pub live_functions: std::collections::BTreeSet<String>,
    /// `FUNCTION_MEMORY_MB` (report): `name=MB,...`, each function's memory size for the cost of
    /// a verdict; written from functions.toml (locally) or passed by the deploy (on AWS).
    pub memory_mb: std::collections::BTreeMap<String, u32>,
    /// `LOCAL_BUILDS_DIR` (proxy, comparator; local only): the folder of the binaries `cargo lambda
    /// watch` runs, whose build ids are the versions recorded (on AWS the Invoke API reports them).
    pub local_builds: Option<std::path::PathBuf>,
}

/// Parses `name=MB,name=MB`.
fn memory_sizes(text: &str) -> Result<std::collections::BTreeMap<String, u32>, ConfigError> {
    text.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let (name, mb) = item.split_once('=').ok_or_else(|| {
                invalid(
                    "FUNCTION_MEMORY_MB",
                    item,
                    "items are name=MB, separated by commas",
                )
            })?;
            let mb = mb.trim().parse::<u32>().map_err(|_| {
                invalid(
                    "FUNCTION_MEMORY_MB",
                    item,
                    "the memory size is a whole number of MB",
                )
            })?;
            Ok((name.trim().to_owned(), mb))
        })
        .collect()
}

impl Config {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let handoff = match optional(env, "HANDOFF").as_deref() {
            None | Some("event") => Handoff::Event,
            Some("detached") => Handoff::Detached,
            Some(other) => return Err(invalid("HANDOFF", other, "must be event or detached")),
        };
        Ok(Self {
            table: required(env, "EXPERIMENTS_TABLE")?,
            function_prefix: optional(env, "FUNCTION_PREFIX").unwrap_or_default(),
            comparator_function: optional(env, "COMPARATOR_FUNCTION")
                .unwrap_or_else(|| "experiment-comparator".to_owned()),
            handoff,
            max_detached: parsed_or(env, "MAX_DETACHED_HANDOFFS", 1024usize)?,
            control_timeout: Duration::from_millis(parsed_or(
                env,
                "CONTROL_TIMEOUT_MS",
                25_000u64,
            )?),
            definitions_ttl: Duration::from_secs(parsed_or(
                env,
                "DEFINITIONS_CACHE_SECONDS",
                15u64,
            )?),
            memory_mb: memory_sizes(&optional(env, "FUNCTION_MEMORY_MB").unwrap_or_default())?,
            local_builds: optional(env, "LOCAL_BUILDS_DIR").map(std::path::PathBuf::from),
            live_functions: optional(env, "LIVE_ALIAS_FUNCTIONS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values() {
        let config = Config::from_env(&[("EXPERIMENTS_TABLE", "t")]).unwrap();
        assert_eq!(config.handoff, Handoff::Event);
        assert_eq!(config.comparator_function, "experiment-comparator");
        assert_eq!(config.function_prefix, "");
        let error = Config::from_env(&[("EXPERIMENTS_TABLE", "t"), ("HANDOFF", "later")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("HANDOFF"), "{error}");
        assert!(Config::from_env(&[("HANDOFF", "event")]).is_err());
    }

    #[test]
    fn live_alias_functions_are_a_comma_separated_set() {
        let config = Config::from_env(&[
            ("EXPERIMENTS_TABLE", "t"),
            ("LIVE_ALIAS_FUNCTIONS", "sort-control, round-control,,"),
        ])
        .unwrap();
        assert_eq!(
            config.live_functions.into_iter().collect::<Vec<_>>(),
            ["round-control", "sort-control"]
        );
        let none = Config::from_env(&[("EXPERIMENTS_TABLE", "t")]).unwrap();
        assert!(none.live_functions.is_empty());
    }

    #[test]
    fn memory_sizes_are_read_by_function_name() {
        let config = Config::from_env(&[
            ("EXPERIMENTS_TABLE", "t"),
            (
                "FUNCTION_MEMORY_MB",
                "round-control=128, pbkdf2-control-3008=3008",
            ),
        ])
        .unwrap();
        assert_eq!(config.memory_mb["round-control"], 128);
        assert_eq!(config.memory_mb["pbkdf2-control-3008"], 3008);
        assert!(
            Config::from_env(&[("EXPERIMENTS_TABLE", "t")])
                .unwrap()
                .memory_mb
                .is_empty()
        );
        for bad in ["round-control", "round-control=big"] {
            let error =
                Config::from_env(&[("EXPERIMENTS_TABLE", "t"), ("FUNCTION_MEMORY_MB", bad)])
                    .unwrap_err()
                    .to_string();
            assert!(error.contains("FUNCTION_MEMORY_MB"), "{bad}: {error}");
        }
    }
}
