//! Requests a read-only archive refuses, each answered with an error naming why: Produce and the
//! other writes, and consumer-group membership (consumers assign partitions themselves; committed
//! offsets work without membership). The one exception is a Produce with `acks = 0`, which
//! expects no response: its connection is closed, as Kafka closes it when such a write fails.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsResponse, DeleteRecordsResponse, DeleteTopicsResponse, HeartbeatResponse,
    InitProducerIdResponse, JoinGroupResponse, LeaveGroupResponse, ProduceResponse, RequestKind,
    ResponseKind, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;

/// Why writes are refused, in responses that carry a message.
const READ_ONLY: &str =
    "tierctl serve-kafka is read-only: it serves archived data and takes no writes";

/// Why group membership is refused.
const NO_MEMBERSHIP: &str = "tierctl serve-kafka does not run consumer groups: assign partitions \
                             (offsets can still be committed and fetched)";

fn message(text: &'static str) -> Option<StrBytes> {
    Some(StrBytes::from_static_str(text))
}

/// The error response to a refused request; `None` for a Produce with `acks = 0`, which Kafka
/// answers with no response at all (the connection is closed instead).
pub(super) fn refuse(api: ApiKey, request: RequestKind) -> Option<ResponseKind> {
    let invalid = ResponseError::InvalidRequest.code();
    tracing::info!(?api, "refused: {}", READ_ONLY);
    Some(match request {
        RequestKind::Produce(r) => {
            if r.acks == 0 {
                return None;
            }
            ResponseKind::Produce(
                ProduceResponse::default().with_responses(
                    r.topic_data
                        .iter()
                        .map(|t| {
                            TopicProduceResponse::default()
                                .with_name(t.name.clone())
                                .with_partition_responses(
                                    t.partition_data
                                        .iter()
                                        .map(|p| {
                                            PartitionProduceResponse::default()
                                                .with_index(p.index)
                                                .with_error_code(invalid)
                                                .with_base_offset(-1)
                                                .with_log_append_time_ms(-1)
                                                .with_log_start_offset(-1)
                                                .with_error_message(message(READ_ONLY))
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                ),
            )
        }
        RequestKind::JoinGroup(_) => {
            tracing::info!("refused JoinGroup: {NO_MEMBERSHIP}");
            ResponseKind::JoinGroup(
                JoinGroupResponse::default()
                    .with_error_code(invalid)
                    .with_generation_id(-1),
            )
        }
        RequestKind::SyncGroup(_) => {
            ResponseKind::SyncGroup(SyncGroupResponse::default().with_error_code(invalid))
        }
        RequestKind::Heartbeat(_) => {
            ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(invalid))
        }
        RequestKind::LeaveGroup(_) => {
            ResponseKind::LeaveGroup(LeaveGroupResponse::default().with_error_code(invalid))
        }
        RequestKind::InitProducerId(_) => ResponseKind::InitProducerId(
            InitProducerIdResponse::default()
                .with_error_code(invalid)
                .with_producer_id(kafka_protocol::messages::ProducerId(-1))
                .with_producer_epoch(-1),
        ),
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(
            CreateTopicsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        CreatableTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(invalid)
                            .with_error_message(message(READ_ONLY))
                            .with_num_partitions(-1)
                            .with_replication_factor(-1)
                    })
                    .collect(),
            ),
        ),
        RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(
            DeleteTopicsResponse::default().with_responses(
                r.topic_names
                    .iter()
                    .map(|name| {
                        DeletableTopicResult::default()
                            .with_name(Some(name.clone()))
                            .with_error_code(invalid)
                            .with_error_message(message(READ_ONLY))
                    })
                    .collect(),
            ),
        ),
        RequestKind::DeleteRecords(r) => ResponseKind::DeleteRecords(
            DeleteRecordsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        DeleteRecordsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        DeleteRecordsPartitionResult::default()
                                            .with_partition_index(p.partition_index)
                                            .with_low_watermark(-1)
                                            .with_error_code(invalid)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        other => {
            tracing::warn!(?api, "no refusal written for {other:?}");
            return None;
        }
    })
}
