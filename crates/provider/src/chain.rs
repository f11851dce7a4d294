//! The agent's transactions: signed locally with the provider's key (which never leaves this
//! process), nonces read from the node, each one tracked until it is finalized.

use anyhow::{Context, bail};
use commonware_cryptography::Signer;
use commonware_cryptography::ed25519::PrivateKey;
use std::time::Duration;
use yun_client::Client;
use yun_types::api::{ApiErrorKind, TxState};
use yun_types::{Action, Address, Tx, TxId};

/// Blocks a transaction stays valid for.
pub const TX_VALID_BLOCKS: u64 = 30;

/// Signs and submits transactions for one key.
#[derive(Debug)]
pub struct TxSigner {
    key: PrivateKey,
    pub address: Address,
}

impl TxSigner {
    pub fn new(key: PrivateKey) -> TxSigner {
        let address = Address::from_public_key(&key.public_key());
        TxSigner { key, address }
    }

    /// Signs `action` with the next nonce (the node counts our pending transactions) and the
    /// fee schedule's estimate (the unused part is refunded), and submits it.
    pub async fn submit(&self, client: &Client, action: Action) -> anyhow::Result<TxId> {
        Ok(self.submit_tracked(client, action).await?.id)
    }

    /// [`Self::submit`], also saying until when the transaction may be included.
    pub async fn submit_tracked(&self, client: &Client, action: Action) -> anyhow::Result<Sent> {
        let status = client.status().await?;
        let fees = yun_types::fee::FeeSchedule::from(&status);
        let nonce = client.account(&self.address).await?.next_nonce;
        let expires_at_height = status.height + TX_VALID_BLOCKS;
        let tx = Tx {
            chain_id: status.chain_id,
            nonce,
            fee: status.min_fee,
            expires_at_height,
            action,
        };
        let tx = fees.sign(tx, &self.key, 0);
        let id = client.submit(&tx).await?;
        Ok(Sent {
            id,
            expires_at_height,
        })
    }

    /// Submits and waits until finalized; a failed action is an error with its reason.
    pub async fn submit_and_wait(&self, client: &Client, action: Action) -> anyhow::Result<u64> {
        let name = action.name();
        let id = self.submit(client, action).await?;
        let s = client
            .wait_for_tx(&id, Duration::from_secs(60))
            .await
            .with_context(|| format!("waiting for {name} {id}"))?;
        match (s.state, s.receipt, s.rejection) {
            (TxState::Committed, Some(r), _) => match r.failure {
                None => Ok(r.height),
                Some(f) => bail!(
                    "{name} failed: {} ({}): {} — {}",
                    f.name,
                    f.code,
                    f.message,
                    f.hint
                ),
            },
            (TxState::Rejected, _, Some(r)) => {
                bail!(
                    "{name} rejected: {} ({}): {} — {}",
                    r.name,
                    r.code,
                    r.message,
                    r.hint
                )
            }
            _ => bail!("{name} {id} not finalized within 60 s"),
        }
    }
}

/// A submitted transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub id: TxId,
    /// No block above this height may include it.
    pub expires_at_height: u64,
}

/// Where a submitted transaction stands, as the agent needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    /// Still in the mempool, or the node has not answered, or it does not know the
    /// transaction yet could still include it.
    Pending,
    /// Finalized at `height`; `failure` names the rejection if its action failed (the fee
    /// was charged and nothing else happened: commit and reveal batches are all-or-nothing).
    Finalized {
        height: u64,
        failure: Option<String>,
    },
    /// Will never be included: dropped from the mempool, or unknown to the node after its
    /// expiry height (a node restarted without it).
    Dropped { reason: String },
}

/// Where `sent` stands, `head_height` being a height the node has already reached.
pub async fn landed(client: &Client, sent: &Sent, head_height: u64) -> Landed {
    match client.tx(&sent.id).await {
        Ok(s) => match (s.state, s.receipt, s.rejection) {
            (TxState::Pending, _, _) => Landed::Pending,
            (TxState::Committed, Some(r), _) => Landed::Finalized {
                height: r.height,
                failure: r.failure.map(|f| f.name),
            },
            (TxState::Committed, None, _) => Landed::Pending,
            (TxState::Rejected, _, r) => Landed::Dropped {
                reason: r.map_or_else(|| "rejected".to_string(), |r| r.name),
            },
        },
        Err(e) => unknown_tx(e.code(), sent, head_height),
    }
}

/// What a failed status read means: "not found" once the transaction has expired is final
/// (nothing can include it any more); anything else may still change.
fn unknown_tx(code: Option<u16>, sent: &Sent, head_height: u64) -> Landed {
    if code == Some(ApiErrorKind::NotFound as u16) && head_height > sent.expires_at_height {
        Landed::Dropped {
            reason: "unknown to the node after its expiry height".to_string(),
        }
    } else {
        Landed::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_transaction_is_dropped_only_after_its_expiry() {
        let sent = Sent {
            id: yun_types::Hash32([7; 32]),
            expires_at_height: 40,
        };
        let not_found = Some(ApiErrorKind::NotFound as u16);
        assert_eq!(unknown_tx(not_found, &sent, 40), Landed::Pending);
        assert!(matches!(
            unknown_tx(not_found, &sent, 41),
            Landed::Dropped { .. }
        ));
        // A node that did not answer says nothing about the transaction.
        assert_eq!(unknown_tx(None, &sent, 1_000), Landed::Pending);
        let unavailable = Some(ApiErrorKind::Unavailable as u16);
        assert_eq!(unknown_tx(unavailable, &sent, 1_000), Landed::Pending);
    }
}
