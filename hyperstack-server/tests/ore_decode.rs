//! Decoding the real `ore` and `entropy` (steel) IDLs: every account and instruction the ore
//! stack reads, from bytes written by the hand-written encoders of `ore_oracle` (explicit
//! offsets, no shared layout code), each account's size checked against the size its IDL
//! layout implies under bytemuck's C rules (computed here from the IDL JSON, independently of
//! the project's layout engine).
//!
//! Needs `HYPERSTACK_FIXTURES` (CI sets it to ../shared/fixtures); skipped with a note
//! otherwise.

mod ore_oracle;

use std::path::{Path, PathBuf};

use hyperstack_server::decode::{
    DecodeError, ProgramDecoder, StackDecoder, TxItem, Value as Decoded,
};
use hyperstack_server::source::{
    Commitment, IxPath, Pubkey, RawInstruction, Signature, TransactionUpdate,
};
use hyperstack_server::spec::idl::Idl;
use ore_oracle as oracle;
use serde_json::{json, Value};

/// `$HYPERSTACK_FIXTURES/idl`, or `None` (with a note) when the variable is not set.
fn fixtures() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("HYPERSTACK_FIXTURES").filter(|d| !d.is_empty()) else {
        println!("skipped: HYPERSTACK_FIXTURES is not set (CI sets it to ../shared/fixtures)");
        return None;
    };
    let dir = PathBuf::from(dir);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Some(
        if dir.is_relative() {
            root.join(dir)
        } else {
            dir
        }
        .join("idl"),
    )
}

/// The loaded IDL, its JSON text parsed on its own, and its decoder.
struct Program {
    idl: Idl,
    json: Value,
    decoder: ProgramDecoder,
}

fn program(dir: &Path, name: &str) -> Program {
    let path = dir.join(format!("{name}.json"));
    let idl = Idl::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(&path).unwrap();
    Program {
        decoder: ProgramDecoder::new(&idl),
        idl,
        json: serde_json::from_str(&text).unwrap(),
    }
}

/// `(size, alignment)` of an IDL type under `#[repr(C)]`, read from the IDL JSON.
fn c_layout(ty: &Value, idl: &Value) -> (usize, usize) {
    match ty {
        Value::String(p) => match p.as_str() {
            "u8" | "i8" | "bool" => (1, 1),
            "u16" | "i16" => (2, 2),
            "u32" | "i32" => (4, 4),
            "u64" | "i64" => (8, 8),
            // Solana's SBF target aligns 128-bit integers to 8.
            "u128" | "i128" => (16, 8),
            "publicKey" | "pubkey" => (32, 1),
            other => panic!("no C layout for `{other}`"),
        },
        Value::Object(o) if o.contains_key("array") => {
            let (elem, n) = (&o["array"][0], o["array"][1].as_u64().unwrap() as usize);
            let (size, align) = c_layout(elem, idl);
            (size * n, align)
        }
        Value::Object(o) if o.contains_key("defined") => {
            let name = o["defined"].as_str().unwrap();
            let def = idl["types"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == name)
                .unwrap_or_else(|| panic!("type {name}"));
            struct_layout(&def["type"]["fields"], idl)
        }
        other => panic!("no C layout for {other}"),
    }
}

/// A struct's fields aligned in order, its size padded to its alignment.
fn struct_layout(fields: &Value, idl: &Value) -> (usize, usize) {
    let (mut size, mut align) = (0usize, 1usize);
    for field in fields.as_array().unwrap() {
        let (s, a) = c_layout(&field["type"], idl);
        size = size.next_multiple_of(a) + s;
        align = align.max(a);
    }
    (size.next_multiple_of(align), align)
}

