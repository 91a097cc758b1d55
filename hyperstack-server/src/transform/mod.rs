//! The transform stage: decoded updates → entity [`Mutation`]s.
//!
//! [`Transformer::new`] compiles the stack once (the plan): every source path becomes field
//! indices, every binding is listed under the account type / instruction / event feeding it.
//! [`Transformer::apply`] then, per raw update: drops duplicates and stale account writes
//! ([`Dedup`]), decodes ([`crate::decode`]), registers lookup entries, resolves entity keys
//! (directly or through a lookup), checks `when` / `condition` / `stop`, applies the field's
//! transform and strategy, re-evaluates the computed fields whose inputs changed (in
//! dependency order) and emits one mutation per touched entity with the changed, emitted
//! fields only (fields of sections nested in their objects) and `_seq` = `"slot:n"` (n counts
//! the updates applied in that slot, so it grows with every change of an entity).
//!
//! **Ordered stacks.** When a stack's results depend on the order of account writes and
//! transactions within a slot (docs/STACK_SPEC.md, "Which entity an account write joins"),
//! updates are held until their slot is complete
//! — an update of a later slot arrives, or [`Transformer::flush`] is called (the ingestion
//! loop does when the source ends or goes quiet) — and applied in canonical order. Other stacks
//! apply each update as it arrives.
//!
//! State is bounded: one LRU table of `StateTableConfig::max_entries` entities per entity
//! type, lookup indexes of the same size; an evicted entity starts over when seen again.

mod access;
mod apply;
mod convert;
mod lookup;
mod order;
mod plan;
mod state;

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;

use crate::config::StateTableConfig;
use crate::decode::{DecodeError, DecodedAccount, StackDecoder, TxItem};
use crate::metrics::Metrics;
use crate::mutation::Mutation;
use crate::source::{AccountUpdate, Dedup, Pubkey, RawUpdate, TransactionUpdate};
use crate::spec::Stack;

pub use plan::PlanError;

use order::{SlotBuffer, Step, Touches};
use plan::Plan;
use state::EntityState;

/// An entity key value, as a hashable typed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyVal {
    Pubkey(Pubkey),
    Int(i128),
    Str(Box<str>),
}

impl KeyVal {
    fn render(&self) -> Arc<str> {
        match self {
            KeyVal::Pubkey(p) => Arc::from(p.to_base58()),
            KeyVal::Int(i) => Arc::from(i.to_string()),
            KeyVal::Str(s) => Arc::from(&**s),
        }
    }
}

/// Counters of what the transform did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransformStats {
    /// Raw updates applied (after dedup).
    pub updates: u64,
    /// Raw updates dropped as duplicates or stale.
    pub duplicates: u64,
    /// Items (accounts, instructions, events) that could not be decoded.
    pub decode_errors: u64,
    /// Bindings skipped because their key was null or not in the lookup index yet.
    pub unresolved_keys: u64,
    /// Values not taken because their `when` or `condition` did not hold.
    pub conditions_unmet: u64,
    /// Ordered stacks: updates of a slot that was already complete, applied on arrival.
    pub late_updates: u64,
    /// Mutations emitted.
    pub mutations: u64,
}

/// Counts decode errors in the metrics and logs the first of each kind.
#[derive(Debug, Default)]
struct ErrorReporter {
    metrics: Option<Arc<Metrics>>,
    logged: HashSet<String>,
}

impl ErrorReporter {
    fn report(&mut self, item: &'static str, error: &DecodeError) {
        let label = format!("{item}_{}", error.kind());
        if let Some(m) = &self.metrics {
            m.decode_error(&label);
        }
        if !self.logged.contains(&label) {
            tracing::warn!(kind = %label, %error, "cannot decode an update (further errors of this kind are only counted)");
            self.logged.insert(label);
        }
    }
}

