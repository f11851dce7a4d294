//! Client-side encryption with age (x25519 recipients, STREAM payload in 64 KiB chunks):
//! a requester's files are encrypted before they leave its machine, and short keys are sealed
//! to a provider's on-chain x25519 key. No cryptography here is ours: age's audited format
//! does all of it; this module only converts keys and streams bytes through it.
//!
//! Keys: an account's identity is derived from its signing secret ([`SealIdentity::derive`],
//! its own blake3 context), so it is kept encrypted at rest exactly as the signing key is
//! (inside the same keystore entry), never leaves the client, and a restored mnemonic
//! recovers every file encrypted to it. Its public half is a plain 32-byte x25519 key
//! ([`EncryptionKey`]), the form the chain stores.

use age::secrecy::ExposeSecret;
use bech32::{Bech32, Hrp};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use yun_types::Hash32;
use yun_types::storage::EncryptionKey;

/// blake3 `derive_key` context of an account's x25519 identity (from its signing secret).
pub const IDENTITY_CONTEXT: &str = "yun 2026 account encryption x25519 v1";
/// Most bytes of a key sealed by [`seal_key`]: the chain's limit. An age header for one
/// x25519 recipient and a 32-byte payload take 304 bytes, and age adds a random "grease"
/// stanza to some headers (up to about 210 bytes more), so an envelope over the limit is
/// simply made again.
pub const SEALED_32_BYTES_MAX: usize = yun_types::storage::SEALED_KEY_BYTES_MAX;
/// Envelopes made at most to find one within [`SEALED_32_BYTES_MAX`].
const SEAL_TRIES_MAX: usize = 16;

/// Why encrypting or decrypting failed; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("{0} is not an x25519 key (32 bytes, as a provider publishes with SetEncryptionKey)")]
    BadKey(Hash32),
    #[error("encrypting failed: {0}")]
    Encrypt(String),
    #[error(
        "decrypting failed: {0} — the data was encrypted to another account's key (sign with \
         `--from` the account that stored it) or it is not an age file"
    )]
    Decrypt(String),
    #[error("the sealed key holds {0} bytes, not 32: it was not sealed by `seal_key`")]
    SealedLength(usize),
    #[error("cannot read or write {}: {source}", .path.display())]
    File { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// An x25519 secret that opens data sealed to its [`EncryptionKey`].
#[derive(Clone)]
pub struct SealIdentity {
    inner: age::x25519::Identity,
}

impl std::fmt::Debug for SealIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealIdentity({})", self.public_key())
    }
}

impl SealIdentity {
    /// The identity whose secret scalar is `secret` (clamped by x25519 as usual).
    pub fn from_secret(secret: [u8; 32]) -> SealIdentity {
        let hrp = Hrp::parse("age-secret-key-").expect("a valid human-readable part");
        let text = bech32::encode::<Bech32>(hrp, &secret)
            .expect("32 bytes fit a bech32 string")
            .to_uppercase();
        let inner = text.parse().expect("age parses the secret key it formats");
        SealIdentity { inner }
    }

    /// An account's identity, derived from its signing secret: one secret to keep, and
    /// knowing the encryption key tells nothing about the signing key.
    pub fn derive(account_secret: &[u8]) -> SealIdentity {
        SealIdentity::from_secret(blake3::derive_key(IDENTITY_CONTEXT, account_secret))
    }

    /// A fresh random identity (a job's data key).
    pub fn generate() -> SealIdentity {
        SealIdentity {
            inner: age::x25519::Identity::generate(),
        }
    }

    /// The 32 secret bytes, to be sealed to someone else ([`seal_key`]).
    pub fn secret(&self) -> [u8; 32] {
        let text = self.inner.to_string();
        let (_, bytes) = bech32::decode(text.expose_secret()).expect("age formats valid bech32");
        bytes.try_into().expect("an x25519 secret is 32 bytes")
    }

    /// The public key data for this identity is encrypted to.
    pub fn public_key(&self) -> EncryptionKey {
        let text = self.inner.to_public().to_string();
        let (_, bytes) = bech32::decode(&text).expect("age formats valid bech32");
        Hash32(bytes.try_into().expect("an x25519 public key is 32 bytes"))
    }
}

/// age's recipient for a 32-byte x25519 public key.
fn recipient(key: &EncryptionKey) -> Result<age::x25519::Recipient, SealError> {
    let hrp = Hrp::parse("age").expect("a valid human-readable part");
    let text = bech32::encode::<Bech32>(hrp, &key.0).map_err(|_| SealError::BadKey(*key))?;
    text.parse().map_err(|_| SealError::BadKey(*key))
}

