//! Pipeline integration tests on the embedded backends and (feature `aws`) S3 + DynamoDB on the
//! local stack, checked against brute-force oracles built from the generated batches; one test
//! binary, one module per stage, plus the model test.

mod chronik;
mod equivalence;
mod ingest;
mod maintain;
mod model;
mod races;
mod read;
mod rebuild;
mod segment_cache;
mod support;
mod txns;
