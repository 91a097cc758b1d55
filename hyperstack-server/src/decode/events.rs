//! Transactions: the stack's instructions, self-CPI events and `Program data:` log events, in
//! execution order.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::{DecodeError, DecodedEvent, DecodedInstruction, StackDecoder, TxItem};
use crate::source::{Pubkey, TransactionUpdate};

/// Anchor's event-CPI instruction tag: `sha256("anchor:event")[..8]`, stored little-endian.
pub const EVENT_IX_TAG: [u8; 8] = [0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d];

/// An event found in the logs, with the top-level instruction that emitted it.
struct LogEvent {
    outer: u32,
    program: usize,
    data: Vec<u8>,
}

/// Walks the log lines, tracking the invocation stack, and collects `Program data:` payloads
/// emitted by one of the stack's programs.
fn log_events(
    decoder: &StackDecoder,
    logs: &[String],
    on_error: &mut dyn FnMut(&'static str, DecodeError),
) -> Vec<LogEvent> {
    let mut out = Vec::new();
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut outer: Option<u32> = None;
    for line in logs {
        let Some(rest) = line.strip_prefix("Program ") else {
            continue;
        };
        if let Some(payload) = rest.strip_prefix("data: ") {
            let Some(Some(program)) = stack.last() else {
                continue;
            };
            let first = payload.split(' ').next().unwrap_or("");
            match BASE64.decode(first) {
                Ok(data) => out.push(LogEvent {
                    outer: outer.unwrap_or(0),
                    program: *program,
                    data,
                }),
                Err(_) => on_error("event", DecodeError::InvalidBase64),
            }
            continue;
        }
        let mut words = rest.split(' ');
        let (Some(id), Some(verb)) = (words.next(), words.next()) else {
            continue;
        };
        match verb {
            "invoke" => {
                if stack.is_empty() {
                    outer = Some(outer.map_or(0, |o| o.saturating_add(1)));
                }
                let program = id
                    .parse::<Pubkey>()
                    .ok()
                    .and_then(|k| decoder.programs.iter().position(|p| p.address == Some(k)));
                stack.push(program);
            }
            "success" | "failed:" | "failed" => {
                stack.pop();
            }
            _ => {}
        }
    }
    out
}

pub(super) fn decode_transaction(
    decoder: &StackDecoder,
    tx: &TransactionUpdate,
    out: &mut Vec<TxItem>,
    on_error: &mut dyn FnMut(&'static str, DecodeError),
) {
    if tx.failed {
        return;
    }
    let logged = log_events(decoder, &tx.log_messages, on_error);
    let mut logged = logged.into_iter().peekable();
    let mut flush_until =
        |outer: Option<u32>,
         out: &mut Vec<TxItem>,
         on_error: &mut dyn FnMut(&'static str, DecodeError)| {
            while let Some(ev) = logged.next_if(|e| outer.is_none_or(|o| e.outer < o)) {
                match decoder.programs[ev.program].decode_event(&ev.data) {
                    Ok((event, value)) => out.push(TxItem::Event(DecodedEvent {
                        program: ev.program,
                        event,
                        outer: ev.outer,
                        value,
                    })),
                    Err(e) => on_error("event", e),
                }
            }
        };
    for ix in &tx.instructions {
        // Log events of earlier top-level instructions come before this one.
        flush_until(Some(ix.path.outer), out, on_error);
        let Some(program_key) = tx.key(ix.program_index) else {
            continue;
        };
        let Some(program) = decoder
            .programs
            .iter()
            .position(|p| p.address == Some(*program_key))
        else {
            continue;
        };
        let pd = &decoder.programs[program];
        if ix.path.inner.is_some() && ix.data.starts_with(&EVENT_IX_TAG) {
            match pd.decode_event(&ix.data[EVENT_IX_TAG.len()..]) {
                Ok((event, value)) => out.push(TxItem::Event(DecodedEvent {
                    program,
                    event,
                    outer: ix.path.outer,
                    value,
                })),
                Err(e) => on_error("event", e),
            }
            continue;
        }
        match pd.decode_instruction(&ix.data) {
            Ok((instruction, args)) => {
                let roles = pd.instructions[instruction].as_ref().map_or(0, |d| d.roles);
                let accounts = (0..roles)
                    .map(|r| ix.accounts.get(r).and_then(|&k| tx.key(k)).copied())
                    .collect();
                out.push(TxItem::Instruction(DecodedInstruction {
                    program,
                    instruction,
                    path: ix.path,
                    args,
                    accounts,
                }));
            }
            Err(e) => on_error("instruction", e),
        }
    }
    flush_until(None, out, on_error);
}
