//! PBKDF2-HMAC-SHA256 by hand, doing the least SHA-256 work the algorithm allows.
//!
//! HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). The key blocks `K ^ ipad` and `K ^ opad` are
//! the same for every one of PBKDF2's iterations, so their SHA-256 states are computed once. Every
//! later message is a 32-byte digest, and 64 + 32 bytes always pads the same way, so an iteration is
//! exactly two calls of the raw compression function on one pre-padded 64-byte block: no buffering,
//! no padding logic and no byte-by-byte hashing in the hot loop.

use sha2::block_api::compress256;
use sha2::{Digest, Sha256};

/// SHA-256's initial state (FIPS 180-4, 5.3.3); `sha2` keeps its copy private.
const INITIAL_STATE: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const BLOCK_LEN: usize = 64;
const DIGEST_LEN: usize = 32;

/// A 64-byte block whose first 32 bytes receive a digest, already padded for a message of one key
/// block plus that digest: `0x80`, zeros, then the length 768 bits as a big-endian `u64`.
const PADDED_DIGEST_BLOCK: [u8; BLOCK_LEN] = {
    let mut block = [0u8; BLOCK_LEN];
    block[DIGEST_LEN] = 0x80;
    let bits = (((BLOCK_LEN + DIGEST_LEN) * 8) as u64).to_be_bytes();
    let mut i = 0;
    while i < 8 {
        block[BLOCK_LEN - 8 + i] = bits[i];
        i += 1;
    }
    block
};

/// HMAC-SHA256 with its key absorbed: the states after the `K ^ ipad` and `K ^ opad` blocks.
#[derive(Clone, Copy)]
pub struct KeyedHmac {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl std::fmt::Debug for KeyedHmac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The states are as good as the key for an attacker.
        f.write_str("KeyedHmac(<redacted>)")
    }
}

impl KeyedHmac {
    pub fn new(key: &[u8]) -> Self {
        let mut key_block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            key_block[..DIGEST_LEN].copy_from_slice(&Sha256::digest(key));
        } else {
            key_block[..key.len()].copy_from_slice(key);
        }
        let ipad = key_block.map(|b| b ^ 0x36);
        let opad = key_block.map(|b| b ^ 0x5c);
        let mut inner = INITIAL_STATE;
        compress256(&mut inner, &[ipad]);
        let mut outer = INITIAL_STATE;
        compress256(&mut outer, &[opad]);
        Self { inner, outer }
    }

    /// HMAC of any message; used once per output block, so plain code is fine here.
    fn mac(&self, message: &[u8]) -> [u32; 8] {
        let inner = finish(self.inner, message);
        let mut block = PADDED_DIGEST_BLOCK;
        self.outer_hash(&inner, &mut block)
    }

    /// The outer hash over the inner digest: one compression.
    #[inline(always)]
    fn outer_hash(&self, inner: &[u32; 8], block: &mut [u8; BLOCK_LEN]) -> [u32; 8] {
        write_words(inner, block);
        let mut outer = self.outer;
        compress256(&mut outer, std::slice::from_ref(block));
        outer
    }
}

/// Writes state words as SHA-256's big-endian digest bytes. Written word by word so that, where the
/// hot loop is compiled with SSSE3, it becomes one byte shuffle and one 16-byte store per 16 bytes:
/// the compression function reads the block 16 bytes at a time, and a load that spans several
/// smaller stores cannot be forwarded from them and waits for them to reach the cache.
#[inline(always)]
fn write_words(words: &[u32; 8], block: &mut [u8; BLOCK_LEN]) {
    for (bytes, word) in block[..DIGEST_LEN].chunks_exact_mut(4).zip(words) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
}

/// Finishes a hash whose state has absorbed one 64-byte block already, with `message` as the rest.
fn finish(mut state: [u32; 8], message: &[u8]) -> [u32; 8] {
    let bits = ((BLOCK_LEN + message.len()) as u64) * 8;
    // The message, 0x80, zeros, then the 8-byte length, filling whole blocks.
    let padded_len = (message.len() + 1 + 8).next_multiple_of(BLOCK_LEN);
    let mut padded = Vec::with_capacity(padded_len);
    padded.extend_from_slice(message);
    padded.push(0x80);
    padded.resize(padded_len - 8, 0);
    padded.extend_from_slice(&bits.to_be_bytes());
    let (blocks, rest) = padded.as_chunks::<BLOCK_LEN>();
    debug_assert!(rest.is_empty());
    compress256(&mut state, blocks);
    state
}

