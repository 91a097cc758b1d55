hyperstack_macros::stack!("specs/sum_of_string.stack.toml");

fn main() {}
