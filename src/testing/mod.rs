//! Emulators of Asterisk for tests: an AMI server, a FastAGI client and
//! (feature `ari`) an ARI server, `AriServer`.
//!
//! They are part of the public API so that users can test their own
//! programs without an Asterisk; astrix's own tests use them over real
//! loopback sockets.
//!
//! # Where they follow Asterisk, and where they do not
//!
//! Their answers, event sequences and error texts follow Asterisk 22.10.1
//! (recordings of a real one, and its source where nothing was recorded).
//! Do not trust them for what they do not model:
//!
//! - **No media, no dialplan.** Nothing is played, recorded or heard; DTMF
//!   exists only where a test injects it (the AMI emulator's `PlayDTMF`
//!   gives the `DTMFBegin`/`DTMFEnd` a Local channel's other half reads,
//!   as if every channel were in an application that reads its frames); no dialplan runs (the AMI
//!   emulator mimics a few extensions of the test dialplan: `Local/103@test`
//!   is busy, `Local/105@test` congested, `Local/101@test` not answered,
//!   `Local/300@test` puts its `;2` half into AsyncAGI unanswered and ends
//!   when the session does, others answer and end after `Wait`'s seconds
//!   or 2 s).
//! - **AMI ([`AmiServer`]):** one channel per originate (two halves for a
//!   Local channel) with Newchannel / Newstate / Hangup / OriginateResponse
//!   only (no `DialBegin`, `LocalBridge`, `HangupRequest`, `VarSet`,
//!   `Newexten`, `DeviceStateChange`); no `Priority` that follows the
//!   dialplan; no `ChanVariable` headers (`channelvars`); the test
//!   dialplan's `600` only as a fixed `Dial` (its callees' channels,
//!   caller ids, connected lines and basic bridge as Asterisk 22 gives
//!   them, but no `DialBegin`/`DialEnd`, no timing: `610` answers at once
//!   and never hangs up by itself); queue `support` as the test dialplan's
//!   `500` uses it (its Local members called, `agent1` answering after a
//!   second and hanging up 3 s later, `QueueCallerJoin`, `AgentCalled`,
//!   `QueueCallerLeave`, `AgentConnect`, `AgentComplete`; no other
//!   strategy, no timeout or retry, no `QueueCallerAbandon`, no
//!   `QueueMemberStatus`, no member statistics); `BlindTransfer` and
//!   `Atxfer` of a channel in a two-party bridge (the other party sent to
//!   the extension; the consultation of a Local channel into it, completed
//!   when the transferer hangs up, with `BridgeMerge` and
//!   `AttendedTransfer`), not of a channel in a larger bridge, no
//!   `CancelAtxfer`, no `Hold`/`Unhold`, no transfer DTMF, no failing
//!   transfer target; no parking; only the actions it answers
//!   (others get `Invalid/unknown command`); permissions as manager.c
//!   checks them (users, read/write classes) but no ACLs, no
//!   `allowmultiplelogin`, no event filters.
//!
//! The differential check (`tests/differential.rs`, recordings in
//! `tests/data/differential/`) compares the emulators with a real Asterisk
//! 22 on scenarios; what it covers, and what it leaves out, is listed
//! there.
//! - **AGI ([`FastAgiClient`]):** see its own list; no SIGHUP, no
//!   `AGISTATUS`.
//! - **ARI (`AriServer`, feature `ari`):** channels, bridges, playbacks and
//!   applications in memory; no recordings' content, no snoop or external
//!   media streams, no endpoints' real state, no dialplan after
//!   `continue`; an originate sends no `Dial` events and nothing of the
//!   other half of a Local channel; timings (ringing, playback length)
//!   are made up.

/// Whether Asterisk's `ast_true` takes `v` for yes (`yes`, `true`, `y`,
/// `t`, `1`, `on`, ASCII case ignored).
pub(crate) fn ast_true(v: &str) -> bool {
    ["yes", "true", "y", "t", "1", "on"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(v))
}

// AMI emulator (TCP, optionally TLS).
mod ami;
#[cfg(feature = "tls")]
pub(crate) mod tls_server;
pub use ami::{AmiServer, AmiServerBuilder, Reply};

// AGI emulators (FastAGI client, stdio script harness).
mod agi;
pub use agi::{split_agi_args, AgiOverSocket, FastAgiClient, Fault, Transcript};

// ARI emulator (HTTP + WebSocket).
#[cfg(feature = "ari")]
mod ari;
#[cfg(feature = "ari")]
pub use ari::{AriServer, AriServerBuilder, HttpReply, IncomingCall, RecordedRequest};
