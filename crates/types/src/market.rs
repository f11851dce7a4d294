//! Wire types of the compute market: provider offers, job postings with their tasks and
//! verification policy, and the commit-reveal messages providers send for their results.

use crate::codec_util::{read_str, str_size, write_str};
use crate::{Address, Amount, Hash32};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, RangeCfg, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Most labels a provider may advertise or a job may require.
pub const LABELS_MAX: usize = 16;
/// Longest label key or value, in bytes.
pub const LABEL_BYTES_MAX: usize = 64;
/// Longest provider endpoint URL or data-source URL, in bytes.
pub const URL_BYTES_MAX: usize = 256;

/// Most tasks in one job.
pub const TASKS_PER_JOB_MAX: usize = 1_024;
/// Most arguments of one task, and longest argument in bytes.
pub const TASK_ARGS_MAX: usize = 16;
pub const TASK_ARG_BYTES_MAX: usize = 256;
/// Most data sources one job may list.
pub const DATA_SOURCES_MAX: usize = 8;
/// Most commits or reveals in one transaction.
pub const RESULTS_PER_TX_MAX: usize = 256;
/// Most replicas one task may ever have.
pub const REPLICAS_MAX: u8 = 9;

/// Whether `url` is a plain http(s) address a provider may be pointed at: `http://` or
/// `https://`, a non-empty host, an optional port and path, at most `URL_BYTES_MAX` bytes,
/// and no user info, query, fragment, whitespace or control characters (a requester-named
/// source must not smuggle credentials or parameters to whatever service it names).
pub fn is_plain_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let Some(rest) = rest else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    url.len() <= URL_BYTES_MAX
        && !host.is_empty()
        && !host.starts_with(':')
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | '?' | '#' | '\\'))
}

/// The id of a job: the id of the transaction that posted it.
pub type JobId = Hash32;

/// A UTF-8 string with a byte bound given by where it is used (the decode config).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Default,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(transparent)]
pub struct Text(pub String);

impl Write for Text {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.0, buf);
    }
}
impl EncodeSize for Text {
    fn encode_size(&self) -> usize {
        str_size(&self.0)
    }
}
impl Read for Text {
    type Cfg = usize;
    fn read_cfg(buf: &mut impl Buf, max: &usize) -> Result<Self, Error> {
        Ok(Text(read_str(buf, *max)?))
    }
}
impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(s.to_string())
    }
}

/// Implements the canonical encoding of a struct field by field, each read with its config.
macro_rules! codec_struct {
    ($name:ident { $($field:ident : $cfg:expr),* $(,)? }) => {
        impl Write for $name {
            fn write(&self, buf: &mut impl BufMut) {
                $( self.$field.write(buf); )*
            }
        }
        impl EncodeSize for $name {
            fn encode_size(&self) -> usize {
                0 $( + self.$field.encode_size() )*
            }
        }
        impl Read for $name {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
                Ok($name { $( $field: Read::read_cfg(buf, &$cfg)?, )* })
            }
        }
    };
}

pub(crate) use codec_struct;

pub(crate) fn list<C>(max: usize, inner: C) -> (RangeCfg<usize>, C) {
    (RangeCfg::new(0..=max), inner)
}

/// `key=value`, e.g. `region=eu` or `gpu=a100`.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct Label {
    pub key: Text,
    pub value: Text,
}
codec_struct!(Label {
    key: LABEL_BYTES_MAX,
    value: LABEL_BYTES_MAX
});

/// What a provider offers.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct ProviderSpec {
    /// Tasks it runs at once.
    pub slots: u32,
    /// Memory each slot can give a task.
    pub memory_bytes_per_slot: u64,
    /// Unused: kept for the encoding, ignored by the chain (any value is accepted and changes
    /// nothing). Storage capacity for deals is offered with `OfferStorage`, not here.
    pub storage_bytes: u64,
    pub labels: Vec<Label>,
    /// Lowest price it accepts, per million fuel.
    pub ask_per_mfuel: Amount,
    /// Where it serves task outputs.
    pub endpoint: Text,
    /// blake3 of the provider's sandbox engine fingerprint class (`yun_exec::EngineFingerprint`):
    /// the replicas of one task all come from one class, so their verdicts can be compared.
    /// Zero (or absent in JSON) is refused (`EngineClassMissing`).
    #[serde(default)]
    pub engine_class: Hash32,
}
codec_struct!(ProviderSpec {
    slots: (),
    memory_bytes_per_slot: (),
    storage_bytes: (),
    labels: list(LABELS_MAX, ()),
    ask_per_mfuel: (),
    endpoint: URL_BYTES_MAX,
    engine_class: (),
});

