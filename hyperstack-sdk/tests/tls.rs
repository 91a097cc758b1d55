//! `wss://` against a local TLS endpoint with a self-signed certificate that the test trusts
//! explicitly (verification stays on): a TLS-terminating proxy in front of the real server.

#![cfg(any(feature = "rustls", feature = "native-tls"))]

mod common;

use std::sync::Arc;

use common::*;
use hyperstack_sdk::prelude::*;
use pump_stack::TokenEntity;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;

/// Serves TLS for `localhost` on 127.0.0.1 and forwards the plaintext to `upstream`.
async fn tls_front(upstream: std::net::SocketAddr) -> (u16, Vec<u8>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_der = certified.cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(
        rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key_der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (port, cert_der.to_vec())
}

#[tokio::test]
async fn wss_with_a_trusted_self_signed_certificate() {
    let server = start().await;
    send(&server, token("tls", json!({"name": "secure"}))).await;
    let (port, cert) = tls_front(server.local_addr()).await;
    let url = format!("wss://localhost:{port}");

    // Not trusted: the handshake fails (verification is on).
    let err = HyperStack::connect(url.clone()).await.unwrap_err();
    assert!(matches!(err, HyperStackError::Connect { .. }), "{err}");

    let hs = HyperStack::builder()
        .url(url)
        .tls_root_certificate(cert)
        .connect()
        .await
        .expect("trusted wss connects");
    let t = hs.get::<TokenEntity>("tls").await.expect("token over TLS");
    assert_eq!(t.name.as_deref(), Some("secure"));
    let mut w = hs.watch::<TokenEntity>();
    assert_eq!(next(&mut w).await.key(), "tls");
    // A large (gzip) frame through TLS too.
    let long = "x".repeat(4000);
    send(&server, token("tls", json!({"name": long}))).await;
    let u = next(&mut w).await;
    assert_eq!(
        u.data().and_then(|t| t.name.as_ref()).map(String::len),
        Some(4000)
    );

    let bad = HyperStack::builder()
        .url("wss://localhost:1")
        .tls_root_certificate(vec![1, 2, 3])
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(
            bad,
            HyperStackError::Tls(_) | HyperStackError::Connect { .. }
        ),
        "{bad}"
    );
}
