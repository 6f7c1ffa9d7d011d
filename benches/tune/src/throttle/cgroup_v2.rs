//! Throttling by a cgroup v2 CPU quota (`cpu.max`), in a subtree this user may write with the
//! `cpu` controller enabled.

use std::fs;
use std::path::{Path, PathBuf};

use crate::model::{CpuQuota, LocalError};

/// The cgroup v2 path in `/proc/self/cgroup` (the `0::/path` line).
pub fn parse_v2_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"))
}

pub(super) fn own_cgroup_v2_dir() -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = parse_v2_path(&own)?.trim_start_matches('/').to_owned();
    // A v2-only system mounts it at /sys/fs/cgroup; a hybrid one at /sys/fs/cgroup/unified.
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .map(|mount| Path::new(mount).join(&path))
        .find(|dir| dir.join("cgroup.controllers").is_file())
}

/// Whether child cgroups with `cpu.max` can be made under `dir`: the `cpu` controller is offered
/// there and the subtree control file is writable by us.
pub(super) fn v2_usable(dir: &Path) -> bool {
    let offered = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    offered.split_whitespace().any(|c| c == "cpu")
        && fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.subtree_control"))
            .is_ok()
}

/// `cpu.max` for a quota: `"<quota> <period>"` in microseconds.
pub fn cpu_max(quota_us: u64, period_us: u64) -> String {
    format!("{quota_us} {period_us}")
}

/// `nr_throttled` and `throttled_usec` from a cgroup v2 `cpu.stat`.
pub fn parse_v2_cpu_stat(stat: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        stat.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    Some((field("nr_throttled ")?, field("throttled_usec ")?))
}

/// A cgroup v2 child with `cpu.max`, removed when dropped.
pub struct CgroupV2 {
    pub(super) path: PathBuf,
    quota_us: u64,
    period_us: u64,
}

impl CgroupV2 {
    /// Creates `parent/name` with the quota. The parent must offer `cpu` to its children: it is
    /// enabled in the parent's `cgroup.subtree_control` (which cgroup v2 allows only while the
    /// parent holds no processes itself, so our own process moves to a leaf `parent/tune` first).
    pub fn create(
        parent: &Path,
        name: &str,
        quota_us: u64,
        period_us: u64,
    ) -> Result<Self, LocalError> {
        let write = |file: PathBuf, value: String| {
            fs::write(&file, &value).map_err(|source| LocalError::WriteCgroup {
                file: file.display().to_string(),
                value,
                source,
            })
        };
        let enabled = fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
        if !enabled.split_whitespace().any(|c| c == "cpu") {
            let leaf = parent.join("tune");
            if !leaf.is_dir() {
                fs::create_dir(&leaf).map_err(|source| LocalError::CreateCgroup {
                    path: leaf.display().to_string(),
                    source,
                })?;
            }
            write(leaf.join("cgroup.procs"), std::process::id().to_string())?;
            write(parent.join("cgroup.subtree_control"), "+cpu".into())?;
        }
        let path = parent.join(name);
        fs::create_dir(&path).map_err(|source| LocalError::CreateCgroup {
            path: path.display().to_string(),
            source,
        })?;
        let group = Self {
            path,
            quota_us,
            period_us,
        };
        write(group.path.join("cpu.max"), cpu_max(quota_us, period_us))?;
        Ok(group)
    }

    pub(super) fn quota(&self) -> CpuQuota {
        let stat = fs::read_to_string(self.path.join("cpu.stat")).unwrap_or_default();
        let (throttled_periods, throttled_us) = parse_v2_cpu_stat(&stat).unwrap_or((0, 0));
        CpuQuota {
            quota_us: self.quota_us,
            period_us: self.period_us,
            throttled_periods,
            throttled_ms: throttled_us as f64 / 1e3,
        }
    }
}

impl Drop for CgroupV2 {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir(&self.path) {
            eprintln!(
                "warning: could not remove the cgroup {}: {e}; remove it with rmdir",
                self.path.display()
            );
        }
    }
}
