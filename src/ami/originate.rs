//! Originate and call tracking: [`CallManager`] places calls and follows
//! each through its events; [`Call`] is the handle to wait on.
//!
//! Correlation: the Originate is sent `Async` with a `ChannelId` chosen
//! here, so the new channel's `Uniqueid` is known before any event arrives;
//! every channel whose `Linkedid` is that Uniqueid belongs to the call too
//! (the other half of a Local channel, the dialed party). The
//! `OriginateResponse` is matched by ActionID.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::action::ActionExt;
use super::actions::Originate;
use super::callbacks::CallbackId;
use super::error::AmiError;
use super::manager::{Manager, WeakManager};
use super::message::Message;

/// Where a call stands. The order is the order a call moves through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CallState {
    /// The Originate was accepted; no channel has rung yet.
    Dialing,
    /// The far end is ringing.
    Ringing,
    /// The call was answered.
    Answered,
    /// The originated channel is in a bridge with another.
    Bridged,
    /// The call was answered and has hung up.
    Ended,
    /// The call ended without being answered (busy, no answer, no such
    /// extension, or no `OriginateResponse` in time).
    Failed,
}

impl CallState {
    fn is_final(self) -> bool {
        matches!(self, CallState::Ended | CallState::Failed)
    }
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallEnd {
    /// `Ended` or `Failed`.
    pub state: CallState,
    /// True when the call was answered at some point.
    pub answered: bool,
    /// The Q.850 hangup cause (`Cause`) of the originated channel, or when
    /// that is 0 (as for the first half of a Local channel), the first
    /// non-zero cause among the call's other channels.
    pub cause: Option<i32>,
    /// Its text (`Cause-txt`).
    pub cause_txt: Option<String>,
    /// The OriginateResponse `Reason` (4 answered, 5 busy, 3 no answer, 8
    /// congestion, 0 failure), if it came.
    pub reason: Option<i32>,
    /// Why the call failed when no event said so (e.g. no
    /// `OriginateResponse` in time).
    pub note: Option<String>,
}

/// Errors of [`Call::wait_for`] and [`Call::wait_end`].
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The state was not reached within the time allowed.
    #[error("call still {state:?} after {after:?}")]
    Timeout {
        /// The state when the wait gave up.
        state: CallState,
        /// How long the caller waited.
        after: Duration,
    },
    /// The call ended before reaching the state waited for.
    #[error("call ended ({:?}, cause {:?}) before reaching {wanted:?}", .end.state, .end.cause)]
    Ended {
        /// The state waited for.
        wanted: CallState,
        /// How the call ended.
        end: CallEnd,
    },
}

#[derive(Debug)]
struct CallData {
    state: CallState,
    /// The furthest live (not final) state reached.
    reached: CallState,
    /// Unanswered and half over: the OriginateResponse said Failure and the
    /// Hangup is to come, or the other way round.
    failing: bool,
    /// The originated channel has hung up.
    our_hangup: bool,
    /// The first non-zero cause of another channel of the call.
    other_cause: Option<i32>,
    other_cause_txt: Option<String>,
    answered: bool,
    channels: Vec<String>,
    hungup: Vec<String>,
    cause: Option<i32>,
    cause_txt: Option<String>,
    reason: Option<i32>,
    response: Option<Message>,
    note: Option<String>,
    events: Vec<Message>,
}

#[derive(Debug)]
struct CallInner {
    uniqueid: String,
    action_id: String,
    /// When to give up on the OriginateResponse.
    deadline: Instant,
    data: Mutex<CallData>,
    cond: Condvar,
}

/// A call placed by [`CallManager::originate`]. Cheap to clone; every clone
/// sees the same call.
#[derive(Clone, Debug)]
pub struct Call {
    inner: Arc<CallInner>,
}

impl Call {
    /// The Uniqueid of the originated channel (the `ChannelId` sent).
    pub fn uniqueid(&self) -> &str {
        &self.inner.uniqueid
    }

    /// The ActionID of the Originate.
    pub fn action_id(&self) -> &str {
        &self.inner.action_id
    }

    /// The current state.
    pub fn state(&self) -> CallState {
        self.check_deadline();
        self.inner.data.lock().state
    }

