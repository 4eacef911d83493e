//! The Asterisk Manager Interface.
//!
//! - [`codec`]: the sans-IO decoder and encoder.
//! - [`Message`]: one message, an ordered case-insensitive multimap.
//! - [`Manager`]: the threaded client (reader and dispatcher threads,
//!   blocking [`Manager::send_action`], event callbacks).
//! - [`actions`] and [`events`]: typed actions and events; [`RawAction`]
//!   and [`Message`] for everything else.

mod action;
pub mod actions;
mod auth;
mod callbacks;
pub mod codec;
mod error;
pub mod events;
mod manager;
mod message;
mod originate;
mod pending;
mod reader;
mod response;

pub use crate::ids::ActionId;
pub use crate::reconnect::ReconnectPolicy;
pub use crate::subscription::Subscription;
pub use action::{Action, ActionExt, RawAction, WithActionId};
pub use auth::md5_key;
pub use callbacks::{CallbackId, ConnectionState, ProtocolError};
pub use error::{AmiError, DisconnectReason};
pub use events::Event;
pub use manager::{AuthMethod, Manager, ManagerBuilder, WeakManager};
pub use message::{Message, MessageKind};
pub use originate::{Call, CallEnd, CallError, CallManager, CallState};
pub use response::Response;
