//! One source file as the check reads it: a hand-written lexer that blanks comments, string
//! contents and test modules, then finds function definitions, the names code calls or passes,
//! and the module paths it names.

/// One source file: its text, and the same text with comments, string contents and test modules
/// blanked (same offsets), which is what names and braces are read from.
pub(super) struct Source {
    pub(super) text: String,
    pub(super) code: String,
    /// The JSON 1.1 service this file's signed calls go to (`signing_name: "..."`).
    pub(super) service: Option<String>,
}

/// A function definition: its name and its body's byte range in its file.
pub(super) struct Definition {
    pub(super) file: usize,
    pub(super) name: String,
    pub(super) body: std::ops::Range<usize>,
}

/// The names `code` calls (`name(`, `name::<T>(`) or passes as a function (`serve(app, handler)`,
/// `.map(parse)`), each with whether it is a method call (`.name(`); a variable or a field of
/// the same name is not a reference.
pub(super) fn references(code: &str) -> impl Iterator<Item = (&str, bool)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !(bytes[i].is_ascii_alphabetic() || bytes[i] == b'_')
            || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        {
            i += 1;
            continue;
        }
        let end = i + bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let after = code[end..].trim_start();
        let before = code[..i].trim_end();
        let called = after.starts_with('(') || after.starts_with("::<");
        let passed = (before.ends_with('(') || before.ends_with(',') || before.ends_with("::"))
            && (after.starts_with(')') || after.starts_with(','));
        if called || passed {
            found.push((&code[i..end], called && before.ends_with('.')));
        }
        i = end;
    }
    found.into_iter()
}

/// The module paths `code` names: `use a::b::{c, d}` gives `a::b` (and `a::b::c`, `a::b::d`),
/// `x::y::f(` gives `x::y`.
pub(super) fn paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let word = |at: usize| -> usize {
            at + bytes[at..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count()
        };
        if !(bytes[i].is_ascii_alphabetic() || bytes[i] == b'_')
            || (i > 0
                && (bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b':'))
        {
            i += 1;
            continue;
        }
        let mut segments = Vec::new();
        let mut at = i;
        loop {
            let end = word(at);
            if end == at {
                break;
            }
            segments.push(code[at..end].to_owned());
            if code[end..].starts_with("::") {
                at = end + 2;
                if code[at..].starts_with('{') {
                    // use a::b::{c, d::e}: each item as a path too.
                    if let Some(close) = code[at..].find('}') {
                        for item in code[at + 1..at + close].split(',') {
                            let item: Vec<String> = item
                                .trim()
                                .split("::")
                                .map(|s| s.trim().to_owned())
                                .filter(|s| !s.is_empty() && s != "*")
                                .collect();
                            let mut path = segments.clone();
                            path.extend(item);
                            found.push(path);
                        }
                    }
                    break;
                }
            } else {
                break;
            }
        }
        if segments.len() > 1 {
            found.push(segments);
        }
        i = at.max(i + 1);
    }
    found
}

/// The identifiers in `code`.
pub(super) fn words(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

impl Source {
    pub(super) fn new(text: String) -> Self {
        let mut code = blank_comments_and_strings(&text);
        blank_test_modules(&mut code);
        let service = ["signing_name: \"", "SIGNING_NAME: &str = \""]
            .iter()
            .find_map(|key| {
                let at = text.find(key)? + key.len();
                let end = text[at..].find('"')?;
                Some(text[at..at + end].to_owned())
            });
        Self {
            text,
            code,
            service,
        }
    }

    /// Every `fn name(...) { body }` outside test modules.
    pub(super) fn definitions(&self, file: usize) -> Vec<Definition> {
        let code = &self.code;
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = code[from..].find("fn ") {
            let start = from + at;
            from = start + 3;
            let boundary = start == 0 || !code.as_bytes()[start - 1].is_ascii_alphanumeric();
            let name: String = code[from..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !boundary || name.is_empty() {
                continue;
            }
            // The body: the first `{` before any `;` (a trait method without a body has none).
            let rest = &code[from..];
            let (Some(open), semi) = (rest.find('{'), rest.find(';')) else {
                continue;
            };
            if semi.is_some_and(|s| s < open) {
                continue;
            }
            let open = from + open;
            if let Some(close) = matching_brace(code, open) {
                found.push(Definition {
                    file,
                    name,
                    body: open..close + 1,
                });
            }
        }
        found
    }
}

/// The index of the `}` that closes the `{` at `open` in `code` (comments and strings blanked).
pub(super) fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in code.as_bytes()[open..].iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` with comments and the contents of string and char literals replaced by spaces.
fn blank_comments_and_strings(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to.min(bytes.len())] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |e| i + e);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'#') | Some(b'"'))
                && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                if bytes.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = i + 2 + hashes;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = text[start..]
                    .find(&close)
                    .map_or(bytes.len(), |e| start + e);
                blank(&mut out, start, end);
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j);
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '{'), not a lifetime ('a).
                if bytes.get(i + 1) == Some(&b'\\') {
                    let end = text[i + 2..].find('\'').map_or(bytes.len(), |e| i + 2 + e);
                    blank(&mut out, i + 1, end);
                    i = end + 1;
                } else if let Some(c) = text[i + 1..].chars().next()
                    && text[i + 1 + c.len_utf8()..].starts_with('\'')
                {
                    blank(&mut out, i + 1, i + 1 + c.len_utf8());
                    i += 2 + c.len_utf8();
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Blanks `#[cfg(test)] mod ... { ... }`: tests call what the deployed code does not.
fn blank_test_modules(code: &mut String) {
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]") {
        let start = from + at;
        from = start + 12;
        let rest = code[from..].trim_start();
        if !rest.starts_with("mod ") {
            continue;
        }
        let Some(open) = code[from..].find('{').map(|o| from + o) else {
            break;
        };
        let Some(close) = matching_brace(code, open) else {
            break;
        };
        let blanked: String = code[start..=close]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        code.replace_range(start..=close, &blanked);
        from = close + 1;
    }
}
