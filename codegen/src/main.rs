//! `hs`: the hyperstack command line.

mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};

use hyperstack_codegen::workspace::{discover, generate_for, staleness, Staleness, WorkspaceError};
use hyperstack_codegen::{generate, write_crate, CrateOptions, DependencySource};

#[derive(Parser)]
#[command(
    name = "hs",
    version,
    about = "hyperstack: typed, live Solana entity streams"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate client SDKs.
    Sdk {
        #[command(subcommand)]
        command: SdkCommand,
    },
    /// Regenerate every stack under examples/ into generated/ (or check they are fresh).
    Generate {
        /// Exit non-zero, listing stale files, instead of writing.
        #[arg(long)]
        check: bool,
        /// Workspace root (default: the current directory).
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Print the JSON Schema of stack spec files.
    Schema,
    /// Load and validate a stack spec, printing its entities and views.
    Check {
        /// The stack spec file.
        spec: PathBuf,
    },
    /// Watch a view of a running server: a live table on a terminal, JSON lines otherwise.
    Stream {
        /// Server URL, e.g. ws://127.0.0.1:8877.
        url: String,
        /// View name, e.g. Token/list (not needed with --list-views).
        view: Option<String>,
        /// Entity key, for state views.
        #[arg(long)]
        key: Option<String>,
        /// Print one JSON line per frame even on a terminal.
        #[arg(long)]
        json: bool,
        /// List the server's views (GET /views on the health address) instead of streaming.
        #[arg(long)]
        list_views: bool,
        /// The server's HTTP health address, for --list-views (default: the URL's host, port 8081).
        #[arg(long)]
        http: Option<String>,
        /// Stop after this many frames.
        #[arg(long)]
        max_frames: Option<usize>,
    },
    /// Record or replay Solana updates in the replay format (docs/REPLAY.md).
    Replay {
        #[command(subcommand)]
        command: ReplayCommand,
    },
}

#[derive(Subcommand)]
enum ReplayCommand {
    /// Record a live Yellowstone stream of a stack's programs into a replay file.
    Record {
        /// The stack spec whose programs to record.
        spec: PathBuf,
        /// Yellowstone gRPC endpoint (default: $YELLOWSTONE_ENDPOINT).
        #[arg(long, env = "YELLOWSTONE_ENDPOINT")]
        endpoint: String,
        /// x-token (default: $YELLOWSTONE_TOKEN).
        #[arg(long, env = "YELLOWSTONE_TOKEN")]
        token: Option<String>,
        /// Output file (JSON Lines).
        #[arg(long, short)]
        out: PathBuf,
        /// Stop after this many updates.
        #[arg(long)]
        max_updates: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
    },
}

