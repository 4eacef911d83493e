//! Waking the callers whose replies came in one read, together.
//!
//! Many threads sharing a manager each sleep until their reply comes. When
//! one read brings several replies, waking each caller on its own (one
//! system call and, on a virtual machine, one inter-processor interrupt
//! each) was most of the cost of an action. On Linux every caller of a
//! manager sleeps on one futex word, each with its own bit of a bitset
//! (`FUTEX_WAIT_BITSET`), and one `FUTEX_WAKE_BITSET` wakes exactly the
//! callers of a batch, in one system call. Elsewhere each caller parks and
//! is unparked on its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Who sleeps: what a waker needs to wake the current thread.
#[derive(Clone)]
pub(crate) struct Sleeper(imp::Sleeper);

impl Sleeper {
    /// The current thread.
    pub(crate) fn current() -> Self {
        Sleeper(imp::Sleeper::current())
    }
}

/// The callers to wake after a batch of replies.
#[derive(Default)]
pub(crate) struct Batch(imp::Batch);

impl Batch {
    /// Adds `sleeper` to the batch.
    pub(crate) fn add(&mut self, sleeper: &Sleeper) {
        self.0.add(&sleeper.0);
    }
}

/// Where a manager's callers sleep, and how many whose replies came are on
/// their way back (see [`Wakeups::returning`]).
#[derive(Default)]
pub(crate) struct Wakeups(imp::Wakeups, AtomicUsize);

impl Wakeups {
    /// Callers whose replies came and who have not left `call` yet. While
    /// there are any, a caller that submits an action leaves the write to
    /// the last of them to leave: the actions of callers woken together
    /// go out in one write.
    pub(crate) fn returning(&self) -> usize {
        self.1.load(Ordering::SeqCst)
    }

    pub(crate) fn returning_add(&self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }

    /// One caller left; true if it was the last on its way back (it then
    /// writes what others left to it).
    pub(crate) fn returned(&self) -> bool {
        self.1.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// A token to pass to [`Wakeups::sleep`]: read it before looking at the
    /// condition slept on, so a wake that comes in between is not lost.
    pub(crate) fn token(&self) -> u32 {
        self.0.token()
    }

    /// Sleeps until woken (maybe spuriously) after `token` was read, or
    /// `deadline`. The caller looks at its condition again on return.
    pub(crate) fn sleep(&self, token: u32, me: &Sleeper, deadline: Option<Instant>) {
        self.0.sleep(token, &me.0, deadline);
    }

    /// Wakes every sleeper of `batch`.
    pub(crate) fn wake(&self, batch: Batch) {
        self.0.wake(batch.0);
    }
}

#[cfg(target_os = "linux")]
// The only unsafe code of the crate: two futex calls and a clock read.
#[allow(unsafe_code)]
mod imp {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Instant;

    #[derive(Clone)]
    pub(super) struct Sleeper {
        bit: u32,
    }

    thread_local! {
        static BIT: Cell<u32> = const { Cell::new(0) };
    }

    /// Bits are handed out round robin; two threads with one bit only
    /// cost each other a spurious wake-up.
    static NEXT: AtomicU32 = AtomicU32::new(0);

    impl Sleeper {
        pub(super) fn current() -> Self {
            let bit = BIT.with(|b| {
                if b.get() == 0 {
                    b.set(1 << (NEXT.fetch_add(1, Ordering::Relaxed) % 32));
                }
                b.get()
            });
            Sleeper { bit }
        }
    }

    #[derive(Default)]
    pub(super) struct Batch {
        bits: u32,
    }

    impl Batch {
        pub(super) fn add(&mut self, s: &Sleeper) {
            self.bits |= s.bit;
        }
    }

    #[derive(Default)]
    pub(super) struct Wakeups {
        word: AtomicU32,
    }

    impl Wakeups {
        pub(super) fn token(&self) -> u32 {
            self.word.load(Ordering::SeqCst)
        }

