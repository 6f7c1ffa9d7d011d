//! An external command as a value: built, printed as a shell line (for dry runs and logs), run.
//!
//! Commands that touch AWS are collected into plans (`aws.rs`) of these values, so a dry run and a
//! unit test see exactly what a real run would execute.

use std::fmt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use anyhow::{Context, Result, bail};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    program: String,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    dir: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            envs: Vec::new(),
            dir: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    pub fn envs<I, K, V>(mut self, envs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.envs
            .extend(envs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    pub fn get_args(&self) -> &[String] {
        &self.args
    }

    pub fn get_envs(&self) -> &[(String, String)] {
        &self.envs
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        command.envs(self.envs.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
    }

    /// Starts `command` in a process group of its own, registered with [`crate::procs`] while it
    /// runs: if the tool ends first (an error in another thread, Ctrl-C), the whole group is
    /// stopped with it instead of outliving it.
    fn in_own_group(
        &self,
        mut command: Command,
        wait: impl FnOnce(Child) -> std::io::Result<Output>,
    ) -> Result<Output> {
        let child = command
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", self.program))?;
        let pgid = child.id() as i32;
        crate::procs::register(pgid);
        let output = wait(child);
        crate::procs::unregister(pgid);
        output.with_context(|| format!("waiting for {}", self.program))
    }

    /// Runs it with the terminal's stdio; an exit status other than 0 is an error.
    pub fn run(&self) -> Result<()> {
        let status = self
            .in_own_group(self.command(), |mut child| {
                Ok(Output {
                    status: child.wait()?,
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                })
            })?
            .status;
        if !status.success() {
            bail!("`{}` failed ({status})", self.short());
        }
        Ok(())
    }

    /// Runs it and returns its standard output (standard error goes to the terminal).
    pub fn read(&self) -> Result<String> {
        let mut command = self.command();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let output = self.in_own_group(command, Child::wait_with_output)?;
        if !output.status.success() {
            bail!("`{}` failed ({})", self.short(), output.status);
        }
        String::from_utf8(output.stdout)
            .with_context(|| format!("{} printed non-UTF-8", self.program))
    }

    /// Runs it quietly and says whether it succeeded.
    pub fn succeeds(&self) -> bool {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The program and its first two arguments, for error messages.
    fn short(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().take(2).map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The command as a line to copy into a shell: `env K=V ... program args`.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words = Vec::new();
        if !self.envs.is_empty() {
            words.push("env".to_owned());
            words.extend(
                self.envs
                    .iter()
                    .map(|(k, v)| shell_word(&format!("{k}={v}"))),
            );
        }
        words.push(shell_word(&self.program));
        words.extend(self.args.iter().map(|a| shell_word(a)));
        f.write_str(&words.join(" "))
    }
}

/// A word as a shell reads it back: bare when safe, in double quotes when nothing in it expands
/// there, otherwise in single quotes.
pub fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./=:,@+%-".contains(c);
    if word.is_empty() {
        "''".to_owned()
    } else if word.chars().all(safe) {
        word.to_owned()
    } else if !word.contains(['"', '$', '`', '\\', '!']) {
        format!("\"{word}\"")
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_they_must_be() {
        let cases = [
            ("plain-word_1.2/x=y:z,a@b+c%", "plain-word_1.2/x=y:z,a@b+c%"),
            ("", "''"),
            ("two words", "\"two words\""),
            (
                "Stacks[0].Outputs[?OutputKey=='X']",
                "\"Stacks[0].Outputs[?OutputKey=='X']\"",
            ),
            ("${AWS::StackName}", "'${AWS::StackName}'"),
            ("it's $x", r"'it'\''s $x'"),
        ];
        for (word, quoted) in cases {
            assert_eq!(shell_word(word), quoted, "case {word:?}");
        }
    }

    #[test]
    fn a_command_prints_as_a_shell_line_with_its_environment() {
        let cmd = Cmd::new("sam")
            .args(["deploy", "--tags", "app=x"])
            .env("CARGO_PROFILE_RELEASE_LTO", "false");
        assert_eq!(
            cmd.to_string(),
            "env CARGO_PROFILE_RELEASE_LTO=false sam deploy --tags app=x"
        );
    }

    #[test]
    fn a_failing_command_is_an_error_naming_it() {
        let error = Cmd::new("false").run().unwrap_err().to_string();
        assert!(error.contains("`false` failed"), "{error}");
        assert_eq!(Cmd::new("echo").arg("hi").read().unwrap(), "hi\n");
    }
}
