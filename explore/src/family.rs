//! What to send each family of functions: a generator per family that aims at the inputs where
//! implementations of the same spec part ways (ties, widths, block boundaries), and a naive
//! "uniform" one that draws the way random traffic would, to measure what the aim is worth.
//!
//! Every generator is a proptest [`Strategy`], so what it draws shrinks: the alternatives a family
//! chooses from are listed simplest first (a union shrinks towards its earlier alternatives), and
//! numbers shrink towards zero.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::probe::Probe;

/// A family of functions: one request shape, one control, any number of candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Round,
    Sort,
    FizzBuzz,
    Pbkdf2,
}

/// Which generator draws the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// The family's edge cases (ties, mixed widths, multiples of 15, block boundaries).
    Generated,
    /// Uniform numbers and random lists, as random production traffic would send.
    Uniform,
}

impl Family {
    /// The family of `family` as functions.toml names it.
    pub fn parse(family: &str) -> Option<Self> {
        match family {
            "round" => Some(Self::Round),
            "sort" => Some(Self::Sort),
            "fizzbuzz" => Some(Self::FizzBuzz),
            "pbkdf2" => Some(Self::Pbkdf2),
            _ => None,
        }
    }

    /// The control's route (the functions answer on any path; this one reads well).
    pub fn path(self) -> &'static str {
        match self {
            Self::Round => "/round",
            Self::Sort => "/sort",
            Self::FizzBuzz => "/fizzbuzz",
            Self::Pbkdf2 => "/pbkdf2",
        }
    }

    pub fn strategy(self, distribution: Distribution) -> BoxedStrategy<Probe> {
        let path = self.path();
        match (self, distribution) {
            (Self::Round, Distribution::Generated) => round_numbers()
                .prop_map(move |x| round_probe(path, x))
                .boxed(),
            (Self::Round, Distribution::Uniform) => (-1000.0f64..1000.0)
                .prop_map(move |x| round_probe(path, x))
                .boxed(),
            (Self::Sort, Distribution::Generated) => sort_lists()
                .prop_map(move |list| Probe::post_json(path, &list))
                .boxed(),
            (Self::Sort, Distribution::Uniform) => vec(-1000i64..1000, 0..10)
                .prop_map(move |list| Probe::post_json(path, &json!(list)))
                .boxed(),
            (Self::FizzBuzz, Distribution::Generated) => fizzbuzz_queries()
                .prop_map(move |query| Probe::get(path, query))
                .boxed(),
            (Self::FizzBuzz, Distribution::Uniform) => (1i64..100_000, 0i64..20)
                .prop_map(move |(from, length)| {
                    Probe::get(path, format!("from={from}&to={}", from + length))
                })
                .boxed(),
            (Self::Pbkdf2, Distribution::Generated) => pbkdf2_bodies()
                .prop_map(move |body| Probe::post_json(path, &body))
                .boxed(),
            (Self::Pbkdf2, Distribution::Uniform) => (
                "[ -~]{0,20}",
                "[ -~]{0,20}",
                1u32..10,
                1u32..=128,
            )
                .prop_map(move |(password, salt, iterations, key_length)| {
                    Probe::post_json(
                        path,
                        &json!({"password": password, "salt": salt, "iterations": iterations, "keyLength": key_length}),
                    )
                })
                .boxed(),
        }
    }
}

/// `?number=` as Rust writes the double (shortest round-trip text; exponents for huge and tiny).
fn round_probe(path: &str, x: f64) -> Probe {
    Probe::get(path, format!("number={x:?}"))
}

/// The double `steps` representable values away from `x` (towards +infinity when positive).
fn ulps_away(x: f64, steps: i64) -> f64 {
    let mut value = x;
    for _ in 0..steps.unsigned_abs() {
        value = if steps > 0 {
            value.next_up()
        } else {
            value.next_down()
        };
    }
    value
}

/// A whole number below 2^`max_bits`, drawn as a width then a value of that width: it shrinks
/// through narrower widths (each tried at random values, as proptest's flat maps do) down to 0,
/// where a binary search on the value alone stops at the first boundary it meets (half-even
/// rounding differs on every other tie, so one search from 102 stops near 70).
fn small_first(max_bits: u32) -> impl Strategy<Value = i64> {
    (0..=max_bits).prop_flat_map(|bits| 0i64..(1i64 << bits))
}

/// `n + 0.5` or `-(n + 0.5)`, then `steps` doubles away from it.
fn near_tie(n: i64, negative: bool, steps: i64) -> f64 {
    let tie = n as f64 + 0.5;
    ulps_away(if negative { -tie } else { tie }, steps)
}

