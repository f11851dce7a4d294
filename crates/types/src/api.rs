//! JSON shapes of the HTTP API, shared by the node (server) and the client.

use crate::market::{JobId, JobSpec, ProviderSpec, ResultCommit, ResultReveal, TaskSpec};
use crate::rejection::RejectionBody;
use crate::{Action, Address, Amount, Hash32, Receipt, SignedTx, TxId, TxOutcome, TxRejection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::api_lists::{JobSummaryView, JobsResponse, QueuedTaskView, QueuedTasksResponse};
pub use crate::api_network::{DataSourcesResponse, NodeRole, PEER_API_URLS_MAX, PeerView};
pub use crate::api_staking::{
    ActiveMemberView, DelegationView, DelegationsResponse, UnbondingView, ValidatorStatusView,
    ValidatorView, ValidatorsResponse,
};
pub use crate::market_records::{
    FailReason, Job, JobStatus, Provider, ProviderStatus, ReduceInput, Replica, ReplicaState,
    RequesterStats, Task, TaskPhase,
};
pub use crate::market_why::{Excluded, TaskWhy, WaitReason};

/// Numbered API errors that are not about a transaction's content (codes from 100 up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ApiErrorKind {
    MalformedJson = 100,
    BodyTooLarge = 101,
    NotFound = 102,
    BadParameter = 103,
    Unavailable = 104,
    BlobTooLarge = 105,
    BlobNotFound = 106,
    BlobHashMismatch = 107,
    BadRange = 108,
    StoreFull = 109,
    UploadTicketMissing = 110,
    UploadTicketInvalid = 111,
    UploadTicketMismatch = 112,
    UploadTicketExpired = 113,
    UploaderUnfunded = 114,
    UploadQuotaExceeded = 115,
    DiskFull = 116,
    RateLimited = 117,
    Overloaded = 118,
    RequestTimeout = 119,
    TooManySubscribers = 120,
    UnsupportedMediaType = 121,
    CrossOriginRefused = 122,
    JobPruned = 123,
    ProposalNotFound = 124,
    FaucetNotEnabled = 125,
    ParamChangeRefused = 126,
    MalformedBody = 127,
}

