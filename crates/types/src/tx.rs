//! Transactions: what an account asks the chain to do, signed with its ed25519 key.

use crate::codec_util::{read_str, str_size, write_str};
use crate::evidence::Equivocation;
use crate::evm::{ETH_TX_BYTES_MAX, EthAddress};
use crate::governance::GovAction;
use crate::limits::{CHAIN_ID_BYTES_MAX, P2P_ADDRESS_BYTES_MAX, TX_BYTES_MAX};
use crate::market::{JobId, JobSpec, ProviderSpec, ResultCommit, ResultReveal, results_cfg};
use crate::storage::StorageAction;
use crate::{Address, Amount, Hash32, SeedKey, SeedProof, TX_NAMESPACE};
use bytes::BufMut;
use commonware_codec::{
    Buf, Decode, Encode, EncodeSize, Error, FixedSize, RangeCfg, Read, ReadExt, Write,
};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey, Signature};
use commonware_cryptography::{Signer, Verifier};

/// A transaction id: blake3 of the canonical signed bytes.
pub type TxId = Hash32;

/// What a transaction does. The tag byte of each variant is part of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Move `amount` from the signer to `to`.
    Transfer { to: Address, amount: Amount },
    /// Offer compute as a provider, locking `bond` from the balance.
    RegisterProvider { spec: ProviderSpec, bond: Amount },
    /// Change the offer (capacity, labels, ask, endpoint).
    UpdateProvider { spec: ProviderSpec },
    /// Stop (or resume) receiving new tasks.
    PauseProvider { paused: bool },
    /// Leave: the bond returns after the unbonding period; only with no task in flight.
    ExitProvider,
    /// Post a job, locking escrow for its worst-case cost.
    PostJob { spec: JobSpec },
    /// Stop new assignments; unspendable escrow returns to the requester.
    CancelJob { job: JobId },
    /// Commit to verdicts of assigned tasks.
    CommitResults { commits: Vec<ResultCommit> },
    /// Reveal committed verdicts.
    RevealResults { reveals: Vec<ResultReveal> },
    /// Become a validator candidate: the signer's key is the consensus key (the validator's
    /// address is the signer's), `self_bond` is locked from the balance, and peers reach it at
    /// `p2p_address` (`host:port`, at most [`P2P_ADDRESS_BYTES_MAX`] bytes). `seed_key` is
    /// the BLS key its block randomness verifies under, and `seed_key_possession` its
    /// signature of the validator's address (see [`crate::seed`]).
    RegisterValidator {
        p2p_address: String,
        self_bond: Amount,
        seed_key: SeedKey,
        seed_key_possession: SeedProof,
    },
    /// Bond `amount` from the balance to `validator` (to oneself: adds to the self bond).
    Delegate { validator: Address, amount: Amount },
    /// Unbond `amount` from `validator`; it returns to the balance after the unbonding period.
    Undelegate { validator: Address, amount: Amount },
    /// A jailed validator whose jail time is over becomes eligible for the active set again.
    Unjail,
    /// Evidence that a validator signed conflicting consensus messages: it is slashed and
    /// jailed (once per validator and view).
    ReportEquivocation { evidence: Equivocation },
    /// The storage market and data keys (see [`StorageAction`]).
    Storage(StorageAction),
    /// A validator sets the commission it takes from its stake's block rewards, in basis
    /// points (at most `rewards.commission_max_bps`; raises limited per epoch).
    SetCommission { commission_bps: u16 },
    /// Vote-escrowed governance: locks, proposals, votes (see [`GovAction`]).
    Governance(GovAction),
    /// Claims the faucet's amount with a solved proof-of-work puzzle (see
    /// [`crate::governance::faucet_hash`]); free of fees when it pays.
    Faucet { nonce: u64 },
    /// A signed Ethereum transaction (`raw`: its EIP-2718 bytes, legacy with EIP-155, EIP-2930
    /// or EIP-1559), carried in a relay envelope (see [`crate::evm`]); `from` is the sender
    /// its signature recovers to, which the state checks.
    Eth { from: EthAddress, raw: Vec<u8> },
    /// Move `amount` from the signer's balance to the EVM account `to`.
    TransferToEth { to: EthAddress, amount: Amount },
}

impl Action {
    fn tag(&self) -> u8 {
        match self {
            Action::Transfer { .. } => 0,
            Action::RegisterProvider { .. } => 1,
            Action::UpdateProvider { .. } => 2,
            Action::PauseProvider { .. } => 3,
            Action::ExitProvider => 4,
            Action::PostJob { .. } => 5,
            Action::CancelJob { .. } => 6,
            Action::CommitResults { .. } => 7,
            Action::RevealResults { .. } => 8,
            Action::RegisterValidator { .. } => 9,
            Action::Delegate { .. } => 10,
            Action::Undelegate { .. } => 11,
            Action::Unjail => 12,
            Action::ReportEquivocation { .. } => 13,
            Action::Storage(_) => 14,
            Action::Governance(_) => 15,
            Action::Faucet { .. } => 16,
            Action::SetCommission { .. } => 17,
            Action::Eth { .. } => 18,
            Action::TransferToEth { .. } => 19,
        }
    }

