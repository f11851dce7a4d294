//! Yun job: renders a Mandelbrot image, whole or in strips, and stitches strips back together.
//!
//! Tile (default): writes `/out/tile.png` (grayscale) and prints `width height`.
//!
//! Strip, `--strip I --strips N`: renders only rows `[I·H/N, (I+1)·H/N)` of the full image
//! (bit-identical to those rows of the tile), writes them raw to `/out/strip.raw` (one byte per
//! pixel, row-major) and prints `width rows first_row`. In a job, pass
//! `--strip {index} --strips {count}` and every task renders its own strip.
//!
//! Both take `--width` `--height` (default 256), `--x0 --y0 --x1 --y1` (default the whole set,
//! -2..1 × -1.5..1.5), `--max-iter` (default 256).
//!
//! Reduce, `--stitch`: reads every task's `/in/NNNNN.strip.raw` in task order with its
//! `/in/NNNNN.stdout` header, checks the strips fit together, writes `/out/image.png` and
//! prints `width height`.

use yun_guest::{arg, arg_opt};
use yun_kernels::{MandelbrotParams, StripHeader};

fn main() {
    if yun_guest::flag("stitch") {
        stitch();
        return;
    }
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
    match (arg_opt::<u32>("strip"), arg_opt::<u32>("strips")) {
        (None, None) => {
            let pixels = yun_kernels::mandelbrot_tile(&p);
            let png = yun_kernels::encode_png(p.width, p.height, &pixels);
            yun_guest::write_out("tile.png", &png).expect("writing /out/tile.png");
            yun_guest::emit_line(&format!("{} {}", p.width, p.height));
        }
        (Some(index), Some(count)) => {
            assert!(
                index < count,
                "--strip {index} must be below --strips {count}"
            );
            let (first_row, rows) = yun_kernels::strip_rows(p.height, index, count);
            let pixels = yun_kernels::mandelbrot_rows(&p, first_row, rows);
            yun_guest::write_out("strip.raw", &pixels).expect("writing /out/strip.raw");
            let header = StripHeader {
                width: p.width,
                rows,
                first_row,
            };
            yun_guest::emit_line(&header.to_string());
        }
        _ => panic!("--strip and --strips go together: --strip I --strips N"),
    }
}

fn stitch() {
    let strips: Vec<(StripHeader, Vec<u8>)> = yun_guest::task_outputs("strip.raw")
        .into_iter()
        .map(|(task, name)| {
            let read = |name: &str| {
                yun_guest::read_in(name).unwrap_or_else(|e| panic!("reading /in/{name}: {e}"))
            };
            // The header comes from the same task, so its stdout sits under the same prefix.
            let stdout_name = format!("{}.stdout", &name[..name.len() - ".strip.raw".len()]);
            let stdout = read(&stdout_name);
            let header = std::str::from_utf8(&stdout)
                .map_err(|e| e.to_string())
                .and_then(StripHeader::parse)
                .unwrap_or_else(|e| panic!("task {task} ({stdout_name}): {e}"));
            (header, read(&name))
        })
        .collect();
    let (width, height, pixels) = yun_kernels::stitch_strips(strips)
        .unwrap_or_else(|e| panic!("stitching /in/NNNNN.strip.raw: {e}"));
    assert!(height > 0, "the strips hold no rows");
    let png = yun_kernels::encode_png(width, height, &pixels);
    yun_guest::write_out("image.png", &png).expect("writing /out/image.png");
    yun_guest::emit_line(&format!("{width} {height}"));
}
