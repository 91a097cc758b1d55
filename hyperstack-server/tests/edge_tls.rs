//! The WebSocket listener's own TLS (`wss://`), with a self-signed certificate the client
//! trusts explicitly (verification on); a plaintext client is refused at the handshake.

mod hostile_support;

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use hostile_support::{refused, WAIT};
use hyperstack_server::metrics::RefusalReason;
use hyperstack_server::{EntityCacheConfig, Server, TlsConfig, WebSocketConfig};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::Message;

/// PEM text of DER bytes.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn wss_with_a_self_signed_certificate() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let tls = TlsConfig::from_pem(
        pem("CERTIFICATE", certified.cert.der()).as_bytes(),
        pem("PRIVATE KEY", &certified.signing_key.serialize_der()).as_bytes(),
    )
    .expect("a usable certificate");
    assert!(
        !format!("{tls:?}").contains("PRIVATE"),
        "Debug shows no key"
    );
    let server = Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(WebSocketConfig {
            bind_address: "127.0.0.1:0".parse().unwrap(),
            tls: Some(tls),
            ..WebSocketConfig::default()
        })
        .entity_cache_config(EntityCacheConfig::default())
        .spawn()
        .await
        .unwrap();
    let addr = server.local_addr();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let url = format!("wss://localhost:{}", addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("WebSocket over TLS");
    ws.send(Message::Text(r#"{"view":"Token/list","id":"tls"}"#.into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let reply: serde_json::Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    assert_eq!(
        (reply["op"].as_str(), reply["id"].as_str()),
        (Some("subscribed"), Some("tls"))
    );

    // Plain ws:// to the TLS listener: no upgrade.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let plain = tokio_tungstenite::client_async(format!("ws://{addr}"), tcp).await;
    assert!(plain.is_err());
    let deadline = tokio::time::Instant::now() + WAIT;
    while refused(&server, RefusalReason::HandshakeFailed) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refusal is counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.shutdown(WAIT).await;
}
