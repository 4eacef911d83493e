//! # astrix
//!
//! Program the Asterisk PBX from ordinary, blocking Rust: the Asterisk
//! Manager Interface ([`ami`]), the Asterisk Gateway Interface in its
//! stdin/stdout, FastAGI and AsyncAGI forms ([`agi`]), and emulators of
//! Asterisk for tests ([`testing`]).
//!
//! Every protocol has a sans-IO core (bytes in, typed messages out) and thin
//! threaded adapters on top; no async runtime is involved.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod agi;
pub mod ami;
mod secret;
pub mod testing;

pub use secret::Secret;
