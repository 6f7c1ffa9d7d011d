//! Least privilege, checked: for every deployed function, the AWS actions its code can call
//! against the actions its policy in `template.yaml` grants; part of `./build.sh check`.
//!
//! What the code can call is derived statically from the workspace's source, per binary: every
//! function reachable from the binary's file (by name, across the function crates and `shared`,
//! test modules left out) is searched for AWS calls:
//! - SDK fluent calls (`.get_item().table_name(...)`, `.invoke().function_name(...)`), and the
//!   items of a DynamoDB transaction (`Put::builder()`, `ConditionCheck::builder()`, ...), each
//!   mapped to its IAM action;
//! - calls of the signed JSON 1.1 client (`shared::signed`): `.call("GetSecretValue", ...)` in a
//!   file whose service is `secretsmanager`, and the operations (`impl Operation for X` with
//!   `NAME`) whose input type `X` a reachable function builds.
//!
//! Reaching by name over-approximates (two functions of one name are both reached), which errs
//! towards demanding a permission, never towards missing one. Besides the code, the template's own
//! configuration needs some actions of the function's role: an SQS `OnFailure` destination needs
//! `sqs:SendMessage`. Resources (ARNs) are not compared here; the policies scope them by hand.
//! The role's managed policies (logs, X-Ray) come from SAM, not from `Policies`, and are not
//! compared either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_norway::Value;

use crate::template::{Template, untag};

/// SDK operation (snake case, as the fluent client names it) -> IAM action. The call must be
/// followed by one of the service's request setters, so `uri.query()` is not a DynamoDB Query.
const SDK_OPERATIONS: [(&str, &str, &[&str]); 10] = [
    ("get_item", "dynamodb:GetItem", &["table_name"]),
    ("put_item", "dynamodb:PutItem", &["table_name"]),
    ("update_item", "dynamodb:UpdateItem", &["table_name"]),
    ("delete_item", "dynamodb:DeleteItem", &["table_name"]),
    ("query", "dynamodb:Query", &["table_name"]),
    (
        "batch_get_item",
        "dynamodb:BatchGetItem",
        &["request_items", "set_request_items"],
    ),
    (
        "batch_write_item",
        "dynamodb:BatchWriteItem",
        &["request_items", "set_request_items"],
    ),
    ("invoke", "lambda:InvokeFunction", &["function_name"]),
    (
        "get_function_configuration",
        "lambda:GetFunctionConfiguration",
        &["function_name"],
    ),
    ("send_message", "sqs:SendMessage", &["queue_url"]),
];

/// A DynamoDB transaction is authorised per item: `TransactWriteItems` needs the items' actions.
const TRANSACTION_ITEMS: [(&str, &str); 4] = [
    ("Put", "dynamodb:PutItem"),
    ("Update", "dynamodb:UpdateItem"),
    ("Delete", "dynamodb:DeleteItem"),
    ("ConditionCheck", "dynamodb:ConditionCheckItem"),
];

/// One source file: its text, and the same text with comments, string contents and test modules
/// blanked (same offsets), which is what names and braces are read from.
struct Source {
    text: String,
    code: String,
    /// The JSON 1.1 service this file's signed calls go to (`signing_name: "..."`).
    service: Option<String>,
}

/// A function definition: its name and its body's byte range in its file.
struct Definition {
    file: usize,
    name: String,
    body: std::ops::Range<usize>,
}

/// The parsed sources of the function crates and `shared`.
pub struct Code {
    sources: Vec<(PathBuf, Source)>,
    /// Each crate (its folder) -> the workspace crates it depends on, directly or not.
    deps: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    /// Each file -> the files whose functions it can name: itself, the modules its `use`
    /// statements and qualified paths (`crate::adapters::store::Store`, `page::render`) point
    /// into, and its crate's root.
    visible: Vec<BTreeSet<usize>>,
    /// [`Code::visible`] followed through: the files a method call (`x.name(`) may land in, since
    /// the receiver's type may come from any module the file's imports lead to.
    reachable: Vec<BTreeSet<usize>>,
    definitions: Vec<Definition>,
    /// Input type of a signed JSON operation -> its IAM action (`codedeploy:ListDeploymentTargets`).
    operations: BTreeMap<String, String>,
}

