//! The workshop's states are all green: what an attendee's checkout looks like after solving
//! challenge 5 (the sort exercise replaced by its solution) and starting challenge 6
//! (`./build.sh new-candidate fizzbuzz ...`) passes the checks that examine those parts, with no
//! test edited. `./build.sh test` (not `--quick`) runs it on a scratch copy of the workspace.
//!
//! The copy is checked with the workspace's own target folder, after the suites: its crates
//! build under their own paths (other hashes), the registry's dependencies are reused, and no
//! binary is written where the local stack's binaries live (`--lib` for the function crates; the
//! xtask test harness has a hashed name).
//!
//! What it runs: `cargo fmt --check` and `cargo clippy -D warnings` over the whole copy (the
//! first steps of `./build.sh test --quick`), the sort and fizzbuzz crates' tests (they accept the
//! exercise as shipped or solved), the registry's, and xtask's (the registry checks, with the
//! scaffolded candidate). The acceptance suite's tests of the exercise accept both states too
//! (`suite/explore.rs`, `suite/experiments.rs`, `suite/release_gate.rs`); running them here would
//! need a second stack and a second build of every function, which `./build.sh test` cannot afford.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cmd::Cmd;
use crate::log;
use crate::tools::Paths;

/// The scaffolded candidate's name in the copy.
const CANDIDATE: &str = "workshop-check";

/// The files a checkout holds (tracked, and new ones not ignored), relative to `root`.
fn checkout_files(root: &Path) -> Result<Vec<PathBuf>> {
    let listing = Cmd::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .dir(root)
        .read()
        .context("git ls-files (the workshop states are copied from the checkout)")?;
    Ok(listing
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .filter(|f| root.join(f).is_file())
        .collect())
}

/// A copy of the checkout at `scratch`, replacing any earlier one.
fn copy_checkout(root: &Path, scratch: &Path) -> Result<()> {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch)?;
    }
    for file in checkout_files(root)? {
        let to = scratch.join(&file);
        std::fs::create_dir_all(to.parent().expect("a file in a folder"))?;
        std::fs::copy(root.join(&file), &to)
            .with_context(|| format!("copying {}", file.display()))?;
    }
    Ok(())
}

/// Challenge 5 solved as the spoiler says: the exercise's code is the solution's.
fn solve_the_sort_exercise(scratch: &Path) -> Result<()> {
    let folder = scratch.join("functions/sort/src");
    let solution = std::fs::read_to_string(folder.join("solution.rs"))?;
    std::fs::write(folder.join("exercise.rs"), solution)?;
    Ok(())
}

/// `./build.sh test` on the workshop's solved states, in `paths.target/workshop-states`.
pub fn check(paths: &Paths) -> Result<()> {
    let scratch = paths.target.join("workshop-states");
    log!(
        "workshop states: sort exercise solved and `new-candidate fizzbuzz {CANDIDATE}` in a copy ({})",
        scratch.display()
    );
    copy_checkout(&paths.root, &scratch)?;
    solve_the_sort_exercise(&scratch)?;
    let writes = crate::new_candidate::plan(&scratch, "fizzbuzz", CANDIDATE)?;
    crate::new_candidate::apply(&scratch, &writes)?;
    let target = paths.target.display().to_string();
    let cargo = |args: &[&str]| {
        Cmd::new("cargo")
            .args(args.iter().copied())
            .dir(&scratch)
            .env("CARGO_TARGET_DIR", &target)
    };
    let steps = [
        ("cargo fmt --check", cargo(&["fmt", "--all", "--check"])),
        (
            "cargo clippy",
            cargo(&[
                "clippy",
                "--quiet",
                "--workspace",
                "--all-targets",
                "--features",
                "acceptance/stack",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        (
            "the exercise's, the registry's and xtask's tests",
            cargo(&[
                "test", "--quiet", "-p", "sort", "--lib", "-p", "fizzbuzz", "-p", "registry", "-p",
                "xtask", "--bins",
            ]),
        ),
    ];
    for (what, cmd) in steps {
        if let Err(error) = cmd.run() {
            bail!(
                "workshop states: {what} fails in an attendee's checkout with the sort exercise solved \
                 and a scaffolded candidate ({}): {error:#}",
                scratch.display()
            );
        }
    }
    log!("workshop states: passed");
    Ok(())
}
