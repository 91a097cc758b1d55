//! `hs init <name> --idl <idl.json>`: a starter stack spec for a program — one entity per
//! account type, keyed by the account's address, with every field of the account mapped — that
//! `hs check` accepts as written, to be edited into the stack the user wants.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use hyperstack_spec::idl::{snake_case, Idl, IdlFields, IdlTypeDefBody};

/// Arguments of `hs init`.
pub struct InitArgs {
    /// Stack name.
    pub name: String,
    /// IDL files (at least one).
    pub idls: Vec<PathBuf>,
    /// Directory to write `<name>.stack.toml` into.
    pub dir: PathBuf,
    /// Overwrite an existing file.
    pub force: bool,
}

/// One mapped field of a starter entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarterField {
    /// Field name in the spec (the IDL name in snake_case).
    pub name: String,
    /// Source path (`Account.field` as the IDL spells it, or `Account` for a whole account).
    pub from: String,
}

/// One starter entity: an account type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarterEntity {
    /// Entity name (the account type's name).
    pub name: String,
    /// The account's fields.
    pub fields: Vec<StarterField>,
}

/// The entities of a starter spec for these IDLs: one per account type, every named field of
/// the account's struct mapped (an account whose data is not a struct of named fields is
/// mapped whole, as one field `value`).
pub fn starter_entities(idls: &[Idl]) -> Vec<StarterEntity> {
    let mut out = Vec::new();
    for idl in idls {
        for account in &idl.accounts {
            let named = idl
                .type_def(&account.type_name)
                .and_then(|def| match &def.body {
                    IdlTypeDefBody::Struct(IdlFields::Named(fields)) => Some(fields),
                    _ => None,
                });
            let fields = match named {
                Some(fields) => fields
                    .iter()
                    .map(|f| StarterField {
                        name: snake_case(&f.name),
                        from: format!("{}.{}", account.name, f.name),
                    })
                    .collect(),
                None => vec![StarterField {
                    name: "value".into(),
                    from: account.name.clone(),
                }],
            };
            out.push(StarterEntity {
                name: account.name.clone(),
                fields,
            });
        }
    }
    out
}

/// The text of the starter spec. `idl_paths` are written as given (relative to the spec file).
pub fn starter_spec(name: &str, idls: &[Idl], idl_paths: &[String]) -> String {
    let mut out = String::new();
    let programs: Vec<&str> = idls.iter().map(|i| i.name.as_str()).collect();
    let _ = writeln!(
        out,
        "# Starter stack for {}, written by `hs init`: one entity per account type, keyed by the\n\
         # account's address, every field mapped (last write wins). Edit it into your stack:\n\
         # rename entities, drop fields, add counts, sums, lookups and views (docs/STACK_SPEC.md).\n\
         # `hs idl <idl.json>` shows the instructions and events you can add as sources.\n\
         # Every entity has the built-in views `<Entity>/state` (one by address) and\n\
         # `<Entity>/list` (all of them); derived views go in [entities.<Entity>.views], e.g.\n\
         # `top = {{ sort = \"<field>\", order = \"desc\", limit = 10 }}`.",
        programs.join(", ")
    );
    let _ = writeln!(out, "name = {}", toml_str(name));
    let paths: Vec<String> = idl_paths.iter().map(|p| toml_str(p)).collect();
    if paths.len() == 1 {
        let _ = writeln!(out, "idl = {}", paths[0]);
    } else {
        let _ = writeln!(out, "idl = [{}]", paths.join(", "));
    }
    for entity in starter_entities(idls) {
        let _ = writeln!(out, "\n[entities.{}]", entity.name);
        let _ = writeln!(
            out,
            "key = {}",
            toml_str(&format!("{}.@address", entity.name))
        );
        let _ = writeln!(out, "# views: {0}/state, {0}/list", entity.name);
        let _ = writeln!(out, "\n[entities.{}.fields]", entity.name);
        for f in &entity.fields {
            let _ = writeln!(out, "{} = {{ from = {} }}", key(&f.name), toml_str(&f.from));
        }
    }
    out
}

