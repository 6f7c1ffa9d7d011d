//! Where two texts first differ, for people: the differing line between its neighbours, with a
//! caret under the first differing character, long lines cut around it.

use super::more;

/// Characters of a differing line shown before its first difference.
pub(super) const BEFORE: usize = 40;
/// Characters of a line shown at most.
pub(super) const LINE_CHARS: usize = 100;

/// Where two texts first differ, for people; `None` when they are equal. The line's number
/// (unless both are one line), the line before it, the control's and the candidate's line quoted
/// with a caret under the first character that differs, the line after it when both have it alike,
/// and how many lines below differ too. Long lines are cut around the difference, `…` outside the
/// quotes where cut.
///
/// ```text
/// body, line 15:
///   line 14    "14"
///   control    "FizzBuzz"
///   candidate  "Fizz Buzz"
///                   ^
///   line 16    "16"
/// ```
pub(super) fn text_difference(control: &str, candidate: &str) -> Option<String> {
    let a: Vec<&str> = control.split('\n').collect();
    let b: Vec<&str> = candidate.split('\n').collect();
    let lines = a.len().max(b.len());
    let differs = |i: &usize| a.get(*i) != b.get(*i);
    let first = (0..lines).find(differs)?;
    let mut heading = if lines == 1 {
        "body".to_owned()
    } else {
        format!("body, line {}", first + 1)
    };
    if a.len() != b.len() {
        heading.push_str(&format!(
            " (control {} lines, candidate {})",
            a.len(),
            b.len()
        ));
    }
    heading.push(':');
    let (x, y) = (a.get(first).copied(), b.get(first).copied());
    let at = match (x, y) {
        (Some(x), Some(y)) => first_differing_char(x, y),
        _ => 0,
    };
    let start = at.saturating_sub(BEFORE);
    let shown = |line: Option<&str>| match line {
        Some(line) => quoted(line, start),
        None => format!("(no line {})", first + 1),
    };
    // The first differing line is the first: the line before it is alike in both.
    let before = first
        .checked_sub(1)
        .map(|i| (format!("line {first}"), quoted(a[i], 0)));
    let after = first + 1;
    let after = a
        .get(after)
        .filter(|line| b.get(after) == Some(*line))
        .map(|line| (format!("line {}", after + 1), quoted(line, 0)));
    let width = [before.as_ref(), after.as_ref()]
        .into_iter()
        .flatten()
        .map(|(label, _)| label.chars().count())
        .chain(["candidate".len()])
        .max()
        .unwrap_or_default();
    let row = |label: &str, text: &str| format!("  {label:<width$}  {text}");
    let mut out = vec![heading];
    out.extend(before.map(|(label, text)| row(&label, &text)));
    out.push(row("control", &shown(x)));
    out.push(row("candidate", &shown(y)));
    if let Some(x) = x.filter(|_| y.is_some()) {
        // Both lines have the same characters up to `at`, so their quoted forms do too.
        let prefix: String = x.chars().skip(start).take(at - start).collect();
        let column = usize::from(start > 0) + format!("{prefix:?}").chars().count() - 1;
        out.push(row("", &format!("{:column$}^", "")));
    }
    out.extend(after.map(|(label, text)| row(&label, &text)));
    out.extend(more(
        (first + 1..lines).filter(differs).count(),
        "differing line",
        "differing lines",
    ));
    Some(out.join("\n"))
}

/// How many characters `a` and `b` have alike at their start.
pub(super) fn first_differing_char(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// At most [`LINE_CHARS`] characters of `line` from character `start`, quoted as Rust quotes
/// strings (control characters and quotes escaped), with `…` outside the quotes where cut.
pub(super) fn quoted(line: &str, start: usize) -> String {
    let shown: String = line.chars().skip(start).take(LINE_CHARS).collect();
    let cut_after = line.chars().count() > start + LINE_CHARS;
    format!(
        "{}{shown:?}{}",
        if start > 0 { "…" } else { "" },
        if cut_after { "…" } else { "" }
    )
}
