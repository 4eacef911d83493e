//! The REST resources of [`AriServer`](super::AriServer) other than
//! channels: asterisk, applications, bridges, playbacks, events, sounds and
//! the empty lists; and the dispatch of every operation.

use serde_json::{json, Map, Value};

use super::channels::{self, check_play, created, playback_choice};
use super::model::{event, World};
use super::playback::ControlError;
use super::reply::HttpReply;
use super::routes::{Params, Route};

type Answer = Result<HttpReply, HttpReply>;

/// Answers an operation. Operations the emulator does not model get
/// `501 Not Implemented`.
pub(crate) fn handle(w: &mut World, r: &Route, p: &Params) -> HttpReply {
    if r.op.starts_with("channels.") {
        if let Some(resp) = channels::handle(w, r, p) {
            return resp;
        }
    }
    let answer = match r.op {
        "asterisk.getInfo" => Ok(info(w, p)),
        "asterisk.ping" => Ok(HttpReply::json(
            200,
            &json!({"ping": "pong", "timestamp": super::time::now(), "asterisk_id": w.cfg.asterisk_id}),
        )),
        "asterisk.getGlobalVar" => global_var(w, p),
        "asterisk.setGlobalVar" => set_global_var(w, p),
        "applications.list" => {
            let apps: Vec<Value> = w.apps.keys().map(|n| w.app_json(n)).collect();
            Ok(HttpReply::json(200, &json!(apps)))
        }
        "applications.get" => {
            let name = r.var("applicationName").unwrap_or("");
            if w.apps.contains_key(name) {
                Ok(HttpReply::json(200, &w.app_json(name)))
            } else {
                Err(HttpReply::error(404, "Application not found"))
            }
        }
        "applications.subscribe" => subscription(w, r, p, true),
        "applications.unsubscribe" => subscription(w, r, p, false),
        "bridges.list" => Ok(HttpReply::json(
            200,
            &json!(w.bridges.iter().map(|b| b.json()).collect::<Vec<_>>()),
        )),
        "bridges.create" | "bridges.createWithId" => create_bridge(w, r, p),
        "bridges.get" => w
            .bridge(r.var("bridgeId").unwrap_or(""))
            .map(|b| HttpReply::json(200, &b.json()))
            .ok_or_else(|| HttpReply::error(404, "Bridge not found")),
        "bridges.destroy" => {
            if w.destroy_bridge(r.var("bridgeId").unwrap_or("")) {
                Ok(HttpReply::no_content())
            } else {
                Err(HttpReply::error(404, "Bridge not found"))
            }
        }
        "bridges.addChannel" => bridge_channels(w, r, p, true),
        "bridges.removeChannel" => bridge_channels(w, r, p, false),
        "bridges.startMoh" | "bridges.stopMoh" => {
            find_bridge(w, r.var("bridgeId").unwrap_or("")).map(|_| HttpReply::no_content())
        }
        "bridges.play" | "bridges.playWithId" => play_on_bridge(w, r, p),
        "playbacks.get" => w
            .playback(r.var("playbackId").unwrap_or(""))
            .map(|pb| HttpReply::json(200, &pb.json()))
            .ok_or_else(|| HttpReply::error(404, "Playback not found")),
        "playbacks.stop" => {
            if w.stop_playback(r.var("playbackId").unwrap_or("")) {
                Ok(HttpReply::no_content())
            } else {
                Err(HttpReply::error(404, "Playback not found"))
            }
        }
        "playbacks.control" => control_playback(w, r, p),
        "events.userEvent" => user_event(w, r, p),
        "events.eventWebsocket" => Err(super::reply::html_error(426, "Upgrade Required", "")),
        "sounds.list" => Ok(HttpReply::json(200, &json!(sounds(w)))),
        "sounds.get" => {
            let id = r.var("soundId").unwrap_or("");
            sounds(w)
                .into_iter()
                .find(|s| s["id"] == id)
                .map(|s| HttpReply::json(200, &s))
                .ok_or_else(|| HttpReply::error(404, "Sound not found"))
        }
        "endpoints.list" | "deviceStates.list" | "mailboxes.list" | "recordings.listStored" => {
            Ok(HttpReply::json(200, &json!([])))
        }
        op => {
            log::warn!("AriServer: operation {op} is not emulated (501)");
            Err(HttpReply::error(
                501,
                &format!("Not implemented by the AriServer emulator: {op}"),
            ))
        }
    };
    answer.unwrap_or_else(|e| e)
}

