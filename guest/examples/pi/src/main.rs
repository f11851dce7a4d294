//! Yun job: Monte Carlo estimate of π; prints `inside total`.
//!
//! Args: `--samples N` (default 1000000), `--seed S` (default: the task seed).

fn main() {
    let samples: u64 = yun_guest::arg("samples", 1_000_000);
    let seed: u64 = yun_guest::arg_opt("seed").unwrap_or_else(yun_guest::seed);
    let s = yun_kernels::pi_monte_carlo(seed, samples);
    yun_guest::emit_line(&format!("{} {}", s.inside, s.total));
}
