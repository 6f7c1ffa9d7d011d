//! Picking one memory size from the measured points, per strategy.
//!
//! - `cost`: the lowest cost per invocation (ties: the faster, then the smaller).
//! - `speed`: the lowest mean duration; among the sizes measurement cannot tell from it (their
//!   means' 95 % intervals overlap the fastest's), the cheapest, then the smaller. Without this,
//!   3008 MB was recommended over 1769 MB on 0.1 ms of noise.
//! - `balanced` with weight `w`: the lowest `w·cost/max cost + (1 − w)·duration/max duration`, as
//!   AWS Lambda Power Tuning does; `w = 1` is `cost`, `w = 0` is `speed`.

use crate::options::{Strategy, Weight};

/// One memory size's steady-state figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub memory_mb: u32,
    pub duration_ms: f64,
    /// Half the width of the mean duration's 95 % confidence interval (0 when unknown).
    pub duration_margin_ms: f64,
    pub cost_usd: f64,
}

impl Point {
    /// Whether measurement can tell the two mean durations apart: their 95 % intervals do not
    /// overlap.
    pub fn distinguishable_from(&self, other: &Point) -> bool {
        (self.duration_ms - other.duration_ms).abs()
            > self.duration_margin_ms + other.duration_margin_ms
    }
}

/// The value the strategy minimises at `points[i]`.
pub fn objective(points: &[Point], strategy: Strategy, i: usize) -> f64 {
    let p = points[i];
    match strategy {
        Strategy::Cost => p.cost_usd,
        Strategy::Speed => p.duration_ms,
        Strategy::Balanced(weight) => {
            let max_cost = points.iter().map(|p| p.cost_usd).fold(0.0, f64::max);
            let max_duration = points.iter().map(|p| p.duration_ms).fold(0.0, f64::max);
            let share = |value: f64, max: f64| if max > 0.0 { value / max } else { 0.0 };
            let w = weight.get();
            w * share(p.cost_usd, max_cost) + (1.0 - w) * share(p.duration_ms, max_duration)
        }
    }
}

/// The index of the recommended point; `None` when there are no points.
pub fn recommend(points: &[Point], strategy: Strategy) -> Option<usize> {
    let secondary = |p: &Point| match strategy {
        Strategy::Speed => p.cost_usd,
        Strategy::Cost | Strategy::Balanced(_) => p.duration_ms,
    };
    let best = (0..points.len()).min_by(|&a, &b| {
        objective(points, strategy, a)
            .total_cmp(&objective(points, strategy, b))
            .then(secondary(&points[a]).total_cmp(&secondary(&points[b])))
            .then(points[a].memory_mb.cmp(&points[b].memory_mb))
    })?;
    if strategy != Strategy::Speed {
        return Some(best);
    }
    within_noise_of(points, best).into_iter().min_by(|&a, &b| {
        (points[a].cost_usd.total_cmp(&points[b].cost_usd))
            .then(points[a].memory_mb.cmp(&points[b].memory_mb))
    })
}

/// The points whose mean duration measurement cannot tell from `points[i]`'s, `i` included.
pub fn within_noise_of(points: &[Point], i: usize) -> Vec<usize> {
    (0..points.len())
        .filter(|&j| j == i || !points[j].distinguishable_from(&points[i]))
        .collect()
}

