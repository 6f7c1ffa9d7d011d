//! The AWS path: one `aws lambda invoke --log-type Tail` per invocation of each deployed memory
//! variant (`<stack>-<function>-<MB>`), read back from Lambda's own `REPORT` line.
//!
//! The AWS CLI is used rather than the SDK so that `--dry-run` can print exactly the commands that
//! would run, and so that credentials, SSO and profiles behave as they do for the rest of the
//! project's commands.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::options::{Options, Target};
use crate::report_line::{self, ReportError, Sample};

/// One `aws lambda invoke` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeCall {
    pub memory_mb: u32,
    pub function_name: String,
    /// The program and its arguments, `aws` first.
    pub argv: Vec<String>,
    /// Where the CLI writes the function's answer.
    pub answer_file: PathBuf,
}

impl InvokeCall {
    /// The command as a shell line, quoted where needed.
    pub fn shell_line(&self) -> String {
        self.argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("the AWS path needs an AWS target (<env> <region> <profile>)")]
    NotAws,
    #[error(
        "cannot run the AWS CLI ({0}); install it (https://aws.amazon.com/cli/) or use --dry-run"
    )]
    NoCli(std::io::Error),
    #[error("aws lambda invoke {function} failed (exit {status}): {stderr}")]
    CliFailed {
        function: String,
        status: String,
        stderr: String,
    },
    #[error("aws lambda invoke {function} printed something that is not its JSON answer: {stdout}")]
    UnexpectedOutput { function: String, stdout: String },
    #[error("{function} failed ({kind}); its answer is in {answer}")]
    FunctionError {
        function: String,
        kind: String,
        answer: String,
    },
    #[error("{function} answered HTTP {status}, not 200; its answer is in {answer}")]
    HttpStatus {
        function: String,
        status: String,
        answer: String,
    },
    #[error("{function}: {source}")]
    Report {
        function: String,
        source: ReportError,
    },
    #[error(
        "{function} reports {reported} MB, but {expected} MB was asked for: is the stack deployed with these sizes?"
    )]
    WrongMemory {
        function: String,
        reported: u32,
        expected: u32,
    },
}

/// Every call the run makes, in order: each memory size in turn, `invocations` calls each.
pub fn plan(
    options: &Options,
    event_file: &Path,
    out_dir: &Path,
) -> Result<Vec<InvokeCall>, AwsError> {
    let Target::Aws {
        region, profile, ..
    } = &options.target
    else {
        return Err(AwsError::NotAws);
    };
    let stack = options.stack_name().ok_or(AwsError::NotAws)?;
    let mut calls = Vec::new();
    for &memory_mb in options.memory.get() {
        let function_name = format!("{stack}-{}-{memory_mb}", options.function);
        for i in 1..=options.invocations {
            let answer_file = out_dir
                .join("answers")
                .join(format!("{memory_mb}-{i:03}.json"));
            let argv = [
                "aws",
                "lambda",
                "invoke",
                "--function-name",
                &function_name,
                "--log-type",
                "Tail",
                "--payload",
                &format!("fileb://{}", event_file.display()),
                "--region",
                region,
                "--profile",
                profile,
                "--output",
                "json",
                "--cli-read-timeout",
                "120",
                &answer_file.display().to_string(),
            ]
            .map(str::to_string)
            .to_vec();
            calls.push(InvokeCall {
                memory_mb,
                function_name: function_name.clone(),
                argv,
                answer_file,
            });
        }
    }
    Ok(calls)
}

