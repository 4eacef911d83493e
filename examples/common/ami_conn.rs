//! Connection flags shared by the AMI examples:
//! `--addr HOST:PORT --username U --secret S` (the secret may also come
//! from `ASTRIX_AMI_SECRET`); without `--addr`, the built-in emulator.

use astrix::ami::Manager;
use astrix::testing::AmiServer;
use astrix::Secret;

/// Where to connect, parsed from the command line.
pub struct Conn {
    pub addr: Option<String>,
    pub username: String,
    pub secret: Secret,
}

pub const CONN_HELP: &str = "\
connection:
  --addr HOST:PORT    a real Asterisk (default: the built-in emulator)
  --username U        AMI user (default: admin)
  --secret S          AMI secret (default: $ASTRIX_AMI_SECRET, else wordpass)";

impl Conn {
    /// Takes the connection flags out of `args`, leaving the rest.
    pub fn from_args(args: &mut Vec<String>) -> Result<Conn, String> {
        let mut conn = Conn {
            addr: None,
            username: "admin".into(),
            secret: Secret::new(
                std::env::var("ASTRIX_AMI_SECRET").unwrap_or_else(|_| "wordpass".into()),
            ),
        };
        let mut rest = Vec::new();
        let mut it = std::mem::take(args).into_iter();
        while let Some(a) = it.next() {
            let (key, inline) = match a.split_once('=') {
                Some((k, v)) if k.starts_with("--") => (k.to_owned(), Some(v.to_owned())),
                _ => (a.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match key.as_str() {
                "--addr" => conn.addr = Some(value("--addr")?),
                "--username" => conn.username = value("--username")?,
                "--secret" => conn.secret = Secret::new(value("--secret")?),
                _ => rest.push(a),
            }
        }
        *args = rest;
        Ok(conn)
    }

    /// Connects (starting the emulator when no address was given) without
    /// logging in. The emulator, if any, is returned to keep it alive.
    pub fn connect(&self) -> Result<(Manager, Option<AmiServer>), String> {
        let (addr, server) = match &self.addr {
            Some(a) => (a.clone(), None),
            None => {
                let s = AmiServer::builder()
                    .credentials(&self.username, self.secret.expose())
                    .start()
                    .map_err(|e| format!("cannot start the emulator: {e}"))?;
                (s.addr(), Some(s))
            }
        };
        let m = Manager::connect(addr.clone()).map_err(|e| e.to_string())?;
        Ok((m, server))
    }

    /// Logs in.
    pub fn login(&self, m: &Manager) -> Result<(), String> {
        m.login(&self.username, self.secret.clone())
            .map_err(|e| e.to_string())
    }
}
