//! The per-account upload quota: bytes each account may upload to this node per window (a
//! day), in a table bounded by the number of accounts it tracks at once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use yun_types::Address;

/// How long an account's upload allowance lasts before it renews.
pub const UPLOAD_QUOTA_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Most accounts whose windows one node tracks at once; past it, an account not yet tracked
/// waits until some window ends (a stranger cannot grow the table: only funded accounts with
/// a valid ticket reach it).
pub const UPLOAD_QUOTA_ACCOUNTS_MAX: usize = 4_096;

/// Why an upload does not fit the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaRefusal {
    /// The account's window has `left_bytes` left.
    Exceeded {
        left_bytes: u64,
        renews_in: Duration,
    },
    /// The table is full of accounts whose windows are still running.
    TooManyAccounts,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    used_bytes: u64,
}

/// Bytes charged per account in its current window.
#[derive(Debug)]
pub struct UploadQuota {
    bytes_per_window: u64,
    accounts_max: usize,
    windows: BTreeMap<Address, Window>,
}

impl UploadQuota {
    pub fn new(bytes_per_window: u64, accounts_max: usize) -> UploadQuota {
        UploadQuota {
            bytes_per_window,
            accounts_max,
            windows: BTreeMap::new(),
        }
    }

    /// Charges `bytes` to `account` at `now`, or says why not (nothing is charged then).
    pub fn charge(
        &mut self,
        account: Address,
        bytes: u64,
        now: Instant,
    ) -> Result<(), QuotaRefusal> {
        let ended = |w: &Window| now.duration_since(w.started) >= UPLOAD_QUOTA_WINDOW;
        if !self.windows.contains_key(&account) && self.windows.len() >= self.accounts_max {
            self.windows.retain(|_, w| !ended(w));
            if self.windows.len() >= self.accounts_max {
                return Err(QuotaRefusal::TooManyAccounts);
            }
        }
        let w = self.windows.entry(account).or_insert(Window {
            started: now,
            used_bytes: 0,
        });
        if ended(w) {
            *w = Window {
                started: now,
                used_bytes: 0,
            };
        }
        let left_bytes = self.bytes_per_window.saturating_sub(w.used_bytes);
        if bytes > left_bytes {
            return Err(QuotaRefusal::Exceeded {
                left_bytes,
                renews_in: UPLOAD_QUOTA_WINDOW.saturating_sub(now.duration_since(w.started)),
            });
        }
        w.used_bytes += bytes;
        Ok(())
    }

    /// Gives back a charge whose upload did not store anything.
    pub fn refund(&mut self, account: &Address, bytes: u64) {
        if let Some(w) = self.windows.get_mut(account) {
            w.used_bytes = w.used_bytes.saturating_sub(bytes);
        }
    }

    /// Accounts tracked now.
    pub fn accounts(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(i: u8) -> Address {
        Address([i; 32])
    }

    #[test]
    fn an_account_uploads_up_to_its_allowance_and_again_after_the_window() {
        let t0 = Instant::now();
        let mut q = UploadQuota::new(100, 8);
        q.charge(who(1), 60, t0).unwrap();
        q.charge(who(1), 40, t0).unwrap();
        let refused = q.charge(who(1), 1, t0).unwrap_err();
        assert_eq!(
            refused,
            QuotaRefusal::Exceeded {
                left_bytes: 0,
                renews_in: UPLOAD_QUOTA_WINDOW
            }
        );
        // Another account has its own allowance.
        q.charge(who(2), 100, t0).unwrap();
        // A refund (an upload that stored nothing) gives the bytes back.
        q.refund(&who(1), 40);
        q.charge(who(1), 40, t0).unwrap();
        q.charge(who(1), 100, t0 + UPLOAD_QUOTA_WINDOW).unwrap();
    }

    #[test]
    fn the_table_stays_bounded_and_frees_ended_windows() {
        let t0 = Instant::now();
        let mut q = UploadQuota::new(10, 2);
        q.charge(who(1), 1, t0).unwrap();
        q.charge(who(2), 1, t0).unwrap();
        assert_eq!(q.charge(who(3), 1, t0), Err(QuotaRefusal::TooManyAccounts));
        assert_eq!(q.accounts(), 2);
        // Tracked accounts keep uploading.
        q.charge(who(1), 1, t0).unwrap();
        // Once the windows ended, a newcomer takes a freed place.
        q.charge(who(3), 1, t0 + UPLOAD_QUOTA_WINDOW).unwrap();
        assert!(q.accounts() <= 2);
    }
}
