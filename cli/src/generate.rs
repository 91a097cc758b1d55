//! `hs generate [--check]`: every stack of the workspace into its committed generated crate.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use hyperstack_codegen::workspace::{discover, generate_for, staleness, Staleness, WorkspaceError};
use hyperstack_codegen::write_crate;

/// Regenerates (or, with `check`, compares) the crates of every `examples/**/*.stack.toml`.
pub fn generate_all(root: &Path, check: bool) -> anyhow::Result<ExitCode> {
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
