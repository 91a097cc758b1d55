//! `hs stream <url> --list-views`: the server's views from `GET /views`.

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Fetches `GET /views` from `http://host:port` and prints one line per view.
pub async fn list_views(http: &str) -> anyhow::Result<()> {
    let body = get(http, "/views").await?;
    let views: Vec<serde_json::Value> =
        serde_json::from_str(&body).context("GET /views did not return a JSON array")?;
    for v in &views {
        let sort = match v.get("sort") {
            Some(s) if !s.is_null() => format!(
                " sorted by {} {}",
                s["field"]
                    .as_array()
                    .map(|f| f
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join("."))
                    .unwrap_or_default(),
                s["order"].as_str().unwrap_or("")
            ),
            _ => String::new(),
        };
        println!(
            "{:<28} {:<6}{sort}  fields: {}",
            v["view"].as_str().unwrap_or("?"),
            v["mode"].as_str().unwrap_or("?"),
            v["fields"]
                .as_array()
                .map(|f| f
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// A minimal HTTP/1.1 GET (the health endpoint is plain HTTP on the server's own host).
async fn get(base: &str, path: &str) -> anyhow::Result<String> {
    let host = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    if base.starts_with("https://") {
        bail!("--http must be a plain http:// address (the health endpoint has no TLS)");
    }
    let mut stream = TcpStream::connect(&host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("malformed HTTP response")?;
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if status != "200" {
        bail!("GET {path} answered {status}");
    }
    Ok(body.to_string())
}
