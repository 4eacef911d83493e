//! The `/ari/channels` resource of [`AriServer`](super::AriServer), with
//! the checks and messages of Asterisk 22's `res/ari/resource_channels.c`.

use serde_json::json;

use super::calls::NewChannel;
use super::model::{parse_caller_id, reason_cause, split_args, OnAnswer, Task, World};
use super::reply::HttpReply;
use super::routes::{Params, Route};

/// `AST_MAX_PUBLIC_UNIQUEID`.
const MAX_UNIQUEID: usize = 149;

type Answer = Result<HttpReply, HttpReply>;

fn not_found() -> HttpReply {
    HttpReply::error(404, "Channel not found")
}

/// `find_control`: 404 when the channel does not exist, 409 when it is not
/// in a Stasis application.
fn control(w: &World, id: &str) -> Result<(), HttpReply> {
    match w.channel(id) {
        None => Err(not_found()),
        Some(c) if c.stasis.is_none() => {
            Err(HttpReply::error(409, "Channel not in Stasis application"))
        }
        Some(_) => Ok(()),
    }
}

/// `channel_state_invalid`: 412 for an outbound channel not answered yet.
fn state_ok(w: &World, id: &str) -> Result<(), HttpReply> {
    match w.channel(id).map(|c| c.state) {
        None => Err(not_found()),
        Some("Down" | "Rsrvd" | "Ringing") => {
            Err(HttpReply::error(412, "Channel in invalid state"))
        }
        Some(_) => Ok(()),
    }
}

/// Handles a `channels.*` operation; None for those not emulated.
pub(crate) fn handle(w: &mut World, r: &Route, p: &Params) -> Option<HttpReply> {
    let id = r.var("channelId").unwrap_or("").to_owned();
    let answer = match r.op {
        "channels.list" => Ok(HttpReply::json(
            200,
            &json!(w.channels.iter().map(|c| c.json()).collect::<Vec<_>>()),
        )),
        "channels.get" => w
            .channel(&id)
            .map(|c| HttpReply::json(200, &c.json()))
            .ok_or_else(not_found),
        "channels.originate" => originate(w, p, None),
        "channels.originateWithId" => originate(w, p, Some(id)),
        "channels.create" => create(w, p),
        "channels.hangup" => hangup(w, &id, p),
        "channels.continueInDialplan" => continue_in_dialplan(w, &id, p),
        "channels.move" => move_to(w, &id, p),
        "channels.answer" => simple(w, &id).inspect(|_| w.set_state(&id, "Up")),
        "channels.ring"
        | "channels.ringStop"
        | "channels.progress"
        | "channels.hold"
        | "channels.unhold"
        | "channels.startMoh"
        | "channels.stopMoh"
        | "channels.startSilence"
        | "channels.stopSilence" => simple(w, &id),
        "channels.mute" | "channels.unmute" => {
            simple(w, &id).and_then(|r| match p.get("direction").as_deref().unwrap_or("both") {
                "in" | "out" | "both" => Ok(r),
                "" => Err(HttpReply::error(400, "Direction is required")),
                _ => Err(HttpReply::error(400, "Invalid direction specified")),
            })
        }
        "channels.sendDTMF" => simple(w, &id).and_then(|r| {
            if p.text("dtmf").is_empty() {
                Err(HttpReply::error(400, "DTMF is required"))
            } else {
                Ok(r)
            }
        }),
        "channels.play" | "channels.playWithId" => play(w, &id, r.var("playbackId"), p),
        "channels.getChannelVar" => get_var(w, &id, p),
        "channels.setChannelVar" => set_var(w, &id, p),
        "channels.getChannelVars" => get_vars(w, &id, p),
        "channels.setChannelVars" => set_vars(w, &id, p),
        "channels.dial" => dial(w, &id),
        _ => return None,
    };
    Some(answer.unwrap_or_else(|e| e))
}

/// The checks of a plain control operation, then 204.
fn simple(w: &World, id: &str) -> Answer {
    control(w, id)?;
    state_ok(w, id)?;
    Ok(HttpReply::no_content())
}

/// Context and extension of a dial string: `Local/100@test` gives
/// (`test`, `100`); anything else (`default`, `s`).
fn dial_target(endpoint: &str) -> (String, String) {
    let resource = endpoint.split_once('/').map_or("", |(_, r)| r);
    let resource = resource.split('/').next().unwrap_or("");
    match resource.split_once('@') {
        Some((exten, context)) if endpoint.starts_with("Local/") => {
            (context.to_owned(), exten.to_owned())
        }
        _ => ("default".into(), "s".into()),
    }
}

