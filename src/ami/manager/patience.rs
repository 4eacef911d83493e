//! How long a caller looks for its reply before it sleeps.
//!
//! A caller that sleeps must be woken when its reply comes, and when its
//! processor went idle meanwhile that wake-up is an inter-processor
//! interrupt: on a virtual machine an exit to the hypervisor. A park/unpark
//! ping-pong takes 5.5 µs a round trip on one processor of the 2-core VM
//! of our benchmarks and 57 µs across the two. So a caller first looks for
//! its reply, yielding its processor between looks, and sleeps only when
//! the reply is late.
//!
//! Who looks: under the rule [`Few`](super::trial::Rule::Few), only the
//! first callers to wait, fewer than there are processors (at least one).
//! A caller alone is the common case (a script that sends one action after
//! another) and the one a wake-up costs most: everything else is idle.
//! Under [`All`](super::trial::Rule::All), every caller. Which rule serves
//! better depends on what makes the replies, so the manager runs a trial
//! of the two (see [`super::trial`]).
//!
//! How long: the manager keeps a running mean of how long replies take,
//! and a caller looks for four times that, at most the manager's
//! [`reply_spin`](super::ManagerBuilder::reply_spin); once replies
//! typically take longer than that, callers sleep at once (a remote
//! Asterisk, slow actions), and the looking comes back when replies are
//! fast again.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::trial::Rule;

/// A manager's learnt patience; shared by its callers.
pub(crate) struct Patience {
    /// The longest look, in nanoseconds; 0: never look.
    max: u64,
    /// The running mean of the waits for replies, in nanoseconds.
    typical: AtomicU64,
    /// Callers waiting now.
    waiting: AtomicUsize,
    /// The processors this process may run on.
    processors: usize,
    /// Whether few callers look, or all.
    trial: super::trial::Trial,
}

/// A caller looks for this many times the typical wait: one wait may well
/// be several times the mean, and a look cut short costs a wake-up.
const LOOK_FACTOR: u64 = 4;

/// One sample moves the mean by this fraction of the gap (1/8).
const WEIGHT_SHIFT: u32 = 3;

impl Patience {
    /// Looks at most `max`; zero: never.
    pub(crate) fn new(max: Duration) -> Self {
        let max = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Patience {
            max,
            typical: AtomicU64::new(max / 2),
            waiting: AtomicUsize::new(0),
            processors: std::thread::available_parallelism().map_or(1, |n| n.get()),
            trial: Default::default(),
        }
    }

    /// How long the next caller looks.
    fn budget(&self) -> Duration {
        let typical = self.typical.load(Ordering::Relaxed);
        if self.max == 0 || typical > self.max {
            return Duration::ZERO;
        }
        Duration::from_nanos(typical.saturating_mul(LOOK_FACTOR).min(self.max))
    }

    /// One wait for a reply: looks for it until `ready`, the budget is
    /// spent or `deadline` (the caller's own) passes, yielding the
    /// processor between looks, then `sleep`s (which returns at once if
    /// the reply came), and learns how long it took.
    ///
    /// Whether this caller looks at all is the trial's rule (see the
    /// module's documentation).
    pub(crate) fn wait<T>(
        &self,
        deadline: Option<Instant>,
        ready: impl Fn() -> bool,
        sleep: impl FnOnce() -> T,
    ) -> T {
        let start = Instant::now();
        let waiting = Waiting::enter(&self.waiting);
        let lookers = match self.trial.rule() {
            Rule::Few => self.processors.saturating_sub(1).max(1),
            Rule::All => usize::MAX,
        };
        if waiting.count <= lookers {
            self.look(start, deadline, &ready);
        }
        let out = sleep();
        drop(waiting);
        self.learn(start.elapsed());
        out
    }

