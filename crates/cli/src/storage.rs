//! `yun storage …`: store a file under a deal (with `--encrypt`, encrypted to the owner's own
//! x25519 key before it leaves this machine), fetch it back from its holders in parallel with
//! every byte verified (and decrypted here), list, show and cancel deals.

use crate::args::{ClientOpts, amount, hash};
use crate::keys;
use crate::output::{Output, print};
use crate::signing::{SignOpts, print_submitted, sign_and_submit, sign_and_submit_key};
use crate::storage_text as text;
pub use crate::storage_text::{GetReport, PutReport};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use yun_client::seal;
use yun_client::{Client, Uploader};
use yun_types::api_storage::{DealResponse, DealStatus, DealSummaryView, StorageReplicaState};
use yun_types::market::Text;
use yun_types::storage::{
    DEAL_EPOCHS_MAX, DEAL_REPLICAS_MAX, DealId, DealSpec, StorageAction, billed_mib,
};
use yun_types::{Action, Address, Amount, Hash32};

/// Deals read per page when looking through an owner's deals.
const DEALS_PAGE: usize = 500;
/// Pages read at most when looking for a root among an owner's deals.
const DEALS_PAGES_MAX: usize = 20;

#[derive(Subcommand, Debug)]
pub enum StorageCmd {
    /// Store a file: (encrypt it to your own key,) upload it to the node and post a deal that
    /// escrows the worst case (replicas × epochs × MiB × bid); prints the deal id and root.
    Put(PutArgs),
    /// Fetch a stored file from its holders in parallel, every 16 KiB verified against the
    /// root as it arrives; an encrypted one is decrypted here with your key.
    Get(GetArgs),
    /// Your deals (the `--from` account's), newest last.
    Ls {
        /// Whose deals: a key name, dev account or address.
        #[arg(long, default_value = "dev0")]
        from: String,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One deal: its replicas, holders, challenges, escrow and payments.
    Deal { id: String },
    /// Cancel a deal: proven epochs stay paid, the rest of the escrow returns in the block.
    Cancel {
        id: String,
        #[command(flatten)]
        sign: SignOpts,
    },
}

#[derive(Args, Debug, Clone)]
pub struct PutArgs {
    pub file: PathBuf,
    /// Providers that each keep a copy.
    #[arg(long, default_value_t = 3)]
    pub replicas: u8,
    /// Storage epochs the deal lasts once its replicas are assigned.
    #[arg(long, default_value_t = 10)]
    pub epochs: u32,
    /// Highest price per MiB per epoch per replica, in base units (default: twice the
    /// storage price index, so a rising index still matches; you pay the providers' prices).
    #[arg(long)]
    pub bid: Option<String>,
    /// Encrypt to your own key first: providers and nodes only ever see ciphertext.
    #[arg(long)]
    pub encrypt: bool,
    #[command(flatten)]
    pub sign: SignOpts,
}

#[derive(Args, Debug, Clone)]
pub struct GetArgs {
    /// The root `yun storage put` printed.
    pub root: String,
    /// Where to write the file (default ./ROOT).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The deal to fetch from (default: the `--from` account's latest deal of this root).
    #[arg(long)]
    pub deal: Option<String>,
    /// The account that stored it (its key decrypts an encrypted file).
    #[arg(long, default_value = "dev0")]
    pub from: String,
}

pub async fn storage(cmd: StorageCmd, opts: &ClientOpts) -> anyhow::Result<()> {
    let client = Client::new(&opts.node);
    match cmd {
        StorageCmd::Put(args) => {
            let r = run_put(&args, opts).await?;
            print(opts.output, &r, || text::put(&r))
        }
        StorageCmd::Get(args) => {
            let r = run_get(&args, opts).await?;
            print(opts.output, &r, || text::get(&r))
        }
        StorageCmd::Ls { from, limit } => {
            let owner = keys::resolve_address(&from, &opts.dev_lookup()).await?;
            let deals = owner_deals(&client, &owner, limit).await?;
            print(opts.output, &deals, || text::deals(&owner, &deals))
        }
        StorageCmd::Deal { id } => {
            let deal = client.storage_deal(&deal_id(&id)?).await?;
            print(opts.output, &deal, || text::deal(&deal))
        }
        StorageCmd::Cancel { id, sign } => {
            let deal = deal_id(&id)?;
            let action = Action::Storage(StorageAction::CancelDeal { deal });
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            print_submitted(opts, &s, |h| {
                format!(
                    "deal {deal} cancelled at height {h}; `yun storage deal {deal}` shows the refund"
                )
            })
        }
    }
}

fn deal_id(s: &str) -> anyhow::Result<DealId> {
    s.parse()
        .context("a deal id is the 64-hex id of the transaction that posted it (`yun storage ls`)")
}

/// `yun storage put` without printing (tests call this).
pub async fn run_put(args: &PutArgs, opts: &ClientOpts) -> anyhow::Result<PutReport> {
    check_put(args)?;
    let client = Client::new(&opts.node);
    let key = keys::signer(&args.sign.from, &opts.dev_lookup()).await?;
    let file_bytes = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}: check the path", args.file.display()))?
        .len();
    let bid_given = args
        .bid
        .as_deref()
        .map(|b| amount(b, "--bid"))
        .transpose()?;
    // The ciphertext lives in a private temp directory until it is uploaded; the plaintext
    // is never copied.
    let tmp = tempfile::tempdir().context("creating a temp directory for the ciphertext")?;
    let upload_path = if args.encrypt {
        let sealed = tmp.path().join("file.age");
        let me = keys::encryption_identity(&key).public_key();
        let (src, dst) = (args.file.clone(), sealed.clone());
        tokio::task::spawn_blocking(move || seal::encrypt_file(&[me], &src, &dst))
            .await
            .context("the encryption worker panicked")??;
        sealed
    } else {
        args.file.clone()
    };
    let size_bytes = std::fs::metadata(&upload_path)?.len();
    let bid = match bid_given {
        Some(b) => b,
        None => default_bid(&client, args.replicas, size_bytes).await?,
    };
    let uploader = Uploader::new(key.clone());
    let (root, size_bytes) = upload(&client, &uploader, &upload_path, opts.output).await?;
    let spec = DealSpec {
        root,
        size_bytes,
        replicas: args.replicas,
        epochs: args.epochs,
        bid_per_mib_epoch: bid,
        encrypted: args.encrypt,
        source_url: Text(opts.node.trim_end_matches('/').to_string()),
    };
    let pay_min = client.market().await?.storage_params.replica_epoch_pay_min;
    let escrow_max = escrow_max(&spec, pay_min)?;
    let action = Action::Storage(StorageAction::PostDeal { spec });
    let posted = sign_and_submit_key(&client, &args.sign, &key, action).await?;
    Ok(PutReport {
        deal: posted.id,
        root,
        size_bytes,
        file_bytes,
        encrypted: args.encrypt,
        replicas: args.replicas,
        epochs: args.epochs,
        bid_per_mib_epoch: bid,
        escrow_max,
        height: posted.height(),
    })
}

