//! Compiling a [`Stack`] once into a plan: every source path resolved to positional indices,
//! every binding listed under the account / instruction / event that feeds it.

use std::borrow::Cow;
use std::sync::Arc;

use crate::decode::Value;
use crate::source::{Pubkey, Signature};
use crate::spec::expr::Expr;
use crate::spec::idl::{IdlPrimitive, Layout};
use crate::spec::{
    FieldKind, KeyBinding, SourceBinding, SourceKind, SourceRef, Stack, Strategy, ValuePath,
};

/// Why a stack cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A source names a program, item, field or role that its IDL does not have.
    #[error("entity `{entity}`: cannot resolve `{path}`: {reason}")]
    Unresolved {
        /// The entity.
        entity: String,
        /// The path as written.
        path: String,
        /// What is missing.
        reason: String,
    },
}

/// How a value is read from a decoded item.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    Whole,
    Address,
    Slot,
    Signature,
    /// Struct field indices (through `Option`s, which give null when empty).
    Path(Vec<usize>),
    Role(usize),
}

/// A value accessor and the layout of what it yields.
#[derive(Debug, Clone)]
pub(crate) struct Accessor {
    pub access: Access,
    pub layout: Layout,
}

/// The decoded item a binding reads from.
pub(crate) struct ItemCtx<'a> {
    pub value: &'a Value,
    pub address: Option<&'a Pubkey>,
    pub roles: &'a [Option<Pubkey>],
    pub slot: u64,
    pub signature: Option<&'a Signature>,
}

impl Accessor {
    /// The value, `None` for null (an empty `Option` on the way, an absent role).
    pub fn get<'a>(&self, ctx: &ItemCtx<'a>) -> Option<Cow<'a, Value>> {
        match &self.access {
            Access::Whole => Some(Cow::Borrowed(ctx.value)),
            Access::Address => ctx.address.map(|a| Cow::Owned(Value::Pubkey(*a))),
            Access::Slot => Some(Cow::Owned(Value::U64(ctx.slot))),
            Access::Signature => ctx
                .signature
                .map(|s| Cow::Owned(Value::String(s.to_base58()))),
            Access::Role(i) => ctx
                .roles
                .get(*i)
                .copied()
                .flatten()
                .map(|k| Cow::Owned(Value::Pubkey(k))),
            Access::Path(path) => {
                let mut v = ctx.value;
                for &i in path {
                    while let Value::Option(inner) = v {
                        v = inner.as_deref()?;
                    }
                    v = v.child(i)?;
                }
                match v {
                    Value::Option(None) => None,
                    v => Some(Cow::Borrowed(v)),
                }
            }
        }
    }
}

/// How a binding finds its entity.
#[derive(Debug, Clone)]
pub(crate) enum KeyAccess {
    Direct(Accessor),
    Lookup { value: Accessor, lookup: usize },
}

/// A field fed by an item.
#[derive(Debug, Clone)]
pub(crate) struct FieldBinding {
    pub entity: usize,
    pub field: usize,
    pub value: Accessor,
    pub key: KeyAccess,
}

/// A lookup entry registered by an item.
#[derive(Debug, Clone)]
pub(crate) struct LookupBinding {
    pub entity: usize,
    pub lookup: usize,
    pub value: Accessor,
    pub key: KeyAccess,
}

/// Everything one account type / instruction / event feeds, lookups first.
#[derive(Debug, Clone, Default)]
pub(crate) struct ItemPlan {
    pub lookups: Vec<LookupBinding>,
    pub fields: Vec<FieldBinding>,
}

/// A field of an entity.
#[derive(Debug, Clone)]
pub(crate) struct FieldPlan {
    pub name: String,
    pub emit: bool,
    pub kind: FieldPlanKind,
}

#[derive(Debug, Clone)]
pub(crate) enum FieldPlanKind {
    /// A mapped field; `layout` is the layout of its source values (the items, for append).
    Mapped { strategy: Strategy, layout: Layout },
    /// A computed field: its expression and the indices of the fields it reads.
    Computed { expr: Expr, deps: Vec<usize> },
}

