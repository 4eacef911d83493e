//! What a FastAGI handler receives: the session and the routed request.

use std::collections::HashMap;
use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};

use crate::agi::router::Captures;
use crate::agi::{Agi, AgiCommand, AgiError, AgiExecute, Environment};

/// The session type of a FastAGI call: an [`Agi`] over the TCP stream.
pub type FastAgiSession = Agi<BufReader<TcpStream>, TcpStream>;

/// One FastAGI call as a handler sees it: the session to run commands on,
/// the script path, positional and query arguments, and the regex captures.
#[derive(Debug)]
pub struct FastAgiRequest<'a> {
    pub(crate) agi: &'a mut FastAgiSession,
    pub(crate) captures: Captures,
    pub(crate) peer: Option<SocketAddr>,
}

impl FastAgiRequest<'_> {
    /// The session (to run commands, or read the environment).
    pub fn agi(&mut self) -> &mut FastAgiSession {
        self.agi
    }

    /// Shortcut for [`Agi::execute`] on the session.
    pub fn execute<C: AgiCommand + ?Sized>(&mut self, command: &C) -> Result<C::Output, AgiError> {
        self.agi.execute(command)
    }

    /// The `agi_*` environment.
    pub fn environment(&self) -> &Environment {
        self.agi.environment()
    }

    /// The script path (percent-decoded, without the query).
    pub fn script_path(&self) -> &str {
        self.agi.environment().script().path()
    }

    /// The positional arguments (`agi_arg_N`).
    pub fn args(&self) -> &[String] {
        self.agi.environment().args()
    }

    /// The query arguments as a map from name to every value given.
    pub fn query(&self) -> HashMap<String, Vec<String>> {
        self.agi.environment().script().query_map()
    }

    /// The first value of query argument `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.agi.environment().script().query_value(name)
    }

    /// The captures of the handler's regex on the script path.
    pub fn captures(&self) -> &Captures {
        &self.captures
    }

    /// Asterisk's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

impl AgiExecute for FastAgiRequest<'_> {
    fn execute<C: AgiCommand + ?Sized>(&mut self, command: &C) -> Result<C::Output, AgiError> {
        FastAgiRequest::execute(self, command)
    }
    fn environment(&self) -> &Environment {
        FastAgiRequest::environment(self)
    }
}
