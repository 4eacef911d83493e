//! Channel state: ANSWER, HANGUP, CHANNEL STATUS, NOOP, VERBOSE,
//! ASYNCAGI BREAK.

use crate::agi::protocol::command::{expect_ok, int, non_negative, AgiCommand};
use crate::agi::{AgiError, CommandLine, Response};
pub use crate::ChannelState;

/// `ANSWER`: answers the channel. Fails with [`AgiError::AppError`] on
/// `result=-1`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answer;

impl AgiCommand for Answer {
    type Output = ();
    const NAME: &'static str = "ANSWER";
    fn encode(&self, line: &mut CommandLine) {
        line.word("ANSWER");
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_ok(Self::NAME, r)
    }
}

/// `ASYNCAGI BREAK`: ends an AsyncAGI session; the dialplan continues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsyncAgiBreak;

impl AgiCommand for AsyncAgiBreak {
    type Output = ();
    const NAME: &'static str = "ASYNCAGI BREAK";
    fn encode(&self, line: &mut CommandLine) {
        line.word("ASYNCAGI BREAK");
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_ok(Self::NAME, r)
    }
}

/// `CHANNEL STATUS [channel]`: the state of this channel or of a named
/// one. `result=-1` (no such channel) is an [`AgiError::AppError`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelStatus {
    channel: Option<String>,
}

impl ChannelStatus {
    /// The state of the current channel.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks about another channel by name.
    pub fn channel(mut self, name: impl Into<String>) -> Self {
        self.channel = Some(name.into());
        self
    }
}

impl AgiCommand for ChannelStatus {
    type Output = ChannelState;
    const NAME: &'static str = "CHANNEL STATUS";
    fn encode(&self, line: &mut CommandLine) {
        line.word("CHANNEL STATUS").opt_arg(self.channel.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<ChannelState, AgiError> {
        non_negative(Self::NAME, r).map(ChannelState::from_code)
    }
}

/// `HANGUP [channel]`: hangs up this channel or a named one;
/// `result=-1` (no such channel) is an [`AgiError::AppError`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hangup {
    channel: Option<String>,
}

impl Hangup {
    /// Hangs up the current channel.
    pub fn new() -> Self {
        Self::default()
    }
    /// Hangs up another channel by name.
    pub fn channel(mut self, name: impl Into<String>) -> Self {
        self.channel = Some(name.into());
        self
    }
}

impl AgiCommand for Hangup {
    type Output = ();
    const NAME: &'static str = "HANGUP";
    fn encode(&self, line: &mut CommandLine) {
        line.word("HANGUP").opt_arg(self.channel.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_ok(Self::NAME, r)
    }
}

/// `NOOP`: does nothing (a round trip).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Noop;

impl AgiCommand for Noop {
    type Output = ();
    const NAME: &'static str = "NOOP";
    fn encode(&self, line: &mut CommandLine) {
        line.word("NOOP");
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        int(r).map(|_| ())
    }
}

/// `VERBOSE message level`: logs `message` on Asterisk's console at a
/// verbosity level (1 to 4; default 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verbose {
    message: String,
    level: u8,
}

impl Verbose {
    /// Logs `message` at level 1.
    pub fn new(message: impl Into<String>) -> Self {
        Verbose {
            message: message.into(),
            level: 1,
        }
    }
    /// Sets the verbosity level.
    pub fn level(mut self, level: u8) -> Self {
        self.level = level;
        self
    }
}

impl AgiCommand for Verbose {
    type Output = ();
    const NAME: &'static str = "VERBOSE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("VERBOSE").arg(&self.message).num(self.level);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        int(r).map(|_| ())
    }
}
