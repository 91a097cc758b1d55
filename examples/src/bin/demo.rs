//! The demo. Until the server, ingestion and SDK land, it shows what the pump stack defines:
//! its entities, fields and views, from the generated `pump-stack` crate.

use hyperstack_sdk::{Entity, ViewContext, Views};
use pump_stack::{TokenEntity, TokenViews};

fn main() {
    let stack = pump_stack::spec();
    println!("no live stream yet: the server and SDK land with their own issues.");
    println!(
        "stack `{}` ({} entities):",
        stack.name,
        stack.entities.len()
    );
    for entity in &stack.entities {
        println!("  entity {} (key {})", entity.name, entity.key.path);
        for field in entity.fields.iter().filter(|f| f.emit) {
            println!("    field {}", field.name);
        }
    }
    let views = TokenViews::from_context(ViewContext::detached());
    println!("  views of {}: {:?}", TokenEntity::NAME, TokenEntity::VIEWS);
    println!("  trending view handle: {}", views.trending().name());
}
