//! A read-only Kafka broker over the archive (`tierctl serve-kafka`): Kafka consumers read tiered
//! partitions with the clients they already have, with no broker cluster.
//!
//! - `mod.rs`: [`KafkaApiConfig`] and [`serve`]: the listener, the connection limit, shutdown;
//! - `conn.rs`: one connection: frames (size-capped), the request header, dispatch, idle timeout;
//! - `versions.rs`: the APIs and versions served (what ApiVersions answers);
//! - `metadata.rs`: Metadata and ListOffsets; `fetch.rs`: Fetch; `groups.rs`: FindCoordinator,
//!   OffsetCommit and OffsetFetch (committed offsets kept in the catalog);
//! - `refuse.rs`: Produce and the other writes, and group membership, answered with an error.
//!
//! Requests and responses are encoded by the `kafka-protocol` crate; records are the archive's
//! original batches, passed through as bytes (never decoded or re-encoded here).

mod conn;
mod fetch;
mod groups;
mod metadata;
mod refuse;
#[cfg(test)]
mod tests;
mod versions;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::pipeline::Pipeline;

pub use bytes::Bytes;
pub use conn::{DecodedRequest, decode_request};
pub use versions::SUPPORTED_APIS;

/// How the endpoint serves.
#[derive(Debug, Clone)]
pub struct KafkaApiConfig {
    /// The host clients are told to connect to (Metadata, FindCoordinator).
    pub advertised_host: String,
    /// The port clients are told to connect to.
    pub advertised_port: u16,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// A connection with no request for this long is closed (Kafka's `connections.max.idle.ms`).
    pub idle_timeout: Duration,
    /// The largest request frame read; a larger one closes the connection before it is read.
    pub max_request_bytes: usize,
    /// The most record bytes one Fetch response carries (one batch more than that if the first
    /// batch alone is larger, as Kafka does, so a consumer always progresses).
    pub max_fetch_bytes: usize,
    /// The longest a Fetch waits for data when there is none yet (a request asking for longer
    /// waits this long).
    pub max_wait: Duration,
    /// How long shutdown lets requests in progress finish.
    pub shutdown_grace: Duration,
}

impl KafkaApiConfig {
    /// Defaults for a listener on `host:port`.
    pub fn new(advertised_host: impl Into<String>, advertised_port: u16) -> Self {
        KafkaApiConfig {
            advertised_host: advertised_host.into(),
            advertised_port,
            max_connections: 256,
            idle_timeout: Duration::from_secs(540),
            max_request_bytes: 4 << 20,
            max_fetch_bytes: 16 << 20,
            max_wait: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// What every connection shares.
#[derive(Debug)]
struct Shared {
    pipeline: Pipeline,
    config: KafkaApiConfig,
    /// The catalog's partition listing, kept for [`metadata::LISTING_TTL`]: clients ask for
    /// Metadata often, and listing a DynamoDB catalog reads its whole table.
    listing: tokio::sync::Mutex<Option<metadata::Listing>>,
}

/// Serves Kafka clients on `listener` until `shutdown` completes: then stops accepting, lets each
/// connection finish the request it is answering (for at most
/// [`KafkaApiConfig::shutdown_grace`]) and closes them. Memory per connection is bounded by the
/// request and fetch limits; at most [`KafkaApiConfig::max_connections`] are served at once.
pub async fn serve(
    listener: TcpListener,
    pipeline: Pipeline,
    config: KafkaApiConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        pipeline,
        config,
        listing: tokio::sync::Mutex::new(None),
    });
    let permits = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (shared, stop) = (shared.clone(), stop_rx.clone());
        connections.spawn(async move {
            let _permit = permit;
            if let Err(e) = conn::Connection::new(stream, shared, stop).run().await {
                tracing::debug!(%peer, error = %e, "connection closed");
            }
        });
        while connections.try_join_next().is_some() {}
    }
    let _ = stop_tx.send(true);
    let grace = shared.config.shutdown_grace;
    if tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        connections.abort_all();
    }
    Ok(())
}
