//! Yun job: multiplies two seeded random n×n f64 matrices; prints the checksum of the product.
//!
//! Args: `--n N` (default 128), `--seed S` (default 1), `--write-matrix` to also write the
//! product to `/out/c.bin` (n·n little-endian f64, row-major).

fn main() {
    let n: usize = yun_guest::arg("n", 128);
    let seed: u64 = yun_guest::arg("seed", 1);
    let c = yun_kernels::matmul_f64(n, seed);
    if yun_guest::flag("write-matrix") {
        let bytes: Vec<u8> = c.iter().flat_map(|v| v.to_le_bytes()).collect();
        yun_guest::write_out("c.bin", &bytes).expect("writing /out/c.bin");
    }
    yun_guest::emit_line(&format!("{:016x}", yun_kernels::checksum_f64(&c)));
}
