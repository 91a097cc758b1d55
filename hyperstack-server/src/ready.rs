//! Readiness beyond the stream's health: `/ready` answers 503 while the state store opens,
//! while ingestion catches up after a restart, and for good once ingestion halted (the state
//! store cannot be written: a full disk), with the reason.

use std::sync::Mutex;

/// How ingestion catches up before the server counts as ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CatchUp {
    /// Nothing to catch up (no source, or a first start of a replay).
    Nothing,
    /// A replay resuming after its checkpoint: ready once the first update after it is
    /// applied (or the replay turns out to be finished).
    Replay {
        /// Updates already applied before the restart.
        position: u64,
    },
    /// A live stream: ready while ingestion is within `max_lag` slots of the upstream's
    /// latest slot.
    Live {
        /// Slots behind the upstream's latest one that still count as ready.
        max_lag: u64,
    },
}

#[derive(Debug)]
enum Gate {
    Opening,
    Replaying {
        position: u64,
    },
    Live {
        max_lag: u64,
        applied: Option<u64>,
        tip: Option<u64>,
    },
    Ready,
    /// Ingestion stopped for good (the store cannot be written); nothing leaves this state.
    Halted(String),
}

/// What the engine reports to `/ready`. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Readiness {
    gate: Mutex<Gate>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            gate: Mutex::new(Gate::Opening),
        }
    }
}

impl Readiness {
    /// Not ready: the state store is opening.
    pub fn new() -> Readiness {
        Readiness::default()
    }

    /// Ready as far as this gate goes (nothing to open or catch up): for servers built
    /// without a state store of their own, and tests.
    pub fn ready() -> Readiness {
        Readiness {
            gate: Mutex::new(Gate::Ready),
        }
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        // Every update is one assignment: a poisoned lock still holds a consistent value.
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The store is open; ingestion catches up as `catch_up` says.
    pub(crate) fn opened(&self, catch_up: CatchUp) {
        let mut gate = self.gate();
        if matches!(*gate, Gate::Halted(_)) {
            return;
        }
        *gate = match catch_up {
            CatchUp::Nothing => Gate::Ready,
            CatchUp::Replay { position } => Gate::Replaying { position },
            CatchUp::Live { max_lag } => Gate::Live {
                max_lag,
                applied: None,
                tip: None,
            },
        };
    }

    /// Ingestion applied (and committed) updates up to `slot`; the upstream's latest slot is
    /// `tip`, when known.
    pub(crate) fn progress(&self, slot: Option<u64>, tip: Option<u64>) {
        let mut gate = self.gate();
        match &mut *gate {
            Gate::Replaying { .. } => *gate = Gate::Ready,
            Gate::Live {
                applied, tip: t, ..
            } => {
                *applied = slot.or(*applied);
                *t = tip.or(*t);
            }
            Gate::Opening | Gate::Ready | Gate::Halted(_) => {}
        }
    }

    /// Ingestion stopped for good because of `reason`: not ready from now on, whatever
    /// happens next.
    pub(crate) fn halted(&self, reason: String) {
        *self.gate() = Gate::Halted(reason);
    }

    /// The source ended (a finished replay): nothing is left to catch up.
    pub(crate) fn source_ended(&self) {
        let mut gate = self.gate();
        if matches!(*gate, Gate::Replaying { .. }) {
            *gate = Gate::Ready;
        }
    }

    /// Why the server is not ready, or `None` when it is (as far as this gate goes).
    pub fn reason(&self) -> Option<String> {
        match &*self.gate() {
            Gate::Opening => Some("state store opening".into()),
            Gate::Replaying { position } => Some(format!(
                "catching up: resuming the replay after the {position} updates already applied"
            )),
            Gate::Live {
                max_lag,
                applied,
                tip,
            } => match (applied, tip) {
                (Some(a), Some(t)) if a.saturating_add(*max_lag) >= *t => None,
                (Some(a), Some(t)) => Some(format!(
                    "catching up: at slot {a}, {} behind the upstream's slot {t} (ready within {max_lag})",
                    t - a
                )),
                (None, _) => Some("catching up: no update applied yet".into()),
                (Some(_), None) => None,
            },
            Gate::Ready => None,
            Gate::Halted(reason) => Some(format!("ingestion stopped: {reason}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_then_catching_up_then_ready() {
        let r = Readiness::new();
        assert_eq!(r.reason().as_deref(), Some("state store opening"));
        r.opened(CatchUp::Replay { position: 7 });
        assert!(r.reason().unwrap().contains("7 updates"));
        r.progress(Some(9), None);
        assert_eq!(r.reason(), None);

        let live = Readiness::new();
        live.opened(CatchUp::Live { max_lag: 10 });
        assert!(live.reason().unwrap().contains("no update"));
        live.progress(Some(100), Some(150));
        assert!(live.reason().unwrap().contains("50 behind"));
        live.progress(Some(140), None);
        assert_eq!(live.reason(), None, "within 10 of 150");
        live.progress(None, Some(200));
        assert!(live.reason().is_some(), "falling behind again is reported");

        let done = Readiness::new();
        done.opened(CatchUp::Replay { position: 3 });
        done.source_ended();
        assert_eq!(done.reason(), None);
        let none = Readiness::new();
        none.opened(CatchUp::Nothing);
        assert_eq!(none.reason(), None);
    }

    #[test]
    fn halted_is_final() {
        let r = Readiness::new();
        r.opened(CatchUp::Replay { position: 2 });
        r.halted("state store: no space left on device".into());
        r.progress(Some(5), Some(5));
        r.source_ended();
        r.opened(CatchUp::Nothing);
        assert_eq!(
            r.reason().as_deref(),
            Some("ingestion stopped: state store: no space left on device")
        );
    }
}
