//! The README's one-line examples, run as written: the example server with the README's
//! arguments, and each client (`hs` too, when `cargo test --workspace` built it) with the
//! README's arguments and its default URL. Only the
//! addresses differ — the server binds port 0 here (`HYPERSTACK_BIND`), and the client is
//! pointed at it with `HYPERSTACK_URL` — so the defaults themselves are checked separately:
//! each client's default URL is the server's default address.

mod common;

use std::path::Path;
use std::process::Command;

use common::Proc;

/// One README line: `<server command> & <client command>; kill $!`.
#[derive(Debug)]
struct Example {
    server_args: Vec<String>,
    client_bin: String,
    client_args: Vec<String>,
}

/// `cargo run -q --release -p <package> --bin <bin> -- <args>` → (bin, args).
fn cargo_run(command: &str) -> (String, Vec<String>) {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&words[..2], ["cargo", "run"], "`{command}`");
    let bin = words
        .iter()
        .position(|w| *w == "--bin")
        .and_then(|i| words.get(i + 1))
        .unwrap_or_else(|| panic!("`{command}` names no --bin"));
    let args = match words.iter().position(|w| *w == "--") {
        Some(i) => words[i + 1..].iter().map(|w| w.to_string()).collect(),
        None => Vec::new(),
    };
    (bin.to_string(), args)
}

fn readme_examples() -> Vec<Example> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    readme
        .lines()
        .filter(|l| l.starts_with("cargo run -q --release -p examples --bin server"))
        .map(|line| {
            let (server, rest) = line.split_once(" & ").expect("`server & client`");
            let client = rest
                .strip_suffix("; kill $!")
                .expect("`; kill $!` at the end");
            let (bin, server_args) = cargo_run(server);
            assert_eq!(bin, "server");
            let (client_bin, client_args) = cargo_run(client);
            Example {
                server_args,
                client_bin,
                client_args,
            }
        })
        .collect()
}

/// The value after `flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).map(String::as_str)
}

#[test]
fn every_readme_example_runs_as_written() {
    let examples = readme_examples();
    let clients: Vec<&str> = examples.iter().map(|e| e.client_bin.as_str()).collect();
    assert_eq!(
        clients,
        ["price_alert", "leaderboard", "hs"],
        "{examples:#?}"
    );
    for example in &examples {
        let (bin, expected_lines, prefix) = match example.client_bin.as_str() {
            "price_alert" => (
                env!("CARGO_BIN_EXE_price_alert").to_string(),
                flag(&example.client_args, "--max-alerts"),
                "[PRICE] ",
            ),
            "leaderboard" => (
                env!("CARGO_BIN_EXE_leaderboard").to_string(),
                flag(&example.client_args, "--max-updates"),
                "[SCORE] ",
            ),
            // Another package's binary: built beside ours by `cargo test --workspace`.
            "hs" => match hs_binary() {
                Some(hs) => (hs, flag(&example.client_args, "--max-frames"), "{"),
                None => {
                    println!(
                        "skipped the README's hs line: no hs binary beside {} (run `cargo test --workspace`, which builds it)",
                        env!("CARGO_BIN_EXE_server")
                    );
                    continue;
                }
            },
            other => panic!("no test for the README's `{other}` example"),
        };
        let expected: usize = expected_lines
            .expect("the README's line stops after a number of lines")
            .parse()
            .expect("a count");
        let server_args: Vec<&str> = example.server_args.iter().map(String::as_str).collect();
        let server = Proc::spawn_with(
            env!("CARGO_BIN_EXE_server"),
            &server_args,
            &[
                ("HYPERSTACK_BIND", "127.0.0.1:0"),
                ("HYPERSTACK_HTTP", "127.0.0.1:0"),
            ],
        );
        let url = server
            .stdout_line("hyperstack serving on ")
            .split_whitespace()
            .find(|w| w.starts_with("ws://"))
            .expect("the server says where it listens")
            .to_string();
        // The client's URL: its default, pointed here through HYPERSTACK_URL; `hs stream`
        // takes it as an argument, the README's default address.
        let client_args: Vec<&str> = example
            .client_args
            .iter()
            .map(|a| {
                if a.starts_with("ws://") {
                    url.as_str()
                } else {
                    a.as_str()
                }
            })
            .collect();
        let client = Proc::spawn_with(&bin, &client_args, &[("HYPERSTACK_URL", &url)]);
        let lines = client.finish();
        let told = lines.iter().filter(|l| l.starts_with(prefix)).count();
        assert_eq!(told, expected, "{}: {lines:#?}", example.client_bin);
        drop(server);
    }
}

/// The `hs` binary in the directory of this package's binaries, when it was built.
fn hs_binary() -> Option<String> {
    let dir = Path::new(env!("CARGO_BIN_EXE_server")).parent()?;
    let hs = dir.join(format!("hs{}", std::env::consts::EXE_SUFFIX));
    hs.is_file().then(|| hs.to_string_lossy().into_owned())
}

/// `--help`'s `[default: …]` for `flag`.
fn default_of(bin: &str, flag: &str) -> String {
    let help = Command::new(bin).arg("--help").output().expect("runs");
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    let at = text
        .find(&format!("--{flag} "))
        .unwrap_or_else(|| panic!("{bin} has --{flag}:\n{text}"));
    let rest = &text[at..];
    let start = rest.find("[default: ").expect("a default") + "[default: ".len();
    rest[start..start + rest[start..].find(']').expect("]")].to_string()
}

#[test]
fn the_clients_default_to_the_servers_default_address() {
    let bind = default_of(env!("CARGO_BIN_EXE_server"), "bind");
    let port = bind.rsplit_once(':').expect("host:port").1;
    for client in [
        env!("CARGO_BIN_EXE_price_alert"),
        env!("CARGO_BIN_EXE_leaderboard"),
    ] {
        let url = default_of(client, "url");
        assert_eq!(url, format!("ws://127.0.0.1:{port}"), "{client}");
    }
}
