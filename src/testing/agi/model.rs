//! A model of one channel as `res_agi` sees it: the replies it gives to
//! each command line. Shared by the FastAGI client emulator and the AMI
//! emulator's AsyncAGI.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::args::split_agi_args;
use crate::agi::commands::ALL_COMMANDS;

/// The emulated channel.
pub(crate) struct State {
    pub(crate) vars: BTreeMap<String, String>,
    pub(crate) db: HashMap<(String, String), String>,
    pub(crate) dead: bool,
    pub(crate) hangup_pending: bool,
    /// The sound files that exist (names as the commands give them, without
    /// extension); `None`: every sound exists.
    pub(crate) sounds: Option<Arc<BTreeSet<String>>>,
}

/// Commands Asterisk allows on a dead channel.
const DEAD_OK: [&str; 11] = [
    "ASYNCAGI BREAK",
    "DATABASE DEL",
    "DATABASE DELTREE",
    "DATABASE GET",
    "DATABASE PUT",
    "EXEC",
    "GET FULL VARIABLE",
    "GET VARIABLE",
    "NOOP",
    "SET VARIABLE",
    "VERBOSE",
];

impl State {
    pub(crate) fn new(
        env_vars: &[(String, String)],
        variables: &BTreeMap<String, String>,
    ) -> State {
        let mut vars = BTreeMap::new();
        let env = |k: &str| {
            env_vars
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        for (var, key) in [
            ("CALLERID(num)", "agi_callerid"),
            ("CALLERID(name)", "agi_calleridname"),
            ("CHANNEL", "agi_channel"),
            ("UNIQUEID", "agi_uniqueid"),
        ] {
            if let Some(v) = env(key) {
                vars.insert(var.to_owned(), v);
            }
        }
        vars.extend(variables.clone());
        State {
            vars,
            db: HashMap::new(),
            dead: false,
            hangup_pending: false,
            sounds: None,
        }
    }

    fn sound_exists(&self, name: &str) -> bool {
        self.sounds.as_ref().is_none_or(|s| s.contains(name))
    }

    /// The reply `res_agi` gives to `command` when the channel hangs up
    /// while it runs: `-1` from the commands that wait on the channel
    /// (`200 result=-1`, with `endpos` for the playbacks), the usual
    /// reply from the others. The channel is dead afterwards.
    pub(crate) fn reply_hung_up(&mut self, command: &str) -> Vec<String> {
        let argv = split_agi_args(command);
        let reply = match find_command(&argv) {
            Some("STREAM FILE" | "CONTROL STREAM FILE" | "GET OPTION") => {
                one(&format!("200 result=-1 endpos={}", sample_offset(&argv)))
            }
            Some(
                "ANSWER" | "WAIT FOR DIGIT" | "GET DATA" | "RECEIVE CHAR" | "RECEIVE TEXT"
                | "RECORD FILE" | "SAY ALPHA" | "SAY DATE" | "SAY DATETIME" | "SAY DIGITS"
                | "SAY NUMBER" | "SAY PHONETIC" | "SAY TIME" | "EXEC",
            ) => one("200 result=-1"),
            _ => self.default_reply(command),
        };
        self.dead = true;
        reply
    }

    fn expand(&self, expr: &str) -> String {
        let mut out = String::new();
        let mut rest = expr;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            match after.find('}') {
                Some(j) => {
                    out.push_str(self.vars.get(&after[..j]).map(String::as_str).unwrap_or(""));
                    rest = &after[j + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The reply lines `res_agi` would send to `command`.
    pub(crate) fn default_reply(&mut self, command: &str) -> Vec<String> {
        let argv = split_agi_args(command);
        let Some(name) = find_command(&argv) else {
            return one("510 Invalid or unknown command");
        };
        if self.dead && !DEAD_OK.contains(&name) {
            return one("511 Command Not Permitted on a dead channel or intercept routine");
        }
        let arg = |i: usize| argv.get(i).map(String::as_str).unwrap_or("");
        match name {
            "ANSWER" | "ASYNCAGI BREAK" | "EXEC" | "NOOP" | "WAIT FOR DIGIT" | "SEND TEXT"
            | "SEND IMAGE" | "SET AUTOHANGUP" | "SET CONTEXT" | "SET EXTENSION"
            | "SET PRIORITY" | "SET MUSIC" => one("200 result=0"),
            "SAY ALPHA" | "SAY DATE" | "SAY DATETIME" | "SAY DIGITS" | "SAY NUMBER"
            | "SAY PHONETIC" | "SAY TIME" => one("200 result=0"),
            "CHANNEL STATUS" => one("200 result=6"),
            // res_agi: a sound that cannot be opened gets -1 and the
            // position asked for (STREAM FILE's sample offset, else 0).
            "STREAM FILE" | "CONTROL STREAM FILE" | "GET OPTION" if !self.sound_exists(arg(2)) => {
                one(&format!("200 result=-1 endpos={}", sample_offset(&argv)))
            }
            "STREAM FILE" | "CONTROL STREAM FILE" | "GET OPTION" => {
                one("200 result=0 endpos=12345")
            }
            "GET DATA" if !self.sound_exists(arg(2)) => one("200 result=-1"),
            "GET DATA" => one("200 result=1234"),
            "RECEIVE CHAR" => one("200 result=0 (timeout)"),
            "RECEIVE TEXT" => one("200 result=1 (hello)"),
            "RECORD FILE" => one("200 result=0 (timeout) endpos=8000"),
            "SET CALLERID" | "TDD MODE" | "VERBOSE" => one("200 result=1"),
            "HANGUP" => {
                if argv.len() == 1 {
                    self.dead = true;
                    self.hangup_pending = true;
                }
                one("200 result=1")
            }
            "GOSUB" => vec![
                "100 result=0 Trying...".to_owned(),
                "200 result=0 Gosub complete".to_owned(),
            ],
            "GET VARIABLE" => {
                if argv.len() != 3 {
                    return usage_block();
                }
                match self.vars.get(arg(2)) {
                    Some(v) => one(&format!("200 result=1 ({v})")),
                    None => one("200 result=0"),
                }
            }
            "GET FULL VARIABLE" => {
                if argv.len() < 4 {
                    return usage_block();
                }
                one(&format!("200 result=1 ({})", self.expand(arg(3))))
            }
            "SET VARIABLE" => {
                if argv.len() != 4 {
                    return usage_block();
                }
                self.vars.insert(arg(2).to_owned(), arg(3).to_owned());
                one("200 result=1")
            }
            "DATABASE GET" => {
                if argv.len() != 4 {
                    return usage_block();
                }
                match self.db.get(&(arg(2).to_owned(), arg(3).to_owned())) {
                    Some(v) => one(&format!("200 result=1 ({v})")),
                    None => one("200 result=0"),
                }
            }
            "DATABASE PUT" => {
                if argv.len() != 5 {
                    return usage_block();
                }
                self.db
                    .insert((arg(2).to_owned(), arg(3).to_owned()), arg(4).to_owned());
                one("200 result=1")
            }
            "DATABASE DEL" => {
                if argv.len() != 4 {
                    return usage_block();
                }
                match self.db.remove(&(arg(2).to_owned(), arg(3).to_owned())) {
                    Some(_) => one("200 result=1"),
                    None => one("200 result=0"),
                }
            }
            "DATABASE DELTREE" => {
                let family = arg(2).to_owned();
                let before = self.db.len();
                self.db.retain(|(f, _), _| f != &family);
                // Asterisk 22 answers 0 when it deleted something.
                one(if self.db.len() < before {
                    "200 result=0"
                } else {
                    "200 result=1"
                })
            }
            "SPEECH RECOGNIZE" => one(
                "200 result=1 (speech) endpos=0 results=1 score0=1000 text0=\"hello world\" grammar0=digits",
            ),
            _ if name.starts_with("SPEECH") => one("200 result=1"),
            _ => one("510 Invalid or unknown command"),
        }
    }
}

/// The longest command name `argv` starts with (case ignored).
fn find_command(argv: &[String]) -> Option<&'static str> {
    let upper: Vec<String> = argv.iter().map(|a| a.to_ascii_uppercase()).collect();
    ALL_COMMANDS
        .iter()
        .filter(|name| {
            let words: Vec<&str> = name.split(' ').collect();
            words.len() <= upper.len() && words.iter().zip(&upper).all(|(w, u)| w == u)
        })
        .max_by_key(|name| name.len())
        .copied()
}

/// `STREAM FILE`'s sample offset (its fifth word), 0 for the others.
fn sample_offset(argv: &[String]) -> i64 {
    match find_command(argv) {
        Some("STREAM FILE") => argv.get(4).and_then(|o| o.parse().ok()).unwrap_or(0),
        _ => 0,
    }
}

fn one(line: &str) -> Vec<String> {
    vec![line.to_owned()]
}

pub(crate) fn usage_block() -> Vec<String> {
    vec![
        "520-Invalid command syntax.  Proper usage follows:".to_owned(),
        "Usage: see the command's documentation.".to_owned(),
        "Returns <literal>0</literal> on failure.".to_owned(),
        "520 End of proper usage.".to_owned(),
    ]
}
