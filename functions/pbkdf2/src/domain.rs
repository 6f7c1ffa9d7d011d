//! Key derivation with PBKDF2-HMAC-SHA256: validated inputs and the two implementations compared.
//!
//! [`derive_control`] is the `pbkdf2` crate, production's choice. [`derive_fast`] is the candidate in
//! [`crate::fast`]. Both must give the same bytes for the same [`Derivation`].

use sha2::Sha256;

/// The largest key a caller may ask for, in bytes.
pub const MAX_KEY_LENGTH: u64 = 1024;

/// The key length used when the caller gives none, in bytes (one SHA-256 output).
pub const DEFAULT_KEY_LENGTH: KeyLength = KeyLength(32);

/// Why an input is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("iterations must be a whole number of at least 1")]
    InvalidIterations,
    #[error("iterations is {given}; this function allows at most {cap}")]
    IterationsTooHigh { given: u64, cap: u32 },
    #[error("keyLength must be a whole number of bytes from 1 to {MAX_KEY_LENGTH}")]
    InvalidKeyLength,
    #[error(
        "iterations × blocks is {work} (keyLength {key_length} needs {blocks} blocks of 32 bytes, \
         each {iterations} iterations); this function allows at most {cap}: lower iterations or \
         keyLength"
    )]
    WorkTooHigh {
        iterations: u32,
        key_length: usize,
        blocks: u64,
        work: u64,
        cap: u32,
    },
}

impl InputError {
    /// The stable code a client sees in the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidIterations => "invalid_iterations",
            Self::IterationsTooHigh { .. } => "iterations_too_high",
            Self::InvalidKeyLength => "invalid_key_length",
            Self::WorkTooHigh { .. } => "work_too_high",
        }
    }
}

/// A PBKDF2 iteration count between 1 and the configured cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iterations(u32);

