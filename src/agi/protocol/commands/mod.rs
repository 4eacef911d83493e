//! One typed struct per AGI command of Asterisk 22, grouped by family.
//!
//! Each implements [`crate::agi::AgiCommand`]: optional
//! arguments are builder methods, and the associated `Output` is what the
//! reply means. [`ALL_COMMANDS`] lists the 47 names.

mod channel;
mod database;
mod dialplan;
mod say;
mod speech;
mod stream;
mod text;
mod variables;

pub use crate::agi::protocol::command::RawCommand;
pub use channel::{Answer, AsyncAgiBreak, ChannelState, ChannelStatus, Hangup, Noop, Verbose};
pub use database::{DatabaseDel, DatabaseDelTree, DatabaseGet, DatabasePut};
pub use dialplan::{
    Exec, Gosub, SetAutoHangup, SetCallerId, SetContext, SetExtension, SetMusic, SetPriority,
};
pub use say::{
    SayAlpha, SayCase, SayDate, SayDateTime, SayDigits, SayNumber, SayPhonetic, SayTime,
};
pub use speech::{
    Recognition, SpeechActivateGrammar, SpeechCreate, SpeechDeactivateGrammar, SpeechDestroy,
    SpeechLoadGrammar, SpeechRecognize, SpeechResult, SpeechSet, SpeechUnloadGrammar,
};
pub use stream::{
    ControlStreamFile, Digits, GetData, GetOption, Playback, RecordEnd, RecordFile, Recording,
    StreamFile, WaitForDigit,
};
pub use text::{ReceiveChar, ReceiveText, SendImage, SendText, TddMode, TddSetting};
pub use variables::{GetFullVariable, GetVariable, SetVariable};

use crate::agi::AgiCommand;

/// The names of the 47 AGI commands of Asterisk 22 that have a typed
/// struct here, each the `NAME` of its struct.
pub const ALL_COMMANDS: [&str; 47] = [
    Answer::NAME,
    AsyncAgiBreak::NAME,
    ChannelStatus::NAME,
    ControlStreamFile::NAME,
    DatabaseDel::NAME,
    DatabaseDelTree::NAME,
    DatabaseGet::NAME,
    DatabasePut::NAME,
    Exec::NAME,
    GetData::NAME,
    GetFullVariable::NAME,
    GetOption::NAME,
    GetVariable::NAME,
    Gosub::NAME,
    Hangup::NAME,
    Noop::NAME,
    ReceiveChar::NAME,
    ReceiveText::NAME,
    RecordFile::NAME,
    SayAlpha::NAME,
    SayDate::NAME,
    SayDateTime::NAME,
    SayDigits::NAME,
    SayNumber::NAME,
    SayPhonetic::NAME,
    SayTime::NAME,
    SendImage::NAME,
    SendText::NAME,
    SetAutoHangup::NAME,
    SetCallerId::NAME,
    SetContext::NAME,
    SetExtension::NAME,
    SetMusic::NAME,
    SetPriority::NAME,
    SetVariable::NAME,
    SpeechActivateGrammar::NAME,
    SpeechCreate::NAME,
    SpeechDeactivateGrammar::NAME,
    SpeechDestroy::NAME,
    SpeechLoadGrammar::NAME,
    SpeechRecognize::NAME,
    SpeechSet::NAME,
    SpeechUnloadGrammar::NAME,
    StreamFile::NAME,
    TddMode::NAME,
    Verbose::NAME,
    WaitForDigit::NAME,
];