fn check_put(args: &PutArgs) -> anyhow::Result<()> {
    if args.replicas == 0 || args.replicas > DEAL_REPLICAS_MAX {
        bail!(
            "--replicas {} is outside 1..={DEAL_REPLICAS_MAX}: give how many providers keep a copy",
            args.replicas
        );
    }
    if args.epochs == 0 || args.epochs > DEAL_EPOCHS_MAX {
        bail!(
            "--epochs {} is outside 1..={DEAL_EPOCHS_MAX}: give how many storage epochs to keep it",
            args.epochs
        );
    }
    Ok(())
}

/// The escrow a deal locks at posting: every replica paid the bid for every epoch, and each
/// replica-epoch at least the chain's `pay_min` (`storage.replica_epoch_pay_min`).
pub fn escrow_max(spec: &DealSpec, pay_min: Amount) -> anyhow::Result<Amount> {
    let per_replica_epoch = spec
        .bid_per_mib_epoch
        .checked_mul(u128::from(billed_mib(spec.size_bytes)))
        .ok()
        .map(|a| a.max(pay_min));
    per_replica_epoch
        .and_then(|a| {
            a.checked_mul(u128::from(spec.replicas) * u128::from(spec.epochs))
                .ok()
        })
        .context("the escrow overflows: lower --bid, --epochs or --replicas")
}