fn info(w: &World, p: &Params) -> HttpReply {
    let all = json!({
        "build": {
            "os": "Linux",
            "kernel": "6.1.0",
            "machine": "x86_64",
            "options": "OPTIONAL_API",
            "date": "2026-01-01 00:00:00 UTC",
            "user": "astrix",
        },
        "system": {"version": "22.10.1", "entity_id": w.cfg.asterisk_id},
        "config": {
            "name": "",
            "default_language": "en",
            "setid": {"user": "asterisk", "group": "asterisk"},
            "max_open_files": 4096,
        },
        "status": {"startup_time": w.started, "last_reload_time": w.started},
    });
    let only = p.list("only");
    if only.is_empty() {
        return HttpReply::json(200, &all);
    }
    let mut out = Map::new();
    for key in only {
        if let Some(v) = all.get(&key) {
            out.insert(key, v.clone());
        }
    }
    HttpReply::json(200, &Value::Object(out))
}

fn global_var(w: &World, p: &Params) -> Answer {
    let name = p.text("variable");
    if name.is_empty() {
        return Err(HttpReply::error(400, "Variable name is required"));
    }
    let value = w.globals.get(&name).cloned().unwrap_or_default();
    Ok(HttpReply::json(200, &json!({ "value": value })))
}

fn set_global_var(w: &mut World, p: &Params) -> Answer {
    let name = p.text("variable");
    if name.is_empty() {
        return Err(HttpReply::error(400, "Variable name is required"));
    }
    w.globals.insert(name, p.text("value"));
    Ok(HttpReply::no_content())
}

/// `POST|DELETE /applications/{name}/subscription?eventSource=channel:ID,…`.
fn subscription(w: &mut World, r: &Route, p: &Params, on: bool) -> Answer {
    let sources = p.list("eventSource");
    if sources.is_empty() {
        return Err(HttpReply::error(400, "Missing parameter eventSource"));
    }
    let app = r.var("applicationName").unwrap_or("").to_owned();
    if !w.apps.contains_key(&app) {
        return Err(HttpReply::error(404, "Application not found"));
    }
    for s in &sources {
        let exists = if let Some(id) = s.strip_prefix("channel:") {
            w.channel(id).is_some()
        } else if let Some(id) = s.strip_prefix("bridge:") {
            w.bridge(id).is_some()
        } else if s.starts_with("endpoint:") || s.starts_with("deviceState:") {
            false
        } else {
            return Err(HttpReply::error(400, "Invalid event source URI scheme"));
        };
        if !exists {
            return Err(HttpReply::error(422, "Event source does not exist"));
        }
    }
    for s in &sources {
        if let Some(id) = s.strip_prefix("channel:") {
            if on {
                w.subscribe_channel(id, &app, true);
            } else if let Some(c) = w.channel_mut(id) {
                if c.watchers.remove(&app).is_none() {
                    return Err(HttpReply::error(
                        409,
                        "Application not subscribed to event source",
                    ));
                }
            }
        } else if let Some(b) = s.strip_prefix("bridge:").and_then(|id| w.bridge_mut(id)) {
            if on {
                *b.watchers.entry(app.clone()).or_default() += 1;
            } else if b.watchers.remove(&app).is_none() {
                return Err(HttpReply::error(
                    409,
                    "Application not subscribed to event source",
                ));
            }
        }
    }
    Ok(HttpReply::json(200, &w.app_json(&app)))
}

fn find_bridge(w: &World, id: &str) -> Result<(), HttpReply> {
    if w.bridge(id).is_some() {
        Ok(())
    } else {
        Err(HttpReply::error(404, "Bridge not found").reason("Not found"))
    }
}

fn create_bridge(w: &mut World, r: &Route, p: &Params) -> Answer {
    let id = r
        .var("bridgeId")
        .map(str::to_owned)
        .or_else(|| p.get("bridgeId"))
        .filter(|s| !s.is_empty());
    if let Some(id) = &id {
        if w.bridge(id).is_some() {
            return Err(HttpReply::error(
                409,
                &format!("Bridge with id '{id}' already exists"),
            ));
        }
    }
    let id = id.unwrap_or_else(|| w.ids.uuid());
    let kind = p.get("type").unwrap_or_else(|| "mixing".into());
    let json = w.create_bridge(id, &kind, p.text("name"));
    Ok(HttpReply::json(200, &json))
}

