//! What an invocation costs on Lambda, from its billed duration and memory size.

/// On-demand Lambda prices for one architecture in one region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceTable {
    pub region: &'static str,
    pub architecture: &'static str,
    /// USD per GB-second of billed duration (GB = 1024 MB).
    pub usd_per_gb_second: f64,
    /// USD per request.
    pub usd_per_request: f64,
    /// Where and when the figures were taken.
    pub source: &'static str,
}

/// us-east-1, arm64, first duration tier (up to 7.5 billion GB-s a month), no free tier, no savings
/// plan: $0.0000133334 per GB-s and $0.20 per million requests. Taken from
/// https://aws.amazon.com/lambda/pricing/ as published 2024 (unchanged since the tiered prices of
/// 2022); not re-read on the day this was written (2026-11-22), as this machine has no way to the page.
pub const ARM64_US_EAST_1: PriceTable = PriceTable {
    region: "us-east-1",
    architecture: "arm64",
    usd_per_gb_second: 0.000_013_333_4,
    usd_per_request: 0.000_000_2,
    source: "aws.amazon.com/lambda/pricing, us-east-1 arm64 first tier, as published 2024 (not re-checked 2026-11-22)",
};

impl PriceTable {
    /// USD for one invocation billed `billed_ms` at `memory_mb`.
    pub fn invocation_usd(&self, memory_mb: u32, billed_ms: u64) -> f64 {
        let gb_seconds = (billed_ms as f64 / 1000.0) * (f64::from(memory_mb) / 1024.0);
        gb_seconds * self.usd_per_gb_second + self.usd_per_request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_gb_for_one_second_costs_the_gb_second_price_plus_a_request() {
        let usd = ARM64_US_EAST_1.invocation_usd(1024, 1000);
        assert!(
            (usd - (0.000_013_333_4 + 0.000_000_2)).abs() < 1e-15,
            "{usd}"
        );
    }

    #[test]
    fn a_pbkdf2_call_at_128_mb_for_162_ms_costs_what_the_pricing_page_works_out() {
        // 0.162 s × 0.125 GB = 0.02025 GB-s → $2.7000135e-7, plus $2e-7 per request.
        let usd = ARM64_US_EAST_1.invocation_usd(128, 162);
        assert!((usd - 4.700_013_5e-7).abs() < 1e-15, "{usd}");
    }

    proptest! {
        #[test]
        fn cost_grows_with_billed_time_and_memory(mb in 128u32..10_240, ms in 0u64..900_000) {
            let p = ARM64_US_EAST_1;
            prop_assert!(p.invocation_usd(mb, ms) >= p.usd_per_request);
            prop_assert!(p.invocation_usd(mb, ms + 1) > p.invocation_usd(mb, ms));
            prop_assert!(p.invocation_usd(mb + 1, ms + 1) > p.invocation_usd(mb, ms + 1));
        }
    }
}
