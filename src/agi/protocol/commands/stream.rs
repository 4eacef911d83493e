//! Playback and input: STREAM FILE, CONTROL STREAM FILE, GET OPTION,
//! GET DATA, WAIT FOR DIGIT, RECORD FILE.

use crate::agi::protocol::command::{app_error, digit, int, AgiCommand};
use crate::agi::{AgiError, CommandLine, Response};

/// What a playback command ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Playback {
    /// The escape digit pressed, or `None` when playback ran to its end.
    pub digit: Option<char>,
    /// Where playback stopped, in samples (`endpos=`; `0` if absent).
    pub endpos: i64,
}

fn playback(command: &'static str, r: &Response) -> Result<Playback, AgiError> {
    Ok(Playback {
        digit: digit(command, r)?,
        endpos: r.endpos().unwrap_or(0),
    })
}

/// `STREAM FILE file escape_digits [offset]`: plays a sound file; a
/// pressed escape digit stops it. `result=-1` (missing file, hangup) is an
/// [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFile {
    file: String,
    escape_digits: String,
    offset: Option<i64>,
}

impl StreamFile {
    /// Plays `file` (without extension) with no escape digits.
    pub fn new(file: impl Into<String>) -> Self {
        StreamFile {
            file: file.into(),
            escape_digits: String::new(),
            offset: None,
        }
    }
    /// Digits that stop playback (e.g. `"0123456789#*"`).
    pub fn escape_digits(mut self, digits: impl Into<String>) -> Self {
        self.escape_digits = digits.into();
        self
    }
    /// Starts at this offset in samples.
    pub fn offset(mut self, samples: i64) -> Self {
        self.offset = Some(samples);
        self
    }
}

impl AgiCommand for StreamFile {
    type Output = Playback;
    const NAME: &'static str = "STREAM FILE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("STREAM FILE")
            .arg(&self.file)
            .arg(&self.escape_digits);
        if let Some(o) = self.offset {
            line.num(o);
        }
    }
    fn parse(&self, r: &Response) -> Result<Playback, AgiError> {
        playback(Self::NAME, r)
    }
}

/// `CONTROL STREAM FILE file escape_digits [skipms] [ffchar] [rewchar]
/// [pausechar] [offsetms]`: playback the caller can wind and pause.
/// `result=-1` is an [`AgiError::AppError`]; `endpos` is in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlStreamFile {
    file: String,
    escape_digits: String,
    skip_ms: Option<i64>,
    forward: Option<String>,
    rewind: Option<String>,
    pause: Option<String>,
    offset_ms: Option<i64>,
}

impl ControlStreamFile {
    /// Plays `file` with the default keys (`#` forward, `*` rewind).
    pub fn new(file: impl Into<String>) -> Self {
        ControlStreamFile {
            file: file.into(),
            escape_digits: String::new(),
            skip_ms: None,
            forward: None,
            rewind: None,
            pause: None,
            offset_ms: None,
        }
    }
    /// Digits that stop playback.
    pub fn escape_digits(mut self, digits: impl Into<String>) -> Self {
        self.escape_digits = digits.into();
        self
    }
    /// How far forward/rewind jump (default 3000 ms).
    pub fn skip_ms(mut self, ms: i64) -> Self {
        self.skip_ms = Some(ms);
        self
    }
    /// The fast-forward key.
    pub fn forward(mut self, key: impl Into<String>) -> Self {
        self.forward = Some(key.into());
        self
    }
    /// The rewind key.
    pub fn rewind(mut self, key: impl Into<String>) -> Self {
        self.rewind = Some(key.into());
        self
    }
    /// The pause key.
    pub fn pause(mut self, key: impl Into<String>) -> Self {
        self.pause = Some(key.into());
        self
    }
    /// Starts at this offset in milliseconds.
    pub fn offset_ms(mut self, ms: i64) -> Self {
        self.offset_ms = Some(ms);
        self
    }
}

