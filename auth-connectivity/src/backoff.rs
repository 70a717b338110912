//! How long to wait between probes while offline.

use std::time::Duration;

/// Exponential backoff between probes while offline: the first wait is `initial`, each
/// next one doubles, up to `max`. Online, the prober resets it, so the next outage starts
/// with short waits again (a brief outage is noticed to be over quickly) while a long one
/// costs few probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Default for Backoff {
    /// 1 s, doubling up to 30 s.
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(30))
    }
}

impl Backoff {
    /// Waits starting at `initial` (at least 1 ms, so a dead network is never probed in a
    /// busy loop) and doubling up to `max` (at least `initial`).
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        let max = max.max(initial);
        Self { initial, max, next: initial }
    }

    /// The wait before the next probe; each call doubles the one after, up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// Starts again from the initial wait.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let waits: Vec<u64> = (0..5).map(|_| backoff.next_delay().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn zero_is_not_a_busy_loop() {
        let mut backoff = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(backoff.next_delay(), Duration::from_millis(1));
        assert_eq!(backoff.next_delay(), Duration::from_millis(1));
    }
}
