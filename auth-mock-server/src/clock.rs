//! The server's controllable clock: real time plus an offset that tests can move.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time shifted by an adjustable offset. Every expiry the server checks (tokens,
/// sessions, codes, TOTP, SRP timestamps) reads this clock.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_millis: AtomicI64,
}

impl Clock {
    /// The current (shifted) time.
    pub(crate) fn now(&self) -> SystemTime {
        let offset = self.offset_millis.load(Ordering::Relaxed);
        let real = SystemTime::now();
        if offset >= 0 {
            // An absurd offset from the control API must not overflow (and panic).
            real.checked_add(Duration::from_millis(offset.unsigned_abs())).unwrap_or(real)
        } else {
            real.checked_sub(Duration::from_millis(offset.unsigned_abs())).unwrap_or(UNIX_EPOCH)
        }
    }

    /// The current time in whole seconds since the epoch.
    pub(crate) fn now_secs(&self) -> u64 {
        self.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    /// The current time in milliseconds since the epoch (lockouts last whole seconds from
    /// the failure, not from the start of a second).
    pub(crate) fn now_millis(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The current time in fractional seconds, as AWS JSON timestamps are sent.
    pub(crate) fn now_f64(&self) -> f64 {
        self.now().duration_since(UNIX_EPOCH).map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
    }

    /// Moves the clock forward (or back, with a negative amount) by `seconds`.
    pub(crate) fn advance(&self, millis: i64) {
        self.offset_millis.fetch_add(millis, Ordering::Relaxed);
    }

    /// Sets the offset from real time.
    pub(crate) fn set_offset(&self, millis: i64) {
        self.offset_millis.store(millis, Ordering::Relaxed);
    }

    /// The offset from real time in milliseconds.
    pub(crate) fn offset_millis(&self) -> i64 {
        self.offset_millis.load(Ordering::Relaxed)
    }
}
