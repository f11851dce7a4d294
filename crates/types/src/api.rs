//! JSON shapes of the HTTP API, shared by the node (server) and the client.

use crate::market::{JobId, JobSpec, ProviderSpec, ResultCommit, ResultReveal};
use crate::rejection::RejectionBody;
use crate::{Action, Address, Amount, Hash32, Receipt, SignedTx, TxId, TxOutcome, TxRejection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Numbered API errors that are not about a transaction's content (codes from 100 up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ApiErrorKind {
    MalformedJson = 100,
    BodyTooLarge = 101,
    NotFound = 102,
    BadParameter = 103,
    Unavailable = 104,
}

impl ApiErrorKind {
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
    Transfer { to: Address, amount: Amount },
    RegisterProvider { spec: ProviderSpec, bond: Amount },
    UpdateProvider { spec: ProviderSpec },
    PauseProvider { paused: bool },
    ExitProvider,
    PostJob { spec: JobSpec },
    CancelJob { job: JobId },
    CommitResults { commits: Vec<ResultCommit> },
    RevealResults { reveals: Vec<ResultReveal> },
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
    pub min_fee: Amount,
    pub version: String,
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
