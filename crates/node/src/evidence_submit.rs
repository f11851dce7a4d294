//! A node's duty to report: the loop that turns the equivocations its `EvidencePool` holds
//! into fee-free `ReportEquivocation` transactions, signed with its own key, until the chain
//! has used each one.

use std::sync::Arc;
use std::time::Duration;
use yun_state::staking;
use yun_types::TxRejection;
use yun_types::evidence::Equivocation;

/// How often a node turns the evidence it holds into transactions.
pub const EVIDENCE_SUBMIT_INTERVAL: Duration = Duration::from_millis(500);
/// How many blocks a submitted report stays valid; one that was not included by then is
/// submitted again (the evidence stays in the pool until the chain has used it).
pub const EVIDENCE_TX_LIFETIME_BLOCKS: u64 = 100;

/// A node's loop that submits pending evidence as fee-free `ReportEquivocation`
/// transactions (reporting needs no balance: the chain takes a report with no fee if it
/// slashes). Never returns.
pub async fn submit_loop<E: commonware_runtime::Clock>(
    clock: E,
    state: Arc<crate::state::NodeState>,
    key: commonware_cryptography::ed25519::PrivateKey,
) {
    loop {
        clock.sleep(EVIDENCE_SUBMIT_INTERVAL).await;
        submit_pending(&state, &key);
    }
}

/// One round: evidence the chain has used (or can never use) leaves the pool; evidence that
/// would slash and has no report pending in the mempool is submitted. Returns how many
/// reports were accepted.
pub fn submit_pending(
    state: &crate::state::NodeState,
    key: &commonware_cryptography::ed25519::PrivateKey,
) -> usize {
    use commonware_cryptography::Signer as _;
    let evidence = state.evidence.pending();
    if evidence.is_empty() {
        return 0;
    }
    let Ok(snapshot) = state.store.snapshot() else {
        return 0;
    };
    let view = yun_state::Overlay::new(&snapshot);
    let params = view.params();
    let current_epoch = staking::epoch_of_height(&params.staking, snapshot.head.height);
    let due: Vec<Equivocation> = evidence
        .into_iter()
        .filter(|e| match staking::check_evidence(&view, e) {
            Ok(_) => e.claim().is_some_and(|c| {
                !state
                    .mempool
                    .lock()
                    .expect("mempool lock")
                    .holds_free_report(c)
            }),
            Err(reason) => {
                if gone_for_good(&view, e, reason, current_epoch) {
                    tracing::info!(%reason, "equivocation evidence done with");
                    state.evidence.remove(e);
                }
                false
            }
        })
        .collect();
    if due.is_empty() {
        return 0;
    }
    let me = yun_types::Address::from_public_key(&key.public_key());
    let (mut nonce, _) = state
        .mempool
        .lock()
        .expect("mempool lock")
        .pending_nonce(&me, view.account(&me).nonce);
    let lifetime = EVIDENCE_TX_LIFETIME_BLOCKS.min(params.expiry_blocks_max);
    let txs: Vec<_> = due
        .into_iter()
        .map(|evidence| {
            let tx = yun_types::Tx {
                chain_id: state.chain_id().to_string(),
                nonce,
                fee: yun_types::Amount::ZERO,
                expires_at_height: snapshot.head.height + lifetime,
                action: yun_types::Action::ReportEquivocation { evidence },
            };
            nonce += 1;
            tx.sign(key)
        })
        .collect();
    let mut accepted = 0;
    for result in state.submit(txs) {
        match result {
            Ok(id) => {
                accepted += 1;
                tracing::info!(%id, "submitted equivocation evidence");
            }
            Err(reason) => tracing::warn!(%reason, "equivocation evidence refused; retrying"),
        }
    }
    accepted
}

