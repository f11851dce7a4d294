//! A typed HTTP client for the Yun node API, shared by the CLI, the provider agent and tests.

mod bao;
mod events;
mod outputs;
mod parallel;
pub mod seal;
mod sources;
mod storage;
pub use bao::{
    DOWNLOAD_RANGE_BYTES, DOWNLOAD_RANGES_IN_FLIGHT_MAX, DownloadReport, DroppedSource,
    fetch_range_verified,
};
pub use events::{EVENTS_RECONNECT_DELAY, HeadFollower};
pub use outputs::{OutputFetcher, Unavailable, paid_holders};
pub use parallel::download_verified;
pub use sources::{
    Fetched, SOURCES_TRIED_MAX, SourceAttempt, SourceFailure, SourcesExhausted,
    fetch_blob_from_sources,
};

use commonware_codec::Encode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use yun_types::api::*;
use yun_types::market::JobId;
use yun_types::rejection::RejectionBody;
use yun_types::upload::{SignedUploadTicket, UPLOAD_TICKET_HEADER, UploadTicket};
use yun_types::{Address, Hash32, SignedTx, TxId};

/// What can go wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node answered with a numbered reason.
    #[error("{} ({}): {} — {}", .0.name, .0.code, .0.message, .0.hint)]
    Rejected(RejectionBody),
    #[error(
        "cannot reach the node at {url} (is it running? `yun devnet` starts one; --node picks another)"
    )]
    Unreachable { url: String, source: reqwest::Error },
    #[error("unexpected answer from the node ({status}): {body}")]
    Unexpected { status: u16, body: String },
    /// The blob's bytes do not hash to what was asked for or sent.
    #[error("blob hash mismatch: expected {expected}, got {got} (the bytes changed in transit)")]
    HashMismatch { expected: Hash32, got: Hash32 },
    #[error("the blob is over the {bytes_max} bytes allowed here")]
    BlobTooLarge { bytes_max: u64 },
    /// The answer started but did not complete (a server cuts a download whose stored copy
    /// turns out corrupt).
    #[error("the transfer from {url} broke off: {source}")]
    Interrupted { url: String, source: reqwest::Error },
    /// A verified download's bytes do not match the root (or the connection broke off).
    #[error("the bytes from {url} do not verify against the blob's root: {detail}")]
    Unverified { url: String, detail: String },
    /// Every holder of a blob failed or sent bytes that did not verify.
    #[error(
        "no source could deliver blob {root}{}",
        .failures.iter().map(|f| format!("; {}: {}", f.url, f.reason)).collect::<String>()
    )]
    NoSourceLeft {
        root: Hash32,
        failures: Vec<DroppedSource>,
    },
    #[error("cannot write {}: {source}", .path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", .path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ClientError {
    /// The rejection code, if the node gave one.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClientError::Rejected(r) => Some(r.code),
            _ => None,
        }
    }
}

/// One answer of a batch submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchResult {
    pub id: Option<Hash32>,
    pub error: Option<RejectionBody>,
}

/// How long one blob transfer may take: the client's 30 s default suits JSON calls, not a
/// 256 MiB blob over a slow link.
const BLOB_TRANSFER_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How long connecting to a server may take: a dead holder in a list of sources must not
/// hold up the next one for the operating system's minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Blocks an upload ticket the client signs stays valid for (nodes accept at most
/// `UPLOAD_TICKET_BLOCKS_AHEAD_MAX` of theirs). One ticket is signed per blob, just before
/// its upload, so this covers one transfer, not a whole submission.
pub const UPLOAD_TICKET_LIFETIME_BLOCKS: u64 = 600;

/// Signs upload tickets with an account's key; the key never leaves this process (the node
/// sees the ticket and its signature only).
#[derive(Clone)]
pub struct Uploader {
    key: commonware_cryptography::ed25519::PrivateKey,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("account", &self.account())
            .finish_non_exhaustive()
    }
}

impl Uploader {
    pub fn new(key: commonware_cryptography::ed25519::PrivateKey) -> Uploader {
        Uploader { key }
    }

