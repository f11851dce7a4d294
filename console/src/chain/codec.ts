//! The chain's canonical encoding (commonware codec) for what the console signs: big-endian
//! fixed-width integers, LEB128 lengths, raw 32-byte hashes and addresses.

/** Appends values in the chain's canonical order; `bytes()` is the encoding. */
export class Writer {
  private parts: number[] = [];

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new Error(`u8 out of range: ${v}`);
    this.parts.push(v);
    return this;
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  u32(v: number): this {
    return this.bigBe(BigInt(v), 4);
  }

  u64(v: bigint | number): this {
    return this.bigBe(BigInt(v), 8);
  }

  u128(v: bigint): this {
    return this.bigBe(v, 16);
  }

  /** A length as the codec writes `usize`: unsigned LEB128 of a u32. */
  varint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new Error(`length out of range: ${v}`);
    let n = v;
    do {
      let byte = n & 0x7f;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      this.parts.push(byte);
    } while (n > 0);
    return this;
  }

  raw(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }

  fixed(b: Uint8Array, len: number): this {
    if (b.length !== len) throw new Error(`expected ${len} bytes, got ${b.length}`);
    return this.raw(b);
  }

  /** A byte vector: its length, then the bytes. */
  bytesVec(b: Uint8Array): this {
    return this.varint(b.length).raw(b);
  }

  str(s: string): this {
    return this.bytesVec(new TextEncoder().encode(s));
  }

  list<T>(items: T[], each: (w: Writer, item: T) => void): this {
    this.varint(items.length);
    for (const it of items) each(this, it);
    return this;
  }

  option<T>(v: T | null | undefined, each: (w: Writer, item: T) => void): this {
    if (v === null || v === undefined) return this.bool(false);
    this.bool(true);
    each(this, v);
    return this;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }

  private bigBe(v: bigint, width: number): this {
    if (v < 0n || v >= 1n << BigInt(width * 8)) throw new Error(`value out of range for ${width} bytes: ${v}`);
    for (let i = width - 1; i >= 0; i--) this.parts.push(Number((v >> BigInt(i * 8)) & 0xffn));
    return this;
  }
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function unhex(s: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error('not hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
