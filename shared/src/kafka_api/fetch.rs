//! Fetch: each partition's original batches from the archive, within the request's and the
//! partition's byte limits (the first batch of a response always, as Kafka does, so a consumer
//! progresses), the high watermark, the last stable offset and, under read_committed, only data
//! below it and the aborted transactions the batches overlap. With nothing to return yet it waits
//! up to `max_wait_ms` (capped) for segments to be indexed.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId};

use super::Shared;
use super::metadata::{error_code, topic_partition};
use crate::kafka::batches;
use crate::pipeline::{FetchRequest as ArchiveFetch, PipelineError};
use crate::types::TopicPartition;

/// How often a waiting Fetch looks again (each look reads each partition's catalog summary).
const POLL: Duration = Duration::from_millis(500);

pub(super) async fn fetch(shared: &Shared, req: &FetchRequest) -> FetchResponse {
    let max_wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0))
        .min(shared.config.max_wait);
    let deadline = tokio::time::Instant::now() + max_wait;
    loop {
        let (response, bytes, errors) = fetch_once(shared, req).await;
        let now = tokio::time::Instant::now();
        // As a Kafka broker: data, or an error to report, ends the wait.
        if bytes > 0 || errors || bytes >= i64::from(req.min_bytes) || now >= deadline {
            return response;
        }
        tokio::time::sleep(POLL.min(deadline - now)).await;
    }
}

/// One pass over the requested partitions, how many record bytes it returns, and whether any
/// partition has an error.
async fn fetch_once(shared: &Shared, req: &FetchRequest) -> (FetchResponse, i64, bool) {
    let mut errors = false;
    let read_committed = req.isolation_level == 1;
    let limit = usize::try_from(req.max_bytes).unwrap_or(0);
    let mut budget = limit.min(shared.config.max_fetch_bytes);
    let mut returned = 0usize;
    let mut topics = Vec::with_capacity(req.topics.len());
    for topic in &req.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let answer = PartitionData::default()
                .with_partition_index(p.partition)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1);
            let Some(tp) = topic_partition(&topic.topic, p.partition) else {
                errors = true;
                partitions
                    .push(answer.with_error_code(ResponseError::UnknownTopicOrPartition.code()));
                continue;
            };
            let partition_max = usize::try_from(p.partition_max_bytes).unwrap_or(0);
            // Past the budget only the response's first batch may go.
            let room = if returned == 0 {
                partition_max.min(budget).max(1)
            } else {
                partition_max.min(budget)
            };
            let read = Read {
                tp: &tp,
                offset: p.fetch_offset,
                max_bytes: room,
                read_committed,
                first_data: returned == 0,
            };
            match read_partition(shared, read).await {
                Ok(part) => {
                    let len = part.records.len();
                    returned += len;
                    budget = budget.saturating_sub(len);
                    partitions.push(part.into_response(answer, read_committed));
                }
                Err((e, bounds)) => {
                    errors = true;
                    let answer = match bounds {
                        Some(b) => answer
                            .with_high_watermark(b.high_watermark)
                            .with_last_stable_offset(b.last_stable_offset)
                            .with_log_start_offset(b.log_start_offset),
                        None => answer,
                    };
                    partitions.push(answer.with_error_code(error_code(&e)));
                }
            }
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions),
        );
    }
    let response = FetchResponse::default().with_responses(topics);
    (
        response,
        i64::try_from(returned).unwrap_or(i64::MAX),
        errors,
    )
}

/// What one partition's read is asked for.
struct Read<'a> {
    tp: &'a TopicPartition,
    offset: i64,
    max_bytes: usize,
    read_committed: bool,
    /// Whether nothing precedes it in the response: only then may a batch exceed `max_bytes`.
    first_data: bool,
}

/// A partition's offsets as a Fetch response states them.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    high_watermark: i64,
    last_stable_offset: i64,
    log_start_offset: i64,
}

/// What one partition returns.
struct PartitionRead {
    bounds: Bounds,
    records: Vec<u8>,
    aborted: Vec<AbortedTransaction>,
}

impl PartitionRead {
    fn into_response(self, answer: PartitionData, read_committed: bool) -> PartitionData {
        let b = self.bounds;
        answer
            .with_high_watermark(b.high_watermark)
            .with_last_stable_offset(b.last_stable_offset)
            .with_log_start_offset(b.log_start_offset)
            .with_aborted_transactions(read_committed.then_some(self.aborted))
            .with_records(Some(Bytes::from(self.records)))
    }
}

type ReadError = (PipelineError, Option<Bounds>);

async fn read_partition(shared: &Shared, read: Read<'_>) -> Result<PartitionRead, ReadError> {
    let pipeline = &shared.pipeline;
    let info = pipeline
        .partition_info(read.tp)
        .await
        .map_err(|e| (e, None))?;
    let txns = pipeline
        .transactions_at(&info)
        .await
        .map_err(|e| (e, None))?;
    let high_watermark = info.latest.get() + 1;
    let bounds = Bounds {
        high_watermark,
        last_stable_offset: txns.last_stable_offset.min(high_watermark),
        log_start_offset: info.earliest.get(),
    };
    let end = if read.read_committed {
        bounds.last_stable_offset
    } else {
        high_watermark
    };
    if read.offset < bounds.log_start_offset || read.offset > high_watermark {
        let e = PipelineError::OffsetOutOfRange {
            tp: read.tp.clone(),
            requested: read.offset,
            earliest: info.earliest,
            latest: info.latest,
        };
        return Err((e, Some(bounds)));
    }
    let empty = PartitionRead {
        bounds,
        records: Vec::new(),
        aborted: Vec::new(),
    };
    if read.offset >= end || read.max_bytes == 0 {
        return Ok(empty);
    }
    let fetched = pipeline
        .fetch(&ArchiveFetch {
            tp: read.tp.clone(),
            offset: read.offset,
            max_bytes: read.max_bytes,
        })
        .await
        .map_err(|e| (e, Some(bounds)))?;
    // Whole batches only, none from `end` on (read_committed: nothing unstable), and past
    // `max_bytes` only the response's first batch.
    let mut keep = 0;
    let mut last_offset = read.offset;
    for batch in batches(&fetched.batches) {
        let Ok(batch) = batch else { break };
        let h = batch.header();
        let len = batch.bytes().len();
        let over = keep + len > read.max_bytes && !(read.first_data && keep == 0);
        if h.base_offset >= end || over {
            break;
        }
        keep += len;
        last_offset = h.last_offset();
    }
    let mut records = fetched.batches;
    records.truncate(keep);
    if records.is_empty() {
        return Ok(empty);
    }
    let aborted = if read.read_committed {
        txns.aborted_within(read.offset, last_offset)
            .map(|t| {
                AbortedTransaction::default()
                    .with_producer_id(ProducerId(t.producer_id))
                    .with_first_offset(t.first_offset)
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(PartitionRead {
        bounds,
        records,
        aborted,
    })
}
