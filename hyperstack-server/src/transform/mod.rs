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
mod persist;
mod plan;
mod resolved;
mod state;
mod state_codec;
mod unresolved;
mod versions;

use std::collections::HashSet;
use std::sync::Arc;

use crate::config::{StateTableConfig, UnresolvedConfig};
use crate::decode::{DecodeError, DecodedAccount, StackDecoder, TxItem};
use crate::metrics::Metrics;
use crate::mutation::Mutation;
use crate::source::{AccountUpdate, Pubkey, RawUpdate, TransactionUpdate};
use crate::spec::Stack;
use crate::store::hot::{HotStats, HotTable};
use crate::store::{DataLocation, Identity, Store, StoreConfig, StoreError};
use persist::{Dedup, Progress};

pub use plan::PlanError;

/// Why a transformer cannot open over a store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// The stack cannot be compiled.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The stored state cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

use order::{SlotBuffer, Step, Touches};
use plan::Plan;
use state::EntityState;

/// An entity key value, as a hashable typed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum KeyVal {
    Pubkey(Pubkey),
    Int(i128),
    Str(Box<str>),
}

/// The store key of an entity's state: the entity type's index and the key's typed bytes
/// (no rendering to text on the hot path).
fn state_key(entity: usize, key: &KeyVal) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + 33);
    k.extend_from_slice(&crate::store::entity_prefix(
        u16::try_from(entity).unwrap_or(u16::MAX),
    ));
    key.write_key_bytes(&mut k);
    k
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
    /// Bindings skipped because their key was null.
    pub unresolved_keys: u64,
    /// Bindings queued because their lookup entry was not registered yet.
    pub queued: u64,
    /// Queued bindings dropped (too old, or over a bound of the queue).
    pub unresolved_dropped: u64,
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
    /// Per entity type (keyed by [`entity_key`] of the rendered key).
    tables: Vec<HotTable<EntityState>>,
    /// Per entity type: its lookup indexes.
    lookups: Vec<lookup::Indexes>,
    dedup: Dedup,
    /// The entity type whose states hold the applied versions of their own accounts
    /// (versions.rs).
    version_holder: Option<usize>,
    unresolved: unresolved::Unresolved,
    seq: (u64, u64),
    store: Store,
    /// The first store error met while applying (the engine stops on it).
    error: Option<StoreError>,
    errors: ErrorReporter,
    items: Vec<TxItem>,
    stats: TransformStats,
    /// Ordered stacks: the updates of the slot in progress.
    pending: Option<SlotBuffer>,
    /// Ordered stacks: the last completed slot, to tell late updates.
    completed: Option<u64>,
    /// Resolver fields: their references, the values known, the fetches to request.
    resolve: crate::resolve::Index,
}

impl Transformer {
    /// Compiles `stack` over a temporary store of its own (complete, not durable); memory
    /// bounded by `config`.
    ///
    /// # Panics
    ///
    /// When no temporary directory can be created for the store.
    pub fn new(stack: &Stack, config: StateTableConfig) -> Result<Transformer, PlanError> {
        let store_config = StoreConfig {
            location: DataLocation::Temporary,
            ..StoreConfig::default()
        };
        let identity = Identity {
            stack_name: stack.name.clone(),
            fingerprint: String::from("temporary"),
        };
        #[allow(clippy::expect_used)]
        let (store, _) = Store::open(&store_config, &identity).expect("a temporary state store");
        let t = Transformer::open(
            stack,
            config,
            UnresolvedConfig::default(),
            store,
            Arc::new(HotStats::default()),
        )
        .map_err(|e| match e {
            OpenError::Plan(p) => p,
            OpenError::Store(s) => panic!("a new temporary store reads back: {s}"),
        })?;
        Ok(t)
    }

