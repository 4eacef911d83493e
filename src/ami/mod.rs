//! The Asterisk Manager Interface.

pub mod codec;
mod message;

pub use message::{Message, MessageKind};
