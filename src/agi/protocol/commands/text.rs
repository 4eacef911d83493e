//! Text and TDD: SEND TEXT, SEND IMAGE, RECEIVE CHAR, RECEIVE TEXT, TDD MODE.

use crate::agi::protocol::command::{app_error, expect_ok, expect_one, int, AgiCommand};
use crate::agi::{AgiError, CommandLine, Response};

/// `SEND TEXT text`: sends text on channels that support it;
/// `result=-1` is an [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendText {
    text: String,
}

impl SendText {
    /// Sends `text`.
    pub fn new(text: impl Into<String>) -> Self {
        SendText { text: text.into() }
    }
}

impl AgiCommand for SendText {
    type Output = ();
    const NAME: &'static str = "SEND TEXT";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SEND TEXT").arg(&self.text);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_ok(Self::NAME, r)
    }
}

/// `SEND IMAGE image`: sends an image on channels that support it;
/// `result=-1` is an [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendImage {
    image: String,
}

impl SendImage {
    /// Sends the image file `image` (without extension).
    pub fn new(image: impl Into<String>) -> Self {
        SendImage {
            image: image.into(),
        }
    }
}

impl AgiCommand for SendImage {
    type Output = ();
    const NAME: &'static str = "SEND IMAGE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SEND IMAGE").arg(&self.image);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_ok(Self::NAME, r)
    }
}

/// `RECEIVE CHAR timeout`: one character, or `None` on timeout;
/// `result=-1` (hangup or failure) is an [`AgiError::AppError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveChar {
    timeout_ms: i64,
}

impl ReceiveChar {
    /// Waits up to `timeout_ms` (0: forever).
    pub fn new(timeout_ms: i64) -> Self {
        ReceiveChar { timeout_ms }
    }
}

impl AgiCommand for ReceiveChar {
    type Output = Option<char>;
    const NAME: &'static str = "RECEIVE CHAR";
    fn encode(&self, line: &mut CommandLine) {
        line.word("RECEIVE CHAR").num(self.timeout_ms);
    }
    fn parse(&self, r: &Response) -> Result<Option<char>, AgiError> {
        crate::agi::protocol::command::digit(Self::NAME, r)
    }
}

/// `RECEIVE TEXT timeout`: a text message; `result=-1` is an
/// [`AgiError::AppError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveText {
    timeout_ms: i64,
}

impl ReceiveText {
    /// Waits up to `timeout_ms` (0: forever).
    pub fn new(timeout_ms: i64) -> Self {
        ReceiveText { timeout_ms }
    }
}

impl AgiCommand for ReceiveText {
    type Output = String;
    const NAME: &'static str = "RECEIVE TEXT";
    fn encode(&self, line: &mut CommandLine) {
        line.word("RECEIVE TEXT").num(self.timeout_ms);
    }
    fn parse(&self, r: &Response) -> Result<String, AgiError> {
        match int(r)? {
            1 => Ok(r.data().unwrap_or_default().to_owned()),
            _ => Err(app_error(Self::NAME, r)),
        }
    }
}

/// The TDD modes of `TDD MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TddSetting {
    /// `on`.
    On,
    /// `off`.
    Off,
    /// `mate`.
    Mate,
    /// `tdd` (same as on).
    Tdd,
}

/// `TDD MODE on|off|mate|tdd`: switches TDD on channels that support it;
/// `result=0` (not supported) is an [`AgiError::AppError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TddMode {
    mode: TddSetting,
}

impl TddMode {
    /// Sets `mode`.
    pub fn new(mode: TddSetting) -> Self {
        TddMode { mode }
    }
}

impl AgiCommand for TddMode {
    type Output = ();
    const NAME: &'static str = "TDD MODE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("TDD MODE").word(match self.mode {
            TddSetting::On => "on",
            TddSetting::Off => "off",
            TddSetting::Mate => "mate",
            TddSetting::Tdd => "tdd",
        });
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_one(Self::NAME, r)
    }
}
