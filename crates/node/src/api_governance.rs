//! The governance API: proposals with their tallies and votes, an account's voting power,
//! the faucet's terms and an account's last claim, and a dry run of a parameter change.
//! Every answer is read from one state snapshot.

use crate::api_common::{ApiError, ApiState, View, api_err, parse_address, read_state};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use yun_state::governance::{self, Proposal, ProposalStatus};
use yun_types::api::{ApiErrorKind, ErrorResponse};
use yun_types::api_governance::*;

/// Most proposals one `GET /v1/gov/proposals` lists, and the default.
pub const PROPOSALS_LIMIT_MAX: usize = 100;
pub const PROPOSALS_LIMIT_DEFAULT: usize = 20;

fn status_view(s: ProposalStatus) -> ProposalStatusView {
    match s {
        ProposalStatus::Voting => ProposalStatusView::Voting,
        ProposalStatus::Passed => ProposalStatusView::Passed,
        ProposalStatus::Rejected => ProposalStatusView::Rejected,
        ProposalStatus::Vetoed => ProposalStatusView::Vetoed,
        ProposalStatus::Applied => ProposalStatusView::Applied,
        ProposalStatus::ApplyFailed => ProposalStatusView::ApplyFailed,
    }
}

fn proposal_view(p: Proposal, votes: Vec<VoteView>) -> ProposalView {
    ProposalView {
        id: p.id,
        proposer: p.proposer,
        kind: p.kind,
        deposit: p.deposit,
        deposit_held: p.deposit_held,
        submit_height: p.submit_height,
        voting_end_height: p.voting_end_height,
        apply_height: p.apply_height,
        status: status_view(p.status),
        tally: p.tally.map(|t| TallyView {
            yes: t.yes,
            no: t.no,
            abstain: t.abstain,
            veto: t.veto,
            power_total: t.power_total,
        }),
        votes,
    }
}

/// `GET /v1/gov/proposals` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ProposalsQuery {
    /// Only proposals numbered below this (the next page: the last id of the previous one).
    before: Option<u64>,
    /// How many, at most 100 (default 20).
    limit: Option<usize>,
}

/// The newest proposals, the treasury, the scheduled upgrade and the governance parameters.
#[utoipa::path(get, path = "/v1/gov/proposals", params(ProposalsQuery),
    responses((status = 200, body = ProposalsResponse), (status = 400, description = "BadParameter: a malformed query", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_proposals(
    State(s): State<ApiState>,
    query: Result<Query<ProposalsQuery>, QueryRejection>,
) -> Result<Json<ProposalsResponse>, ApiError> {
    let Query(q) = query.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let limit = q
        .limit
        .unwrap_or(PROPOSALS_LIMIT_DEFAULT)
        .min(PROPOSALS_LIMIT_MAX);
    read_state(&s, move |state: &View<'_>, height| {
        let g = state.gov_state();
        let top = q.before.unwrap_or(g.next_proposal).min(g.next_proposal);
        let proposals = (1..top)
            .rev()
            .take(limit)
            .filter_map(|id| state.proposal(id))
            .map(|p| proposal_view(p, Vec::new()))
            .collect();
        Ok(Json(ProposalsResponse {
            height,
            treasury: state.supply().treasury,
            open: g.open,
            next_proposal: g.next_proposal,
            upgrade: g.upgrade.map(|u| UpgradePlanView {
                proposal: u.proposal,
                name: u.name,
                height: u.height,
            }),
            params: state.params().governance,
            proposals,
        }))
    })
    .await
}

/// One proposal, with the votes cast so far while it is open.
#[utoipa::path(get, path = "/v1/gov/proposals/{id}", params(("id" = u64, Path, description = "the proposal's number")),
    responses((status = 200, body = ProposalView), (status = 400, description = "BadParameter", body = ErrorResponse), (status = 404, description = "ProposalNotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_proposal(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ProposalView>, ApiError> {
    let id: u64 = id.parse().map_err(|_| {
        api_err(
            ApiErrorKind::BadParameter,
            format!("{id:?} is not a proposal number"),
        )
    })?;
    read_state(&s, move |state, _| {
        let p = state
            .proposal(id)
            .ok_or_else(|| api_err(ApiErrorKind::ProposalNotFound, format!("no proposal {id}")))?;
        let votes = votes_of(state, id);
        Ok(Json(proposal_view(p, votes)))
    })
    .await
}

fn votes_of(state: &View<'_>, id: u64) -> Vec<VoteView> {
    state
        .scan(&governance::votes_prefix(id))
        .into_iter()
        .map(|(k, raw)| VoteView {
            voter: yun_types::Address(k[9..41].try_into().expect("vote keys hold an address")),
            choice: yun_state::record::decode(&raw),
        })
        .collect()
}

/// An account's lock, bonded stake and voting power after the last block.
#[utoipa::path(get, path = "/v1/gov/power/{address}", params(("address" = yun_types::Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = PowerResponse), (status = 400, description = "BadParameter", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_power(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<PowerResponse>, ApiError> {
    let address = parse_address(&address)?;
    read_state(&s, move |state, height| {
        let params = state.params();
        let p = governance::power_of(state, &params, height, &address);
        Ok(Json(PowerResponse {
            address,
            height,
            locked: p.locked,
            lock_until_height: p.lock_until_height,
            lock_weight: p.lock_weight,
            bonded: p.bonded,
            stake_weight: p.stake_weight,
            total: p.total,
            power_total: governance::power_total(state, &params, height),
        }))
    })
    .await
}

/// The faucet's terms and an account's last claim (404 on a chain without a faucet).
#[utoipa::path(get, path = "/v1/gov/faucet/{address}", params(("address" = yun_types::Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = FaucetResponse), (status = 400, description = "BadParameter", body = ErrorResponse), (status = 404, description = "FaucetNotEnabled", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_faucet(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<FaucetResponse>, ApiError> {
    let address = parse_address(&address)?;
    read_state(&s, move |state, height| {
        let params = state.params();
        if !params.faucet.enabled {
            return Err(api_err(
                ApiErrorKind::FaucetNotEnabled,
                "this chain has no faucet",
            ));
        }
        Ok(Json(FaucetResponse {
            address,
            height,
            epoch: yun_state::staking::epoch_of_height(&params.staking, height + 1),
            params: params.faucet,
            claimed_epoch: state.faucet_claim(&address),
        }))
    })
    .await
}

/// What a parameter change would give if it applied now (what the chain checks when it is
/// proposed), without sending anything.
#[utoipa::path(post, path = "/v1/gov/check-params", request_body = CheckParamsRequest,
    responses((status = 200, body = CheckParamsResponse), (status = 400, description = "MalformedJson", body = ErrorResponse), (status = 422, description = "ParamChangeRefused", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn check_params(
    State(s): State<ApiState>,
    Json(body): Json<CheckParamsRequest>,
) -> Result<Json<CheckParamsResponse>, ApiError> {
    read_state(&s, move |state, _| {
        governance::apply_edits(&state.params(), &body.edits)
            .map(|params| Json(CheckParamsResponse { params }))
            .map_err(|r| api_err(ApiErrorKind::ParamChangeRefused, r.message()))
    })
    .await
}

/// The governance routes, merged into the main router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/gov/proposals", get(get_proposals))
        .route("/v1/gov/proposals/{id}", get(get_proposal))
        .route("/v1/gov/power/{address}", get(get_power))
        .route("/v1/gov/faucet/{address}", get(get_faucet))
        .route("/v1/gov/check-params", post(check_params))
}
