//! Yun job: Monte Carlo estimate of π; prints `inside total` (map) or pools them (reduce).
//!
//! Map (default): `--samples N` (default 1000000), `--seed S` (default: the task seed); prints
//! `inside total`.
//!
//! Reduce, `--merge`: reads every task's stdout (`/in/NNNNN.stdout`, other files ignored),
//! sums the `inside total` lines and prints `inside total estimate`, the estimate 4·inside/total
//! with 6 decimals computed in integers (e.g. `6283105 8000000 3.141553`).

fn main() {
    if yun_guest::flag("merge") {
        merge();
        return;
    }
    let samples: u64 = yun_guest::arg("samples", 1_000_000);
    let seed: u64 = yun_guest::arg_opt("seed").unwrap_or_else(yun_guest::seed);
    let s = yun_kernels::pi_monte_carlo(seed, samples);
    yun_guest::emit_line(&format!("{} {}", s.inside, s.total));
}

fn merge() {
    let mut sum = yun_kernels::PiSample {
        inside: 0,
        total: 0,
    };
    for (task, name) in yun_guest::task_outputs("stdout") {
        let bytes = yun_guest::read_in(&name).unwrap_or_else(|e| panic!("reading /in/{name}: {e}"));
        let text = std::str::from_utf8(&bytes)
            .unwrap_or_else(|e| panic!("task {task} ({name}): stdout is not UTF-8: {e}"));
        let part = yun_kernels::merge_samples(text)
            .unwrap_or_else(|e| panic!("task {task} ({name}): {e}"));
        sum = sum
            .checked_add(part)
            .unwrap_or_else(|| panic!("task {task} ({name}): sample counts overflow u64"));
    }
    // No samples means no task output reached us: a wrong layout, not an estimate of 0.
    let estimate = sum
        .estimate_6dp()
        .expect("no samples: expected `inside total` in /in/NNNNN.stdout files");
    yun_guest::emit_line(&format!("{} {} {estimate}", sum.inside, sum.total));
}
