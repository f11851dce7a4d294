//! Dense n×n f64 matrix multiply (the float kernel, meant to be built with wasm simd128).

use crate::rng::SplitMix64;

/// An n×n row-major matrix of uniform values in `[-1, 1)`, fully determined by `seed`.
pub fn generate_matrix(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n * n).map(|_| rng.next_f64_signed()).collect()
}

/// The two input matrices of `matmul_f64(n, seed)`: `A` from `seed`, `B` from a derived seed.
pub fn matmul_inputs(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    // Any fixed, distinct derivation works; the golden-ratio constant keeps B unlike A.
    let b_seed = seed ^ 0x9E37_79B9_7F4A_7C15;
    (generate_matrix(n, seed), generate_matrix(n, b_seed))
}

/// `C = A·B` for n×n row-major matrices.
///
/// The loop order is i-k-j so the innermost loop is `c_row += a_ik * b_row` over two
/// contiguous slices: every `c_ij` is independent, so LLVM vectorises it (f64x2 with simd128,
/// SSE2/AVX natively) without reassociating any sum — the result is bit-identical to the
/// scalar loop and across targets.
///
/// # Panics
/// If `a` or `b` does not hold `n * n` values.
///
/// On wasm this one function is compiled with `simd128` (f64x2); the other kernels are not,
/// because LLVM vectorises their 64-bit integer loops into `i64x2` multiplies that x86 lacks
/// and wasm engines must emulate (measured: pi ran ~2× slower with simd128).
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
pub fn multiply_f64(n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
    assert_eq!(a.len(), n * n, "A must be {n}x{n}");
    assert_eq!(b.len(), n * n, "B must be {n}x{n}");
    let mut c = vec![0.0; n * n];
    if n == 0 {
        return c;
    }
    for (a_row, c_row) in a.chunks_exact(n).zip(c.chunks_exact_mut(n)) {
        for (&a_ik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (c_ij, &b_kj) in c_row.iter_mut().zip(b_row) {
                *c_ij += a_ik * b_kj;
            }
        }
    }
    c
}

/// Generates `A`, `B` with [`matmul_inputs`] and returns `A·B`.
pub fn matmul_f64(n: usize, seed: u64) -> Vec<f64> {
    let (a, b) = matmul_inputs(n, seed);
    multiply_f64(n, &a, &b)
}

/// FNV-1a (64-bit) over the little-endian bit patterns of `values`: any change to any bit of
/// the result changes the checksum, and it is trivial to recompute anywhere.
pub fn checksum_f64(values: &[f64]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for v in values {
        for byte in v.to_bits().to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(n: usize) -> Vec<f64> {
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            m[i * n + i] = 1.0;
        }
        m
    }

    #[test]
    fn identity_is_neutral() {
        let n = 17;
        let b = generate_matrix(n, 3);
        assert_eq!(multiply_f64(n, &identity(n), &b), b);
        assert_eq!(multiply_f64(n, &b, &identity(n)), b);
    }

    #[test]
    fn small_product() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        assert_eq!(multiply_f64(2, &a, &b), vec![19.0, 22.0, 43.0, 50.0]);
        assert!(multiply_f64(0, &[], &[]).is_empty());
    }

    #[test]
    fn deterministic_checksum() {
        assert_eq!(checksum_f64(&[]), 0xCBF2_9CE4_8422_2325);
        let c1 = checksum_f64(&matmul_f64(32, 1));
        assert_eq!(c1, checksum_f64(&matmul_f64(32, 1)));
        assert_ne!(c1, checksum_f64(&matmul_f64(32, 2)));
        let (a, b) = matmul_inputs(8, 1);
        assert_ne!(a, b);
    }

    #[test]
    fn golden_checksum() {
        // What the simd128 wasm guest prints for its defaults (`--n 128 --seed 1`).
        assert_eq!(checksum_f64(&matmul_f64(128, 1)), 0xDF23_053E_8067_9091);
    }
}