        pub(super) fn sleep(&self, token: u32, me: &Sleeper, deadline: Option<Instant>) {
            let timeout = match deadline {
                None => None,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    Some(absolute(left))
                }
            };
            let ts = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const _);
            // SAFETY: the word outlives the call (it is borrowed); `ts` is
            // null or points at a timespec on this stack frame; the futex
            // only reads both. EAGAIN (the word moved on: a wake came),
            // EINTR and ETIMEDOUT all mean "look again", which the caller
            // does.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.word.as_ptr(),
                    libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
                    token,
                    ts,
                    std::ptr::null::<u32>(),
                    me.bit,
                );
            }
        }

        pub(super) fn wake(&self, batch: Batch) {
            if batch.bits == 0 {
                return;
            }
            self.word.fetch_add(1, Ordering::SeqCst);
            // SAFETY: as in `sleep`; a wake reads nothing but the word's
            // address.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.word.as_ptr(),
                    libc::FUTEX_WAKE_BITSET | libc::FUTEX_PRIVATE_FLAG,
                    i32::MAX,
                    std::ptr::null::<libc::timespec>(),
                    std::ptr::null::<u32>(),
                    batch.bits,
                );
            }
        }
    }

    /// Now + `left` on CLOCK_MONOTONIC (the clock FUTEX_WAIT_BITSET's
    /// absolute timeout is measured on).
    fn absolute(left: std::time::Duration) -> libc::timespec {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid timespec to write to.
        unsafe {
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
        }
        let nanos = now.tv_nsec as u64 + u64::from(left.subsec_nanos());
        let secs = (now.tv_sec as u64)
            .saturating_add(left.as_secs())
            .saturating_add(nanos / 1_000_000_000);
        libc::timespec {
            tv_sec: libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX),
            tv_nsec: (nanos % 1_000_000_000) as _,
        }
    }
}

#[cfg(not(target_os = "linux"))]
use portable as imp;

/// One park per sleeper: any platform (and tested on Linux too).
#[cfg_attr(target_os = "linux", allow(dead_code))]
mod portable {
    use std::thread::{self, Thread};
    use std::time::Instant;

    #[derive(Clone)]
    pub(super) struct Sleeper(Thread);

    impl Sleeper {
        pub(super) fn current() -> Self {
            Sleeper(thread::current())
        }
    }

    #[derive(Default)]
    pub(super) struct Batch(Vec<Thread>);

    impl Batch {
        pub(super) fn add(&mut self, s: &Sleeper) {
            self.0.push(s.0.clone());
        }

        #[cfg(test)]
        pub(super) fn add_thread(&mut self, t: Thread) {
            self.0.push(t);
        }
    }

    #[derive(Default)]
    pub(super) struct Wakeups;

    impl Wakeups {
        pub(super) fn token(&self) -> u32 {
            0
        }

        pub(super) fn sleep(&self, _token: u32, _me: &Sleeper, deadline: Option<Instant>) {
            match deadline {
                None => thread::park(),
                Some(d) => thread::park_timeout(d.saturating_duration_since(Instant::now())),
            }
        }

        pub(super) fn wake(&self, batch: Batch) {
            for t in batch.0 {
                t.unpark();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::portable;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// The portable fallback: a wake reaches a sleeper, a sleep ends at its
    /// deadline, and a wake before the sleep is not lost.
    #[test]
    fn portable_wakeups() {
        let w = Arc::new(portable::Wakeups);
        let done = Arc::new(AtomicBool::new(false));
        let (w2, done2) = (w.clone(), done.clone());
        let sleeper = std::thread::spawn(move || {
            let me = portable::Sleeper::current();
            let deadline = Instant::now() + Duration::from_secs(30);
            while !done2.load(Ordering::SeqCst) {
                w2.sleep(w2.token(), &me, Some(deadline));
            }
        });
        std::thread::sleep(Duration::from_millis(20));
        done.store(true, Ordering::SeqCst);
        // The sleeper's identity is only known on its thread: wake by the
        // join handle's thread.
        let mut batch = portable::Batch::default();
        batch.add_thread(sleeper.thread().clone());
        w.wake(batch);
        sleeper.join().expect("sleeper");

        let me = portable::Sleeper::current();
        let start = Instant::now();
        w.sleep(w.token(), &me, Some(start + Duration::from_millis(30)));
        assert!(start.elapsed() < Duration::from_secs(10));
        let mut batch = portable::Batch::default();
        batch.add(&me);
        w.wake(batch);
        // The unpark token is kept: this sleep returns at once.
        let start = Instant::now();
        w.sleep(w.token(), &me, Some(start + Duration::from_secs(30)));
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
