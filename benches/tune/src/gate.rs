//! The gate for CI: limits the recommended memory size must keep (`--max-cost-per-million`,
//! `--max-p99-ms`); `tune` exits 1 when one is broken.

use crate::options::Gate;
use crate::tuning::MemoryResult;

/// The limits the recommended size breaks, in words; empty when it keeps them (or none are set).
pub fn check(gate: &Gate, recommended: Option<&MemoryResult>) -> Vec<String> {
    if gate.max_cost_per_million_usd.is_none() && gate.max_p99_ms.is_none() {
        return Vec::new();
    }
    let Some(r) = recommended else {
        return vec!["no size could be recommended (every size failed or was flagged)".into()];
    };
    let mut broken = Vec::new();
    let cost = r.cost_usd * 1e6;
    if let Some(max) = gate.max_cost_per_million_usd.filter(|max| cost > *max) {
        broken.push(format!(
            "{} MB costs ${cost:.2} per 1M invocations, over --max-cost-per-million {max}",
            r.memory_mb
        ));
    }
    if let Some(max) = gate.max_p99_ms.filter(|max| r.p99_ms > *max) {
        broken.push(format!(
            "{} MB has a p99 of {:.1} ms (cold starts included), over --max-p99-ms {max}",
            r.memory_mb, r.p99_ms
        ));
    }
    broken
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
    fn limits_kept_pass_and_each_broken_limit_is_named() {
        let r = result();
        let cost = r.cost_usd * 1e6;
        assert!(check(&gate(None, None), Some(&r)).is_empty());
        assert!(check(&gate(Some(cost + 0.01), Some(r.p99_ms)), Some(&r)).is_empty());
        let broken = check(&gate(Some(cost - 0.01), Some(50.0)), Some(&r));
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert!(broken[0].contains("--max-cost-per-million"));
        assert!(broken[1].contains("--max-p99-ms 50"), "{}", broken[1]);
    }

    #[test]
    fn with_nothing_to_recommend_a_gate_fails() {
        assert_eq!(check(&gate(None, Some(1.0)), None).len(), 1);
        assert!(check(&gate(None, None), None).is_empty());
    }
}
