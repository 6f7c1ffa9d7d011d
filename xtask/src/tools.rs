//! The pinned tools the workspace fetches for itself into `.tools/` (git-ignored), and the
//! prerequisites it cannot fetch.
//!
//! Each install is stamped with its versions, so a changed pin reinstalls and an unchanged one
//! costs nothing.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cmd::Cmd;
use crate::log;

/// npm `amplify-dynamodb-simulator`, which carries DynamoDB Local 1.25.1.
pub const DDB_SIMULATOR_VERSION: &str = "2.9.30";
/// Python tools, one virtualenv: the local Lambda front, the template linters, zig for arm64 links.
pub const PYTHON_TOOLS: [(&str, &str); 4] = [
    ("cargo-lambda", "1.9.2"),
    ("cfn-lint", "1.58.0"),
    ("aws-sam-cli", "1.170.0"),
    ("ziglang", "0.13.0"),
];
/// Own virtualenv: its botocore pin differs from the SAM CLI's.
pub const AWSCLI_VERSION: &str = "1.46.3";
/// The template's security scanner (scan.rs). Own virtualenv: it would downgrade the SAM CLI's
/// boto3 and botocore (1.43 -> 1.35). Installing it took 33 s (21 s of CPU) here.
pub const CHECKOV_VERSION: &str = "3.3.30";
/// `cargo deny` for `./build.sh audit`, built from crates.io into `.tools/bin` (no prebuilt binary
/// is reachable). Building it took 4m46s (2m54s of CPU) on this two-core machine, too much for
/// `./build.sh test`'s budget, hence a verb of its own.
pub const CARGO_DENY_VERSION: &str = "0.20.2";
/// The Lambda artifacts' target (`cargo lambda build --arm64`).
pub const ARM64_TARGET: &str = "aarch64-unknown-linux-gnu";

/// Where the workspace keeps what it fetches and what it runs.
#[derive(Debug, Clone)]
pub struct Paths {
    pub root: PathBuf,
    pub tools: PathBuf,
    pub local: PathBuf,
    pub deploy: PathBuf,
    pub target: PathBuf,
}

impl Paths {
    pub fn new(root: PathBuf) -> Self {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Self {
            tools: root.join(".tools"),
            local: root.join(".local"),
            deploy: root.join(".deploy"),
            target,
            root,
        }
    }

    /// Where the files the template scan reads are written (the derived template, the SAM
    /// transforms): inside the checkout whatever `CARGO_TARGET_DIR` says, because checkov 3.3.30
    /// fails CKV_AWS_45 on every function of a file outside the folder it runs in.
    pub fn scanned(&self) -> PathBuf {
        self.root.join("target")
    }

    /// Where the arm64 Lambda artifacts are built (`aws::ARTIFACTS_DIR`).
    pub fn artifacts(&self) -> PathBuf {
        self.root.join(crate::aws::ARTIFACTS_DIR)
    }

    pub fn venv_bin(&self) -> PathBuf {
        self.tools.join("venv/bin")
    }

    pub fn dynamodb_local(&self) -> PathBuf {
        self.tools
            .join(format!("dynamodb-local-{DDB_SIMULATOR_VERSION}"))
    }

    pub fn checkov_bin(&self) -> PathBuf {
        self.tools.join("checkov/bin")
    }

    /// Where `cargo install --root .tools` puts binaries.
    pub fn tools_bin(&self) -> PathBuf {
        self.tools.join("bin")
    }

    pub fn awscli_bin(&self) -> PathBuf {
        self.tools.join("awscli/bin")
    }

    /// `PATH` with the fetched tools first.
    pub fn path_var(&self) -> String {
        let mut parts = vec![
            self.venv_bin().display().to_string(),
            self.awscli_bin().display().to_string(),
        ];
        if let Ok(path) = std::env::var("PATH") {
            parts.push(path);
        }
        parts.join(":")
    }
}

