//! The storage routes of the node API: deals (a page, or one with its replicas and their
//! holders' endpoints), a provider's held replicas with their open challenges, storage
//! offers, and a job's key sealed to one provider.

use crate::{Client, ClientError, error_answer};
use yun_types::Address;
use yun_types::Hash32;
use yun_types::api_storage::{
    ChallengesResponse, DealResponse, DealsResponse, JobKeyResponse, StorageOffersResponse,
};
use yun_types::market::JobId;
use yun_types::storage::DealId;

impl Client {
    /// Deals in id order: all, or one owner's; a bounded page (`next_after` continues).
    pub async fn storage_deals(
        &self,
        owner: Option<&Address>,
        limit: usize,
        after: Option<&DealId>,
    ) -> Result<DealsResponse, ClientError> {
        let mut q = format!("/v1/storage/deals?limit={limit}");
        if let Some(o) = owner {
            q.push_str(&format!("&owner={o}"));
        }
        if let Some(a) = after {
            q.push_str(&format!("&after={a}"));
        }
        self.get(&q).await
    }

    /// A deal with every replica it had, their holders' endpoints and open challenges
    /// (`NotFound` if there is no such deal).
    pub async fn storage_deal(&self, id: &DealId) -> Result<DealResponse, ClientError> {
        self.get(&format!("/v1/storage/deals/{id}")).await
    }

    /// One page of the live replicas `provider` holds, each with what to fetch and the
    /// challenge it must answer now; `after` is the previous page's `next_after`.
    pub async fn storage_challenges(
        &self,
        provider: &Address,
        after: Option<&str>,
    ) -> Result<ChallengesResponse, ClientError> {
        let after = after.map_or(String::new(), |a| format!("&after={a}"));
        self.get(&format!(
            "/v1/storage/challenges?provider={provider}{after}"
        ))
        .await
    }

    /// Storage offers in provider address order, with the storage market's numbers.
    pub async fn storage_offers(
        &self,
        after: Option<&Address>,
    ) -> Result<StorageOffersResponse, ClientError> {
        let after = after.map_or(String::new(), |a| format!("?after={a}"));
        self.get(&format!("/v1/storage/offers{after}")).await
    }

    /// A job's data key sealed to `provider` (`NotFound` until the requester shared it).
    pub async fn job_key(
        &self,
        job: &JobId,
        provider: &Address,
    ) -> Result<JobKeyResponse, ClientError> {
        self.get(&format!("/v1/jobs/{job}/keys/{provider}")).await
    }

    /// The length of blob `hash` on this server (`HEAD /v1/blobs/{hash}`), or its numbered
    /// error (`BlobNotFound`).
    pub async fn blob_len(&self, hash: &Hash32) -> Result<u64, ClientError> {
        let url = format!("{}/v1/blobs/{hash}", self.base);
        let resp =
            self.http
                .head(&url)
                .send()
                .await
                .map_err(|source| ClientError::Unreachable {
                    url: url.clone(),
                    source,
                })?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            let kind = yun_types::api::ApiErrorKind::BlobNotFound;
            return Err(ClientError::Rejected(
                kind.body(format!("{url} holds no blob {hash}")),
            ));
        }
        if !status.is_success() {
            return Err(error_answer(status, &[]));
        }
        // The header, not `content_length()`: for a HEAD answer that reports the (empty)
        // body's length, 0, and a kept output would be posted as a 0-byte deal.
        resp.headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .ok_or(ClientError::Unexpected {
                status: status.as_u16(),
                body: format!("no content length for blob {hash}"),
            })
    }
}
