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

    /// The estimate 4·inside/total with exactly 6 decimals, rounded half up, computed in
    /// integers so the printed digits never depend on float formatting; `None` without samples.
    pub fn estimate_6dp(&self) -> Option<String> {
        if self.total == 0 {
            return None;
        }
        // inside, total < 2⁶⁴, so 8·inside·10⁶ < 2¹²⁰ and 2·total < 2⁶⁵: no u128 overflow.
        let (inside, total) = (u128::from(self.inside), u128::from(self.total));
        let micro = (8 * inside * 1_000_000 + total) / (2 * total);
        Some(format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000))
    }

    /// The two samples pooled; `None` if a count would overflow `u64`.
    pub fn checked_add(self, other: PiSample) -> Option<PiSample> {
        Some(PiSample {
            inside: self.inside.checked_add(other.inside)?,
            total: self.total.checked_add(other.total)?,
        })
    }
}

/// Parses and pools `inside total` lines (map outputs of the pi job) into one sample: the
/// reduce step. Empty lines are skipped; a line with `inside > total` is rejected, since no
/// honest run prints one, and so is a sum that overflows rather than a silently wrapped one.
pub fn merge_samples(text: &str) -> Result<PiSample, String> {
    let mut sum = PiSample {
        inside: 0,
        total: 0,
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [inside, total] = fields[..] else {
            return Err(format!("line {}: expected `inside total`", i + 1));
        };
        let parse = |what: &str, v: &str| {
            v.parse::<u64>()
                .map_err(|e| format!("line {}: bad {what} {v:?}: {e}", i + 1))
        };
        let s = PiSample {
            inside: parse("inside", inside)?,
            total: parse("total", total)?,
        };
        if s.inside > s.total {
            return Err(format!(
                "line {}: inside {} > total {}",
                i + 1,
                s.inside,
                s.total
            ));
        }
        sum = sum
            .checked_add(s)
            .ok_or_else(|| format!("line {}: sample counts overflow u64", i + 1))?;
    }
    Ok(sum)
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

    #[test]
    fn estimate_6dp_rounds_half_up_in_integers() {
        let s = |inside, total| PiSample { inside, total };
        assert_eq!(s(785_402, 1_000_000).estimate_6dp().unwrap(), "3.141608");
        assert_eq!(s(1, 1).estimate_6dp().unwrap(), "4.000000");
        assert_eq!(s(0, 5).estimate_6dp().unwrap(), "0.000000");
        // 4/3 = 1.3333333…, 8/3 = 2.6666666… (rounds up), 4/8e6 = 5e-7 (half rounds up).
        assert_eq!(s(1, 3).estimate_6dp().unwrap(), "1.333333");
        assert_eq!(s(2, 3).estimate_6dp().unwrap(), "2.666667");
        assert_eq!(s(1, 8_000_000).estimate_6dp().unwrap(), "0.000001");
        assert_eq!(s(u64::MAX, u64::MAX).estimate_6dp().unwrap(), "4.000000");
        assert_eq!(s(0, 0).estimate_6dp(), None);
    }

    #[test]
    fn merge_sums_lines_and_rejects_garbage() {
        let merged = merge_samples("785402 1000000\n\n785 1000\n").unwrap();
        assert_eq!(
            merged,
            PiSample {
                inside: 786_187,
                total: 1_001_000
            }
        );
        assert_eq!(
            merge_samples("").unwrap(),
            PiSample {
                inside: 0,
                total: 0
            }
        );
        // Map outputs of split seeds pool to the same sample as their sum.
        let (a, b) = (pi_monte_carlo(1, 5_000), pi_monte_carlo(2, 7_000));
        let text = format!("{} {}\n{} {}\n", a.inside, a.total, b.inside, b.total);
        assert_eq!(merge_samples(&text).unwrap(), a.checked_add(b).unwrap());
        assert!(merge_samples("1 2 3\n").is_err());
        assert!(merge_samples("12\n").is_err());
        assert!(merge_samples("x 2\n").is_err());
        assert!(merge_samples("3 2\n").is_err());
        let max = format!("{m} {m}\n1 1\n", m = u64::MAX);
        assert!(merge_samples(&max).unwrap_err().contains("overflow"));
    }
}
