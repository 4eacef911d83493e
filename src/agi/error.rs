//! The AGI error type: one enum, in the hierarchy pystrix users know
//! (hangup, dead channel, usage, invalid command, application error,
//! unknown), plus the I/O and protocol failures of the transports.

use std::io;
use std::sync::Arc;

/// Why a session counts as hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HangupReason {
    /// Asterisk sent the unsolicited `HANGUP` line (FastAGI, AsyncAGI).
    HangupLine,
    /// The process received SIGHUP (classic stdin/stdout AGI, on Unix).
    Signal,
    /// The stream closed (end of input, broken pipe, connection reset).
    Closed,
    /// AsyncAGI: Asterisk sent `AsyncAGIEnd` (or the channel is gone).
    AsyncAgiEnd,
}

impl std::fmt::Display for HangupReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HangupReason::HangupLine => "Asterisk sent HANGUP",
            HangupReason::Signal => "SIGHUP received",
            HangupReason::Closed => "the connection to Asterisk closed",
            HangupReason::AsyncAgiEnd => "the AsyncAGI session ended",
        })
    }
}

/// Everything an AGI command or session can fail with.
///
/// The first group mirrors pystrix's exceptions: [`AgiError::Hangup`]
/// (`AGIHangup`, `AGISIGHUPHangup`, `AGISIGPIPEHangup`),
/// [`AgiError::DeadChannel`] (`AGIDeadChannelError`, reply 511),
/// [`AgiError::Usage`] (`AGIUsageError`, reply 520),
/// [`AgiError::InvalidCommand`] (`AGIInvalidCommandError`, reply 510),
/// [`AgiError::AppError`] (`AGIAppError`: the command's own failure result)
/// and [`AgiError::Unknown`] (`AGIUnknownError`). The rest are failures of
/// the transport or of the bytes received.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AgiError {
    /// The channel hung up; every later command fails at once with this.
    #[error("channel hung up: {0}")]
    Hangup(HangupReason),
    /// `511 Command Not Permitted on a dead channel or intercept routine`.
    #[error("command not permitted on a dead channel or intercept routine (511)")]
    DeadChannel,
    /// `520`: Asterisk rejected the syntax; `usage` holds the usage text it
    /// sent (empty if it sent none).
    #[error("invalid command syntax (520): {usage}")]
    Usage {
        /// The usage text between `520-…` and `520 End of proper usage.`,
        /// lines joined with `\n`.
        usage: String,
    },
    /// `510 Invalid or unknown command`.
    #[error("invalid or unknown command (510)")]
    InvalidCommand,
    /// The command ran and reported failure (for example `result=-1`).
    #[error("{command} failed: result={result}{}", data.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AppError {
        /// The command's name, e.g. `STREAM FILE`.
        command: &'static str,
        /// The raw `result=` value.
        result: String,
        /// The parenthesised data, if any.
        data: Option<String>,
        /// `endpos=`, if the reply had one.
        endpos: Option<i64>,
    },
    /// A reply with a code astrix does not know (e.g. `503`).
    #[error("unknown reply: {line}")]
    Unknown {
        /// The status code.
        code: u16,
        /// The whole reply line.
        line: String,
    },
    /// The bytes received are not an AGI reply.
    #[error("malformed reply: {reason}: {line:?}")]
    MalformedReply {
        /// What is wrong.
        reason: &'static str,
        /// The offending line (lossily decoded, possibly shortened).
        line: String,
    },
    /// The `agi_*` environment block is not valid.
    #[error("malformed environment: {reason}: {line:?}")]
    MalformedEnvironment {
        /// What is wrong.
        reason: &'static str,
        /// The offending line (lossily decoded, possibly shortened).
        line: String,
    },
    /// A configured limit was exceeded (see [`crate::agi::Limits`]).
    #[error("limit exceeded: {what} is larger than {limit}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// Its configured value.
        limit: usize,
    },
    /// An argument can't be sent: it holds CR, LF or NUL, which would end
    /// or cut the command line.
    #[error("argument {argument:?} can't be sent: {reason}")]
    InvalidArgument {
        /// The refused argument (shortened).
        argument: String,
        /// Why.
        reason: &'static str,
    },
    /// No reply arrived within the configured timeout.
    #[error("timed out waiting for Asterisk")]
    Timeout,
    /// Any other I/O failure. The I/O error is the
    /// [`source`](std::error::Error::source) (an `Arc<io::Error>`), not
    /// repeated in the message; for AsyncAGI it wraps the
    /// [`AmiError`](crate::ami::AmiError) of the AMI connection.
    #[error("I/O error")]
    Io(#[source] Arc<io::Error>),
}

impl AgiError {
    /// True for [`AgiError::Hangup`] of any reason.
    pub fn is_hangup(&self) -> bool {
        matches!(self, AgiError::Hangup(_))
    }

    /// True for [`AgiError::DeadChannel`] (reply 511).
    pub fn is_dead_channel(&self) -> bool {
        matches!(self, AgiError::DeadChannel)
    }

    /// True for [`AgiError::Usage`] (reply 520).
    pub fn is_usage(&self) -> bool {
        matches!(self, AgiError::Usage { .. })
    }

    /// True for [`AgiError::AppError`].
    pub fn is_app_error(&self) -> bool {
        matches!(self, AgiError::AppError { .. })
    }

    /// True when the channel is gone: a hangup or a dead channel (511).
    pub fn is_channel_gone(&self) -> bool {
        self.is_hangup() || self.is_dead_channel()
    }

    /// True for [`AgiError::Timeout`]: no reply in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, AgiError::Timeout)
    }

    /// The I/O error of [`AgiError::Io`]. A closed or reset stream is a
    /// hangup and a read timeout [`AgiError::Timeout`] instead (see
    /// [`AgiError::from_io`]).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            AgiError::Io(e) => Some(e),
            _ => None,
        }
    }

    /// Maps an I/O error from a transport: a closed or reset stream becomes
    /// [`AgiError::Hangup`]`(Closed)`, a read timeout [`AgiError::Timeout`].
    pub fn from_io(err: io::Error) -> AgiError {
        match err.kind() {
            io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected => AgiError::Hangup(HangupReason::Closed),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => AgiError::Timeout,
            _ => AgiError::Io(Arc::new(err)),
        }
    }
}

impl From<io::Error> for AgiError {
    fn from(err: io::Error) -> Self {
        AgiError::from_io(err)
    }
}

pub(crate) use crate::util::excerpt;
