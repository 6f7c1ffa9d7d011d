//! How the bench log is read: its lines without colour codes, and each summary line matched
//! against the `println!` pattern that printed it, the placeholders captured as figures.

/// The log's lines, split at `\n`, `\r\n` or a lone `\r` (progress output rewrites a line with
/// `\r`), with terminal colour codes removed.
pub(super) fn log_lines(log: &str) -> Vec<String> {
    log.replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
        .map(strip_colours)
        .collect()
}

/// `line` without its colour codes (`ESC [ digits-and-semicolons m`); other escapes stay.
fn strip_colours(line: &str) -> String {
    let mut kept = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("\x1b[") {
        kept.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let params = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(after.len());
        if after[params..].starts_with('m') {
            rest = &after[params + 1..];
        } else {
            // Not a colour code: keep the escape and look again after it.
            kept.push('\x1b');
            rest = &rest[at + 1..];
        }
    }
    kept.push_str(rest);
    kept
}

/// The captures of the last log line that `pattern` matches from its start (see [`scan`]).
pub(super) fn find<'a, const K: usize>(log: &'a [String], pattern: &str) -> Option<[&'a str; K]> {
    last(log, |line| {
        scan_exact(line, pattern).map(|(captured, _)| captured)
    })
}

/// What `matches` gives for the last log line it accepts.
pub(super) fn last<'a, T>(log: &'a [String], matches: impl Fn(&'a str) -> Option<T>) -> Option<T> {
    log.iter().rev().find_map(|line| matches(line))
}

/// [`scan`] for a pattern with exactly `K` placeholders.
pub(super) fn scan_exact<'a, const K: usize>(
    line: &'a str,
    pattern: &str,
) -> Option<([&'a str; K], &'a str)> {
    let (captured, rest) = scan(line, pattern)?;
    let count = captured.len();
    let captured = captured
        .try_into()
        .unwrap_or_else(|_| panic!("{pattern:?} has {count} placeholders, not {K}"));
    Some((captured, rest))
}

/// Matches the start of `line` against `pattern`: literal text in which `{N}` stands for a
/// number (`12` or `12.5`), `{D}` for digits, `{F}` for digits and dots and `{S}` for digits,
/// dots and minus signs. Returns the text of each placeholder and the rest of the line.
///
/// Each placeholder takes all the characters it can. That is what a backtracking regex would
/// match too, because in every pattern here the text after a placeholder starts with a
/// character the placeholder cannot take.
pub(super) fn scan<'a>(line: &'a str, pattern: &str) -> Option<(Vec<&'a str>, &'a str)> {
    let mut captured = Vec::new();
    let (mut line, mut pattern) = (line, pattern);
    while let Some((literal, after)) = pattern.split_once('{') {
        line = line.strip_prefix(literal)?;
        let (placeholder, after) = after
            .split_once('}')
            .unwrap_or_else(|| panic!("unclosed placeholder in {pattern:?}"));
        let length = match placeholder {
            "N" => number_length(line),
            "D" => run_length(line, |c| c.is_ascii_digit()),
            "F" => run_length(line, |c| c.is_ascii_digit() || c == '.'),
            "S" => run_length(line, |c| c.is_ascii_digit() || c == '.' || c == '-'),
            _ => panic!("unknown placeholder {{{placeholder}}} in a summary-line pattern"),
        };
        if length == 0 {
            return None;
        }
        captured.push(&line[..length]);
        line = &line[length..];
        pattern = after;
    }
    Some((captured, line.strip_prefix(pattern)?))
}

/// Length of the number `text` starts with: digits, then a dot and digits if there are some.
fn number_length(text: &str) -> usize {
    let whole = run_length(text, |c| c.is_ascii_digit());
    let fraction = text[whole..]
        .strip_prefix('.')
        .map_or(0, |after| run_length(after, |c| c.is_ascii_digit()));
    if whole == 0 || fraction == 0 {
        whole
    } else {
        whole + 1 + fraction
    }
}

/// Length in bytes of the ASCII characters satisfying `accept` that `text` starts with.
fn run_length(text: &str, accept: impl Fn(char) -> bool) -> usize {
    text.find(|c: char| !accept(c)).unwrap_or(text.len())
}

/// A figure matched by `{N}`, which always parses.
pub(super) fn number(figure: &str) -> f64 {
    figure.parse().expect("a `{N}` capture is a decimal number")
}
