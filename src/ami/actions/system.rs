//! Session and system actions: Login, Logoff, Challenge, Ping, Command,
//! CoreShowChannels, CoreStatus, CoreSettings, Events, UserEvent.

use super::unexpected;
use crate::ami::events::{CoreShowChannel, Event};
use crate::ami::{Action, AmiError, Message, Response};
use crate::Secret;

/// `Login` with a plain secret, or with an MD5 key after a [`Challenge`].
/// [`crate::ami::Manager::login`] builds and sends it for you.
#[derive(Clone, Debug)]
pub struct Login {
    username: String,
    auth: LoginAuth,
    events: Option<String>,
}

#[derive(Clone, Debug)]
enum LoginAuth {
    Plain(Secret),
    /// The key is as good as the secret for this challenge: redacted too.
    Md5Key(Secret),
}

impl Login {
    /// A plain login: the secret goes over the wire as is.
    pub fn plain(username: impl Into<String>, secret: Secret) -> Self {
        Login {
            username: username.into(),
            auth: LoginAuth::Plain(secret),
            events: None,
        }
    }

    /// An MD5 login: `key` is the lower-case hex `md5(challenge + secret)`.
    pub fn md5(username: impl Into<String>, key: impl Into<String>) -> Self {
        Login {
            username: username.into(),
            auth: LoginAuth::Md5Key(Secret::new(key)),
            events: None,
        }
    }

    /// The `Events:` mask to start with (`on`, `off`, `system,call`, …).
    pub fn events(mut self, mask: impl Into<String>) -> Self {
        self.events = Some(mask.into());
        self
    }
}

impl Action for Login {
    type Output = ();
    fn name(&self) -> &str {
        "Login"
    }
    fn write_headers(&self, h: &mut Message) {
        match &self.auth {
            LoginAuth::Plain(s) => {
                h.push("Username", &self.username);
                h.push("Secret", s.expose());
            }
            LoginAuth::Md5Key(k) => {
                h.push("AuthType", "MD5");
                h.push("Username", &self.username);
                h.push("Key", k.expose());
            }
        }
        if let Some(e) = &self.events {
            h.push("Events", e);
        }
    }
    fn parse_response(&self, _: Response) -> Result<(), AmiError> {
        Ok(())
    }
}

/// `Logoff`: ends the session; Asterisk answers `Goodbye` and closes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Logoff;

impl Action for Logoff {
    type Output = ();
    fn name(&self) -> &str {
        "Logoff"
    }
    fn write_headers(&self, _: &mut Message) {}
    fn parse_response(&self, _: Response) -> Result<(), AmiError> {
        Ok(())
    }
}

/// `Challenge` with `AuthType: MD5`; the output is the challenge string.
#[derive(Clone, Copy, Debug, Default)]
pub struct Challenge;

impl Action for Challenge {
    type Output = String;
    fn name(&self) -> &str {
        "Challenge"
    }
    fn write_headers(&self, h: &mut Message) {
        h.push("AuthType", "MD5");
    }
    fn parse_response(&self, r: Response) -> Result<String, AmiError> {
        match r.get("Challenge") {
            Some(c) => Ok(c.to_owned()),
            None => Err(unexpected("Challenge", "no Challenge header", r)),
        }
    }
}

/// `Ping`: a keepalive; answered `Ping: Pong`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ping;

/// The reply to [`Ping`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Pong {
    /// The server's clock, seconds since the epoch (`Timestamp`), when sent.
    pub timestamp: Option<f64>,
}

impl Action for Ping {
    type Output = Pong;
    fn name(&self) -> &str {
        "Ping"
    }
    fn write_headers(&self, _: &mut Message) {}
    fn parse_response(&self, r: Response) -> Result<Pong, AmiError> {
        Ok(Pong {
            timestamp: r.get("Timestamp").and_then(|t| t.trim().parse().ok()),
        })
    }
}

/// `Command`: runs a CLI command. Both output formats are read (`Output:`
/// lines since Asterisk 14, `Response: Follows` before).
///
/// An unknown CLI command is `Response: Error` with the CLI's text in
/// `Output:` lines: [`AmiError::ActionFailed`] keeps them.
#[derive(Clone, Debug)]
pub struct Command {
    command: String,
}

impl Command {
    /// The CLI command line, e.g. `core show channels`.
    pub fn new(command: impl Into<String>) -> Self {
        Command {
            command: command.into(),
        }
    }
}

/// The output of a [`Command`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CommandOutput {
    /// The output lines, empty lines included.
    pub lines: Vec<String>,
    /// The whole reply.
    pub response: Response,
}

impl Action for Command {
    type Output = CommandOutput;
    fn name(&self) -> &str {
        "Command"
    }
    fn write_headers(&self, h: &mut Message) {
        h.push("Command", &self.command);
    }
    fn parse_response(&self, r: Response) -> Result<CommandOutput, AmiError> {
        Ok(CommandOutput {
            lines: r.output().into_iter().map(str::to_owned).collect(),
            response: r,
        })
    }
}

