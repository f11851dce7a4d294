//! How many transactions the next proposal may take, and how many the mempool may hold: blocks
//! are sized by the time they take to build, not only by the chain's count limit, so a busy
//! node does not make ever-larger blocks that every validator must then execute before the
//! next one, and the queue in front of them stays a bounded number of blocks long.
//!
//! A validity rule cannot read a clock (every validator must judge a block alike), so the
//! chain keeps its count limit (`block_txs_max`) and this is the proposer's own policy: it
//! measures what its builds cost per transaction and takes what fits its target.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Blocks with fewer transactions than this say little about the cost of one (fixed costs,
/// the root and the seed, dominate them): they are not measured.
pub const BUDGET_SAMPLE_TXS_MIN: usize = 64;

/// A proposal may always take this many, whatever the estimate, so a node whose first
/// measurement was slow (a cold cache) still makes progress and measures again.
pub const BUDGET_TXS_MIN: usize = 256;

/// The cost assumed before anything was measured: 40 µs a transaction, about what a transfer
/// costs to execute and hash into the tree on one core of the reference machine.
const INITIAL_NS_PER_TX: u64 = 40_000;

/// Each new measurement moves the estimate by a quarter of the difference: quick enough to
/// follow a change of load within a few blocks, steady enough that one slow block (a page
/// fault, a compaction) does not halve the next.
const SMOOTHING_SHIFT: u32 = 2;

/// How many recent finalized blocks the throughput is measured over.
pub const THROUGHPUT_WINDOW_BLOCKS: usize = 32;

/// The backlog never falls below this many full blocks, so the proposer always finds a full
/// block waiting, whatever the measured throughput (which a backlog too short would lower).
pub const BACKLOG_BLOCKS_MIN: usize = 2;

/// The proposer's measured cost per transaction, the chain's measured throughput, and the
/// limits they imply.
#[derive(Debug)]
pub struct BlockBudget {
    /// How long building (executing and hashing) one block should take.
    build_target: Duration,
    /// How long a transaction admitted now should wait for its block, at the measured
    /// throughput: the mempool refuses more than that much.
    backlog_wait: Duration,
    ns_per_tx: Mutex<u64>,
    /// (timestamp in ms, transactions) of the last finalized blocks, oldest first. Block
    /// timestamps, not this host's clock: the bound is then the same in a simulation.
    finalized: Mutex<VecDeque<(u64, usize)>>,
}

impl BlockBudget {
    pub fn new(build_target: Duration, backlog_wait: Duration) -> Self {
        BlockBudget {
            build_target,
            backlog_wait,
            ns_per_tx: Mutex::new(INITIAL_NS_PER_TX),
            finalized: Mutex::new(VecDeque::new()),
        }
    }

    /// Records a finalized block: its timestamp and how many transactions it held.
    pub fn record_finalized(&self, timestamp_ms: u64, txs: usize) {
        let mut window = self.finalized.lock().expect("budget lock");
        window.push_back((timestamp_ms, txs));
        while window.len() > THROUGHPUT_WINDOW_BLOCKS {
            window.pop_front();
        }
    }

    /// Transactions finalized per second over the window (after its first block, which
    /// marks the start), if the window spans any time.
    pub fn finalized_txs_per_s(&self) -> Option<u64> {
        let window = self.finalized.lock().expect("budget lock");
        let (first, last) = (window.front()?, window.back()?);
        let span_ms = last.0.checked_sub(first.0).filter(|ms| *ms > 0)?;
        let txs: usize = window.iter().skip(1).map(|(_, n)| n).sum();
        Some((txs as u128 * 1_000 / u128::from(span_ms)) as u64)
    }

    /// Records that a build (or an execution) of `txs` transactions took `elapsed`.
    pub fn record(&self, txs: usize, elapsed: Duration) {
        if txs < BUDGET_SAMPLE_TXS_MIN {
            return;
        }
        let sample = u64::try_from(elapsed.as_nanos() / txs as u128).unwrap_or(u64::MAX);
        let mut estimate = self.ns_per_tx.lock().expect("budget lock");
        let (old, new) = (*estimate as i128, sample.max(1) as i128);
        *estimate = (old + ((new - old) >> SMOOTHING_SHIFT)).max(1) as u64;
    }

