//! Callers waiting for their responses, keyed by ActionID.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::mpsc::SyncSender as Sender;
use std::sync::{Mutex, MutexGuard};

use super::error::{AmiError, DisconnectReason};
use super::message::Message;

/// What the reader hands a waiting caller: the response message and, for
/// a list, its events and closing event. The caller builds the
/// [`Response`] on its own thread.
pub(crate) type Reply = Result<(Message, Vec<Message>, Option<Message>), AmiError>;

struct Slot {
    tx: Sender<Reply>,
    expects_list: bool,
    /// Set once the response said a list follows: the response and the
    /// events so far.
    list: Option<(Message, Vec<Message>)>,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<String, Slot>,
    /// Set while the connection is down (for good, or until a reconnect).
    down: Option<DisconnectReason>,
}

/// What became of a message offered to the waiting callers.
pub(crate) enum Routed {
    /// A caller took it.
    Taken,
    /// Nobody waits for it: it goes to the callbacks.
    NotMine(Message),
}

/// The table of callers waiting for a reply.
#[derive(Default)]
pub(crate) struct Pending {
    inner: Mutex<Inner>,
    /// Number of callers waiting; lets the reader skip the lock.
    waiting: AtomicUsize,
}

impl Pending {
    /// The table, locked (a std mutex; see `crate::util::lock`).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::util::lock(&self.inner)
    }

    /// Registers a caller before its action is written.
    pub(crate) fn register(
        &self,
        id: &str,
        expects_list: bool,
        tx: Sender<Reply>,
    ) -> Result<(), AmiError> {
        let mut g = self.lock();
        if let Some(r) = &g.down {
            return Err(AmiError::Disconnected(r.clone()));
        }
        if g.slots.contains_key(id) {
            return Err(AmiError::DuplicateActionId(id.to_owned()));
        }
        g.slots.insert(
            id.to_owned(),
            Slot {
                tx,
                expects_list,
                list: None,
            },
        );
        self.waiting.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Removes a caller (timeout or write error). Returns the events of a
    /// list it was collecting, so they are not lost.
    pub(crate) fn cancel(&self, id: &str) -> Option<Vec<Message>> {
        let slot = self.lock().slots.remove(id)?;
        self.waiting.fetch_sub(1, Ordering::Release);
        slot.list.map(|(r, events)| {
            let mut v = vec![r];
            v.extend(events);
            v
        })
    }

    /// Number of callers waiting.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Offers a response to the waiting callers.
    pub(crate) fn route_response(&self, m: Message) -> Routed {
        let Some(id) = m.action_id() else {
            return Routed::NotMine(m);
        };
        let mut g = self.lock();
        let Some(slot) = g.slots.get_mut(id) else {
            return Routed::NotMine(m);
        };
        let starts_list = m
            .get("EventList")
            .is_some_and(|v| v.eq_ignore_ascii_case("start"))
            || (slot.expects_list
                && m.response()
                    .is_some_and(|r| r.eq_ignore_ascii_case("Success"))
                && m.message_text()
                    .is_some_and(|t| t.to_ascii_lowercase().contains("follow")));
        if starts_list && slot.list.is_none() {
            slot.list = Some((m, Vec::new()));
            return Routed::Taken;
        }
        if let Some(slot) = g.slots.remove(id) {
            self.waiting.fetch_sub(1, Ordering::Release);
            drop(g);
            let _ = slot.tx.send(Ok((m, Vec::new(), None)));
        }
        Routed::Taken
    }

    /// Offers an event to a caller collecting a list with its ActionID.
    pub(crate) fn route_event(&self, m: Message) -> Routed {
        let Some(id) = m.action_id() else {
            return Routed::NotMine(m);
        };
        let mut g = self.lock();
        let Some(slot) = g.slots.get_mut(id) else {
            return Routed::NotMine(m);
        };
        let Some(list) = slot.list.as_mut() else {
            // An event with our ActionID outside a list (OriginateResponse):
            // never routed to a caller.
            return Routed::NotMine(m);
        };
        let complete = m
            .get("EventList")
            .is_some_and(|v| v.eq_ignore_ascii_case("Complete"))
            || m.event_name().is_some_and(|n| {
                n.len() >= 8
                    && n.is_char_boundary(n.len() - 8)
                    && n[n.len() - 8..].eq_ignore_ascii_case("Complete")
            });
        if !complete {
            list.1.push(m);
            return Routed::Taken;
        }
        if let Some(slot) = g.slots.remove(id) {
            self.waiting.fetch_sub(1, Ordering::Release);
            drop(g);
            if let Some((r, events)) = slot.list {
                let _ = slot.tx.send(Ok((r, events, Some(m))));
            }
        }
        Routed::Taken
    }

    /// Gives a decode error to the caller whose ActionID it carries.
    pub(crate) fn route_error(&self, id: &str, err: AmiError) -> bool {
        let slot = self.lock().slots.remove(id);
        match slot {
            Some(s) => {
                self.waiting.fetch_sub(1, Ordering::Release);
                let _ = s.tx.send(Err(err));
                true
            }
            None => false,
        }
    }

    /// Fails every waiting caller with `reason` and refuses new ones until
    /// [`Pending::set_up`].
    pub(crate) fn close(&self, reason: DisconnectReason) {
        let slots: Vec<Slot> = {
            let mut g = self.lock();
            if g.down.is_none() {
                g.down = Some(reason.clone());
            }
            g.slots.drain().map(|(_, s)| s).collect()
        };
        self.waiting.fetch_sub(slots.len(), Ordering::Release);
        for s in slots {
            let _ = s.tx.send(Err(AmiError::Disconnected(reason.clone())));
        }
    }

    /// Accepts callers again (after a reconnect).
    pub(crate) fn set_up(&self) {
        self.lock().down = None;
    }

    /// Why the connection is down, while it is.
    pub(crate) fn closed_reason(&self) -> Option<DisconnectReason> {
        self.lock().down.clone()
    }
}
