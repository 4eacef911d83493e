//! Emulators of Asterisk for tests: an AMI server, a FastAGI client and
//! (feature `ari`) an ARI server, `AriServer`.
//!
//! They are part of the public API so that users can test their own
//! programs without an Asterisk; astrix's own tests use them over real
//! loopback sockets.

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
