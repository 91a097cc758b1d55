hyperstack_macros::stack!("specs/several_errors.stack.toml");

fn main() {}
