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

impl<R: Clone> Ended<R> {
    /// Records how the events ended (the first call wins) and wakes every
    /// waiter.
    pub(crate) fn finish(&self, how: R) {
        let mut state = self.state.lock();
        if state.is_none() {
            *state = Some(how);
        }
        self.cond.notify_all();
    }

    /// Blocks until the events end or `timeout` passes (`None`, or one too
    /// large to add to now: no limit);
    /// `None` on a timeout. `still_running` is asked every 200 ms, so that a
    /// connection that can no longer finish (its threads never started)
    /// does not block forever: when it says false, `gone` is returned.
    pub(crate) fn wait(
        &self,
        timeout: Option<Duration>,
        still_running: impl Fn() -> bool,
        gone: impl Fn() -> R,
    ) -> Option<R> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.state.lock();
        loop {
            if let Some(how) = state.as_ref() {
                return Some(how.clone());
            }
            if !still_running() {
                return Some(gone());
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
