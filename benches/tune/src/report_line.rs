//! Lambda's own measurement of one invocation: the `REPORT` line at the end of the log tail that
//! `Invoke` with `LogType=Tail` returns (base64, the last 4 KB of the log). Both log formats are
//! read: the text line (`REPORT RequestId: … Duration: 12.34 ms …`) and, for functions with the JSON
//! log format, the `platform.report` record.

use base64::Engine;

/// One invocation as measured by Lambda (or by the local runner, in the same terms).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Handler time, without initialisation.
    pub duration_ms: f64,
    /// What is billed: whole milliseconds (on AWS, including the init phase of a cold start).
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: Option<u32>,
    /// Present only on a cold start.
    pub init_ms: Option<f64>,
}

impl Sample {
    pub fn is_cold(&self) -> bool {
        self.init_ms.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the log tail is not base64: {0}")]
    NotBase64(String),
    #[error("the log tail has no REPORT line (is the log tail cut, or the function not run?)")]
    NoReport,
    #[error("the REPORT line has no {field}: {line}")]
    MissingField { field: &'static str, line: String },
    #[error("the REPORT line's {field} is not a number: {line}")]
    BadNumber { field: &'static str, line: String },
}

/// Decodes `LogResult` and reads its last report.
pub fn parse_log_tail(log_result_base64: &str) -> Result<Sample, ReportError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(log_result_base64.trim())
        .map_err(|e| ReportError::NotBase64(e.to_string()))?;
    parse_log(&String::from_utf8_lossy(&bytes))
}

/// The last report in a decoded log, text or JSON.
pub fn parse_log(log: &str) -> Result<Sample, ReportError> {
    for line in log.lines().rev() {
        let line = line.trim();
        if line.starts_with("REPORT ") {
            return parse_text_report(line);
        }
        if line.starts_with('{') && line.contains("\"platform.report\"") {
            return parse_json_report(line);
        }
    }
    Err(ReportError::NoReport)
}

/// `REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t
/// Max Memory Used: 20 MB\tInit Duration: 30.40 ms`
pub fn parse_text_report(line: &str) -> Result<Sample, ReportError> {
    let field = |name: &'static str| -> Option<&str> {
        line.split('\t')
            .map(str::trim)
            .find_map(|part| part.strip_prefix(name)?.strip_prefix(':'))
            .map(|value| value.split_whitespace().next().unwrap_or(""))
    };
    let missing = |field| ReportError::MissingField {
        field,
        line: line.to_string(),
    };
    let number = |name: &'static str| -> Result<Option<f64>, ReportError> {
        field(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or(ReportError::BadNumber {
                        field: name,
                        line: line.to_string(),
                    })
            })
            .transpose()
    };
    // The line starts "REPORT RequestId: ..." so "Duration" must not match inside another field
    // name: fields are tab-separated and matched from the start of each part.
    let duration_ms = number("Duration")?.ok_or_else(|| missing("Duration"))?;
    let billed = number("Billed Duration")?.ok_or_else(|| missing("Billed Duration"))?;
    let memory = number("Memory Size")?.ok_or_else(|| missing("Memory Size"))?;
    Ok(Sample {
        duration_ms,
        billed_ms: billed.ceil() as u64,
        memory_mb: memory as u32,
        max_memory_used_mb: number("Max Memory Used")?.map(|n| n as u32),
        init_ms: number("Init Duration")?,
    })
}

