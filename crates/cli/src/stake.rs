//! `yun stake …`: delegated proof of stake from the command line — register and unjail a
//! validator, delegate and undelegate, and show the validator set and an account's stake.
//! A validator's account is its node's consensus key, so `register` and `unjail` sign with
//! `--from @PATH/node.key` (the node's key file, read here and never sent anywhere); `register`
//! must, since it derives the validator's seed key from the signing key.

use crate::args::{ClientOpts, amount};
use crate::keys;
use crate::output::print;
use crate::signing::{SignOpts, print_submitted, sign_and_submit, sign_and_submit_with};
use clap::Subcommand;
use std::fmt::Write as _;
use yun_client::Client;
use yun_types::api::{DelegationsResponse, ValidatorStatusView, ValidatorView, ValidatorsResponse};
use yun_types::{Action, SeedSigner};

#[derive(Subcommand, Debug)]
pub enum StakeCmd {
    /// The running epoch, its active set, and every registered validator by stake.
    Validators,
    /// One validator: bond, delegations, status, earnings.
    Validator {
        /// An address or key name.
        validator: String,
    },
    /// Make the signing account a validator, locking a self bond. Sign with the node's key
    /// (`--from @node/node.key`): the account is the consensus key.
    Register {
        /// `HOST:PORT` where the validator's node listens for p2p.
        #[arg(long)]
        p2p_address: String,
        /// Self bond in base units (at least the chain's `validator_self_bond_min`).
        #[arg(long)]
        self_bond: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Bond stake to a validator (to yourself: adds to your self bond).
    Delegate {
        /// The validator: an address or key name.
        #[arg(long)]
        validator: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Unbond stake from a validator; it returns to the balance after the unbonding period.
    Undelegate {
        #[arg(long)]
        validator: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Make a jailed validator eligible again once its jail time is over.
    Unjail {
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Set the commission the signing validator keeps from its stake's block rewards, in
    /// basis points (at most the chain's `commission_max_bps`; with delegators, raised by at
    /// most `commission_raise_max_bps` once per epoch).
    SetCommission {
        #[arg(long)]
        commission_bps: u16,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// An account's self bond, delegations and unbondings.
    Delegations {
        /// An address or key name.
        account: String,
    },
}

pub async fn stake(cmd: StakeCmd, opts: &ClientOpts) -> anyhow::Result<()> {
    let client = Client::new(&opts.node);
    let dev = opts.dev_lookup();
    match cmd {
        StakeCmd::Validators => {
            let r = client.validators().await?;
            print(opts.output, &r, || validators_text(&r))
        }
        StakeCmd::Validator { validator } => {
            let v = client
                .validator(&keys::resolve_address(&validator, &dev).await?)
                .await?;
            print(opts.output, &v, || validator_text(&v))
        }
        StakeCmd::Register {
            p2p_address,
            self_bond,
            sign,
        } => {
            let self_bond = amount(&self_bond, "--self-bond")?;
            // The seed key comes from the signing key, which must be the node's own key: the
            // node derives the same seed key to sign its blocks' randomness.
            let action = |key: &commonware_cryptography::ed25519::PrivateKey| {
                let seed = SeedSigner::from_node_key(key);
                Action::RegisterValidator {
                    p2p_address,
                    self_bond,
                    seed_key: seed.key(),
                    seed_key_possession: seed.possession(&keys::address_of(key)),
                }
            };
            let s = sign_and_submit_with(&client, opts, &sign, action).await?;
            print_submitted(opts, &s, |h| {
                format!(
                    "{} is a validator from height {h}, self bond {self_bond}; it joins the active set at the next epoch if its stake ranks ({})",
                    s.sender, s.id
                )
            })
        }
        StakeCmd::Delegate {
            validator,
            amount: a,
            sign,
        } => {
            let validator = keys::resolve_address(&validator, &dev).await?;
            let amount = amount(&a, "--amount")?;
            let action = Action::Delegate { validator, amount };
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            print_submitted(opts, &s, |h| {
                format!(
                    "{} bonded {amount} to {validator} at height {h} ({})",
                    s.sender, s.id
                )
            })
        }
        StakeCmd::Undelegate {
            validator,
            amount: a,
            sign,
        } => {
            let validator = keys::resolve_address(&validator, &dev).await?;
            let amount = amount(&a, "--amount")?;
            let action = Action::Undelegate { validator, amount };
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            let unbonding = client.genesis().await?.params.staking.unbonding_blocks;
            print_submitted(opts, &s, |h| {
                format!(
                    "{} unbonding {amount} from {validator}: back in the balance after height {} ({})",
                    s.sender,
                    h + unbonding,
                    s.id
                )
            })
        }
        StakeCmd::SetCommission {
            commission_bps,
            sign,
        } => {
            let action = Action::SetCommission { commission_bps };
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            print_submitted(opts, &s, |h| {
                format!(
                    "{} commission set to {commission_bps} bps at height {h} ({})",
                    s.sender, s.id
                )
            })
        }
        StakeCmd::Unjail { sign } => {
            let s = sign_and_submit(&client, opts, &sign, Action::Unjail).await?;
            print_submitted(opts, &s, |h| {
                format!(
                    "{} unjailed at height {h}; eligible from the next epoch ({})",
                    s.sender, s.id
                )
            })
        }
        StakeCmd::Delegations { account } => {
            let r = client
                .delegations(&keys::resolve_address(&account, &dev).await?)
                .await?;
            print(opts.output, &r, || delegations_text(&r))
        }
    }
}

fn validators_text(r: &ValidatorsResponse) -> String {
    let mut out = format!(
        "epoch {} (at height {}; the next starts at height {}), {} of at most {} active\n",
        r.epoch,
        r.height,
        r.next_epoch_height,
        r.active.len(),
        r.active_validators_max
    );
    let _ = writeln!(
        out,
        "{:<64}  {:>20}  {:<7}  {:<6}",
        "validator", "stake", "status", "active"
    );
    for v in &r.validators {
        let _ = writeln!(
            out,
            "{:<64}  {:>20}  {:<7}  {:<6}",
            v.address,
            v.stake,
            status(v.status),
            if v.in_active_set { "yes" } else { "no" }
        );
    }
    if r.validators.is_empty() {
        out.push_str("(no validator has registered; genesis validators run epoch 0)\n");
    }
    let _ = write!(out, "{} registered", r.validators_total);
    out
}

fn status(s: ValidatorStatusView) -> &'static str {
    match s {
        ValidatorStatusView::Active => "active",
        ValidatorStatusView::Jailed => "jailed",
    }
}

fn validator_text(v: &ValidatorView) -> String {
    format!(
        "validator   {}\np2p         {}\nstake       {} (self bond {}, delegated {})\nstatus      {}{}\nactive set  {}\nearned      {}\nslashed     {}\nregistered  at height {}\ncommission  {} bps\nrewards     {} (delegators owed {} this epoch)\nmissed      {} of {} signer records this epoch, {} in total; jailed for downtime {} times",
        v.address,
        v.p2p_address,
        v.stake,
        v.self_bond,
        v.delegated,
        status(v.status),
        if v.status == ValidatorStatusView::Jailed {
            format!(" until height {}", v.jailed_until_height)
        } else {
            String::new()
        },
        if v.in_active_set { "yes" } else { "no" },
        v.fees_earned,
        v.slashed,
        v.registered_height,
        v.commission_bps,
        v.rewards_earned,
        v.delegator_rewards_owed,
        v.missed_blocks,
        v.counted_blocks,
        v.missed_blocks_total,
        v.downtime_jails
    )
}

fn delegations_text(r: &DelegationsResponse) -> String {
    let mut out = format!("{} at height {}\n", r.address, r.height);
    if let Some(b) = r.self_bond {
        let _ = writeln!(out, "self bond {b}");
    }
    if r.delegations.is_empty() && r.unbondings.is_empty() {
        out.push_str("no delegations");
        return out;
    }
    for d in &r.delegations {
        let _ = writeln!(
            out,
            "delegated {} to {} since height {} (rewards compounded {})",
            d.amount, d.validator, d.since_height, d.rewards_earned
        );
    }
    for u in &r.unbondings {
        let _ = writeln!(
            out,
            "unbonding {} from {} until height {}",
            u.amount, u.validator, u.release_height
        );
    }
    out.trim_end().to_string()
}
