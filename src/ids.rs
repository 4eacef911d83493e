//! Ids unique across connections and processes, for AMI's ActionIDs and
//! ARI's object ids.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A generator of ActionIDs unique across managers and processes: a random
/// 64-bit prefix per generator and a counter. ARI's `Client::new_id` uses
/// it too, for channel, bridge and playback ids.
///
/// Asterisk sends other connections' `OriginateResponse` and `UserEvent`
/// with *their* ActionIDs to every connection, so IDs must not collide
/// between processes.
#[derive(Debug)]
pub struct ActionId {
    prefix: String,
    next: AtomicU64,
}

impl ActionId {
    /// A generator with a fresh random prefix.
    pub fn new() -> Self {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let mut h = RandomState::new().build_hasher();
        h.write_u64(SEQ.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        ActionId {
            prefix: format!("astrix-{:016x}-", h.finish()),
            next: AtomicU64::new(1),
        }
    }

    /// The next ActionID.
    pub fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut s = String::with_capacity(self.prefix.len() + 8);
        s.push_str(&self.prefix);
        fmt::Write::write_fmt(&mut s, format_args!("{n}")).ok();
        s
    }
}

impl Default for ActionId {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_generators() {
        let a = ActionId::new();
        let b = ActionId::new();
        assert_ne!(a.next_id(), b.next_id());
        assert_ne!(a.next_id(), a.next_id());
    }
}
