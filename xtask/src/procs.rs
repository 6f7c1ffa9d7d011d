//! Background processes of the local stack (DynamoDB Local, `cargo lambda watch`, chromedriver).
//!
//! Each runs in a process group of its own, so stopping it stops its children too (`cargo lambda
//! watch` leaves `cargo-lambda` holding the port otherwise). Every group is stopped when the tool
//! ends: normally, on an error (the [`Guard`] is dropped) and on Ctrl-C or SIGTERM (the handler
//! installed by [`install_signal_handler`]).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd::Cmd;

/// Process group ids of everything started, in order.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Stops every process group when dropped.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        stop_all();
    }
}

/// On Ctrl-C or SIGTERM: stop the process groups, then exit 130.
pub fn install_signal_handler() -> Result<Guard> {
    ctrlc::set_handler(|| {
        stop_all();
        std::process::exit(130);
    })
    .context("cannot install the Ctrl-C handler")?;
    Ok(Guard)
}

/// A process started in the background with its output in a log file.
pub struct Background {
    pub child: Child,
    pub log: std::path::PathBuf,
}

impl Background {
    /// Fails when the process has exited, naming its log.
    pub fn check_alive(&mut self, what: &str) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{what} exited ({status}) while starting; see {}",
                self.log.display()
            );
        }
        Ok(())
    }
}

/// Starts `cmd` in a new process group, stdin closed, stdout and stderr to `log`.
pub fn spawn(cmd: &Cmd, log: &Path) -> Result<Background> {
    let out = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let err = out.try_clone()?;
    let child = cmd
        .command()
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start {}", cmd.program()))?;
    GROUPS.lock().expect("process list").push(child.id() as i32);
    Ok(Background {
        child,
        log: log.to_owned(),
    })
}

/// Adds a group to those stopped when the tool ends ([`Cmd::run`] and [`Cmd::read`] start every
/// command in a group of its own, so that one still running in another thread when the tool
/// fails is stopped too).
pub fn register(pgid: i32) {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner()).push(pgid);
}

/// Removes a group that ended by itself.
pub fn unregister(pgid: i32) {
    GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|g| *g != pgid);
}

/// SIGTERM to every group, up to 5 s for them to go, then SIGKILL.
pub fn stop_all() {
    let groups = std::mem::take(&mut *GROUPS.lock().unwrap_or_else(|e| e.into_inner()));
    stop(&groups);
}

/// SIGTERM to `groups`, up to 5 s for them to go, then SIGKILL.
fn stop(groups: &[i32]) {
    if groups.is_empty() {
        return;
    }
    for pgid in groups {
        signal_group(*pgid, "TERM");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && groups.iter().any(|g| group_alive(*g)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for pgid in groups {
        if group_alive(*pgid) {
            signal_group(*pgid, "KILL");
        }
    }
}

fn signal_group(pgid: i32, signal: &str) {
    // kill(1) rather than libc: the tool stays free of unsafe code.
    let _ = Cmd::new("kill")
        .args([format!("-{signal}"), "--".to_owned(), format!("-{pgid}")])
        .succeeds();
}

fn group_alive(pgid: i32) -> bool {
    Cmd::new("kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .succeeds()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_all_stops_a_background_group_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        // A shell whose child sleeps: stopping the group must stop both.
        let mut bg = spawn(&Cmd::new("sh").args(["-c", "sleep 30 & wait"]), &log).unwrap();
        let pgid = bg.child.id() as i32;
        assert!(group_alive(pgid));
        bg.check_alive("sh").unwrap();
        // Only this test's group: the others belong to tests running beside it.
        unregister(pgid);
        stop(&[pgid]);
        let _ = bg.child.wait();
        assert!(!group_alive(pgid), "the group survived stop_all");
    }

    #[test]
    fn a_command_still_running_in_another_thread_is_stopped_with_the_tool() {
        let marker = format!("xtask-orphan-test-{}", std::process::id());
        let script = format!("exec -a {marker} sleep 30");
        let running = std::thread::spawn(move || Cmd::new("bash").args(["-c", &script]).run());
        // Its group is registered while it runs.
        let deadline = Instant::now() + Duration::from_secs(10);
        let pgid = loop {
            let pids = Cmd::new("pgrep")
                .args(["-f", &marker])
                .read()
                .unwrap_or_default();
            if let Some(pid) = pids.lines().next() {
                break pid.trim().parse::<i32>().unwrap();
            }
            assert!(Instant::now() < deadline, "the command never started");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(GROUPS.lock().unwrap().contains(&pgid));
        unregister(pgid);
        stop(&[pgid]);
        assert!(
            running.join().unwrap().is_err(),
            "the stopped command failed"
        );
        assert!(!group_alive(pgid));
    }
}
