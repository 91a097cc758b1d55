//! Opening the WebSocket (plain or TLS) and turning received messages into frame text.

use std::io::Read;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::header::{HeaderValue, AUTHORIZATION};
use tokio_tungstenite::tungstenite::Message;
#[cfg(any(feature = "rustls", feature = "native-tls"))]
use tokio_tungstenite::Connector;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Config;
use crate::error::HyperStackError;

/// The client's WebSocket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest decompressed frame accepted (guards against gzip bombs).
const MAX_FRAME: u64 = 64 * 1024 * 1024;

/// Opens a connection to `config.url`.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
pub(crate) async fn open(config: &Config) -> Result<Ws, HyperStackError> {
    let connector = if config.url.starts_with("wss://") {
        tls_connector(&config.tls_roots)?
    } else {
        Connector::Plain
    };
    let (ws, _response) = tokio_tungstenite::connect_async_tls_with_config(
        request(config)?,
        None,
        true,
        Some(connector),
    )
    .await
    .map_err(|e| connect_error(config, e))?;
    Ok(ws)
}

/// Opens a connection to `config.url` (`ws://` only: no TLS support compiled in).
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
pub(crate) async fn open(config: &Config) -> Result<Ws, HyperStackError> {
    if config.url.starts_with("wss://") {
        return Err(HyperStackError::Tls(
            "wss:// needs the `rustls` or `native-tls` feature of hyperstack-sdk".into(),
        ));
    }
    let (ws, _response) =
        tokio_tungstenite::connect_async_with_config(request(config)?, None, true)
            .await
            .map_err(|e| connect_error(config, e))?;
    Ok(ws)
}

/// The upgrade request: the URL, and `Authorization: Bearer` when a token is set.
fn request(config: &Config) -> Result<Request, HyperStackError> {
    let mut req = config
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| connect_error(config, e))?;
    if let Some(token) = &config.auth_token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            HyperStackError::Connect {
                url: config.shown_url(),
                message: "the auth token is not a valid header value".into(),
            }
        })?;
        req.headers_mut().insert(AUTHORIZATION, value);
    }
    Ok(req)
}

/// A connection error, with the tokens redacted from the URL and the message.
fn connect_error(config: &Config, e: tokio_tungstenite::tungstenite::Error) -> HyperStackError {
    HyperStackError::Connect {
        url: config.shown_url(),
        message: config.redact(&e.to_string()),
    }
}

#[cfg(feature = "rustls")]
fn tls_connector(extra_roots: &[Vec<u8>]) -> Result<Connector, HyperStackError> {
    use std::sync::Arc;

    use rustls::pki_types::CertificateDer;

    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra_roots {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| HyperStackError::Tls(format!("bad root certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HyperStackError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}

#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
fn tls_connector(extra_roots: &[Vec<u8>]) -> Result<Connector, HyperStackError> {
    let mut builder = native_tls::TlsConnector::builder();
    for der in extra_roots {
        let cert = native_tls::Certificate::from_der(der)
            .map_err(|e| HyperStackError::Tls(format!("bad root certificate: {e}")))?;
        builder.add_root_certificate(cert);
    }
    let connector = builder
        .build()
        .map_err(|e| HyperStackError::Tls(e.to_string()))?;
    Ok(Connector::NativeTls(connector))
}

/// A received message, as the connection sees it.
pub(crate) enum Incoming {
    /// Frame text (binary gzip frames already decompressed).
    Text(String),
    /// The server closed the connection.
    Closed(String),
    /// Nothing to handle (WebSocket ping/pong, or a malformed frame already logged).
    Skip,
}

/// Decodes one WebSocket message.
pub(crate) fn decode(msg: Message) -> Incoming {
    match msg {
        Message::Text(t) => Incoming::Text(t.to_string()),
        Message::Binary(b) => match gunzip(&b) {
            Ok(text) => Incoming::Text(text),
            Err(e) => {
                tracing::warn!(error = %e, len = b.len(), "skipping undecodable binary frame");
                Incoming::Skip
            }
        },
        Message::Close(frame) => Incoming::Closed(
            frame
                .map(|f| format!("closed by server ({}: {})", u16::from(f.code), f.reason))
                .unwrap_or_else(|| "closed by server".into()),
        ),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Incoming::Skip,
    }
}

/// Decompresses a gzip binary frame (`1f 8b` magic); other binary data is taken as UTF-8 text.
pub(crate) fn gunzip(bytes: &[u8]) -> Result<String, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = String::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_FRAME)
            .read_to_string(&mut out)
            .map_err(|e| format!("gzip: {e}"))?;
        Ok(out)
    } else {
        String::from_utf8(bytes.to_vec())
            .map_err(|e| format!("binary frame is not gzip or UTF-8: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn gunzips_and_rejects() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"{\"op\":\"pong\"}").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(gunzip(&gz).unwrap(), "{\"op\":\"pong\"}");
        assert!(gunzip(&[0x1f, 0x8b, 0, 1, 2]).is_err());
        assert!(gunzip(&[0xff, 0xfe]).is_err());
    }
}
