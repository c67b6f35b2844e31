//! Tests of the index module. `fixture` builds records and a brute-force oracle; the other
//! files assert index results against it.

mod errors;
mod files;
mod fixture;
mod measure;
mod merge;
mod policy;
mod prop;
mod schema;
mod search;
mod verify;