impl ApiErrorKind {
    /// The HTTP status this error is answered with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::MalformedJson | Self::BadParameter | Self::MalformedBody => 400,
            Self::BodyTooLarge | Self::BlobTooLarge => 413,
            Self::NotFound | Self::BlobNotFound => 404,
            Self::Unavailable => 503,
            Self::BlobHashMismatch => 422,
            Self::BadRange => 416,
            Self::StoreFull | Self::DiskFull => 507,
            Self::UploadTicketMissing | Self::UploadTicketExpired => 401,
            Self::UploadTicketInvalid => 400,
            Self::UploadTicketMismatch => 422,
            Self::UploaderUnfunded => 403,
            Self::UploadQuotaExceeded | Self::RateLimited => 429,
            Self::Overloaded | Self::TooManySubscribers => 503,
            Self::RequestTimeout => 408,
            Self::UnsupportedMediaType => 415,
            Self::CrossOriginRefused => 403,
            Self::JobPruned => 410,
            Self::ProposalNotFound | Self::FaucetNotEnabled => 404,
            Self::ParamChangeRefused => 422,
        }
    }

    pub fn body(self, detail: impl Into<String>) -> RejectionBody {
        let (name, hint) = match self {
            Self::MalformedJson => (
                "MalformedJson",
                "send a JSON body as documented in /v1/openapi.json",
            ),
            Self::BodyTooLarge => (
                "BodyTooLarge",
                "send a smaller request; limits are in /v1/openapi.json",
            ),
            Self::NotFound => ("NotFound", "check the id, address or height"),
            Self::BadParameter => ("BadParameter", "check the path or query parameter's format"),
            Self::Unavailable => (
                "Unavailable",
                "the node is starting or shutting down; retry shortly",
            ),
            Self::BlobTooLarge => (
                "BlobTooLarge",
                "split the input into smaller pieces; the limit is in /v1/openapi.json",
            ),
            Self::BlobNotFound => (
                "BlobNotFound",
                "upload the blob first (POST /v1/blobs) or fetch it from a node or provider that has it",
            ),
            Self::BlobHashMismatch => (
                "BlobHashMismatch",
                "the bytes changed in transit or the expected hash is wrong; recompute blake3 of the input and upload again",
            ),
            Self::BadRange => (
                "BadRange",
                "send one range inside the blob, e.g. `Range: bytes=0-1023`; HEAD gives its length",
            ),
            Self::StoreFull => (
                "StoreFull",
                "upload to another node or retry after unused blobs are collected",
            ),
            Self::UploadTicketMissing => (
                "UploadTicketMissing",
                "sign an upload ticket with your account key and send it in the `yun-upload-ticket` header (the yun CLI does this for you)",
            ),
            Self::UploadTicketInvalid => (
                "UploadTicketInvalid",
                "sign a new ticket for this chain (chain id from /v1/status) with an expiry height at most the limit ahead, and send it as hex",
            ),
            Self::UploadTicketMismatch => (
                "UploadTicketMismatch",
                "a ticket names one root and size: sign a ticket for exactly the bytes you upload",
            ),
            Self::UploadTicketExpired => (
                "UploadTicketExpired",
                "sign a new ticket whose expiry height is above the node's height (/v1/status)",
            ),
            Self::UploaderUnfunded => (
                "UploaderUnfunded",
                "fund the account first (a transfer to it); nodes store blobs only for accounts with a balance or a bond",
            ),
            Self::UploadQuotaExceeded => (
                "UploadQuotaExceeded",
                "wait until the account's daily upload window renews, or upload to another node",
            ),
            Self::DiskFull => (
                "DiskFull",
                "the node keeps its last free disk space for the chain: upload to another node, or its operator frees space",
            ),
            Self::RateLimited => (
                "RateLimited",
                "wait the seconds in the `Retry-After` header, then send fewer requests per second (the node's `[api]` limits are per IP address)",
            ),
            Self::Overloaded => (
                "Overloaded",
                "the node is answering as many requests as it takes at once: retry after the `Retry-After` seconds, or ask another node",
            ),
            Self::RequestTimeout => (
                "RequestTimeout",
                "send the whole request (headers and body) without pauses; a slow link should upload blobs, which have a longer limit",
            ),
            Self::TooManySubscribers => (
                "TooManySubscribers",
                "close another event stream to this node, subscribe to another node, or poll /v1/status instead",
            ),
            Self::UnsupportedMediaType => (
                "UnsupportedMediaType",
                "send `Content-Type: application/json` (or `application/octet-stream` for POST /v1/blobs)",
            ),
            Self::CrossOriginRefused => (
                "CrossOriginRefused",
                "write from the node's own origin or from a program (the yun CLI or client), not from another web page; reads are open to any origin",
            ),
            Self::JobPruned => (
                "JobPruned",
                "the job settled and its records were pruned after market.settled_retention_blocks; its history is in the blocks (`yun tx show ID` gives the block that posted it)",
            ),
            Self::ProposalNotFound => (
                "ProposalNotFound",
                "check the number with `yun gov list` (GET /v1/gov/proposals); proposals are numbered from 1",
            ),
            Self::FaucetNotEnabled => (
                "FaucetNotEnabled",
                "this chain's genesis does not enable the faucet; get tokens by a transfer from a funded account",
            ),
            Self::MalformedBody => (
                "MalformedBody",
                "send the binary batch as documented in /v1/openapi.json: a list of encoded signed transactions, each as a byte string (commonware codec: varint count, then varint length and bytes for each)",
            ),
            Self::ParamChangeRefused => (
                "ParamChangeRefused",
                "name fields as in GET /v1/genesis params (e.g. market.price_step_divisor=16) with integer values in the ranges genesis allows",
            ),
        };
        RejectionBody {
            code: self as u16,
            name: name.to_string(),
            message: detail.into(),
            hint: hint.to_string(),
        }
    }
}

/// `POST /v1/txs` body: the canonical signed transaction bytes, hex-encoded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmitTxRequest {
    /// The canonical signed transaction, hex (it must also decode and verify: a pattern cannot
    /// say that, so well-formed hex may still be refused as Malformed or BadSignature).
    #[schema(pattern = "^([0-9a-f]{2})+$")]
    pub tx_hex: String,
}

/// `POST /v1/txs` success.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmitTxResponse {
    pub id: TxId,
}

