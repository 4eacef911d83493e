//! Where a caller waits for its reply: a one-shot slot that the thread
//! driving the [`Connection`](crate::ami::connection::Connection) fills,
//! and the caller reads. Fills are collected in a [`Batch`] so that the
//! callers of one read are woken together (see [`super::wake`]).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::patience::Patience;
use super::wake::{Batch, Sleeper, Wakeups};
use crate::ami::error::AmiError;
use crate::ami::response::Response;

/// What a caller receives.
pub(crate) type Outcome = Result<Response, AmiError>;

const EMPTY: u8 = 0;
const SLEEPING: u8 = 1;
const DONE: u8 = 2;
/// The caller stopped waiting (timed out): a later fill does not count it
/// as on its way back.
const GAVE_UP: u8 = 3;

struct Slot {
    state: AtomicU8,
    value: Mutex<Option<Outcome>>,
    sleeper: Sleeper,
    wakeups: Arc<Wakeups>,
}

impl Slot {
    /// Marks the slot done; its caller joins `batch` if it sleeps, and
    /// counts as on its way back unless it gave up.
    fn finish(&self, batch: &mut Batch) {
        // Counted before the caller can see the fill and leave.
        self.wakeups.returning_add();
        match self.state.swap(DONE, Ordering::SeqCst) {
            SLEEPING => batch.add(&self.sleeper),
            EMPTY => {}
            _ => {
                self.wakeups.returned();
            }
        }
    }
}

/// The filling half: the tag an action carries on the connection. Dropped
/// unfilled (the connection went away with it), its caller learns so at
/// once.
pub(crate) struct ReplyTx(Option<Arc<Slot>>);

impl ReplyTx {
    /// Hands `outcome` to the caller, who is woken with the rest of
    /// `batch` (a caller that gave up may still take it, or never look).
    pub(crate) fn send(mut self, outcome: Outcome, batch: &mut Batch) {
        if let Some(slot) = self.0.take() {
            *slot.value.lock() = Some(outcome);
            slot.finish(batch);
        }
    }
}

impl Drop for ReplyTx {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            let mut batch = Batch::default();
            slot.finish(&mut batch);
            slot.wakeups.wake(batch);
        }
    }
}

/// The waiting half, held by the calling thread.
pub(crate) struct ReplyRx {
    slot: Arc<Slot>,
    /// The caller gave up (timed out) before the slot was filled: a fill
    /// after that did not count it as on its way back.
    gave_up: std::cell::Cell<bool>,
}

/// How a wait ended.
pub(crate) enum Waited {
    /// The reply, or the error the connection gave the action.
    Done(Outcome),
    /// The filling half went away without a reply.
    Dropped,
    /// The deadline passed first.
    TimedOut,
}

/// A slot for a reply to the current thread, which sleeps on `wakeups`.
pub(crate) fn slot(wakeups: &Arc<Wakeups>) -> (ReplyTx, ReplyRx) {
    let slot = Arc::new(Slot {
        state: AtomicU8::new(EMPTY),
        value: Mutex::new(None),
        sleeper: Sleeper::current(),
        wakeups: wakeups.clone(),
    });
    (
        ReplyTx(Some(slot.clone())),
        ReplyRx {
            slot,
            gave_up: std::cell::Cell::new(false),
        },
    )
}

impl ReplyRx {
    /// Waits until the reply, the slot's end or `timeout`: first looks
    /// for it as long as `patience` says, then sleeps; and teaches
    /// `patience` how long it took.
    pub(crate) fn wait(&self, timeout: Duration, patience: &Patience) -> Waited {
        let deadline = Instant::now().checked_add(timeout);
        let slot = &self.slot;
        patience.wait(
            deadline,
            || slot.state.load(Ordering::SeqCst) == DONE,
            || self.sleep(deadline),
        )
    }

