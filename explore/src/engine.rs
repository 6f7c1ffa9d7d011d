//! The explorer: draws requests from a family's generator, sends each to the control and to one
//! candidate, compares the answers with the comparator's own rules ([`compare::compare_candidate`]:
//! comparators, ignored paths, intended differences; net of the noise baseline when the experiment
//! has one), and on the first disagreement shrinks the request while it still disagrees the same
//! way (the same parts differ: a smaller input that differs otherwise is another bug).
//!
//! Drawing and shrinking are proptest's: a [`TestRunner`] on a ChaCha RNG seeded from the seed,
//! its value trees simplified and complicated as `TestRunner::run` does, one async step at a time
//! so the requests are awaited rather than blocked on.

use std::time::{Duration, Instant};

use experiments::domain::compare::{self, Observed, Outcome, Verdict};
use experiments::domain::definition::Experiment;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::{Deserialize, Serialize};

use crate::family::{Distribution, Family};
use crate::probe::Probe;
use crate::transport::{SendError, Transport};

/// How much to try before saying "no difference".
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Requests drawn, at most.
    pub cases: u32,
    /// Time to draw them in (shrinking a difference found in time may run past it).
    pub time: Duration,
    /// Shrink steps, at most (each a request to the control and the candidate).
    pub shrink_steps: u32,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            cases: 256,
            time: Duration::from_secs(60),
            shrink_steps: 1000,
        }
    }
}

/// What exploring one candidate came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exploration {
    pub experiment: String,
    /// The candidate's id in the experiment.
    pub candidate: String,
    pub function: String,
    pub distribution: Distribution,
    pub seed: u64,
    /// Requests drawn: up to and including the first that disagreed, or all of them.
    pub cases: u32,
    pub found: Option<Difference>,
}

/// The smallest request found that still disagrees, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// The minimal request.
    pub input: Probe,
    /// The request drawn that first disagreed.
    pub first: Probe,
    pub control: Observed,
    pub candidate: Observed,
    /// The comparator's verdict on the minimal request; its `diff` says what differs first.
    pub verdict: Verdict,
    pub outcome: Outcome,
    /// Shrink steps taken (requests sent while shrinking).
    pub shrink_steps: u32,
}

impl Exploration {
    /// Whether a difference was found that the experiment does not declare as intended.
    pub fn mismatched(&self) -> bool {
        self.found
            .as_ref()
            .is_some_and(|d| d.outcome == Outcome::Mismatch)
    }

    /// The same, with what the experiment redacts (passwords, salts, keys) hidden from the
    /// request's and the answers' bodies, as the comparator's records hide it; the seed still
    /// reproduces the request.
    pub fn redacted(mut self, experiment: &Experiment) -> Self {
        if experiment.redact.is_empty() {
            return self;
        }
        if let Some(found) = &mut self.found {
            for probe in [&mut found.input, &mut found.first] {
                probe.body = probe
                    .body
                    .as_deref()
                    .map(|b| compare::recorded_body(experiment, b));
            }
            for answer in [&mut found.control, &mut found.candidate] {
                answer.body = compare::recorded_body(experiment, &answer.body);
            }
        }
        self
    }
}

/// What the explorer is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The n-th request drawn was sent.
    Case(u32),
    /// The n-th shrink step was taken.
    Shrink(u32),
}

/// Why exploring stopped without an answer.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("experiment {experiment} has no candidate {candidate}")]
    NoCandidate {
        experiment: String,
        candidate: String,
    },
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("the generator failed: {0}")]
    Generator(String),
}

/// The RNG for `seed`: ChaCha, so a seed draws the same requests on every machine.
pub fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let word = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Which parts differ: shrinking keeps them.
fn signature(verdict: &Verdict) -> (bool, Vec<String>, bool, Outcome) {
    (
        verdict.status == Some(false),
        verdict.headers_differing.clone(),
        verdict.body == Some(false),
        verdict.outcome(),
    )
}

/// `answer` with only the headers the experiment compares: the others (dates, correlation ids)
/// differ on every request and say nothing.
fn compared(experiment: &Experiment, mut answer: Observed) -> Observed {
    answer
        .headers
        .retain(|name, _| experiment.comparators.headers.contains(name));
    answer
}

