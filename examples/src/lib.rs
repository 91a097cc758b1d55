//! hyperstack examples: stack specs under `examples/<stack>/`, deterministic data generators
//! for them, and the programs that use them.

#![warn(missing_docs)]

pub mod alerts;
pub mod generator;
