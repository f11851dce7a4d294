//! The agent's transactions: signed locally with the provider's key (which never leaves this
//! process), nonces read from the node, each one tracked until it is finalized.

use anyhow::{Context, bail};
use commonware_cryptography::Signer;
use commonware_cryptography::ed25519::PrivateKey;
use std::time::Duration;
use yun_client::Client;
use yun_types::api::TxState;
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
    /// chain's minimum fee, and submits it.
    pub async fn submit(&self, client: &Client, action: Action) -> anyhow::Result<TxId> {
        let status = client.status().await?;
        let nonce = client.account(&self.address).await?.next_nonce;
        let tx = Tx {
            chain_id: status.chain_id,
            nonce,
            fee: status.min_fee,
            expires_at_height: status.height + TX_VALID_BLOCKS,
            action,
        }
        .sign(&self.key);
        Ok(client.submit(&tx).await?)
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

/// Where a submitted transaction stands, as the agent needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// Still in the mempool (or the node has not answered).
    Pending,
    /// Finalized at this height (whether its action succeeded or failed), or dropped.
    Done(Option<u64>),
}

pub async fn landed(client: &Client, id: &TxId) -> Landed {
    match client.tx(id).await {
        Ok(s) => match s.state {
            TxState::Pending => Landed::Pending,
            TxState::Committed => Landed::Done(s.receipt.map(|r| r.height)),
            TxState::Rejected => Landed::Done(None),
        },
        Err(_) => Landed::Pending,
    }
}
