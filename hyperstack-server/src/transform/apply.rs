//! Applying one decoded item: lookups, key resolution, strategies, computed fields, mutations.

use std::borrow::Cow;

use serde_json::{Map, Value as Json};

use super::access::ItemCtx;
use super::lookup::{Resolution, Target};
use super::plan::{EntityPlan, FieldBinding, FieldPlan, FieldPlanKind, ItemPlan, KeyAccess, Plan};
use super::state::{self, EntityState, FieldState, Outcome};
use super::unresolved::Queued;
use super::{KeyVal, Transformer};
use crate::decode::Value;
use crate::mutation::{Change, Mutation};
use crate::spec::expr::{Expr, Value as ExprValue};
use crate::spec::idl::Layout;

/// One entity an item changed, with what changed.
pub(super) struct Touched {
    pub entity: usize,
    pub key: KeyVal,
    pub changed: Vec<usize>,
    pub appended: Vec<(usize, Json)>,
}

/// The layout of a field's source values (`None` for computed fields).
pub(super) fn layout_of(f: &FieldPlan) -> Option<&Layout> {
    match &f.kind {
        FieldPlanKind::Mapped { layout, .. } => Some(layout),
        FieldPlanKind::Computed { .. } | FieldPlanKind::Resolved { .. } => None,
    }
}

fn key_of(v: &Value) -> Option<KeyVal> {
    match v {
        Value::Pubkey(p) => Some(KeyVal::Pubkey(*p)),
        Value::String(s) => Some(KeyVal::Str(s.as_str().into())),
        Value::Option(Some(inner)) => key_of(inner),
        other => other.as_i128().map(KeyVal::Int),
    }
}

/// Where a binding's entity key led.
enum Found {
    /// The entity.
    Key(KeyVal),
    /// No key: the value naming the entity is null (or a lookup cycle).
    Nothing,
    /// The lookup entry `value` of `lookup` is not registered yet.
    Waiting { lookup: usize, value: KeyVal },
}

fn find(t: &mut Transformer, entity: usize, key: &KeyAccess, ctx: &ItemCtx<'_>) -> Found {
    match key {
        KeyAccess::Direct(acc) => acc
            .get(ctx)
            .and_then(|v| key_of(&v))
            .map_or(Found::Nothing, Found::Key),
        KeyAccess::Lookup { value, lookup } => {
            let Some(k) = value.get(ctx).and_then(|v| key_of(&v)) else {
                return Found::Nothing;
            };
            match t.resolve_lookup(entity, *lookup, &k) {
                Some(Resolution::Key(k)) => Found::Key(k),
                Some(Resolution::Missing { lookup, value }) => Found::Waiting { lookup, value },
                None => Found::Nothing,
            }
        }
    }
}

fn resolve(
    t: &mut Transformer,
    entity: usize,
    key: &KeyAccess,
    ctx: &ItemCtx<'_>,
) -> Option<KeyVal> {
    match find(t, entity, key, ctx) {
        Found::Key(k) => Some(k),
        _ => None,
    }
}

/// What a lookup entry registered by `key` points to: the primary key, or (through another
/// lookup) the value to look up when the entry is used.
fn target(key: &KeyAccess, ctx: &ItemCtx<'_>) -> Option<Target> {
    match key {
        KeyAccess::Direct(acc) => acc.get(ctx).and_then(|v| key_of(&v)).map(Target::Key),
        KeyAccess::Lookup { value, lookup } => {
            value
                .get(ctx)
                .and_then(|v| key_of(&v))
                .map(|value| Target::Via {
                    lookup: *lookup,
                    value,
                })
        }
    }
}

/// The entity's state, created (every field unset) when new.
fn state_mut<'t>(
    t: &'t mut Transformer,
    _plan: &Plan,
    entity: usize,
    key: &KeyVal,
) -> Option<&'t mut EntityState> {
    t.state_mut(entity, key)
}

/// Whether a `condition` holds for `value` (`value` and `value.<field>` in the expression).
fn condition_holds(expr: &Expr, value: Option<&Value>, layout: &Layout) -> bool {
    let v = value.map(|v| v.to_expr(Some(layout)));
    let env = |path: &str| -> Option<ExprValue> {
        let rest = match path.strip_prefix("value") {
            Some("") => return v.clone(),
            Some(rest) => rest.strip_prefix('.')?,
            None => return None,
        };
        let mut json = v.as_ref()?.to_json();
        for part in rest.split('.') {
            json = json.get(part)?.clone();
        }
        Some(ExprValue::from_json(&json))
    };
    expr.eval(&env).is_truthy_filter()
}

