//! Resolver fields in the transform (docs/STACK_SPEC.md, "Resolvers").
//!
//! A resolver field holds the input it was last evaluated to and the value resolved for that
//! input. When the input changes (evaluated like a computed field, in dependency order), the
//! entity's reference moves in the resolver [`Index`](crate::resolve::Index): the value
//! already known for the new input is taken at once (from its cache or the store), else a
//! fetch is requested and the field stays null. When a fetch's result arrives (an engine
//! input, [`Transformer::apply_resolution`]), it is stored and applied to every entity that
//! references that input, as a change of the field: the computed fields reading it are
//! evaluated again and one mutation per entity is emitted.

use serde_json::Value as Json;

use super::apply::{self, Touched};
use super::plan::FieldPlanKind;
use super::state::FieldState;
use super::{KeyVal, Transformer};
use crate::mutation::Mutation;
use crate::resolve::Resolution;
use crate::source::Pubkey;
use crate::spec::expr::Value as ExprValue;
use crate::spec::Resolver;

/// A resolver field's input and value before its input changed.
pub(super) type Previous = (Option<Box<str>>, Option<Json>);

/// Sets a resolver field's input to `result` (a string; anything else is no input). Returns
/// the previous input and value when the input changed (the value is cleared: it belonged to
/// the previous input).
pub(super) fn set_input(slot: &mut FieldState, result: ExprValue) -> Option<Previous> {
    let input: Option<Box<str>> = match result {
        ExprValue::Str(s) => Some(s.into()),
        _ => None,
    };
    match slot {
        FieldState::Resolved { input: held, .. } if *held == input => None,
        FieldState::Resolved { input: held, value } => {
            let old = (held.take(), value.take());
            *held = input;
            Some(old)
        }
        _ => {
            let changed = input.is_some();
            *slot = FieldState::Resolved { input, value: None };
            changed.then_some((None, None))
        }
    }
}

/// The bytes of an entity key in the resolver index (reversed by [`key_from_bytes`]).
fn key_bytes(key: &KeyVal) -> Vec<u8> {
    key.key_bytes()
}

/// The entity key of [`key_bytes`].
fn key_from_bytes(bytes: &[u8]) -> Option<KeyVal> {
    let (tag, rest) = bytes.split_first()?;
    match tag {
        0 => Some(KeyVal::Pubkey(Pubkey(rest.try_into().ok()?))),
        1 => Some(KeyVal::Int(i128::from_be_bytes(rest.try_into().ok()?))),
        2 => Some(KeyVal::Str(std::str::from_utf8(rest).ok()?.into())),
        _ => None,
    }
}

fn resolver_of(t: &Transformer, entity: usize, field: usize) -> Option<Resolver> {
    match &t.plan.entities.get(entity)?.fields.get(field)?.kind {
        FieldPlanKind::Resolved { resolver, .. } => Some(*resolver),
        _ => None,
    }
}

/// Moves the references of the resolver fields whose input changed (`inputs`: field, previous
/// input and value) and gives each the value known for its new input. Returns whether a
/// field's value changed (the fields reading it must be evaluated again).
pub(super) fn reference(
    t: &mut Transformer,
    touch: &mut Touched,
    inputs: Vec<(usize, Previous)>,
) -> bool {
    let key = key_bytes(&touch.key);
    let mut changed = false;
    for (field, (old_input, old_value)) in inputs {
        let Some(resolver) = resolver_of(t, touch.entity, field) else {
            continue;
        };
        let new_input = match t
            .state_mut(touch.entity, &touch.key)
            .and_then(|s| s.fields.get(field))
        {
            Some(FieldState::Resolved { input, .. }) => input.clone(),
            _ => continue,
        };
        if let Some(old) = &old_input {
            t.resolve.unlink(resolver, old, touch.entity, field, &key);
        }
        let value = match &new_input {
            Some(input) => match t.resolve.link(resolver, input, touch.entity, field, &key) {
                Ok(known) => known.flatten(),
                Err(e) => {
                    t.store_failed(e);
                    None
                }
            },
            None => None,
        };
        if let Some(FieldState::Resolved { value: held, .. }) = t
            .state_mut(touch.entity, &touch.key)
            .and_then(|s| s.fields.get_mut(field))
        {
            held.clone_from(&value);
        }
        if value != old_value {
            touch.changed.push(field);
            changed = true;
        }
    }
    changed
}

impl Transformer {
    /// Applies a resolver's result: stores it, and sets it on every entity whose field
    /// references its input; pushes one mutation per entity that changed.
    pub(crate) fn apply_resolution(&mut self, resolution: &Resolution, out: &mut Vec<Mutation>) {
        let value = resolution.value();
        let references =
            match self
                .resolve
                .resolved(resolution.resolver, &resolution.input, value.cloned())
            {
                Ok(r) => r,
                Err(e) => {
                    self.store_failed(e);
                    return;
                }
            };
        if references.is_empty() {
            return;
        }
        let plan = std::sync::Arc::clone(&self.plan);
        let seq = self.next_seq(self.seq.0);
        let before = out.len();
        for (entity, field, raw_key) in references {
            let Some(key) = key_from_bytes(&raw_key) else {
                continue;
            };
            let store_key = super::state_key(entity, &key);
            // Only entities that exist (a reference never creates one).
            let state = match self.tables.get_mut(entity).map(|t| t.get_mut(&store_key)) {
                Some(Ok(Some(state))) => state,
                Some(Err(e)) => {
                    self.store_failed(e);
                    continue;
                }
                _ => continue,
            };
            let Some(FieldState::Resolved { input, value: held }) = state.fields.get_mut(field)
            else {
                continue;
            };
            if input.as_deref() != Some(&*resolution.input) || held.as_ref() == value {
                continue;
            }
            *held = value.cloned();
            let mut touch = Touched {
                entity,
                key,
                changed: vec![field],
                appended: Vec::new(),
            };
            if let Some(m) = apply::finish(self, &plan, &mut touch, &seq) {
                out.push(m);
            }
        }
        self.stats.mutations += (out.len() - before) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_keys_round_trip_through_their_bytes() {
        for key in [
            KeyVal::Pubkey(Pubkey([7; 32])),
            KeyVal::Int(-42),
            KeyVal::Int(i128::MAX),
            KeyVal::Str("round-1".into()),
        ] {
            assert_eq!(key_from_bytes(&key_bytes(&key)), Some(key));
        }
        assert_eq!(key_from_bytes(&[9, 1]), None);
        assert_eq!(key_from_bytes(&[0, 1, 2]), None, "a short pubkey");
    }

    #[test]
    fn inputs_change_only_when_their_value_does() {
        let mut slot = FieldState::Unset;
        assert_eq!(set_input(&mut slot, ExprValue::Null), None, "no input yet");
        assert_eq!(
            slot,
            FieldState::Resolved {
                input: None,
                value: None
            }
        );
        let mint = || ExprValue::Str("Mint1".into());
        assert_eq!(set_input(&mut slot, mint()), Some((None, None)));
        if let FieldState::Resolved { value, .. } = &mut slot {
            *value = Some(serde_json::json!({"decimals": 6}));
        }
        assert_eq!(set_input(&mut slot, mint()), None, "same input");
        assert_eq!(
            set_input(&mut slot, ExprValue::Str("Mint2".into())),
            Some((
                Some("Mint1".into()),
                Some(serde_json::json!({"decimals": 6}))
            )),
            "a new input clears the value"
        );
        let mut fresh = FieldState::Unset;
        assert_eq!(set_input(&mut fresh, mint()), Some((None, None)));
    }
}
