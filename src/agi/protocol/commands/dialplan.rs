//! Dialplan control: EXEC, GOSUB, SET CONTEXT/EXTENSION/PRIORITY,
//! SET AUTOHANGUP, SET CALLERID, SET MUSIC.

use crate::agi::protocol::command::{app_error, int, AgiCommand};
use crate::agi::{AgiError, CommandLine, Response};

/// `EXEC application options`: runs a dialplan application and returns
/// what it returned (`-1` usually means the channel hung up during it).
/// `result=-2` (no such application) is an [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    application: String,
    options: Option<String>,
}

impl Exec {
    /// Runs `application` with no options.
    pub fn new(application: impl Into<String>) -> Self {
        Exec {
            application: application.into(),
            options: None,
        }
    }
    /// Sets the options string as the dialplan would write it (`a,b,c`).
    pub fn options(mut self, options: impl Into<String>) -> Self {
        self.options = Some(options.into());
        self
    }
    /// Sets the options from a list, joined with `,`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = args.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.options = Some(joined.join(","));
        self
    }
}

impl AgiCommand for Exec {
    type Output = i64;
    const NAME: &'static str = "EXEC";
    fn encode(&self, line: &mut CommandLine) {
        line.word("EXEC")
            .arg(&self.application)
            .opt_arg(self.options.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<i64, AgiError> {
        match int(r)? {
            -2 => Err(app_error(Self::NAME, r)),
            n => Ok(n),
        }
    }
}

/// `GOSUB context extension priority [args]`: runs a dialplan subroutine
/// and returns when it does. `result=-1` (label not found) or another
/// failure is an [`AgiError::AppError`]. Asterisk sends
/// `100 result=0 Trying...` first; the session skips it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gosub {
    context: String,
    extension: String,
    priority: String,
    args: Option<String>,
}

impl Gosub {
    /// Calls `context,extension,priority` (priority may be a label).
    pub fn new(
        context: impl Into<String>,
        extension: impl Into<String>,
        priority: impl Into<String>,
    ) -> Self {
        Gosub {
            context: context.into(),
            extension: extension.into(),
            priority: priority.into(),
            args: None,
        }
    }
    /// Passes arguments (`ARG1`, `ARG2`, …), joined with `,`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = args.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.args = Some(joined.join(","));
        self
    }
}

impl AgiCommand for Gosub {
    type Output = ();
    const NAME: &'static str = "GOSUB";
    fn encode(&self, line: &mut CommandLine) {
        line.word("GOSUB")
            .arg(&self.context)
            .arg(&self.extension)
            .arg(&self.priority)
            .opt_arg(self.args.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        match int(r)? {
            0 => Ok(()),
            _ => Err(app_error(Self::NAME, r)),
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident, $wire:literal, $field:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $field: String,
        }

        impl $name {
            /// The command with its one argument.
            pub fn new($field: impl Into<String>) -> Self {
                $name { $field: $field.into() }
            }
        }

        impl AgiCommand for $name {
            type Output = ();
            const NAME: &'static str = $wire;
            fn encode(&self, line: &mut CommandLine) {
                line.word($wire).arg(&self.$field);
            }
            fn parse(&self, r: &Response) -> Result<(), AgiError> {
                int(r).map(|_| ())
            }
        }
    };
}

setter!(
    /// `SET CONTEXT context`: where the dialplan continues after the script.
    SetContext,
    "SET CONTEXT",
    context
);
setter!(
    /// `SET EXTENSION extension`: where the dialplan continues after the script.
    SetExtension,
    "SET EXTENSION",
    extension
);
setter!(
    /// `SET PRIORITY priority`: a number or a label; an unknown label is a
    /// usage error (520).
    SetPriority,
    "SET PRIORITY",
    priority
);
setter!(
    /// `SET CALLERID callerid`: e.g. `"Name" <5551234>`.
    SetCallerId,
    "SET CALLERID",
    caller_id
);

/// `SET AUTOHANGUP seconds`: hangs the channel up after `seconds`
/// (0 cancels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SetAutoHangup {
    seconds: f64,
}

impl SetAutoHangup {
    /// Hang up after `seconds` (fractions allowed; 0 cancels).
    pub fn new(seconds: f64) -> Self {
        SetAutoHangup { seconds }
    }
}

impl AgiCommand for SetAutoHangup {
    type Output = ();
    const NAME: &'static str = "SET AUTOHANGUP";
    fn encode(&self, line: &mut CommandLine) {
        let secs = if self.seconds.is_finite() && self.seconds > 0.0 {
            self.seconds
        } else {
            0.0
        };
        line.word("SET AUTOHANGUP").num(secs);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        int(r).map(|_| ())
    }
}

/// `SET MUSIC on|off [class]`: starts or stops music on hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetMusic {
    on: bool,
    class: Option<String>,
}

impl SetMusic {
    /// Music on hold on (`true`) or off.
    pub fn new(on: bool) -> Self {
        SetMusic { on, class: None }
    }
    /// Uses a music class other than the default.
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }
}

impl AgiCommand for SetMusic {
    type Output = ();
    const NAME: &'static str = "SET MUSIC";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SET MUSIC")
            .word(if self.on { "on" } else { "off" })
            .opt_arg(self.class.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        int(r).map(|_| ())
    }
}
