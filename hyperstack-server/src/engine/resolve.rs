//! The resolvers' side of the engine: answers applied like any other input (committed with
//! the batch), and the transform's fetch requests handed to the resolvers' worker without
//! waiting (crate::resolve).

use tokio::time::Instant;

use super::{Batch, Engine, EngineError};
use crate::resolve::{Link, Resolution};

impl Engine {
    /// Applies a resolver's answer: every entity referencing its input changes.
    pub(super) fn apply_resolution(
        &mut self,
        resolution: &Resolution,
        batch: &mut Batch,
    ) -> Result<(), EngineError> {
        let Some(transformer) = self.transformer.as_mut() else {
            return Ok(());
        };
        let mut out = Vec::new();
        transformer.apply_resolution(resolution, &mut out);
        if let Some(e) = transformer.take_error() {
            return Err(e.into());
        }
        batch.opened.get_or_insert_with(Instant::now);
        batch.updates += 1;
        for m in &out {
            self.project(m, batch)?;
        }
        self.dispatch_resolve()
    }

    /// Hands the fetches the transform requested to the resolvers' worker.
    pub(super) fn dispatch_resolve(&mut self) -> Result<(), EngineError> {
        if let (Some(link), Some(t)) = (self.resolve.as_ref(), self.transformer.as_mut()) {
            link.dispatch(t.resolve_index())?;
        }
        Ok(())
    }
}

/// The next answer of the resolvers, if they run.
pub(super) async fn recv(link: &mut Option<Link>) -> Option<Resolution> {
    match link {
        Some(link) => link.recv().await,
        None => std::future::pending().await,
    }
}
