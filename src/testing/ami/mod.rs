//! The AMI emulator, [`AmiServer`]: a TCP (optionally TLS) server that
//! speaks the manager protocol with an in-memory model of calls.

mod defaults;
mod dial;
mod dtmf;
mod pbx;
mod permissions;
mod queue;
mod reply;
mod server;
mod transfer;

pub use reply::Reply;
pub use server::{AmiServer, AmiServerBuilder};
