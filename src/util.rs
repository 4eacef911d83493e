//! Small helpers shared by the protocol modules.

use std::borrow::Cow;
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

/// Reads a peer's bytes as text: UTF-8 as it is; anything else as Latin-1,
/// each byte one character (U+0000 to U+00FF), so that no byte is lost.
/// The flag says Latin-1 was used; [`latin1_bytes`] then gives the bytes
/// back.
pub(crate) fn decode_text(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), false),
        Err(_) => (
            Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            true,
        ),
    }
}

/// The bytes of text [`decode_text`] read as Latin-1.
pub(crate) fn latin1_bytes(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.chars().map(|c| c as u32 as u8)
}
