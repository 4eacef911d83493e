//! The sans-IO core of AGI: bytes in, typed values out, and typed commands
//! in, bytes out.
//!
//! - `env.rs`: the `agi_*` environment block ([`EnvParser`],
//!   [`parse_environment`]).
//! - `reply.rs`: every reply form `res_agi.c` sends ([`ReplyParser`],
//!   [`decode_reply`], [`parse_reply_text`]); `lines.rs`: what these two
//!   line parsers share.
//! - `encode.rs`: command lines, quoted so that no argument can end the line
//!   ([`CommandLine`], [`quote_arg`]).
//! - `command.rs`: the [`AgiCommand`] trait and [`encode_command`] /
//!   [`finish_command`]; `commands/`: the typed commands.
//! - `limits.rs`: the [`Limits`] every parser here enforces (line length,
//!   environment size and line count, usage block, command length). The
//!   adapters enforce none themselves: they ask the parser that will take
//!   a line, even before the line is whole.
//!
//! Nothing here does I/O: no `std::net`, no `std::thread`, no socket, no
//! clock, and nothing from the adapters around it (the session over a
//! reader/writer pair, FastAGI, AsyncAGI, the script router). Keep it so:
//! the adapters depend on this module, never the other way round.

pub(crate) mod command;
pub mod commands;
pub(crate) mod encode;
pub(crate) mod env;
pub(crate) mod limits;
pub(crate) mod lines;
pub(crate) mod reply;

pub use command::{encode_command, finish_command, AgiCommand};
pub use encode::{quote_arg, CommandLine};
pub use env::{parse_environment, percent_decode, EnvParser, EnvVar, Environment, ScriptRequest};
pub use limits::Limits;
pub use reply::{decode_reply, parse_reply_text, Reply, ReplyEvent, ReplyParser, Response};
