//! Numbered, named reasons a transaction is refused, each with what to do next.
//!
//! The numbers are part of the protocol and of the public API: never renumber, only append.

use serde::{Deserialize, Serialize};

/// Why a transaction was not accepted (by the API, the mempool or the state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u16)]
pub enum TxRejection {
    InsufficientBalance = 1,
    BadNonce = 2,
    WrongChain = 3,
    Expired = 4,
    BadSignature = 5,
    FeeTooLow = 6,
    Malformed = 7,
    TooLarge = 8,
    AlreadyKnown = 9,
    MempoolFull = 10,
    AccountPendingLimit = 11,
    NonceTooFarAhead = 12,
    ExpiryTooFar = 13,
    ZeroAmount = 14,
    AmountOverflow = 15,
    BlockFull = 16,
    AlreadyProvider = 17,
    NotProvider = 18,
    BondTooLow = 19,
    InvalidProviderSpec = 20,
    ProviderExiting = 21,
    TasksInFlight = 22,
    InvalidJobSpec = 23,
    DeadlineOutOfRange = 24,
    InsufficientEscrow = 25,
    UnknownJob = 26,
    NotRequester = 27,
    JobClosed = 28,
    NotAssigned = 29,
    CommitClosed = 30,
    RevealNotOpen = 31,
    CommitmentMismatch = 32,
    DuplicateResult = 33,
    FuelAboveLimit = 34,
    ValidatorExists = 35,
    UnknownValidator = 36,
    SelfBondBelowMin = 37,
    DelegationBelowMin = 38,
    NotEnoughDelegated = 39,
    ValidatorJailed = 40,
    InvalidP2pAddress = 41,
    EvidenceAlreadyUsed = 42,
    NotJailed = 43,
    JailNotOver = 44,
    EvidenceInvalid = 45,
    // 46 was EvidenceNotAccepted, a stopgap while slashing by evidence was off; retired, never
    // to be reused.
    SeedKeyInvalid = 47,
    LabelNotGoverned = 48,
    SlotsChangeTooSoon = 49,
    ProgramTooLarge = 50,
    InputTooLarge = 51,
    FuelOutlastsWallClock = 52,
    ResumeTooSoon = 53,
    EngineClassMissing = 54,
    EngineClassChangeInFlight = 55,
    EngineClassNotGoverned = 56,
    DealSpecInvalid = 57,
    UnknownDeal = 58,
    NotDealOwner = 59,
    DealEnded = 60,
    NotReplicaHolder = 61,
    ChallengeNotOpen = 62,
    EpochAlreadyProven = 63,
    ChunkProofInvalid = 64,
    EncryptionKeyInvalid = 65,
    ProviderNotOnJob = 66,
    StorageReplicasHeld = 67,
    DataSourceInvalid = 68,
    WritesExceedFee = 69,
    BidBelowPriceFloor = 70,
    QueuedTasksFull = 71,
    MempoolFeeRateTooLow = 72,
    LockInvalid = 73,
    LockNotExpired = 74,
    NoLock = 75,
    DepositTooLow = 76,
    ProposalInvalid = 77,
    ParamChangeInvalid = 78,
    UnknownProposal = 79,
    VotingClosed = 80,
    NoVotingPower = 81,
    TreasuryInsufficient = 82,
    ProposalLimitReached = 83,
    FaucetDisabled = 84,
    FaucetAlreadyClaimed = 85,
    FaucetWorkInvalid = 86,
    CommissionAboveMax = 87,
    CommissionRaiseTooLarge = 88,
    CommissionRaiseTooSoon = 89,
    EthTxInvalid = 90,
    EthWrongChainId = 91,
    EthGasPriceTooLow = 92,
    EthGasLimitTooHigh = 93,
    EthTxRefusedByEvm = 94,
    EvmBlockGasFull = 95,
    EvmReverted = 96,
    ComputeCallInvalid = 97,
    CallbackGasTooHigh = 98,
    ComputeReentry = 99,
}

