//! The compute market's read-only API: the market's numbers (and the storage price index), providers and their assignments,
//! jobs with their tasks, why a job waits, and a requester's usage. Every answer is read from
//! one consistent state snapshot, off the async workers.

use crate::api_common::{
    ApiError, ApiState, View, api_err, page_after, parse_address, parse_hash, read_state,
};
use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde::Deserialize;
use std::collections::BTreeMap;
use yun_state::market::why::explain_job_page;
use yun_state::market::{TAG_ASSIGNED, TAG_PROVIDER, initial_price, task_ref_of_tail};
use yun_state::storage::initial_storage_price;
use yun_types::api::*;
use yun_types::market::{JobId, TaskRef, TaskSpec};
use yun_types::{Address, Hash32};

/// Most providers one `GET /v1/providers` returns, and the default.
pub const PROVIDERS_LIMIT_MAX: usize = 1_000;
pub const PROVIDERS_LIMIT_DEFAULT: usize = 100;
/// Most tasks one `GET /v1/jobs/{id}/why` explains, and the default: each weighs every
/// provider, so a page bounds the request's work (a job has up to 1,024 tasks).
pub const WHY_TASKS_LIMIT_MAX: usize = 256;

fn provider_view(state: &View<'_>, address: Address, provider: Provider) -> ProviderView {
    ProviderView {
        address,
        free_slots: provider.free_slots(),
        provider,
        storage: state.storage_offer(&address),
    }
}

fn no_provider(a: &Address) -> ApiError {
    api_err(
        ApiErrorKind::NotFound,
        format!("{a} is not a registered provider"),
    )
}

/// A job not in state: pruned (`JobPruned`, naming the block that posted it) when this node's
/// blocks hold its successful `PostJob`, otherwise not found.
fn no_job(node: &crate::state::NodeState, id: &JobId) -> ApiError {
    if let Ok(Some((stx, receipt))) = node.store.tx(id)
        && matches!(stx.tx.action, yun_types::Action::PostJob { .. })
        && receipt.outcome == yun_types::TxOutcome::Success
    {
        return api_err(
            ApiErrorKind::JobPruned,
            format!(
                "job {id} settled and was pruned from state; see block {} (its PostJob) and the blocks after it",
                receipt.height
            ),
        );
    }
    api_err(ApiErrorKind::NotFound, format!("no job {id}"))
}