/// The three strategies the report always shows, with the balanced weight given.
pub fn all_strategies(weight: Weight) -> [Strategy; 3] {
    [Strategy::Cost, Strategy::Speed, Strategy::Balanced(weight)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{prop, prop_assert, prop_assert_eq, proptest};
    use proptest::strategy::Strategy as _;

    /// A CPU-bound function: duration halves as memory doubles up to 1769 MB, then stays flat.
    fn cpu_bound() -> Vec<Point> {
        let prices = crate::cost::ARM64_US_EAST_1;
        [
            (128, 161.0),
            (256, 80.6),
            (512, 40.4),
            (1024, 20.3),
            (1769, 11.8),
            (3008, 11.7),
        ]
        .into_iter()
        .map(|(memory_mb, duration_ms): (u32, f64)| Point {
            memory_mb,
            duration_ms,
            duration_margin_ms: 0.0,
            cost_usd: prices.invocation_usd(memory_mb, duration_ms.ceil() as u64),
        })
        .collect()
    }

    fn pick(points: &[Point], strategy: Strategy) -> u32 {
        points[recommend(points, strategy).unwrap()].memory_mb
    }

    #[test]
    fn for_a_cpu_bound_function_cost_picks_a_small_size_and_speed_the_largest() {
        let points = cpu_bound();
        // Billed ms × MB: 161×128 = 20608 < 81×256 = 20736 < 41×512 = 20992 < 21×1024 = 21504.
        assert_eq!(pick(&points, Strategy::Cost), 128);
        assert_eq!(pick(&points, Strategy::Speed), 3008);
        // Balanced at 0.5: 1769 MB costs 0.711 of the dearest and takes 0.073 of the slowest
        // (0.392); 1024 MB scores 0.716 and 0.126 (0.421).
        assert_eq!(
            pick(&points, Strategy::Balanced(Weight::parse("0.5").unwrap())),
            1769
        );
    }

    #[test]
    fn speed_takes_the_cheapest_of_the_sizes_noise_cannot_tell_from_the_fastest() {
        // The attendee's run: 3008 MB 0.1 ms faster than 1769 MB, each mean ±0.3 ms.
        let mut points = cpu_bound();
        for p in &mut points {
            p.duration_margin_ms = 0.3;
        }
        assert_eq!(pick(&points, Strategy::Speed), 1769);
        assert_eq!(within_noise_of(&points, 5), vec![4, 5]);
        // Measured closely enough, 3008 MB is faster, and speed takes it.
        for p in &mut points {
            p.duration_margin_ms = 0.01;
        }
        assert_eq!(pick(&points, Strategy::Speed), 3008);
    }

    #[test]
    fn no_points_no_recommendation() {
        assert_eq!(recommend(&[], Strategy::Cost), None);
    }

    fn points() -> impl proptest::strategy::Strategy<Value = Vec<Point>> {
        prop::collection::vec((128u32..10_240, 0.0f64..10_000.0, 0.0f64..0.01), 1..12).prop_map(
            |rows| {
                rows.into_iter()
                    .map(|(memory_mb, duration_ms, cost_usd)| Point {
                        memory_mb,
                        duration_ms,
                        duration_margin_ms: 0.0,
                        cost_usd,
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #[test]
        fn the_pick_minimises_the_stated_objective(points in points(), w in 0.0f64..=1.0) {
            let weight = Weight::parse(&w.to_string()).unwrap();
            for strategy in [Strategy::Cost, Strategy::Balanced(weight)] {
                let chosen = recommend(&points, strategy).unwrap();
                for other in 0..points.len() {
                    prop_assert!(
                        objective(&points, strategy, chosen) <= objective(&points, strategy, other),
                        "{strategy:?}: {chosen} is not minimal against {other}"
                    );
                }
            }
        }

        #[test]
        fn cost_and_speed_pick_the_cheapest_and_the_fastest(points in points()) {
            let cheapest = points.iter().map(|p| p.cost_usd).fold(f64::INFINITY, f64::min);
            let fastest = points.iter().map(|p| p.duration_ms).fold(f64::INFINITY, f64::min);
            prop_assert_eq!(points[recommend(&points, Strategy::Cost).unwrap()].cost_usd, cheapest);
            prop_assert_eq!(points[recommend(&points, Strategy::Speed).unwrap()].duration_ms, fastest);
        }

        #[test]
        fn balanced_at_the_ends_is_cost_or_speed(points in points()) {
            let at = |w: &str| recommend(&points, Strategy::Balanced(Weight::parse(w).unwrap())).unwrap();
            let cheapest = points.iter().map(|p| p.cost_usd).fold(f64::INFINITY, f64::min);
            let fastest = points.iter().map(|p| p.duration_ms).fold(f64::INFINITY, f64::min);
            prop_assert_eq!(points[at("1")].cost_usd, cheapest);
            prop_assert_eq!(points[at("0")].duration_ms, fastest);
        }
    }
}
