//! What each family's control runs on a deployed stack: its own code, or a released candidate's
//! (`./build.sh promote <env> <region> <profile> <experiment> <candidate> --release`, the
//! tutorial's slide 34, option 3).
//!
//! A release is a deploy in which the control's resource runs the candidate's binary: SAM
//! publishes a new version, and CodeDeploy moves the control's alias `live` (which its HTTP API
//! route and Function URL serve) to it as `ReleaseTrafficShifting` says, after the pre-traffic
//! hook has run the family's release gate cases, rolling back on the control's alarms, on the
//! experiment's mismatches with the released candidate (`<Family>Release` names it), and unless
//! the post-traffic judge finds the new version equivalent to that candidate and not slower on
//! the canary's comparisons (`release-judge`, `functions/release-hook/src/judge.rs`). The stack's
//! releases are kept in `.deploy/<env>/<region>/releases.json`, written only after `sam deploy` succeeded,
//! so that every later deploy of the environment keeps them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use registry::{Registry, Role};
use serde::{Deserialize, Serialize};

use crate::template::release_parameter;

/// The file, under `.deploy/<env>/<region>/` ([`crate::aws::Target::state_dir`]).
pub const FILE: &str = "releases.json";

/// One family's release: the candidate whose code its control runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The candidate's id in the family's experiment, e.g. `fixed`.
    pub candidate: String,
    /// Its function, whose binary the control's resource runs, e.g. `sort-candidate-fixed`.
    pub function: String,
}

/// Every family's release on one stack, by family; a family not listed runs its control's code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Releases(pub BTreeMap<String, Release>);

impl Releases {
    pub fn file(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE)
    }

    /// The environment's releases; none when nothing was released.
    pub fn load(file: &Path) -> Result<Self> {
        match std::fs::read_to_string(file) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not a releases file", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
        }
    }

    pub fn save(&self, file: &Path) -> Result<()> {
        std::fs::create_dir_all(file.parent().context("a folder")?)?;
        std::fs::write(file, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("cannot write {}", file.display()))
    }

    /// These releases with `family`'s control running `release` (None: its own code again).
    pub fn with(
        &self,
        registry: &Registry,
        family: &str,
        release: Option<Release>,
    ) -> Result<Self> {
        if registry.control_of(family).is_none() {
            bail!("{family} has no control in functions.toml: nothing to release to");
        }
        let mut next = self.clone();
        match release {
            Some(release) => {
                let function = registry
                    .get(&release.function)
                    .with_context(|| format!("{} is not in functions.toml", release.function))?;
                if function.family != family || function.role != Role::Candidate {
                    bail!(
                        "{} is not a {family} candidate: only a family's candidate can be released to its control",
                        release.function
                    );
                }
                next.0.insert(family.to_owned(), release);
            }
            None => {
                next.0.remove(family);
            }
        }
        Ok(next)
    }

    /// The binary a function's resource runs: a released candidate's for its family's control.
    pub fn binary_of<'a>(&'a self, registry: &'a Registry, binary: &'a str) -> &'a str {
        registry
            .get(binary)
            .filter(|f| f.role == Role::Control)
            .and_then(|control| self.0.get(&control.family))
            .map_or(binary, |release| release.function.as_str())
    }

    /// `sam deploy` parameter overrides: `<Family>Release=<candidate>` for every family with a
    /// control (`none` when it runs its own code), so the release's mismatch alarm watches it.
    pub fn parameter_overrides(&self, registry: &Registry) -> Vec<String> {
        registry
            .workshop_families()
            .into_iter()
            .map(|family| {
                let candidate = self.0.get(family).map_or("none", |r| r.candidate.as_str());
                format!("{}={candidate}", release_parameter(family))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap()
    }

    fn fixed() -> Release {
        Release {
            candidate: "fixed".into(),
            function: "sort-candidate-fixed".into(),
        }
    }

    #[test]
    fn a_released_candidate_runs_in_its_controls_resource_and_nowhere_else() {
        let registry = registry();
        let releases = Releases::default()
            .with(&registry, "sort", Some(fixed()))
            .unwrap();
        assert_eq!(
            releases.binary_of(&registry, "sort-control"),
            "sort-candidate-fixed"
        );
        assert_eq!(
            releases.binary_of(&registry, "sort-candidate-fixed"),
            "sort-candidate-fixed"
        );
        assert_eq!(
            releases.binary_of(&registry, "round-control"),
            "round-control"
        );
        assert_eq!(
            releases.parameter_overrides(&registry),
            [
                "RoundRelease=none",
                "SortRelease=fixed",
                "FizzbuzzRelease=none",
                "Pbkdf2Release=none"
            ]
        );
        let undone = releases.with(&registry, "sort", None).unwrap();
        assert_eq!(undone, Releases::default());
    }

    #[test]
    fn only_a_familys_own_candidate_can_be_released_to_its_control() {
        let registry = registry();
        let wrong = [
            ("round", fixed(), "is not a round candidate"),
            (
                "sort",
                Release {
                    candidate: "x".into(),
                    function: "sort-control".into(),
                },
                "is not a sort candidate",
            ),
            (
                "sort",
                Release {
                    candidate: "x".into(),
                    function: "nope".into(),
                },
                "not in functions.toml",
            ),
            ("shortener", fixed(), "has no control"),
        ];
        for (family, release, expected) in wrong {
            let error = Releases::default()
                .with(&registry, family, Some(release))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{family}: {error}");
        }
    }

    #[test]
    fn releases_are_kept_per_environment_and_region_and_a_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry();
        let dev = |region: &str| {
            crate::aws::Target::new(&registry, "dev", region, "default")
                .unwrap()
                .state_dir(dir.path())
        };
        let file = Releases::file(&dev("eu-west-1"));
        assert_eq!(Releases::load(&file).unwrap(), Releases::default());
        let releases = Releases::default()
            .with(&registry, "sort", Some(fixed()))
            .unwrap();
        releases.save(&file).unwrap();
        assert_eq!(Releases::load(&file).unwrap(), releases);
        // The same environment in another region has released nothing.
        assert_eq!(
            Releases::load(&Releases::file(&dev("us-east-1"))).unwrap(),
            Releases::default()
        );
    }
}
