//! How long the proof-of-work faucet's puzzle takes on this machine: the hash rate of
//! `faucet_hash` on one core, the expected solve time at a difficulty (default: the devnet's
//! 5,500,000 expected hashes, `cli::devnet::DEVNET_FAUCET_WORK_HASHES`), and real solves for
//! several accounts, whose times scatter around it (the tries a solve needs are geometric).
//!
//! `cargo bench -p yun-types --bench faucet [-- WORK_HASHES]`

// A benchmark measures wall time and names the machine it ran on (from /proc/cpuinfo).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::time::Instant;
use yun_types::Address;
use yun_types::governance::{faucet_hash, faucet_solve};

const RATE_HASHES: u64 = 8_000_000;
const SOLVES: u64 = 12;

fn machine() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}

fn main() {
    let work: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .unwrap_or(5_500_000);
    println!("machine: {}, one core", machine());
    let address = Address([7u8; 32]);
    let started = Instant::now();
    let mut sink = 0u8;
    for nonce in 0..RATE_HASHES {
        sink ^= faucet_hash("yun-devnet", &address, 3, nonce).0[0];
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = RATE_HASHES as f64 / secs;
    println!(
        "faucet_hash: {RATE_HASHES} hashes in {secs:.2} s = {:.2} M hashes/s (check byte {sink})",
        rate / 1e6
    );
    println!(
        "work_hashes {work}: expected solve time {:.2} s",
        work as f64 / rate
    );
    let mut times = Vec::new();
    for account in 0..SOLVES {
        let address = Address([account as u8; 32]);
        let started = Instant::now();
        let nonce = faucet_solve("yun-devnet", &address, 1, work, 0, u64::MAX, |_| {})
            .expect("a solution exists");
        times.push(started.elapsed().as_secs_f64());
        println!(
            "account {account}: nonce {nonce} in {:.2} s",
            times.last().expect("pushed")
        );
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{SOLVES} solves: mean {mean:.2} s, median {:.2} s, min {:.2} s, max {:.2} s",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
