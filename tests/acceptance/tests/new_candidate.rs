//! `./build.sh new-candidate <family> <name>` (`scripts/new_candidate.py`) in a copy of the
//! workspace: a new candidate is registered everywhere the script says, and a name that is taken,
//! anywhere, or malformed is refused with status 2 and every file left byte for byte as it was.
//!
//! Offline and fast: nothing is compiled. Each case copies the workspace's sources (not `target/`
//! or `.tools/`) into a fresh temporary folder, because the script edits shared files in place.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use experiments::definition::{Experiments, Variant};
use serde_yaml::Value;

const FAMILIES: [&str; 4] = ["round", "sort", "fizzbuzz", "pbkdf2"];
const MARKER: &str = "        // new-candidate: in-process handlers";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies `from` into `to`, leaving out build output and installed packages.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{to:?}: {e}"));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{from:?}: {e}")) {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().expect("file name");
        if ["target", "node_modules", "results", ".git"]
            .iter()
            .any(|skip| name == *skip)
        {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(name));
        } else {
            std::fs::copy(&path, to.join(name)).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        }
    }
}

/// Every folder (`None`) and file (its bytes) under `dir`, by relative path.
fn tree(dir: &Path, under: &Path, into: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
        let path = entry.expect("directory entry").path();
        let relative = path.strip_prefix(under).expect("under the copy").to_owned();
        if path.is_dir() {
            into.insert(relative, None);
            tree(&path, under, into);
        } else {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            into.insert(relative, Some(bytes));
        }
    }
}

