hyperstack_macros::stack!("specs/computed_cycle.stack.toml");

fn main() {}