/// Fills `out` with PBKDF2-HMAC-SHA256(`password`, `salt`, `rounds`).
///
/// `rounds` of 0 is treated as 1 (PBKDF2 has no zero); callers validate it with `Iterations`.
/// `out` may be up to (2^32 - 1) × 32 bytes, far beyond what any caller asks.
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    let prf = KeyedHmac::new(password);
    let mut message = Vec::with_capacity(salt.len() + 4);
    for (index, chunk) in (1u32..).zip(out.chunks_mut(DIGEST_LEN)) {
        message.clear();
        message.extend_from_slice(salt);
        message.extend_from_slice(&index.to_be_bytes());
        let t = iterate(&prf, prf.mac(&message), rounds);
        let mut bytes = [0u8; BLOCK_LEN];
        write_words(&t, &mut bytes);
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// U_1 ^ U_2 ^ ... ^ U_rounds of one output block, given U_1: PBKDF2's hot loop.
fn iterate(prf: &KeyedHmac, first: [u32; 8], rounds: u32) -> [u32; 8] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: this CPU has SSSE3, checked just above.
        return unsafe { iterate_ssse3(prf, first, rounds) };
    }
    iterate_body(prf, first, rounds)
}

/// The hot loop compiled with SSSE3, which every x86-64 CPU with SHA extensions has. The x86-64
/// baseline (SSE2) has no byte shuffle, so there [`write_words`] becomes eight `bswap`s and
/// narrow stores, and each of the compression function's 16-byte loads of the block waits for the
/// stores it spans to reach the cache. With SSSE3 it is one `pshufb` and one 16-byte store per 16
/// bytes, which the load takes straight from the store buffer. Measured on Zen 4: the loop went
/// from 1.16× to 1.07× the cost of the bare compressions (see `benches/benches/pbkdf2.rs`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn iterate_ssse3(prf: &KeyedHmac, first: [u32; 8], rounds: u32) -> [u32; 8] {
    iterate_body(prf, first, rounds)
}

/// Two compressions per iteration on one pre-padded block. Inlined into each caller so that it is
/// compiled with that caller's target features.
#[inline(always)]
fn iterate_body(prf: &KeyedHmac, first: [u32; 8], rounds: u32) -> [u32; 8] {
    let mut block = PADDED_DIGEST_BLOCK;
    let mut u = first;
    let mut t = first;
    for _ in 1..rounds {
        write_words(&u, &mut block);
        let mut inner = prf.inner;
        compress256(&mut inner, std::slice::from_ref(&block));
        u = prf.outer_hash(&inner, &mut block);
        for (t, u) in t.iter_mut().zip(u) {
            *t ^= u;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_digest_block_ends_with_768_bits() {
        assert_eq!(PADDED_DIGEST_BLOCK[32], 0x80);
        assert_eq!(PADDED_DIGEST_BLOCK[62..], [0x03, 0x00]);
        assert!(PADDED_DIGEST_BLOCK[33..62].iter().all(|&b| b == 0));
    }

    #[test]
    fn finish_matches_sha256_for_every_message_length_around_block_edges() {
        let prefix = [7u8; BLOCK_LEN];
        let mut state = INITIAL_STATE;
        compress256(&mut state, &[prefix]);
        for len in 0..200 {
            let message: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut bytes = [0u8; BLOCK_LEN];
            write_words(&finish(state, &message), &mut bytes);
            let expected = Sha256::new()
                .chain_update(prefix)
                .chain_update(&message)
                .finalize();
            assert_eq!(bytes[..DIGEST_LEN], expected[..], "message length {len}");
        }
    }

    proptest::proptest! {
        /// On x86-64 the dispatching [`iterate`] runs the SSSE3 build of the loop; it must agree
        /// with the portable build, which is what runs where SSSE3 is missing.
        #[test]
        fn every_build_of_the_hot_loop_gives_the_same_result(
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100),
            first in proptest::prelude::any::<[u32; 8]>(),
            rounds in 1u32..50,
        ) {
            let prf = KeyedHmac::new(&key);
            proptest::prop_assert_eq!(iterate(&prf, first, rounds), iterate_body(&prf, first, rounds));
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_ssse3_build_of_the_hot_loop_runs_on_this_machine() {
        // Without SSSE3 the property test above compares the portable loop with itself.
        assert!(std::arch::is_x86_feature_detected!("ssse3"));
    }
}
