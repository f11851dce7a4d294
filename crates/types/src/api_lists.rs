//! JSON shapes of the market's list routes: jobs (all, or one requester's, by status) and the
//! tasks waiting for replicas, a bounded page at a time.

use crate::market::JobId;
use crate::market_records::JobStatus;
use crate::{Address, Amount};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One job in a list: who posted it, where it stands and what it may still spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobSummaryView {
    pub id: JobId,
    pub requester: Address,
    pub status: JobStatus,
    pub posted_height: u64,
    /// The last height at which its tasks may still be matched.
    pub deadline_height: u64,
    pub bid_per_mfuel: Amount,
    pub tasks: u32,
    pub tasks_open: u32,
    pub tasks_verified: u32,
    pub tasks_failed: u32,
    /// Locked and not yet paid out or refunded.
    pub escrow: Amount,
    pub spent: Amount,
}

/// `GET /v1/jobs`: jobs in id order that match the filters.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobsResponse {
    pub height: u64,
    pub jobs: Vec<JobSummaryView>,
    /// Pass as `?after=` for the next page; null when no job is left after this page. A page
    /// may hold fewer than `limit` jobs (even none) and still have a next one: each page reads
    /// at most `JOBS_SCAN_MAX` job records, so a filter that matches few jobs stays cheap.
    pub next_after: Option<JobId>,
}

/// One task waiting in the matching queue for more replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueuedTaskView {
    pub job: JobId,
    pub index: u32,
    pub requester: Address,
    pub bid_per_mfuel: Amount,
    /// Replicas the task should have running or done now.
    pub replicas_wanted: u8,
    /// Replicas assigned that have not expired.
    pub replicas_live: u32,
    pub posted_height: u64,
}

/// `GET /v1/tasks/queued`: the matching queue in (job, index) order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueuedTasksResponse {
    pub height: u64,
    /// Tasks in the queue in all (the market's own count).
    pub queue_tasks: u64,
    pub tasks: Vec<QueuedTaskView>,
    /// Pass as `?after=JOB:INDEX` for the next page; null on the last page.
    pub next_after: Option<String>,
}
