hyperstack_macros::stack!("specs/feature_misuse.stack.toml");

fn main() {}