/// What must be on the machine already, with how to get it.
pub fn require_prerequisites() -> Result<()> {
    let checks = [
        (
            "java",
            "-version",
            "Java 17+: e.g. 'apt-get install openjdk-17-jre-headless'",
        ),
        (
            "npm",
            "--version",
            "Node.js and npm: e.g. 'apt-get install nodejs npm'",
        ),
        (
            "python3",
            "--version",
            "Python 3 with venv and pip: e.g. 'apt-get install python3-venv python3-pip'",
        ),
    ];
    let missing: Vec<_> = checks
        .iter()
        .filter(|(program, arg, _)| !Cmd::new(*program).arg(*arg).succeeds())
        .map(|(_, _, hint)| format!("missing prerequisite: {hint}"))
        .collect();
    if !missing.is_empty() {
        bail!("{}", missing.join("\n"));
    }
    let output = Cmd::new("java")
        .arg("-version")
        .command()
        .output()
        .context("java -version")?;
    let text = String::from_utf8_lossy(&output.stderr);
    let major = java_major(&text);
    if major.is_none_or(|m| m < 17) {
        bail!(
            "Java 17 or newer is needed for DynamoDB Local (found: {})",
            major.map_or("none".to_owned(), |m| m.to_string())
        );
    }
    Ok(())
}

/// The major version in `java -version`'s output: `openjdk version "17.0.15"` -> 17.
fn java_major(text: &str) -> Option<u32> {
    let quoted = text.split('"').nth(1)?;
    let first = quoted.split('.').next()?;
    // Java 8 and older print "1.8.0_x".
    let major: u32 = first.parse().ok()?;
    if major == 1 {
        quoted.split('.').nth(1)?.parse().ok()
    } else {
        Some(major)
    }
}

/// Creates `venv` with `packages` unless its stamp says they are there.
fn ensure_venv(venv: &Path, packages: &[String]) -> Result<()> {
    let stamp = venv.join(".versions");
    let want = packages.join(" ");
    if std::fs::read_to_string(&stamp).is_ok_and(|have| have.trim() == want) {
        return Ok(());
    }
    log!("installing Python tools into {} ({want})", venv.display());
    Cmd::new("python3")
        .args(["-m", "venv"])
        .arg(venv.display().to_string())
        .run()
        .context("python3 -m venv failed: install python3-venv")?;
    Cmd::new(venv.join("bin/pip").display().to_string())
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(packages.iter().cloned())
        .run()?;
    std::fs::write(&stamp, want)?;
    Ok(())
}

pub fn ensure_python_tools(paths: &Paths) -> Result<()> {
    let packages: Vec<String> = PYTHON_TOOLS
        .iter()
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    ensure_venv(&paths.tools.join("venv"), &packages)
}

pub fn ensure_awscli(paths: &Paths) -> Result<()> {
    ensure_venv(
        &paths.tools.join("awscli"),
        &[format!("awscli=={AWSCLI_VERSION}")],
    )
}

pub fn ensure_checkov(paths: &Paths) -> Result<()> {
    ensure_venv(
        &paths.tools.join("checkov"),
        &[format!("checkov=={CHECKOV_VERSION}")],
    )
}

/// `cargo deny` at [`CARGO_DENY_VERSION`] in `.tools/bin`, built unless that version is there.
pub fn ensure_cargo_deny(paths: &Paths) -> Result<PathBuf> {
    let binary = paths.tools_bin().join("cargo-deny");
    let have = Cmd::new(binary.display().to_string())
        .arg("--version")
        .read()
        .unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(CARGO_DENY_VERSION) {
        return Ok(binary);
    }
    log!("building cargo-deny {CARGO_DENY_VERSION} from crates.io into .tools (minutes, once)");
    Cmd::new("cargo")
        .args(["install", "--locked", "--quiet"])
        .arg(format!("cargo-deny@{CARGO_DENY_VERSION}"))
        .arg("--root")
        .arg(paths.tools.display().to_string())
        .run()?;
    Ok(binary)
}

