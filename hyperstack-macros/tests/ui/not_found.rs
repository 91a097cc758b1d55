hyperstack_macros::stack!("specs/not_found.stack.toml");

fn main() {}
