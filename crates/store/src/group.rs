//! Group commit: concurrent callers' durable writes gathered into one transaction, so many
//! small admissions pay for one fsync between them instead of one each.
//!
//! No thread of its own: the first caller to find nobody writing writes everything waiting
//! (its own items and those that queued behind it), and the others wait for that write's
//! outcome. A caller returns only once its own items are durable, or with the error that
//! kept them from it.

use crate::StoreError;
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

/// Writes waiting for a shared transaction.
pub(crate) struct GroupCommit<T> {
    state: Mutex<GroupState<T>>,
    written: Condvar,
}

struct GroupState<T> {
    /// Items of the group being gathered (written by the next caller who leads).
    waiting: Vec<T>,
    /// Callers whose items are in `waiting`.
    waiting_callers: usize,
    /// Id of the group being gathered; every group below it has been taken by a leader.
    open_group: u64,
    /// Groups below this are written (or failed).
    written_through: u64,
    /// A leader is writing a group now.
    writing: bool,
    /// Failed groups' errors, with how many of their callers have yet to read them (bounded
    /// by the callers waiting: each reads its group's once, and the last removes it).
    failed: BTreeMap<u64, (String, usize)>,
}

/// The leader's turn: publishes its group's outcome when dropped, on every way out of the
/// write (a panicking write included), so no follower waits for a write that ended.
struct Leading<'a, T> {
    commit: &'a GroupCommit<T>,
    group: u64,
    followers: usize,
    error: Option<String>,
}

impl<T> Drop for Leading<'_, T> {
    fn drop(&mut self) {
        self.commit
            .publish(self.group, self.followers, self.error.take());
    }
}

impl<T> Default for GroupCommit<T> {
    fn default() -> Self {
        GroupCommit {
            state: Mutex::new(GroupState {
                waiting: Vec::new(),
                waiting_callers: 0,
                open_group: 0,
                written_through: 0,
                writing: false,
                failed: BTreeMap::new(),
            }),
            written: Condvar::new(),
        }
    }
}

