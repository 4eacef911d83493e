//! Emulators of Asterisk for tests: an AMI server and a FastAGI client.
//!
//! They are part of the public API so that users can test their own
//! programs without an Asterisk; astrix's own tests use them over real
//! loopback sockets.

mod ami_defaults;
mod ami_reply;
mod ami_server;
#[cfg(feature = "tls")]
pub(crate) mod tls_server;

pub use ami_reply::Reply;
pub use ami_server::{AmiServer, AmiServerBuilder};

// AGI emulators (FastAGI client, stdio script harness).
mod agi_args;
mod agi_model;
mod fastagi_client;
pub use agi_args::split_agi_args;
pub use fastagi_client::{FastAgiClient, Fault, Transcript};
/// The session [`FastAgiClient::run_script`] hands to a script.
pub type AgiOverSocket =
    crate::agi::Agi<std::io::BufReader<std::net::TcpStream>, std::net::TcpStream>;
