//! The demo AGI script shared by `fastagi_server`, `agi_script` and
//! `async_agi` (and the tests): one place, run over any transport.

use astrix::agi::commands::{Answer, GetVariable, SetVariable, StreamFile, Verbose};
use astrix::agi::{AgiError, AgiExecute};

/// Runs the demo: ANSWER; reads `CALLERID(num)`; sets `ASTRIX_ARGS` (the
/// positional arguments joined with `,`), `ASTRIX_NAME` (`name`) and
/// `ASTRIX_CID`; plays `beep` (a failure to play is ignored); logs
/// `astrix demo done` on the console; then returns so the dialplan goes on.
pub fn run_demo(agi: &mut impl AgiExecute, name: &str) -> Result<(), AgiError> {
    agi.execute(&Answer)?;
    let cid = agi
        .execute(&GetVariable::new("CALLERID(num)"))?
        .unwrap_or_default();
    let args = agi.environment().args().join(",");
    agi.execute(&SetVariable::new("ASTRIX_ARGS", args))?;
    agi.execute(&SetVariable::new("ASTRIX_NAME", name))?;
    agi.execute(&SetVariable::new("ASTRIX_CID", cid))?;
    match agi.execute(&StreamFile::new("beep")) {
        Ok(_) => {}
        Err(e) if e.is_app_error() => log::info!("demo: beep not played: {e}"),
        Err(e) => return Err(e),
    }
    agi.execute(&Verbose::new("astrix demo done").level(1))?;
    Ok(())
}
