//! Addresses: the programs and sysvars the IDLs name, and stand-ins for the program-derived
//! addresses (derived from the same seeds with SHA-256; not checked to be off the curve, which
//! no decoder looks at).

use sha2::{Digest, Sha256};

use super::super::rng::Rng;
use super::super::{pubkey, Pubkey};

/// The `ore` program (ore.json `address`).
pub const ORE_PROGRAM: &str = "oreV3EG1i9BEgiAJ8b177Z2S2rMarzak4NMv1kULvWv";
/// The `entropy` program (entropy.json `metadata.address`).
pub const ENTROPY_PROGRAM: &str = "3jSkUuYBoJzQPMEzTvkDFXCZUBksPamrVhrnHR9igu2X";
/// The ORE mint (the `reset` instruction's fixed `mint` account).
pub const ORE_MINT: &str = "oreoU2P8bN6jkk3jbaiVxYnG1dCXcYxwhwyK9jSybcp";
/// The mint program `reset` names (`oreMintProgram`).
pub const ORE_MINT_PROGRAM: &str = "mintzxW6Kckmeyh1h6Zfdj9QcYgCzhPSGiC8ChZ6fCx";
/// The system program.
pub const SYSTEM_PROGRAM: &str = "11111111111111111111111111111111";
/// The SPL token program.
pub const TOKEN_PROGRAM: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
/// The SlotHashes sysvar.
pub const SLOT_HASHES: &str = "SysvarS1otHashes111111111111111111111111111";

fn known(text: &str) -> Pubkey {
    pubkey(text).unwrap_or_default()
}

/// A stand-in for the address derived from `seeds` under `program`.
pub fn derive(program: &Pubkey, seeds: &[&[u8]]) -> Pubkey {
    let mut h = Sha256::new();
    for s in seeds {
        h.update((s.len() as u32).to_le_bytes());
        h.update(s);
    }
    h.update(program);
    h.update(b"ProgramDerivedAddress");
    h.finalize().into()
}

/// The fixed addresses of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OreKeys {
    /// The ore program.
    pub ore_program: Pubkey,
    /// The entropy program.
    pub entropy_program: Pubkey,
    /// The ORE mint.
    pub mint: Pubkey,
    /// The board (seeds `["board"]`).
    pub board: Pubkey,
    /// The config (`["config"]`).
    pub config: Pubkey,
    /// The treasury (`["treasury"]`).
    pub treasury: Pubkey,
    /// The treasury's ORE token account.
    pub treasury_tokens: Pubkey,
    /// The mint authority `reset` names.
    pub mint_authority: Pubkey,
    /// The entropy var every round uses (entropy seeds `["var", board, 0]`).
    pub var: Pubkey,
    /// The entropy provider (signs `sample` and `reveal`).
    pub provider: Pubkey,
    /// The automation executor (signs automated deploys).
    pub executor: Pubkey,
    /// The crank that signs `reset` and settles miners with `checkpoint`.
    pub crank: Pubkey,
    /// Where `reset` sends the admin fee.
    pub fee_collector: Pubkey,
    /// The `top_miner` of a round whose ORE reward is split among its winners.
    pub split_address: Pubkey,
    /// The system program.
    pub system_program: Pubkey,
    /// The token program.
    pub token_program: Pubkey,
    /// The SlotHashes sysvar.
    pub slot_hashes: Pubkey,
    /// The ORE mint program.
    pub ore_mint_program: Pubkey,
}

impl OreKeys {
    /// The addresses, with signers drawn from `rng`.
    pub fn new(rng: &mut Rng) -> OreKeys {
        let ore = known(ORE_PROGRAM);
        let entropy = known(ENTROPY_PROGRAM);
        let board = derive(&ore, &[b"board"]);
        let treasury = derive(&ore, &[b"treasury"]);
        let mint = known(ORE_MINT);
        OreKeys {
            ore_program: ore,
            entropy_program: entropy,
            mint,
            board,
            config: derive(&ore, &[b"config"]),
            treasury,
            treasury_tokens: derive(&treasury, &[b"ata", &mint]),
            mint_authority: derive(&known(ORE_MINT_PROGRAM), &[b"authority", &mint]),
            var: derive(&entropy, &[b"var", &board, &0u64.to_le_bytes()]),
            provider: rng.key(),
            executor: rng.key(),
            crank: rng.key(),
            fee_collector: rng.key(),
            split_address: derive(&ore, &[b"split"]),
            system_program: known(SYSTEM_PROGRAM),
            token_program: known(TOKEN_PROGRAM),
            slot_hashes: known(SLOT_HASHES),
            ore_mint_program: known(ORE_MINT_PROGRAM),
        }
    }

    /// The `Round` account of round `id` (`["round", id]`).
    pub fn round(&self, id: u64) -> Pubkey {
        derive(&self.ore_program, &[b"round", &id.to_le_bytes()])
    }

    /// The `Miner` account of `authority` (`["miner", authority]`).
    pub fn miner(&self, authority: &Pubkey) -> Pubkey {
        derive(&self.ore_program, &[b"miner", authority])
    }

    /// The `Automation` account of `authority` (`["automation", authority]`).
    pub fn automation(&self, authority: &Pubkey) -> Pubkey {
        derive(&self.ore_program, &[b"automation", authority])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_parse_and_derivations_differ() {
        let keys = OreKeys::new(&mut Rng::new(1));
        assert_ne!(keys.ore_program, [0; 32]);
        assert_ne!(keys.entropy_program, [0; 32]);
        assert_eq!(keys.system_program, [0; 32]);
        assert_ne!(keys.round(0), keys.round(1));
        assert_ne!(keys.miner(&[1; 32]), keys.automation(&[1; 32]));
    }
}
