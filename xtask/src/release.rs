//! `verdict` and `promote`: releasing a candidate with stated confidence (the tutorial's slides
//! 32-34).
//!
//! `verdict` reads the experiment's report (the same JSON the dashboard shows) and exits 0 when
//! the candidate may be promoted, 1 when not, 2 on error. `promote` refuses, with the numbers,
//! unless the verdict allows it (`--force --reason` overrides and is recorded), then makes the
//! candidate the experiment's control with one conditional write; `--undo` takes the last
//! promotion back. The proxy picks either up within its definitions cache time, with no deploy.

pub mod canary;
mod verdicts;

#[cfg(test)]
use verdicts::time_to_verdict;
use verdicts::verdicts;
pub use verdicts::{describe, verdict};

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use experiments::adapters::store::{ExperimentStore, StoreError};
use experiments::domain::promotion::Promotion;
use serde_json::Value;

use crate::cmd::Cmd;
use crate::log;

/// Where the stack is, from [`crate::verbs::stack_env`]'s variables.
pub struct Stack {
    vars: Vec<(String, String)>,
}

impl Stack {
    pub fn new(vars: Vec<(String, String)>) -> Self {
        Self { vars }
    }

    /// The stack's variables, as [`crate::verbs::stack_env`] gave them.
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn endpoints(&self) -> Result<Value> {
        let file = self.var("ENDPOINTS_FILE").context("no endpoints file")?;
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
        Ok(serde_json::from_str(&text)?)
    }

    /// The experiment's report, as the report function serves it.
    fn report(&self, runtime: &tokio::runtime::Runtime, experiment: &str) -> Result<Value> {
        let endpoints = self.endpoints()?;
        let base = endpoints["experiment-report"]
            .as_str()
            .context("the endpoints file has no experiment-report")?
            .trim_end_matches('/');
        let url = format!("{base}/experiments/{experiment}");
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .get(&url)
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            let status = response.status();
            let body: Value = response
                .json()
                .await
                .with_context(|| format!("GET {url}: not JSON"))?;
            if !status.is_success() {
                bail!(
                    "GET {url}: {status} {}",
                    body["message"].as_str().unwrap_or_default()
                );
            }
            // `{"definition": ..., "report": ...}`: the verdicts are in the report.
            Ok(body["report"].clone())
        })
    }

    pub async fn store(&self) -> Result<ExperimentStore> {
        let table = self
            .var("EXPERIMENTS_TABLE")
            .filter(|t| !t.is_empty())
            .context("no experiments table for this stack")?;
        let mut config = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = self.var("AWS_ENDPOINT_URL_DYNAMODB") {
            config = config
                .endpoint_url(endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "local", "local", None, None, "local",
                ));
        } else {
            if let Some(profile) = self.var("AWS_PROFILE") {
                config = config.profile_name(profile);
            }
            if let Some(region) = self.var("AWS_REGION") {
                config = config.region(aws_config::Region::new(region.to_owned()));
            }
        }
        let client = aws_sdk_dynamodb::Client::new(&config.load().await);
        Ok(ExperimentStore::new(client, table))
    }
}

/// What `promote` was asked to do.
pub struct Ask<'a> {
    pub experiment: &'a str,
    pub candidate: Option<&'a str>,
    pub undo: bool,
    pub force: bool,
    pub reason: Option<&'a str>,
    pub dry_run: bool,
    /// On AWS: release the candidate's code to the family's control (`--release`) instead of
    /// making it the experiment's control; functions.toml as the command read it, and the stack.
    pub release: Option<(
        &'a crate::tools::Paths,
        &'a registry::Registry,
        &'a crate::aws::Target,
    )>,
    /// Locally, `--release --dry-run`: the release rehearsed ([`canary::rehearse`]).
    pub rehearse: Option<&'a registry::Registry>,
}

/// Who promotes: on AWS, the caller's identity (its ARN, as `aws sts get-caller-identity`
/// reports it for the stack's profile); locally, git's user name, else the login.
fn who(stack: &Stack) -> Result<String> {
    if stack.var("AWS_ENDPOINT_URL_DYNAMODB").is_none()
        && let Some(profile) = stack.var("AWS_PROFILE")
    {
        let mut cmd = Cmd::new("aws")
            .args(["sts", "get-caller-identity", "--output", "json"])
            .args(["--profile", profile]);
        if let Some(region) = stack.var("AWS_REGION") {
            cmd = cmd.args(["--region", region]);
        }
        if let Some(path) = stack.var("PATH") {
            cmd = cmd.env("PATH", path);
        }
        let json = cmd
            .read()
            .context("who promotes is recorded: aws sts get-caller-identity failed")?;
        return caller_arn(&json);
    }
    Ok(local_user())
}

