//! The arm64 build of every function's zip (one `cargo lambda build`, at the deploy's or the
//! test's optimisation), and the check that each zip holds an AArch64 ELF `bootstrap`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use registry::Registry;

use crate::cmd::Cmd;
use crate::log;
use crate::tools::{ARM64_TARGET, Paths};

/// How the arm64 zips are optimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimisation {
    /// What `deploy` ships: exactly `[profile.release]` of the root `Cargo.toml`, the profile the
    /// benches measure, with no override (docs/adr/0003-no-lto-in-lambda-builds.md).
    Deploy,
    /// `./build.sh test`'s check that every function cross-compiles for AArch64, links, zips
    /// and packages: unoptimised (opt-level 0, no LTO, 16 codegen units). Its zips are never
    /// deployed (a deploy builds again, with the release profile, in its own folder), and this
    /// build is the longest path of a fresh run on two cores: optimising was most of its time.
    Check,
}

impl Optimisation {
    /// The build's target folder, relative to the workspace root: each level has its own, so the
    /// test's unoptimised zips are never packaged for a deploy or measured as deployment zips.
    pub fn dir(self) -> &'static str {
        match self {
            Optimisation::Deploy => ARTIFACTS_DIR,
            Optimisation::Check => "target/lambda-arm64-check",
        }
    }
}

/// The one cargo invocation that builds every function's arm64 zip, in a target folder of its
/// own so the build can run beside the tests' cargo commands. A deploy's build sets nothing of
/// the release profile: the binaries measured and deployed come from one declared profile
/// (issue 29). Only the check's build, never deployed, overrides it to build fast.
pub fn build_artifacts_cmd(registry: &Registry, optimisation: Optimisation) -> Cmd {
    let mut cmd = Cmd::new("cargo")
        .args([
            "lambda",
            "build",
            "--release",
            "--arm64",
            "--output-format",
            "zip",
        ])
        // (cargo lambda passes --target-dir on to `cargo metadata`, which refuses it.)
        .env("CARGO_TARGET_DIR", optimisation.dir());
    if optimisation == Optimisation::Check {
        cmd = cmd
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16");
    }
    let binaries: std::collections::BTreeSet<&str> =
        registry.functions.iter().map(|f| f.binary()).collect();
    for binary in binaries {
        cmd = cmd.args(["--bin", binary]);
    }
    cmd
}

/// The deployed arm64 build's target folder, relative to the workspace root.
pub const ARTIFACTS_DIR: &str = "target/lambda-arm64";

/// The zip `cargo lambda build` writes for `binary` at `optimisation`.
pub fn zip_path(paths: &Paths, optimisation: Optimisation, binary: &str) -> PathBuf {
    paths
        .root
        .join(optimisation.dir())
        .join("lambda")
        .join(binary)
        .join("bootstrap.zip")
}

/// ELF `e_machine` of AArch64.
pub(super) const EM_AARCH64: u16 = 183;

/// The ELF machine of the file starting with `header`, if it is an ELF file.
pub fn elf_machine(header: &[u8]) -> Option<u16> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return None;
    }
    let bytes = [header[18], header[19]];
    Some(if header[5] == 1 {
        u16::from_le_bytes(bytes)
    } else {
        u16::from_be_bytes(bytes)
    })
}

/// The arm64 build, run by [`build_artifacts`] or started beside the tests.
fn artifacts_build(paths: &Paths, registry: &Registry, optimisation: Optimisation) -> Result<Cmd> {
    crate::tools::ensure_arm64_target()?;
    Ok(build_artifacts_cmd(registry, optimisation)
        .env("PATH", paths.path_var())
        .dir(&paths.root))
}

/// Starts the arm64 build in the background at the lowest priority (so tests running beside it
/// keep the CPU), its output in `.local/arm64-build.log`; stopped with the other processes.
/// Used by `./build.sh test` only, at [`Optimisation::Check`].
pub fn start_artifacts_build(
    paths: &Paths,
    registry: &Registry,
) -> Result<crate::procs::Background> {
    let build = artifacts_build(paths, registry, Optimisation::Check)?;
    let niced = Cmd::new("nice")
        .args(["-n", "19", build.program()])
        .args(build.get_args().to_vec())
        .envs(build.get_envs().to_vec())
        .dir(&paths.root);
    let log = paths.local.join("arm64-build.log");
    log!(
        "arm64 artifacts of every function: one cargo lambda build, niced, beside the tests (log: {})",
        log.display()
    );
    crate::procs::spawn(&niced, &log)
}

/// Builds the arm64 zips and proves each function has one, around an AArch64 `bootstrap`.
pub fn build_artifacts(paths: &Paths, registry: &Registry) -> Result<()> {
    log!("arm64 artifacts of every function (one cargo lambda build)");
    artifacts_build(paths, registry, Optimisation::Deploy)?.run()?;
    check_artifacts(paths, registry, Optimisation::Deploy)
}

/// Every registered function has a zip and an AArch64 ELF `bootstrap` (built at `optimisation`).
pub fn check_artifacts(
    paths: &Paths,
    registry: &Registry,
    optimisation: Optimisation,
) -> Result<()> {
    let mut failures = Vec::new();
    for function in &registry.functions {
        let binary = paths
            .root
            .join(optimisation.dir())
            .join(ARM64_TARGET)
            .join("release")
            .join(function.binary());
        let zip = zip_path(paths, optimisation, function.binary());
        let header = std::fs::read(&binary)
            .map(|bytes| bytes[..bytes.len().min(64)].to_vec())
            .unwrap_or_default();
        match (elf_machine(&header), std::fs::metadata(&zip)) {
            (Some(EM_AARCH64), Ok(meta)) if meta.len() > 0 => println!(
                "{:32} bootstrap.zip {:6.2} MB (aarch64)",
                function.name,
                meta.len() as f64 / 1e6
            ),
            (Some(EM_AARCH64), _) => {
                failures.push(format!("{}: no {}", function.name, zip.display()))
            }
            _ => failures.push(format!(
                "{}: {} is not an AArch64 ELF executable",
                function.name,
                binary.display()
            )),
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}
