hyperstack_macros::stack!("specs/sort_unknown_field.stack.toml");

fn main() {}