    /// The names of the call's channels seen so far, in order.
    pub fn channels(&self) -> Vec<String> {
        self.inner.data.lock().channels.clone()
    }

    /// The hangup cause of the originated channel, once it hung up.
    pub fn hangup_cause(&self) -> Option<i32> {
        self.inner.data.lock().cause
    }

    /// The `OriginateResponse` event, once it came.
    pub fn originate_response(&self) -> Option<Message> {
        self.inner.data.lock().response.clone()
    }

    /// The OriginateResponse `Reason`, once it came.
    pub fn reason(&self) -> Option<i32> {
        self.inner.data.lock().reason
    }

    /// Every event that was matched to this call, in order.
    pub fn events(&self) -> Vec<Message> {
        self.inner.data.lock().events.clone()
    }

    /// How the call ended, once it has.
    pub fn end(&self) -> Option<CallEnd> {
        self.check_deadline();
        let d = self.inner.data.lock();
        d.state.is_final().then(|| end_of(&d))
    }

    /// Blocks until the call reaches `state` (or a later one on the way to
    /// it, e.g. `Bridged` satisfies `Answered`), ends without reaching it, or
    /// `timeout` passes.
    pub fn wait_for(&self, state: CallState, timeout: Duration) -> Result<CallState, CallError> {
        let deadline = Instant::now() + timeout;
        let mut d = self.inner.data.lock();
        loop {
            let done = if state.is_final() {
                d.state.is_final()
            } else {
                d.reached >= state
            };
            if done {
                return Ok(d.state);
            }
            if d.state.is_final() {
                return Err(CallError::Ended {
                    wanted: state,
                    end: end_of(&d),
                });
            }
            let wake = deadline.min(self.inner.deadline);
            if self.inner.cond.wait_until(&mut d, wake).timed_out() {
                if Instant::now() >= self.inner.deadline && d.response.is_none() {
                    fail_no_response(&mut d);
                    self.inner.cond.notify_all();
                    continue;
                }
                if Instant::now() >= deadline {
                    return Err(CallError::Timeout {
                        state: d.state,
                        after: timeout,
                    });
                }
            }
        }
    }

    /// Blocks until the call has ended (hung up or failed), or `timeout`.
    pub fn wait_end(&self, timeout: Duration) -> Result<CallEnd, CallError> {
        match self.wait_for(CallState::Ended, timeout) {
            Ok(_) => Ok(self
                .end()
                .unwrap_or_else(|| end_of(&self.inner.data.lock()))),
            Err(CallError::Ended { end, .. }) => Ok(end),
            Err(e) => Err(e),
        }
    }

    fn check_deadline(&self) {
        if Instant::now() >= self.inner.deadline {
            let mut d = self.inner.data.lock();
            if d.response.is_none() && !d.state.is_final() {
                fail_no_response(&mut d);
                self.inner.cond.notify_all();
            }
        }
    }
}

fn fail_no_response(d: &mut CallData) {
    d.state = CallState::Failed;
    d.note = Some("no OriginateResponse in time".into());
}

fn end_of(d: &CallData) -> CallEnd {
    let (cause, cause_txt) = match (d.cause, d.other_cause) {
        (None | Some(0), Some(other)) => (Some(other), d.other_cause_txt.clone()),
        _ => (d.cause, d.cause_txt.clone()),
    };
    CallEnd {
        state: d.state,
        answered: d.answered,
        cause,
        cause_txt,
        reason: d.reason,
        note: d.note.clone(),
    }
}

#[derive(Default)]
struct Registry {
    /// By the Uniqueid of the originated channel.
    by_uniqueid: HashMap<String, Weak<CallInner>>,
    by_action: HashMap<String, Weak<CallInner>>,
}