/// `{"time": …, "type": "platform.report", "record": {"metrics": {"durationMs": …}}}`
pub fn parse_json_report(line: &str) -> Result<Sample, ReportError> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|_| ReportError::NoReport)?;
    let metrics = &value["record"]["metrics"];
    let number = |name: &'static str| -> Result<Option<f64>, ReportError> {
        match &metrics[name] {
            serde_json::Value::Null => Ok(None),
            v => v
                .as_f64()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(Some)
                .ok_or(ReportError::BadNumber {
                    field: name,
                    line: line.to_string(),
                }),
        }
    };
    let required = |name: &'static str| {
        number(name)?.ok_or(ReportError::MissingField {
            field: name,
            line: line.to_string(),
        })
    };
    Ok(Sample {
        duration_ms: required("durationMs")?,
        billed_ms: required("billedDurationMs")?.ceil() as u64,
        memory_mb: required("memorySizeMB")? as u32,
        max_memory_used_mb: number("maxMemoryUsedMB")?.map(|n| n as u32),
        init_ms: number("initDurationMs")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log tails of the PBKDF2 control on arm64, written by hand in the format Lambda documents (no
    /// AWS account is reachable here to capture real ones); see `tests/data/`.
    const WARM_TAIL: &str = include_str!("../tests/data/log-tail-warm-128.txt");
    const COLD_TAIL: &str = include_str!("../tests/data/log-tail-cold-1769.txt");
    const JSON_TAIL: &str = include_str!("../tests/data/log-tail-json-512.txt");
    const CUT_TAIL: &str = include_str!("../tests/data/log-tail-cut.txt");

    fn encode(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn warm_text_report_gives_duration_billing_and_memory_without_init() {
        let sample = parse_log_tail(&encode(WARM_TAIL)).unwrap();
        assert_eq!(
            sample,
            Sample {
                duration_ms: 161.93,
                billed_ms: 162,
                memory_mb: 128,
                max_memory_used_mb: Some(17),
                init_ms: None,
            }
        );
        assert!(!sample.is_cold());
    }

    #[test]
    fn cold_text_report_with_xray_line_gives_init_duration() {
        let sample = parse_log_tail(&encode(COLD_TAIL)).unwrap();
        assert_eq!(sample.duration_ms, 11.52);
        assert_eq!(sample.billed_ms, 41);
        assert_eq!(sample.memory_mb, 1769);
        assert_eq!(sample.max_memory_used_mb, Some(16));
        assert_eq!(sample.init_ms, Some(28.87));
    }

    #[test]
    fn json_platform_report_is_read_like_the_text_line() {
        let sample = parse_log(JSON_TAIL).unwrap();
        assert_eq!(sample.duration_ms, 40.113);
        assert_eq!(sample.billed_ms, 41);
        assert_eq!(sample.memory_mb, 512);
        assert_eq!(sample.max_memory_used_mb, Some(18));
        assert_eq!(sample.init_ms, None);
    }

    #[test]
    fn a_tail_cut_before_the_report_is_an_error_not_a_zero() {
        assert_eq!(parse_log(CUT_TAIL), Err(ReportError::NoReport));
    }

    #[test]
    fn broken_reports_are_errors_that_quote_the_line() {
        let cases: &[(&str, &str)] = &[
            (
                "REPORT RequestId: x\tBilled Duration: 2 ms\tMemory Size: 128 MB",
                "Duration",
            ),
            (
                "REPORT RequestId: x\tDuration: 1.5 ms\tMemory Size: 128 MB",
                "Billed Duration",
            ),
            (
                "REPORT RequestId: x\tDuration: fast ms\tBilled Duration: 2 ms\tMemory Size: 128 MB",
                "Duration",
            ),
            (
                "REPORT RequestId: x\tDuration: -1 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB",
                "Duration",
            ),
            (
                "REPORT RequestId: x\tDuration: 1 ms\tBilled Duration: 2 ms",
                "Memory Size",
            ),
        ];
        for (line, field) in cases {
            match parse_log(line) {
                Err(ReportError::MissingField { field: f, line: l })
                | Err(ReportError::BadNumber { field: f, line: l }) => {
                    assert_eq!(f, *field, "case {line:?}");
                    assert_eq!(l, *line, "case {line:?}");
                }
                other => panic!("case {line:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_log_result_that_is_not_base64_is_an_error() {
        assert!(matches!(
            parse_log_tail("not base64 at all!"),
            Err(ReportError::NotBase64(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_well_formed_report_round_trips(
            duration in 0.01f64..100_000.0,
            memory in 128u32..=10_240,
            used in 1u32..=10_240,
            init in proptest::option::of(0.01f64..10_000.0),
        ) {
            let duration = (duration * 100.0).round() / 100.0;
            let init = init.map(|i| (i * 100.0).round() / 100.0);
            let billed = duration.ceil() as u64 + init.map_or(0, |i| i.ceil() as u64);
            let mut line = format!(
                "REPORT RequestId: 6f0e2a4c-0000-4000-8000-000000000000\tDuration: {duration:.2} ms\t\
                 Billed Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: {used} MB\t"
            );
            if let Some(init) = init {
                line.push_str(&format!("Init Duration: {init:.2} ms\t"));
            }
            let sample = parse_log_tail(&encode(&format!("START\n{line}\n"))).unwrap();
            proptest::prop_assert_eq!(sample.duration_ms, duration);
            proptest::prop_assert_eq!(sample.billed_ms, billed);
            proptest::prop_assert_eq!(sample.memory_mb, memory);
            proptest::prop_assert_eq!(sample.max_memory_used_mb, Some(used));
            proptest::prop_assert_eq!(sample.init_ms, init);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = parse_log(&text);
            let _ = parse_log_tail(&text);
        }
    }
}