/// `CoreShowChannels`: every active channel, as an EventList.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreShowChannels;

impl Action for CoreShowChannels {
    type Output = Vec<CoreShowChannel>;
    fn name(&self) -> &str {
        "CoreShowChannels"
    }
    fn write_headers(&self, _: &mut Message) {}
    fn expects_list(&self) -> bool {
        true
    }
    fn parse_response(&self, r: Response) -> Result<Vec<CoreShowChannel>, AmiError> {
        let parsed: Result<Vec<_>, _> =
            r.events.iter().map(CoreShowChannel::from_message).collect();
        parsed.map_err(|e| unexpected("CoreShowChannels", e.to_string(), r))
    }
}

/// `CoreStatus`: uptime and call counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreStatus;

/// The reply to [`CoreStatus`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CoreStatusOutput {
    /// `CoreStartupDate` (`YYYY-MM-DD`).
    pub startup_date: Option<String>,
    /// `CoreStartupTime` (`HH:MM:SS`).
    pub startup_time: Option<String>,
    /// `CoreReloadDate`.
    pub reload_date: Option<String>,
    /// `CoreReloadTime`.
    pub reload_time: Option<String>,
    /// `CoreCurrentCalls`.
    pub current_calls: Option<u64>,
    /// `CoreProcessedCalls`.
    pub processed_calls: Option<u64>,
}

impl Action for CoreStatus {
    type Output = CoreStatusOutput;
    fn name(&self) -> &str {
        "CoreStatus"
    }
    fn write_headers(&self, _: &mut Message) {}
    fn parse_response(&self, r: Response) -> Result<CoreStatusOutput, AmiError> {
        let s = |n: &str| r.get(n).map(str::to_owned);
        let n = |h: &str| r.get(h).and_then(|v| v.trim().parse().ok());
        Ok(CoreStatusOutput {
            startup_date: s("CoreStartupDate"),
            startup_time: s("CoreStartupTime"),
            reload_date: s("CoreReloadDate"),
            reload_time: s("CoreReloadTime"),
            current_calls: n("CoreCurrentCalls"),
            processed_calls: n("CoreProcessedCalls"),
        })
    }
}

/// `CoreSettings`: versions and core limits.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreSettings;

/// The reply to [`CoreSettings`]; every other header stays in `response`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CoreSettingsOutput {
    /// `AMIversion`, e.g. `11.0.0`.
    pub ami_version: Option<String>,
    /// `AsteriskVersion`, e.g. `22.10.1`.
    pub asterisk_version: Option<String>,
    /// `SystemName`.
    pub system_name: Option<String>,
    /// `CoreMaxCalls` (0: unlimited).
    pub max_calls: Option<u64>,
    /// The whole reply.
    pub response: Response,
}

impl Action for CoreSettings {
    type Output = CoreSettingsOutput;
    fn name(&self) -> &str {
        "CoreSettings"
    }
    fn write_headers(&self, _: &mut Message) {}
    fn parse_response(&self, r: Response) -> Result<CoreSettingsOutput, AmiError> {
        Ok(CoreSettingsOutput {
            ami_version: r.get("AMIversion").map(str::to_owned),
            asterisk_version: r.get("AsteriskVersion").map(str::to_owned),
            system_name: r.get("SystemName").map(str::to_owned),
            max_calls: r.get("CoreMaxCalls").and_then(|v| v.trim().parse().ok()),
            response: r,
        })
    }
}

/// `Events`: which event classes this connection receives (`on`, `off`, or
/// a list such as `system,call`).
#[derive(Clone, Debug)]
pub struct Events {
    mask: String,
}

impl Events {
    /// Receive the classes in `mask`.
    pub fn new(mask: impl Into<String>) -> Self {
        Events { mask: mask.into() }
    }
    /// Receive every event.
    pub fn on() -> Self {
        Self::new("on")
    }
    /// Receive no events.
    pub fn off() -> Self {
        Self::new("off")
    }
}

impl Action for Events {
    type Output = Response;
    fn name(&self) -> &str {
        "Events"
    }
    fn write_headers(&self, h: &mut Message) {
        h.push("EventMask", &self.mask);
    }
    fn parse_response(&self, r: Response) -> Result<Response, AmiError> {
        Ok(r)
    }
}

/// `UserEvent`: raises a `UserEvent` event on every AMI connection.
#[derive(Clone, Debug)]
pub struct UserEvent {
    name: String,
    headers: Message,
}

impl UserEvent {
    /// A user event called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        UserEvent {
            name: name.into(),
            headers: Message::new(),
        }
    }
    /// Adds a header to the event.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(name, value);
        self
    }
}

impl Action for UserEvent {
    type Output = ();
    fn name(&self) -> &str {
        "UserEvent"
    }
    fn write_headers(&self, h: &mut Message) {
        h.push("UserEvent", &self.name);
        for (n, v) in self.headers.iter() {
            h.push(n, v);
        }
    }
    fn parse_response(&self, _: Response) -> Result<(), AmiError> {
        Ok(())
    }
}
