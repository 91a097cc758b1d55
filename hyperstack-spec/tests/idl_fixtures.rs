//! Loads the real IDL fixtures (pump, ore, entropy, meteora DLMM) and resolves every type in
//! them. The fixtures live outside the crate: set `HYPERSTACK_FIXTURES` to their directory
//! (relative paths are taken from the workspace root; CI sets `../shared/fixtures`).

use std::path::{Path, PathBuf};

use hyperstack_spec::idl::{
    Idl, IdlFormat, IdlPrimitive, IdlType, Layout, LayoutFields, Serialization,
};

/// `$HYPERSTACK_FIXTURES/idl`, or `None` (with a note) when the variable is not set.
fn fixtures_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("HYPERSTACK_FIXTURES").filter(|d| !d.is_empty()) else {
        println!("skipped: HYPERSTACK_FIXTURES is not set (CI sets it to ../shared/fixtures)");
        return None;
    };
    let dir = PathBuf::from(dir);
    let dir = if dir.is_relative() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        crate_dir.parent().unwrap_or(crate_dir).join(dir)
    } else {
        dir
    };
    Some(dir.join("idl"))
}

fn load(dir: &Path, name: &str) -> Idl {
    let path = dir.join(format!("{name}.json"));
    Idl::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Resolves every account, event, type without generic parameters and instruction argument.
fn resolve_everything(idl: &Idl) {
    for account in &idl.accounts {
        let layout = idl.account_layout(&account.name);
        assert!(
            layout.is_ok(),
            "{}: account {}: {layout:?}",
            idl.name,
            account.name
        );
    }
    for event in &idl.events {
        let layout = idl.event_layout(&event.name);
        assert!(
            layout.is_ok(),
            "{}: event {}: {layout:?}",
            idl.name,
            event.name
        );
    }
    for def in idl.types.iter().filter(|t| t.generics.is_empty()) {
        let ty = IdlType::Defined {
            name: def.name.clone(),
            generics: Vec::new(),
        };
        let layout = idl.layout(&ty);
        assert!(
            layout.is_ok(),
            "{}: type {}: {layout:?}",
            idl.name,
            def.name
        );
    }
    for ix in &idl.instructions {
        for arg in &ix.args {
            let layout = idl.layout(&arg.ty);
            assert!(
                layout.is_ok(),
                "{}: {} arg {}: {layout:?}",
                idl.name,
                ix.name,
                arg.name
            );
        }
        assert!(idl.instruction_layout(&ix.name).is_ok());
    }
}

fn u64l() -> Layout {
    Layout::Primitive(IdlPrimitive::U64)
}

#[test]
fn pump() {
    let Some(dir) = fixtures_dir() else { return };
    let idl = load(&dir, "pump");
    assert_eq!(idl.format, IdlFormat::Anchor);
    assert_eq!(idl.name, "pump");
    resolve_everything(&idl);

    let curve = idl.account("BondingCurve").expect("BondingCurve");
    assert_eq!(curve.discriminator, [23, 183, 248, 55, 96, 216, 172, 96]);
    let layout = idl.account_layout("BondingCurve").expect("layout");
    let Layout::Struct {
        name,
        fields: LayoutFields::Named(fields),
    } = &layout
    else {
        panic!("BondingCurve is not a struct with named fields: {layout:?}");
    };
    assert_eq!(name, "BondingCurve");
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "virtual_token_reserves",
            "virtual_sol_reserves",
            "real_token_reserves",
            "real_sol_reserves",
            "token_total_suply",
            "complete"
        ]
    );
    assert_eq!(layout.field("virtual_sol_reserves"), Some(&u64l()));
    assert_eq!(
        layout.field("complete"),
        Some(&Layout::Primitive(IdlPrimitive::Bool))
    );

    let buy = idl.instruction("buy").expect("buy");
    assert_eq!(buy.discriminator, [102, 6, 61, 18, 1, 218, 235, 234]);
    let args: Vec<(&str, &IdlType)> = buy.args.iter().map(|a| (a.name.as_str(), &a.ty)).collect();
    let u64t = IdlType::Primitive(IdlPrimitive::U64);
    assert_eq!(args, [("amount", &u64t), ("max_sol_cost", &u64t)]);
    let bonding_curve = buy.accounts.iter().find(|a| a.name == "bonding_curve");
    assert!(bonding_curve.is_some_and(|a| a.writable && !a.signer));
    assert!(idl.event_layout("TradeEvent").is_ok());
}

#[test]
fn ore() {
    let Some(dir) = fixtures_dir() else { return };
    let idl = load(&dir, "ore");
    assert_eq!(idl.format, IdlFormat::Steel);
    assert_eq!(idl.name, "ore");
    resolve_everything(&idl);
    let claim = idl
        .instruction("claim_sol")
        .expect("claim_sol finds claimSol");
    assert_eq!(claim.name, "claimSol");
    assert_eq!(claim.discriminator, [3]);
    assert!(idl
        .types
        .iter()
        .all(|t| t.serialization == Serialization::Bytemuck));
    let automation = idl.account("Automation").expect("Automation");
    assert_eq!(automation.discriminator, [100, 0, 0, 0, 0, 0, 0, 0]);
    let layout = idl.account_layout("Automation").expect("layout");
    assert_eq!(
        layout.field("authority"),
        Some(&Layout::Primitive(IdlPrimitive::Pubkey))
    );
}

#[test]
fn entropy() {
    let Some(dir) = fixtures_dir() else { return };
    let idl = load(&dir, "entropy");
    assert_eq!(idl.format, IdlFormat::Steel);
    assert_eq!(idl.name, "entropy");
    assert_eq!(
        idl.address.as_deref(),
        Some("3jSkUuYBoJzQPMEzTvkDFXCZUBksPamrVhrnHR9igu2X")
    );
    resolve_everything(&idl);
    let var = idl.account("Var").expect("Var");
    assert_eq!(var.discriminator, [0, 0, 0, 0, 0, 0, 0, 0]);
    let layout = idl.account_layout("Var").expect("layout");
    let commit = Layout::Array(Box::new(Layout::Primitive(IdlPrimitive::U8)), 32);
    assert_eq!(layout.field("commit"), Some(&commit));
    assert_eq!(layout.field("end_at"), Some(&u64l()));
    assert_eq!(
        idl.instruction("reveal").map(|i| i.discriminator.clone()),
        Some(vec![4])
    );
    let open = idl.instruction("open").expect("open");
    let system = open.accounts.iter().find(|a| a.name == "systemProgram");
    assert!(
        system.is_some_and(|a| a.address.as_deref() == Some("11111111111111111111111111111111"))
    );
}

#[test]
fn meteora_dlmm() {
    let Some(dir) = fixtures_dir() else { return };
    let idl = load(&dir, "meteora_dlmm");
    assert_eq!(idl.format, IdlFormat::Anchor);
    assert_eq!(idl.name, "lb_clmm");
    resolve_everything(&idl);
    let lb_pair = idl.type_def("LbPair").expect("LbPair");
    assert_eq!(lb_pair.serialization, Serialization::Bytemuck);
    assert_eq!(
        idl.account("LbPair").map(|a| a.discriminator.clone()),
        Some(vec![33, 11, 49, 98, 181, 101, 177, 13])
    );
    let layout = idl.account_layout("LbPair").expect("layout");
    let base_factor = layout.field_path("parameters.base_factor");
    assert_eq!(base_factor, Some(&Layout::Primitive(IdlPrimitive::U16)));
    assert!(idl
        .type_def("PairType")
        .is_some_and(|t| t.serialization == Serialization::Borsh));
}
