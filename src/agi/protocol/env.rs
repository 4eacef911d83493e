//! The `agi_*` environment block Asterisk sends first (sans-IO).

use std::collections::HashMap;

use super::limits::Limits;
use super::lines::{decode_lines, LineParser};
use crate::agi::error::{excerpt, AgiError};

/// One `name: value` line of the environment, in the order received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The name followed by the value: one allocation per variable.
    text: String,
    name_len: usize,
    raw: Option<Vec<u8>>,
}

impl EnvVar {
    fn new(name: &str, value: &str, raw: Option<Vec<u8>>) -> EnvVar {
        let mut text = String::with_capacity(name.len() + value.len());
        text.push_str(name);
        text.push_str(value);
        EnvVar {
            text,
            name_len: name.len(),
            raw,
        }
    }

    /// The variable's name, e.g. `agi_channel`.
    pub fn name(&self) -> &str {
        &self.text[..self.name_len]
    }
    /// The value; non-UTF-8 bytes are replaced by U+FFFD (see [`EnvVar::raw`]).
    pub fn value(&self) -> &str {
        &self.text[self.name_len..]
    }
    /// The value's bytes exactly as received.
    pub fn raw(&self) -> &[u8] {
        self.raw.as_deref().unwrap_or(self.value().as_bytes())
    }
    /// True when the value was not valid UTF-8 (and [`EnvVar::value`] is lossy).
    pub fn is_lossy(&self) -> bool {
        self.raw.is_some()
    }
}

/// The script a request names: its path and its query arguments, both
/// percent-decoded.
///
/// Built from `agi_network_script` (FastAGI) or else from `agi_request`
/// (`agi://host:port/path?query`, or a classic script's path).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptRequest {
    path: String,
    query: Vec<(String, String)>,
}

impl ScriptRequest {
    /// Parses `path?query` (or an `agi://host/path?query` URL).
    pub fn parse(request: &str) -> ScriptRequest {
        let mut rest = request;
        for scheme in ["agi://", "hagi://"] {
            // Compare bytes: `rest` may hold a multi-byte character where
            // the scheme would end, and slicing the `str` there panics.
            if rest
                .as_bytes()
                .get(..scheme.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(scheme.as_bytes()))
            {
                let after = &rest[scheme.len()..];
                rest = match after.find('/') {
                    Some(i) => &after[i + 1..],
                    None => "",
                };
            }
        }
        let (path, query) = match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.find('=') {
                Some(i) => (
                    percent_decode(&pair[..i], true),
                    percent_decode(&pair[i + 1..], true),
                ),
                None => (percent_decode(pair, true), String::new()),
            })
            .collect();
        ScriptRequest {
            path: percent_decode(path, false),
            query,
        }
    }

    /// The script path, e.g. `demo` for `agi://host/demo?name=World`.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The query arguments in order; a name may repeat.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }
    /// Every value given for `name`, in order (empty if none).
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    /// The first value given for `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The query arguments as a map from name to every value (pystrix's
    /// keyword arguments).
    pub fn query_map(&self) -> HashMap<String, Vec<String>> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in &self.query {
            map.entry(k.clone()).or_default().push(v.clone());
        }
        map
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); an
/// invalid escape is kept as it is; invalid UTF-8 is replaced by U+FFFD.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return s.to_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                match (
                    bytes.get(i + 1).and_then(|&b| hex(b)),
                    bytes.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The `agi_*` variables Asterisk sends at the start of every session.
///
/// Every line is kept, in order ([`Environment::vars`]); the common ones
/// have typed accessors; `agi_arg_N` become [`Environment::args`]; the
/// script path and query come from [`Environment::script`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: Vec<EnvVar>,
    args: Vec<String>,
    script: ScriptRequest,
}