/// Checks shared by originate and create; returns the channel id to use.
fn check_new(p: &Params, id: Option<String>) -> Result<Option<String>, HttpReply> {
    let id = id.or_else(|| p.get("channelId")).filter(|s| !s.is_empty());
    let other = p.text("otherChannelId");
    if id.as_ref().is_some_and(|i| i.len() > MAX_UNIQUEID) || other.len() > MAX_UNIQUEID {
        return Err(HttpReply::error(
            400,
            &format!("Uniqueid length exceeds maximum of {MAX_UNIQUEID}"),
        ));
    }
    let endpoint = p.text("endpoint");
    if endpoint.is_empty() {
        return Err(HttpReply::error(400, "Endpoint must be specified"));
    }
    if !p.text("originator").is_empty() && !p.text("formats").is_empty() {
        return Err(HttpReply::error(
            400,
            "Originator and formats can't both be specified",
        ));
    }
    match endpoint.split_once('/') {
        Some((tech, dev)) if !tech.is_empty() && !dev.is_empty() => {}
        _ => return Err(HttpReply::error(400, "Invalid endpoint specified")),
    }
    Ok(id)
}

fn originate(w: &mut World, p: &Params, id: Option<String>) -> Answer {
    let vars = p.variables()?;
    let id = check_new(p, id)?;
    let endpoint = p.text("endpoint");
    let app = p.text("app");
    let exten = p.text("extension");
    let on_answer = if !app.is_empty() {
        OnAnswer::Stasis(app.clone(), split_args(&p.text("appArgs")))
    } else if !exten.is_empty() {
        let context = p.get("context").filter(|c| !c.is_empty());
        let priority = match label_priority(p)? {
            Some(n) => n,
            None => match p.int("priority", 1).unwrap_or(1) {
                0 => return Err(illegal_priority()),
                n => n,
            },
        };
        OnAnswer::Dialplan(context.unwrap_or_else(|| "default".into()), exten, priority)
    } else {
        return Err(HttpReply::error(
            400,
            "Application or extension must be specified",
        ));
    };
    if id.as_ref().is_some_and(|i| w.channel(i).is_some()) {
        return Err(HttpReply::error(
            409,
            "Channel with given unique ID already exists",
        ));
    }
    let (context, dial_exten) = dial_target(&endpoint);
    let id = w.add_channel(NewChannel {
        id,
        endpoint,
        state: "Down",
        caller: parse_caller_id(&p.text("callerId")),
        context,
        exten: dial_exten,
        priority: 1,
        app_name: "AppDial2".into(),
        app_data: "(Outgoing Line)".into(),
        language: String::new(),
    });
    if !app.is_empty() {
        w.subscribe_channel(&id, &app, true);
    }
    let snapshot = w.channel(&id).map(|c| c.json()).unwrap_or_default();
    if let Some(c) = w.channel_mut(&id) {
        c.on_answer = Some(on_answer);
    }
    for (name, value) in vars {
        w.set_var(&id, &name, &value);
    }
    let delay = w.cfg.answer_delay;
    w.schedule(delay, Task::Answer(id));
    Ok(HttpReply::json(200, &snapshot))
}

fn create(w: &mut World, p: &Params) -> Answer {
    let vars = p.variables()?;
    let id = check_new(p, None)?;
    let app = p.text("app");
    if app.is_empty() {
        return Err(HttpReply::error(400, "Application name is required"));
    }
    if id.as_ref().is_some_and(|i| w.channel(i).is_some()) {
        return Err(HttpReply::error(
            409,
            "Channel with given unique ID already exists",
        ));
    }
    let endpoint = p.text("endpoint");
    let (context, exten) = dial_target(&endpoint);
    let id = w.add_channel(NewChannel {
        id,
        endpoint,
        state: "Down",
        context,
        exten,
        priority: 1,
        ..NewChannel::default()
    });
    w.subscribe_channel(&id, &app, true);
    if let Some(c) = w.channel_mut(&id) {
        c.undialled = true;
    }
    for (name, value) in vars {
        w.set_var(&id, &name, &value);
    }
    let snapshot = w.channel(&id).map(|c| c.json()).unwrap_or_default();
    w.enter_stasis(&id, &app, &split_args(&p.text("appArgs")), false);
    Ok(HttpReply::json(200, &snapshot))
}

fn dial(w: &mut World, id: &str) -> Answer {
    control(w, id)?;
    let Some(c) = w.channel_mut(id) else {
        return Err(not_found());
    };
    if c.state != "Down" {
        return Err(HttpReply::error(409, "Channel is not in the 'Down' state"));
    }
    if !c.undialled {
        return Err(HttpReply::error(
            409,
            "Dialing a channel not created by ARI",
        ));
    }
    c.undialled = false;
    w.set_state(id, "Ringing");
    let delay = w.cfg.answer_delay;
    w.schedule(delay, Task::Dialled(id.to_owned()));
    Ok(HttpReply::no_content())
}

