//! Channel and bridge life cycles of [`AriServer`](super::AriServer)'s
//! world, each with the events a real Asterisk 22 sends (see
//! `shared/fixtures/asterisk-22/ari_events.jsonl`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::model::{cause_text, event, Bridge, CallerId, Channel, World};
use super::time;

/// What a new channel starts as.
#[derive(Debug, Default)]
pub(crate) struct NewChannel {
    pub id: Option<String>,
    pub endpoint: String,
    pub state: &'static str,
    pub caller: CallerId,
    pub context: String,
    pub exten: String,
    pub priority: i64,
    pub app_name: String,
    pub app_data: String,
    pub language: String,
}

impl World {
    /// Adds a channel (no event: nobody is subscribed to it yet).
    pub fn add_channel(&mut self, spec: NewChannel) -> String {
        let id = match spec.id {
            Some(id) => id,
            None => self.unique_id(),
        };
        let name = self.channel_name(&spec.endpoint);
        self.channels.push(Channel {
            id: id.clone(),
            name,
            state: spec.state,
            connected: spec.caller.clone(),
            caller: spec.caller,
            context: spec.context,
            exten: spec.exten,
            priority: spec.priority,
            app_name: spec.app_name,
            app_data: spec.app_data,
            created: time::now(),
            language: if spec.language.is_empty() {
                "en".into()
            } else {
                spec.language
            },
            vars: BTreeMap::new(),
            stasis: None,
            watchers: BTreeMap::new(),
            bridge: None,
            undialled: false,
            on_answer: None,
        });
        id
    }