/// Decodes raw updates and turns them into mutations; see the [module docs](self).
pub struct Transformer {
    decoder: StackDecoder,
    plan: Arc<Plan>,
    /// Per entity type.
    tables: Vec<LruCache<KeyVal, EntityState>>,
    /// `[entity][lookup]`: looked-up value → primary key (or the value to look up in another
    /// index).
    lookups: Vec<lookup::Indexes>,
    dedup: Dedup,
    seq: (u64, u64),
    errors: ErrorReporter,
    items: Vec<TxItem>,
    stats: TransformStats,
    /// Ordered stacks: the updates of the slot in progress.
    pending: Option<SlotBuffer>,
    /// Ordered stacks: the last completed slot, to tell late updates.
    completed: Option<u64>,
}

impl Transformer {
    /// Compiles `stack`; state bounded by `config`.
    pub fn new(stack: &Stack, config: StateTableConfig) -> Result<Transformer, PlanError> {
        let plan = Plan::compile(stack, config.max_array_length)?;
        let cap = NonZeroUsize::new(config.max_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        let tables = plan.entities.iter().map(|_| LruCache::new(cap)).collect();
        let lookups = plan
            .entities
            .iter()
            .map(|e| (0..e.lookups).map(|_| LruCache::new(cap)).collect())
            .collect();
        Ok(Transformer {
            decoder: StackDecoder::new(stack),
            plan: Arc::new(plan),
            tables,
            lookups,
            dedup: Dedup::new(config.max_entries.saturating_mul(4).max(4_096)),
            seq: (0, 0),
            errors: ErrorReporter::default(),
            items: Vec::new(),
            stats: TransformStats::default(),
            pending: None,
            completed: None,
        })
    }

    /// A transformer over the state store (TEMPORARY: state is not in the store yet).
    pub(crate) fn open(
        stack: &Stack,
        config: StateTableConfig,
        _store: crate::store::Store,
        _stats: Arc<crate::store::hot::HotStats>,
    ) -> Result<Transformer, PlanError> {
        Transformer::new(stack, config)
    }

    /// Writes the state changed since the last commit (TEMPORARY: nothing yet).
    pub(crate) fn write_into(&mut self, _batch: &mut fjall::OwnedWriteBatch) {}

    /// Records held in memory.
    pub(crate) fn resident(&self) -> usize {
        self.tables.iter().map(|t| t.len()).sum()
    }

    /// Counts decode errors (`<item>_<kind>`, e.g. `account_truncated`) and ingested events
    /// in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Transformer {
        self.errors.metrics = Some(metrics);
        self
    }

    /// The decoder (program addresses, layouts).
    pub fn decoder(&self) -> &StackDecoder {
        &self.decoder
    }

    /// What the transform did so far.
    pub fn stats(&self) -> TransformStats {
        self.stats
    }

    /// Whether the stack is applied slot by slot in canonical order (see the
    /// [module docs](self)).
    pub fn is_ordered(&self) -> bool {
        self.plan.ordered
    }

    /// Updates held until their slot completes (always 0 for stacks that are not ordered).
    pub fn held(&self) -> usize {
        self.pending.as_ref().map_or(0, SlotBuffer::len)
    }

    fn next_seq(&mut self, slot: u64) -> String {
        if self.seq.0 == slot {
            self.seq.1 += 1;
        } else {
            self.seq = (slot, 0);
        }
        format!("{}:{}", self.seq.0, self.seq.1)
    }

    /// Applies one raw update, pushing the resulting mutations onto `out` (for an ordered
    /// stack: those of the slots this update completes).
    pub fn apply(&mut self, update: &RawUpdate, out: &mut Vec<Mutation>) {
        if !self.dedup.admit(update) {
            self.stats.duplicates += 1;
            return;
        }
        self.stats.updates += 1;
        if let Some(m) = &self.errors.metrics {
            m.ingest_event(None);
        }
        let before = out.len();
        if !self.plan.ordered {
            self.apply_now(update, out);
        } else {
            let slot = update.slot();
            let late = self.completed.is_some_and(|c| slot <= c)
                || self.pending.as_ref().is_some_and(|p| slot < p.slot);
            if late {
                self.stats.late_updates += 1;
                if self.stats.late_updates == 1 {
                    tracing::warn!(slot, "an update arrived after its slot was complete; applied in arrival order (further ones are only counted)");
                }
                self.apply_now(update, out);
            } else {
                if self.pending.as_ref().is_some_and(|p| p.slot < slot) {
                    self.complete_slot(out);
                }
                let buffer = self.pending.get_or_insert_with(|| SlotBuffer::new(slot));
                match update {
                    RawUpdate::Account(a) => buffer.accounts.push(a.clone()),
                    RawUpdate::Transaction(t) => buffer.transactions.push(t.clone()),
                }
            }
        }
        self.stats.mutations += (out.len() - before) as u64;
    }

