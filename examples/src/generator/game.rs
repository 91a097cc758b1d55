//! The settlement-game simulation: players register, open games, join them and settle them;
//! winners gain score.

use super::encode::Borsh;
use super::rng::Rng;
use super::{AccountWrite, Pubkey, Transaction, Update};

/// Program address of the example IDL (examples/game/idl/settlement_game.json).
pub const PROGRAM: &str = "GaME1111111111111111111111111111111111111111";

/// A player as the simulation tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// Player account address.
    pub address: Pubkey,
    /// Wallet.
    pub authority: Pubkey,
    /// Display name.
    pub name: String,
    /// Score.
    pub score: u64,
    /// Games played.
    pub games_played: u32,
    /// Games won.
    pub wins: u32,
    /// 0 won, 1 lost, 2 draw.
    pub last_result: Option<u8>,
}

/// A game as the simulation tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Game {
    /// Game account address.
    pub address: Pubkey,
    /// Game number.
    pub game_id: u64,
    /// Index of the creating player.
    pub creator: usize,
    /// Index of the opponent, once joined.
    pub opponent: Option<usize>,
    /// Stake per player (lamports).
    pub stake: u64,
    /// 0 open, 1 active, 2 settled.
    pub status: u8,
    /// Index of the winner, once settled.
    pub winner: Option<usize>,
    /// Slot it was created in.
    pub created_slot: u64,
}

const NAMES: [&str; 10] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
];

/// The simulation's state and output.
pub struct GameSim {
    rng: Rng,
    program: Pubkey,
    referee: Pubkey,
    /// Every player, in registration order.
    pub players: Vec<Player>,
    /// Every game, in creation order.
    pub games: Vec<Game>,
    slot: u64,
    tx_index: u64,
    /// Signature of the transaction being simulated (its account writes carry it).
    signature: [u8; 64],
    write_version: u64,
    out: Vec<Update>,
}

impl GameSim {
    /// A simulation for a seed, starting at `start_slot`.
    pub fn new(seed: u64, start_slot: u64) -> GameSim {
        let mut rng = Rng::new(seed ^ 0x6A3E);
        GameSim {
            program: super::pubkey(PROGRAM).unwrap_or_default(),
            referee: rng.key(),
            rng,
            players: Vec::new(),
            games: Vec::new(),
            slot: start_slot,
            tx_index: 0,
            signature: [0; 64],
            write_version: 0,
            out: Vec::new(),
        }
    }

    /// Runs `slots` slots; returns the updates, the players and the games.
    pub fn run(mut self, slots: u64) -> (Vec<Update>, Vec<Player>, Vec<Game>) {
        let end = self.slot + slots;
        while self.slot < end {
            self.tx_index = 0;
            if self.players.len() < 4 || (self.players.len() < 30 && self.rng.chance(0.15)) {
                self.register();
            }
            if self.rng.chance(0.5) {
                self.create_game();
            }
            let open: Vec<usize> = (0..self.games.len())
                .filter(|&g| self.games[g].status == 0)
                .collect();
            if let Some(&g) = open.first() {
                if self.rng.chance(0.6) {
                    self.join(g);
                }
            }
            let active: Vec<usize> = (0..self.games.len())
                .filter(|&g| self.games[g].status == 1)
                .collect();
            if let Some(&g) = active.first() {
                if self.rng.chance(0.55) {
                    self.settle(g);
                }
            }
            self.slot += 1;
        }
        (self.out, self.players, self.games)
    }

    fn next_tx(&mut self) -> (u64, [u8; 64]) {
        let index = self.tx_index;
        self.tx_index += 1;
        self.signature = self.rng.signature();
        (index, self.signature)
    }

    fn push_tx(&mut self, name: &str, accounts: Vec<Pubkey>, data: Vec<u8>, events: Vec<Vec<u8>>) {
        let (index, signature) = self.next_tx();
        self.out.push(Update::Transaction(Transaction::anchor(
            self.slot,
            index,
            signature,
            self.program,
            name,
            accounts,
            data,
            &events,
        )));
    }

    fn write(&mut self, pubkey: Pubkey, data: Vec<u8>) {
        self.write_version += 1;
        self.out.push(Update::Account(AccountWrite {
            slot: self.slot,
            write_version: self.write_version,
            pubkey,
            owner: self.program,
            txn_signature: Some(self.signature),
            data,
        }));
    }

    fn player_data(p: &Player) -> Vec<u8> {
        let w = Borsh::with_discriminator("account", "Player")
            .pubkey(&p.authority)
            .string(&p.name)
            .u64(p.score)
            .u32(p.games_played)
            .u32(p.wins);
        match p.last_result {
            Some(r) => w.u8(1).variant(r).finish(),
            None => w.u8(0).finish(),
        }
    }

