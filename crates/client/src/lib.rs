//! A typed HTTP client for the Yun node API, shared by the CLI, the provider agent and tests.

use commonware_codec::Encode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use yun_types::api::*;
use yun_types::market::JobId;
use yun_types::rejection::RejectionBody;
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
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
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
        match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(e) => Err(ClientError::Rejected(e.error)),
            Err(_) => Err(ClientError::Unexpected {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).into_owned(),
            }),
        }
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

    /// Submits many transactions in one request; one answer each, in order.
    pub async fn submit_batch(&self, txs: &[SignedTx]) -> Result<Vec<BatchResult>, ClientError> {
        let body = serde_json::json!({ "txs_hex": txs.iter().map(|t| hex::encode(t.encode())).collect::<Vec<_>>() });
        let resp: BatchResponse = self.post("/v1/txs/batch", &body).await?;
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

    /// Why each unfinished task of a job is waiting.
    pub async fn job_why(&self, id: &JobId) -> Result<JobWhyResponse, ClientError> {
        self.get(&format!("/v1/jobs/{id}/why")).await
    }

    /// A requester's usage (zero for an address never seen).
    pub async fn requester(&self, address: &Address) -> Result<RequesterResponse, ClientError> {
        self.get(&format!("/v1/requesters/{address}")).await
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
