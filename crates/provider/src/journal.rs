//! The agent's durable memory (redb): what it computed for each replica and which results it
//! has sent, so a restarted agent neither redoes finished work nor forgets a commitment.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use yun_types::Hash32;
use yun_types::market::{TaskRef, Verdict};

/// Replica records by `job ‖ index (big-endian)`, JSON values.
const WORK: TableDefinition<&[u8], &[u8]> = TableDefinition::new("work");

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
}
