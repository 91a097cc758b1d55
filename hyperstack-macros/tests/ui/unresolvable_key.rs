hyperstack_macros::stack!("specs/unresolvable_key.stack.toml");

fn main() {}
