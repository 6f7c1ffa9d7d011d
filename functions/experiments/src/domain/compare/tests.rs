//! The comparator's tests: verdicts, diffs for people, rewrites, noise and redaction.

use super::text_diff::{BEFORE, LINE_CHARS, first_differing_char};
use super::*;
use crate::domain::definition::Experiments;

fn experiment(extra: &str) -> Experiment {
    let yaml = format!(
        "experiments:\n  e:\n    comparators: [body, statuscode, {{headers: [content-type]}}]\n    path: /e\n    control: {{name: c, function: c}}\n    candidates:\n      x: {{name: x, function: x}}\n{extra}"
    );
    Experiments::parse(&yaml).unwrap().by_name["e"].clone()
}

fn answer(status: u16, content_type: &str, body: &str) -> Observed {
    Observed {
        status,
        headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
        body: body.to_owned(),
    }
}

#[test]
fn equal_answers_match_and_json_is_compared_as_json() {
    let e = experiment("");
    let control = answer(200, "application/json", r#"{"a": 1, "b": [1, 2]}"#);
    let same = answer(200, "application/json", r#"{"b":[1,2],"a":1.0}"#);
    assert!(compare(&e, &control, &same).matches());
}

#[test]
fn integers_an_f64_cannot_tell_apart_differ_and_a_float_equals_its_integer() {
    let e = experiment("");
    let control = answer(
        200,
        "application/json",
        "[9007199254740992, 9007199254740993]",
    );
    let through_f64 = answer(
        200,
        "application/json",
        "[9007199254740993, 9007199254740992]",
    );
    let verdict = compare(&e, &control, &through_f64);
    assert!(!verdict.matches());
    let as_float = answer(
        200,
        "application/json",
        "[9007199254740992.0, 9007199254740993]",
    );
    assert!(
        compare(&e, &control, &as_float).matches(),
        "2^53 and 2^53 as a float"
    );
    let negative = answer(200, "application/json", "[-3, 63]");
    assert!(
        compare(
            &e,
            &negative,
            &answer(200, "application/json", "[-3.0, 63.0]")
        )
        .matches()
    );
    assert!(!compare(&e, &negative, &answer(200, "application/json", "[-3, 64]")).matches());
}

fn with_header(mut observed: Observed, name: &str, value: &str) -> Observed {
    observed.headers.insert(name.to_owned(), value.to_owned());
    observed
}

#[test]
fn a_diff_names_the_status_then_each_header_with_both_values_then_the_body() {
    let e = experiment("");
    let json = |status, body| answer(status, "application/json", body);
    let control = json(200, r#"{"rounded":2}"#);
    let cases = [
        (
            "the body alone",
            json(200, r#"{"rounded":3}"#),
            "$.rounded: control 2, candidate 3",
        ),
        (
            "the status alone",
            json(500, r#"{"rounded":2}"#),
            "status: control 200, candidate 500",
        ),
        (
            "a header alone",
            answer(200, "text/plain", r#"{"rounded":2}"#),
            r#"content-type: control "application/json", candidate "text/plain""#,
        ),
        (
            "a header the candidate leaves out",
            Observed {
                headers: BTreeMap::new(),
                ..json(200, r#"{"rounded":2}"#)
            },
            r#"content-type: control "application/json", candidate (absent)"#,
        ),
        (
            "a 500 whose body says why (the chaos candidate)",
            json(500, r#"{"error":"chaos"}"#),
            "status: control 200, candidate 500\n\
                 $.error: control (absent), candidate \"chaos\"\n\
                 $.rounded: control 2, candidate (absent)",
        ),
        (
            "all three, in reading order",
            answer(404, "text/plain", r#"{"rounded":1}"#),
            "status: control 200, candidate 404\n\
                 content-type: control \"application/json\", candidate \"text/plain\"\n\
                 $.rounded: control 2, candidate 1",
        ),
    ];
    for (case, candidate, expected) in cases {
        let v = compare(&e, &control, &candidate);
        assert!(!v.matches(), "{case}");
        assert_eq!(v.diff.as_deref(), Some(expected), "{case}");
    }
}

#[test]
fn headers_that_are_not_compared_are_not_named() {
    let e = experiment("");
    let control = answer(200, "application/json", "{}");
    let candidate = with_header(control.clone(), "x-request-id", "other");
    let v = compare(&e, &control, &candidate);
    assert_eq!((v.matches(), v.diff), (true, None));
}

#[test]
fn json_diffs_list_the_first_three_paths_and_count_the_others() {
    let e = experiment("");
    let json = |body: &str| answer(200, "application/json", body);
    let sorted: Vec<u32> = (1..=100).collect();
    let as_strings = {
        let mut v = sorted.clone();
        v.sort_by_key(|n| n.to_string());
        v
    };
    let cases = [
        (
            "the sort exercise's answer",
            "[2,9,10]".to_owned(),
            "[10,2,9]".to_owned(),
            "$[0]: control 2, candidate 10\n$[1]: control 9, candidate 2\n$[2]: control 10, candidate 9",
        ),
        (
            "four differences",
            r#"{"a":1,"b":1,"c":1,"d":1}"#.to_owned(),
            r#"{"a":2,"b":2,"c":2,"d":2}"#.to_owned(),
            "$.a: control 1, candidate 2\n$.b: control 1, candidate 2\n$.c: control 1, candidate 2\n… 1 more difference",
        ),
        (
            "a hundred numbers sorted as strings",
            serde_json::to_string(&sorted).unwrap(),
            serde_json::to_string(&as_strings).unwrap(),
            "$[1]: control 2, candidate 10\n$[2]: control 3, candidate 100\n$[3]: control 4, candidate 11\n… 86 more differences",
        ),
        (
            "arrays of different lengths",
            "[1,2]".to_owned(),
            "[1,2,3]".to_owned(),
            "$: control [1,2], candidate [1,2,3]",
        ),
    ];
    for (case, control, candidate, expected) in cases {
        let v = compare(&e, &json(&control), &json(&candidate));
        assert_eq!(v.diff.as_deref(), Some(expected), "{case}");
    }
}

/// FizzBuzz from 1 to 100 as the control prints it and as the spec does.
fn fizzbuzz_1_to_100() -> (String, String) {
    use fizzbuzz::domain::{self, Range};
    let range = Range::parse(Some("1"), Some("100")).unwrap();
    (
        domain::render(range, domain::control_line),
        domain::render(range, domain::reference_line),
    )
}

#[test]
fn text_diffs_show_the_first_differing_line_between_its_neighbours_with_a_caret() {
    let (fizzbuzz_control, fizzbuzz_reference) = fizzbuzz_1_to_100();
    let cases = [
        (
            "FizzBuzz from 1 to 100",
            fizzbuzz_control.as_str(),
            fizzbuzz_reference.as_str(),
            "body, line 15:\n\
                 \x20 line 14    \"14\"\n\
                 \x20 control    \"FizzBuzz\"\n\
                 \x20 candidate  \"Fizz Buzz\"\n\
                 \x20                 ^\n\
                 \x20 line 16    \"16\"\n\
                 … 5 more differing lines",
        ),
        (
            "one line each",
            "FizzBuzz",
            "Fizz Buzz",
            "body:\n\
                 \x20 control    \"FizzBuzz\"\n\
                 \x20 candidate  \"Fizz Buzz\"\n\
                 \x20                 ^",
        ),
        (
            "the first line, the next one differing too",
            "a\nb\nc",
            "x\ny\nc",
            "body, line 1:\n\
                 \x20 control    \"a\"\n\
                 \x20 candidate  \"x\"\n\
                 \x20             ^\n\
                 … 1 more differing line",
        ),
        (
            "a line the candidate leaves out",
            "1\n2\n3",
            "1\n2",
            "body, line 3 (control 3 lines, candidate 2):\n\
                 \x20 line 2     \"2\"\n\
                 \x20 control    \"3\"\n\
                 \x20 candidate  (no line 3)",
        ),
        (
            "a trailing newline, and carriage returns, made visible",
            "a\r\nb",
            "a\nb\n",
            "body, line 1 (control 2 lines, candidate 3):\n\
                 \x20 control    \"a\\r\"\n\
                 \x20 candidate  \"a\"\n\
                 \x20              ^\n\
                 \x20 line 2     \"b\"\n\
                 … 1 more differing line",
        ),
        (
            "quotes and tabs before the difference move the caret with their escapes",
            "\"é\"\tA",
            "\"é\"\tB",
            "body:\n\
                 \x20 control    \"\\\"é\\\"\\tA\"\n\
                 \x20 candidate  \"\\\"é\\\"\\tB\"\n\
                 \x20                    ^",
        ),
    ];
    let e = experiment("");
    for (case, control, candidate, expected) in cases {
        let v = compare(&e, &text(200, control), &text(200, candidate));
        assert_eq!(v.body, Some(false), "{case}");
        let diff = v.diff.unwrap_or_default();
        assert_eq!(diff, expected, "{case}:\n{diff}\n---\n{expected}");
    }
}

#[test]
fn a_long_line_is_cut_around_its_first_difference_with_the_caret_under_it() {
    let before = "x".repeat(300);
    let control = format!("{before}A{before}");
    let candidate = format!("{before}B{before}");
    let diff = text_difference(&control, &candidate).unwrap();
    let lines: Vec<&str> = diff.lines().collect();
    let window = format!(
        "\"{}A{}\"",
        "x".repeat(BEFORE),
        "x".repeat(LINE_CHARS - BEFORE - 1)
    );
    assert_eq!(lines[1], format!("  control    …{window}…"), "{diff}");
    let caret = lines[3].find('^').unwrap();
    assert_eq!(lines[1].chars().nth(caret), Some('A'), "{diff}");
    assert_eq!(lines[2].chars().nth(caret), Some('B'), "{diff}");
}

#[test]
fn diffs_stay_small_whatever_the_answers() {
    let e = experiment("");
    let huge = "é".repeat(1_000_000);
    let escapes = "\u{1}".repeat(100_000);
    let numbers = |offset: u64| {
        let v: Vec<u64> = (0..100_000).map(|n| n + offset).collect();
        serde_json::to_string(&v).unwrap()
    };
    let key = |v: u32| {
        format!(
            r#"{{"{}":{{"{}":{v}}}}}"#,
            "k".repeat(50_000),
            "j".repeat(50_000)
        )
    };
    let cases = [
        ("one huge line", format!("{huge}a"), format!("{huge}b")),
        (
            "huge lines around",
            format!("{huge}\na\n{huge}"),
            format!("{huge}\nb\n{huge}"),
        ),
        (
            "control characters",
            format!("{escapes}a{escapes}"),
            format!("{escapes}b{escapes}"),
        ),
        (
            "many lines, all different",
            "a\n".repeat(100_000),
            "b\n".repeat(100_000),
        ),
        ("a huge JSON array", numbers(0), numbers(1)),
        ("huge JSON keys", key(1), key(2)),
    ];
    for (case, control, candidate) in cases {
        let long = |body: &str| Observed {
            headers: BTreeMap::from([("content-type".to_owned(), huge.clone())]),
            ..text(500, body)
        };
        let v = compare(&e, &text(200, &control), &long(&candidate));
        let diff = v.diff.unwrap_or_default();
        assert!(diff.len() < 8_000, "{case}: {} bytes\n{diff}", diff.len());
        assert!(diff.starts_with("status: "), "{case}");
    }
}

#[test]
fn net_of_noise_the_diff_keeps_the_parts_that_still_count() {
    let e = experiment("");
    let control = answer(200, "application/json", r#"{"at":1}"#);
    let candidate = answer(500, "text/plain", r#"{"at":3}"#);
    let verdict = compare(&e, &control, &candidate);
    let status = "status: control 200, candidate 500";
    let header = r#"content-type: control "application/json", candidate "text/plain""#;
    let body = "$.at: control 1, candidate 3";
    let cases = [
        ("no noise", control.clone(), vec![status, header, body]),
        (
            "a body that changes",
            answer(200, "application/json", r#"{"at":2}"#),
            vec![status, header],
        ),
        (
            "a status that changes",
            answer(503, "application/json", r#"{"at":1}"#),
            vec![header, body],
        ),
        (
            "a header that changes",
            answer(200, "text/html", r#"{"at":1}"#),
            vec![status, body],
        ),
        ("everything changes", answer(503, "text/html", "{}"), vec![]),
    ];
    for (case, again, expected) in cases {
        let net = verdict.net_of(&compare(&e, &control, &again));
        let expected = (!expected.is_empty()).then(|| expected.join("\n"));
        assert_eq!(net.diff, expected, "{case}");
        assert_eq!(net.matches(), net.diff.is_none(), "{case}");
    }
}

#[test]
fn ignored_paths_are_left_out() {
    let e = experiment("    ignore: [$.elapsed]\n");
    let control = answer(200, "application/json", r#"{"key": "ab", "elapsed": 3}"#);
    let candidate = answer(200, "application/json", r#"{"key": "ab", "elapsed": 9}"#);
    assert!(compare(&e, &control, &candidate).matches());
}

#[test]
fn noise_is_discounted() {
    let e = experiment("");
    let control = answer(200, "application/json", r#"{"at": 1}"#);
    let control_again = answer(200, "application/json", r#"{"at": 2}"#);
    let candidate = answer(200, "application/json", r#"{"at": 3}"#);
    let noise = compare(&e, &control, &control_again);
    let verdict = compare(&e, &control, &candidate);
    assert!(!verdict.matches());
    assert!(verdict.net_of(&noise).matches());
    // Noise in the body does not hide a status mismatch.
    let failing = answer(500, "application/json", r#"{"at": 3}"#);
    assert!(!compare(&e, &control, &failing).net_of(&noise).matches());
}

const FIZZ_BUZZ: &str = "    intended:\n      - description: the spec prints \"Fizz Buzz\"\n        replace: {in: body, from: FizzBuzz, to: Fizz Buzz}\n";

fn text(status: u16, body: &str) -> Observed {
    answer(status, "text/plain", body)
}

#[test]
fn a_rewrite_that_makes_the_answers_equal_makes_the_difference_intended() {
    let e = experiment(FIZZ_BUZZ);
    let v = compare_candidate(
        &e,
        "x",
        &text(200, "14\nFizzBuzz"),
        &text(200, "14\nFizz Buzz"),
    );
    assert_eq!(v.outcome(), Outcome::Intended);
    assert!(!v.matches(), "as they are, the answers differ");
    assert_eq!(v.intended.as_deref(), Some("the spec prints \"Fizz Buzz\""));
    assert!(
        v.diff.unwrap().contains("FizzBuzz"),
        "the difference stays visible"
    );
}

#[test]
fn a_rewrite_that_does_not_make_the_answers_equal_leaves_a_mismatch() {
    let e = experiment(FIZZ_BUZZ);
    for candidate in ["14\nFizz Buzz\n16", "14\nFizz-Buzz", "13\nFizz Buzz"] {
        let v = compare_candidate(&e, "x", &text(200, "14\nFizzBuzz"), &text(200, candidate));
        assert_eq!(
            (v.outcome(), v.intended),
            (Outcome::Mismatch, None),
            "{candidate:?}"
        );
    }
    // The rewrite applies to the control's answer only: a candidate printing "FizzBuzz" where
    // the control prints "Fizz Buzz" is not what was declared.
    let v = compare_candidate(&e, "x", &text(200, "Fizz Buzz"), &text(200, "FizzBuzz"));
    assert_eq!(v.outcome(), Outcome::Mismatch);
}

#[test]
fn without_a_rewrite_a_difference_is_a_mismatch_as_before() {
    let e = experiment("");
    let v = compare_candidate(&e, "x", &text(200, "FizzBuzz"), &text(200, "Fizz Buzz"));
    assert_eq!(
        v,
        compare(&e, &text(200, "FizzBuzz"), &text(200, "Fizz Buzz"))
    );
    assert_eq!(v.outcome(), Outcome::Mismatch);
    // Another candidate's rewrite does not apply.
    let yaml = "experiments:\n  e:\n    comparators: [body]\n    path: /e\n    control: {name: c, function: c}\n    candidates:\n      x: {name: x, function: x}\n      y:\n        name: y\n        function: y\n        intended: [{description: d, replace: {in: body, from: FizzBuzz, to: Fizz Buzz}}]\n";
    let e = Experiments::parse(yaml).unwrap().by_name["e"].clone();
    let (control, candidate) = (text(200, "FizzBuzz"), text(200, "Fizz Buzz"));
    assert_eq!(
        compare_candidate(&e, "x", &control, &candidate).outcome(),
        Outcome::Mismatch
    );
    assert_eq!(
        compare_candidate(&e, "y", &control, &candidate).outcome(),
        Outcome::Intended
    );
    // Equal answers match; the rewrite is not even tried.
    let same = compare_candidate(&e, "y", &control, &control);
    assert_eq!((same.outcome(), same.intended), (Outcome::Match, None));
}

#[test]
fn a_status_or_header_difference_is_never_excused_by_a_body_rewrite() {
    let e = experiment(FIZZ_BUZZ);
    let control = text(200, "FizzBuzz");
    for (candidate, what) in [
        (text(500, "Fizz Buzz"), "status"),
        (answer(200, "application/json", "Fizz Buzz"), "header"),
    ] {
        let v = compare_candidate(&e, "x", &control, &candidate);
        assert_eq!(v.outcome(), Outcome::Mismatch, "{what}: {v:?}");
    }
    // Nor by a verdict stored with both.
    let forged = Verdict {
        status: Some(false),
        intended: Some("d".into()),
        ..Verdict::default()
    };
    assert_eq!(forged.outcome(), Outcome::Mismatch);
}

#[test]
fn rewrites_apply_in_order_and_json_paths_rewrite_one_string() {
    let e = experiment(
        "    intended:\n      - {description: first, replace: {in: $.rule, from: half up, to: half even}}\n      - {description: second, replace: {in: $.rule, from: half even, to: ties to even}}\n      - {description: unused, replace: {in: body, from: absent, to: x}}\n",
    );
    let control = answer(
        200,
        "application/json",
        r#"{"rule":"half up","other":"half up"}"#,
    );
    let candidate = answer(
        200,
        "application/json",
        r#"{"other":"half up","rule":"ties to even"}"#,
    );
    let v = compare_candidate(&e, "x", &control, &candidate);
    assert_eq!(
        (v.outcome(), v.intended.as_deref()),
        (Outcome::Intended, Some("first; second"))
    );
    // Outside the path, nothing is rewritten.
    let elsewhere = answer(
        200,
        "application/json",
        r#"{"rule":"ties to even","other":"ties to even"}"#,
    );
    assert_eq!(
        compare_candidate(&e, "x", &control, &elsewhere).outcome(),
        Outcome::Mismatch
    );
    // Not JSON, or not a string there: the path rewrites nothing.
    let rule = &e.intended[0].rewrite;
    assert_eq!(rewrite(rule, "half up"), None);
    assert_eq!(rewrite(rule, r#"{"rule": 1}"#), None);
}

#[test]
fn noise_keeps_an_intended_difference_intended_unless_it_hides_the_body() {
    let e = experiment(FIZZ_BUZZ);
    let v = compare_candidate(&e, "x", &text(200, "FizzBuzz"), &text(200, "Fizz Buzz"));
    let quiet = compare(&e, &text(200, "FizzBuzz"), &text(200, "FizzBuzz"));
    assert_eq!(v.net_of(&quiet).outcome(), Outcome::Intended);
    let noisy = compare(&e, &text(200, "FizzBuzz"), &text(200, "1"));
    let net = v.net_of(&noisy);
    assert_eq!((net.outcome(), net.intended), (Outcome::Match, None));
}

#[test]
fn records_stored_before_intended_differences_still_load() {
    let old = r#"{"status":true,"headers_differing":[],"body":false,"diff":"$.rounded: control 63, candidate 62"}"#;
    let v: Verdict = serde_json::from_str(old).unwrap();
    assert_eq!((v.outcome(), v.intended), (Outcome::Mismatch, None));
}

#[test]
fn excerpts_cut_long_text_on_a_character_boundary() {
    let long = "é".repeat(300);
    let cut = excerpt(&long);
    assert_eq!(cut.chars().count(), 201);
    assert_eq!(excerpt("short"), "short");
}

#[test]
fn a_difference_inside_a_redacted_path_is_reported_without_its_values() {
    let e = experiment("    redact: [$.key]\n");
    let v = compare(
        &e,
        &answer(200, "application/json", r#"{"key":"aaaa","keyLength":2}"#),
        &answer(200, "application/json", r#"{"key":"bbbb","keyLength":2}"#),
    );
    assert_eq!(v.body, Some(false));
    let diff = v.diff.unwrap_or_default();
    assert_eq!(diff, "$.key: the values differ (redacted)");
    let v = compare(
        &e,
        &answer(200, "application/json", r#"{"key":"aaaa","keyLength":2}"#),
        &answer(200, "application/json", r#"{"key":"aaaa","keyLength":3}"#),
    );
    assert_eq!(
        v.diff.as_deref(),
        Some("$.keyLength: control 2, candidate 3")
    );
    let v = compare(
        &e,
        &answer(200, "application/json", "secret-a"),
        &answer(200, "application/json", "secret-b"),
    );
    assert!(!v.diff.unwrap_or_default().contains("secret"));
}

#[test]
fn a_difference_around_a_redacted_path_shows_no_redacted_value() {
    let e = experiment("    redact: [$.user.password, $.key]\n");
    let json = |body: &str| answer(200, "application/json", body);
    let control = r#"{"user":{"name":"ann","password":"hunter2"},"key":"k1"}"#;
    let cases = [
        (
            "the object holding it differs in type",
            r#"{"user":null,"key":"k1"}"#,
            r#"$.user: control {"name":"ann","password":"<redacted>"}, candidate null"#,
        ),
        (
            "the object holding it is absent",
            r#"{"key":"k1"}"#,
            r#"$.user: control {"name":"ann","password":"<redacted>"}, candidate (absent)"#,
        ),
        (
            "the redacted values differ, and a value beside them",
            r#"{"user":{"name":"bob","password":"hunter3"},"key":"k2"}"#,
            "$.key: the values differ (redacted)\n\
                 $.user.name: control \"ann\", candidate \"bob\"\n\
                 $.user.password: the values differ (redacted)",
        ),
        (
            "the whole answer differs in type",
            "[1]",
            r#"$: control {"key":"<redacted>","user":{"name":"ann","password":"<redacted>"}}, candidate [1]"#,
        ),
    ];
    for (case, candidate, expected) in cases {
        let diff = compare(&e, &json(control), &json(candidate)).diff;
        assert_eq!(diff.as_deref(), Some(expected), "{case}");
    }
}

#[test]
fn recorded_bodies_hide_redacted_values_and_unparsable_bodies() {
    let e = experiment("    redact: [$.password, $.salt]\n");
    assert_eq!(
        recorded_body(&e, r#"{"password":"hunter2","salt":"NaCl","iterations":5}"#),
        r#"{"iterations":5,"password":"<redacted>","salt":"<redacted>"}"#
    );
    let stored = recorded_body(&e, "password=hunter2");
    assert!(!stored.contains("hunter2"), "{stored}");
    assert_eq!(
        recorded_body(&experiment(""), "password=hunter2"),
        "password=hunter2"
    );
}

/// Texts of a few short lines from a few characters, quotes and tabs among them: lines often
/// alike, and differences after characters that are escaped when quoted.
fn texts() -> impl Strategy<Value = String> {
    proptest::collection::vec("[ab\"é\t ]{0,4}", 1..8).prop_map(|lines| lines.join("\n"))
}

fn observed() -> impl Strategy<Value = Observed> {
    (
        prop_oneof![Just(200u16), Just(404), Just(500)],
        proptest::option::of(prop_oneof![Just("text/plain"), Just("application/json")]),
        prop_oneof![
            texts(),
            Just(r#"{"a":[1,2]}"#.to_owned()),
            Just("[1]".to_owned())
        ],
    )
        .prop_map(|(status, content_type, body)| Observed {
            status,
            headers: content_type
                .map(|t| BTreeMap::from([("content-type".to_owned(), t.to_owned())]))
                .unwrap_or_default(),
            body,
        })
}

/// The line a text diff names: `body, line 15 …:`, or `body:` when both texts are one line.
fn named_line(diff: &str) -> usize {
    let heading = diff.lines().next().unwrap_or_default();
    match heading.strip_prefix("body, line ") {
        Some(rest) => rest
            .split([' ', ':'])
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_default(),
        None => 1,
    }
}

use proptest::prelude::*;

proptest! {
    #[test]
    fn a_diff_of_two_different_texts_names_a_line_that_really_differs(
        control in texts(),
        candidate in texts(),
    ) {
        let Some(diff) = text_difference(&control, &candidate) else {
            prop_assert_eq!(&control, &candidate);
            return Ok(());
        };
        let line = named_line(&diff);
        prop_assert!(line >= 1, "{}", diff);
        let a: Vec<&str> = control.split('\n').collect();
        let b: Vec<&str> = candidate.split('\n').collect();
        prop_assert_ne!(a.get(line - 1), b.get(line - 1), "{}", diff);
        prop_assert!(a[..line - 1] == b[..line - 1], "an earlier line differs: {}", diff);
        // The caret sits under the first character the two lines do not share, in both.
        if let (Some(x), Some(y)) = (a.get(line - 1), b.get(line - 1)) {
            let at = first_differing_char(x, y);
            prop_assert!(x.chars().take(at).eq(y.chars().take(at)));
            prop_assert_ne!(x.chars().nth(at), y.chars().nth(at));
            let rows: Vec<&str> = diff.lines().collect();
            let row = rows
                .iter()
                .position(|r| r.starts_with("  candidate"))
                .unwrap_or_default();
            let caret = rows[row + 1].chars().position(|c| c == '^').unwrap_or_default();
            let from_caret = |row: &str| row.chars().skip(caret).collect::<String>();
            let rest = |line: &str| format!("{:?}", line.chars().skip(at).collect::<String>());
            prop_assert_eq!(format!("\"{}", from_caret(rows[row - 1])), rest(x), "{}", diff);
            prop_assert_eq!(format!("\"{}", from_caret(rows[row])), rest(y), "{}", diff);
        }
    }

    #[test]
    fn the_comparator_gives_two_different_texts_their_text_diff(
        control in texts(),
        candidate in texts(),
    ) {
        // Texts that parse as JSON are compared as JSON.
        prop_assume!(serde_json::from_str::<serde_json::Value>(&control).is_err());
        let v = compare(&experiment(""), &text(200, &control), &text(200, &candidate));
        prop_assert_eq!(v.diff, text_difference(&control, &candidate));
    }

    #[test]
    fn equal_answers_give_no_diff(answer in observed()) {
        let v = compare(&experiment(""), &answer, &answer.clone());
        prop_assert!(v.matches());
        prop_assert_eq!(v.diff, None);
    }

    #[test]
    fn answers_differ_exactly_when_there_is_a_diff(
        control in observed(),
        candidate in observed(),
    ) {
        let v = compare(&experiment(""), &control, &candidate);
        prop_assert_eq!(v.matches(), v.diff.is_none(), "{:?}", v);
        let status_line = v.diff.as_deref().is_some_and(|d| d.starts_with("status: "));
        prop_assert_eq!(status_line, control.status != candidate.status);
    }
}

#[test]
fn differences_group_by_the_fields_they_touch() {
    assert_eq!(
        differing_fields(
            "content-type: control \"application/json\", candidate \"text/plain\"\n\
             $[0]: control 3, candidate 1972\n$[1]: control 5, candidate 3\n… 3 more differences"
        ),
        ["$[]", "content-type"]
    );
    assert_eq!(
        differing_fields("$.rounded: control 63, candidate 62"),
        ["$.rounded"]
    );
    assert_eq!(
        differing_fields(
            "status: control 200, candidate 500\nbody, line 15:\n  line 14    \"14\"\n  control    \"x\""
        ),
        ["body", "status"]
    );
}
