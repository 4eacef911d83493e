//! The AGI emulators: [`FastAgiClient`] plays Asterisk towards a FastAGI
//! server or a classic (stdin/stdout) script; its command model is shared
//! with the AsyncAGI of the AMI emulator.

mod args;
mod fastagi_client;
pub(crate) mod model;

pub use args::split_agi_args;
pub use fastagi_client::{FastAgiClient, Fault, Transcript};

/// The session [`FastAgiClient::run_script`] hands to a script.
pub type AgiOverSocket =
    crate::agi::Agi<std::io::BufReader<std::net::TcpStream>, std::net::TcpStream>;
