//! Login: plain, and Challenge/MD5 (`Key = md5(challenge + secret)`).

use md5::{Digest, Md5};

use super::actions::{Challenge, Login};
use super::error::AmiError;
use super::manager::{AuthMethod, Manager};
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

/// A refused Login or Challenge becomes the authentication error.
fn auth_error(e: AmiError) -> AmiError {
    match e {
        AmiError::ActionFailed(r) => AmiError::Authentication {
            message: r.message_text().unwrap_or("refused").to_owned(),
        },
        other => other,
    }
}

pub(crate) fn login(
    manager: &Manager,
    username: &str,
    secret: &Secret,
    method: AuthMethod,
) -> Result<(), AmiError> {
    let challenge = match method {
        AuthMethod::Plain => None,
        AuthMethod::Md5 => Some(manager.send_action(&Challenge).map_err(auth_error)?),
        AuthMethod::Auto => match manager.send_action(&Challenge) {
            Ok(c) => Some(c),
            Err(AmiError::ActionFailed(_)) => {
                log::info!("AMI server refused Challenge; logging in with a plain secret");
                None
            }
            Err(e) => return Err(e),
        },
    };
    let action = match challenge {
        Some(c) => Login::md5(username, md5_key(&c, secret)),
        None => Login::plain(username, secret.clone()),
    };
    manager.send_action(&action).map_err(auth_error)?;
    log::debug!("AMI login accepted for {username}");
    manager.remember_login(username, secret, method);
    Ok(())
}
