//! Upload tickets: an account's signature over (chain id, root, size, expiry height) that a
//! node requires before it stores a blob, so no upload is anonymous.
//!
//! The signature is made under its own namespace ([`UPLOAD_TICKET_NAMESPACE`]; commonware
//! prefixes every signed message with it), so a ticket can never be replayed as a
//! transaction, a consensus vote or a p2p handshake, nor one of those as a ticket.

use crate::codec_util::{read_str, str_size, write_str};
use crate::limits::CHAIN_ID_BYTES_MAX;
use crate::{Address, Hash32};
use bytes::BufMut;
use commonware_codec::{Buf, Decode, Encode, EncodeSize, Error, Read, ReadExt, Write};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey, Signature};
use commonware_cryptography::{Signer, Verifier};

/// Signing namespace of upload tickets (distinct from transactions', votes' and p2p's).
pub const UPLOAD_TICKET_NAMESPACE: &[u8] = b"yun/upload-ticket/v1";
/// The HTTP header a `POST /v1/blobs` carries its signed ticket in (hex of the canonical bytes).
pub const UPLOAD_TICKET_HEADER: &str = "yun-upload-ticket";
/// Longest encoded signed ticket, in bytes (a chain id at its limit plus fixed fields).
pub const UPLOAD_TICKET_BYTES_MAX: usize = CHAIN_ID_BYTES_MAX + 256;

/// What the uploader signs: this chain, these bytes (by root and size), until this height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTicket {
    pub chain_id: String,
    /// blake3 of the blob.
    pub root: Hash32,
    pub size_bytes: u64,
    /// The last height at which a node accepts the ticket.
    pub expires_at_height: u64,
}

impl Write for UploadTicket {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.chain_id, buf);
        self.root.write(buf);
        self.size_bytes.write(buf);
        self.expires_at_height.write(buf);
    }
}

impl EncodeSize for UploadTicket {
    fn encode_size(&self) -> usize {
        str_size(&self.chain_id)
            + self.root.encode_size()
            + self.size_bytes.encode_size()
            + self.expires_at_height.encode_size()
    }
}

impl Read for UploadTicket {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(UploadTicket {
            chain_id: read_str(buf, CHAIN_ID_BYTES_MAX)?,
            root: Hash32::read(buf)?,
            size_bytes: u64::read(buf)?,
            expires_at_height: u64::read(buf)?,
        })
    }
}

impl UploadTicket {
    /// Signs the canonical encoding under [`UPLOAD_TICKET_NAMESPACE`].
    pub fn sign(self, key: &PrivateKey) -> SignedUploadTicket {
        let signature = key.sign(UPLOAD_TICKET_NAMESPACE, &self.encode());
        SignedUploadTicket {
            ticket: self,
            signer: key.public_key(),
            signature,
        }
    }
}

/// A ticket with its signer's public key and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUploadTicket {
    pub ticket: UploadTicket,
    pub signer: PublicKey,
    pub signature: Signature,
}

impl Write for SignedUploadTicket {
    fn write(&self, buf: &mut impl BufMut) {
        self.ticket.write(buf);
        self.signer.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for SignedUploadTicket {
    fn encode_size(&self) -> usize {
        self.ticket.encode_size() + self.signer.encode_size() + self.signature.encode_size()
    }
}

impl Read for SignedUploadTicket {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(SignedUploadTicket {
            ticket: UploadTicket::read(buf)?,
            signer: PublicKey::read(buf)?,
            signature: Signature::read(buf)?,
        })
    }
}

impl SignedUploadTicket {
    /// The uploading account.
    pub fn account(&self) -> Address {
        Address::from_public_key(&self.signer)
    }

    pub fn verify_signature(&self) -> bool {
        self.signer.verify(
            UPLOAD_TICKET_NAMESPACE,
            &self.ticket.encode(),
            &self.signature,
        )
    }

    /// The header value: hex of the canonical bytes.
    pub fn to_header(&self) -> String {
        hex::encode(self.encode())
    }

    /// Parses a header value, refusing anything over [`UPLOAD_TICKET_BYTES_MAX`] before
    /// decoding (the signature is not checked here).
    pub fn from_header(value: &str) -> Result<SignedUploadTicket, Error> {
        if value.len() > 2 * UPLOAD_TICKET_BYTES_MAX {
            return Err(Error::Invalid(
                "UploadTicket",
                "longer than UPLOAD_TICKET_BYTES_MAX",
            ));
        }
        let bytes =
            hex::decode(value.trim()).map_err(|_| Error::Invalid("UploadTicket", "not hex"))?;
        SignedUploadTicket::decode_cfg(commonware_codec::Copying(&bytes), &())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Amount, Tx};

    fn ticket() -> UploadTicket {
        UploadTicket {
            chain_id: "yun-test".into(),
            root: Hash32::digest(b"program"),
            size_bytes: 7,
            expires_at_height: 100,
        }
    }

    #[test]
    fn a_ticket_round_trips_through_its_header_and_verifies() {
        let key = PrivateKey::from_seed(1);
        let signed = ticket().sign(&key);
        let back = SignedUploadTicket::from_header(&signed.to_header()).unwrap();
        assert_eq!(back, signed);
        assert!(back.verify_signature());
        assert_eq!(back.account(), Address::from_public_key(&key.public_key()));
    }

    #[test]
    fn a_ticket_for_another_root_does_not_verify_under_the_same_signature() {
        let signed = ticket().sign(&PrivateKey::from_seed(1));
        let mut other = signed.clone();
        other.ticket.root = Hash32::digest(b"something else");
        assert!(!other.verify_signature());
    }

    #[test]
    fn a_transaction_signature_is_never_a_ticket_signature() {
        // The same key signing the same bytes under the transaction namespace gives a
        // signature the ticket check refuses (and the other way round).
        let key = PrivateKey::from_seed(1);
        let t = ticket();
        let as_tx = key.sign(crate::TX_NAMESPACE, &t.encode());
        let forged = SignedUploadTicket {
            ticket: t,
            signer: key.public_key(),
            signature: as_tx,
        };
        assert!(!forged.verify_signature());
        let tx = Tx {
            chain_id: "yun-test".into(),
            nonce: 0,
            fee: Amount::new(1),
            expires_at_height: 100,
            action: crate::Action::Unjail,
        };
        let ticket_sig = key.sign(UPLOAD_TICKET_NAMESPACE, &tx.encode());
        assert!(
            !key.public_key()
                .verify(crate::TX_NAMESPACE, &tx.encode(), &ticket_sig)
        );
    }

    #[test]
    fn an_oversized_or_garbled_header_is_refused_before_decoding() {
        assert!(
            SignedUploadTicket::from_header(&"00".repeat(UPLOAD_TICKET_BYTES_MAX + 1)).is_err()
        );
        assert!(SignedUploadTicket::from_header("zz").is_err());
        assert!(SignedUploadTicket::from_header("").is_err());
    }
}
