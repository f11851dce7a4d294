//! The EVM's wire types: its chain parameters, 20-byte Ethereum addresses, and the envelope
//! that carries a signed Ethereum transaction inside a block.
//!
//! An Ethereum transaction is signed with secp256k1 over its own RLP, not with ed25519 over a
//! [`crate::Tx`]. It rides in a block as [`crate::Action::Eth`] inside a *relay envelope*: a
//! [`crate::SignedTx`] signed by [`relay_key`], a key everybody knows (its seed is public), so
//! any node can wrap a raw transaction it receives and the envelope's ed25519 signature
//! verifies like every other. The envelope adds no authority: the state refuses any other
//! action signed by the relay key and any `Eth` action not signed by it, and checks that the
//! envelope is the one canonical wrapping of its raw bytes (`yun_state::evm::wrap`), so one
//! Ethereum transaction has exactly one transaction id. What authorises it is the secp256k1
//! signature the state recovers; its nonce and gas are the EVM account's.

use crate::market::codec_struct;
use crate::{Address, Amount};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, Read, Write};
use commonware_cryptography::Signer;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest raw Ethereum transaction carried in an envelope, in bytes. EIP-3860 caps init code
/// at 49,152 bytes; this leaves room for the rest of a creation within [`crate::limits::TX_BYTES_MAX`].
pub const ETH_TX_BYTES_MAX: usize = 60 * 1024;

/// The public seed of the relay key (see the module note): anyone may sign with it, and the
/// state lets it sign nothing but `Eth` envelopes.
pub const RELAY_KEY_SEED: u64 = 0x6574_685f_7265_6c61; // "eth_rela"

/// The relay envelope's signing key, derived from [`RELAY_KEY_SEED`].
pub fn relay_key() -> PrivateKey {
    PrivateKey::from_seed(RELAY_KEY_SEED)
}

/// The relay key's public key, derived once.
pub fn relay_public_key() -> &'static PublicKey {
    static KEY: std::sync::OnceLock<PublicKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| relay_key().public_key())
}

/// The relay key's account (never funded, never a sender of anything but `Eth`).
pub fn relay_address() -> Address {
    Address::from_public_key(relay_public_key())
}

/// What prefixes an Ethereum account's pseudo-address, the 32-byte name the mempool queues
/// its transactions under (no ed25519 key has these 12 leading bytes but with negligible
/// probability, and no state record is kept under it).
pub const ETH_PSEUDO_PREFIX: [u8; 12] = *b"yun-evm-addr";

/// A 20-byte Ethereum account address, `0x`-hex in JSON.
#[derive(
    Debug,
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
pub struct EthAddress(pub [u8; 20]);

impl EthAddress {
    /// The 32-byte name the mempool and receipts use for this account's transactions.
    pub fn pseudo_address(&self) -> Address {
        let mut a = [0u8; 32];
        a[..12].copy_from_slice(&ETH_PSEUDO_PREFIX);
        a[12..].copy_from_slice(&self.0);
        Address(a)
    }

    /// The Ethereum account a pseudo-address names, if it is one.
    pub fn from_pseudo_address(a: &Address) -> Option<EthAddress> {
        if a.0[..12] == ETH_PSEUDO_PREFIX {
            Some(EthAddress(a.0[12..].try_into().expect("20 of 32 bytes")))
        } else {
            None
        }
    }

    /// Parses `0x` followed by 40 hex digits (any case; no checksum check).
    pub fn parse(s: &str) -> Result<EthAddress, String> {
        let hex_part = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .ok_or_else(|| format!("an Ethereum address starts with 0x: {s}"))?;
        let bytes = hex::decode(hex_part).map_err(|e| format!("not hex: {e}"))?;
        let arr: [u8; 20] = bytes
            .try_into()
            .map_err(|_| format!("an Ethereum address has 20 bytes: {s}"))?;
        Ok(EthAddress(arr))
    }
}

impl std::fmt::Display for EthAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl Serialize for EthAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for EthAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EthAddress::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for EthAddress {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("an Ethereum address, 0x and 40 hex digits"))
            .into()
    }
}

impl utoipa::ToSchema for EthAddress {}

impl Write for EthAddress {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }
}

impl EncodeSize for EthAddress {
    fn encode_size(&self) -> usize {
        20
    }
}

impl Read for EthAddress {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(EthAddress(<[u8; 20]>::read_cfg(buf, &())?))
    }
}

/// The EVM's chain parameters.
///
/// Units: one native base unit is one wei (see ARCHITECTURE.md, *The EVM*), so every value
/// and fee the EVM moves is an exact [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvmParams {
    /// The EIP-155 chain id Ethereum transactions must sign (replay protection across chains).
    pub chain_id: u64,
    /// The base fee per gas, in base units (wei): the least a transaction's gas price (or
    /// EIP-1559 max fee) may be. What gas costs is burned or shared like any fee.
    pub base_fee_per_gas: u64,
    /// Most gas all Ethereum transactions of one block may use together.
    pub block_gas_limit: u64,
    /// Most gas one Ethereum transaction may ask for.
    pub tx_gas_max: u64,
    /// How many blocks an Ethereum receipt (and its hash's index) stays in state: at the end
    /// of block h the receipts of block h − this are deleted, so the receipts a chain keeps
    /// are bounded by this times the block gas limit's transactions, not by its age.
    #[serde(default = "default_receipt_retention_blocks")]
    pub receipt_retention_blocks: u64,
    /// Most gas a contract may reserve for the callback that delivers its job's verified
    /// results (`IYunCompute.postJob`'s `callbackGas`, paid from the contract's balance at
    /// posting); at most `tx_gas_max`.
    #[serde(default = "default_callback_gas_max")]
    pub callback_gas_max: u64,
}

/// [`EvmParams::receipt_retention_blocks`] for a genesis written before it existed.
fn default_receipt_retention_blocks() -> u64 {
    EvmParams::default().receipt_retention_blocks
}

fn default_callback_gas_max() -> u64 {
    EvmParams::default().callback_gas_max
}

codec_struct!(EvmParams {
    chain_id: (),
    base_fee_per_gas: (),
    block_gas_limit: (),
    tx_gas_max: (),
    receipt_retention_blocks: (),
    callback_gas_max: (),
});

impl Default for EvmParams {
    fn default() -> Self {
        EvmParams {
            // Unassigned on chainlist.org at the time of writing; "yun" on a phone keypad.
            chain_id: 986,
            base_fee_per_gas: 1_000,
            block_gas_limit: 60_000_000,
            tx_gas_max: 30_000_000,
            // A day of blocks at one a second; a node that serves older receipts to an
            // indexer keeps them outside the state.
            receipt_retention_blocks: 86_400,
            // A callback that stores a few digests and pays one transfer needs about 100,000.
            callback_gas_max: 1_000_000,
        }
    }
}

/// An opening EVM balance (the devnet's dev accounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisEvmAccount {
    pub address: EthAddress,
    pub balance: Amount,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_addresses_round_trip_and_never_name_the_relay() {
        let a = EthAddress([7; 20]);
        assert_eq!(
            EthAddress::from_pseudo_address(&a.pseudo_address()),
            Some(a)
        );
        assert_eq!(EthAddress::from_pseudo_address(&relay_address()), None);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"0x{}\"", "07".repeat(20)));
        assert_eq!(serde_json::from_str::<EthAddress>(&json).unwrap(), a);
        assert!(EthAddress::parse("0x1234").is_err());
    }
}
