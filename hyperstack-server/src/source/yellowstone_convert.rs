//! Geyser protobuf messages → [`RawUpdate`]s, and the subscription request.

use std::collections::HashMap;

use yellowstone_grpc_proto::prelude::{
    subscribe_update::UpdateOneof, CommitmentLevel, SubscribeRequest,
    SubscribeRequestFilterAccounts, SubscribeRequestFilterSlots,
    SubscribeRequestFilterTransactions, SubscribeUpdate, SubscribeUpdateTransaction,
};

use super::{
    AccountUpdate, Commitment, IxPath, Pubkey, RawInstruction, RawUpdate, Signature,
    TransactionUpdate,
};

/// The filter name used in subscriptions.
pub(crate) const FILTER: &str = "hyperstack";

/// What one Geyser message means to the source.
#[derive(Debug)]
pub(crate) enum Converted {
    /// An account write or transaction.
    Update(RawUpdate),
    /// A slot reached the subscribed commitment.
    Slot(u64),
    /// The server pinged; answer to keep the stream open.
    Ping,
    /// Nothing for us (or a malformed message, logged).
    Skip,
}

fn level(c: Commitment) -> CommitmentLevel {
    match c {
        Commitment::Processed => CommitmentLevel::Processed,
        Commitment::Confirmed => CommitmentLevel::Confirmed,
        Commitment::Finalized => CommitmentLevel::Finalized,
    }
}

/// Accounts owned by `programs`, successful non-vote transactions mentioning them, and slot
/// notifications at `commitment`; replayed from `from_slot` when given.
pub(crate) fn subscribe_request(
    programs: &[Pubkey],
    commitment: Commitment,
    from_slot: Option<u64>,
) -> SubscribeRequest {
    let owners: Vec<String> = programs.iter().map(Pubkey::to_base58).collect();
    let mut accounts = HashMap::new();
    accounts.insert(
        FILTER.to_string(),
        SubscribeRequestFilterAccounts {
            owner: owners.clone(),
            ..Default::default()
        },
    );
    let mut transactions = HashMap::new();
    transactions.insert(
        FILTER.to_string(),
        SubscribeRequestFilterTransactions {
            vote: Some(false),
            failed: Some(false),
            account_include: owners,
            ..Default::default()
        },
    );
    let mut slots = HashMap::new();
    slots.insert(
        FILTER.to_string(),
        SubscribeRequestFilterSlots {
            filter_by_commitment: Some(true),
            interslot_updates: Some(false),
        },
    );
    SubscribeRequest {
        accounts,
        transactions,
        slots,
        commitment: Some(level(commitment) as i32),
        from_slot,
        ..Default::default()
    }
}

fn transaction(t: SubscribeUpdateTransaction, commitment: Commitment) -> Option<TransactionUpdate> {
    let info = t.transaction?;
    let signature = Signature::try_from_slice(&info.signature)?;
    let tx = info.transaction?;
    let message = tx.message?;
    let meta = info.meta.unwrap_or_default();
    let keys = message
        .account_keys
        .iter()
        .chain(&meta.loaded_writable_addresses)
        .chain(&meta.loaded_readonly_addresses);
    let account_keys = keys
        .map(|k| Pubkey::try_from_slice(k))
        .collect::<Option<Vec<_>>>()?;
    let mut inner: HashMap<u32, Vec<RawInstruction>> = HashMap::new();
    for group in meta.inner_instructions {
        let list = group
            .instructions
            .into_iter()
            .enumerate()
            .map(|(i, ix)| RawInstruction {
                path: IxPath {
                    outer: group.index,
                    inner: Some(i as u32),
                },
                program_index: u8::try_from(ix.program_id_index).unwrap_or(u8::MAX),
                accounts: ix.accounts,
                data: ix.data,
            })
            .collect();
        inner.insert(group.index, list);
    }
    let mut instructions = Vec::new();
    for (i, ix) in message.instructions.into_iter().enumerate() {
        let outer = i as u32;
        instructions.push(RawInstruction {
            path: IxPath { outer, inner: None },
            program_index: u8::try_from(ix.program_id_index).unwrap_or(u8::MAX),
            accounts: ix.accounts,
            data: ix.data,
        });
        if let Some(list) = inner.remove(&outer) {
            instructions.extend(list);
        }
    }
    Some(TransactionUpdate {
        slot: t.slot,
        index: info.index,
        signature,
        account_keys,
        instructions,
        log_messages: meta.log_messages,
        failed: meta.err.is_some(),
        commitment,
    })
}

/// Converts one message.
pub(crate) fn convert(update: SubscribeUpdate, commitment: Commitment) -> Converted {
    match update.update_oneof {
        Some(UpdateOneof::Account(a)) => {
            let slot = a.slot;
            let Some(info) = a.account else {
                return Converted::Skip;
            };
            match (
                Pubkey::try_from_slice(&info.pubkey),
                Pubkey::try_from_slice(&info.owner),
            ) {
                (Some(pubkey), Some(owner)) => {
                    Converted::Update(RawUpdate::Account(AccountUpdate {
                        slot,
                        write_version: info.write_version,
                        pubkey,
                        owner,
                        data: info.data,
                        commitment,
                        txn_signature: None,
                    }))
                }
                _ => {
                    tracing::warn!(slot, "account update with a malformed address; skipped");
                    Converted::Skip
                }
            }
        }
        Some(UpdateOneof::Transaction(t)) => {
            let slot = t.slot;
            match transaction(t, commitment) {
                Some(tx) => Converted::Update(RawUpdate::Transaction(tx)),
                None => {
                    tracing::warn!(slot, "malformed transaction update; skipped");
                    Converted::Skip
                }
            }
        }
        Some(UpdateOneof::Slot(s)) => Converted::Slot(s.slot),
        Some(UpdateOneof::Ping(_)) => Converted::Ping,
        _ => Converted::Skip,
    }
}
