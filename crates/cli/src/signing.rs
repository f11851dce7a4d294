//! The one path every signing command takes: `--from` to a key, sign, submit, wait, report.

use crate::args::ClientOpts;
use crate::keys;
use crate::output::print;
use anyhow::bail;
use clap::Args;
use std::time::Duration;
use yun_client::Client;
use yun_types::api::{TxState, TxStatusResponse};
use yun_types::{Action, Address, Tx, TxId};

/// How a transaction is signed and sent (every command that signs takes these).
#[derive(Args, Debug, Clone)]
pub struct SignOpts {
    /// Signing key: a key name, a dev account (dev0 …), or `@PATH` for a node's key file.
    #[arg(long, default_value = "dev0")]
    pub from: String,
    /// Most fee to pay, in base units (default: the fee schedule's estimate for this
    /// transaction: base + bytes + a bound on its writes; what it does not owe is refunded).
    #[arg(long)]
    pub fee: Option<String>,
    /// Nonce (default: the account's next nonce, counting pending transactions).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Blocks until the transaction expires.
    #[arg(long, default_value_t = 600)]
    pub expires_in: u64,
    /// Return right after submission instead of waiting for finalization.
    #[arg(long)]
    pub no_wait: bool,
}

/// What `sign_and_submit` saw happen to a transaction.
#[derive(Debug)]
pub struct Submitted {
    pub id: TxId,
    pub sender: Address,
    /// The committed transaction and its successful receipt; `None` with `--no-wait`.
    pub status: Option<TxStatusResponse>,
}

impl Submitted {
    /// The height it was included at, if waited for.
    pub fn height(&self) -> Option<u64> {
        self.status
            .as_ref()
            .and_then(|s| s.receipt.as_ref())
            .map(|r| r.height)
    }
}

/// Signs `action` with `sign.from` (nonce from the account counting pending transactions,
/// expiry from the current height, the fee schedule's estimate unless given), submits it and,
/// unless `--no-wait`, waits until it is finalized. A rejection, a failed action (its fee was
/// still paid) or a timeout is an error naming the reason and what to do.
pub async fn sign_and_submit(
    client: &Client,
    opts: &ClientOpts,
    sign: &SignOpts,
    action: Action,
) -> anyhow::Result<Submitted> {
    sign_and_submit_with(client, opts, sign, |_| action).await
}

/// [`sign_and_submit`] for an action that depends on the signing key itself (a validator
/// registration carries the seed key derived from it); the key is resolved once.
pub async fn sign_and_submit_with(
    client: &Client,
    opts: &ClientOpts,
    sign: &SignOpts,
    action: impl FnOnce(&commonware_cryptography::ed25519::PrivateKey) -> Action,
) -> anyhow::Result<Submitted> {
    let key = keys::signer(&sign.from, &opts.dev_lookup()).await?;
    let action = action(&key);
    sign_and_submit_key(client, sign, &key, action).await
}

/// [`sign_and_submit`] with a key already resolved (a command that also decrypts or seals
/// with the account's identity asks for the passphrase once).
pub async fn sign_and_submit_key(
    client: &Client,
    sign: &SignOpts,
    key: &commonware_cryptography::ed25519::PrivateKey,
    action: Action,
) -> anyhow::Result<Submitted> {
    let sender = keys::address_of(key);
    let status = client.status().await?;
    let nonce = match sign.nonce {
        Some(n) => n,
        None => client.account(&sender).await?.next_nonce,
    };
    let tx = Tx {
        chain_id: status.chain_id.clone(),
        nonce,
        fee: status.min_fee,
        expires_at_height: status.height + sign.expires_in,
        action,
    };
    let tx = match &sign.fee {
        Some(f) => Tx {
            fee: f.parse()?,
            ..tx
        }
        .sign(key),
        // The schedule's estimate: base, bytes and a bound on the writes (the chain refunds
        // what the transaction did not owe). A cancel writes per task of its job.
        None => {
            let extra = match &tx.action {
                Action::CancelJob { job } => client
                    .job(job)
                    .await
                    .map_or(0, |j| j.job.spec.tasks.len() as u64 + 1),
                _ => 0,
            };
            yun_types::fee::FeeSchedule::from(&status).sign(tx, key, extra)
        }
    };
    let id = client.submit(&tx).await?;
    if sign.no_wait {
        return Ok(Submitted {
            id,
            sender,
            status: None,
        });
    }
    let result = client.wait_for_tx(&id, Duration::from_secs(60)).await?;
    match result.state {
        TxState::Committed => {
            let r = result.receipt.as_ref().expect("committed has a receipt");
            if let Some(f) = &r.failure {
                bail!(
                    "{id} included at height {} but failed: {} ({}): {} — {}",
                    r.height,
                    f.name,
                    f.code,
                    f.message,
                    f.hint
                );
            }
            Ok(Submitted {
                id,
                sender,
                status: Some(result),
            })
        }
        TxState::Rejected => {
            let r = result.rejection.expect("rejected has a reason");
            bail!("{} ({}): {} — {}", r.name, r.code, r.message, r.hint)
        }
        TxState::Pending => {
            bail!("{id} still pending after 60 s; check later with `yun tx show {id}`")
        }
    }
}

/// Prints a submission: the transaction's status as JSON, or `text` (given the inclusion
/// height) once finalized, or just the id with `--no-wait`.
pub fn print_submitted(
    opts: &ClientOpts,
    s: &Submitted,
    text: impl FnOnce(u64) -> String,
) -> anyhow::Result<()> {
    let id = s.id;
    match (&s.status, s.height()) {
        (Some(status), Some(height)) => print(opts.output, status, || text(height)),
        _ => print(opts.output, &serde_json::json!({"id": id}), || {
            format!("submitted {id}")
        }),
    }
}
