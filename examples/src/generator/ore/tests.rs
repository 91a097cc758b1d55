use crate::generator::Transaction;
use std::collections::HashMap;

use super::*;

fn sim() -> (Vec<Update>, OreRecord) {
    OreSim::new(42, 300_000_000).run(2_000)
}

fn last_round_write(record: &OreRecord, id: u64) -> Round {
    let address = record.keys.round(id);
    record
        .writes
        .iter()
        .rev()
        .find_map(|w| match &w.account {
            OreAccount::Round(r) if w.pubkey == address => Some(r.clone()),
            _ => None,
        })
        .expect("the round was written")
}

#[test]
fn deterministic_per_seed() {
    let (a, ra) = sim();
    let (b, rb) = sim();
    assert_eq!(a, b);
    assert_eq!(ra, rb);
    let (c, _) = OreSim::new(43, 300_000_000).run(2_000);
    assert_ne!(a, c);
}

#[test]
fn rounds_go_through_their_lifecycle() {
    let (_, record) = sim();
    let resolved: Vec<&RoundRecord> = record.rounds.iter().filter(|r| r.reset.is_some()).collect();
    assert!(resolved.len() >= 8, "{} rounds resolved", resolved.len());
    for (i, r) in record.rounds.iter().enumerate() {
        assert_eq!(r.id, i as u64);
        assert_eq!(r.address, record.keys.round(r.id));
        let Some(reset) = &r.reset else { continue };
        let (start, end) = (r.start_slot.unwrap(), r.end_slot.unwrap());
        assert_eq!(end, start + 150);
        assert_eq!(r.expires_at, end + ONE_DAY_SLOTS);
        let e = &r.entropy;
        let (next, sample, reveal) = (
            e.next.as_ref().unwrap(),
            e.sample.as_ref().unwrap(),
            e.reveal.as_ref().unwrap(),
        );
        // `next` cleared the var; `sample` set the slot hash only; `reveal` set the value.
        assert_eq!((next.var.value, next.var.slot_hash), ([0; 32], [0; 32]));
        assert_eq!(next.var.end_at, end);
        assert_eq!(next.signature, r.deployments[0].signature);
        assert!(sample.slot >= end && sample.var.value == [0; 32]);
        assert_ne!(sample.var.slot_hash, [0; 32]);
        assert_eq!(
            reveal.var.value,
            program::entropy_value(&sample.var.slot_hash, &reveal.var.seed)
        );
        // The seed is the one committed to; the commit is the previous round's seed.
        assert_eq!(program::hash32(&reveal.var.seed), next.var.commit);
        if i > 0 {
            let previous = record.rounds[i - 1].entropy.reveal.as_ref().unwrap();
            assert_eq!(next.var.commit, previous.var.seed);
        }
        assert!(reset.slot >= end + 35 && reset.slot > reveal.slot);
        assert_eq!(reset.value, reveal.var.value);
        assert_eq!(last_round_write(&record, r.id).slot_hash, reset.value);
        // The next round was opened by this reset.
        assert_eq!(record.rounds[i + 1].opened_by, Some(reset.signature));
    }
    assert!(record.rounds.iter().all(|r| r
        .deployments
        .iter()
        .all(|d| d.amounts.iter().any(|&a| a > 0))));
}

/// What the record says about a round is what its account holds.
#[test]
fn the_record_accounts_for_every_round() {
    let (_, record) = sim();
    for r in &record.rounds {
        let account = last_round_write(&record, r.id);
        let mut deployed = [0u64; 25];
        let mut count = [0u64; 25];
        for d in &r.deployments {
            for (sq, &a) in d.amounts.iter().enumerate() {
                deployed[sq] += a;
                count[sq] += u64::from(a > 0);
            }
        }
        let miners: std::collections::HashSet<Pubkey> =
            r.deployments.iter().map(|d| d.authority).collect();
        assert_eq!(account.deployed, deployed, "round {}", r.id);
        assert_eq!(account.count, count, "round {}", r.id);
        assert_eq!(account.total_miners, miners.len() as u64);
        assert_eq!(account.top_miner, r.top_miner);
        // Checkpoints settle a round after its reset, once per miner.
        let settled: std::collections::HashSet<Pubkey> =
            r.checkpoints.iter().map(|c| c.authority).collect();
        assert_eq!(settled.len(), r.checkpoints.len(), "round {}", r.id);
        assert!(settled.is_subset(&miners));
        for c in &r.checkpoints {
            let reset = r.reset.as_ref().expect("checkpoints follow the reset");
            assert!(c.slot >= reset.slot && c.signature != reset.signature);
        }
        let top = r.checkpoints.iter().filter(|c| c.top_miner).count();
        assert!(top <= 1);
        if let Some(reset) = &r.reset {
            let w = reset.winning_square.unwrap();
            assert_eq!(
                Some(w),
                program::rng(&reset.value).map(program::winning_square)
            );
            if reset.split {
                assert_eq!(r.top_miner, record.keys.split_address);
            } else if top == 1 {
                let c = r.checkpoints.iter().find(|c| c.top_miner).unwrap();
                assert_eq!(r.top_miner, c.authority);
            }
        }
    }
}

