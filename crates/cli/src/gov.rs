//! `yun gov …` and `yun faucet`: vote-escrowed governance from the command line — lock and
//! unlock tokens for voting power, propose (parameter changes, text, treasury spends, software
//! upgrades), vote, and show proposals and voting power — and the proof-of-work faucet, solved
//! here with a progress bar and submitted fee-free.

use crate::args::{ClientOpts, amount};
use crate::keys;
use crate::output::{Output, print};
use crate::signing::{SignOpts, print_submitted, sign_and_submit, sign_and_submit_key};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::time::Instant;
use yun_client::Client;
use yun_types::api_governance::{PowerResponse, ProposalView, ProposalsResponse};
use yun_types::governance::{GovAction, ParamEdit, ProposalKind, VoteChoice, faucet_solve};
use yun_types::{Action, Amount};

#[derive(Subcommand, Debug)]
pub enum GovCmd {
    /// Lock tokens until a height for voting power (amount × remaining blocks, capped at the
    /// chain's governance.lock_blocks_max). Locked tokens cannot move until then.
    Lock {
        /// Base units to add to the lock (0 just extends it).
        #[arg(long)]
        amount: String,
        /// The height the lock ends at (default: now + governance.lock_blocks_max).
        #[arg(long)]
        until_height: Option<u64>,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Return the whole lock to the balance once its end height is reached.
    Unlock {
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Open a proposal, depositing at least governance.deposit_min (refunded unless vetoed).
    Propose(ProposeArgs),
    /// Vote yes, no, abstain or veto on an open proposal (a second vote replaces the first).
    Vote {
        proposal: u64,
        choice: VoteChoice,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// One proposal: its content, status, tally and the votes so far.
    Show { proposal: u64 },
    /// The newest proposals, the treasury and the governance parameters.
    List {
        /// Only proposals numbered below this.
        #[arg(long)]
        before: Option<u64>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// An account's lock, bonded stake and voting power.
    Power {
        /// An address or key name.
        account: String,
    },
}

#[derive(Args, Debug)]
pub struct ProposeArgs {
    /// A parameter change: `PATH=VALUE` with PATH as in genesis params
    /// (`market.price_step_divisor=16`); repeat for several fields.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// A text proposal.
    #[arg(long)]
    pub text: Option<String>,
    /// A treasury spend: `ADDRESS=AMOUNT`.
    #[arg(long, value_name = "ADDRESS=AMOUNT")]
    pub spend: Option<String>,
    /// A software upgrade to the named release, at --apply-height.
    #[arg(long, value_name = "NAME")]
    pub upgrade: Option<String>,
    /// The deposit (default: governance.deposit_min).
    #[arg(long)]
    pub deposit: Option<String>,
    /// The first block that runs under the change (default: the block after the voting end).
    #[arg(long)]
    pub apply_height: Option<u64>,
    #[command(flatten)]
    pub sign: SignOpts,
}

pub async fn gov(cmd: GovCmd, opts: &ClientOpts) -> anyhow::Result<()> {
    let client = Client::new(&opts.node);
    let dev = opts.dev_lookup();
    match cmd {
        GovCmd::Lock {
            amount: a,
            until_height,
            sign,
        } => {
            let amount = amount(&a, "--amount")?;
            let until_height = match until_height {
                Some(h) => h,
                None => {
                    let params = client.proposals(None, Some(0)).await?.params;
                    client.status().await?.height + params.lock_blocks_max
                }
            };
            let action = Action::Governance(GovAction::Lock {
                amount,
                until_height,
            });
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            print_submitted(opts, &s, |h| {
                format!(
                    "{} locked {amount} more until height {until_height} at height {h} ({})",
                    s.sender, s.id
                )
            })
        }
        GovCmd::Unlock { sign } => {
            let action = Action::Governance(GovAction::Unlock);
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            print_submitted(opts, &s, |h| {
                format!("{} unlocked at height {h} ({})", s.sender, s.id)
            })
        }
        GovCmd::Propose(args) => propose(&client, opts, args).await,
        GovCmd::Vote {
            proposal,
            choice,
            sign,
        } => {
            let action = Action::Governance(GovAction::Vote { proposal, choice });
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            print_submitted(opts, &s, |h| {
                format!(
                    "{} voted {} on proposal {proposal} at height {h} ({})",
                    s.sender,
                    choice.name(),
                    s.id
                )
            })
        }
        GovCmd::Show { proposal } => {
            let p = client.proposal(proposal).await?;
            print(opts.output, &p, || proposal_text(&p))
        }
        GovCmd::List { before, limit } => {
            let r = client.proposals(before, Some(limit)).await?;
            print(opts.output, &r, || proposals_text(&r))
        }
        GovCmd::Power { account } => {
            let r = client
                .voting_power(&keys::resolve_address(&account, &dev).await?)
                .await?;
            print(opts.output, &r, || power_text(&r))
        }
    }
}

/// The kind a `propose` command line names (exactly one of --set, --text, --spend, --upgrade).
async fn proposal_kind(
    args: &ProposeArgs,
    dev: &crate::keys::DevLookup,
) -> anyhow::Result<ProposalKind> {
    let given = [
        !args.set.is_empty(),
        args.text.is_some(),
        args.spend.is_some(),
        args.upgrade.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        bail!("name exactly one of --set PATH=VALUE (repeatable), --text, --spend or --upgrade");
    }
    if !args.set.is_empty() {
        let edits = args
            .set
            .iter()
            .map(|e| {
                let (path, value) = e
                    .split_once('=')
                    .with_context(|| format!("--set `{e}` is not PATH=VALUE"))?;
                Ok(ParamEdit {
                    path: path.trim().into(),
                    value: value.trim().into(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        return Ok(ProposalKind::ParamChange { edits });
    }
    if let Some(text) = &args.text {
        return Ok(ProposalKind::Text {
            text: text.as_str().into(),
        });
    }
    if let Some(spend) = &args.spend {
        let (to, a) = spend
            .split_once('=')
            .with_context(|| format!("--spend `{spend}` is not ADDRESS=AMOUNT"))?;
        return Ok(ProposalKind::TreasurySpend {
            to: keys::resolve_address(to, dev).await?,
            amount: amount(a, "--spend")?,
        });
    }
    let name = args.upgrade.clone().unwrap_or_default();
    Ok(ProposalKind::SoftwareUpgrade {
        name: name.as_str().into(),
    })
}

async fn propose(client: &Client, opts: &ClientOpts, args: ProposeArgs) -> anyhow::Result<()> {
    let kind = proposal_kind(&args, &opts.dev_lookup()).await?;
    // A parameter change is checked against the parameters in force before it costs a fee.
    if let ProposalKind::ParamChange { edits } = &kind {
        client.check_params(edits).await?;
    }
    let params = client.proposals(None, Some(0)).await?.params;
    let deposit = match &args.deposit {
        Some(d) => amount(d, "--deposit")?,
        None => params.deposit_min,
    };
    // The proposing block is at least the next one: its voting ends voting_period later.
    let height = client.status().await?.height;
    let apply_height = args
        .apply_height
        .unwrap_or(height + args.sign.expires_in.min(5) + params.voting_period_blocks + 2);
    let action = Action::Governance(GovAction::Propose {
        kind,
        deposit,
        apply_height,
    });
    let s = sign_and_submit(client, opts, &args.sign, action).await?;
    let id = client.proposals(None, Some(1)).await?.next_proposal - 1;
    print_submitted(opts, &s, |h| {
        format!(
            "{} proposed (likely number {id}) at height {h}, deposit {deposit}; voting ends at height {}, applies from height {apply_height} if it passes ({})",
            s.sender,
            h + params.voting_period_blocks,
            s.id
        )
    })
}

fn proposal_text(p: &ProposalView) -> String {
    let mut out = format!(
        "proposal {} by {}: {}\n  status {:?}, deposit {} (held {})\n  proposed at {}, voting ends at {}, applies from {}\n",
        p.id,
        p.proposer,
        serde_json::to_string(&p.kind).unwrap_or_default(),
        p.status,
        p.deposit,
        p.deposit_held,
        p.submit_height,
        p.voting_end_height,
        p.apply_height
    );
    if let Some(t) = &p.tally {
        let _ = writeln!(
            out,
            "  tally: yes {} no {} abstain {} veto {} of {} voting power",
            t.yes, t.no, t.abstain, t.veto, t.power_total
        );
    }
    for v in &p.votes {
        let _ = writeln!(out, "  {} votes {}", v.voter, v.choice.name());
    }
    out.trim_end().to_string()
}

fn proposals_text(r: &ProposalsResponse) -> String {
    let mut out = format!(
        "at height {}: treasury {}, {} open; voting lasts {} blocks, deposit at least {}\n",
        r.height, r.treasury, r.open, r.params.voting_period_blocks, r.params.deposit_min
    );
    if let Some(u) = &r.upgrade {
        let _ = writeln!(
            out,
            "upgrade to {} at height {} (proposal {})",
            u.name, u.height, u.proposal
        );
    }
    for p in &r.proposals {
        let _ = writeln!(
            out,
            "{:>5}  {:<16}  {:<12}  voting ends {:>8}  applies {:>8}",
            p.id,
            p.kind.name(),
            format!("{:?}", p.status).to_lowercase(),
            p.voting_end_height,
            p.apply_height
        );
    }
    if r.proposals.is_empty() {
        out.push_str("(no proposals)\n");
    }
    out.trim_end().to_string()
}

fn power_text(r: &PowerResponse) -> String {
    format!(
        "{} at height {}: voting power {} of {}\n  locked {} until height {} (weight {})\n  bonded {} (weight {})",
        r.address,
        r.height,
        r.total,
        r.power_total,
        r.locked,
        r.lock_until_height,
        r.lock_weight,
        r.bonded,
        r.stake_weight
    )
}

/// `yun faucet`.
#[derive(Args, Debug)]
pub struct FaucetArgs {
    #[command(flatten)]
    pub sign: SignOpts,
}

/// Solves the faucet puzzle for the epoch of the next block and submits the claim without a
/// fee (a new account has nothing to pay one with; the work is the anti-spam).
pub async fn faucet(args: FaucetArgs, opts: &ClientOpts) -> anyhow::Result<()> {
    let client = Client::new(&opts.node);
    let key = keys::signer(&args.sign.from, &opts.dev_lookup()).await?;
    let address = keys::address_of(&key);
    // A second claim in an epoch is solved and sent anyway: the chain's refusal names its
    // number and the epoch's end, which is more than a local guess would.
    let terms = client.faucet(&address).await?;
    let chain_id = client.status().await?.chain_id;
    let work = terms.params.work_hashes;
    let bar = if opts.output == Output::Text {
        ProgressBar::new(work)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(ProgressStyle::with_template(
        "solving {bar:40} {human_pos}/{human_len} expected hashes ({per_sec}, {elapsed})",
    )?);
    let started = Instant::now();
    let (epoch, tick) = (terms.epoch, bar.clone());
    let nonce = tokio::task::spawn_blocking(move || {
        faucet_solve(&chain_id, &address, epoch, work, 0, u64::MAX, |n| {
            tick.set_position(n)
        })
    })
    .await?
    .context("no nonce solves the puzzle")?;
    let solve_ms = started.elapsed().as_millis();
    bar.finish_and_clear();
    let mut sign = args.sign;
    sign.fee = Some(sign.fee.unwrap_or_else(|| "0".into()));
    let action = Action::Faucet { nonce };
    let s = sign_and_submit_key(&client, &sign, &key, action).await?;
    let paid: Amount = terms.params.amount;
    print_submitted(opts, &s, |h| {
        format!(
            "{address} claimed {paid} from the faucet at height {h} (epoch {epoch}, nonce {nonce}, solved in {solve_ms} ms) ({})",
            s.id
        )
    })
}
