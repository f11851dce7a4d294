//! `yun provider …`, `yun job …` and `yun market`: the compute market from the command line.
//! Signing commands go through [`crate::signing::sign_and_submit`]; queries print the API's
//! JSON with `--output json`, readable lines and tables otherwise (see `market_text`).

use crate::args::{
    ClientOpts, amount, endpoint, hash, job_id, mib, parse_labels, parse_verification,
};
use crate::keys;
use crate::market_text as text;
use crate::output::{Output, print};
use crate::signing::{SignOpts, print_submitted, sign_and_submit};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use yun_client::Client;
use yun_types::market::{JobSpec, ProviderSpec, TaskSpec};
use yun_types::{Action, Hash32};

#[derive(Subcommand, Debug)]
pub enum ProviderCmd {
    /// Register as a provider: lock a bond and offer slots at an asking price.
    Register {
        #[command(flatten)]
        offer: OfferArgs,
        /// Bond to lock, in base units (at least the market's `provider_bond_min`).
        #[arg(long)]
        bond: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Change the offer; flags not given keep their current value.
    Update {
        #[command(flatten)]
        offer: OfferUpdateArgs,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Stop receiving new tasks (running ones finish); `--resume` to receive them again.
    Pause {
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Leave the market: no new tasks; the bond returns after the unbonding period.
    Exit {
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Show a provider's offer, bond, status, reputation and earnings.
    Status {
        /// An address or key name (dev1 …).
        provider: String,
    },
    /// The replicas a provider is working on now, with their deadlines.
    Assignments {
        /// An address or key name.
        provider: String,
    },
    /// Run the provider agent: register if needed, follow assignments, run tasks in the
    /// sandbox, commit and reveal verdicts, serve outputs. Until Ctrl-C.
    Run(Box<crate::provider_run::ProviderRunArgs>),
    /// List providers in address order.
    List {
        /// At most this many (the node caps it at 1,000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Start after this address (the previous page's last).
        #[arg(long)]
        after: Option<String>,
    },
}

/// A provider's offer.
#[derive(Args, Debug, Clone)]
pub struct OfferArgs {
    /// Tasks it runs at once.
    #[arg(long)]
    pub slots: u32,
    /// Memory each slot gives a task, in MiB.
    #[arg(long)]
    pub memory_mb: u64,
    /// Lowest price accepted, per million fuel, in base units.
    #[arg(long)]
    pub ask: String,
    /// Where it serves task outputs (http:// or https://).
    #[arg(long)]
    pub endpoint: String,
    /// A label it carries, `key=value` (repeat for more).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Storage offered, in MiB (for storage deals, later).
    #[arg(long, default_value_t = 0)]
    pub storage_mb: u64,
}

/// Changes to a provider's offer.
#[derive(Args, Debug, Clone)]
pub struct OfferUpdateArgs {
    #[arg(long)]
    pub slots: Option<u32>,
    #[arg(long)]
    pub memory_mb: Option<u64>,
    #[arg(long)]
    pub ask: Option<String>,
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Replaces every label (repeat for more).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Drop every label.
    #[arg(long, conflicts_with = "labels")]
    pub no_labels: bool,
    #[arg(long)]
    pub storage_mb: Option<u64>,
    /// Declare this machine's sandbox engine class (after upgrading the provider's machine;
    /// run it there). Without it the registered class stays: an update sent from another
    /// machine must not re-class the provider. Refused while tasks are in flight.
    #[arg(long)]
    pub local_engine_class: bool,
}

#[derive(Subcommand, Debug)]
pub enum JobCmd {
    /// Submit a job file: upload, post, watch it run, download the verified outputs, reduce.
    Submit(Box<crate::submit::SubmitArgs>),
    /// Download a job's verified outputs (checked against their digests) and its network
    /// reduce's verified output (or run its reduce here with `--reduce local`).
    Results {
        id: String,
        /// Where to put them (default ./yun-out/JOB).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value_t = crate::results::ReduceWhere::Network)]
        reduce: crate::results::ReduceWhere,
    },
    /// Post a job by hand: N tasks of one uploaded program, escrow locked for the worst case.
    Post(Box<PostArgs>),
    /// Seal an encrypted job's key to every provider assigned to it that lacks it (for a job
    /// posted with `--encrypt --detach`, or whose requester was offline): run it on the
    /// machine that submitted the job, which holds the key.
    ShareKeys {
        /// The job id.
        id: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Cancel a job: waiting tasks fail now, running ones finish; unspent escrow returns.
    Cancel {
        /// The job id (the id of the transaction that posted it).
        id: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Show a job, its escrow and every task with its replicas.
    Status { id: String },
    /// Why a job's tasks are still waiting, and which constraints excluded which providers.
    Why { id: String },
    /// A requester's usage: jobs posted, verified work, spending.
    Requester {
        /// An address or key name.
        address: String,
    },
    /// List jobs in id order: everyone's, or one requester's, in one status.
    List {
        /// Only jobs this address or key name posted.
        #[arg(long)]
        requester: Option<String>,
        /// Only jobs in this status.
        #[arg(long, value_enum)]
        status: Option<JobStatusArg>,
        /// At most this many (the node allows at most 500).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this job id (printed as `--after …` under a full page).
        #[arg(long)]
        after: Option<String>,
    },
    /// The tasks waiting in the market's queue for (more) replicas, with their bids.
    Queue {
        /// At most this many (the node allows at most 1,000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Start after this task, `JOB:INDEX` (printed under a full page).
        #[arg(long)]
        after: Option<String>,
    },
}

/// A job's status, as `yun job list --status` takes it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JobStatusArg {
    Open,
    Cancelled,
    Settled,
}

impl From<JobStatusArg> for yun_types::api::JobStatus {
    fn from(s: JobStatusArg) -> Self {
        match s {
            JobStatusArg::Open => Self::Open,
            JobStatusArg::Cancelled => Self::Cancelled,
            JobStatusArg::Settled => Self::Settled,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct PostArgs {
    /// blake3 of the program (64 hex).
    #[arg(long)]
    pub program: String,
    /// Size of the program in bytes.
    #[arg(long)]
    pub program_bytes: u64,
    /// Number of tasks (each with the same input and no arguments).
    #[arg(long)]
    pub tasks: u32,
    /// Fuel limit per task.
    #[arg(long)]
    pub fuel: u64,
    /// Memory per task, in MiB.
    #[arg(long)]
    pub memory_mb: u64,
    /// Highest price paid, per million fuel, in base units.
    #[arg(long)]
    pub bid: String,
    /// `none`, `k=3` (quorum a majority), `k=3,q=2`, or `adaptive=1e-3` (target error rate).
    #[arg(long, default_value = "none")]
    pub verify: String,
    /// Height by which every task must be assigned.
    #[arg(long, conflicts_with = "deadline_in")]
    pub deadline: Option<u64>,
    /// Blocks from now to the deadline.
    #[arg(long, default_value_t = 1_000)]
    pub deadline_in: u64,
    /// blake3 of every task's input (default: zero, no input).
    #[arg(long)]
    pub input_hash: Option<String>,
    /// Size of the input in bytes.
    #[arg(long, default_value_t = 0)]
    pub input_bytes: u64,
    /// A label every provider must carry, `key=value` (repeat for more).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    #[command(flatten)]
    pub sign: SignOpts,
}

pub async fn provider(cmd: ProviderCmd, opts: &ClientOpts) -> anyhow::Result<()> {
    let client = Client::new(&opts.node);
    match cmd {
        ProviderCmd::Run(args) => crate::provider_run::run(*args, opts).await,
        ProviderCmd::Register { offer, bond, sign } => {
            let spec = ProviderSpec {
                slots: offer.slots,
                memory_bytes_per_slot: mib(offer.memory_mb, "--memory-mb")?,
                storage_bytes: mib(offer.storage_mb, "--storage-mb")?,
                labels: parse_labels(&offer.labels)?,
                ask_per_mfuel: amount(&offer.ask, "--ask")?,
                endpoint: endpoint(&offer.endpoint)?,
                engine_class: crate::devnet::local_engine_class()?,
            };
            let bond = amount(&bond, "--bond")?;
            let action = Action::RegisterProvider { spec, bond };
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            print_submitted(opts, &s, |h| {
                format!(
                    "{} is a provider from height {h}: {} slots, bond {bond} locked ({})",
                    s.sender, offer.slots, s.id
                )
            })
        }
        ProviderCmd::Update { offer, sign } => {
            let me = keys::address_of(&keys::signer(&sign.from, &opts.dev_lookup()).await?);
            let mut spec = client
                .provider(&me)
                .await
                .with_context(|| format!("{me} is not a provider yet: `yun provider register`"))?
                .provider
                .spec;
            if let Some(n) = offer.slots {
                spec.slots = n;
            }
            if let Some(m) = offer.memory_mb {
                spec.memory_bytes_per_slot = mib(m, "--memory-mb")?;
            }
            if let Some(m) = offer.storage_mb {
                spec.storage_bytes = mib(m, "--storage-mb")?;
            }
            if let Some(a) = &offer.ask {
                spec.ask_per_mfuel = amount(a, "--ask")?;
            }
            if let Some(e) = &offer.endpoint {
                spec.endpoint = endpoint(e)?;
            }
            if offer.local_engine_class {
                spec.engine_class = crate::devnet::local_engine_class()?;
            }
            if offer.no_labels {
                spec.labels.clear();
            } else if !offer.labels.is_empty() {
                spec.labels = parse_labels(&offer.labels)?;
            }
            let s = sign_and_submit(&client, opts, &sign, Action::UpdateProvider { spec }).await?;
            print_submitted(opts, &s, |h| {
                format!("{}'s offer updated at height {h} ({})", s.sender, s.id)
            })
        }
        ProviderCmd::Pause { resume, sign } => {
            let action = Action::PauseProvider { paused: !resume };
            let s = sign_and_submit(&client, opts, &sign, action).await?;
            let what = if resume { "resumed" } else { "paused" };
            print_submitted(opts, &s, |h| {
                format!("{} {what} at height {h} ({})", s.sender, s.id)
            })
        }
        ProviderCmd::Exit { sign } => {
            let s = sign_and_submit(&client, opts, &sign, Action::ExitProvider).await?;
            let p = client.provider(&s.sender).await.ok();
            print_submitted(opts, &s, |h| {
                let release = p.map_or(String::new(), |p| match p.provider.status {
                    yun_types::api::ProviderStatus::Exiting { release_height } => {
                        format!("; the bond returns at height {release_height}")
                    }
                    _ => String::new(),
                });
                format!("{} exiting from height {h}{release} ({})", s.sender, s.id)
            })
        }
        ProviderCmd::Status { provider } => {
            let a = keys::resolve_address(&provider, &opts.dev_lookup()).await?;
            let p = client.provider(&a).await?;
            print(opts.output, &p, || text::provider(&p))
        }
        ProviderCmd::Assignments { provider } => {
            let a = keys::resolve_address(&provider, &opts.dev_lookup()).await?;
            let r = client.provider_assignments(&a).await?;
            print(opts.output, &r, || text::assignments(&r))
        }
        ProviderCmd::List { limit, after } => {
            let after = match after {
                Some(a) => Some(keys::resolve_address(&a, &opts.dev_lookup()).await?),
                None => None,
            };
            let r = client.providers(limit, after.as_ref()).await?;
            print(opts.output, &r, || text::providers(&r))
        }
    }
}

pub async fn job(cmd: JobCmd, opts: &ClientOpts) -> anyhow::Result<()> {
    let client = Client::new(&opts.node);
    match cmd {
        JobCmd::Post(args) => post(&client, opts, *args).await,
        JobCmd::Submit(args) => crate::submit::submit(*args, opts).await,
        JobCmd::Results { id, out, reduce } => {
            crate::results::results(&id, out, reduce, opts).await
        }
        JobCmd::ShareKeys { id, sign } => {
            crate::job_keys::share_keys(&client, opts, &job_id(&id)?, sign).await
        }
        JobCmd::Cancel { id, sign } => {
            let job = job_id(&id)?;
            let s = sign_and_submit(&client, opts, &sign, Action::CancelJob { job }).await?;
            let j = client.job(&job).await.ok();
            print_submitted(opts, &s, |h| {
                let after = j.map_or(String::new(), |j| {
                    format!(
                        "; now {}, {} refunded, {} still in escrow",
                        text::job_status(&j),
                        j.job.refunded,
                        j.job.escrow
                    )
                });
                format!("job {job} cancelled at height {h}{after}")
            })
        }
        JobCmd::Status { id } => {
            let j = client.job(&job_id(&id)?).await?;
            print(opts.output, &j, || text::job(&j))
        }
        JobCmd::Why { id } => {
            let w = client.job_why(&job_id(&id)?).await?;
            print(opts.output, &w, || text::why(&w))
        }
        JobCmd::Requester { address } => {
            let a = keys::resolve_address(&address, &opts.dev_lookup()).await?;
            let r = client.requester(&a).await?;
            print(opts.output, &r, || text::requester(&r))
        }
        JobCmd::List {
            requester,
            status,
            limit,
            after,
        } => {
            let requester = match requester {
                Some(r) => Some(keys::resolve_address(&r, &opts.dev_lookup()).await?),
                None => None,
            };
            let query = yun_client::JobsQuery {
                requester,
                status: status.map(Into::into),
                limit,
                after: after.as_deref().map(job_id).transpose()?,
            };
            let r = client.jobs(&query).await?;
            print(opts.output, &r, || text::jobs(&r))
        }
        JobCmd::Queue { limit, after } => {
            let r = client.queued_tasks(limit, after.as_deref()).await?;
            print(opts.output, &r, || text::queued_tasks(&r))
        }
    }
}

async fn post(client: &Client, opts: &ClientOpts, args: PostArgs) -> anyhow::Result<()> {
    if args.tasks == 0 || args.tasks as usize > yun_types::market::TASKS_PER_JOB_MAX {
        bail!("--tasks must be 1-{}", yun_types::market::TASKS_PER_JOB_MAX);
    }
    let deadline_height = match args.deadline {
        Some(h) => h,
        None => client.status().await?.height + args.deadline_in.max(1),
    };
    let input_hash = match &args.input_hash {
        Some(h) => hash(h, "--input-hash")?,
        None => Hash32([0; 32]),
    };
    let task = TaskSpec {
        input_hash,
        input_bytes: args.input_bytes,
        args: Vec::new(),
    };
    let spec = JobSpec {
        program_hash: hash(&args.program, "--program")?,
        program_bytes: args.program_bytes,
        tasks: vec![task; args.tasks as usize],
        fuel_per_task: args.fuel,
        memory_bytes_per_task: mib(args.memory_mb, "--memory-mb")?,
        verification: parse_verification(&args.verify)?,
        bid_per_mfuel: amount(&args.bid, "--bid")?,
        deadline_height,
        required_labels: parse_labels(&args.labels)?,
        reduce: None,
        data_sources: Vec::new(),
        encryption_key: None,
    };
    let escrow = yun_state::market::escrow_for(&spec)
        .map_err(|r| anyhow::anyhow!("{} ({}): {}", r.name(), r.code(), r.message()))?;
    let s = sign_and_submit(client, opts, &args.sign, Action::PostJob { spec }).await?;
    let job = s.id;
    match opts.output {
        Output::Json => {
            let v = serde_json::json!({"job": job, "escrow": escrow, "tx": s.status});
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Output::Text => match s.height() {
            Some(h) => println!(
                "job {job} posted at height {h}: {} task(s), escrow {escrow} locked, deadline height {deadline_height}\n\
                 follow it with `yun job status ID` or `yun job why ID`",
                args.tasks
            ),
            None => println!("job {job} submitted"),
        },
    }
    Ok(())
}

pub async fn market(opts: &ClientOpts) -> anyhow::Result<()> {
    let m = Client::new(&opts.node).market().await?;
    print(opts.output, &m, || text::market(&m))
}
