//! Builders of pump raw updates (Borsh account data, instruction data, `Program data:` event
//! logs) shared by the ingestion tests.

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hyperstack_server::source::{
    AccountUpdate, Commitment, IxPath, Pubkey, RawInstruction, RawUpdate, Signature,
    TransactionUpdate,
};

/// The pump example program address.
pub const PROGRAM: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";

pub fn program() -> Pubkey {
    PROGRAM.parse().unwrap()
}

/// A deterministic address.
pub fn key(n: u8) -> Pubkey {
    let mut k = [n; 32];
    k[0] = 0xAA;
    Pubkey(k)
}

/// A deterministic signature.
pub fn sig(n: u64) -> Signature {
    let mut s = [7u8; 64];
    s[..8].copy_from_slice(&n.to_le_bytes());
    Signature(s)
}

/// BondingCurve reserves.
#[derive(Debug, Clone, Copy)]
pub struct Curve {
    pub virtual_token: u64,
    pub virtual_sol: u64,
    pub real_token: u64,
    pub real_sol: u64,
    pub supply: u64,
    pub complete: bool,
}

impl Curve {
    pub fn new(virtual_sol: u64, virtual_token: u64) -> Curve {
        Curve {
            virtual_token,
            virtual_sol,
            real_token: virtual_token / 2,
            real_sol: virtual_sol / 3,
            supply: 1_000_000_000_000_000,
            complete: false,
        }
    }

    /// Borsh account data with the discriminator (plus unused tail bytes, as real accounts have).
    pub fn data(&self) -> Vec<u8> {
        let mut d = vec![23, 183, 248, 55, 96, 216, 172, 96];
        for v in [
            self.virtual_token,
            self.virtual_sol,
            self.real_token,
            self.real_sol,
            self.supply,
        ] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.push(u8::from(self.complete));
        d.extend_from_slice(&[0; 32]);
        d
    }
}

pub fn curve_update(curve: Pubkey, slot: u64, write_version: u64, c: Curve) -> RawUpdate {
    RawUpdate::Account(AccountUpdate {
        slot,
        write_version,
        pubkey: curve,
        owner: program(),
        data: c.data(),
        commitment: Commitment::Confirmed,
        txn_signature: None,
    })
}

fn borsh_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// `create`: accounts mint, mint_authority, bonding_curve, associated_bonding_curve, global,
/// metadata, user, system_program; the program is the last account key.
pub fn create_tx(
    slot: u64,
    index: u64,
    s: Signature,
    mint: Pubkey,
    curve: Pubkey,
    user: Pubkey,
    name: &str,
) -> RawUpdate {
    let mut data = vec![24, 30, 200, 40, 5, 28, 7, 119];
    borsh_string(&mut data, name);
    borsh_string(&mut data, &name.to_uppercase());
    borsh_string(&mut data, "https://example.com/meta.json");
    let keys = vec![
        mint,
        key(100),
        curve,
        key(101),
        key(102),
        key(103),
        user,
        Pubkey([0; 32]),
        program(),
    ];
    RawUpdate::Transaction(TransactionUpdate {
        slot,
        index,
        signature: s,
        account_keys: keys,
        instructions: vec![RawInstruction {
            path: IxPath {
                outer: 0,
                inner: None,
            },
            program_index: 8,
            accounts: (0..8).collect(),
            data,
        }],
        log_messages: vec![
            format!("Program {PROGRAM} invoke [1]"),
            format!("Program {PROGRAM} success"),
        ],
        failed: false,
        commitment: Commitment::Confirmed,
    })
}

/// TradeEvent bytes (discriminator + Borsh).
pub fn trade_event(mint: Pubkey, sol: u64, token: u64, is_buy: bool, user: Pubkey) -> Vec<u8> {
    let mut d = vec![189, 219, 127, 211, 78, 230, 97, 238];
    d.extend_from_slice(&mint.0);
    d.extend_from_slice(&sol.to_le_bytes());
    d.extend_from_slice(&token.to_le_bytes());
    d.push(u8::from(is_buy));
    d.extend_from_slice(&user.0);
    d.extend_from_slice(&1_700_000_000i64.to_le_bytes());
    d.extend_from_slice(&30_000_000_000u64.to_le_bytes());
    d.extend_from_slice(&1_000_000_000_000u64.to_le_bytes());
    d
}

/// `buy` (or `sell`) with its TradeEvent in the logs; accounts global, fee_recipient, mint,
/// bonding_curve, associated_bonding_curve, associated_user, user.
#[allow(clippy::too_many_arguments)] // a test builder: every argument is a distinct on-chain value
pub fn trade_tx(
    slot: u64,
    index: u64,
    s: Signature,
    mint: Pubkey,
    curve: Pubkey,
    user: Pubkey,
    sol: u64,
    buy: bool,
) -> RawUpdate {
    let mut data = if buy {
        vec![102, 6, 61, 18, 1, 218, 235, 234]
    } else {
        vec![51, 230, 133, 164, 1, 127, 131, 173]
    };
    data.extend_from_slice(&1_000u64.to_le_bytes());
    data.extend_from_slice(&sol.to_le_bytes());
    let keys = vec![
        key(102),
        key(104),
        mint,
        curve,
        key(101),
        key(105),
        user,
        program(),
    ];
    let event = BASE64.encode(trade_event(mint, sol, 1_000, buy, user));
    RawUpdate::Transaction(TransactionUpdate {
        slot,
        index,
        signature: s,
        account_keys: keys,
        instructions: vec![RawInstruction {
            path: IxPath {
                outer: 0,
                inner: None,
            },
            program_index: 7,
            accounts: (0..7).collect(),
            data,
        }],
        log_messages: vec![
            format!("Program {PROGRAM} invoke [1]"),
            "Program log: Instruction: Buy".to_string(),
            format!("Program data: {event}"),
            format!("Program {PROGRAM} success"),
        ],
        failed: false,
        commitment: Commitment::Confirmed,
    })
}