impl Environment {
    /// Builds an environment from `(name, value)` pairs (for tests and
    /// AsyncAGI's decoded `Env:`).
    pub fn from_pairs<I, K, V>(pairs: I) -> Environment
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| EnvVar::new(&k.into(), &v.into(), None))
            .collect();
        Environment::finish(vars)
    }

    fn finish(vars: Vec<EnvVar>) -> Environment {
        let mut numbered: Vec<(u32, String)> = vars
            .iter()
            .filter_map(|v| {
                v.name()
                    .strip_prefix("agi_arg_")
                    .and_then(|n| n.parse::<u32>().ok())
                    .map(|n| (n, v.value().to_owned()))
            })
            .collect();
        numbered.sort_by_key(|(n, _)| *n);
        let args = numbered.into_iter().map(|(_, v)| v).collect();
        let find = |name: &str| vars.iter().find(|v| v.name() == name).map(|v| v.value());
        let script = match find("agi_network_script").or_else(|| find("agi_request")) {
            Some(s) => ScriptRequest::parse(s),
            None => ScriptRequest::default(),
        };
        Environment { vars, args, script }
    }

    /// The value of the variable `name` (e.g. `"agi_channel"`); the `agi_`
    /// prefix may be left out.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.var(name).map(|v| v.value())
    }

    /// The variable `name` with its raw bytes (see [`Environment::get`]).
    pub fn var(&self, name: &str) -> Option<&EnvVar> {
        self.vars.iter().find(|v| v.name() == name).or_else(|| {
            self.vars
                .iter()
                .find(|v| v.name().strip_prefix("agi_") == Some(name))
        })
    }

    /// Every variable in the order received.
    pub fn vars(&self) -> &[EnvVar] {
        &self.vars
    }

    /// `(name, value)` pairs in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|v| (v.name(), v.value()))
    }

    /// The positional arguments (`agi_arg_1`, `agi_arg_2`, …).
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The script path and query arguments of this request.
    pub fn script(&self) -> &ScriptRequest {
        &self.script
    }

    /// `agi_request`.
    pub fn request(&self) -> Option<&str> {
        self.get("agi_request")
    }
    /// `agi_channel`.
    pub fn channel(&self) -> Option<&str> {
        self.get("agi_channel")
    }
    /// `agi_language`.
    pub fn language(&self) -> Option<&str> {
        self.get("agi_language")
    }
    /// `agi_type` (the channel technology, e.g. `PJSIP`).
    pub fn channel_type(&self) -> Option<&str> {
        self.get("agi_type")
    }
    /// `agi_uniqueid`.
    pub fn unique_id(&self) -> Option<&str> {
        self.get("agi_uniqueid")
    }
    /// `agi_version` (Asterisk's version).
    pub fn version(&self) -> Option<&str> {
        self.get("agi_version")
    }
    /// `agi_callerid` (the caller's number; `unknown` when absent).
    pub fn caller_id(&self) -> Option<&str> {
        self.get("agi_callerid")
    }
    /// `agi_calleridname`.
    pub fn caller_id_name(&self) -> Option<&str> {
        self.get("agi_calleridname")
    }
    /// `agi_dnid`.
    pub fn dnid(&self) -> Option<&str> {
        self.get("agi_dnid")
    }
    /// `agi_rdnis`.
    pub fn rdnis(&self) -> Option<&str> {
        self.get("agi_rdnis")
    }
    /// `agi_context`.
    pub fn context(&self) -> Option<&str> {
        self.get("agi_context")
    }
    /// `agi_extension`.
    pub fn extension(&self) -> Option<&str> {
        self.get("agi_extension")
    }
    /// `agi_priority`, as a number.
    pub fn priority(&self) -> Option<u32> {
        self.get("agi_priority").and_then(|p| p.trim().parse().ok())
    }
    /// `agi_accountcode`.
    pub fn account_code(&self) -> Option<&str> {
        self.get("agi_accountcode")
    }
    /// `agi_threadid`.
    pub fn thread_id(&self) -> Option<&str> {
        self.get("agi_threadid")
    }
    /// True when `agi_enhanced` is `1.0` (EAGI).
    pub fn is_enhanced(&self) -> bool {
        self.get("agi_enhanced") == Some("1.0")
    }
    /// True for FastAGI (`agi_network: yes`).
    pub fn is_network(&self) -> bool {
        self.get("agi_network") == Some("yes")
    }
    /// `agi_network_script` (FastAGI: the raw `path?query`).
    pub fn network_script(&self) -> Option<&str> {
        self.get("agi_network_script")
    }
}

