//! What miners do: open automations, deploy (settling their last round first, in the same
//! transaction), and the crank's checkpoints.

use super::accounts::{Automation, Miner, OreAccount};
use super::instructions::OreIx;
use super::program;
use super::record::{CheckpointRecord, Deployment, Sig};
use super::{Call, OreSim, AMOUNTS, LAMPORTS_PER_SOL};
use crate::generator::Pubkey;

impl OreSim {
    /// A mask of `count` squares drawn from `from`.
    pub(super) fn random_squares(&mut self, from: &[usize], count: usize) -> u32 {
        let mut pool = from.to_vec();
        let mut mask = 0u32;
        for _ in 0..count.min(pool.len()) {
            let i = self.rng.below(pool.len() as u64) as usize;
            mask |= 1 << pool.swap_remove(i);
        }
        mask
    }

    /// An automated wallet opens its automation (and its miner account, if new).
    pub(super) fn automate(&mut self, m: usize) {
        let (index, sig) = self.next_tx();
        let amount = AMOUNTS[self.rng.below(3) as usize];
        let strategy = self.rng.below(2) as u8;
        let mask = if strategy == 1 {
            let all: Vec<usize> = (0..25).collect();
            let count = 3 + self.rng.below(8) as usize;
            u64::from(self.random_squares(&all, count))
        } else {
            1 + self.rng.below(10)
        };
        let deposit = amount * 25 * (4 + self.rng.below(8));
        let (fee, reload) = (5_000, self.rng.below(2));
        let s = &mut self.miners[m];
        let automation = Automation {
            amount,
            authority: s.authority,
            balance: deposit,
            executor: self.keys.executor,
            fee,
            strategy: u64::from(strategy),
            mask,
            reload,
        };
        s.automation = Some(automation.clone());
        let mut writes = vec![(s.automation_address, OreAccount::Automation(automation))];
        if s.miner.is_none() {
            let miner = Miner {
                authority: s.authority,
                ..Miner::default()
            };
            s.miner = Some(miner.clone());
            writes.push((s.address, OreAccount::Miner(miner)));
        }
        let accounts = vec![
            s.authority,
            s.automation_address,
            self.keys.executor,
            s.address,
            self.keys.system_program,
        ];
        let ix = OreIx::Automate {
            amount,
            deposit,
            fee,
            mask,
            strategy,
            reload,
        };
        let r = self.appear(m);
        self.record.miners[r].automate = Some((self.slot, sig, ix.clone()));
        let call = Call {
            ix,
            accounts,
            logs: vec![],
            inner: vec![],
        };
        let first = self.rng.chance(0.5);
        self.emit(index, sig, vec![call], writes, first, None);
    }

    /// A random manual wallet deploys on squares it does not hold yet this round.
    pub(super) fn manual_deploy(&mut self) {
        let manual: Vec<usize> = (0..self.miners.len())
            .filter(|&m| !self.miners[m].automated)
            .collect();
        if manual.is_empty() {
            return;
        }
        let m = manual[self.rng.below(manual.len() as u64) as usize];
        let id = self.board.round_id;
        let free: Vec<usize> = (0..25)
            .filter(|&sq| {
                self.miners[m]
                    .miner
                    .as_ref()
                    .is_none_or(|x| x.round_id != id || x.deployed[sq] == 0)
            })
            .collect();
        if free.is_empty() {
            return;
        }
        let mask = if self.rng.chance(0.15) {
            free.iter().fold(0u32, |mask, &sq| mask | 1 << sq)
        } else {
            let count = 1 + self.rng.below(5) as usize;
            self.random_squares(&free, count)
        };
        let amount = AMOUNTS[self.rng.below(AMOUNTS.len() as u64) as usize];
        let signer = self.miners[m].authority;
        self.deploy(m, signer, amount, mask);
    }

    /// The executor deploys for wallet `m`'s automation (idle once it cannot pay a square).
    pub(super) fn automated_deploy(&mut self, m: usize) {
        let Some(a) = self.miners[m].automation.clone() else {
            return;
        };
        // An automation that cannot pay one square stays idle.
        if a.balance < a.amount + a.fee {
            return;
        }
        let mask = if a.strategy == 1 {
            a.mask as u32
        } else {
            let all: Vec<usize> = (0..25).collect();
            self.random_squares(&all, (a.mask & 0xFF) as usize)
        };
        self.deploy(m, self.keys.executor, a.amount, mask);
    }

