//! A round's lifecycle around its deploys: the start (entropy `next`), the provider's `sample`
//! and `reveal`, and the crank's `reset`.

use super::accounts::OreAccount;
use super::instructions::OreIx;
use super::program;
use super::record::{ResetRecord, Sig, VarWrite};
use super::{Call, OreSim, ONE_DAY_SLOTS};

impl OreSim {
    /// The first deploy starts the round and, through entropy `next`, reopens the var.
    pub(super) fn start_round(&mut self, sig: Sig) {
        let id = self.current();
        self.board.start_slot = self.slot;
        self.board.end_slot = self.slot + self.config.round_slots;
        self.rounds[id].expires_at = self.board.end_slot + ONE_DAY_SLOTS;
        self.var.commit = program::hash32(&self.seed(id as u64));
        self.var.seed = [0; 32];
        self.var.slot_hash = [0; 32];
        self.var.value = [0; 32];
        self.var.start_at = self.slot;
        self.var.end_at = self.board.end_slot;
        let rec = &mut self.record.rounds[id];
        rec.start_slot = Some(self.slot);
        rec.end_slot = Some(self.board.end_slot);
        rec.expires_at = self.rounds[id].expires_at;
        rec.entropy.next = Some(VarWrite {
            slot: self.slot,
            signature: sig,
            var: self.var.clone(),
        });
        let span = self.config.round_slots.saturating_sub(1);
        for m in 0..self.miners.len() {
            let auto = self.miners[m].automation.is_some() && span > 0;
            let offset = if auto { 1 + self.rng.below(span) } else { 0 };
            self.miners[m].auto_slot = auto.then_some(self.slot + offset);
        }
    }

    /// The provider samples the slot hash at the round's end.
    pub(super) fn sample(&mut self) {
        let (index, sig) = self.next_tx();
        let id = self.current();
        let seed = self.seed(id as u64);
        let steer = self
            .config
            .motherlode_every
            .is_some_and(|n| n > 0 && id as u64 % n == n - 1);
        let mut slot_hash = self.rng.key();
        // Steered rounds: pick a slot hash whose value hits the motherlode with miners on
        // the winning square (about one in 625 does).
        for _ in 0..if steer { 1_000_000 } else { 0 } {
            let value = program::entropy_value(&slot_hash, &seed);
            let hit = program::rng(&value).is_some_and(|r| {
                program::hit_motherlode(r)
                    && self.rounds[id].deployed[program::winning_square(r)] > 0
            });
            if hit {
                break;
            }
            slot_hash = self.rng.key();
        }
        self.var.slot_hash = slot_hash;
        self.var.samples = self.var.samples.saturating_sub(1);
        self.record.rounds[id].entropy.sample = Some(VarWrite {
            slot: self.slot,
            signature: sig,
            var: self.var.clone(),
        });
        let call = Call {
            ix: OreIx::Sample,
            accounts: vec![self.keys.provider, self.keys.var, self.keys.slot_hashes],
            logs: vec![],
            inner: vec![],
        };
        let writes = vec![(self.keys.var, OreAccount::Var(self.var.clone()))];
        let first = self.rng.chance(0.5);
        self.emit(index, sig, vec![call], writes, first, None);
    }

    /// The provider reveals the seed; the var's value is set.
    pub(super) fn reveal(&mut self) {
        let (index, sig) = self.next_tx();
        let id = self.current();
        let seed = self.seed(id as u64);
        self.var.seed = seed;
        self.var.value = program::entropy_value(&self.var.slot_hash, &seed);
        self.record.rounds[id].entropy.reveal = Some(VarWrite {
            slot: self.slot,
            signature: sig,
            var: self.var.clone(),
        });
        let call = Call {
            ix: OreIx::Reveal { seed },
            accounts: vec![self.keys.provider, self.keys.var],
            logs: vec![],
            inner: vec![],
        };
        let writes = vec![(self.keys.var, OreAccount::Var(self.var.clone()))];
        let first = self.rng.chance(0.5);
        self.emit(index, sig, vec![call], writes, first, None);
    }

    /// The crank resolves the round and opens the next.
    pub(super) fn reset(&mut self) {
        let (index, sig) = self.next_tx();
        let id = self.current();
        let value = self.var.value;
        let before = self.treasury.motherlode;
        let round = &mut self.rounds[id];
        let resolution = program::reset(round, &mut self.treasury, value, self.keys.split_address);
        // `topMiner`: the Miner account the sample points at, when someone won.
        let top = resolution.winning_square.and_then(|w| {
            let sample = program::top_miner_sample(program::rng(&value)?, round.deployed[w]);
            self.miners.iter().find_map(|s| {
                let x = s.miner.as_ref()?;
                let range = x.cumulative[w]..x.cumulative[w] + x.deployed[w];
                (x.round_id == id as u64 && range.contains(&sample)).then_some(s.address)
            })
        });
        let resolved = OreAccount::Round(round.clone());
        self.record.rounds[id].reset = Some(ResetRecord {
            slot: self.slot,
            signature: sig,
            signer: self.keys.crank,
            value,
            motherlode_before: before,
            motherlode_after: self.treasury.motherlode,
            winning_square: resolution.winning_square,
            motherlode_hit: resolution.motherlode_hit,
            split: resolution.split,
        });
        self.open_round(Some(sig));
        let next = id as u64 + 1;
        self.board.round_id = next;
        self.board.start_slot = self.slot + 1;
        self.board.end_slot = u64::MAX;
        let k = &self.keys;
        let accounts = vec![
            k.crank,
            k.board,
            k.config,
            k.fee_collector,
            k.mint,
            k.round(id as u64),
            k.round(next),
            top.unwrap_or(k.system_program),
            k.treasury,
            k.treasury_tokens,
            k.system_program,
            k.token_program,
            k.ore_program,
            k.slot_hashes,
            k.var,
            k.entropy_program,
            k.mint_authority,
            k.ore_mint_program,
        ];
        let writes = vec![
            (k.round(id as u64), resolved),
            (
                k.round(next),
                OreAccount::Round(self.rounds[next as usize].clone()),
            ),
            (k.treasury, OreAccount::Treasury(self.treasury.clone())),
            (k.board, OreAccount::Board(self.board.clone())),
        ];
        let call = Call {
            ix: OreIx::Reset,
            accounts,
            logs: vec![format!("var value: {}", crate::generator::base58(&value))],
            inner: vec![],
        };
        let first = self.rng.chance(0.5);
        self.emit(
            index,
            sig,
            vec![call],
            writes,
            first,
            Some(("reset", id as u64)),
        );
    }
}