impl TxRejection {
    pub const ALL: [TxRejection; 98] = [
        Self::InsufficientBalance,
        Self::BadNonce,
        Self::WrongChain,
        Self::Expired,
        Self::BadSignature,
        Self::FeeTooLow,
        Self::Malformed,
        Self::TooLarge,
        Self::AlreadyKnown,
        Self::MempoolFull,
        Self::AccountPendingLimit,
        Self::NonceTooFarAhead,
        Self::ExpiryTooFar,
        Self::ZeroAmount,
        Self::AmountOverflow,
        Self::BlockFull,
        Self::AlreadyProvider,
        Self::NotProvider,
        Self::BondTooLow,
        Self::InvalidProviderSpec,
        Self::ProviderExiting,
        Self::TasksInFlight,
        Self::InvalidJobSpec,
        Self::DeadlineOutOfRange,
        Self::InsufficientEscrow,
        Self::UnknownJob,
        Self::NotRequester,
        Self::JobClosed,
        Self::NotAssigned,
        Self::CommitClosed,
        Self::RevealNotOpen,
        Self::CommitmentMismatch,
        Self::DuplicateResult,
        Self::FuelAboveLimit,
        Self::ValidatorExists,
        Self::UnknownValidator,
        Self::SelfBondBelowMin,
        Self::DelegationBelowMin,
        Self::NotEnoughDelegated,
        Self::ValidatorJailed,
        Self::InvalidP2pAddress,
        Self::EvidenceAlreadyUsed,
        Self::NotJailed,
        Self::JailNotOver,
        Self::EvidenceInvalid,
        Self::SeedKeyInvalid,
        Self::LabelNotGoverned,
        Self::SlotsChangeTooSoon,
        Self::ProgramTooLarge,
        Self::InputTooLarge,
        Self::FuelOutlastsWallClock,
        Self::ResumeTooSoon,
        Self::EngineClassMissing,
        Self::EngineClassChangeInFlight,
        Self::EngineClassNotGoverned,
        Self::DealSpecInvalid,
        Self::UnknownDeal,
        Self::NotDealOwner,
        Self::DealEnded,
        Self::NotReplicaHolder,
        Self::ChallengeNotOpen,
        Self::EpochAlreadyProven,
        Self::ChunkProofInvalid,
        Self::EncryptionKeyInvalid,
        Self::ProviderNotOnJob,
        Self::StorageReplicasHeld,
        Self::DataSourceInvalid,
        Self::WritesExceedFee,
        Self::BidBelowPriceFloor,
        Self::QueuedTasksFull,
        Self::MempoolFeeRateTooLow,
        Self::LockInvalid,
        Self::LockNotExpired,
        Self::NoLock,
        Self::DepositTooLow,
        Self::ProposalInvalid,
        Self::ParamChangeInvalid,
        Self::UnknownProposal,
        Self::VotingClosed,
        Self::NoVotingPower,
        Self::TreasuryInsufficient,
        Self::ProposalLimitReached,
        Self::FaucetDisabled,
        Self::FaucetAlreadyClaimed,
        Self::FaucetWorkInvalid,
        Self::CommissionAboveMax,
        Self::CommissionRaiseTooLarge,
        Self::CommissionRaiseTooSoon,
        Self::EthTxInvalid,
        Self::EthWrongChainId,
        Self::EthGasPriceTooLow,
        Self::EthGasLimitTooHigh,
        Self::EthTxRefusedByEvm,
        Self::EvmBlockGasFull,
        Self::EvmReverted,
        Self::ComputeCallInvalid,
        Self::CallbackGasTooHigh,
        Self::ComputeReentry,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::InsufficientBalance => "InsufficientBalance",
            Self::BadNonce => "BadNonce",
            Self::WrongChain => "WrongChain",
            Self::Expired => "Expired",
            Self::BadSignature => "BadSignature",
            Self::FeeTooLow => "FeeTooLow",
            Self::Malformed => "Malformed",
            Self::TooLarge => "TooLarge",
            Self::AlreadyKnown => "AlreadyKnown",
            Self::MempoolFull => "MempoolFull",
            Self::AccountPendingLimit => "AccountPendingLimit",
            Self::NonceTooFarAhead => "NonceTooFarAhead",
            Self::ExpiryTooFar => "ExpiryTooFar",
            Self::ZeroAmount => "ZeroAmount",
            Self::AmountOverflow => "AmountOverflow",
            Self::BlockFull => "BlockFull",
            Self::AlreadyProvider => "AlreadyProvider",
            Self::NotProvider => "NotProvider",
            Self::BondTooLow => "BondTooLow",
            Self::InvalidProviderSpec => "InvalidProviderSpec",
            Self::ProviderExiting => "ProviderExiting",
            Self::TasksInFlight => "TasksInFlight",
            Self::InvalidJobSpec => "InvalidJobSpec",
            Self::DeadlineOutOfRange => "DeadlineOutOfRange",
            Self::InsufficientEscrow => "InsufficientEscrow",
            Self::UnknownJob => "UnknownJob",
            Self::NotRequester => "NotRequester",
            Self::JobClosed => "JobClosed",
            Self::NotAssigned => "NotAssigned",
            Self::CommitClosed => "CommitClosed",
            Self::RevealNotOpen => "RevealNotOpen",
            Self::CommitmentMismatch => "CommitmentMismatch",
            Self::DuplicateResult => "DuplicateResult",
            Self::FuelAboveLimit => "FuelAboveLimit",
            Self::ValidatorExists => "ValidatorExists",
            Self::UnknownValidator => "UnknownValidator",
            Self::SelfBondBelowMin => "SelfBondBelowMin",
            Self::DelegationBelowMin => "DelegationBelowMin",
            Self::NotEnoughDelegated => "NotEnoughDelegated",
            Self::ValidatorJailed => "ValidatorJailed",
            Self::InvalidP2pAddress => "InvalidP2pAddress",
            Self::EvidenceAlreadyUsed => "EvidenceAlreadyUsed",
            Self::NotJailed => "NotJailed",
            Self::JailNotOver => "JailNotOver",
            Self::EvidenceInvalid => "EvidenceInvalid",
            Self::SeedKeyInvalid => "SeedKeyInvalid",
            Self::LabelNotGoverned => "LabelNotGoverned",
            Self::SlotsChangeTooSoon => "SlotsChangeTooSoon",
            Self::ProgramTooLarge => "ProgramTooLarge",
            Self::InputTooLarge => "InputTooLarge",
            Self::FuelOutlastsWallClock => "FuelOutlastsWallClock",
            Self::ResumeTooSoon => "ResumeTooSoon",
            Self::EngineClassMissing => "EngineClassMissing",
            Self::EngineClassChangeInFlight => "EngineClassChangeInFlight",
            Self::EngineClassNotGoverned => "EngineClassNotGoverned",
            Self::DealSpecInvalid => "DealSpecInvalid",
            Self::UnknownDeal => "UnknownDeal",
            Self::NotDealOwner => "NotDealOwner",
            Self::DealEnded => "DealEnded",
            Self::NotReplicaHolder => "NotReplicaHolder",
            Self::ChallengeNotOpen => "ChallengeNotOpen",
            Self::EpochAlreadyProven => "EpochAlreadyProven",
            Self::ChunkProofInvalid => "ChunkProofInvalid",
            Self::EncryptionKeyInvalid => "EncryptionKeyInvalid",
            Self::ProviderNotOnJob => "ProviderNotOnJob",
            Self::StorageReplicasHeld => "StorageReplicasHeld",
            Self::DataSourceInvalid => "DataSourceInvalid",
            Self::WritesExceedFee => "WritesExceedFee",
            Self::BidBelowPriceFloor => "BidBelowPriceFloor",
            Self::QueuedTasksFull => "QueuedTasksFull",
            Self::MempoolFeeRateTooLow => "MempoolFeeRateTooLow",
            Self::CommissionAboveMax => "CommissionAboveMax",
            Self::CommissionRaiseTooLarge => "CommissionRaiseTooLarge",
            Self::CommissionRaiseTooSoon => "CommissionRaiseTooSoon",
            Self::EthTxInvalid => "EthTxInvalid",
            Self::EthWrongChainId => "EthWrongChainId",
            Self::EthGasPriceTooLow => "EthGasPriceTooLow",
            Self::EthGasLimitTooHigh => "EthGasLimitTooHigh",
            Self::EthTxRefusedByEvm => "EthTxRefusedByEvm",
            Self::EvmBlockGasFull => "EvmBlockGasFull",
            Self::EvmReverted => "EvmReverted",
            Self::ComputeCallInvalid => "ComputeCallInvalid",
            Self::CallbackGasTooHigh => "CallbackGasTooHigh",
            Self::ComputeReentry => "ComputeReentry",
            Self::LockInvalid => "LockInvalid",
            Self::LockNotExpired => "LockNotExpired",
            Self::NoLock => "NoLock",
            Self::DepositTooLow => "DepositTooLow",
            Self::ProposalInvalid => "ProposalInvalid",
            Self::ParamChangeInvalid => "ParamChangeInvalid",
            Self::UnknownProposal => "UnknownProposal",
            Self::VotingClosed => "VotingClosed",
            Self::NoVotingPower => "NoVotingPower",
            Self::TreasuryInsufficient => "TreasuryInsufficient",
            Self::ProposalLimitReached => "ProposalLimitReached",
            Self::FaucetDisabled => "FaucetDisabled",
            Self::FaucetAlreadyClaimed => "FaucetAlreadyClaimed",
            Self::FaucetWorkInvalid => "FaucetWorkInvalid",
        }
    }

    /// What happened, in words.
    pub fn message(self) -> &'static str {
        match self {
            Self::InsufficientBalance => "the account cannot pay the amount plus the fee",
            Self::BadNonce => "the nonce is not the account's next nonce (already used or a gap)",
            Self::WrongChain => "the transaction was signed for a different chain id",
            Self::Expired => "the transaction's expiry height has passed",
            Self::BadSignature => "the signature does not verify against the signer's key",
            Self::FeeTooLow => {
                "the fee does not cover the chain's base fee plus its fee per byte of the encoded transaction (min_fee + fee_per_byte x bytes)"
            }
            Self::Malformed => "the bytes are not a canonical signed transaction",
            Self::TooLarge => "the transaction is larger than the chain allows",
            Self::AlreadyKnown => "this exact transaction is already pending or committed",
            Self::MempoolFull => "the node's mempool is full",
            Self::AccountPendingLimit => "the account has too many pending transactions",
            Self::NonceTooFarAhead => "the nonce is too far ahead of the account's next nonce",
            Self::ExpiryTooFar => "the expiry height is further ahead than the chain allows",
            Self::ZeroAmount => "the amount must be greater than zero",
            Self::AmountOverflow => "the amounts involved overflow",
            Self::BlockFull => "the block has no room left for this transaction",
            Self::AlreadyProvider => "the account is already a registered provider",
            Self::NotProvider => "the account is not a registered provider",
            Self::BondTooLow => "the bond is below the chain's minimum provider bond",
            Self::InvalidProviderSpec => {
                "the provider offer is invalid (zero slots or memory, too many slots, or a bad endpoint URL)"
            }
            Self::ProviderExiting => "the provider is exiting and cannot change its offer",
            Self::TasksInFlight => "the provider still has tasks in flight",
            Self::InvalidJobSpec => {
                "the job is invalid (no tasks, zero fuel or memory, limits above the chain's, or a bad verification policy)"
            }
            Self::DeadlineOutOfRange => {
                "the job deadline is in the past or further ahead than the chain allows"
            }
            Self::InsufficientEscrow => {
                "the account cannot lock the job's worst-case cost (tasks x replicas x fuel x bid) plus the fee"
            }
            Self::UnknownJob => "no job has this id",
            Self::NotRequester => "only the account that posted the job may do this",
            Self::JobClosed => "the job is already cancelled or finished",
            Self::NotAssigned => "the task is not assigned to this provider",
            Self::CommitClosed => {
                "the task's replica is not waiting for a commitment (already committed, or expired)"
            }
            Self::RevealNotOpen => {
                "the replica cannot reveal now (not committed, other replicas still committing, or expired)"
            }
            Self::CommitmentMismatch => "the revealed verdict and salt do not match the commitment",
            Self::DuplicateResult => "the transaction names the same task twice",
            Self::FuelAboveLimit => {
                "the revealed fuel is more than the task's fuel limit, which no sandbox run can use"
            }
            Self::ValidatorExists => "the account is already a registered validator",
            Self::UnknownValidator => "no validator is registered at this address",
            Self::SelfBondBelowMin => {
                "the self bond would be below the chain's minimum validator self bond (an unbonding validator must unbond all of it or leave at least the minimum)"
            }
            Self::DelegationBelowMin => "the amount is below the chain's minimum delegation",
            Self::NotEnoughDelegated => {
                "the account has less bonded to this validator than it asked to unbond"
            }
            Self::ValidatorJailed => {
                "the validator is jailed for an equivocation and takes no new stake"
            }
            Self::InvalidP2pAddress => {
                "the p2p address is not host:port (empty, too long, whitespace or control characters, or a bad port)"
            }
            Self::EvidenceAlreadyUsed => {
                "this equivocation (validator, epoch and view) has already been punished"
            }
            Self::NotJailed => "the validator is not jailed",
            Self::JailNotOver => "the validator's jail time is not over yet",
            Self::EvidenceInvalid => {
                "the evidence does not decode, or its two messages are not both validly signed by one member of the consensus set of their epoch (sets are kept for the last few epochs only)"
            }
            Self::SeedKeyInvalid => {
                "the seed key is not a valid BLS12-381 public key, or its proof of possession is not its signature of the validator's address"
            }
            Self::LabelNotGoverned => {
                "the job requires a label that is not in the chain's governed list (market.governed_labels), so no provider may be matched on it"
            }
            Self::SlotsChangeTooSoon => {
                "the provider changed its slots too recently (market.slots_change_interval_blocks)"
            }
            Self::ResumeTooSoon => {
                "the provider paused or changed its slots too recently to resume: a pause and a resume change the capacity the price index counts, at most once per market.slots_change_interval_blocks"
            }
            Self::ProgramTooLarge => {
                "the job's program is larger than any provider's sandbox admits (market.program_bytes_max)"
            }
            Self::InputTooLarge => {
                "a task's input is larger than the sandbox's stdin limit (market.input_bytes_max)"
            }
            Self::FuelOutlastsWallClock => {
                "the fuel per task would outlast the sandbox's wall clock on the slowest admitted provider (market.fuel_per_second_min × market.task_seconds_max)"
            }
            Self::EngineClassMissing => {
                "the provider offer declares no engine class (engine_class is zero or absent), so its verdicts could not be compared with anyone's"
            }
            Self::EngineClassChangeInFlight => {
                "the offer changes the engine class while the provider still has tasks in flight, which were drawn for its old class"
            }
            Self::EngineClassNotGoverned => {
                "the offer declares an engine class the chain does not admit (market.engine_classes): this node's build is not one the chain admits, and a private class would win every replica of the tasks drawn for it"
            }
            Self::DealSpecInvalid => {
                "the deal is invalid (size 0 or above 64 GiB, replicas 0 or above 9, epochs 0 or above 1,000,000, a zero bid, or a bad source URL)"
            }
            Self::UnknownDeal => "no deal has this id",
            Self::NotDealOwner => "only the account that posted the deal may cancel it",
            Self::DealEnded => "the deal has already ended or been cancelled",
            Self::NotReplicaHolder => {
                "the sender does not hold this replica of the deal (another provider's, an index the deal never had, or a replica that was released or replaced)"
            }
            Self::ChallengeNotOpen => {
                "no challenge is open for this epoch: the epoch is not the deal's current one, its proof window has closed, or the replica was assigned after it opened"
            }
            Self::EpochAlreadyProven => {
                "this replica has already proven (and been paid for) this epoch"
            }
            Self::ChunkProofInvalid => {
                "the proof is not the bao encoding of the challenged chunk of the deal's file (another chunk, another file, or tampered bytes)"
            }
            Self::EncryptionKeyInvalid => "the encryption key is all zeros",
            Self::ProviderNotOnJob => {
                "a sealed key names a provider that no task of the job was assigned to"
            }
            Self::StorageReplicasHeld => {
                "the provider still holds live storage replicas, whose missed proofs its bond must answer for"
            }
            Self::DataSourceInvalid => {
                "a data source of the job is not a plain http(s) address (scheme, host and optional port and path; no user info, query, fragment, spaces or control characters)"
            }
            Self::WritesExceedFee => {
                "the action's state writes cost more than the declared fee had left after the base and byte fees; the action was undone and the whole declared fee charged"
            }
            Self::BidBelowPriceFloor => {
                "the job's bid per million fuel is below the market's price floor (market.price_floor_per_mfuel), so no provider could ever be paid for it"
            }
            Self::QueuedTasksFull => {
                "the market's queue of waiting tasks would exceed its limit (market.queued_tasks_max) with this job's tasks"
            }
            Self::MempoolFeeRateTooLow => {
                "the node's mempool is full (its count or bytes, or the backlog its blocks finalize within the node's backlog wait) and this transaction pays less per byte than everything pending, so it would be the first evicted"
            }
            Self::CommissionAboveMax => {
                "the commission is above the chain's maximum (rewards.commission_max_bps)"
            }
            Self::CommissionRaiseTooLarge => {
                "a validator with delegators may raise its commission only a little per epoch"
            }
            Self::CommissionRaiseTooSoon => {
                "this validator already raised its commission this epoch"
            }
            Self::EthTxInvalid => {
                "the Ethereum transaction is not valid here: it does not decode as a legacy (with an EIP-155 chain id), EIP-2930 or EIP-1559 transaction, its signature does not recover to the sender it claims, its envelope is not the canonical relay wrapping, or it is a kind this chain does not take (blob, EIP-7702)"
            }
            Self::EthWrongChainId => {
                "the Ethereum transaction's chain id is not this chain's (params.evm.chain_id)"
            }
            Self::EthGasPriceTooLow => {
                "the Ethereum transaction's gas price (or EIP-1559 max fee per gas) is below the chain's base fee (params.evm.base_fee_per_gas)"
            }
            Self::EthGasLimitTooHigh => {
                "the Ethereum transaction asks for more gas than one transaction may use (params.evm.tx_gas_max)"
            }
            Self::EthTxRefusedByEvm => {
                "the EVM refused the Ethereum transaction before running it: its gas limit is below the intrinsic gas, its init code is too large (EIP-3860), or its balance cannot pay gas × price + value"
            }
            Self::EvmBlockGasFull => {
                "the block's Ethereum transactions would use more gas than params.evm.block_gas_limit"
            }
            Self::EvmReverted => {
                "the Ethereum transaction ran and reverted or halted (out of gas, an invalid opcode); its gas was paid and its nonce used, nothing else changed"
            }
            Self::ComputeCallInvalid => {
                "the call to the compute precompile (0x…7963) is not one it takes: its input does not decode as an IYunCompute function, postJob came by DELEGATECALL, CALLCODE or STATICCALL, the call carried value, a job has more than one reduce step or an unknown policy, or the transaction already posted POSTINGS_PER_TX_MAX jobs"
            }
            Self::CallbackGasTooHigh => {
                "the job's callbackGas is above params.evm.callback_gas_max"
            }
            Self::ComputeReentry => {
                "postJob was called during a settlement callback; the chain runs callbacks at the end of a block and posts no job from them"
            }
            Self::LockInvalid => {
                "the lock is invalid: a zero amount, an end height not after the current block, beyond governance.lock_blocks_max from now, or before the end of the account's current lock (a lock can grow and lengthen, never shorten)"
            }
            Self::LockNotExpired => {
                "the lock's end height has not been reached yet; locked tokens stay locked until then"
            }
            Self::NoLock => "the account has no governance lock",
            Self::DepositTooLow => {
                "the proposal's deposit is below the chain's minimum (governance.deposit_min)"
            }
            Self::ProposalInvalid => {
                "the proposal is malformed: no edits, an empty text or name, a zero or treasury-exceeding spend, or an apply height not after the voting end or further than governance.apply_delay_blocks_max past it"
            }
            Self::ParamChangeInvalid => {
                "the parameter change does not apply: a path that is not a field of the chain parameters, a value of the wrong type or a non-integer number, or parameters the genesis checks refuse"
            }
            Self::UnknownProposal => "no proposal has this number",
            Self::VotingClosed => "the proposal's voting period is over",
            Self::NoVotingPower => {
                "the account has neither a governance lock nor bonded stake, so its vote would weigh nothing"
            }
            Self::TreasuryInsufficient => "the treasury holds less than the spend asks for",
            Self::ProposalLimitReached => {
                "as many proposals are open for votes as the chain allows (governance.open_proposals_max)"
            }
            Self::FaucetDisabled => "this chain's genesis does not enable the faucet",
            Self::FaucetAlreadyClaimed => {
                "this account has already claimed the faucet in the current epoch"
            }
            Self::FaucetWorkInvalid => {
                "the nonce does not solve the faucet puzzle for this chain, account and epoch (the puzzle changes each epoch)"
            }
        }
    }

    /// What the sender can do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Self::InsufficientBalance => {
                "fund the account or send less; `yun account ADDRESS` shows the balance"
            }
            Self::BadNonce => {
                "re-sign with the next nonce shown by `yun account ADDRESS` (the CLI does this when --nonce is omitted)"
            }
            Self::WrongChain => "sign for the chain id shown by `yun status`",
            Self::Expired => {
                "re-sign with a later expiry height (the CLI sets one from the current height)"
            }
            Self::BadSignature => "sign the canonical transaction bytes with the signer's own key",
            Self::FeeTooLow => {
                "omit --fee (the CLI declares enough and the unused part is refunded), or raise it to min_fee + fee_per_byte x bytes from `yun status`"
            }
            Self::Malformed => "encode the transaction with the yun client or CLI",
            Self::TooLarge => "split the work into smaller transactions",
            Self::AlreadyKnown => "nothing to do: look it up with `yun tx show ID`",
            Self::MempoolFull => "retry once your pending transactions finalize",
            Self::AccountPendingLimit => {
                "wait for pending transactions to finalize, then send more"
            }
            Self::NonceTooFarAhead => "send the missing lower nonces first",
            Self::ExpiryTooFar => "choose an expiry closer to the current height",
            Self::ZeroAmount => "send a positive amount",
            Self::AmountOverflow => "use smaller amounts",
            Self::BlockFull => "it stays in the mempool for a later block",
            Self::AlreadyProvider => "change the offer with `yun provider update`",
            Self::NotProvider => "register first with `yun provider register`",
            Self::BondTooLow => "bond at least the minimum shown by `yun market`",
            Self::InvalidProviderSpec => {
                "offer 1 to the maximum slots, some memory, and an http(s):// endpoint"
            }
            Self::ProviderExiting => "wait for the bond to return, then register again",
            Self::TasksInFlight => "finish (commit and reveal) or let them expire, then exit",
            Self::InvalidJobSpec => {
                "check tasks, --fuel, --memory-mb and --verify against `yun market` limits"
            }
            Self::DeadlineOutOfRange => {
                "choose a deadline height between now and the maximum shown by `yun market`"
            }
            Self::InsufficientEscrow => {
                "fund the account, lower the bid or fuel, or use fewer replicas"
            }
            Self::UnknownJob => "check the id printed when the job was posted",
            Self::NotRequester => "sign with the requester's key",
            Self::JobClosed => "nothing to do: `yun job status ID` shows its outcome",
            Self::NotAssigned => {
                "commit and reveal only tasks assigned to you (`yun provider status`)"
            }
            Self::CommitClosed => "commit once, before the commit deadline",
            Self::RevealNotOpen => {
                "reveal after every replica has committed, before the reveal deadline"
            }
            Self::CommitmentMismatch => "reveal exactly the verdict and salt that were committed",
            Self::DuplicateResult => "send one commit or reveal per task",
            Self::FuelAboveLimit => {
                "reveal the verdict the sandbox produced under the job's fuel limit"
            }
            Self::ValidatorExists => {
                "add to the self bond with `Delegate` to your own address instead"
            }
            Self::UnknownValidator => {
                "check the address against the validator list (`GET /v1/validators`)"
            }
            Self::SelfBondBelowMin => {
                "bond at least `validator_self_bond_min` from the chain parameters, or unbond your whole self bond to leave"
            }
            Self::DelegationBelowMin => {
                "delegate at least `delegation_min` from the chain parameters"
            }
            Self::NotEnoughDelegated => {
                "unbond at most what your delegation holds (`GET /v1/accounts/{address}/delegations`)"
            }
            Self::ValidatorJailed => {
                "delegate to another validator, or wait until this one unjails"
            }
            Self::InvalidP2pAddress => {
                "give the public host:port your node listens on for p2p, e.g. 203.0.113.7:9000"
            }
            Self::EvidenceAlreadyUsed => "nothing to do: each equivocation is slashed once",
            Self::NotJailed => {
                "nothing to do: the validator is eligible for the next active set if its stake ranks"
            }
            Self::JailNotOver => {
                "send Unjail at or after the height in the validator's `jailed_until_height`"
            }
            Self::EvidenceInvalid => {
                "submit the conflicting pair exactly as consensus reported it; nodes do this themselves"
            }
            Self::SeedKeyInvalid => {
                "register with `yun stake register --from @PATH/node.key`: it derives the seed key and its proof from the validator's node key"
            }
            Self::LabelNotGoverned => {
                "require only labels the chain governs (`GET /v1/genesis`: params.market.governed_labels), or drop the label"
            }
            Self::SlotsChangeTooSoon => {
                "keep the current slots (other fields may change) and send the new slot count after the interval"
            }
            Self::ResumeTooSoon => {
                "stay paused (running tasks still finish) and resume once market.slots_change_interval_blocks have passed since the pause (`yun provider status` shows slots_changed_height)"
            }
            Self::ProgramTooLarge => {
                "shrink the module (strip debug sections: `wasm-opt -Os` or `cargo build --release` with `strip = true`)"
            }
            Self::InputTooLarge => {
                "split the input across more tasks, each within the limit (`GET /v1/genesis`: params.market.input_bytes_max)"
            }
            Self::FuelOutlastsWallClock => {
                "split the work into more tasks with less fuel each, within the limit `GET /v1/genesis` gives"
            }
            Self::EngineClassMissing => {
                "register with `yun provider register` or the agent (`yun provider run`): both declare this machine's sandbox class, which `yun provider status` then shows"
            }
            Self::EngineClassChangeInFlight => {
                "let the tasks in flight finish (commit and reveal) with the old build, or let them expire, then update; `yun provider status` shows them"
            }
            Self::EngineClassNotGoverned => {
                "run an admitted release: `yun market` lists the engine classes the chain admits (`GET /v1/genesis`: params.market.engine_classes) and `yun provider status` the one you declared; a new release's class enters by governance"
            }
            Self::DealSpecInvalid => {
                "store 1 byte to 64 GiB on 1 to 9 replicas for 1 to 1,000,000 epochs at a positive bid (`yun storage put` checks these)"
            }
            Self::UnknownDeal => "check the id printed when the deal was posted (`yun storage ls`)",
            Self::NotDealOwner => "sign with the deal owner's key",
            Self::DealEnded => "nothing to do: `yun storage deal ID` shows its outcome",
            Self::NotReplicaHolder => {
                "prove only the replicas `GET /v1/storage/challenges?provider=ADDRESS` lists for you"
            }
            Self::ChallengeNotOpen => {
                "prove the epoch `GET /v1/storage/challenges` shows, in a block at or below its window_end_height"
            }
            Self::EpochAlreadyProven => "nothing to do: each epoch is proven and paid once",
            Self::ChunkProofInvalid => {
                "encode the chunk index the challenge names from the stored file and its outboard (the storage agent does this)"
            }
            Self::EncryptionKeyInvalid => {
                "publish the x25519 public key of the provider's storage agent"
            }
            Self::ProviderNotOnJob => {
                "share keys only with the providers `yun job status ID` lists on the job's tasks, after they are assigned"
            }
            Self::StorageReplicasHeld => {
                "offer zero capacity (`OfferStorage`) and keep proving until the deals end or are repaired elsewhere, then exit"
            }
            Self::DataSourceInvalid => {
                "name only the API URLs of nodes of the network (e.g. http://host:port); providers fetch only from sources the network lists"
            }
            Self::WritesExceedFee => {
                "omit --fee so the CLI declares a bound on the writes (unused fee is refunded), or raise it by fee_per_write x the keys the action writes"
            }
            Self::BidBelowPriceFloor => {
                "bid at least the floor (`yun market` shows it and the current index)"
            }
            Self::QueuedTasksFull => {
                "wait for the queue to drain (`yun market` shows queue_tasks) or post fewer tasks"
            }
            Self::MempoolFeeRateTooLow => {
                "retry later or declare a higher fee (fee per byte is what the mempool keeps)"
            }
            Self::CommissionAboveMax => {
                "set at most params.rewards.commission_max_bps (`GET /v1/genesis`)"
            }
            Self::CommissionRaiseTooLarge => {
                "raise by at most params.rewards.commission_raise_max_bps now, and the rest in later epochs (lowering is never limited)"
            }
            Self::CommissionRaiseTooSoon => {
                "send the raise in the next epoch (`yun stake show ADDRESS` shows commission_raised_epoch)"
            }
            Self::EthTxInvalid => {
                "sign a legacy, EIP-2930 or EIP-1559 transaction with a chain id and send it with eth_sendRawTransaction"
            }
            Self::EthWrongChainId => "sign for the chain id eth_chainId returns",
            Self::EthGasPriceTooLow => "pay at least what eth_gasPrice returns",
            Self::EthGasLimitTooHigh => {
                "ask for at most params.evm.tx_gas_max gas (eth_estimateGas says what a call needs)"
            }
            Self::EthTxRefusedByEvm => {
                "check the gas limit (eth_estimateGas), the init code size (at most 49,152 bytes) and the sender's balance (eth_getBalance)"
            }
            Self::EvmBlockGasFull => "nothing to do: the transaction waits for a later block",
            Self::EvmReverted => {
                "read the revert reason with eth_call on the same arguments, or eth_getTransactionReceipt for the status"
            }
            Self::ComputeCallInvalid => {
                "CALL the precompile directly, without value, with an input encoded from examples/contracts/IYunCompute.sol"
            }
            Self::CallbackGasTooHigh => {
                "ask for at most params.evm.callback_gas_max callback gas (`GET /v1/genesis`), and keep the callback small: store the results, act on them in a later transaction"
            }
            Self::ComputeReentry => {
                "record what to post in the callback and post it from an ordinary transaction"
            }
            Self::LockInvalid => {
                "lock a positive amount until a height between the next block and now + governance.lock_blocks_max, and not before your current lock's end (`yun gov power ADDRESS` shows it)"
            }
            Self::LockNotExpired => {
                "send Unlock at or after the lock's until_height (`yun gov power ADDRESS` shows it)"
            }
            Self::NoLock => "nothing to unlock: `yun gov lock` first if you want voting power",
            Self::DepositTooLow => {
                "deposit at least governance.deposit_min (`GET /v1/genesis` or `yun gov list` shows the parameters); it is refunded unless the proposal is vetoed"
            }
            Self::ProposalInvalid => {
                "give the proposal content and an apply height after now + governance.voting_period_blocks (the CLI picks one when --apply-height is omitted)"
            }
            Self::ParamChangeInvalid => {
                "name fields as in `GET /v1/genesis` params (e.g. market.price_step_divisor=16) with values in the ranges genesis allows"
            }
            Self::UnknownProposal => "check the number with `yun gov list`",
            Self::VotingClosed => "nothing to do: `yun gov show ID` shows its tally and outcome",
            Self::NoVotingPower => {
                "lock tokens with `yun gov lock` or delegate to a validator, then vote"
            }
            Self::TreasuryInsufficient => {
                "ask for at most the treasury's balance (`yun gov list` shows it)"
            }
            Self::ProposalLimitReached => {
                "wait for an open proposal's voting to end, then propose again"
            }
            Self::FaucetDisabled => {
                "get tokens by a transfer from a funded account; faucets run on test networks only"
            }
            Self::FaucetAlreadyClaimed => {
                "claim again in the next epoch (staking.epoch_blocks), or use another account"
            }
            Self::FaucetWorkInvalid => {
                "solve it again with `yun faucet` (it solves for the epoch of the next block)"
            }
        }
    }
}

