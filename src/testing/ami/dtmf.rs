//! `PlayDTMF` (app_senddtmf.c): a digit sent out of a channel, or received
//! on it, and the `DTMFBegin` / `DTMFEnd` events channel.c sends for the
//! digits a channel reads.

use super::defaults::{local_twin, World};
use super::reply::Reply;
use crate::ami::Message;

/// The shortest digit `ast_senddigit_external` sends, in milliseconds.
const MIN_DURATION_MS: u32 = 100;

/// A `DTMFBegin` or `DTMFEnd` (with its duration) of a digit the channel
/// read.
fn event(
    world: &World,
    channel: &str,
    name: &str,
    digit: &str,
    ms: Option<u32>,
) -> Option<Message> {
    let c = world.channels.iter().find(|c| c.name == channel)?;
    let mut e = c.event(name);
    e.set("Privilege", "dtmf,all");
    e.push("Digit", digit);
    if let Some(ms) = ms {
        e.push("DurationMs", &ms.to_string());
    }
    e.push("Direction", "Received");
    Some(e)
}

/// The `PlayDTMF` action. Sent out of a Local channel's half, the digit
/// is read by the other half (`DTMFBegin`, `DTMFEnd` with the duration,
/// at least 100 ms); sent out of another channel it leaves the emulated
/// PBX unseen. With `Receive: true` the channel reads it itself (an
/// `AST_FRAME_DTMF` queued: `DTMFEnd` only, the duration as given). The
/// emulated channels always read their frames, whatever their
/// application.
pub(crate) fn play_dtmf(action: &Message, world: &World) -> Reply {
    let channel = action.get("Channel").unwrap_or("");
    if !world.channels.iter().any(|c| c.name == channel) {
        return Reply::error("Channel not found");
    }
    // Only its first character is played.
    let Some(digit) = action
        .get("Digit")
        .and_then(|d| d.chars().next())
        .map(String::from)
    else {
        return Reply::error("No digit specified");
    };
    let ms = match action.get("Duration").filter(|d| !d.is_empty()) {
        None => 0,
        Some(d) => match d.trim().parse::<u32>() {
            Ok(ms) => ms,
            Err(_) => return Reply::error("Could not convert Duration parameter"),
        },
    };
    let receive = action.get("Receive").is_some_and(crate::testing::ast_true);
    let ok = Reply::success_with("DTMF successfully queued");
    if receive {
        return ok.broadcast_all(event(world, channel, "DTMFEnd", &digit, Some(ms)));
    }
    let Some(twin) = local_twin(channel) else {
        return ok;
    };
    let ms = ms.max(MIN_DURATION_MS);
    ok.broadcast_all(event(world, &twin, "DTMFBegin", &digit, None))
        .broadcast_all(event(world, &twin, "DTMFEnd", &digit, Some(ms)))
}

impl Reply {
    /// Broadcasts the event, if there is one.
    fn broadcast_all(self, event: Option<Message>) -> Reply {
        event.into_iter().fold(self, Reply::broadcast)
    }
}
