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
use super::events::Event;
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

/// Defines a handle type with an id, its model, per-object callbacks and a
/// `ListParam` impl.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $model:ident, $kind:ident, $get:ident) => {
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
            /// response or an event.
            pub fn data(&self) -> Option<&models::$model> {
                self.data.as_deref()
            }

            /// Runs `callback` on the dispatcher thread for each event of
            /// type `event_type` about this object (`"*"` for every type).
            /// The subscription ends when the object is gone (see
            /// [`Client::remove_callback`] to end it earlier).
            pub fn on_event<F>(&self, event_type: &str, callback: F) -> CallbackId
            where
                F: Fn(&$name, &Event) + Send + Sync + 'static,
            {
                let key = ObjectKey::new(ObjectKind::$kind, &self.id);
                self.client.subscribe_object(key, event_type, move |client, obj, event| {
                    if let ObjectRef::$kind(data) = obj {
                        callback(&$name::from_data(client, data.clone()), event);
                    }
                })
            }

            /// Fetches the object's current state from Asterisk.
            pub fn refresh(&self) -> Result<$name, AriError> {
                self.$get()
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

handle!(
    /// A channel: `channel.answer()`, `channel.play("sound:beep").send()`,
    /// `channel.hangup().send()`.
    Channel, Channel, Channel, get_self
);
handle!(
    /// A bridge: `bridge.add_channel(&channel).send()`, `bridge.destroy()`.
    Bridge, Bridge, Bridge, get_self
);
handle!(
    /// A playback: `playback.stop()`, `playback.control(…)`.
    Playback, Playback, Playback, get_self
);
handle!(
    /// A live recording (its id is its name): `recording.stop()`.
    LiveRecording, LiveRecording, LiveRecording, get_self
);

impl Channel {
    pub(crate) fn from_data(client: &Client, data: models::Channel) -> Channel {
        Channel {
            client: client.clone(),
            id: data.id.clone(),
            data: Some(Arc::new(data)),
        }
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

    /// The model Asterisk sent, if any.
    pub fn data(&self) -> Option<&models::StoredRecording> {
        self.data.as_deref()
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

    /// The model Asterisk sent, if any.
    pub fn data(&self) -> Option<&models::Endpoint> {
        self.data.as_deref()
    }

    /// Runs `callback` for each event of type `event_type` (`"*"` for all)
    /// about this endpoint.
    pub fn on_event<F>(&self, event_type: &str, callback: F) -> CallbackId
    where
        F: Fn(&Endpoint, &Event) + Send + Sync + 'static,
    {
        let key = ObjectKey::new(
            ObjectKind::Endpoint,
            &endpoint_id(&self.tech, &self.resource),
        );
        self.client
            .subscribe_object(key, event_type, move |client, obj, event| {
                if let ObjectRef::Endpoint(data) = obj {
                    callback(&Endpoint::from_data(client, data.clone()), event);
                }
            })
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
}
