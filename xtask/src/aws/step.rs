//! One step of a deploy or remove plan, and how a dry run prints it.

use std::path::PathBuf;

use crate::cmd::Cmd;
use crate::releases::Releases;

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
