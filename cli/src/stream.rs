//! `hs stream <url> <view>`: a live view of one view, for debugging. On a terminal it shows a
//! table of the view's entities that updates in place; with `--json`, or when stdout is not a
//! terminal, it prints every frame as one JSON line.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use hyperstack_sdk::store::{announced_caps, merge_patch};
use hyperstack_spec::wire::AppendCaps;

/// What to stream.
pub struct StreamArgs {
    /// Server URL (`ws://…` / `wss://…`).
    pub url: String,
    /// Full view name.
    pub view: String,
    /// Entity key (state views).
    pub key: Option<String>,
    /// JSON lines even on a terminal.
    pub json: bool,
    /// Stop after this many frames.
    pub max_frames: Option<usize>,
    /// How long to wait for a server that is not up yet.
    pub wait: Duration,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects, retrying for up to `wait` while the server is not up (said once on stderr).
async fn connect(url: &str, wait: Duration) -> anyhow::Result<Socket> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut said = false;
    loop {
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => return Ok(ws),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(e).with_context(|| format!("connecting to {url}"));
            }
            Err(e) => {
                if !said {
                    eprintln!("waiting for the server at {url} ({e})");
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Streams until the connection closes, Ctrl-C, or `max_frames`.
pub async fn stream(args: StreamArgs) -> anyhow::Result<()> {
    let mut ws = connect(&args.url, args.wait).await?;
    let subscribe =
        json!({"view": args.view, "key": args.key.clone().unwrap_or_else(|| "*".into())});
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    let json_lines = args.json || !std::io::stdout().is_terminal();
    let mut table = Table::new(&args.view);
    let mut frames = 0usize;
    let mut stdout = std::io::stdout();
    loop {
        let msg = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            m = ws.next() => m,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t.to_string(),
            Some(Ok(Message::Binary(b))) => gunzip(&b)?,
            Some(Ok(Message::Close(frame))) => {
                if let Some(f) = frame {
                    eprintln!("closed by the server: {} {}", u16::from(f.code), f.reason);
                }
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("connection failed: {e}"),
            None => break,
        };
        let frame: Value =
            serde_json::from_str(&text).context("the server sent a non-JSON frame")?;
        frames += 1;
        if json_lines {
            writeln!(stdout, "{frame}")?;
            stdout.flush()?;
        } else {
            table.apply(&frame);
            table.render_if_due(&mut stdout)?;
        }
        if frame["op"] == "error" {
            eprintln!("server error: {} {}", frame["code"], frame["message"]);
        }
        if args.max_frames.is_some_and(|max| frames >= max) {
            break;
        }
    }
    if !json_lines {
        table.render(&mut stdout)?;
    }
    Ok(())
}

fn gunzip(bytes: &[u8]) -> anyhow::Result<String> {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .take(64 << 20)
        .read_to_string(&mut out)
        .context("a binary frame is not valid gzip JSON")?;
    Ok(out)
}

/// The merged rows of the view, as the terminal table shows them.
struct Table {
    view: String,
    rows: BTreeMap<String, Value>,
    /// Append caps announced by the `subscribed` frame.
    caps: AppendCaps,
    last: String,
    rendered: Option<Instant>,
}

impl Table {
    fn new(view: &str) -> Table {
        Table {
            view: view.to_string(),
            rows: BTreeMap::new(),
            caps: AppendCaps::default(),
            last: String::new(),
            rendered: None,
        }
    }

    fn apply(&mut self, frame: &Value) {
        let op = frame["op"].as_str().unwrap_or_default();
        let key = frame["key"].as_str().unwrap_or_default().to_string();
        match op {
            "subscribed" => {
                self.caps =
                    announced_caps(frame.get("append_caps"), frame.get("append_default_cap"));
            }
            "snapshot" => {
                for row in frame["data"].as_array().into_iter().flatten() {
                    if let Some(k) = row["key"].as_str() {
                        self.rows.insert(k.to_string(), row["data"].clone());
                    }
                }
            }
            "upsert" => {
                self.rows.insert(key.clone(), frame["data"].clone());
            }
            "patch" => {
                let append: Vec<String> = frame["append"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect();
                let entry = self.rows.entry(key.clone()).or_insert_with(|| json!({}));
                merge_patch(entry, &frame["data"], &append, &self.caps);
            }
            "delete" => {
                self.rows.remove(&key);
            }
            _ => {}
        }
        self.last = format!("{op} {key}");
    }

    fn render_if_due(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if self
            .rendered
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return Ok(());
        }
        self.render(out)
    }

    fn render(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        use crossterm::{cursor, terminal, QueueableCommand};
        self.rendered = Some(Instant::now());
        let (width, height) = terminal::size().unwrap_or((120, 40));
        let columns: Vec<String> = self
            .rows
            .values()
            .next()
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter(|(k, v)| !k.starts_with('_') && !v.is_array() && !v.is_object())
                    .map(|(k, _)| k.clone())
                    .take(6)
                    .collect()
            })
            .unwrap_or_default();
        out.queue(cursor::MoveTo(0, 0))?;
        out.queue(terminal::Clear(terminal::ClearType::All))?;
        let fit = |s: String| s.chars().take(width as usize).collect::<String>();
        writeln!(
            out,
            "{}",
            fit(format!(
                "{} — {} entities — last: {}",
                self.view,
                self.rows.len(),
                self.last
            ))
        )?;
        let mut header = format!("{:<14}", "key");
        for c in &columns {
            header.push_str(&format!(" {:>16}", c.chars().take(16).collect::<String>()));
        }
        writeln!(out, "{}", fit(header))?;
        for (key, row) in self.rows.iter().take(height.saturating_sub(3) as usize) {
            let mut line = format!("{:<14}", key.chars().take(14).collect::<String>());
            for c in &columns {
                let cell = match &row[c] {
                    Value::String(s) => s.clone(),
                    Value::Null => "-".to_string(),
                    v => v.to_string(),
                };
                line.push_str(&format!(
                    " {:>16}",
                    cell.chars().take(16).collect::<String>()
                ));
            }
            writeln!(out, "{}", fit(line))?;
        }
        out.flush()
    }
}
