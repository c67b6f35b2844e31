//! What assign-based consumers need for committed offsets: FindCoordinator (this endpoint),
//! OffsetCommit and OffsetFetch, the offsets kept in the catalog ([`crate::catalog::Catalog::commit_offsets`]),
//! so they outlive the endpoint.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    FindCoordinatorRequest, FindCoordinatorResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::Shared;
use super::metadata::{NODE_ID, topic_partition};
use crate::catalog::{CatalogError, CommittedOffset};
use crate::types::{GroupId, TopicPartition};

/// The longest metadata string a commit may carry (Kafka's `offset.metadata.max.bytes`).
pub const MAX_OFFSET_METADATA_BYTES: usize = 4096;

/// FindCoordinator key type of consumer groups (1 is transactions, which a read-only broker has
/// none of).
const GROUP_KEY: i8 = 0;

pub(super) fn find_coordinator(
    shared: &Shared,
    req: &FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let response = FindCoordinatorResponse::default();
    if version >= 1 && req.key_type != GROUP_KEY {
        return response
            .with_error_code(ResponseError::CoordinatorNotAvailable.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "a read-only archive has no transaction coordinator",
            )))
            .with_node_id(kafka_protocol::messages::BrokerId(-1))
            .with_port(-1);
    }
    response
        .with_node_id(NODE_ID)
        .with_host(StrBytes::from_string(shared.config.advertised_host.clone()))
        .with_port(i32::from(shared.config.advertised_port))
}

/// The group a request names, or the error code saying why not.
fn group(id: &StrBytes) -> Result<GroupId, i16> {
    GroupId::try_from(id.to_string()).map_err(|_| ResponseError::InvalidGroupId.code())
}

/// The error code of a failed catalog call: retryable failures as the coordinator being
/// unavailable (clients retry those), others as the unknown server error.
fn catalog_code(e: &CatalogError) -> i16 {
    tracing::warn!(error = %e, "committed offsets: the catalog failed");
    if e.is_retryable() {
        ResponseError::CoordinatorNotAvailable.code()
    } else {
        ResponseError::UnknownServerError.code()
    }
}

/// One partition of a commit: its index, and the offset to record or the error answering it.
type PartitionCommit = (i32, Result<CommittedOffset, i16>);

pub(super) async fn offset_commit(
    shared: &Shared,
    req: &OffsetCommitRequest,
) -> OffsetCommitResponse {
    let group = group(&req.group_id.0);
    let catalog = shared.pipeline.catalog();
    let now = shared.pipeline.now_ms();
    let mut outcome: Vec<(TopicName, Vec<PartitionCommit>)> = Vec::new();
    for topic in &req.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let checked = match (&group, topic_partition(&topic.name, p.partition_index)) {
                (Err(code), _) => Err(*code),
                (_, None) => Err(ResponseError::UnknownTopicOrPartition.code()),
                (Ok(_), Some(tp)) => commit_of(catalog, tp, p, now).await,
            };
            partitions.push((p.partition_index, checked));
        }
        outcome.push((topic.name.clone(), partitions));
    }
    let offsets: Vec<CommittedOffset> = outcome
        .iter()
        .flat_map(|(_, ps)| ps.iter().filter_map(|(_, r)| r.as_ref().ok().cloned()))
        .collect();
    let failed = match (&group, offsets.is_empty()) {
        (Ok(group), false) => catalog
            .commit_offsets(group, &offsets)
            .await
            .err()
            .map(|e| catalog_code(&e)),
        _ => None,
    };
    let topics = outcome
        .into_iter()
        .map(|(name, partitions)| {
            OffsetCommitResponseTopic::default()
                .with_name(name)
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|(index, r)| {
                            let code = match r {
                                Ok(_) => failed.unwrap_or(0),
                                Err(code) => code,
                            };
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// The offset one partition of a commit records, if the partition is archived and the commit
/// within limits.
async fn commit_of(
    catalog: &dyn crate::catalog::Catalog,
    tp: TopicPartition,
    p: &kafka_protocol::messages::offset_commit_request::OffsetCommitRequestPartition,
    now: i64,
) -> Result<CommittedOffset, i16> {
    let metadata = p.committed_metadata.as_ref().map(|m| m.to_string());
    if metadata
        .as_ref()
        .is_some_and(|m| m.len() > MAX_OFFSET_METADATA_BYTES)
    {
        return Err(ResponseError::OffsetMetadataTooLarge.code());
    }
    match catalog.partition(&tp).await {
        Ok(Some(_)) => Ok(CommittedOffset {
            tp,
            offset: p.committed_offset,
            metadata,
            committed_at_ms: now,
        }),
        Ok(None) => Err(ResponseError::UnknownTopicOrPartition.code()),
        Err(e) => Err(catalog_code(&e)),
    }
}

pub(super) async fn offset_fetch(shared: &Shared, req: &OffsetFetchRequest) -> OffsetFetchResponse {
    let group = match group(&req.group_id.0) {
        Ok(g) => g,
        Err(code) => return OffsetFetchResponse::default().with_error_code(code),
    };
    let committed = match shared.pipeline.catalog().committed_offsets(&group).await {
        Ok(c) => c,
        Err(e) => return OffsetFetchResponse::default().with_error_code(catalog_code(&e)),
    };
    let mut by_tp: BTreeMap<(String, i32), &CommittedOffset> = BTreeMap::new();
    for c in &committed {
        let partition = i32::try_from(c.tp.partition.get()).unwrap_or(i32::MAX);
        by_tp.insert((c.tp.topic.to_string(), partition), c);
    }
    let partition = |index: i32, c: Option<&&CommittedOffset>| {
        OffsetFetchResponsePartition::default()
            .with_partition_index(index)
            .with_committed_offset(c.map_or(-1, |c| c.offset))
            .with_committed_leader_epoch(-1)
            .with_metadata(Some(StrBytes::from_string(
                c.and_then(|c| c.metadata.clone()).unwrap_or_default(),
            )))
    };
    let topics = match &req.topics {
        Some(topics) => topics
            .iter()
            .map(|t| {
                let name = t.name.0.to_string();
                OffsetFetchResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partition_indexes
                            .iter()
                            .map(|&i| partition(i, by_tp.get(&(name.clone(), i))))
                            .collect(),
                    )
            })
            .collect(),
        // No topics named: every offset the group committed.
        None => {
            let mut topics: BTreeMap<&str, Vec<OffsetFetchResponsePartition>> = BTreeMap::new();
            for ((topic, index), c) in &by_tp {
                topics
                    .entry(topic.as_str())
                    .or_default()
                    .push(partition(*index, Some(c)));
            }
            topics
                .into_iter()
                .map(|(name, partitions)| {
                    OffsetFetchResponseTopic::default()
                        .with_name(TopicName(StrBytes::from_string(name.to_owned())))
                        .with_partitions(partitions)
                })
                .collect()
        }
    };
    OffsetFetchResponse::default().with_topics(topics)
}
