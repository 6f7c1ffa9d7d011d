//! Short codes.
//!
//! A generated code is the counter id passed through a keyed permutation of `[0, 62^7)` and written
//! in base62, padded to [`CODE_LEN`] characters. The permutation is a bijection, so distinct ids
//! always give distinct codes (no collision check needed between generated codes), while
//! consecutive ids give unrelated codes, so nobody can enumerate links by counting.
//!
//! Capacity: 62^7 = 3,521,614,606,208 codes of 7 characters. The permutation is a balanced
//! Feistel network on 42 bits with cycle-walking back into the range (on average 1.25 passes).
//!
//! Custom aliases share the code namespace; [`ShortCode::parse_alias`] keeps them off the
//! app's own routes.

use sha2::{Digest, Sha256};

/// Length of every generated code.
pub const CODE_LEN: usize = 7;
/// How many distinct generated codes exist: 62^7.
pub const CAPACITY: u64 = 3_521_614_606_208;
/// Shortest and longest custom alias.
pub const ALIAS_LEN: std::ops::RangeInclusive<usize> = 3..=64;

/// Path segments the app or its neighbours on the same API use; an alias may not take them
/// (compared case-insensitively).
pub const RESERVED: &[&str] = &[
    "apple-app-site-association",
    "api",
    "stats",
    "health",
    "static",
    "assets",
    "favicon-ico",
    "robots-txt",
    "lambda-url",
    "round",
    "sort",
    "fizzbuzz",
    "pbkdf2",
    "experiments",
    "proxy",
    "links",
    // Not alias-shaped (an alias has no '.'), listed so the route check sees every route.
    "openapi.json",
];

const HALF_BITS: u32 = 21;
const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
const ROUNDS: usize = 6;

/// Why a code or alias was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error(
        "an alias is 3 to 64 characters: letters, digits, '-' and '_', starting with a letter or digit"
    )]
    InvalidAlias,
    #[error("the alias {0:?} is reserved for the app's own routes; choose another")]
    ReservedAlias(String),
    #[error("not a short code")]
    NotACode,
    #[error("all {CAPACITY} codes are used")]
    Exhausted,
}

/// The secret that keys the permutation. Changing it changes every future code (existing links
/// keep working: they are stored by code).
#[derive(Clone)]
pub struct CodeKey {
    round_keys: [[u8; 32]; ROUNDS],
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(<redacted>)")
    }
}

impl CodeKey {
    /// Derives the round keys from a secret of at least 16 bytes.
    pub fn new(secret: &[u8]) -> Option<Self> {
        if secret.len() < 16 {
            return None;
        }
        let mut round_keys = [[0u8; 32]; ROUNDS];
        for (round, key) in round_keys.iter_mut().enumerate() {
            let mut hasher = Sha256::new();
            hasher.update(b"shortener-code-round");
            hasher.update([round as u8]);
            hasher.update(secret);
            *key = hasher.finalize().into();
        }
        Some(Self { round_keys })
    }

    fn round(&self, round: usize, half: u64) -> u64 {
        let mut hasher = Sha256::new();
        hasher.update(self.round_keys[round]);
        hasher.update(half.to_le_bytes());
        let digest = hasher.finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default()) & HALF_MASK
    }

    fn feistel(&self, x: u64) -> u64 {
        let (mut left, mut right) = (x >> HALF_BITS, x & HALF_MASK);
        for round in 0..ROUNDS {
            let next = left ^ self.round(round, right);
            left = right;
            right = next;
        }
        (left << HALF_BITS) | right
    }

    /// A secret for another purpose (`label`), derived from this key; the key cannot be
    /// recovered from it.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"shortener-derived-key");
        hasher.update(label.as_bytes());
        for key in &self.round_keys {
            hasher.update(key);
        }
        hasher.finalize().into()
    }

    /// The keyed bijection on `[0, CAPACITY)`.
    pub fn permute(&self, id: u64) -> Result<u64, CodeError> {
        if id >= CAPACITY {
            return Err(CodeError::Exhausted);
        }
        // Cycle-walking: a permutation of [0, 2^42) applied until the value falls back in range
        // is a permutation of [0, CAPACITY).
        let mut value = self.feistel(id);
        while value >= CAPACITY {
            value = self.feistel(value);
        }
        Ok(value)
    }
}

/// A short code: generated or a custom alias. Holding one means it is a valid path segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortCode(String);

