//! The pump market simulation: tokens launch on bonding curves, trade in bursts (prices move
//! by more than 5% at times), and some complete their curve.

use super::encode::Borsh;
use super::rng::Rng;
use super::{AccountWrite, Pubkey, Transaction, Update};

/// Program address of the example IDL (examples/pump/idl/pump.json).
pub const PROGRAM: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
/// Initial virtual token reserves of a curve.
pub const INITIAL_VIRTUAL_TOKEN: u64 = 1_073_000_000_000_000;
/// Initial virtual SOL reserves of a curve (lamports).
pub const INITIAL_VIRTUAL_SOL: u64 = 30_000_000_000;
/// Tokens a curve can sell before it completes.
pub const INITIAL_REAL_TOKEN: u64 = 793_100_000_000_000;
/// Total supply of each token.
pub const TOTAL_SUPPLY: u64 = 1_000_000_000_000_000;

/// A token's bonding curve as the simulation tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Curve {
    /// Bonding curve account address.
    pub address: Pubkey,
    /// The token's mint.
    pub mint: Pubkey,
    /// Token name.
    pub name: String,
    /// Ticker.
    pub symbol: String,
    /// Creator.
    pub creator: Pubkey,
    /// Virtual token reserves.
    pub virtual_token: u64,
    /// Virtual SOL reserves (lamports).
    pub virtual_sol: u64,
    /// Real token reserves left to sell.
    pub real_token: u64,
    /// Real SOL held (lamports).
    pub real_sol: u64,
    /// Whether the curve completed.
    pub complete: bool,
}

impl Curve {
    /// Price in lamports per base unit (as the stack's `price_sol` computes it).
    pub fn price(&self) -> f64 {
        self.virtual_sol as f64 / self.virtual_token as f64
    }

    fn account_data(&self) -> Vec<u8> {
        Borsh::with_discriminator("account", "BondingCurve")
            .u64(self.virtual_token)
            .u64(self.virtual_sol)
            .u64(self.real_token)
            .u64(self.real_sol)
            .u64(TOTAL_SUPPLY)
            .bool(self.complete)
            .finish()
    }
}

/// One trade as the simulation made it (its own log, independent of any decoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    /// Slot of the transaction.
    pub slot: u64,
    /// Index of the curve in [`PumpSim::curves`].
    pub curve: usize,
    /// Lamports traded.
    pub sol: u64,
    /// Base units traded.
    pub tokens: u64,
    /// A buy (else a sell).
    pub is_buy: bool,
    /// The trader.
    pub user: Pubkey,
    /// The event's timestamp.
    pub timestamp: i64,
    /// Virtual SOL reserves after the trade.
    pub virtual_sol: u64,
    /// Virtual token reserves after the trade.
    pub virtual_token: u64,
}

/// What the simulation did, in order: every token launch and trade.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PumpLog {
    /// Slot each curve was created in, by curve index.
    pub created: Vec<u64>,
    /// Every trade, in the order of the updates.
    pub trades: Vec<Trade>,
    /// Curve indices in the order their entity was last touched (a create or a trade).
    pub touched: Vec<usize>,
}

const NAMES: [&str; 12] = [
    "Moon", "Frog", "Rocket", "Cat", "Doge", "Pepe", "Laser", "Otter", "Comet", "Tiger", "Pixel",
    "Nova",
];

/// The simulation's state and output.
pub struct PumpSim {
    rng: Rng,
    program: Pubkey,
    global: Pubkey,
    fee_recipient: Pubkey,
    traders: Vec<Pubkey>,
    /// Every curve created so far, in creation order.
    pub curves: Vec<Curve>,
    slot: u64,
    tx_index: u64,
    /// Signature of the transaction being simulated (its account writes carry it).
    signature: [u8; 64],
    write_version: u64,
    out: Vec<Update>,
    log: PumpLog,
}

impl PumpSim {
    /// A simulation for a seed, starting at `start_slot`.
    pub fn new(seed: u64, start_slot: u64) -> PumpSim {
        let mut rng = Rng::new(seed);
        let traders = (0..40).map(|_| rng.key()).collect();
        PumpSim {
            program: super::pubkey(PROGRAM).unwrap_or_default(),
            global: rng.key(),
            fee_recipient: rng.key(),
            traders,
            rng,
            curves: Vec::new(),
            slot: start_slot,
            tx_index: 0,
            signature: [0; 64],
            write_version: 0,
            out: Vec::new(),
            log: PumpLog::default(),
        }
    }

