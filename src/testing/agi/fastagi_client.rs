//! [`FastAgiClient`]: plays Asterisk towards a FastAGI server (or an AGI
//! script), answering commands like `res_agi` and injecting faults.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::model::{usage_block, State};

type Responder = dyn Fn(&str) -> Option<Vec<String>> + Send + Sync;

/// A fault for [`FastAgiClient`] to inject. Commands are counted from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The channel hung up while the script was between commands, just
    /// before command N arrives: over FastAGI `HANGUP\n` is written on its
    /// own, then the reply (511 for commands not allowed on a dead channel,
    /// as Asterisk does). A classic script gets no `HANGUP` line (Asterisk
    /// sends it SIGHUP, which the emulator does not), only the replies of
    /// a dead channel.
    HangupAt(usize),
    /// Like [`Fault::HangupAt`], but `HANGUP\n` and the reply go out in one
    /// write, glued together (the same as `HangupAt` in classic mode).
    GluedHangupAt(usize),
    /// The channel hangs up while command N runs: it gets the reply
    /// `res_agi` gives then (`200 result=-1`, with `endpos` for `STREAM
    /// FILE`, `CONTROL STREAM FILE` and `GET OPTION`, from the commands
    /// that wait on the channel; the usual reply from the others), then
    /// the channel is dead. Over FastAGI a `HANGUP` line follows the reply;
    /// a classic script gets none.
    HangupDuring(usize),
    /// From command N on the channel is dead without any `HANGUP` line:
    /// commands not allowed on a dead channel get 511.
    DeadChannelFrom(usize),
    /// Command N gets the multi-line `520-` usage block.
    UsageAt(usize),
    /// When command N arrives, close the connection without replying.
    CloseAt(usize),
    /// Send the first half of the reply to command N, then close.
    CloseMidReplyAt(usize),
    /// Send half of the environment, then close.
    CloseMidEnvironment,
    /// Write every byte on its own, pausing this long after each (a slow
    /// or trickling peer).
    Trickle(Duration),
    /// Connect and send nothing; wait until the other side closes (or the
    /// client's timeout).
    Silent,
}

/// What one emulated call saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Every command line received, without its `\n`, in order.
    pub commands: Vec<String>,
    /// The channel variables at the end (as `SET VARIABLE` left them).
    pub variables: BTreeMap<String, String>,
    /// True when the other side closed the connection (the normal end of
    /// a FastAGI call); false when the emulator stopped first (a fault,
    /// the command limit).
    pub closed_by_peer: bool,
    /// True when the channel was hung up by the end.
    pub hung_up: bool,
}

/// Plays Asterisk towards a FastAGI server over a real TCP connection (or
/// towards an AGI script over pipes, see [`FastAgiClient::run_script`] and
/// [`FastAgiClient::run_child`]).
///
/// It sends an `agi_*` environment (by default a realistic one, like a
/// real Asterisk 22 dialing `agi://127.0.0.1:4573/demo`), then answers
/// every command line as `res_agi` would: variables set with `SET
/// VARIABLE` are read back by `GET VARIABLE`, AstDB commands use a small
/// in-memory database, `GOSUB` sends `100 result=0 Trying...` first,
/// `HANGUP` is followed by a `HANGUP` line (FastAGI only) and leaves the channel
/// dead. Sounds exist unless [`FastAgiClient::sounds`] lists those that do.
/// Replies can be overridden by command prefix
/// ([`FastAgiClient::reply`]) or by a closure
/// ([`FastAgiClient::responder`]), and [`Fault`]s injected.
///
/// ```
/// use astrix::agi::{FastAgiServer, commands::GetVariable};
/// use astrix::testing::{FastAgiClient, Fault};
///
/// let server = FastAgiServer::bind("127.0.0.1:0")?;
/// server.register_script_handler("", |req| {
///     let cid = req.execute(&GetVariable::new("CALLERID(num)"))?;
///     assert_eq!(cid.as_deref(), Some("5551234"));
///     let err = req.execute(&GetVariable::new("X")).unwrap_err();
///     assert!(err.is_hangup());
///     Err(err)
/// }).unwrap();
/// let addr = server.local_addr();
/// std::thread::spawn(move || server.handle_request(std::time::Duration::from_secs(5)));
///
/// let call = FastAgiClient::new().fault(Fault::GluedHangupAt(2)).run(addr)?;
/// assert_eq!(call.commands.len(), 2);
/// assert!(call.hung_up);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # FastAGI and classic AGI
///
/// The call is a FastAGI one unless [`FastAgiClient::classic`] makes it a
/// classic (stdin/stdout) one. The two differ as in `res_agi.c`
/// (`run_agi`) when the channel hangs up: a FastAGI server gets a `HANGUP`
/// line (after the reply of a `HANGUP` command, or before the next reply
/// for a far-end hangup, see [`Fault`]); a classic script gets no such line
/// — Asterisk sends it SIGHUP (unless `AGISIGHUP=no`), which the emulator
/// cannot send to a script it does not own — so it sees only the replies of
/// a dead channel (`200 result=-1` from the command in flight, 511 from the
/// commands not allowed on a dead channel).
///
/// # What it does not model
///
/// No audio, no DTMF (`WAIT FOR DIGIT` and `GET DATA` answer at once with
/// fixed results), no dialplan (`EXEC` and `GOSUB` succeed without running
/// anything), no `AGISTATUS`, no SIGHUP, no `AGIEXITONHANGUP`; `SPEECH` and
/// `SAY` commands answer fixed successes; `GET FULL VARIABLE` expands only
/// `${NAME}`; the `endpos` values are made up.
#[derive(Clone)]
pub struct FastAgiClient {
    env: Vec<(String, String)>,
    args: Vec<String>,
    variables: BTreeMap<String, String>,
    replies: Vec<(String, Vec<String>)>,
    responder: Option<Arc<Responder>>,
    faults: Vec<Fault>,
    timeout: Duration,
    max_commands: usize,
    classic: bool,
    sounds: Option<Arc<BTreeSet<String>>>,
}

