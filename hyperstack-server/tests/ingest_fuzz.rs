//! Seeded fuzzing of the decoder: arbitrary bytes after every discriminator of every account,
//! instruction and event of the fixture IDLs ($HYPERSTACK_FIXTURES) and the pump example IDL.
//! Decoding must return a value or a typed error — never panic. Bounded for CI.

use std::path::{Path, PathBuf};

use hyperstack_server::decode::{ItemDecoder, ProgramDecoder};
use hyperstack_server::spec::idl::Idl;

const CASES_PER_ITEM: usize = 96;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Bytes biased towards values that pass tag checks (0, 1, small lengths), so decoding
    /// gets deep into nested layouts, with fully random ones mixed in.
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match self.below(4) {
                0 => 0,
                1 => self.below(3) as u8,
                _ => self.next() as u8,
            })
            .collect()
    }
}

fn idls() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = vec![root.join("examples/pump/idl/pump.json")];
    match std::env::var("HYPERSTACK_FIXTURES") {
        Ok(dir) if !dir.is_empty() => {
            let dir = if Path::new(&dir).is_absolute() {
                PathBuf::from(dir)
            } else {
                root.join(dir)
            };
            for name in ["pump.json", "ore.json", "entropy.json", "meteora_dlmm.json"] {
                paths.push(dir.join("idl").join(name));
            }
        }
        _ => println!("HYPERSTACK_FIXTURES is not set: fuzzing only the pump example IDL"),
    }
    paths
}

fn fuzz_items(
    items: &[Option<ItemDecoder>],
    rng: &mut Rng,
    decode: &dyn Fn(&[u8]) -> bool,
) -> (usize, usize) {
    let (mut ok, mut err) = (0, 0);
    for item in items.iter().flatten() {
        for case in 0..CASES_PER_ITEM {
            let len = match case % 4 {
                0 => rng.below(16) as usize,
                1 => rng.below(256) as usize,
                2 => rng.below(2_048) as usize,
                _ => rng.below(64) as usize,
            };
            let mut data = item.discriminator.clone();
            data.extend(rng.bytes(len));
            if case % 16 == 15 {
                data = rng.bytes(len); // no valid discriminator at all
            }
            if decode(&data) {
                ok += 1;
            } else {
                err += 1;
            }
        }
    }
    (ok, err)
}

#[test]
fn arbitrary_bytes_never_panic_the_decoder() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for path in idls() {
        let idl = Idl::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let program = ProgramDecoder::new(&idl);
        let json = |item: Option<&ItemDecoder>, v: &hyperstack_server::decode::Value| {
            let _ = v.to_json(item.map(|d| &d.layout));
            let _ = v.to_expr(item.map(|d| &d.layout));
        };
        let accounts = fuzz_items(
            &program.accounts,
            &mut rng,
            &|d| match program.decode_account(d) {
                Ok((i, v)) => {
                    json(program.accounts[i].as_ref(), &v);
                    true
                }
                Err(_) => false,
            },
        );
        let instructions = fuzz_items(&program.instructions, &mut rng, &|d| match program
            .decode_instruction(d)
        {
            Ok((i, v)) => {
                json(program.instructions[i].as_ref(), &v);
                true
            }
            Err(_) => false,
        });
        let events = fuzz_items(
            &program.events,
            &mut rng,
            &|d| match program.decode_event(d) {
                Ok((i, v)) => {
                    json(program.events[i].as_ref(), &v);
                    true
                }
                Err(_) => false,
            },
        );
        println!(
            "{}: accounts {accounts:?}, instructions {instructions:?}, events {events:?} (decoded, rejected)",
            path.display()
        );
        let total = accounts.0 + instructions.0 + events.0;
        assert!(
            total > 0 || program.accounts.is_empty() && program.instructions.is_empty(),
            "some inputs decode, so the fuzzer reaches the layouts"
        );
    }
}
