//! Channel variables: GET VARIABLE, GET FULL VARIABLE, SET VARIABLE.

use crate::agi::protocol::command::{int, optional_data, AgiCommand};
use crate::agi::{AgiError, CommandLine, Response};

/// `GET VARIABLE name`: the variable's value, or `None` when it is not set.
/// Functions work too (`CALLERID(num)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetVariable {
    name: String,
}

impl GetVariable {
    /// Reads the variable or function `name`.
    pub fn new(name: impl Into<String>) -> Self {
        GetVariable { name: name.into() }
    }
}

impl AgiCommand for GetVariable {
    type Output = Option<String>;
    const NAME: &'static str = "GET VARIABLE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("GET VARIABLE").arg(&self.name);
    }
    fn parse(&self, r: &Response) -> Result<Option<String>, AgiError> {
        optional_data(Self::NAME, r)
    }
}

/// `GET FULL VARIABLE expression [channel]`: evaluates an expression such
/// as `${CALLERID(num)} / ${FOO}`; `None` when the channel is not found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFullVariable {
    expression: String,
    channel: Option<String>,
}

impl GetFullVariable {
    /// Evaluates `expression` on the current channel.
    pub fn new(expression: impl Into<String>) -> Self {
        GetFullVariable {
            expression: expression.into(),
            channel: None,
        }
    }
    /// Evaluates on another channel.
    pub fn channel(mut self, name: impl Into<String>) -> Self {
        self.channel = Some(name.into());
        self
    }
}

impl AgiCommand for GetFullVariable {
    type Output = Option<String>;
    const NAME: &'static str = "GET FULL VARIABLE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("GET FULL VARIABLE")
            .arg(&self.expression)
            .opt_arg(self.channel.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<Option<String>, AgiError> {
        optional_data(Self::NAME, r)
    }
}

/// `SET VARIABLE name value`: sets a channel variable (or function).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVariable {
    name: String,
    value: String,
}

impl SetVariable {
    /// Sets `name` to `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        SetVariable {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl AgiCommand for SetVariable {
    type Output = ();
    const NAME: &'static str = "SET VARIABLE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SET VARIABLE").arg(&self.name).arg(&self.value);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        int(r).map(|_| ())
    }
}
