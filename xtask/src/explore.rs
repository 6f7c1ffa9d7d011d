//! `./build.sh explore <env> [region profile] <experiment> [--cases N] [--seconds S] [--seed X]
//! [--uniform]`: for each candidate of the experiment (scaffolded ones included, as uploaded),
//! generated requests to the control and the candidate at their Function URLs, the first
//! disagreement shrunk to a minimal request (the `explore` crate). Prints per candidate the minimal
//! input, both answers, the first difference, the cases it took and the seed; stores the result
//! where the dashboard reads it. Exits 1 when a candidate differs in a way its experiment does not
//! declare as intended, 2 when exploring failed.
//!
//! Locally it needs `./build.sh local` running, as `traffic` does; deployed, the stack's Function
//! URLs (public, `AuthType: NONE`). Never through the experiment proxy: exploring is not traffic.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use experiments::domain::compare::Outcome;
use experiments::domain::definition::{Experiment, Experiments};
use explore::{Budget, Distribution, Exploration, Family, HttpTransport, Plan, Step};
use indicatif::{ProgressBar, ProgressStyle};
use registry::Registry;

use crate::release::Stack;
use crate::tools::Paths;

/// What follows `<env> [region profile]`.
#[derive(Debug, Parser)]
#[command(
    name = "explore",
    no_binary_name = true,
    override_usage = "./build.sh explore <env> [region profile] <EXPERIMENT> [OPTIONS]",
    about = "Draws requests for each candidate of an experiment and its control, compares the \
             answers and shrinks the first difference to a minimal request; exits 1 when a \
             candidate differs."
)]
pub struct Options {
    /// The experiment whose candidates to explore.
    pub experiment: String,
    /// Requests drawn per candidate, at most.
    #[arg(long, default_value_t = 256)]
    pub cases: u32,
    /// Seconds of drawing per candidate, at most.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// The seed (a random one when absent; printed either way).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Draw uniform numbers and random lists, as random traffic would, instead of edge cases.
    #[arg(long)]
    pub uniform: bool,
    /// Only this candidate (its id in the experiment).
    #[arg(long)]
    pub candidate: Option<String>,
}

/// `./build.sh explore --help`: the options, with the usage as `./build.sh` takes it.
pub fn print_help() -> Result<()> {
    use clap::CommandFactory;
    Options::command().print_long_help()?;
    Ok(())
}

/// The experiment as uploaded: the definitions files with the scaffolded candidates added.
pub fn experiment(paths: &Paths, registry: &Registry, name: &str) -> Result<Experiment> {
    let files = crate::local::definition_files(&paths.root)?;
    let files = crate::scaffolded::definition_files(registry, &paths.target, &files)?;
    let mut sources = Vec::new();
    for file in files {
        let source = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        sources.push((source, std::fs::read_to_string(&file)?));
    }
    let mut all = Experiments::merge(&sources)?;
    let known: Vec<String> = all.by_name.keys().cloned().collect();
    all.by_name
        .remove(name)
        .with_context(|| format!("no experiment {name} (there are: {})", known.join(", ")))
}

/// The family of the experiment's control, from the registry (a memory variant such as
/// `pbkdf2-control-128` is its function's).
pub fn family(registry: &Registry, experiment: &Experiment) -> Result<Family> {
    let control = &experiment.control.function;
    let function = registry
        .functions
        .iter()
        .find(|f| {
            f.name == *control
                || f.variants
                    .iter()
                    .any(|mb| format!("{}-{mb}", f.name) == *control)
        })
        .with_context(|| format!("{control} is not in functions.toml"))?;
    Family::parse(&function.family).with_context(|| {
        format!(
            "no generator for family {} (round, sort, fizzbuzz, pbkdf2)",
            function.family
        )
    })
}

/// A fresh seed from the clock, when none is given.
fn any_seed() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_nanos() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// What is printed for one candidate.
pub fn summary(exploration: &Exploration) -> String {
    let distribution = match exploration.distribution {
        Distribution::Generated => "generated",
        Distribution::Uniform => "uniform",
    };
    let head = format!(
        "{} ({}, {distribution} inputs, seed {})",
        exploration.candidate, exploration.function, exploration.seed
    );
    let Some(found) = &exploration.found else {
        return format!("{head}\n  no difference in {} cases", exploration.cases);
    };
    let answer = |o: &experiments::domain::compare::Observed| {
        format!(
            "{} {}",
            o.status,
            experiments::domain::compare::excerpt(&o.body).replace('\n', "\\n")
        )
    };
    let kind = match found.outcome {
        Outcome::Intended => format!(
            "differs as the experiment intends ({})",
            found.verdict.intended.as_deref().unwrap_or_default()
        ),
        _ => "differs".to_owned(),
    };
    let diff = found
        .verdict
        .diff
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    // "shrunk in 5 steps from X" with X the result reads as a contradiction: say that no
    // smaller input differed.
    let shrunk = if found.first == found.input {
        format!(
            "the first input found was already minimal ({} smaller ones tried, none differed)",
            found.shrink_steps
        )
    } else {
        format!(
            "shrunk from {} in {} steps",
            found.first, found.shrink_steps
        )
    };
    let cases = if exploration.cases == 1 {
        "1 case".to_owned()
    } else {
        format!("{} cases", exploration.cases)
    };
    format!(
        "{head}\n  {kind} after {cases}; {shrunk}\n  minimal input: {}\n  \
         control:   {}\n  candidate: {}\n  first difference:\n{diff}\n  reproduce: --seed {}",
        found.input,
        answer(&found.control),
        answer(&found.candidate),
        exploration.seed,
    )
}