impl AgiCommand for ControlStreamFile {
    type Output = Playback;
    const NAME: &'static str = "CONTROL STREAM FILE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("CONTROL STREAM FILE")
            .arg(&self.file)
            .arg(&self.escape_digits);
        let any_after_skip = self.forward.is_some()
            || self.rewind.is_some()
            || self.pause.is_some()
            || self.offset_ms.is_some();
        if self.skip_ms.is_some() || any_after_skip {
            line.num(self.skip_ms.unwrap_or(3000));
        }
        let keys = [&self.forward, &self.rewind, &self.pause];
        let last_key = keys.iter().rposition(|k| k.is_some());
        let keys_needed = if self.offset_ms.is_some() {
            Some(2)
        } else {
            last_key
        };
        if let Some(n) = keys_needed {
            for k in keys.iter().take(n + 1) {
                line.arg(k.as_deref().unwrap_or(""));
            }
        }
        if let Some(o) = self.offset_ms {
            line.num(o);
        }
    }
    fn parse(&self, r: &Response) -> Result<Playback, AgiError> {
        playback(Self::NAME, r)
    }
}

/// `GET OPTION file escape_digits [timeout]`: like [`StreamFile`], then
/// waits up to `timeout` ms for a digit. `result=-1` is an
/// [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOption {
    file: String,
    escape_digits: String,
    timeout_ms: Option<i64>,
}

impl GetOption {
    /// Plays `file` and accepts `escape_digits`.
    pub fn new(file: impl Into<String>, escape_digits: impl Into<String>) -> Self {
        GetOption {
            file: file.into(),
            escape_digits: escape_digits.into(),
            timeout_ms: None,
        }
    }
    /// How long to wait for a digit after playback (default: the
    /// channel's digit timeout).
    pub fn timeout_ms(mut self, ms: i64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
}

impl AgiCommand for GetOption {
    type Output = Playback;
    const NAME: &'static str = "GET OPTION";
    fn encode(&self, line: &mut CommandLine) {
        line.word("GET OPTION")
            .arg(&self.file)
            .arg(&self.escape_digits);
        if let Some(t) = self.timeout_ms {
            line.num(t);
        }
    }
    fn parse(&self, r: &Response) -> Result<Playback, AgiError> {
        playback(Self::NAME, r)
    }
}

/// What `GET DATA` collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digits {
    /// The digits entered (may be empty).
    pub digits: String,
    /// True when input ended by timeout rather than `#` or the maximum.
    pub timed_out: bool,
}

/// `GET DATA file [timeout] [max_digits]`: plays a prompt and collects
/// digits. `result=-1` (missing file, hangup) is an [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetData {
    file: String,
    timeout_ms: Option<i64>,
    max_digits: Option<u32>,
}

impl GetData {
    /// Plays `file` and collects digits.
    pub fn new(file: impl Into<String>) -> Self {
        GetData {
            file: file.into(),
            timeout_ms: None,
            max_digits: None,
        }
    }
    /// Timeout between digits in ms (default: Asterisk's).
    pub fn timeout_ms(mut self, ms: i64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
    /// Most digits to collect.
    pub fn max_digits(mut self, n: u32) -> Self {
        self.max_digits = Some(n);
        self
    }
}

impl AgiCommand for GetData {
    type Output = Digits;
    const NAME: &'static str = "GET DATA";
    fn encode(&self, line: &mut CommandLine) {
        line.word("GET DATA").arg(&self.file);
        if self.timeout_ms.is_some() || self.max_digits.is_some() {
            line.num(self.timeout_ms.unwrap_or(0));
        }
        if let Some(m) = self.max_digits {
            line.num(m);
        }
    }
    fn parse(&self, r: &Response) -> Result<Digits, AgiError> {
        let result = r.result();
        if result.starts_with('-') {
            return Err(app_error(Self::NAME, r));
        }
        if !result
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#' | b'A'..=b'D' | b'a'..=b'd'))
        {
            return Err(AgiError::MalformedReply {
                reason: "GET DATA result is not digits",
                line: r.line().to_owned(),
            });
        }
        Ok(Digits {
            digits: result.to_owned(),
            timed_out: r.data() == Some("timeout"),
        })
    }
}

/// `WAIT FOR DIGIT timeout`: a digit, or `None` on timeout (`-1` waits
/// forever). `result=-1` is an [`AgiError::AppError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitForDigit {
    timeout_ms: i64,
}

