//! Transactions: what an account asks the chain to do, signed with its ed25519 key.

use crate::codec_util::{read_str, str_size, write_str};
use crate::limits::{CHAIN_ID_BYTES_MAX, TX_BYTES_MAX};
use crate::{Address, Amount, Hash32, TX_NAMESPACE};
use bytes::BufMut;
use commonware_codec::{Buf, Decode, Encode, EncodeSize, Error, Read, ReadExt, Write};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey, Signature};
use commonware_cryptography::{Signer, Verifier};

/// A transaction id: blake3 of the canonical signed bytes.
pub type TxId = Hash32;

/// What a transaction does. The tag byte of each variant is part of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Move `amount` from the signer to `to`.
    Transfer { to: Address, amount: Amount },
}

const ACTION_TRANSFER: u8 = 0;

impl Write for Action {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Action::Transfer { to, amount } => {
                ACTION_TRANSFER.write(buf);
                to.write(buf);
                amount.write(buf);
            }
        }
    }
}

impl EncodeSize for Action {
    fn encode_size(&self) -> usize {
        1 + match self {
            Action::Transfer { to, amount } => to.encode_size() + amount.encode_size(),
        }
    }
}

impl Read for Action {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        match u8::read(buf)? {
            ACTION_TRANSFER => Ok(Action::Transfer {
                to: Address::read(buf)?,
                amount: Amount::read(buf)?,
            }),
            tag => Err(Error::InvalidEnum(tag)),
        }
    }
}

/// The signed content of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx {
    /// Chain this transaction is valid on; stops replays across networks.
    pub chain_id: String,
    /// Must equal the signer's next nonce; stops replays on one chain.
    pub nonce: u64,
    /// Paid by the signer whether the action succeeds or fails.
    pub fee: Amount,
    /// Last block height that may include this transaction.
    pub expires_at_height: u64,
    pub action: Action,
}

impl Write for Tx {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.chain_id, buf);
        self.nonce.write(buf);
        self.fee.write(buf);
        self.expires_at_height.write(buf);
        self.action.write(buf);
    }
}

impl EncodeSize for Tx {
    fn encode_size(&self) -> usize {
        str_size(&self.chain_id)
            + self.nonce.encode_size()
            + self.fee.encode_size()
            + self.expires_at_height.encode_size()
            + self.action.encode_size()
    }
}

impl Read for Tx {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Tx {
            chain_id: read_str(buf, CHAIN_ID_BYTES_MAX)?,
            nonce: u64::read(buf)?,
            fee: Amount::read(buf)?,
            expires_at_height: u64::read(buf)?,
            action: Action::read(buf)?,
        })
    }
}

impl Tx {
    /// Signs the canonical encoding under [`TX_NAMESPACE`].
    pub fn sign(self, key: &PrivateKey) -> SignedTx {
        let signature = key.sign(TX_NAMESPACE, &self.encode());
        SignedTx {
            tx: self,
            signer: key.public_key(),
            signature,
        }
    }
}

/// A transaction with its signer's public key and signature.
///
/// Decoding validates that the key is a curve point; the signature itself is checked by
/// [`SignedTx::verify_signature`] or in batches by the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    pub tx: Tx,
    pub signer: PublicKey,
    pub signature: Signature,
}

impl Write for SignedTx {
    fn write(&self, buf: &mut impl BufMut) {
        self.tx.write(buf);
        self.signer.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for SignedTx {
    fn encode_size(&self) -> usize {
        self.tx.encode_size() + self.signer.encode_size() + self.signature.encode_size()
    }
}

impl Read for SignedTx {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(SignedTx {
            tx: Tx::read(buf)?,
            signer: PublicKey::read(buf)?,
            signature: Signature::read(buf)?,
        })
    }
}

impl SignedTx {
    /// The signer's account.
    pub fn sender(&self) -> Address {
        Address::from_public_key(&self.signer)
    }

    /// blake3 of the canonical signed bytes. ed25519 verification here is strict (ZIP-215
    /// rules with canonical `s`), so one transaction has exactly one id.
    pub fn id(&self) -> TxId {
        Hash32::digest(&self.encode())
    }

    /// Checks the signature alone (the node verifies whole blocks in batches instead).
    pub fn verify_signature(&self) -> bool {
        self.signer
            .verify(TX_NAMESPACE, &self.tx.encode(), &self.signature)
    }

    /// Decodes untrusted bytes, refusing anything over the codec's hard limit first.
    pub fn decode_untrusted(bytes: &[u8]) -> Result<SignedTx, Error> {
        if bytes.len() > TX_BYTES_MAX {
            return Err(Error::Invalid("SignedTx", "larger than TX_BYTES_MAX"));
        }
        SignedTx::decode_cfg(commonware_codec::Copying(bytes), &())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: &PrivateKey) -> SignedTx {
        Tx {
            chain_id: "yun-test".into(),
            nonce: 3,
            fee: Amount::new(10),
            expires_at_height: 100,
            action: Action::Transfer {
                to: Address([9; 32]),
                amount: Amount::new(5),
            },
        }
        .sign(key)
    }

    #[test]
    fn sign_encode_decode_verify() {
        let key = PrivateKey::from_seed(1);
        let stx = sample(&key);
        assert!(stx.verify_signature());
        let bytes = stx.encode();
        let back = SignedTx::decode_untrusted(&bytes).unwrap();
        assert_eq!(back, stx);
        assert_eq!(back.id(), stx.id());
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let key = PrivateKey::from_seed(1);
        let mut stx = sample(&key);
        stx.tx.nonce += 1;
        assert!(!stx.verify_signature());
    }

    #[test]
    fn trailing_bytes_and_bad_tags_are_refused() {
        let key = PrivateKey::from_seed(1);
        let mut bytes = sample(&key).encode().to_vec();
        bytes.push(0);
        assert!(SignedTx::decode_untrusted(&bytes).is_err());
        assert!(SignedTx::decode_untrusted(&[0xff; 10]).is_err());
        assert!(SignedTx::decode_untrusted(&vec![0u8; TX_BYTES_MAX + 1]).is_err());
    }
}
