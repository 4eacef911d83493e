//! [`AgiExecute`]: the one interface of every adapter's session, so that a
//! script written once runs over stdin/stdout AGI, FastAGI and AsyncAGI.
//! Each adapter implements it next to its session type.

use super::error::AgiError;
use super::protocol::{AgiCommand, Environment};

/// Runs AGI commands and gives the session's environment, whatever the
/// transport: [`Agi`](crate::agi::Agi) (stdin/stdout, FastAGI),
/// [`FastAgiRequest`](crate::agi::FastAgiRequest) and
/// [`AsyncAgiSession`](crate::agi::AsyncAgiSession).
///
/// ```
/// use astrix::agi::commands::{Answer, Verbose};
/// use astrix::agi::{AgiError, AgiExecute};
///
/// /// A script that runs over any transport.
/// fn greet(agi: &mut impl AgiExecute) -> Result<(), AgiError> {
///     agi.execute(&Answer)?;
///     let n = agi.environment().args().len();
///     agi.execute(&Verbose::new(format!("{n} arguments")))?;
///     Ok(())
/// }
/// ```
pub trait AgiExecute {
    /// Sends `command` and returns its typed output (see
    /// [`Agi::execute`](crate::agi::Agi::execute)).
    fn execute<C: AgiCommand + ?Sized>(&mut self, command: &C) -> Result<C::Output, AgiError>;

    /// The session's `agi_*` environment.
    fn environment(&self) -> &Environment;
}
