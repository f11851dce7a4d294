//! Pure, deterministic compute kernels of the Yun example jobs: run inside the wasm guests and
//! natively as their benchmark twins.
//!
//! No I/O and no platform dependencies, so the same source gives the same bytes on
//! wasm32-wasip1 and on the host. The float kernels use only IEEE-754 basic operations in a
//! fixed order (Rust never fuses `a * b + c` into an FMA), so their results are bit-identical
//! across targets too.

mod mandelbrot;
mod matmul;
mod pi;
mod rng;
mod sha256;
mod wordcount;

pub use mandelbrot::{
    MandelbrotParams, StripHeader, encode_png, mandelbrot_rows, mandelbrot_tile, stitch_strips,
    strip_rows,
};
pub use matmul::{checksum_f64, generate_matrix, matmul_f64, matmul_inputs, multiply_f64};
pub use pi::{PiSample, merge_samples, pi_monte_carlo};
pub use rng::SplitMix64;
pub use sha256::{hex, sha256_chain};
pub use wordcount::{format_counts, merge_counts, parse_counts, word_count};