/// Ties (`n + 0.5`, negative ones included), the doubles a few steps from a tie (among them
/// 0.49999999999999994, the largest below one half), odd integers past 2^52 (where `x + 0.5` is
/// no longer exact), tiny and huge magnitudes, then plain decimals.
fn round_numbers() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (small_first(10), any::<bool>()).prop_map(|(n, negative)| near_tie(n, negative, 0)),
        2 => (small_first(10), any::<bool>(), -3i64..=3)
            .prop_map(|(n, negative, steps)| near_tie(n, negative, steps)),
        1 => (0i64..1000, any::<bool>()).prop_map(|(m, negative)| {
            let x = (1i64 << 52) as f64 + (2 * m + 1) as f64;
            if negative { -x } else { x }
        }),
        1 => (1i32..=308, any::<bool>()).prop_map(|(e, negative)| {
            let x = 10f64.powi(-e);
            if negative { -x } else { x }
        }),
        1 => (15i32..=308).prop_map(|e| 10f64.powi(e)),
        2 => (-10_000i64..10_000, 0i64..100).prop_map(|(whole, cents)| whole as f64 + cents as f64 / 100.0),
    ]
}

/// Lists of numbers of mixed widths (negatives, duplicates, decimals, integers past 2^53 that a
/// sort through f64 confuses), lists of words, and the empty list.
fn sort_lists() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        3 => (0i64..10).prop_map(Value::from),
        3 => (10i64..1000).prop_map(Value::from),
        1 => (1000i64..10_000_000).prop_map(Value::from),
        2 => (-1000i64..0).prop_map(Value::from),
        1 => (0i64..1000, any::<bool>()).prop_map(|(m, negative)| {
            let x = (1i64 << 53) + m;
            Value::from(if negative { -x } else { x })
        }),
        1 => (-1000i64..1000, 1i64..100).prop_map(|(whole, cents)| Value::from(whole as f64 + cents as f64 / 100.0)),
    ];
    let word = "[a-zA-Z0-9 ]{0,6}";
    prop_oneof![
        6 => vec(number, 2..8).prop_map(Value::from),
        2 => vec(0i64..3, 2..8).prop_map(|list| json!(list)),
        2 => vec(word, 0..8).prop_map(|list| json!(list)),
        1 => Just(json!([])),
    ]
}

/// Ranges across multiples of 3, 5 and 15, ranges around one multiple of 15, a parameter left to
/// its default, none at all, and `from` above `to`.
fn fizzbuzz_queries() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1i64..200, 0i64..40).prop_map(|(from, length)| format!("from={from}&to={}", from + length)),
        2 => (1i64..20, 0i64..4, 0i64..4).prop_map(|(m, before, after)| {
            format!("from={}&to={}", 15 * m - before, 15 * m + after)
        }),
        1 => (1i64..200).prop_map(|from| format!("from={from}")),
        1 => (-50i64..200).prop_map(|to| format!("to={to}")),
        1 => Just(String::new()),
        1 => (1i64..200, 1i64..50).prop_map(|(from, below)| format!("from={from}&to={}", from - below)),
    ]
}

/// Small iteration counts, key lengths on both sides of the 32-byte block (and of 64 and 96),
/// passwords and salts empty, short, and past HMAC's 64-byte block (hashed first), salts as text
/// or hex.
fn pbkdf2_bodies() -> impl Strategy<Value = Value> {
    let key_length = prop_oneof![1u32..=3, 31u32..=33, 63u32..=65, 95u32..=97];
    let text = prop_oneof!["[a-z]{0,8}", "[a-z]{63,66}", "[ -~]{0,24}"];
    let salt = prop_oneof![
        text.clone().prop_map(|salt| ("salt", salt)),
        vec(any::<u8>(), 0..40).prop_map(|bytes| {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            ("saltHex", hex)
        }),
    ];
    (text, salt, 1u32..=4, key_length).prop_map(
        |(password, (field, salt), iterations, key_length)| {
            let mut body =
                json!({"password": password, "iterations": iterations, "keyLength": key_length});
            body[field] = Value::from(salt);
            body
        },
    )
}

#[cfg(test)]
mod tests {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    use super::*;