/// An entity type.
#[derive(Debug, Clone)]
pub(crate) struct EntityPlan {
    pub name: Arc<str>,
    pub fields: Vec<FieldPlan>,
    /// Computed field indices, dependencies first.
    pub computed_order: Vec<usize>,
    pub lookups: usize,
}

/// The compiled stack.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub entities: Vec<EntityPlan>,
    /// `[program][item]` for accounts, instructions and events.
    pub accounts: Vec<Vec<ItemPlan>>,
    pub instructions: Vec<Vec<ItemPlan>>,
    pub events: Vec<Vec<ItemPlan>>,
}

fn pubkey() -> Layout {
    Layout::Primitive(IdlPrimitive::Pubkey)
}

impl Plan {
    pub fn compile(stack: &Stack, max_array_length: usize) -> Result<Plan, PlanError> {
        let mut plan = Plan {
            entities: Vec::new(),
            accounts: stack
                .idls
                .iter()
                .map(|i| vec![ItemPlan::default(); i.accounts.len()])
                .collect(),
            instructions: stack
                .idls
                .iter()
                .map(|i| vec![ItemPlan::default(); i.instructions.len()])
                .collect(),
            events: stack
                .idls
                .iter()
                .map(|i| vec![ItemPlan::default(); i.events.len()])
                .collect(),
        };
        for (ei, entity) in stack.entities.iter().enumerate() {
            let err = |path: &str, reason: String| PlanError::Unresolved {
                entity: entity.name.clone(),
                path: path.to_string(),
                reason,
            };
            let lookup_index = |name: &str, path: &str| {
                entity
                    .lookups
                    .iter()
                    .position(|l| l.name == name)
                    .ok_or_else(|| err(path, format!("no lookup `{name}`")))
            };
            let key_access = |b: &SourceBinding| -> Result<KeyAccess, PlanError> {
                Ok(match &b.key {
                    KeyBinding::Direct { path } => KeyAccess::Direct(
                        accessor(stack, &b.source, path).map_err(|r| err(&b.path, r))?,
                    ),
                    KeyBinding::Lookup { path, index } => KeyAccess::Lookup {
                        value: accessor(stack, &b.source, path).map_err(|r| err(&b.path, r))?,
                        lookup: lookup_index(index, &b.path)?,
                    },
                })
            };
            for (li, lookup) in entity.lookups.iter().enumerate() {
                for b in &lookup.sources {
                    let binding = LookupBinding {
                        entity: ei,
                        lookup: li,
                        value: accessor(stack, &b.source, &b.value).map_err(|r| err(&b.path, r))?,
                        key: key_access(b)?,
                    };
                    plan.item_mut(stack, &b.source)
                        .map_err(|r| err(&b.path, r))?
                        .lookups
                        .push(binding);
                }
            }
            let mut fields = Vec::with_capacity(entity.fields.len());
            for (fi, field) in entity.fields.iter().enumerate() {
                let kind = match &field.kind {
                    FieldKind::Mapped { strategy, sources } => {
                        let mut layout = None;
                        for b in sources {
                            let value = accessor(stack, &b.source, &b.value)
                                .map_err(|r| err(&b.path, r))?;
                            layout.get_or_insert_with(|| value.layout.clone());
                            let binding = FieldBinding {
                                entity: ei,
                                field: fi,
                                value,
                                key: key_access(b)?,
                            };
                            plan.item_mut(stack, &b.source)
                                .map_err(|r| err(&b.path, r))?
                                .fields
                                .push(binding);
                        }
                        let strategy = match *strategy {
                            Strategy::Append { cap } => Strategy::Append {
                                cap: cap.min(max_array_length).max(1),
                            },
                            s => s,
                        };
                        FieldPlanKind::Mapped {
                            strategy,
                            layout: layout.unwrap_or(Layout::Primitive(IdlPrimitive::U64)),
                        }
                    }
                    FieldKind::Computed {
                        expr, depends_on, ..
                    } => FieldPlanKind::Computed {
                        expr: expr.clone(),
                        deps: depends_on
                            .iter()
                            .filter_map(|d| entity.fields.iter().position(|f| &f.name == d))
                            .collect(),
                    },
                };
                fields.push(FieldPlan {
                    name: field.name.clone(),
                    emit: field.emit,
                    kind,
                });
            }
            plan.entities.push(EntityPlan {
                name: Arc::from(entity.name.as_str()),
                fields,
                computed_order: entity.computed_order.clone(),
                lookups: entity.lookups.len(),
            });
        }
        Ok(plan)
    }