    /// Applies the updates held for the slot in progress (ordered stacks), as when its slot is
    /// complete; nothing to do for other stacks. Call it when the source ends or goes quiet.
    pub fn flush(&mut self, out: &mut Vec<Mutation>) {
        let before = out.len();
        self.complete_slot(out);
        self.stats.mutations += (out.len() - before) as u64;
    }

    /// Applies the held slot in canonical order.
    fn complete_slot(&mut self, out: &mut Vec<Mutation>) {
        let Some(buffer) = self.pending.take() else {
            return;
        };
        self.completed = Some(buffer.slot);
        let mut touches = Touches::default();
        let steps = buffer.into_steps();
        // Writes of no known transaction: their lookup entries (identities such as an
        // account's address → its id) count from the start of the slot, their values at their
        // place in the order.
        let unknown = self.decode_writes(steps.iter().filter_map(|s| match s {
            Step::Account {
                update,
                in_transaction: false,
            } => Some(update),
            _ => None,
        }));
        self.register_writes(&unknown);
        let mut unknown = unknown.into_iter().peekable();
        let mut i = 0;
        while i < steps.len() {
            match &steps[i] {
                Step::Transaction(tx) => {
                    touches.begin_transaction();
                    self.apply_transaction(tx, Some(&mut touches), out);
                    i += 1;
                }
                Step::Account {
                    update,
                    in_transaction: false,
                } => {
                    if let Some(decoded) = unknown.next_if(|(a, _)| std::ptr::eq(*a, update)) {
                        self.write_values(&[decoded], Some((&touches, false)), out);
                    }
                    i += 1;
                }
                Step::Account { .. } => {
                    // The writes of one transaction are applied together.
                    let start = i;
                    while matches!(
                        steps.get(i),
                        Some(Step::Account {
                            in_transaction: true,
                            ..
                        })
                    ) {
                        i += 1;
                    }
                    let decoded =
                        self.decode_writes(steps[start..i].iter().filter_map(|s| match s {
                            Step::Account { update, .. } => Some(update),
                            Step::Transaction(_) => None,
                        }));
                    self.register_writes(&decoded);
                    self.write_values(&decoded, Some((&touches, true)), out);
                }
            }
        }
    }

    /// Applies an update now. Without `touches` (stacks that are not ordered, late updates)
    /// `when` never holds.
    fn apply_now(&mut self, update: &RawUpdate, out: &mut Vec<Mutation>) {
        match update {
            RawUpdate::Account(a) => {
                let decoded = self.decode_writes(std::slice::from_ref(a));
                self.register_writes(&decoded);
                self.write_values(&decoded, None, out);
            }
            RawUpdate::Transaction(tx) => self.apply_transaction(tx, None, out),
        }
    }