    /// Runs `slots` slots and returns every update, in order, and the final curves.
    pub fn run(self, slots: u64) -> (Vec<Update>, Vec<Curve>) {
        let (updates, curves, _) = self.run_logged(slots);
        (updates, curves)
    }

    /// [`PumpSim::run`], also returning the simulation's own log of launches and trades.
    pub fn run_logged(mut self, slots: u64) -> (Vec<Update>, Vec<Curve>, PumpLog) {
        let end = self.slot + slots;
        let mut hot: Option<usize> = None;
        while self.slot < end {
            self.tx_index = 0;
            if self.curves.len() < 3 || self.rng.chance(0.12) {
                self.create();
            }
            // A burst: one token gets heavy buying (or selling) for a while.
            if hot.is_none() || self.rng.chance(0.08) {
                hot = self.open_curve();
            }
            let trades = 1 + self.rng.below(4);
            for _ in 0..trades {
                match hot {
                    Some(h) if self.rng.chance(0.6) && !self.curves[h].complete => {
                        self.trade(h, true)
                    }
                    _ => {
                        if let Some(i) = self.open_curve() {
                            self.trade(i, false);
                        }
                    }
                }
            }
            self.slot += 1;
        }
        (self.out, self.curves, self.log)
    }

    fn open_curve(&mut self) -> Option<usize> {
        let open: Vec<usize> = (0..self.curves.len())
            .filter(|&i| !self.curves[i].complete)
            .collect();
        if open.is_empty() {
            None
        } else {
            Some(open[self.rng.below(open.len() as u64) as usize])
        }
    }

    fn next_tx(&mut self) -> (u64, [u8; 64]) {
        let index = self.tx_index;
        self.tx_index += 1;
        self.signature = self.rng.signature();
        (index, self.signature)
    }

    fn write_curve(&mut self, i: usize) {
        self.write_version += 1;
        let curve = &self.curves[i];
        self.out.push(Update::Account(AccountWrite {
            slot: self.slot,
            write_version: self.write_version,
            pubkey: curve.address,
            owner: self.program,
            txn_signature: Some(self.signature),
            data: curve.account_data(),
        }));
    }

    fn create(&mut self) {
        let n = self.curves.len();
        let name = format!("{} {}", NAMES[n % NAMES.len()], n / NAMES.len() + 1);
        let symbol = format!("{}{}", &NAMES[n % NAMES.len()][..3].to_uppercase(), n);
        let creator = self.traders[self.rng.below(self.traders.len() as u64) as usize];
        let curve = Curve {
            address: self.rng.key(),
            mint: self.rng.key(),
            name,
            symbol,
            creator,
            virtual_token: INITIAL_VIRTUAL_TOKEN,
            virtual_sol: INITIAL_VIRTUAL_SOL,
            real_token: INITIAL_REAL_TOKEN,
            real_sol: 0,
            complete: false,
        };
        let (index, signature) = self.next_tx();
        let data = Borsh::with_discriminator("global", "create")
            .string(&curve.name)
            .string(&curve.symbol)
            .string(&format!("https://example.invalid/{}.json", curve.symbol))
            .finish();
        let system = [0u8; 32];
        let accounts = vec![
            curve.mint,
            self.global,
            curve.address,
            self.rng.key(),
            self.global,
            self.rng.key(),
            curve.creator,
            system,
        ];
        let event = Borsh::with_discriminator("event", "CreateEvent")
            .string(&curve.name)
            .string(&curve.symbol)
            .string("")
            .pubkey(&curve.mint)
            .pubkey(&curve.address)
            .pubkey(&curve.creator)
            .finish();
        self.out.push(Update::Transaction(Transaction::anchor(
            self.slot,
            index,
            signature,
            self.program,
            "Create",
            accounts,
            data,
            &[event],
        )));
        self.curves.push(curve);
        self.log.created.push(self.slot);
        self.log.touched.push(n);
        self.write_curve(n);
    }

