//! TLS for the network clients (cargo feature `tls`): [`TlsConfig`] says
//! which certificates to trust, [`TlsError`] what went wrong.
//!
//! Certificates are always verified: against Mozilla's root certificates
//! (the `webpki-roots` crate) by default, or against a private CA that you
//! give as PEM or DER. There is no way to turn verification off; for a
//! self-signed certificate, trust that certificate itself
//! ([`TlsConfig::with_ca_pem`] accepts it as its own CA).
//!
//! The server's certificate is checked against the host of the address you
//! connect to (a DNS name or an IP address); [`TlsConfig::server_name`]
//! checks another name, for example when you connect by IP address to a
//! certificate issued for a DNS name.
//!
//! TLS is done by rustls with its `ring` provider, chosen explicitly: no
//! process-wide default provider is needed or installed.
//!
//! ```
//! use astrix::ami::Manager;
//! use astrix::tls::TlsConfig;
//!
//! # fn run(ca_pem: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! // Asterisk's AMI over TLS listens on port 5039 (manager.conf, [general]:
//! // tlsenable=yes, tlsbindaddr=0.0.0.0:5039, tlscertfile=…, tlsprivatekey=…).
//! let tls = TlsConfig::with_ca_pem(ca_pem)?.server_name("pbx.example.com");
//! let manager = Manager::builder("192.0.2.10:5039").tls(tls).connect()?;
//! manager.login("admin", "wordpass")?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

mod stream;

pub(crate) use stream::{handshake, TlsStream};

