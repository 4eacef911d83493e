//! [`ServerTls`]: the server side of TLS for the emulators: given a PEM
//! certificate chain and key, turns an accepted `TcpStream` into a
//! `Read + Write` stream whose clones write while the original reads.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

use crate::tls::{certs_from_pem, handshake, provider, TlsError, TlsStream};

/// A server certificate and key, ready to accept TLS connections.
#[derive(Clone)]
pub(crate) struct ServerTls {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Nothing about the key.
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads the certificate chain (leaf first) and the private key (PKCS#8,
    /// PKCS#1 or SEC1) from PEM.
    pub(crate) fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<ServerTls, TlsError> {
        let chain = certs_from_pem(cert_chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey,
            e => TlsError::Pem(Arc::new(e)),
        })?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::BadCertificate)?;
        Ok(ServerTls {
            config: Arc::new(config),
        })
    }

    /// Does the server handshake on `sock` within `timeout`.
    pub(crate) fn accept(&self, sock: TcpStream, timeout: Duration) -> Result<TlsStream, TlsError> {
        let peer = sock
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into());
        let conn = rustls::ServerConnection::new(self.config.clone()).map_err(TlsError::Config)?;
        handshake(conn.into(), sock, timeout, &peer)
    }
}
