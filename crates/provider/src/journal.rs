//! The agent's durable memory (redb): what it computed for each replica and which results it
//! has sent, and which storage proofs it has sent, so a restarted agent neither redoes
//! finished work nor forgets a commitment nor sends a proof twice.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use yun_types::Hash32;
use yun_types::market::{TaskRef, Verdict};

/// Replica records by `job ‖ index (big-endian)`, JSON values.
const WORK: TableDefinition<&[u8], &[u8]> = TableDefinition::new("work");
/// Storage proofs sent, by `deal ‖ replica ‖ epoch (big-endian)`: the height sent at.
const PROOFS: TableDefinition<&[u8], u64> = TableDefinition::new("proofs");

/// One storage challenge a provider answers: a replica of a deal in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProofKey {
    pub deal: Hash32,
    pub replica: u8,
    pub epoch: u64,
}

impl ProofKey {
    fn bytes(&self) -> Vec<u8> {
        [
            self.deal.as_bytes().as_slice(),
            &[self.replica],
            &self.epoch.to_be_bytes(),
        ]
        .concat()
    }

    fn from_bytes(b: &[u8]) -> Option<ProofKey> {
        let deal = Hash32(b.get(..32)?.try_into().ok()?);
        let replica = *b.get(32)?;
        let epoch = u64::from_be_bytes(b.get(33..41)?.try_into().ok()?);
        Some(ProofKey {
            deal,
            replica,
            epoch,
        })
    }
}

/// What the agent knows about one replica it was assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkRecord {
    pub task: TaskRef,
    /// The head height at which the agent first saw the assignment.
    pub seen_height: u64,
    pub result: WorkResult,
    /// Height at which the last commit carrying this verdict was sent.
    pub commit_sent_height: Option<u64>,
    pub reveal_sent_height: Option<u64>,
}

/// How running the task ended on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkResult {
    /// A verdict and the secret salt of its commitment; the output archive is in the blob
    /// store under `verdict.output_digest`.
    Verdict { verdict: Verdict, salt: Hash32 },
    /// The host could not produce a verdict (fetch failed, wall clock, refused module). The
    /// agent commits nothing for it rather than claim an outcome, and lets the replica expire.
    HostFault { message: String },
}

/// The journal file.
#[derive(Debug)]
pub struct Journal {
    db: Database,
}

fn key(t: &TaskRef) -> Vec<u8> {
    [t.job.as_bytes().as_slice(), &t.index.to_be_bytes()].concat()
}

impl Journal {
    pub fn open(path: &Path) -> anyhow::Result<Journal> {
        let db = Database::create(path)?;
        let w = db.begin_write()?;
        w.open_table(WORK)?;
        w.open_table(PROOFS)?;
        w.commit()?;
        Ok(Journal { db })
    }

    /// Stores records durably in one transaction (the commit returns after fsync).
    pub fn put_many<'a>(
        &self,
        records: impl IntoIterator<Item = &'a WorkRecord>,
    ) -> anyhow::Result<()> {
        let w = self.db.begin_write()?;
        {
            let mut t = w.open_table(WORK)?;
            for r in records {
                t.insert(key(&r.task).as_slice(), serde_json::to_vec(r)?.as_slice())?;
            }
        }
        w.commit()?;
        Ok(())
    }

    /// Every record by task. Bounded by the provider's slots plus what awaits reveal.
    pub fn all(&self) -> anyhow::Result<BTreeMap<TaskRef, WorkRecord>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(WORK)?;
        let mut out = BTreeMap::new();
        for entry in t.iter()? {
            let (_, v) = entry?;
            let record: WorkRecord = serde_json::from_slice(v.value())?;
            out.insert(record.task, record);
        }
        Ok(out)
    }

    pub fn remove(&self, tasks: &[TaskRef]) -> anyhow::Result<()> {
        if tasks.is_empty() {
            return Ok(());
        }
        let w = self.db.begin_write()?;
        {
            let mut t = w.open_table(WORK)?;
            for task in tasks {
                t.remove(key(task).as_slice())?;
            }
        }
        w.commit()?;
        Ok(())
    }

    /// Records that the proofs `keys` were sent at `height` (durable on return).
    pub fn put_proofs_sent(&self, keys: &[ProofKey], height: u64) -> anyhow::Result<()> {
        let w = self.db.begin_write()?;
        {
            let mut t = w.open_table(PROOFS)?;
            for k in keys {
                t.insert(k.bytes().as_slice(), height)?;
            }
        }
        w.commit()?;
        Ok(())
    }

    /// Every proof sent and not yet forgotten, with the height it was last sent at.
    pub fn proofs_sent(&self) -> anyhow::Result<BTreeMap<ProofKey, u64>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(PROOFS)?;
        let mut out = BTreeMap::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            if let Some(key) = ProofKey::from_bytes(k.value()) {
                out.insert(key, v.value());
            }
        }
        Ok(out)
    }

    /// Forgets proofs whose challenges are over (answered or not, nothing more can be sent).
    pub fn remove_proofs(&self, keys: &[ProofKey]) -> anyhow::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let w = self.db.begin_write()?;
        {
            let mut t = w.open_table(PROOFS)?;
            for k in keys {
                t.remove(k.bytes().as_slice())?;
            }
        }
        w.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_proofs_survive_a_reopen_until_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.redb");
        let (a, b) = (
            ProofKey {
                deal: Hash32([1; 32]),
                replica: 2,
                epoch: 7,
            },
            ProofKey {
                deal: Hash32([1; 32]),
                replica: 2,
                epoch: 8,
            },
        );
        {
            let j = Journal::open(&path).unwrap();
            j.put_proofs_sent(&[a, b], 40).unwrap();
            j.put_proofs_sent(&[b], 44).unwrap();
        }
        let j = Journal::open(&path).unwrap();
        let sent = j.proofs_sent().unwrap();
        assert_eq!(sent.get(&a), Some(&40));
        assert_eq!(sent.get(&b), Some(&44));
        j.remove_proofs(&[a]).unwrap();
        assert_eq!(
            j.proofs_sent().unwrap().into_keys().collect::<Vec<_>>(),
            [b]
        );
    }
}
