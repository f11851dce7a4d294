//! A proposer's wait for the finalized block being committed, when its mempool makes a
//! bigger block on the new head worth more than a sooner one on the committing block.

use crate::state::NodeState;
use commonware_runtime::Clock;
use std::time::Duration;

/// Longest a proposer waits for a finalized block's commit before building without it.
pub const COMMIT_WAIT_MAX: Duration = Duration::from_secs(1);

/// Waits (at most [`COMMIT_WAIT_MAX`]) for a finalized block being committed to become the
/// head, when the mempool holds at least half a budgeted block (counting the committing
/// block's own transactions, which leave the mempool only once it lands). A proposal could be
/// built on that block as a pending parent meanwhile, and with a lighter mempool it is (a
/// block sooner is worth more than a bigger one). Under load, building during the commit only
/// makes blocks sooner and smaller, and each block has a fixed cost, so the node would
/// finalize fewer transactions per second.
pub(crate) async fn await_commit<E: Clock>(state: &NodeState, clock: &E) {
    // `wait_for` looks at the current head first: a commit that landed since the check below
    // returns at once.
    let mut heads = state.head.subscribe();
    let Some(height) = state.commit_worth_awaiting() else {
        return;
    };
    let started = clock.current();
    let landed = heads.wait_for(|h| h.height >= height);
    futures::pin_mut!(landed);
    let waited = clock.sleep(COMMIT_WAIT_MAX);
    futures::pin_mut!(waited);
    futures::future::select(landed, waited).await;
    let took = clock.current().duration_since(started).unwrap_or_default();
    crate::metrics::observe(&state.metrics.stages.commit_wait_seconds, took);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_budget::BUDGET_TXS_MIN;
    use crate::state::race::{first_transfer, node_with_floor_budget};
    use commonware_runtime::{Runner, Spawner, Supervisor, deterministic};
    use std::sync::Arc;

    /// A node with half a budgeted block in its mempool but one transaction, and that one.
    fn one_short_of_half_a_block() -> (Arc<NodeState>, yun_types::SignedTx) {
        let names: Vec<String> = (0..BUDGET_TXS_MIN / 2).map(|i| format!("s{i}")).collect();
        let funded: Vec<(&str, u128)> = names.iter().map(|n| (n.as_str(), 1_000_000)).collect();
        let node = Arc::new(node_with_floor_budget(&funded));
        let (last, first) = names.split_last().unwrap();
        let txs: Vec<_> = first.iter().map(|n| first_transfer(n, 10)).collect();
        assert!(node.submit(txs).iter().all(Result::is_ok));
        (node, first_transfer(last, 10))
    }

    /// How long `await_commit` took on a deterministic clock, after `during` ran beside it.
    fn waited<F>(node: Arc<NodeState>, during: F) -> Duration
    where
        F: FnOnce(deterministic::Context, Arc<NodeState>) + Send + 'static,
    {
        deterministic::Runner::default().start(|ctx| async move {
            during(ctx.child("beside"), node.clone());
            let start = ctx.current();
            await_commit(&node, &ctx).await;
            ctx.current().duration_since(start).unwrap()
        })
    }

    /// Publishes a head at `height` after `after`.
    fn head_lands(
        height: u64,
        after: Duration,
    ) -> impl FnOnce(deterministic::Context, Arc<NodeState>) + Send {
        move |ctx, node| {
            ctx.spawn(move |ctx| async move {
                ctx.sleep(after).await;
                let mut head = node.head();
                head.height = height;
                node.head.send_replace(head);
            });
        }
    }

    #[test]
    fn a_proposer_waits_for_a_commit_only_with_half_a_block_waiting() {
        let (node, last) = one_short_of_half_a_block();
        assert_eq!(node.commit_worth_awaiting(), None, "nothing is committing");
        *node.committing.lock().unwrap() = Some(7);
        assert_eq!(
            node.commit_worth_awaiting(),
            None,
            "one short of half a block: build at once"
        );
        assert!(node.submit(vec![last])[0].is_ok());
        assert_eq!(node.commit_worth_awaiting(), Some(7), "half a block waits");
        *node.committing.lock().unwrap() = None;
        assert_eq!(node.commit_worth_awaiting(), None, "the commit landed");
    }

    #[test]
    fn half_a_block_is_half_of_what_the_chain_lets_a_block_take() {
        let names: Vec<String> = (0..5).map(|i| format!("sender{i}")).collect();
        let funded: Vec<(&str, u128)> = names.iter().map(|n| (n.as_str(), 1_000_000)).collect();
        let mut genesis = yun_state::scenario::genesis_with(&funded);
        genesis.params.block_txs_max = 10;
        let node = crate::state::race::node_on_genesis(genesis);
        *node.committing.lock().unwrap() = Some(7);
        for (i, name) in names.iter().enumerate() {
            assert_eq!(
                node.commit_worth_awaiting(),
                None,
                "{i} of a 10-transaction block"
            );
            assert!(node.submit(vec![first_transfer(name, 10)])[0].is_ok());
        }
        assert_eq!(
            node.commit_worth_awaiting(),
            Some(7),
            "5 is half of the chain's 10, far below the node's own budget"
        );
    }

    #[test]
    fn the_wait_ends_when_the_committing_block_becomes_the_head() {
        let (node, last) = one_short_of_half_a_block();
        assert!(node.submit(vec![last])[0].is_ok());
        *node.committing.lock().unwrap() = Some(7);
        let took = waited(node, head_lands(7, Duration::from_millis(120)));
        // The simulated clock moves in small cycles: the wake comes within a few of them.
        assert!(
            took >= Duration::from_millis(120) && took < Duration::from_millis(200),
            "woke {took:?} after the wait began, not when the head arrived"
        );
    }

    #[test]
    fn a_commit_that_never_lands_is_waited_for_at_most_the_limit() {
        let (node, last) = one_short_of_half_a_block();
        assert!(node.submit(vec![last])[0].is_ok());
        *node.committing.lock().unwrap() = Some(7);
        // A head below the committing height does not end the wait.
        let took = waited(node.clone(), head_lands(6, Duration::from_millis(120)));
        assert_eq!(took, COMMIT_WAIT_MAX);
        let timed = &node.metrics.stages.commit_wait_seconds;
        assert_eq!(timed.count(), 1, "the wait is timed on the runtime's clock");
        assert_eq!(timed.sum(), COMMIT_WAIT_MAX.as_secs_f64());
    }

    #[test]
    fn a_light_mempool_or_no_commit_does_not_wait_at_all() {
        let (node, _) = one_short_of_half_a_block();
        *node.committing.lock().unwrap() = Some(7);
        let took = waited(node.clone(), head_lands(7, Duration::from_millis(120)));
        assert_eq!(took, Duration::ZERO, "one short of half a block");
        *node.committing.lock().unwrap() = None;
        let took = waited(node.clone(), head_lands(7, Duration::from_millis(120)));
        assert_eq!(took, Duration::ZERO, "nothing committing");
        let timed = &node.metrics.stages.commit_wait_seconds;
        assert_eq!(
            timed.count(),
            0,
            "a proposal that did not wait is not timed"
        );
    }
}