fn hangup(w: &mut World, id: &str, p: &Params) -> Answer {
    if w.channel(id).is_none() {
        return Err(not_found());
    }
    let reason = p.text("reason");
    let code = p.text("reason_code");
    if !reason.is_empty() && !code.is_empty() {
        return Err(HttpReply::error(
            400,
            "The reason and reason_code can't both be specified",
        ));
    }
    let cause = if !code.is_empty() {
        code.trim().parse().map_err(|_| {
            HttpReply::error(400, "Invalid reason for hangup reason code provided")
                .reason("Invalid Reason Code")
        })?
    } else if !reason.is_empty() {
        reason_cause(&reason).ok_or_else(|| {
            HttpReply::error(400, "Invalid reason for hangup reason provided")
                .reason("Invalid Reason")
        })?
    } else {
        16
    };
    w.hangup(id, cause, true);
    Ok(HttpReply::no_content())
}

fn continue_in_dialplan(w: &mut World, id: &str, p: &Params) -> Answer {
    control(w, id)?;
    state_ok(w, id)?;
    let Some(c) = w.channel(id) else {
        return Err(not_found());
    };
    let (context, exten) = match p.get("context").filter(|s| !s.is_empty()) {
        None => (
            c.context.clone(),
            p.get("extension")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| c.exten.clone()),
        ),
        Some(ctx) => (
            ctx,
            p.get("extension")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "s".into()),
        ),
    };
    let priority = match label_priority(p)? {
        Some(n) => n,
        None => match p.int("priority", 0) {
            Ok(n) if n != 0 => n,
            _ if p.text("context").is_empty() && p.text("extension").is_empty() => {
                c.priority.saturating_add(1)
            }
            _ => 1,
        },
    };
    w.leave_stasis(id, false);
    w.goto_dialplan(id, context, exten, priority);
    Ok(HttpReply::no_content())
}

fn illegal_priority() -> HttpReply {
    HttpReply::error(400, "Requested priority is illegal")
}

/// The priority a `label` names (only numeric labels exist here): None
/// without a label, 404 for another label, 400 for priority 0.
fn label_priority(p: &Params) -> Result<Option<i64>, HttpReply> {
    let label = p.text("label");
    if label.is_empty() {
        return Ok(None);
    }
    match label.parse() {
        Ok(0) => Err(illegal_priority()),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(HttpReply::error(404, "Requested label can not be found")),
    }
}

impl World {
    /// A channel goes on in the dialplan at `context,exten,priority`.
    fn goto_dialplan(&mut self, id: &str, context: String, exten: String, priority: i64) {
        if let Some(c) = self.channel_mut(id) {
            c.context = context;
            c.exten = exten;
            c.priority = priority;
            c.app_name = String::new();
            c.app_data = String::new();
        }
    }
}

fn move_to(w: &mut World, id: &str, p: &Params) -> Answer {
    control(w, id)?;
    let app = p.text("app");
    if app.is_empty() {
        return Err(HttpReply::error(400, "Missing parameter app"));
    }
    if let Some(b) = w.channel(id).and_then(|c| c.bridge.clone()) {
        w.remove_from_bridge(&b, id);
    }
    let old = w
        .channel(id)
        .and_then(|c| c.stasis.clone())
        .unwrap_or_default();
    w.emit_stasis(id, &old, "StasisEnd", json!({}));
    if let Some(c) = w.channel_mut(id) {
        c.stasis = None;
        c.watchers.retain(|_, sticky| *sticky);
    }
    w.enter_stasis(id, &app, &split_args(&p.text("appArgs")), false);
    w.prune_apps();
    Ok(HttpReply::no_content())
}

fn play(w: &mut World, id: &str, playback_id: Option<&str>, p: &Params) -> Answer {
    control(w, id)?;
    state_ok(w, id)?;
    let media = check_play(p)?;
    let fallback = w.channel(id).map(|c| c.language.clone());
    let (pid, language) = playback_choice(p, playback_id, fallback);
    let json = w.start_playback(pid, format!("channel:{id}"), media, language);
    Ok(created(json))
}

/// The playback id of a play request (from the path, else the query; none
/// when empty) and its language (`lang`, else `fallback`, else `en`).
pub(crate) fn playback_choice(
    p: &Params,
    path_id: Option<&str>,
    fallback: Option<String>,
) -> (Option<String>, String) {
    let language = p
        .get("lang")
        .filter(|l| !l.is_empty())
        .or(fallback)
        .unwrap_or_else(|| "en".into());
    let pid = path_id
        .map(str::to_owned)
        .or_else(|| p.get("playbackId"))
        .filter(|s| !s.is_empty());
    (pid, language)
}