/// Applies `item` (decoded as `ctx`): its lookup entries, then its values; pushes one
/// mutation per changed entity.
pub(super) fn item(
    t: &mut Transformer,
    plan: &Plan,
    item: &ItemPlan,
    ctx: &ItemCtx<'_>,
    seq: &str,
    out: &mut Vec<Mutation>,
) {
    register(t, item, ctx);
    values(t, plan, item, ctx, seq, out);
    apply_ready(t, plan, ctx.slot, out);
}

/// Registers the lookup entries `item` carries.
pub(super) fn register(t: &mut Transformer, item: &ItemPlan, ctx: &ItemCtx<'_>) {
    for lb in &item.lookups {
        let value = lb.value.get(ctx).and_then(|v| key_of(&v));
        match (value, target(&lb.key, ctx)) {
            (Some(v), Some(target)) => t.link_lookup(lb.entity, lb.lookup, &v, target),
            _ => t.stats.unresolved_keys += 1,
        }
    }
}

/// Applies the values (and stops) of `item`; pushes one mutation per changed entity.
pub(super) fn values(
    t: &mut Transformer,
    plan: &Plan,
    item: &ItemPlan,
    ctx: &ItemCtx<'_>,
    seq: &str,
    out: &mut Vec<Mutation>,
) {
    let mut touched: Vec<Touched> = Vec::new();
    // Bindings waiting for a lookup entry, grouped by the entry: (entity, lookup, value).
    let mut waiting: Vec<(usize, usize, KeyVal, Vec<usize>)> = Vec::new();
    for (bi, fb) in item.fields.iter().enumerate() {
        let FieldPlanKind::Mapped { when, .. } = &plan.entities[fb.entity].fields[fb.field].kind
        else {
            continue;
        };
        if !when.is_empty() {
            let named = ctx
                .touched
                .is_some_and(|f| when.iter().any(|&(p, i)| f(p, i)));
            if !named {
                t.stats.conditions_unmet += 1;
                continue;
            }
        }
        match find(t, fb.entity, &fb.key, ctx) {
            Found::Key(key) => binding(t, plan, fb, key, ctx, &mut touched),
            Found::Waiting { lookup, value } => {
                match waiting
                    .iter_mut()
                    .find(|w| w.0 == fb.entity && w.1 == lookup && w.2 == value)
                {
                    Some(w) => w.3.push(bi),
                    None => waiting.push((fb.entity, lookup, value, vec![bi])),
                }
            }
            Found::Nothing => {
                t.stats.unresolved_keys += 1;
                tracing::debug!(field = %plan.entities[fb.entity].fields[fb.field].name, "no entity key for a source value; skipped");
            }
        }
    }
    // Applied when their lookup entry arrives (see `apply_ready`).
    for (entity, lookup, value, bindings) in waiting {
        t.queue_unresolved(entity, lookup, &value, Queued::new(item.id, bindings, ctx));
    }
    // Stops apply after the item's own values: "after instruction Y" includes Y's values.
    for sb in &item.stops {
        let Some(key) = resolve(t, sb.entity, &sb.key, ctx) else {
            t.stats.unresolved_keys += 1;
            continue;
        };
        if let Some(state) = state_mut(t, plan, sb.entity, &key) {
            if !state.stopped.contains(&sb.field) {
                state.stopped.push(sb.field);
            }
        }
    }
    for mut touch in touched {
        if let Some(m) = finish(t, plan, &mut touch, seq) {
            out.push(m);
        }
    }
}

