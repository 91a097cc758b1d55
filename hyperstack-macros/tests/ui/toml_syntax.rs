hyperstack_macros::stack!("specs/toml_syntax.stack.toml");

fn main() {}
