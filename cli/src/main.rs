//! `hs`: the hyperstack command line.

mod generate;
mod idl;
mod init;
mod locate;
mod record;
mod sdk;
mod stream;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Print a program's IDL readably: accounts, instructions, events, types (with field types
    /// and discriminators) and errors.
    Idl {
        /// The IDL file (Anchor, legacy Anchor or steel JSON).
        idl: PathBuf,
        /// Print only this section.
        section: Option<idl::Section>,
    },
    /// Write a starter `<name>.stack.toml` for a program: one entity per account type, every
    /// field mapped; it passes `hs check` and is yours to edit.
    Init {
        /// Stack name (lower-case letters, digits, `-`, `_`).
        name: String,
        /// The program's IDL (repeat for several programs).
        #[arg(long, required = true)]
        idl: Vec<PathBuf>,
        /// Directory to write the spec into.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Overwrite an existing spec.
        #[arg(long)]
        force: bool,
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
        /// Seconds to wait for a server that is still starting.
        #[arg(long, default_value_t = 10)]
        wait: u64,
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
        /// x-token (default: $YELLOWSTONE_X_TOKEN).
        #[arg(long, env = "YELLOWSTONE_X_TOKEN")]
        x_token: Option<String>,
        /// Deprecated spelling of --x-token.
        #[arg(long, hide = true)]
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
        /// The stack spec file, or a stack name: `./<name>.stack.toml`, else `<name>.stack.toml`
        /// under the workspace's `examples/` or `stacks/`.
        spec: String,
        /// Output directory (default: `generated/<name>-stack`).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Package name (default: `<name>-stack`).
        #[arg(long)]
        crate_name: Option<String>,
        #[command(flatten)]
        source: SourceArgs,
    },
}

/// Where a generated crate takes `hyperstack-sdk` from. Without any of these: the hyperstack
/// checkout around the output or the current directory, else the one `hs` was built from.
#[derive(Args)]
#[group(multiple = false)]
struct SourceArgs {
    /// A hyperstack checkout: `hyperstack-sdk = { path = "<dir>/hyperstack-sdk" }`.
    #[arg(long)]
    hyperstack_path: Option<PathBuf>,
    /// A hyperstack git repository: `hyperstack-sdk = { git = "<url>" }`.
    #[arg(long)]
    hyperstack_git: Option<String>,
    /// A registry version: `hyperstack-sdk = "<version>"`.
    #[arg(long)]
    hyperstack_version: Option<String>,
    /// `workspace = true` dependencies (for crates inside the hyperstack workspace).
    #[arg(long)]
    workspace_deps: bool,
    /// Commit, tag or branch for --hyperstack-git.
    #[arg(long, requires = "hyperstack_git")]
    hyperstack_rev: Option<String>,
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
                    source,
                },
        } => {
            sdk::create(sdk::CreateArgs {
                spec,
                output,
                crate_name,
                source: sdk::SdkSource {
                    path: source.hyperstack_path,
                    git: source.hyperstack_git,
                    rev: source.hyperstack_rev,
                    version: source.hyperstack_version,
                    workspace: source.workspace_deps,
                },
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate { check, root } => generate::generate_all(&root, check),
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
            wait,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            if list_views {
                let http = http.unwrap_or_else(|| default_http(&url));
                runtime.block_on(views::list_views(&http))?;
            } else {
                let Some(view) = view else {
                    bail!("name a view to stream (see `hs stream {url} --list-views`)");
                };
                runtime.block_on(stream::stream(stream::StreamArgs {
                    url,
                    view,
                    key,
                    json,
                    max_frames,
                    wait: std::time::Duration::from_secs(wait),
                }))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            command:
                ReplayCommand::Record {
                    spec,
                    endpoint,
                    x_token,
                    token,
                    out,
                    max_updates,
                    seconds,
                },
        } => {
            if token.is_some() {
                eprintln!("warning: --token is deprecated, use --x-token");
            }
            let x_token = x_token.or(token);
            record::record(&spec, endpoint, x_token, &out, max_updates, seconds)
        }
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
        Command::Idl { idl, section } => {
            let file = idl::IdlFile::load(&idl)?;
            print!("{}", idl::render(&file, section));
            Ok(ExitCode::SUCCESS)
        }
        Command::Init {
            name,
            idl,
            dir,
            force,
        } => {
            let out = init::init(init::InitArgs {
                name,
                idls: idl,
                dir,
                force,
            })?;
            let shown = std::env::current_dir()
                .map(|cwd| locate::relative_to(&out, &cwd))
                .unwrap_or(out);
            println!(
                "wrote {} (check it with `hs check {}`)",
                shown.display(),
                shown.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
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