/// Whether evidence the chain refuses now will be refused for ever: it is used, names no
/// validator, or does not verify against a set the chain holds (or held and pruned). A set
/// not stored yet (this node is behind) may still come: such evidence is kept.
fn gone_for_good<R: yun_state::StateReader + ?Sized>(
    view: &yun_state::Overlay<'_, R>,
    evidence: &Equivocation,
    reason: TxRejection,
    current_epoch: u64,
) -> bool {
    if reason != TxRejection::EvidenceInvalid {
        return true;
    }
    match evidence.epoch() {
        None => true,
        Some(epoch) => {
            !view.consensus_set(epoch).is_empty()
                || epoch.saturating_add(staking::EVIDENCE_EPOCHS_KEPT) <= current_epoch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{EVIDENCE_FILE, EvidencePool};
    use crate::state::{BlockTiming, NodeState};
    use commonware_cryptography::Signer as _;
    use yun_state::BlockDraft;
    use yun_state::scenario::{SCENARIO_CHAIN_ID, addr, genesis_with, key_of, seed_signer_of};
    use yun_store::Store;
    use yun_types::SignedTx;
    use yun_types::evidence::sign_conflicting_notarize;

    /// Finalizes a block of `txs` on `node`'s store, as its executor would.
    fn commit(node: &NodeState, txs: Vec<SignedTx>) {
        let head = node.store.head().expect("head");
        let draft = BlockDraft {
            chain_id: SCENARIO_CHAIN_ID.into(),
            height: head.height + 1,
            timestamp_ms: head.timestamp_ms + 1_000,
            proposer: addr("validator"),
        };
        let p = node
            .store
            .build(&draft, &seed_signer_of("validator"), txs)
            .expect("block builds");
        assert!(p.left_out.is_empty(), "{:?}", p.left_out);
        node.store
            .commit_block(&p.block, &p.executed)
            .expect("commit");
    }

    fn pending_txs(node: &NodeState) -> Vec<SignedTx> {
        let snapshot = node.store.snapshot().expect("snapshot");
        node.mempool.lock().unwrap().select(&snapshot, 100)
    }

    #[test]
    fn evidence_survives_a_restart_and_is_reported_free_until_the_chain_uses_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVIDENCE_FILE);
        let validator = key_of("validator");
        let evidence = sign_conflicting_notarize(&validator, &[validator.public_key()], 0, 5)
            .expect("a member");
        // Consensus reports the equivocation; the node stops before anything is submitted.
        {
            let pool = EvidencePool::open(&path).unwrap();
            let (epoch, signer, view) = evidence.claim().unwrap();
            pool.add((epoch, signer, view, evidence.kind), evidence.clone());
        }
        // Restarted, the node has it again.
        let mut node = NodeState::new(
            Store::in_memory().expect("store"),
            genesis_with(&[]),
            addr("validator"),
            BlockTiming::default(),
            Default::default(),
        )
        .expect("node");
        node.evidence = Arc::new(EvidencePool::open(&path).unwrap());
        assert_eq!(node.evidence.pending(), vec![evidence.clone()]);

        // A reporter with no balance at all reports it, with no fee; once, while pending.
        let reporter = key_of("nobody");
        assert_eq!(submit_pending(&node, &reporter), 1);
        assert_eq!(submit_pending(&node, &reporter), 0, "its report is pending");
        let txs = pending_txs(&node);
        assert_eq!(txs.len(), 1);
        assert!(txs[0].tx.fee.is_zero());
        // The report is lost (expired, say): the evidence is still held, and reported again.
        node.mempool
            .lock()
            .unwrap()
            .drop_tx(&txs[0].id(), TxRejection::Expired);
        assert_eq!(node.evidence.pending(), vec![evidence.clone()]);
        assert_eq!(submit_pending(&node, &reporter), 1);

        // Included: the validator is slashed, and the pool and its file forget the evidence.
        commit(&node, pending_txs(&node));
        let snapshot = node.store.snapshot().expect("snapshot");
        assert!(staking::evidence_used(&snapshot, &addr("validator"), 0, 5));
        assert_eq!(submit_pending(&node, &reporter), 0);
        assert!(node.evidence.pending().is_empty());
        assert!(EvidencePool::open(&path).unwrap().pending().is_empty());
    }

    #[test]
    fn a_free_report_outranks_a_full_pool_of_paying_transactions_and_is_held_once() {
        let validator = key_of("validator");
        let evidence = sign_conflicting_notarize(&validator, &[validator.public_key()], 0, 5)
            .expect("a member");
        // A pool that holds three transactions, filled by alice's paying transfers.
        let limits = crate::mempool::MempoolLimits {
            txs_max: 3,
            ..Default::default()
        };
        let node = NodeState::new(
            Store::in_memory().expect("store"),
            genesis_with(&[("alice", 1_000_000)]),
            addr("validator"),
            BlockTiming::default(),
            limits,
        )
        .expect("node");
        let transfers: Vec<SignedTx> = (0..3)
            .map(|nonce| {
                yun_types::Tx {
                    chain_id: SCENARIO_CHAIN_ID.into(),
                    nonce,
                    fee: yun_types::Amount::new(1_000_000 / 8),
                    expires_at_height: 50,
                    action: yun_types::Action::Transfer {
                        to: addr("bob"),
                        amount: yun_types::Amount::new(1),
                    },
                }
                .sign(&key_of("alice"))
            })
            .collect();
        assert!(node.submit(transfers).iter().all(Result::is_ok));
        assert_eq!(node.mempool.lock().unwrap().len(), 3);

        // The fee-free report still gets in (the lowest-paying transfer makes room)...
        node.evidence.add(
            {
                let (epoch, signer, view) = evidence.claim().unwrap();
                (epoch, signer, view, evidence.kind)
            },
            evidence.clone(),
        );
        assert_eq!(submit_pending(&node, &key_of("nobody")), 1);
        let pending = pending_txs(&node);
        assert!(pending.iter().any(|t| t.tx.fee.is_zero()), "{pending:?}");
        // ...and a copy from another reporter is refused while it is pending.
        let copy = yun_types::Tx {
            chain_id: SCENARIO_CHAIN_ID.into(),
            nonce: 0,
            fee: yun_types::Amount::ZERO,
            expires_at_height: 50,
            action: yun_types::Action::ReportEquivocation { evidence },
        }
        .sign(&key_of("somebody"));
        assert_eq!(
            node.submit(vec![copy]),
            vec![Err(TxRejection::AlreadyKnown)]
        );
    }
}
