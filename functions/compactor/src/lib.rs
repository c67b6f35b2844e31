//! The compactor function: on a schedule, plans merges of adjacent small segments per partition
//! (and, with the compaction work, executes them and applies retention).

pub mod handler;