    fn item_mut(&mut self, stack: &Stack, source: &SourceRef) -> Result<&mut ItemPlan, String> {
        let index = item_index(stack, source)?;
        let table = match source.kind {
            SourceKind::Account => &mut self.accounts,
            SourceKind::Instruction => &mut self.instructions,
            SourceKind::Event => &mut self.events,
        };
        table
            .get_mut(source.program)
            .and_then(|items| items.get_mut(index))
            .ok_or_else(|| format!("no program {}", source.program))
    }
}

/// The position of `source` in its IDL's list.
fn item_index(stack: &Stack, source: &SourceRef) -> Result<usize, String> {
    let idl = stack
        .idls
        .get(source.program)
        .ok_or_else(|| format!("no program {}", source.program))?;
    let found = match source.kind {
        SourceKind::Account => idl.accounts.iter().position(|a| a.name == source.name),
        SourceKind::Event => idl.events.iter().position(|e| e.name == source.name),
        SourceKind::Instruction => idl
            .instruction(&source.name)
            .and_then(|ix| idl.instructions.iter().position(|i| i.name == ix.name)),
    };
    found.ok_or_else(|| format!("program `{}` has no such item", idl.name))
}

fn item_layout(stack: &Stack, source: &SourceRef) -> Result<Layout, String> {
    let idl = stack
        .idls
        .get(source.program)
        .ok_or_else(|| format!("no program {}", source.program))?;
    match source.kind {
        SourceKind::Account => idl.account_layout(&source.name),
        SourceKind::Event => idl.event_layout(&source.name),
        SourceKind::Instruction => idl.instruction_layout(&source.name),
    }
    .map_err(|e| e.to_string())
}

/// Resolves a value path of `source` to an accessor.
fn accessor(stack: &Stack, source: &SourceRef, path: &ValuePath) -> Result<Accessor, String> {
    let (access, layout) = match path {
        ValuePath::Whole => (Access::Whole, item_layout(stack, source)?),
        ValuePath::Address => (Access::Address, pubkey()),
        ValuePath::Slot => (Access::Slot, Layout::Primitive(IdlPrimitive::U64)),
        ValuePath::Signature => (Access::Signature, Layout::Primitive(IdlPrimitive::String)),
        ValuePath::AccountRole(role) => {
            let idl = stack
                .idls
                .get(source.program)
                .ok_or_else(|| format!("no program {}", source.program))?;
            let ix = idl
                .instruction(&source.name)
                .ok_or_else(|| format!("no instruction `{}`", source.name))?;
            let i = ix
                .accounts
                .iter()
                .position(|a| &a.name == role)
                .ok_or_else(|| format!("instruction `{}` has no account `{role}`", ix.name))?;
            (Access::Role(i), pubkey())
        }
        ValuePath::Field(parts) | ValuePath::Arg(parts) | ValuePath::Data(parts) => {
            let mut layout = item_layout(stack, source)?;
            let mut indices = Vec::with_capacity(parts.len());
            for part in parts {
                while let Layout::Option(inner) | Layout::COption(inner) = layout {
                    layout = *inner;
                }
                let Layout::Struct {
                    fields: crate::spec::idl::LayoutFields::Named(named),
                    ..
                } = &layout
                else {
                    return Err(format!("`{part}` is not a field of a struct"));
                };
                let i = named
                    .iter()
                    .position(|(n, _)| n == part)
                    .ok_or_else(|| format!("no field `{part}`"))?;
                indices.push(i);
                layout = named[i].1.clone();
            }
            (Access::Path(indices), layout)
        }
    };
    Ok(Accessor { access, layout })
}