/// Applies one binding's value to the entity `key` (its `condition`, transform and
/// strategy) and records what changed in `touched`.
fn binding(
    t: &mut Transformer,
    plan: &Plan,
    fb: &FieldBinding,
    key: KeyVal,
    ctx: &ItemCtx<'_>,
    touched: &mut Vec<Touched>,
) {
    let FieldPlanKind::Mapped {
        strategy,
        condition,
        ..
    } = &plan.entities[fb.entity].fields[fb.field].kind
    else {
        return;
    };
    let mut value = fb.value.get(ctx);
    if let Some(expr) = condition {
        if !condition_holds(expr, value.as_deref(), &fb.value.layout) {
            t.stats.conditions_unmet += 1;
            return;
        }
    }
    if let Some(conv) = &fb.conv {
        value = value
            .and_then(|v| conv.apply(v.into_owned()))
            .map(Cow::Owned);
    }
    let Some(state) = state_mut(t, plan, fb.entity, &key) else {
        return;
    };
    if state.stopped.contains(&fb.field) {
        return;
    }
    let Some(field_state) = state.fields.get_mut(fb.field) else {
        return;
    };
    let outcome = state::apply(*strategy, &fb.out_layout, field_state, value);
    if outcome == Outcome::Unchanged {
        return;
    }
    let ti = match touched
        .iter()
        .position(|x| x.entity == fb.entity && x.key == key)
    {
        Some(i) => i,
        None => {
            touched.push(Touched {
                entity: fb.entity,
                key,
                changed: Vec::new(),
                appended: Vec::new(),
            });
            touched.len() - 1
        }
    };
    match outcome {
        Outcome::Appended(item) => touched[ti].appended.push((fb.field, item)),
        _ => touched[ti].changed.push(fb.field),
    }
}

/// Applies the queued bindings whose lookup entry just arrived, in arrival order, each as
/// its own change (with the next `_seq` of `slot`). A binding whose chain of lookups is still
/// incomplete further on waits again, for that entry.
pub(super) fn apply_ready(t: &mut Transformer, plan: &Plan, slot: u64, out: &mut Vec<Mutation>) {
    loop {
        let ready = t.unresolved.take_ready();
        if ready.is_empty() {
            return;
        }
        for q in ready {
            let Some(item) = plan.item(q.item) else {
                continue;
            };
            let signature = q.signature();
            let ctx = ItemCtx {
                value: &q.value,
                address: q.address.as_ref(),
                roles: &q.roles,
                slot: q.slot,
                signature: signature.as_ref(),
                touched: None,
            };
            let mut touched = Vec::new();
            let mut waiting: Vec<(usize, usize, KeyVal, Vec<usize>)> = Vec::new();
            for &bi in &q.bindings {
                let Some(fb) = item.fields.get(bi) else {
                    continue;
                };
                match find(t, fb.entity, &fb.key, &ctx) {
                    Found::Key(key) => binding(t, plan, fb, key, &ctx, &mut touched),
                    Found::Waiting { lookup, value } => match waiting
                        .iter_mut()
                        .find(|w| w.0 == fb.entity && w.1 == lookup && w.2 == value)
                    {
                        Some(w) => w.3.push(bi),
                        None => waiting.push((fb.entity, lookup, value, vec![bi])),
                    },
                    Found::Nothing => t.stats.unresolved_keys += 1,
                }
            }
            if !touched.is_empty() {
                let seq = t.next_seq(slot);
                for mut touch in touched {
                    if let Some(m) = finish(t, plan, &mut touch, &seq) {
                        out.push(m);
                    }
                }
            }
            for (entity, lookup, value, bindings) in waiting {
                let again = Queued::new(q.item, bindings, &ctx);
                t.queue_unresolved(entity, lookup, &value, again);
            }
        }
    }
}

/// The object at the dotted `path` of `data`, created (as empty objects) on the way.
fn object_at<'m>(
    data: &'m mut Map<String, Json>,
    path: &[&str],
) -> Option<&'m mut Map<String, Json>> {
    let mut current = data;
    for part in path {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Json::Object(Map::new()));
        current = entry.as_object_mut()?;
    }
    Some(current)
}

/// Sets the value of a (dotted) field name in a nested JSON object.
pub(super) fn insert_at(data: &mut Map<String, Json>, name: &str, value: Json) {
    let parts: Vec<&str> = name.split('.').collect();
    if let Some((last, parents)) = parts.split_last() {
        if let Some(obj) = object_at(data, parents) {
            obj.insert(last.to_string(), value);
        }
    }
}

/// The field of `entity` among `deps` that a (dotted) path reads, and the rest of the path.
fn field_of<'p>(entity: &EntityPlan, deps: &[usize], path: &'p str) -> Option<(usize, &'p str)> {
    deps.iter()
        .copied()
        .filter(|&d| {
            let name = entity.fields[d].name.as_str();
            path == name
                || (path.starts_with(name) && path.as_bytes().get(name.len()) == Some(&b'.'))
        })
        .max_by_key(|&d| entity.fields[d].name.len())
        .map(|d| {
            let rest = &path[entity.fields[d].name.len()..];
            (d, rest.strip_prefix('.').unwrap_or(rest))
        })
}

