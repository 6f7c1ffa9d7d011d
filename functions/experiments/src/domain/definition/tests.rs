//! The definitions' tests: what loads, what is refused and how the error names the field.

use super::*;

const SLIDE_36: &str = r#"
experiments:
  rounding-float:
    comparators:
      - body
      - statuscode
      - headers:
          - Content-Type
    path: /round
    control:
      name: Round Node8.10
      arn: arn:aws:lambda:eu-west-1:123456789012:function:control-round
    candidates:
      candidate-1:
        name: Round Python3-math
        arn: arn:aws:lambda:eu-west-1:123456789012:function:candidate-round-python3-math
"#;

#[test]
fn the_slide_format_loads_with_defaults() {
    let experiments = Experiments::parse(SLIDE_36).unwrap();
    let e = &experiments.by_name["rounding-float"];
    assert_eq!(e.path, "/round");
    assert_eq!(
        e.comparators,
        Comparators {
            status: true,
            body: true,
            headers: vec!["content-type".into()]
        }
    );
    assert_eq!(e.candidates[0].id, "candidate-1");
    assert_eq!(e.sample_percent, 100.0);
    assert_eq!(e.timeout, DEFAULT_TIMEOUT);
    assert!(!e.noise_baseline);
    assert_eq!(e.promotion, Promotion::default());
    assert_eq!(
        experiments.for_path("/round/").unwrap().name,
        "rounding-float"
    );
    assert!(experiments.for_path("/sort").is_none());
}

#[test]
fn promotion_thresholds_load_and_default_one_by_one() {
    let yaml = format!("{SLIDE_36}    promotion: {{maxMismatchRate: 0.05, minComparisons: 50}}\n");
    let e = &Experiments::parse(&yaml).unwrap().by_name["rounding-float"];
    assert_eq!(
        e.promotion,
        Promotion {
            max_mismatch_rate: 0.05,
            min_comparisons: 50,
            max_duration_ratio: Promotion::default().max_duration_ratio,
        }
    );
}

#[test]
fn promotion_thresholds_out_of_range_are_refused_by_name() {
    for (promotion, field, reason) in [
        ("{maxMismatchRate: 0}", "maxMismatchRate", "0.0099"),
        (
            "{maxMismatchRate: 0.005}",
            "maxMismatchRate",
            "report's window",
        ),
        ("{maxMismatchRate: 1.0}", "maxMismatchRate", "below 1"),
        ("{maxMismatchRate: .nan}", "maxMismatchRate", "share"),
        ("{minComparisons: 0}", "minComparisons", "from 1 to 1000"),
        ("{minComparisons: 5000}", "minComparisons", "from 1 to 1000"),
        ("{maxDurationRatio: 0.9}", "maxDurationRatio", "from 1"),
        ("{maxDurationRatio: .inf}", "maxDurationRatio", "to 100"),
        ("{maxMismatch: 0.1}", "maxMismatch", "unknown field"),
    ] {
        let yaml = format!("{SLIDE_36}    promotion: {promotion}\n");
        let error = Experiments::parse(&yaml).unwrap_err().to_string();
        assert!(
            error.contains(field) && error.contains(reason),
            "{promotion}: {error}"
        );
    }
    let yaml = format!("{SLIDE_36}    promotion: {{maxMismatchRate: 0}}\n");
    let error = Experiments::parse(&yaml).unwrap_err().to_string();
    assert!(
        error.starts_with("experiments.rounding-float.promotion.maxMismatchRate: "),
        "{error}"
    );
}

