//! The actions in flight on a [`Connection`](super::Connection), keyed by
//! ActionID, and the rules that say when a reply (or a list) is complete.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::login::LoginSteps;
use crate::ami::Message;

/// Who sent an action, and so where its reply goes.
pub(crate) enum Owner<T> {
    /// The user ([`Connection::send`](super::Connection::send)); `replay` is
    /// a `Filter`/`Events` action to replay after a reconnection once it
    /// succeeded.
    User { tag: T, replay: Option<Message> },
    /// A step of a login: the user's ([`Connection::login`](super::Connection::login),
    /// with its tag) or the connection's own after a reconnection.
    Login { tag: Option<T>, steps: LoginSteps },
    /// A `Filter`/`Events` action replayed after a reconnection.
    Replay,
    /// The keepalive `Ping`.
    Keepalive,
}

/// One action waiting for its reply.
pub(crate) struct Slot<T> {
    pub(crate) owner: Owner<T>,
    /// The action's name, for its [`Response`](crate::ami::Response) and
    /// errors.
    pub(crate) name: String,
    pub(crate) expects_list: bool,
    pub(crate) deadline: Option<Instant>,
    /// The timeout the deadline came from, for [`AmiError::Timeout`](crate::ami::AmiError::Timeout).
    pub(crate) timeout: Duration,
    /// Set once the response said a list follows.
    pub(crate) list: Option<List>,
}

/// A list being collected: its response, and its events so far.
pub(crate) struct List {
    pub(crate) response: Message,
    pub(crate) events: Vec<Message>,
    /// The response had no `EventList: start` (Asterisk before 13): see
    /// [`ends_list`].
    pub(crate) legacy: bool,
}

impl List {
    /// The response and the events, for the orphan handler when the list is
    /// abandoned.
    pub(crate) fn into_messages(self) -> impl Iterator<Item = Message> {
        std::iter::once(self.response).chain(self.events)
    }
}

/// The table of actions in flight.
pub(crate) struct Slots<T> {
    map: HashMap<String, Slot<T>>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            map: HashMap::new(),
        }
    }
}

impl<T> Slots<T> {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    pub(crate) fn insert(&mut self, id: String, slot: Slot<T>) {
        self.map.insert(id, slot);
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Slot<T>> {
        self.map.get_mut(id)
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<(String, Slot<T>)> {
        self.map.remove_entry(id)
    }

    /// Every slot, emptying the table.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (String, Slot<T>)> + '_ {
        self.map.drain()
    }

    /// The ids of the slots whose deadline is `now` or earlier.
    pub(crate) fn expired(&self, now: Instant) -> Vec<String> {
        self.map
            .iter()
            .filter(|(_, s)| s.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.map.values().filter_map(|s| s.deadline).min()
    }
}

/// Whether `response` opens a list for an action that `expects_list`:
/// `EventList: start` (Asterisk 13 and later), or, from Asterisk 1.8 to 12,
/// a `Success` whose message says the list "will follow" (`Queue status
/// will follow`, `Channel status will follow`, `Result will follow`, …).
/// Returns whether it is the legacy form.
pub(crate) fn opens_list(response: &Message, expects_list: bool) -> Option<bool> {
    if response
        .get("EventList")
        .is_some_and(|v| v.eq_ignore_ascii_case("start"))
    {
        return Some(false);
    }
    let legacy = expects_list
        && response
            .response()
            .is_some_and(|r| r.eq_ignore_ascii_case("Success"))
        && response
            .message_text()
            .is_some_and(|t| t.to_ascii_lowercase().contains("follow"));
    legacy.then_some(true)
}

/// What an event with a list's ActionID is to that list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListPart {
    /// One of its items.
    Item,
    /// Its closing event (`EventList: Complete`, or a name ending in
    /// `Complete`: every list since Asterisk 1.8 ends that way).
    End,
    /// Its last item, for a legacy list without a closing event: `DBGet`
    /// before Asterisk 13 answered with one `DBGetResponse` and nothing
    /// after it.
    LastItem,
}

/// What `event` is to the list of action `action`.
pub(crate) fn list_part(action: &str, legacy: bool, event: &Message) -> ListPart {
    if event
        .get("EventList")
        .is_some_and(|v| v.eq_ignore_ascii_case("Complete"))
        || event.event_name().is_some_and(ends_in_complete)
    {
        ListPart::End
    } else if legacy && action.eq_ignore_ascii_case("DBGet") {
        ListPart::LastItem
    } else {
        ListPart::Item
    }
}

fn ends_in_complete(name: &str) -> bool {
    let n = name.len();
    n >= 8 && name.is_char_boundary(n - 8) && name[n - 8..].eq_ignore_ascii_case("Complete")
}