/// `addChannel` / `removeChannel`, with the checks of
/// `resource_bridges.c`: 404 bridge, 400 missing or unknown channel, 422
/// channel not in Stasis (add) or not in this bridge (remove).
fn bridge_channels(w: &mut World, r: &Route, p: &Params, add: bool) -> Answer {
    let bridge = r.var("bridgeId").unwrap_or("").to_owned();
    find_bridge(w, &bridge)?;
    let chans: Vec<String> = p
        .list("channel")
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    if chans.is_empty() {
        return Err(HttpReply::error(400, "Missing parameter channel"));
    }
    for c in &chans {
        match w.channel(c) {
            None => return Err(HttpReply::error(400, "Channel not found")),
            Some(ch) if ch.stasis.is_none() => {
                return Err(HttpReply::error(422, "Channel not in Stasis application"))
            }
            Some(ch) if !add && ch.bridge.as_deref() != Some(bridge.as_str()) => {
                return Err(HttpReply::error(422, "Channel not in this bridge"))
            }
            Some(_) => {}
        }
    }
    for c in &chans {
        if add {
            w.add_to_bridge(&bridge, c);
        } else {
            w.remove_from_bridge(&bridge, c);
        }
    }
    Ok(HttpReply::no_content())
}

fn play_on_bridge(w: &mut World, r: &Route, p: &Params) -> Answer {
    let bridge = r.var("bridgeId").unwrap_or("").to_owned();
    find_bridge(w, &bridge)?;
    let media = check_play(p)?;
    let (pid, language) = playback_choice(p, r.var("playbackId"), None);
    let json = w.start_playback(pid, format!("bridge:{bridge}"), media, language);
    Ok(created(json))
}

fn control_playback(w: &mut World, r: &Route, p: &Params) -> Answer {
    let op = p.text("operation");
    if op.is_empty() {
        return Err(HttpReply::error(400, "Missing operation"));
    }
    if !["unpause", "pause", "restart", "reverse", "forward"].contains(&op.as_str()) {
        return Err(HttpReply::error(400, &format!("Invalid operation {op}")));
    }
    match w.control_playback(r.var("playbackId").unwrap_or(""), &op) {
        Ok(()) => Ok(HttpReply::no_content()),
        Err(ControlError::NotFound) => Err(HttpReply::error(404, "Playback not found")),
        Err(ControlError::NotPlaying) => Err(HttpReply::error(
            409,
            &format!("Can only {op} while media is playing"),
        )),
    }
}

/// `POST /events/user/{name}?application=…&source=…`: `ChannelUserevent`
/// to that application.
fn user_event(w: &mut World, r: &Route, p: &Params) -> Answer {
    let app = p.text("application");
    if app.is_empty() {
        return Err(HttpReply::error(400, "Missing parameter application"));
    }
    if !w.apps.contains_key(&app) {
        return Err(HttpReply::error(404, "Application not found"));
    }
    let name = r.var("eventName").unwrap_or("").to_owned();
    let mut blob = match p.body.as_ref().and_then(|b| b.get("variables")) {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    blob.insert("eventname".into(), json!(name));
    let mut ev = event(
        "ChannelUserevent",
        json!({"eventname": name, "userevent": Value::Object(blob)}),
    );
    for s in p.list("source") {
        if let Some(id) = s.strip_prefix("channel:") {
            let c = w
                .channel(id)
                .ok_or_else(|| HttpReply::error(422, "Event source was not found"))?;
            ev["channel"] = c.json();
        } else if let Some(id) = s.strip_prefix("bridge:") {
            let b = w
                .bridge(id)
                .ok_or_else(|| HttpReply::error(422, "Event source was not found"))?;
            ev["bridge"] = b.json();
        } else if s.starts_with("endpoint:") {
            return Err(HttpReply::error(422, "Event source was not found"));
        } else {
            return Err(HttpReply::error(400, "Invalid event source URI scheme"));
        }
    }
    w.emit(&[app], ev);
    Ok(HttpReply::no_content())
}

fn sounds(w: &World) -> Vec<Value> {
    w.cfg
        .sounds
        .iter()
        .flatten()
        .map(|s| json!({"id": s, "text": "", "formats": [{"language": "en", "format": "gsm"}]}))
        .collect()
}
