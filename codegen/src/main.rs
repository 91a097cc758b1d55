//! `hs`: the hyperstack command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};

use hyperstack_codegen::workspace::{discover, generate_for, staleness, Staleness};
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
        Command::Check { spec } => {
            let stack = hyperstack_spec::load_stack(&spec).map_err(anyhow::Error::msg)?;
            for entity in &stack.entities {
                println!("{} (key {})", entity.name, entity.key.path);
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
    for spec in &specs {
        let files = generate_for(root, spec)?;
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
        println!("{} stack(s): generated crates are fresh", specs.len());
    }
    Ok(ExitCode::SUCCESS)
}
