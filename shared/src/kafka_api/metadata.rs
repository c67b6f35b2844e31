//! Metadata (the archived topics and partitions, this endpoint the only broker) and ListOffsets
//! (earliest, latest, by timestamp, max timestamp).

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::Shared;
use crate::catalog::PartitionInfo;
use crate::pipeline::{OffsetQuery, PipelineError};
use crate::types::{Partition, Topic, TopicPartition};

/// This endpoint's node id: the only broker, leader of every partition.
pub(super) const NODE_ID: BrokerId = BrokerId(0);

/// The cluster id clients see.
const CLUSTER_ID: &str = "chronik-tier";

/// How long Metadata answers from one listing of the catalog's partitions: a partition
/// archived for the first time is announced that much later.
pub(super) const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// A listing of the catalog's partitions, and when it was read.
#[derive(Debug)]
pub(super) struct Listing {
    read_at: tokio::time::Instant,
    partitions: std::sync::Arc<Vec<PartitionInfo>>,
}

/// The catalog's partitions, listed at most once per [`LISTING_TTL`] (concurrent requests wait
/// for one listing).
async fn partitions(shared: &Shared) -> Result<std::sync::Arc<Vec<PartitionInfo>>, PipelineError> {
    let mut listing = shared.listing.lock().await;
    if let Some(l) = listing.as_ref()
        && l.read_at.elapsed() < LISTING_TTL
    {
        return Ok(l.partitions.clone());
    }
    let read_at = tokio::time::Instant::now();
    let partitions = std::sync::Arc::new(shared.pipeline.catalog().partitions().await?);
    *listing = Some(Listing {
        read_at,
        partitions: partitions.clone(),
    });
    Ok(partitions)
}

/// ListOffsets' special timestamps.
const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// A Kafka error code for a pipeline error: unknown partitions and offsets out of range as Kafka
/// names them, invalid requests as such, everything else (storage) as the unknown server error.
pub(super) fn error_code(e: &PipelineError) -> i16 {
    match e {
        PipelineError::UnknownPartition(_) => ResponseError::UnknownTopicOrPartition.code(),
        PipelineError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange.code(),
        PipelineError::InvalidRequest(_) => ResponseError::InvalidRequest.code(),
        other => {
            tracing::warn!(error = %other, "a Kafka request failed");
            ResponseError::UnknownServerError.code()
        }
    }
}

/// The topic-partition a request names, if it can be archived (a valid name and partition).
pub(super) fn topic_partition(topic: &TopicName, partition: i32) -> Option<TopicPartition> {
    let topic = Topic::try_from(topic.0.to_string()).ok()?;
    let partition = Partition::try_from(i64::from(partition)).ok()?;
    Some(TopicPartition::new(topic, partition))
}

pub(super) async fn metadata(shared: &Shared, req: &MetadataRequest) -> MetadataResponse {
    let broker = MetadataResponseBroker::default()
        .with_node_id(NODE_ID)
        .with_host(StrBytes::from_string(shared.config.advertised_host.clone()))
        .with_port(i32::from(shared.config.advertised_port));
    let response = MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_cluster_id(Some(StrBytes::from_static_str(CLUSTER_ID)))
        .with_controller_id(NODE_ID)
        .with_cluster_authorized_operations(i32::MIN);
    let partitions = match partitions(shared).await {
        Ok(p) => p,
        Err(e) => {
            let code = error_code(&e);
            let topics = requested_names(req)
                .unwrap_or_default()
                .into_iter()
                .map(|name| topic_error(name, code))
                .collect();
            return response.with_topics(topics);
        }
    };
    let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for p in partitions.iter() {
        let partition = i32::try_from(p.tp.partition.get()).unwrap_or(i32::MAX);
        by_topic
            .entry(p.tp.topic.to_string())
            .or_default()
            .push(partition);
    }
    let names = requested_names(req).unwrap_or_else(|| {
        by_topic
            .keys()
            .map(|t| TopicName(StrBytes::from_string(t.clone())))
            .collect()
    });
    let topics = names
        .into_iter()
        .map(|name| match by_topic.get(name.0.as_str()) {
            Some(partitions) => MetadataResponseTopic::default()
                .with_name(Some(name))
                .with_topic_authorized_operations(i32::MIN)
                .with_partitions(
                    partitions
                        .iter()
                        .map(|&p| {
                            MetadataResponsePartition::default()
                                .with_partition_index(p)
                                .with_leader_id(NODE_ID)
                                // No leader epochs: clients then skip epoch validation.
                                .with_leader_epoch(-1)
                                .with_replica_nodes(vec![NODE_ID])
                                .with_isr_nodes(vec![NODE_ID])
                        })
                        .collect(),
                ),
            None => topic_error(name, ResponseError::UnknownTopicOrPartition.code()),
        })
        .collect();
    response.with_topics(topics)
}

