//! Connection flags shared by the AMI examples:
//! `--addr HOST:PORT --username U --secret S` (the secret may also come
//! from `ASTRIX_AMI_SECRET`); without `--addr`, the built-in emulator.
//! Built with `--features tls`: `--tls`, `--ca FILE` and `--tls-name NAME`
//! (`--ca` and `--tls-name` imply `--tls`; `--ca` needs `--addr`). Without
//! `--addr`, `--tls` makes the emulator speak TLS with a certificate made
//! on the spot, which the client then trusts.

use astrix::ami::Manager;
use astrix::testing::AmiServer;
use astrix::Secret;

/// Where to connect, parsed from the command line.
pub struct Conn {
    /// `--addr HOST:PORT`: a real Asterisk; `None`: the built-in emulator.
    pub addr: Option<String>,
    /// `--username U`: the AMI user.
    pub username: String,
    /// `--secret S`, else `ASTRIX_AMI_SECRET`, else `wordpass`.
    pub secret: Secret,
    /// `--tls` (or `--ca`, `--tls-name`): AMI over TLS.
    pub tls: bool,
    /// The CA to trust, PEM (`--ca FILE`, or the emulator's certificate);
    /// Mozilla's roots when `None`.
    pub ca_pem: Option<Vec<u8>>,
    /// `--tls-name NAME`: the name to check the certificate against.
    pub tls_name: Option<String>,
    /// The emulator's certificate and key (PEM) when it speaks TLS.
    pub emulator_cert: Option<(String, String)>,
}

/// The help text of the connection flags, for an example's usage message.
pub const CONN_HELP: &str = "\
connection:
  --addr HOST:PORT    a real Asterisk (default: the built-in emulator)
  --username U        AMI user (default: admin)
  --secret S          AMI secret (default: $ASTRIX_AMI_SECRET, else wordpass)
TLS (built with --features tls; Asterisk listens on port 5039):
  --tls               AMI over TLS, the certificate checked against Mozilla's roots
  --ca FILE           trust only this CA (PEM) instead; implies --tls, needs --addr
  --tls-name NAME     check the certificate against NAME, not the host of --addr;
                      implies --tls";

impl Conn {
    /// Takes the connection flags out of `args`, leaving the rest.
    pub fn from_args(args: &mut Vec<String>) -> Result<Conn, String> {
        let mut conn = Conn {
            addr: None,
            username: "admin".into(),
            secret: Secret::new(
                std::env::var("ASTRIX_AMI_SECRET").unwrap_or_else(|_| "wordpass".into()),
            ),
            tls: false,
            ca_pem: None,
            tls_name: None,
            emulator_cert: None,
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
                "--tls" => conn.tls = true,
                "--ca" => {
                    let path = value("--ca")?;
                    let pem =
                        std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
                    conn.ca_pem = Some(pem);
                    conn.tls = true;
                }
                "--tls-name" => {
                    conn.tls_name = Some(value("--tls-name")?);
                    conn.tls = true;
                }
                _ => rest.push(a),
            }
        }
        *args = rest;
        if conn.tls && !cfg!(feature = "tls") {
            return Err(
                "--tls (or --ca, --tls-name) needs the feature: cargo run --features tls --example …"
                    .into(),
            );
        }
        if conn.ca_pem.is_some() && conn.addr.is_none() {
            return Err(
                "--ca needs --addr: the built-in emulator has a certificate of its own, \
                 which the client trusts without --ca"
                    .into(),
            );
        }
        if conn.tls && conn.addr.is_none() {
            conn.emulator_cert = Some(emulator_cert()?);
            conn.ca_pem = conn
                .emulator_cert
                .as_ref()
                .map(|(c, _)| c.clone().into_bytes());
        }
        Ok(conn)
    }

    /// Connects (starting the emulator when no address was given) without
    /// logging in. The emulator, if any, is returned to keep it alive.
    pub fn connect(&self) -> Result<(Manager, Option<AmiServer>), String> {
        let (addr, server) = match &self.addr {
            Some(a) => (a.clone(), None),
            None => {
                let b = AmiServer::builder().credentials(&self.username, self.secret.expose());
                #[cfg(feature = "tls")]
                let b = match &self.emulator_cert {
                    Some((cert, key)) => b.tls(cert.as_bytes(), key.as_bytes()),
                    None => b,
                };
                let s = b
                    .start()
                    .map_err(|e| format!("cannot start the emulator: {e}"))?;
                (s.addr(), Some(s))
            }
        };
        let b = Manager::builder(addr.clone());
        #[cfg(feature = "tls")]
        let b = if self.tls {
            let tls = match &self.ca_pem {
                Some(pem) => astrix::tls::TlsConfig::with_ca_pem(pem).map_err(|e| e.to_string())?,
                None => astrix::tls::TlsConfig::new(),
            };
            b.tls(match &self.tls_name {
                Some(n) => tls.server_name(n.clone()),
                None => tls,
            })
        } else {
            b
        };
        let m = b.connect().map_err(|e| e.to_string())?;
        Ok((m, server))
    }

    /// Logs in.
    pub fn login(&self, m: &Manager) -> Result<(), String> {
        m.login(&self.username, self.secret.clone())
            .map_err(|e| e.to_string())
    }
}

/// A self-signed certificate for 127.0.0.1, for the emulator in TLS mode.
#[cfg(feature = "tls")]
fn emulator_cert() -> Result<(String, String), String> {
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    Ok((c.cert.pem(), c.signing_key.serialize_pem()))
}

#[cfg(not(feature = "tls"))]
fn emulator_cert() -> Result<(String, String), String> {
    Err("--tls needs the feature tls".into())
}
