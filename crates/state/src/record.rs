//! The encoding of the market's and staking's state records: borsh, one value per key.
//!
//! Records are written and read only by this crate, so a record that does not decode is a bug
//! in this node (or a corrupt store), never bad user input: `decode` panics rather than
//! letting a state machine carry on from a value it cannot read.

use borsh::{BorshDeserialize, BorshSerialize};

/// A record's stored bytes.
pub fn encode<T: BorshSerialize>(v: &T) -> Vec<u8> {
    borsh::to_vec(v).expect("in-memory serialization")
}

/// A stored record; panics if the bytes are not one (see the module's note).
pub fn decode<T: BorshDeserialize>(raw: &[u8]) -> T {
    borsh::from_slice(raw).expect("state records decode (written by this crate)")
}
