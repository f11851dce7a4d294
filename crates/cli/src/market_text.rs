//! Text output of the market commands: readable lines and tables over the API's views.

use yun_types::api::*;
use yun_types::market::{Label, Verification};

const MIB: u64 = 1024 * 1024;

fn mib(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn bps(v: u32) -> String {
    format!("{}.{:02} %", v / 100, v % 100)
}

fn labels(l: &[Label]) -> String {
    if l.is_empty() {
        return "-".into();
    }
    l.iter()
        .map(|l| format!("{}={}", l.key.0, l.value.0))
        .collect::<Vec<_>>()
        .join(", ")
}

fn provider_status(s: &ProviderStatus) -> String {
    match s {
        ProviderStatus::Active => "active".into(),
        ProviderStatus::Paused => "paused".into(),
        ProviderStatus::Exiting { release_height } => {
            format!("exiting (bond returns at height {release_height})")
        }
    }
}

pub fn verification(v: &Verification) -> String {
    match v {
        Verification::None => "none".into(),
        Verification::Replicate { k, quorum } => format!("k={k},q={quorum}"),
        Verification::Adaptive { target_error_ppm } => {
            format!("adaptive (target error {target_error_ppm} ppm)")
        }
    }
}

pub fn provider(p: &ProviderView) -> String {
    let last_paid = if p.provider.last_paid_height == 0 {
        "never".to_string()
    } else {
        format!("height {}", p.provider.last_paid_height)
    };
    format!(
        "address:     {}\n\
         status:      {}\n\
         slots:       {} ({} busy, {} free)\n\
         memory:      {} per slot\n\
         storage:     {}\n\
         ask:         {} per Mfuel\n\
         labels:      {}\n\
         endpoint:    {}\n\
         engine:      {} (class hash)\n\
         bond:        {}\n\
         reputation:  {} (streak {})\n\
         verified:    {} tasks, {} fuel\n\
         earned:      {}\n\
         slashed:     {}\n\
         last paid:   {last_paid}\n\
         registered:  height {}",
        p.address,
        provider_status(&p.provider.status),
        p.provider.spec.slots,
        p.provider.tasks_in_flight,
        p.free_slots,
        mib(p.provider.spec.memory_bytes_per_slot),
        mib(p.provider.spec.storage_bytes),
        p.provider.spec.ask_per_mfuel,
        labels(&p.provider.spec.labels),
        p.provider.spec.endpoint.0,
        p.provider.spec.engine_class,
        p.provider.bond,
        p.provider.reputation,
        p.provider.streak,
        p.provider.tasks_verified,
        p.provider.fuel_verified,
        p.provider.earned,
        p.provider.slashed,
        p.provider.registered_height,
    )
}

pub fn providers(r: &ProvidersResponse) -> String {
    if r.providers.is_empty() {
        return format!("no providers (height {})", r.height);
    }
    let mut out = format!(
        "{:<62} {:<8} {:>5} {:>5} {:>10} {:>10} {:>14} {:>6}",
        "ADDRESS", "STATUS", "SLOTS", "BUSY", "MEM/SLOT", "ASK", "BOND", "REP"
    );
    for p in &r.providers {
        let status = match p.provider.status {
            ProviderStatus::Active => "active",
            ProviderStatus::Paused => "paused",
            ProviderStatus::Exiting { .. } => "exiting",
        };
        out += &format!(
            "\n{:<62} {:<8} {:>5} {:>5} {:>10} {:>10} {:>14} {:>6}",
            p.address.to_string(),
            status,
            p.provider.spec.slots,
            p.provider.tasks_in_flight,
            mib(p.provider.spec.memory_bytes_per_slot),
            p.provider.spec.ask_per_mfuel.to_string(),
            p.provider.bond.to_string(),
            p.provider.reputation
        );
    }
    if let Some(next) = &r.next_after {
        out += &format!("\n(more: --after {next})");
    }
    out
}

pub fn jobs(r: &JobsResponse) -> String {
    let mut out = if r.jobs.is_empty() {
        format!("no jobs on this page (height {})", r.height)
    } else {
        format!(
            "{:<64} {:<9} {:>6} {:>9} {:>6} {:>10} {:>14} {:>14}",
            "JOB", "STATUS", "TASKS", "VERIFIED", "FAILED", "POSTED", "BID/MFUEL", "ESCROW"
        )
    };
    for j in &r.jobs {
        let status = match j.status {
            JobStatus::Open => "open",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Settled => "settled",
        };
        out += &format!(
            "\n{:<64} {:<9} {:>6} {:>9} {:>6} {:>10} {:>14} {:>14}",
            j.id.to_string(),
            status,
            j.tasks,
            j.tasks_verified,
            j.tasks_failed,
            j.posted_height,
            j.bid_per_mfuel.to_string(),
            j.escrow.to_string()
        );
    }
    if let Some(next) = &r.next_after {
        out += &format!("\n(more: --after {next})");
    }
    out
}

pub fn queued_tasks(r: &QueuedTasksResponse) -> String {
    if r.tasks.is_empty() {
        return format!("no tasks wait for replicas (height {})", r.height);
    }
    let mut out = format!(
        "{} tasks wait for replicas (height {})\n{:<64} {:>5} {:>14} {:>7} {:>6}",
        r.queue_tasks, r.height, "JOB", "TASK", "BID/MFUEL", "WANTED", "LIVE"
    );
    for t in &r.tasks {
        out += &format!(
            "\n{:<64} {:>5} {:>14} {:>7} {:>6}",
            t.job.to_string(),
            t.index,
            t.bid_per_mfuel.to_string(),
            t.replicas_wanted,
            t.replicas_live
        );
    }
    if let Some(next) = &r.next_after {
        out += &format!("\n(more: --after {next})");
    }
    out
}

pub fn assignments(r: &AssignmentsResponse) -> String {
    if r.assignments.is_empty() {
        return format!("{} holds no tasks (height {})", r.provider, r.height);
    }
    let mut out = format!(
        "{:<64} {:>5} {:<10} {:>9} {:>14} {:>10}",
        "JOB", "TASK", "STATE", "DEADLINE", "FUEL", "MEMORY"
    );
    for a in &r.assignments {
        out += &format!(
            "\n{:<64} {:>5} {:<10} {:>9} {:>14} {:>10}",
            a.job.to_string(),
            a.index,
            a.state.name(),
            a.deadline.map_or("-".to_string(), |d| d.to_string()),
            a.fuel_per_task,
            mib(a.memory_bytes_per_task)
        );
    }
    out
}

pub fn job_status(j: &JobResponse) -> String {
    let cancelled = j
        .job
        .cancelled_height
        .map(|h| format!(", cancelled at height {h}"))
        .unwrap_or_default();
    match (j.job.status, j.job.settled_height) {
        (JobStatus::Open, _) => "open".into(),
        (JobStatus::Cancelled, _) => format!("cancelled (running tasks finishing){cancelled}"),
        (JobStatus::Settled, Some(h)) => format!("settled at height {h}{cancelled}"),
        (JobStatus::Settled, None) => format!("settled{cancelled}"),
    }
}

fn phase(p: &TaskPhase) -> String {
    match p {
        TaskPhase::Open => "open".into(),
        TaskPhase::Verified { verdict } => format!("verified ({} fuel)", verdict.fuel_used),
        TaskPhase::Failed { reason } => format!("failed: {reason:?}").to_lowercase(),
    }
}

fn replica(r: &Replica) -> String {
    let deadline = r
        .state
        .deadline()
        .map_or(String::new(), |d| format!(" by {d}"));
    format!("{} {}{deadline}", r.provider, r.state.name())
}

pub fn job(j: &JobResponse) -> String {
    let s = &j.job.spec;
    let mut out = format!(
        "job:        {}\n\
         requester:  {}\n\
         status:     {} (posted at height {})\n\
         tasks:      {} ({} open, {} verified, {} failed)\n\
         program:    {} ({} bytes)\n\
         per task:   {} fuel, {} memory, verification {}\n\
         bid:        {} per Mfuel, deadline height {}\n\
         labels:     {}\n\
         escrow:     {} locked, {} spent, {} refunded",
        j.id,
        j.job.requester,
        job_status(j),
        j.job.posted_height,
        match &j.reduce {
            Some(_) => format!("{} + reduce", s.tasks.len()),
            None => s.tasks.len().to_string(),
        },
        j.job.tasks_open,
        j.job.tasks_verified,
        j.job.tasks_failed,
        s.program_hash,
        s.program_bytes,
        s.fuel_per_task,
        mib(s.memory_bytes_per_task),
        verification(&s.verification),
        s.bid_per_mfuel,
        s.deadline_height,
        labels(&s.required_labels),
        j.job.escrow,
        j.job.spent,
        j.job.refunded,
    );
    out += &format!("\n\n{:>5}  {:<24} REPLICAS", "TASK", "PHASE");
    for t in &j.tasks {
        let replicas = if t.task.replicas.is_empty() {
            "-".to_string()
        } else {
            t.task
                .replicas
                .iter()
                .map(replica)
                .collect::<Vec<_>>()
                .join("; ")
        };
        out += &format!(
            "\n{:>5}  {:<24} {replicas} ({} wanted)",
            t.index,
            phase(&t.task.phase),
            t.task.replicas_wanted
        );
    }
    out + &reduce(j)
}

/// The reduce step's lines of `job status`: waiting for the maps, or its task and output.
fn reduce(j: &JobResponse) -> String {
    let Some(spec) = &j.job.spec.reduce else {
        return String::new();
    };
    let program = format!(
        "program {} ({} bytes)",
        spec.program_hash, spec.program_bytes
    );
    let Some(r) = &j.reduce else {
        let when = if j.job.status == JobStatus::Settled {
            "not run: no map task produced an output"
        } else {
            "runs on the network once every map task has ended"
        };
        return format!("\n\nreduce:     {program}, {when}");
    };
    let replicas = if r.task.replicas.is_empty() {
        "-".to_string()
    } else {
        r.task
            .replicas
            .iter()
            .map(replica)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = format!(
        "\n\nreduce:     {program}, task {} over {} map outputs\n{:>5}  {:<24} {replicas} ({} wanted)",
        r.index,
        r.inputs.len(),
        r.index,
        phase(&r.task.phase),
        r.task.replicas_wanted
    );
    if let TaskPhase::Verified { verdict } = r.task.phase {
        out += &format!("\nreduce output: {}", verdict.output_digest);
    }
    out
}

/// A constraint's name as a short phrase.
fn constraint(name: &str) -> &str {
    match name {
        "active_and_bonded" => "inactive or unbonded",
        "memory" => "memory",
        "labels" => "labels",
        "ask_at_most_bid" => "ask above bid",
        "distinct_from_replicas_and_requester" => "already on the task or the requester",
        "free_slot" => "no free slot",
        other => other,
    }
}

pub fn why(w: &JobWhyResponse) -> String {
    if w.tasks.is_empty() {
        return format!(
            "job {}: no task is waiting or failed (every task is verified)",
            w.job
        );
    }
    let mut out = format!(
        "job {} at height {}: {} task(s) unfinished or failed",
        w.job,
        w.height,
        w.tasks.len()
    );
    for t in &w.tasks {
        out += &format!(
            "\ntask {}: {} (replicas {}/{})",
            t.index,
            t.reason.describe(),
            t.replicas_live,
            t.replicas_wanted
        );
        let excluded: Vec<String> = t
            .excluded
            .iter()
            .filter(|e| e.providers > 0)
            .map(|e| format!("{} {}", constraint(&e.constraint), e.providers))
            .collect();
        if !excluded.is_empty() {
            out += &format!("; excluded: {}", excluded.join(", "));
        }
    }
    out
}

pub fn market(m: &MarketResponse) -> String {
    let storage = m.price_index.storage_per_mib_epoch.map_or_else(
        || m.price_index.note.clone(),
        |p| format!("{p} per MiB-epoch"),
    );
    let clearing = if m.recent_clearing.is_empty() {
        "none yet".to_string()
    } else {
        m.recent_clearing
            .iter()
            .rev()
            .take(8)
            .map(|c| format!("{} at {}", c.price_per_mfuel, c.height))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let p = &m.params;
    format!(
        "height:          {}\n\
         price index:     compute {} per Mfuel; storage {storage}\n\
         slots:           {} total, {} busy (utilization {})\n\
         queue:           {} task(s) waiting for replicas\n\
         recent clearing: {clearing}\n\
         parameters:      bond min {}, unbonding {} blocks, commit/reveal windows {}/{} blocks,\n\
         \x20                price floor {}, target utilization {}, step 1/{} per block,\n\
         \x20                slash withheld reveal {} / silent {}\n\
         governed labels: {}\n\
         engine classes:  {} (the builds a provider may run)",
        m.height,
        m.price_index.compute_per_mfuel,
        m.slots_total,
        m.slots_busy,
        bps(m.utilization_bps),
        m.queue_tasks,
        p.provider_bond_min,
        p.unbonding_blocks,
        p.commit_window_blocks,
        p.reveal_window_blocks,
        p.price_floor_per_mfuel,
        bps(u32::from(p.price_target_utilization_bps)),
        p.price_step_divisor,
        bps(u32::from(p.slash_dissent_bps)),
        bps(u32::from(p.slash_silent_bps)),
        labels(&p.governed_labels),
        engine_classes(&p.engine_classes),
    )
}

fn engine_classes(classes: &[yun_types::Hash32]) -> String {
    if classes.is_empty() {
        return "none: no provider may register".into();
    }
    classes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn requester(r: &RequesterResponse) -> String {
    format!(
        "address:       {}\n\
         jobs posted:   {}\n\
         verified:      {} tasks, {} fuel\n\
         spent:         {}",
        r.address,
        r.stats.jobs_posted,
        r.stats.tasks_verified,
        r.stats.fuel_verified,
        r.stats.spent,
    )
}