    fn game_data(&self, g: &Game) -> Vec<u8> {
        let key = |i: usize| self.players[i].authority;
        Borsh::with_discriminator("account", "Game")
            .u64(g.game_id)
            .pubkey(&key(g.creator))
            .opt_pubkey(g.opponent.map(key).as_ref())
            .u64(g.stake)
            .variant(g.status)
            .opt_pubkey(g.winner.map(key).as_ref())
            .u64(g.created_slot)
            .finish()
    }

    fn game_event(&self, g: usize, kind: u8, player: usize) -> Vec<u8> {
        Borsh::with_discriminator("event", "GameEvent")
            .pubkey(&self.games[g].address)
            .variant(kind)
            .pubkey(&self.players[player].authority)
            .u64(self.slot)
            .finish()
    }

    fn register(&mut self) {
        let n = self.players.len();
        let player = Player {
            address: self.rng.key(),
            authority: self.rng.key(),
            name: format!("{}{}", NAMES[n % NAMES.len()], n / NAMES.len()),
            score: 0,
            games_played: 0,
            wins: 0,
            last_result: None,
        };
        let data = Borsh::with_discriminator("global", "register_player")
            .string(&player.name)
            .finish();
        self.push_tx(
            "RegisterPlayer",
            vec![player.address, player.authority, [0; 32]],
            data,
            vec![],
        );
        let bytes = Self::player_data(&player);
        self.write(player.address, bytes);
        self.players.push(player);
    }

    fn create_game(&mut self) {
        let creator = self.rng.below(self.players.len() as u64) as usize;
        let game = Game {
            address: self.rng.key(),
            game_id: self.games.len() as u64 + 1,
            creator,
            opponent: None,
            stake: 10_000_000 * (1 + self.rng.below(20)),
            status: 0,
            winner: None,
            created_slot: self.slot,
        };
        let data = Borsh::with_discriminator("global", "create_game")
            .u64(game.game_id)
            .u64(game.stake)
            .finish();
        self.games.push(game);
        let g = self.games.len() - 1;
        let event = self.game_event(g, 0, creator);
        let accounts = vec![
            self.games[g].address,
            self.players[creator].authority,
            [0; 32],
        ];
        self.push_tx("CreateGame", accounts, data, vec![event]);
        let bytes = self.game_data(&self.games[g]);
        self.write(self.games[g].address, bytes);
    }

    fn join(&mut self, g: usize) {
        let creator = self.games[g].creator;
        let mut opponent = self.rng.below(self.players.len() as u64) as usize;
        if opponent == creator {
            opponent = (opponent + 1) % self.players.len();
        }
        if opponent == creator {
            return;
        }
        self.games[g].opponent = Some(opponent);
        self.games[g].status = 1;
        let event = self.game_event(g, 1, opponent);
        let data = Borsh::with_discriminator("global", "join_game").finish();
        let accounts = vec![self.games[g].address, self.players[opponent].authority];
        self.push_tx("JoinGame", accounts, data, vec![event]);
        let bytes = self.game_data(&self.games[g]);
        self.write(self.games[g].address, bytes);
    }

    fn settle(&mut self, g: usize) {
        let (a, Some(b)) = (self.games[g].creator, self.games[g].opponent) else {
            return;
        };
        let (winner, loser) = if self.rng.chance(0.5) { (a, b) } else { (b, a) };
        let pot = self.games[g].stake * 2;
        let gain = 10 + self.rng.below(40);
        {
            let w = &mut self.players[winner];
            w.score += gain;
            w.games_played += 1;
            w.wins += 1;
            w.last_result = Some(0);
        }
        {
            let l = &mut self.players[loser];
            l.score = l.score.saturating_sub(gain / 4);
            l.games_played += 1;
            l.last_result = Some(1);
        }
        self.games[g].status = 2;
        self.games[g].winner = Some(winner);
        let settled = Borsh::with_discriminator("event", "GameSettled")
            .pubkey(&self.games[g].address)
            .pubkey(&self.players[winner].authority)
            .pubkey(&self.players[loser].authority)
            .u64(pot)
            .u64(self.players[winner].score)
            .u64(self.players[loser].score)
            .finish();
        let event = self.game_event(g, 2, winner);
        let data = Borsh::with_discriminator("global", "settle_game")
            .variant(0)
            .finish();
        let accounts = vec![
            self.games[g].address,
            self.players[winner].address,
            self.players[loser].address,
            self.referee,
        ];
        self.push_tx("SettleGame", accounts, data, vec![event, settled]);
        let bytes = self.game_data(&self.games[g]);
        self.write(self.games[g].address, bytes);
        for p in [winner, loser] {
            let bytes = Self::player_data(&self.players[p]);
            self.write(self.players[p].address, bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_with_scores() {
        let (a, players, games) = GameSim::new(7, 500).run(300);
        let (b, _, _) = GameSim::new(7, 500).run(300);
        assert_eq!(a, b);
        assert!(players.len() >= 10, "{}", players.len());
        assert!(games.iter().filter(|g| g.status == 2).count() > 20);
        assert!(players.iter().any(|p| p.score > 100));
    }
}