impl ShortCode {
    /// The generated code for counter id `id`.
    pub fn generate(key: &CodeKey, id: u64) -> Result<Self, CodeError> {
        let permuted = key.permute(id)?;
        Ok(Self(format!("{:0>CODE_LEN$}", base62::encode(permuted))))
    }

    /// A code taken from a request path: anything an alias or a generated code could be.
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        if is_code_shaped(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CodeError::NotACode)
        }
    }

    /// A custom alias chosen by a client.
    pub fn parse_alias(raw: &str) -> Result<Self, CodeError> {
        if !is_code_shaped(raw) {
            return Err(CodeError::InvalidAlias);
        }
        let folded = raw.to_ascii_lowercase().replace('.', "-");
        if RESERVED.contains(&folded.as_str()) {
            return Err(CodeError::ReservedAlias(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ShortCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_code_shaped(raw: &str) -> bool {
    ALIAS_LEN.contains(&raw.len())
        && raw
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn key() -> CodeKey {
        CodeKey::new(b"a test key of enough length").unwrap()
    }

    #[test]
    fn capacity_is_62_to_the_code_length() {
        assert_eq!(CAPACITY, 62u64.pow(CODE_LEN as u32));
        const { assert!(CAPACITY < 1 << (2 * HALF_BITS)) };
    }

    #[test]
    fn generated_codes_are_seven_base62_characters() {
        for id in [0, 1, 2, 61, 62, 1_000_000, CAPACITY - 1] {
            let code = ShortCode::generate(&key(), id).unwrap();
            assert_eq!(code.as_str().len(), CODE_LEN, "id {id}");
            assert!(code.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn ids_past_capacity_are_refused() {
        assert_eq!(
            ShortCode::generate(&key(), CAPACITY),
            Err(CodeError::Exhausted)
        );
    }

    #[test]
    fn consecutive_ids_give_unrelated_codes() {
        let codes: Vec<String> = (1..=50)
            .map(|id| ShortCode::generate(&key(), id).unwrap().0)
            .collect();
        // No shared 4-character prefix between neighbours, as counting up in base62 would give.
        let neighbours = codes.windows(2).filter(|w| w[0][..4] == w[1][..4]).count();
        assert!(neighbours <= 1, "{codes:?}");
    }

    #[test]
    fn a_different_key_gives_different_codes() {
        let other = CodeKey::new(b"another key of enough length").unwrap();
        let same = (1..=100)
            .filter(|id| ShortCode::generate(&key(), *id) == ShortCode::generate(&other, *id))
            .count();
        assert!(same <= 1);
    }

    #[test]
    fn the_first_hundred_thousand_ids_never_collide() {
        let key = key();
        let codes: HashSet<u64> = (0..100_000).map(|id| key.permute(id).unwrap()).collect();
        assert_eq!(codes.len(), 100_000);
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(CodeKey::new(b"too short").is_none());
    }

    #[test]
    fn aliases_are_checked_for_shape_and_reserved_names() {
        let cases = [
            ("my-link", Ok(())),
            ("A_b-9", Ok(())),
            ("ab", Err(CodeError::InvalidAlias)),
            ("-leading", Err(CodeError::InvalidAlias)),
            ("has space", Err(CodeError::InvalidAlias)),
            ("slash/y", Err(CodeError::InvalidAlias)),
            ("dot.ted", Err(CodeError::InvalidAlias)),
            ("ünï", Err(CodeError::InvalidAlias)),
            (
                "apple-app-site-association",
                Err(CodeError::ReservedAlias(
                    "apple-app-site-association".into(),
                )),
            ),
            ("FizzBuzz", Err(CodeError::ReservedAlias("FizzBuzz".into()))),
            ("stats", Err(CodeError::ReservedAlias("stats".into()))),
        ];
        for (raw, want) in cases {
            assert_eq!(
                ShortCode::parse_alias(raw).map(|_| ()),
                want,
                "case {raw:?}"
            );
        }
        assert!(ShortCode::parse_alias(&"a".repeat(65)).is_err());
    }

    proptest! {
        #[test]
        fn permute_is_injective_and_in_range(a in 0..CAPACITY, b in 0..CAPACITY) {
            let key = key();
            let (pa, pb) = (key.permute(a).unwrap(), key.permute(b).unwrap());
            prop_assert!(pa < CAPACITY && pb < CAPACITY);
            prop_assert_eq!(a == b, pa == pb);
        }

        #[test]
        fn every_generated_code_parses_as_a_code(id in 0..CAPACITY) {
            let code = ShortCode::generate(&key(), id).unwrap();
            prop_assert_eq!(ShortCode::parse(code.as_str()), Ok(code));
        }
    }
}
