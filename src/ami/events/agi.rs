//! The legacy `AsyncAGI` event, written by hand: Asterisk before 12 sent
//! one `AsyncAGI` event with a `SubEvent:` header (`Start`, `Exec`, `End`)
//! where Asterisk 12 and later send `AsyncAGIStart`, `AsyncAGIExec` and
//! `AsyncAGIEnd` (typed as [`super::AsyncAgiStart`] and friends).

use super::parse::{set_text, EventError, KeyBuf};
use super::Event;
use crate::ami::events::Text;
use crate::ami::Message;

/// `AsyncAGI` (Asterisk 1.6 to 11): an AsyncAGI session started, ran a
/// command or ended, as told by [`AsyncAgi::sub_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AsyncAgi {
    /// `SubEvent`: `Start`, `Exec` or `End`.
    pub sub_event: Option<Text>,
    /// `Channel`: the channel running AGI.
    pub channel: Option<Text>,
    /// `Env`: the percent-encoded AGI environment (`Start` only).
    pub env: Option<Text>,
    /// `CommandID`: the ID given with the `AGI` action (`Exec` only).
    pub command_id: Option<Text>,
    /// `Result`: the percent-encoded reply line (`Exec` only).
    pub result: Option<Text>,
    raw: Message,
}

impl Event for AsyncAgi {
    const NAME: &'static str = "AsyncAGI";
    const HEADERS: &'static [&'static str] = &["SubEvent", "Channel", "Env", "CommandID", "Result"];

    fn from_message(m: &Message) -> Result<Self, EventError> {
        let mut e = AsyncAgi {
            sub_event: None,
            channel: None,
            env: None,
            command_id: None,
            result: None,
            raw: m.clone(),
        };
        let mut buf = KeyBuf::new();
        for (name, v) in m.iter() {
            match buf.lower(name) {
                b"subevent" => set_text(&mut e.sub_event, v),
                b"channel" => set_text(&mut e.channel, v),
                b"env" => set_text(&mut e.env, v),
                b"commandid" => set_text(&mut e.command_id, v),
                b"result" => set_text(&mut e.result, v),
                _ => {}
            }
        }
        Ok(e)
    }

    fn message(&self) -> &Message {
        &self.raw
    }
}