/// A bid that is matched now: twice the storage price index (so a rising index still
/// matches), and at least the `replicas`-th lowest ask among the offers that could take the
/// file. Replicas are paid the clearing price or their ask, never the bid itself.
pub async fn default_bid(client: &Client, replicas: u8, size_bytes: u64) -> anyhow::Result<Amount> {
    let market = client.market().await?;
    let index = market
        .price_index
        .storage_per_mib_epoch
        .unwrap_or(Amount::new(1));
    let twice = index.checked_mul(2).unwrap_or(index).max(Amount::new(1));
    let mut asks = Vec::new();
    let mut after = None;
    for _ in 0..DEALS_PAGES_MAX {
        let page = client.storage_offers(after.as_ref()).await?;
        asks.extend(
            page.offers
                .iter()
                .filter(|o| o.eligible && o.free_bytes >= size_bytes)
                .map(|o| o.offer.ask_per_mib_epoch),
        );
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    asks.sort_unstable();
    let Some(ask) = asks.get(usize::from(replicas).saturating_sub(1)) else {
        bail!(
            "only {} storage offers have room for {size_bytes} bytes and {replicas} replicas are \
             asked: lower --replicas, or wait for providers (`yun provider run --storage-gb G`)",
            asks.len()
        );
    };
    Ok(twice.max(*ask))
}

/// Uploads `path` to the node with a progress bar; returns its root and size.
async fn upload(
    client: &Client,
    uploader: &Uploader,
    path: &Path,
    output: Output,
) -> anyhow::Result<(Hash32, u64)> {
    let len = std::fs::metadata(path)?.len();
    let bar = if output == Output::Json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ({elapsed})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix("uploading");
    let progress = bar.clone();
    let uploaded = client
        .put_blob_file_progress(path, uploader, move |n| progress.inc(n))
        .await;
    bar.finish_and_clear();
    uploaded.with_context(|| format!("uploading {} to {}", path.display(), client.base_url()))
}

/// Up to `limit` of `owner`'s deals, in id order.
pub async fn owner_deals(
    client: &Client,
    owner: &Address,
    limit: usize,
) -> anyhow::Result<Vec<DealSummaryView>> {
    let mut deals = Vec::new();
    let mut after = None;
    for _ in 0..DEALS_PAGES_MAX {
        let page = client
            .storage_deals(Some(owner), DEALS_PAGE.min(limit), after.as_ref())
            .await?;
        deals.extend(page.deals);
        match page.next_after {
            Some(a) if deals.len() < limit => after = Some(a),
            _ => break,
        }
    }
    deals.truncate(limit);
    Ok(deals)
}

/// The deal to fetch `root` from: the one named, or the owner's latest open deal of it (a
/// finished one only if no open one has it).
async fn find_deal(
    client: &Client,
    root: &Hash32,
    deal: Option<&str>,
    owner: &Address,
) -> anyhow::Result<DealResponse> {
    if let Some(id) = deal {
        let d = client.storage_deal(&deal_id(id)?).await?;
        if d.spec.root != *root {
            bail!(
                "deal {} stores {}, not {root}: check the root or the deal id",
                d.id,
                d.spec.root
            );
        }
        return Ok(d);
    }
    let deals = owner_deals(client, owner, DEALS_PAGE * DEALS_PAGES_MAX).await?;
    let open = |d: &DealSummaryView| matches!(d.status, DealStatus::Active | DealStatus::Queued);
    let mine: Vec<&DealSummaryView> = deals.iter().filter(|d| d.root == *root).collect();
    let Some(best) = mine.iter().rev().find(|d| open(d)).or(mine.last()) else {
        bail!(
            "{owner} has no deal storing {root}: pass --from the account that stored it, or \
             --deal ID (`yun storage ls --from NAME` lists deals)"
        );
    };
    Ok(client.storage_deal(&best.id).await?)
}

/// Where the deal's bytes can be fetched, best first: holders that proved their copy, those
/// still fetching it, the node it was uploaded to, the node this command talks to.
pub fn sources(deal: &DealResponse, node: &str) -> Vec<String> {
    let holding = deal
        .replicas
        .iter()
        .filter(|r| r.replica.state == StorageReplicaState::Holding);
    let fetching = deal
        .replicas
        .iter()
        .filter(|r| r.replica.state == StorageReplicaState::Fetching);
    let mut out: Vec<String> = Vec::new();
    let urls = holding
        .chain(fetching)
        .map(|r| r.endpoint.0.clone())
        .chain([deal.spec.source_url.0.clone(), node.to_string()]);
    for url in urls {
        let url = url.trim_end_matches('/').to_string();
        if !url.is_empty() && !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

/// `yun storage get` without printing (tests call this).
pub async fn run_get(args: &GetArgs, opts: &ClientOpts) -> anyhow::Result<GetReport> {
    let client = Client::new(&opts.node);
    let root = hash(&args.root, "ROOT")?;
    let owner = keys::resolve_address(&args.from, &opts.dev_lookup()).await?;
    let deal = find_deal(&client, &root, args.deal.as_deref(), &owner).await?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(root.to_string()));
    let sources = sources(&deal, &opts.node);
    let encrypted = deal.spec.encrypted;
    // An encrypted file is unlocked before any byte is fetched, so a wrong passphrase costs
    // no download.
    let identity = if encrypted {
        let key = keys::signer(&args.from, &opts.dev_lookup()).await?;
        Some(keys::encryption_identity(&key))
    } else {
        None
    };
    let tmp = tempfile::tempdir_in(
        out.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
    .context("creating a temp directory beside the output")?;
    let fetched = if encrypted {
        tmp.path().join("file.age")
    } else {
        out.clone()
    };
    let bar = spinner(
        opts.output,
        &format!(
            "fetching {} bytes from {} sources",
            deal.spec.size_bytes,
            sources.len()
        ),
    );
    let report =
        yun_client::download_verified(&sources, &root, deal.spec.size_bytes, &fetched).await;
    bar.finish_and_clear();
    let report = report.with_context(|| {
        format!(
            "no holder of deal {} served {root}: `yun storage deal {}` shows its replicas",
            deal.id, deal.id
        )
    })?;
    let bytes = match identity {
        None => report.bytes,
        Some(identity) => {
            let (src, dst) = (fetched.clone(), out.clone());
            tokio::task::spawn_blocking(move || seal::decrypt_file(&identity, &src, &dst))
                .await
                .context("the decryption worker panicked")??
        }
    };
    Ok(GetReport {
        deal: deal.id,
        root,
        out,
        bytes,
        encrypted,
        sources,
        dropped_sources: report.dropped_sources,
    })
}

fn spinner(output: Output, message: &str) -> ProgressBar {
    if output == Output::Json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escrow_is_replicas_epochs_and_billed_mib_at_the_bid_or_the_minimum_pay() {
        let spec = DealSpec {
            root: Hash32([0; 32]),
            size_bytes: 3 * 1024 * 1024 + 1,
            replicas: 3,
            epochs: 10,
            bid_per_mib_epoch: Amount::new(7),
            encrypted: false,
            source_url: Text(String::new()),
        };
        let pay_min = Amount::new(20);
        assert_eq!(
            escrow_max(&spec, pay_min).unwrap(),
            Amount::new(3 * 10 * 4 * 7)
        );
        let small = DealSpec {
            size_bytes: 1000,
            ..spec
        };
        assert_eq!(
            escrow_max(&small, pay_min).unwrap(),
            Amount::new(3 * 10 * 20)
        );
    }
}
