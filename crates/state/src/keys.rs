//! The layout of the key-value state: every key is a one-byte kind tag and its body.

use yun_types::Address;

/// A typed state key; [`StateKey::bytes`] is what the authenticated tree stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StateKey {
    Account(Address),
    Params,
    Supply,
}

pub const TAG_ACCOUNT: u8 = b'a';
pub const TAG_PARAMS: u8 = b'p';
pub const TAG_SUPPLY: u8 = b's';

impl StateKey {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            StateKey::Account(a) => {
                let mut k = Vec::with_capacity(33);
                k.push(TAG_ACCOUNT);
                k.extend_from_slice(a.as_bytes());
                k
            }
            StateKey::Params => vec![TAG_PARAMS],
            StateKey::Supply => vec![TAG_SUPPLY],
        }
    }

    /// The account a raw key names, if it is an account key.
    pub fn account_of(raw: &[u8]) -> Option<Address> {
        match raw {
            [TAG_ACCOUNT, rest @ ..] => rest.try_into().ok().map(Address),
            _ => None,
        }
    }
}