#[test]
fn the_motherlode_hits_in_steered_rounds() {
    let (_, record) = sim();
    let hits: Vec<&RoundRecord> = record
        .rounds
        .iter()
        .filter(|r| r.reset.as_ref().is_some_and(|x| x.motherlode_hit))
        .collect();
    assert!(hits.iter().any(|r| r.id == 3), "round 3 is steered to hit");
    for r in hits {
        let reset = r.reset.as_ref().unwrap();
        let rng = program::rng(&reset.value).unwrap();
        assert!(program::hit_motherlode(rng));
        assert_eq!(
            last_round_write(&record, r.id).motherlode,
            reset.motherlode_before
        );
        assert_eq!(reset.motherlode_after, ONE_ORE / 5);
    }
    // The treasury's motherlode grows by 0.2 ORE per round with winners, and only resets change it.
    for w in record.treasury.windows(2) {
        if w[1].cause != "reset" {
            assert_eq!(w[0].treasury.motherlode, w[1].treasury.motherlode);
        }
    }
}

#[test]
fn writes_carry_the_signature_of_their_transaction() {
    let (updates, record) = sim();
    let txs: HashMap<[u8; 64], &Transaction> = updates
        .iter()
        .filter_map(|u| match u {
            Update::Transaction(t) => Some((t.signature, t)),
            Update::Account(_) => None,
        })
        .collect();
    let mut unsigned = 0;
    for u in &updates {
        if let Update::Account(a) = u {
            match a.txn_signature {
                Some(sig) => assert_eq!(txs[&sig].slot, a.slot),
                None => unsigned += 1,
            }
        }
    }
    assert_eq!(
        unsigned, 4,
        "only the initial board, round, treasury and var"
    );
    assert!(updates.windows(2).all(|w| w[0].slot() <= w[1].slot()));
    assert_eq!(
        record.writes.len(),
        updates
            .iter()
            .filter(|u| matches!(u, Update::Account(_)))
            .count()
    );
}

/// Round N+1's var write (the `next` of its first deploy) arrives before that deploy's
/// transaction in odd rounds, after it in even ones.
#[test]
fn the_var_races_the_first_deploy_in_odd_rounds() {
    let (updates, record) = sim();
    let var = record.keys.var;
    let position = |pred: &dyn Fn(&Update) -> bool| updates.iter().position(pred).unwrap();
    let mut raced = 0;
    for r in record.rounds.iter().filter(|r| !r.deployments.is_empty()) {
        let sig = r.deployments[0].signature;
        let tx = position(&|u| matches!(u, Update::Transaction(t) if t.signature == sig));
        let write = position(
            &|u| matches!(u, Update::Account(a) if a.pubkey == var && a.txn_signature == Some(sig)),
        );
        assert_eq!(write < tx, r.id % 2 == 1, "round {}", r.id);
        assert_eq!(r.var_before_first_deploy, r.id % 2 == 1);
        raced += usize::from(write < tx);
        // The first deploy names the round and the var, and CPIs entropy `next`.
        let Update::Transaction(t) = &updates[tx] else {
            unreachable!()
        };
        let deploy = t.instructions.last().unwrap();
        assert_eq!(deploy.accounts[6], r.address);
        assert_eq!(deploy.accounts[9], var);
        assert_eq!(deploy.inner[0].data[0], 2, "entropy next");
    }
    assert!(raced >= 4);
}

#[test]
fn instructions_are_recorded_as_sent() {
    let (updates, record) = sim();
    let mut sent = Vec::new();
    for u in &updates {
        if let Update::Transaction(t) = u {
            for ix in &t.instructions {
                sent.push((t.signature, ix.data.clone(), ix.accounts.clone()));
                for cpi in &ix.inner {
                    sent.push((t.signature, cpi.data.clone(), cpi.accounts.clone()));
                }
            }
        }
    }
    let recorded: Vec<_> = record
        .instructions
        .iter()
        .map(|i| (i.signature, i.ix.encode(), i.accounts.clone()))
        .collect();
    assert_eq!(sent, recorded);
    let names: std::collections::HashSet<&str> =
        record.instructions.iter().map(|i| i.ix.name()).collect();
    for name in [
        "automate",
        "checkpoint",
        "deploy",
        "reset",
        "next",
        "sample",
        "reveal",
    ] {
        assert!(names.contains(name), "{name} is sent");
    }
    // Some transactions checkpoint and deploy together.
    assert!(record
        .instructions
        .iter()
        .any(|i| i.path == (1, None) && i.ix.name() == "deploy"));
    assert!(
        record
            .miners
            .iter()
            .filter(|m| m.automate.is_some())
            .count()
            >= 3
    );
}
