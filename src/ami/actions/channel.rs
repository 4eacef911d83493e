//! Channel actions: Getvar, Setvar, Originate, Hangup, Status.

use std::time::Duration;

use crate::ami::{Action, AmiError, Message, Response};

/// `Getvar`: reads a channel variable, a global variable, or a function
/// such as `CALLERID(num)`. The output is the value; an unset variable
/// reads as an empty string (Asterisk does not tell the two apart).
#[derive(Clone, Debug)]
pub struct Getvar {
    variable: String,
    channel: Option<String>,
}

impl Getvar {
    /// Reads `variable` (a global unless [`Getvar::channel`] is given).
    pub fn new(variable: impl Into<String>) -> Self {
        Getvar {
            variable: variable.into(),
            channel: None,
        }
    }
    /// Reads it on this channel.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }
}

impl Action for Getvar {
    type Output = String;
    fn name(&self) -> &str {
        "Getvar"
    }
    fn write_headers(&self, h: &mut Message) {
        if let Some(c) = &self.channel {
            h.push("Channel", c);
        }
        h.push("Variable", &self.variable);
    }
    fn parse_response(&self, r: Response) -> Result<String, AmiError> {
        Ok(r.get("Value").unwrap_or_default().to_owned())
    }
}

/// `Setvar`: sets a channel or global variable (or a writable function).
#[derive(Clone, Debug)]
pub struct Setvar {
    variable: String,
    value: String,
    channel: Option<String>,
}

impl Setvar {
    /// Sets `variable` to `value` (globally unless [`Setvar::channel`]).
    pub fn new(variable: impl Into<String>, value: impl Into<String>) -> Self {
        Setvar {
            variable: variable.into(),
            value: value.into(),
            channel: None,
        }
    }
    /// Sets it on this channel.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }
}

impl Action for Setvar {
    type Output = ();
    fn name(&self) -> &str {
        "Setvar"
    }
    fn write_headers(&self, h: &mut Message) {
        if let Some(c) = &self.channel {
            h.push("Channel", c);
        }
        h.push("Variable", &self.variable);
        h.push("Value", &self.value);
    }
    fn parse_response(&self, _: Response) -> Result<(), AmiError> {
        Ok(())
    }
}

/// `Originate`: places a call from `channel` to an extension or an
/// application.
///
/// Variables go as one `Variable:` header each (Asterisk splits a single
/// header at commas). With [`Originate::async_`] the response comes at
/// once and an `OriginateResponse` event with the same ActionID tells the
/// outcome.
///
/// ```
/// use astrix::ami::actions::Originate;
/// use std::time::Duration;
///
/// let o = Originate::to_extension("Local/100@test", "test", "200", 1)
///     .caller_id("Astrix <5551234>")
///     .variable("ASTRIX_TAG", "hello, world")
///     .timeout(Duration::from_secs(30))
///     .async_(true);
/// # let _ = o;
/// ```
#[derive(Clone, Debug)]
pub struct Originate {
    channel: String,
    target: Target,
    timeout: Option<Duration>,
    caller_id: Option<String>,
    variables: Vec<(String, String)>,
    account: Option<String>,
    async_: bool,
    early_media: bool,
    codecs: Option<String>,
    channel_id: Option<String>,
    other_channel_id: Option<String>,
}

#[derive(Clone, Debug)]
enum Target {
    Extension {
        context: String,
        exten: String,
        priority: u32,
    },
    Application {
        application: String,
        data: Option<String>,
    },
}

impl Originate {
    fn new(channel: String, target: Target) -> Self {
        Originate {
            channel,
            target,
            timeout: None,
            caller_id: None,
            variables: Vec::new(),
            account: None,
            async_: false,
            early_media: false,
            codecs: None,
            channel_id: None,
            other_channel_id: None,
        }
    }

    /// Calls `channel`; once answered, it goes to `context`,`exten`,`priority`.
    pub fn to_extension(
        channel: impl Into<String>,
        context: impl Into<String>,
        exten: impl Into<String>,
        priority: u32,
    ) -> Self {
        Self::new(
            channel.into(),
            Target::Extension {
                context: context.into(),
                exten: exten.into(),
                priority,
            },
        )
    }

    /// Calls `channel`; once answered, it runs `application`.
    pub fn to_application(channel: impl Into<String>, application: impl Into<String>) -> Self {
        Self::new(
            channel.into(),
            Target::Application {
                application: application.into(),
                data: None,
            },
        )
    }

    /// The application's arguments (`Data`); ignored for an extension target.
    pub fn data(mut self, data: impl Into<String>) -> Self {
        if let Target::Application { data: d, .. } = &mut self.target {
            *d = Some(data.into());
        }
        self
    }

    /// How long to wait for an answer (`Timeout`, sent in milliseconds).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The caller ID, as `"Name" <number>` or a number.
    pub fn caller_id(mut self, caller_id: impl Into<String>) -> Self {
        self.caller_id = Some(caller_id.into());
        self
    }

