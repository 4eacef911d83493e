//! # astrix
//!
//! Program the Asterisk PBX from ordinary, blocking Rust: the Asterisk
//! Manager Interface ([`ami`]), the Asterisk Gateway Interface in its
//! stdin/stdout, FastAGI and AsyncAGI forms ([`agi`]), and emulators of
//! Asterisk for tests ([`testing`]).
//!
//! Every protocol has a sans-IO core (bytes in, typed messages out) and thin
//! threaded adapters on top; no async runtime is involved.
//!
//! ```
//! use astrix::ami::actions::{Command, Originate, Ping};
//! use astrix::ami::events::Newchannel;
//! use astrix::ami::Manager;
//! use astrix::testing::AmiServer;
//!
//! // An emulated Asterisk; use "127.0.0.1:5038" for a real one.
//! let server = AmiServer::start()?;
//! let manager = Manager::connect(server.addr())?;
//! manager.on(|e: &Newchannel| println!("new channel {}", e.channel.channel));
//! manager.login("admin", "wordpass")?;
//!
//! manager.send_action(&Ping)?;
//! let version = manager.send_action(&Command::new("core show version"))?;
//! println!("{}", version.lines[0]);
//! manager.send_action(&Originate::to_application("Local/100@test", "Wait").data("5").async_(true))?;
//! manager.logoff()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `cargo run --example quickstart` runs the same against the emulator and
//! prints a transcript.
//!
//! The cargo feature `tls` adds AMI over TLS (the module `tls`,
//! `ManagerBuilder::tls`) and a TLS mode of the AMI emulator.
//!
//! The feature `testing` (on by default) adds the emulators of
//! [`testing`]; production builds can leave it out with
//! `default-features = false`.
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod agi;
pub mod ami;
#[cfg(feature = "ari")]
#[cfg_attr(docsrs, doc(cfg(feature = "ari")))]
pub mod ari;
mod channel_state;
pub mod config;
mod ended;
mod error_chain;
mod ids;
pub mod live;
mod net;
mod reconnect;
mod secret;
pub mod subscription;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
mod util;

pub use channel_state::ChannelState;
pub use error_chain::ErrorChain;
pub use secret::Secret;
pub use subscription::Subscription;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// docs/coming-from.md (pystrix, pyst, obelus, aioari, panoramisk and
/// asterisk-java side by side with astrix), compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/coming-from.md")]
pub struct ComingFromDoctests;
