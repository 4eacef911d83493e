//! Small shared helpers: argument parsing, percentiles, AMI message framing, JSON output.

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// `--key value` and `--flag` arguments after the sub-command.
pub struct Args {
    map: HashMap<String, String>,
}

impl Args {
    pub fn parse(raw: &[String]) -> Result<Args, String> {
        let mut map = HashMap::new();
        let mut i = 0;
        while i < raw.len() {
            let a = &raw[i];
            let Some(key) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument {a:?}"));
            };
            if let Some((k, v)) = key.split_once('=') {
                map.insert(k.to_string(), v.to_string());
                i += 1;
            } else if i + 1 < raw.len() && !raw[i + 1].starts_with("--") {
                map.insert(key.to_string(), raw[i + 1].clone());
                i += 2;
            } else {
                map.insert(key.to_string(), "true".to_string());
                i += 1;
            }
        }
        Ok(Args { map })
    }

    pub fn str_or(&self, k: &str, d: &str) -> String {
        self.map.get(k).cloned().unwrap_or_else(|| d.to_string())
    }

    pub fn num<T: std::str::FromStr>(&self, k: &str, d: T) -> Result<T, String> {
        match self.map.get(k) {
            None => Ok(d),
            Some(v) => v
                .replace('_', "")
                .parse::<T>()
                .map_err(|_| format!("--{k}: cannot parse {v:?}")),
        }
    }

    pub fn flag(&self, k: &str) -> bool {
        self.map.get(k).map(|v| v != "false").unwrap_or(false)
    }

    pub fn check_known(&self, known: &[&str]) -> Result<(), String> {
        for k in self.map.keys() {
            if !known.contains(&k.as_str()) {
                return Err(format!(
                    "unknown option --{k} (known: {})",
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Locks `m`, also after a thread panicked while holding it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Percentile of an ascending-sorted slice (nearest-rank).
pub fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One AMI message read from a client: header lines in order.
pub struct AmiMsg {
    pub headers: Vec<(String, String)>,
}

impl AmiMsg {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one AMI message (lines up to an empty line). `Ok(None)` on EOF.
/// Accepts CRLF or bare LF line endings; skips leading empty lines.
pub fn read_ami_msg<R: BufRead>(r: &mut R, line: &mut Vec<u8>) -> io::Result<Option<AmiMsg>> {
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', line)?;
        if n == 0 {
            return Ok(None);
        }
        let mut s: &[u8] = line;
        while let Some((&last, rest)) = s.split_last() {
            if last == b'\n' || last == b'\r' {
                s = rest;
            } else {
                break;
            }
        }
        if s.is_empty() {
            if headers.is_empty() {
                continue;
            }
            return Ok(Some(AmiMsg { headers }));
        }
        let text = String::from_utf8_lossy(s);
        match text.split_once(':') {
            Some((k, v)) => headers.push((k.trim().to_string(), v.trim().to_string())),
            None => headers.push((text.trim().to_string(), String::new())),
        }
    }
}

/// Minimal JSON object writer (flat, numbers and strings).
pub struct Json {
    buf: String,
}

impl Json {
    pub fn new() -> Json {
        Json {
            buf: String::from("{"),
        }
    }
    fn key(&mut self, k: &str) {
        if self.buf.len() > 1 {
            self.buf.push_str(", ");
        }
        self.buf.push('"');
        self.buf.push_str(k);
        self.buf.push_str("\": ");
    }
    pub fn s(mut self, k: &str, v: &str) -> Json {
        self.key(k);
        self.buf.push('"');
        for c in v.chars() {
            match c {
                '"' => self.buf.push_str("\\\""),
                '\\' => self.buf.push_str("\\\\"),
                '\n' => self.buf.push_str("\\n"),
                c if (c as u32) < 0x20 => self.buf.push_str(&format!("\\u{:04x}", c as u32)),
                c => self.buf.push(c),
            }
        }
        self.buf.push('"');
        self
    }
    pub fn u(mut self, k: &str, v: u64) -> Json {
        self.key(k);
        self.buf.push_str(&v.to_string());
        self
    }
    pub fn f(mut self, k: &str, v: f64) -> Json {
        self.key(k);
        if v.is_finite() {
            self.buf.push_str(&format!("{v:.3}"));
        } else {
            self.buf.push_str("null");
        }
        self
    }
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}
