//! Yun job: iterated SHA-256 of stdin; prints the final hash in hex.
//!
//! Args: `--iterations N` (default 100000). The seed is the stdin bytes (may be empty).

fn main() {
    let iterations: u64 = yun_guest::arg("iterations", 100_000);
    let seed = yun_guest::input();
    let h = yun_kernels::sha256_chain(&seed, iterations);
    yun_guest::emit_line(&yun_kernels::hex(&h));
}