impl std::fmt::Display for TxRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code(), self.message())
    }
}

impl std::error::Error for TxRejection {}

/// The JSON shape of a rejection: number, name, words and advice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RejectionBody {
    pub code: u16,
    pub name: String,
    pub message: String,
    pub hint: String,
}

impl From<TxRejection> for RejectionBody {
    fn from(r: TxRejection) -> Self {
        RejectionBody {
            code: r.code(),
            name: r.name().to_string(),
            message: r.message().to_string(),
            hint: r.hint().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for r in TxRejection::ALL {
            assert_eq!(TxRejection::from_code(r.code()), Some(r));
            assert!(!r.hint().is_empty());
        }
        let mut codes: Vec<u16> = TxRejection::ALL.iter().map(|r| r.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), TxRejection::ALL.len());
        assert_eq!(TxRejection::InsufficientBalance.code(), 1);
        // Numbers are protocol: the list is in order and dense but for retired codes (46), so
        // appending is the only change.
        let retired = [46u16];
        let mut expected = 1u16;
        for r in TxRejection::ALL {
            while retired.contains(&expected) {
                expected += 1;
            }
            assert_eq!(r.code(), expected, "{}", r.name());
            expected += 1;
        }
        assert_eq!(TxRejection::ValidatorExists.code(), 35);
        assert_eq!(TxRejection::JailNotOver.code(), 44);
    }
}
