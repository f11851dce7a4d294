//! An account: its spendable balance and the nonce its next transaction must carry.

use commonware_codec::{DecodeExt, Encode, EncodeSize, Error, Read, ReadExt, Write};
use yun_types::Amount;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    pub balance: Amount,
    /// Number of transactions this account has had committed.
    pub nonce: u64,
}

impl Write for Account {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.balance.write(buf);
        self.nonce.write(buf);
    }
}

impl EncodeSize for Account {
    fn encode_size(&self) -> usize {
        16 + 8
    }
}

impl Read for Account {
    type Cfg = ();
    fn read_cfg(buf: &mut impl commonware_codec::Buf, _: &()) -> Result<Self, Error> {
        Ok(Account {
            balance: Amount::read(buf)?,
            nonce: u64::read(buf)?,
        })
    }
}

impl Account {
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode().to_vec()
    }

    /// Decodes a stored value; a corrupt value is a bug in this node, not bad user input.
    pub fn from_bytes(bytes: &[u8]) -> Account {
        Account::decode(commonware_codec::Copying(bytes)).expect("stored account decodes")
    }
}
