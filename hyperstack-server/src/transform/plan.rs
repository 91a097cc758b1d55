//! Compiling a [`Stack`] once into a plan: every source path resolved to positional indices,
//! every binding listed under the account / instruction / event that feeds it.

use std::sync::Arc;

use super::access::{Access, Accessor};
use super::convert::Conv;
use crate::spec::expr::Expr;
use crate::spec::idl::{IdlPrimitive, Layout};
use crate::spec::{
    Entity, FieldKind, KeyBinding, Resolver, SourceBinding, SourceKind, SourceRef, Stack, Strategy,
    ValuePath,
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
    /// The field's transform, compiled for this source's layout.
    pub conv: Option<Conv>,
    /// The layout of the value after `conv` (what `append` and `merge` encode).
    pub out_layout: Layout,
}

/// A lookup entry registered by an item.
#[derive(Debug, Clone)]
pub(crate) struct LookupBinding {
    pub entity: usize,
    pub lookup: usize,
    pub value: Accessor,
    pub key: KeyAccess,
}

/// A field that stops changing once an instruction or event touched its entity.
#[derive(Debug, Clone)]
pub(crate) struct StopBinding {
    pub entity: usize,
    pub field: usize,
    pub key: KeyAccess,
}

/// Everything one account type / instruction / event feeds, lookups first.
#[derive(Debug, Clone, Default)]
pub(crate) struct ItemPlan {
    /// Which item this is (to find the plan again for a queued binding).
    pub id: ItemId,
    pub lookups: Vec<LookupBinding>,
    pub fields: Vec<FieldBinding>,
    pub stops: Vec<StopBinding>,
    /// Instructions named by a `when`: the accounts they name are recorded.
    pub touches: bool,
}

/// Kinds of decoded items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum ItemKind {
    #[default]
    Account,
    Instruction,
    Event,
}

/// An item of the stack: its kind, program and index in its IDL's list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ItemId {
    pub kind: ItemKind,
    pub program: usize,
    pub index: usize,
}

/// A field of an entity.
#[derive(Debug, Clone)]
pub(crate) struct FieldPlan {
    /// Dotted path (`state.motherlode`).
    pub name: String,
    pub emit: bool,
    pub kind: FieldPlanKind,
}

#[derive(Debug, Clone)]
pub(crate) enum FieldPlanKind {
    /// A mapped field; `layout` is the layout of the values it keeps (after its transform;
    /// the items, for append).
    Mapped {
        strategy: Strategy,
        layout: Layout,
        /// `(program, instruction)` of the field's `when`.
        when: Vec<(usize, usize)>,
        condition: Option<Expr>,
    },
    /// A computed field: its expression and the indices of the fields it reads.
    Computed { expr: Expr, deps: Vec<usize> },
    /// A resolver field: the resolver, its input expression and the fields that reads.
    Resolved {
        resolver: Resolver,
        input: Expr,
        deps: Vec<usize>,
    },
}

/// An entity type.
#[derive(Debug, Clone)]
pub(crate) struct EntityPlan {
    pub name: Arc<str>,
    pub fields: Vec<FieldPlan>,
    /// Computed and resolver field indices, dependencies first.
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
    /// Whether results depend on the order of account writes and transactions within a slot
    /// (a `when`, a `stop`, a lookup resolved through another, or an account source found
    /// through a lookup): then each slot is applied in canonical order once complete.
    pub ordered: bool,
}

fn pubkey() -> Layout {
    Layout::Primitive(IdlPrimitive::Pubkey)
}

