//! Bounded fan-out of independent reads (the per-partition and per-segment lookups of `register`).

use std::future::Future;

use tokio::task::JoinSet;

use crate::catalog::{CatalogError, CatalogResult};

/// Requests in flight at once.
pub(super) const MAX_IN_FLIGHT: usize = 16;

/// Runs `f` on every input, at most [`MAX_IN_FLIGHT`] at a time, and returns the results in input
/// order; the first error wins (remaining tasks are cancelled).
pub(super) async fn in_order<I, T, F, Fut>(inputs: Vec<I>, f: F) -> CatalogResult<Vec<T>>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = CatalogResult<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut results: Vec<Option<T>> = inputs.iter().map(|_| None).collect();
    let mut tasks = JoinSet::new();
    for (i, input) in inputs.into_iter().enumerate() {
        if tasks.len() >= MAX_IN_FLIGHT {
            join_one(&mut tasks, &mut results).await?;
        }
        let task = f(input);
        tasks.spawn(async move { (i, task.await) });
    }
    while !tasks.is_empty() {
        join_one(&mut tasks, &mut results).await?;
    }
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| CatalogError::backend("a lookup task produced no result")))
        .collect()
}

async fn join_one<T: 'static>(
    tasks: &mut JoinSet<(usize, CatalogResult<T>)>,
    results: &mut [Option<T>],
) -> CatalogResult<()> {
    match tasks.join_next().await {
        Some(Ok((i, result))) => {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(result?);
            }
            Ok(())
        }
        Some(Err(e)) => Err(CatalogError::backend(format!("lookup task failed: {e}"))),
        None => Ok(()),
    }
}
