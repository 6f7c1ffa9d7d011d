//! The gate for CI: limits the recommended memory size must keep (`--max-cost-per-million`,
//! `--max-p99-ms`); `tune` exits 1 when one is broken.

use crate::options::Gate;
use crate::tuning::MemoryResult;

/// What the gate found: one line per limit set, each kept or broken.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Checked {
    /// The limits kept, in words (`512 MB costs $0.42 per 1M invocations, within ...`).
    pub kept: Vec<String>,
    /// The limits broken, in words.
    pub broken: Vec<String>,
}

impl Checked {
    /// True when no limit was set: there is nothing to say.
    pub fn is_unset(&self) -> bool {
        self.kept.is_empty() && self.broken.is_empty()
    }

    /// The lines to print: every limit with its outcome, then the gate's result.
    pub fn lines(&self) -> Vec<String> {
        if self.is_unset() {
            return Vec::new();
        }
        let mut lines: Vec<String> = (self.kept.iter().map(|l| format!("gate: kept: {l}")))
            .chain(self.broken.iter().map(|l| format!("gate: broken: {l}")))
            .collect();
        lines.push(if self.broken.is_empty() {
            "gate: passed (exit status 0)".to_owned()
        } else {
            "gate: failed (exit status 1)".to_owned()
        });
        lines
    }
}

/// Checks the recommended size against the limits set; nothing when none is set.
pub fn check(gate: &Gate, recommended: Option<&MemoryResult>) -> Checked {
    let mut checked = Checked::default();
    if gate.max_cost_per_million_usd.is_none() && gate.max_p99_ms.is_none() {
        return checked;
    }
    let Some(r) = recommended else {
        checked
            .broken
            .push("no size could be recommended (every size failed or was flagged)".into());
        return checked;
    };
    let cost = r.cost_usd * 1e6;
    if let Some(max) = gate.max_cost_per_million_usd {
        let (list, relation) = if cost > max {
            (&mut checked.broken, "over")
        } else {
            (&mut checked.kept, "within")
        };
        list.push(format!(
            "{} MB costs ${cost:.2} per 1M invocations, {relation} --max-cost-per-million {max}",
            r.memory_mb
        ));
    }
    if let Some(max) = gate.max_p99_ms {
        let (list, relation) = if r.p99_ms > max {
            (&mut checked.broken, "over")
        } else {
            (&mut checked.kept, "within")
        };
        list.push(format!(
            "{} MB has a p99 of {:.1} ms (cold starts included), {relation} --max-p99-ms {max}",
            r.memory_mb, r.p99_ms
        ));
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::ARM64_US_EAST_1;
    use crate::report_line::Sample;
    use crate::tuning::summarise;

    fn result() -> MemoryResult {
        let samples: Vec<Sample> = [40.0, 41.0, 42.0, 90.0]
            .iter()
            .map(|&duration_ms| Sample {
                duration_ms,
                billed_ms: duration_ms.ceil() as u64,
                memory_mb: 512,
                max_memory_used_mb: None,
                init_ms: None,
            })
            .collect();
        summarise(512, &samples, &ARM64_US_EAST_1).unwrap()
    }

    fn gate(cost: Option<f64>, p99: Option<f64>) -> Gate {
        Gate {
            max_cost_per_million_usd: cost,
            max_p99_ms: p99,
        }
    }

    #[test]
    fn each_limit_is_named_kept_or_broken_and_the_result_said() {
        let r = result();
        let cost = r.cost_usd * 1e6;
        let unset = check(&gate(None, None), Some(&r));
        assert!(unset.is_unset() && unset.lines().is_empty());

        let passed = check(&gate(Some(cost + 0.01), Some(r.p99_ms)), Some(&r));
        assert!(passed.broken.is_empty());
        assert_eq!(passed.kept.len(), 2, "{passed:?}");
        assert!(passed.kept[0].contains("within --max-cost-per-million"));
        assert_eq!(
            passed.lines().last().unwrap(),
            "gate: passed (exit status 0)"
        );

        let failed = check(&gate(Some(cost - 0.01), Some(50.0)), Some(&r));
        assert!(failed.kept.is_empty());
        assert_eq!(failed.broken.len(), 2, "{failed:?}");
        assert!(failed.broken[0].contains("over --max-cost-per-million"));
        assert!(
            failed.broken[1].contains("over --max-p99-ms 50"),
            "{}",
            failed.broken[1]
        );
        assert_eq!(
            failed.lines().last().unwrap(),
            "gate: failed (exit status 1)"
        );
    }

    #[test]
    fn with_nothing_to_recommend_a_gate_fails() {
        assert_eq!(check(&gate(None, Some(1.0)), None).broken.len(), 1);
        assert!(check(&gate(None, None), None).is_unset());
    }
}
