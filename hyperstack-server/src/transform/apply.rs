//! Applying one decoded item: lookups, key resolution, strategies, computed fields, mutations.

use serde_json::{Map, Value as Json};

use super::plan::{FieldPlan, FieldPlanKind, ItemCtx, ItemPlan, KeyAccess, Plan};
use super::state::{self, EntityState, FieldState, Outcome};
use super::{KeyVal, Transformer};
use crate::decode::Value;
use crate::mutation::{Change, Mutation};
use crate::spec::expr::Value as ExprValue;
use crate::spec::idl::Layout;

/// One entity an item changed, with what changed.
struct Touched {
    entity: usize,
    key: KeyVal,
    changed: Vec<usize>,
    appended: Vec<(usize, Json)>,
}

/// The layout of a field's source values (`None` for computed fields).
pub(super) fn layout_of(f: &FieldPlan) -> Option<&Layout> {
    match &f.kind {
        FieldPlanKind::Mapped { layout, .. } => Some(layout),
        FieldPlanKind::Computed { .. } => None,
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

fn resolve(
    t: &mut Transformer,
    entity: usize,
    key: &KeyAccess,
    ctx: &ItemCtx<'_>,
) -> Option<KeyVal> {
    match key {
        KeyAccess::Direct(acc) => acc.get(ctx).and_then(|v| key_of(&v)),
        KeyAccess::Lookup { value, lookup } => {
            let k = value.get(ctx).and_then(|v| key_of(&v))?;
            t.lookups
                .get_mut(entity)?
                .get_mut(*lookup)?
                .get(&k)
                .cloned()
        }
    }
}

/// Applies `item` (decoded as `ctx`) and pushes one mutation per changed entity.
pub(super) fn item(
    t: &mut Transformer,
    plan: &Plan,
    item: &ItemPlan,
    ctx: &ItemCtx<'_>,
    seq: &str,
    out: &mut Vec<Mutation>,
) {
    for lb in &item.lookups {
        let value = lb.value.get(ctx).and_then(|v| key_of(&v));
        let primary = resolve(t, lb.entity, &lb.key, ctx);
        match (value, primary) {
            (Some(v), Some(pk)) => {
                if let Some(index) = t
                    .lookups
                    .get_mut(lb.entity)
                    .and_then(|l| l.get_mut(lb.lookup))
                {
                    index.put(v, pk);
                }
            }
            _ => t.stats.unresolved_keys += 1,
        }
    }
    let mut touched: Vec<Touched> = Vec::new();
    for fb in &item.fields {
        let Some(key) = resolve(t, fb.entity, &fb.key, ctx) else {
            t.stats.unresolved_keys += 1;
            tracing::debug!(field = %plan.entities[fb.entity].fields[fb.field].name, "no entity key for a source value; skipped");
            continue;
        };
        let FieldPlanKind::Mapped { strategy, layout } =
            &plan.entities[fb.entity].fields[fb.field].kind
        else {
            continue;
        };
        let n_fields = plan.entities[fb.entity].fields.len();
        let table = &mut t.tables[fb.entity];
        if !table.contains(&key) {
            let state = EntityState {
                key: key.render(),
                fields: vec![FieldState::Unset; n_fields],
            };
            table.put(key.clone(), state);
        }
        let Some(state) = table.get_mut(&key) else {
            continue;
        };
        let Some(field_state) = state.fields.get_mut(fb.field) else {
            continue;
        };
        let outcome = state::apply(*strategy, layout, field_state, fb.value.get(ctx));
        if outcome == Outcome::Unchanged {
            continue;
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
    for mut touch in touched {
        if let Some(m) = finish(t, plan, &mut touch, seq) {
            out.push(m);
        }
    }
}

fn is_changed(touch: &Touched, field: usize) -> bool {
    touch.changed.contains(&field) || touch.appended.iter().any(|(f, _)| *f == field)
}

/// Re-evaluates the computed fields whose inputs changed, then builds the mutation.
fn finish(t: &mut Transformer, plan: &Plan, touch: &mut Touched, seq: &str) -> Option<Mutation> {
    let entity = &plan.entities[touch.entity];
    let state = t.tables[touch.entity].get_mut(&touch.key)?;
    for &ci in &entity.computed_order {
        let Some(FieldPlanKind::Computed { expr, deps }) = entity.fields.get(ci).map(|f| &f.kind)
        else {
            continue;
        };
        if !deps.iter().any(|&d| is_changed(touch, d)) {
            continue;
        }
        let fields = &state.fields;
        let env = |path: &str| -> Option<ExprValue> {
            let (head, rest) = match path.split_once('.') {
                Some((h, r)) => (h, Some(r)),
                None => (path, None),
            };
            let fi = deps
                .iter()
                .copied()
                .find(|&d| entity.fields[d].name == head)?;
            let v = fields.get(fi)?.to_expr(layout_of(&entity.fields[fi]))?;
            match rest {
                None => Some(v),
                Some(rest) => {
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
        let new = match (&*slot, result) {
            (FieldState::Unset, ExprValue::Null) => continue,
            (FieldState::Computed(old), r) if *old == r => continue,
            (_, r) => FieldState::Computed(r),
        };
        *slot = new;
        touch.changed.push(ci);
    }
    let mut data = Map::new();
    let mut append = Vec::new();
    touch.changed.sort_unstable();
    touch.changed.dedup();
    for &fi in &touch.changed {
        let f = &entity.fields[fi];
        if f.emit {
            data.insert(f.name.clone(), state.fields[fi].to_json(layout_of(f)));
        }
    }
    for (fi, item) in touch.appended.drain(..) {
        let f = &entity.fields[fi];
        if !f.emit {
            continue;
        }
        match data.get_mut(&f.name) {
            Some(Json::Array(items)) => items.push(item),
            _ => {
                data.insert(f.name.clone(), Json::Array(vec![item]));
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