    /// The applications receiving a channel's events.
    pub fn channel_watchers(&self, id: &str) -> Vec<String> {
        self.channel(id)
            .map(|c| c.watchers.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Emits a channel event (`channel` plus `fields`).
    pub fn emit_channel(&mut self, id: &str, kind: &str, fields: Value) {
        let Some(c) = self.channel(id) else { return };
        let mut ev = event(kind, fields);
        ev["channel"] = c.json();
        let to = self.channel_watchers(id);
        self.emit(&to, ev);
    }

    /// Emits `StasisStart` or `StasisEnd` to `app` alone.
    pub fn emit_stasis(&mut self, id: &str, app: &str, kind: &str, fields: Value) {
        let Some(c) = self.channel(id) else { return };
        let mut ev = event(kind, fields);
        ev["channel"] = c.json();
        self.emit_exactly([app.to_owned()], ev);
    }

    /// Subscribes `app` to a channel's events.
    pub fn subscribe_channel(&mut self, id: &str, app: &str, sticky: bool) {
        if let Some(c) = self.channel_mut(id) {
            let s = c.watchers.entry(app.to_owned()).or_insert(sticky);
            *s |= sticky;
        }
    }

    /// Sets a channel variable: `ChannelVarset`.
    pub fn set_var(&mut self, id: &str, name: &str, value: &str) {
        if let Some(c) = self.channel_mut(id) {
            c.vars.insert(name.to_owned(), value.to_owned());
            self.emit_channel(
                id,
                "ChannelVarset",
                json!({"variable": name, "value": value}),
            );
        }
    }

    /// Changes a channel's state: `ChannelStateChange`.
    pub fn set_state(&mut self, id: &str, state: &'static str) {
        let changed = match self.channel_mut(id) {
            Some(c) if c.state != state => {
                c.state = state;
                true
            }
            _ => false,
        };
        if changed {
            self.emit_channel(id, "ChannelStateChange", json!({}));
        }
    }

    /// The channel enters Stasis application `app`: `StasisStart` (after
    /// `ChannelVarset STASISSTATUS=""` when it came through the `Stasis`
    /// dialplan application of an originate).
    pub fn enter_stasis(&mut self, id: &str, app: &str, args: &[String], status_var: bool) {
        let Some(c) = self.channel_mut(id) else {
            return;
        };
        c.stasis = Some(app.to_owned());
        c.app_name = "Stasis".into();
        c.app_data = std::iter::once(app.to_owned())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(",");
        c.watchers.entry(app.to_owned()).or_insert(false);
        if status_var {
            self.set_var(id, "STASISSTATUS", "");
        }
        self.emit_stasis(id, app, "StasisStart", json!({ "args": args }));
    }

    /// The channel leaves its application (continue, move, hangup): it
    /// leaves its bridge, its playbacks stop, `StasisEnd`, then
    /// `ChannelVarset STASISSTATUS=SUCCESS` for subscriptions that outlive
    /// Stasis. Passing subscriptions end, unless the channel is being hung
    /// up (its `ChannelDestroyed` still reaches the application).
    pub fn leave_stasis(&mut self, id: &str, hanging_up: bool) {
        let Some(app) = self.channel(id).and_then(|c| c.stasis.clone()) else {
            return;
        };
        if let Some(b) = self.channel(id).and_then(|c| c.bridge.clone()) {
            self.remove_from_bridge(&b, id);
        }
        self.stop_playbacks_on(&format!("channel:{id}"));
        self.emit_stasis(id, &app, "StasisEnd", json!({}));
        let sticky = self
            .channel(id)
            .is_some_and(|c| c.watchers.values().any(|s| *s));
        if let Some(c) = self.channel_mut(id) {
            c.stasis = None;
        }
        if sticky {
            self.set_var(id, "STASISSTATUS", "SUCCESS");
        }
        if !hanging_up {
            if let Some(c) = self.channel_mut(id) {
                c.watchers.retain(|_, sticky| *sticky);
            }
            self.prune_apps();
        }
    }

    /// Hangs a channel up. `soft` is a hangup asked over ARI
    /// (`ChannelHangupRequest` with `cause` 32 and `soft`), otherwise the far
    /// end hung up (`ChannelHangupRequest` with the cause). Then it leaves
    /// Stasis and is destroyed (`ChannelDestroyed` with `cause`). False when
    /// there is no such channel.
    pub fn hangup(&mut self, id: &str, cause: i64, soft: bool) -> bool {
        if self.channel(id).is_none() {
            return false;
        }
        let request = if soft {
            json!({"cause": 32, "soft": true})
        } else {
            json!({ "cause": cause })
        };
        self.emit_channel(id, "ChannelHangupRequest", request);
        if self.channel(id).is_some_and(|c| c.stasis.is_some()) {
            self.leave_stasis(id, true);
        } else {
            if let Some(b) = self.channel(id).and_then(|c| c.bridge.clone()) {
                self.remove_from_bridge(&b, id);
            }
            self.stop_playbacks_on(&format!("channel:{id}"));
        }
        self.emit_channel(
            id,
            "ChannelDestroyed",
            json!({"cause": cause, "cause_txt": cause_text(cause)}),
        );
        self.channels.retain(|c| c.id != id);
        self.prune_apps();
        true
    }

    /// The applications receiving a bridge's events and those of a channel.
    fn bridge_watchers(&self, bridge: &str, channel: &str) -> Vec<String> {
        let mut to = self.channel_watchers(channel);
        if let Some(b) = self.bridge(bridge) {
            to.extend(b.watchers.keys().cloned());
        }
        to
    }

    /// Creates a bridge: `BridgeCreated` (seen only by applications
    /// subscribed to all, as in Asterisk).
    pub fn create_bridge(&mut self, id: String, kind: &str, name: String) -> Value {
        let bridge_type = if kind.split(',').any(|t| t.trim() == "holding") {
            "holding"
        } else {
            "mixing"
        };
        let b = Bridge {
            id,
            bridge_type,
            name,
            channels: Vec::new(),
            created: time::now(),
            watchers: Default::default(),
        };
        let json = b.json();
        self.bridges.push(b);
        let mut ev = event("BridgeCreated", json!({}));
        ev["bridge"] = json.clone();
        self.emit(&[], ev);
        json
    }

    /// Puts a channel into a bridge (out of its previous one):
    /// `ChannelEnteredBridge`. The channel's applications now watch the
    /// bridge.
    pub fn add_to_bridge(&mut self, bridge: &str, channel: &str) {
        if let Some(old) = self.channel(channel).and_then(|c| c.bridge.clone()) {
            if old == bridge {
                return;
            }
            self.remove_from_bridge(&old, channel);
        }
        let apps = self.channel_watchers(channel);
        let Some(b) = self.bridge_mut(bridge) else {
            return;
        };
        b.channels.push(channel.to_owned());
        for app in apps {
            *b.watchers.entry(app).or_default() += 1;
        }
        if let Some(c) = self.channel_mut(channel) {
            c.bridge = Some(bridge.to_owned());
        }
        self.emit_bridge_channel(bridge, channel, "ChannelEnteredBridge");
    }

    /// Takes a channel out of a bridge: `ChannelLeftBridge`, then the
    /// channel's applications drop the subscription its entering took (as
    /// `control.c` does once the channel is out).
    pub fn remove_from_bridge(&mut self, bridge: &str, channel: &str) {
        if let Some(b) = self.bridge_mut(bridge) {
            b.channels.retain(|c| c != channel);
        }
        if let Some(c) = self.channel_mut(channel) {
            c.bridge = None;
        }
        self.emit_bridge_channel(bridge, channel, "ChannelLeftBridge");
        let apps = self.channel_watchers(channel);
        if let Some(b) = self.bridge_mut(bridge) {
            for app in apps {
                if let Some(n) = b.watchers.get_mut(&app) {
                    *n -= 1;
                    if *n == 0 {
                        b.watchers.remove(&app);
                    }
                }
            }
        }
    }

    fn emit_bridge_channel(&mut self, bridge: &str, channel: &str, kind: &str) {
        let (Some(b), Some(c)) = (self.bridge(bridge), self.channel(channel)) else {
            return;
        };
        let ev = event(kind, json!({"bridge": b.json(), "channel": c.json()}));
        let to = self.bridge_watchers(bridge, channel);
        self.emit(&to, ev);
    }

    /// Destroys a bridge: its channels leave (`ChannelLeftBridge`), its
    /// playbacks stop, then `BridgeDestroyed`, to the applications
    /// subscribed to the bridge when it was destroyed (`app.c` forwards it
    /// on the bridge's subscription, then drops it): an application whose
    /// channels all left before, and that did not subscribe to the bridge
    /// itself, does not get it.
    pub fn destroy_bridge(&mut self, id: &str) -> bool {
        let Some(b) = self.bridge(id) else {
            return false;
        };
        let to: Vec<String> = b.watchers.keys().cloned().collect();
        for c in b.channels.clone() {
            self.remove_from_bridge(id, &c);
        }
        self.stop_playbacks_on(&format!("bridge:{id}"));
        if let Some(b) = self.bridge(id) {
            let ev = event("BridgeDestroyed", json!({ "bridge": b.json() }));
            self.emit(&to, ev);
        }
        self.bridges.retain(|b| b.id != id);
        self.prune_apps();
        true
    }
}
