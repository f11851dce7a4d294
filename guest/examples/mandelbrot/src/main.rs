//! Yun job: renders a Mandelbrot tile to `/out/tile.png` (grayscale); prints `width height`.
//!
//! Args: `--width` `--height` (default 256), `--x0 --y0 --x1 --y1` (default the whole set,
//! -2..1 × -1.5..1.5), `--max-iter` (default 256).

use yun_guest::arg;
use yun_kernels::MandelbrotParams;

fn main() {
    let d = MandelbrotParams::default();
    let p = MandelbrotParams {
        width: arg("width", d.width),
        height: arg("height", d.height),
        x0: arg("x0", d.x0),
        y0: arg("y0", d.y0),
        x1: arg("x1", d.x1),
        y1: arg("y1", d.y1),
        max_iter: arg("max-iter", d.max_iter),
    };
    assert!(
        p.width > 0 && p.height > 0,
        "--width and --height must be at least 1"
    );
    let pixels = yun_kernels::mandelbrot_tile(&p);
    let png = yun_kernels::encode_png(p.width, p.height, &pixels);
    yun_guest::write_out("tile.png", &png).expect("writing /out/tile.png");
    yun_guest::emit_line(&format!("{} {}", p.width, p.height));
}
