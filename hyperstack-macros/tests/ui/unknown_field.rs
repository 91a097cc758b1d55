hyperstack_macros::stack!("specs/unknown_field.stack.toml");

fn main() {}
