//! Builders of raw updates for the rounds test program (tests/data/rounds): account data,
//! transactions with instructions and `Program data:` event logs.

#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hyperstack_server::source::{
    AccountUpdate, Commitment, IxPath, Pubkey, RawInstruction, RawUpdate, Signature,
    TransactionUpdate,
};
use hyperstack_server::spec::Stack;
use hyperstack_server::{Mutation, StateTableConfig, Transformer};
use serde_json::Value;

pub const PROGRAM: &str = "Rounds1111111111111111111111111111111111111";

pub fn program() -> Pubkey {
    PROGRAM.parse().unwrap()
}

pub fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rounds/rounds.stack.toml");
        hyperstack_server::spec::load_stack(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

pub fn transformer() -> Transformer {
    let config = StateTableConfig {
        max_entries: 64,
        ..StateTableConfig::default()
    };
    Transformer::new(stack(), config).unwrap()
}

/// A deterministic address.
pub fn key(n: u8) -> Pubkey {
    let mut k = [n; 32];
    k[0] = 0xBB;
    Pubkey(k)
}

pub fn sig(n: u8) -> Signature {
    Signature([n; 64])
}

pub const VAR: u8 = 50;
pub const TREASURY: u8 = 60;

/// The address of round `id`'s account.
pub fn round_addr(id: u64) -> Pubkey {
    key(id as u8)
}

pub fn account(slot: u64, wv: u64, pubkey: Pubkey, data: Vec<u8>, tx: Option<u8>) -> RawUpdate {
    RawUpdate::Account(AccountUpdate {
        slot,
        write_version: wv,
        pubkey,
        owner: program(),
        data,
        commitment: Commitment::Confirmed,
        txn_signature: tx.map(sig),
    })
}

pub fn disc(kind: u8, n: u8) -> Vec<u8> {
    vec![kind, 0, 0, 0, 0, 0, 0, n]
}

pub fn u64s(out: &mut Vec<u8>, values: &[u64]) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

pub fn round(
    slot: u64,
    wv: u64,
    id: u64,
    deployed: [u64; 4],
    motherlode: u64,
    tx: Option<u8>,
) -> RawUpdate {
    let mut d = disc(2, 1);
    u64s(&mut d, &[id]);
    u64s(&mut d, &deployed);
    u64s(&mut d, &[motherlode]);
    account(slot, wv, round_addr(id), d, tx)
}

pub fn var(slot: u64, wv: u64, value: [u8; 32], end_at: u64, tx: Option<u8>) -> RawUpdate {
    let mut d = disc(2, 2);
    d.extend_from_slice(&value);
    u64s(&mut d, &[end_at]);
    account(slot, wv, key(VAR), d, tx)
}

pub fn treasury(slot: u64, wv: u64, balance: u64, motherlode: u64, tx: Option<u8>) -> RawUpdate {
    let mut d = disc(2, 3);
    u64s(&mut d, &[balance, motherlode]);
    account(slot, wv, key(TREASURY), d, tx)
}

pub fn miner(slot: u64, wv: u64, at: Pubkey, authority: Pubkey, rewards: u64) -> RawUpdate {
    let mut d = disc(2, 4);
    d.extend_from_slice(&authority.0);
    u64s(&mut d, &[rewards]);
    account(slot, wv, at, d, None)
}

pub fn automation(slot: u64, wv: u64, at: Pubkey, authority: Pubkey, amount: u64) -> RawUpdate {
    let mut d = disc(2, 5);
    d.extend_from_slice(&authority.0);
    u64s(&mut d, &[amount]);
    account(slot, wv, at, d, None)
}

/// One instruction: discriminator number, accounts, argument bytes, emitted events.
pub struct Ix {
    pub n: u8,
    pub accounts: Vec<Pubkey>,
    pub args: Vec<u8>,
    pub events: Vec<Vec<u8>>,
}

pub fn deploy_ix(round: u64, authority: Pubkey, amount: u64) -> Ix {
    let mut event = disc(3, 1);
    u64s(&mut event, &[round]);
    event.extend_from_slice(&authority.0);
    u64s(&mut event, &[amount]);
    Ix {
        n: 1,
        accounts: vec![round_addr(round), key(VAR), authority],
        args: amount.to_le_bytes().to_vec(),
        events: vec![event],
    }
}

pub fn reset_ix(round: u64) -> Ix {
    reset_to(round, round + 1)
}

/// A reset of `round` whose next round is `next`.
pub fn reset_to(round: u64, next: u64) -> Ix {
    Ix {
        n: 2,
        accounts: vec![round_addr(round), round_addr(next), key(TREASURY)],
        args: vec![],
        events: vec![],
    }
}

pub fn reveal_ix() -> Ix {
    Ix {
        n: 3,
        accounts: vec![key(VAR)],
        args: vec![],
        events: vec![],
    }
}

pub fn claimed_event(round: u64, winner: Pubkey, pot: u64) -> Vec<u8> {
    let mut event = disc(3, 2);
    u64s(&mut event, &[round]);
    event.extend_from_slice(&winner.0);
    u64s(&mut event, &[pot]);
    event
}

pub fn tx(slot: u64, index: u64, s: u8, ixs: Vec<Ix>) -> RawUpdate {
    let mut keys: Vec<Pubkey> = vec![program()];
    let mut index_of = |k: Pubkey| -> u8 {
        match keys.iter().position(|x| *x == k) {
            Some(i) => i as u8,
            None => {
                keys.push(k);
                (keys.len() - 1) as u8
            }
        }
    };
    let mut instructions = Vec::new();
    let mut logs = Vec::new();
    for (outer, ix) in ixs.into_iter().enumerate() {
        let accounts = ix.accounts.iter().map(|k| index_of(*k)).collect();
        let mut data = disc(1, ix.n);
        data.extend_from_slice(&ix.args);
        instructions.push(RawInstruction {
            path: IxPath {
                outer: outer as u32,
                inner: None,
            },
            program_index: 0,
            accounts,
            data,
        });
        logs.push(format!("Program {PROGRAM} invoke [1]"));
        for e in &ix.events {
            logs.push(format!("Program data: {}", BASE64.encode(e)));
        }
        logs.push(format!("Program {PROGRAM} success"));
    }
    RawUpdate::Transaction(TransactionUpdate {
        slot,
        index,
        signature: sig(s),
        account_keys: keys,
        instructions,
        log_messages: logs,
        failed: false,
        commitment: Commitment::Confirmed,
    })
}

/// Applies every update, then flushes; returns the mutations.
pub fn run(t: &mut Transformer, updates: &[RawUpdate]) -> Vec<Mutation> {
    let mut out = Vec::new();
    for u in updates {
        t.apply(u, &mut out);
    }
    t.flush(&mut out);
    out
}

pub fn round_json(t: &mut Transformer, id: u64) -> Value {
    t.entity_json("Round", &id.to_string())
        .unwrap_or_else(|| panic!("round {id} exists"))
}

pub fn revealed() -> [u8; 32] {
    let mut v = [0u8; 32];
    for (i, b) in v.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    v
}

/// The rng the spec computes from a revealed value: the XOR of its four little-endian u64s.
pub fn rng_of(value: &[u8; 32]) -> u64 {
    value
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .fold(0, |a, b| a ^ b)
}
