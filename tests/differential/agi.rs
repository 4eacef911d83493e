//! The script side of a FastAGI call for the scenarios: it takes one
//! connection, reads the environment, sends commands and keeps every line
//! in order.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

use super::ami::PATIENCE;
use super::normalise::Normaliser;

/// Environment lines left out: `agi_threadid` is a thread of the
/// instance.
const DROPPED_ENV: &[&str] = &["agi_threadid"];

/// One FastAGI call, seen from the script.
pub struct AgiCall {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    lines: Vec<(bool, String)>,
}

impl AgiCall {
    /// Takes the next connection on `listener`; fails the scenario if none
    /// comes within [`PATIENCE`] (Asterisk did not run the `AGI()`).
    pub fn accept(listener: &TcpListener) -> AgiCall {
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let deadline = std::time::Instant::now() + PATIENCE;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "no FastAGI connection within {PATIENCE:?}"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => panic!("accept a FastAGI connection: {e}"),
            }
        };
        listener.set_nonblocking(false).expect("blocking listener");
        stream.set_nonblocking(false).expect("blocking socket");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        AgiCall {
            reader: BufReader::new(stream.try_clone().expect("clone socket")),
            writer: stream,
            lines: Vec::new(),
        }
    }

    /// Reads one line (without its `\n`); `None` at the end.
    fn read_line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let l = l.trim_end_matches('\n').to_owned();
                self.lines.push((false, l.clone()));
                Some(l)
            }
        }
    }

    /// Reads the environment, up to its blank line.
    pub fn environment(&mut self) {
        while let Some(l) = self.read_line() {
            if l.is_empty() {
                break;
            }
        }
    }

    /// Sends a command and reads its reply (a `520-` usage block up to its
    /// `520 End of proper usage.`); a `HANGUP` line before the reply is
    /// kept too.
    pub fn command(&mut self, line: &str) -> Option<String> {
        self.lines.push((true, line.to_owned()));
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .expect("write command");
        loop {
            let l = self.read_line()?;
            if l == "HANGUP" {
                continue;
            }
            if l.starts_with("520-") {
                // The usage text (the command's documentation) is not
                // compared: one line stands for it.
                let at = self.lines.len();
                while let Some(u) = self.read_line() {
                    if u.starts_with("520 ") {
                        let end = self.lines.pop();
                        self.lines.truncate(at);
                        self.lines.push((false, "(usage text)".into()));
                        self.lines.extend(end);
                        break;
                    }
                }
            }
            return Some(l);
        }
    }

    /// Reads the `HANGUP` line Asterisk sends a FastAGI script when the
    /// channel has hung up.
    pub fn hangup_line(&mut self) -> bool {
        self.read_line().is_some_and(|l| l == "HANGUP")
    }

    /// Ends the call from the script's side.
    pub fn close(self) -> Vec<(bool, String)> {
        let _ = self.writer.shutdown(std::net::Shutdown::Both);
        self.lines
    }

    /// The normalised transcript: `S: ` what Asterisk sent, `C: ` what the
    /// script sent; the listening port shows as `PORT`.
    pub fn transcript(lines: &[(bool, String)], port: u16, tag: &str) -> Vec<String> {
        let mut n = Normaliser::new(tag);
        let split = |l: &str| {
            l.strip_prefix("agi_")
                .and_then(|_| l.split_once(": "))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        };
        for (_, l) in lines {
            if let Some((k, v)) = split(l) {
                n.learn(id_header(&k), &v);
            }
        }
        let port = format!(":{port}/");
        lines
            .iter()
            .filter(|(_, l)| !split(l).is_some_and(|(k, _)| DROPPED_ENV.contains(&k.as_str())))
            .map(|(sent, l)| {
                let l = match split(l) {
                    Some((k, v)) => format!("{k}: {}", n.value(id_header(&k), &v)),
                    None => n.value("", l),
                };
                format!(
                    "{}{}",
                    if *sent { "C: " } else { "S: " },
                    l.replace(&port, ":PORT/")
                )
            })
            .collect()
    }
}

/// The name the normaliser knows an environment key's value by.
fn id_header(key: &str) -> &str {
    if key == "agi_uniqueid" {
        "Uniqueid"
    } else {
        key
    }
}