impl std::fmt::Debug for FastAgiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastAgiClient")
            .field("env", &self.env)
            .field("args", &self.args)
            .field("faults", &self.faults)
            .field("classic", &self.classic)
            .field("sounds", &self.sounds)
            .finish_non_exhaustive()
    }
}

impl Default for FastAgiClient {
    fn default() -> Self {
        Self::new()
    }
}

impl FastAgiClient {
    /// A FastAGI call to script `demo` with a realistic environment and no
    /// arguments; 10 s timeout per read.
    pub fn new() -> FastAgiClient {
        let env: Vec<(String, String)> = [
            ("agi_network", "yes"),
            ("agi_network_script", "demo"),
            ("agi_request", "agi://127.0.0.1:4573/demo"),
            ("agi_channel", "PJSIP/100-00000004"),
            ("agi_language", "en"),
            ("agi_type", "PJSIP"),
            ("agi_uniqueid", "1795418498.8"),
            ("agi_version", "22.10.1"),
            ("agi_callerid", "5551234"),
            ("agi_calleridname", "Astrix Test"),
            ("agi_callingpres", "0"),
            ("agi_callingani2", "0"),
            ("agi_callington", "0"),
            ("agi_callingtns", "0"),
            ("agi_dnid", "unknown"),
            ("agi_rdnis", "unknown"),
            ("agi_context", "test"),
            ("agi_extension", "200"),
            ("agi_priority", "3"),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", ""),
            ("agi_threadid", "140389618804416"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        FastAgiClient {
            env,
            args: Vec::new(),
            variables: BTreeMap::new(),
            replies: Vec::new(),
            responder: None,
            faults: Vec::new(),
            timeout: Duration::from_secs(10),
            max_commands: 100_000,
            classic: false,
            sounds: None,
        }
    }

    /// Requests `path?query` (sets `agi_network_script` and `agi_request`).
    pub fn script(mut self, script: &str) -> Self {
        self = self.env("agi_network_script", script);
        self.env("agi_request", &format!("agi://127.0.0.1:4573/{script}"))
    }

    /// Makes it a classic (stdin/stdout) AGI call of `request`: no
    /// `agi_network*` lines, `agi_request` set to it, and no `HANGUP` line
    /// on a hangup (see [FastAGI and classic AGI](FastAgiClient#fastagi-and-classic-agi)).
    pub fn classic(mut self, request: &str) -> Self {
        self.env
            .retain(|(k, _)| k != "agi_network" && k != "agi_network_script");
        self.classic = true;
        self.env("agi_request", request)
    }

    /// True for a classic (stdin/stdout) call, see [`FastAgiClient::classic`].
    pub fn is_classic(&self) -> bool {
        self.classic
    }

    /// The sound files that exist (as the commands name them: `hello-world`,
    /// `digits/1`, no extension); the others are missing, and `STREAM FILE`,
    /// `CONTROL STREAM FILE` and `GET OPTION` answer them
    /// `200 result=-1 endpos=0` (`STREAM FILE`: its sample offset), `GET
    /// DATA` `200 result=-1`, as `res_agi.c` does. Without this call every
    /// sound exists. Calls add up.
    ///
    /// ```
    /// use astrix::agi::commands::StreamFile;
    /// use astrix::testing::FastAgiClient;
    ///
    /// let (result, _) = FastAgiClient::new()
    ///     .sounds(["hello-world"])
    ///     .run_script(|agi| {
    ///         assert!(agi.execute(&StreamFile::new("hello-world")).is_ok());
    ///         agi.execute(&StreamFile::new("no-such-sound"))
    ///     })?;
    /// assert!(result.is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sounds<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut set = self.sounds.as_deref().cloned().unwrap_or_default();
        set.extend(names.into_iter().map(Into::into));
        self.sounds = Some(Arc::new(set));
        self
    }

    /// Sets (or adds) an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        match self.env.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.env.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Removes an environment variable.
    pub fn remove_env(mut self, name: &str) -> Self {
        self.env.retain(|(k, _)| k != name);
        self
    }

    /// Adds a positional argument (`agi_arg_N`).
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Presets a channel variable for `GET VARIABLE`.
    pub fn variable(mut self, name: &str, value: &str) -> Self {
        self.variables.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Answers every command starting with `prefix` (case-insensitive)
    /// with `lines` (each sent with `\n`), instead of the default.
    pub fn reply<I, S>(mut self, prefix: &str, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.replies.push((
            prefix.to_ascii_uppercase(),
            lines.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Answers commands with a closure: `Some(lines)` replaces the default
    /// reply, `None` keeps it. Checked before [`FastAgiClient::reply`].
    pub fn responder<F>(mut self, f: F) -> Self
    where
        F: Fn(&str) -> Option<Vec<String>> + Send + Sync + 'static,
    {
        self.responder = Some(Arc::new(f));
        self
    }

    /// Injects a fault.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// The timeout of each read (default 10 s): past it the call fails
    /// with an I/O error of kind `TimedOut`/`WouldBlock`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Stops after this many commands (default 100 000).
    pub fn max_commands(mut self, n: usize) -> Self {
        self.max_commands = n;
        self
    }

    /// The environment block as it will be sent.
    pub fn environment_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for (k, v) in &self.env {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push('\n');
        }
        for (i, a) in self.args.iter().enumerate() {
            out.push_str(&format!("agi_arg_{}: {}\n", i + 1, a));
        }
        out.push('\n');
        out.into_bytes()
    }

    /// Connects to a FastAGI server at `addr` and plays one call until the
    /// server closes the connection (or a fault ends it). Fails on connect
    /// errors and read timeouts.
    pub fn run(&self, addr: SocketAddr) -> io::Result<Transcript> {
        let stream = TcpStream::connect_timeout(&addr, self.timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let writer = stream.try_clone()?;
        let result = self.play(&stream, &writer);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        result
    }

    /// Plays one call over any reader (what the script writes) and writer
    /// (what the script reads). Timeouts are the streams' own.
    pub fn play<R: Read, W: Write>(&self, reader: R, mut writer: W) -> io::Result<Transcript> {
        let trickle = self.faults.iter().find_map(|f| match f {
            Fault::Trickle(d) => Some(*d),
            _ => None,
        });
        let mut out = Output {
            writer: &mut writer,
            trickle,
        };
        let mut state = State::new(&self.env, &self.variables);
        state.sounds = self.sounds.clone();
        let hangup_line: &[u8] = if self.classic { b"" } else { b"HANGUP\n" };
        let mut transcript = Transcript::default();
        let env = self.environment_bytes();
        if self.faults.contains(&Fault::Silent) {
            let mut sink = [0u8; 256];
            let mut reader = reader;
            loop {
                match reader.read(&mut sink) {
                    Ok(0) => {
                        transcript.closed_by_peer = true;
                        break;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(transcript);
        }
        if self.faults.contains(&Fault::CloseMidEnvironment) {
            out.send(&env[..env.len() / 2])?;
            return Ok(transcript);
        }
        out.send(&env)?;
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => {
                    transcript.closed_by_peer = true;
                    break;
                }
                Ok(_) => {}
                Err(e) if is_closed(&e) => {
                    transcript.closed_by_peer = true;
                    break;
                }
                Err(e) => return Err(e),
            }
            if line.last() != Some(&b'\n') {
                // The peer closed in the middle of a line.
                transcript
                    .commands
                    .push(String::from_utf8_lossy(&line).into_owned());
                transcript.closed_by_peer = true;
                break;
            }
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let command = String::from_utf8_lossy(&line).into_owned();
            transcript.commands.push(command.clone());
            let n = transcript.commands.len();
            if self.faults.contains(&Fault::CloseAt(n)) {
                break;
            }
            let mut bytes = Vec::new();
            if self.faults.contains(&Fault::HangupAt(n)) && !self.classic {
                out.send(hangup_line)?;
            }
            if self.faults.contains(&Fault::GluedHangupAt(n)) {
                bytes.extend_from_slice(hangup_line);
            }
            if self.faults.iter().any(|f| {
                matches!(f, Fault::HangupAt(m) | Fault::GluedHangupAt(m) | Fault::DeadChannelFrom(m) if *m == n)
            }) {
                state.dead = true;
            }
            let lines = if self.faults.contains(&Fault::UsageAt(n)) {
                usage_block()
            } else if self.faults.contains(&Fault::HangupDuring(n)) && !state.dead {
                state.hangup_pending = true;
                self.answer_with(&command, || state.reply_hung_up(&command))
            } else {
                self.answer_with(&command, || state.default_reply(&command))
            };
            for l in &lines {
                bytes.extend_from_slice(l.as_bytes());
                bytes.push(b'\n');
            }
            // Asterisk notices the hangup once the reply is out, and tells
            // a FastAGI server at once.
            if state.hangup_pending {
                bytes.extend_from_slice(hangup_line);
                state.hangup_pending = false;
            }
            if self.faults.contains(&Fault::CloseMidReplyAt(n)) {
                out.send(&bytes[..bytes.len() / 2])?;
                break;
            }
            match out.send(&bytes) {
                Ok(()) => {}
                Err(e) if is_closed(&e) => {
                    transcript.closed_by_peer = true;
                    break;
                }
                Err(e) => return Err(e),
            }
            if n >= self.max_commands {
                break;
            }
        }
        transcript.variables = state.vars;
        transcript.hung_up = state.dead;
        Ok(transcript)
    }

    /// The scripted reply to `command`, else `default`'s.
    fn answer_with(&self, command: &str, default: impl FnOnce() -> Vec<String>) -> Vec<String> {
        if let Some(lines) = self.responder.as_ref().and_then(|r| r(command)) {
            return lines;
        }
        let upper = command.to_ascii_uppercase();
        if let Some((_, lines)) = self
            .replies
            .iter()
            .find(|(p, _)| upper.starts_with(p.as_str()))
        {
            return lines.clone();
        }
        default()
    }

    /// Runs `script` on this thread with an [`Agi`](crate::agi::Agi) whose
    /// other end is this emulator (on another thread, over a loopback
    /// socket pair), as a classic AGI script would run under Asterisk.
    /// Returns what the script returned (or the error of reading the
    /// environment) and the transcript; fails only if the emulator does.
    #[allow(clippy::type_complexity)]
    pub fn run_script<T, F>(
        &self,
        script: F,
    ) -> io::Result<(Result<T, crate::agi::AgiError>, Transcript)>
    where
        F: FnOnce(&mut super::AgiOverSocket) -> Result<T, crate::agi::AgiError>,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let client = self.clone();
        let emulator = thread::spawn(move || client.run(addr));
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(self.timeout))?;
        let writer = stream.try_clone()?;
        let result = crate::agi::Agi::new(BufReader::new(stream), writer).and_then(|mut agi| {
            let r = script(&mut agi);
            let (_, w) = agi.into_parts();
            let _ = w.shutdown(std::net::Shutdown::Both);
            r
        });
        let transcript = emulator
            .join()
            .map_err(|_| io::Error::other("the emulator thread panicked"))??;
        Ok((result, transcript))
    }

    /// Spawns `command` as a classic AGI script with piped stdin/stdout,
    /// plays the call over the pipes, and waits for it to exit (killing it
    /// after the client's timeout if it hangs). Returns the transcript and
    /// the exit status.
    pub fn run_child(
        &self,
        command: &mut std::process::Command,
    ) -> io::Result<(Transcript, std::process::ExitStatus)> {
        use std::process::Stdio;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(io::Error::other("child without pipes"));
        };
        let client = self.clone();
        let player = thread::spawn(move || {
            let r = client.play(stdout, stdin);
            // stdin is dropped here: the script sees end of input.
            r
        });
        let deadline = std::time::Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                break child.wait()?;
            }
            thread::sleep(Duration::from_millis(5));
        };
        let transcript = player
            .join()
            .map_err(|_| io::Error::other("the emulator thread panicked"))??;
        Ok((transcript, status))
    }
}

fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

struct Output<'a, W: Write> {
    writer: &'a mut W,
    trickle: Option<Duration>,
}

impl<W: Write> Output<'_, W> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.trickle {
            None => {
                self.writer.write_all(bytes)?;
                self.writer.flush()
            }
            Some(pause) => {
                for b in bytes {
                    self.writer.write_all(std::slice::from_ref(b))?;
                    self.writer.flush()?;
                    thread::sleep(pause);
                }
                Ok(())
            }
        }
    }
}
