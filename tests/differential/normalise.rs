//! Normalised transcripts: what stays stable between two runs of a
//! scenario, on the emulator or on a real Asterisk.

use std::collections::BTreeSet;

/// Headers dropped from every message: they differ between instances or
/// runs whatever the behaviour (clocks, the `channelvars` of
/// `manager.conf`, the host's name), or they show the dialplan position,
/// which the emulators do not model (`Priority`, and `DestPriority`,
/// `TransfereePriority`, … likewise).
const DROPPED: &[&str] = &[
    "EventTV",
    "Timestamp",
    "SequenceNumber",
    "SystemName",
    "Priority",
];

/// Headers whose value is a count of seconds measured on the clock.
const CLOCKED: &[&str] = &["HoldTime", "RingTime", "TalkTime"];

/// Replaces what changes from run to run by stable names: unique ids
/// (`U1`, `U2`, … in the order Asterisk made them), channel sequence
/// numbers (`-00000019` → `-C1`, likewise), the run's tag (`T`) and
/// secrets. Every value is shown to [`Normaliser::learn`] first, so that a
/// name depends on creation order, not on the order events arrived in.
pub struct Normaliser {
    tag: String,
    /// Unique ids Asterisk made, by (seconds, counter).
    ids: BTreeSet<(u64, u64, String)>,
    /// Channel sequence numbers.
    seqs: BTreeSet<u64>,
    /// Bridge ids (uuids), in the order first seen.
    bridges: Vec<String>,
}

/// Whether header `name` holds a bridge's id (`BridgeUniqueid`, and the
/// prefixed ones of transfer events).
pub fn is_bridge(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with("bridgeuniqueid")
}

/// Whether header `name` holds a unique id.
fn is_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("uniqueid")
        || lower.ends_with("linkedid")
        || lower == "channelid"
        || lower == "otherchannelid"
}

/// The eight hex digits after a `-` (and before no other hex digit) in
/// `value`: `(start of the digits, number)` for each.
fn sequences(value: &str) -> Vec<(usize, u64)> {
    let b = value.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len() {
        let hex = b
            .get(i + 1..i + 9)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        let ends = b.get(i + 9).is_none_or(|c| !c.is_ascii_hexdigit());
        if b[i] == b'-' && hex && ends {
            if let Ok(n) = u64::from_str_radix(&value[i + 1..i + 9], 16) {
                out.push((i + 1, n));
            }
        }
    }
    out
}

/// An id Asterisk made (`1796310818.50`) as (seconds, counter).
fn made_id(value: &str) -> Option<(u64, u64)> {
    let (s, n) = value.split_once('.')?;
    Some((s.parse().ok()?, n.parse().ok()?))
}

impl Normaliser {
    /// A normaliser for the run whose ids and ActionIDs start with `tag`.
    pub fn new(tag: &str) -> Self {
        Normaliser {
            tag: tag.to_owned(),
            ids: BTreeSet::new(),
            seqs: BTreeSet::new(),
            bridges: Vec::new(),
        }
    }

    /// Whether a header is left out of transcripts.
    pub fn dropped(name: &str) -> bool {
        DROPPED.iter().any(|d| d.eq_ignore_ascii_case(name))
            || name.to_ascii_lowercase().contains("chanvariable")
            || name.to_ascii_lowercase().ends_with("priority")
    }

    /// Notes the ids and sequence numbers in one header.
    pub fn learn(&mut self, name: &str, value: &str) {
        if is_bridge(name) {
            if !value.is_empty() && !self.bridges.iter().any(|b| b == value) {
                self.bridges.push(value.to_owned());
            }
        } else if is_id(name) {
            if let Some((s, n)) = made_id(value) {
                self.ids.insert((s, n, value.to_owned()));
            }
        } else {
            self.seqs
                .extend(sequences(value).into_iter().map(|(_, n)| n));
        }
    }

    /// The stable form of `value` of header `name`.
    pub fn value(&self, name: &str, value: &str) -> String {
        if name.eq_ignore_ascii_case("secret") {
            return "(secret)".into();
        }
        // Whole seconds of the clock (app_queue.c): 3 or 4 for the same
        // call.
        if CLOCKED.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            return "(seconds)".into();
        }
        if is_bridge(name) {
            if let Some(i) = self.bridges.iter().position(|b| b == value) {
                return format!("B{}", i + 1);
            }
        }
        if is_id(name) {
            // Ids the scenario chose (`TAG-1`, and Asterisk's `TAG-1;2`
            // for a Local channel's other half) stay visible.
            if let Some(i) = self.ids.iter().position(|(_, _, v)| v == value) {
                return format!("U{}", i + 1);
            }
            return value.replace(&self.tag, "T");
        }
        let mut out = String::with_capacity(value.len());
        let mut at = 0;
        for (start, n) in sequences(value) {
            let i = self.seqs.iter().position(|s| *s == n).unwrap_or(0);
            out.push_str(&value[at..start]);
            out.push_str(&format!("C{}", i + 1));
            at = start + 8;
        }
        out.push_str(&value[at..]);
        out.replace(&self.tag, "T")
    }

    /// One message as one line: `prefix` and its kept headers,
    /// `Name: value` joined by ` | `.
    pub fn line<'a>(
        &self,
        prefix: &str,
        headers: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> String {
        let parts: Vec<String> = headers
            .filter(|(n, _)| !Self::dropped(n))
            .map(|(n, v)| format!("{n}: {}", self.value(n, v)))
            .collect();
        format!("{prefix}{}", parts.join(" | "))
    }
}
