//! Typed AMI events.
//!
//! Each type implements [`Event`]: its name and a lenient parse from a
//! [`Message`] (a missing optional header is `None`; unknown headers are
//! ignored, and the message itself stays available to name and catch-all
//! callbacks). Events without a type here are read as [`Message`]s.

mod channel;
mod parse;
mod system;

pub use channel::{
    ChannelSnapshot, ChannelState, Hangup, Newchannel, Newstate, OriginateResponse, VarSet,
};
pub use parse::EventError;
pub use system::{CoreShowChannel, FullyBooted, UserEvent};

use super::message::Message;

/// A typed AMI event.
pub trait Event: Sized + Send + 'static {
    /// The `Event:` name, e.g. `"Hangup"`.
    const NAME: &'static str;

    /// Reads the event from a message whose `Event:` is [`Event::NAME`].
    fn from_message(message: &Message) -> Result<Self, EventError>;
}
