//! hyperstack examples: stack specs under `examples/<stack>/`, and the programs that use them.
