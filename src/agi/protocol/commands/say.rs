//! SAY ALPHA, DATE, DATETIME, DIGITS, NUMBER, PHONETIC, TIME.
//!
//! Each outputs the escape digit pressed (`None` when none was);
//! `result=-1` (missing sound files, hangup) is an
//! [`AgiError::AppError`](crate::agi::AgiError::AppError).

use crate::agi::protocol::command::{digit, AgiCommand};
use crate::agi::{AgiError, CommandLine, Response};

/// Letter case handling of `SAY ALPHA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SayCase {
    /// Say "uppercase"/"lowercase" before every letter.
    All,
    /// Say it before lower-case letters.
    Lower,
    /// Say it before upper-case letters.
    Upper,
    /// Never (the default).
    None,
}

/// `SAY ALPHA text escape_digits [case]`: spells `text` out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SayAlpha {
    text: String,
    escape_digits: String,
    case: Option<SayCase>,
}

impl SayAlpha {
    /// Spells `text`.
    pub fn new(text: impl Into<String>) -> Self {
        SayAlpha {
            text: text.into(),
            escape_digits: String::new(),
            case: None,
        }
    }
    /// Digits that interrupt.
    pub fn escape_digits(mut self, digits: impl Into<String>) -> Self {
        self.escape_digits = digits.into();
        self
    }
    /// Case sensitivity.
    pub fn case(mut self, case: SayCase) -> Self {
        self.case = Some(case);
        self
    }
}

impl AgiCommand for SayAlpha {
    type Output = Option<char>;
    const NAME: &'static str = "SAY ALPHA";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SAY ALPHA")
            .arg(&self.text)
            .arg(&self.escape_digits);
        if let Some(c) = self.case {
            line.word(match c {
                SayCase::All => "a",
                SayCase::Lower => "l",
                SayCase::Upper => "u",
                SayCase::None => "n",
            });
        }
    }
    fn parse(&self, r: &Response) -> Result<Option<char>, AgiError> {
        digit(Self::NAME, r)
    }
}

macro_rules! say_simple {
    ($(#[$doc:meta])* $name:ident, $wire:literal, $field:ident : $ty:ty, $add:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $field: $ty,
            escape_digits: String,
        }

        impl $name {
            /// The command with no escape digits.
            pub fn new($field: impl Into<$ty>) -> Self {
                $name {
                    $field: $field.into(),
                    escape_digits: String::new(),
                }
            }
            /// Digits that interrupt.
            pub fn escape_digits(mut self, digits: impl Into<String>) -> Self {
                self.escape_digits = digits.into();
                self
            }
        }

        impl AgiCommand for $name {
            type Output = Option<char>;
            const NAME: &'static str = $wire;
            fn encode(&self, line: &mut CommandLine) {
                line.word($wire).$add(&self.$field).arg(&self.escape_digits);
            }
            fn parse(&self, r: &Response) -> Result<Option<char>, AgiError> {
                digit(Self::NAME, r)
            }
        }
    };
}

say_simple!(
    /// `SAY DIGITS digits escape_digits`: says a digit string digit by digit.
    SayDigits,
    "SAY DIGITS",
    digits: String,
    arg
);
say_simple!(
    /// `SAY PHONETIC text escape_digits`: spells `text` with the phonetic
    /// alphabet.
    SayPhonetic,
    "SAY PHONETIC",
    text: String,
    arg
);
say_simple!(
    /// `SAY DATE epoch escape_digits`: says the date of a Unix time.
    SayDate,
    "SAY DATE",
    epoch: i64,
    num
);
say_simple!(
    /// `SAY TIME epoch escape_digits`: says the time of day of a Unix time.
    SayTime,
    "SAY TIME",
    epoch: i64,
    num
);

/// `SAY NUMBER number escape_digits [gender]`: says a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SayNumber {
    number: i64,
    escape_digits: String,
    gender: Option<String>,
}

impl SayNumber {
    /// Says `number`.
    pub fn new(number: i64) -> Self {
        SayNumber {
            number,
            escape_digits: String::new(),
            gender: None,
        }
    }
    /// Digits that interrupt.
    pub fn escape_digits(mut self, digits: impl Into<String>) -> Self {
        self.escape_digits = digits.into();
        self
    }
    /// Grammatical gender for languages that have it (`f`, `m`, `c`, `n`).
    pub fn gender(mut self, gender: impl Into<String>) -> Self {
        self.gender = Some(gender.into());
        self
    }
}

impl AgiCommand for SayNumber {
    type Output = Option<char>;
    const NAME: &'static str = "SAY NUMBER";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SAY NUMBER")
            .num(self.number)
            .arg(&self.escape_digits)
            .opt_arg(self.gender.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<Option<char>, AgiError> {
        digit(Self::NAME, r)
    }
}

/// `SAY DATETIME epoch escape_digits [format] [timezone]`: says a Unix
/// time with a format (see `voicemail.conf`'s `saydateformat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SayDateTime {
    epoch: i64,
    escape_digits: String,
    format: Option<String>,
    timezone: Option<String>,
}

impl SayDateTime {
    /// Says `epoch` in the language's default format.
    pub fn new(epoch: i64) -> Self {
        SayDateTime {
            epoch,
            escape_digits: String::new(),
            format: None,
            timezone: None,
        }
    }
    /// Digits that interrupt.
    pub fn escape_digits(mut self, digits: impl Into<String>) -> Self {
        self.escape_digits = digits.into();
        self
    }
    /// The say format (e.g. `ABdY 'digits/at' IMp`).
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = Some(format.into());
        self
    }
    /// A time zone from the zoneinfo database.
    pub fn timezone(mut self, tz: impl Into<String>) -> Self {
        self.timezone = Some(tz.into());
        self
    }
}

impl AgiCommand for SayDateTime {
    type Output = Option<char>;
    const NAME: &'static str = "SAY DATETIME";
    fn encode(&self, line: &mut CommandLine) {
        line.word("SAY DATETIME")
            .num(self.epoch)
            .arg(&self.escape_digits);
        if self.format.is_some() || self.timezone.is_some() {
            // An empty format falls back to the default only when the
            // timezone follows; pass the default explicitly then.
            line.arg(self.format.as_deref().unwrap_or("ABdY 'digits/at' IMp"));
        }
        line.opt_arg(self.timezone.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<Option<char>, AgiError> {
        digit(Self::NAME, r)
    }
}
