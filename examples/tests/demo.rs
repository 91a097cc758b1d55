//! The demo as a process, as a newcomer runs it (stdout piped here, so the trending table comes
//! as plain `[TREND]` lines): every token's story starts with its launch line, and event lines
//! average at most three a second, measured on arrival.

mod common;

use std::collections::HashSet;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use common::Proc;

const SECONDS: u64 = 12;

/// The token a story line is about, and whether it is a launch.
fn subject(line: &str) -> Option<(&str, bool)> {
    if let Some(rest) = line.strip_prefix("[NEW]   ") {
        return Some((rest.rsplit_once(" (")?.0, true));
    }
    if let Some(rest) = line.strip_prefix("[PRICE] ") {
        return Some((rest.rsplit_once(" changed by ")?.0, false));
    }
    if let Some(rest) = line.strip_prefix("[DONE]  ") {
        return Some((rest.strip_suffix(" completed its bonding curve")?, false));
    }
    None
}

#[test]
fn the_demo_tells_a_readable_story() {
    let seconds = SECONDS.to_string();
    let mut demo = Proc::spawn(env!("CARGO_BIN_EXE_demo"), &["--seconds", &seconds]);
    let mut lines: Vec<(Instant, String)> = Vec::new();
    loop {
        match demo.stdout.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => lines.push((Instant::now(), line)),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => panic!("the demo went silent: {lines:?}"),
        }
    }
    let ended = Instant::now();
    let status = demo.child.wait().expect("demo exits");
    assert!(status.success(), "demo exited with {status}");
    let text: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();

    // Every price or completion line follows its token's launch line.
    let mut launched = HashSet::new();
    let (mut launches, mut moves) = (0, 0);
    for line in &text {
        let Some((token, is_launch)) = subject(line) else {
            continue;
        };
        if is_launch {
            launched.insert(token.to_string());
            launches += 1;
        } else {
            assert!(
                launched.contains(token),
                "`{line}` comes before {token}'s launch line:\n{}",
                text.join("\n")
            );
            moves += 1;
        }
    }
    assert!(
        launches >= 5 && moves >= 3,
        "a story to tell:\n{}",
        text.join("\n")
    );

    // At most three event lines a second on average, from the demo's first line to its end.
    let start = lines.first().expect("the demo prints").0;
    let window = ended.duration_since(start).as_secs_f64();
    let events = launches + moves;
    let rate = events as f64 / window;
    assert!(
        rate <= 3.0,
        "{events} event lines in {window:.1} s = {rate:.2}/s:\n{}",
        text.join("\n")
    );

    // The trending table, with what the rate limit held back.
    assert!(
        text.iter()
            .any(|l| l.starts_with("[TREND] ── trending: top 5 tokens by volume")),
        "{}",
        text.join("\n")
    );
    assert!(
        text.iter().any(|l| l.starts_with("[TREND]  1  ")),
        "a ranked row:\n{}",
        text.join("\n")
    );
    assert!(
        text.iter()
            .any(|l| l.contains("held back to keep it readable: ")),
        "held-back lines are counted on screen:\n{}",
        text.join("\n")
    );
}
