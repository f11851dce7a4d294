//! Hard size limits of the wire format. Decoding refuses anything larger before allocating.
//!
//! These are ceilings of the encoding itself; the tighter, governable limits live in
//! [`crate::ChainParams`] (state) and in the node's mempool configuration.

/// Longest chain id, in bytes.
pub const CHAIN_ID_BYTES_MAX: usize = 64;
/// Largest encoded signed transaction the codec will read, in bytes.
pub const TX_BYTES_MAX: usize = 64 * 1024;
/// Most transactions one block may carry, whatever the chain parameters say.
pub const BLOCK_TXS_MAX: usize = 100_000;
/// Most bytes of encoded transactions in one block. Kept well under the p2p message limit
/// (16 MiB) so a full block always fits in one consensus message.
pub const BLOCK_TX_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Longest validator or account name in a genesis file, in bytes.
pub const NAME_BYTES_MAX: usize = 64;
/// Longest validator p2p address (`host:port`), in bytes.
pub const P2P_ADDRESS_BYTES_MAX: usize = 256;
