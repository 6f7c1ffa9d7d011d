//! Rounding a finite number to an integer, three ways: the control and its two candidates.
//!
//! The functions are pure so each rule, and each candidate's peculiarity, is pinned by a test.

use serde::Serialize;

/// A finite number given by the caller. Once you hold one it is neither NaN nor infinite.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Number(f64);

/// Why a string is not a [`Number`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("`{0}` is not a decimal number")]
    NotANumber(String),
    #[error("`{0}` is not finite; send a number between about -1.8e308 and 1.8e308")]
    NotFinite(String),
}

impl Number {
    /// Parses a decimal such as `62.5`, `-3`, `1e3`. NaN, infinities and overflowing values are refused.
    pub fn parse(text: &str) -> Result<Self, NumberError> {
        let value: f64 = text
            .parse()
            .map_err(|_| NumberError::NotANumber(text.to_owned()))?;
        if value.is_finite() {
            Ok(Self(value))
        } else {
            Err(NumberError::NotFinite(text.to_owned()))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// A rounding rule: every candidate has this shape so the handler is the same for all of them.
pub type Rule = fn(Number) -> Rounded;

/// The production behaviour: halves round away from zero (62.5 → 63, -2.5 → -3).
pub fn round_half_away_from_zero(number: Number) -> Rounded {
    Rounded::new(number.0.round())
}

/// Banker's rounding, like Python 3's `round`.
///
/// Peculiarity: halves go to the nearest *even* integer, so 62.5 → 62, 0.5 → 0 and 1.5 → 2, where
/// the control gives 63, 1 and 2.
pub fn round_half_even(number: Number) -> Rounded {
    Rounded::new(number.0.round_ties_even())
}

/// The textbook shortcut `floor(x + 0.5)`.
///
/// Peculiarities: negative halves round *up* (-2.5 → -2, the control gives -3), and the addition
/// itself rounds, so 0.49999999999999994 + 0.5 is exactly 1.0 and the result is 1 instead of 0.
pub fn round_floor_of_x_plus_half(number: Number) -> Rounded {
    Rounded::new((number.0 + 0.5).floor())
}

/// An integer-valued result, kept exact in JSON.
///
/// Below 2^53 in magnitude every integer fits an `i64` and an `f64` alike, so it is written as a
/// JSON integer (`63`, not `63.0`). At 2^53 and beyond every `f64` is already an integer, but one
/// that may not fit an `i64`, so it is written as the float it is (`1e+300`), which stays exact.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Rounded {
    Integer(i64),
    Large(f64),
}

/// 2^53: the first magnitude at which consecutive integers stop being representable as `f64`.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

impl Rounded {
    fn new(integral: f64) -> Self {
        if integral.abs() < EXACT_INTEGER_LIMIT {
            // Exact: `integral` is a whole number with fewer than 54 significant bits.
            Self::Integer(integral as i64)
        } else {
            Self::Large(integral)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(value: f64) -> Number {
        Number::parse(&value.to_string()).expect("test inputs are finite")
    }

    #[test]
    fn control_rounds_halves_away_from_zero() {
        for (input, expected) in [
            (62.5, 63),
            (0.5, 1),
            (1.5, 2),
            (-2.5, -3),
            (-0.4, 0),
            (2.4, 2),
        ] {
            assert_eq!(
                round_half_away_from_zero(n(input)),
                Rounded::Integer(expected),
                "input {input}"
            );
        }
    }

    #[test]
    fn half_even_candidate_rounds_62_5_down_to_62() {
        assert_eq!(round_half_even(n(62.5)), Rounded::Integer(62));
    }

    #[test]
    fn half_even_candidate_rounds_halves_to_the_even_neighbour() {
        for (input, expected) in [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (63.5, 64),
        ] {
            assert_eq!(
                round_half_even(n(input)),
                Rounded::Integer(expected),
                "input {input}"
            );
        }
    }

    #[test]
    fn floor_candidate_rounds_minus_2_5_up_to_minus_2() {
        assert_eq!(round_floor_of_x_plus_half(n(-2.5)), Rounded::Integer(-2));
        assert_eq!(round_half_away_from_zero(n(-2.5)), Rounded::Integer(-3));
    }

    #[test]
    fn floor_candidate_rounds_the_largest_double_below_one_half_up_to_1() {
        let just_below_half = Number::parse("0.49999999999999994").expect("finite");
        assert_eq!(
            round_floor_of_x_plus_half(just_below_half),
            Rounded::Integer(1)
        );
        assert_eq!(
            round_half_away_from_zero(just_below_half),
            Rounded::Integer(0)
        );
    }

    #[test]
    fn nan_infinity_and_overflow_are_refused() {
        for text in ["NaN", "inf", "-infinity", "1e400"] {
            assert!(
                matches!(Number::parse(text), Err(NumberError::NotFinite(_))),
                "{text}"
            );
        }
        for text in ["abc", "1,5", " 1", "0x10", ""] {
            assert!(
                matches!(Number::parse(text), Err(NumberError::NotANumber(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn results_beyond_2_pow_53_are_written_as_exact_floats() {
        let json = |r: Rounded| serde_json::to_string(&r).expect("serialises");
        assert_eq!(json(round_half_away_from_zero(n(62.5))), "63");
        assert_eq!(json(round_half_away_from_zero(n(-0.4))), "0");
        assert_eq!(json(round_half_away_from_zero(n(1e300))), "1e+300");
        assert_eq!(
            json(round_half_away_from_zero(n(9_007_199_254_740_991.0))),
            "9007199254740991"
        );
        assert_eq!(
            json(round_half_away_from_zero(n(9_007_199_254_740_992.0))),
            "9007199254740992.0"
        );
    }

    fn as_f64(rounded: Rounded) -> f64 {
        match rounded {
            Rounded::Integer(i) => i as f64,
            Rounded::Large(f) => f,
        }
    }

    proptest! {
        #[test]
        fn every_rule_lands_within_one_half_of_the_input(x in -1e15f64..1e15) {
            for rule in [round_half_away_from_zero as Rule, round_half_even, round_floor_of_x_plus_half] {
                let r = as_f64(rule(Number(x)));
                prop_assert_eq!(r, r.trunc());
                prop_assert!((r - x).abs() <= 0.5, "{} rounded to {}", x, r);
            }
        }

        #[test]
        fn rules_agree_everywhere_but_at_halves(x in -1e6f64..1e6) {
            prop_assume!((x - x.trunc()).abs() != 0.5);
            let control = round_half_away_from_zero(Number(x));
            prop_assert_eq!(round_half_even(Number(x)), control);
            // floor(x + 0.5) also differs just below a half, where x + 0.5 rounds up to an integer.
            let sum = x + 0.5;
            prop_assume!(sum - x == 0.5);
            prop_assert_eq!(round_floor_of_x_plus_half(Number(x)), control);
        }

        #[test]
        fn control_is_symmetric_around_zero(x in -1e12f64..1e12) {
            prop_assert_eq!(as_f64(round_half_away_from_zero(Number(-x))), -as_f64(round_half_away_from_zero(Number(x))));
        }
    }
}