    /// Looks from `start` until `ready`, the budget is spent or
    /// `deadline`, yielding the processor between looks; answers whether
    /// it became ready.
    fn look(&self, start: Instant, deadline: Option<Instant>, ready: impl Fn() -> bool) -> bool {
        if ready() {
            return true;
        }
        let mut end = start.checked_add(self.budget()).unwrap_or(start);
        if let Some(d) = deadline {
            end = end.min(d);
        }
        if end <= start {
            return false;
        }
        loop {
            std::thread::yield_now();
            if ready() {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
        }
    }

    /// Learns from one wait for a reply, however it ended. A wait counts
    /// at most four times the longest look, so that a few slow actions
    /// (an Originate that rings for seconds) stop the looking for a few
    /// dozen replies, not for thousands.
    fn learn(&self, waited: Duration) {
        if self.max == 0 {
            return;
        }
        let sample = u64::try_from(waited.as_nanos())
            .unwrap_or(u64::MAX)
            .min(self.max.saturating_mul(4));
        self.trial.record(sample);
        // Lost updates between racing callers only blur a running mean.
        let old = self.typical.load(Ordering::Relaxed);
        let new = if sample >= old {
            old + ((sample - old) >> WEIGHT_SHIFT)
        } else {
            old - ((old - sample) >> WEIGHT_SHIFT)
        };
        self.typical.store(new, Ordering::Relaxed);
    }
}

/// One caller counted as waiting, until dropped.
struct Waiting<'a> {
    counter: &'a AtomicUsize,
    /// Callers waiting, this one included, when it entered.
    count: usize,
}

impl<'a> Waiting<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        let count = counter.fetch_add(1, Ordering::Relaxed) + 1;
        Waiting { counter, count }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_micros(100);

    #[test]
    fn fast_replies_are_looked_for_up_to_the_longest_look() {
        let p = Patience::new(MAX);
        for _ in 0..100 {
            p.learn(Duration::from_micros(20));
        }
        let b = p.budget();
        assert!(
            b >= Duration::from_micros(76) && b <= Duration::from_micros(84),
            "{b:?}"
        );
        for _ in 0..100 {
            p.learn(Duration::from_micros(80));
        }
        assert_eq!(p.budget(), MAX);
    }

    #[test]
    fn slow_replies_stop_the_looking_until_fast_ones_come_back() {
        let p = Patience::new(MAX);
        for _ in 0..10 {
            p.learn(Duration::from_secs(5));
        }
        assert_eq!(p.budget(), Duration::ZERO);
        assert!(!p.look(Instant::now(), None, || false), "no look, no wait");
        let back = (1..=100)
            .find(|_| {
                p.learn(Duration::from_micros(20));
                !p.budget().is_zero()
            })
            .expect("looking again");
        assert!(back <= 20, "{back} fast replies to look again");
    }

    #[test]
    fn zero_never_looks_and_a_ready_reply_needs_no_look() {
        let p = Patience::new(Duration::ZERO);
        p.learn(Duration::from_nanos(1));
        assert_eq!(p.budget(), Duration::ZERO);
        assert!(p.look(Instant::now(), None, || true));
        assert!(!p.look(Instant::now(), None, || false));
    }

    #[test]
    fn only_the_first_waiters_look() {
        let mut p = Patience::new(Duration::from_millis(200));
        p.processors = 2;
        let p = &p;
        let alone = Instant::now();
        p.wait(None, || false, || ());
        assert!(
            alone.elapsed() >= Duration::from_millis(100),
            "alone, it looks"
        );
        let (inside_tx, inside_rx) = std::sync::mpsc::channel();
        let (out_tx, out_rx) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            s.spawn(move || {
                p.wait(
                    None,
                    || false,
                    || {
                        inside_tx.send(()).expect("send");
                        out_rx.recv().expect("recv");
                    },
                )
            });
            inside_rx.recv().expect("first waiter inside");
            let second = Instant::now();
            p.wait(None, || false, || ());
            assert!(
                second.elapsed() < Duration::from_millis(100),
                "with one of 2 processors' worth waiting, the second sleeps at once"
            );
            out_tx.send(()).expect("send");
        });
    }

    #[test]
    fn a_look_ends_with_its_budget_or_the_callers_deadline() {
        let p = Patience::new(Duration::from_millis(200));
        let start = Instant::now();
        assert!(!p.look(start, None, || false));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        let start = Instant::now();
        let deadline = start + Duration::from_millis(2);
        assert!(!p.look(start, Some(deadline), || false));
        let took = start.elapsed();
        assert!(
            took < Duration::from_millis(100),
            "the deadline comes first: {took:?}"
        );
        let flips = std::sync::atomic::AtomicU32::new(0);
        let now = Instant::now();
        assert!(p.look(now, None, || flips.fetch_add(1, Ordering::Relaxed) == 3));
    }
}
