//! The staking API: the running epoch's validator set, one validator, an account's
//! delegations and unbondings. Every answer is read from one state snapshot.

use crate::api_common::{ApiError, ApiState, api_err, internal, parse_address};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use yun_state::rewards::{self, Liveness};
use yun_state::staking::{self, Validator, ValidatorStatus};
use yun_types::api::*;
use yun_types::{Address, Amount};

/// Most validators one `GET /v1/validators` lists (the highest stakes).
pub const VALIDATORS_LIST_MAX: usize = 1_000;
/// Most delegations, and most unbondings, one `GET /v1/accounts/{address}/delegations` lists
/// (in validator address order, and in release order). Each costs a fee and at least
/// `delegation_min`, so an account past this is one that chose to be.
pub const DELEGATIONS_LIST_MAX: usize = 1_000;

/// Runs `f` on a fresh snapshot (with its height) on the blocking pool.
async fn read<T, F>(s: &ApiState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&yun_store::Snapshot, u64) -> Result<T, ApiError> + Send + 'static,
{
    let node = s.node.clone();
    tokio::task::spawn_blocking(move || {
        let snapshot = node.store.snapshot().map_err(internal)?;
        let height = snapshot.head.height;
        f(&snapshot, height)
    })
    .await
    .map_err(internal)?
}

/// A validator's liveness with this epoch's counts (zero if none were counted yet).
fn liveness_in(snapshot: &dyn yun_state::StateReader, v: &Address, epoch: u64) -> Liveness {
    rewards::liveness(snapshot, v).in_epoch(epoch)
}

fn view(v: Validator, active: &[(Address, Amount)], l: Liveness) -> ValidatorView {
    ValidatorView {
        commission_bps: v.commission_bps,
        rewards_earned: v.rewards_earned,
        delegator_rewards_owed: v.delegator_rewards_owed,
        missed_blocks: l.missed_blocks,
        counted_blocks: l.signed_blocks.saturating_add(l.missed_blocks),
        missed_blocks_total: l.missed_blocks_total,
        downtime_jails: l.downtime_jails,
        in_active_set: active.iter().any(|(a, _)| *a == v.address),
        stake: v.stake(),
        address: v.address,
        p2p_address: v.p2p_address,
        self_bond: v.self_bond,
        delegated: v.delegated,
        status: match v.status {
            ValidatorStatus::Active => ValidatorStatusView::Active,
            ValidatorStatus::Jailed => ValidatorStatusView::Jailed,
        },
        jailed_until_height: v.jailed_until_height,
        fees_earned: v.fees_earned,
        slashed: v.slashed,
        registered_height: v.registered_height,
    }
}

/// The epoch of the next block, its set (what consensus runs now), and the registered
/// validators by stake.
#[utoipa::path(get, path = "/v1/validators",
    responses((status = 200, body = ValidatorsResponse), (status = "5XX", body = ErrorResponse)))]
pub(crate) async fn get_validators(
    State(s): State<ApiState>,
) -> Result<Json<ValidatorsResponse>, ApiError> {
    let params = s.node.genesis.params.staking.clone();
    read(&s, move |snapshot, height| {
        let (epoch, active) = staking::active_set(snapshot);
        let mut all = staking::validators_by_stake(snapshot);
        let validators_total = all.len() as u64;
        all.truncate(VALIDATORS_LIST_MAX);
        Ok(Json(ValidatorsResponse {
            height,
            epoch,
            next_epoch_height: staking::first_height_of_epoch(&params, epoch + 1),
            active_validators_max: params.active_validators_max,
            active: active
                .iter()
                .map(|(address, stake)| ActiveMemberView {
                    address: *address,
                    stake: *stake,
                })
                .collect(),
            validators: all
                .into_iter()
                .map(|v| {
                    let l = liveness_in(snapshot, &v.address, epoch);
                    view(v, &active, l)
                })
                .collect(),
            validators_total,
        }))
    })
    .await
}

/// One registered validator.
#[utoipa::path(get, path = "/v1/validators/{address}", params(("address" = Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = ValidatorView), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_validator(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<ValidatorView>, ApiError> {
    let address = parse_address(&address)?;
    read(&s, move |snapshot, _| {
        let v = staking::validator(snapshot, &address).ok_or_else(|| {
            api_err(
                ApiErrorKind::NotFound,
                format!(
                    "{address} is not a registered validator (register with `yun stake register`)"
                ),
            )
        })?;
        let (epoch, active) = staking::active_set(snapshot);
        let l = liveness_in(snapshot, &address, epoch);
        Ok(Json(view(v, &active, l)))
    })
    .await
}

/// An account's self bond (if a validator), delegations and unbondings (at most 1,000 of each).
#[utoipa::path(get, path = "/v1/accounts/{address}/delegations", params(("address" = Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = DelegationsResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_delegations(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<DelegationsResponse>, ApiError> {
    let address = parse_address(&address)?;
    read(&s, move |snapshot, height| {
        Ok(Json(DelegationsResponse {
            address,
            height,
            self_bond: staking::validator(snapshot, &address).map(|v| v.self_bond),
            delegations: staking::delegations_of(snapshot, &address)
                .into_iter()
                .take(DELEGATIONS_LIST_MAX)
                .map(|(validator, d)| DelegationView {
                    validator,
                    amount: d.amount,
                    since_height: d.since_height,
                    rewards_earned: d.rewards_earned,
                })
                .collect(),
            unbondings: staking::unbondings_of(snapshot, &address)
                .into_iter()
                .take(DELEGATIONS_LIST_MAX)
                .map(|u| UnbondingView {
                    validator: u.validator,
                    amount: u.amount,
                    release_height: u.release_height,
                })
                .collect(),
        }))
    })
    .await
}

/// The staking routes, merged into the main router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/validators", get(get_validators))
        .route("/v1/validators/{address}", get(get_validator))
        .route("/v1/accounts/{address}/delegations", get(get_delegations))
}