    /// A short name for receipts and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Transfer { .. } => "transfer",
            Action::RegisterProvider { .. } => "register_provider",
            Action::UpdateProvider { .. } => "update_provider",
            Action::PauseProvider { .. } => "pause_provider",
            Action::ExitProvider => "exit_provider",
            Action::PostJob { .. } => "post_job",
            Action::CancelJob { .. } => "cancel_job",
            Action::CommitResults { .. } => "commit_results",
            Action::RevealResults { .. } => "reveal_results",
            Action::RegisterValidator { .. } => "register_validator",
            Action::Delegate { .. } => "delegate",
            Action::Undelegate { .. } => "undelegate",
            Action::Unjail => "unjail",
            Action::ReportEquivocation { .. } => "report_equivocation",
            Action::Storage(action) => action.name(),
            Action::SetCommission { .. } => "set_commission",
            Action::Governance(action) => action.name(),
            Action::Faucet { .. } => "faucet",
            Action::Eth { .. } => "eth",
            Action::TransferToEth { .. } => "transfer_to_eth",
        }
    }
}

impl Write for Action {
    fn write(&self, buf: &mut impl BufMut) {
        self.tag().write(buf);
        match self {
            Action::Transfer { to, amount } => {
                to.write(buf);
                amount.write(buf);
            }
            Action::RegisterProvider { spec, bond } => {
                spec.write(buf);
                bond.write(buf);
            }
            Action::UpdateProvider { spec } => spec.write(buf),
            Action::PauseProvider { paused } => paused.write(buf),
            Action::ExitProvider => {}
            Action::PostJob { spec } => spec.write(buf),
            Action::CancelJob { job } => job.write(buf),
            Action::CommitResults { commits } => commits.write(buf),
            Action::RevealResults { reveals } => reveals.write(buf),
            Action::RegisterValidator {
                p2p_address,
                self_bond,
                seed_key,
                seed_key_possession,
            } => {
                write_str(p2p_address, buf);
                self_bond.write(buf);
                seed_key.write(buf);
                seed_key_possession.write(buf);
            }
            Action::Delegate { validator, amount } | Action::Undelegate { validator, amount } => {
                validator.write(buf);
                amount.write(buf);
            }
            Action::Unjail => {}
            Action::ReportEquivocation { evidence } => evidence.write(buf),
            Action::Storage(action) => action.write(buf),
            Action::SetCommission { commission_bps } => commission_bps.write(buf),
            Action::Governance(action) => action.write(buf),
            Action::Faucet { nonce } => nonce.write(buf),
            Action::Eth { from, raw } => {
                from.write(buf);
                raw.write(buf);
            }
            Action::TransferToEth { to, amount } => {
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
            Action::RegisterProvider { spec, bond } => spec.encode_size() + bond.encode_size(),
            Action::UpdateProvider { spec } => spec.encode_size(),
            Action::PauseProvider { paused } => paused.encode_size(),
            Action::ExitProvider => 0,
            Action::PostJob { spec } => spec.encode_size(),
            Action::CancelJob { job } => job.encode_size(),
            Action::CommitResults { commits } => commits.encode_size(),
            Action::RevealResults { reveals } => reveals.encode_size(),
            Action::RegisterValidator {
                p2p_address,
                self_bond,
                ..
            } => str_size(p2p_address) + self_bond.encode_size() + SeedKey::SIZE + SeedProof::SIZE,
            Action::Delegate { validator, amount } | Action::Undelegate { validator, amount } => {
                validator.encode_size() + amount.encode_size()
            }
            Action::Unjail => 0,
            Action::ReportEquivocation { evidence } => evidence.encode_size(),
            Action::Storage(action) => action.encode_size(),
            Action::SetCommission { .. } => 2,
            Action::Governance(action) => action.encode_size(),
            Action::Faucet { .. } => 8,
            Action::Eth { from, raw } => from.encode_size() + raw.encode_size(),
            Action::TransferToEth { to, amount } => to.encode_size() + amount.encode_size(),
        }
    }
}

impl Read for Action {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(match u8::read(buf)? {
            0 => Action::Transfer {
                to: Address::read(buf)?,
                amount: Amount::read(buf)?,
            },
            1 => Action::RegisterProvider {
                spec: ProviderSpec::read(buf)?,
                bond: Amount::read(buf)?,
            },
            2 => Action::UpdateProvider {
                spec: ProviderSpec::read(buf)?,
            },
            3 => Action::PauseProvider {
                paused: bool::read(buf)?,
            },
            4 => Action::ExitProvider,
            5 => Action::PostJob {
                spec: JobSpec::read(buf)?,
            },
            6 => Action::CancelJob {
                job: Hash32::read(buf)?,
            },
            7 => Action::CommitResults {
                commits: Vec::read_cfg(buf, &results_cfg())?,
            },
            8 => Action::RevealResults {
                reveals: Vec::read_cfg(buf, &results_cfg())?,
            },
            9 => Action::RegisterValidator {
                p2p_address: read_str(buf, P2P_ADDRESS_BYTES_MAX)?,
                self_bond: Amount::read(buf)?,
                seed_key: SeedKey::read(buf)?,
                seed_key_possession: SeedProof::read(buf)?,
            },
            10 => Action::Delegate {
                validator: Address::read(buf)?,
                amount: Amount::read(buf)?,
            },
            11 => Action::Undelegate {
                validator: Address::read(buf)?,
                amount: Amount::read(buf)?,
            },
            12 => Action::Unjail,
            13 => Action::ReportEquivocation {
                evidence: Equivocation::read(buf)?,
            },
            14 => Action::Storage(StorageAction::read(buf)?),
            15 => Action::Governance(GovAction::read(buf)?),
            16 => Action::Faucet {
                nonce: u64::read(buf)?,
            },
            17 => Action::SetCommission {
                commission_bps: u16::read(buf)?,
            },
            18 => Action::Eth {
                from: EthAddress::read(buf)?,
                raw: Vec::<u8>::read_cfg(buf, &(RangeCfg::new(1..=ETH_TX_BYTES_MAX), ()))?,
            },
            19 => Action::TransferToEth {
                to: EthAddress::read(buf)?,
                amount: Amount::read(buf)?,
            },
            tag => return Err(Error::InvalidEnum(tag)),
        })
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
    /// The signer's account; for an Ethereum transaction in its relay envelope, the
    /// pseudo-address of the Ethereum account it claims (the state checks the claim).
    pub fn sender(&self) -> Address {
        match &self.tx.action {
            Action::Eth { from, .. } => from.pseudo_address(),
            _ => Address::from_public_key(&self.signer),
        }
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
    fn staking_actions_round_trip_and_long_p2p_addresses_are_refused() {
        let key = PrivateKey::from_seed(2);
        let actions = [
            Action::RegisterValidator {
                p2p_address: "10.0.0.1:9000".into(),
                self_bond: Amount::new(1_000_000),
                seed_key: SeedKey([7; 48]),
                seed_key_possession: SeedProof([9; 96]),
            },
            Action::Delegate {
                validator: Address([3; 32]),
                amount: Amount::new(7),
            },
            Action::Undelegate {
                validator: Address([4; 32]),
                amount: Amount::new(8),
            },
            Action::Unjail,
        ];
        for (tag, action) in (9u8..).zip(actions) {
            let mut stx = sample(&key);
            stx.tx.action = action;
            let bytes = stx.encode();
            assert_eq!(bytes.len(), stx.encode_size());
            let back = SignedTx::decode_untrusted(&bytes).unwrap();
            assert_eq!(back, stx);
            assert_eq!(back.tx.action.tag(), tag);
        }
        let mut stx = sample(&key);
        stx.tx.action = Action::RegisterValidator {
            p2p_address: "a".repeat(P2P_ADDRESS_BYTES_MAX + 1),
            self_bond: Amount::new(1),
            seed_key: SeedKey([7; 48]),
            seed_key_possession: SeedProof([9; 96]),
        };
        assert!(SignedTx::decode_untrusted(&stx.encode()).is_err());
    }

    #[test]
    fn provider_offers_carry_their_engine_class_in_bytes_and_json() {
        use crate::market::Text;
        let key = PrivateKey::from_seed(3);
        let spec = ProviderSpec {
            slots: 2,
            memory_bytes_per_slot: 1 << 30,
            storage_bytes: 0,
            labels: Vec::new(),
            ask_per_mfuel: Amount::new(1),
            endpoint: Text("http://127.0.0.1:9000".into()),
            engine_class: Hash32::digest(b"yun-exec/1|target=x86_64"),
        };
        let actions = [
            Action::RegisterProvider {
                spec: spec.clone(),
                bond: Amount::new(5),
            },
            Action::UpdateProvider { spec: spec.clone() },
        ];
        for action in actions {
            let mut stx = sample(&key);
            stx.tx.action = action;
            let bytes = stx.encode();
            assert_eq!(bytes.len(), stx.encode_size());
            let back = SignedTx::decode_untrusted(&bytes).unwrap();
            assert_eq!(back, stx);
            // The class is the last 32 bytes of the offer: a different class is a different tx.
            let mut other = stx.clone();
            if let Action::RegisterProvider { spec, .. } | Action::UpdateProvider { spec } =
                &mut other.tx.action
            {
                spec.engine_class = Hash32::ZERO;
            }
            assert_ne!(other.encode(), bytes);
        }
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            json["engine_class"],
            serde_json::json!(spec.engine_class.to_string())
        );
        let back: ProviderSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, spec);
        // An old client's offer without the field reads as the zero class, which the chain
        // refuses (EngineClassMissing) rather than guessing one.
        let mut old = json;
        old.as_object_mut().unwrap().remove("engine_class");
        let back: ProviderSpec = serde_json::from_value(old).unwrap();
        assert_eq!(back.engine_class, Hash32::ZERO);
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
