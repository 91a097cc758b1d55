//! A small HTTP/1.1 client for one JSON-RPC endpoint: `POST` a JSON body, read the answer
//! (at most [`MAX_ANSWER`] bytes), over TCP or TLS (rustls with the webpki roots), reusing
//! idle connections.
//!
//! Errors never contain the endpoint's URL (it may carry an API key).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Largest answer read (bytes).
pub(crate) const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// The endpoint URL cannot be used.
    #[error("invalid endpoint URL: {0}")]
    Endpoint(&'static str),
    /// No connection.
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// The TLS handshake failed.
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// The answer is larger than [`MAX_ANSWER`] or broke off.
    #[error("reading the answer: {0}")]
    Body(String),
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    /// `Host` header.
    authority: String,
    path_and_query: String,
}

fn parse(url: &str) -> Result<Target, HttpError> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(HttpError::Endpoint(
            "it must start with http:// or https://",
        ));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return Err(HttpError::Endpoint(
            "user info (`user@host`) is not supported; pass the key in the path or query",
        ));
    }
    let mut path_and_query = rest[end..]
        .split('#')
        .next()
        .unwrap_or_default()
        .to_string();
    if path_and_query.is_empty() || path_and_query.starts_with('?') {
        path_and_query.insert(0, '/');
    }
    let default_port = if https { 443 } else { 80 };
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 address: `[::1]` or `[::1]:port`.
        Some(bracketed) => {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or(HttpError::Endpoint("an unclosed `[` in the host"))?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| HttpError::Endpoint("the port is not a number"))?,
        None => default_port,
    };
    if host.is_empty() {
        return Err(HttpError::Endpoint("no host"));
    }
    Ok(Target {
        https,
        host: host.to_string(),
        port,
        authority: authority.to_string(),
        path_and_query,
    })
}

/// A client of one endpoint.
pub(crate) struct HttpClient {
    target: Target,
    tls: Option<tokio_rustls::TlsConnector>,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    max_idle: usize,
}

impl HttpClient {
    /// A client of `url`, keeping at most `max_idle` idle connections; `https://` trusts the
    /// webpki roots and `extra_roots` (DER certificates).
    pub fn new(
        url: &str,
        max_idle: usize,
        extra_roots: &[Vec<u8>],
    ) -> Result<HttpClient, HttpError> {
        let target = parse(url)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for der in extra_roots {
            roots
                .add(rustls::pki_types::CertificateDer::from(der.clone()))
                .map_err(|_| HttpError::Endpoint("an extra root certificate is not valid DER"))?;
        }
        let tls = target.https.then(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .map(|config| tokio_rustls::TlsConnector::from(Arc::new(config)))
        });
        let tls = match tls {
            Some(Ok(connector)) => Some(connector),
            Some(Err(_)) => return Err(HttpError::Endpoint("no TLS protocol version available")),
            None => None,
        };
        Ok(HttpClient {
            target,
            tls,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, HttpError> {
        let t = &self.target;
        let tcp = TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(HttpError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let sender = match &self.tls {
            None => {
                let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                sender
            }
            Some(connector) => {
                let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                    .map_err(|_| HttpError::Endpoint("the host is not a valid TLS server name"))?;
                let stream = connector.connect(name, tcp).await.map_err(HttpError::Tls)?;
                let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                sender
            }
        };
        Ok(sender)
    }

    /// An idle connection that is still usable, or a new one.
    async fn sender(&self) -> Result<SendRequest<Full<Bytes>>, HttpError> {
        loop {
            let idle = self.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
            let Some(mut sender) = idle else {
                return self.connect().await;
            };
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
    }

    /// POSTs `body` (JSON); returns the status and the answer's body unread, for answers
    /// too large to hold at once (the caller reads it piece by piece, with its own bound).
    /// The connection is not reused afterwards.
    pub async fn post_json_streaming(
        &self,
        body: Vec<u8>,
    ) -> Result<(u16, hyper::body::Incoming), HttpError> {
        let mut sender = self.sender().await?;
        let response = sender.send_request(self.request(body)?).await?;
        Ok((response.status().as_u16(), response.into_body()))
    }

    fn request(&self, body: Vec<u8>) -> Result<hyper::Request<Full<Bytes>>, HttpError> {
        hyper::Request::post(self.target.path_and_query.as_str())
            .header(hyper::header::HOST, self.target.authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| HttpError::Endpoint("the path is not a valid request target"))
    }

    /// POSTs `body` (JSON); returns the status and the answer's bytes.
    pub async fn post_json(&self, body: Vec<u8>) -> Result<(u16, Bytes), HttpError> {
        let mut sender = self.sender().await?;
        let response = sender.send_request(self.request(body)?).await?;
        let status = response.status().as_u16();
        let bytes = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| HttpError::Body(e.to_string()))?
            .to_bytes();
        if !sender.is_closed() {
            if let Ok(mut idle) = self.idle.lock() {
                if idle.len() < self.max_idle {
                    idle.push(sender);
                }
            }
        }
        Ok((status, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        let t = parse("https://rpc.example.com/?api-key=k").unwrap();
        assert_eq!(
            t,
            Target {
                https: true,
                host: "rpc.example.com".into(),
                port: 443,
                authority: "rpc.example.com".into(),
                path_and_query: "/?api-key=k".into(),
            }
        );
        let t = parse("http://127.0.0.1:8899").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path_and_query.as_str()),
            ("127.0.0.1", 8899, "/")
        );
        let t = parse("https://[::1]").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 443));
        let t = parse("http://[::1]:9000/rpc/abc#frag").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path_and_query.as_str()),
            ("::1", 9000, "/rpc/abc")
        );
        assert!(parse("ftp://x").is_err());
        assert!(parse("https://user:key@host/").is_err());
        assert!(parse("http://host:port/").is_err());
        assert!(parse("http:///path").is_err());
    }

    /// An HTTPS endpoint for `localhost` with a self-signed certificate: answers every POST
    /// with its body, counting the connections it accepted.
    async fn tls_echo() -> (u16, Vec<u8>, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = certified.cert.der().to_vec();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone().into()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        |req: hyper::Request<hyper::body::Incoming>| async move {
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(body)))
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        (port, cert, connections)
    }

    #[tokio::test]
    async fn posts_over_tls_and_reuses_the_connection() {
        use std::sync::atomic::Ordering;
        let (port, cert, connections) = tls_echo().await;
        let url = format!("https://localhost:{port}/?api-key=k");
        // Not trusted: the handshake fails (verification is on).
        let untrusted = HttpClient::new(&url, 2, &[]).unwrap();
        assert!(matches!(
            untrusted.post_json(b"{}".to_vec()).await,
            Err(HttpError::Tls(_))
        ));
        let client = HttpClient::new(&url, 2, &[cert]).unwrap();
        for i in 0..3 {
            let body = format!("{{\"n\":{i}}}").into_bytes();
            let (status, answer) = client.post_json(body.clone()).await.unwrap();
            assert_eq!((status, answer.to_vec()), (200, body));
        }
        assert_eq!(
            connections.load(Ordering::SeqCst),
            2,
            "one refused, then one connection for three requests"
        );
    }

    #[test]
    fn errors_do_not_show_the_endpoint() {
        let e = parse("https://a:SECRET@host/").unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "{e}");
    }
}