#[derive(Subcommand)]
enum SdkCommand {
    /// Create a typed Rust crate from a stack spec.
    Create {
        /// Target language.
        language: Language,
        /// The stack spec file (`*.stack.toml` or JSON).
        spec: PathBuf,
        /// Output directory (default: `generated/<name>-stack`).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Package name (default: `<name>-stack`).
        #[arg(long)]
        crate_name: Option<String>,
        /// Take hyperstack-sdk from this hyperstack checkout instead of crates.io.
        #[arg(long, conflicts_with = "workspace_deps")]
        hyperstack_path: Option<PathBuf>,
        /// Use `workspace = true` dependencies (for crates inside the hyperstack workspace).
        #[arg(long)]
        workspace_deps: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Language {
    Rust,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            let text = format!("{e:#}");
            // Spec errors arrive as `error: …` lines already.
            if text.starts_with("error: ") {
                eprintln!("{text}");
            } else {
                eprintln!("error: {text}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sdk {
            command:
                SdkCommand::Create {
                    language: Language::Rust,
                    spec,
                    output,
                    crate_name,
                    hyperstack_path,
                    workspace_deps,
                },
        } => {
            let stack = hyperstack_spec::load_stack(&spec).map_err(anyhow::Error::msg)?;
            let mut opts = CrateOptions::new(&stack.name);
            if let Some(name) = crate_name {
                opts.crate_name = name;
            }
            opts.spec_label = spec.to_string_lossy().replace('\\', "/");
            if workspace_deps {
                opts.dependency = DependencySource::Workspace;
            } else if let Some(p) = hyperstack_path {
                let abs = std::fs::canonicalize(&p)
                    .with_context(|| format!("--hyperstack-path {}", p.display()))?;
                opts.dependency = DependencySource::Path(abs);
            }
            let dir = output.unwrap_or_else(|| Path::new("generated").join(&opts.crate_name));
            let files = generate(&stack).crate_files(&opts);
            write_crate(&dir, &files).with_context(|| format!("writing {}", dir.display()))?;
            println!(
                "wrote crate `{}` to {} ({} entities)",
                opts.crate_name,
                dir.display(),
                stack.entities.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate { check, root } => generate_all(&root, check),
        Command::Schema => {
            print!("{}", hyperstack_spec::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Stream {
            url,
            view,
            key,
            json,
            list_views,
            http,
            max_frames,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            if list_views {
                let http = http.unwrap_or_else(|| default_http(&url));
                runtime.block_on(cli::views::list_views(&http))?;
            } else {
                let Some(view) = view else {
                    bail!("name a view to stream (see `hs stream {url} --list-views`)");
                };
                runtime.block_on(cli::stream::stream(cli::stream::StreamArgs {
                    url,
                    view,
                    key,
                    json,
                    max_frames,
                }))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            command:
                ReplayCommand::Record {
                    spec,
                    endpoint,
                    token,
                    out,
                    max_updates,
                    seconds,
                },
        } => record(&spec, endpoint, token, &out, max_updates, seconds),
        Command::Check { spec } => {
            let stack = hyperstack_spec::load_stack(&spec).map_err(anyhow::Error::msg)?;
            for entity in &stack.entities {
                println!("{} (key {})", entity.name, entity.key.path());
                for view in &entity.views {
                    println!("  {}", view.full_name);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn generate_all(root: &Path, check: bool) -> anyhow::Result<ExitCode> {
    let specs = discover(root)?;
    if specs.is_empty() {
        bail!("no *.stack.toml under {}", root.join("examples").display());
    }
    let mut stale = 0;
    let mut skipped = Vec::new();
    for spec in &specs {
        let files = match generate_for(root, spec) {
            Ok(files) => files,
            Err(WorkspaceError::Spec(errors)) if errors.only_unset_env().is_some() => {
                let vars = errors.only_unset_env().unwrap_or_default().join(", ");
                println!(
                    "skipped {}: its IDL paths use {vars}, which is not set (CI sets HYPERSTACK_FIXTURES=../shared/fixtures)",
                    spec.display()
                );
                skipped.push(spec);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        for file in &files {
            match (staleness(root, file), check) {
                (None, _) => {}
                (Some(state), true) => {
                    stale += 1;
                    match state {
                        Staleness::Missing => println!("stale: {} is missing", file.path.display()),
                        Staleness::Differs {
                            line,
                            on_disk,
                            generated,
                        } => println!(
                            "stale: {} differs from line {line}\n  committed: {on_disk}\n  generated: {generated}",
                            file.path.display()
                        ),
                    }
                }
                (Some(_), false) => {
                    write_crate(root, std::slice::from_ref(file))?;
                    println!("wrote {}", file.path.display());
                }
            }
        }
    }
    if check && stale > 0 {
        println!("{stale} generated file(s) are stale: run `hs generate` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    if check {
        println!(
            "{} stack(s): generated crates are fresh{}",
            specs.len() - skipped.len(),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({} skipped, see above)", skipped.len())
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `ws://host:port/…` → `http://host:8081` (the default health port).
fn default_http(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let host = match host_port.rsplit_once(':') {
        Some((h, _)) => h,
        None => host_port,
    };
    format!("http://{host}:8081")
}

fn record(
    spec: &Path,
    endpoint: String,
    token: Option<String>,
    out: &Path,
    max_updates: Option<u64>,
    seconds: Option<u64>,
) -> anyhow::Result<ExitCode> {
    use hyperstack_server::source::yellowstone::YellowstoneSourceConfig;
    use hyperstack_server::source::{record, Pubkey, RecordOptions};
    let stack = hyperstack_spec::load_stack(spec).map_err(anyhow::Error::msg)?;
    let programs: Vec<Pubkey> = stack
        .idls
        .iter()
        .filter_map(|idl| idl.address.as_deref())
        .map(|a| {
            a.parse::<Pubkey>()
                .map_err(|e| anyhow::anyhow!("program address {a}: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    if programs.is_empty() {
        bail!("the stack's IDLs declare no program address to record");
    }
    let mut endpoint_config = hyperstack_server::YellowstoneConfig::new(endpoint);
    if let Some(t) = token {
        endpoint_config = endpoint_config.with_x_token(t);
    }
    let config = YellowstoneSourceConfig::new(endpoint_config, programs);
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let options = RecordOptions {
        max_updates,
        duration: seconds.map(std::time::Duration::from_secs),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let written = runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop_tx.send(true);
        });
        record(&config, options, std::io::BufWriter::new(file), stop_rx).await
    })?;
    println!("recorded {written} updates to {}", out.display());
    Ok(ExitCode::SUCCESS)
}
