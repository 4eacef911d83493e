//! The Asterisk REST Interface (ARI), blocking: REST operations through
//! repositories and domain objects, and the event WebSocket with callbacks
//! run by a dispatcher thread, as aioari offers in Python. Behind the cargo
//! feature `ari`.
//!
//! ```no_run
//! use astrix::ari::events::StasisStart;
//! use astrix::ari::Client;
//!
//! let client = Client::builder("http://127.0.0.1:8088")
//!     .credentials("hey", "peekaboo")
//!     .app("hello")
//!     .connect()?;
//! client.on(|client: &astrix::ari::Client, e: &StasisStart| {
//!     let channel = client.channel(e.channel.id.clone());
//!     if let Err(err) = channel.answer() {
//!         eprintln!("answer failed: {err}");
//!     }
//! });
//! // Events wait until the callbacks are in place: none is lost.
//! client.start();
//! client.wait_closed()?;
//! # Ok::<(), astrix::ari::AriError>(())
//! ```
//!
//! Every resource and operation of Asterisk 22's ARI is generated from its
//! Swagger files (`tools/gen_ari.py`): [`models`] holds the data types,
//! [`events`] the event types, and one module per resource its repository
//! and request builders. [`testing::AriServer`](crate::testing) emulates
//! Asterisk for tests.

mod client;
mod dispatch;
mod encode;
mod error;
mod http;
mod objects;
mod url;
mod websocket;

#[cfg(test)]
mod generated_tests;

#[path = "generated/applications.rs"]
pub mod applications;
#[path = "generated/asterisk.rs"]
pub mod asterisk;
#[path = "generated/bridges.rs"]
pub mod bridges;
#[path = "generated/channels.rs"]
pub mod channels;
#[path = "generated/device_states.rs"]
pub mod device_states;
#[path = "generated/endpoints.rs"]
pub mod endpoints;
#[path = "generated/events.rs"]
pub mod events;
#[path = "generated/mailboxes.rs"]
pub mod mailboxes;
#[path = "generated/models.rs"]
pub mod models;
#[path = "generated/object_methods.rs"]
mod object_methods;
#[path = "generated/playbacks.rs"]
pub mod playbacks;
#[path = "generated/recordings.rs"]
pub mod recordings;
#[path = "generated/sounds.rs"]
pub mod sounds;

pub use crate::reconnect::ReconnectPolicy;
pub use crate::subscription::Subscription;
pub use client::{Client, ClientBuilder};
pub use dispatch::{CallbackId, ConnectionState};
pub use error::AriError;
pub use events::{AriEvent, Event};
pub use objects::{
    Bridge, Carries, Channel, Endpoint, ListParam, LiveRecording, ObjectRef, Playback,
    StoredRecording,
};
