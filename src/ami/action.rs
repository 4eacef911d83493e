//! The [`Action`] trait, [`RawAction`] for anything untyped, and
//! [`WithActionId`].

use super::error::AmiError;
use super::message::Message;
use super::response::Response;

/// An AMI action: a name, its headers, and what its reply means.
///
/// Typed actions in [`crate::ami::actions`] implement it; [`RawAction`]
/// sends anything else. [`crate::ami::Manager::send_action`] writes the
/// `Action:` and `ActionID:` headers itself.
pub trait Action {
    /// What a successful reply turns into.
    type Output;

    /// The action name, as sent in `Action:`.
    fn name(&self) -> &str;

    /// Appends the action's own headers (not `Action:` or `ActionID:`).
    fn write_headers(&self, headers: &mut Message);

    /// A caller-chosen ActionID, kept as given. `None` lets the manager
    /// choose a unique one.
    fn action_id(&self) -> Option<&str> {
        None
    }

    /// True for actions that older Asterisk answers with an EventList
    /// without `EventList: start`; the manager then collects events up to
    /// the `…Complete` one. Modern lists are recognised without it.
    fn expects_list(&self) -> bool {
        false
    }

    /// Turns a successful reply (`Success`, `Follows`, `Goodbye`) into the
    /// output. `Response: Error` never reaches here: it becomes
    /// [`AmiError::ActionFailed`].
    fn parse_response(&self, response: Response) -> Result<Self::Output, AmiError>;
}

impl<A: Action + ?Sized> Action for &A {
    type Output = A::Output;
    fn name(&self) -> &str {
        (**self).name()
    }
    fn write_headers(&self, headers: &mut Message) {
        (**self).write_headers(headers)
    }
    fn action_id(&self) -> Option<&str> {
        (**self).action_id()
    }
    fn expects_list(&self) -> bool {
        (**self).expects_list()
    }
    fn parse_response(&self, response: Response) -> Result<Self::Output, AmiError> {
        (**self).parse_response(response)
    }
}

/// Any action, built from its name and headers; its reply is the raw
/// [`Response`].
///
/// An `ActionID` header, if given, is used as the action's ID.
///
/// ```
/// use astrix::ami::RawAction;
///
/// let a = RawAction::new("QueueStatus").header("Queue", "support").list();
/// assert_eq!(a.headers().get("queue"), Some("support"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAction {
    name: String,
    headers: Message,
    expects_list: bool,
}

impl RawAction {
    /// An action called `name` without headers.
    pub fn new(name: impl Into<String>) -> Self {
        RawAction {
            name: name.into(),
            headers: Message::new(),
            expects_list: false,
        }
    }

    /// Any action in this one form: its name, headers, ActionID and whether
    /// it expects a list. Holds actions of mixed types in one collection
    /// (`Vec<RawAction>`), to send later; their replies are the raw
    /// [`Response`].
    ///
    /// ```
    /// use astrix::ami::actions::{CoreShowChannels, Ping};
    /// use astrix::ami::{Action, RawAction};
    ///
    /// let queue = vec![
    ///     RawAction::from_action(&Ping),
    ///     RawAction::from_action(&CoreShowChannels::default()),
    /// ];
    /// assert!(queue[1].expects_list());
    /// ```
    pub fn from_action<A: Action + ?Sized>(action: &A) -> RawAction {
        let mut headers = Message::new();
        if let Some(id) = action.action_id() {
            headers.push("ActionID", id);
        }
        action.write_headers(&mut headers);
        RawAction {
            name: action.name().to_owned(),
            headers,
            expects_list: action.expects_list(),
        }
    }

    /// Adds a header; repeated names are sent repeatedly, in order.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Adds a header in place.
    pub fn push(&mut self, name: &str, value: &str) {
        self.headers.push(name, value);
    }

    /// Marks the action as answered by an EventList (see
    /// [`Action::expects_list`]).
    pub fn list(mut self) -> Self {
        self.expects_list = true;
        self
    }

    /// The headers given so far.
    pub fn headers(&self) -> &Message {
        &self.headers
    }
}

impl Action for RawAction {
    type Output = Response;

    fn name(&self) -> &str {
        &self.name
    }

    fn write_headers(&self, headers: &mut Message) {
        for (n, v) in self.headers.iter() {
            if !n.eq_ignore_ascii_case("ActionID") {
                headers.push(n, v);
            }
        }
    }

    fn action_id(&self) -> Option<&str> {
        self.headers.action_id()
    }

    fn expects_list(&self) -> bool {
        self.expects_list
    }

    fn parse_response(&self, response: Response) -> Result<Response, AmiError> {
        Ok(response)
    }
}

/// An action sent with a caller-chosen ActionID; see [`ActionExt::with_action_id`].
#[derive(Clone, Debug)]
pub struct WithActionId<A> {
    action: A,
    id: String,
}

impl<A: Action> Action for WithActionId<A> {
    type Output = A::Output;
    fn name(&self) -> &str {
        self.action.name()
    }
    fn write_headers(&self, headers: &mut Message) {
        self.action.write_headers(headers)
    }
    fn action_id(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn expects_list(&self) -> bool {
        self.action.expects_list()
    }
    fn parse_response(&self, response: Response) -> Result<Self::Output, AmiError> {
        self.action.parse_response(response)
    }
}

/// Extension methods for every [`Action`].
pub trait ActionExt: Action + Sized {
    /// Sends the action with the given ActionID instead of a generated one.
    fn with_action_id(self, id: impl Into<String>) -> WithActionId<Self> {
        WithActionId {
            action: self,
            id: id.into(),
        }
    }
}

impl<A: Action> ActionExt for A {}