/// How a job's results are verified; the requester pays for the replicas it asks for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Verification {
    /// One replica, accepted as returned.
    None,
    /// `k` replicas; `quorum` equal verdicts accept.
    Replicate { k: u8, quorum: u8 },
    /// Replicas added one at a time until the agreeing ones' combined error estimate is at most
    /// `target_error_ppm` parts per million.
    Adaptive { target_error_ppm: u32 },
}

impl Write for Verification {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Verification::None => 0u8.write(buf),
            Verification::Replicate { k, quorum } => {
                1u8.write(buf);
                k.write(buf);
                quorum.write(buf);
            }
            Verification::Adaptive { target_error_ppm } => {
                2u8.write(buf);
                target_error_ppm.write(buf);
            }
        }
    }
}
impl EncodeSize for Verification {
    fn encode_size(&self) -> usize {
        match self {
            Verification::None => 1,
            Verification::Replicate { .. } => 3,
            Verification::Adaptive { .. } => 5,
        }
    }
}
impl Read for Verification {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        match u8::read(buf)? {
            0 => Ok(Verification::None),
            1 => Ok(Verification::Replicate {
                k: u8::read(buf)?,
                quorum: u8::read(buf)?,
            }),
            2 => Ok(Verification::Adaptive {
                target_error_ppm: u32::read(buf)?,
            }),
            tag => Err(Error::InvalidEnum(tag)),
        }
    }
}

/// One task: an input blob and its arguments.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct TaskSpec {
    pub input_hash: Hash32,
    pub input_bytes: u64,
    pub args: Vec<Text>,
}
codec_struct!(TaskSpec {
    input_hash: (),
    input_bytes: (),
    args: list(TASK_ARGS_MAX, TASK_ARG_BYTES_MAX),
});

/// The optional reduce step. Once every map task has ended and at least one has an accepted
/// output, the chain adds a reduce task (index: the number of map tasks) that runs this
/// program over those outputs on the network, with the job's fuel, memory, verification and
/// bid; `yun job submit --reduce local` runs it on the requester's machine instead.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct ReduceSpec {
    pub program_hash: Hash32,
    pub program_bytes: u64,
    pub args: Vec<Text>,
}
codec_struct!(ReduceSpec {
    program_hash: (),
    program_bytes: (),
    args: list(TASK_ARGS_MAX, TASK_ARG_BYTES_MAX),
});

/// A job as posted.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct JobSpec {
    pub program_hash: Hash32,
    pub program_bytes: u64,
    pub tasks: Vec<TaskSpec>,
    pub fuel_per_task: u64,
    pub memory_bytes_per_task: u64,
    pub verification: Verification,
    /// Highest price the requester pays, per million fuel.
    pub bid_per_mfuel: Amount,
    /// Height by which every task must be assigned; unfinished work is refunded after it.
    pub deadline_height: u64,
    /// Labels every provider of this job must carry.
    pub required_labels: Vec<Label>,
    pub reduce: Option<ReduceSpec>,
    pub data_sources: Vec<Text>,
    /// Set for an encrypted job: the job's own x25519 public key. Its inputs are age
    /// ciphertext to it, its providers encrypt their outputs to it, and the requester seals its
    /// secret to each assigned provider with `ShareJobKeys`. A provider whose key never
    /// arrived is not slashed for its silence.
    #[serde(default)]
    pub encryption_key: Option<Hash32>,
}
codec_struct!(JobSpec {
    program_hash: (),
    program_bytes: (),
    tasks: list(TASKS_PER_JOB_MAX, ()),
    fuel_per_task: (),
    memory_bytes_per_task: (),
    verification: (),
    bid_per_mfuel: (),
    deadline_height: (),
    required_labels: list(LABELS_MAX, ()),
    reduce: (),
    data_sources: list(DATA_SOURCES_MAX, URL_BYTES_MAX),
    encryption_key: (),
});

/// One task of one job.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct TaskRef {
    pub job: JobId,
    pub index: u32,
}
codec_struct!(TaskRef { job: (), index: () });

