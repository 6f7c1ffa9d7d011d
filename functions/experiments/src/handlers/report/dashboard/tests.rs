//! The dashboard's tests: what each part of the page shows, from reports built in memory.

use super::*;
use crate::domain::compare::Outcome;
use crate::domain::compare::Verdict;
use crate::domain::definition::Experiments;
use crate::domain::record::{ComparisonRecord, RequestSummary, VariantResult};
use crate::domain::report::Explored;

fn experiment() -> Experiment {
    let yaml = "experiments:\n  round:\n    comparators: [body]\n    path: /round\n    control: {name: c, function: round-control}\n    candidates:\n      half-even: {name: Half even, function: h}\n      \"fixed\": {name: Fixed, function: f}\n";
    Experiments::parse(yaml).unwrap().by_name["round"].clone()
}

fn result(id: &str, same: bool) -> VariantResult {
    VariantResult {
        id: id.to_owned(),
        name: id.to_owned(),
        status: Some(200),
        duration_ms: 10.0,
        failure: None,
        failure_detail: None,
        version: None,
        function: None,
        verdict: Some(Verdict {
            body: Some(same),
            diff: (!same).then(|| "$.rounded: control 63, candidate <62>".to_owned()),
            ..Verdict::default()
        }),
    }
}

#[test]
fn each_candidate_has_its_verdict_sentence_at_the_top_as_in_the_json() {
    let experiment = experiment();
    let records: Vec<ComparisonRecord> = (0..40)
        .map(|i| ComparisonRecord {
            answered_by: None,
            experiment: "round".into(),
            correlation_id: format!("c{i}"),
            at: format!("2026-11-30T10:00:{:02}.000Z", i % 60),
            request: RequestSummary {
                method: "GET".into(),
                path: "/round".into(),
                query: "number=62.5&x=<b>".into(),
                body: String::new(),
            },
            control: VariantResult {
                verdict: None,
                ..result("control", true)
            },
            candidates: vec![result("half-even", i % 4 != 0), result("fixed", true)],
            noise: None,
        })
        .collect();
    let report = crate::domain::report::report(&experiment, &records, &Default::default());
    let html = render(
        &experiment,
        &report,
        &Counts::default(),
        &View::default(),
        &[],
    )
    .into_string();
    let sentences = html.find(r#"<section id="verdicts">"#).unwrap();
    assert!(sentences < html.find(r#"<h2>Variants</h2>"#).unwrap());
    // Next to the sentences, why "differs" comes fast and "equivalent" slowly.
    let why = html
        .find(r#"id="why-asymmetric""#)
        .expect("the asymmetry explained");
    assert!(sentences < why && why < html.find("<h2>Verdict</h2>").unwrap());
    for v in &report.verdicts {
        let expected = format!(
            r#"data-verdict="{}" data-state="{}" data-promotable="false">{}</p>"#,
            v.candidate,
            state_name(v.correctness.state),
            html! { (v.sentence) }.into_string()
        );
        assert!(html.contains(&expected), "{expected}\n{html}");
    }
    assert!(
        html.contains("half-even differs from the control: 10 of 40 comparisons differ"),
        "{html}"
    );
    assert!(
        html.contains("fixed: collecting, 411 more clean comparisons needed"),
        "{html}"
    );
    // Inputs and differences are escaped.
    assert!(html.contains("number=62.5&amp;x=&lt;b&gt;"), "{html}");
    assert!(html.contains("candidate &lt;62&gt;"), "{html}");
    assert!(!html.contains("<b>"));
}

#[test]
fn the_page_says_how_many_requests_were_compared_and_links_to_the_older_comparisons() {
    let experiment = experiment();
    let report = crate::domain::report::report(&experiment, &[], &Default::default());
    let counts = Counts {
        served: 200,
        sampled: 200,
        compared: 190,
        skipped: 10,
        since: None,
        by_class: Default::default(),
    };
    let current = View {
        all: false,
        versions: [("control".to_owned(), Some("build-1".to_owned()))].into(),
        older: 7,
    };
    let cases = [
        (
            "since the current versions",
            current.clone(),
            vec![
                "All versions: compared 190 of 200 requests (10 skipped).",
                "at most, current versions only)",
                "Since the current versions (control build-1). 7 comparisons of earlier versions or of another arrangement (before a promotion or its undo) left out: ",
                r#"<a id="older-records" href="?all=1">"#,
            ],
        ),
        (
            "all comparisons",
            View {
                all: true,
                ..current
            },
            vec![
                "All versions: compared 190 of 200 requests (10 skipped).",
                r#"<a id="current-versions" href="dashboard">"#,
            ],
        ),
    ];
    for (case, view, expected) in cases {
        let html = render(&experiment, &report, &counts, &view, &[]).into_string();
        for text in expected {
            assert!(html.contains(text), "{case}: no {text:?} in the page");
        }
    }
}

#[test]
fn intended_differences_are_shown_apart_from_mismatches() {
    let yaml = "experiments:\n  fizzbuzz:\n    comparators: [body]\n    path: /fizzbuzz\n    control: {name: c, function: fizzbuzz-control}\n    candidates:\n      reference: {name: Reference, function: r}\n";
    let experiment = Experiments::parse(yaml).unwrap().by_name["fizzbuzz"].clone();
    let mut reference = result("reference", false);
    if let Some(v) = reference.verdict.as_mut() {
        v.diff = Some(r#"body: control "FizzBuzz", candidate "Fizz Buzz""#.to_owned());
        v.intended = Some(r#"the spec prints "Fizz Buzz""#.to_owned());
    }
    let records: Vec<ComparisonRecord> = (0..460)
        .map(|i| ComparisonRecord {
            answered_by: None,
            experiment: "fizzbuzz".into(),
            correlation_id: format!("c{i}"),
            at: format!("2026-11-30T10:00:{:02}.000Z", i % 60),
            request: RequestSummary {
                method: "GET".into(),
                path: "/fizzbuzz".into(),
                query: "from=1&to=15".into(),
                body: String::new(),
            },
            control: VariantResult {
                verdict: None,
                ..result("control", true)
            },
            candidates: vec![reference.clone()],
            noise: None,
        })
        .collect();
    let report = crate::domain::report::report(&experiment, &records, &Default::default());
    let html = render(
        &experiment,
        &report,
        &Counts::default(),
        &View::default(),
        &[],
    )
    .into_string();
    assert!(
        html.contains(
            "reference is equivalent: 0 unintended differences in 460 comparisons (460 intended)"
        ),
        "{html}"
    );
    assert!(html.contains(r#"<td class="intended">460</td><td class="mismatches">0</td>"#));
    assert!(html.contains(r#"<span class="intended">460</span> intended, not failures"#));
    assert!(html.contains(r#"<rect class="intended""#));
    assert!(!html.contains(r#"<rect class="mismatch""#));
    assert!(html.contains("No mismatches in this window."));
    let intended = &html[html.find(r#"<table id="intended-differences">"#).unwrap()..];
    assert!(
        intended.contains("intended: the spec prints &quot;Fizz Buzz&quot;"),
        "{intended}"
    );
    assert_eq!(
        intended.matches("<tr><td>").count(),
        crate::domain::report::LATEST_INTENDED
    );
}

#[test]
fn markup_in_stored_names_inputs_and_differences_is_escaped() {
    const HOSTILE: &str = "<script>alert(1)</script>";
    const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
    let yaml = format!(
        "experiments:\n  round:\n    comparators: [body]\n    path: /round\n    control: {{name: '{HOSTILE}', function: round-control}}\n    candidates:\n      half-even: {{name: '{HOSTILE}', function: h}}\n"
    );
    let experiment = Experiments::parse(&yaml).unwrap().by_name["round"].clone();
    let mut candidate = VariantResult {
        name: HOSTILE.to_owned(),
        ..result("half-even", false)
    };
    if let Some(v) = candidate.verdict.as_mut() {
        v.diff = Some(format!("$.rounded: control 63, candidate {HOSTILE}"));
    }
    let records: Vec<ComparisonRecord> = (0..3)
        .map(|i| ComparisonRecord {
            answered_by: None,
            experiment: "round".into(),
            correlation_id: format!("c{i}"),
            at: format!("2026-11-30T10:00:0{i}.000Z"),
            request: RequestSummary {
                method: "POST".into(),
                path: "/round".into(),
                query: format!("x={HOSTILE}"),
                body: HOSTILE.to_owned(),
            },
            control: VariantResult {
                verdict: None,
                ..result("control", true)
            },
            candidates: vec![candidate.clone()],
            noise: None,
        })
        .collect();
    let mut report = crate::domain::report::report(&experiment, &records, &Default::default());
    report.explorations = vec![Explored {
        candidate: "half-even".into(),
        at: "2026-12-01T03:00:00.000Z".into(),
        distribution: "generated".into(),
        seed: 1,
        cases: 3,
        input: Some(HOSTILE.into()),
        outcome: Some(Outcome::Mismatch),
        diff: Some(HOSTILE.into()),
    }];
    let html = render(
        &experiment,
        &report,
        &Counts::default(),
        &View::default(),
        &[],
    )
    .into_string();
    assert!(!html.contains("<script"), "{html}");
    for (what, expected) in [
        ("the control's name", format!("<strong>{ESCAPED}</strong>")),
        ("the candidate's name", format!("<td>{ESCAPED}</td>")),
        (
            "the mismatching input, once for its three mismatches",
            format!(
                "<td class=\"count\">3</td><td>half-even</td><td><code>POST /round?x={ESCAPED} {ESCAPED}</code></td>"
            ),
        ),
        ("the difference", format!("candidate {ESCAPED}</code>")),
        (
            "the explored input",
            format!("differs on <code>{ESCAPED}</code>"),
        ),
        (
            "the explored difference",
            format!("<code class=\"diff\">{ESCAPED}</code>"),
        ),
        (
            "the latest differing input",
            format!(
                "<td><code>POST /round?x={ESCAPED} {ESCAPED}</code></td><td><code class=\"diff\">"
            ),
        ),
    ] {
        assert!(
            html.contains(&expected),
            "{what}: {expected} not in\n{html}"
        );
    }
    assert_eq!(
        html.matches("<tr data-latest-differing=").count(),
        1,
        "the three comparisons of one input are one row of the latest differing inputs"
    );
}

#[test]
fn each_explored_candidate_shows_its_latest_exploration_and_the_others_nothing() {
    let experiment = experiment();
    let mut report = crate::domain::report::report(&experiment, &[], &Default::default());
    let empty = render(
        &experiment,
        &report,
        &Counts::default(),
        &View::default(),
        &[],
    )
    .into_string();
    assert!(empty.contains("Not explored yet: <code>./build.sh explore &lt;env&gt; round</code>"));
    report.explorations = vec![
        Explored {
            candidate: "fixed".into(),
            at: "2026-12-01T03:00:01.000Z".into(),
            distribution: "uniform".into(),
            seed: 7,
            cases: 256,
            input: None,
            outcome: None,
            diff: None,
        },
        Explored {
            candidate: "half-even".into(),
            at: "2026-12-01T03:00:00.000Z".into(),
            distribution: "generated".into(),
            seed: 1,
            cases: 3,
            input: Some("GET /round?number=0.5".into()),
            outcome: Some(Outcome::Mismatch),
            diff: Some("$.rounded: control 1, candidate 0".into()),
        },
    ];
    // Stored in the other order than the definition's.
    report
        .explorations
        .sort_by(|a, b| b.candidate.cmp(&a.candidate));
    let html = render(
        &experiment,
        &report,
        &Counts::default(),
        &View::default(),
        &[],
    )
    .into_string();
    let section = &html[html.find(r#"<table id="explorations">"#).unwrap()..];
    // In the definition's order, whatever the order stored.
    let rows: Vec<usize> = experiment
        .candidates
        .iter()
        .map(|c| {
            section
                .find(&format!(r#"<tr data-explored="{}">"#, c.id))
                .unwrap()
        })
        .collect();
    assert!(rows.is_sorted(), "{section}");
    assert!(
        section.contains(
            "<td class=\"count\">3</td><td>differs on <code>GET /round?number=0.5</code>\
             <code class=\"diff\">$.rounded: control 1, candidate 0</code></td>"
        ),
        "{section}"
    );
    assert!(
        section.contains("<td>uniform, seed <code>7</code></td>"),
        "{section}"
    );
    assert!(
        section.contains("<td>no difference in 256 cases</td>"),
        "{section}"
    );
    assert!(!section.contains("Not explored yet"), "{section}");
}

/// A report of the workshop's kinds of difference, each as the comparator writes it: the sort
/// exercise's header and body, a candidate's 500, FizzBuzz's text.
fn differences_report() -> (Experiment, crate::domain::report::Report) {
    use crate::domain::compare::{Observed, compare};
    use std::collections::BTreeMap;
    let yaml = "experiments:\n  e:\n    comparators: [body, statuscode, {headers: [content-type]}]\n    path: /e\n    control: {name: c, function: c}\n    candidates:\n      exercise: {name: Exercise, function: x}\n      fails: {name: Fails, function: f}\n      text: {name: Text, function: t}\n";
    let experiment = Experiments::parse(yaml).unwrap().by_name["e"].clone();
    let answer = |status, content_type: &str, body: &str| Observed {
        status,
        headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
        body: body.to_owned(),
    };
    let json = "application/json";
    let fizzbuzz = |fifteen: &str| {
        let lines: Vec<String> = (1..=30)
            .map(|n| match (n % 3, n % 5) {
                (0, 0) => fifteen.to_owned(),
                (0, _) => "Fizz".to_owned(),
                (_, 0) => "Buzz".to_owned(),
                _ => n.to_string(),
            })
            .collect();
        lines.join("\n")
    };
    let pairs = [
        (
            "exercise",
            answer(200, json, "[2,9,10]"),
            answer(200, "text/plain", "[10,2,9]"),
        ),
        (
            "fails",
            answer(200, json, r#"{"rounded":2}"#),
            answer(500, json, r#"{"error":"chaos"}"#),
        ),
        (
            "text",
            answer(200, "text/plain", &fizzbuzz("FizzBuzz")),
            answer(200, "text/plain", &fizzbuzz("Fizz Buzz")),
        ),
    ];
    let records: Vec<ComparisonRecord> = pairs
        .iter()
        .enumerate()
        .map(|(i, (id, control, candidate))| ComparisonRecord {
            answered_by: None,
            experiment: "e".into(),
            correlation_id: format!("c{i}"),
            at: format!("2026-11-30T10:00:0{i}.000Z"),
            request: RequestSummary {
                method: "GET".into(),
                path: "/e".into(),
                query: String::new(),
                body: String::new(),
            },
            control: VariantResult {
                verdict: None,
                ..result("control", true)
            },
            candidates: vec![VariantResult {
                verdict: Some(compare(&experiment, control, candidate)),
                ..result(id, false)
            }],
            noise: None,
        })
        .collect();
    let report = crate::domain::report::report(&experiment, &records, &Default::default());
    (experiment, report)
}

#[test]
fn differences_show_status_headers_and_text_lines_as_the_comparator_wrote_them() {
    let (experiment, report) = differences_report();
    let html = render(
        &experiment,
        &report,
        &Counts::default(),
        &View::default(),
        &[],
    )
    .into_string();
    let table = |id: &str| {
        let start = html.find(&format!(r#"<table id="{id}">"#)).unwrap();
        &html[start..start + html[start..].find("</table>").unwrap()]
    };
    // The whole difference, every line of it, in both tables: under the verdict, among the
    // latest differing inputs, and in "Mismatches by input".
    let (latest, mismatches) = (table("latest-differing"), table("mismatches"));
    for (what, expected) in [
        (
            "a header, named, with both values",
            "<code class=\"diff\">content-type: control &quot;application/json&quot;, \
                 candidate &quot;text/plain&quot;\n$[0]: control 2, candidate 10",
        ),
        (
            "a status before the body",
            "<code class=\"diff\">status: control 200, candidate 500\n\
                 $.error: control (absent), candidate &quot;chaos&quot;\n",
        ),
        (
            "a text's first differing line, its lines and caret kept",
            "<code class=\"diff\">body, line 15:\n\
                 \x20 line 14    &quot;14&quot;\n\
                 \x20 control    &quot;FizzBuzz&quot;\n\
                 \x20 candidate  &quot;Fizz Buzz&quot;\n\
                 \x20                 ^\n\
                 \x20 line 16    &quot;16&quot;\n\
                 … 1 more differing line</code>",
        ),
    ] {
        for table in [latest, mismatches] {
            assert!(
                table.contains(expected),
                "{what}: {expected}\nnot in\n{table}"
            );
        }
    }
}

#[test]
fn the_promotions_say_what_when_by_whom_how_and_why_newest_first() {
    use crate::domain::promotion::Promotion;
    let experiment = experiment();
    let report = crate::domain::report::report(&experiment, &[], &Default::default());
    let page = |history: &[Event]| {
        render(
            &experiment,
            &report,
            &Counts::default(),
            &View::default(),
            history,
        )
        .into_string()
    };
    assert!(page(&[]).contains("Never promoted"));
    let history = [
        Event::Promoted(Promotion {
            candidate: "half-even".into(),
            by: "arn:aws:sts::123456789012:assumed-role/dev/alice".into(),
            at: "2026-12-05T09:00:00.000Z".into(),
            forced: true,
            reason: Some("banker's rounding is the spec now".into()),
            verdict: "half-even differs from the control".into(),
            evidence: serde_json::Value::Null,
        }),
        Event::Undone {
            candidate: "half-even".into(),
            by: "bob".into(),
            at: "2026-12-05T10:00:00.000Z".into(),
        },
    ];
    let html = page(&history);
    let undone = html
        .find("data-action=\"undone\"")
        .expect("the undo is listed");
    let promoted = html
        .find("data-action=\"promoted\"")
        .expect("the promotion is listed");
    assert!(undone < promoted, "newest first");
    for expected in [
        "arn:aws:sts::123456789012:assumed-role/dev/alice",
        "2026-12-05T09:00:00.000Z",
        "forced",
        "Reason: banker's rounding is the spec now",
        "Verdict then: half-even differs from the control",
        "undid the promotion of <strong>half-even</strong>",
        "bob",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
}

#[test]
fn a_collecting_candidate_shows_its_progress_and_the_time_left_at_the_recent_pace() {
    let experiment = experiment();
    // 40 clean comparisons a second apart, newest first: 3,600 an hour.
    let records: Vec<ComparisonRecord> = (0..40)
        .rev()
        .map(|i| ComparisonRecord {
            answered_by: None,
            experiment: "round".into(),
            correlation_id: format!("c{i}"),
            at: format!("2026-11-30T10:00:{i:02}.000Z"),
            request: RequestSummary {
                method: "GET".into(),
                path: "/round".into(),
                query: "number=1".into(),
                body: String::new(),
            },
            control: VariantResult {
                verdict: None,
                ..result("control", true)
            },
            candidates: vec![result("half-even", true), result("fixed", true)],
            noise: None,
        })
        .collect();
    let report = crate::domain::report::report(&experiment, &records, &Default::default());
    let fixed = &report.verdicts[1].correctness;
    let more = fixed.more_needed.expect("collecting");
    // At 3,600 an hour, one a second.
    assert!((fixed.eta_seconds.unwrap() - more as f64).abs() < 1e-6);
    let html = render(
        &experiment,
        &report,
        &Counts::default(),
        &View::default(),
        &[],
    )
    .into_string();
    for expected in [
        format!(r#"<progress value="40" max="{}"></progress>"#, 40 + more),
        format!(
            "about {} at the recent pace",
            crate::domain::pace::words(more as f64)
        ),
        "Pace: about 3600 comparisons an hour lately (the latest 40)".to_owned(),
    ] {
        assert!(html.contains(&expected), "{expected} not in {html}");
    }
}

#[test]
fn a_long_variant_id_keeps_its_end_in_the_charts_and_its_whole_in_the_title() {
    assert_eq!(charts::label("fixed"), "fixed");
    assert_eq!(
        charts::label("control-before-rt2-attendee"),
        "…l-before-rt2-attendee"
    );
    assert_eq!(
        charts::label("control-before-rt2-attendee").chars().count(),
        22
    );
}
