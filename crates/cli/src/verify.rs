//! `yun chain verify`: re-validates a node's chain from genesis in a fresh in-memory store:
//! every parent link, transaction commitment and signature, and every state root by
//! re-executing each block. Trusts nothing the node says except the genesis file.

use crate::args::ClientOpts;
use crate::output::Output;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use yun_client::Client;
use yun_state::{BlockEnv, verify_signatures};
use yun_store::Store;
use yun_types::block::txs_root;

pub async fn verify(opts: &ClientOpts) -> anyhow::Result<()> {
    let client = Client::new(&opts.node);
    let genesis = client.genesis().await?;
    let status = client.status().await?;
    if genesis.hash() != status.genesis_hash {
        bail!("the node's genesis file does not hash to the genesis it reports");
    }
    let store = Store::in_memory()?;
    let mut head = store.init_genesis(&genesis)?;
    let block0 = client.raw_block(0).await?;
    if block0.hash() != head.block_hash {
        bail!("block 0 differs from the block this genesis defines");
    }
    let tip = status.height;
    let bar = if opts.output == Output::Text {
        ProgressBar::new(tip)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(ProgressStyle::with_template(
        "verifying {bar:40} {pos}/{len} blocks ({per_sec})",
    )?);
    let mut txs_total = 0usize;
    for height in 1..=tip {
        let block = client
            .raw_block(height)
            .await
            .with_context(|| format!("fetching block {height}"))?;
        let h = &block.header;
        if h.height != height || h.parent != head.block_hash {
            bail!("block {height} does not link to block {}", height - 1);
        }
        if h.timestamp_ms < head.timestamp_ms {
            bail!("block {height} is timestamped before its parent");
        }
        if h.txs_root != txs_root(block.txs.iter().map(|t| t.id()))
            || h.tx_count as usize != block.txs.len()
        {
            bail!("block {height}'s transactions do not match its header");
        }
        if !verify_signatures(&block.txs, &mut rand::rng()) {
            bail!("block {height} carries an invalid signature");
        }
        // Execution checks the seed proof against the proposer's key and the last seed.
        let env = BlockEnv::from_block(&genesis.chain_id, &block);
        let executed = store
            .execute(&env, &block.txs)?
            .map_err(|e| anyhow::anyhow!("block {height} is invalid: {e}"))?;
        if executed.state_root != h.state_root {
            bail!(
                "block {height}: re-executed state root {} differs from the header's {}",
                executed.state_root,
                h.state_root
            );
        }
        head = store.commit_block(&block, &executed)?;
        txs_total += block.txs.len();
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mem = store.state_entries()?;
    let supply = yun_state::check_supply(
        mem.entries
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice())),
    )
    .map_err(|e| anyhow::anyhow!("supply check failed: {e}"))?;
    let report = serde_json::json!({
        "verified_height": head.height,
        "state_root": head.state_root,
        "transactions": txs_total,
        "genesis_supply": supply.total,
        "minted": supply.minted,
        "burned": supply.burned,
        "treasury": supply.treasury,
    });
    match opts.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => println!(
            "chain verified: {} blocks, {} transactions, state root {} (supply {} conserved: {} at genesis + {} minted; {} burned, {} in the treasury)",
            head.height,
            txs_total,
            head.state_root,
            supply.issued(),
            supply.total,
            supply.minted,
            supply.burned,
            supply.treasury
        ),
    }
    Ok(())
}