/// A copy of the workspace: the script and what it reads and edits, plus every workspace member's
/// sources so `cargo metadata` can read the copy as `./build.sh` reads the real one.
struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    fn new() -> Self {
        let root = root();
        let dir = std::env::temp_dir().join(format!("new-candidate-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("scripts")).expect("temp workspace");
        for file in ["Cargo.toml", "template.yaml", "build.sh"] {
            std::fs::copy(root.join(file), dir.join(file))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
        std::fs::copy(
            root.join("scripts/new_candidate.py"),
            dir.join("scripts/new_candidate.py"),
        )
        .expect("copy the script");
        for member in ["shared", "functions", "benches", "tests/acceptance"] {
            copy_tree(&root.join(member), &dir.join(member));
        }
        Self { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    fn read(&self, relative: &str) -> String {
        let path = self.path(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
    }

    /// Replaces `from` with `to` in a file; `from` must be there, so no case plants nothing.
    fn replace(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert!(text.contains(from), "{relative} has no {from:?} to replace");
        std::fs::write(self.path(relative), text.replacen(from, to, 1)).expect("write");
    }

    fn snapshot(&self) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        let mut files = BTreeMap::new();
        tree(&self.dir, &self.dir, &mut files);
        files
    }

    /// `python3 scripts/new_candidate.py <args>`, as `./build.sh new-candidate` runs it.
    fn new_candidate(&self, args: &[&str]) -> Output {
        Command::new("python3")
            .arg("scripts/new_candidate.py")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("python3 scripts/new_candidate.py")
    }

    /// Runs the script and expects it to scaffold `family`/`name`.
    fn created(&self, family: &str, name: &str) {
        let output = self.new_candidate(&[family, name]);
        assert!(
            output.status.success(),
            "{family} {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs the script and expects a one-line refusal with status 2 and no file changed; returns
    /// the message.
    fn refused(&self, args: &[&str]) -> String {
        let before = self.snapshot();
        let output = self.new_candidate(args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        let after = self.snapshot();
        let changed: Vec<_> = before
            .keys()
            .chain(after.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|path| before.get(*path) != after.get(*path))
            .collect();
        assert!(
            changed.is_empty(),
            "{args:?} was refused but changed {changed:?}"
        );
        stderr
    }

    fn metadata(&self) -> serde_json::Value {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let output = Command::new(cargo)
            .args([
                "metadata",
                "--no-deps",
                "--offline",
                "--format-version",
                "1",
            ])
            .current_dir(&self.dir)
            .output()
            .expect("cargo metadata");
        assert!(
            output.status.success(),
            "cargo metadata of the copy failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("template.yaml no longer parses: {e}"))
}

fn keys(mapping: &Value) -> BTreeSet<String> {
    mapping
        .as_mapping()
        .expect("a mapping")
        .keys()
        .map(|k| k.as_str().expect("a text key").to_owned())
        .collect()
}

/// A value without its CloudFormation short-form tag (`!GetAtt X` → `X`).
fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

/// A candidate name nobody has taken: the workshop's own `my-name` may already be scaffolded in
/// the tree these tests copy.
fn unused_name() -> String {
    format!(
        "t{}",
        (0..10).map(|_| fastrand::lowercase()).collect::<String>()
    )
}

fn package<'a>(metadata: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no package {name} in the copy's workspace"))
}

#[test]
fn a_new_candidate_of_each_family_is_registered_in_the_workspace_template_suite_and_experiment() {
    let workspace = Workspace::new();
    let name = &unused_name();
    let template_before = yaml(&workspace.read("template.yaml"));
    let definitions = "functions/experiments/definitions/workshop.yaml";
    let experiments_before =
        Experiments::parse(&workspace.read(definitions)).expect("workshop.yaml parses");
    let resilience_before = workspace.read("functions/experiments/definitions/resilience.yaml");

    for family in FAMILIES {
        workspace.created(family, name);
    }

    // The workspace: `./build.sh` lists function binaries with `cargo metadata` (endpoints.json,
    // cargo lambda watch), so the copy must still load and list each candidate's binary.
    let metadata = workspace.metadata();
    let workspace_rust_version = package(&metadata, "fizzbuzz")["rust_version"].clone();
    assert!(
        workspace_rust_version.is_string(),
        "{workspace_rust_version}"
    );
    let acceptance = package(&metadata, "acceptance");
    let template = yaml(&workspace.read("template.yaml"));
    let when = workspace.read("tests/acceptance/src/when.rs");
    let mut new_resources = BTreeSet::new();
    let mut new_outputs = BTreeSet::new();
    for family in FAMILIES {
        let function = format!("{family}-candidate-{name}");
        let crate_dir = format!("functions/{family}-{name}");
        let package = package(&metadata, &function);
        let manifest = package["manifest_path"].as_str().expect("manifest path");
        assert!(
            manifest.ends_with(&format!("/{crate_dir}/Cargo.toml")),
            "{manifest}"
        );
        assert_eq!(
            package["rust_version"], workspace_rust_version,
            "{function}: rust-version.workspace"
        );
        let bins: Vec<&str> = package["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.contains(&"bin".into()))
            })
            .map(|t| t["name"].as_str().expect("target name"))
            .collect();
        assert_eq!(bins, [function.as_str()], "{function}");
        let dependency = acceptance["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .find(|d| d["name"] == function.as_str())
            .unwrap_or_else(|| panic!("acceptance does not depend on {function}"));
        assert!(
            dependency["path"]
                .as_str()
                .is_some_and(|p| p.ends_with(&crate_dir)),
            "{dependency}"
        );

        // The suite's in-process dispatch, above the marker the next candidate goes before.
        let ident = function.replace('-', "_");
        let arm = format!("        \"{function}\" => {ident}::handler(request).await,\n");
        let at = when.find(&arm).unwrap_or_else(|| panic!("no {arm:?}"));
        assert!(at < when.find(MARKER).expect("the marker stays"), "{arm:?}");

        // template.yaml: the function, its Function URL, log group and output.
        let logical: String = function
            .split('-')
            .map(|part| part[..1].to_uppercase() + &part[1..])
            .collect();
        let resource = &template["Resources"][format!("{logical}Function").as_str()];
        assert_eq!(resource["Type"], "AWS::Serverless::Function", "{logical}");
        assert_eq!(
            resource["Metadata"]["BuildProperties"]["Binary"],
            function.as_str()
        );
        assert_eq!(
            resource["Properties"]["FunctionUrlConfig"]["AuthType"],
            "NONE"
        );
        let log_group = &template["Resources"][format!("{logical}LogGroup").as_str()];
        assert_eq!(log_group["Type"], "AWS::Logs::LogGroup", "{logical}");
        let output = &template["Outputs"][format!("{logical}Url").as_str()];
        assert_eq!(
            untag(&output["Value"]),
            &Value::from(format!("{logical}FunctionUrl.FunctionUrl"))
        );
        new_resources.extend([format!("{logical}Function"), format!("{logical}LogGroup")]);
        new_outputs.insert(format!("{logical}Url"));
    }

    // Nothing that was in template.yaml is gone or changed.
    for (section, added) in [("Resources", &new_resources), ("Outputs", &new_outputs)] {
        let before = keys(&template_before[section]);
        assert_eq!(
            keys(&template[section]),
            before.union(added).cloned().collect(),
            "{section}"
        );
        for key in before {
            assert_eq!(
                template[section][key.as_str()],
                template_before[section][key.as_str()],
                "{section}.{key}"
            );
        }
    }

    // The experiments: as the uploader validates them, each family's experiment has the new
    // candidate and is otherwise as it was; resilience.yaml is untouched.
    let mut experiments =
        Experiments::parse(&workspace.read(definitions)).expect("workshop.yaml still validates");
    for family in FAMILIES {
        let experiment = experiments
            .by_name
            .get_mut(family)
            .unwrap_or_else(|| panic!("experiment {family} is gone"));
        let expected = Variant {
            id: name.to_owned(),
            name: format!("{family}-candidate-{name} (new)"),
            function: format!("{family}-candidate-{name}"),
        };
        let before = experiment.candidates.len();
        experiment.candidates.retain(|c| *c != expected);
        assert_eq!(experiment.candidates.len(), before - 1, "{family}");
    }
    assert_eq!(experiments, experiments_before);
    assert_eq!(
        workspace.read("functions/experiments/definitions/resilience.yaml"),
        resilience_before
    );
}

#[test]
fn the_scaffolded_handler_answers_501_and_has_nothing_that_panics() {
    let workspace = Workspace::new();
    let name = &unused_name();
    workspace.created("fizzbuzz", name);
    let lib = workspace.read(&format!("functions/fizzbuzz-{name}/src/lib.rs"));
    let main = workspace.read(&format!("functions/fizzbuzz-{name}/src/main.rs"));
    assert!(
        lib.contains("pub async fn handler(request: Request)"),
        "{lib}"
    );
    assert!(lib.contains("StatusCode::NOT_IMPLEMENTED,"), "{lib}");
    assert!(lib.contains("\"not_implemented\","), "{lib}");
    assert!(
        lib.contains(&format!(
            "implement respond() in functions/fizzbuzz-{name}/src/lib.rs"
        )),
        "the 501's message says where to write the candidate: {lib}"
    );
    assert!(
        main.contains(&format!(
            "fizzbuzz_candidate_{name}::handler(request).await"
        )),
        "{main}"
    );
    for (file, source) in [("lib.rs", &lib), ("main.rs", &main)] {
        for forbidden in ["todo!", "unimplemented!", "panic!", ".unwrap()"] {
            assert!(!source.contains(forbidden), "{file} contains {forbidden}");
        }
    }
}

#[test]
fn a_name_that_is_already_a_candidate_is_refused_with_status_2_and_no_file_changed() {
    let workspace = Workspace::new();
    for (family, name) in [
        ("fizzbuzz", "reference"),
        ("sort", "fixed"),
        ("round", "half-even"),
        ("pbkdf2", "fast"),
        // sort-candidate's key in the sort experiment: taken, though no binary has that name.
        ("sort", "exercise"),
    ] {
        let message = workspace.refused(&[family, name]);
        assert!(
            message.contains(&format!("{family}-candidate-{name} already exists in ")),
            "{family} {name}: {message}"
        );
    }
}

#[test]
fn the_same_new_name_twice_is_refused_the_second_time_with_no_file_changed() {
    let workspace = Workspace::new();
    let name = &unused_name();
    workspace.created("fizzbuzz", name);
    let message = workspace.refused(&["fizzbuzz", name]);
    assert!(
        message.contains(&format!(
            "fizzbuzz-candidate-{name} already exists in functions/fizzbuzz-{name}"
        )),
        "{message}"
    );
}

#[test]
fn a_name_taken_in_only_one_place_is_refused_naming_that_place() {
    type Plant = fn(&Workspace);
    // Each case makes `fizzbuzz-candidate-ghost` (or its crate, logical id or candidate key) exist
    // in one place only, so each of the script's checks is exercised on its own.
    let cases: [(&str, &str, Plant); 11] = [
        ("the crate folder", "functions/fizzbuzz-ghost", |w| {
            std::fs::create_dir_all(w.path("functions/fizzbuzz-ghost")).expect("mkdir");
        }),
        (
            "a src/bin file of another crate",
            "functions/round/src/bin/fizzbuzz-candidate-ghost.rs",
            |w| {
                std::fs::write(
                    w.path("functions/round/src/bin/fizzbuzz-candidate-ghost.rs"),
                    "fn main() {}\n",
                )
                .expect("write");
            },
        ),
        ("a [[bin]] name", "functions/sort/Cargo.toml", |w| {
            let path = w.path("functions/sort/Cargo.toml");
            let text = w.read("functions/sort/Cargo.toml")
                + "\n[[bin]]\nname = \"fizzbuzz-candidate-ghost\"\npath = \"src/bin/sort-control.rs\"\n";
            std::fs::write(path, text).expect("write");
        }),
        (
            "a package whose Rust name is the crate's",
            "functions/ghost/Cargo.toml",
            |w| {
                std::fs::create_dir_all(w.path("functions/ghost")).expect("mkdir");
                std::fs::write(
                    w.path("functions/ghost/Cargo.toml"),
                    "[package]\nname = \"fizzbuzz_candidate_ghost\"\n",
                )
                .expect("write");
            },
        ),
        ("a Binary in template.yaml", "template.yaml", |w| {
            w.replace(
                "template.yaml",
                "Binary: chaos-candidate-slow\n",
                "Binary: fizzbuzz-candidate-ghost\n",
            );
        }),
        ("a logical id in template.yaml", "template.yaml", |w| {
            w.replace(
                "template.yaml",
                "  ChaosCandidateSlowLogGroup:\n",
                "  FizzbuzzCandidateGhostLogGroup:\n",
            );
        }),
        (
            "a candidate key of the family's experiment",
            "functions/experiments/definitions/workshop.yaml",
            |w| {
                w.replace(
                    "functions/experiments/definitions/workshop.yaml",
                    "      reference:\n",
                    "      ghost:\n",
                );
            },
        ),
        (
            "a function in another definitions file",
            "functions/experiments/definitions/resilience.yaml",
            |w| {
                w.replace(
                    "functions/experiments/definitions/resilience.yaml",
                    "function: chaos-candidate-slow\n",
                    "function: fizzbuzz-candidate-ghost\n",
                );
            },
        ),
        (
            "a function in a flow-style candidate",
            "functions/experiments/definitions/workshop.yaml",
            |w| {
                w.replace(
                    "functions/experiments/definitions/workshop.yaml",
                    "function: pbkdf2-control-512}",
                    "function: fizzbuzz-candidate-ghost}",
                );
            },
        ),
        (
            "a dispatch arm of the suite",
            "tests/acceptance/src/when.rs",
            |w| {
                w.replace(
                    "tests/acceptance/src/when.rs",
                    "        \"sort-candidate-fixed\" =>",
                    "        \"fizzbuzz-candidate-ghost\" =>",
                );
            },
        ),
        (
            "a dependency of the suite",
            "tests/acceptance/Cargo.toml",
            |w| {
                w.replace(
                    "tests/acceptance/Cargo.toml",
                    "\n[dependencies]\n",
                    "\n[dependencies]\nfizzbuzz-candidate-ghost = { path = \"../../functions/round\" }\n",
                );
            },
        ),
    ];
    for (case, place, plant) in cases {
        let workspace = Workspace::new();
        plant(&workspace);
        let message = workspace.refused(&["fizzbuzz", "ghost"]);
        assert_eq!(
            message.trim_end(),
            format!(
                "error: fizzbuzz-candidate-ghost already exists in {place}: choose another name"
            ),
            "case {case}"
        );
    }
}

#[test]
fn a_malformed_family_or_name_is_refused_saying_what_is_allowed() {
    let workspace = Workspace::new();
    let message = workspace.refused(&["bogus", "my-name"]);
    assert!(
        message.contains("choose one of round, sort, fizzbuzz, pbkdf2"),
        "{message}"
    );
    let too_long = "a".repeat(21);
    for name in [
        "My-Name",
        "1st",
        "-lead",
        "trail-",
        "two--hyphens",
        "under_score",
        "with space",
        "../escape",
        "",
        too_long.as_str(),
    ] {
        let message = workspace.refused(&["fizzbuzz", name]);
        assert!(
            message.contains("1-20 characters of a-z, 0-9 and '-', starting with a letter"),
            "case {name:?}: {message}"
        );
    }
    let message = workspace.refused(&["fizzbuzz"]);
    assert!(
        message.contains("usage: ./build.sh new-candidate"),
        "{message}"
    );
    // The limit is 20, not less: the longest allowed name is scaffolded.
    let longest = "a".repeat(20);
    let output = workspace.new_candidate(&["fizzbuzz", &longest]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn build_sh_new_candidate_passes_a_refusal_on_with_status_2() {
    let workspace = Workspace::new();
    let before = workspace.snapshot();
    let output = Command::new("bash")
        .args(["build.sh", "new-candidate", "sort", "fixed"])
        .current_dir(&workspace.dir)
        .output()
        .expect("bash build.sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: sort-candidate-fixed already exists in "),
        "{stderr}"
    );
    assert!(workspace.snapshot() == before, "a refusal changed files");
}
