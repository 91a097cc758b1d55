//! hyperstack examples: stack specs under `examples/<stack>/`, deterministic data generators
//! for them, and the programs that use them.

#![warn(missing_docs)]

pub mod alerts;
pub mod generator;
pub mod screen;
pub mod story;

/// The example server's default WebSocket port; the example clients' default URL points at it.
pub const DEFAULT_PORT: u16 = 8877;

/// The example server's default HTTP port (`/health`, `/ready`, `/views`, `/metrics`).
pub const DEFAULT_HTTP_PORT: u16 = 8081;

/// The example clients' default server URL: the example server's default address.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:8877";

/// Connects to `url`, waiting up to `patience` for a server that is still starting (the
/// README's one-line examples start the server and the client together). Says once that it is
/// waiting.
pub async fn connect_when_up(
    url: &str,
    patience: std::time::Duration,
) -> Result<hyperstack_sdk::HyperStack, hyperstack_sdk::HyperStackError> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut said = false;
    loop {
        match hyperstack_sdk::HyperStack::connect(url).await {
            Ok(hs) => return Ok(hs),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(e) => {
                if !said {
                    eprintln!("waiting for the server at {url} ({e})");
                    said = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
    }
}
