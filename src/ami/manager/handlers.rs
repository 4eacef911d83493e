//! Registering callbacks and streams on a [`Manager`]: by event name, by
//! typed event, catch-all, orphan responses, protocol errors, connection
//! state. Each message callback comes in two forms: `f(event)`, and
//! `f(event, manager)` (pystrix's handler shape), which is lent the manager
//! for the duration of the call, so that it can send actions without
//! holding a handle that would keep the connection open.

use std::sync::Arc;

use super::Manager;
use crate::ami::callbacks::{CallbackId, ConnectionState, ProtocolError};
use crate::ami::events::Event;
use crate::ami::message::Message;
use crate::subscription::{self, Subscription};

impl Manager {
    /// Calls `f` for every event called `name` (ASCII case ignored).
    pub fn on_event(&self, name: &str, f: impl Fn(&Message) + Send + Sync + 'static) -> CallbackId {
        self.on_event_with(name, move |m, _| f(m))
    }

    /// Calls `f(event, manager)` for every event called `name` (ASCII case
    /// ignored), as pystrix's handlers are called. The manager is lent for
    /// the call: send actions with it, clone it only if the clone should
    /// keep the connection open. It is not called once every other handle
    /// is gone (the connection is closing then).
    ///
    /// ```
    /// use astrix::ami::{actions::Ping, Manager};
    /// use astrix::testing::AmiServer;
    ///
    /// let server = AmiServer::start()?;
    /// let manager = Manager::connect(server.addr())?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// manager.on_event_with("FullyBooted", move |_event, manager| {
    ///     // A callback may send actions: the reader never waits for it.
    ///     let _ = tx.send(manager.send_action(&Ping).is_ok());
    /// });
    /// manager.login("admin", "wordpass")?;
    /// assert!(rx.recv()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_event_with(
        &self,
        name: &str,
        f: impl Fn(&Message, &Manager) + Send + Sync + 'static,
    ) -> CallbackId {
        self.inner.shared.callbacks.on_name(
            name,
            Arc::new(move |m: &Message, c: Option<&Manager>| {
                if let Some(manager) = c {
                    f(m, manager);
                }
                Ok(())
            }),
        )
    }

    /// Calls `f` with every event of type `E`. An event that does not parse
    /// as `E` is reported to the [`Manager::on_protocol_error`] callbacks
    /// (and logged), and still reaches name and catch-all callbacks.
    pub fn on<E: Event>(&self, f: impl Fn(&E) + Send + Sync + 'static) -> CallbackId {
        self.on_with(move |e: &E, _| f(e))
    }

    /// [`Manager::on`], with the manager lent to `f` as in
    /// [`Manager::on_event_with`].
    pub fn on_with<E: Event>(
        &self,
        f: impl Fn(&E, &Manager) + Send + Sync + 'static,
    ) -> CallbackId {
        self.inner
            .shared
            .callbacks
            .on_typed(move |e: &E, c: Option<&Manager>| {
                if let Some(manager) = c {
                    f(e, manager);
                }
            })
    }

    /// Calls `f` for every event (pystrix's `''` callback).
    pub fn on_any_event(&self, f: impl Fn(&Message) + Send + Sync + 'static) -> CallbackId {
        self.on_any_event_with(move |m, _| f(m))
    }

    /// [`Manager::on_any_event`], with the manager lent to `f` as in
    /// [`Manager::on_event_with`].
    pub fn on_any_event_with(
        &self,
        f: impl Fn(&Message, &Manager) + Send + Sync + 'static,
    ) -> CallbackId {
        self.inner.shared.callbacks.on_any(lend(f))
    }

    /// Calls `f` for every response no caller waits for: an unknown or
    /// late ActionID (pystrix's `None` callback).
    pub fn on_orphan(&self, f: impl Fn(&Message) + Send + Sync + 'static) -> CallbackId {
        self.on_orphan_with(move |m, _| f(m))
    }

    /// [`Manager::on_orphan`], with the manager lent to `f` as in
    /// [`Manager::on_event_with`].
    pub fn on_orphan_with(
        &self,
        f: impl Fn(&Message, &Manager) + Send + Sync + 'static,
    ) -> CallbackId {
        self.inner.shared.callbacks.on_orphan(lend(f))
    }

    /// Calls `f` when the connection is lost or, with a reconnect policy,
    /// comes back ([`ConnectionState`]), in order with the events.
    pub fn on_connection_state(
        &self,
        f: impl Fn(&ConnectionState) + Send + Sync + 'static,
    ) -> CallbackId {
        self.inner.shared.callbacks.on_state(Arc::new(f))
    }

    /// Calls `f` for input that could not be read as intended: a message the
    /// decoder refused (too large, a line without a colon, cut off by the
    /// end of the connection, …) that no caller was waiting for, or an
    /// event that did not parse as the type of a [`Manager::on`] callback.
    pub fn on_protocol_error(
        &self,
        f: impl Fn(&ProtocolError) + Send + Sync + 'static,
    ) -> CallbackId {
        self.inner.shared.callbacks.on_error(Arc::new(f))
    }

    /// Unregisters a callback; false if it was not registered.
    pub fn remove_callback(&self, id: CallbackId) -> bool {
        self.inner.shared.callbacks.remove(id)
    }

    /// Every event as a stream, through a queue of `capacity` events (see
    /// [`Subscription`] for what happens when it is full: nothing is
    /// dropped). Subscribe before [`login`](Manager::login) to see the
    /// events that follow it at once; dropping the subscription
    /// unsubscribes. It ends when the connection ends for good (a
    /// reconnect does not end it).
    ///
    /// ```
    /// use astrix::ami::{actions::Ping, Manager};
    /// use astrix::testing::AmiServer;
    ///
    /// let server = AmiServer::start()?;
    /// let manager = Manager::connect(server.addr())?;
    /// let events = manager.subscribe(1024);
    /// manager.login("admin", "wordpass")?;
    /// let first = events.recv()?;
    /// assert_eq!(first.event_name(), Some("FullyBooted"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe(&self, capacity: usize) -> Subscription<Message> {
        let (tx, rx) = subscription::queue(capacity);
        let id = self.on_any_event(move |m| {
            // An error means the subscription was dropped: nothing to do.
            let _ = tx.send(m.clone());
        });
        self.subscription(rx, id)
    }

    /// The events of type `E` as a stream, typed
    /// (`manager.subscribe_to::<Newchannel>(256)`); as
    /// [`subscribe`](Manager::subscribe) otherwise. An event that does not
    /// parse as `E` goes to the [`Manager::on_protocol_error`] callbacks.
    pub fn subscribe_to<E: Event>(&self, capacity: usize) -> Subscription<E> {
        let (tx, rx) = subscription::queue(capacity);
        let id = self.inner.shared.callbacks.on_name(
            E::NAME,
            Arc::new(move |m: &Message, _: Option<&Manager>| {
                let _ = tx.send(E::from_message(m)?);
                Ok(())
            }),
        );
        self.subscription(rx, id)
    }

    fn subscription<T>(
        &self,
        rx: crossbeam_channel::Receiver<T>,
        id: CallbackId,
    ) -> Subscription<T> {
        let shared = Arc::downgrade(&self.inner.shared);
        Subscription::new(rx, move || {
            if let Some(s) = shared.upgrade() {
                s.callbacks.remove(id);
            }
        })
    }
}

/// A callback that is lent the manager, as the registry stores it.
fn lend(
    f: impl Fn(&Message, &Manager) + Send + Sync + 'static,
) -> Arc<crate::ami::callbacks::MessageFn<Manager>> {
    Arc::new(move |m: &Message, c: Option<&Manager>| {
        if let Some(manager) = c {
            f(m, manager);
        }
    })
}
