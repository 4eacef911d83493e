//! The Asterisk Manager Interface.
//!
//! - [`codec`]: the sans-IO decoder and encoder.
//! - [`Connection`]: the whole client protocol (ActionID matching, lists,
//!   login, reconnection replay, keepalive, timeouts) as a sans-IO state
//!   machine, for your own event loop.
//! - [`Message`]: one message, an ordered case-insensitive multimap.
//! - [`Manager`]: the threaded client (reader and dispatcher threads,
//!   blocking [`Manager::send_action`], event callbacks).
//! - [`actions`] and [`events`]: typed actions and events; [`RawAction`]
//!   and [`Message`] for everything else.

mod action;
pub mod actions;
mod callbacks;
pub mod codec;
pub mod connection;
mod error;
pub mod events;
mod manager;
mod message;
mod originate;
mod response;

pub use crate::ids::ActionId;
pub use crate::reconnect::ReconnectPolicy;
pub use crate::subscription::Subscription;
pub use action::{Action, ActionExt, RawAction, WithActionId};
pub use callbacks::{CallbackId, ConnectionState, ProtocolError};
pub use connection::{md5_key, AuthMethod, Connection, Output, Phase};
pub use error::{AmiError, DisconnectReason};
pub use events::Event;
pub use manager::{Manager, ManagerBuilder, WeakManager};
pub use message::{Message, MessageKind};
pub use originate::{Call, CallEnd, CallError, CallEvent, CallManager, CallState};
pub use response::Response;