/// Places calls and tracks them through their events (obelus's
/// CallManager).
///
/// ```
/// use astrix::ami::actions::Originate;
/// use astrix::ami::{CallManager, CallState, Manager};
/// use astrix::testing::AmiServer;
/// use std::time::Duration;
///
/// let server = AmiServer::start()?;
/// let manager = Manager::connect(server.addr())?;
/// manager.login("admin", "wordpass")?;
/// let calls = CallManager::new(&manager);
/// let call = calls.originate(Originate::to_extension("Local/100@test", "test", "100", 1))?;
/// call.wait_for(CallState::Answered, Duration::from_secs(5))?;
/// let end = call.wait_end(Duration::from_secs(10))?;
/// assert!(end.answered);
/// // A Local channel's end carries cause 0 (Unknown), as on Asterisk 22.
/// println!("ended: {:?} {:?}", end.cause, end.cause_txt);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CallManager {
    manager: WeakManager,
    registry: Arc<Mutex<Registry>>,
    callback: CallbackId,
    response_timeout: Duration,
}

impl std::fmt::Debug for CallManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallManager").finish_non_exhaustive()
    }
}

static CHANNEL_SEQ: AtomicU64 = AtomicU64::new(1);

impl CallManager {
    /// Starts following events on `manager` (one catch-all callback, removed
    /// when the `CallManager` is dropped).
    pub fn new(manager: &Manager) -> CallManager {
        let registry = Arc::new(Mutex::new(Registry::default()));
        let reg = Arc::downgrade(&registry);
        let callback = manager.on_any_event(move |e| {
            if let Some(reg) = reg.upgrade() {
                route(&reg, e);
            }
        });
        CallManager {
            manager: manager.downgrade(),
            registry,
            callback,
            response_timeout: Duration::from_secs(30),
        }
    }

    /// How long after the originate's own timeout a call waits for its
    /// `OriginateResponse` before it is failed (default 30 s).
    pub fn response_timeout(mut self, t: Duration) -> Self {
        self.response_timeout = t;
        self
    }

