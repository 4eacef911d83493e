//! [`Reply`]: what the AMI emulator does in answer to one action.

use std::time::Duration;

use crate::ami::Message;

#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// A message to this connection; `ActionID` added when `tag` is set.
    Send {
        message: Message,
        tag: bool,
    },
    /// An event to every logged-in connection that has events on.
    Broadcast(Message),
    /// Bytes as they are.
    Raw(Vec<u8>),
    Delay(Duration),
    Close,
    /// The emulated PBX acts by itself on the channel named (its dialplan
    /// hangs up, an agent answers, …): the function's events are
    /// broadcast.
    World(
        fn(&str, &mut super::defaults::World) -> Vec<Message>,
        String,
    ),
    /// The emulated channel leaves the world without events of its own
    /// (the reply's `Hangup` for it follows).
    Gone(String),
}

/// A scripted answer to an action: messages, events, raw bytes, pauses and
/// faults, played in order.
///
/// Responses and list events get the action's `ActionID` added when they
/// have none.
///
/// ```
/// use astrix::ami::Message;
/// use astrix::testing::Reply;
/// use std::time::Duration;
///
/// // Answer after a second, then close the connection.
/// let r = Reply::success().delay(Duration::from_secs(1)).close();
/// // An error response.
/// let e = Reply::error("No such channel");
/// // Never answer at all.
/// let n = Reply::none();
/// # let _ = (r, e, n);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Reply {
    pub(crate) steps: Vec<Step>,
}

impl Reply {
    /// An empty script: the action gets no answer.
    pub fn none() -> Self {
        Reply::default()
    }

    /// `Response: Success` with the action's ActionID.
    pub fn success() -> Self {
        Reply::none().response(Message::new().with("Response", "Success"))
    }

    /// `Response: Success` with a `Message:` text.
    pub fn success_with(message: &str) -> Self {
        Reply::none().response(
            Message::new()
                .with("Response", "Success")
                .with("Message", message),
        )
    }

    /// `Response: Error` with a `Message:` text.
    pub fn error(message: &str) -> Self {
        Reply::none().response(
            Message::new()
                .with("Response", "Error")
                .with("Message", message),
        )
    }

    /// Sends a response; `ActionID` is added after its first header if absent.
    pub fn response(mut self, message: Message) -> Self {
        self.steps.push(Step::Send { message, tag: true });
        self
    }

    /// Sends an event of a list (tagged with the ActionID like a response).
    pub fn list_event(self, message: Message) -> Self {
        self.response(message)
    }

    /// Sends a message to this connection as it is.
    pub fn send(mut self, message: Message) -> Self {
        self.steps.push(Step::Send {
            message,
            tag: false,
        });
        self
    }

    /// Sends an event to every connection that is logged in with events on.
    pub fn broadcast(mut self, event: Message) -> Self {
        self.steps.push(Step::Broadcast(event));
        self
    }

    /// Sends raw bytes (for malformed input, or a message cut short).
    pub fn raw(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.steps.push(Step::Raw(bytes.into()));
        self
    }

    /// Pauses before the next step. A reply with a pause is played on a
    /// thread of its own, so the connection goes on answering meanwhile.
    pub fn delay(mut self, d: Duration) -> Self {
        self.steps.push(Step::Delay(d));
        self
    }

    /// Closes the connection.
    pub fn close(mut self) -> Self {
        self.steps.push(Step::Close);
        self
    }

    /// Takes the emulated channel `name` out of the world at this point of
    /// the reply (just before the reply's `Hangup` for it).
    pub(crate) fn gone(mut self, name: &str) -> Self {
        self.steps.push(Step::Gone(name.to_owned()));
        self
    }

    /// Appends another reply's steps.
    pub fn then(mut self, other: Reply) -> Self {
        self.steps.extend(other.steps);
        self
    }
}
