//! Emulators of Asterisk for tests: an AMI server, a FastAGI client and
//! (feature `ari`) an ARI server, `AriServer`.
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

// ARI emulator (HTTP + WebSocket).
#[cfg(feature = "ari")]
mod ari_api;
#[cfg(feature = "ari")]
mod ari_calls;
#[cfg(feature = "ari")]
mod ari_channels;
#[cfg(feature = "ari")]
mod ari_conn;
#[cfg(feature = "ari")]
mod ari_hooks;
#[cfg(feature = "ari")]
mod ari_http;
#[cfg(feature = "ari")]
mod ari_model;
#[cfg(feature = "ari")]
mod ari_playback;
#[cfg(feature = "ari")]
mod ari_response;
#[cfg(feature = "ari")]
mod ari_routes;
#[cfg(feature = "ari")]
mod ari_server;
#[cfg(feature = "ari")]
mod ari_time;
#[cfg(feature = "ari")]
mod ari_ws;
#[cfg(feature = "ari")]
pub use ari_response::Response;
#[cfg(feature = "ari")]
pub use ari_server::{AriServer, AriServerBuilder, IncomingCall, RecordedRequest};
