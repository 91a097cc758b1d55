//! The decode stage: IDL-driven decoding of account data, instructions and Anchor events into
//! positional typed [`Value`]s.
//!
//! [`StackDecoder::new`] resolves every account, instruction and event layout of a stack's
//! IDLs once; decoding then matches discriminators and walks the layouts (Borsh, or C layout
//! for bytemuck/steel types). Events come from `Program data:` log lines and from Anchor's
//! self-CPI event instructions (`e445a52e51cb9a1d` + event discriminator).

mod events;
mod reader;
mod value;

use crate::source::{AccountUpdate, IxPath, Pubkey, TransactionUpdate};
use crate::spec::idl::{Idl, IdlFormat, Layout, Serialization};
use crate::spec::Stack;

pub use events::EVENT_IX_TAG;
pub use reader::{decode, DecodeError, Mode, MAX_DATA_LEN};
pub use value::Value;

/// One decodable item: its discriminator, layout and byte layout.
#[derive(Debug, Clone)]
pub struct ItemDecoder {
    /// Name as the IDL spells it.
    pub name: String,
    /// Bytes the encoded item starts with.
    pub discriminator: Vec<u8>,
    /// Layout of what follows the discriminator.
    pub layout: Layout,
    /// Serialization of that layout.
    pub mode: Mode,
    /// Instructions: number of account roles.
    pub roles: usize,
}

impl ItemDecoder {
    fn decode(&self, data: &[u8]) -> Result<Value, DecodeError> {
        decode(
            &self.layout,
            self.mode,
            data.get(self.discriminator.len()..).unwrap_or(&[]),
        )
    }
}

/// The decoders of one program.
#[derive(Debug, Clone)]
pub struct ProgramDecoder {
    /// The program's address, when its IDL declares one (otherwise any owner matches).
    pub address: Option<Pubkey>,
    /// Account types, in IDL order.
    pub accounts: Vec<Option<ItemDecoder>>,
    /// Instructions, in IDL order.
    pub instructions: Vec<Option<ItemDecoder>>,
    /// Events, in IDL order.
    pub events: Vec<Option<ItemDecoder>>,
}

/// Finds the item whose discriminator `data` starts with.
fn find<'a>(
    items: &'a [Option<ItemDecoder>],
    data: &[u8],
    item: &'static str,
) -> Result<(usize, &'a ItemDecoder), DecodeError> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().map(|d| (i, d)))
        .find(|(_, d)| !d.discriminator.is_empty() && data.starts_with(&d.discriminator))
        .ok_or_else(|| DecodeError::UnknownDiscriminator {
            item,
            prefix: data.iter().take(8).map(|b| format!("{b:02x}")).collect(),
        })
}

impl ProgramDecoder {
    /// Resolves the layouts of `idl`'s items; items whose layout cannot be resolved are
    /// skipped with a warning.
    pub fn new(idl: &Idl) -> ProgramDecoder {
        let mode_of = |type_name: &str| {
            Mode::of(
                idl.type_def(type_name)
                    .map_or(Serialization::Borsh, |t| t.serialization),
            )
        };
        let skip = |kind: &str, name: &str, e: &dyn std::fmt::Display| {
            tracing::warn!(program = %idl.name, kind, name, error = %e, "cannot decode this item");
        };
        let accounts = idl
            .accounts
            .iter()
            .map(|a| match idl.account_layout(&a.name) {
                Ok(layout) => Some(ItemDecoder {
                    name: a.name.clone(),
                    discriminator: a.discriminator.clone(),
                    layout,
                    mode: mode_of(&a.type_name),
                    roles: 0,
                }),
                Err(e) => {
                    skip("account", &a.name, &e);
                    None
                }
            })
            .collect();
        let events = idl
            .events
            .iter()
            .map(|ev| match idl.event_layout(&ev.name) {
                Ok(layout) => Some(ItemDecoder {
                    name: ev.name.clone(),
                    discriminator: ev.discriminator.clone(),
                    layout,
                    mode: mode_of(&ev.type_name),
                    roles: 0,
                }),
                Err(e) => {
                    skip("event", &ev.name, &e);
                    None
                }
            })
            .collect();
        // Steel instruction data is a packed C struct after a one-byte discriminant.
        let ix_mode = match idl.format {
            IdlFormat::Steel => Mode::Packed,
            _ => Mode::Borsh,
        };
        let instructions = idl
            .instructions
            .iter()
            .map(|ix| match idl.instruction_layout(&ix.name) {
                Ok(layout) => Some(ItemDecoder {
                    name: ix.name.clone(),
                    discriminator: ix.discriminator.clone(),
                    layout,
                    mode: ix_mode,
                    roles: ix.accounts.len(),
                }),
                Err(e) => {
                    skip("instruction", &ix.name, &e);
                    None
                }
            })
            .collect();
        ProgramDecoder {
            address: idl.address.as_deref().and_then(|a| a.parse().ok()),
            accounts,
            instructions,
            events,
        }
    }

