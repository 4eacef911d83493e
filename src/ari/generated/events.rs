//! Placeholder until tools/gen_ari.py's output lands.
#![allow(missing_docs)]
use super::models;
use super::{AriError, ObjectRef};
use serde::Deserialize;
#[derive(Clone, Debug, Deserialize)]
pub struct StasisStart {
    pub channel: models::Channel,
    #[serde(default)]
    pub args: Vec<String>,
}
#[derive(Clone, Debug, Deserialize)]
pub struct StasisEnd {
    pub channel: models::Channel,
}
#[derive(Clone, Debug, Deserialize)]
pub struct ChannelDestroyed {
    pub channel: models::Channel,
}
#[derive(Clone, Debug)]
pub struct UnknownEvent {
    pub kind: String,
    pub json: serde_json::Map<String, serde_json::Value>,
    pub error: Option<String>,
}
#[derive(Clone, Debug)]
pub enum Event {
    StasisStart(StasisStart),
    StasisEnd(StasisEnd),
    ChannelDestroyed(ChannelDestroyed),
    Unknown(UnknownEvent),
}
pub trait AriEvent: Sized {
    const TYPE: &'static str;
    fn from_event(event: &Event) -> Option<&Self>;
}
impl AriEvent for StasisStart {
    const TYPE: &'static str = "StasisStart";
    fn from_event(e: &Event) -> Option<&Self> {
        match e {
            Event::StasisStart(x) => Some(x),
            _ => None,
        }
    }
}
impl Event {
    pub fn parse(text: &str) -> Result<Event, AriError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| AriError::Json {
            context: "event".into(),
            message: e.to_string(),
            excerpt: text.chars().take(200).collect(),
        })?;
        match v {
            serde_json::Value::Object(m) => Ok(Event::from_map(m)),
            _ => Err(AriError::Json {
                context: "event".into(),
                message: "not an object".into(),
                excerpt: String::new(),
            }),
        }
    }
    fn from_map(m: serde_json::Map<String, serde_json::Value>) -> Event {
        let kind = m
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("")
            .to_owned();
        let v = serde_json::Value::Object(m.clone());
        let r = match kind.as_str() {
            "StasisStart" => serde_json::from_value(v).map(Event::StasisStart),
            "StasisEnd" => serde_json::from_value(v).map(Event::StasisEnd),
            "ChannelDestroyed" => serde_json::from_value(v).map(Event::ChannelDestroyed),
            _ => {
                return Event::Unknown(UnknownEvent {
                    kind,
                    json: m,
                    error: None,
                })
            }
        };
        r.unwrap_or_else(|e| {
            Event::Unknown(UnknownEvent {
                kind,
                json: m,
                error: Some(e.to_string()),
            })
        })
    }
    pub fn event_type(&self) -> &str {
        match self {
            Event::StasisStart(_) => "StasisStart",
            Event::StasisEnd(_) => "StasisEnd",
            Event::ChannelDestroyed(_) => "ChannelDestroyed",
            Event::Unknown(u) => &u.kind,
        }
    }
    pub fn objects(&self) -> Vec<ObjectRef<'_>> {
        match self {
            Event::StasisStart(e) => vec![ObjectRef::Channel(&e.channel)],
            Event::StasisEnd(e) => vec![ObjectRef::Channel(&e.channel)],
            Event::ChannelDestroyed(e) => vec![ObjectRef::Channel(&e.channel)],
            Event::Unknown(_) => vec![],
        }
    }
}
