//! Which callers look for their reply: a running trial between two rules.
//!
//! Whether many callers should look depends on what makes the replies.
//! When replies are cheap to make and processors go idle between them (a
//! light server, a fast link), every caller that looks saves a wake-up
//! and many callers looking sent 1.6–1.8× the actions. When the server
//! needs the processors (an Asterisk on the same host), callers that look
//! take its time and sent 20–35 % fewer. The library cannot see which it
//! is, but it can measure: the manager serves its callers under one rule
//! for an epoch of waits, now and then under the other, and keeps the
//! rule whose waits were shorter by a margin. A shorter wait is what a
//! caller wants either way: under a closed loop it is also more actions
//! per second, under a steady load it is a faster reply.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use parking_lot::Mutex;

/// Who may look for a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Only the first callers to wait, fewer than the processors.
    Few = 0,
    /// Every caller.
    All = 1,
}

impl Rule {
    fn other(self) -> Rule {
        match self {
            Rule::Few => Rule::All,
            Rule::All => Rule::Few,
        }
    }
}

/// Waits in an epoch.
const EPOCH: u64 = 2048;
/// One epoch in this many tries the rule that is not the best.
const PROBE_EVERY: u64 = 8;

/// The trial; shared by a manager's callers.
pub(crate) struct Trial {
    /// The rule of this epoch.
    rule: AtomicU8,
    /// Nanoseconds waited in this epoch, and how many waits.
    sum: AtomicU64,
    count: AtomicU64,
    scores: Mutex<Scores>,
}

struct Scores {
    /// The running mean wait under each rule, in nanoseconds.
    mean: [Option<u64>; 2],
    best: Rule,
    epochs: u64,
}

impl Default for Trial {
    fn default() -> Self {
        Trial {
            rule: AtomicU8::new(Rule::Few as u8),
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
            scores: Mutex::new(Scores {
                mean: [None, None],
                best: Rule::Few,
                epochs: 0,
            }),
        }
    }
}

impl Trial {
    /// The rule in force now.
    pub(crate) fn rule(&self) -> Rule {
        match self.rule.load(Ordering::Relaxed) {
            0 => Rule::Few,
            _ => Rule::All,
        }
    }

    /// Counts one wait; the wait that ends an epoch judges it.
    pub(crate) fn record(&self, waited_ns: u64) {
        self.sum.fetch_add(waited_ns, Ordering::Relaxed);
        if self.count.fetch_add(1, Ordering::Relaxed) + 1 == EPOCH {
            self.judge();
        }
    }

    /// Scores the epoch that just ended under its rule and picks the next
    /// epoch's. Waits that race with the reset only blur a mean.
    fn judge(&self) {
        let n = self.count.swap(0, Ordering::Relaxed).max(1);
        let mean = self.sum.swap(0, Ordering::Relaxed) / n;
        let rule = self.rule();
        let mut s = self.scores.lock();
        let slot = &mut s.mean[rule as usize];
        *slot = Some(match *slot {
            None => mean,
            Some(old) => old.saturating_mul(3).saturating_add(mean) / 4,
        });
        if let [Some(few), Some(all)] = s.mean {
            // A rule takes over only when its waits are 10 % shorter.
            if all.saturating_mul(10) < few.saturating_mul(9) {
                s.best = Rule::All;
            } else if few.saturating_mul(10) < all.saturating_mul(9) {
                s.best = Rule::Few;
            }
        }
        s.epochs += 1;
        let next = if s.epochs % PROBE_EVERY == 1 {
            s.best.other()
        } else {
            s.best
        };
        self.rule.store(next as u8, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays epochs whose waits take `few` ns under Few and `all` under
    /// All; answers the share of epochs served under All.
    fn play(trial: &Trial, epochs: u64, few: u64, all: u64) -> f64 {
        let mut under_all = 0;
        for _ in 0..epochs {
            let rule = trial.rule();
            under_all += u64::from(rule == Rule::All);
            let w = if rule == Rule::All { all } else { few };
            for _ in 0..EPOCH {
                trial.record(w);
            }
        }
        under_all as f64 / epochs as f64
    }

    #[test]
    fn keeps_the_rule_with_the_shorter_waits_and_probes_the_other() {
        let t = Trial::default();
        assert_eq!(t.rule(), Rule::Few, "starts with the safe rule");
        let share = play(&t, 80, 100_000, 50_000);
        assert!(share > 0.8, "all look when that halves the waits: {share}");
        let share = play(&t, 160, 50_000, 100_000);
        assert!(share < 0.2, "back when looking costs: {share}");
        assert!(share > 0.0, "still probing");
    }

    #[test]
    fn a_small_difference_changes_nothing() {
        let t = Trial::default();
        let share = play(&t, 80, 100_000, 95_000);
        assert!(share < 0.2, "5 % is within the margin: {share}");
    }
}