#[test]
fn the_definitions_in_the_repository_parse() {
    let sources: Vec<(String, String)> = ["workshop", "resilience"]
        .into_iter()
        .map(|name| {
            let path = format!("{}/definitions/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
            (name.to_owned(), std::fs::read_to_string(path).unwrap())
        })
        .collect();
    let experiments = Experiments::merge(&sources).unwrap();
    assert!(experiments.by_name.contains_key("round"), "{experiments:?}");
}

/// SLIDE_36 with `intended` lists on the experiment and on its candidate.
fn with_intended(experiment: &str, candidate: &str) -> String {
    let candidate = SLIDE_36.replace(
        "function:candidate-round-python3-math\n",
        &format!("function:candidate-round-python3-math\n{candidate}"),
    );
    format!("{candidate}{experiment}")
}

#[test]
fn intended_differences_load_for_the_experiment_then_each_candidate() {
    let yaml = with_intended(
        "    intended:\n      - description: every candidate says ties to even\n        replace: {in: $.rule, from: half up, to: ties to even}\n",
        "        intended:\n          - description: the spec prints \"Fizz Buzz\"\n            replace: {in: body, from: FizzBuzz, to: Fizz Buzz}\n",
    );
    let e = &Experiments::parse(&yaml).unwrap().by_name["rounding-float"];
    let loaded: Vec<(Option<&str>, &str, &Within, &str, &str)> = e
        .intended_for("candidate-1")
        .map(|i| {
            (
                i.candidate.as_deref(),
                i.description.as_str(),
                &i.rewrite.within,
                i.rewrite.from.as_str(),
                i.rewrite.to.as_str(),
            )
        })
        .collect();
    assert_eq!(
        loaded,
        [
            (
                None,
                "every candidate says ties to even",
                &Within::Json(JsonPath::parse("$.rule").unwrap()),
                "half up",
                "ties to even"
            ),
            (
                Some("candidate-1"),
                "the spec prints \"Fizz Buzz\"",
                &Within::Body,
                "FizzBuzz",
                "Fizz Buzz"
            ),
        ]
    );
    assert_eq!(e.intended_for("another").count(), 1);
    assert!(
        Experiments::parse(SLIDE_36).unwrap().by_name["rounding-float"]
            .intended
            .is_empty()
    );
}

#[test]
fn intended_differences_travel_in_comparison_jobs_and_old_jobs_still_load() {
    let yaml = with_intended(
        "    intended: [{description: d, replace: {in: $.rule, from: a, to: b}}]\n",
        "        intended: [{description: e, replace: {in: body, from: c, to: d}}]\n",
    );
    let e = Experiments::parse(&yaml).unwrap().by_name["rounding-float"].clone();
    let mut job = serde_json::to_value(&e).unwrap();
    assert_eq!(
        serde_json::from_value::<Experiment>(job.clone()).unwrap(),
        e
    );
    job.as_object_mut().unwrap().remove("intended");
    let old: Experiment = serde_json::from_value(job).unwrap();
    assert!(old.intended.is_empty());
}

#[test]
fn bad_intended_differences_are_refused_by_field() {
    let candidate = "experiments.rounding-float.candidates.candidate-1.intended";
    for (replace, field, reason) in [
        (
            "{in: headers, from: a, to: b}",
            format!("{candidate}[0].replace.in"),
            "neither body nor a JSON path",
        ),
        (
            "{in: body, from: \"\", to: b}",
            format!("{candidate}[0].replace.from"),
            "must not be empty",
        ),
        (
            "{in: body, from: a, to: a}",
            format!("{candidate}[0].replace.to"),
            "change nothing",
        ),
        (
            "{in: body, from: a}",
            format!("{candidate}[0].replace"),
            "missing field `to`",
        ),
        (
            "{in: body, from: a, to: b, regex: true}",
            format!("{candidate}[0].replace"),
            "unknown field `regex`",
        ),
    ] {
        let yaml = with_intended(
            "",
            &format!(
                "        intended:\n          - description: d\n            replace: {replace}\n"
            ),
        );
        let error = Experiments::parse(&yaml).unwrap_err().to_string();
        assert!(
            error.contains(&field) && error.contains(reason),
            "{replace}: {error}"
        );
    }
    let blank = with_intended(
        "    intended: [{description: \" \", replace: {in: body, from: a, to: b}}]\n",
        "",
    );
    assert!(
        Experiments::parse(&blank)
            .unwrap_err()
            .to_string()
            .starts_with("experiments.rounding-float.intended[0].description: "),
    );
    let on_the_control = SLIDE_36.replace(
            "function:control-round\n",
            "function:control-round\n      intended: [{description: d, replace: {in: body, from: a, to: b}}]\n",
        );
    assert!(
        Experiments::parse(&on_the_control)
            .unwrap_err()
            .to_string()
            .starts_with("experiments.rounding-float.control.intended: "),
    );
    let many = format!(
        "    intended:\n{}",
        "      - {description: d, replace: {in: body, from: a, to: b}}\n".repeat(MAX_INTENDED + 1)
    );
    let error = Experiments::parse(&with_intended(&many, ""))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("experiments.rounding-float.intended: at most 20"),
        "{error}"
    );
}

#[test]
fn the_workshop_declares_exactly_the_fizzbuzz_controls_bug_as_intended() {
    use crate::domain::compare::{self, Observed, Outcome};
    use fizzbuzz::domain::{self, Range};
    let workshop = Experiments::parse(include_str!("../../../definitions/workshop.yaml")).unwrap();
    let e = &workshop.by_name["fizzbuzz"];
    let answer = |body: String| Observed {
        status: 200,
        headers: BTreeMap::new(),
        body,
    };
    let big = i64::MAX - 300;
    let ranges = (1..=100)
        .flat_map(|from| (from - 1..=100).map(move |to| (from, to)))
        .chain([(1, 100_000), (big, big + 150), (big + 200, i64::MAX)]);
    let mut outcomes = BTreeMap::new();
    for (from, to) in ranges {
        let range = Range::parse(Some(&from.to_string()), Some(&to.to_string())).unwrap();
        let control = domain::render(range, domain::control_line);
        let reference = domain::render(range, domain::reference_line);
        let rewritten = e
            .intended_for("reference")
            .fold(control.clone(), |body, i| {
                compare::rewrite(&i.rewrite, &body).unwrap_or(body)
            });
        assert_eq!(rewritten, reference, "from={from} to={to}");
        let verdict =
            compare::compare_candidate(e, "reference", &answer(control), &answer(reference));
        let expected = if (from..=to).any(|n| n % 15 == 0) {
            Outcome::Intended
        } else {
            Outcome::Match
        };
        assert_eq!(verdict.outcome(), expected, "from={from} to={to}");
        *outcomes.entry(format!("{expected:?}")).or_insert(0) += 1;
    }
    // Both kinds occurred: the check above was not vacuous.
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    // The other candidates of the workshop declare nothing.
    assert!(workshop.by_name.values().all(|e| {
        e.intended
            .iter()
            .all(|i| i.candidate.as_deref() == Some("reference"))
    }));
}

