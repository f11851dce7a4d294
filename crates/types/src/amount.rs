//! `Amount`: a token quantity in base units, with checked arithmetic only.
//!
//! There is deliberately no `Add`/`Sub` operator: every arithmetic site must decide what an
//! overflow or underflow means (usually a rejection), so money can never wrap silently.

use bytes::BufMut;
use commonware_codec::{Buf, Error, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A non-negative number of base token units.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct Amount(u128);

/// Arithmetic that would leave the range of `Amount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount overflow")]
    Overflow,
    #[error("amount underflow")]
    Underflow,
}

impl Amount {
    pub const ZERO: Amount = Amount(0);
    pub const MAX: Amount = Amount(u128::MAX);

    pub const fn new(base_units: u128) -> Self {
        Amount(base_units)
    }

    pub const fn base_units(self) -> u128 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(AmountError::Underflow)
    }

    pub fn checked_mul(self, factor: u128) -> Result<Amount, AmountError> {
        self.0
            .checked_mul(factor)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// `self × numerator ÷ denominator`, rounded down; the product may not overflow.
    pub fn mul_div_floor(self, numerator: u128, denominator: u128) -> Result<Amount, AmountError> {
        assert!(denominator != 0, "mul_div_floor by zero denominator");
        Ok(Amount(self.checked_mul(numerator)?.0 / denominator))
    }

    /// Sum of an iterator, failing on overflow.
    pub fn checked_sum(items: impl IntoIterator<Item = Amount>) -> Result<Amount, AmountError> {
        items
            .into_iter()
            .try_fold(Amount::ZERO, Amount::checked_add)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a string is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a non-negative integer number of base units (digits only, at most 39)")]
pub struct AmountParseError;

impl FromStr for Amount {
    type Err = AmountParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.replace('_', "");
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountParseError);
        }
        s.parse::<u128>().map(Amount).map_err(|_| AmountParseError)
    }
}

// JSON numbers lose precision above 2^53, so amounts travel as decimal strings.
impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Str(String),
            Num(u64),
        }
        match Repr::deserialize(d)? {
            Repr::Str(s) => s.parse().map_err(serde::de::Error::custom),
            Repr::Num(n) => Ok(Amount(u128::from(n))),
        }
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "token amount in base units, as a decimal string (u128)",
            ))
            .format(Some(utoipa::openapi::SchemaFormat::Custom(
                "decimal".into(),
            )))
            .pattern(Some("^(0|[1-9][0-9]{0,37})$"))
            .examples([serde_json::json!("1000000")])
            .into()
    }
}
impl utoipa::ToSchema for Amount {}

impl Write for Amount {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}
impl FixedSize for Amount {
    const SIZE: usize = 16;
}
impl Read for Amount {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Amount(u128::read(buf)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};

    #[test]
    fn overflow_and_underflow_are_errors() {
        assert_eq!(
            Amount::MAX.checked_add(Amount::new(1)),
            Err(AmountError::Overflow)
        );
        assert_eq!(
            Amount::ZERO.checked_sub(Amount::new(1)),
            Err(AmountError::Underflow)
        );
        assert_eq!(
            Amount::new(7).checked_sub(Amount::new(3)),
            Ok(Amount::new(4))
        );
    }

    #[test]
    fn parses_and_round_trips() {
        assert_eq!("1_000".parse::<Amount>(), Ok(Amount::new(1000)));
        assert!("-1".parse::<Amount>().is_err());
        assert!("1.5".parse::<Amount>().is_err());
        let a = Amount::new(u128::MAX);
        assert_eq!(Amount::decode(a.encode()).unwrap(), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Amount>(&json).unwrap(), a);
    }
}