/// The topics a Metadata request names; `None` for all.
fn requested_names(req: &MetadataRequest) -> Option<Vec<TopicName>> {
    let topics = req.topics.as_ref()?;
    Some(topics.iter().filter_map(|t| t.name.clone()).collect())
}

fn topic_error(name: TopicName, code: i16) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(Some(name))
        .with_error_code(code)
        .with_topic_authorized_operations(i32::MIN)
}

pub(super) async fn list_offsets(shared: &Shared, req: &ListOffsetsRequest) -> ListOffsetsResponse {
    let read_committed = req.isolation_level == 1;
    let mut topics = Vec::with_capacity(req.topics.len());
    for topic in &req.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let answer = ListOffsetsPartitionResponse::default()
                .with_partition_index(p.partition_index)
                .with_leader_epoch(-1);
            let Some(tp) = topic_partition(&topic.name, p.partition_index) else {
                partitions
                    .push(answer.with_error_code(ResponseError::UnknownTopicOrPartition.code()));
                continue;
            };
            partitions.push(
                match offset_for(shared, &tp, p.timestamp, read_committed).await {
                    Ok((offset, timestamp)) => answer.with_offset(offset).with_timestamp(timestamp),
                    Err(e) => answer
                        .with_error_code(error_code(&e))
                        .with_offset(-1)
                        .with_timestamp(-1),
                },
            );
        }
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions),
        );
    }
    ListOffsetsResponse::default().with_topics(topics)
}

/// `(offset, timestamp)` for a ListOffsets timestamp; `(-1, -1)` when no record is at or after
/// it. Latest is the high watermark, or under read_committed the last stable offset.
async fn offset_for(
    shared: &Shared,
    tp: &TopicPartition,
    timestamp: i64,
    read_committed: bool,
) -> Result<(i64, i64), PipelineError> {
    let pipeline = &shared.pipeline;
    let query = match timestamp {
        EARLIEST => OffsetQuery::Earliest,
        LATEST if read_committed => {
            let txns = pipeline.transactions(tp).await?;
            return Ok((txns.last_stable_offset, -1));
        }
        LATEST => OffsetQuery::Latest,
        MAX_TIMESTAMP => {
            let info = pipeline.partition_info(tp).await?;
            OffsetQuery::Timestamp(info.max_timestamp)
        }
        t if t >= 0 => OffsetQuery::Timestamp(t),
        t => {
            return Err(PipelineError::InvalidRequest(format!(
                "timestamp {t} is neither a time nor -1, -2, -3"
            )));
        }
    };
    let found = pipeline.offsets(tp, query).await?;
    match found.offset {
        // A read_committed consumer is told of no offset it may not read yet.
        Some(offset) if read_committed => {
            let txns = pipeline.transactions(tp).await?;
            if offset >= txns.last_stable_offset {
                return Ok((-1, -1));
            }
            Ok((offset, found.timestamp.unwrap_or(-1)))
        }
        Some(offset) => Ok((offset, found.timestamp.unwrap_or(-1))),
        None => Ok((-1, -1)),
    }
}