/// Encrypts everything `input` yields to `recipients` (any one of them can decrypt), writing
/// the age file to `output` as it goes: memory stays at one 64 KiB chunk whatever the size.
pub fn encrypt_stream(
    recipients: &[EncryptionKey],
    mut input: impl Read,
    output: impl Write,
) -> Result<(), SealError> {
    let recipients = recipients
        .iter()
        .map(recipient)
        .collect::<Result<Vec<_>, _>>()?;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| SealError::Encrypt(e.to_string()))?;
    let mut writer = encryptor.wrap_output(output)?;
    io::copy(&mut input, &mut writer)?;
    writer.finish()?.flush()?;
    Ok(())
}

/// Decrypts an age file from `input` with `identity` into `output`, chunk by chunk: each
/// 64 KiB chunk is authenticated before it is written, and a truncated or altered file fails.
pub fn decrypt_stream(
    identity: &SealIdentity,
    input: impl Read,
    mut output: impl Write,
) -> Result<u64, SealError> {
    let decryptor = age::Decryptor::new(input).map_err(|e| SealError::Decrypt(e.to_string()))?;
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity.inner as &dyn age::Identity))
        .map_err(|e| SealError::Decrypt(e.to_string()))?;
    let written = io::copy(&mut reader, &mut output).map_err(|e| {
        // The payload's authentication failures surface as read errors.
        SealError::Decrypt(e.to_string())
    })?;
    output.flush()?;
    Ok(written)
}

fn file_err(path: &Path) -> impl FnOnce(io::Error) -> SealError + '_ {
    move |source| SealError::File {
        path: path.to_path_buf(),
        source,
    }
}

/// [`encrypt_stream`] from file `src` to a new file `dst` (synced). Blocking.
pub fn encrypt_file(recipients: &[EncryptionKey], src: &Path, dst: &Path) -> Result<(), SealError> {
    let input = BufReader::new(File::open(src).map_err(file_err(src))?);
    let out = File::create(dst).map_err(file_err(dst))?;
    encrypt_stream(recipients, input, BufWriter::new(&out))?;
    out.sync_all().map_err(file_err(dst))
}

