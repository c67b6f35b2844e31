//! The fetch function: an API Gateway HTTP API (payload v2) over the pipeline's fetch, offsets,
//! search and listings. See `docs/openapi.yaml`.

pub mod handler;
pub mod response;
pub mod routes;
