//! Throttling by a cgroup v1 CPU quota (`cpu.cfs_quota_us` against `cpu.cfs_period_us`): needs
//! root and the v1 `cpu` controller. The process is moved in before the function's code starts
//! (`sh` writes its own pid, then `exec`s the binary), and its membership is checked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::model::{CpuQuota, LocalError};

pub const CGROUP_CPU_ROOT: &str = "/sys/fs/cgroup/cpu";

/// Removes `lambda-tune-<pid>-<MB>` cgroups left by a run that was interrupted (Ctrl-C skips the
/// clean-up): only those whose run is gone, and `rmdir` only succeeds on an empty cgroup anyway.
/// Returns the names removed.
pub fn remove_stale_cgroups(root: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = stale_run_pid(&name) else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive && fs::remove_dir(entry.path()).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// The pid of the run that named a cgroup `lambda-tune-<pid>-<MB>`.
fn stale_run_pid(name: &str) -> Option<u32> {
    let (pid, memory) = name.strip_prefix("lambda-tune-")?.split_once('-')?;
    memory.parse::<u32>().ok()?;
    pid.parse().ok()
}

/// `nr_throttled` and `throttled_time` (ns) from a cgroup v1 `cpu.stat`.
fn parse_cpu_stat(stat: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        stat.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    Some((field("nr_throttled ")?, field("throttled_time ")?))
}

/// A cgroup with a CPU quota, removed again when dropped (after its processes are gone).
pub struct CpuCgroup {
    path: PathBuf,
    quota_us: u64,
    period_us: u64,
}

impl CpuCgroup {
    pub fn create(
        root: &Path,
        name: &str,
        quota_us: u64,
        period_us: u64,
    ) -> Result<Self, LocalError> {
        let path = root.join(name);
        fs::create_dir(&path).map_err(|source| LocalError::CreateCgroup {
            path: path.display().to_string(),
            source,
        })?;
        let group = Self {
            path,
            quota_us,
            period_us,
        };
        group.write("cpu.cfs_period_us", period_us)?;
        group.write("cpu.cfs_quota_us", quota_us)?;
        let file = group.path.join("cpu.cfs_quota_us");
        let found = fs::read_to_string(&file).unwrap_or_default();
        if found.trim().parse::<u64>().ok() != Some(quota_us) {
            return Err(LocalError::QuotaNotApplied {
                file: file.display().to_string(),
                wanted: quota_us,
                found: found.trim().to_string(),
            });
        }
        Ok(group)
    }

    fn write(&self, file: &str, value: u64) -> Result<(), LocalError> {
        let file = self.path.join(file);
        fs::write(&file, value.to_string()).map_err(|source| LocalError::WriteCgroup {
            file: file.display().to_string(),
            value: value.to_string(),
            source,
        })
    }

    /// A control file of the group (`tasks`, `cgroup.procs`, `cpu.stat`).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn quota(&self) -> CpuQuota {
        let stat = fs::read_to_string(self.path.join("cpu.stat")).unwrap_or_default();
        let (throttled_periods, throttled_ns) = parse_cpu_stat(&stat).unwrap_or((0, 0));
        CpuQuota {
            quota_us: self.quota_us,
            period_us: self.period_us,
            throttled_periods,
            throttled_ms: throttled_ns as f64 / 1e6,
        }
    }

    /// Whether `/proc/<pid>/cgroup` puts the process in this group on the CPU hierarchy.
    pub fn holds(&self, pid: u32) -> Result<(), LocalError> {
        let found = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let wanted = format!("/{}", self.name());
        let inside = found.lines().any(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
            controllers.is_some_and(|c| c.split(',').any(|c| c == "cpu"))
                && path == Some(wanted.as_str())
        });
        if inside {
            Ok(())
        } else {
            Err(LocalError::NotInCgroup {
                pid,
                cgroup: self.path.display().to_string(),
                found: found.replace('\n', " "),
            })
        }
    }
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir(&self.path) {
            eprintln!(
                "warning: could not remove the cgroup {}: {e}; remove it with rmdir",
                self.path.display()
            );
        }
    }
}

/// Starts `binary` with exactly `env`, already inside `group`: `sh` writes its own pid to `tasks`
/// and then becomes the binary, so none of the binary's code runs outside the quota.
pub fn spawn_in_cgroup(
    group: &CpuCgroup,
    binary: &Path,
    env: &[(String, String)],
    stdout: Stdio,
    stderr: Stdio,
) -> Result<Child, LocalError> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"echo $$ > "$0" && exec "$1""#)
        .arg(group.path.join("tasks"))
        .arg(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|source| LocalError::Spawn {
            binary: binary.display().to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cgroups_named_by_a_run_count_as_leftovers() {
        assert_eq!(stale_run_pid("lambda-tune-4242-128"), Some(4242));
        assert_eq!(stale_run_pid("lambda-tune-test-4242"), None);
        assert_eq!(stale_run_pid("lambda-tune-4242"), None);
        assert_eq!(stale_run_pid("user.slice"), None);
    }

    #[test]
    fn leftovers_of_a_run_that_is_gone_are_removed_and_others_kept() {
        let root = std::env::temp_dir().join(format!("tune-stale-{}", std::process::id()));
        let gone = "lambda-tune-4194999-128"; // above the largest pid Linux allows (4194304), so never alive
        let alive = format!("lambda-tune-{}-256", std::process::id());
        for name in [gone, &alive, "other"] {
            fs::create_dir_all(root.join(name)).unwrap();
        }
        let removed = remove_stale_cgroups(&root);
        let left: Vec<bool> = [gone, &alive, "other"]
            .iter()
            .map(|n| root.join(n).exists())
            .collect();
        let _ = fs::remove_dir_all(&root);
        assert_eq!(removed, [gone]);
        assert_eq!(left, [false, true, true]);
    }

    #[test]
    fn the_cpu_stat_file_gives_the_throttled_periods_and_time() {
        let stat = "nr_periods 120\nnr_throttled 97\nthrottled_time 8123456789\nnr_bursts 0\n";
        assert_eq!(parse_cpu_stat(stat), Some((97, 8_123_456_789)));
        assert_eq!(parse_cpu_stat(""), None);
    }
}