impl Code {
    /// Reads every `.rs` file under `functions/*/src` and `shared/src`; `deps` is each crate's
    /// folder -> the folders of the workspace crates it depends on.
    pub fn load(root: &Path, deps: BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Result<Self> {
        // As cargo metadata names the crates' folders.
        let root = root
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", root.display()))?;
        let mut files = Vec::new();
        for dir in [root.join("shared/src"), root.join("functions")] {
            collect(&dir, &mut files)?;
        }
        files.retain(|p| {
            let text = p.to_string_lossy();
            !text.contains("/tests/") && !text.contains("/benches/") && text.contains("/src/")
        });
        files.sort();
        let mut sources = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            sources.push((path, Source::new(text)));
        }
        Ok(Self::from_sources(sources, deps))
    }

    fn from_sources(
        sources: Vec<(PathBuf, Source)>,
        deps: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    ) -> Self {
        let mut definitions = Vec::new();
        let mut operations = BTreeMap::new();
        for (i, (_, source)) in sources.iter().enumerate() {
            definitions.extend(source.definitions(i));
            for (input, name) in source.json_operations() {
                if let Some(service) = &source.service {
                    operations.insert(input, format!("{service}:{name}"));
                }
            }
        }
        let mut code = Self {
            sources,
            deps,
            definitions,
            operations,
            visible: Vec::new(),
            reachable: Vec::new(),
        };
        code.visible = (0..code.sources.len())
            .map(|i| code.visible_from(i))
            .collect();
        code.reachable = (0..code.sources.len())
            .map(|start| {
                let mut all = BTreeSet::from([start]);
                let mut todo = vec![start];
                while let Some(next) = todo.pop() {
                    for &i in &code.visible[next] {
                        if all.insert(i) {
                            todo.push(i);
                        }
                    }
                }
                all
            })
            .collect();
        code
    }