/// An action as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionView {
    Transfer {
        to: Address,
        amount: Amount,
    },
    RegisterProvider {
        spec: ProviderSpec,
        bond: Amount,
    },
    UpdateProvider {
        spec: ProviderSpec,
    },
    PauseProvider {
        paused: bool,
    },
    ExitProvider,
    PostJob {
        spec: JobSpec,
    },
    CancelJob {
        job: JobId,
    },
    CommitResults {
        commits: Vec<ResultCommit>,
    },
    RevealResults {
        reveals: Vec<ResultReveal>,
    },
    RegisterValidator {
        p2p_address: String,
        self_bond: Amount,
        seed_key: crate::SeedKey,
    },
    Delegate {
        validator: Address,
        amount: Amount,
    },
    Undelegate {
        validator: Address,
        amount: Amount,
    },
    Unjail,
    ReportEquivocation {
        /// 0 conflicting notarizes, 1 conflicting finalizes, 2 nullify and finalize.
        kind: u8,
        /// The conflicting pair, hex.
        evidence_hex: String,
    },
    /// A storage-market action (`kind` says which).
    Storage {
        action: crate::storage::StorageAction,
    },
    SetCommission {
        commission_bps: u16,
    },
    /// A governance action (`op` says which).
    Governance {
        action: crate::governance::GovAction,
    },
    Faucet {
        nonce: u64,
    },
    /// An Ethereum transaction (its EIP-2718 bytes, hex; `eth_getTransactionByHash` decodes it).
    Eth {
        from: crate::evm::EthAddress,
        raw_hex: String,
    },
    TransferToEth {
        to: crate::evm::EthAddress,
        amount: Amount,
    },
}

impl From<&Action> for ActionView {
    fn from(a: &Action) -> Self {
        match a.clone() {
            Action::Transfer { to, amount } => ActionView::Transfer { to, amount },
            Action::RegisterProvider { spec, bond } => ActionView::RegisterProvider { spec, bond },
            Action::UpdateProvider { spec } => ActionView::UpdateProvider { spec },
            Action::PauseProvider { paused } => ActionView::PauseProvider { paused },
            Action::ExitProvider => ActionView::ExitProvider,
            Action::PostJob { spec } => ActionView::PostJob { spec },
            Action::CancelJob { job } => ActionView::CancelJob { job },
            Action::CommitResults { commits } => ActionView::CommitResults { commits },
            Action::RevealResults { reveals } => ActionView::RevealResults { reveals },
            Action::RegisterValidator {
                p2p_address,
                self_bond,
                seed_key,
                ..
            } => ActionView::RegisterValidator {
                p2p_address,
                self_bond,
                seed_key,
            },
            Action::Delegate { validator, amount } => ActionView::Delegate { validator, amount },
            Action::Undelegate { validator, amount } => {
                ActionView::Undelegate { validator, amount }
            }
            Action::Unjail => ActionView::Unjail,
            Action::ReportEquivocation { evidence } => ActionView::ReportEquivocation {
                kind: evidence.kind as u8,
                evidence_hex: hex::encode(&evidence.bytes),
            },
            Action::Storage(action) => ActionView::Storage { action },
            Action::SetCommission { commission_bps } => {
                ActionView::SetCommission { commission_bps }
            }
            Action::Governance(action) => ActionView::Governance { action },
            Action::Faucet { nonce } => ActionView::Faucet { nonce },
            Action::Eth { from, raw } => ActionView::Eth {
                from,
                raw_hex: hex::encode(raw),
            },
            Action::TransferToEth { to, amount } => ActionView::TransferToEth { to, amount },
        }
    }
}

/// A transaction as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TxView {
    pub id: TxId,
    pub sender: Address,
    pub chain_id: String,
    pub nonce: u64,
    pub fee: Amount,
    pub expires_at_height: u64,
    pub action: ActionView,
}

impl From<&SignedTx> for TxView {
    fn from(s: &SignedTx) -> Self {
        TxView {
            id: s.id(),
            sender: s.sender(),
            chain_id: s.tx.chain_id.clone(),
            nonce: s.tx.nonce,
            fee: s.tx.fee,
            expires_at_height: s.tx.expires_at_height,
            action: (&s.tx.action).into(),
        }
    }
}

/// A receipt as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptView {
    pub height: u64,
    pub index: u32,
    pub success: bool,
    /// Why the action failed (its fee was still charged).
    pub failure: Option<RejectionBody>,
    pub fee_paid: Amount,
}

impl From<&Receipt> for ReceiptView {
    fn from(r: &Receipt) -> Self {
        ReceiptView {
            height: r.height,
            index: r.index,
            success: r.outcome == TxOutcome::Success,
            failure: match r.outcome {
                TxOutcome::Success => None,
                TxOutcome::Failed(reason) => Some(reason.into()),
            },
            fee_paid: r.fee_paid,
        }
    }
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    Pending,
    Committed,
    Rejected,
}

