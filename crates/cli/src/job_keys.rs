//! Encrypted jobs on the requester's side (`yun job submit --encrypt`, `yun job share-keys`):
//! the job's own x25519 key, kept in a 0600 file under `$YUN_HOME/job-keys`; inputs encrypted
//! to it before they are uploaded; and its secret sealed to each assigned provider's on-chain
//! key (`ShareJobKeys`) once the chain has drawn the provider.

use crate::args::ClientOpts;
use crate::jobfile::Input;
use crate::keys;
use crate::output::print;
use crate::signing::{SignOpts, sign_and_submit_key};
use anyhow::{Context, bail};
use commonware_cryptography::ed25519::PrivateKey;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use yun_client::Client;
use yun_client::seal::{self, SealIdentity};
use yun_types::api::{JobResponse, ReplicaState};
use yun_types::market::JobId;
use yun_types::storage::{SEALED_KEYS_PER_TX_MAX, SealedKey, StorageAction};
use yun_types::{Action, Address, Hash32};

/// Where job keys are kept: `$YUN_HOME/job-keys` (mode 0700), one `<public key>.key` file
/// (mode 0600) each, holding the secret as hex.
pub fn job_keys_dir() -> PathBuf {
    keys::yun_home().join("job-keys")
}

fn key_path(public: &Hash32) -> PathBuf {
    job_keys_dir().join(format!("{public}.key"))
}

/// A fresh job key, on disk (created 0600 before the secret is written, synced) before any
/// input is encrypted to it: a job is never posted whose key could be lost.
pub fn create_job_key() -> anyhow::Result<SealIdentity> {
    let dir = job_keys_dir();
    yun_node::private_file::create_private_dir(&dir)?;
    let identity = SealIdentity::generate();
    let path = key_path(&identity.public_key());
    yun_node::private_file::write_private_file(&path, hex::encode(identity.secret()).as_bytes())?;
    Ok(identity)
}

/// The job key whose public half is `public` (the job's `encryption_key`), from this machine.
pub fn load_job_key(public: &Hash32) -> anyhow::Result<SealIdentity> {
    let path = key_path(public);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading the encrypted job's key {} (only the machine and YUN_HOME that submitted \
             the job hold it)",
            path.display()
        )
    })?;
    let secret: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{} does not hold a 32-byte hex key", path.display()))?;
    let identity = SealIdentity::from_secret(secret);
    if identity.public_key() != *public {
        bail!("{} holds another job's key", path.display());
    }
    Ok(identity)
}

/// `input` encrypted to the job's key: a file into `scratch` (a private temporary directory),
/// bytes in memory. An empty input stays empty (there is nothing to hide, and the agent
/// reads no blob for it).
pub fn encrypt_input(job_key: &Hash32, input: &Input, scratch: &Path) -> anyhow::Result<Input> {
    Ok(match input {
        Input::Empty => Input::Empty,
        Input::Bytes(b) => Input::Bytes(seal::encrypt_bytes(job_key, b)?),
        Input::File(path) => {
            let name = format!("{}.age", blake3::hash(path.to_string_lossy().as_bytes()));
            let dst = scratch.join(name);
            seal::encrypt_file(std::slice::from_ref(job_key), path, &dst)?;
            Input::File(dst)
        }
    })
}

/// Seals a job's key to the providers the chain assigned to it, as they appear.
#[derive(Debug)]
pub struct KeySharer {
    pub identity: SealIdentity,
    pub key: PrivateKey,
    pub sign: SignOpts,
    /// Providers the key is known to be sealed to on chain.
    pub shared: BTreeSet<Address>,
}

impl KeySharer {
    /// Seals the key to every provider on the job's tasks that does not have it yet and sends
    /// `ShareJobKeys` (at most [`SEALED_KEYS_PER_TX_MAX`] a transaction, each waited for).
    /// A provider that published no encryption key is skipped (it cannot run the job, and the
    /// chain does not slash it for that). Returns how many were shared now.
    pub async fn share(&mut self, client: &Client, job: &JobResponse) -> anyhow::Result<usize> {
        let mut keys = Vec::new();
        for p in assigned(job) {
            if self.shared.contains(&p) {
                continue;
            }
            if client.job_key(&job.id, &p).await.is_ok() {
                self.shared.insert(p);
                continue;
            }
            let published = client
                .provider(&p)
                .await
                .ok()
                .and_then(|v| v.storage)
                .and_then(|s| s.encryption_key);
            let Some(to) = published else {
                tracing::warn!(provider = %p, "no encryption key on chain: cannot share the job's key");
                continue;
            };
            keys.push(SealedKey {
                provider: p,
                sealed: seal::seal_key(&to, &self.identity.secret())?,
            });
        }
        let count = keys.len();
        for batch in keys.chunks(SEALED_KEYS_PER_TX_MAX) {
            let action = Action::Storage(StorageAction::ShareJobKeys {
                job: job.id,
                keys: batch.to_vec(),
            });
            sign_and_submit_key(client, &self.sign, &self.key, action).await?;
            self.shared.extend(batch.iter().map(|k| k.provider));
        }
        Ok(count)
    }
}

/// Every provider with a replica of the job's tasks (map and reduce) still to compute, in
/// address order: only those need the key.
fn assigned(job: &JobResponse) -> BTreeSet<Address> {
    job.tasks
        .iter()
        .map(|t| &t.task)
        .chain(job.reduce.as_ref().map(|r| &r.task))
        .flat_map(|t| t.replicas.iter())
        .filter(|r| matches!(r.state, ReplicaState::Assigned { .. }))
        .map(|r| r.provider)
        .collect()
}

/// `yun job share-keys ID`: one round of [`KeySharer::share`] with the key kept here.
pub async fn share_keys(
    client: &Client,
    opts: &ClientOpts,
    id: &JobId,
    sign: SignOpts,
) -> anyhow::Result<()> {
    let job = client.job(id).await?;
    let Some(public) = job.job.spec.encryption_key else {
        bail!("job {id} is not encrypted: its providers need no key");
    };
    let mut sharer = KeySharer {
        identity: load_job_key(&public)?,
        key: keys::signer(&sign.from, &opts.dev_lookup()).await?,
        sign,
        shared: BTreeSet::new(),
    };
    let count = sharer.share(client, &job).await?;
    let value =
        serde_json::json!({ "job": id, "shared_now": count, "providers_with_key": sharer.shared });
    print(opts.output, &value, || {
        format!(
            "job {id}: key sealed to {count} more provider(s); {} assigned provider(s) hold it",
            sharer.shared.len()
        )
    })
}