/// Runs one call and reads Lambda's report of it.
pub fn invoke(call: &InvokeCall) -> Result<Sample, AwsError> {
    let output = Command::new(&call.argv[0])
        .args(&call.argv[1..])
        .output()
        .map_err(AwsError::NoCli)?;
    if !output.status.success() {
        return Err(AwsError::CliFailed {
            function: call.function_name.clone(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let answer = std::fs::read(&call.answer_file).unwrap_or_default();
    read_invoke_output(call, &output.stdout, &answer)
}

/// What `aws lambda invoke` printed (`{"StatusCode": 200, "LogResult": "<base64>", ...}`) and the
/// function's answer, turned into a sample — or into the reason there is none.
pub fn read_invoke_output(
    call: &InvokeCall,
    stdout: &[u8],
    answer: &[u8],
) -> Result<Sample, AwsError> {
    let function = || call.function_name.clone();
    let printed: serde_json::Value =
        serde_json::from_slice(stdout).map_err(|_| AwsError::UnexpectedOutput {
            function: function(),
            stdout: String::from_utf8_lossy(stdout).into_owned(),
        })?;
    if let Some(kind) = printed["FunctionError"].as_str() {
        return Err(AwsError::FunctionError {
            function: function(),
            kind: kind.to_string(),
            answer: call.answer_file.display().to_string(),
        });
    }
    let status = crate::event::response_status(answer);
    if status != Some(200) {
        return Err(AwsError::HttpStatus {
            function: function(),
            status: status.map_or("(none)".to_string(), |s| s.to_string()),
            answer: call.answer_file.display().to_string(),
        });
    }
    let tail = printed["LogResult"]
        .as_str()
        .ok_or_else(|| AwsError::UnexpectedOutput {
            function: function(),
            stdout: String::from_utf8_lossy(stdout).into_owned(),
        })?;
    let sample = report_line::parse_log_tail(tail).map_err(|source| AwsError::Report {
        function: function(),
        source,
    })?;
    if sample.memory_mb != call.memory_mb {
        return Err(AwsError::WrongMemory {
            function: function(),
            reported: sample.memory_mb,
            expected: call.memory_mb,
        });
    }
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::parse;
    use base64::Engine;

    fn options(line: &str) -> Options {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        parse(&args, |_| Err("no files".into())).unwrap_or_else(|e| panic!("{e}"))
    }

    fn call_for(memory_mb: u32) -> InvokeCall {
        let o = options(&format!(
            "dev eu-west-1 work --memory {memory_mb} --invocations 1"
        ));
        plan(&o, Path::new("out/event.json"), Path::new("out"))
            .unwrap()
            .remove(0)
    }

    #[test]
    fn the_plan_invokes_each_memory_variant_of_the_stack_in_turn() {
        let o = options("dev eu-west-1 work --memory 128,1769 --invocations 2");
        let calls = plan(&o, Path::new("r/event.json"), Path::new("r")).unwrap();
        let names: Vec<&str> = calls.iter().map(|c| c.function_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "rust-serverless-dev-pbkdf2-control-128",
                "rust-serverless-dev-pbkdf2-control-128",
                "rust-serverless-dev-pbkdf2-control-1769",
                "rust-serverless-dev-pbkdf2-control-1769",
            ]
        );
        assert_eq!(
            calls[3].shell_line(),
            "aws lambda invoke --function-name rust-serverless-dev-pbkdf2-control-1769 \
             --log-type Tail --payload fileb://r/event.json --region eu-west-1 --profile work \
             --output json --cli-read-timeout 120 r/answers/1769-002.json"
        );
    }

    #[test]
    fn stack_and_function_options_name_other_functions() {
        let o = options(
            "prod us-east-1 p --stack mine --function pbkdf2-candidate-fast --memory 512 --invocations 1",
        );
        let calls = plan(&o, Path::new("e.json"), Path::new(".")).unwrap();
        assert_eq!(calls[0].function_name, "mine-pbkdf2-candidate-fast-512");
    }

    #[test]
    fn shell_quoting_keeps_odd_arguments_whole() {
        assert_eq!(shell_quote("plain-arg_1.json"), "plain-arg_1.json");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    fn printed(log: &str) -> Vec<u8> {
        let tail = base64::engine::general_purpose::STANDARD.encode(log);
        format!(r#"{{"StatusCode": 200, "LogResult": "{tail}", "ExecutedVersion": "$LATEST"}}"#)
            .into_bytes()
    }

    const OK_ANSWER: &[u8] =
        br#"{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{}"}"#;

    #[test]
    fn a_recorded_cli_answer_becomes_a_sample() {
        let log = include_str!("../tests/data/log-tail-warm-128.txt");
        let sample = read_invoke_output(&call_for(128), &printed(log), OK_ANSWER).unwrap();
        assert_eq!((sample.duration_ms, sample.billed_ms), (161.93, 162));
    }

    #[test]
    fn failures_are_reported_not_measured() {
        let log = include_str!("../tests/data/log-tail-warm-128.txt");
        let call = call_for(128);
        let unhandled = br#"{"StatusCode": 200, "FunctionError": "Unhandled", "LogResult": ""}"#;
        assert!(matches!(
            read_invoke_output(&call, unhandled, b"{}"),
            Err(AwsError::FunctionError { kind, .. }) if kind == "Unhandled"
        ));
        assert!(matches!(
            read_invoke_output(&call, &printed(log), br#"{"statusCode":400}"#),
            Err(AwsError::HttpStatus { status, .. }) if status == "400"
        ));
        assert!(matches!(
            read_invoke_output(&call, b"An error occurred", OK_ANSWER),
            Err(AwsError::UnexpectedOutput { .. })
        ));
        assert!(matches!(
            read_invoke_output(&call_for(256), &printed(log), OK_ANSWER),
            Err(AwsError::WrongMemory {
                reported: 128,
                expected: 256,
                ..
            })
        ));
        let cut = include_str!("../tests/data/log-tail-cut.txt");
        assert!(matches!(
            read_invoke_output(&call, &printed(cut), OK_ANSWER),
            Err(AwsError::Report {
                source: ReportError::NoReport,
                ..
            })
        ));
    }

    #[test]
    fn the_local_target_has_no_aws_plan() {
        let o = options("local");
        assert!(matches!(
            plan(&o, Path::new("e"), Path::new("o")),
            Err(AwsError::NotAws)
        ));
    }
}
