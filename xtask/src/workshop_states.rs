//! The workshop's states are all green: what an attendee's checkout looks like after solving
//! challenge 5 (the sort exercise replaced by its solution) and starting challenge 6
//! (`./build.sh new-candidate fizzbuzz ...`) passes the checks that examine those parts, with no
//! test edited. `./build.sh test` (not `--quick`) runs it on a scratch copy of the workspace.
//!
//! The copy is checked with the workspace's own target folder, after the suites, so the
//! registry's dependencies are reused. Cargo names a workspace crate's build units by its path
//! within the workspace, so the copy's crates land on the workspace's own units (an attendee saw
//! `./build.sh test --quick` then lint the copy's older `tune` instead of the checkout's): once
//! the copy is checked, every unit that names a file of the copy is forgotten
//! ([`forget_copy_units`]), and the next build compiles it from the checkout again.
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
    let result = steps
        .into_iter()
        .try_for_each(|(what, cmd)| cmd.run().map_err(|error| (what, error)));
    let forgotten = forget_copy_units(&paths.target, &scratch)?;
    log!(
        "workshop states: {forgotten} build units of the copy forgotten, rebuilt from the checkout next time"
    );
    if let Err((what, error)) = result {
        bail!(
            "workshop states: {what} fails in an attendee's checkout with the sort exercise solved \
             and a scaffolded candidate ({}): {error:#}",
            scratch.display()
        );
    }
    log!("workshop states: passed");
    Ok(())
}

/// Removes every fingerprint under `target` whose dependency list names a file of `scratch`, so
/// that cargo rebuilds those units from the checkout instead of taking the copy's as fresh;
/// returns how many.
pub fn forget_copy_units(target: &Path, scratch: &Path) -> Result<usize> {
    let needle = scratch.display().to_string();
    let relative = scratch
        .strip_prefix(target)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut forgotten = 0;
    for profile in std::fs::read_dir(target)? {
        let fingerprints = profile?.path().join(".fingerprint");
        let Ok(units) = std::fs::read_dir(&fingerprints) else {
            continue;
        };
        for unit in units {
            let unit = unit?.path();
            let names_copy = std::fs::read_dir(&unit)?
                .filter_map(Result::ok)
                .any(|file| {
                    file.file_name().to_string_lossy().starts_with("dep-")
                        && std::fs::read(file.path()).is_ok_and(|bytes| {
                            contains(&bytes, needle.as_bytes())
                                || (!relative.is_empty() && contains(&bytes, relative.as_bytes()))
                        })
                });
            if names_copy {
                std::fs::remove_dir_all(&unit)?;
                forgotten += 1;
            }
        }
    }
    Ok(forgotten)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copys_build_units_are_forgotten_and_the_checkouts_kept() {
        let target = tempfile::tempdir().unwrap();
        let unit = |profile: &str, name: &str, dep: &str| {
            let dir = target.path().join(profile).join(".fingerprint").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("dep-lib-{name}")), dep).unwrap();
            dir
        };
        let copy = unit(
            "debug",
            "tune-1",
            "\0\0workshop-states/benches/tune/src/app.rs\0",
        );
        let own = unit(
            "debug",
            "tune-2",
            "\0\0/work/main/benches/tune/src/app.rs\0",
        );
        let scratch = target.path().join("workshop-states");
        let absolute = unit(
            "release",
            "sort-3",
            &format!("{}/functions/sort/src/lib.rs", scratch.display()),
        );
        assert_eq!(forget_copy_units(target.path(), &scratch).unwrap(), 2);
        assert!(!copy.exists() && !absolute.exists());
        assert!(own.exists());
    }
}