    pub fn account(&self) -> Address {
        use commonware_cryptography::Signer;
        Address::from_public_key(&self.key.public_key())
    }

    /// A ticket for `root` of `size_bytes` on `chain_id`, valid until `expires_at_height`.
    pub fn ticket(
        &self,
        chain_id: &str,
        root: Hash32,
        size_bytes: u64,
        expires_at_height: u64,
    ) -> SignedUploadTicket {
        UploadTicket {
            chain_id: chain_id.to_string(),
            root,
            size_bytes,
            expires_at_height,
        }
        .sign(&self.key)
    }
}

/// Bytes read from a file at a time while it is uploaded.
const UPLOAD_READ_BYTES: usize = 1 << 20;

/// Downloads and verifies a blob from any server of the blob routes (a node or a provider),
/// refusing more than `bytes_max` bytes. Keep a `Client` for repeated fetches from one server.
pub async fn fetch_blob(
    base_url: &str,
    hash: &Hash32,
    bytes_max: u64,
) -> Result<Vec<u8>, ClientError> {
    Client::new(base_url).get_blob(hash, bytes_max).await
}

/// The numbered error in a non-2xx answer's body, if it has one.
fn error_answer(status: reqwest::StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(e) => ClientError::Rejected(e.error),
        Err(_) => ClientError::Unexpected {
            status: status.as_u16(),
            body: String::from_utf8_lossy(body).into_owned(),
        },
    }
}

/// blake3 and length of a file, read once (blocking).
fn hash_file(path: &Path) -> std::io::Result<(Hash32, u64)> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok((Hash32(*hasher.finalize().as_bytes()), hasher.count()))
}

#[derive(Debug, Deserialize)]
struct BatchResponse {
    results: Vec<BatchResult>,
}