#[test]
fn a_redacted_path_covers_what_is_inside_it_and_nothing_else() {
    let path = JsonPath::parse("$.key").unwrap();
    for (at, covered) in [
        ("$.key", true),
        ("$.key.inner", true),
        ("$.key[3]", true),
        ("$.keyLength", false),
        ("$.other", false),
        ("$", false),
    ] {
        assert_eq!(path.covers(at), covered, "{at}");
    }
}

#[test]
fn redact_replaces_values_where_they_are_and_ignores_absent_paths() {
    let mut body = serde_json::json!({"password": "hunter2", "list": [{"salt": "s"}], "n": 1});
    let hidden = serde_json::json!("<redacted>");
    for path in [
        "$.password",
        "$.list[0].salt",
        "$.missing.deeper",
        "$.list[5]",
    ] {
        JsonPath::parse(path)
            .unwrap()
            .replace_in(&mut body, &hidden);
    }
    assert_eq!(
        body,
        serde_json::json!({"password": "<redacted>", "list": [{"salt": "<redacted>"}], "n": 1})
    );
}

#[test]
fn errors_name_the_field() {
    let cases = [
        ("    sample: 101\n", "experiments.rounding-float.sample"),
        ("    timeoutMs: 0\n", "experiments.rounding-float.timeoutMs"),
        (
            "    ignore: [\"body.x\"]\n",
            "experiments.rounding-float.ignore",
        ),
        (
            "    redact: [\"password\"]\n",
            "experiments.rounding-float.redact",
        ),
        ("    colour: blue\n", "colour"),
    ];
    for (extra, field) in cases {
        let yaml = format!("{SLIDE_36}{extra}");
        let error = Experiments::parse(&yaml).unwrap_err().to_string();
        assert!(error.contains(field), "{extra:?}: {error}");
    }
    let no_function = SLIDE_36.replace(
        "      arn: arn:aws:lambda:eu-west-1:123456789012:function:control-round\n",
        "",
    );
    let error = Experiments::parse(&no_function).unwrap_err().to_string();
    assert!(
        error.contains("experiments.rounding-float.control"),
        "{error}"
    );
    let bad_comparator = SLIDE_36.replace("      - body\n", "      - bodies\n");
    let error = Experiments::parse(&bad_comparator).unwrap_err().to_string();
    assert!(
        error.contains("comparators") && error.contains("bodies"),
        "{error}"
    );
}

#[test]
fn json_paths_parse_and_remove() {
    let path = JsonPath::parse("$.a.list[1].b").unwrap();
    assert_eq!(path.segments.len(), 4);
    let mut value = serde_json::json!({"a": {"list": [{"b": 1}, {"b": 2, "c": 3}]}});
    path.remove_from(&mut value);
    assert_eq!(
        value,
        serde_json::json!({"a": {"list": [{"b": 1}, {"c": 3}]}})
    );
    JsonPath::parse("$.missing.x")
        .unwrap()
        .remove_from(&mut value);
    for bad in ["", "$", "a.b", "$..a", "$.a[x]", "$.a["] {
        assert!(JsonPath::parse(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn files_merge_unless_they_share_names_or_paths() {
    let other = SLIDE_36
        .replace("rounding-float", "other")
        .replace("/round", "/other");
    let merged = Experiments::merge(&[("a".into(), SLIDE_36.into()), ("b".into(), other)]).unwrap();
    assert_eq!(merged.by_name.len(), 2);
    let error = Experiments::merge(&[("a".into(), SLIDE_36.into()), ("b".into(), SLIDE_36.into())])
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("b: experiments.rounding-float"),
        "{error}"
    );
    let same_path = SLIDE_36.replace("rounding-float", "other");
    let error = Experiments::merge(&[("a".into(), SLIDE_36.into()), ("b".into(), same_path)])
        .unwrap_err()
        .to_string();
    assert!(error.contains("b: experiments.other.path"), "{error}");
}

#[test]
fn two_experiments_cannot_share_a_path() {
    let yaml = format!(
        "{SLIDE_36}  again:\n    comparators: [body]\n    path: /round\n    control: {{name: c, function: f}}\n    candidates:\n      x: {{name: x, function: g}}\n"
    );
    let error = Experiments::parse(&yaml).unwrap_err().to_string();
    // Names load in order: "again" first, so the second owner of /round is the one named.
    assert!(
        error.starts_with(
            "experiments.rounding-float.path: /round is already the path of experiment again"
        ),
        "{error}"
    );
}