/// Discriminator + struct size of an account, as its IDL declares it.
fn idl_account_size(p: &Program, name: &str) -> usize {
    let account = p.json["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("account {name}"));
    let discriminator = account["discriminator"].as_array().unwrap().len();
    discriminator + struct_layout(&account["type"]["fields"], &p.json).0
}

/// Decodes `bytes` as account `name` and checks size, discriminator and every field.
fn check_account(p: &Program, name: &str, bytes: &[u8], size: usize, expected: &Value) {
    assert_eq!(
        size,
        idl_account_size(p, name),
        "{name}: oracle vs IDL size"
    );
    assert_eq!(bytes.len(), size, "{name}: encoded size");
    let (index, value) = p.decoder.decode_account(bytes).expect(name);
    let item = p.decoder.accounts[index].as_ref().unwrap();
    assert_eq!(item.name, name);
    let got = value.to_json(Some(&item.layout));
    assert_eq!(oracle::keys(&got), oracle::keys(expected), "{name}: fields");
    for field in oracle::keys(expected) {
        assert_eq!(got[&field], expected[&field], "{name}.{field}");
    }
    // The decoder needs every byte of the IDL size and no more.
    let short = p.decoder.decode_account(&bytes[..size - 1]);
    assert!(
        matches!(short, Err(DecodeError::Truncated { .. })),
        "{name} one byte short: {short:?}"
    );
}

/// 25 distinct values that differ in every byte position a misread would shift.
fn spread(base: u64, step: u64) -> [u64; 25] {
    std::array::from_fn(|i| base + step * i as u64 + ((i as u64) << 40))
}

fn key(n: u8) -> [u8; 32] {
    std::array::from_fn(|i| n.wrapping_mul(31).wrapping_add(i as u8))
}

fn bytes32(n: u8) -> [u8; 32] {
    std::array::from_fn(|i| n ^ (i as u8).wrapping_mul(7))
}

fn bytes16(n: u8) -> [u8; 16] {
    std::array::from_fn(|i| n.wrapping_add(i as u8 * 13))
}

#[test]
fn ore_accounts_decode_field_by_field() {
    let Some(dir) = fixtures() else { return };
    let ore = program(&dir, "ore");

    let round = oracle::Round {
        id: 48_213,
        deployed: spread(1_000_000, 77_777),
        slot_hash: bytes32(0x5a),
        count: std::array::from_fn(|i| 3 * i as u64 + 1),
        expires_at: u64::MAX,
        motherlode: 12_345_678_901_234,
        rent_payer: key(1),
        top_miner: key(2),
        top_miner_reward: 100_000_000_000,
        total_deployed: 9_876_543_210,
        total_miners: 417,
        total_vaulted: 98_765_432,
        total_winnings: 8_765_432_109,
    };
    check_account(
        &ore,
        "Round",
        &oracle::round(&round),
        oracle::ROUND_SIZE,
        &oracle::round_json(&round),
    );

    let treasury = oracle::Treasury {
        balance: 1_234_567_890_123,
        buffer_a: 7,
        motherlode: 20_000_000_000,
        miner_rewards_factor: bytes16(3),
        stake_rewards_factor: bytes16(200),
        buffer_b: 9,
        total_refined: 55_555_555_555_555,
        total_staked: 44_444_444_444_444,
        total_unclaimed: 3_333_333_333_333,
    };
    check_account(
        &ore,
        "Treasury",
        &oracle::treasury(&treasury),
        oracle::TREASURY_SIZE,
        &oracle::treasury_json(&treasury),
    );

    let miner = oracle::Miner {
        authority: key(9),
        deployed: spread(10_000, 1_001),
        cumulative: spread(5_000_000, 313),
        checkpoint_fee: 10_000,
        checkpoint_id: 48_212,
        last_claim_ore_at: -1_700_000_001,
        last_claim_sol_at: 1_700_000_002,
        rewards_factor: bytes16(77),
        rewards_sol: 123_456_789,
        rewards_ore: 987_654_321,
        refined_ore: 11_111,
        round_id: 48_213,
        lifetime_rewards_sol: 22_222_222,
        lifetime_rewards_ore: 33_333_333,
        lifetime_deployed: 44_444_444,
    };
    check_account(
        &ore,
        "Miner",
        &oracle::miner(&miner),
        oracle::MINER_SIZE,
        &oracle::miner_json(&miner),
    );

    let automation = oracle::Automation {
        amount: 10_000_000,
        authority: key(9),
        balance: 2_500_000_000,
        executor: key(11),
        fee: 5_000,
        strategy: 1,
        mask: 0x01ff_ffff,
        reload: 1,
    };
    check_account(
        &ore,
        "Automation",
        &oracle::automation(&automation),
        oracle::AUTOMATION_SIZE,
        &oracle::automation_json(&automation),
    );

    let board = oracle::Board {
        round_id: 48_213,
        start_slot: 300_000_150,
        end_slot: u64::MAX,
        epoch_id: 4,
    };
    check_account(
        &ore,
        "Board",
        &oracle::board(&board),
        oracle::BOARD_SIZE,
        &oracle::board_json(&board),
    );
}

#[test]
fn entropy_var_decodes_field_by_field() {
    let Some(dir) = fixtures() else { return };
    let entropy = program(&dir, "entropy");
    let var = oracle::Var {
        authority: key(4),
        id: 2,
        provider: key(5),
        commit: bytes32(1),
        seed: bytes32(2),
        slot_hash: bytes32(3),
        value: bytes32(4),
        samples: 1_000_000,
        is_auto: 1,
        start_at: 300_000_000,
        end_at: 300_000_150,
    };
    check_account(
        &entropy,
        "Var",
        &oracle::var(&var),
        oracle::VAR_SIZE,
        &oracle::var_json(&var),
    );
}

/// Decodes instruction data; returns the IDL name and the arguments as JSON.
fn decode_ix(p: &Program, data: &[u8]) -> (String, Value) {
    let (index, args) = p.decoder.decode_instruction(data).expect("instruction");
    let item = p.decoder.instructions[index].as_ref().unwrap();
    (item.name.clone(), args.to_json(Some(&item.layout)))
}

fn roles(p: &Program, ix: &str) -> Vec<String> {
    let ix = p.idl.instruction(ix).unwrap();
    ix.accounts.iter().map(|a| a.name.clone()).collect()
}

#[test]
fn ore_and_entropy_instructions_decode() {
    let Some(dir) = fixtures() else { return };
    let ore = program(&dir, "ore");
    let entropy = program(&dir, "entropy");

    let amount = 0x0102_0304_0506_0708;
    let deploy = decode_ix(&ore, &oracle::deploy_ix(amount, 0x0155_aa33));
    assert_eq!(
        deploy,
        (
            "deploy".into(),
            json!({"amount": oracle::int(amount), "squares": 0x0155_aa33})
        )
    );
    assert_eq!(
        decode_ix(&ore, &oracle::checkpoint_ix()),
        ("checkpoint".into(), json!({}))
    );
    assert_eq!(
        decode_ix(&ore, &oracle::reset_ix()),
        ("reset".into(), json!({}))
    );
    let automate = decode_ix(&ore, &oracle::automate_ix(10, 2_000, 30, 0x1ff_ffff, 1, 5));
    assert_eq!(
        automate,
        (
            "automate".into(),
            json!({"amount": 10, "deposit": 2_000, "fee": 30, "mask": 0x1ff_ffff,
                   "strategy": 1, "reload": 5})
        )
    );
    let seed = bytes32(9);
    assert_eq!(
        decode_ix(&entropy, &oracle::reveal_ix(&seed)),
        ("reveal".into(), json!({"seed": seed.to_vec()}))
    );
    assert_eq!(
        decode_ix(&entropy, &oracle::sample_ix()),
        ("sample".into(), json!({}))
    );
    assert_eq!(
        decode_ix(&entropy, &oracle::next_ix(300_000_150)),
        ("next".into(), json!({"endAt": 300_000_150}))
    );
    // Argument bytes are required: a deploy one byte short does not decode.
    let short = ore
        .decoder
        .decode_instruction(&oracle::deploy_ix(1, 1)[..12]);
    assert!(
        matches!(short, Err(DecodeError::Truncated { .. })),
        "{short:?}"
    );

    assert_eq!(roles(&ore, "deploy"), oracle::DEPLOY_ACCOUNTS);
    assert_eq!(roles(&ore, "checkpoint"), oracle::CHECKPOINT_ACCOUNTS);
    assert_eq!(roles(&ore, "reset"), oracle::RESET_ACCOUNTS);
    assert_eq!(roles(&entropy, "reveal"), oracle::REVEAL_ACCOUNTS);
}

/// A transaction with a checkpoint, a deploy (and its `next` CPI into entropy), and a reveal:
/// each instruction comes out with its accounts by role, in execution order.
#[test]
fn transactions_name_accounts_by_role() {
    let Some(dir) = fixtures() else { return };
    let ore = program(&dir, "ore");
    let entropy = program(&dir, "entropy");
    let ore_id: Pubkey = ore.idl.address.as_deref().unwrap().parse().unwrap();
    let entropy_id: Pubkey = entropy.idl.address.as_deref().unwrap().parse().unwrap();
    let stack = StackDecoder {
        programs: vec![ore.decoder.clone(), entropy.decoder.clone()],
    };
    // Keys 0..=10: signer, authority, automation, board, config, miner, round, system,
    // ore, var, entropy; 11: the previous round, 12: treasury.
    let mut keys: Vec<Pubkey> = (0..13).map(|i| Pubkey(key(100 + i))).collect();
    keys[8] = ore_id;
    keys[10] = entropy_id;
    let ix = |path: IxPath, program: u8, accounts: Vec<u8>, data: Vec<u8>| RawInstruction {
        path,
        program_index: program,
        accounts,
        data,
    };
    let top = |outer| IxPath { outer, inner: None };
    let tx = TransactionUpdate {
        slot: 300_000_001,
        index: 3,
        signature: Signature([8; 64]),
        account_keys: keys.clone(),
        instructions: vec![
            ix(top(0), 8, vec![0, 3, 5, 11, 12, 7], oracle::checkpoint_ix()),
            ix(
                top(1),
                8,
                (0..=10).collect(),
                oracle::deploy_ix(1_000, 0b111),
            ),
            ix(
                IxPath {
                    outer: 1,
                    inner: Some(0),
                },
                10,
                vec![3, 9],
                oracle::next_ix(300_000_151),
            ),
            ix(top(2), 10, vec![0, 9], oracle::reveal_ix(&bytes32(1))),
        ],
        log_messages: vec![],
        failed: false,
        commitment: Commitment::Confirmed,
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    stack.decode_transaction(&tx, &mut items, &mut |kind, e| errors.push((kind, e)));
    assert!(errors.is_empty(), "{errors:?}");
    let decoded: Vec<(usize, String, Vec<Option<Pubkey>>)> = items
        .iter()
        .map(|item| match item {
            TxItem::Instruction(i) => {
                let program = &stack.programs[i.program];
                let name = program.instructions[i.instruction]
                    .as_ref()
                    .unwrap()
                    .name
                    .clone();
                (i.program, name, i.accounts.clone())
            }
            TxItem::Event(e) => panic!("no events expected: {e:?}"),
        })
        .collect();
    let at = |i: usize| Some(keys[i]);
    assert_eq!(decoded[0].1, "checkpoint");
    assert_eq!(decoded[0].2, [at(0), at(3), at(5), at(11), at(12), at(7)]);
    assert_eq!((decoded[1].0, decoded[1].1.as_str()), (0, "deploy"));
    let role = |name: &str| {
        oracle::DEPLOY_ACCOUNTS
            .iter()
            .position(|r| *r == name)
            .unwrap()
    };
    assert_eq!(decoded[1].2[role("round")], at(6));
    assert_eq!(decoded[1].2[role("entropyVar")], at(9));
    assert_eq!((decoded[2].0, decoded[2].1.as_str()), (1, "next"));
    assert_eq!((decoded[3].0, decoded[3].1.as_str()), (1, "reveal"));
    assert_eq!(decoded[3].2, [at(0), at(9)]);
    assert_eq!(decoded.len(), 4);
    // The arguments are those of the oracle.
    let TxItem::Instruction(deploy) = &items[1] else {
        unreachable!()
    };
    assert_eq!(
        deploy.args,
        Decoded::Struct(vec![Decoded::U64(1_000), Decoded::U64(0b111)])
    );
}
