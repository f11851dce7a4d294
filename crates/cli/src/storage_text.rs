//! Text rendering of `yun storage …` answers (`--output json` prints the values themselves).

use serde::Serialize;
use std::path::PathBuf;
use yun_types::api_storage::{DealResponse, DealSummaryView};
use yun_types::storage::DealId;
use yun_types::{Address, Amount, Hash32};

/// What `yun storage put` did: the `--output json` answer.
#[derive(Debug, Clone, Serialize)]
pub struct PutReport {
    pub deal: DealId,
    pub root: Hash32,
    /// Bytes stored (the ciphertext's, when encrypted).
    pub size_bytes: u64,
    pub file_bytes: u64,
    pub encrypted: bool,
    pub replicas: u8,
    pub epochs: u32,
    pub bid_per_mib_epoch: Amount,
    /// The worst case locked: replicas × epochs × billed MiB × bid.
    pub escrow_max: Amount,
    pub height: Option<u64>,
}

/// What `yun storage get` did.
#[derive(Debug, Clone, Serialize)]
pub struct GetReport {
    pub deal: DealId,
    pub root: Hash32,
    pub out: PathBuf,
    pub bytes: u64,
    pub encrypted: bool,
    pub sources: Vec<String>,
    pub dropped_sources: Vec<String>,
}

pub fn put(r: &PutReport) -> String {
    let what = if r.encrypted {
        format!(
            "{} bytes of ciphertext ({} bytes encrypted to your key)",
            r.size_bytes, r.file_bytes
        )
    } else {
        format!("{} bytes", r.size_bytes)
    };
    let at = r
        .height
        .map_or(String::new(), |h| format!(" at height {h}"));
    format!(
        "deal {deal} posted{at}\nroot {root}: {what}\n{replicas} replicas × {epochs} epochs at \
         most {bid} per MiB-epoch; escrow locked {escrow} (unspent escrow returns at the end)\n\
         follow it: yun storage deal {deal}\nfetch it:  yun storage get {root}",
        deal = r.deal,
        root = r.root,
        replicas = r.replicas,
        epochs = r.epochs,
        bid = r.bid_per_mib_epoch,
        escrow = r.escrow_max,
    )
}

pub fn get(r: &GetReport) -> String {
    let decrypted = if r.encrypted { ", decrypted" } else { "" };
    let dropped = if r.dropped_sources.is_empty() {
        String::new()
    } else {
        format!(
            "\ndropped (failed or sent bytes that did not verify): {}",
            r.dropped_sources.join(", ")
        )
    };
    format!(
        "{} bytes of {} verified{decrypted} into {} (deal {}, {} sources){dropped}",
        r.bytes,
        r.root,
        r.out.display(),
        r.deal,
        r.sources.len()
    )
}

pub fn deals(owner: &Address, deals: &[DealSummaryView]) -> String {
    if deals.is_empty() {
        return format!("{owner} has no deals: `yun storage put FILE` stores one");
    }
    let mut lines = vec![format!(
        "{:<64}  {:<9}  {:<64}  {:>12}  {:>5}  {:>6}  {:>10}  {:>10}",
        "deal", "status", "root", "bytes", "repl", "epochs", "escrow", "paid"
    )];
    for d in deals {
        lines.push(format!(
            "{:<64}  {:<9}  {:<64}  {:>12}  {:>2}/{:<2}  {:>6}  {:>10}  {:>10}",
            d.id,
            format!("{:?}", d.status).to_lowercase(),
            d.root,
            d.size_bytes,
            d.replicas_live,
            d.replicas,
            d.epochs,
            d.escrow.to_string(),
            d.paid.to_string()
        ));
    }
    lines.join("\n")
}

pub fn deal(d: &DealResponse) -> String {
    let opt = |h: Option<u64>| h.map_or("-".to_string(), |h| h.to_string());
    let mut lines = vec![
        format!("deal {} ({:?}) of {}", d.id, d.status, d.owner),
        format!(
            "root {} · {} bytes{} · {} replicas × {} epochs · bid {} per MiB-epoch",
            d.spec.root,
            d.spec.size_bytes,
            if d.spec.encrypted { " (encrypted)" } else { "" },
            d.spec.replicas,
            d.spec.epochs,
            d.spec.bid_per_mib_epoch
        ),
        format!(
            "escrow {} · paid {} · refunded {} · posted {} · start {} · end {} · epoch {} (window ends {})",
            d.escrow,
            d.paid,
            d.refunded,
            d.posted_height,
            opt(d.start_height),
            opt(d.end_height),
            opt(d.epoch),
            opt(d.window_end_height)
        ),
    ];
    for r in &d.replicas {
        let challenge = r.challenge.as_ref().map_or(String::new(), |c| {
            format!(
                " · challenge epoch {} chunk {} by {}{}",
                c.epoch,
                c.chunk_index,
                c.window_end_height,
                if c.proven { " (proven)" } else { "" }
            )
        });
        lines.push(format!(
            "  #{} {} {:?} at {} · proven epoch {} · epochs paid {} ({}) · misses {} · slashed {}{challenge}",
            r.index,
            r.replica.provider,
            r.replica.state,
            if r.endpoint.0.is_empty() { "-" } else { &r.endpoint.0 },
            opt(r.replica.proven_epoch),
            r.replica.epochs_paid,
            r.replica.paid,
            r.replica.misses_total,
            r.replica.slashed
        ));
    }
    lines.join("\n")
}
