//! Simulation output → the server's replay recording (JSON Lines, see docs/REPLAY.md).

use hyperstack_server::source::{
    replay, AccountUpdate, Commitment, IxPath, Pubkey, RawInstruction, RawUpdate, Signature,
    TransactionUpdate,
};

use super::Update;

/// Converts one simulated update into the server's raw update.
pub fn to_raw(update: &Update) -> RawUpdate {
    match update {
        Update::Account(a) => RawUpdate::Account(AccountUpdate {
            slot: a.slot,
            write_version: a.write_version,
            pubkey: Pubkey(a.pubkey),
            owner: Pubkey(a.owner),
            data: a.data.clone(),
            commitment: Commitment::Confirmed,
            txn_signature: None,
        }),
        Update::Transaction(t) => {
            // Account keys: each distinct key once, in first-use order (programs included).
            let mut keys: Vec<[u8; 32]> = Vec::new();
            let mut index_of = |k: &[u8; 32]| -> u8 {
                match keys.iter().position(|x| x == k) {
                    Some(i) => i as u8,
                    None => {
                        keys.push(*k);
                        (keys.len() - 1) as u8
                    }
                }
            };
            let instructions = t
                .instructions
                .iter()
                .enumerate()
                .map(|(i, ix)| RawInstruction {
                    path: IxPath {
                        outer: i as u32,
                        inner: None,
                    },
                    program_index: index_of(&ix.program),
                    accounts: ix.accounts.iter().map(&mut index_of).collect(),
                    data: ix.data.clone(),
                })
                .collect();
            RawUpdate::Transaction(TransactionUpdate {
                slot: t.slot,
                index: t.index,
                signature: Signature(t.signature),
                account_keys: keys.into_iter().map(Pubkey).collect(),
                instructions,
                log_messages: t.logs.clone(),
                failed: false,
                commitment: Commitment::Confirmed,
            })
        }
    }
}

/// The updates as a recording: one JSON line per update.
pub fn recording(updates: &[Update]) -> String {
    let mut out = String::new();
    for u in updates {
        out.push_str(&replay::to_line(&to_raw(u)));
        out.push('\n');
    }
    out
}
