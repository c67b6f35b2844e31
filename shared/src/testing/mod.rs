//! Test support (feature `testsuite`, always on in this crate's own tests): every test double and
//! fixture the crate's tests, the integration tests in `shared/tests/` and downstream crates' tests
//! share. Nothing here is part of the production API.
//!
//! - `faults.rs`: a store and a catalog that fail a chosen write (crash, crash after the write, lost
//!   response) and run another process's work at a chosen point of a call;
//! - [`FixedClock`]: time that does not move; [`ManualClock`]: time that moves when told;
//! - `store_suite.rs`, `catalog_suite.rs`: the conformance suites every backend runs
//!   (`object_store_test_suite!`, `catalog_test_suite!`), and catalog entry fixtures;
//! - [`TxnLog`]: a partition's log of transactional batches and markers, for the transaction
//!   index's tests;
//! - `local_stack.rs`, `s3.rs`, `dynamo.rs` (feature `aws`): clients for the local AWS stack
//!   (moto), fresh buckets and tables, request counters.

pub mod catalog_suite;
pub mod faults;
pub mod store_suite;

#[cfg(feature = "aws")]
pub mod dynamo;
#[cfg(feature = "aws")]
pub mod local_stack;
#[cfg(feature = "aws")]
pub mod s3;

mod txn_log;

pub use faults::{Fault, FaultKind, FaultyCatalog, FaultyStore, Fuse, Interleaved, When};
pub use txn_log::TxnLog;

use crate::clock::Clock;

/// A clock that always reads the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// A clock that moves only when a test tells it to; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl ManualClock {
    /// A clock reading `now_ms`.
    pub fn at(now_ms: i64) -> Self {
        ManualClock(std::sync::Arc::new(std::sync::atomic::AtomicI64::new(
            now_ms,
        )))
    }

    /// Moves the clock `ms` forward.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
