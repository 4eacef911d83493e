//! Playbacks of [`AriServer`](super::AriServer)'s world, following
//! `res_stasis_playback.c`: `queued`, then for each media `PlaybackStarted`
//! (`playing`) and, when it ends, `PlaybackContinuing` (more media) or
//! `PlaybackFinished` (`done`, or `failed` when the last media could not
//! play).

use std::time::Instant;

use serde_json::{json, Value};

use super::model::{event, Playback, Task, World};

/// Why a playback control was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ControlError {
    NotFound,
    NotPlaying,
}

impl World {
    /// Queues a playback on `target` (`channel:ID` or `bridge:ID`); it
    /// starts on the timer thread right away.
    pub fn start_playback(
        &mut self,
        id: Option<String>,
        target: String,
        media: Vec<String>,
        language: String,
    ) -> Value {
        let id = id.unwrap_or_else(|| self.ids.uuid());
        let p = Playback {
            id: id.clone(),
            media,
            index: 0,
            target,
            language,
            state: "queued",
            generation: 0,
            due: None,
            remaining: None,
        };
        let json = p.json();
        self.playbacks.retain(|p| p.id != id);
        self.playbacks.push(p);
        self.schedule(std::time::Duration::ZERO, Task::PlaybackStep(id, 0));
        json
    }

    /// The applications that see a playback's events.
    fn playback_watchers(&self, target: &str) -> Vec<String> {
        if let Some(c) = target.strip_prefix("channel:") {
            self.channel_watchers(c)
        } else if let Some(b) = target.strip_prefix("bridge:") {
            self.bridge(b)
                .map(|b| b.watchers.keys().cloned().collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        }
    }

    fn emit_playback(&mut self, id: &str, kind: &str) {
        let Some(p) = self.playback(id) else { return };
        let ev = event(kind, json!({ "playback": p.json() }));
        let to = self.playback_watchers(&p.target.clone());
        self.emit(&to, ev);
    }

    /// Whether a media URI can play: `sound:` ones must be known when the
    /// server was given a list of sounds.
    fn playable(&self, uri: &str) -> bool {
        match (uri.strip_prefix("sound:"), &self.cfg.sounds) {
            (Some(name), Some(sounds)) => sounds.iter().any(|s| s == name),
            _ => true,
        }
    }

    /// A playback timer fired.
    pub fn playback_step(&mut self, id: &str, generation: u64) {
        let Some(p) = self.playback(id) else { return };
        if p.generation != generation {
            return;
        }
        let state = p.state;
        match state {
            "queued" => self.begin_media(id),
            "playing" if self.end_media(id, true) => self.begin_media(id),
            _ => {}
        }
    }

    /// The current media starts: `PlaybackStarted`, then either its end is
    /// scheduled or, when it cannot play, it ends at once as failed and the
    /// next one starts (a loop, however many media cannot play).
    fn begin_media(&mut self, id: &str) {
        let duration = self.cfg.playback_duration;
        loop {
            let Some(p) = self.playback_mut(id) else {
                return;
            };
            p.state = "playing";
            p.due = Some(Instant::now() + duration);
            let generation = p.generation;
            let uri = p.media.get(p.index).cloned().unwrap_or_default();
            self.emit_playback(id, "PlaybackStarted");
            if self.playable(&uri) {
                self.schedule(duration, Task::PlaybackStep(id.to_owned(), generation));
                return;
            }
            if !self.end_media(id, false) {
                return;
            }
        }
    }

    /// The current media ended (`ok`) or failed; true when the next media
    /// is to begin.
    fn end_media(&mut self, id: &str, ok: bool) -> bool {
        let Some(p) = self.playback_mut(id) else {
            return false;
        };
        let last = p.index + 1 >= p.media.len();
        p.generation += 1;
        p.due = None;
        if last {
            p.state = if ok { "done" } else { "failed" };
            self.emit_playback(id, "PlaybackFinished");
            self.playbacks.retain(|p| p.id != id);
            false
        } else {
            p.state = "continuing";
            self.emit_playback(id, "PlaybackContinuing");
            match self.playback_mut(id) {
                Some(p) => {
                    p.index += 1;
                    true
                }
                None => false,
            }
        }
    }

    /// Stops a playback (`DELETE /playbacks/{id}`, hangup, bridge
    /// destroyed): `PlaybackFinished` with state `done`.
    pub fn stop_playback(&mut self, id: &str) -> bool {
        let Some(p) = self.playback_mut(id) else {
            return false;
        };
        p.state = "done";
        p.generation += 1;
        self.emit_playback(id, "PlaybackFinished");
        self.playbacks.retain(|p| p.id != id);
        true
    }

    /// Stops every playback on a target.
    pub fn stop_playbacks_on(&mut self, target: &str) {
        let ids: Vec<String> = self
            .playbacks
            .iter()
            .filter(|p| p.target == target)
            .map(|p| p.id.clone())
            .collect();
        for id in ids {
            self.stop_playback(&id);
        }
    }

    /// `POST /playbacks/{id}/control`: pause, unpause, restart, forward,
    /// reverse (the operation is checked by the caller).
    pub fn control_playback(&mut self, id: &str, op: &str) -> Result<(), ControlError> {
        let duration = self.cfg.playback_duration;
        let p = self.playback_mut(id).ok_or(ControlError::NotFound)?;
        let now = Instant::now();
        match (op, p.state) {
            ("pause", "playing") => {
                p.remaining = Some(p.due.map_or(duration, |d| d.saturating_duration_since(now)));
                p.due = None;
                p.generation += 1;
                p.state = "paused";
            }
            ("unpause", "paused") => {
                let left = p.remaining.take().unwrap_or(duration);
                p.state = "playing";
                p.due = Some(now + left);
                let task = Task::PlaybackStep(id.to_owned(), p.generation);
                self.schedule(left, task);
            }
            ("restart", "playing") => {
                p.generation += 1;
                p.due = Some(now + duration);
                let task = Task::PlaybackStep(id.to_owned(), p.generation);
                self.schedule(duration, task);
            }
            ("pause", "paused") | ("unpause" | "forward" | "reverse", "playing") => {}
            ("restart" | "forward" | "reverse", "paused") => {}
            _ => return Err(ControlError::NotPlaying),
        }
        Ok(())
    }
}
