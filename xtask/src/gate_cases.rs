//! `./build.sh experiments gate-cases <env> [region profile] <experiment>`: what an experiment
//! learned becomes release gate cases. The inputs on which a candidate differed from the control
//! (from the experiment's stored comparisons), a few per kind of difference, are sent to the
//! control again (or, for a difference the experiment intends, to the candidate), and each answer
//! is written as a case into the family's `functions/release-hook/cases/<family>.yaml`, between
//! markers (see [`release_hook::domain::learned`]). The next build compiles them into the
//! pre-traffic hook, so a release that changes those answers is stopped before it gets traffic.
//!
//! Inputs whose stored body may be cut (200 characters, the record's limit) or holds a redacted
//! value are left out: the case must be the request as it was.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use experiments::domain::record::ComparisonRecord;
use explore::Probe;
use explore::transport::{HttpTransport, Transport};
use release_hook::domain::learned::{self, Learned};

use crate::release::Stack;
use crate::tools::Paths;

/// The options after `<env> [region profile] <experiment>`.
pub struct Options {
    /// Inputs per kind of difference, at most.
    pub per_group: usize,
    /// Print the cases; write nothing.
    pub dry_run: bool,
}

/// A differing input of the experiment, and who should answer it in the case.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub probe: Probe,
    pub candidate: String,
    /// The function whose answer is expected: the control's, or the candidate's when the
    /// experiment intends the difference.
    pub answered_by: String,
    pub fields: Vec<String>,
    pub intended: bool,
}

/// The distinct differing inputs of `records` (newest first), at most `per_group` for each kind
/// of difference ([`learned::differing_fields`]), candidate, and intended or not, newest first.
pub fn choose(records: &[ComparisonRecord], per_group: usize) -> Vec<Chosen> {
    let mut taken: BTreeMap<(String, bool, Vec<String>), usize> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut chosen = Vec::new();
    for record in records {
        let request = &record.request;
        // The record keeps 200 characters of the body: one that long may have been cut.
        if request.body.chars().count() >= 200 || request.line().contains("<redacted") {
            continue;
        }
        for candidate in &record.candidates {
            let intended = candidate.intended();
            if !(candidate.mismatched() || intended) {
                continue;
            }
            let Some(diff) = candidate.verdict.as_ref().and_then(|v| v.diff.as_deref()) else {
                continue;
            };
            let fields = learned::differing_fields(diff);
            let group = (candidate.id.clone(), intended, fields.clone());
            let count = taken.entry(group).or_default();
            if *count >= per_group || !seen.insert((candidate.id.clone(), request.line())) {
                continue;
            }
            *count += 1;
            let control = record.control.function.clone().unwrap_or_default();
            let own = candidate.function.clone().unwrap_or_default();
            chosen.push(Chosen {
                probe: Probe {
                    method: request.method.clone(),
                    path: request.path.clone(),
                    query: request.query.clone(),
                    body: (!request.body.is_empty()).then(|| request.body.clone()),
                },
                candidate: candidate.id.clone(),
                answered_by: if intended { own } else { control },
                fields,
                intended,
            });
        }
    }
    chosen
}

/// The case for `chosen`, from the answer its function gave.
pub fn case(
    experiment: &str,
    chosen: &Chosen,
    answer: &experiments::domain::compare::Observed,
) -> Learned {
    let what = if chosen.intended {
        "as the candidate intends"
    } else {
        "as the control answers"
    };
    Learned {
        name: format!(
            "learned from {experiment}: {} differed on {} ({}), answered {what}",
            chosen.candidate,
            chosen.probe.target(),
            chosen.fields.join(", ")
        ),
        method: chosen.probe.method.clone(),
        path: chosen.probe.path.clone(),
        query: chosen.probe.parameters().into_iter().collect(),
        body: chosen.probe.body.clone(),
        status: answer.status,
        content_type: answer
            .headers
            .get("content-type")
            .cloned()
            .unwrap_or_default(),
        answer: answer.body.clone(),
    }
}