/// The ARN in `aws sts get-caller-identity`'s answer.
fn caller_arn(json: &str) -> Result<String> {
    let identity: Value = serde_json::from_str(json).context("get-caller-identity: not JSON")?;
    identity["Arn"]
        .as_str()
        .map(str::to_owned)
        .context("get-caller-identity answered without an Arn")
}

fn local_user() -> String {
    Cmd::new("git")
        .args(["config", "user.name"])
        .read()
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `./build.sh promote`: 0 when promoted (or undone), 1 when refused, 2 on error.
pub fn promote(stack: &Stack, ask: &Ask) -> ExitCode {
    match run_promote(stack, ask) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The candidate's verdict, printed; None when it refuses (not promotable, not forced).
fn gate(
    stack: &Stack,
    runtime: &tokio::runtime::Runtime,
    ask: &Ask,
    candidate: &str,
) -> Result<Option<(Value, bool)>> {
    if ask.force && ask.reason.is_none_or(|r| r.trim().is_empty()) {
        bail!("--force needs --reason \"...\": it is recorded with the promotion");
    }
    let report = stack.report(runtime, ask.experiment)?;
    let verdict = (*verdicts(&report, Some(candidate))?[0]).clone();
    println!("{}", describe(&verdict));
    let allowed = verdict["promotable"] == true;
    if !allowed && !ask.force {
        eprintln!(
            "refused: {candidate} may not be promoted on this verdict (--force --reason \"...\" overrides and is recorded)"
        );
        return Ok(None);
    }
    Ok(Some((verdict, allowed)))
}

/// `--release`: the experiment's control must be its family's control (the function with the
/// alias `live`); the candidate's code is deployed to it, or, with `--undo`, the control's own.
fn run_release(
    stack: &Stack,
    ask: &Ask,
    paths: &crate::tools::Paths,
    registry: &registry::Registry,
    target: &crate::aws::Target,
) -> Result<bool> {
    let runtime = tokio::runtime::Runtime::new()?;
    let store = runtime.block_on(stack.store())?;
    let experiment = runtime
        .block_on(store.experiments())?
        .by_name
        .remove(ask.experiment)
        .with_context(|| format!("no experiment {}", ask.experiment))?;
    let family = registry
        .get(&experiment.control.function)
        .filter(|f| f.role == registry::Role::Control)
        .map(|f| f.family.clone())
        .with_context(|| {
            format!(
                "the control of {} is {}, not a family's control: --release deploys a candidate's \
                 code to its family's control (undo the experiment's promotion first)",
                ask.experiment, experiment.control.function
            )
        })?;
    let release = if ask.undo {
        None
    } else {
        let candidate = ask.candidate.context("name the candidate to release")?;
        if gate(stack, &runtime, ask, candidate)?.is_none() {
            return Ok(false);
        }
        let variant = experiment
            .candidates
            .iter()
            .find(|c| c.id == candidate)
            .with_context(|| format!("{} has no candidate {candidate}", ask.experiment))?;
        Some(crate::releases::Release {
            candidate: candidate.to_owned(),
            function: variant.function.clone(),
        })
    };
    crate::verbs::release::run(paths, registry, target, &family, release, ask.dry_run)?;
    Ok(true)
}

fn run_promote(stack: &Stack, ask: &Ask) -> Result<bool> {
    if let Some(registry) = ask.rehearse {
        return canary::rehearse(stack, ask, registry);
    }
    if let Some((paths, registry, target)) = ask.release {
        return run_release(stack, ask, paths, registry, target);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let store = runtime.block_on(stack.store())?;
    let now = experiments::now_rfc3339();
    let read = runtime.block_on(store.promotions_of(ask.experiment))?;
    let next = if ask.undo {
        let next = read.undo(ask.experiment, &who(stack)?, &now)?;
        let last = read.applied.last().expect("undo checked there is one");
        log!(
            "undo: {} goes back to its control before {}",
            ask.experiment,
            last.candidate
        );
        next
    } else {
        let candidate = ask.candidate.context("name the candidate to promote")?;
        let Some((verdict, allowed)) = gate(stack, &runtime, ask, candidate)? else {
            return Ok(false);
        };
        let experiment = runtime
            .block_on(store.experiments())?
            .by_name
            .remove(ask.experiment)
            .with_context(|| format!("no experiment {}", ask.experiment))?;
        // The stored promotions apply on top of the uploaded definition.
        let uploaded = {
            let sources = runtime.block_on(store.definitions())?;
            experiments::domain::definition::Experiments::merge(&sources)?
                .by_name
                .remove(ask.experiment)
                .unwrap_or(experiment)
        };
        let promotion = Promotion {
            candidate: candidate.to_owned(),
            by: who(stack)?,
            at: now,
            forced: !allowed,
            reason: ask.reason.map(str::to_owned),
            verdict: verdict["sentence"].as_str().unwrap_or_default().to_owned(),
            evidence: verdict,
        };
        log!(
            "promote: {candidate} becomes the control of {}",
            ask.experiment
        );
        read.promote(&uploaded, promotion)?
    };
    if ask.dry_run {
        let applied: Vec<String> = next
            .applied
            .iter()
            .map(|p| {
                format!(
                    "{} (by {} at {}{})",
                    p.candidate,
                    p.by,
                    p.at,
                    p.reason
                        .as_deref()
                        .map(|r| format!(", forced: {r}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        println!(
            "[dry-run] would write version {} of the promotions of {} over version {}: applied in order: {}",
            read.version + 1,
            ask.experiment,
            read.version,
            if applied.is_empty() {
                "none".to_owned()
            } else {
                applied.join(", ")
            }
        );
        return Ok(true);
    }
    match runtime.block_on(store.put_promotions(ask.experiment, &read, next)) {
        Ok(written) => {
            log!(
                "{} is at promotions version {} ({} applied); the proxy picks it up within its cache time",
                ask.experiment,
                written.version,
                written.applied.len()
            );
            Ok(true)
        }
        Err(error @ StoreError::Conflict { .. }) => bail!("{error}"),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_collecting_candidate_says_how_long_and_what_a_deadline_takes() {
        let report = json!({
            "pace": {"comparedPerHour": 100.0, "servedPerHour": 400.0, "samplePercent": 25.0, "comparisons": 11},
            // The control once more and two candidates, $1 per million each.
            "usdPerComparison": 0.000003,
            "verdicts": [
                {"candidate": "fixed", "correctness": {"moreNeeded": 350},
                 "cost": {"controlUsdPerMillion": 1.0, "candidateUsdPerMillion": 1.0}},
                {"candidate": "done", "correctness": {},
                 "cost": {"controlUsdPerMillion": 1.0, "candidateUsdPerMillion": 1.0}}
            ]
        });
        let verdict = &report["verdicts"][0];
        let hours = |h: u64| Some(std::time::Duration::from_secs(h * 3_600));
        let line = time_to_verdict(&report, verdict, hours(2)).unwrap();
        assert!(
            line.contains("about 3.5 h for 350 more clean comparisons"),
            "{line}"
        );
        // 175 an hour of 400 served; 75 more comparisons an hour at $3 per million.
        assert!(
            line.contains(
                "by 2.0 h: sample 43.8 % of requests (now 25 %), about $0.0002 an hour more"
            ),
            "{line}"
        );
        let half_hour = Some(std::time::Duration::from_secs(1_800));
        let line = time_to_verdict(&report, verdict, half_hour).unwrap();
        assert!(
            line.contains("not possible at this traffic; even 100 % sampled takes about 52 min"),
            "{line}"
        );
        assert!(time_to_verdict(&report, &report["verdicts"][1], None).is_none());
        let no_pace = json!({"verdicts": []});
        assert!(
            time_to_verdict(&no_pace, verdict, None)
                .unwrap()
                .contains("no pace yet")
        );
    }

    fn report() -> Value {
        json!({
            "experiment": "round",
            "verdicts": [
                {"candidate": "half-even", "sentence": "half-even differs from the control.", "promotable": false,
                 "correctness": {"state": "differs", "failures": 37, "comparisons": 120, "rate": 0.308,
                                  "alwaysValid": {"low": 0.2, "high": 0.42}, "maxMismatchRate": 0.02,
                                  "latestDiffering": [{"input": "GET /round?number=62.5"}]},
                 "performance": null},
                {"candidate": "floor", "sentence": "floor is equivalent.", "promotable": true,
                 "correctness": {"state": "equivalent", "failures": 0, "comparisons": 500, "rate": 0.0,
                                  "alwaysValid": {"low": 0.0, "high": 0.015}, "maxMismatchRate": 0.02},
                 "performance": {"state": "same", "p50Ratio": {"value": 1.01, "low": 0.97, "high": 1.05},
                                  "p99Ratio": {"value": 1.1}, "maxDurationRatio": 1.2}}
            ]
        })
    }

    /// A report function on 127.0.0.1 answering every request with `{"report": report()}`,
    /// and the stack whose endpoints file points at it.
    fn stack_serving_the_report(dir: &std::path::Path) -> Stack {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(8) {
                let mut stream = stream.unwrap();
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request);
                let body = json!({"report": report()}).to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        let endpoints = dir.join("endpoints.json");
        std::fs::write(&endpoints, json!({"experiment-report": url}).to_string()).unwrap();
        Stack::new(vec![(
            "ENDPOINTS_FILE".to_owned(),
            endpoints.display().to_string(),
        )])
    }

    fn ask<'a>(candidate: &'a str, force: bool, reason: Option<&'a str>) -> Ask<'a> {
        Ask {
            experiment: "round",
            candidate: Some(candidate),
            undo: false,
            force,
            reason,
            dry_run: true,
            release: None,
            rehearse: None,
        }
    }

    #[test]
    fn promote_refuses_a_differing_candidate_unless_forced_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let stack = stack_serving_the_report(dir.path());
        let runtime = tokio::runtime::Runtime::new().unwrap();

        let refused = gate(
            &stack,
            &runtime,
            &ask("half-even", false, None),
            "half-even",
        )
        .unwrap();
        assert!(refused.is_none(), "half-even differs: refused");

        let (verdict, allowed) = gate(&stack, &runtime, &ask("floor", false, None), "floor")
            .unwrap()
            .expect("floor is promotable");
        assert!(allowed);
        assert_eq!(verdict["candidate"], "floor");

        let error = gate(
            &stack,
            &runtime,
            &ask("half-even", true, Some(" ")),
            "half-even",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("--force needs --reason"), "{error}");
        let (_, allowed) = gate(
            &stack,
            &runtime,
            &ask("half-even", true, Some("the spec changed")),
            "half-even",
        )
        .unwrap()
        .expect("forced");
        assert!(!allowed, "recorded as forced");
    }

    #[test]
    fn a_named_candidate_is_found_and_an_unknown_one_named_with_the_known_ones() {
        let report = report();
        assert_eq!(
            verdicts(&report, Some("floor")).unwrap()[0]["promotable"],
            true
        );
        assert_eq!(verdicts(&report, None).unwrap().len(), 2);
        let error = verdicts(&report, Some("fixed")).unwrap_err().to_string();
        assert_eq!(
            error,
            "experiment round has no candidate fixed (its candidates: half-even, floor)"
        );
    }

    #[test]
    fn on_aws_the_promoter_is_the_callers_arn() {
        let recorded = |file: &str| {
            std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("recorded-aws")
                    .join(file),
            )
            .unwrap()
        };
        assert_eq!(
            caller_arn(&recorded("get-caller-identity.user.json")).unwrap(),
            "arn:aws:iam::123456789012:user/DevAdmin"
        );
        assert_eq!(
            caller_arn(&recorded("get-caller-identity.assumed-role.json")).unwrap(),
            "arn:aws:sts::123456789012:assumed-role/my-role-name/my-role-session-name"
        );
        assert!(caller_arn("{}").is_err());
    }

    #[test]
    fn the_description_gives_the_sentence_and_the_numbers() {
        let report = report();
        let text = describe(&report["verdicts"][0]);
        assert!(
            text.starts_with("half-even differs from the control."),
            "{text}"
        );
        assert!(
            text.contains("37 failures in 120 comparisons; rate 30.80 %"),
            "{text}"
        );
        assert!(
            text.contains("always-valid 95 % bound 20.00 % - 42.00 %"),
            "{text}"
        );
        assert!(
            text.contains("performance: not enough timed comparisons yet"),
            "{text}"
        );
        assert!(text.ends_with("may be promoted: no"), "{text}");
        let text = describe(&report["verdicts"][1]);
        assert!(
            text.contains("p50 ratio 1.010, 95 % interval 0.970 - 1.050"),
            "{text}"
        );
    }
}
