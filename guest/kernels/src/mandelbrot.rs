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
    mandelbrot_rows(p, 0, p.height)
}

/// Renders rows `first_row .. first_row + rows` of the tile `p` (as [`mandelbrot_tile`] would
/// render them: same bytes), so a big image can be split into strips rendered by separate
/// tasks and concatenated.
///
/// # Panics
/// If the rows run past `p.height`.
pub fn mandelbrot_rows(p: &MandelbrotParams, first_row: u32, rows: u32) -> Vec<u8> {
    let end = first_row
        .checked_add(rows)
        .filter(|&end| end <= p.height)
        .unwrap_or_else(|| {
            panic!(
                "rows {first_row}+{rows} run past the tile height {}",
                p.height
            )
        });
    let (w, h) = (p.width as usize, p.height as usize);
    let mut pixels = Vec::with_capacity(w * rows as usize);
    let (dx, dy) = (p.x1 - p.x0, p.y1 - p.y0);
    // The row's coordinate depends only on its index in the whole tile (and on the whole
    // height), never on the strip, which is what makes strips bit-identical to the tile.
    for py in first_row as usize..end as usize {
        let ci = p.y0 + dy * ((py as f64 + 0.5) / h as f64);
        for px in 0..w {
            let cr = p.x0 + dx * ((px as f64 + 0.5) / w as f64);
            pixels.push(shade(escape_time(cr, ci, p.max_iter), p.max_iter));
        }
    }
    pixels
}

/// Rows `[index·height/count, (index+1)·height/count)` as `(first_row, rows)`: strip `index`
/// of `count` near-equal strips that together cover the tile exactly once, in order.
///
/// # Panics
/// If `count` is 0 or `index >= count`.
pub fn strip_rows(height: u32, index: u32, count: u32) -> (u32, u32) {
    assert!(
        index < count,
        "strip {index} out of range: there are {count} strips"
    );
    // In u64: index·height can exceed u32.
    let edge = |i: u32| (u64::from(i) * u64::from(height) / u64::from(count)) as u32;
    let (first, end) = (edge(index), edge(index + 1));
    (first, end - first)
}

/// What a strip task prints on stdout, `width rows first_row`: enough for the stitcher to
/// check that the strips fit together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripHeader {
    pub width: u32,
    pub rows: u32,
    pub first_row: u32,
}

impl StripHeader {
    /// Parses the `width rows first_row` line (surrounding whitespace allowed).
    pub fn parse(text: &str) -> Result<StripHeader, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [width, rows, first_row] = fields[..] else {
            return Err(format!("expected `width rows first_row`, got {text:?}"));
        };
        let num = |what: &str, v: &str| {
            v.parse::<u32>()
                .map_err(|e| format!("bad {what} {v:?}: {e}"))
        };
        Ok(StripHeader {
            width: num("width", width)?,
            rows: num("rows", rows)?,
            first_row: num("first_row", first_row)?,
        })
    }
}

impl std::fmt::Display for StripHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.width, self.rows, self.first_row)
    }
}

/// Concatenates strips given in order into one image, checking that they share a width, hold
/// `width · rows` bytes each and follow each other without gap or overlap from row 0.
/// Returns `(width, height, pixels)`.
pub fn stitch_strips(
    strips: impl IntoIterator<Item = (StripHeader, Vec<u8>)>,
) -> Result<(u32, u32, Vec<u8>), String> {
    let mut width = None;
    let mut height = 0u32;
    let mut pixels = Vec::new();
    for (i, (header, bytes)) in strips.into_iter().enumerate() {
        let w = *width.get_or_insert(header.width);
        if header.width != w {
            return Err(format!("strip {i}: width {} after width {w}", header.width));
        }
        if header.first_row != height {
            return Err(format!(
                "strip {i}: starts at row {}, expected row {height}",
                header.first_row
            ));
        }
        let want = u64::from(header.width) * u64::from(header.rows);
        if bytes.len() as u64 != want {
            return Err(format!(
                "strip {i}: {} bytes, expected {want} ({}×{})",
                bytes.len(),
                header.width,
                header.rows
            ));
        }
        height = height
            .checked_add(header.rows)
            .ok_or_else(|| format!("strip {i}: image height overflows u32"))?;
        pixels.extend_from_slice(&bytes);
    }
    let width = width.ok_or("no strips")?;
    Ok((width, height, pixels))
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
    fn strips_cover_the_tile_exactly() {
        // Uneven splits, more strips than rows (empty strips) and a single strip.
        for (height, count) in [(48, 5), (7, 7), (3, 5), (10, 1), (512, 8)] {
            let mut next = 0;
            for index in 0..count {
                let (first, rows) = strip_rows(height, index, count);
                assert_eq!(first, next, "height {height} strip {index}/{count}");
                next = first + rows;
            }
            assert_eq!(next, height, "height {height} in {count} strips");
        }
        assert_eq!(strip_rows(512, 3, 8), (192, 64));
        assert_eq!(
            strip_rows(u32::MAX, 1, 2),
            (u32::MAX / 2, u32::MAX - u32::MAX / 2)
        );
    }

    #[test]
    fn strips_concatenated_equal_the_full_tile() {
        let p = MandelbrotParams {
            width: 37,
            height: 29,
            x0: -0.8,
            y0: 0.05,
            x1: -0.7,
            y1: 0.15,
            max_iter: 200,
        };
        let full = mandelbrot_tile(&p);
        let count = 4;
        let strips = (0..count).map(|i| {
            let (first_row, rows) = strip_rows(p.height, i, count);
            let bytes = mandelbrot_rows(&p, first_row, rows);
            // What the strip task prints, parsed back as the stitcher does.
            let header = StripHeader {
                width: p.width,
                rows,
                first_row,
            };
            (StripHeader::parse(&format!("{header}\n")).unwrap(), bytes)
        });
        let (w, h, stitched) = stitch_strips(strips).unwrap();
        assert_eq!((w, h), (p.width, p.height));
        assert_eq!(stitched, full);
        assert!(mandelbrot_rows(&p, 29, 0).is_empty());
    }

    #[test]
    #[should_panic(expected = "run past")]
    fn rows_past_the_tile_panic() {
        mandelbrot_rows(&MandelbrotParams::default(), 250, 7);
    }

    #[test]
    fn stitch_rejects_strips_that_do_not_fit() {
        let h = |width, rows, first_row| StripHeader {
            width,
            rows,
            first_row,
        };
        assert_eq!(
            stitch_strips([(h(2, 1, 0), vec![1, 2]), (h(2, 2, 1), vec![3, 4, 5, 6])]).unwrap(),
            (2, 3, vec![1, 2, 3, 4, 5, 6])
        );
        // A gap, an overlap, a width change, a short strip, nothing at all.
        assert!(stitch_strips([(h(2, 1, 1), vec![1, 2])]).is_err());
        assert!(stitch_strips([(h(2, 1, 0), vec![1, 2]), (h(2, 1, 0), vec![1, 2])]).is_err());
        assert!(stitch_strips([(h(2, 1, 0), vec![1, 2]), (h(1, 1, 1), vec![1])]).is_err());
        assert!(stitch_strips([(h(2, 1, 0), vec![1])]).is_err());
        assert!(stitch_strips([]).is_err());
        assert!(StripHeader::parse("2 1").is_err());
        assert!(StripHeader::parse("2 1 x").is_err());
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