    /// One trade; a `hot` token (in a burst) mostly gets large buys.
    fn trade(&mut self, i: usize, hot: bool) {
        let user = self.traders[self.rng.below(self.traders.len() as u64) as usize];
        let is_buy = self.curves[i].real_sol == 0 || self.rng.chance(if hot { 0.85 } else { 0.55 });
        let c = &self.curves[i];
        let k = c.virtual_sol as u128 * c.virtual_token as u128;
        let (sol, tokens) = if is_buy {
            // 0.05 .. 3 SOL, occasionally a whale buy of up to 12 SOL.
            let base = 50_000_000 + self.rng.below(2_950_000_000);
            let sol = if hot || self.rng.chance(0.05) {
                base * 4
            } else {
                base
            };
            let new_sol = c.virtual_sol as u128 + sol as u128;
            let new_token = k.div_ceil(new_sol);
            let out = (c.virtual_token as u128 - new_token).min(c.real_token as u128) as u64;
            (sol, out)
        } else {
            let held = INITIAL_REAL_TOKEN - c.real_token;
            let tokens = (held / (2 + self.rng.below(8))).max(1);
            let new_token = c.virtual_token as u128 + tokens as u128;
            let new_sol = k.div_ceil(new_token);
            let out = ((c.virtual_sol as u128).saturating_sub(new_sol) as u64).min(c.real_sol);
            (out, tokens)
        };
        if tokens == 0 || sol == 0 {
            return;
        }
        {
            let c = &mut self.curves[i];
            if is_buy {
                c.virtual_sol += sol;
                c.virtual_token -= tokens;
                c.real_sol += sol;
                c.real_token -= tokens;
            } else {
                c.virtual_sol -= sol;
                c.virtual_token += tokens;
                c.real_sol -= sol;
                c.real_token += tokens;
            }
        }
        let completes = self.curves[i].real_token == 0 || self.curves[i].real_sol >= 85_000_000_000;
        if completes {
            self.curves[i].complete = true;
        }
        let c = self.curves[i].clone();
        let (index, signature) = self.next_tx();
        let (name, amount_arg) = if is_buy {
            ("buy", sol + sol / 100)
        } else {
            ("sell", sol - sol / 100)
        };
        let data = Borsh::with_discriminator("global", name)
            .u64(tokens)
            .u64(amount_arg)
            .finish();
        let accounts = vec![
            self.global,
            self.fee_recipient,
            c.mint,
            c.address,
            self.rng.key(),
            self.rng.key(),
            user,
        ];
        let timestamp = 1_700_000_000 + self.slot as i64 / 2;
        let trade = Borsh::with_discriminator("event", "TradeEvent")
            .pubkey(&c.mint)
            .u64(sol)
            .u64(tokens)
            .bool(is_buy)
            .pubkey(&user)
            .i64(timestamp)
            .u64(c.virtual_sol)
            .u64(c.virtual_token)
            .finish();
        self.log.trades.push(Trade {
            slot: self.slot,
            curve: i,
            sol,
            tokens,
            is_buy,
            user,
            timestamp,
            virtual_sol: c.virtual_sol,
            virtual_token: c.virtual_token,
        });
        self.log.touched.push(i);
        let mut events = vec![trade];
        if completes {
            let done = Borsh::with_discriminator("event", "CompleteEvent")
                .pubkey(&user)
                .pubkey(&c.mint)
                .pubkey(&c.address)
                .i64(1_700_000_000 + self.slot as i64 / 2)
                .finish();
            events.push(done);
        }
        self.out.push(Update::Transaction(Transaction::anchor(
            self.slot,
            index,
            signature,
            self.program,
            if is_buy { "Buy" } else { "Sell" },
            accounts,
            data,
            &events,
        )));
        self.write_curve(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_lively() {
        let (a, curves) = PumpSim::new(42, 1_000).run(400);
        let (b, _) = PumpSim::new(42, 1_000).run(400);
        assert_eq!(a, b, "same seed, same updates");
        assert!(curves.len() >= 20, "many tokens: {}", curves.len());
        let trades = a
            .iter()
            .filter(|u| matches!(u, Update::Transaction(t) if t.logs.iter().any(|l| l.contains("Instruction: Buy") || l.contains("Instruction: Sell"))))
            .count();
        assert!(trades > 500, "bursts of trades: {trades}");
        // Prices move by more than 5% between consecutive writes of some curve.
        let mut last: std::collections::HashMap<Pubkey, f64> = Default::default();
        let mut big_moves = 0;
        for u in &a {
            if let Update::Account(w) = u {
                let vt = u64::from_le_bytes(w.data[8..16].try_into().unwrap()) as f64;
                let vs = u64::from_le_bytes(w.data[16..24].try_into().unwrap()) as f64;
                let p = vs / vt;
                if let Some(prev) = last.insert(w.pubkey, p) {
                    if ((p - prev) / prev).abs() > 0.05 {
                        big_moves += 1;
                    }
                }
            }
        }
        assert!(big_moves > 10, "price moves over 5%: {big_moves}");
        assert!(curves.iter().any(|c| c.complete), "some tokens complete");
        // Slots and write versions only go forward.
        assert!(a.windows(2).all(|w| w[0].slot() <= w[1].slot()));
    }
}