    /// The current estimate of one transaction's build cost.
    pub fn ns_per_tx(&self) -> u64 {
        *self.ns_per_tx.lock().expect("budget lock")
    }

    /// Most transactions the next block should take, within the chain's `chain_txs_max`.
    pub fn block_txs_max(&self, chain_txs_max: usize) -> usize {
        let fit = self.build_target.as_nanos() / u128::from(self.ns_per_tx().max(1));
        usize::try_from(fit)
            .unwrap_or(usize::MAX)
            .max(BUDGET_TXS_MIN)
            .min(chain_txs_max.max(1))
    }

    /// Most transactions the mempool should hold: what finalizes in `backlog_wait` at the
    /// measured throughput, and never less than `BACKLOG_BLOCKS_MIN` full blocks.
    pub fn backlog_txs_max(&self, chain_txs_max: usize) -> usize {
        let floor = self
            .block_txs_max(chain_txs_max)
            .saturating_mul(BACKLOG_BLOCKS_MIN);
        let waits = self.finalized_txs_per_s().map_or(0, |per_s| {
            (u128::from(per_s) * self.backlog_wait.as_millis() / 1_000) as usize
        });
        waits.max(floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_build_shrinks_the_next_block_and_a_fast_one_grows_it() {
        let budget = BlockBudget::new(Duration::from_millis(100), Duration::from_secs(1));
        let start = budget.block_txs_max(20_000);
        assert_eq!(start, 2_500, "100 ms at the initial 40 µs a transaction");
        for _ in 0..60 {
            budget.record(1_000, Duration::from_millis(200));
        }
        assert_eq!(budget.block_txs_max(20_000), 500, "200 µs a transaction");
        assert_eq!(
            budget.backlog_txs_max(20_000),
            1_000,
            "two blocks before any throughput"
        );
        for _ in 0..60 {
            budget.record(10_000, Duration::from_millis(1));
        }
        assert_eq!(budget.block_txs_max(20_000), 20_000, "capped by the chain");
    }

    #[test]
    fn small_blocks_are_not_measured_and_the_floor_holds() {
        let budget = BlockBudget::new(Duration::from_millis(10), Duration::from_secs(1));
        budget.record(10, Duration::from_secs(10));
        assert_eq!(budget.ns_per_tx(), INITIAL_NS_PER_TX);
        for _ in 0..60 {
            budget.record(100, Duration::from_secs(1));
        }
        assert_eq!(budget.block_txs_max(20_000), BUDGET_TXS_MIN);
        assert_eq!(
            budget.block_txs_max(100),
            100,
            "never above the chain's limit"
        );
    }

    #[test]
    fn the_backlog_holds_what_finalizes_in_the_wait_and_never_less_than_two_blocks() {
        let budget = BlockBudget::new(Duration::from_millis(100), Duration::from_millis(1_500));
        assert_eq!(budget.finalized_txs_per_s(), None);
        // 10 blocks of 1,000 transactions, one every 200 ms: 5,000 tx/s after the first.
        for i in 0..10u64 {
            budget.record_finalized(1_000 + i * 200, 1_000);
        }
        assert_eq!(budget.finalized_txs_per_s(), Some(5_000));
        assert_eq!(budget.backlog_txs_max(20_000), 7_500, "1.5 s at 5,000 tx/s");
        // The chain idles: the window empties of transactions and the floor remains.
        for i in 0..THROUGHPUT_WINDOW_BLOCKS as u64 {
            budget.record_finalized(10_000 + i * 1_000, 0);
        }
        assert_eq!(budget.finalized_txs_per_s(), Some(0));
        assert_eq!(budget.backlog_txs_max(20_000), 2 * 2_500);
    }
}
