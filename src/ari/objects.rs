//! Domain objects: handles on a channel, bridge, playback, recording or
//! endpoint that carry their client, so that `channel.answer()` and
//! `bridge.add_channel(&channel)` read as in aioari.
//!
//! A handle is an id plus, when it came from Asterisk (a response or an
//! event), the model Asterisk sent. Its operations (generated from the
//! Swagger files) act on the id; the model is a snapshot and is not
//! updated: [`Channel::refresh`] fetches a new one.

use std::sync::Arc;

use super::client::Client;
use super::dispatch::{CallbackId, ObjectKey, ObjectKind};
use super::error::AriError;
use super::events::{AriEvent, Event};
use super::models;

/// A reference to an object an event is about, as returned by
/// [`Event::objects`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ObjectRef<'a> {
    /// A channel.
    Channel(&'a models::Channel),
    /// A bridge.
    Bridge(&'a models::Bridge),
    /// A playback.
    Playback(&'a models::Playback),
    /// A live recording.
    LiveRecording(&'a models::LiveRecording),
    /// An endpoint.
    Endpoint(&'a models::Endpoint),
}

impl ObjectRef<'_> {
    pub(crate) fn key(&self) -> ObjectKey {
        match self {
            ObjectRef::Channel(c) => ObjectKey::new(ObjectKind::Channel, &c.id),
            ObjectRef::Bridge(b) => ObjectKey::new(ObjectKind::Bridge, &b.id),
            ObjectRef::Playback(p) => ObjectKey::new(ObjectKind::Playback, &p.id),
            ObjectRef::LiveRecording(r) => ObjectKey::new(ObjectKind::LiveRecording, &r.name),
            ObjectRef::Endpoint(e) => ObjectKey::new(
                ObjectKind::Endpoint,
                &endpoint_id(&e.technology, &e.resource),
            ),
        }
    }
}

fn endpoint_id(tech: &str, resource: &str) -> String {
    format!("{tech}/{resource}")
}

/// A list of values for a parameter that takes several (`channel=a,b`,
/// `media=sound:a,sound:b`): a string, a slice or vector of strings, or
/// handles, which give their ids.
pub trait ListParam {
    /// The values.
    fn to_list(&self) -> Vec<String>;
}

impl ListParam for str {
    fn to_list(&self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl ListParam for String {
    fn to_list(&self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<T: ListParam + ?Sized> ListParam for &T {
    fn to_list(&self) -> Vec<String> {
        (**self).to_list()
    }
}

impl<T: ListParam> ListParam for [T] {
    fn to_list(&self) -> Vec<String> {
        self.iter().flat_map(|v| v.to_list()).collect()
    }
}

impl<T: ListParam> ListParam for Vec<T> {
    fn to_list(&self) -> Vec<String> {
        self.as_slice().to_list()
    }
}

impl<T: ListParam, const N: usize> ListParam for [T; N] {
    fn to_list(&self) -> Vec<String> {
        self.as_slice().to_list()
    }
}

/// Implemented by the event types that carry an object of handle type `H`
/// (generated: `StasisStart: Carries<Channel>`, `ChannelEnteredBridge:
/// Carries<Channel> + Carries<Bridge>`), so that a typed per-object
/// callback ([`Channel::on`]) compiles only for events that can be about
/// that object.
///
/// ```no_run
/// use astrix::ari::events::ChannelDtmfReceived;
/// # let client = astrix::ari::Client::builder("http://127.0.0.1:8088").app("hello").connect()?;
/// client.channel("1").on::<ChannelDtmfReceived>(|channel, dtmf| {
///     println!("{} pressed {}", channel.id(), dtmf.digit);
/// });
/// # Ok::<(), astrix::ari::AriError>(())
/// ```
///
/// A bridge's event on a channel handle does not compile:
///
/// ```compile_fail
/// use astrix::ari::events::BridgeCreated;
/// # let client = astrix::ari::Client::builder("http://127.0.0.1:8088").app("hello").connect()?;
/// client.channel("1").on::<BridgeCreated>(|_, _| {});
/// # Ok::<(), astrix::ari::AriError>(())
/// ```
pub trait Carries<H>: AriEvent {}

/// Defines a handle type with an id and a model, and its `ListParam` impl.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $model:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            client: Client,
            id: String,
            data: Option<Arc<models::$model>>,
        }

        impl $name {
            /// A handle on the object with this id, without a snapshot.
            pub(crate) fn with_id(client: &Client, id: String) -> $name {
                $name { client: client.clone(), id, data: None }
            }

            /// The object's id.
            pub fn id(&self) -> &str {
                &self.id
            }

            /// The client this handle uses.
            pub fn client(&self) -> &Client {
                &self.client
            }

            /// The model Asterisk sent with this object, if it came from a
            /// response or an event (a handle made from an id has none:
            /// [`load`](Self::load) fetches it).
            pub fn data(&self) -> Option<&models::$model> {
                self.data.as_deref()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("id", &self.id)
                    .field("data", &self.data)
                    .finish()
            }
        }

        impl ListParam for $name {
            fn to_list(&self) -> Vec<String> {
                vec![self.id.clone()]
            }
        }
    };
}

/// `refresh()` and `load()` of a handle, from its `get_self()`.
macro_rules! fetch {
    ($name:ident, $model:ident) => {
        impl $name {
            /// Fetches the object's current state from Asterisk: a new
            /// handle with a fresh snapshot.
            ///
            /// # Errors
            ///
            /// [`AriError::Status`] 404 when the object is gone; any error
            /// of a request.
            pub fn refresh(&self) -> Result<$name, AriError> {
                self.get_self()
            }

            /// Fetches the object's current state from Asterisk, as its
            /// model: `client.channel(id).load()?.state`.
            ///
            /// # Errors
            ///
            /// As [`refresh`](Self::refresh).
            pub fn load(&self) -> Result<models::$model, AriError> {
                // A handle from a response always has its model.
                self.get_self()?
                    .data
                    .map(Arc::unwrap_or_clone)
                    .ok_or_else(|| AriError::Invalid(format!("{self:?}: no model in the answer")))
            }
        }
    };
}

/// The event callbacks of a handle whose object events are about.
macro_rules! object_events {
    ($name:ident, $kind:ident) => {
        impl $name {
            /// The handle on `obj`, if it is of this kind.
            pub(crate) fn from_ref(client: &Client, obj: ObjectRef<'_>) -> Option<$name> {
                match obj {
                    ObjectRef::$kind(data) => Some($name::from_data(client, data.clone())),
                    _ => None,
                }
            }

            /// Runs `callback` on the dispatcher thread for each event of
            /// type `event_type` about this object (`"*"` for every type),
            /// with a handle carrying the snapshot the event sent. The
            /// subscription ends when the object is gone (see
            /// [`Client::remove_callback`] to end it earlier).
            pub fn on_event<F>(&self, event_type: &str, callback: F) -> CallbackId
            where
                F: Fn(&$name, &Event) + Send + Sync + 'static,
            {
                self.client.subscribe_object(
                    self.object_key(),
                    event_type,
                    move |client, obj, event| {
                        if let Some(handle) = $name::from_ref(client, obj) {
                            callback(&handle, event);
                        }
                    },
                )
            }

            /// [`on_event`](Self::on_event), typed: `callback` gets the
            /// event as `E`, and only event types that can carry this kind
            /// of object compile (`channel.on::<ChannelDtmfReceived>(…)`).
            pub fn on<E>(&self, callback: impl Fn(&$name, &E) + Send + Sync + 'static) -> CallbackId
            where
                E: Carries<$name> + 'static,
            {
                self.on_event(E::TYPE, move |handle, event| {
                    if let Some(e) = E::from_event(event) {
                        callback(handle, e);
                    }
                })
            }
        }
    };
}

handle!(
    /// A channel: `channel.answer()`, `channel.play("sound:beep").send()`,
    /// `channel.hangup().send()`.
    Channel, Channel
);
handle!(
    /// A bridge: `bridge.add_channel(&channel).send()`, `bridge.destroy()`.
    Bridge, Bridge
);
handle!(
    /// A playback: `playback.stop()`, `playback.control(…)`.
    Playback, Playback
);
handle!(
    /// A live recording (its id is its name): `recording.stop()`.
    LiveRecording, LiveRecording
);
fetch!(Channel, Channel);
fetch!(Bridge, Bridge);
fetch!(Playback, Playback);
fetch!(LiveRecording, LiveRecording);
fetch!(StoredRecording, StoredRecording);
fetch!(Endpoint, Endpoint);
object_events!(Channel, Channel);
object_events!(Bridge, Bridge);
object_events!(Playback, Playback);
object_events!(LiveRecording, LiveRecording);
object_events!(Endpoint, Endpoint);

impl Channel {
    pub(crate) fn from_data(client: &Client, data: models::Channel) -> Channel {
        Channel {
            client: client.clone(),
            id: data.id.clone(),
            data: Some(Arc::new(data)),
        }
    }

    fn object_key(&self) -> ObjectKey {
        ObjectKey::new(ObjectKind::Channel, &self.id)
    }

    fn get_self(&self) -> Result<Channel, AriError> {
        self.client.channels().get(&self.id)
    }
}

impl Bridge {
    pub(crate) fn from_data(client: &Client, data: models::Bridge) -> Bridge {
        Bridge {
            client: client.clone(),
            id: data.id.clone(),
            data: Some(Arc::new(data)),
        }
    }

    fn object_key(&self) -> ObjectKey {
        ObjectKey::new(ObjectKind::Bridge, &self.id)
    }

    fn get_self(&self) -> Result<Bridge, AriError> {
        self.client.bridges().get(&self.id)
    }
}

impl Playback {
    pub(crate) fn from_data(client: &Client, data: models::Playback) -> Playback {
        Playback {
            client: client.clone(),
            id: data.id.clone(),
            data: Some(Arc::new(data)),
        }
    }

    fn object_key(&self) -> ObjectKey {
        ObjectKey::new(ObjectKind::Playback, &self.id)
    }

    fn get_self(&self) -> Result<Playback, AriError> {
        self.client.playbacks().get(&self.id)
    }
}

impl LiveRecording {
    pub(crate) fn from_data(client: &Client, data: models::LiveRecording) -> LiveRecording {
        LiveRecording {
            client: client.clone(),
            id: data.name.clone(),
            data: Some(Arc::new(data)),
        }
    }

    fn object_key(&self) -> ObjectKey {
        ObjectKey::new(ObjectKind::LiveRecording, &self.id)
    }

    fn get_self(&self) -> Result<LiveRecording, AriError> {
        self.client.recordings().get_live(&self.id)
    }
}

/// A stored recording (its id is its name): `recording.copy(…)`,
/// `recording.delete()`.
#[derive(Clone)]
pub struct StoredRecording {
    client: Client,
    id: String,
    data: Option<Arc<models::StoredRecording>>,
}

impl StoredRecording {
    pub(crate) fn from_data(client: &Client, data: models::StoredRecording) -> StoredRecording {
        StoredRecording {
            client: client.clone(),
            id: data.name.clone(),
            data: Some(Arc::new(data)),
        }
    }

    pub(crate) fn with_id(client: &Client, id: String) -> StoredRecording {
        StoredRecording {
            client: client.clone(),
            id,
            data: None,
        }
    }

    /// The recording's name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client this handle uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The model Asterisk sent, if any ([`load`](Self::load) fetches it).
    pub fn data(&self) -> Option<&models::StoredRecording> {
        self.data.as_deref()
    }

    fn get_self(&self) -> Result<StoredRecording, AriError> {
        self.client.recordings().get_stored(&self.id)
    }
}

impl std::fmt::Debug for StoredRecording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredRecording")
            .field("id", &self.id)
            .field("data", &self.data)
            .finish()
    }
}

impl ListParam for StoredRecording {
    fn to_list(&self) -> Vec<String> {
        vec![self.id.clone()]
    }
}

/// An endpoint (`PJSIP/100`): technology and resource.
#[derive(Clone)]
pub struct Endpoint {
    client: Client,
    tech: String,
    resource: String,
    data: Option<Arc<models::Endpoint>>,
}

impl Endpoint {
    pub(crate) fn from_data(client: &Client, data: models::Endpoint) -> Endpoint {
        Endpoint {
            client: client.clone(),
            tech: data.technology.clone(),
            resource: data.resource.clone(),
            data: Some(Arc::new(data)),
        }
    }

    pub(crate) fn with_id(client: &Client, tech: String, resource: String) -> Endpoint {
        Endpoint {
            client: client.clone(),
            tech,
            resource,
            data: None,
        }
    }

    /// The technology (`PJSIP`).
    pub fn tech(&self) -> &str {
        &self.tech
    }

    /// The resource (`100`).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The client this handle uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The model Asterisk sent, if any ([`load`](Self::load) fetches it).
    pub fn data(&self) -> Option<&models::Endpoint> {
        self.data.as_deref()
    }

    fn object_key(&self) -> ObjectKey {
        ObjectKey::new(
            ObjectKind::Endpoint,
            &endpoint_id(&self.tech, &self.resource),
        )
    }

    fn get_self(&self) -> Result<Endpoint, AriError> {
        self.client.endpoints().get(&self.tech, &self.resource)
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("tech", &self.tech)
            .field("resource", &self.resource)
            .field("data", &self.data)
            .finish()
    }
}

impl Client {
    /// A handle on the channel `id`, for operations and callbacks, without
    /// a request. Use it to subscribe before an originate with that
    /// `channel_id`, so that not even the first event is missed.
    pub fn channel(&self, id: impl Into<String>) -> Channel {
        Channel::with_id(self, id.into())
    }

    /// A handle on the bridge `id`.
    pub fn bridge(&self, id: impl Into<String>) -> Bridge {
        Bridge::with_id(self, id.into())
    }

    /// A handle on the playback `id` (subscribe before `play_with_id`).
    pub fn playback(&self, id: impl Into<String>) -> Playback {
        Playback::with_id(self, id.into())
    }

    /// A handle on the live recording `name`.
    pub fn live_recording(&self, name: impl Into<String>) -> LiveRecording {
        LiveRecording::with_id(self, name.into())
    }

    /// A handle on the stored recording `name`.
    pub fn stored_recording(&self, name: impl Into<String>) -> StoredRecording {
        StoredRecording::with_id(self, name.into())
    }

    /// A handle on the endpoint `tech/resource`.
    pub fn endpoint(&self, tech: impl Into<String>, resource: impl Into<String>) -> Endpoint {
        Endpoint::with_id(self, tech.into(), resource.into())
    }

    /// Runs `callback` for each event of type `event_type` (`"*"`: every
    /// type) that is about a channel, with a handle on that channel
    /// carrying the snapshot the event sent: aioari's `on_channel_event`.
    ///
    /// ```no_run
    /// # let client = astrix::ari::Client::builder("http://127.0.0.1:8088").app("hello").connect()?;
    /// client.on_channel_event("StasisStart", |channel, _event| {
    ///     if let Err(e) = channel.answer() {
    ///         eprintln!("{}: {e}", channel.id());
    ///     }
    /// });
    /// client.start();
    /// # Ok::<(), astrix::ari::AriError>(())
    /// ```
    ///
    /// An event carrying several channels hands the one it is about: the
    /// `channel` field when the event has one (`ChannelEnteredBridge`'s
    /// channel, not its bridge's), else a field always present (`Dial`:
    /// the `peer`), else the first one present. Events of that type that
    /// carry no channel are skipped; a type that never carries one (or an
    /// unknown type) is logged as a warning here.
    pub fn on_channel_event<F>(&self, event_type: &str, callback: F) -> CallbackId
    where
        F: Fn(&Channel, &Event) + Send + Sync + 'static,
    {
        self.on_subject_event(ObjectKind::Channel, event_type, Channel::from_ref, callback)
    }

    /// [`on_channel_event`](Client::on_channel_event) for bridges: a
    /// handle on the bridge the event is about.
    pub fn on_bridge_event<F>(&self, event_type: &str, callback: F) -> CallbackId
    where
        F: Fn(&Bridge, &Event) + Send + Sync + 'static,
    {
        self.on_subject_event(ObjectKind::Bridge, event_type, Bridge::from_ref, callback)
    }

    /// [`on_channel_event`](Client::on_channel_event) for playbacks
    /// (`PlaybackStarted`, `PlaybackContinuing`, `PlaybackFinished`).
    pub fn on_playback_event<F>(&self, event_type: &str, callback: F) -> CallbackId
    where
        F: Fn(&Playback, &Event) + Send + Sync + 'static,
    {
        self.on_subject_event(
            ObjectKind::Playback,
            event_type,
            Playback::from_ref,
            callback,
        )
    }

    /// [`on_channel_event`](Client::on_channel_event) for live recordings
    /// (`RecordingStarted`, `RecordingFinished`, `RecordingFailed`).
    pub fn on_recording_event<F>(&self, event_type: &str, callback: F) -> CallbackId
    where
        F: Fn(&LiveRecording, &Event) + Send + Sync + 'static,
    {
        self.on_subject_event(
            ObjectKind::LiveRecording,
            event_type,
            LiveRecording::from_ref,
            callback,
        )
    }

    /// [`on_channel_event`](Client::on_channel_event) for endpoints
    /// (`EndpointStateChange`, `PeerStatusChange`, `ContactStatusChange`,
    /// `TextMessageReceived`…).
    pub fn on_endpoint_event<F>(&self, event_type: &str, callback: F) -> CallbackId
    where
        F: Fn(&Endpoint, &Event) + Send + Sync + 'static,
    {
        self.on_subject_event(
            ObjectKind::Endpoint,
            event_type,
            Endpoint::from_ref,
            callback,
        )
    }

    fn on_subject_event<H, F>(
        &self,
        kind: ObjectKind,
        event_type: &str,
        handle: fn(&Client, ObjectRef<'_>) -> Option<H>,
        callback: F,
    ) -> CallbackId
    where
        F: Fn(&H, &Event) + Send + Sync + 'static,
        H: 'static,
    {
        match Event::kinds_carried(event_type) {
            Some(kinds) if !kinds.contains(&kind) => log::warn!(
                "ARI: a {event_type} event never carries a {}: its callback will never run",
                kind.noun()
            ),
            None if event_type != "*" => log::warn!(
                "ARI: {event_type:?} is not an event type astrix knows: its {} callback \
                 runs only if Asterisk sends one",
                kind.noun()
            ),
            _ => {}
        }
        self.on_event(event_type, move |client, event| {
            if let Some(h) = event.subject(kind).and_then(|obj| handle(client, obj)) {
                callback(&h, event);
            }
        })
    }
}