impl<T> GroupCommit<T> {
    /// Makes `items` durable with `write`, possibly in one call together with other callers'
    /// items (then whichever caller leads runs its own `write` for all of them; every caller
    /// must pass the same kind of write).
    pub(crate) fn submit(
        &self,
        items: Vec<T>,
        write: impl FnOnce(Vec<T>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut st = self.state.lock().expect("group commit lock");
        let group = st.open_group;
        st.waiting.extend(items);
        st.waiting_callers += 1;
        loop {
            if st.written_through > group {
                return Self::outcome(&mut st, group);
            }
            if !st.writing {
                // Nobody is writing, so our group is the one gathering: lead it.
                debug_assert_eq!(st.open_group, group);
                let batch = std::mem::take(&mut st.waiting);
                let followers = std::mem::take(&mut st.waiting_callers) - 1;
                st.open_group += 1;
                st.writing = true;
                drop(st);
                let mut lead = Leading {
                    commit: self,
                    group,
                    followers,
                    // What the followers learn if `write` panics before it returns.
                    error: Some("the shared write panicked".into()),
                };
                let result = write(batch);
                lead.error = result.as_ref().err().map(ToString::to_string);
                drop(lead);
                return result;
            }
            st = self.written.wait(st).expect("group commit lock");
        }
    }

    fn publish(&self, group: u64, followers: usize, error: Option<String>) {
        // A poisoned lock (a panic elsewhere) must still release the followers.
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.writing = false;
        st.written_through = group + 1;
        if let Some(message) = error
            && followers > 0
        {
            st.failed.insert(group, (message, followers));
        }
        self.written.notify_all();
    }

    fn outcome(st: &mut GroupState<T>, group: u64) -> Result<(), StoreError> {
        let Some((message, unread)) = st.failed.get_mut(&group) else {
            return Ok(());
        };
        let error = StoreError::Db(format!("a shared admission write failed: {message}"));
        *unread -= 1;
        if *unread == 0 {
            st.failed.remove(&group);
        }
        Err(error)
    }

    /// Items queued behind a write in progress (for tests).
    #[cfg(test)]
    fn waiting_items(&self) -> usize {
        self.state.lock().expect("group commit lock").waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    type Log = Arc<Mutex<Vec<Vec<u32>>>>;

    /// A write that records its batch, and fails instead when `fail` is set.
    fn writer(
        log: &Log,
        fail: &Arc<AtomicBool>,
    ) -> impl FnOnce(Vec<u32>) -> Result<(), StoreError> + Send + use<> {
        let (log, fail) = (log.clone(), fail.clone());
        move |batch| {
            if fail.load(Ordering::SeqCst) {
                return Err(StoreError::Db("disk full".into()));
            }
            log.lock().unwrap().push(batch);
            Ok(())
        }
    }

    /// Caller 1 submits `[1]` and leads a write that, once started, waits to be released and
    /// then ends as `then` says; returns the caller's thread and the release.
    fn hold_first_write(
        group: &Arc<GroupCommit<u32>>,
        then: impl FnOnce(Vec<u32>) -> Result<(), StoreError> + Send + 'static,
    ) -> (
        std::thread::JoinHandle<Result<(), StoreError>>,
        mpsc::Sender<()>,
    ) {
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let first = {
            let group = group.clone();
            std::thread::spawn(move || {
                group.submit(vec![1], move |batch| {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    then(batch)
                })
            })
        };
        started_rx.recv().unwrap();
        (first, release_tx)
    }

    /// Returns once `n` items are queued behind the write in progress (fails after 30 s, so
    /// a regression fails the run rather than hanging it).
    fn wait_queued(group: &GroupCommit<u32>, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while group.waiting_items() < n {
            assert!(std::time::Instant::now() < deadline, "{n} never queued");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Caller 1 leads a write held open until callers 2–5 have queued behind it; returns the
    /// followers' outcomes once all have returned.
    fn four_behind_one_held_write(
        group: &Arc<GroupCommit<u32>>,
        log: &Log,
        fail_both: bool,
    ) -> Vec<Result<(), StoreError>> {
        let fail = Arc::new(AtomicBool::new(false));
        let (first, release_tx) = hold_first_write(group, writer(log, &fail));
        let followers: Vec<_> = (2..=5u32)
            .map(|i| {
                let (group, log, fail) = (group.clone(), log.clone(), fail.clone());
                std::thread::spawn(move || group.submit(vec![i], writer(&log, &fail)))
            })
            .collect();
        wait_queued(group, 4);
        fail.store(fail_both, Ordering::SeqCst);
        release_tx.send(()).unwrap();
        let first = first.join().unwrap();
        let rest: Vec<_> = followers.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(first.is_ok(), !fail_both);
        rest
    }

    #[test]
    fn callers_queued_behind_a_write_share_the_next_one() {
        let (group, log) = (Arc::new(GroupCommit::default()), Log::default());
        let outcomes = four_behind_one_held_write(&group, &log, false);
        assert!(outcomes.iter().all(Result::is_ok));
        let mut batches = log.lock().unwrap().clone();
        batches[1].sort();
        assert_eq!(
            batches,
            vec![vec![1], vec![2, 3, 4, 5]],
            "two writes for five callers"
        );
    }

    #[test]
    fn every_caller_of_a_failed_group_gets_the_error_and_the_next_group_still_writes() {
        let (group, log) = (Arc::new(GroupCommit::default()), Log::default());
        let fail = Arc::new(AtomicBool::new(false));
        // The held write reads the flag only once released, so it fails too, and so does the
        // followers' shared one.
        let outcomes = four_behind_one_held_write(&group, &log, true);
        assert_eq!(outcomes.len(), 4);
        for outcome in &outcomes {
            let Err(StoreError::Db(message)) = outcome else {
                panic!("a follower of a failed write was told {outcome:?}");
            };
            assert!(message.contains("disk full"), "{message}");
        }
        assert!(
            group.state.lock().unwrap().failed.is_empty(),
            "every error was read"
        );
        group.submit(vec![6], writer(&log, &fail)).unwrap();
        assert_eq!(log.lock().unwrap().clone(), vec![vec![6]]);
    }

    #[test]
    fn a_write_that_panics_strands_no_caller_queued_behind_it() {
        let (group, log) = (Arc::new(GroupCommit::<u32>::default()), Log::default());
        let (leader, release_tx) = hold_first_write(&group, |_| panic!("the disk went away"));
        let fail = Arc::new(AtomicBool::new(false));
        let follower = {
            let (group, log, fail) = (group.clone(), log.clone(), fail.clone());
            std::thread::spawn(move || group.submit(vec![2], writer(&log, &fail)))
        };
        wait_queued(&group, 1);
        release_tx.send(()).unwrap();
        assert!(leader.join().is_err(), "the leader's own panic reaches it");
        // The follower was queued for the next group, not the one that panicked: it leads
        // that one itself and its items are written.
        follower.join().unwrap().unwrap();
        assert_eq!(log.lock().unwrap().clone(), vec![vec![2]]);
    }

    #[test]
    fn a_panicking_shared_write_fails_the_callers_it_was_writing_for() {
        let group = Arc::new(GroupCommit::<u32>::default());
        let (first, release_tx) = hold_first_write(&group, |_| Ok(()));
        // Two callers queue behind the held write; whichever leads their group panics.
        let followers: Vec<_> = (2..=3u32)
            .map(|i| {
                let group = group.clone();
                std::thread::spawn(move || group.submit(vec![i], |_| panic!("the disk went away")))
            })
            .collect();
        wait_queued(&group, 2);
        release_tx.send(()).unwrap();
        first.join().unwrap().unwrap();
        let outcomes: Vec<_> = followers.into_iter().map(|t| t.join()).collect();
        assert_eq!(
            outcomes.iter().filter(|o| o.is_err()).count(),
            1,
            "one led and panicked"
        );
        let told = outcomes
            .into_iter()
            .find_map(Result::ok)
            .expect("the other returned");
        let Err(StoreError::Db(message)) = told else {
            panic!("the follower of a panicked write was told {told:?}");
        };
        assert!(message.contains("panicked"), "{message}");
        assert!(
            group.state.lock().unwrap().failed.is_empty(),
            "every error was read"
        );
    }
}
