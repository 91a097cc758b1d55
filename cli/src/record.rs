//! `hs replay record`: a live Yellowstone stream of a stack's programs into a replay file.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

/// Records until `max_updates`, `seconds` or Ctrl-C.
pub fn record(
    spec: &Path,
    endpoint: String,
    token: Option<String>,
    out: &Path,
    max_updates: Option<u64>,
    seconds: Option<u64>,
) -> anyhow::Result<ExitCode> {
    use hyperstack_server::source::yellowstone::YellowstoneSourceConfig;
    use hyperstack_server::source::{record, Pubkey, RecordOptions};
    // The variable's old name is still read (deprecated; see CHANGELOG.md).
    let token = token.or_else(|| {
        let old = std::env::var("YELLOWSTONE_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())?;
        eprintln!("warning: YELLOWSTONE_TOKEN is deprecated, set YELLOWSTONE_X_TOKEN");
        Some(old)
    });
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