/// The answers of the control and the candidate to `probe`, with the verdict when they disagree.
async fn disagreement<T: Transport>(
    transport: &T,
    experiment: &Experiment,
    candidate: &str,
    function: &str,
    probe: &Probe,
) -> Result<Option<(Observed, Observed, Verdict)>, SendError> {
    let control = compared(
        experiment,
        transport.send(&experiment.control.function, probe).await?,
    );
    let answer = compared(experiment, transport.send(function, probe).await?);
    let mut verdict = compare::compare_candidate(experiment, candidate, &control, &answer);
    if experiment.noise_baseline && !verdict.matches() {
        // As the comparator does: what the control disagrees with itself on does not count.
        let again = transport.send(&experiment.control.function, probe).await?;
        verdict = verdict.net_of(&compare::compare(experiment, &control, &again));
    }
    Ok((verdict.outcome() != Outcome::Match).then_some((control, answer, verdict)))
}

/// How to explore: whose generator, which distribution, how much, from which seed.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub family: Family,
    pub distribution: Distribution,
    pub budget: Budget,
    pub seed: u64,
}

/// Explores `candidate` (its id in `experiment`) against the experiment's control as `plan` says;
/// `progress` hears of every request.
pub async fn explore<T: Transport>(
    transport: &T,
    experiment: &Experiment,
    candidate: &str,
    plan: Plan,
    progress: &mut dyn FnMut(Step),
) -> Result<Exploration, ExploreError> {
    let Plan {
        family,
        distribution,
        budget,
        seed,
    } = plan;
    let function = experiment
        .candidates
        .iter()
        .find(|c| c.id == candidate)
        .map(|c| c.function.clone())
        .ok_or_else(|| ExploreError::NoCandidate {
            experiment: experiment.name.clone(),
            candidate: candidate.to_owned(),
        })?;
    let strategy = family.strategy(distribution);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng(seed));
    let deadline = Instant::now() + budget.time;
    let mut exploration = Exploration {
        experiment: experiment.name.clone(),
        candidate: candidate.to_owned(),
        function: function.clone(),
        distribution,
        seed,
        cases: 0,
        found: None,
    };
    while exploration.cases < budget.cases && Instant::now() < deadline {
        let mut tree = strategy
            .new_tree(&mut runner)
            .map_err(|e| ExploreError::Generator(e.to_string()))?;
        let first = tree.current();
        exploration.cases += 1;
        progress(Step::Case(exploration.cases));
        let Some(found) = disagreement(transport, experiment, candidate, &function, &first).await?
        else {
            continue;
        };
        let wanted = signature(&found.2);
        let mut best = (first.clone(), found);
        let mut steps = 0;
        // TestRunner::run's shrinking loop: simplify while it still fails, else complicate.
        if tree.simplify() {
            while steps < budget.shrink_steps {
                steps += 1;
                progress(Step::Shrink(steps));
                let probe = tree.current();
                let still =
                    disagreement(transport, experiment, candidate, &function, &probe).await?;
                let keep = match still {
                    Some(found) if signature(&found.2) == wanted => {
                        best = (probe, found);
                        tree.simplify()
                    }
                    _ => tree.complicate(),
                };
                if !keep {
                    break;
                }
            }
        }
        let (input, (control, answer, verdict)) = best;
        exploration.found = Some(Difference {
            input,
            first,
            outcome: verdict.outcome(),
            control,
            candidate: answer,
            verdict,
            shrink_steps: steps,
        });
        break;
    }
    Ok(exploration)
}