    fn owns(&self, key: &Pubkey) -> bool {
        self.address.is_none_or(|a| a == *key)
    }

    /// Decodes account data: `(account index, value)`.
    pub fn decode_account(&self, data: &[u8]) -> Result<(usize, Value), DecodeError> {
        let (i, d) = find(&self.accounts, data, "account")?;
        Ok((i, d.decode(data)?))
    }

    /// Decodes instruction data: `(instruction index, arguments)`.
    pub fn decode_instruction(&self, data: &[u8]) -> Result<(usize, Value), DecodeError> {
        let (i, d) = find(&self.instructions, data, "instruction")?;
        Ok((i, d.decode(data)?))
    }

    /// Decodes an event (discriminator + data): `(event index, value)`.
    pub fn decode_event(&self, data: &[u8]) -> Result<(usize, Value), DecodeError> {
        let (i, d) = find(&self.events, data, "event")?;
        Ok((i, d.decode(data)?))
    }
}

/// A decoded account write.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAccount {
    /// Program index in the stack.
    pub program: usize,
    /// Account type index in the program's IDL.
    pub account: usize,
    /// The decoded data.
    pub value: Value,
}

/// A decoded instruction of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedInstruction {
    /// Program index in the stack.
    pub program: usize,
    /// Instruction index in the program's IDL.
    pub instruction: usize,
    /// Position in the transaction.
    pub path: IxPath,
    /// The arguments (a struct in argument order).
    pub args: Value,
    /// The address of each account role, in the IDL's role order (`None` when absent).
    pub accounts: Vec<Option<Pubkey>>,
}

/// A decoded event.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    /// Program index in the stack.
    pub program: usize,
    /// Event index in the program's IDL.
    pub event: usize,
    /// The top-level instruction that emitted it.
    pub outer: u32,
    /// The event's data.
    pub value: Value,
}

/// What a transaction yields, in execution order.
#[derive(Debug, Clone, PartialEq)]
pub enum TxItem {
    /// An instruction of one of the stack's programs.
    Instruction(DecodedInstruction),
    /// An event of one of the stack's programs.
    Event(DecodedEvent),
}

/// Decoders for every program of a stack.
#[derive(Debug, Clone)]
pub struct StackDecoder {
    /// One per IDL, in stack order.
    pub programs: Vec<ProgramDecoder>,
}

impl StackDecoder {
    /// Resolves every layout of the stack's IDLs once.
    pub fn new(stack: &Stack) -> StackDecoder {
        StackDecoder {
            programs: stack.idls.iter().map(ProgramDecoder::new).collect(),
        }
    }

    /// The addresses of the stack's programs (those whose IDL declares one).
    pub fn program_addresses(&self) -> Vec<Pubkey> {
        self.programs.iter().filter_map(|p| p.address).collect()
    }

    fn program_of(&self, key: &Pubkey) -> Option<usize> {
        self.programs.iter().position(|p| p.owns(key))
    }

    /// Decodes an account write; `Ok(None)` when no program of the stack owns the account.
    pub fn decode_account(&self, a: &AccountUpdate) -> Result<Option<DecodedAccount>, DecodeError> {
        let Some(program) = self.program_of(&a.owner) else {
            return Ok(None);
        };
        let (account, value) = self.programs[program].decode_account(&a.data)?;
        Ok(Some(DecodedAccount {
            program,
            account,
            value,
        }))
    }

    /// Decodes the stack's instructions and events of a transaction into `out`, in
    /// execution order; failures are passed to `on_error` with the item kind
    /// (`instruction` or `event`) and decoding goes on with the next item.
    pub fn decode_transaction(
        &self,
        tx: &TransactionUpdate,
        out: &mut Vec<TxItem>,
        on_error: &mut dyn FnMut(&'static str, DecodeError),
    ) {
        events::decode_transaction(self, tx, out, on_error);
    }
}