impl Plan {
    pub fn compile(stack: &Stack, max_array_length: usize) -> Result<Plan, PlanError> {
        let items =
            |kind: ItemKind, f: fn(&crate::spec::idl::Idl) -> usize| -> Vec<Vec<ItemPlan>> {
                stack
                    .idls
                    .iter()
                    .enumerate()
                    .map(|(program, i)| {
                        (0..f(i))
                            .map(|index| ItemPlan {
                                id: ItemId {
                                    kind,
                                    program,
                                    index,
                                },
                                ..ItemPlan::default()
                            })
                            .collect()
                    })
                    .collect()
            };
        let mut plan = Plan {
            entities: Vec::new(),
            accounts: items(ItemKind::Account, |i| i.accounts.len()),
            instructions: items(ItemKind::Instruction, |i| i.instructions.len()),
            events: items(ItemKind::Event, |i| i.events.len()),
            ordered: false,
        };
        for (ei, entity) in stack.entities.iter().enumerate() {
            plan.compile_entity(stack, ei, entity, max_array_length)?;
        }
        Ok(plan)
    }

    fn compile_entity(
        &mut self,
        stack: &Stack,
        ei: usize,
        entity: &Entity,
        max_array_length: usize,
    ) -> Result<(), PlanError> {
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
                if matches!(binding.key, KeyAccess::Lookup { .. }) {
                    self.ordered = true;
                }
                self.item_mut(stack, &b.source)
                    .map_err(|r| err(&b.path, r))?
                    .lookups
                    .push(binding);
            }
        }
        let mut fields = Vec::with_capacity(entity.fields.len());
        for (fi, field) in entity.fields.iter().enumerate() {
            let kind = match &field.kind {
                FieldKind::Mapped {
                    strategy,
                    sources,
                    transform,
                    when,
                    condition,
                    stop,
                } => {
                    let mut layout = None;
                    for b in sources {
                        let value =
                            accessor(stack, &b.source, &b.value).map_err(|r| err(&b.path, r))?;
                        let conv = transform
                            .as_ref()
                            .map(|t| Conv::compile(t, &value.layout))
                            .transpose()
                            .map_err(|r| err(&b.path, r))?;
                        let out_layout = match transform {
                            Some(t) => t
                                .output(&value.layout, &field.name)
                                .map_err(|r| err(&b.path, r))?,
                            None => value.layout.clone(),
                        };
                        layout.get_or_insert_with(|| out_layout.clone());
                        let key = key_access(b)?;
                        if b.source.kind == SourceKind::Account
                            && matches!(key, KeyAccess::Lookup { .. })
                        {
                            self.ordered = true;
                        }
                        let binding = FieldBinding {
                            entity: ei,
                            field: fi,
                            value,
                            key,
                            conv,
                            out_layout,
                        };
                        self.item_mut(stack, &b.source)
                            .map_err(|r| err(&b.path, r))?
                            .fields
                            .push(binding);
                    }
                    let mut when_ids = Vec::with_capacity(when.len());
                    for w in when {
                        let index = item_index(stack, w).map_err(|r| err(&field.name, r))?;
                        when_ids.push((w.program, index));
                        self.item_mut(stack, w)
                            .map_err(|r| err(&field.name, r))?
                            .touches = true;
                        self.ordered = true;
                    }
                    if let Some(b) = stop {
                        let binding = StopBinding {
                            entity: ei,
                            field: fi,
                            key: key_access(b)?,
                        };
                        self.item_mut(stack, &b.source)
                            .map_err(|r| err(&b.path, r))?
                            .stops
                            .push(binding);
                        self.ordered = true;
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
                        when: when_ids,
                        condition: condition.clone(),
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
                FieldKind::Resolved {
                    resolver,
                    input,
                    depends_on,
                    ..
                } => FieldPlanKind::Resolved {
                    resolver: *resolver,
                    input: input.clone(),
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
        self.entities.push(EntityPlan {
            name: Arc::from(entity.name.as_str()),
            fields,
            computed_order: entity.computed_order.clone(),
            lookups: entity.lookups.len(),
        });
        Ok(())
    }

    /// The plan of an item.
    pub fn item(&self, id: ItemId) -> Option<&ItemPlan> {
        let table = match id.kind {
            ItemKind::Account => &self.accounts,
            ItemKind::Instruction => &self.instructions,
            ItemKind::Event => &self.events,
        };
        table.get(id.program)?.get(id.index)
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