    /// The crates' names (as paths write them, `pbkdf2_fn`) -> their folders.
    fn crate_names(&self) -> BTreeMap<String, PathBuf> {
        let mut names = BTreeMap::new();
        for i in 0..self.sources.len() {
            let dir = self.crate_of(i);
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
            let name = manifest
                .lines()
                .find_map(|l| l.strip_prefix("name = \""))
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
                .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()));
            if let Some(name) = name {
                names.insert(name.replace('-', "_"), dir);
            }
        }
        names
    }

    /// The source whose path is `path`, if any.
    fn file(&self, path: &Path) -> Option<usize> {
        self.sources.iter().position(|(p, _)| p == path)
    }

    /// See [`Code::visible`].
    fn visible_from(&self, file: usize) -> BTreeSet<usize> {
        let names = self.crate_names();
        let own = self.crate_of(file);
        let path = &self.sources[file].0;
        // The folder this module's children are in: x.rs -> x/, mod.rs/lib.rs/main.rs -> here.
        let here = match path.file_stem().and_then(|s| s.to_str()) {
            Some("mod" | "lib" | "main") => path.parent().map(Path::to_path_buf),
            _ => Some(path.with_extension("")),
        }
        .unwrap_or_default();
        let mut visible = BTreeSet::from([file]);
        for root in ["lib.rs", "main.rs"] {
            if let Some(i) = self.file(&own.join("src").join(root)) {
                visible.insert(i);
            }
        }
        for segments in paths(&self.sources[file].1.code) {
            let (base, rest) = match segments[0].as_str() {
                "crate" => (own.join("src"), &segments[1..]),
                "self" | "super" => continue,
                first => match names.get(first) {
                    Some(dir) => (dir.join("src"), &segments[1..]),
                    None => (here.clone(), &segments[..]),
                },
            };
            if std::ptr::eq(rest, &segments[1..]) || !rest.is_empty() {
                for root in ["lib.rs", "main.rs"] {
                    if let Some(i) = self.file(&base.join(root)) {
                        visible.insert(i);
                    }
                }
            }
            // The deepest module the path names: a/b/c.rs or a/b/c/mod.rs, else a/b.rs ...
            for k in (1..=rest.len()).rev() {
                let module: PathBuf = rest[..k].iter().collect();
                let found = [
                    base.join(&module).with_extension("rs"),
                    base.join(&module).join("mod.rs"),
                ]
                .iter()
                .find_map(|p| self.file(p));
                if let Some(i) = found {
                    visible.insert(i);
                    break;
                }
            }
        }
        visible
    }

    /// The crate (folder) a file belongs to: what precedes its `src/`.
    fn crate_of(&self, file: usize) -> PathBuf {
        let path = self.sources[file].0.to_string_lossy();
        PathBuf::from(path.rsplit_once("/src/").map_or("", |(krate, _)| krate))
    }

    /// The IAM actions the binary whose `main` is in `entry` can call.
    #[cfg(test)]
    pub fn actions_of(&self, entry: &Path) -> Result<BTreeSet<String>> {
        Ok(self.reached(entry)?.into_keys().collect())
    }

    /// The IAM actions the binary whose `main` is in `entry` can call, each with the names by
    /// which the first call found is reached (`main > handler > put_record`).
    pub fn reached(&self, entry: &Path) -> Result<BTreeMap<String, String>> {
        let start = self
            .sources
            .iter()
            .position(|(p, _)| p == entry)
            .with_context(|| format!("{} is not among the sources", entry.display()))?;
        let by_name: BTreeMap<&str, Vec<usize>> =
            self.definitions
                .iter()
                .enumerate()
                .fold(BTreeMap::new(), |mut map, (i, d)| {
                    map.entry(d.name.as_str()).or_default().push(i);
                    map
                });
        // A name resolves to the functions of that name in the referring file's crate; only when
        // it has none, to those in the crates it depends on (a function's own `handler` is not
        // every crate's `handler`).
        let resolve = |file: usize, (word, method): (&str, bool)| -> Vec<usize> {
            let scope = if method {
                &self.reachable[file]
            } else {
                &self.visible[file]
            };
            let candidates: Vec<usize> = by_name
                .get(word)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|&i| scope.contains(&self.definitions[i].file))
                .collect();
            let krate = self.crate_of(file);
            let local: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| self.crate_of(self.definitions[i].file) == krate)
                .collect();
            if !local.is_empty() {
                return local;
            }
            let deps = self.deps.get(&krate);
            candidates
                .into_iter()
                .filter(|&i| {
                    deps.is_some_and(|d| d.contains(&self.crate_of(self.definitions[i].file)))
                })
                .collect()
        };
        // The entry file as a whole is reached (main and whatever it names).
        let mut bodies: Vec<(usize, std::ops::Range<usize>, String)> = vec![(
            start,
            0..self.sources[start].1.code.len(),
            "main".to_owned(),
        )];
        let mut seen: BTreeSet<usize> = BTreeSet::new();
        let mut actions = BTreeMap::new();
        while let Some((file, range, path)) = bodies.pop() {
            let source = &self.sources[file].1;
            for action in source.actions_in(range.clone(), &self.operations) {
                actions.entry(action).or_insert_with(|| path.clone());
            }
            for reference in references(&source.code[range]) {
                let word = reference.0;
                for i in resolve(file, reference) {
                    if seen.insert(i) {
                        let d = &self.definitions[i];
                        bodies.push((d.file, d.body.clone(), format!("{path} > {word}")));
                    }
                }
            }
        }
        Ok(actions)
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The names `code` calls (`name(`, `name::<T>(`) or passes as a function (`serve(app, handler)`,
/// `.map(parse)`), each with whether it is a method call (`.name(`); a variable or a field of
/// the same name is not a reference.
fn references(code: &str) -> impl Iterator<Item = (&str, bool)> {
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
fn paths(code: &str) -> Vec<Vec<String>> {
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
fn words(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

impl Source {
    fn new(text: String) -> Self {
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
    fn definitions(&self, file: usize) -> Vec<Definition> {
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

    /// `impl Operation for X { const NAME: &'static str = "Op"; ...}`: (X, Op).
    fn json_operations(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (at, _) in self.code.match_indices("impl Operation for ") {
            let input: String = self.code[at + 19..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let Some(open) = self.code[at..].find('{').map(|o| at + o) else {
                continue;
            };
            let Some(close) = matching_brace(&self.code, open) else {
                continue;
            };
            let key = "const NAME: &'static str = \"";
            if let Some(k) = self.text[open..close].find(key) {
                let start = open + k + key.len();
                if let Some(end) = self.text[start..].find('"') {
                    found.push((input.clone(), self.text[start..start + end].to_owned()));
                }
            }
        }
        found
    }

    /// The AWS actions the code in `range` calls directly.
    fn actions_in(
        &self,
        range: std::ops::Range<usize>,
        operations: &BTreeMap<String, String>,
    ) -> BTreeSet<String> {
        let code = &self.code[range.clone()];
        let mut found = BTreeSet::new();
        for (method, action, setters) in SDK_OPERATIONS {
            for (at, _) in code.match_indices(&format!(".{method}()")) {
                let after: String = code[at + method.len() + 3..]
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .take(40)
                    .collect();
                if setters.iter().any(|s| after.starts_with(&format!(".{s}("))) {
                    found.insert(action.to_owned());
                }
            }
        }
        for (item, action) in TRANSACTION_ITEMS {
            for (at, _) in code.match_indices(&format!("{item}::builder()")) {
                let boundary = at == 0 || !code.as_bytes()[at - 1].is_ascii_alphanumeric();
                if boundary && self.code.contains(".transact_write_items()") {
                    found.insert(action.to_owned());
                }
            }
        }
        if let Some(service) = &self.service {
            let text = &self.text[range];
            for (at, _) in text.match_indices(".call(\"") {
                let start = at + 7;
                if let Some(end) = text[start..].find('"') {
                    found.insert(format!("{service}:{}", &text[start..start + end]));
                }
            }
        }
        for word in words(code) {
            if let Some(action) = operations.get(word) {
                found.insert(action.clone());
            }
        }
        found
    }
}

/// The index of the `}` that closes the `{` at `open` in `code` (comments and strings blanked).
fn matching_brace(code: &str, open: usize) -> Option<usize> {
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

/// The actions a function's `Policies` grant (inline statements; a SAM policy template, which
/// would hide its actions, is reported instead).
pub fn granted(resource: &Value) -> (BTreeSet<String>, Vec<String>) {
    let mut actions = BTreeSet::new();
    let mut templates = Vec::new();
    for policy in resource["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let Some(map) = policy.as_mapping() else {
            templates.push(format!("{policy:?}"));
            continue;
        };
        for (key, value) in map {
            match key.as_str() {
                Some("Statement") => {
                    for statement in value.as_sequence().into_iter().flatten() {
                        if statement["Effect"].as_str() != Some("Allow") {
                            continue;
                        }
                        let action = untag(&statement["Action"]);
                        match action {
                            Value::String(one) => {
                                actions.insert(one.clone());
                            }
                            Value::Sequence(many) => {
                                actions.extend(
                                    many.iter().filter_map(|a| a.as_str().map(str::to_owned)),
                                );
                            }
                            _ => {}
                        }
                    }
                }
                Some("Version") => {}
                other => templates.push(other.unwrap_or_default().to_owned()),
            }
        }
    }
    (actions, templates)
}

/// Actions the template's configuration of a function needs of its role, whatever its code does.
pub fn needed_by_configuration(resource: &Value) -> BTreeSet<String> {
    let mut needed = BTreeSet::new();
    let destination = &resource["Properties"]["EventInvokeConfig"]["DestinationConfig"];
    for outcome in ["OnFailure", "OnSuccess"] {
        if destination[outcome]["Type"].as_str() == Some("SQS") {
            needed.insert("sqs:SendMessage".to_owned());
        }
    }
    needed
}

/// Actions the code reaches that a function's policy may leave out, each with why that path is
/// never taken on AWS: (binary, action, reason).
pub const NOT_NEEDED: [(&str, &str, &str); 1] = [(
    "release-hook",
    "lambda:GetFunctionConfiguration",
    "the invoker reads a function's configuration only when it answered as $LATEST; the hook \
     invokes the version under release, so Lambda's ExecutedVersion is that version",
)];

/// Every function whose policy lacks an action its code calls, or grants one nothing calls.
pub fn problems(
    template: &Template,
    code: &Code,
    entry_of: &BTreeMap<String, PathBuf>,
) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for function in template.functions()? {
        let Some(entry) = entry_of.get(&function.binary) else {
            found.push(format!(
                "least privilege: no source file for binary {} ({})",
                function.binary, function.logical_id
            ));
            continue;
        };
        let resource = &template.resources()[function.logical_id.as_str()];
        let mut needed = code.reached(entry)?;
        for action in needed_by_configuration(resource) {
            needed.insert(action, "the template's configuration".to_owned());
        }
        let (granted, templates) = granted(resource);
        let id = &function.logical_id;
        for policy in templates {
            found.push(format!(
                "template.yaml: {id} uses the policy template {policy}; write its actions as a statement so they can be checked"
            ));
        }
        needed.retain(|action, _| {
            !NOT_NEEDED
                .iter()
                .any(|(b, a, _)| *b == function.binary && a == action)
        });
        for (action, by) in needed.iter().filter(|(a, _)| !granted.contains(*a)) {
            found.push(format!(
                "template.yaml: {id}'s policy lacks {action}, which {} needs ({by})",
                function.binary
            ));
        }
        for action in granted.iter().filter(|a| !needed.contains_key(*a)) {
            found.push(format!(
                "template.yaml: {id}'s policy grants {action}, which no code of {} calls",
                function.binary
            ));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source::new(text.to_owned())
    }

    #[test]
    fn sdk_calls_are_found_and_other_calls_of_the_same_name_are_not() {
        let s = source(
            r#"
            async fn load(&self) { self.client.get_item().table_name(&self.table).send().await }
            fn path(uri: &Uri) -> Option<&str> { uri.query() }
            fn tx() { client.transact_write_items().transact_items(TransactWriteItem::builder().put(Put::builder().build()).build()) }
            // self.client.put_item().table_name(x): a comment
            fn text() -> &'static str { ".delete_item().table_name(" }
            "#,
        );
        let all = s.actions_in(0..s.code.len(), &BTreeMap::new());
        assert_eq!(
            all.into_iter().collect::<Vec<_>>(),
            ["dynamodb:GetItem", "dynamodb:PutItem"]
        );
    }

    #[test]
    fn reachability_follows_names_from_the_entry_and_skips_tests() {
        let files = vec![
            (
                PathBuf::from("a/src/bin/one.rs"),
                source("fn main() { handler() }"),
            ),
            (
                PathBuf::from("a/src/lib.rs"),
                source(
                    r#"
                    fn handler() { store_read() }
                    fn store_read() { c.query().table_name(t) }
                    fn store_write() { c.put_item().table_name(t) }
                    #[cfg(test)]
                    mod tests { fn t() { store_write(); c.delete_item().table_name(t) } }
                    "#,
                ),
            ),
        ];
        let code = Code::from_sources(files, BTreeMap::new());
        let actions = code.actions_of(Path::new("a/src/bin/one.rs")).unwrap();
        assert_eq!(actions.into_iter().collect::<Vec<_>>(), ["dynamodb:Query"]);
    }

    #[test]
    fn signed_json_operations_are_found_by_call_and_by_input_type() {
        let files = vec![
            (
                PathBuf::from("h/src/main.rs"),
                source("fn main() { run(ListThings { id: 1 }); s::secrets::fetch() }"),
            ),
            (
                PathBuf::from("h/src/adapter.rs"),
                source(
                    r#"
                    pub const SIGNING_NAME: &str = "codedeploy";
                    impl Operation for ListThings { const NAME: &'static str = "ListThings"; type Output = (); }
                    "#,
                ),
            ),
            (
                PathBuf::from("s/src/secrets.rs"),
                source(
                    r#"
                    const S: Service = Service { signing_name: "secretsmanager", target_prefix: "x" };
                    async fn fetch() { client.call("GetSecretValue", body).await }
                    "#,
                ),
            ),
        ];
        let deps = BTreeMap::from([(PathBuf::from("h"), BTreeSet::from([PathBuf::from("s")]))]);
        let code = Code::from_sources(files, deps);
        let actions = code.actions_of(Path::new("h/src/main.rs")).unwrap();
        assert_eq!(
            actions.into_iter().collect::<Vec<_>>(),
            ["codedeploy:ListThings", "secretsmanager:GetSecretValue"]
        );
    }
}
