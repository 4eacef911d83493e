//! Reconnection, shared by AMI and ARI: the backoff policy, and the loop
//! that waits and tries again until it connects, gives up, or the
//! connection is closed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::ErrorChain;

/// When and how often a connection is made again after it was lost: an
/// AMI [`Manager`](crate::ami::Manager)
/// ([`ManagerBuilder::reconnect`](crate::ami::ManagerBuilder::reconnect)) or
/// an ARI client's WebSocket (`ari::ClientBuilder::reconnect`). The delay starts at
/// `initial_delay`, grows by `multiplier` per failed attempt up to
/// `max_delay`, and each wait is shortened at random by up to `jitter`
/// (a fraction) so that many clients do not come back in step.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The first wait (default 500 ms).
    pub initial_delay: Duration,
    /// The longest wait (default 30 s).
    pub max_delay: Duration,
    /// Growth per failed attempt (default 2).
    pub multiplier: f64,
    /// Random fraction taken off each wait, 0 to 1 (default 0.2).
    pub jitter: f64,
    /// Give up after this many failed attempts (default: never).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the first wait.
    pub fn initial_delay(mut self, d: Duration) -> Self {
        self.initial_delay = d;
        self
    }

    /// Sets the longest wait.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Sets the growth per failed attempt (at least 1).
    pub fn multiplier(mut self, m: f64) -> Self {
        self.multiplier = if m.is_finite() { m.max(1.0) } else { 1.0 };
        self
    }

    /// Sets the random fraction taken off each wait (clamped to 0..=1).
    pub fn jitter(mut self, j: f64) -> Self {
        self.jitter = if j.is_finite() {
            j.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Gives up after `n` failed attempts.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// The wait before attempt `attempt` (0 for the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.initial_delay.as_secs_f64()
            * self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let capped = base.min(self.max_delay.as_secs_f64());
        let mut h = RandomState::new().build_hasher();
        h.write_u32(attempt);
        let r = (h.finish() % 10_000) as f64 / 10_000.0;
        let secs = capped * (1.0 - self.jitter.clamp(0.0, 1.0) * r);
        Duration::from_secs_f64(secs.max(0.0))
    }
}

/// Wakes a backoff wait at once when its connection is closed.
#[derive(Default)]
pub(crate) struct Interrupt {
    closed: Mutex<bool>,
    cond: Condvar,
}

impl Interrupt {
    /// Ends the current wait and every later one.
    pub(crate) fn interrupt(&self) {
        *self.closed.lock() = true;
        self.cond.notify_all();
    }

    /// Waits `d`; false if interrupted (before or during the wait).
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now().checked_add(d);
        let mut closed = self.closed.lock();
        while !*closed {
            match deadline {
                Some(at) => {
                    if self.cond.wait_until(&mut closed, at).timed_out() {
                        break;
                    }
                }
                None => self.cond.wait(&mut closed),
            }
        }
        !*closed
    }
}

/// How [`retry`] ended.
pub(crate) enum Retried<T> {
    /// An attempt succeeded, after this many attempts (1 for the first).
    Connected(T, u32),
    /// The connection was closed meanwhile.
    Closed,
    /// The policy's `max_attempts` failed.
    GaveUp(u32),
}

/// Waits the policy's delay, then calls `attempt`, until it succeeds, the
/// policy gives up, or `interrupt` fires. Failed attempts are logged as
/// `"{what} reconnect attempt N failed: …"`; giving up is the caller's to
/// report.
pub(crate) fn retry<T, E: std::error::Error + 'static>(
    policy: &ReconnectPolicy,
    interrupt: &Interrupt,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Retried<T> {
    let mut failed = 0u32;
    loop {
        if policy.max_attempts.is_some_and(|n| failed >= n) {
            return Retried::GaveUp(failed);
        }
        if !interrupt.sleep(policy.delay(failed)) {
            return Retried::Closed;
        }
        match attempt() {
            Ok(t) => return Retried::Connected(t, failed + 1),
            Err(e) => {
                failed += 1;
                log::warn!(
                    "{what} reconnect attempt {failed} failed: {}",
                    ErrorChain(&e)
                );
            }
        }
    }
}
