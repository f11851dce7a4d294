//! Iterated SHA-256 (the hashing kernel) and a hex helper for printing digests.

use sha2::{Digest, Sha256};

/// `h = sha256(seed)`, then `h = sha256(h)` `iterations` times; returns the final `h`.
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
pub fn sha256_chain(seed: &[u8], iterations: u64) -> [u8; 32] {
    let mut h: [u8; 32] = Sha256::digest(seed).into();
    for _ in 0..iterations {
        h = Sha256::digest(h).into();
    }
    h
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xF)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256_EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const SHA256_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn zero_iterations_is_plain_sha256() {
        assert_eq!(hex(&sha256_chain(b"", 0)), SHA256_EMPTY);
        assert_eq!(hex(&sha256_chain(b"abc", 0)), SHA256_ABC);
    }

    #[test]
    fn one_iteration_hashes_the_digest() {
        let h0 = sha256_chain(b"abc", 0);
        assert_eq!(sha256_chain(b"abc", 1), sha256_chain(&h0, 0));
        assert_eq!(sha256_chain(b"abc", 3), sha256_chain(&h0, 2));
    }

    #[test]
    fn golden_chain() {
        // What the wasm guest prints for empty stdin and its default 100000 iterations.
        assert_eq!(
            hex(&sha256_chain(b"", 100_000)),
            "5e938a57717deb9177eb63e8c2208bb3629821172e7110474bca844705676531"
        );
    }

    #[test]
    fn hex_formats_lowercase() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
