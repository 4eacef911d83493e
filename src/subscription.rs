//! Events as a stream: a [`Subscription`] is a bounded queue that the
//! dispatcher thread fills and any thread drains with `recv`, `try_recv`,
//! `recv_timeout` or an iterator, as with a crossbeam channel.
//!
//! One type serves AMI ([`Manager::subscribe`](crate::ami::Manager::subscribe))
//! and ARI (`ari::Client::subscribe`).

use std::fmt;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

/// The events have ended: the connection was closed (or died with no
/// reconnect policy, or reconnecting was given up) and every event queued
/// before that has been received. The connection's `wait_closed` says why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the events have ended")]
pub struct RecvError;

/// Why [`Subscription::try_recv`] returned no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No event is waiting now.
    #[error("no event is waiting")]
    Empty,
    /// The events have ended (see [`RecvError`]).
    #[error("the events have ended")]
    Closed,
}

/// Why [`Subscription::recv_timeout`] returned no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvTimeoutError {
    /// No event arrived in time.
    #[error("no event arrived in time")]
    Timeout,
    /// The events have ended (see [`RecvError`]).
    #[error("the events have ended")]
    Closed,
}

type Cancel = Box<dyn FnOnce() + Send>;

/// A stream of events from a connection, made by `subscribe` on an AMI
/// [`Manager`](crate::ami::Manager) or an ARI client.
///
/// **Nothing is dropped.** The queue holds `capacity` events; when it is
/// full the dispatcher thread waits for room, exactly as it waits for a
/// slow callback: the other callbacks and subscriptions wait with it, the
/// connection's own queue fills, and then the socket is no longer read, so
/// TCP slows Asterisk down. Drain a subscription on a thread of its own (not
/// from a callback of the same connection), or drop it: dropping it
/// unsubscribes, and its queued events are discarded with it.
///
/// The stream ends ([`RecvError`], the iterator returns `None`) once the
/// connection's events end for good and the queue is empty. A reconnect
/// does not end it.
pub struct Subscription<T> {
    rx: Receiver<T>,
    cancel: Mutex<Option<Cancel>>,
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("queued", &self.rx.len())
            .field("capacity", &self.rx.capacity())
            .finish()
    }
}

/// The queue of a new subscription: the sender goes into the callback that
/// fills it. A capacity of 0 is taken as 1.
pub(crate) fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    crossbeam_channel::bounded(capacity.max(1))
}

impl<T> Subscription<T> {
    /// A subscription reading `rx`; `cancel` unregisters its callback and
    /// runs when the subscription is dropped.
    pub(crate) fn new(rx: Receiver<T>, cancel: impl FnOnce() + Send + 'static) -> Self {
        Subscription {
            rx,
            cancel: Mutex::new(Some(Box::new(cancel))),
        }
    }

    /// Blocks until the next event, or until the events have ended.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.rx.recv().map_err(|_| RecvError)
    }

    /// The next event if one is waiting; never blocks.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.rx.try_recv().map_err(|e| match e {
            crossbeam_channel::TryRecvError::Empty => TryRecvError::Empty,
            crossbeam_channel::TryRecvError::Disconnected => TryRecvError::Closed,
        })
    }

    /// Blocks for at most `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            crossbeam_channel::RecvTimeoutError::Timeout => RecvTimeoutError::Timeout,
            crossbeam_channel::RecvTimeoutError::Disconnected => RecvTimeoutError::Closed,
        })
    }

    /// A blocking iterator over the events; it ends when the events end.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self.rx.iter())
    }

    /// An iterator over the events waiting now; never blocks.
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        self.rx.try_iter()
    }

    /// How many events are waiting.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// How many events may wait before the dispatcher waits for room.
    pub fn capacity(&self) -> usize {
        self.rx.capacity().unwrap_or(usize::MAX)
    }
}

impl<'a, T> IntoIterator for &'a Subscription<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// The blocking iterator of [`Subscription::iter`]: it waits for each
/// event and ends when the events end.
pub struct Iter<'a, T>(crossbeam_channel::Iter<'a, T>);

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.0.next()
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iter { .. }")
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if let Some(cancel) = self.cancel.get_mut().take() {
            cancel();
        }
    }
}
