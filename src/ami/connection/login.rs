//! Login: plain, and Challenge/MD5 (`Key = md5(challenge + secret)`), as a
//! step machine the [`Connection`](super::Connection) drives on the first
//! connection and on every reconnection alike.

use md5::{Digest, Md5};

use crate::ami::actions::{Challenge, Login};
use crate::ami::error::AmiError;
use crate::ami::{Action, Message};
use crate::Secret;

/// How to log in; see [`crate::ami::Manager::login_with`] and
/// [`Connection::login`](super::Connection::login).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// Challenge/MD5 when the server offers it, plain otherwise. The default.
    #[default]
    Auto,
    /// Challenge/MD5 only: the secret never crosses the wire.
    Md5,
    /// The secret is sent as is.
    Plain,
}

/// The lower-case hex MD5 of `challenge` followed by `secret`: the `Key`
/// of an MD5 login.
///
/// ```
/// use astrix::ami::md5_key;
/// // From a recorded Asterisk 22 session (challenge 513274994, secret wordpass).
/// assert_eq!(
///     md5_key("513274994", &"wordpass".into()),
///     "81747ab95460087032d274a6c998314b"
/// );
/// ```
pub fn md5_key(challenge: &str, secret: &Secret) -> String {
    let mut h = Md5::new();
    h.update(challenge.as_bytes());
    h.update(secret.expose().as_bytes());
    h.finalize()
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            use std::fmt::Write;
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Who may log in, and how: kept by the connection after a successful
/// login so that a reconnection logs in the same way.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) secret: Secret,
    pub(crate) method: AuthMethod,
}

/// The next step of a login.
pub(crate) enum LoginStep {
    /// Send this action (without an ActionID) and feed its answer to
    /// [`LoginSteps::answer`].
    Send(Message),
    /// The login is over; on success with the server's last answer.
    Done(Result<(), AmiError>),
}

/// The login sequence as a sans-IO step machine: it says what to send and
/// reads each answer. With [`AuthMethod::Md5`] the secret never crosses the
/// wire, whatever the server answers to `Challenge`; a plain secret is sent
/// only with [`AuthMethod::Plain`], or with [`AuthMethod::Auto`] after the
/// server refused `Challenge`.
pub(crate) struct LoginSteps {
    credentials: Credentials,
    awaiting: Awaiting,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Challenge,
    Login,
    Nothing,
}

fn message<A: Action>(a: &A) -> Message {
    let mut m = Message::new();
    m.push("Action", a.name());
    a.write_headers(&mut m);
    m
}

impl LoginSteps {
    /// A login with `credentials`, and its first action.
    pub(crate) fn start(credentials: Credentials) -> (Self, Message) {
        let method = credentials.method;
        let mut steps = LoginSteps {
            credentials,
            awaiting: Awaiting::Nothing,
        };
        let first = match method {
            AuthMethod::Plain => steps.plain(),
            AuthMethod::Md5 | AuthMethod::Auto => {
                steps.awaiting = Awaiting::Challenge;
                message(&Challenge)
            }
        };
        (steps, first)
    }

    fn plain(&mut self) -> Message {
        self.awaiting = Awaiting::Login;
        let c = &self.credentials;
        message(&Login::plain(c.username.as_str(), c.secret.clone()))
    }

    /// The credentials being tried.
    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The action whose answer is awaited, for a timeout's message.
    pub(crate) fn awaiting(&self) -> &'static str {
        match self.awaiting {
            Awaiting::Challenge => "Challenge",
            Awaiting::Login | Awaiting::Nothing => "Login",
        }
    }

    /// Reads the answer to the last action sent.
    pub(crate) fn answer(&mut self, reply: &Message) -> LoginStep {
        let success = reply
            .response()
            .is_some_and(|v| v.eq_ignore_ascii_case("Success"));
        let refused = |message: Option<&str>| {
            LoginStep::Done(Err(AmiError::Authentication {
                message: message.unwrap_or("refused").to_owned(),
            }))
        };
        match self.awaiting {
            Awaiting::Challenge => {
                match (success, reply.get("Challenge").filter(|c| !c.is_empty())) {
                    (true, Some(challenge)) => {
                        self.awaiting = Awaiting::Login;
                        let c = &self.credentials;
                        let key = md5_key(challenge, &c.secret);
                        LoginStep::Send(message(&Login::md5(c.username.as_str(), key)))
                    }
                    _ if self.credentials.method == AuthMethod::Auto => {
                        log::info!(
                            "AMI server offers no MD5 challenge; logging in with a plain secret"
                        );
                        LoginStep::Send(self.plain())
                    }
                    (true, None) => {
                        self.awaiting = Awaiting::Nothing;
                        refused(Some("the server answered Challenge without a challenge"))
                    }
                    (false, _) => {
                        self.awaiting = Awaiting::Nothing;
                        refused(reply.message_text())
                    }
                }
            }
            Awaiting::Login => {
                self.awaiting = Awaiting::Nothing;
                match success {
                    true => LoginStep::Done(Ok(())),
                    false => refused(reply.message_text()),
                }
            }
            Awaiting::Nothing => refused(Some("the login is already over")),
        }
    }
}
