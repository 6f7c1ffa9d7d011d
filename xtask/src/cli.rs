//! The command line: every verb and flag `./build.sh` has, and the dispatch to their code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use registry::Registry;

use crate::aws::Target;
use crate::suite::Mode;
use crate::tools::Paths;
use crate::{check, new_candidate, release, suite, verbs};

/// The project's one entry point: set-up, local stack, tests, benches and deployment to AWS.
///
/// Tools it can fetch go into .tools/ (git-ignored), runtime state into .local/. Every process it
/// starts runs in its own process group and is stopped on exit, error or Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "./build.sh", bin_name = "./build.sh", version)]
pub struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Run the whole app on this machine until Ctrl-C.
    Local {
        /// DynamoDB Local's port.
        #[arg(long, env = "DDB_PORT", default_value_t = 8000)]
        dynamodb_port: u16,
        /// The app's port (the shortener's page is at its root; cargo lambda watch runs behind it).
        #[arg(long, env = "WATCH_PORT", default_value_t = 9000)]
        watch_port: u16,
        /// How the demo Function URLs (`/lambda-url/<function>`) authenticate: NONE (public, the
        /// workshop's way) or AWS_IAM (requests signed with SigV4, as a deployed stack's default;
        /// unsigned ones get AWS's 403).
        #[arg(
            long,
            value_enum,
            env = "DEMO_FUNCTION_URL_AUTH",
            default_value = "NONE"
        )]
        url_auth: crate::front::UrlAuth,
    },
    /// Everything that runs offline (what CI runs).
    Test {
        /// Skip the arm64 artifacts build (a local loop; CI never passes it).
        #[arg(long)]
        quick: bool,
    },
    /// The suite in-process (TEST_MODE=handler) on local stacks or deployed environments.
    IntTest(SuiteArgs),
    /// The suite over HTTP (TEST_MODE=http) on local stacks or deployed environments.
    AcceptanceTest(SuiteArgs),
    /// Benches (DynamoDB Local, Node.js peer); with no arguments also writes PERFORMANCE.md.
    Bench {
        /// Write PERFORMANCE.md again from the last full run's log (`.local/bench.log`) and the
        /// deployment zips now in `target/lambda-arm64`, running nothing.
        #[arg(long)]
        report_only: bool,
        /// Passed to `cargo bench -p benches` (e.g. `--bench shortener`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Scaffold a workshop candidate (it answers 501 until written).
    NewCandidate {
        /// The control's family: round, sort, fizzbuzz or pbkdf2.
        family: String,
        /// Your candidate's name, e.g. my-name.
        name: String,
    },
    /// Experiment definitions.
    Experiments {
        #[command(subcommand)]
        action: ExperimentsAction,
    },
    /// Requests through the experiment proxy: `traffic <env> [region profile] <experiment> [--count N]`.
    Traffic {
        /// `local`, or an environment followed by its region and profile, then the experiment and
        /// the traffic tool's options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
    /// A bounded load and soak test of the shortener on its own local stack (not part of `test`).
    Load {
        /// Redirects to send.
        #[arg(long, default_value_t = 20_000)]
        redirects: u64,
        /// Links to create.
        #[arg(long, default_value_t = 2_000)]
        creates: u64,
        /// The run fails if it takes longer.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Shortener instances (cargo lambda watch's --concurrency).
        #[arg(long, default_value_t = 2)]
        instances: u32,
    },
    /// Generated requests to each candidate and its control, the first difference shrunk:
    /// `explore <env> [region profile] <experiment> [--cases N] [--seconds S] [--seed X]
    /// [--uniform]`; exits 1 when a candidate differs. `--help` lists the options.
    #[command(disable_help_flag = true)]
    Explore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
    /// Memory-size tuning: `tune local|<env> <region> <profile> [options]` (benches/tune/README.md).
    /// `--help` is tune's own: it lists every option.
    #[command(disable_help_flag = true)]
    Tune {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
    /// Build arm64 artifacts and deploy stack rust-serverless-<env>.
    Deploy {
        env: String,
        region: String,
        profile: String,
        /// Print every step and AWS command; run none.
        #[arg(long)]
        dry_run: bool,
        /// In a dry run, the commit the stack is tagged with (AWS is not asked).
        #[arg(long, requires = "dry_run")]
        stack_commit: Option<String>,
    },
    /// Delete stack rust-serverless-<env> (its tables and code key are kept unless asked).
    Remove {
        env: String,
        region: String,
        profile: String,
        /// Also delete the tables and the code key.
        #[arg(long)]
        delete_data: bool,
        #[arg(long)]
        dry_run: bool,
    },
    /// Check that template.yaml, the local router, the suite and the definitions agree with
    /// functions.toml, that the generated references are current and that every document's
    /// links resolve.
    Check,
    /// Write the generated references: docs/reference/cli.md (from these clap definitions) and
    /// docs/reference/configuration.md (from template.yaml).
    Docs,
    /// The workshop's solved states on a scratch copy (part of `test`; workshop_states.rs).
    #[command(hide = true)]
    WorkshopStates,
    /// Every function's arm64 bootstrap, from its zip, started under qemu-aarch64 and sent one
    /// request (part of `test`; arm64_smoke.rs). Needs the zips: `test`'s unoptimised build by
    /// default.
    #[command(hide = true)]
    Arm64Smoke {
        /// The deployment build's zips (target/lambda-arm64) instead.
        #[arg(long)]
        deploy_build: bool,
    },
    /// cargo deny (licences, bans, sources; deny.toml) and the template security scan. Not in
    /// `test`: cargo-deny is built from crates.io once, which takes minutes.
    Audit,
    /// The verdict on candidates: `verdict <env> [region profile] <experiment> [candidate]`; exits
    /// 0 when the candidate may be promoted, 1 when not, 2 on error.
    Verdict {
        #[arg(required = true)]
        args: Vec<String>,
        /// A deadline (`30m`, `2h`, `1day`): for each candidate still collecting, the sample
        /// percentage that would reach a verdict by then at the recent traffic, and its extra
        /// Lambda cost.
        #[arg(long, value_parser = humantime::parse_duration)]
        by: Option<std::time::Duration>,
    },
    /// Make a candidate the experiment's control: `promote <env> [region profile] <experiment>
    /// <candidate>`; refuses unless the verdict allows it.
    Promote {
        #[arg(required = true)]
        args: Vec<String>,
        /// Print the promotion that would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Promote whatever the verdict says (needs --reason, which is recorded).
        #[arg(long, requires = "reason")]
        force: bool,
        #[arg(long)]
        reason: Option<String>,
        /// Take the experiment's last promotion back (no candidate).
        #[arg(long, conflicts_with_all = ["force", "reason"])]
        undo: bool,
        /// On AWS: release the candidate's code to its family's control (CodeDeploy moves the
        /// control's alias `live`, canary by default, rolled back on alarms and unless the
        /// post-traffic judge finds the new version equivalent and not slower) instead of making
        /// it the experiment's control; with --undo, the control's own code again. Locally, with
        /// --dry-run: the release rehearsed, the judge run on the local comparisons.
        #[arg(long)]
        release: bool,
    },
}

#[derive(Debug, clap::Args)]
struct SuiteArgs {
    /// `local` (or local,local2,... to split the suite), or deployed environments (dev,dev2).
    envs: String,
    region: Option<String>,
    #[arg(default_value = "default")]
    profile: String,
}

#[derive(Debug, Subcommand)]
enum ExperimentsAction {
    /// Validate and store definitions: `upload <env> [region profile] [files...]`.
    Upload {
        env: String,
        #[arg(trailing_var_arg = true)]
        rest: Vec<String>,
    },
    /// Delete an experiment's comparison records and counters: `reset <env> [region profile] <experiment>`.
    Reset {
        env: String,
        #[arg(trailing_var_arg = true)]
        rest: Vec<String>,
    },
    /// Write the inputs on which candidates differed as release gate cases of the family, with
    /// the control's answer (the candidate's where the difference is intended):
    /// `gate-cases <env> [region profile] <experiment>`.
    GateCases {
        env: String,
        #[arg(required = true)]
        rest: Vec<String>,
        /// Inputs per candidate and kind of difference, at most.
        #[arg(long, default_value_t = 3)]
        per_group: usize,
        /// Print the family's cases file as it would be; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `<env> [region profile] rest...`: a deployed environment takes two more words.
fn split_env(env: &str, rest: &[String]) -> Result<(Option<String>, String, Vec<String>)> {
    if env == "local" {
        return Ok((None, "default".to_owned(), rest.to_vec()));
    }
    if rest.len() < 2 {
        bail!("environment {env} needs a region and a profile");
    }
    Ok((Some(rest[0].clone()), rest[1].clone(), rest[2..].to_vec()))
}

pub fn root() -> Result<PathBuf> {
    // xtask lives one folder below the workspace root.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest)
        .canonicalize()?)
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let paths = Paths::new(root()?);
    std::env::set_current_dir(&paths.root)?;
    match cli.verb {
        Verb::Verdict { args, by } => {
            let (env, rest) = args.split_first().expect("clap requires one");
            let (region, profile, rest) = split_env(env, rest)?;
            let (experiment, candidate) = match rest.as_slice() {
                [experiment] => (experiment, None),
                [experiment, candidate] => (experiment, Some(candidate.as_str())),
                _ => bail!(
                    "usage: ./build.sh verdict <env> [region profile] <experiment> [candidate]"
                ),
            };
            let stack =
                release::Stack::new(verbs::stack_env(&paths, env, region.as_deref(), &profile)?);
            Ok(release::verdict(&stack, experiment, candidate, by))
        }
        Verb::Promote {
            args,
            dry_run,
            force,
            reason,
            undo,
            release,
        } => {
            let (env, rest) = args.split_first().expect("clap requires one");
            let (region, profile, rest) = split_env(env, rest)?;
            // A release deploys: functions.toml is read once, here, for the whole of it.
            let (release_to, rehearse) = match (release, region.as_deref()) {
                (false, _) => (None, None),
                (true, Some(region)) => {
                    let registry = Registry::load(&paths.root)?;
                    let target = Target::new(&registry, env, region, &profile)?;
                    (Some((registry, target)), None)
                }
                (true, None) if dry_run => (None, Some(Registry::load(&paths.root)?)),
                (true, None) => bail!(
                    "--release needs an AWS environment (<env> <region> <profile>): locally there is no alias or CodeDeploy to shift traffic; promote without --release, or rehearse the release with --release --dry-run"
                ),
            };
            let (experiment, candidate) = match (rest.as_slice(), undo) {
                ([experiment], true) => (experiment, None),
                ([experiment, candidate], false) => (experiment, Some(candidate.as_str())),
                _ => bail!(
                    "usage: ./build.sh promote <env> [region profile] <experiment> <candidate> [--dry-run] [--force --reason \"...\"], or <experiment> --undo"
                ),
            };
            let stack =
                release::Stack::new(verbs::stack_env(&paths, env, region.as_deref(), &profile)?);
            let ask = release::Ask {
                experiment,
                candidate,
                undo,
                force,
                reason: reason.as_deref(),
                dry_run,
                release: release_to
                    .as_ref()
                    .map(|(registry, target)| (&paths, registry, target)),
                rehearse: rehearse.as_ref(),
            };
            Ok(release::promote(&stack, &ask))
        }
        Verb::Explore { args } => {
            if args.iter().any(|a| a == "--help" || a == "-h") {
                crate::explore::print_help()?;
                return Ok(ExitCode::SUCCESS);
            }
            let (env, rest) = args.split_first().expect("clap requires one");
            let (region, profile, rest) = split_env(env, rest)?;
            crate::explore::run(&paths, env, region.as_deref(), &profile, &rest)
        }
        verb => run_verb(&paths, verb).map(|()| ExitCode::SUCCESS),
    }
}

fn run_verb(paths: &Paths, verb: Verb) -> Result<()> {
    let paths = paths.clone();
    match verb {
        Verb::Local {
            dynamodb_port,
            watch_port,
            url_auth,
        } => verbs::local::run(&paths, dynamodb_port, watch_port, url_auth),
        Verb::Test { quick } => suite::test(&paths, quick),
        Verb::IntTest(args) => suite::suite_on(
            &paths,
            Mode::Handler,
            &args.envs,
            args.region.as_deref(),
            &args.profile,
        ),
        Verb::AcceptanceTest(args) => suite::suite_on(
            &paths,
            Mode::Http,
            &args.envs,
            args.region.as_deref(),
            &args.profile,
        ),
        Verb::Bench {
            report_only: true, ..
        } => verbs::bench::report(&paths),
        Verb::Bench { args, .. } => verbs::bench::run(&paths, &args),
        Verb::NewCandidate { family, name } => {
            let writes = new_candidate::plan(&paths.root, &family, &name)?;
            new_candidate::apply(&paths.root, &writes)?;
            let function = format!("{family}-candidate-{name}");
            for write in &writes {
                println!("wrote {}", write.path.display());
            }
            println!(
                "{function} answers 501 until you write respond() in {}",
                writes[0].path.display()
            );
            println!(
                "it joins experiment {family} when the definitions are uploaded (./build.sh local does; \
                 on AWS: ./build.sh experiments upload <env> <region> <profile>)"
            );
            println!(
                "locally: http://127.0.0.1:9000/lambda-url/{function}{}",
                new_candidate::example_uri(&family)
            );
            Ok(())
        }
        Verb::Audit => crate::scan::audit(&paths),
        Verb::Experiments {
            action: ExperimentsAction::Upload { env, rest },
        } => {
            let (region, profile, files) = split_env(&env, &rest)?;
            verbs::experiments::upload(
                &paths,
                &env,
                region.as_deref(),
                &profile,
                files.into_iter().map(PathBuf::from).collect(),
            )
        }
        Verb::Experiments {
            action: ExperimentsAction::Reset { env, rest },
        } => {
            let (region, profile, rest) = split_env(&env, &rest)?;
            let [experiment] = rest.as_slice() else {
                bail!("usage: ./build.sh experiments reset <env> [region profile] <experiment>");
            };
            verbs::experiments::reset(&paths, &env, region.as_deref(), &profile, experiment)
        }
        Verb::Experiments {
            action:
                ExperimentsAction::GateCases {
                    env,
                    rest,
                    per_group,
                    dry_run,
                },
        } => {
            let (region, profile, rest) = split_env(&env, &rest)?;
            let [experiment] = rest.as_slice() else {
                bail!(
                    "usage: ./build.sh experiments gate-cases <env> [region profile] <experiment>"
                );
            };
            let stack =
                release::Stack::new(verbs::stack_env(&paths, &env, region.as_deref(), &profile)?);
            crate::gate_cases::run(
                &paths,
                &stack,
                experiment,
                &crate::gate_cases::Options { per_group, dry_run },
            )
        }
        Verb::Traffic { args } => {
            let (env, rest) = args.split_first().expect("clap requires one");
            let (region, profile, rest) = split_env(env, rest)?;
            if rest.is_empty() {
                bail!("usage: ./build.sh traffic <env> [region profile] <experiment> [--count N]");
            }
            verbs::traffic::run(&paths, env, region.as_deref(), &profile, &rest)
        }
        Verb::Tune { args } => verbs::tune::run(&paths, &args),
        Verb::Load {
            redirects,
            creates,
            seconds,
            clients,
            instances,
        } => crate::load::run(
            &paths,
            &crate::load::Options {
                redirects,
                creates,
                seconds,
                clients,
                instances,
            },
        ),
        Verb::Deploy {
            env,
            region,
            profile,
            dry_run,
            stack_commit,
        } => {
            let registry = Registry::load(&paths.root)?;
            verbs::deploy::run(
                &paths,
                &registry,
                &Target::new(&registry, &env, &region, &profile)?,
                dry_run,
                stack_commit,
            )
        }
        Verb::Remove {
            env,
            region,
            profile,
            delete_data,
            dry_run,
        } => {
            let registry = Registry::load(&paths.root)?;
            verbs::remove::run(
                &paths,
                &registry,
                &Target::new(&registry, &env, &region, &profile)?,
                delete_data,
                dry_run,
            )
        }
        Verb::Verdict { .. } | Verb::Promote { .. } | Verb::Explore { .. } => {
            unreachable!("handled in run")
        }
        Verb::WorkshopStates => crate::workshop_states::check(&paths),
        Verb::Arm64Smoke { deploy_build } => crate::arm64_smoke::run(
            &paths,
            if deploy_build {
                crate::aws::Optimisation::Deploy
            } else {
                crate::aws::Optimisation::Check
            },
        ),
        Verb::Docs => crate::docs::write(&paths.root),
        Verb::Check => {
            let problems = check::problems(&paths.root)?;
            if problems.is_empty() {
                println!(
                    "template.yaml, Cargo.toml's router, the suite and the definitions agree with functions.toml; \
                     the generated references are current and every document's links resolve"
                );
                Ok(())
            } else {
                bail!("{}", problems.join("\n"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_readme_verb_parses() {
        let lines = [
            "local",
            "test",
            "test --quick",
            "int-test local",
            "int-test local,local2",
            "acceptance-test dev eu-west-1 my-profile",
            "bench --bench shortener",
            "new-candidate round my-name",
            "experiments upload local",
            "experiments reset local sort",
            "experiments gate-cases local round --per-group 2 --dry-run",
            "experiments upload dev eu-west-1 p functions/experiments/definitions/workshop.yaml",
            "traffic local round --count 200",
            "explore local round --cases 50 --seed 7 --uniform",
            "explore dev eu-west-1 p sort --seconds 10",
            "load",
            "load --redirects 20000 --creates 2000 --seconds 300 --clients 8 --instances 2",
            "tune local --memory 128,256",
            "tune dev eu-west-1 p --dry-run",
            "deploy dev eu-west-1 p --dry-run --stack-commit abc",
            "remove dev eu-west-1 p --delete-data --dry-run",
            "check",
            "docs",
            "audit",
            "verdict local round",
            "verdict local sort fixed --by 30m",
            "verdict dev eu-west-1 p round half-even",
            "promote local sort fixed",
            "promote local sort fixed --dry-run",
            "promote local round half-even --force --reason because",
            "promote local sort --undo",
        ];
        for line in lines {
            let args = std::iter::once("build.sh").chain(line.split(' '));
            if let Err(error) = Cli::try_parse_from(args) {
                panic!("{line}: {error}");
            }
        }
        assert!(
            Cli::try_parse_from(["build.sh", "deploy", "dev", "r", "p", "--stack-commit", "x"])
                .is_err()
        );
    }

    #[test]
    fn tune_and_explore_keep_their_own_help() {
        for verb in ["tune", "explore"] {
            let cli = Cli::try_parse_from(["build.sh", verb, "--help"])
                .unwrap_or_else(|e| panic!("{verb} --help: {e}"));
            let args = match cli.verb {
                Verb::Tune { args } | Verb::Explore { args } => args,
                other => panic!("{other:?}"),
            };
            assert_eq!(args, ["--help"]);
        }
        let mut help = Vec::new();
        crate::explore::Options::command()
            .write_long_help(&mut help)
            .unwrap();
        let help = String::from_utf8(help).unwrap();
        for option in ["--cases", "--seconds", "--seed", "--uniform", "--candidate"] {
            assert!(help.contains(option), "{option} not in\n{help}");
        }
    }

    #[test]
    fn an_environment_other_than_local_takes_a_region_and_a_profile() {
        let rest = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            split_env("local", &rest(&["round", "--count", "5"])).unwrap(),
            (None, "default".to_owned(), rest(&["round", "--count", "5"]))
        );
        assert_eq!(
            split_env("dev", &rest(&["eu-west-1", "p", "round"])).unwrap(),
            (
                Some("eu-west-1".to_owned()),
                "p".to_owned(),
                rest(&["round"])
            )
        );
        assert!(split_env("dev", &rest(&["eu-west-1"])).is_err());
    }
}
