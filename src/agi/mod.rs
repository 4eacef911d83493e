//! The Asterisk Gateway Interface: classic stdin/stdout scripts, FastAGI and
//! AsyncAGI, all running the same typed commands.
//!
//! The module is in two layers, as its folders show:
//!
//! - `protocol/`, the sans-IO core (no sockets, threads or clocks):
//!   [`Environment`] ([`parse_environment`], [`EnvParser`]), replies
//!   ([`Reply`], [`Response`], [`ReplyParser`], [`decode_reply`],
//!   [`parse_reply_text`]), command lines ([`CommandLine`], [`quote_arg`],
//!   [`encode_command`]), [`AgiCommand`] and the 47 typed commands in
//!   [`commands`], all bounded by [`Limits`].
//! - The adapters, which own the I/O and the threads and leave every limit
//!   to the core: [`Agi`] (`session.rs`), a session over any `BufRead` +
//!   `Write` ([`Agi::stdio`] for classic scripts); [`FastAgiServer`]
//!   (`fastagi/`), FastAGI over TCP; [`AsyncAgiServer`] (`asyncagi.rs`),
//!   AsyncAGI over an AMI [`Manager`](crate::ami::Manager); the script
//!   router both servers share (`router.rs`, whose matches yield
//!   [`Captures`]); and [`AgiExecute`] (`execute.rs`), the trait a script
//!   written once runs on over all three.
//!
//! [`AgiError`] (`error.rs`) is the one error enum of both layers, in
//! pystrix's hierarchy.

mod asyncagi;
mod error;
mod execute;
mod fastagi;
mod protocol;
mod router;
mod session;

pub use asyncagi::{AsyncAgiServer, AsyncAgiSession};
pub use error::{AgiError, HangupReason};
pub use execute::AgiExecute;
pub use fastagi::{
    BindError, FastAgiRequest, FastAgiServer, FastAgiServerBuilder, FastAgiSession, RequestInfo,
    ShutdownHandle,
};
pub use protocol::commands;
pub use protocol::{
    decode_reply, encode_command, finish_command, parse_environment, parse_reply_text,
    percent_decode, quote_arg, AgiCommand, CommandLine, EnvParser, EnvVar, Environment, Limits,
    Reply, ReplyEvent, ReplyParser, Response, ScriptRequest,
};
pub use router::{Captures, HandlerId, ScriptRoute};
pub use session::Agi;