impl WaitForDigit {
    /// Waits up to `timeout_ms` (`-1`: forever).
    pub fn new(timeout_ms: i64) -> Self {
        WaitForDigit { timeout_ms }
    }
}

impl AgiCommand for WaitForDigit {
    type Output = Option<char>;
    const NAME: &'static str = "WAIT FOR DIGIT";
    fn encode(&self, line: &mut CommandLine) {
        line.word("WAIT FOR DIGIT").num(self.timeout_ms);
    }
    fn parse(&self, r: &Response) -> Result<Option<char>, AgiError> {
        digit(Self::NAME, r)
    }
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordEnd {
    /// An escape digit was pressed.
    Digit(char),
    /// The time limit or the silence limit was reached.
    Timeout,
}

/// What `RECORD FILE` produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recording {
    /// Why it ended.
    pub end: RecordEnd,
    /// Its length in samples (`endpos=`).
    pub endpos: i64,
}

/// `RECORD FILE file format escape_digits timeout [offset] [BEEP]
/// [s=silence]`: records audio. Failures (`randomerror`, `writefile`,
/// `waitfor`, and the channel hanging up, `result=-1 (hangup)`) are
/// [`AgiError::AppError`]s whose `endpos` tells how much was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFile {
    file: String,
    format: String,
    escape_digits: String,
    timeout_ms: i64,
    offset: Option<i64>,
    beep: bool,
    silence_secs: Option<u32>,
}

impl RecordFile {
    /// Records to `file` in `format` (e.g. `wav`) for at most `timeout_ms`
    /// (`-1`: no limit).
    pub fn new(file: impl Into<String>, format: impl Into<String>, timeout_ms: i64) -> Self {
        RecordFile {
            file: file.into(),
            format: format.into(),
            escape_digits: String::new(),
            timeout_ms,
            offset: None,
            beep: false,
            silence_secs: None,
        }
    }
    /// Digits that stop the recording.
    pub fn escape_digits(mut self, digits: impl Into<String>) -> Self {
        self.escape_digits = digits.into();
        self
    }
    /// Appends from this offset in samples.
    pub fn offset(mut self, samples: i64) -> Self {
        self.offset = Some(samples);
        self
    }
    /// Plays a beep first.
    pub fn beep(mut self) -> Self {
        self.beep = true;
        self
    }
    /// Stops after this many seconds of silence.
    pub fn silence(mut self, secs: u32) -> Self {
        self.silence_secs = Some(secs);
        self
    }
}

impl AgiCommand for RecordFile {
    type Output = Recording;
    const NAME: &'static str = "RECORD FILE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("RECORD FILE")
            .arg(&self.file)
            .arg(&self.format)
            .arg(&self.escape_digits)
            .num(self.timeout_ms);
        if let Some(o) = self.offset {
            line.num(o);
        }
        if self.beep {
            line.word("BEEP");
        }
        if let Some(s) = self.silence_secs {
            line.arg(&format!("s={s}"));
        }
    }
    fn parse(&self, r: &Response) -> Result<Recording, AgiError> {
        let endpos = r.endpos().unwrap_or(0);
        match (r.data(), int(r)?) {
            (Some("dtmf"), n) if n > 0 => {
                let c = u32::try_from(n)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| AgiError::MalformedReply {
                        reason: "result is not a character code",
                        line: r.line().to_owned(),
                    })?;
                Ok(Recording {
                    end: RecordEnd::Digit(c),
                    endpos,
                })
            }
            (Some("timeout"), n) if n >= 0 => Ok(Recording {
                end: RecordEnd::Timeout,
                endpos,
            }),
            _ => Err(app_error(Self::NAME, r)),
        }
    }
}