impl Iterations {
    pub fn parse(n: u64, cap: u32) -> Result<Self, InputError> {
        match u32::try_from(n) {
            Ok(0) => Err(InputError::InvalidIterations),
            Ok(n) if n <= cap => Ok(Self(n)),
            _ => Err(InputError::IterationsTooHigh { given: n, cap }),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A derived key's length in bytes, 1 to [`MAX_KEY_LENGTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLength(usize);

impl KeyLength {
    pub fn parse(n: u64) -> Result<Self, InputError> {
        match usize::try_from(n) {
            Ok(n) if (1..=MAX_KEY_LENGTH).contains(&(n as u64)) => Ok(Self(n)),
            _ => Err(InputError::InvalidKeyLength),
        }
    }

    pub fn get(self) -> usize {
        self.0
    }
}

/// Bytes a caller wants kept out of logs (passwords, salts): `Debug` shows only their length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// Checks that a derivation's work fits under the cap. PBKDF2 runs all its iterations once per
/// 32-byte block of output, so the cost of a request is iterations × blocks, and that is what must
/// stay under the cap for a request to end before the function's timeout.
pub fn check_work(
    iterations: Iterations,
    key_length: KeyLength,
    cap: u32,
) -> Result<(), InputError> {
    let blocks = key_length.get().div_ceil(32) as u64;
    let work = u64::from(iterations.get()) * blocks;
    if work <= u64::from(cap) {
        Ok(())
    } else {
        Err(InputError::WorkTooHigh {
            iterations: iterations.get(),
            key_length: key_length.get(),
            blocks,
            work,
            cap,
        })
    }
}

/// Everything one derivation needs, all of it valid.
#[derive(Debug, Clone)]
pub struct Derivation {
    pub password: Secret,
    pub salt: Secret,
    pub iterations: Iterations,
    pub key_length: KeyLength,
}

/// The control: the `pbkdf2` crate over `sha2`.
pub fn derive_control(derivation: &Derivation) -> Vec<u8> {
    let mut key = vec![0u8; derivation.key_length.get()];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        derivation.password.expose(),
        derivation.salt.expose(),
        derivation.iterations.get(),
        &mut key,
    );
    key
}

/// The candidate: precomputed HMAC states and two raw compressions per iteration.
pub fn derive_fast(derivation: &Derivation) -> Vec<u8> {
    let mut key = vec![0u8; derivation.key_length.get()];
    crate::fast::pbkdf2_hmac_sha256(
        derivation.password.expose(),
        derivation.salt.expose(),
        derivation.iterations.get(),
        &mut key,
    );
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn derivation(password: &[u8], salt: &[u8], iterations: u32, key_length: u64) -> Derivation {
        Derivation {
            password: Secret::new(password),
            salt: Secret::new(salt),
            iterations: Iterations::parse(u64::from(iterations), u32::MAX).expect("valid"),
            key_length: KeyLength::parse(key_length).expect("valid"),
        }
    }

    /// RFC 7914 section 11 and the widely published vectors for P="password", S="salt".
    const VECTORS: [(&str, &str, u32, u64, &str); 5] = [
        (
            "passwd",
            "salt",
            1,
            64,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
        ),
        (
            "Password",
            "NaCl",
            80_000,
            64,
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
        ),
        (
            "password",
            "salt",
            1,
            32,
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
        ),
        (
            "password",
            "salt",
            2,
            32,
            "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
        ),
        (
            "password",
            "salt",
            4096,
            32,
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
        ),
    ];

    #[test]
    fn control_matches_published_test_vectors() {
        for (password, salt, c, len, expected) in VECTORS {
            let key = derive_control(&derivation(password.as_bytes(), salt.as_bytes(), c, len));
            assert_eq!(hex::encode(key), expected, "P={password} S={salt} c={c}");
        }
    }

    #[test]
    fn fast_candidate_matches_published_test_vectors() {
        for (password, salt, c, len, expected) in VECTORS {
            let key = derive_fast(&derivation(password.as_bytes(), salt.as_bytes(), c, len));
            assert_eq!(hex::encode(key), expected, "P={password} S={salt} c={c}");
        }
    }

    #[test]
    fn iterations_must_be_between_1_and_the_cap() {
        assert_eq!(Iterations::parse(0, 10), Err(InputError::InvalidIterations));
        assert_eq!(Iterations::parse(10, 10).map(Iterations::get), Ok(10));
        assert_eq!(
            Iterations::parse(11, 10),
            Err(InputError::IterationsTooHigh { given: 11, cap: 10 })
        );
        assert_eq!(
            Iterations::parse(u64::MAX, u32::MAX).map_err(|e| e.code()),
            Err("iterations_too_high")
        );
    }

    #[test]
    fn work_counts_every_32_byte_block_of_output() {
        let iterations = |n| Iterations::parse(n, u32::MAX).expect("valid");
        let key = |n| KeyLength::parse(n).expect("valid");
        assert_eq!(check_work(iterations(100), key(32), 100), Ok(()));
        assert_eq!(check_work(iterations(50), key(64), 100), Ok(()));
        assert_eq!(
            check_work(iterations(50), key(65), 100),
            Err(InputError::WorkTooHigh {
                iterations: 50,
                key_length: 65,
                blocks: 3,
                work: 150,
                cap: 100
            })
        );
        // The largest request the default cap allows in iterations alone fits; 32 blocks of it do not.
        let cap = 1_000_000;
        assert_eq!(check_work(iterations(1_000_000), key(32), cap), Ok(()));
        assert_eq!(
            check_work(iterations(1_000_000), key(1024), cap).map_err(|e| e.code()),
            Err("work_too_high")
        );
        assert_eq!(
            check_work(iterations(u32::MAX.into()), key(1024), u32::MAX).map_err(|e| e.code()),
            Err("work_too_high")
        );
    }

    #[test]
    fn key_length_must_be_between_1_and_1024() {
        for n in [0, 1025, u64::MAX] {
            assert_eq!(
                KeyLength::parse(n),
                Err(InputError::InvalidKeyLength),
                "{n}"
            );
        }
        assert_eq!(KeyLength::parse(1024).map(KeyLength::get), Ok(1024));
    }

    #[test]
    fn debug_output_never_shows_password_or_salt() {
        let shown = format!("{:?}", derivation(b"hunter2", b"pepper", 1, 32));
        assert!(
            !shown.contains("hunter2") && !shown.contains("pepper"),
            "{shown}"
        );
        assert!(
            !shown.contains("104, 117"),
            "bytes of the password leak: {shown}"
        );
        assert!(shown.contains("7 bytes redacted"), "{shown}");
    }

    proptest! {
        #[test]
        fn fast_candidate_equals_control(
            password in prop::collection::vec(any::<u8>(), 0..150),
            salt in prop::collection::vec(any::<u8>(), 0..100),
            iterations in 1u32..40,
            key_length in 1u64..=100,
        ) {
            let d = derivation(&password, &salt, iterations, key_length);
            prop_assert_eq!(hex::encode(derive_fast(&d)), hex::encode(derive_control(&d)));
        }
    }
}
