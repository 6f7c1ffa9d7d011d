//! Promoting a candidate (the tutorial's slide 34, option 4): the candidate becomes the
//! experiment's control, and the old control becomes a candidate, so the experiment keeps running
//! in reverse and catches a regression.
//!
//! An experiment's promotions are one stored state ([`Promotions`]): the promotions applied, in
//! order, on top of the uploaded definition, and the history of every change (promote, undo) with
//! who made it, when, and the verdict it was based on. The state carries a version; the store
//! writes it only if the version is still the one read, so of two promotions racing one wins and
//! the other is told ([`crate::adapters::store::StoreError::Conflict`]).

use serde::{Deserialize, Serialize};

use crate::domain::definition::{Experiment, Experiments, Intended, Rewrite, Variant};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromotionError {
    #[error("experiment {experiment} has no candidate {candidate} (its candidates: {known})")]
    NoSuchCandidate {
        experiment: String,
        candidate: String,
        known: String,
    },
    #[error("experiment {0} has no promotion to undo")]
    NothingToUndo(String),
    #[error("promotions of unknown experiment {0}")]
    NoSuchExperiment(String),
}

/// One promotion: who made it, when, why, and on what evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// The candidate's id in the definition as it stood (e.g. `fixed`).
    pub candidate: String,
    pub by: String,
    pub at: String,
    /// `--force` skips the verdict; then a reason is required and kept.
    pub forced: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The verdict's sentence when it was promoted, and its numbers (the report's JSON).
    pub verdict: String,
    #[serde(default)]
    pub evidence: serde_json::Value,
}

/// What happened, for the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Event {
    Promoted(Promotion),
    Undone {
        candidate: String,
        by: String,
        at: String,
    },
}

/// The promotions of one experiment, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotions {
    /// Written only over this version (0: nothing stored yet).
    pub version: u64,
    /// Applied in order on top of the uploaded definition.
    pub applied: Vec<Promotion>,
    pub history: Vec<Event>,
}

/// The id the old control is compared under after `candidate` replaced it.
pub fn previous_control_id(candidate: &str) -> String {
    format!("control-before-{candidate}")
}

impl Promotions {
    /// The state after promoting; checked against the experiment as it is now.
    pub fn promote(
        &self,
        experiment: &Experiment,
        promotion: Promotion,
    ) -> Result<Self, PromotionError> {
        let mut current = experiment.clone();
        apply(&mut current, &self.applied)?;
        swap(&mut current, &promotion.candidate)?;
        let mut next = self.clone();
        next.applied.push(promotion.clone());
        next.history.push(Event::Promoted(promotion));
        Ok(next)
    }

    /// The state with the last promotion taken back.
    pub fn undo(&self, experiment: &str, by: &str, at: &str) -> Result<Self, PromotionError> {
        let mut next = self.clone();
        let last = next
            .applied
            .pop()
            .ok_or_else(|| PromotionError::NothingToUndo(experiment.to_owned()))?;
        next.history.push(Event::Undone {
            candidate: last.candidate,
            by: by.to_owned(),
            at: at.to_owned(),
        });
        Ok(next)
    }
}