/// The verb.
pub fn run(paths: &Paths, stack: &Stack, experiment_name: &str, options: &Options) -> Result<()> {
    let registry = registry::Registry::load(&paths.root)?;
    let experiment = crate::explore::experiment(paths, &registry, experiment_name)?;
    let control = &experiment.control.function;
    let family = registry
        .functions
        .iter()
        .find(|f| f.name == *control)
        .map(|f| f.family.clone())
        .with_context(|| format!("{control} is not in functions.toml"))?;
    let file = paths
        .root
        .join("functions/release-hook/cases")
        .join(format!("{family}.yaml"));
    let runtime = tokio::runtime::Runtime::new()?;
    let records = runtime.block_on(async {
        let store = stack.store().await?;
        anyhow::Ok(store.latest(experiment_name, 1_000).await?)
    })?;
    let chosen = choose(&records, options.per_group);
    let endpoints = stack.endpoints()?;
    let mut transport = HttpTransport::from_endpoints(&endpoints, Duration::from_secs(30));
    if let Some(urls) = shared::function_url::IamUrls::from_endpoints(&endpoints) {
        let signer = runtime.block_on(shared::function_url::Signer::from_variables(
            stack.vars(),
            &urls.region,
        ))?;
        transport = transport.signed(urls, signer);
    }
    let mut cases = Vec::new();
    for chosen in &chosen {
        let answer = runtime
            .block_on(transport.send(&chosen.answered_by, &chosen.probe))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if answer.status >= 500 {
            bail!(
                "{} answered {} to {}: not an answer to hold a release to",
                chosen.answered_by,
                answer.status,
                chosen.probe.target()
            );
        }
        cases.push(case(experiment_name, chosen, &answer));
    }
    let existing = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let written =
        learned::section(&existing, experiment_name, &cases).map_err(anyhow::Error::msg)?;
    // What the hook will compile must load.
    release_hook::domain::cases::parse(&family, &written)
        .with_context(|| format!("the learned cases would make {} invalid", file.display()))?;
    if options.dry_run {
        print!("{written}");
        return Ok(());
    }
    std::fs::write(&file, written)?;
    println!(
        "{} cases learned from {experiment_name} written to {} (from {} comparisons); the next build puts them in the release hook",
        cases.len(),
        file.display(),
        records.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use experiments::domain::compare::{Observed, Verdict};
    use experiments::domain::record::{RequestSummary, VariantResult};

    fn record(query: &str, diff: Option<&str>, intended: bool) -> ComparisonRecord {
        let variant = |id: &str, function: &str, verdict: Option<Verdict>| VariantResult {
            id: id.into(),
            name: id.into(),
            status: Some(200),
            duration_ms: 1.0,
            failure: None,
            failure_detail: None,
            verdict,
            version: None,
            function: Some(function.into()),
        };
        let verdict = Verdict {
            body: Some(diff.is_none()),
            diff: diff.map(str::to_owned),
            intended: intended.then(|| "on purpose".to_owned()),
            ..Verdict::default()
        };
        ComparisonRecord {
            answered_by: None,
            experiment: "round".into(),
            correlation_id: query.into(),
            at: "2026-12-05T10:00:00.000Z".into(),
            request: RequestSummary {
                method: "GET".into(),
                path: "/round".into(),
                query: query.into(),
                body: String::new(),
            },
            control: variant("control", "round-control", None),
            candidates: vec![variant(
                "half-even",
                "round-candidate-half-even",
                Some(verdict),
            )],
            noise: None,
        }
    }

    #[test]
    fn distinct_inputs_are_chosen_a_few_per_kind_of_difference() {
        let tie = "$.rounded: control 63, candidate 62";
        let records = [
            record("number=62.5", Some(tie), false),
            record("number=62.5", Some(tie), false),
            record("number=0.5", Some(tie), false),
            record("number=2.5", Some(tie), false),
            record("number=1.4", None, false),
            record(
                "number=7",
                Some("status: control 200, candidate 500"),
                false,
            ),
            record("number=9.5", Some(tie), true),
        ];
        let chosen = choose(&records, 2);
        let targets: Vec<String> = chosen.iter().map(|c| c.probe.target()).collect();
        // Two ties (the same input once), the status difference, and the intended one.
        assert_eq!(
            targets,
            [
                "/round?number=62.5",
                "/round?number=0.5",
                "/round?number=7",
                "/round?number=9.5"
            ]
        );
        assert_eq!(chosen[0].answered_by, "round-control");
        assert_eq!(chosen[3].answered_by, "round-candidate-half-even");
        let answer = Observed {
            status: 200,
            headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            body: r#"{"number":62.5,"rounded":63}"#.to_owned(),
        };
        let learned = case("round", &chosen[0], &answer);
        assert_eq!(
            learned.name,
            "learned from round: half-even differed on /round?number=62.5 ($.rounded), answered as the control answers"
        );
        let cases = release_hook::domain::cases::parse(
            "round",
            &learned::section("", "round", &[learned]).unwrap(),
        )
        .unwrap();
        assert_eq!(cases[0].request.path_and_query(), "/round?number=62.5");
    }
}