    /// Decodes account writes of the stack's programs; errors are counted and reported.
    fn decode_writes<'w>(
        &mut self,
        writes: impl IntoIterator<Item = &'w AccountUpdate>,
    ) -> Vec<(&'w AccountUpdate, DecodedAccount)> {
        let mut decoded = Vec::new();
        for a in writes {
            match self.decoder.decode_account(a) {
                Ok(Some(d)) => decoded.push((a, d)),
                Ok(None) => {}
                Err(e) => {
                    self.stats.decode_errors += 1;
                    self.errors.report("account", &e);
                }
            }
        }
        decoded
    }

    fn write_ctx<'a>(
        a: &'a AccountUpdate,
        d: &'a DecodedAccount,
        touched: access::Touched<'a>,
    ) -> access::ItemCtx<'a> {
        access::ItemCtx {
            value: &d.value,
            address: Some(&a.pubkey),
            roles: &[],
            slot: a.slot,
            signature: a.txn_signature.as_ref(),
            touched: Some(touched),
        }
    }

    /// Registers the lookup entries of decoded writes.
    fn register_writes(&mut self, decoded: &[(&AccountUpdate, DecodedAccount)]) {
        let plan = Arc::clone(&self.plan);
        let never = |_: usize, _: usize| false;
        for (a, d) in decoded {
            let ctx = Self::write_ctx(a, d, &never);
            apply::register(self, &plan.accounts[d.program][d.account], &ctx);
        }
    }

    /// Applies the values of decoded writes. `touches`: which instructions named which
    /// accounts, and whether the writes follow their transaction (else: anywhere in the slot).
    fn write_values(
        &mut self,
        decoded: &[(&AccountUpdate, DecodedAccount)],
        touches: Option<(&Touches, bool)>,
        out: &mut Vec<Mutation>,
    ) {
        let plan = Arc::clone(&self.plan);
        for (a, d) in decoded {
            let touched = |program: usize, instruction: usize| {
                touches.is_some_and(|(t, in_tx)| t.touched(&a.pubkey, in_tx, program, instruction))
            };
            let ctx = Self::write_ctx(a, d, &touched);
            let seq = self.next_seq(a.slot);
            apply::values(
                self,
                &plan,
                &plan.accounts[d.program][d.account],
                &ctx,
                &seq,
                out,
            );
        }
    }

    fn apply_transaction(
        &mut self,
        tx: &TransactionUpdate,
        mut touches: Option<&mut Touches>,
        out: &mut Vec<Mutation>,
    ) {
        let plan = Arc::clone(&self.plan);
        let mut items = std::mem::take(&mut self.items);
        items.clear();
        let (errors, stats) = (&mut self.errors, &mut self.stats);
        self.decoder
            .decode_transaction(tx, &mut items, &mut |item, e| {
                stats.decode_errors += 1;
                errors.report(item, &e);
            });
        for it in &items {
            let seq = self.next_seq(tx.slot);
            let (value, roles, item) = match it {
                TxItem::Instruction(ix) => {
                    let item = &plan.instructions[ix.program][ix.instruction];
                    if let (true, Some(t)) = (item.touches, touches.as_deref_mut()) {
                        for account in ix.accounts.iter().flatten() {
                            t.record(*account, ix.program, ix.instruction);
                        }
                    }
                    (&ix.args, &ix.accounts[..], item)
                }
                TxItem::Event(ev) => (&ev.value, &[][..], &plan.events[ev.program][ev.event]),
            };
            let ctx = access::ItemCtx {
                value,
                address: None,
                roles,
                slot: tx.slot,
                signature: Some(&tx.signature),
                touched: None,
            };
            apply::item(self, &plan, item, &ctx, &seq, out);
        }
        self.items = items;
    }

    /// The current state of an entity as JSON (every field that has a value, including
    /// `emit = false` ones, sections nested); for tests and debugging.
    pub fn entity_json(&self, entity: &str, key: &str) -> Option<serde_json::Value> {
        let ei = self.plan.entities.iter().position(|e| &*e.name == entity)?;
        let plan = &self.plan.entities[ei];
        let (_, state) = self.tables[ei].iter().find(|(_, s)| &*s.key == key)?;
        let mut map = serde_json::Map::new();
        for (f, s) in plan.fields.iter().zip(&state.fields) {
            if *s != state::FieldState::Unset {
                apply::insert_at(&mut map, &f.name, s.to_json(apply::layout_of(f)));
            }
        }
        Some(serde_json::Value::Object(map))
    }

    /// Keys of the entities of `entity` in the state table.
    pub fn keys(&self, entity: &str) -> Vec<String> {
        self.plan
            .entities
            .iter()
            .position(|e| &*e.name == entity)
            .map(|ei| {
                self.tables[ei]
                    .iter()
                    .map(|(_, s)| s.key.to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}