    /// Compiles `stack` over `store`, continuing the state it holds. Memory holds at most
    /// `config.max_entries` entity states, lookup entries and account versions of each kind.
    pub(crate) fn open(
        stack: &Stack,
        config: StateTableConfig,
        unresolved: UnresolvedConfig,
        store: Store,
        stats: Arc<HotStats>,
    ) -> Result<Transformer, OpenError> {
        let plan = Plan::compile(stack, config.max_array_length)?;
        let cap = config.max_entries.max(1);
        let tables = plan
            .entities
            .iter()
            .map(|_| HotTable::new(store.states.clone(), cap, stats.clone()))
            .collect();
        let lookups = plan
            .entities
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let entity = u16::try_from(i).unwrap_or(u16::MAX);
                lookup::Indexes::open(&store, entity, e.lookups, cap, &stats)
            })
            .collect();
        let progress = Progress::load(&store)?;
        Ok(Transformer {
            decoder: StackDecoder::new(stack),
            version_holder: versions::holder(&plan),
            plan: Arc::new(plan),
            tables,
            lookups,
            dedup: Dedup::open(&store, cap, stats)?,
            unresolved: unresolved::Unresolved::open(&store, unresolved)?,
            seq: progress.seq,
            resolve: crate::resolve::Index::open(&store),
            store,
            error: None,
            errors: ErrorReporter::default(),
            items: Vec::new(),
            stats: TransformStats::default(),
            pending: None,
            completed: progress.completed,
        })
    }

    /// Writes the state changed since the last commit into `batch`.
    pub(crate) fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        for t in &mut self.tables {
            t.write_into(batch);
        }
        for l in &mut self.lookups {
            l.write_into(batch);
        }
        self.dedup.write_into(batch);
        self.unresolved.write_into(batch);
        self.resolve.write_into(batch);
        if let Some(m) = &self.errors.metrics {
            m.set_unresolved_waiting(self.unresolved.len());
        }
        let progress = Progress {
            seq: self.seq,
            completed: self.completed,
        };
        progress.write_into(&self.store, batch);
    }

    /// Commits the state changed so far (the engine batches this with the projection's;
    /// this stand-alone form is for tests and tools).
    pub fn commit(&mut self) -> Result<(), StoreError> {
        let mut batch = self.store.batch();
        self.write_into(&mut batch);
        self.store.commit(batch)
    }

    /// Records held in memory (entity states, lookup entries, account versions, recent
    /// transaction signatures); the store holds all of them.
    pub fn resident(&self) -> usize {
        self.tables.iter().map(HotTable::resident).sum::<usize>()
            + self
                .lookups
                .iter()
                .map(lookup::Indexes::resident)
                .sum::<usize>()
            + self.dedup.resident()
            + self.resolve.resident()
    }

    /// The resolver state (references, values, requests).
    pub(crate) fn resolve_index(&mut self) -> &mut crate::resolve::Index {
        &mut self.resolve
    }

    /// The largest hot set of each kind of record: entity states (per entity type), lookup
    /// entries (per index), account versions; and the transaction signatures remembered.
    pub(crate) fn hot_sets(&self) -> [(&'static str, usize); 4] {
        [
            (
                "states",
                self.tables
                    .iter()
                    .map(HotTable::resident)
                    .max()
                    .unwrap_or(0),
            ),
            (
                "lookups",
                self.lookups
                    .iter()
                    .map(lookup::Indexes::largest)
                    .max()
                    .unwrap_or(0),
            ),
            ("accounts", self.dedup.accounts_resident()),
            ("signatures", self.dedup.signatures_resident()),
        ]
    }

    /// The first store error met while applying, if any (the state store failed: ingestion
    /// must stop).
    pub(crate) fn take_error(&mut self) -> Option<StoreError> {
        self.error.take()
    }

    /// Keeps the first store error; the caller sees the item as missing.
    fn store_failed(&mut self, e: StoreError) {
        if self.error.is_none() {
            tracing::error!(error = %e, "the state store failed");
            self.error = Some(e);
        }
    }

    /// The state of entity `key` of entity type `entity`, created (every field unset) when
    /// new.
    pub(crate) fn state_mut(&mut self, entity: usize, key: &KeyVal) -> Option<&mut EntityState> {
        let n = self.plan.entities.get(entity)?.fields.len();
        let store_key = state_key(entity, key);
        let table = self.tables.get_mut(entity)?;
        match table.contains(&store_key) {
            Ok(true) => {}
            Ok(false) => table.insert(&store_key, EntityState::new(key.render(), n)),
            Err(e) => {
                self.store_failed(e);
                return None;
            }
        }
        // `contains` loaded the record: this finds it in memory and cannot fail.
        self.tables
            .get_mut(entity)?
            .get_mut(&store_key)
            .ok()
            .flatten()
    }

    /// Where `value` of lookup `lookup` of entity type `entity` leads.
    pub(crate) fn resolve_lookup(
        &mut self,
        entity: usize,
        lookup: usize,
        value: &KeyVal,
    ) -> Option<lookup::Resolution> {
        match self.lookups.get_mut(entity)?.follow(lookup, value) {
            Ok(r) => r,
            Err(e) => {
                self.store_failed(e);
                None
            }
        }
    }

    /// Queues a binding whose lookup entry is missing; counts what the queue's bounds drop.
    pub(crate) fn queue_unresolved(
        &mut self,
        entity: usize,
        lookup: usize,
        value: &KeyVal,
        queued: unresolved::Queued,
    ) {
        self.stats.queued += 1;
        for reason in self.unresolved.push(entity, lookup, value, queued) {
            self.unresolved_dropped(reason, 1);
        }
    }

    fn unresolved_dropped(&mut self, reason: unresolved::DropReason, n: u64) {
        self.stats.unresolved_dropped += n;
        if let Some(m) = &self.errors.metrics {
            m.unresolved_dropped(reason.label(), n);
        }
        let label = reason.label();
        if self.errors.logged.insert(format!("unresolved_{label}")) {
            tracing::warn!(reason = label, "an item waiting for its lookup was dropped (further drops are counted in hyperstack_unresolved_dropped_total)");
        }
    }

    /// Drops the waiting items too old at `slot`.
    fn expire_unresolved(&mut self, slot: u64) {
        let n = self.unresolved.expire(slot);
        if n > 0 {
            self.unresolved_dropped(unresolved::DropReason::Expired, n as u64);
        }
    }

    /// Registers a lookup entry.
    pub(crate) fn link_lookup(
        &mut self,
        entity: usize,
        lookup: usize,
        value: &KeyVal,
        target: lookup::Target,
    ) {
        if let Some(ix) = self.lookups.get_mut(entity) {
            ix.link(lookup, value, target);
        }
        self.unresolved.linked(entity, lookup, value);
    }

    /// Marks `update` applied; `false` when it was applied before (a duplicate).
    fn admit(&mut self, update: &RawUpdate) -> bool {
        let admitted = match update {
            RawUpdate::Account(a) => self.admit_account(a),
            RawUpdate::Transaction(t) => Ok(self.dedup.admit_transaction(t)),
        };
        match admitted {
            Ok(new) => {
                if !new {
                    self.stats.duplicates += 1;
                }
                new
            }
            Err(e) => {
                self.store_failed(e);
                false
            }
        }
    }

    /// Counts decode errors (`<item>_<kind>`, e.g. `account_truncated`) and ingested events
    /// in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Transformer {
        self.errors.metrics = Some(metrics);
        self
    }

    /// `(program, account type)` of every account type the stack reads (indices into
    /// [`Transformer::decoder`]): what a bootstrap asks the RPC endpoint for.
    pub(crate) fn account_sources(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (program, items) in self.plan.accounts.iter().enumerate() {
            for (account, item) in items.iter().enumerate() {
                if !(item.lookups.is_empty() && item.fields.is_empty() && item.stops.is_empty()) {
                    out.push((program, account));
                }
            }
        }
        out
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

    /// The slot whose updates are held, if any.
    pub fn held_slot(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.slot)
    }

    pub(crate) fn next_seq(&mut self, slot: u64) -> String {
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
        // Drop what was applied before right away; an update is marked applied when it is
        // (ordered stacks hold a slot's updates first), so a restart re-applies held ones.
        let new = match update {
            RawUpdate::Account(a) => self.account_is_new(a),
            RawUpdate::Transaction(t) => Ok(self.dedup.is_new_transaction(t)),
        };
        match new {
            Ok(true) => {}
            Ok(false) => {
                self.stats.duplicates += 1;
                return;
            }
            Err(e) => {
                self.store_failed(e);
                return;
            }
        }
        self.stats.updates += 1;
        self.expire_unresolved(update.slot());
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
        let mut steps = buffer.into_steps();
        // Mark the slot's updates applied (all of them are, by the end of this call); drop
        // the ones applied before or held twice.
        let mut dedup_failed = None;
        steps.retain(|step| {
            let admitted = match step {
                Step::Transaction(t) => Ok(self.dedup.admit_transaction(t)),
                Step::Account { update, .. } => self.admit_account(update),
            };
            match admitted {
                Ok(true) => true,
                Ok(false) => {
                    self.stats.duplicates += 1;
                    false
                }
                Err(e) => {
                    dedup_failed.get_or_insert(e);
                    false
                }
            }
        });
        if let Some(e) = dedup_failed {
            self.store_failed(e);
            return;
        }
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
        if !self.admit(update) {
            return;
        }
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
            apply::apply_ready(self, &plan, a.slot, out);
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
    pub fn entity_json(&mut self, entity: &str, key: &str) -> Option<serde_json::Value> {
        let ei = self.plan.entities.iter().position(|e| &*e.name == entity)?;
        let plan = Arc::clone(&self.plan);
        let plan = &plan.entities[ei];
        // The key as clients see it: an address, a number or a string.
        let candidates = [
            key.parse::<Pubkey>().ok().map(KeyVal::Pubkey),
            key.parse::<i128>().ok().map(KeyVal::Int),
            Some(KeyVal::Str(key.into())),
        ];
        let store_key = candidates
            .into_iter()
            .flatten()
            .map(|k| state_key(ei, &k))
            .find(|k| matches!(self.tables[ei].contains(k), Ok(true)))?;
        let state = self.tables[ei].get(&store_key).ok()??;
        let mut map = serde_json::Map::new();
        for (f, s) in plan.fields.iter().zip(&state.fields) {
            if *s != state::FieldState::Unset {
                apply::insert_at(&mut map, &f.name, s.to_json(apply::layout_of(f)));
            }
        }
        Some(serde_json::Value::Object(map))
    }

    /// Keys of the entities of `entity` (commits first, then reads the store).
    pub fn keys(&mut self, entity: &str) -> Vec<String> {
        let Some(ei) = self.plan.entities.iter().position(|e| &*e.name == entity) else {
            return Vec::new();
        };
        if let Err(e) = self.commit() {
            self.store_failed(e);
            return Vec::new();
        }
        let prefix = crate::store::entity_prefix(u16::try_from(ei).unwrap_or(u16::MAX));
        self.store
            .states
            .prefix(prefix)
            .filter_map(|item| item.value().ok())
            .filter_map(|v| <EntityState as crate::store::hot::Record>::decode(&v).ok())
            .map(|s| s.key.to_string())
            .collect()
    }
}