/// Errors of TLS: a certificate or key that cannot be used, a name that
/// cannot be checked, or a handshake that failed.
///
/// The error of rustls (or of the socket) is kept as the
/// [`source`](std::error::Error::source) and is not repeated in the
/// message; [`ErrorChain`](crate::ErrorChain) prints both.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The PEM input could not be read; the PEM parser's error is the
    /// source.
    #[error("bad PEM input")]
    Pem(#[source] Arc<rustls_pki_types::pem::Error>),
    /// The PEM input held no certificate.
    #[error("no certificate found in the PEM input")]
    NoCertificate,
    /// The PEM input held no private key.
    #[error("no private key found in the PEM input")]
    NoPrivateKey,
    /// A certificate (or key) was read but cannot be used: not a valid
    /// X.509 certificate for a trust anchor, or a key that does not suit
    /// the certificate. rustls' error is the source.
    #[error("unusable certificate or key")]
    BadCertificate(#[source] rustls::Error),
    /// The name to check the server's certificate against is neither a DNS
    /// name nor an IP address.
    #[error("invalid TLS server name {0:?}")]
    InvalidServerName(String),
    /// The peer's certificate was refused: not signed by a trusted CA, not
    /// valid for the name checked, expired, …
    #[error("certificate of {peer} refused")]
    Certificate {
        /// The name checked (client side) or the peer's address.
        peer: String,
        /// What rustls said (an
        /// [`InvalidCertificate`](rustls::Error::InvalidCertificate)).
        #[source]
        source: rustls::Error,
    },
    /// The handshake failed for another reason: an alert from the peer
    /// (which may have refused our certificate or offer), a protocol error
    /// (such as a peer that does not speak TLS: AMI without TLS is on port
    /// 5038, with TLS on 5039), or the connection closing.
    #[error("TLS handshake with {peer} failed")]
    Handshake {
        /// The name checked (client side) or the peer's address.
        peer: String,
        /// What the socket said: an `InvalidData` error wrapping the
        /// [`rustls::Error`] (reach it with [`io::Error::get_ref`]) for an
        /// alert or a protocol error, `UnexpectedEof` for a connection
        /// closed during the handshake, `ConnectionReset`…
        #[source]
        source: Arc<io::Error>,
    },
    /// The handshake did not finish in time.
    #[error("TLS handshake with {peer} timed out after {after:?}")]
    Timeout {
        /// The name checked (client side) or the peer's address.
        peer: String,
        /// The time allowed.
        after: Duration,
    },
    /// rustls refused the settings; its error is the source.
    #[error("TLS configuration refused")]
    Config(#[source] rustls::Error),
    /// The settings cannot be expressed for this client: ARI's REST calls
    /// (ureq) check the URL's host and take either Mozilla's roots or
    /// private CAs, not both.
    #[error("TLS configuration not supported: {0}")]
    Unsupported(&'static str),
}

/// Which certificates a TLS client trusts and which name it checks; see
/// the [module documentation](self).
///
/// The default trusts Mozilla's root certificates. A private CA replaces
/// them ([`TlsConfig::with_ca_pem`], [`TlsConfig::with_ca_der`]) or is
/// trusted in addition ([`TlsConfig::add_ca_pem`],
/// [`TlsConfig::add_ca_der`]).
///
/// ```no_run
/// use astrix::tls::TlsConfig;
///
/// // Mozilla's roots, the certificate checked against the host connected to.
/// let public = TlsConfig::new();
/// // Only a private CA (a PEM file may hold several certificates).
/// let ca_pem = std::fs::read("/etc/asterisk/keys/ca.crt")?;
/// let private = TlsConfig::with_ca_pem(&ca_pem)?;
/// // Connected by IP address, the certificate names the host.
/// let by_ip = private.clone().server_name("pbx.example.com");
/// # let _ = (public, by_ip);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    roots: Arc<RootCertStore>,
    mozilla: bool,
    /// The private CAs as given (DER), for clients that build their own
    /// verifier (ARI's HTTP client).
    private_ders: Arc<Vec<CertificateDer<'static>>>,
    server_name: Option<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("mozilla_roots", &self.mozilla)
            .field("private_cas", &self.private_ders.len())
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsConfig {
    /// Trusts Mozilla's root certificates (the `webpki-roots` crate), as
    /// for a certificate from a public CA.
    pub fn new() -> Self {
        TlsConfig {
            roots: Arc::new(RootCertStore::from_iter(
                webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
            )),
            mozilla: true,
            private_ders: Arc::default(),
            server_name: None,
        }
    }

    /// Trusts only the CA certificates in `pem` (every `CERTIFICATE`
    /// section; other sections are skipped), not Mozilla's roots. A
    /// self-signed server certificate can be given here as its own CA.
    pub fn with_ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        Self::empty().add_ca_pem(pem)
    }

    /// Trusts only the CA certificate `der` (DER-encoded), not Mozilla's
    /// roots.
    pub fn with_ca_der(der: &[u8]) -> Result<Self, TlsError> {
        Self::empty().add_ca_der(der)
    }

    /// Trusts the CA certificates in `pem` in addition to those trusted
    /// already (on [`TlsConfig::new`]: in addition to Mozilla's roots).
    pub fn add_ca_pem(self, pem: &[u8]) -> Result<Self, TlsError> {
        self.add_all(certs_from_pem(pem)?)
    }

    /// Trusts the CA certificate `der` (DER-encoded) in addition to those
    /// trusted already.
    pub fn add_ca_der(self, der: &[u8]) -> Result<Self, TlsError> {
        self.add_all(vec![CertificateDer::from(der.to_vec())])
    }

    /// Checks the server's certificate against `name` (a DNS name or an IP
    /// address) instead of the host of the address connected to. The name
    /// is checked when connecting: one that is neither fails then with
    /// [`TlsError::InvalidServerName`].
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    fn empty() -> Self {
        TlsConfig {
            roots: Arc::new(RootCertStore::empty()),
            mozilla: false,
            private_ders: Arc::default(),
            server_name: None,
        }
    }

    fn add_all(mut self, certs: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let roots = Arc::make_mut(&mut self.roots);
        for c in certs {
            roots.add(c.clone()).map_err(TlsError::BadCertificate)?;
            Arc::make_mut(&mut self.private_ders).push(c);
        }
        Ok(self)
    }

    /// A rustls client configuration trusting these roots, with the ring
    /// provider and rustls' safe default protocol versions (TLS 1.2 and
    /// 1.3). Build it once per connection target and reuse it: it carries
    /// the session cache that lets a reconnection resume.
    fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_root_certificates(self.roots.clone())
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// The name to check the certificate of `host` against: the override,
    /// or `host` itself. The one place where the brackets of an IPv6
    /// literal (`[::1]`, as [`host_of`] and URLs give it) are removed.
    pub(crate) fn server_name_for(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        let name = self.server_name.as_deref().unwrap_or(host);
        let bare = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        ServerName::try_from(bare.to_owned()).map_err(|_| TlsError::InvalidServerName(name.into()))
    }

    /// The same trust for ureq (ARI's REST calls). ureq takes either
    /// Mozilla's roots or a list of certificates, and checks the URL's
    /// host: private CAs added to Mozilla's roots, and a
    /// [`server_name`](TlsConfig::server_name) override, cannot be
    /// expressed and are refused rather than silently weakened or ignored.
    #[cfg(feature = "ari")]
    pub(crate) fn ureq_config(&self) -> Result<ureq::tls::TlsConfig, TlsError> {
        use ureq::tls::{Certificate, RootCerts};
        if self.server_name.is_some() {
            return Err(TlsError::Unsupported(
                "ARI over https checks the URL's host; put the certificate's name in the URL instead of server_name()",
            ));
        }
        let roots = match (self.mozilla, self.private_ders.is_empty()) {
            (true, true) => RootCerts::WebPki,
            (false, _) => RootCerts::Specific(Arc::new(
                self.private_ders.iter().map(|c| Certificate::from_der(c).to_owned()).collect(),
            )),
            (true, false) => {
                return Err(TlsError::Unsupported(
                    "ARI over https takes either Mozilla's roots or private CAs, not both; use TlsConfig::with_ca_pem",
                ))
            }
        };
        Ok(ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(roots)
            .build())
    }

    /// A [`Connector`] for `host`: the client configuration and the name
    /// to check, built once.
    pub(crate) fn connector(&self, host: &str) -> Result<Connector, TlsError> {
        Ok(Connector {
            config: self.client_config()?,
            name: self.server_name_for(host)?,
        })
    }
}

/// The host part of `host:port` (`[v6]:port` keeps its brackets, which
/// [`TlsConfig::server_name_for`] removes); the whole string when there is
/// no port.
pub(crate) fn host_of(addr: &str) -> &str {
    if addr.starts_with('[') {
        return match addr.find(']') {
            Some(end) => &addr[..=end],
            None => addr,
        };
    }
    match addr.rsplit_once(':') {
        // More than one colon and no brackets: a bare IPv6 address.
        Some((host, _)) if !host.contains(':') => host,
        _ => addr,
    }
}

/// The crypto provider of every TLS configuration: rustls' `ring`, chosen
/// explicitly (no process-wide default needed).
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every `CERTIFICATE` section of `pem` (other sections are skipped);
/// [`TlsError::NoCertificate`] if there is none.
pub(crate) fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(Arc::new(e)))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

/// What a TLS client needs to wrap a socket: the rustls configuration and
/// the name to check the certificate against.
#[derive(Clone, Debug)]
pub(crate) struct Connector {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl Connector {
    /// Does the client handshake on `sock` within `timeout`.
    pub(crate) fn connect(
        &self,
        sock: std::net::TcpStream,
        timeout: Duration,
    ) -> Result<TlsStream, TlsError> {
        let peer = self.name.to_str().into_owned();
        let conn = rustls::ClientConnection::new(self.config.clone(), self.name.clone())
            .map_err(TlsError::Config)?;
        handshake(conn.into(), sock, timeout, &peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_addresses() {
        assert_eq!(host_of("pbx.example.com:5039"), "pbx.example.com");
        assert_eq!(host_of("127.0.0.1:5039"), "127.0.0.1");
        assert_eq!(host_of("[::1]:5039"), "[::1]");
        assert_eq!(host_of("::1"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn server_names() {
        let c = TlsConfig::new();
        assert!(matches!(
            c.server_name_for("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            c.server_name_for("[::1]"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            c.server_name_for("localhost"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(matches!(
            c.server_name_for("not a name"),
            Err(TlsError::InvalidServerName(_))
        ));
        let o = c.server_name("pbx.example.com");
        let name = o
            .server_name_for("10.0.0.1")
            .map(|n| n.to_str().into_owned());
        assert!(matches!(name.as_deref(), Ok("pbx.example.com")), "{name:?}");
    }

    #[test]
    fn pem_errors() {
        assert!(matches!(
            TlsConfig::with_ca_pem(b"nothing here"),
            Err(TlsError::NoCertificate)
        ));
        assert!(matches!(
            TlsConfig::with_ca_pem(
                b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"
            ),
            Err(TlsError::Pem(_))
        ));
        assert!(matches!(
            TlsConfig::with_ca_der(b"not DER"),
            Err(TlsError::BadCertificate(_))
        ));
        assert!(TlsConfig::new().client_config().is_ok());
    }
}
