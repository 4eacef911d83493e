//! Speech recognition: the eight SPEECH commands.

use crate::agi::protocol::command::{app_error, expect_one, int, AgiCommand};
use crate::agi::{AgiError, CommandLine, Response};

/// `SPEECH CREATE engine`: creates the session's speech object;
/// `result=0` is an [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechCreate {
    engine: String,
}

impl SpeechCreate {
    /// Uses the speech engine `engine`.
    pub fn new(engine: impl Into<String>) -> Self {
        SpeechCreate {
            engine: engine.into(),
        }
    }
}

impl AgiCommand for SpeechCreate {
    type Output = ();
    const NAME: &'static str = "SPEECH CREATE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SPEECH CREATE").arg(&self.engine);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_one(Self::NAME, r)
    }
}

/// `SPEECH SET name value`: sets an engine setting; `result=0` is an
/// [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechSet {
    name: String,
    value: String,
}

impl SpeechSet {
    /// Sets `name` to `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        SpeechSet {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl AgiCommand for SpeechSet {
    type Output = ();
    const NAME: &'static str = "SPEECH SET";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SPEECH SET").arg(&self.name).arg(&self.value);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_one(Self::NAME, r)
    }
}

/// `SPEECH DESTROY`: destroys the speech object; `result=0` is an
/// [`AgiError::AppError`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpeechDestroy;

impl AgiCommand for SpeechDestroy {
    type Output = ();
    const NAME: &'static str = "SPEECH DESTROY";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SPEECH DESTROY");
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_one(Self::NAME, r)
    }
}

/// `SPEECH LOAD GRAMMAR name path`: loads a grammar; `result=0` is an
/// [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechLoadGrammar {
    name: String,
    path: String,
}

impl SpeechLoadGrammar {
    /// Loads the grammar at `path` as `name`.
    pub fn new(name: impl Into<String>, path: impl Into<String>) -> Self {
        SpeechLoadGrammar {
            name: name.into(),
            path: path.into(),
        }
    }
}

impl AgiCommand for SpeechLoadGrammar {
    type Output = ();
    const NAME: &'static str = "SPEECH LOAD GRAMMAR";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SPEECH LOAD GRAMMAR")
            .arg(&self.name)
            .arg(&self.path);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_one(Self::NAME, r)
    }
}

macro_rules! grammar_cmd {
    ($(#[$doc:meta])* $name:ident, $wire:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            grammar: String,
        }

        impl $name {
            /// The command for the grammar `grammar`.
            pub fn new(grammar: impl Into<String>) -> Self {
                $name {
                    grammar: grammar.into(),
                }
            }
        }

        impl AgiCommand for $name {
            type Output = ();
            const NAME: &'static str = $wire;
            fn encode(&self, line: &mut CommandLine) {
                line.word($wire).arg(&self.grammar);
            }
            fn parse(&self, r: &Response) -> Result<(), AgiError> {
                expect_one(Self::NAME, r)
            }
        }
    };
}

grammar_cmd!(
    /// `SPEECH UNLOAD GRAMMAR name`; `result=0` is an [`AgiError::AppError`].
    SpeechUnloadGrammar,
    "SPEECH UNLOAD GRAMMAR"
);
grammar_cmd!(
    /// `SPEECH ACTIVATE GRAMMAR name`; `result=0` is an [`AgiError::AppError`].
    SpeechActivateGrammar,
    "SPEECH ACTIVATE GRAMMAR"
);
grammar_cmd!(
    /// `SPEECH DEACTIVATE GRAMMAR name`; `result=0` is an
    /// [`AgiError::AppError`].
    SpeechDeactivateGrammar,
    "SPEECH DEACTIVATE GRAMMAR"
);

/// One recognition result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechResult {
    /// The engine's confidence score.
    pub score: i64,
    /// The recognised text.
    pub text: String,
    /// The grammar that matched.
    pub grammar: String,
}

/// How `SPEECH RECOGNIZE` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recognition {
    /// Speech was recognised.
    Speech {
        /// The results, best first as the engine gives them.
        results: Vec<SpeechResult>,
        /// Offset in the prompt when it stopped.
        endpos: i64,
    },
    /// A DTMF digit was pressed.
    Digit {
        /// The digit.
        digit: char,
        /// Offset in the prompt when it stopped.
        endpos: i64,
    },
    /// Nothing was recognised in time.
    Timeout {
        /// Offset in the prompt when it stopped.
        endpos: i64,
    },
    /// The channel hung up.
    Hangup {
        /// Offset in the prompt when it stopped.
        endpos: i64,
    },
}

/// `SPEECH RECOGNIZE prompt timeout [offset]`: plays a prompt and listens.
/// `result=0` (no speech object, prompt failed) is an [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechRecognize {
    prompt: String,
    timeout_ms: i64,
    offset: Option<i64>,
}

impl SpeechRecognize {
    /// Plays `prompt` and listens for up to `timeout_ms`.
    pub fn new(prompt: impl Into<String>, timeout_ms: i64) -> Self {
        SpeechRecognize {
            prompt: prompt.into(),
            timeout_ms,
            offset: None,
        }
    }
    /// Starts the prompt at this offset in samples.
    pub fn offset(mut self, samples: i64) -> Self {
        self.offset = Some(samples);
        self
    }
}

impl AgiCommand for SpeechRecognize {
    type Output = Recognition;
    const NAME: &'static str = "SPEECH RECOGNIZE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SPEECH RECOGNIZE")
            .arg(&self.prompt)
            .num(self.timeout_ms);
        if let Some(o) = self.offset {
            line.num(o);
        }
    }
    fn parse(&self, r: &Response) -> Result<Recognition, AgiError> {
        if int(r)? != 1 {
            return Err(app_error(Self::NAME, r));
        }
        let endpos = r.endpos().unwrap_or(0);
        let malformed = |reason| AgiError::MalformedReply {
            reason,
            line: r.line().to_owned(),
        };
        match r.data() {
            Some("speech") => {
                let n: usize = r
                    .field("results")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| malformed("speech reply without results="))?;
                let mut results = Vec::with_capacity(n.min(64));
                for i in 0..n {
                    let score = r
                        .field(&format!("score{i}"))
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| malformed("speech result without score"))?;
                    let text = r.field(&format!("text{i}")).unwrap_or_default().to_owned();
                    let grammar = r
                        .field(&format!("grammar{i}"))
                        .unwrap_or_default()
                        .to_owned();
                    results.push(SpeechResult {
                        score,
                        text,
                        grammar,
                    });
                }
                Ok(Recognition::Speech { results, endpos })
            }
            Some("digit") => {
                let digit = r
                    .field("digit")
                    .and_then(|d| d.chars().next())
                    .ok_or_else(|| malformed("digit reply without digit="))?;
                Ok(Recognition::Digit { digit, endpos })
            }
            Some("timeout") => Ok(Recognition::Timeout { endpos }),
            Some("hangup") => Ok(Recognition::Hangup { endpos }),
            _ => Err(malformed("unknown SPEECH RECOGNIZE outcome")),
        }
    }
}
