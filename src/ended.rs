//! How a connection's events ended, written once by the thread that ends
//! them and awaited by `wait_closed` on any thread.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// A value set once, when a connection's events end, and the callers
/// waiting for it.
pub(crate) struct Ended<R> {
    state: Mutex<Option<R>>,
    cond: Condvar,
}

impl<R> Default for Ended<R> {
    fn default() -> Self {
        Ended {
            state: Mutex::new(None),
            cond: Condvar::new(),
        }
    }
}

impl<R: Clone + Default> Ended<R> {
    /// Records how the events ended (the first call wins) and wakes every
    /// waiter.
    pub(crate) fn finish(&self, how: R) {
        let mut state = self.state.lock();
        if state.is_none() {
            *state = Some(how);
        }
        self.cond.notify_all();
    }

    /// Blocks until the events end. `still_running` is asked every
    /// 200 ms, so that a connection that can no longer finish (closed
    /// before its threads could report) does not block forever: when it
    /// says false, `R::default()` (a clean close) is returned.
    pub(crate) fn wait(&self, still_running: impl Fn() -> bool) -> R {
        loop {
            if let Some(how) = self.wait_for(Duration::from_secs(3600), &still_running) {
                return how;
            }
        }
    }

    /// As [`wait`](Ended::wait), for at most `timeout`: `None` if the
    /// events are still running then.
    pub(crate) fn wait_for(
        &self,
        timeout: Duration,
        still_running: impl Fn() -> bool,
    ) -> Option<R> {
        // A timeout too large to add to now: no limit in practice.
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.state.lock();
        loop {
            if let Some(how) = state.as_ref() {
                return Some(how.clone());
            }
            if !still_running() {
                return Some(R::default());
            }
            let mut slice = Duration::from_millis(200);
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                slice = slice.min(left);
            }
            self.cond.wait_for(&mut state, slice);
        }
    }
}
