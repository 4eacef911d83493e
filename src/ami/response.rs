//! [`Response`]: the reply to an action, with the events of an EventList.

use super::message::Message;

/// The reply to one action: the response message and, for actions answered
/// by an EventList (`CoreShowChannels`, `Status`, `QueueStatus`, …), the
/// events of the list in order and the closing `…Complete` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    action: String,
    /// The `Response:` message itself.
    pub message: Message,
    /// The list's events, without the closing `…Complete` event.
    pub events: Vec<Message>,
    /// The closing `…Complete` event of a list.
    pub complete: Option<Message>,
}

impl Response {
    /// A response to `action` without list events.
    pub fn new(action: impl Into<String>, message: Message) -> Self {
        Response {
            action: action.into(),
            message,
            events: Vec::new(),
            complete: None,
        }
    }

    /// A response with the events of its list.
    pub(crate) fn with_list(
        action: &str,
        message: Message,
        events: Vec<Message>,
        complete: Option<Message>,
    ) -> Self {
        Response {
            action: action.to_owned(),
            message,
            events,
            complete,
        }
    }

    /// The name of the action this answers.
    pub fn action_name(&self) -> &str {
        &self.action
    }

    /// The `Response:` value: `Success`, `Error`, `Follows`, `Goodbye`, …
    pub fn status(&self) -> &str {
        self.message.response().unwrap_or("")
    }

    /// True for `Success`, `Follows` and `Goodbye`.
    pub fn is_success(&self) -> bool {
        let s = self.status();
        s.eq_ignore_ascii_case("Success")
            || s.eq_ignore_ascii_case("Follows")
            || s.eq_ignore_ascii_case("Goodbye")
    }

    /// True for `Response: Error`.
    pub fn is_error(&self) -> bool {
        self.status().eq_ignore_ascii_case("Error")
    }

    /// The first header called `name` of the response message.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.message.get(name)
    }

    /// The `ActionID:` of the response.
    pub fn action_id(&self) -> Option<&str> {
        self.message.action_id()
    }

    /// The `Message:` text of the response.
    pub fn message_text(&self) -> Option<&str> {
        self.message.message_text()
    }

    /// The `Output:` lines of a `Command` reply, in either format Asterisk
    /// uses (the decoder turns legacy `Follows` output into `Output` lines).
    pub fn output(&self) -> Vec<&str> {
        self.message.get_all("Output").collect()
    }

    /// True when this response came with an EventList.
    pub fn is_list(&self) -> bool {
        self.complete.is_some() || !self.events.is_empty()
    }

    /// Writes the response and its list events in AMI wire form, each
    /// message followed by a blank line (what `ami_action` prints).
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        self.message.write_wire(out);
        for e in self.events.iter().chain(self.complete.as_ref()) {
            e.write_wire(out);
        }
    }
}