    /// One `deploy` transaction: a `checkpoint` of the wallet's previous round first when it
    /// is due; the round's first deploy starts it and reopens the var.
    pub(super) fn deploy(&mut self, m: usize, signer: Pubkey, amount: u64, mask: u32) {
        let (index, sig) = self.next_tx();
        let id = self.current();
        let mut calls = Vec::new();
        let mut writes = Vec::new();
        let mut treasury_cause = None;
        let s = &self.miners[m];
        let behind = s.miner.as_ref().is_some_and(|x| x.round_id != id as u64);
        if s.pending_checkpoint && behind {
            let (call, w, round) = self.checkpoint_call(m, signer, sig);
            calls.push(call);
            writes.extend(w);
            treasury_cause = Some(("checkpoint", round));
        }
        let starting = self.board.end_slot == u64::MAX;
        let mut inner = Vec::new();
        if starting {
            self.start_round(sig);
            let end_at = self.board.end_slot;
            inner.push((OreIx::Next { end_at }, vec![self.keys.board, self.keys.var]));
        }
        self.appear(m);
        let s = &mut self.miners[m];
        let authority = s.authority;
        let miner = s.miner.get_or_insert_with(|| Miner {
            authority,
            ..Miner::default()
        });
        let automation = if signer == authority {
            None
        } else {
            s.automation.as_mut()
        };
        let automated = automation.is_some();
        let round = &mut self.rounds[id];
        let amounts = program::deploy(round, miner, automation, amount, mask);
        let rec = &mut self.record.rounds[id];
        if rec.deployments.iter().all(|d| d.authority != authority) {
            round.total_miners += 1;
        }
        rec.deployments.push(Deployment {
            slot: self.slot,
            signature: sig,
            authority,
            signer,
            automated,
            amount,
            mask,
            amounts,
        });
        s.pending_checkpoint = true;
        let squares = amounts.iter().filter(|&&a| a > 0).count();
        writes.push((self.keys.round(id as u64), OreAccount::Round(round.clone())));
        writes.push((s.address, OreAccount::Miner(miner.clone())));
        if let (true, Some(a)) = (automated, &s.automation) {
            writes.push((s.automation_address, OreAccount::Automation(a.clone())));
        }
        let accounts = vec![
            signer,
            authority,
            s.automation_address,
            self.keys.board,
            self.keys.config,
            s.address,
            self.keys.round(id as u64),
            self.keys.system_program,
            self.keys.ore_program,
            self.keys.var,
            self.keys.entropy_program,
        ];
        let writes_first = if starting {
            writes.push((self.keys.board, OreAccount::Board(self.board.clone())));
            writes.push((self.keys.var, OreAccount::Var(self.var.clone())));
            let race = id % 2 == 1;
            self.record.rounds[id].var_before_first_deploy = race;
            race
        } else {
            self.rng.chance(0.5)
        };
        let sol = amount as f64 / LAMPORTS_PER_SOL as f64;
        calls.push(Call {
            ix: OreIx::Deploy {
                amount,
                squares: mask,
            },
            accounts,
            logs: vec![format!(
                "Round #{id}: deploying {sol} SOL to {squares} squares"
            )],
            inner,
        });
        self.emit(index, sig, calls, writes, writes_first, treasury_cause);
    }

    /// Settles miner `m`'s pending round: the instruction, the writes, and that round's id.
    pub(super) fn checkpoint_call(
        &mut self,
        m: usize,
        signer: Pubkey,
        sig: Sig,
    ) -> (Call, Vec<(Pubkey, OreAccount)>, u64) {
        let s = &mut self.miners[m];
        let miner = s.miner.get_or_insert_with(Miner::default);
        let rid = miner.round_id;
        let round = &mut self.rounds[rid as usize];
        let settled =
            program::checkpoint(round, miner, &mut self.treasury, self.keys.split_address);
        s.pending_checkpoint = false;
        self.record.rounds[rid as usize]
            .checkpoints
            .push(CheckpointRecord {
                slot: self.slot,
                signature: sig,
                authority: s.authority,
                rewards_sol: settled.rewards_sol,
                rewards_ore: settled.rewards_ore,
                top_miner: settled.top_miner,
            });
        let mut writes = vec![(s.address, OreAccount::Miner(miner.clone()))];
        if settled.top_miner {
            writes.push((self.keys.round(rid), OreAccount::Round(round.clone())));
        }
        writes.push((
            self.keys.treasury,
            OreAccount::Treasury(self.treasury.clone()),
        ));
        let call = Call {
            ix: OreIx::Checkpoint,
            accounts: vec![
                signer,
                self.keys.board,
                s.address,
                self.keys.round(rid),
                self.keys.treasury,
                self.keys.system_program,
            ],
            logs: vec![format!("Round ID: {rid}")],
            inner: vec![],
        };
        (call, writes, rid)
    }

    /// The crank settles one miner whose round was reset.
    pub(super) fn crank_checkpoint(&mut self) {
        let current = self.board.round_id;
        let pending: Vec<usize> = (0..self.miners.len())
            .filter(|&m| {
                let s = &self.miners[m];
                s.pending_checkpoint && s.miner.as_ref().is_some_and(|x| x.round_id < current)
            })
            .collect();
        if pending.is_empty() {
            return;
        }
        let m = pending[self.rng.below(pending.len() as u64) as usize];
        let (index, sig) = self.next_tx();
        let (call, writes, rid) = self.checkpoint_call(m, self.keys.crank, sig);
        let first = self.rng.chance(0.5);
        self.emit(
            index,
            sig,
            vec![call],
            writes,
            first,
            Some(("checkpoint", rid)),
        );
    }
}
