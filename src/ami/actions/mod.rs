//! Typed AMI actions.
//!
//! Each is a struct with a constructor for its required parameters and
//! builder methods for the optional ones; its [`Action::Output`] says what
//! the reply means. [`RawAction`](crate::ami::RawAction) sends anything
//! else.
//!
//! [`Action::Output`]: crate::ami::Action::Output

mod channel;
mod system;

pub use channel::{Getvar, Hangup, Originate, Setvar, Status};
pub use system::{
    Challenge, Command, CommandOutput, CoreSettings, CoreSettingsOutput, CoreShowChannels,
    CoreStatus, CoreStatusOutput, Events, Login, Logoff, Ping, Pong, UserEvent,
};

use super::{AmiError, Response};

/// The `UnexpectedResponse` error for a reply of the wrong shape.
pub(crate) fn unexpected(action: &str, reason: impl Into<String>, response: Response) -> AmiError {
    AmiError::UnexpectedResponse {
        action: action.to_owned(),
        reason: reason.into(),
        response: Box::new(response),
    }
}