/// The media list of a play request, with its checks.
pub(crate) fn check_play(p: &Params) -> Result<Vec<String>, HttpReply> {
    if p.int("skipms", 3000).is_ok_and(|n| n < 0) {
        return Err(HttpReply::error(400, "skipms cannot be negative"));
    }
    if p.int("offsetms", 0).is_ok_and(|n| n < 0) {
        return Err(HttpReply::error(400, "offsetms cannot be negative"));
    }
    let media: Vec<String> = p
        .list("media")
        .into_iter()
        .filter(|m| !m.is_empty())
        .collect();
    if media.is_empty() {
        return Err(HttpReply::error(400, "Missing parameter media"));
    }
    Ok(media)
}

/// `201 Created` with the playback and its `Location`.
pub(crate) fn created(playback: serde_json::Value) -> HttpReply {
    let id = playback["id"].as_str().unwrap_or("").to_owned();
    HttpReply::new(201)
        .header("Location", &format!("/ari/playbacks/{id}"))
        .header("Content-type", "application/json")
        .body(playback.to_string())
}

/// A variable or one of the few dialplan functions the emulator knows.
fn read_var(w: &World, id: &str, name: &str) -> Result<String, HttpReply> {
    let Some(c) = w.channel(id) else {
        return Err(
            HttpReply::error(404, "Provided channel was not found").reason("Channel Not Found")
        );
    };
    if name.ends_with(')') {
        return match name {
            "CALLERID(num)" => Ok(c.caller.1.clone()),
            "CALLERID(name)" => Ok(c.caller.0.clone()),
            "CHANNEL(name)" => Ok(c.name.clone()),
            "CHANNEL(language)" => Ok(c.language.clone()),
            _ => Err(HttpReply::error(500, "Unable to read provided function")
                .reason("Error With Function")),
        };
    }
    c.vars.get(name).cloned().ok_or_else(|| {
        HttpReply::error(404, "Provided variable was not found").reason("Variable Not Found")
    })
}

fn get_var(w: &World, id: &str, p: &Params) -> Answer {
    let name = p.text("variable");
    if name.is_empty() {
        return Err(HttpReply::error(400, "Variable name is required"));
    }
    let value = read_var(w, id, &name)?;
    Ok(HttpReply::json(200, &json!({ "value": value })))
}

fn set_var(w: &mut World, id: &str, p: &Params) -> Answer {
    let name = p.text("variable");
    if name.is_empty() {
        return Err(HttpReply::error(400, "Variable name is required"));
    }
    control(w, id)?;
    w.set_var(id, &name, &p.text("value"));
    Ok(HttpReply::no_content())
}

fn get_vars(w: &World, id: &str, p: &Params) -> Answer {
    let names = p.list("variables");
    if names.is_empty() {
        return Err(HttpReply::error(
            400,
            "At least one variable name is required",
        ));
    }
    if w.channel(id).is_none() {
        return Err(
            HttpReply::error(404, "Provided channel was not found").reason("Channel Not Found")
        );
    }
    let mut out = serde_json::Map::new();
    for name in names {
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err(HttpReply::error(400, "Variable names are required"));
        }
        let value = read_var(w, id, &name)?;
        out.insert(name, json!(value));
    }
    Ok(HttpReply::json(200, &json!({ "variables": out })))
}

fn set_vars(w: &mut World, id: &str, p: &Params) -> Answer {
    let Some(vars) = p.body.as_ref().and_then(|b| b.get("variables")) else {
        return Err(HttpReply::error(400, "The 'variables' field is required"));
    };
    if w.channel(id).is_none() {
        return Err(
            HttpReply::error(404, "Provided channel was not found").reason("Channel Not Found")
        );
    }
    if !vars.is_object() {
        return Err(HttpReply::error(
            400,
            "The 'variables' field must be a JSON object",
        ));
    }
    control(w, id)?;
    for (name, value) in p.variables()? {
        w.set_var(id, &name, &value);
    }
    Ok(HttpReply::no_content())
}

/// A timer of an originated ([`Task::Answer`]) or dialled
/// ([`Task::Dialled`]) channel: the far end answers.
pub(crate) fn answered(w: &mut World, id: &str, dialled: bool) {
    let Some(c) = w.channel_mut(id) else { return };
    let on_answer = c.on_answer.take();
    if c.state != if dialled { "Ringing" } else { "Down" } {
        return;
    }
    w.set_state(id, "Up");
    match on_answer {
        Some(OnAnswer::Stasis(app, args)) => w.enter_stasis(id, &app, &args, true),
        Some(OnAnswer::Dialplan(context, exten, priority)) => {
            w.goto_dialplan(id, context, exten, priority);
        }
        None => {}
    }
}
