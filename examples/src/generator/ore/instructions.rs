//! The `ore` and `entropy` instructions the simulation sends, with their steel encoding: the
//! one-byte discriminant of the IDL, then the arguments packed in order, little-endian.

/// Which program an instruction belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `ore`
    Ore,
    /// `entropy`
    Entropy,
}

/// An instruction with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OreIx {
    /// ore `automate` (discriminant 0): opens an automation.
    Automate {
        /// Lamports per square.
        amount: u64,
        /// Lamports deposited.
        deposit: u64,
        /// Executor fee per deployment.
        fee: u64,
        /// Square mask, or square count for the random strategy.
        mask: u64,
        /// 0 random, 1 preferred squares.
        strategy: u8,
        /// Whether to redeploy SOL rewards.
        reload: u64,
    },
    /// ore `checkpoint` (2): settles a miner's rewards for its last round.
    Checkpoint,
    /// ore `deploy` (6): lamports per square on the squares of a bit mask.
    Deploy {
        /// Lamports per square.
        amount: u64,
        /// Bit `i` selects square `i`.
        squares: u32,
    },
    /// ore `reset` (9): resolves the round and opens the next.
    Reset,
    /// entropy `next` (2): opens the var's next sample (a CPI of the round's first deploy).
    Next {
        /// Slot whose hash will be sampled.
        end_at: u64,
    },
    /// entropy `reveal` (4): reveals the seed and sets the value.
    Reveal {
        /// The seed committed to.
        seed: [u8; 32],
    },
    /// entropy `sample` (5): records the slot hash at `end_at`.
    Sample,
}

impl OreIx {
    /// The program it calls.
    pub fn program(&self) -> Program {
        match self {
            OreIx::Automate { .. } | OreIx::Checkpoint | OreIx::Deploy { .. } | OreIx::Reset => {
                Program::Ore
            }
            OreIx::Next { .. } | OreIx::Reveal { .. } | OreIx::Sample => Program::Entropy,
        }
    }

    /// Its name in the IDL.
    pub fn name(&self) -> &'static str {
        match self {
            OreIx::Automate { .. } => "automate",
            OreIx::Checkpoint => "checkpoint",
            OreIx::Deploy { .. } => "deploy",
            OreIx::Reset => "reset",
            OreIx::Next { .. } => "next",
            OreIx::Reveal { .. } => "reveal",
            OreIx::Sample => "sample",
        }
    }

    /// Instruction data: discriminant, then the packed arguments.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            OreIx::Automate {
                amount,
                deposit,
                fee,
                mask,
                strategy,
                reload,
            } => {
                let mut d = vec![0];
                for v in [amount, deposit, fee, mask] {
                    d.extend_from_slice(&v.to_le_bytes());
                }
                d.push(*strategy);
                d.extend_from_slice(&reload.to_le_bytes());
                d
            }
            OreIx::Checkpoint => vec![2],
            OreIx::Deploy { amount, squares } => {
                let mut d = vec![6];
                d.extend_from_slice(&amount.to_le_bytes());
                d.extend_from_slice(&squares.to_le_bytes());
                d
            }
            OreIx::Reset => vec![9],
            OreIx::Next { end_at } => {
                let mut d = vec![2];
                d.extend_from_slice(&end_at.to_le_bytes());
                d
            }
            OreIx::Reveal { seed } => {
                let mut d = vec![4];
                d.extend_from_slice(seed);
                d
            }
            OreIx::Sample => vec![5],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_after_the_discriminant() {
        let deploy = OreIx::Deploy {
            amount: 0x0102,
            squares: 0b101,
        };
        assert_eq!(deploy.encode(), [6, 2, 1, 0, 0, 0, 0, 0, 0, 0b101, 0, 0, 0]);
        let automate = OreIx::Automate {
            amount: 1,
            deposit: 2,
            fee: 3,
            mask: 4,
            strategy: 1,
            reload: 5,
        };
        let d = automate.encode();
        assert_eq!((d.len(), d[0], d[33], d[34]), (42, 0, 1, 5));
        assert_eq!(OreIx::Reveal { seed: [7; 32] }.encode().len(), 33);
        assert_eq!(OreIx::Reset.program(), Program::Ore);
        assert_eq!(OreIx::Sample.program(), Program::Entropy);
    }
}
