//! The features `cargo build --bins` and `cargo test` resolve for the shared crates are the same
//! (`cargo tree` with and without dev-dependencies).

use std::collections::BTreeSet;
use std::path::Path;
/// The features of every package as `cargo tree` resolves them, with or without dev-dependencies.
fn resolved_features(root: &Path, dev: bool) -> BTreeSet<String> {
    let edges = if dev {
        "normal,build,dev"
    } else {
        "normal,build"
    };
    let output = crate::cmd::Cmd::new("cargo")
        .args([
            "tree",
            "--quiet",
            "--workspace",
            "--prefix",
            "none",
            "-e",
            edges,
        ])
        .args(["-f", "{p} [{f}]"])
        .dir(root)
        .read()
        .expect("cargo tree");
    output
        .lines()
        .map(|l| l.split(" (").next().unwrap_or(l).to_owned())
        .collect()
}

/// `cargo build --bins` (./build.sh, cargo lambda watch) and `cargo test` must resolve the
/// shared crates' features alike, or most of the graph is compiled twice; the unification
/// dependencies in tests/acceptance/Cargo.toml keep them so.
#[test]
fn builds_and_tests_resolve_shared_crates_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let without = resolved_features(&root, false);
    let with = resolved_features(&root, true);
    let package = |line: &str| line.split(" [").next().unwrap_or(line).to_owned();
    let shared: BTreeSet<String> = without.iter().map(|l| package(l)).collect();
    let differing: Vec<&String> = with
        .difference(&without)
        .filter(|line| shared.contains(&package(line)))
        .collect();
    assert!(
        differing.is_empty(),
        "dev-dependencies change these shared crates' features; add them to the unification \
             dependencies of tests/acceptance/Cargo.toml: {differing:?}"
    );
}
