//! Login: plain, and Challenge/MD5 (`Key = md5(challenge + secret)`).

use md5::{Digest, Md5};

use super::actions::{Challenge, Login};
use super::error::AmiError;
use super::manager::{AuthMethod, Manager};
use super::message::Message;
use super::Action;
use crate::Secret;

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

/// What the login sends next.
pub(crate) enum LoginAction {
    /// `Challenge` with `AuthType: MD5`.
    Challenge(Challenge),
    /// `Login`, with the MD5 key or (only where the method allows it) the
    /// plain secret.
    Login(Login),
}

impl LoginAction {
    /// The action as a message without an ActionID.
    pub(crate) fn to_message(&self) -> Message {
        fn message<A: Action>(a: &A) -> Message {
            let mut m = Message::new();
            m.push("Action", a.name());
            a.write_headers(&mut m);
            m
        }
        match self {
            LoginAction::Challenge(a) => message(a),
            LoginAction::Login(a) => message(a),
        }
    }
}

/// The next step of a login.
pub(crate) enum LoginStep {
    /// Send this action and feed its answer to [`LoginSteps::answer`].
    Send(LoginAction),
    /// The login is over.
    Done(Result<(), AmiError>),
}

/// The login sequence as a sans-IO step machine: it says what to send and
/// reads each answer. [`login`] drives it on the first connection and the
/// reader drives it on every reconnection, so both follow the same rules:
/// with [`AuthMethod::Md5`] the secret never crosses the wire, whatever the
/// server answers to `Challenge`; a plain secret is sent only with
/// [`AuthMethod::Plain`], or with [`AuthMethod::Auto`] after the server
/// refused `Challenge`.
pub(crate) struct LoginSteps<'a> {
    username: &'a str,
    secret: &'a Secret,
    method: AuthMethod,
    awaiting: Awaiting,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Challenge,
    Login,
    Nothing,
}

impl<'a> LoginSteps<'a> {
    /// A login as `username`, and its first action.
    pub(crate) fn start(
        username: &'a str,
        secret: &'a Secret,
        method: AuthMethod,
    ) -> (Self, LoginAction) {
        let mut steps = LoginSteps {
            username,
            secret,
            method,
            awaiting: Awaiting::Nothing,
        };
        let first = match method {
            AuthMethod::Plain => steps.plain(),
            AuthMethod::Md5 | AuthMethod::Auto => {
                steps.awaiting = Awaiting::Challenge;
                LoginAction::Challenge(Challenge)
            }
        };
        (steps, first)
    }

    fn plain(&mut self) -> LoginAction {
        self.awaiting = Awaiting::Login;
        LoginAction::Login(Login::plain(self.username, self.secret.clone()))
    }

    /// Reads the answer to the last action: `success` is `Response:
    /// Success`, `challenge` its `Challenge:` header, `message` its
    /// `Message:`.
    pub(crate) fn answer(
        &mut self,
        success: bool,
        challenge: Option<&str>,
        message: Option<&str>,
    ) -> LoginStep {
        let refused = |message: Option<&str>| {
            LoginStep::Done(Err(AmiError::Authentication {
                message: message.unwrap_or("refused").to_owned(),
            }))
        };
        match self.awaiting {
            Awaiting::Challenge => match (success, challenge.filter(|c| !c.is_empty())) {
                (true, Some(c)) => {
                    self.awaiting = Awaiting::Login;
                    LoginStep::Send(LoginAction::Login(Login::md5(
                        self.username,
                        md5_key(c, self.secret),
                    )))
                }
                _ if self.method == AuthMethod::Auto => {
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
                    refused(message)
                }
            },
            Awaiting::Login => {
                self.awaiting = Awaiting::Nothing;
                match success {
                    true => LoginStep::Done(Ok(())),
                    false => refused(message),
                }
            }
            Awaiting::Nothing => refused(Some("the login is already over")),
        }
    }
}

/// Logs in on `manager`'s connection (see [`LoginSteps`]), and remembers
/// the credentials for a reconnection.
pub(crate) fn login(
    manager: &Manager,
    username: &str,
    secret: &Secret,
    method: AuthMethod,
) -> Result<(), AmiError> {
    let (mut steps, mut next) = LoginSteps::start(username, secret, method);
    loop {
        let r = match &next {
            LoginAction::Challenge(a) => manager.exchange_raw(a)?,
            LoginAction::Login(a) => manager.exchange_raw(a)?,
        };
        match steps.answer(r.is_success(), r.get("Challenge"), r.message_text()) {
            LoginStep::Send(action) => next = action,
            LoginStep::Done(result) => {
                result?;
                break;
            }
        }
    }
    log::debug!("AMI login accepted for {username}");
    manager.remember_login(username, secret, method);
    Ok(())
}
