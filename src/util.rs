//! Small helpers shared by the protocol modules.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard};

/// Locks a std mutex. The hot paths use std's mutexes because they sleep in
/// the kernel at once under contention (parking_lot's spin and yield, which
/// costs more with many threads on few cores); no code of ours panics while
/// holding one, and the data stays valid if a panic ever did, so poisoning
/// is ignored.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Shortens (to 200 bytes, marked with `…`) and lossily decodes bytes for
/// an error message.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let cut = &bytes[..bytes.len().min(MAX)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > MAX {
        s.push('…');
    }
    s
}

/// Runs a user callback, logging instead of propagating a panic: one bad
/// callback must not take a dispatcher thread (and every later event) down.
pub(crate) fn guarded(protocol: &str, what: &str, f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".into());
        log::error!("{protocol} {what} callback panicked: {msg}");
    }
}