/// `GET /v1/txs/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TxStatusResponse {
    pub id: TxId,
    pub state: TxState,
    pub tx: Option<TxView>,
    pub receipt: Option<ReceiptView>,
    /// Set when a transaction once accepted into the mempool was dropped before inclusion.
    pub rejection: Option<RejectionBody>,
}

/// `GET /v1/accounts/{address}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountResponse {
    pub address: Address,
    pub balance: Amount,
    /// The nonce the next committed transaction must carry.
    pub nonce: u64,
    /// The nonce to sign next, counting this node's pending transactions.
    pub next_nonce: u64,
    pub pending_txs: u32,
    /// Height of the state this answer was read from.
    pub height: u64,
}

/// `GET /v1/accounts/{address}/proof`: a membership (or non-membership) proof against a
/// block's state root.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountProofResponse {
    pub address: Address,
    pub height: u64,
    pub state_root: Hash32,
    /// The canonical account value, hex, or null when the account does not exist.
    pub value_hex: Option<String>,
    /// The sparse Merkle proof, hex of its canonical serialization.
    pub proof_hex: String,
}

/// `GET /v1/blocks/{height|latest}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BlockResponse {
    pub hash: Hash32,
    pub height: u64,
    pub parent: Hash32,
    pub timestamp_ms: u64,
    pub proposer: Address,
    pub state_root: Hash32,
    pub txs_root: Hash32,
    pub tx_count: u32,
    pub tx_ids: Vec<TxId>,
    /// The transactions in full, with `?full=true`.
    pub txs: Option<Vec<TxView>>,
}

/// `GET /v1/blocks/{height}/raw`: the canonical encoding, for re-validation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RawBlockResponse {
    pub height: u64,
    pub block_hex: String,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusResponse {
    pub chain_id: String,
    pub genesis_hash: Hash32,
    pub height: u64,
    pub block_hash: Hash32,
    pub state_root: Hash32,
    pub latest_block_time_ms: u64,
    pub validators: Vec<Address>,
    pub mempool_size: u32,
    /// The fee schedule: the base every transaction pays, per byte of its encoded signed
    /// form, and per state key its action writes (`yun_types::fee::FeeSchedule`).
    pub min_fee: Amount,
    #[serde(default)]
    pub fee_per_byte: Amount,
    #[serde(default)]
    pub fee_per_write: Amount,
    pub version: String,
    /// Whether this node votes (validator) or only follows (full node).
    pub role: NodeRole,
    /// Consensus epoch of the head.
    pub epoch: u64,
    /// This node's p2p peers: connected ones, and blocked ones with their expiry.
    pub peers: Vec<PeerView>,
}

/// `POST /v1/blobs` success: the blob's content address and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PutBlobResponse {
    pub hash: Hash32,
    pub bytes: u64,
}

/// Error body of every non-2xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorResponse {
    pub error: RejectionBody,
}

impl From<TxRejection> for ErrorResponse {
    fn from(r: TxRejection) -> Self {
        ErrorResponse { error: r.into() }
    }
}

// ---------------------------------------------------------------------------------------------
// The compute market. The state records (`crate::market_records`, re-exported here) are served
// as they are; a view adds only what the API computes (an address, free slots, a height).

/// The market-wide numbers: `GET /v1/market`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MarketResponse {
    /// Height of the state this answer was read from.
    pub height: u64,
    pub price_index: PriceIndexView,
    /// Slots of active, bonded providers that the price index counts: each provider's
    /// declared slots, but no more than it has committed replicas in one transaction (at
    /// least one), so idle declarations do not move the index.
    pub slots_total: u64,
    pub slots_busy: u64,
    /// `slots_busy / slots_total` in basis points (0 when there are no slots).
    pub utilization_bps: u32,
    /// Tasks waiting for (more) replicas.
    pub queue_tasks: u64,
    /// The most recent blocks that matched anything, oldest first.
    pub recent_clearing: Vec<ClearingView>,
    pub params: crate::genesis::MarketParams,
    /// The storage deals' parameters (epochs, windows, the least a proven period pays).
    #[serde(default)]
    pub storage_params: crate::genesis::StorageParams,
}