/// Reads the environment line by line (sans-IO).
///
/// Feed lines (with or without their `\n`) to [`EnvParser::push_line`]
/// until it returns the [`Environment`].
#[derive(Debug, Clone)]
pub struct EnvParser {
    limits: Limits,
    vars: Vec<EnvVar>,
    bytes: usize,
}

impl EnvParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> EnvParser {
        EnvParser {
            limits,
            vars: Vec::new(),
            bytes: 0,
        }
    }

    /// Takes one line. Answers `Ok(Some(env))` at the blank line that ends
    /// the block, `Ok(None)` while more lines are needed, and an error for
    /// a line that is not `name: value` or past a limit.
    pub fn push_line(&mut self, line: &[u8]) -> Result<Option<Environment>, AgiError> {
        self.bytes += line.len();
        let line = strip_eol(line);
        self.check(line.len(), self.bytes)?;
        if line.is_empty() {
            let vars = std::mem::take(&mut self.vars);
            self.bytes = 0;
            return Ok(Some(Environment::finish(vars)));
        }
        if self.vars.len() >= self.limits.max_env_lines {
            return Err(AgiError::LimitExceeded {
                what: "environment line count",
                limit: self.limits.max_env_lines,
            });
        }
        let colon = memchr::memchr(b':', line).ok_or_else(|| AgiError::MalformedEnvironment {
            reason: "line is not `name: value`",
            line: excerpt(line),
        })?;
        let name = &line[..colon];
        if name.is_empty()
            || !name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        {
            return Err(AgiError::MalformedEnvironment {
                reason: "invalid variable name",
                line: excerpt(line),
            });
        }
        let mut value = &line[colon + 1..];
        if value.first() == Some(&b' ') {
            value = &value[1..];
        }
        // The name is ASCII, checked above.
        let name = std::str::from_utf8(name).unwrap_or_default();
        let var = match std::str::from_utf8(value) {
            Ok(v) => EnvVar::new(name, v, None),
            Err(_) => {
                log::warn!("AGI environment variable {name} is not UTF-8; kept lossily");
                EnvVar::new(name, &String::from_utf8_lossy(value), Some(value.to_vec()))
            }
        };
        if self.vars.capacity() == 0 {
            self.vars.reserve(32);
        }
        self.vars.push(var);
        Ok(None)
    }

    /// A line of `line_len` bytes (without its end of line) in a block of
    /// `block_bytes` bytes so far.
    fn check(&self, line_len: usize, block_bytes: usize) -> Result<(), AgiError> {
        if line_len > self.limits.max_line_len {
            return Err(AgiError::LimitExceeded {
                what: "environment line",
                limit: self.limits.max_line_len,
            });
        }
        if block_bytes > self.limits.max_env_bytes {
            return Err(AgiError::LimitExceeded {
                what: "environment block",
                limit: self.limits.max_env_bytes,
            });
        }
        Ok(())
    }
}

impl LineParser for EnvParser {
    type Output = Environment;
    fn push_line(&mut self, line: &[u8]) -> Result<Option<Environment>, AgiError> {
        EnvParser::push_line(self, line)
    }
    /// The line and block limits [`EnvParser::push_line`] will hold the
    /// whole line to.
    fn check_partial(&mut self, pending: usize) -> Result<(), AgiError> {
        self.check(pending, self.bytes + pending)
    }
}

/// Parses a whole environment block from the start of `buf`.
///
/// Answers `Ok(Some((env, used)))` with the number of bytes taken (up to and
/// including the blank line), `Ok(None)` when `buf` holds no blank line yet
/// ("need more"), or an error.
pub fn parse_environment(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Environment, usize)>, AgiError> {
    decode_lines(&mut EnvParser::new(*limits), buf)
}

/// Strips one trailing `\n` and then one `\r`.
pub(crate) fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
