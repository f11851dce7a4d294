//! Exact integer helpers for shares of amounts: basis points and a 256-bit multiply-divide.
//!
//! They sit at the bottom of the crate because fees (the bank), fee sharing and slashing
//! (staking) all need them, and none of those may import another for arithmetic.

use yun_types::Amount;

/// ⌊amount × bps ÷ 10,000⌋ without overflow for any amount (bps ≤ 10,000).
pub fn bps_of(amount: Amount, bps: u16) -> Amount {
    let a = amount.base_units();
    let b = u128::from(bps.min(10_000));
    Amount::new(a / 10_000 * b + a % 10_000 * b / 10_000)
}

/// ⌊a × b ÷ c⌋ computed over 256 bits, for a quotient that fits in 128 (here b ≤ c).
pub fn mul_div_floor_wide(a: u128, b: u128, c: u128) -> u128 {
    assert!(c != 0, "mul_div_floor_wide by zero");
    const LOW: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // lo = p00 + (p01 << 64) + (p10 << 64), carries into hi.
    let (lo, c1) = p00.overflowing_add(p01 << 64);
    let (lo, c2) = lo.overflowing_add(p10 << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + u128::from(c1) + u128::from(c2);
    if hi == 0 {
        return lo / c;
    }
    let (mut rem, mut q) = (0u128, 0u128);
    for i in (0..256u32).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        let carry = rem >> 127 == 1;
        rem = (rem << 1) | bit;
        q <<= 1;
        if carry || rem >= c {
            rem = rem.wrapping_sub(c);
            q |= 1;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_mul_div_is_exact() {
        assert_eq!(mul_div_floor_wide(10, 3, 4), 7);
        assert_eq!(mul_div_floor_wide(0, 3, 4), 0);
        assert_eq!(mul_div_floor_wide(u128::MAX, 1, 1), u128::MAX);
        assert_eq!(
            mul_div_floor_wide(u128::MAX, u128::MAX, u128::MAX),
            u128::MAX
        );
        assert_eq!(mul_div_floor_wide(u128::MAX, 2, 3), u128::MAX / 3 * 2);
        let big = 1u128 << 100;
        assert_eq!(mul_div_floor_wide(big, big, big), big);
        assert_eq!(mul_div_floor_wide(big + 1, 1 << 90, 1 << 91), big / 2);
        // Against u128 wherever the product fits.
        for a in [1u128, 7, 1 << 40, u64::MAX as u128] {
            for b in [1u128, 3, 1 << 20, u64::MAX as u128] {
                for c in [1u128, 9, 1 << 33, u128::MAX] {
                    assert_eq!(mul_div_floor_wide(a, b, c), a * b / c, "{a} {b} {c}");
                }
            }
        }
    }

    #[test]
    fn bps_never_overflows_and_rounds_down() {
        assert_eq!(bps_of(Amount::new(1_000), 500), Amount::new(50));
        assert_eq!(bps_of(Amount::new(19), 500), Amount::ZERO);
        assert_eq!(bps_of(Amount::new(39), 500), Amount::new(1));
        assert_eq!(bps_of(Amount::MAX, 10_000), Amount::MAX);
        assert_eq!(
            bps_of(Amount::MAX, 5_000).base_units(),
            u128::MAX / 2,
            "floor of half of 2^128 - 1"
        );
    }
}
