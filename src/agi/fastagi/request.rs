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
///
/// [`FastAgiRequest::parts`] splits it into the session and the rest, so a
/// handler can run commands while it holds the arguments (pystrix's
/// handler shape, `(agi, args, kwargs, match, path)`).
#[derive(Debug)]
pub struct FastAgiRequest<'a> {
    pub(crate) agi: &'a mut FastAgiSession,
    pub(crate) info: RequestInfo,
}

/// What routed a FastAGI call: the environment, the script path, its
/// arguments and the captures of the handler's pattern. Borrowed from a
/// [`FastAgiRequest`] beside the session by [`FastAgiRequest::parts`].
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub(crate) environment: Environment,
    pub(crate) captures: Captures,
    pub(crate) peer: Option<SocketAddr>,
}

impl RequestInfo {
    /// The `agi_*` environment.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The script path (percent-decoded, without the query).
    pub fn script_path(&self) -> &str {
        self.environment.script().path()
    }

    /// The positional arguments (`agi_arg_N`).
    pub fn args(&self) -> &[String] {
        self.environment.args()
    }

    /// The query arguments as a map from name to every value given.
    pub fn query(&self) -> HashMap<String, Vec<String>> {
        self.environment.script().query_map()
    }

    /// The first value of query argument `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.environment.script().query_value(name)
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

impl<'a> FastAgiRequest<'a> {
    pub(crate) fn new(
        agi: &'a mut FastAgiSession,
        captures: Captures,
        peer: Option<SocketAddr>,
    ) -> Self {
        let environment = agi.environment().clone();
        FastAgiRequest {
            agi,
            info: RequestInfo {
                environment,
                captures,
                peer,
            },
        }
    }
}

impl FastAgiRequest<'_> {
    /// The session (to run commands, or read the environment).
    pub fn agi(&mut self) -> &mut FastAgiSession {
        self.agi
    }

    /// The session and the request's data at once, borrowed side by side:
    /// commands can run while the arguments are held.
    ///
    /// ```
    /// use astrix::agi::{FastAgiServer, FastAgiSession, Captures, commands::SayDigits};
    /// use astrix::agi::AgiError;
    /// use std::collections::HashMap;
    ///
    /// // A handler in pystrix's shape: (agi, args, kwargs, match, path).
    /// fn say(
    ///     agi: &mut FastAgiSession,
    ///     args: &[String],
    ///     kwargs: &HashMap<String, Vec<String>>,
    ///     found: &Captures,
    ///     path: &str,
    /// ) -> Result<(), AgiError> {
    ///     let digits = found.name("digits").unwrap_or("0");
    ///     agi.execute(&SayDigits::new(digits))?;
    ///     log::info!("{path}: {args:?} {kwargs:?}");
    ///     Ok(())
    /// }
    ///
    /// let server = FastAgiServer::bind("127.0.0.1:0")?;
    /// server.register_script_handler(r"say/(?P<digits>\d+)$", |req| {
    ///     let (agi, info) = req.parts();
    ///     say(agi, info.args(), &info.query(), info.captures(), info.script_path())
    /// }).unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn parts(&mut self) -> (&mut FastAgiSession, &RequestInfo) {
        (self.agi, &self.info)
    }

    /// The request's data without the session.
    pub fn info(&self) -> &RequestInfo {
        &self.info
    }

    /// Shortcut for [`Agi::execute`] on the session.
    pub fn execute<C: AgiCommand + ?Sized>(&mut self, command: &C) -> Result<C::Output, AgiError> {
        self.agi.execute(command)
    }

    /// The `agi_*` environment.
    pub fn environment(&self) -> &Environment {
        self.info.environment()
    }

    /// The script path (percent-decoded, without the query).
    pub fn script_path(&self) -> &str {
        self.info.script_path()
    }

    /// The positional arguments (`agi_arg_N`).
    pub fn args(&self) -> &[String] {
        self.info.args()
    }

    /// The query arguments as a map from name to every value given.
    pub fn query(&self) -> HashMap<String, Vec<String>> {
        self.info.query()
    }

    /// The first value of query argument `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.info.query_value(name)
    }

    /// The captures of the handler's regex on the script path.
    pub fn captures(&self) -> &Captures {
        self.info.captures()
    }

    /// Asterisk's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.info.peer_addr()
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