/// The price index per resource class.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PriceIndexView {
    /// Compute, per million fuel: the least a job's bid must be to be matched.
    pub compute_per_mfuel: Amount,
    /// Storage, per MiB-epoch per replica: the least a deal's bid must be to be matched.
    pub storage_per_mib_epoch: Option<Amount>,
    /// Why a class has no price.
    pub note: String,
}

/// One block's clearing price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClearingView {
    pub height: u64,
    pub price_per_mfuel: Amount,
}

/// A provider: `GET /v1/providers/{address}` (the seed's `getMinerStatus`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProviderView {
    pub address: Address,
    /// The state record, its fields inline.
    #[serde(flatten)]
    pub provider: Provider,
    /// `spec.slots - tasks_in_flight`.
    pub free_slots: u32,
    /// Its storage offer and x25519 encryption key, once it sent `OfferStorage` or
    /// `SetEncryptionKey`.
    #[serde(default)]
    pub storage: Option<crate::storage_records::StorageOffer>,
}

/// `GET /v1/providers`: providers in address order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProvidersResponse {
    pub height: u64,
    pub providers: Vec<ProviderView>,
    /// Pass as `?after=` for the next page; null on the last page.
    pub next_after: Option<Address>,
}

/// A replica a provider is working on: `GET /v1/providers/{address}/assignments`, with what
/// its agent needs to run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AssignmentView {
    pub job: JobId,
    pub index: u32,
    pub assigned_height: u64,
    pub price_per_mfuel: Amount,
    pub state: ReplicaState,
    /// The next height the provider must commit (or reveal) by.
    pub deadline: Option<u64>,
    pub program_hash: Hash32,
    pub program_bytes: u64,
    pub fuel_per_task: u64,
    pub memory_bytes_per_task: u64,
    /// For a map task, its input and arguments; for the reduce task, no input and the reduce's
    /// arguments (`program_hash` is then the reduce program's).
    pub task: TaskSpec,
    /// Set for the reduce task: the verified map outputs it runs over, in index order.
    #[serde(default)]
    pub reduce_inputs: Option<Vec<ReduceInput>>,
    /// The engine class the task's replicas were drawn from: the agent runs it only if its
    /// sandbox is of that class (else a host fault, never a verdict).
    #[serde(default)]
    pub engine_class: Option<Hash32>,
    /// Where the job says its program and inputs can be fetched besides the nodes (the
    /// requester's upload node, first): API base URLs, at most `DATA_SOURCES_MAX`.
    #[serde(default)]
    pub data_sources: Vec<crate::market::Text>,
    /// The job's public key, if its inputs and outputs are encrypted
    /// (`JobSpec::encryption_key`): the agent opens the secret the requester sealed to it
    /// (`/v1/jobs/{id}/keys/{provider}`).
    #[serde(default)]
    pub encryption_key: Option<Hash32>,
}

/// `GET /v1/providers/{address}/assignments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssignmentsResponse {
    pub provider: Address,
    pub height: u64,
    pub assignments: Vec<AssignmentView>,
}

/// One task of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaskView {
    pub index: u32,
    /// The state record, its fields inline.
    #[serde(flatten)]
    pub task: Task,
}

/// `GET /v1/jobs/{id}`: the job and every task (at most 1,024).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobResponse {
    pub id: JobId,
    pub height: u64,
    /// The state record, its fields inline.
    #[serde(flatten)]
    pub job: Job,
    /// The map tasks (the reduce task, once added, is `reduce.task`).
    pub tasks: Vec<TaskView>,
    /// The reduce step on the network, once the chain added it (every map task ended and one
    /// has an accepted output). Its verified verdict's digest names the reduce's output.
    #[serde(default)]
    pub reduce: Option<ReduceView>,
}

/// A job's reduce task: its inputs, fixed when it was added, and the task record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReduceView {
    pub index: u32,
    pub inputs: Vec<ReduceInput>,
    /// The state record, its fields inline.
    #[serde(flatten)]
    pub task: Task,
}

/// `GET /v1/jobs/{id}/why`: every unfinished task (finished ones are left out).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobWhyResponse {
    pub job: JobId,
    pub height: u64,
    pub tasks: Vec<TaskWhy>,
    /// More tasks may follow: ask again with `after` set to this task index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u32>,
}

/// `GET /v1/requesters/{address}`: a requester's usage (zero for an address never seen).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequesterResponse {
    pub address: Address,
    pub height: u64,
    /// The state record, its fields inline.
    #[serde(flatten)]
    pub stats: RequesterStats,
}