/// Runs `hs init`: writes `<dir>/<name>.stack.toml` and checks that it loads.
pub fn init(args: InitArgs) -> anyhow::Result<PathBuf> {
    if args.name.is_empty()
        || !args
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        bail!(
            "stack name `{}`: use lower-case letters, digits, `-` and `_`",
            args.name
        );
    }
    if args.idls.is_empty() {
        bail!("name the program's IDL with --idl <idl.json>");
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let dir = crate::locate::absolute(&args.dir, &cwd);
    let out = dir.join(format!("{}.stack.toml", args.name));
    if out.exists() && !args.force {
        bail!("{} exists (pass --force to overwrite it)", out.display());
    }
    let mut idls = Vec::new();
    let mut paths = Vec::new();
    for path in &args.idls {
        let idl = Idl::load(path).with_context(|| path.display().to_string())?;
        if idl.accounts.is_empty() {
            eprintln!(
                "note: {} declares no account types; add entities keyed by instruction or event values by hand",
                path.display()
            );
        }
        idls.push(idl);
        let abs = std::fs::canonicalize(path).with_context(|| path.display().to_string())?;
        paths.push(
            relative_path(&abs, &dir)
                .to_string_lossy()
                .replace('\\', "/"),
        );
    }
    let text = starter_spec(&args.name, &idls, &paths);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    hyperstack_spec::load_stack(&out).map_err(|e| {
        anyhow::anyhow!("the starter spec does not load (please report this):\n{e}")
    })?;
    Ok(out)
}

/// `target` relative to the directory `base` (both absolute), with `..` where needed.
fn relative_path(target: &Path, base: &Path) -> PathBuf {
    let t: Vec<Component> = target.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // Sharing only the root (or nothing): a relative path would climb to `/` and back.
    if common <= 1 {
        return target.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

/// A TOML key: bare when it can be.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_str(k)
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(Path::new("/a/b/idl/x.json"), Path::new("/a/b")),
            PathBuf::from("idl/x.json")
        );
        assert_eq!(
            relative_path(Path::new("/a/idl/x.json"), Path::new("/a/b/c")),
            PathBuf::from("../../idl/x.json")
        );
        assert_eq!(
            relative_path(Path::new("/x/idl.json"), Path::new("/a/b")),
            PathBuf::from("/x/idl.json")
        );
    }

    #[test]
    fn keys_and_strings_are_toml() {
        assert_eq!(key("amount"), "amount");
        assert_eq!(key("a.b"), "\"a.b\"");
        assert_eq!(toml_str("x\"y"), "'x\"y'");
    }

    #[test]
    fn starter_spec_for_a_small_idl_loads() {
        let dir = tempfile::tempdir().unwrap();
        let idl_path = dir.path().join("mini.json");
        std::fs::write(
            &idl_path,
            r#"{"address": "11111111111111111111111111111111",
                "metadata": {"name": "mini", "version": "0.1.0", "spec": "0.1.0"},
                "instructions": [], "events": [],
                "accounts": [{"name": "Pool", "discriminator": [1,1,1,1,1,1,1,1]}],
                "types": [{"name": "Pool", "type": {"kind": "struct", "fields": [
                   {"name": "owner", "type": "pubkey"}, {"name": "totalAmount", "type": "u64"}]}}]}"#,
        )
        .unwrap();
        let out = init(InitArgs {
            name: "mini".into(),
            idls: vec![idl_path],
            dir: dir.path().to_path_buf(),
            force: false,
        })
        .unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("idl = \"mini.json\""), "{text}");
        assert!(
            text.contains("total_amount = { from = \"Pool.totalAmount\" }"),
            "{text}"
        );
        let stack = hyperstack_spec::load_stack(&out).unwrap();
        let pool = stack.entity("Pool").unwrap();
        assert_eq!(pool.fields.len(), 2);
        assert!(pool.view("list").is_some());
        let again = init(InitArgs {
            name: "mini".into(),
            idls: vec![dir.path().join("mini.json")],
            dir: dir.path().to_path_buf(),
            force: false,
        })
        .unwrap_err()
        .to_string();
        assert!(again.contains("--force"), "{again}");
    }
}
