//! Emulators of Asterisk for tests: an AMI server and a FastAGI client.
//!
//! They are part of the public API so that users can test their own
//! programs without an Asterisk; astrix's own tests use them over real
//! loopback sockets.

mod ami_defaults;
mod ami_reply;
mod ami_server;

pub use ami_reply::Reply;
pub use ami_server::{AmiServer, AmiServerBuilder};