/// `candidate` answers the client from now on; the control is compared as
/// [`previous_control_id`]`(candidate)`. The differences the candidate intended (its own and the
/// experiment's) are intended the other way round by the old control: each rewrite, reversed, is
/// declared for it, and the candidate's own are dropped (the experiment's stay for the others).
fn swap(experiment: &mut Experiment, candidate: &str) -> Result<(), PromotionError> {
    let position = experiment
        .candidates
        .iter()
        .position(|c| c.id == candidate)
        .ok_or_else(|| PromotionError::NoSuchCandidate {
            experiment: experiment.name.clone(),
            candidate: candidate.to_owned(),
            known: experiment
                .candidates
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let previous = previous_control_id(candidate);
    let reversed: Vec<Intended> = experiment
        .intended_for(candidate)
        .map(|intended| Intended {
            candidate: Some(previous.clone()),
            description: format!(
                "{} (reversed: {candidate} is the control now)",
                intended.description
            ),
            rewrite: Rewrite {
                within: intended.rewrite.within.clone(),
                from: intended.rewrite.to.clone(),
                to: intended.rewrite.from.clone(),
            },
        })
        .collect();
    experiment
        .intended
        .retain(|i| i.candidate.as_deref() != Some(candidate));
    experiment.intended.extend(reversed);
    let promoted = experiment.candidates.remove(position);
    let old = std::mem::replace(
        &mut experiment.control,
        Variant {
            id: "control".to_owned(),
            name: promoted.name,
            function: promoted.function,
        },
    );
    experiment.candidates.insert(
        position,
        Variant {
            id: previous,
            name: format!("{} (the control before {candidate})", old.name),
            function: old.function,
        },
    );
    Ok(())
}

/// Applies `promotions` to `experiment`, in order.
pub fn apply(experiment: &mut Experiment, promotions: &[Promotion]) -> Result<(), PromotionError> {
    promotions
        .iter()
        .try_for_each(|p| swap(experiment, &p.candidate))
}

/// Applies every experiment's stored promotions to the uploaded definitions. An experiment whose
/// promotions no longer fit its definition (a candidate removed since) is served as uploaded,
/// and named in the returned warnings.
pub fn apply_all(experiments: &mut Experiments, stored: &[(String, Promotions)]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, promotions) in stored {
        let Some(experiment) = experiments.by_name.get_mut(name) else {
            warnings.push(PromotionError::NoSuchExperiment(name.clone()).to_string());
            continue;
        };
        let mut promoted = experiment.clone();
        match apply(&mut promoted, &promotions.applied) {
            Ok(()) => *experiment = promoted,
            Err(error) => warnings.push(format!("{error}; served as uploaded")),
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment() -> Experiment {
        let yaml = r#"
experiments:
  sort:
    comparators: [body]
    path: /sort
    control: { name: Sort, function: sort-control }
    candidates:
      exercise: { name: The exercise, function: sort-candidate }
      fixed: { name: The solution, function: sort-candidate-fixed }
"#;
        Experiments::parse(yaml)
            .unwrap()
            .by_name
            .remove("sort")
            .unwrap()
    }

    fn promotion(candidate: &str) -> Promotion {
        Promotion {
            candidate: candidate.to_owned(),
            by: "tester".into(),
            at: "2026-11-30T19:00:00.000Z".into(),
            forced: false,
            reason: None,
            verdict: "fixed is equivalent".into(),
            evidence: serde_json::Value::Null,
        }
    }

    fn functions(e: &Experiment) -> (String, Vec<(String, String)>) {
        (
            e.control.function.clone(),
            e.candidates
                .iter()
                .map(|c| (c.id.clone(), c.function.clone()))
                .collect(),
        )
    }

    #[test]
    fn a_promoted_candidate_becomes_the_control_and_the_control_a_candidate() {
        let state = Promotions::default()
            .promote(&experiment(), promotion("fixed"))
            .unwrap();
        let mut e = experiment();
        apply(&mut e, &state.applied).unwrap();
        assert_eq!(
            functions(&e),
            (
                "sort-candidate-fixed".to_owned(),
                vec![
                    ("exercise".to_owned(), "sort-candidate".to_owned()),
                    ("control-before-fixed".to_owned(), "sort-control".to_owned()),
                ]
            )
        );
        assert_eq!(e.control.id, "control");
        assert_eq!(state.history, vec![Event::Promoted(promotion("fixed"))]);
    }

    #[test]
    fn the_difference_a_promoted_candidate_intended_is_intended_in_reverse_by_the_old_control() {
        let yaml = r#"
experiments:
  fizzbuzz:
    comparators: [body]
    path: /fizzbuzz
    control: { name: FizzBuzz in production, function: fizzbuzz-control }
    candidates:
      reference:
        name: FizzBuzz by the spec
        function: fizzbuzz-candidate-reference
        intended:
          - description: the spec's space
            replace: { in: body, from: FizzBuzz, to: Fizz Buzz }
      other: { name: Another, function: fizzbuzz-candidate-other }
"#;
        let uploaded = Experiments::parse(yaml)
            .unwrap()
            .by_name
            .remove("fizzbuzz")
            .unwrap();
        let mut promoted = uploaded.clone();
        apply(&mut promoted, &[promotion("reference")]).unwrap();
        let rules: Vec<(&str, &str, &str)> = promoted
            .intended
            .iter()
            .map(|i| {
                (
                    i.candidate.as_deref().unwrap_or("*"),
                    i.rewrite.from.as_str(),
                    i.rewrite.to.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rules,
            [("control-before-reference", "Fizz Buzz", "FizzBuzz")]
        );
        assert_eq!(promoted.intended_for("other").count(), 0);
        // Undo is the uploaded definition with one promotion fewer: the rule is back as written.
        let mut undone = uploaded.clone();
        apply(&mut undone, &[]).unwrap();
        assert_eq!(undone, uploaded);
    }

    #[test]
    fn promotions_chain_and_undo_restores_the_previous_definition() {
        let one = Promotions::default()
            .promote(&experiment(), promotion("fixed"))
            .unwrap();
        let two = one.promote(&experiment(), promotion("exercise")).unwrap();
        let mut e = experiment();
        apply(&mut e, &two.applied).unwrap();
        assert_eq!(e.control.function, "sort-candidate");
        assert_eq!(
            e.candidates
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["control-before-exercise", "control-before-fixed"]
        );
        let undone = two.undo("sort", "tester", "later").unwrap();
        assert_eq!(undone.applied, one.applied);
        assert_eq!(undone.history.len(), 3);
        let back = undone.undo("sort", "tester", "later").unwrap();
        let mut e = experiment();
        apply(&mut e, &back.applied).unwrap();
        assert_eq!(e, experiment());
        assert_eq!(
            back.undo("sort", "t", "x").unwrap_err(),
            PromotionError::NothingToUndo("sort".into())
        );
    }

    #[test]
    fn an_unknown_candidate_is_refused_with_the_known_ones() {
        let error = Promotions::default()
            .promote(&experiment(), promotion("half-even"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "experiment sort has no candidate half-even (its candidates: exercise, fixed)"
        );
        // The old control can itself be promoted back, by its new id.
        let state = Promotions::default()
            .promote(&experiment(), promotion("fixed"))
            .unwrap()
            .promote(&experiment(), promotion("control-before-fixed"))
            .unwrap();
        let mut e = experiment();
        apply(&mut e, &state.applied).unwrap();
        assert_eq!(e.control.function, "sort-control");
    }

    #[test]
    fn stored_promotions_that_no_longer_fit_leave_the_experiment_as_uploaded() {
        let mut experiments = Experiments::default();
        experiments.by_name.insert("sort".into(), experiment());
        let stale = Promotions {
            version: 1,
            applied: vec![promotion("gone")],
            history: vec![],
        };
        let warnings = apply_all(&mut experiments, &[("sort".into(), stale)]);
        assert_eq!(experiments.by_name["sort"], experiment());
        assert!(warnings[0].contains("no candidate gone"), "{warnings:?}");
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let state = Promotions::default()
            .promote(&experiment(), promotion("fixed"))
            .unwrap()
            .undo("sort", "t", "x")
            .unwrap();
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<Promotions>(&json).unwrap(), state);
    }
}