/// The price index, slots, utilization, queue, recent clearing prices and the market's
/// parameters.
#[utoipa::path(get, path = "/v1/market",
    responses((status = 200, body = MarketResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_market(
    State(s): State<ApiState>,
) -> Result<Json<MarketResponse>, ApiError> {
    read_state(&s, |state, height| {
        let params = state.params();
        let m = state.market();
        // Before the first block's step the index is unset; matching starts from the floor.
        let index = if m.price_index_per_mfuel.is_zero() {
            initial_price(&params)
        } else {
            m.price_index_per_mfuel
        };
        // Before the first storage offer the index is unset; matching starts from the floor.
        let storage_index = match state.storage_market().price_index_per_mib_epoch {
            i if i.is_zero() => initial_storage_price(&params),
            i => i,
        };
        let utilization_bps = if m.slots_total == 0 {
            0
        } else {
            (u128::from(m.slots_busy.min(m.slots_total)) * 10_000 / u128::from(m.slots_total))
                as u32
        };
        Ok(Json(MarketResponse {
            height,
            price_index: PriceIndexView {
                compute_per_mfuel: index,
                storage_per_mib_epoch: Some(storage_index),
                note: String::new(),
            },
            slots_total: m.slots_total,
            slots_busy: m.slots_busy,
            utilization_bps,
            queue_tasks: m.queue_tasks,
            recent_clearing: m
                .recent_clearing
                .iter()
                .map(|&(height, price_per_mfuel)| ClearingView {
                    height,
                    price_per_mfuel,
                })
                .collect(),
            params: params.market,
            storage_params: params.storage,
        }))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ProvidersQuery {
    /// At most this many (default 100, at most 1,000).
    limit: Option<usize>,
    /// Start after this address (the previous page's `next_after`).
    after: Option<String>,
}

/// Registered providers in address order, a page at a time.
#[utoipa::path(get, path = "/v1/providers", params(ProvidersQuery),
    responses((status = 200, body = ProvidersResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_providers(
    State(s): State<ApiState>,
    q: Result<Query<ProvidersQuery>, QueryRejection>,
) -> Result<Json<ProvidersResponse>, ApiError> {
    let Query(q) = q.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let limit = q
        .limit
        .unwrap_or(PROVIDERS_LIMIT_DEFAULT)
        .clamp(1, PROVIDERS_LIMIT_MAX);
    let after = q.after.as_deref().map(parse_address).transpose()?;
    read_state(&s, move |state, height| {
        let mut page = providers_page(state, after.as_ref(), limit + 1);
        let next_after = (page.len() > limit).then(|| {
            page.truncate(limit);
            page.last().expect("limit >= 1").0
        });
        Ok(Json(ProvidersResponse {
            height,
            providers: page
                .into_iter()
                .map(|(a, p)| provider_view(state, a, p))
                .collect(),
            next_after,
        }))
    })
    .await
}

/// Up to `want` providers after `after`, in address order.
fn providers_page(
    state: &View<'_>,
    after: Option<&Address>,
    want: usize,
) -> Vec<(Address, Provider)> {
    let after = after.map(|a| a.as_bytes().as_slice());
    let (page, _) = page_after(state, TAG_PROVIDER, after, want, usize::MAX, |body, v| {
        let address = Address(body[..32].try_into().ok()?);
        Some((address, yun_state::market::decode(v)))
    });
    page
}

/// A provider's offer, bond, status, reputation and earnings.
#[utoipa::path(get, path = "/v1/providers/{address}", params(("address" = Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = ProviderView), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_provider(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<ProviderView>, ApiError> {
    let address = parse_address(&address)?;
    read_state(&s, move |state, _| {
        let p = state
            .provider(&address)
            .ok_or_else(|| no_provider(&address))?;
        Ok(Json(provider_view(state, address, p)))
    })
    .await
}

/// The replicas a provider holds now (assigned or committed), with their deadlines and what
/// its agent needs to run them, in task order.
#[utoipa::path(get, path = "/v1/providers/{address}/assignments", params(("address" = Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = AssignmentsResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_provider_assignments(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<AssignmentsResponse>, ApiError> {
    let address = parse_address(&address)?;
    read_state(&s, move |state, height| {
        state
            .provider(&address)
            .ok_or_else(|| no_provider(&address))?;
        // Bounded by the provider's slots: an entry exists only while a replica is in flight.
        let prefix = [&[TAG_ASSIGNED][..], address.as_bytes()].concat();
        let mut jobs: BTreeMap<JobId, Job> = BTreeMap::new();
        let mut assignments = Vec::new();
        for (key, _) in state.scan(&prefix) {
            let t = task_ref_of_tail(&key);
            if !jobs.contains_key(&t.job)
                && let Some(j) = state.job(&t.job)
            {
                jobs.insert(t.job, j);
            }
            let (Some(task), Some(job)) = (state.task(&t), jobs.get(&t.job)) else {
                continue;
            };
            // A map task runs the job's program on its input; the reduce task runs the reduce
            // program over the accepted map outputs.
            let (program_hash, program_bytes, spec, reduce_inputs) =
                match (job.spec.tasks.get(t.index as usize), &job.spec.reduce) {
                    (Some(spec), _) => (
                        job.spec.program_hash,
                        job.spec.program_bytes,
                        spec.clone(),
                        None,
                    ),
                    (None, Some(r)) if Some(t.index) == job.reduce_index() => (
                        r.program_hash,
                        r.program_bytes,
                        TaskSpec {
                            input_hash: Hash32::ZERO,
                            input_bytes: 0,
                            args: r.args.clone(),
                        },
                        Some(state.reduce_inputs(&t.job)),
                    ),
                    _ => continue,
                };
            let Some(replica) = task
                .replicas
                .iter()
                .rev()
                .find(|r| r.provider == address && r.state.in_flight())
            else {
                continue;
            };
            assignments.push(AssignmentView {
                job: t.job,
                index: t.index,
                assigned_height: replica.assigned_height,
                price_per_mfuel: replica.price_per_mfuel,
                deadline: replica.state.deadline(),
                state: replica.state,
                program_hash,
                program_bytes,
                fuel_per_task: job.spec.fuel_per_task,
                memory_bytes_per_task: job.spec.memory_bytes_per_task,
                task: spec,
                reduce_inputs,
                engine_class: task.engine_class,
                data_sources: job.spec.data_sources.clone(),
                encryption_key: job.spec.encryption_key,
            });
        }
        Ok(Json(AssignmentsResponse {
            provider: address,
            height,
            assignments,
        }))
    })
    .await
}

/// A job: its spec, escrow, status and every task with its replicas.
#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = Hash32, Path, description = "job id (the posting tx id), 64 hex")),
    responses((status = 200, body = JobResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 410, description = "JobPruned: settled and pruned; the message names the block that posted it", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_job(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<JobResponse>, ApiError> {
    let id = parse_hash(&id)?;
    let node = s.node.clone();
    read_state(&s, move |state, height| {
        let job = state.job(&id).ok_or_else(|| no_job(&node, &id))?;
        // At most TASKS_PER_JOB_MAX (1,024) tasks.
        let tasks = (0..job.spec.tasks.len() as u32)
            .filter_map(|index| {
                let task = state.task(&TaskRef { job: id, index })?;
                Some(TaskView { index, task })
            })
            .collect();
        let reduce = job.reduce_index().and_then(|index| {
            let task = state.task(&TaskRef { job: id, index })?;
            Some(ReduceView {
                index,
                inputs: state.reduce_inputs(&id),
                task,
            })
        });
        Ok(Json(JobResponse {
            id,
            height,
            job,
            tasks,
            reduce,
        }))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct WhyQuery {
    /// At most this many tasks (default and most 256).
    limit: Option<usize>,
    /// Start after this task index (the previous page's `next_after`).
    after: Option<u32>,
}

/// Why each unfinished task of a job is still waiting, and how many providers each matching
/// constraint excluded, a page of tasks at a time.
#[utoipa::path(get, path = "/v1/jobs/{id}/why", params(("id" = Hash32, Path, description = "job id, 64 hex"), WhyQuery),
    responses((status = 200, body = JobWhyResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 410, description = "JobPruned: settled and pruned; the message names the block that posted it", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_job_why(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    q: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Json<JobWhyResponse>, ApiError> {
    let Query(q) = q.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let id = parse_hash(&id)?;
    let limit = q
        .limit
        .unwrap_or(WHY_TASKS_LIMIT_MAX)
        .clamp(1, WHY_TASKS_LIMIT_MAX);
    let node = s.node.clone();
    read_state(&s, move |state, height| {
        let params = state.params();
        let (tasks, next_after) = explain_job_page(state, &params, &id, q.after, limit)
            .ok_or_else(|| no_job(&node, &id))?;
        Ok(Json(JobWhyResponse {
            job: id,
            height,
            tasks,
            next_after,
        }))
    })
    .await
}

/// A requester's usage: jobs posted, verified work and spending.
#[utoipa::path(get, path = "/v1/requesters/{address}", params(("address" = Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = RequesterResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
pub(crate) async fn get_requester(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<RequesterResponse>, ApiError> {
    let address = parse_address(&address)?;
    read_state(&s, move |state, height| {
        Ok(Json(RequesterResponse {
            address,
            height,
            stats: state.requester_stats(&address),
        }))
    })
    .await
}

/// The market's routes, merged into the main router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/market", get(get_market))
        .route("/v1/providers", get(get_providers))
        .route("/v1/providers/{address}", get(get_provider))
        .route(
            "/v1/providers/{address}/assignments",
            get(get_provider_assignments),
        )
        .route("/v1/jobs", get(crate::api_lists::get_jobs))
        .route("/v1/tasks/queued", get(crate::api_lists::get_queued_tasks))
        .route("/v1/jobs/{id}", get(get_job))
        .route("/v1/jobs/{id}/why", get(get_job_why))
        .route("/v1/requesters/{address}", get(get_requester))
}
