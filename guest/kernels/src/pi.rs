//! Monte Carlo estimate of π in integer arithmetic only (the integer kernel).

use crate::rng::SplitMix64;

/// How many of `total` random points fell inside the quarter circle; π ≈ 4·inside/total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiSample {
    pub inside: u64,
    pub total: u64,
}

impl PiSample {
    /// The estimate of π (for display only: the integers are what is verified).
    pub fn estimate(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        4.0 * self.inside as f64 / self.total as f64
    }
}

/// Draws `samples` points `(x, y)` with `x, y` uniform `u32`s and counts those with
/// `x² + y² < 2⁶⁴`, i.e. inside the quarter circle of radius 2³².
///
/// Each square is below 2⁶⁴, so the sum is below 2⁶⁴ exactly when the `u64` addition does not
/// overflow: no floats, no `u128`, identical on every target.
pub fn pi_monte_carlo(seed: u64, samples: u64) -> PiSample {
    let mut rng = SplitMix64::new(seed);
    let mut inside = 0u64;
    for _ in 0..samples {
        let r = rng.next_u64();
        let x = r >> 32;
        let y = r & 0xFFFF_FFFF;
        inside += u64::from((x * x).checked_add(y * y).is_some());
    }
    PiSample {
        inside,
        total: samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_within_tolerance() {
        let s = pi_monte_carlo(42, 1_000_000);
        assert_eq!(s.total, 1_000_000);
        // Standard error at 1e6 samples is ~0.0016; 0.01 is over 6 sigma.
        assert!((s.estimate() - std::f64::consts::PI).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        assert_eq!(pi_monte_carlo(1, 10_000), pi_monte_carlo(1, 10_000));
        assert_ne!(pi_monte_carlo(1, 10_000), pi_monte_carlo(2, 10_000));
        assert_eq!(
            pi_monte_carlo(1, 0),
            PiSample {
                inside: 0,
                total: 0
            }
        );
        // What the wasm guest prints for `--seed 42`.
        assert_eq!(pi_monte_carlo(42, 1_000_000).inside, 785_402);
    }
}
