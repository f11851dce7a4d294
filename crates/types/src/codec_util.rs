//! Small helpers for the canonical encoding: bounded strings and fixed byte arrays.

use bytes::{Buf as _, BufMut};
use commonware_codec::{Buf, EncodeSize, Error, RangeCfg, Read, Write};

/// Writes a UTF-8 string as a length-prefixed byte vector.
pub fn write_str(s: &str, buf: &mut impl BufMut) {
    s.as_bytes().to_vec().write(buf);
}

/// Encoded size of [`write_str`].
pub fn str_size(s: &str) -> usize {
    s.as_bytes().to_vec().encode_size()
}

/// Reads a string of at most `max_bytes` bytes that must be valid UTF-8.
pub fn read_str(buf: &mut impl Buf, max_bytes: usize) -> Result<String, Error> {
    let bytes = Vec::<u8>::read_cfg(buf, &(RangeCfg::new(0..=max_bytes), ()))?;
    String::from_utf8(bytes).map_err(|_| Error::Invalid("string", "not UTF-8"))
}

/// Reads exactly `N` raw bytes.
pub fn read_array<const N: usize>(buf: &mut impl Buf) -> Result<[u8; N], Error> {
    if buf.remaining() < N {
        return Err(Error::EndOfBuffer);
    }
    let mut out = [0u8; N];
    buf.copy_to_slice(&mut out);
    Ok(out)
}
