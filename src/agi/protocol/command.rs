//! The [`AgiCommand`] trait, [`RawCommand`], and the small helpers the typed
//! commands share to read their results.

use super::encode::CommandLine;
use super::limits::Limits;
use super::reply::{Reply, Response};
use crate::agi::error::AgiError;

/// One AGI command: how it is written and what its `200` reply means.
///
/// Encoding and parsing are free of I/O, so the same command runs over
/// stdin/stdout AGI, FastAGI ([`crate::agi::Agi::execute`]) and AsyncAGI
/// (send [`encode_command`]'s line in an AMI `AGI` action, then feed the
/// decoded `Result:` to [`parse_reply_text`](crate::agi::parse_reply_text)
/// and [`finish_command`]).
pub trait AgiCommand {
    /// What the command's reply means, e.g. `Option<String>` for
    /// [`GetVariable`](crate::agi::commands::GetVariable).
    type Output;
    /// The command's name as Asterisk knows it, e.g. `"GET VARIABLE"`.
    const NAME: &'static str;
    /// Writes the command's words and arguments to `line`.
    fn encode(&self, line: &mut CommandLine);
    /// Reads the `200` response; answers [`AgiError::AppError`] where the
    /// result code means failure.
    fn parse(&self, response: &Response) -> Result<Self::Output, AgiError>;
}

/// The command line of `command`, without `\n`, or the argument error.
pub fn encode_command<C: AgiCommand + ?Sized>(command: &C) -> Result<String, AgiError> {
    let mut line = CommandLine::new();
    command.encode(&mut line);
    line.finish().map(str::to_owned)
}

/// Turns a complete reply into the command's output: the errors of
/// [`Reply::into_response`], then [`AgiCommand::parse`].
pub fn finish_command<C: AgiCommand + ?Sized>(
    command: &C,
    reply: Reply,
) -> Result<C::Output, AgiError> {
    command.parse(&reply.into_response()?)
}

/// Checks that an encoded line fits `limits`.
pub(crate) fn check_len(line: &str, limits: &Limits) -> Result<(), AgiError> {
    if line.len() > limits.max_command_len {
        return Err(AgiError::LimitExceeded {
            what: "command line",
            limit: limits.max_command_len,
        });
    }
    Ok(())
}

/// Any command line, for what has no typed struct (or a newer Asterisk).
///
/// The output is the whole [`Response`]; no result code counts as failure.
///
/// ```
/// use astrix::agi::{commands::RawCommand, encode_command};
/// let cmd = RawCommand::new("SAY NUMBER").arg("42").arg("");
/// assert_eq!(encode_command(&cmd).unwrap(), r#"SAY NUMBER 42 """#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCommand {
    command: String,
    args: Vec<String>,
}

impl RawCommand {
    /// A command whose words (`"SAY NUMBER"`) are sent as they are.
    pub fn new(command: impl Into<String>) -> RawCommand {
        RawCommand {
            command: command.into(),
            args: Vec::new(),
        }
    }
    /// Adds an argument (quoted and escaped as needed).
    pub fn arg(mut self, arg: impl Into<String>) -> RawCommand {
        self.args.push(arg.into());
        self
    }
}

impl AgiCommand for RawCommand {
    type Output = Response;
    const NAME: &'static str = "RAW";
    fn encode(&self, line: &mut CommandLine) {
        line.word(&self.command);
        for a in &self.args {
            line.arg(a);
        }
    }
    fn parse(&self, response: &Response) -> Result<Response, AgiError> {
        Ok(response.clone())
    }
}

/// `result=` as an integer, or a malformed-reply error.
pub(crate) fn int(response: &Response) -> Result<i64, AgiError> {
    response
        .result_int()
        .ok_or_else(|| AgiError::MalformedReply {
            reason: "result is not a number",
            line: response.line().to_owned(),
        })
}

/// The application error for `response`.
pub(crate) fn app_error(command: &'static str, response: &Response) -> AgiError {
    AgiError::AppError {
        command,
        result: response.result().to_owned(),
        data: response.data().map(str::to_owned),
        endpos: response.endpos(),
    }
}

/// The result, failing with [`AgiError::AppError`] when it is negative.
pub(crate) fn non_negative(command: &'static str, response: &Response) -> Result<i64, AgiError> {
    let n = int(response)?;
    if n < 0 {
        return Err(app_error(command, response));
    }
    Ok(n)
}

/// `()` when the result is 1, [`AgiError::AppError`] otherwise.
pub(crate) fn expect_one(command: &'static str, response: &Response) -> Result<(), AgiError> {
    if int(response)? == 1 {
        Ok(())
    } else {
        Err(app_error(command, response))
    }
}

/// `()` when the result is not negative.
pub(crate) fn expect_ok(command: &'static str, response: &Response) -> Result<(), AgiError> {
    non_negative(command, response).map(|_| ())
}

/// A DTMF result: 0 is none, otherwise the character's code.
pub(crate) fn digit(command: &'static str, response: &Response) -> Result<Option<char>, AgiError> {
    let n = non_negative(command, response)?;
    if n == 0 {
        return Ok(None);
    }
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .map(Some)
        .ok_or_else(|| AgiError::MalformedReply {
            reason: "result is not a character code",
            line: response.line().to_owned(),
        })
}

/// `1` → `Some(data)`, `0` → `None`, anything else → application error.
pub(crate) fn optional_data(
    command: &'static str,
    response: &Response,
) -> Result<Option<String>, AgiError> {
    match int(response)? {
        1 => Ok(Some(response.data().unwrap_or_default().to_owned())),
        0 => Ok(None),
        _ => Err(app_error(command, response)),
    }
}
