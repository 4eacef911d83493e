//! Connection flags shared by the AMI examples:
//! `--addr HOST:PORT --username U --secret S` (the secret may also come
//! from `ASTRIX_AMI_SECRET`); without `--addr`, the built-in emulator.
//! Built with `--features tls`: `--tls`, `--ca FILE` and `--tls-name NAME`
//! (`--ca` and `--tls-name` imply `--tls`; `--ca` needs `--addr`). Without
//! `--addr`, `--tls` makes the emulator speak TLS with a certificate made
//! on the spot, which the client then trusts.

use astrix::ami::{AmiError, Manager};
use astrix::testing::AmiServer;
use astrix::Secret;

use crate::cli::{Arg, Cli, Failure, Stop, FAILED, NO_CONNECTION};

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
    /// The defaults: the built-in emulator, user `admin`, the secret from
    /// `ASTRIX_AMI_SECRET` (else `wordpass`), no TLS.
    pub fn new() -> Conn {
        Conn {
            addr: None,
            username: "admin".into(),
            secret: Secret::new(
                std::env::var("ASTRIX_AMI_SECRET").unwrap_or_else(|_| "wordpass".into()),
            ),
            tls: false,
            ca_pem: None,
            tls_name: None,
            emulator_cert: None,
        }
    }

    /// Takes `arg` if it is a connection flag (reading its value from
    /// `cli`); any other argument is a usage error.
    pub fn take(&mut self, arg: Arg, cli: &mut Cli) -> Result<(), Stop> {
        match arg.flag() {
            Some("--addr") => self.addr = Some(cli.string("--addr")?),
            Some("--username") => self.username = cli.string("--username")?,
            Some("--secret") => self.secret = Secret::new(cli.string("--secret")?),
            Some("--tls") => self.tls = true,
            Some("--ca") => {
                let path = cli.value_os("--ca")?;
                let pem = std::fs::read(&path)
                    .map_err(|e| format!("--ca: cannot read {}: {e}", path.to_string_lossy()))?;
                self.ca_pem = Some(pem);
                self.tls = true;
            }
            Some("--tls-name") => {
                self.tls_name = Some(cli.string("--tls-name")?);
                self.tls = true;
            }
            _ => return Err(arg.unexpected()),
        }
        Ok(())
    }

    /// Checks the flags once all are read; with TLS and no `--addr`, makes
    /// the emulator's certificate (and trusts it).
    pub fn finish(mut self) -> Result<Conn, Stop> {
        if self.tls && !cfg!(feature = "tls") {
            return Err(
                "--tls (or --ca, --tls-name) needs the feature: cargo run --features tls --example …"
                    .into(),
            );
        }
        if self.ca_pem.is_some() && self.addr.is_none() {
            return Err(
                "--ca needs --addr: the built-in emulator has a certificate of its own, \
                 which the client trusts without --ca"
                    .into(),
            );
        }
        if self.tls && self.addr.is_none() {
            self.emulator_cert = Some(emulator_cert()?);
            self.ca_pem = self
                .emulator_cert
                .as_ref()
                .map(|(c, _)| c.clone().into_bytes());
        }
        Ok(self)
    }

    /// Connects (starting the emulator when no address was given) without
    /// logging in. The emulator, if any, is returned to keep it alive.
    /// Fails with [`NO_CONNECTION`] when Asterisk cannot be reached,
    /// [`FAILED`] when the emulator cannot start, `USAGE` for a `--ca`
    /// that holds no certificate.
    pub fn connect(&self) -> Result<(Manager, Option<AmiServer>), Failure> {
        let (addr, server) = match &self.addr {
            Some(a) => (a.clone(), None),
            None => {
                let b = AmiServer::builder().credentials(&self.username, self.secret.expose());
                #[cfg(feature = "tls")]
                let b = match &self.emulator_cert {
                    Some((cert, key)) => b.tls(cert.as_bytes(), key.as_bytes()),
                    None => b,
                };
                let s = b.start().map_err(|e| Failure {
                    code: FAILED,
                    message: format!("cannot start the emulator: {e}"),
                })?;
                (s.addr(), Some(s))
            }
        };
        let b = Manager::builder(addr.clone());
        #[cfg(feature = "tls")]
        let b = if self.tls {
            let tls = match &self.ca_pem {
                Some(pem) => astrix::tls::TlsConfig::with_ca_pem(pem).map_err(|e| Failure {
                    code: crate::cli::USAGE,
                    message: format!("--ca: {e}"),
                })?,
                None => astrix::tls::TlsConfig::new(),
            };
            b.tls(match &self.tls_name {
                Some(n) => tls.server_name(n.clone()),
                None => tls,
            })
        } else {
            b
        };
        let m = b.connect()?;
        Ok((m, server))
    }

    /// Logs in; fails with [`NO_CONNECTION`] when refused.
    pub fn login(&self, m: &Manager) -> Result<(), Failure> {
        Ok(m.login(&self.username, self.secret.clone())?)
    }
}

/// An AMI error as a [`Failure`]: [`NO_CONNECTION`] when Asterisk cannot
/// be reached, refuses the login or stops answering; [`FAILED`] otherwise
/// (an `Error` response, a reply that makes no sense).
impl From<AmiError> for Failure {
    fn from(e: AmiError) -> Failure {
        let code = match &e {
            AmiError::Connect { .. }
            | AmiError::BadBanner(_)
            | AmiError::Timeout { .. }
            | AmiError::Disconnected(_)
            | AmiError::Authentication { .. } => NO_CONNECTION,
            #[cfg(feature = "tls")]
            AmiError::Tls(_) => NO_CONNECTION,
            _ => FAILED,
        };
        Failure {
            code,
            // The whole chain: `cannot connect to …: Connection refused`.
            message: astrix::ErrorChain(&e).to_string(),
        }
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
