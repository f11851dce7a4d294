//! The market's list routes: jobs (filtered by requester and status) and the tasks waiting for
//! replicas. Every page is bounded twice: by `limit` (what it returns) and by a scan budget
//! (what it reads), so no filter can make one request walk the whole state.

use crate::api_common::{
    ApiError, ApiState, api_err, page_after, parse_address, parse_hash, read_state,
};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use yun_state::market::{Job, JobStatus, TAG_JOB, TAG_QUEUE, task_ref_of_tail};
use yun_types::api::*;
use yun_types::market::{JobId, TaskRef};

/// Most jobs one `GET /v1/jobs` returns, and the default.
pub const JOBS_LIMIT_MAX: usize = 500;
pub const JOBS_LIMIT_DEFAULT: usize = 50;
/// Most job records one `GET /v1/jobs` page reads while filtering; a page that reaches it ends
/// early with a cursor, so a filter that matches few jobs costs a bounded read per request.
pub const JOBS_SCAN_MAX: usize = 5_000;
/// Most queued tasks one `GET /v1/tasks/queued` returns, and the default.
pub const QUEUED_LIMIT_MAX: usize = 1_000;
pub const QUEUED_LIMIT_DEFAULT: usize = 100;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct JobsQuery {
    /// Only jobs this `yun1…` address posted.
    requester: Option<String>,
    /// Only jobs in this status: `open`, `cancelled` or `settled`.
    status: Option<JobStatus>,
    /// At most this many (default 50, at most 500).
    limit: Option<usize>,
    /// Start after this job id (the previous page's `next_after`).
    after: Option<String>,
}

/// The job id a `J` key body holds.
fn job_id(body: &[u8]) -> Option<JobId> {
    body.try_into().ok().map(yun_types::Hash32)
}

fn job_summary(id: JobId, job: Job) -> JobSummaryView {
    JobSummaryView {
        id,
        requester: job.requester,
        status: job.status,
        posted_height: job.posted_height,
        deadline_height: job.spec.deadline_height,
        bid_per_mfuel: job.spec.bid_per_mfuel,
        tasks: job.spec.tasks.len() as u32,
        tasks_open: job.tasks_open,
        tasks_verified: job.tasks_verified,
        tasks_failed: job.tasks_failed,
        escrow: job.escrow,
        spent: job.spent,
    }
}

/// Jobs in id order, filtered by requester and status, a bounded page at a time.
#[utoipa::path(get, path = "/v1/jobs", params(JobsQuery),
    responses((status = 200, body = JobsResponse), (status = 400, body = ErrorResponse),
        (status = 503, body = ErrorResponse)))]
pub(crate) async fn get_jobs(
    State(s): State<ApiState>,
    q: Result<Query<JobsQuery>, QueryRejection>,
) -> Result<Json<JobsResponse>, ApiError> {
    let Query(q) = q.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let limit = q
        .limit
        .unwrap_or(JOBS_LIMIT_DEFAULT)
        .clamp(1, JOBS_LIMIT_MAX);
    let requester = q.requester.as_deref().map(parse_address).transpose()?;
    let after = q.after.as_deref().map(parse_hash).transpose()?;
    read_state(&s, move |state, height| {
        let (jobs, cursor) = page_after(
            state,
            TAG_JOB,
            after.as_ref().map(|a| a.as_bytes().as_slice()),
            limit,
            JOBS_SCAN_MAX,
            |body, value| {
                let job: Job = yun_state::market::decode(value);
                let wanted = requester.is_none_or(|r| job.requester == r)
                    && q.status.is_none_or(|st| job.status == st);
                let id = job_id(body)?;
                wanted.then(|| job_summary(id, job))
            },
        );
        Ok(Json(JobsResponse {
            height,
            jobs,
            next_after: cursor.and_then(|c| job_id(&c)),
        }))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct QueuedQuery {
    /// At most this many (default 100, at most 1,000).
    limit: Option<usize>,
    /// Start after this task, as `JOB:INDEX` (the previous page's `next_after`).
    after: Option<String>,
}

/// Parses a `JOB:INDEX` cursor.
fn parse_task_ref(s: &str) -> Result<TaskRef, ApiError> {
    let bad = || {
        api_err(
            ApiErrorKind::BadParameter,
            format!("`{s}` is not a task: write JOB:INDEX (64 hex digits, a colon, a number)"),
        )
    };
    let (job, index) = s.split_once(':').ok_or_else(bad)?;
    Ok(TaskRef {
        job: parse_hash(job)?,
        index: index.parse().map_err(|_| bad())?,
    })
}

/// Tasks waiting in the matching queue for more replicas, in (job, index) order, with their
/// job's bid.
#[utoipa::path(get, path = "/v1/tasks/queued", params(QueuedQuery),
    responses((status = 200, body = QueuedTasksResponse), (status = 400, body = ErrorResponse),
        (status = 503, body = ErrorResponse)))]
pub(crate) async fn get_queued_tasks(
    State(s): State<ApiState>,
    q: Result<Query<QueuedQuery>, QueryRejection>,
) -> Result<Json<QueuedTasksResponse>, ApiError> {
    let Query(q) = q.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let limit = q
        .limit
        .unwrap_or(QUEUED_LIMIT_DEFAULT)
        .clamp(1, QUEUED_LIMIT_MAX);
    let after = q.after.as_deref().map(parse_task_ref).transpose()?;
    read_state(&s, move |state, height| {
        let after_body = after.map(|t| [&t.job.as_bytes()[..], &t.index.to_be_bytes()].concat());
        // One job record serves all its queued tasks on the page.
        let mut last_job: Option<(JobId, Job)> = None;
        let (tasks, cursor) = page_after(
            state,
            TAG_QUEUE,
            after_body.as_deref(),
            limit,
            limit,
            |body, _| {
                let t = task_ref_of_tail(body);
                if last_job.as_ref().is_none_or(|(id, _)| *id != t.job) {
                    last_job = Some((t.job, state.job(&t.job)?));
                }
                let (_, job) = last_job.as_ref()?;
                let task = state.task(&t)?;
                Some(QueuedTaskView {
                    job: t.job,
                    index: t.index,
                    requester: job.requester,
                    bid_per_mfuel: job.spec.bid_per_mfuel,
                    replicas_wanted: task.replicas_wanted,
                    replicas_live: task.live_replicas() as u32,
                    posted_height: job.posted_height,
                })
            },
        );
        Ok(Json(QueuedTasksResponse {
            height,
            queue_tasks: state.market().queue_tasks,
            tasks,
            next_after: cursor.map(|c| {
                let t = task_ref_of_tail(&c);
                format!("{}:{}", t.job, t.index)
            }),
        }))
    })
    .await
}