/// DynamoDB Local, unpacked from the npm package that carries it.
pub fn ensure_dynamodb_local(paths: &Paths) -> Result<()> {
    let dir = paths.dynamodb_local();
    if dir.join("DynamoDBLocal.jar").is_file() {
        return Ok(());
    }
    log!("fetching DynamoDB Local (npm amplify-dynamodb-simulator@{DDB_SIMULATOR_VERSION})");
    let tmp = tempfile::tempdir()?;
    Cmd::new("npm")
        .args(["pack", "--silent"])
        .arg(format!(
            "amplify-dynamodb-simulator@{DDB_SIMULATOR_VERSION}"
        ))
        .dir(tmp.path())
        .read()?;
    let tarball = std::fs::read_dir(tmp.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .context("npm pack wrote no .tgz")?;
    Cmd::new("tar")
        .arg("-xzf")
        .arg(tarball.display().to_string())
        .arg("-C")
        .arg(tmp.path().display().to_string())
        .run()?;
    // Unpacked to a sibling first and renamed: an interrupted fetch never looks complete.
    let partial = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(partial.parent().expect("tools dir"))?;
    Cmd::new("cp")
        .arg("-r")
        .arg(tmp.path().join("package/emulator").display().to_string())
        .arg(partial.display().to_string())
        .run()?;
    std::fs::rename(&partial, &dir)?;
    Ok(())
}

/// Headless Chromium and its WebDriver for the page tests: Debian's packages, installed when
/// missing (Debian replaces chromium with each security release, so the version follows it).
pub fn ensure_chromium() -> Result<()> {
    if Cmd::new("chromium").arg("--version").succeeds()
        && Cmd::new("chromedriver").arg("--version").succeeds()
    {
        return Ok(());
    }
    apt_install(
        "chromium and chromedriver",
        &["chromium", "chromium-driver"],
    )
}

/// Where Debian's `libc6-arm64-cross` puts the AArch64 C library and its loader: the `-L` prefix
/// `qemu-aarch64` resolves a guest's `/lib/ld-linux-aarch64.so.1` and `libc.so.6` under.
pub const AARCH64_SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// `qemu-aarch64` (user-mode emulation) and the AArch64 C library, to start the arm64 Lambda
/// bootstraps on this machine (`arm64_smoke.rs`), and `unzip` to take them out of their zips:
/// Debian's `qemu-user`, `libc6-arm64-cross` and `unzip`, installed when missing.
pub fn ensure_qemu_aarch64() -> Result<()> {
    let loader = Path::new(AARCH64_SYSROOT).join("lib/ld-linux-aarch64.so.1");
    let missing: Vec<&str> = [
        (
            "qemu-user",
            Cmd::new("qemu-aarch64").arg("--version").succeeds(),
        ),
        ("libc6-arm64-cross", loader.is_file()),
        ("unzip", Cmd::new("unzip").arg("-v").succeeds()),
    ]
    .into_iter()
    .filter(|(_, there)| !there)
    .map(|(package, _)| package)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install("qemu-aarch64 and the AArch64 C library", &missing)
}

/// Installs Debian `packages` with apt-get (as root, or through `sudo`), or says that `what` is
/// missing where there is no apt-get.
fn apt_install(what: &str, packages: &[&str]) -> Result<()> {
    if !Cmd::new("apt-get").arg("--version").succeeds() {
        bail!(
            "{what} are missing and this is not a Debian-like system; install them (Debian: {}) and put them on PATH",
            packages.join(" ")
        );
    }
    let root = Cmd::new("id").arg("-u").read()?.trim() == "0";
    let sudo = |cmd: Cmd| {
        if root {
            cmd
        } else {
            Cmd::new("sudo")
                .arg(cmd.program())
                .args(cmd.get_args().to_vec())
        }
    };
    log!("installing {} (Debian packages)", packages.join(", "));
    sudo(Cmd::new("apt-get").args(["update", "-qq"])).run()?;
    sudo(
        Cmd::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages.iter().copied()),
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .read()
    .with_context(|| format!("apt-get install {}", packages.join(" ")))?;
    Ok(())
}

/// The arm64 Linux target the Lambda artifacts are compiled for.
pub fn ensure_arm64_target() -> Result<()> {
    let installed = Cmd::new("rustup")
        .args(["target", "list", "--installed"])
        .read()?;
    if installed.lines().any(|l| l.trim() == ARM64_TARGET) {
        return Ok(());
    }
    log!("adding the Rust target {ARM64_TARGET}");
    Cmd::new("rustup")
        .args(["target", "add", ARM64_TARGET])
        .run()
}

/// Everything the local stack and the tests fetch.
pub fn ensure_local_tools(paths: &Paths) -> Result<()> {
    require_prerequisites()?;
    std::fs::create_dir_all(&paths.tools)?;
    std::fs::create_dir_all(&paths.local)?;
    ensure_python_tools(paths)?;
    ensure_dynamodb_local(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_major_versions_are_read_from_both_styles() {
        assert_eq!(
            java_major(r#"openjdk version "17.0.15" 2025-04-15"#),
            Some(17)
        );
        assert_eq!(java_major(r#"java version "1.8.0_412""#), Some(8));
        assert_eq!(java_major(r#"openjdk version "21" 2023-09-19"#), Some(21));
        assert_eq!(java_major("no java here"), None);
    }
}