/// Runs the verb: exit 0 when no candidate mismatched, 1 when one did, 2 when exploring failed
/// (as `verdict` does, so CI tells a difference from a broken run).
pub fn run(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
    args: &[String],
) -> Result<ExitCode> {
    Ok(match explore_all(paths, env, region, profile, args) {
        Ok(true) => ExitCode::FAILURE,
        Ok(false) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    })
}

/// Explores every candidate asked for; whether one mismatched.
fn explore_all(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
    args: &[String],
) -> Result<bool> {
    let options = Options::try_parse_from(args)?;
    let registry = Registry::load(&paths.root)?;
    let experiment = experiment(paths, &registry, &options.experiment)?;
    let family = family(&registry, &experiment)?;
    let vars = crate::verbs::stack_env(paths, env, region, profile)?;
    let stack = Stack::new(vars.clone());
    let endpoints = stack.endpoints()?;
    let mut transport = HttpTransport::from_endpoints(&endpoints, experiment.timeout);
    // An AWS_IAM stack's Function URLs take only requests signed with the stack's credentials.
    if let Some(urls) = shared::function_url::IamUrls::from_endpoints(&endpoints) {
        let signer = tokio::runtime::Runtime::new()?.block_on(
            shared::function_url::Signer::from_variables(&vars, &urls.region),
        )?;
        transport = transport.signed(urls, signer);
    }
    let distribution = if options.uniform {
        Distribution::Uniform
    } else {
        Distribution::Generated
    };
    let seed = options.seed.unwrap_or_else(any_seed);
    let budget = Budget {
        cases: options.cases,
        time: Duration::from_secs(options.seconds),
        ..Budget::default()
    };
    let plan = Plan {
        family,
        distribution,
        budget,
        seed,
    };
    let candidates: Vec<String> = experiment
        .candidates
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| options.candidate.as_ref().is_none_or(|only| only == id))
        .collect();
    if candidates.is_empty() {
        bail!(
            "experiment {} has no candidate {}",
            experiment.name,
            options.candidate.unwrap_or_default()
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let store = runtime.block_on(stack.store()).ok();
    let mut mismatched = false;
    for candidate in candidates {
        let bar = ProgressBar::new(u64::from(budget.cases)).with_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")?
                .progress_chars("=> "),
        );
        bar.set_prefix(candidate.clone());
        let mut progress = |step: Step| match step {
            Step::Case(n) => bar.set_position(u64::from(n)),
            Step::Shrink(n) => bar.set_message(format!("shrinking, step {n}")),
        };
        let explored = runtime.block_on(explore::explore(
            &transport,
            &experiment,
            &candidate,
            plan,
            &mut progress,
        ));
        bar.finish_and_clear();
        let exploration = match explored {
            Ok(exploration) => exploration.redacted(&experiment),
            Err(error) if env == "local" => {
                bail!("{error} (is ./build.sh local running?)")
            }
            Err(error) => return Err(error.into()),
        };
        println!("{}", summary(&exploration));
        mismatched |= exploration.mismatched();
        if let Some(store) = &store {
            let stored = runtime.block_on(store.put_exploration(
                &experiment.name,
                &exploration.explored(experiments::now_rfc3339()),
            ));
            if let Err(error) = stored {
                eprintln!("  (not stored for the dashboard: {error})");
            }
        }
    }
    Ok(mismatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
    }

    #[test]
    fn the_options_parse_with_their_defaults() {
        let options = Options::try_parse_from(["round", "--seed", "7", "--uniform"]).unwrap();
        assert_eq!(options.experiment, "round");
        assert_eq!(options.seed, Some(7));
        assert!(options.uniform);
        assert_eq!((options.cases, options.seconds), (256, 60));
        assert!(Options::try_parse_from(["round", "--cases", "x"]).is_err());
    }

    #[test]
    fn every_workshop_experiment_has_a_family_and_a_scaffolded_candidate_joins_its_own() {
        let paths = paths();
        let mut registry = Registry::load(&paths.root).unwrap();
        for (name, family_of) in [
            ("round", Family::Round),
            ("sort", Family::Sort),
            ("fizzbuzz", Family::FizzBuzz),
            ("pbkdf2", Family::Pbkdf2),
            ("pbkdf2-memory", Family::Pbkdf2),
            ("chaos", Family::Round),
        ] {
            let experiment = experiment(&paths, &registry, name).unwrap();
            assert_eq!(family(&registry, &experiment).unwrap(), family_of, "{name}");
        }
        registry
            .functions
            .push(registry::Function::workshop_candidate(
                "sort",
                "zz-explore",
                "sort",
            ));
        let sort = experiment(&paths, &registry, "sort").unwrap();
        assert!(
            sort.candidates
                .iter()
                .any(|c| c.id == "zz-explore" && c.function == "sort-candidate-zz-explore")
        );
        assert!(experiment(&paths, &registry, "no-such").is_err());
    }
}
