//! The ARI emulator, [`AriServer`]: HTTP and WebSocket over loopback with
//! an in-memory model of channels, bridges and playbacks.

mod api;
mod calls;
mod channels;
mod conn;
mod hooks;
mod http;
mod model;
mod playback;
mod reply;
mod route_table;
mod routes;
mod server;
mod time;
mod ws;

pub use reply::HttpReply;
pub use server::{AriServer, AriServerBuilder, IncomingCall, RecordedRequest};
