//! The newest GNU C library a bootstrap asks for, against the one Lambda's runtime has.
//!
//! The functions run on `provided.al2023`, the OS-only runtime on Amazon Linux 2023 ("When to use
//! Lambda's OS-only runtimes", <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-provided.html>),
//! whose C library is glibc 2.34 (AL2023's core toolchain: "Core toolchain packages glibc, gcc,
//! binutils", <https://docs.aws.amazon.com/linux/al2023/ug/core-glibc.html>). A binary linked
//! against a newer glibc starts here and fails its cold start there with "version `GLIBC_2.xx' not
//! found". Running it here proves nothing about that: qemu's AArch64 C library is the host
//! distribution's (Debian 12's `libc6-arm64-cross` is 2.36). So the versions are read from the ELF
//! file itself: every `GLIBC_x.y` the dynamic loader must find, from `.gnu.version_r`.

use std::fmt;

use anyhow::{Context, Result, bail};
use object::read::elf::{ElfFile64, FileHeader};
use object::{Endianness, elf};

/// A glibc symbol version, `GLIBC_2.34` read as `[2, 34, 0]` (`GLIBC_2.2.5` as `[2, 2, 5]`), so
/// that versions order as numbers: 2.9 before 2.28.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion([u32; 3]);

/// What `provided.al2023` ships (see the module's documentation).
pub const LAMBDA_GLIBC: GlibcVersion = GlibcVersion([2, 34, 0]);

impl GlibcVersion {
    /// `GLIBC_2.34` -> 2.34; `None` for anything else (`GLIBC_PRIVATE`, `GCC_3.0`, `2.34`).
    pub fn parse(name: &str) -> Option<Self> {
        let numbers = name.strip_prefix("GLIBC_")?;
        let mut parts = [0u32; 3];
        let mut count = 0;
        for part in numbers.split('.') {
            *parts.get_mut(count)? = part.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(Self(parts))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.0;
        write!(f, "{major}.{minor}")?;
        if patch > 0 {
            write!(f, ".{patch}")?;
        }
        Ok(())
    }
}

/// The newest of `names` that is a glibc version (`None`: it needs none, a static binary).
pub fn newest<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<GlibcVersion> {
    names.into_iter().filter_map(GlibcVersion::parse).max()
}

/// Whether Lambda's glibc has `needed`: an error naming both versions when it does not.
pub fn check(needed: Option<GlibcVersion>) -> Result<()> {
    match needed {
        Some(version) if version > LAMBDA_GLIBC => bail!(
            "needs GLIBC_{version}, and provided.al2023 has glibc {LAMBDA_GLIBC}: its cold start on Lambda would fail"
        ),
        _ => Ok(()),
    }
}

/// Every version name a 64-bit AArch64 ELF executable needs from its shared libraries
/// (`.gnu.version_r`), e.g. `GLIBC_2.17`.
pub fn needed_versions(elf_bytes: &[u8]) -> Result<Vec<String>> {
    let file = parse(elf_bytes)?;
    let machine = file.elf_header().e_machine(file.endian());
    if machine != elf::EM_AARCH64 {
        bail!(
            "an ELF file for machine {machine}, not AArch64 ({})",
            elf::EM_AARCH64
        );
    }
    version_names(&file, elf_bytes)
}

fn parse(elf_bytes: &[u8]) -> Result<ElfFile64<'_, Endianness>> {
    ElfFile64::<Endianness>::parse(elf_bytes)
        .context("not a 64-bit ELF file (a truncated or foreign binary?)")
}

fn version_names(file: &ElfFile64<'_, Endianness>, elf_bytes: &[u8]) -> Result<Vec<String>> {
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Some((mut needs, strings_index)) = sections
        .gnu_verneed(endian, elf_bytes)
        .context("unreadable .gnu.version_r")?
    else {
        return Ok(Vec::new());
    };
    let strings = sections
        .strings(endian, elf_bytes, strings_index)
        .context("unreadable string table of .gnu.version_r")?;
    let mut names = Vec::new();
    while let Some((_, mut versions)) = needs.next().context("unreadable .gnu.version_r")? {
        while let Some(version) = versions.next().context("unreadable .gnu.version_r")? {
            let name = version
                .name(endian, strings)
                .context("unreadable version name")?;
            names.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(name: &str) -> GlibcVersion {
        GlibcVersion::parse(name).unwrap_or_else(|| panic!("{name} should parse"))
    }

    #[test]
    fn versions_order_as_numbers_not_as_text() {
        assert!(version("GLIBC_2.9") < version("GLIBC_2.28"));
        assert!(version("GLIBC_2.2.5") < version("GLIBC_2.3"));
        assert!(version("GLIBC_2.34") < version("GLIBC_2.34.1"));
        assert_eq!(version("GLIBC_2.17").to_string(), "2.17");
        assert_eq!(version("GLIBC_2.2.5").to_string(), "2.2.5");
    }

    #[test]
    fn only_numbered_glibc_versions_count() {
        for name in [
            "GLIBC_PRIVATE",
            "GCC_3.0",
            "2.34",
            "GLIBC_2",
            "GLIBC_2.x",
            "GLIBC_1.2.3.4",
        ] {
            assert_eq!(GlibcVersion::parse(name), None, "case {name}");
        }
        assert_eq!(
            newest([
                "GCC_4.2.0",
                "GLIBC_2.17",
                "GLIBC_2.28",
                "GLIBC_2.9",
                "GLIBC_PRIVATE"
            ]),
            Some(version("GLIBC_2.28"))
        );
        assert_eq!(newest(["GCC_3.0"]), None);
    }

    #[test]
    fn glibc_2_34_is_accepted_and_2_35_refused() {
        check(Some(version("GLIBC_2.34"))).unwrap();
        check(Some(version("GLIBC_2.17"))).unwrap();
        check(None).unwrap();
        let error = check(Some(version("GLIBC_2.35"))).unwrap_err().to_string();
        assert!(error.contains("GLIBC_2.35"), "{error}");
        assert!(error.contains("glibc 2.34"), "{error}");
        check(Some(version("GLIBC_2.34.1"))).unwrap_err();
    }

    #[test]
    fn the_versions_are_read_from_gnu_version_r() {
        // This test binary, linked against the host's glibc like any Rust program here.
        let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let names = version_names(&parse(&own).unwrap(), &own).unwrap();
        let needed = newest(names.iter().map(String::as_str));
        assert!(
            needed.is_some_and(|v| v >= version("GLIBC_2.2.5")),
            "{names:?}"
        );
    }

    #[test]
    fn a_file_that_is_not_an_aarch64_elf_executable_is_refused() {
        let error = needed_versions(b"\x7fELF truncated").unwrap_err();
        assert!(
            format!("{error:#}").contains("not a 64-bit ELF file"),
            "{error:#}"
        );
        let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        if cfg!(target_arch = "aarch64") {
            assert!(needed_versions(&own).is_ok());
        } else {
            let error = needed_versions(&own).unwrap_err().to_string();
            assert!(error.contains("not AArch64"), "{error}");
        }
    }
}
