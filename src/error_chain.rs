//! [`ErrorChain`]: an error and its sources on one line.

use std::error::Error;
use std::fmt;

/// Displays an error followed by its [`source`](Error::source)s, outermost
/// first, joined by `": "`, as anyhow's `{:#}` does:
/// `cannot connect to 127.0.0.1:5038: Connection refused (os error 111)`.
///
/// astrix's errors show each cause once: a variant that has a source
/// leaves it out of its own message, and [`Error::source`] carries it
/// (so that anyhow, eyre and other reporters do not print it twice).
/// `ErrorChain` prints the whole story where no such reporter is at hand.
///
/// ```
/// use astrix::ami::Manager;
/// use astrix::ErrorChain;
///
/// // Nothing listens on port 1.
/// let err = Manager::builder("127.0.0.1:1").connect().unwrap_err();
/// assert_eq!(err.to_string(), "cannot connect to 127.0.0.1:1");
/// assert!(ErrorChain(&err).to_string().starts_with("cannot connect to 127.0.0.1:1: "));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}
