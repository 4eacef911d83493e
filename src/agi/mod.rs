//! The Asterisk Gateway Interface: classic stdin/stdout scripts, FastAGI and
//! AsyncAGI, all running the same typed commands.
//!
//! - The sans-IO core: [`Environment`] ([`parse_environment`],
//!   [`EnvParser`]), replies ([`Reply`], [`Response`], [`ReplyParser`],
//!   [`decode_reply`], [`parse_reply_text`]) and command lines
//!   ([`CommandLine`], [`quote_arg`], [`encode_command`]), all bounded by
//!   [`Limits`].
//! - [`AgiCommand`] and the 47 typed commands in [`commands`].
//! - [`Agi`]: a session over any `BufRead` + `Write` ([`Agi::stdio`] for
//!   classic scripts).
//! - [`FastAgiServer`]: FastAGI, routing script paths to handlers.
//! - [`AgiError`]: one error enum in pystrix's hierarchy.

mod asyncagi;
mod command;
pub mod commands;
mod encode;
mod env;
mod error;
mod fastagi;
mod limits;
mod reply;
mod router;
mod session;

pub use asyncagi::{AgiExecute, AsyncAgiServer, AsyncAgiSession};
pub use command::{encode_command, finish_command, AgiCommand};
pub use encode::{quote_arg, CommandLine};
pub use env::{parse_environment, percent_decode, EnvParser, EnvVar, Environment, ScriptRequest};
pub use error::{AgiError, HangupReason};
pub use fastagi::{
    Captures, FastAgiRequest, FastAgiServer, FastAgiServerBuilder, FastAgiSession, HandlerId,
    ShutdownHandle,
};
pub use limits::Limits;
pub use reply::{decode_reply, parse_reply_text, Reply, ReplyEvent, ReplyParser, Response};
pub use session::Agi;
