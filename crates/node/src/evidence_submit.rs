//! A validator's duty to report: the loop that turns the equivocations its `EvidencePool`
//! holds into `ReportEquivocation` transactions, signed with its own key.

use std::sync::Arc;
use std::time::Duration;

/// How often a validator turns the evidence it holds into transactions.
pub const EVIDENCE_SUBMIT_INTERVAL: Duration = Duration::from_millis(500);
/// How many blocks a submitted piece of evidence stays valid; a validator that cannot get it
/// included by then (it lacks the fee, say) gives it up, and the others still report theirs.
pub const EVIDENCE_TX_LIFETIME_BLOCKS: u64 = 100;

/// A node's loop that, while the node is an active validator, submits pending evidence as `ReportEquivocation` transactions,
/// paying the minimum fee from its own account. Never returns.
pub async fn submit_loop<E: commonware_runtime::Clock>(
    clock: E,
    state: Arc<crate::state::NodeState>,
    key: commonware_cryptography::ed25519::PrivateKey,
) {
    use commonware_cryptography::Signer as _;
    let me = yun_types::Address::from_public_key(&key.public_key());
    loop {
        clock.sleep(EVIDENCE_SUBMIT_INTERVAL).await;
        let evidence = state.evidence.take();
        if evidence.is_empty() {
            continue;
        }
        let Ok(snapshot) = state.store.snapshot() else {
            continue;
        };
        // Reporting is an active validator's duty (and it holds the fee); others drop theirs.
        let (_, active) = yun_state::staking::active_set(&snapshot);
        if !active.iter().any(|(a, _)| *a == me) {
            continue;
        }
        let view = yun_state::Overlay::new(&snapshot);
        let (params, committed_nonce) = (view.params(), view.account(&me).nonce);
        let fees = yun_types::fee::FeeSchedule::of(&params);
        // What another validator's report already punished would only cost a fee to fail.
        let evidence: Vec<_> = evidence
            .into_iter()
            .filter(|e| {
                let members: Vec<_> = e
                    .epoch()
                    .map(|epoch| view.consensus_set(epoch))
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|a| a.public_key().ok())
                    .collect();
                e.verify(&members, &mut rand::rng()).is_some_and(|o| {
                    !yun_state::staking::evidence_used(&snapshot, &o.offender, o.epoch, o.view)
                })
            })
            .collect();
        if evidence.is_empty() {
            continue;
        }
        let (mut nonce, _) = state
            .mempool
            .lock()
            .expect("mempool lock")
            .pending_nonce(&me, committed_nonce);
        let txs: Vec<_> = evidence
            .into_iter()
            .map(|evidence| {
                let tx = yun_types::Tx {
                    chain_id: state.chain_id().to_string(),
                    nonce,
                    fee: params.min_fee,
                    expires_at_height: snapshot.head.height + EVIDENCE_TX_LIFETIME_BLOCKS,
                    action: yun_types::Action::ReportEquivocation { evidence },
                };
                nonce += 1;
                fees.sign(tx, &key, 0)
            })
            .collect();
        for result in state.submit(txs) {
            match result {
                Ok(id) => tracing::info!(%id, "submitted equivocation evidence"),
                Err(reason) => tracing::warn!(%reason, "equivocation evidence refused"),
            }
        }
    }
}
