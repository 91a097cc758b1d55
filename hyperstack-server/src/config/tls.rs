//! TLS for the WebSocket listener (`wss://`), with rustls.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The PEM holds no certificate.
    #[error("no certificate found in the PEM data")]
    NoCertificate,
    /// The PEM data is not valid (the certificate chain, or the private key).
    #[error("invalid PEM ({what}): {message}")]
    Pem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The parser's message.
        message: String,
    },
    /// rustls refused the certificate and key (e.g. they do not match).
    #[error("the certificate and key are not usable: {0}")]
    Rustls(String),
}

/// A certificate chain and its private key, ready to serve `wss://`.
///
/// ```no_run
/// use hyperstack_server::{TlsConfig, WebSocketConfig};
/// let ws = WebSocketConfig {
///     tls: Some(TlsConfig::from_pem_files("cert.pem", "key.pem")?),
///     ..WebSocketConfig::default()
/// };
/// # Ok::<(), hyperstack_server::TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<rustls::ServerConfig>,
    /// The leaf certificate (DER): what identifies this configuration.
    leaf: Arc<[u8]>,
    chain_len: usize,
}

impl TlsConfig {
    /// From a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1).
    pub fn from_pem(cert_chain: &[u8], private_key: &[u8]) -> Result<TlsConfig, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem {
                what: "certificate",
                message: e.to_string(),
            })?;
        let key = PrivateKeyDer::from_pem_slice(private_key).map_err(|e| TlsError::Pem {
            what: "private key",
            message: e.to_string(),
        })?;
        TlsConfig::from_der(certs, key)
    }

    /// From PEM files (see [`TlsConfig::from_pem`]).
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
    ) -> Result<TlsConfig, TlsError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| TlsError::Read {
                path: p.display().to_string(),
                source,
            })
        };
        TlsConfig::from_pem(&read(cert_chain.as_ref())?, &read(private_key.as_ref())?)
    }

    /// From DER certificates (leaf first) and a DER private key.
    pub fn from_der(
        cert_chain: Vec<CertificateDer<'static>>,
        private_key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, TlsError> {
        let leaf: Arc<[u8]> = match cert_chain.first() {
            Some(c) => Arc::from(c.as_ref()),
            None => return Err(TlsError::NoCertificate),
        };
        let chain_len = cert_chain.len();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(cert_chain, private_key)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        Ok(TlsConfig {
            server: Arc::new(server),
            leaf,
            chain_len,
        })
    }

    /// The rustls configuration the listener uses.
    pub(crate) fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.server.clone()
    }
}

impl fmt::Debug for TlsConfig {
    // Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("certificates", &self.chain_len)
            .finish_non_exhaustive()
    }
}

impl PartialEq for TlsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.leaf == other.leaf && self.chain_len == other.chain_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_garbage_and_missing_certificates() {
        assert!(matches!(
            TlsConfig::from_pem(b"", b""),
            Err(TlsError::Pem { .. } | TlsError::NoCertificate)
        ));
        let err = TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    }
}