    fn runner(seed: u8) -> TestRunner {
        TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
        )
    }

    fn draws(family: Family, distribution: Distribution, n: usize) -> Vec<Probe> {
        let strategy = family.strategy(distribution);
        let mut runner = runner(7);
        (0..n)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect()
    }

    fn number(probe: &Probe) -> f64 {
        probe.parameters()[0].1.parse().unwrap()
    }

    #[test]
    fn the_round_generator_draws_ties_negative_ties_and_the_double_below_one_half() {
        let numbers: Vec<f64> = draws(Family::Round, Distribution::Generated, 2000)
            .iter()
            .map(number)
            .collect();
        let tie = |x: &f64| x.fract().abs() == 0.5;
        assert!(numbers.iter().filter(|x| tie(x)).count() > 500);
        assert!(numbers.iter().any(|x| tie(x) && *x < 0.0));
        assert!(numbers.iter().any(|x| x.abs() > 1e15));
        assert!(numbers.iter().any(|x| *x != 0.0 && x.abs() < 1e-10));
        assert!(
            numbers.contains(&0.49999999999999994)
                || numbers.iter().any(|x| {
                    let below = x.next_up();
                    below.fract().abs() == 0.5 && !tie(x)
                })
        );
    }

    #[test]
    fn uniform_numbers_almost_never_land_on_a_tie() {
        let ties = draws(Family::Round, Distribution::Uniform, 2000)
            .iter()
            .filter(|p| number(p).fract().abs() == 0.5)
            .count();
        assert_eq!(ties, 0);
    }

    #[test]
    fn the_sort_generator_draws_mixed_widths_words_and_the_empty_list() {
        let lists: Vec<Value> = draws(Family::Sort, Distribution::Generated, 500)
            .iter()
            .map(|p| serde_json::from_str(p.body.as_deref().unwrap()).unwrap())
            .collect();
        let widths = |list: &Value| {
            let mut widths: Vec<usize> = list
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v.is_number())
                .map(|v| v.to_string().len())
                .collect();
            widths.dedup();
            widths.len()
        };
        assert!(lists.iter().any(|l| widths(l) > 1));
        assert!(
            lists
                .iter()
                .any(|l| l.as_array().unwrap().iter().any(Value::is_string))
        );
        assert!(lists.iter().any(|l| l == &json!([])));
        assert!(lists.iter().any(|l| l.to_string().contains('-')));
    }

    #[test]
    fn the_fizzbuzz_generator_draws_defaults_and_from_above_to() {
        let queries: Vec<String> = draws(Family::FizzBuzz, Distribution::Generated, 500)
            .into_iter()
            .map(|p| p.query)
            .collect();
        assert!(queries.iter().any(String::is_empty));
        assert!(queries.iter().any(|q| q.starts_with("to=")));
        assert!(queries.iter().any(|q| {
            let (from, to) = q.split_once("&to=").unwrap_or(("", ""));
            let from: i64 = from.trim_start_matches("from=").parse().unwrap_or(0);
            let to: i64 = to.parse().unwrap_or(i64::MAX);
            from > to
        }));
    }

    #[test]
    fn the_pbkdf2_generator_crosses_the_32_byte_block_with_few_iterations() {
        let bodies: Vec<Value> = draws(Family::Pbkdf2, Distribution::Generated, 500)
            .iter()
            .map(|p| serde_json::from_str(p.body.as_deref().unwrap()).unwrap())
            .collect();
        for length in [31, 32, 33] {
            assert!(bodies.iter().any(|b| b["keyLength"] == length), "{length}");
        }
        assert!(
            bodies
                .iter()
                .all(|b| b["iterations"].as_u64().unwrap() <= 4)
        );
        assert!(bodies.iter().any(|b| b.get("saltHex").is_some()));
        assert!(
            bodies
                .iter()
                .any(|b| b["password"].as_str().unwrap().len() > 64)
        );
    }

    #[test]
    fn the_same_seed_draws_the_same_requests() {
        for family in [
            Family::Round,
            Family::Sort,
            Family::FizzBuzz,
            Family::Pbkdf2,
        ] {
            for distribution in [Distribution::Generated, Distribution::Uniform] {
                assert_eq!(
                    draws(family, distribution, 50),
                    draws(family, distribution, 50),
                    "{family:?} {distribution:?}"
                );
            }
        }
    }

    #[test]
    fn a_tie_shrinks_towards_one_half() {
        let strategy = small_first(10).prop_map(|n| near_tie(n, false, 0));
        let mut runner = runner(3);
        let mut tree = strategy.new_tree(&mut runner).unwrap();
        while tree.simplify() {}
        assert_eq!(tree.current(), 0.5);
    }
}