impl Exploration {
    /// What the dashboard shows of it (stored by `./build.sh explore`), at `at`.
    pub fn explored(&self, at: String) -> experiments::domain::report::Explored {
        let distribution = match self.distribution {
            Distribution::Generated => "generated",
            Distribution::Uniform => "uniform",
        };
        experiments::domain::report::Explored {
            candidate: self.candidate.clone(),
            at,
            distribution: distribution.to_owned(),
            seed: self.seed,
            cases: self.cases,
            input: self.found.as_ref().map(|f| f.input.to_string()),
            outcome: self.found.as_ref().map(|f| f.outcome),
            diff: self.found.as_ref().and_then(|f| f.verdict.diff.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use experiments::domain::definition::Experiments;

    use super::*;

    /// Rounds `?number=` in-process: `control` half away from zero, `half-even` to even, `labelled`
    /// like the control but as text/plain on ties only, `same` like the control.
    struct Rounding;

    impl Transport for Rounding {
        async fn send(&self, function: &str, probe: &Probe) -> Result<Observed, SendError> {
            let x: f64 = probe.parameters()[0].1.parse().unwrap();
            let rounded = match function {
                "half-even" => x.round_ties_even(),
                _ => x.round(),
            };
            let tie = x.fract().abs() == 0.5;
            let content_type = if function == "labelled" && tie {
                "text/plain"
            } else {
                "application/json"
            };
            let body = if function == "labelled" && x.abs() >= 100.0 {
                "{}".to_owned()
            } else {
                serde_json::json!({"number": x, "rounded": rounded}).to_string()
            };
            Ok(Observed {
                status: 200,
                headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
                body,
            })
        }
    }

    fn experiment() -> Experiment {
        let yaml = r#"
experiments:
  round:
    comparators: [body, statuscode, {headers: [content-type]}]
    path: /round
    control: {name: Control, function: control}
    candidates:
      half-even: {name: Half even, function: half-even}
      labelled: {name: Labelled, function: labelled}
      same: {name: Same, function: same}
"#;
        Experiments::parse(yaml)
            .unwrap()
            .by_name
            .remove("round")
            .unwrap()
    }

    async fn run(candidate: &str, seed: u64, cases: u32) -> Exploration {
        let budget = Budget {
            cases,
            ..Budget::default()
        };
        let plan = Plan {
            family: Family::Round,
            distribution: Distribution::Generated,
            budget,
            seed,
        };
        explore(&Rounding, &experiment(), candidate, plan, &mut |_| {})
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_half_even_candidate_is_shrunk_to_a_small_tie_it_rounds_to_even() {
        for seed in [1, 2, 3] {
            let exploration = run("half-even", seed, 256).await;
            let found = exploration.found.expect("ties are drawn first");
            let x: f64 = found.input.parameters()[0].1.parse().unwrap();
            assert!([0.5, -0.5].contains(&x), "seed {seed}: {}", found.input);
            assert_eq!(found.outcome, Outcome::Mismatch);
            assert!(found.verdict.diff.unwrap().contains("$.rounded"));
        }
    }

    #[tokio::test]
    async fn shrinking_keeps_the_parts_that_differed_first() {
        let exploration = run("labelled", 5, 256).await;
        let found = exploration.found.unwrap();
        // Its first difference was a tie (content type alone) or a large number (body, and the
        // content type on a tie): the minimal input differs in the same parts.
        let first = signature(&compare::compare_candidate(
            &experiment(),
            "labelled",
            &Rounding.send("control", &found.first).await.unwrap(),
            &Rounding.send("labelled", &found.first).await.unwrap(),
        ));
        assert_eq!(signature(&found.verdict), first);
        assert!(found.shrink_steps > 0);
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_result_and_another_may_not() {
        let a = run("half-even", 42, 256).await;
        assert_eq!(a, run("half-even", 42, 256).await);
        assert_eq!(a.seed, 42);
    }

    #[tokio::test]
    async fn an_identical_candidate_shows_no_difference_in_the_budget() {
        let exploration = run("same", 9, 300).await;
        assert_eq!(exploration.found, None);
        assert_eq!(exploration.cases, 300);
        assert!(!exploration.mismatched());
    }

    #[tokio::test]
    async fn an_unknown_candidate_is_an_error() {
        let plan = Plan {
            family: Family::Round,
            distribution: Distribution::Generated,
            budget: Budget::default(),
            seed: 1,
        };
        let error = explore(&Rounding, &experiment(), "nobody", plan, &mut |_| {}).await;
        assert!(matches!(error, Err(ExploreError::NoCandidate { .. })));
    }

    #[test]
    fn a_seed_draws_the_same_requests_and_another_seed_others() {
        let draw = |seed| {
            let strategy = Family::Sort.strategy(Distribution::Generated);
            let mut runner = TestRunner::new_with_rng(Config::default(), rng(seed));
            (0..5)
                .map(|_| strategy.new_tree(&mut runner).unwrap().current())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(1), draw(2));
    }
}