    /// Sends the Originate (always `Async`, with a `ChannelId` chosen here)
    /// and returns the call's handle at once. A refused Originate is the
    /// `AmiError` of [`Manager::send_action`].
    pub fn originate(&self, originate: Originate) -> Result<Call, AmiError> {
        let manager = self.manager.upgrade().ok_or(AmiError::Disconnected(
            super::error::DisconnectReason::Closed,
        ))?;
        let seq = CHANNEL_SEQ.fetch_add(1, Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        let uniqueid = format!("astrix-{}-{now:x}-{seq}", std::process::id());
        let action_id = format!("{uniqueid}-originate");
        let dial_timeout = originate.dial_timeout().unwrap_or(Duration::from_secs(30));
        let inner = Arc::new(CallInner {
            uniqueid: uniqueid.clone(),
            action_id: action_id.clone(),
            deadline: Instant::now() + dial_timeout + self.response_timeout,
            data: Mutex::new(CallData {
                state: CallState::Dialing,
                reached: CallState::Dialing,
                failing: false,
                our_hangup: false,
                other_cause: None,
                other_cause_txt: None,
                answered: false,
                channels: Vec::new(),
                hungup: Vec::new(),
                cause: None,
                cause_txt: None,
                reason: None,
                response: None,
                note: None,
                events: Vec::new(),
            }),
            cond: Condvar::new(),
        });
        {
            let mut r = self.registry.lock();
            r.by_uniqueid
                .insert(uniqueid.clone(), Arc::downgrade(&inner));
            r.by_action
                .insert(action_id.clone(), Arc::downgrade(&inner));
        }
        let action = originate
            .async_(true)
            .channel_id(uniqueid.clone())
            .with_action_id(action_id.clone());
        if let Err(e) = manager.send_action(&action) {
            let mut r = self.registry.lock();
            r.by_uniqueid.remove(&uniqueid);
            r.by_action.remove(&action_id);
            return Err(e);
        }
        Ok(Call { inner })
    }
}

impl Drop for CallManager {
    fn drop(&mut self) {
        if let Some(m) = self.manager.upgrade() {
            m.remove_callback(self.callback);
        }
    }
}

/// Applies one event to the call it belongs to, if any.
fn route(registry: &Mutex<Registry>, e: &Message) {
    let Some(name) = e.event_name() else { return };
    let call = {
        let mut r = registry.lock();
        let by_action = if name.eq_ignore_ascii_case("OriginateResponse") {
            e.action_id()
                .and_then(|id| r.by_action.get(id))
                .and_then(Weak::upgrade)
        } else {
            None
        };
        let found = by_action.or_else(|| {
            ["Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid"]
                .iter()
                .filter_map(|h| e.get(h))
                .find_map(|id| r.by_uniqueid.get(id).and_then(Weak::upgrade))
        });
        // Forget calls whose handles are all gone.
        if r.by_uniqueid.len() > 64 && found.is_none() {
            r.by_uniqueid.retain(|_, w| w.strong_count() > 0);
            r.by_action.retain(|_, w| w.strong_count() > 0);
        }
        found
    };
    let Some(call) = call else { return };
    let mut d = call.data.lock();
    apply(&mut d, e, name, &call.uniqueid);
    if !d.state.is_final() && d.state > d.reached {
        d.reached = d.state;
    }
    drop(d);
    call.cond.notify_all();
}

fn apply(d: &mut CallData, e: &Message, name: &str, uniqueid: &str) {
    let is_response = name.eq_ignore_ascii_case("OriginateResponse");
    // After the end only the OriginateResponse still adds something (its
    // reason, which may come after the Hangup of a failed call).
    if d.state.is_final() && !(is_response && d.response.is_none()) {
        return;
    }
    d.events.push(e.clone());
    let ours = e.get("Uniqueid") == Some(uniqueid);
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "newchannel" => {
            if let Some(ch) = e.get("Channel") {
                if !d.channels.iter().any(|c| c == ch) {
                    d.channels.push(ch.to_owned());
                }
            }
        }
        "newstate" if ours => match e.get("ChannelState").map(str::trim) {
            Some("4" | "5") if d.state < CallState::Ringing => d.state = CallState::Ringing,
            Some("6") if d.state < CallState::Answered => {
                d.state = CallState::Answered;
                d.answered = true;
            }
            _ => {}
        },
        "dialbegin" if d.state < CallState::Ringing => d.state = CallState::Ringing,
        "dialend" if e.get("DialStatus") == Some("ANSWER") && d.state < CallState::Answered => {
            d.state = CallState::Answered;
            d.answered = true;
        }
        "bridgeenter" if ours => {
            d.state = CallState::Bridged;
            d.answered = true;
        }
        "bridgeleave" if ours && d.state == CallState::Bridged => d.state = CallState::Answered,
        "originateresponse" => {
            d.reason = e.get("Reason").and_then(|r| r.trim().parse().ok());
            d.response = Some(e.clone());
            let success = e
                .get("Response")
                .is_some_and(|r| r.eq_ignore_ascii_case("Success"));
            if d.state.is_final() {
                return;
            }
            if success {
                if d.state < CallState::Answered {
                    d.state = CallState::Answered;
                }
                d.answered = true;
            } else if d.channels.is_empty() || d.our_hangup {
                d.state = CallState::Failed;
            } else {
                // The channel exists and its Hangup (with the cause) is
                // still to come: the call fails then.
                d.failing = true;
            }
        }
        "hangup" => {
            if let Some(ch) = e.get("Channel") {
                d.hungup.push(ch.to_owned());
            }
            if !ours {
                // A Local channel's first half often hangs up with cause 0
                // while the half that dialed knows why (17 busy, …).
                let cause = e.get("Cause").and_then(|c| c.trim().parse::<i32>().ok());
                if let (Some(c), None) = (cause.filter(|c| *c != 0), d.other_cause) {
                    d.other_cause = Some(c);
                    d.other_cause_txt = e.get("Cause-txt").map(str::to_owned);
                }
            }
            if ours {
                d.our_hangup = true;
                d.cause = e.get("Cause").and_then(|c| c.trim().parse().ok());
                d.cause_txt = e.get("Cause-txt").map(str::to_owned);
                if d.answered {
                    d.state = CallState::Ended;
                } else if d.response.is_some() || d.failing {
                    d.state = CallState::Failed;
                } else {
                    // Unanswered: Asterisk sends the OriginateResponse (and
                    // its reason) right after; the call fails then, or at
                    // the response deadline.
                    d.failing = true;
                }
            }
        }
        _ => {}
    }
}