/// [`decrypt_stream`] from file `src` to file `dst`, written through `dst.part` and renamed
/// into place only once every chunk authenticated. Blocking.
pub fn decrypt_file(identity: &SealIdentity, src: &Path, dst: &Path) -> Result<u64, SealError> {
    let input = BufReader::new(File::open(src).map_err(file_err(src))?);
    let mut part = dst.as_os_str().to_os_string();
    part.push(".part");
    let part = PathBuf::from(part);
    let out = File::create(&part).map_err(file_err(&part))?;
    let result = decrypt_stream(identity, input, BufWriter::new(&out))
        .and_then(|n| out.sync_all().map(|()| n).map_err(file_err(&part)))
        .and_then(|n| {
            std::fs::rename(&part, dst)
                .map(|()| n)
                .map_err(file_err(dst))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// [`encrypt_stream`] of bytes in memory to one key (an encrypted job's input or output).
pub fn encrypt_bytes(to: &EncryptionKey, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut sealed = Vec::with_capacity(plaintext.len() + 512);
    encrypt_stream(std::slice::from_ref(to), plaintext, &mut sealed)?;
    Ok(sealed)
}

/// [`decrypt_stream`] of bytes in memory: all of it authenticated, or an error.
pub fn decrypt_bytes(identity: &SealIdentity, ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut plaintext = Vec::with_capacity(ciphertext.len());
    decrypt_stream(identity, ciphertext, &mut plaintext)?;
    Ok(plaintext)
}

/// Seals a 32-byte secret (a job's data key) to one holder of `to`'s identity.
pub fn seal_key(to: &EncryptionKey, secret: &[u8; 32]) -> Result<Vec<u8>, SealError> {
    for _ in 0..SEAL_TRIES_MAX {
        let mut sealed = Vec::with_capacity(SEALED_32_BYTES_MAX);
        encrypt_stream(std::slice::from_ref(to), &secret[..], &mut sealed)?;
        if sealed.len() <= SEALED_32_BYTES_MAX {
            return Ok(sealed);
        }
    }
    Err(SealError::Encrypt(format!(
        "no envelope of {SEAL_TRIES_MAX} fit in {SEALED_32_BYTES_MAX} bytes"
    )))
}

/// Opens what [`seal_key`] sealed to `identity`'s key.
pub fn open_key(identity: &SealIdentity, sealed: &[u8]) -> Result<[u8; 32], SealError> {
    let mut secret = Vec::with_capacity(32);
    decrypt_stream(identity, sealed, &mut secret)?;
    let len = secret.len();
    secret.try_into().map_err(|_| SealError::SealedLength(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 7) as u8).collect()
    }

    #[test]
    fn a_derived_identity_is_stable_and_its_key_round_trips_through_the_chains_form() {
        let a = SealIdentity::derive(&[7; 32]);
        assert_eq!(a.public_key(), SealIdentity::derive(&[7; 32]).public_key());
        assert_ne!(a.public_key(), SealIdentity::derive(&[8; 32]).public_key());
        assert_eq!(
            SealIdentity::from_secret(a.secret()).public_key(),
            a.public_key()
        );
        assert!(recipient(&a.public_key()).is_ok());
    }

    #[test]
    fn a_stream_round_trips_across_chunk_boundaries_and_holds_no_plaintext() {
        let me = SealIdentity::derive(b"requester");
        for len in [0, 1, 64 * 1024, 64 * 1024 + 1, 300_000] {
            let mut plain = data(len);
            if len > 100 {
                plain[50..66].copy_from_slice(b"PLAINTEXT-MARKER");
            }
            let mut sealed = Vec::new();
            encrypt_stream(&[me.public_key()], &plain[..], &mut sealed).unwrap();
            assert!(
                !sealed.windows(16).any(|w| w == b"PLAINTEXT-MARKER"),
                "ciphertext of {len} bytes shows the marker"
            );
            let mut opened = Vec::new();
            let n = decrypt_stream(&me, &sealed[..], &mut opened).unwrap();
            assert_eq!((n as usize, opened), (len, plain));
        }
    }

    #[test]
    fn another_identity_a_flipped_byte_or_a_cut_file_does_not_decrypt() {
        let me = SealIdentity::derive(b"requester");
        let other = SealIdentity::derive(b"provider");
        let mut sealed = Vec::new();
        encrypt_stream(&[me.public_key()], &data(100_000)[..], &mut sealed).unwrap();
        let fails = |bytes: &[u8], who: &SealIdentity| {
            matches!(
                decrypt_stream(who, bytes, &mut Vec::new()),
                Err(SealError::Decrypt(_))
            )
        };
        assert!(fails(&sealed, &other));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 10;
        flipped[last] ^= 1;
        assert!(fails(&flipped, &me));
        assert!(fails(&sealed[..sealed.len() - 100], &me));
    }

    #[test]
    fn a_sealed_key_opens_only_for_its_holder_and_fits_the_chains_limit() {
        let provider = SealIdentity::derive(b"provider");
        let job_key = SealIdentity::generate();
        // age greases some headers at random: many envelopes, all within the chain's limit.
        for _ in 0..64 {
            let sealed = seal_key(&provider.public_key(), &job_key.secret()).unwrap();
            assert!(sealed.len() <= yun_types::storage::SEALED_KEY_BYTES_MAX);
            assert_eq!(open_key(&provider, &sealed).unwrap(), job_key.secret());
        }
        let sealed = seal_key(&provider.public_key(), &job_key.secret()).unwrap();
        assert!(open_key(&SealIdentity::derive(b"someone"), &sealed).is_err());
    }

    #[test]
    fn files_round_trip_and_a_failed_decryption_leaves_no_output() {
        let dir = tempfile::tempdir().unwrap();
        let me = SealIdentity::derive(b"requester");
        let (plain, sealed, out) = (
            dir.path().join("plain"),
            dir.path().join("sealed"),
            dir.path().join("out"),
        );
        std::fs::write(&plain, data(200_000)).unwrap();
        encrypt_file(&[me.public_key()], &plain, &sealed).unwrap();
        assert_eq!(decrypt_file(&me, &sealed, &out).unwrap(), 200_000);
        assert_eq!(std::fs::read(&out).unwrap(), data(200_000));
        let nobody = dir.path().join("nobody");
        assert!(decrypt_file(&SealIdentity::generate(), &sealed, &nobody).is_err());
        assert!(!nobody.exists());
        assert!(!dir.path().join("nobody.part").exists());
    }
}