/// The deterministic result of running a task, as the sandbox reports it: status tag and value
/// (exit code or trap kind), fuel used and the output digest.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct Verdict {
    pub status_tag: u8,
    pub status_value: i32,
    pub fuel_used: u64,
    pub output_digest: Hash32,
}
codec_struct!(Verdict {
    status_tag: (),
    status_value: (),
    fuel_used: (),
    output_digest: ()
});

/// `status_tag` of a *cannot-run* verdict: the job's own data is unfit to run (the sandbox
/// refuses the module, or a blob's size is not the declared one). Replicas commit and reveal it
/// like any verdict, so it is verified — a provider that claims it about runnable data is
/// outvoted as a dissenter — and agreeing replicas are paid `cannot_run_fuel`, not silence.
pub const CANNOT_RUN_TAG: u8 = 0xC0;

/// Why a job cannot run, as the `status_value` of a cannot-run verdict (`cause << 16 | detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum CannotRun {
    /// The sandbox's deterministic admission refuses the module; detail: the refusal's code.
    ModuleRefused = 1,
    /// The program's bytes are not the size the job declares.
    ProgramSizeMismatch = 2,
    /// A task's input bytes are not the size the job declares.
    InputSizeMismatch = 3,
    /// A program or input the job names is on no node the provider can reach. Not provable
    /// on chain yet (that needs storage receipts), so it is only as good as the replicas that
    /// agree: one claiming it wrongly is outvoted (unpaid, distrusted), never paid for it.
    DataMissing = 4,
    /// A reduce task's inputs (the verified map outputs, unpacked) exceed what the sandbox
    /// takes under `/in`; detail: 1 bytes (`IN_BYTES_MAX`), 2 files (`IN_FILES_MAX`), 3 a
    /// name or path too long. Fixed by the outputs' digests, so every replica finds the same.
    ReduceInputTooLarge = 5,
    /// An encrypted job's data does not open with the key the requester sealed to this
    /// provider; detail: 0 the sealed key, 1 the input, 2 a reduce input. The requester's
    /// mistake (or lie), found alike by every replica it shared that key with.
    Undecryptable = 6,
}

impl Verdict {
    /// The cannot-run verdict for `cause` (no fuel, no output).
    pub fn cannot_run(cause: CannotRun, detail: u16) -> Verdict {
        Verdict {
            status_tag: CANNOT_RUN_TAG,
            status_value: ((cause as i32) << 16) | i32::from(detail),
            fuel_used: 0,
            output_digest: Hash32::ZERO,
        }
    }

    pub fn is_cannot_run(&self) -> bool {
        self.status_tag == CANNOT_RUN_TAG
    }
    /// The commitment a provider publishes before revealing: binds the verdict, a secret salt,
    /// the provider and the task, so nobody can copy or replay another's commitment.
    pub fn commitment(&self, salt: &Hash32, provider: &Address, task: &TaskRef) -> Hash32 {
        let mut h = blake3::Hasher::new_derive_key("yun/market/commit/v1");
        h.update(&commonware_codec::Encode::encode(self));
        h.update(salt.as_bytes());
        h.update(provider.as_bytes());
        h.update(&commonware_codec::Encode::encode(task));
        Hash32(*h.finalize().as_bytes())
    }
}

/// A commitment to one task's verdict.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct ResultCommit {
    pub task: TaskRef,
    pub commitment: Hash32,
}
codec_struct!(ResultCommit {
    task: (),
    commitment: ()
});

/// The opening of an earlier commitment.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct ResultReveal {
    pub task: TaskRef,
    pub verdict: Verdict,
    pub salt: Hash32,
}
codec_struct!(ResultReveal {
    task: (),
    verdict: (),
    salt: ()
});

/// Reads a bounded list of results (commits or reveals).
pub(crate) fn results_cfg() -> (RangeCfg<usize>, ()) {
    list(RESULTS_PER_TX_MAX, ())
}

/// The seed of a task's randomness (`random_get` in the sandbox): every replica of the task
/// derives the same one from the task's identity, and no requester or provider chooses it.
pub fn task_seed(task: &TaskRef) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("yun/task/seed/v1");
    h.update(&commonware_codec::Encode::encode(task));
    *h.finalize().as_bytes()
}