    /// Sets a channel variable on the new channel (one `Variable:` header).
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }

    /// The CDR account code (`Account`).
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// Answer at once and report the outcome in an `OriginateResponse`
    /// event (`Async: true`).
    pub fn async_(mut self, yes: bool) -> Self {
        self.async_ = yes;
        self
    }

    /// Connect on early media (`EarlyMedia: true`).
    pub fn early_media(mut self, yes: bool) -> Self {
        self.early_media = yes;
        self
    }

    /// Codecs to offer (`Codecs`, e.g. `ulaw,alaw`).
    pub fn codecs(mut self, codecs: impl Into<String>) -> Self {
        self.codecs = Some(codecs.into());
        self
    }

    /// The Uniqueid to give the new channel (`ChannelId`).
    pub fn channel_id(mut self, id: impl Into<String>) -> Self {
        self.channel_id = Some(id.into());
        self
    }

    /// The Uniqueid of the second half of a Local channel (`OtherChannelId`).
    pub fn other_channel_id(mut self, id: impl Into<String>) -> Self {
        self.other_channel_id = Some(id.into());
        self
    }

    /// The dial timeout given with [`Originate::timeout`].
    pub fn dial_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The channel to call.
    pub fn channel_name(&self) -> &str {
        &self.channel
    }

    /// True when sent with `Async: true`.
    pub fn is_async(&self) -> bool {
        self.async_
    }
}

impl Action for Originate {
    type Output = Response;
    fn name(&self) -> &str {
        "Originate"
    }
    fn write_headers(&self, h: &mut Message) {
        h.push("Channel", &self.channel);
        match &self.target {
            Target::Extension {
                context,
                exten,
                priority,
            } => {
                h.push("Context", context);
                h.push("Exten", exten);
                h.push("Priority", &priority.to_string());
            }
            Target::Application { application, data } => {
                h.push("Application", application);
                if let Some(d) = data {
                    h.push("Data", d);
                }
            }
        }
        if let Some(t) = self.timeout {
            h.push("Timeout", &t.as_millis().to_string());
        }
        if let Some(c) = &self.caller_id {
            h.push("CallerID", c);
        }
        for (n, v) in &self.variables {
            h.push("Variable", &format!("{n}={v}"));
        }
        if let Some(a) = &self.account {
            h.push("Account", a);
        }
        if self.async_ {
            h.push("Async", "true");
        }
        if self.early_media {
            h.push("EarlyMedia", "true");
        }
        if let Some(c) = &self.codecs {
            h.push("Codecs", c);
        }
        if let Some(c) = &self.channel_id {
            h.push("ChannelId", c);
        }
        if let Some(c) = &self.other_channel_id {
            h.push("OtherChannelId", c);
        }
    }
    fn parse_response(&self, r: Response) -> Result<Response, AmiError> {
        Ok(r)
    }
}

/// `Hangup`: hangs up a channel, or every channel matching `/regex/` (then
/// the reply is a list of `ChannelHungup` events).
#[derive(Clone, Debug)]
pub struct Hangup {
    channel: String,
    cause: Option<u32>,
}

impl Hangup {
    /// Hangs up `channel` (a name, or `/regex/`).
    pub fn new(channel: impl Into<String>) -> Self {
        Hangup {
            channel: channel.into(),
            cause: None,
        }
    }
    /// The Q.850 cause to give (`Cause`).
    pub fn cause(mut self, cause: u32) -> Self {
        self.cause = Some(cause);
        self
    }
}

impl Action for Hangup {
    type Output = Response;
    fn name(&self) -> &str {
        "Hangup"
    }
    fn write_headers(&self, h: &mut Message) {
        h.push("Channel", &self.channel);
        if let Some(c) = self.cause {
            h.push("Cause", &c.to_string());
        }
    }
    fn parse_response(&self, r: Response) -> Result<Response, AmiError> {
        Ok(r)
    }
}

/// `Status`: the status of one channel or of all, as an EventList of
/// `Status` events (in [`Response::events`]).
#[derive(Clone, Debug, Default)]
pub struct Status {
    channel: Option<String>,
    variables: Option<String>,
    all_variables: bool,
}

impl Status {
    /// The status of every channel.
    pub fn all() -> Self {
        Self::default()
    }
    /// The status of one channel.
    pub fn channel(channel: impl Into<String>) -> Self {
        Status {
            channel: Some(channel.into()),
            ..Self::default()
        }
    }
    /// Comma-separated variables to include in each `Status` event.
    pub fn variables(mut self, names: impl Into<String>) -> Self {
        self.variables = Some(names.into());
        self
    }
    /// Include every channel variable (`AllVariables: true`).
    pub fn all_variables(mut self, yes: bool) -> Self {
        self.all_variables = yes;
        self
    }
}

impl Action for Status {
    type Output = Response;
    fn name(&self) -> &str {
        "Status"
    }
    fn write_headers(&self, h: &mut Message) {
        if let Some(c) = &self.channel {
            h.push("Channel", c);
        }
        if let Some(v) = &self.variables {
            h.push("Variables", v);
        }
        if self.all_variables {
            h.push("AllVariables", "true");
        }
    }
    fn expects_list(&self) -> bool {
        true
    }
    fn parse_response(&self, r: Response) -> Result<Response, AmiError> {
        Ok(r)
    }
}
