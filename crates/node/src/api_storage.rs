//! The storage API: deals (a bounded page, by owner or all; one with its replicas, their
//! endpoints and challenges), what a provider must prove now, storage offers, and a job's
//! key sealed to one provider. Every answer is read from one consistent state snapshot.

use crate::api_common::{
    ApiError, ApiState, View, api_err, page_after, page_under, parse_address, parse_hash,
    read_state,
};
use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde::Deserialize;
use yun_state::storage::{
    Deal, TAG_DEAL, TAG_DEAL_OWNER, TAG_STORAGE_HELD, TAG_STORAGE_OFFER, decode, open_challenge,
};
use yun_types::api::{ApiErrorKind, ErrorResponse};
use yun_types::api_storage::*;
use yun_types::market::Text;
use yun_types::market_records::ProviderStatus;
use yun_types::storage::DealId;
use yun_types::{Address, Hash32};

/// Most deals one `GET /v1/storage/deals` returns, and the default.
pub const DEALS_LIMIT_MAX: usize = 500;
pub const DEALS_LIMIT_DEFAULT: usize = 50;
/// Most deal keys one page reads while filtering.
pub const DEALS_SCAN_MAX: usize = 5_000;
/// Most replicas one `GET /v1/storage/challenges` returns, and the default.
pub const CHALLENGES_LIMIT_MAX: usize = 1_000;
pub const CHALLENGES_LIMIT_DEFAULT: usize = 200;
/// Most held-replica records one `GET /v1/storage/challenges` page reads (entries whose deal
/// is gone are read but not answered).
pub const CHALLENGES_SCAN_MAX: usize = 5_000;
/// Most offers one `GET /v1/storage/offers` returns, and the default.
pub const OFFERS_LIMIT_MAX: usize = 1_000;
pub const OFFERS_LIMIT_DEFAULT: usize = 100;

fn bad_query(e: QueryRejection) -> ApiError {
    api_err(ApiErrorKind::BadParameter, e.body_text())
}

fn no_deal(id: &DealId) -> ApiError {
    api_err(ApiErrorKind::NotFound, format!("no storage deal {id}"))
}

fn summary(id: DealId, d: Deal) -> DealSummaryView {
    DealSummaryView {
        id,
        owner: d.owner,
        root: d.spec.root,
        size_bytes: d.spec.size_bytes,
        replicas: d.spec.replicas,
        replicas_live: d.live_replicas() as u32,
        epochs: d.spec.epochs,
        bid_per_mib_epoch: d.spec.bid_per_mib_epoch,
        status: d.status,
        posted_height: d.posted_height,
        end_height: d.end_height,
        escrow: d.escrow,
        paid: d.paid,
    }
}

fn endpoint_of(state: &View<'_>, p: &Address) -> Text {
    state
        .provider(p)
        .map(|p| p.spec.endpoint)
        .unwrap_or_default()
}