/// A client for one node.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base_url: &str) -> Client {
        // No redirects: a node or provider never sends one, and following them would let
        // whoever names a URL (a job's data source) send the request anywhere.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client builds");
        Client {
            base: base_url.trim_end_matches('/').to_string(),
            http,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        resp: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let resp = resp.map_err(|source| ClientError::Unreachable {
            url: url.to_string(),
            source,
        })?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| ClientError::Unexpected {
                status: status.as_u16(),
                body: format!("{e}: {}", String::from_utf8_lossy(&body)),
            });
        }
        Err(error_answer(status, &body))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base, path);
        let resp = self.http.get(&url).send().await;
        self.answer(&url, resp).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base, path);
        let resp = self.http.post(&url).json(body).send().await;
        self.answer(&url, resp).await
    }

    /// Sends raw bytes as a POST body (for testing the node's handling of bad input).
    pub async fn post_raw(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}{}", self.base, path);
        let resp = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        self.answer(&url, resp).await
    }

    pub async fn submit(&self, tx: &SignedTx) -> Result<TxId, ClientError> {
        let req = SubmitTxRequest {
            tx_hex: hex::encode(tx.encode()),
        };
        let resp: SubmitTxResponse = self.post("/v1/txs", &req).await?;
        Ok(resp.id)
    }

    /// Submits many transactions in one request; one answer each, in order. Sent as the
    /// binary batch (`/v1/txs/batch/binary`): no hex or JSON for the node to parse.
    pub async fn submit_batch(&self, txs: &[SignedTx]) -> Result<Vec<BatchResult>, ClientError> {
        let entries: Vec<Vec<u8>> = txs.iter().map(|t| t.encode().to_vec()).collect();
        let url = format!("{}/v1/txs/batch/binary", self.base);
        let resp = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(entries.encode().to_vec())
            .send()
            .await;
        let resp: BatchResponse = self.answer(&url, resp).await?;
        Ok(resp.results)
    }

    pub async fn tx(&self, id: &TxId) -> Result<TxStatusResponse, ClientError> {
        self.get(&format!("/v1/txs/{id}")).await
    }

    pub async fn account(&self, address: &Address) -> Result<AccountResponse, ClientError> {
        self.get(&format!("/v1/accounts/{address}")).await
    }

    pub async fn account_proof(
        &self,
        address: &Address,
    ) -> Result<AccountProofResponse, ClientError> {
        self.get(&format!("/v1/accounts/{address}/proof")).await
    }

    pub async fn account_txs(
        &self,
        address: &Address,
        limit: usize,
    ) -> Result<Vec<TxId>, ClientError> {
        self.get(&format!("/v1/accounts/{address}/txs?limit={limit}"))
            .await
    }

    /// A block by height, or the latest with `None`; `full` includes every transaction.
    pub async fn block(
        &self,
        height: Option<u64>,
        full: bool,
    ) -> Result<BlockResponse, ClientError> {
        let at = height.map_or("latest".to_string(), |h| h.to_string());
        self.get(&format!("/v1/blocks/{at}?full={full}")).await
    }

    /// The canonical bytes of a finalized block, decoded (for `yun chain verify`).
    pub async fn raw_block(&self, height: u64) -> Result<yun_types::Block, ClientError> {
        let resp: RawBlockResponse = self.get(&format!("/v1/blocks/{height}/raw")).await?;
        let bytes = hex::decode(&resp.block_hex).map_err(|e| ClientError::Unexpected {
            status: 200,
            body: e.to_string(),
        })?;
        <yun_types::Block as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(
            &bytes,
        ))
        .map_err(|e| ClientError::Unexpected {
            status: 200,
            body: format!("block does not decode: {e}"),
        })
    }

    pub async fn genesis(&self) -> Result<yun_types::Genesis, ClientError> {
        self.get("/v1/genesis").await
    }

    pub async fn status(&self) -> Result<StatusResponse, ClientError> {
        self.get("/v1/status").await
    }

    pub async fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        self.get("/v1/openapi.json").await
    }

    pub async fn metrics_text(&self) -> Result<String, ClientError> {
        let url = format!("{}/metrics", self.base);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.clone(),
                source,
            })?;
        resp.text()
            .await
            .map_err(|source| ClientError::Unreachable { url, source })
    }

    /// The running epoch, its validator set, and the registered validators by stake.
    pub async fn validators(&self) -> Result<ValidatorsResponse, ClientError> {
        self.get("/v1/validators").await
    }

    /// One registered validator (`NotFound` if unregistered).
    pub async fn validator(&self, address: &Address) -> Result<ValidatorView, ClientError> {
        self.get(&format!("/v1/validators/{address}")).await
    }

    /// An account's self bond, delegations and unbondings.
    pub async fn delegations(&self, address: &Address) -> Result<DelegationsResponse, ClientError> {
        self.get(&format!("/v1/accounts/{address}/delegations"))
            .await
    }

    /// The newest governance proposals (at most `limit`, ids below `before`), the treasury and
    /// the governance parameters.
    pub async fn proposals(
        &self,
        before: Option<u64>,
        limit: Option<usize>,
    ) -> Result<yun_types::api_governance::ProposalsResponse, ClientError> {
        let mut query = Vec::new();
        if let Some(b) = before {
            query.push(format!("before={b}"));
        }
        if let Some(l) = limit {
            query.push(format!("limit={l}"));
        }
        self.get(&format!("/v1/gov/proposals?{}", query.join("&")))
            .await
    }

    /// One proposal with the votes cast so far (`ProposalNotFound` if there is none).
    pub async fn proposal(
        &self,
        id: u64,
    ) -> Result<yun_types::api_governance::ProposalView, ClientError> {
        self.get(&format!("/v1/gov/proposals/{id}")).await
    }

    /// An account's lock, bonded stake and voting power.
    pub async fn voting_power(
        &self,
        address: &Address,
    ) -> Result<yun_types::api_governance::PowerResponse, ClientError> {
        self.get(&format!("/v1/gov/power/{address}")).await
    }

    /// The faucet's terms and an account's last claim (`FaucetNotEnabled` without a faucet).
    pub async fn faucet(
        &self,
        address: &Address,
    ) -> Result<yun_types::api_governance::FaucetResponse, ClientError> {
        self.get(&format!("/v1/gov/faucet/{address}")).await
    }

    /// What a parameter change would give if it applied now (`ParamChangeRefused` if not).
    pub async fn check_params(
        &self,
        edits: &[yun_types::governance::ParamEdit],
    ) -> Result<yun_types::api_governance::CheckParamsResponse, ClientError> {
        let body = yun_types::api_governance::CheckParamsRequest {
            edits: edits.to_vec(),
        };
        self.post("/v1/gov/check-params", &body).await
    }

    /// The market's price index, slots, queue, recent clearing prices and parameters.
    pub async fn market(&self) -> Result<MarketResponse, ClientError> {
        self.get("/v1/market").await
    }

    /// A page of providers in address order (`limit` at most 1,000), starting after `after`.
    pub async fn providers(
        &self,
        limit: usize,
        after: Option<&Address>,
    ) -> Result<ProvidersResponse, ClientError> {
        let after = after.map_or(String::new(), |a| format!("&after={a}"));
        self.get(&format!("/v1/providers?limit={limit}{after}"))
            .await
    }

    /// Jobs in id order, filtered by requester and status, one bounded page (`next_after`
    /// continues; a page may be short and still have a next one).
    pub async fn jobs(&self, query: &JobsQuery) -> Result<JobsResponse, ClientError> {
        let mut q = format!("/v1/jobs?limit={}", query.limit);
        if let Some(r) = &query.requester {
            q.push_str(&format!("&requester={r}"));
        }
        if let Some(st) = query.status {
            let st = serde_json::to_value(st).expect("a unit enum serializes");
            q.push_str(&format!("&status={}", st.as_str().unwrap_or_default()));
        }
        if let Some(a) = &query.after {
            q.push_str(&format!("&after={a}"));
        }
        self.get(&q).await
    }

    /// The tasks waiting for replicas in (job, index) order, one page; `after` is the previous
    /// page's `next_after` (`JOB:INDEX`).
    pub async fn queued_tasks(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<QueuedTasksResponse, ClientError> {
        let after = after.map_or(String::new(), |a| format!("&after={a}"));
        self.get(&format!("/v1/tasks/queued?limit={limit}{after}"))
            .await
    }

    /// A provider's offer, bond, status, reputation and earnings (`NotFound` if unregistered).
    pub async fn provider(&self, address: &Address) -> Result<ProviderView, ClientError> {
        self.get(&format!("/v1/providers/{address}")).await
    }

    /// The replicas a provider holds now, with deadlines and what it needs to run them.
    pub async fn provider_assignments(
        &self,
        address: &Address,
    ) -> Result<AssignmentsResponse, ClientError> {
        self.get(&format!("/v1/providers/{address}/assignments"))
            .await
    }

    /// A job and its tasks (`NotFound` if there is no such job).
    pub async fn job(&self, id: &JobId) -> Result<JobResponse, ClientError> {
        self.get(&format!("/v1/jobs/{id}")).await
    }

    /// Why each unfinished task of a job is waiting: every page the node answers, joined.
    pub async fn job_why(&self, id: &JobId) -> Result<JobWhyResponse, ClientError> {
        let mut why: JobWhyResponse = self.get(&format!("/v1/jobs/{id}/why")).await?;
        while let Some(after) = why.next_after {
            let page: JobWhyResponse = self
                .get(&format!("/v1/jobs/{id}/why?after={after}"))
                .await?;
            why.tasks.extend(page.tasks);
            why.next_after = page.next_after.filter(|next| *next > after);
        }
        Ok(why)
    }

    /// A requester's usage (zero for an address never seen).
    pub async fn requester(&self, address: &Address) -> Result<RequesterResponse, ClientError> {
        self.get(&format!("/v1/requesters/{address}")).await
    }

    /// Other nodes' API URLs this node knows to serve blobs (`GET /v1/network/sources`).
    pub async fn data_sources(&self) -> Result<DataSourcesResponse, ClientError> {
        self.get("/v1/network/sources").await
    }

    /// Uploads a blob under a ticket `uploader` signs (what a node requires); the server
    /// refuses it unless it hashes to what was sent.
    pub async fn put_blob_as(
        &self,
        bytes: Vec<u8>,
        uploader: &Uploader,
    ) -> Result<Hash32, ClientError> {
        let hash = Hash32::digest(&bytes);
        let blob_bytes = bytes.len() as u64;
        let ticket = self.sign_ticket(uploader, hash, blob_bytes).await?;
        self.post_blob(bytes.into(), hash, blob_bytes, Some(&ticket))
            .await
    }

    /// Uploads a blob with no ticket, to a server that stores anonymous uploads (the blob
    /// routes alone; a node refuses it with `UploadTicketMissing`).
    pub async fn put_blob(&self, bytes: Vec<u8>) -> Result<Hash32, ClientError> {
        let hash = Hash32::digest(&bytes);
        let blob_bytes = bytes.len() as u64;
        self.post_blob(bytes.into(), hash, blob_bytes, None).await
    }

    /// Uploads a file as a blob under a ticket `uploader` signs, streamed (it is read twice:
    /// once to hash it, so the server can refuse the upload if the file changes meanwhile).
    /// Returns its hash and length.
    pub async fn put_blob_file_as(
        &self,
        path: &Path,
        uploader: &Uploader,
    ) -> Result<(Hash32, u64), ClientError> {
        self.put_file(path, Some(uploader), None).await
    }

    /// [`Client::put_blob_file_as`] with no ticket, for a server that stores anonymous uploads.
    pub async fn put_blob_file(&self, path: &Path) -> Result<(Hash32, u64), ClientError> {
        self.put_file(path, None, None).await
    }

    async fn put_file(
        &self,
        path: &Path,
        uploader: Option<&Uploader>,
        progress: Option<Box<dyn Fn(u64) + Send + Sync>>,
    ) -> Result<(Hash32, u64), ClientError> {
        use futures::StreamExt;
        let file_err = |source| ClientError::File {
            path: path.to_path_buf(),
            source,
        };
        let owned = path.to_path_buf();
        let (hash, blob_bytes) = tokio::task::spawn_blocking(move || hash_file(&owned))
            .await
            .map_err(|e| file_err(std::io::Error::other(e)))?
            .map_err(file_err)?;
        let ticket = match uploader {
            Some(u) => Some(self.sign_ticket(u, hash, blob_bytes).await?),
            None => None,
        };
        let file = tokio::fs::File::open(path).await.map_err(file_err)?;
        // Large reads: the default 4 KiB ones cost a blocking-thread hop each.
        let stream = tokio_util::io::ReaderStream::with_capacity(file, UPLOAD_READ_BYTES).inspect(
            move |piece| {
                if let (Some(progress), Ok(bytes)) = (&progress, piece) {
                    progress(bytes.len() as u64);
                }
            },
        );
        let body = reqwest::Body::wrap_stream(stream);
        let hash = self
            .post_blob(body, hash, blob_bytes, ticket.as_ref())
            .await?;
        Ok((hash, blob_bytes))
    }

    /// Uploads `bytes` with exactly the ticket given (or none) and no `?expected=` root: what
    /// an attacker or a test sends; `put_blob` signs a fitting ticket itself.
    pub async fn put_blob_with_ticket(
        &self,
        bytes: Vec<u8>,
        ticket: Option<&SignedUploadTicket>,
    ) -> Result<Hash32, ClientError> {
        let hash = Hash32::digest(&bytes);
        let blob_bytes = bytes.len() as u64;
        let url = format!("{}/v1/blobs", self.base);
        self.post_blob_to(url, bytes.into(), hash, blob_bytes, ticket)
            .await
    }

    /// A ticket for this node's chain, valid [`UPLOAD_TICKET_LIFETIME_BLOCKS`] past its height.
    async fn sign_ticket(
        &self,
        uploader: &Uploader,
        root: Hash32,
        size_bytes: u64,
    ) -> Result<SignedUploadTicket, ClientError> {
        let status = self.status().await?;
        Ok(uploader.ticket(
            &status.chain_id,
            root,
            size_bytes,
            status.height + UPLOAD_TICKET_LIFETIME_BLOCKS,
        ))
    }

    /// [`Self::put_blob_file_as`], calling `progress` with the bytes of each piece as it is
    /// sent (a progress bar).
    pub async fn put_blob_file_progress(
        &self,
        path: &Path,
        uploader: &Uploader,
        progress: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<(Hash32, u64), ClientError> {
        self.put_file(path, Some(uploader), Some(Box::new(progress)))
            .await
    }

    async fn post_blob(
        &self,
        body: reqwest::Body,
        hash: Hash32,
        blob_bytes: u64,
        ticket: Option<&SignedUploadTicket>,
    ) -> Result<Hash32, ClientError> {
        let url = format!("{}/v1/blobs?expected={hash}", self.base);
        self.post_blob_to(url, body, hash, blob_bytes, ticket).await
    }

    async fn post_blob_to(
        &self,
        url: String,
        body: reqwest::Body,
        hash: Hash32,
        blob_bytes: u64,
        ticket: Option<&SignedUploadTicket>,
    ) -> Result<Hash32, ClientError> {
        let mut req = self
            .http
            .post(&url)
            .timeout(BLOB_TRANSFER_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            // A streamed body has no length of its own; declaring it lets the server refuse
            // an oversize blob before reading it.
            .header(reqwest::header::CONTENT_LENGTH, blob_bytes);
        if let Some(t) = ticket {
            req = req.header(UPLOAD_TICKET_HEADER, t.to_header());
        }
        let resp = req.body(body).send().await;
        let receipt: PutBlobResponse = self.answer(&url, resp).await?;
        if receipt.hash != hash {
            return Err(ClientError::HashMismatch {
                expected: hash,
                got: receipt.hash,
            });
        }
        Ok(hash)
    }

    /// Downloads a blob, refusing more than `bytes_max` bytes, and checks it hashes to `hash`.
    pub async fn get_blob(&self, hash: &Hash32, bytes_max: u64) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}/v1/blobs/{hash}", self.base);
        let resp = self
            .http
            .get(&url)
            .timeout(BLOB_TRANSFER_TIMEOUT)
            .send()
            .await
            // A server that finds its copy corrupt may cut the connection before the headers.
            .map_err(|source| {
                let url = url.clone();
                if source.is_connect() {
                    ClientError::Unreachable { url, source }
                } else {
                    ClientError::Interrupted { url, source }
                }
            })?;
        let interrupted = |source| ClientError::Interrupted {
            url: url.clone(),
            source,
        };
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await.map_err(interrupted)?;
            return Err(error_answer(status, &body));
        }
        if resp.content_length().is_some_and(|n| n > bytes_max) {
            return Err(ClientError::BlobTooLarge { bytes_max });
        }
        let capacity = resp.content_length().unwrap_or(0) as usize;
        let mut resp = resp;
        let mut bytes = Vec::with_capacity(capacity);
        while let Some(chunk) = resp.chunk().await.map_err(interrupted)? {
            if (bytes.len() + chunk.len()) as u64 > bytes_max {
                return Err(ClientError::BlobTooLarge { bytes_max });
            }
            bytes.extend_from_slice(&chunk);
        }
        let got = Hash32::digest(&bytes);
        if got != *hash {
            return Err(ClientError::HashMismatch {
                expected: *hash,
                got,
            });
        }
        Ok(bytes)
    }

    /// Polls until the transaction is committed or rejected, or `timeout` passes.
    pub async fn wait_for_tx(
        &self,
        id: &TxId,
        timeout: Duration,
    ) -> Result<TxStatusResponse, ClientError> {
        let start = std::time::Instant::now();
        loop {
            match self.tx(id).await {
                Ok(s) if s.state != TxState::Pending => return Ok(s),
                Ok(s) if start.elapsed() > timeout => return Ok(s),
                Err(e) if start.elapsed() > timeout => return Err(e),
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The filters of [`Client::jobs`].
#[derive(Debug, Clone)]
pub struct JobsQuery {
    pub requester: Option<Address>,
    pub status: Option<JobStatus>,
    pub limit: usize,
    pub after: Option<Hash32>,
}
