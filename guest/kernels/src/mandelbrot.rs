//! Mandelbrot tile renderer and deterministic PNG encoder (the image kernel).

/// One tile of the complex plane to render. Pixel `(0, 0)` lies at the `(x0, y0)` corner and
/// the last pixel at the `(x1, y1)` corner; each pixel samples its centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MandelbrotParams {
    pub width: u32,
    pub height: u32,
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
    pub max_iter: u32,
}

impl Default for MandelbrotParams {
    /// The whole set, 256×256, 256 iterations.
    fn default() -> Self {
        Self {
            width: 256,
            height: 256,
            x0: -2.0,
            y0: -1.5,
            x1: 1.0,
            y1: 1.5,
            max_iter: 256,
        }
    }
}

/// Renders the tile as 8-bit grayscale, row-major, `width * height` bytes.
///
/// Points in the set are 0 (black); escaping points get `sqrt((n + 1) / max_iter) * 255` in
/// integers, `n` being the iterations before escape, so the boundary glows. Only IEEE basic
/// operations, so every target computes the same bytes.
pub fn mandelbrot_tile(p: &MandelbrotParams) -> Vec<u8> {
    let (w, h) = (p.width as usize, p.height as usize);
    let mut pixels = Vec::with_capacity(w * h);
    let (dx, dy) = (p.x1 - p.x0, p.y1 - p.y0);
    for py in 0..h {
        let ci = p.y0 + dy * ((py as f64 + 0.5) / h as f64);
        for px in 0..w {
            let cr = p.x0 + dx * ((px as f64 + 0.5) / w as f64);
            pixels.push(shade(escape_time(cr, ci, p.max_iter), p.max_iter));
        }
    }
    pixels
}

/// Iterations of `z = z² + c` before `|z| > 2`, or `max_iter` if it never escapes.
#[inline]
fn escape_time(cr: f64, ci: f64, max_iter: u32) -> u32 {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    let mut n = 0;
    while n < max_iter {
        let (zr2, zi2) = (zr * zr, zi * zi);
        if zr2 + zi2 > 4.0 {
            break;
        }
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        n += 1;
    }
    n
}

fn shade(n: u32, max_iter: u32) -> u8 {
    if n >= max_iter {
        return 0;
    }
    let scaled = (u64::from(n) + 1) * 255 * 255 / u64::from(max_iter);
    // n + 1 <= max_iter, so scaled <= 255² and its square root fits a u8.
    scaled.isqrt() as u8
}

/// Encodes 8-bit grayscale `pixels` as a PNG with fixed settings (zlib level 6, Paeth filter
/// on every row), so the same pixels always give the same bytes.
///
/// # Panics
/// If `width` or `height` is 0, or `pixels` does not hold `width * height` bytes.
pub fn encode_png(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    assert!(width > 0 && height > 0, "PNG dimensions must be non-zero");
    assert_eq!(
        pixels.len(),
        width as usize * height as usize,
        "pixel buffer does not match {width}x{height}"
    );
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_deflate_compression(png::DeflateCompression::Level(6));
    encoder.set_filter(png::Filter::Paeth);
    // Writing to a Vec cannot fail and the header was checked above.
    let mut writer = encoder.write_header().expect("valid PNG header");
    writer
        .write_image_data(pixels)
        .expect("in-memory PNG write");
    writer.finish().expect("in-memory PNG write");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_points() {
        assert_eq!(escape_time(0.0, 0.0, 100), 100); // the origin is in the set
        assert_eq!(escape_time(-1.0, 0.0, 100), 100); // period-2 cycle
        assert_eq!(escape_time(2.0, 2.0, 100), 1); // escapes after one step
        assert_eq!(shade(100, 100), 0);
        assert_eq!(shade(99, 100), 255);
    }

    #[test]
    fn tile_shape_and_symmetry() {
        let p = MandelbrotParams {
            width: 64,
            height: 48,
            ..Default::default()
        };
        let px = mandelbrot_tile(&p);
        assert_eq!(px.len(), 64 * 48);
        // The default region is symmetric about the real axis: rows mirror each other.
        for y in 0..24 {
            assert_eq!(px[y * 64..][..64], px[(47 - y) * 64..][..64], "row {y}");
        }
        // The centre of the cardioid (around -0.25) is in the set.
        assert_eq!(px[24 * 64 + 37], 0);
        assert!(px.iter().any(|&v| v > 0));
    }

    #[test]
    fn default_tile_golden() {
        // The bytes the wasm guest produced for its defaults: pins the float kernel across
        // targets and the png/deflate versions (a dependency bump that changes them fails here).
        let p = MandelbrotParams::default();
        let png = encode_png(p.width, p.height, &mandelbrot_tile(&p));
        assert_eq!(
            crate::hex(&crate::sha256_chain(&png, 0)),
            "bf18ecb07abc212b0eedd483c8d986d2effecff2e9cc6a4da861edbbea69d4e6"
        );
    }

    #[test]
    fn png_round_trips() {
        let p = MandelbrotParams {
            width: 40,
            height: 30,
            max_iter: 64,
            ..Default::default()
        };
        let pixels = mandelbrot_tile(&p);
        let bytes = encode_png(40, 30, &pixels);
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(
            bytes,
            encode_png(40, 30, &pixels),
            "encoding is deterministic"
        );

        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (40, 30));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        assert_eq!(&buf[..info.buffer_size()], &pixels[..]);
    }
}
