//! `Address`: an account named by its ed25519 public key, written as bech32m `yun1…`.

use crate::codec_util::read_array;
use bech32::{Bech32m, Hrp};
use bytes::BufMut;
use commonware_codec::{Buf, DecodeExt, Error, FixedSize, Read, Write};
use commonware_cryptography::ed25519::PublicKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Human-readable part of every address.
pub const ADDRESS_HRP: &str = "yun";

/// The 32 bytes of an ed25519 public key; an account, a validator or a provider.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct Address(pub [u8; 32]);

/// Why a string or key is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("not a bech32m string: {0}")]
    Bech32(String),
    #[error("address must start with `yun1`, found prefix `{0}`")]
    WrongPrefix(String),
    #[error("address must hold 32 bytes, found {0}")]
    WrongLength(usize),
    #[error("the 32 bytes are not a valid ed25519 public key")]
    NotAKey,
}

impl Address {
    pub fn from_public_key(key: &PublicKey) -> Self {
        let mut out = [0u8; 32];
        out.copy_from_slice(key.as_ref());
        Address(out)
    }

    /// The public key these bytes name, if they are a valid curve point.
    pub fn public_key(&self) -> Result<PublicKey, AddressError> {
        PublicKey::decode(commonware_codec::Copying(&self.0[..])).map_err(|_| AddressError::NotAKey)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(ADDRESS_HRP);
        let s = bech32::encode::<Bech32m>(hrp, &self.0).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self)
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let checked = bech32::primitives::decode::CheckedHrpstring::new::<Bech32m>(s)
            .map_err(|e| AddressError::Bech32(e.to_string()))?;
        if checked.hrp().as_str() != ADDRESS_HRP {
            return Err(AddressError::WrongPrefix(checked.hrp().to_string()));
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| AddressError::WrongLength(bytes.len()))?;
        Ok(Address(arr))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Address {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "bech32m address `yun1…` over an ed25519 public key (the pattern cannot check \
                 the bech32m checksum; a wrong one is refused with BadParameter)",
            ))
            .format(Some(utoipa::openapi::SchemaFormat::Custom(
                "bech32m".into(),
            )))
            .pattern(Some("^yun1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$"))
            .examples([serde_json::json!(
                "yun1rgg0xjq9cmq5up6dkp5ahlw6had2a2480vv6xh9emsjdxsuhkyfshs0609"
            )])
            .into()
    }
}
impl utoipa::ToSchema for Address {}

impl Write for Address {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }
}
impl FixedSize for Address {
    const SIZE: usize = 32;
}
impl Read for Address {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Address(read_array::<32>(buf)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bech32m_round_trip_and_rejections() {
        let a = Address([7u8; 32]);
        let s = a.to_string();
        assert!(s.starts_with("yun1"), "{s}");
        assert_eq!(s.parse::<Address>().unwrap(), a);
        // A single flipped character breaks the checksum.
        let mut bad = s.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'q' { b'p' } else { b'q' };
        assert!(String::from_utf8(bad).unwrap().parse::<Address>().is_err());
        let other = bech32::encode::<Bech32m>(Hrp::parse("abc").unwrap(), &[7u8; 32]).unwrap();
        assert_eq!(
            other.parse::<Address>(),
            Err(AddressError::WrongPrefix("abc".into()))
        );
    }
}