    fn sleep(&self, deadline: Option<Instant>) -> Waited {
        let slot = &self.slot;
        loop {
            // Read before announcing the sleep: a fill after this point
            // moves the token on, and the sleep returns at once.
            let token = slot.wakeups.token();
            if let Err(DONE) =
                slot.state
                    .compare_exchange(EMPTY, SLEEPING, Ordering::SeqCst, Ordering::SeqCst)
            {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // Give up, unless the reply lands right now.
                if slot
                    .state
                    .compare_exchange(SLEEPING, GAVE_UP, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    self.gave_up.set(true);
                    return Waited::TimedOut;
                }
                break;
            }
            slot.wakeups.sleep(token, &slot.sleeper, deadline);
        }
        self.take()
    }

    /// Stops waiting for good; true if the caller was counted as on its
    /// way back (its reply came while it waited), which the caller must
    /// then report with [`Wakeups::returned`].
    pub(crate) fn leave(&self) -> bool {
        let state = &self.slot.state;
        loop {
            match state.load(Ordering::SeqCst) {
                DONE => return !self.gave_up.get(),
                GAVE_UP => return false,
                s => {
                    if state
                        .compare_exchange(s, GAVE_UP, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                    {
                        self.gave_up.set(true);
                        return false;
                    }
                }
            }
        }
    }

    /// What the slot holds now, without waiting.
    pub(crate) fn take(&self) -> Waited {
        if self.slot.state.load(Ordering::SeqCst) != DONE {
            return Waited::TimedOut;
        }
        match self.slot.value.lock().take() {
            Some(outcome) => Waited::Done(outcome),
            None => Waited::Dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::message::Message;
    use std::sync::mpsc;
    use std::thread;

    fn response(n: usize) -> Outcome {
        let mut m = Message::new();
        m.push("Response", "Success");
        m.push("Seq", &n.to_string());
        Ok(Response::new("Ping", m))
    }

    /// More callers than bits: batches of fills from one thread reach
    /// every caller, whatever bit it shares.
    #[test]
    fn batched_fills_reach_every_caller() {
        let wakeups = Arc::new(Wakeups::default());
        // Callers that look before they sleep, and callers that sleep.
        let patience = Arc::new(Patience::new(Duration::from_micros(200)));
        let (tx, rx) = mpsc::channel::<ReplyTx>();
        let callers: Vec<_> = (0..70)
            .map(|_| {
                let wakeups = wakeups.clone();
                let tx = tx.clone();
                let patience = patience.clone();
                thread::spawn(move || {
                    for _ in 0..200 {
                        let (filler, waiter) = slot(&wakeups);
                        tx.send(filler).expect("filler thread");
                        match waiter.wait(Duration::from_secs(30), &patience) {
                            Waited::Done(Ok(_)) => {}
                            _ => panic!("no reply"),
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let filler = thread::spawn(move || {
            let mut n = 0;
            while let Ok(first) = rx.recv() {
                let mut batch = Batch::default();
                n += 1;
                first.send(response(n), &mut batch);
                for more in rx.try_iter() {
                    n += 1;
                    more.send(response(n), &mut batch);
                }
                wakeups.wake(batch);
            }
            n
        });
        for c in callers {
            c.join().expect("caller");
        }
        assert_eq!(filler.join().expect("filler"), 70 * 200);
    }

    #[test]
    fn times_out_then_a_late_reply_is_ignored() {
        let wakeups = Arc::new(Wakeups::default());
        let (filler, waiter) = slot(&wakeups);
        let started = Instant::now();
        assert!(matches!(
            waiter.wait(Duration::from_millis(50), &Patience::new(Duration::ZERO)),
            Waited::TimedOut
        ));
        assert!(started.elapsed() >= Duration::from_millis(50));
        let mut batch = Batch::default();
        filler.send(response(1), &mut batch);
        wakeups.wake(batch);
        // What the timeout path does: look once more.
        assert!(matches!(waiter.take(), Waited::Done(Ok(_))));
    }

    #[test]
    fn a_dropped_filler_wakes_its_caller() {
        let wakeups = Arc::new(Wakeups::default());
        let (filler, waiter) = slot(&wakeups);
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            drop(filler);
        });
        assert!(matches!(
            waiter.wait(Duration::from_secs(30), &Patience::new(Duration::ZERO)),
            Waited::Dropped
        ));
        t.join().expect("dropper");
    }
}
