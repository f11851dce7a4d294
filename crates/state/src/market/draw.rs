//! The weighted random draw that picks a task's providers: each provider's weight (bond and
//! reputation, one share capped), a Fenwick tree to draw from and remove from in O(log n), and
//! the draw's randomness (the block seed, the height and the task).
//!
//! Why these weights. A provider is drawn in proportion to its bond (in thousandths of the
//! minimum bond) times `100 + min(reputation, 100)`: bond is what a provider loses by lying,
//! so capacity bought with bond is capacity at risk; reputation can at most double a weight,
//! so a new honest provider is never far behind and farmed reputation (see
//! `step::pay_agreeing`) buys at most a factor of two. No one's weight may exceed
//! `selection_weight_cap_bps` of the total of the pool a task is drawn from (one engine class
//! of one kind of task; water-filling: the largest are cut to the level that makes them
//! exactly the cap). Nothing a requester or provider sends changes the draw
//! for a given block: the seed is the block's, and the task and height are fixed before.

use super::records::Provider;
use crate::env::BlockEnv;
use yun_types::ChainParams;
use yun_types::market::TaskRef;

/// Reputation above this adds no weight.
pub const REPUTATION_WEIGHT_FULL: u64 = 100;
/// The weight a provider with no reputation starts from (relative to `REPUTATION_WEIGHT_FULL`).
pub const REPUTATION_WEIGHT_BASE: u64 = 100;
/// A bond counts, in thousandths of the minimum bond, at most this much.
const BOND_MILLI_MAX: u128 = 1 << 40;

/// A provider's weight before the cap: bond (thousandths of the minimum, at least 1) ×
/// (100 + reputation up to 100).
pub fn weight(p: &Provider, params: &ChainParams) -> u128 {
    let min = params.market.provider_bond_min.base_units().max(1);
    let bond_milli = (p.bond.base_units().saturating_mul(1_000) / min).clamp(1, BOND_MILLI_MAX);
    bond_milli * u128::from(REPUTATION_WEIGHT_BASE + p.reputation.min(REPUTATION_WEIGHT_FULL))
}

/// Cuts the largest weights so none is more than `cap_bps` of the total. If the cap cannot
/// hold (fewer providers than 10,000 / cap), every weight becomes equal.
pub fn cap_weights(w: &mut [u128], cap_bps: u16) {
    let cap = u128::from(cap_bps);
    if cap >= 10_000 || w.is_empty() {
        return;
    }
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[b].cmp(&w[a]).then(a.cmp(&b)));
    let mut rest: u128 = w.iter().sum();
    for (k, &i) in order.iter().enumerate() {
        // The k largest are cut to c, with c = cap × (k × c + rest) / 10,000.
        let Some(den) = 10_000u128.checked_sub(k as u128 * cap).filter(|d| *d > 0) else {
            break;
        };
        let c = cap * rest / den;
        if w[i] <= c {
            for &j in &order[..k] {
                w[j] = c.max(1);
            }
            return;
        }
        rest -= w[i];
    }
    w.fill(1);
}

/// A Fenwick (binary indexed) tree of weights: draw a position with probability proportional
/// to its weight, remove it, put it back, each in O(log n).
#[derive(Debug)]
pub struct Pool {
    tree: Vec<u128>,
    weights: Vec<u128>,
    total: u128,
    live: usize,
}

impl Pool {
    pub fn new(weights: Vec<u128>) -> Pool {
        let n = weights.len();
        let mut tree = vec![0u128; n + 1];
        for (i, w) in weights.iter().enumerate() {
            tree[i + 1] += w;
            let parent = (i + 1) + ((i + 1) & (i + 1).wrapping_neg());
            if parent <= n {
                let v = tree[i + 1];
                tree[parent] += v;
            }
        }
        Pool {
            total: weights.iter().sum(),
            live: weights.iter().filter(|w| **w > 0).count(),
            tree,
            weights,
        }
    }

    pub fn total(&self) -> u128 {
        self.total
    }

    /// Positions with a weight.
    pub fn live(&self) -> usize {
        self.live
    }

    fn add(&mut self, pos: usize, w: u128, remove: bool) {
        let mut i = pos + 1;
        while i < self.tree.len() {
            if remove {
                self.tree[i] -= w;
            } else {
                self.tree[i] += w;
            }
            i += i & i.wrapping_neg();
        }
    }

    /// Takes `pos` out of the draw; returns its weight (0 if it was out already).
    pub fn remove(&mut self, pos: usize) -> u128 {
        let w = std::mem::take(&mut self.weights[pos]);
        if w > 0 {
            self.add(pos, w, true);
            self.total -= w;
            self.live -= 1;
        }
        w
    }

    /// Puts `pos` back with weight `w` (it must be out).
    pub fn restore(&mut self, pos: usize, w: u128) {
        if w == 0 || self.weights[pos] != 0 {
            return;
        }
        self.weights[pos] = w;
        self.add(pos, w, false);
        self.total += w;
        self.live += 1;
    }

    /// The position whose cumulative weight range holds `x` (`x < total`).
    pub fn find(&self, mut x: u128) -> usize {
        let n = self.tree.len() - 1;
        let mut pos = 0usize;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= x {
                pos = next;
                x -= self.tree[next];
            }
            step >>= 1;
        }
        pos
    }
}

/// The `i`-th draw for task `t` in this block: uniform in `0..total` (blake3 of the seed, the
/// height, the task and `i`; the modulo bias is below 2^-28 for any total a chain can hold).
pub fn draw(env: &BlockEnv, t: &TaskRef, i: u32, total: u128) -> u128 {
    uniform("yun/market/select/v1", env, t, i, total)
}

/// The `i`-th draw of an engine class for task `t`'s first replicas in this block: uniform in
/// `0..total`, from its own domain so it never repeats a provider draw.
pub fn draw_class(env: &BlockEnv, t: &TaskRef, i: u32, total: u128) -> u128 {
    uniform("yun/market/select-class/v1", env, t, i, total)
}

fn uniform(domain: &str, env: &BlockEnv, t: &TaskRef, i: u32, total: u128) -> u128 {
    let mut h = blake3::Hasher::new_derive_key(domain);
    h.update(env.seed.as_bytes());
    h.update(&env.height.to_be_bytes());
    h.update(t.job.as_bytes());
    h.update(&t.index.to_be_bytes());
    h.update(&i.to_be_bytes());
    let x = u128::from_le_bytes(h.finalize().as_bytes()[..16].try_into().expect("16 bytes"));
    x % total.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_cuts_the_largest_to_exactly_the_cap() {
        let mut w = vec![1_000, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10];
        cap_weights(&mut w, 2_000);
        let total: u128 = w.iter().sum();
        assert!(w[0] * 10_000 <= 2_000 * total + 10_000, "{w:?}");
        assert!(w[0] > 10);
        let mut few = vec![5, 1, 1];
        cap_weights(&mut few, 1_000);
        assert_eq!(few, vec![1, 1, 1]);
    }

    #[test]
    fn the_pool_draws_by_weight_and_removes() {
        let mut p = Pool::new(vec![1, 0, 3, 2]);
        assert_eq!(p.total(), 6);
        assert_eq!(p.find(0), 0);
        assert_eq!(p.find(1), 2);
        assert_eq!(p.find(3), 2);
        assert_eq!(p.find(4), 3);
        assert_eq!(p.remove(2), 3);
        assert_eq!(p.find(1), 3);
        assert_eq!(p.live(), 2);
        p.restore(2, 3);
        assert_eq!(p.find(3), 2);
        assert_eq!(p.total(), 6);
    }
}