/// Evaluates, in dependency order, the computed fields whose inputs changed (recorded in
/// `touch`) and the inputs of resolver fields (those never evaluated, or whose inputs
/// changed). Returns the resolver fields whose input changed: (field, (previous input and
/// value)).
fn evaluate(
    entity: &EntityPlan,
    state: &mut EntityState,
    touch: &mut Touched,
) -> Vec<(usize, super::resolved::Previous)> {
    let mut inputs = Vec::new();
    for &ci in &entity.computed_order {
        let (expr, deps) = match entity.fields.get(ci).map(|f| &f.kind) {
            Some(FieldPlanKind::Computed { expr, deps }) => (expr, deps),
            Some(FieldPlanKind::Resolved { input, deps, .. }) => (input, deps),
            _ => continue,
        };
        let never = state.fields.get(ci) == Some(&FieldState::Unset);
        let resolver = matches!(entity.fields[ci].kind, FieldPlanKind::Resolved { .. });
        let first = resolver && never;
        if !first && !deps.iter().any(|&d| is_changed(touch, d)) {
            continue;
        }
        let fields = &state.fields;
        let env = |path: &str| -> Option<ExprValue> {
            let (fi, rest) = field_of(entity, deps, path)?;
            let v = fields.get(fi)?.to_expr(layout_of(&entity.fields[fi]))?;
            match rest {
                "" => Some(v),
                rest => {
                    let mut json = v.to_json();
                    for part in rest.split('.') {
                        json = json.get(part)?.clone();
                    }
                    Some(ExprValue::from_json(&json))
                }
            }
        };
        let result = expr.eval(&env);
        let slot = &mut state.fields[ci];
        if resolver {
            if let Some(old) = super::resolved::set_input(slot, result) {
                inputs.push((ci, old));
            }
            continue;
        }
        let new = match (&*slot, result) {
            (FieldState::Unset, ExprValue::Null) => continue,
            (FieldState::Computed(old), r) if *old == r => continue,
            (_, r) => FieldState::Computed(r),
        };
        *slot = new;
        touch.changed.push(ci);
    }
    inputs
}

pub(super) fn is_changed(touch: &Touched, field: usize) -> bool {
    touch.changed.contains(&field) || touch.appended.iter().any(|(f, _)| *f == field)
}

/// Re-evaluates the computed and resolver fields whose inputs changed (a resolver field
/// whose input changed takes the value known for it, which may change the fields that read
/// it: evaluated again), then builds the mutation.
pub(super) fn finish(
    t: &mut Transformer,
    plan: &Plan,
    touch: &mut Touched,
    seq: &str,
) -> Option<Mutation> {
    let entity = &plan.entities[touch.entity];
    loop {
        let state = t.state_mut(touch.entity, &touch.key)?;
        let inputs = evaluate(entity, state, touch);
        if inputs.is_empty() || !super::resolved::reference(t, touch, inputs) {
            break;
        }
    }
    let state = t.state_mut(touch.entity, &touch.key)?;
    let mut data = Map::new();
    let mut append = Vec::new();
    touch.changed.sort_unstable();
    touch.changed.dedup();
    for &fi in &touch.changed {
        let f = &entity.fields[fi];
        if f.emit {
            insert_at(&mut data, &f.name, state.fields[fi].to_json(layout_of(f)));
        }
    }
    for (fi, item) in touch.appended.drain(..) {
        let f = &entity.fields[fi];
        if !f.emit {
            continue;
        }
        let parts: Vec<&str> = f.name.split('.').collect();
        let Some((last, parents)) = parts.split_last() else {
            continue;
        };
        let Some(obj) = object_at(&mut data, parents) else {
            continue;
        };
        match obj.get_mut(*last) {
            Some(Json::Array(items)) => items.push(item),
            _ => {
                obj.insert(last.to_string(), Json::Array(vec![item]));
                append.push(f.name.clone());
            }
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(Mutation {
        entity: entity.name.clone(),
        key: state.key.clone(),
        seq: Some(seq.to_string()),
        change: Change::Patch { data, append },
    })
}