fn challenge_view(id: &DealId, deal: &Deal, replica: u8, height: u64) -> Option<ChallengeView> {
    let (epoch, chunk_index, proven) = open_challenge(id, deal, replica, height)?;
    Some(ChallengeView {
        deal: *id,
        replica,
        epoch,
        chunk_index,
        window_end_height: deal.window_end_height,
        proven,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct DealsQuery {
    /// Only deals this `yun1…` address posted.
    owner: Option<String>,
    /// At most this many (default 50, at most 500).
    limit: Option<usize>,
    /// Start after this deal id (the previous page's `next_after`).
    after: Option<String>,
}

/// Storage deals in id order (all, or one owner's), a bounded page at a time.
#[utoipa::path(get, path = "/v1/storage/deals", params(DealsQuery),
    responses((status = 200, body = DealsResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_deals(
    State(s): State<ApiState>,
    q: Result<Query<DealsQuery>, QueryRejection>,
) -> Result<Json<DealsResponse>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    let limit = q
        .limit
        .unwrap_or(DEALS_LIMIT_DEFAULT)
        .clamp(1, DEALS_LIMIT_MAX);
    let owner = q.owner.as_deref().map(parse_address).transpose()?;
    let after = q.after.as_deref().map(parse_hash).transpose()?;
    read_state(&s, move |state, height| {
        let (deals, next_after) = match owner {
            Some(owner) => owner_page(state, &owner, after.as_ref(), limit),
            None => {
                let (deals, cursor) = page_after(
                    state,
                    TAG_DEAL,
                    after.as_ref().map(|a| a.as_bytes().as_slice()),
                    limit,
                    DEALS_SCAN_MAX,
                    |body, v| Some(summary(Hash32(body.try_into().ok()?), decode(v))),
                );
                (
                    deals,
                    cursor.map(|c| Hash32(c[..32].try_into().expect("32"))),
                )
            }
        };
        Ok(Json(DealsResponse {
            height,
            deals,
            next_after,
        }))
    })
    .await
}

/// One owner's deals after `after`, through the `deal_owner` index (the page stops at the
/// first key of another owner).
fn owner_page(
    state: &View<'_>,
    owner: &Address,
    after: Option<&DealId>,
    limit: usize,
) -> (Vec<DealSummaryView>, Option<DealId>) {
    let after_body: Vec<u8> = match after {
        Some(a) => [owner.as_bytes().as_slice(), a.as_bytes()].concat(),
        None => owner.as_bytes().to_vec(),
    };
    let mut other_owner = false;
    let (deals, cursor) = page_after(
        state,
        TAG_DEAL_OWNER,
        Some(&after_body),
        limit,
        DEALS_SCAN_MAX,
        |body, _| {
            if body[..32] != owner.as_bytes()[..] {
                other_owner = true;
                return None;
            }
            let id = Hash32(body[32..].try_into().ok()?);
            Some(summary(id, state.deal(&id)?))
        },
    );
    let next = cursor
        .filter(|c| !other_owner && c[..32] == owner.as_bytes()[..])
        .map(|c| Hash32(c[32..].try_into().expect("32")));
    (deals, next)
}

/// A deal: its spec, escrow and status, every replica it had with its provider's endpoint,
/// state, epochs paid and its open challenge.
#[utoipa::path(get, path = "/v1/storage/deals/{id}", params(("id" = Hash32, Path, description = "deal id (the posting tx id), 64 hex")),
    responses((status = 200, body = DealResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_deal(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<DealResponse>, ApiError> {
    let id = parse_hash(&id)?;
    read_state(&s, move |state, height| {
        let deal = state.deal(&id).ok_or_else(|| no_deal(&id))?;
        let replicas = deal
            .replicas
            .iter()
            .enumerate()
            .map(|(i, r)| StorageReplicaView {
                index: i as u8,
                endpoint: endpoint_of(state, &r.provider),
                replica: r.clone(),
                challenge: challenge_view(&id, &deal, i as u8, height),
            })
            .collect();
        Ok(Json(DealResponse {
            id,
            height,
            owner: deal.owner,
            spec: deal.spec.clone(),
            status: deal.status,
            escrow: deal.escrow,
            paid: deal.paid,
            refunded: deal.refunded,
            posted_height: deal.posted_height,
            start_height: deal.start_height,
            end_height: deal.end_height,
            epoch: deal.epoch,
            window_end_height: deal.epoch.map(|_| deal.window_end_height),
            next_event_height: deal.next_event_height,
            ended_height: deal.ended_height,
            replicas,
        }))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ChallengesQuery {
    /// The provider's `yun1…` address.
    provider: String,
    /// At most this many (default 200, at most 1,000).
    limit: Option<usize>,
    /// Start after this replica, as `DEAL:REPLICA` (the previous page's `next_after`).
    after: Option<String>,
}

fn parse_held(s: &str) -> Result<(DealId, u8), ApiError> {
    let bad = || {
        api_err(
            ApiErrorKind::BadParameter,
            format!(
                "`{s}` is not a replica: write DEAL:REPLICA (64 hex digits, a colon, a number)"
            ),
        )
    };
    let (deal, replica) = s.split_once(':').ok_or_else(bad)?;
    Ok((parse_hash(deal)?, replica.parse().map_err(|_| bad())?))
}

/// Every live replica a provider holds: what to fetch (root, size, source, the other holders)
/// and the challenge it must answer now, in (deal, replica) order.
#[utoipa::path(get, path = "/v1/storage/challenges", params(ChallengesQuery),
    responses((status = 200, body = ChallengesResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_challenges(
    State(s): State<ApiState>,
    q: Result<Query<ChallengesQuery>, QueryRejection>,
) -> Result<Json<ChallengesResponse>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    let provider = parse_address(&q.provider)?;
    let limit = q
        .limit
        .unwrap_or(CHALLENGES_LIMIT_DEFAULT)
        .clamp(1, CHALLENGES_LIMIT_MAX);
    let after = q.after.as_deref().map(parse_held).transpose()?;
    read_state(&s, move |state, height| {
        let prefix = [&[TAG_STORAGE_HELD][..], provider.as_bytes()].concat();
        let after_body = after.map(|(d, r)| [&d.as_bytes()[..], &[r]].concat());
        let fetch_epochs_max = state.params().storage.fetch_epochs_max;
        // Read a slice at a time (see `page_under`): a provider may hold many replicas.
        let (replicas, cursor) = page_under(
            state,
            &prefix,
            after_body.as_deref(),
            limit,
            CHALLENGES_SCAN_MAX,
            |body, _| {
                let id = Hash32(body.get(..32)?.try_into().ok()?);
                let replica = *body.get(32)?;
                let deal = state.deal(&id)?;
                Some(held_view(
                    state,
                    fetch_epochs_max,
                    &id,
                    &deal,
                    replica,
                    height,
                ))
            },
        );
        let next_after = cursor.and_then(|c| {
            let deal = Hash32(c.get(..32)?.try_into().ok()?);
            Some(format!("{deal}:{}", c.get(32)?))
        });
        Ok(Json(ChallengesResponse {
            provider,
            height,
            replicas,
            next_after,
        }))
    })
    .await
}

fn held_view(
    state: &View<'_>,
    fetch_epochs_max: u32,
    id: &DealId,
    deal: &Deal,
    replica: u8,
    height: u64,
) -> HeldReplicaView {
    let r = &deal.replicas[usize::from(replica)];
    let holders = deal
        .replicas
        .iter()
        .enumerate()
        .filter(|(i, h)| *i != usize::from(replica) && h.state.is_live())
        .map(|(_, h)| HolderView {
            provider: h.provider,
            endpoint: endpoint_of(state, &h.provider),
            state: h.state,
        })
        .collect();
    HeldReplicaView {
        deal: *id,
        replica,
        root: deal.spec.root,
        size_bytes: deal.spec.size_bytes,
        encrypted: deal.spec.encrypted,
        source_url: deal.spec.source_url.clone(),
        state: r.state,
        fetch_last_epoch: (r.state == StorageReplicaState::Fetching).then(|| {
            r.first_epoch
                .saturating_add(u64::from(fetch_epochs_max))
                .saturating_sub(1)
        }),
        challenge: challenge_view(id, deal, replica, height).filter(|c| !c.proven),
        holders,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct OffersQuery {
    /// At most this many (default 100, at most 1,000).
    limit: Option<usize>,
    /// Start after this provider address (the previous page's `next_after`).
    after: Option<String>,
}

/// Storage offers in provider address order, with the storage market's totals.
#[utoipa::path(get, path = "/v1/storage/offers", params(OffersQuery),
    responses((status = 200, body = StorageOffersResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_offers(
    State(s): State<ApiState>,
    q: Result<Query<OffersQuery>, QueryRejection>,
) -> Result<Json<StorageOffersResponse>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    let limit = q
        .limit
        .unwrap_or(OFFERS_LIMIT_DEFAULT)
        .clamp(1, OFFERS_LIMIT_MAX);
    let after = q.after.as_deref().map(parse_address).transpose()?;
    read_state(&s, move |state, height| {
        let bond_min = state.params().market.provider_bond_min;
        let (offers, cursor) = page_after(
            state,
            TAG_STORAGE_OFFER,
            after.as_ref().map(|a| a.as_bytes().as_slice()),
            limit,
            limit,
            |body, v| {
                let provider = Address(body[..32].try_into().ok()?);
                let offer: StorageOffer = decode(v);
                let p = state.provider(&provider);
                let eligible = p
                    .as_ref()
                    .is_some_and(|p| p.status == ProviderStatus::Active && p.bond >= bond_min);
                Some(StorageOfferView {
                    provider,
                    endpoint: p.map(|p| p.spec.endpoint).unwrap_or_default(),
                    free_bytes: offer.free_bytes(),
                    offer,
                    eligible,
                })
            },
        );
        Ok(Json(StorageOffersResponse {
            height,
            market: state.storage_market(),
            offers,
            next_after: cursor.map(|c| Address(c[..32].try_into().expect("32"))),
        }))
    })
    .await
}

/// A job's data key sealed to one provider (shared by the job's requester with
/// `ShareJobKeys`).
#[utoipa::path(get, path = "/v1/jobs/{id}/keys/{provider}", params(("id" = Hash32, Path, description = "job id, 64 hex"), ("provider" = Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = JobKeyResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_job_key(
    State(s): State<ApiState>,
    Path((id, provider)): Path<(String, String)>,
) -> Result<Json<JobKeyResponse>, ApiError> {
    let job = parse_hash(&id)?;
    let provider = parse_address(&provider)?;
    read_state(&s, move |state, height| {
        let sealed = state.job_key(&job, &provider).ok_or_else(|| {
            api_err(
                ApiErrorKind::NotFound,
                format!("no key of job {job} is sealed to {provider} (the requester shares it after assignment)"),
            )
        })?;
        Ok(Json(JobKeyResponse {
            job,
            provider,
            height,
            sealed,
        }))
    })
    .await
}

/// The storage routes, merged into the main router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/storage/deals", get(get_deals))
        .route("/v1/storage/deals/{id}", get(get_deal))
        .route("/v1/storage/challenges", get(get_challenges))
        .route("/v1/storage/offers", get(get_offers))
        .route("/v1/jobs/{id}/keys/{provider}", get(get_job_key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{BlockTiming, NodeState};
    use std::sync::Arc;
    use yun_state::BlockDraft;
    use yun_state::scenario::{SCENARIO_CHAIN_ID, addr, genesis_with, key_of, seed_signer_of};
    use yun_state::scenario_market::offer;
    use yun_state::scenario_storage::{deal_of, file_of, offer_storage};
    use yun_store::Store;
    use yun_types::{Action, Amount, SignedTx, Tx};

    fn answer<T>(f: impl std::future::Future<Output = Result<Json<T>, ApiError>>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
            .expect("the handler answers")
            .0
    }

    fn api(node: &Arc<NodeState>) -> State<ApiState> {
        State(ApiState {
            node: node.clone(),
            metrics_text: Arc::new(String::new),
            peers: Arc::new(Vec::new),
        })
    }

    fn signed(node: &NodeState, who: &str, action: Action) -> SignedTx {
        let nonce = yun_state::Overlay::new(&node.store.snapshot().expect("snapshot"))
            .account(&addr(who))
            .nonce;
        Tx {
            chain_id: SCENARIO_CHAIN_ID.into(),
            nonce,
            fee: Amount::new(10),
            expires_at_height: 1_000,
            action,
        }
        .sign(&key_of(who))
    }

    fn commit(node: &NodeState, txs: Vec<SignedTx>) {
        let head = node.store.head().expect("head");
        let draft = BlockDraft {
            chain_id: SCENARIO_CHAIN_ID.into(),
            height: head.height + 1,
            timestamp_ms: head.timestamp_ms + 1_000,
            proposer: addr("validator"),
        };
        let p = node
            .store
            .build(&draft, &seed_signer_of("validator"), txs)
            .expect("block builds");
        assert!(p.left_out.is_empty(), "{:?}", p.left_out);
        node.store
            .commit_block(&p.block, &p.executed)
            .expect("commit");
    }

    /// A node whose chain has two storage providers and alice's deal of `data` on both, its
    /// first challenge open.
    fn node_with_deal(data: &[u8]) -> (Arc<NodeState>, DealId) {
        let mut genesis =
            genesis_with(&[("alice", 1_000_000), ("p1", 5_000_000), ("p2", 5_000_000)]);
        genesis.params.storage.epoch_blocks = 10;
        genesis.params.storage.proof_window_blocks = 5;
        let node = NodeState::new(
            Store::in_memory().expect("store"),
            genesis,
            addr("validator"),
            BlockTiming::default(),
            Default::default(),
        )
        .expect("node");
        for p in ["p1", "p2"] {
            commit(&node, vec![signed(&node, p, offer().register(1_000_000))]);
            commit(&node, vec![signed(&node, p, offer_storage(1 << 20, 2))]);
        }
        let post = signed(
            &node,
            "alice",
            deal_of(data).replicas(2).epochs(3).bid(4).post(),
        );
        let id = post.id();
        commit(&node, vec![post]);
        commit(&node, vec![]);
        (Arc::new(node), id)
    }

    #[test]
    fn a_deal_its_replicas_their_challenges_and_the_offers_are_served() {
        let data = file_of(9 * 1024, 1);
        let (node, id) = node_with_deal(&data);
        let deal = answer(get_deal(api(&node), Path(id.to_string())));
        assert_eq!(deal.status, DealStatus::Active);
        assert_eq!(deal.replicas.len(), 2);
        for r in &deal.replicas {
            assert_eq!(r.endpoint.0, "http://127.0.0.1:9000");
            let c = r.challenge.as_ref().expect("epoch 0 is open");
            assert_eq!((c.epoch, c.proven), (0, false));
            assert!(c.chunk_index < 9);
            assert_eq!(Some(c.window_end_height), deal.window_end_height);
        }
        fn q<T: serde::de::DeserializeOwned>(s: &str) -> Result<Query<T>, QueryRejection> {
            Query::try_from_uri(&format!("http://x/?{s}").parse().unwrap())
        }
        let mine = answer(get_challenges(
            api(&node),
            q(&format!("provider={}", addr("p1"))),
        ));
        assert_eq!(mine.replicas.len(), 1);
        let held = &mine.replicas[0];
        assert_eq!((held.deal, held.size_bytes), (id, data.len() as u64));
        assert_eq!(held.holders.len(), 1, "the other holder, to copy from");
        assert_eq!(held.holders[0].provider, addr("p2"));
        assert!(held.challenge.is_some());
        let all = answer(get_deals(api(&node), q("limit=10")));
        assert_eq!(all.deals.len(), 1);
        let alices = answer(get_deals(
            api(&node),
            q(&format!("owner={}", addr("alice"))),
        ));
        assert_eq!(alices.deals[0].id, id);
        let nobodys = answer(get_deals(api(&node), q(&format!("owner={}", addr("p1")))));
        assert!(nobodys.deals.is_empty());
        let offers = answer(get_offers(api(&node), q("")));
        assert_eq!(offers.offers.len(), 2);
        assert!(
            offers
                .offers
                .iter()
                .all(|o| o.eligible && o.offer.replicas_held == 1)
        );
        assert_eq!(offers.market.used_bytes_total, 2 * data.len() as u64);
    }

    #[test]
    fn a_providers_challenges_come_a_bounded_page_at_a_time() {
        fn q<T: serde::de::DeserializeOwned>(s: &str) -> Result<Query<T>, QueryRejection> {
            Query::try_from_uri(&format!("http://x/?{s}").parse().unwrap())
        }
        let (node, first) = node_with_deal(&file_of(4096, 3));
        let post = signed(
            &node,
            "alice",
            deal_of(&file_of(4096, 4))
                .replicas(2)
                .epochs(3)
                .bid(4)
                .post(),
        );
        let second = post.id();
        commit(&node, vec![post]);
        commit(&node, vec![]);
        let p1 = addr("p1");
        let page = answer(get_challenges(
            api(&node),
            q(&format!("provider={p1}&limit=1")),
        ));
        assert_eq!(page.replicas.len(), 1);
        let after = page.next_after.clone().expect("another replica follows");
        // Past the hard limit is the hard limit, and the cursor continues where the page ended.
        let rest = answer(get_challenges(
            api(&node),
            q(&format!("provider={p1}&limit=1000000&after={after}")),
        ));
        assert_eq!(rest.replicas.len(), 1);
        assert!(rest.next_after.is_none());
        let mut served: Vec<DealId> = page
            .replicas
            .iter()
            .chain(&rest.replicas)
            .map(|r| r.deal)
            .collect();
        served.sort();
        let mut deals = vec![first, second];
        deals.sort();
        assert_eq!(served, deals);
    }

    #[test]
    fn unknown_deals_and_unshared_keys_are_not_found_and_bad_cursors_are_refused() {
        let (node, _) = node_with_deal(&file_of(2048, 2));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let missing = rt.block_on(get_deal(api(&node), Path(Hash32([3; 32]).to_string())));
        assert!(missing.is_err());
        let key = rt.block_on(get_job_key(
            api(&node),
            Path((Hash32([4; 32]).to_string(), addr("p1").to_string())),
        ));
        assert!(key.is_err());
        assert!(parse_held("nope").is_err());
        let doc = serde_json::to_value(crate::api::openapi_doc()).unwrap();
        for path in [
            "/v1/storage/deals",
            "/v1/storage/deals/{id}",
            "/v1/storage/challenges",
            "/v1/storage/offers",
            "/v1/jobs/{id}/keys/{provider}",
        ] {
            assert!(
                doc["paths"][path].is_object(),
                "{path} missing from OpenAPI"
            );
        }
    }
}
