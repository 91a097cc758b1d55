//! Spec errors become compile errors: each `tests/ui/<case>.rs` expands a broken spec from
//! `tests/ui/specs/` and its `.stderr` holds the exact message (file:line:column, entity, field).
//!
//! trybuild compiles the cases in a project of its own under `target/`, so these also prove the
//! macro finds specs relative to the invoking source file when the manifest dir has none.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p hyperstack-macros --test ui`.

#[test]
fn spec_errors_are_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
