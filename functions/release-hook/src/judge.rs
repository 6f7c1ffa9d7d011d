//! The post-traffic step (binary `release-judge`): after CodeDeploy has moved a control's alias
//! `live` to a released version, the experiment's comparisons of the canary's window decide
//! whether it stays ([`experiments::domain::canary`]).
//!
//! The evidence is read from the experiments table as the report reads it: the experiment's
//! definition (with its promotions), its running totals and its latest records. Which candidate
//! a family's control runs is the `<Family>Release` parameter of the deploy
//! (`RELEASED_CANDIDATES`, [`Released`]); a control that runs its own code again (`--undo`, or a
//! change of the control itself) has no candidate to be judged against: that is said and passed,
//! its gate cases having run before any traffic moved.

use std::collections::BTreeMap;

use experiments::adapters::invoke::BoxFuture;
use experiments::adapters::store::{ExperimentStore, LoadError, StoreError};
use experiments::domain::canary::{self, Judgement};
use experiments::domain::definition::Experiment;
use experiments::domain::record::ComparisonRecord;
use experiments::domain::report::REPORT_WINDOW;
use experiments::domain::tally::{Tally, TallyKey};

/// What the canary is judged on.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub experiment: Option<Experiment>,
    pub tallies: Vec<(TallyKey, Tally)>,
    /// The latest [`REPORT_WINDOW`], newest first.
    pub records: Vec<ComparisonRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("the experiments table could not be read")]
    Store(#[from] StoreError),
    #[error("the experiments' definitions could not be read")]
    Definitions(#[from] LoadError),
}

/// Where the evidence comes from: the experiments table, or a fake in tests.
pub trait Evidence: Send + Sync {
    fn recorded<'a>(
        &'a self,
        experiment: &'a str,
    ) -> BoxFuture<'a, Result<Recorded, EvidenceError>>;
}

impl Evidence for ExperimentStore {
    fn recorded<'a>(
        &'a self,
        experiment: &'a str,
    ) -> BoxFuture<'a, Result<Recorded, EvidenceError>> {
        Box::pin(async move {
            let (experiments, tallies, records) = tokio::join!(
                self.experiments(),
                self.tallies(experiment),
                self.latest(experiment, REPORT_WINDOW)
            );
            Ok(Recorded {
                experiment: experiments?.by_name.remove(experiment),
                tallies: tallies?,
                records: records?,
            })
        })
    }
}

/// Which candidate's code each family's control runs: `RELEASED_CANDIDATES`, e.g.
/// `round=none,sort=fixed` (`none`: its own code), from the template's `<Family>Release`
/// parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Released(BTreeMap<String, String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "RELEASED_CANDIDATES must be family=candidate pairs separated by commas, e.g. round=none,sort=fixed; got {0:?}"
)]
pub struct ReleasedError(String);

impl Released {
    pub fn parse(text: &str) -> Result<Self, ReleasedError> {
        let mut released = BTreeMap::new();
        for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (family, candidate) = pair
                .split_once('=')
                .filter(|(f, c)| !f.trim().is_empty() && !c.trim().is_empty())
                .ok_or_else(|| ReleasedError(text.to_owned()))?;
            if candidate.trim() != "none" {
                released.insert(family.trim().to_owned(), candidate.trim().to_owned());
            }
        }
        Ok(Self(released))
    }

    /// The candidate `family`'s control runs the code of, if any.
    pub fn of(&self, family: &str) -> Option<&str> {
        self.0.get(family).map(String::as_str)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("there is no experiment {0} to judge the release by")]
    NoExperiment(String),
    #[error("experiment {experiment} has no candidate {candidate} (the released one)")]
    NoCandidate {
        experiment: String,
        candidate: String,
    },
}

/// The judgement on `version` of `family`'s control, which runs the code of candidate
/// `released` (the family's experiment is named after it).
pub async fn judge(
    evidence: &dyn Evidence,
    family: &str,
    released: &str,
    version: &str,
) -> Result<Judgement, JudgeError> {
    let recorded = evidence.recorded(family).await?;
    let experiment = recorded
        .experiment
        .ok_or_else(|| JudgeError::NoExperiment(family.to_owned()))?;
    if !experiment.candidates.iter().any(|c| c.id == released) {
        return Err(JudgeError::NoCandidate {
            experiment: experiment.name,
            candidate: released.to_owned(),
        });
    }
    Ok(canary::judge(
        &experiment,
        released,
        version,
        &recorded.tallies,
        &recorded.records,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_candidates_parse_with_none_for_the_controls_own_code() {
        let released =
            Released::parse("round=none,sort=fixed, fizzbuzz = reference ,pbkdf2=none").unwrap();
        assert_eq!(released.of("sort"), Some("fixed"));
        assert_eq!(released.of("fizzbuzz"), Some("reference"));
        assert_eq!(released.of("round"), None);
        assert_eq!(released.of("chaos"), None);
        assert_eq!(Released::parse("").unwrap(), Released::default());
        for bad in ["round", "round=", "=fixed", "round=none,sort"] {
            let error = Released::parse(bad).unwrap_err();
            assert!(error.to_string().contains("family=candidate"), "{error}");
        }
    }
}
