//! The endpoint over a real socket, as a client sees it: framing limits, what closes a connection
//! and what does not, the connection limit, idle timeouts, shutdown, and read_committed at an open
//! transaction. (Whole topics through kafka-python and librdkafka: `tests/consumers/`.)

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, ListOffsetsRequest, MetadataRequest, RequestHeader,
    RequestKind, ResponseHeader, ResponseKind, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::{DecodedRequest, KafkaApiConfig, decode_request, serve};
use crate::kafka::ControlType;
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::testing::{FixedClock, TxnLog};
use crate::types::TopicPartition;

struct Server {
    address: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// An endpoint over a partition `txns-0` whose log is `log` (indexed as one segment).
    async fn start(log: &TxnLog, tune: impl FnOnce(&mut KafkaApiConfig)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let pipeline = Pipeline::embedded(
            dir.path(),
            Arc::new(FixedClock(0)),
            PipelineConfig::default(),
        )
        .unwrap();
        let tp = TopicPartition::from_log_dir_name("txns-0").unwrap();
        pipeline
            .index_source("log", &log.bytes(0..log.batches.len()), Some(&tp))
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut config = KafkaApiConfig::new("127.0.0.1", address.port());
        tune(&mut config);
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(serve(listener, pipeline, config, async {
            let _ = stopped.await;
        }));
        Server {
            address,
            stop: Some(stop),
            done,
            _dir: dir,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.address).await.unwrap()
    }

    async fn shut_down(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

/// A log with an aborted transaction (producer 7, 0..=3), plain records (4..=5) and a
/// transaction of producer 9 left open at 6.
fn log_with_open_transaction() -> TxnLog {
    let mut log = TxnLog::default();
    log.data(7, true, 3);
    log.marker(7, ControlType::Abort);
    log.data(1, false, 2);
    log.data(9, true, 4);
    log
}

fn frame(api: ApiKey, version: i16, correlation_id: i32, request: &RequestKind) -> Vec<u8> {
    let mut body = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("test")))
        .encode(&mut body, api.request_header_version(version))
        .unwrap();
    request.encode(&mut body, version).unwrap();
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Sends `request` and reads its response; `None` if the server closed the connection instead.
async fn call(
    stream: &mut TcpStream,
    api: ApiKey,
    version: i16,
    request: RequestKind,
) -> Option<ResponseKind> {
    stream
        .write_all(&frame(api, version, 42, &request))
        .await
        .ok()?;
    read_response(stream, api, version).await
}

async fn read_response(stream: &mut TcpStream, api: ApiKey, version: i16) -> Option<ResponseKind> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await.ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).await.ok()?;
    let mut body = Bytes::from(body);
    let header = ResponseHeader::decode(&mut body, api.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, 42);
    Some(ResponseKind::decode(api, &mut body, version).unwrap())
}

fn api_versions() -> RequestKind {
    RequestKind::ApiVersions(ApiVersionsRequest::default())
}

/// Whether the server closed `stream` (reads end) within a few seconds.
async fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn a_bad_frame_closes_its_connection_only() {
    let server = Server::start(&log_with_open_transaction(), |c| c.max_request_bytes = 1024).await;
    // Over the size limit: closed before the body is read.
    let mut big = server.connect().await;
    big.write_all(&(1u32 << 20).to_be_bytes()).await.unwrap();
    assert!(closed(&mut big).await);
    // An API key that does not exist, and a served API at a version that is not.
    let mut unknown = server.connect().await;
    let mut junk = vec![0, 0, 0, 8];
    junk.extend_from_slice(&[0x7f, 0x00, 0, 0, 0, 0, 0, 1]);
    unknown.write_all(&junk).await.unwrap();
    assert!(closed(&mut unknown).await);
    let mut old = server.connect().await;
    let metadata = RequestKind::Metadata(MetadataRequest::default());
    assert!(
        call(&mut old, ApiKey::Metadata, 0, metadata)
            .await
            .is_none()
    );
    // Meanwhile, and after, other connections are answered.
    let mut good = server.connect().await;
    let Some(ResponseKind::ApiVersions(v)) =
        call(&mut good, ApiKey::ApiVersions, 3, api_versions()).await
    else {
        panic!("ApiVersions is answered");
    };
    assert_eq!(v.error_code, 0);
    assert!(
        v.api_keys
            .iter()
            .any(|k| k.api_key == ApiKey::Fetch as i16 && k.max_version == 12)
    );
    // An ApiVersions of a version the endpoint does not know is answered in version 0 (KIP-511),
    // whatever its body.
    let mut header = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(9)
        .with_correlation_id(42)
        .encode(&mut header, 2)
        .unwrap();
    header.put_slice(b"a body from the future");
    good.write_all(&(header.len() as i32).to_be_bytes())
        .await
        .unwrap();
    good.write_all(&header).await.unwrap();
    let Some(ResponseKind::ApiVersions(v)) = read_response(&mut good, ApiKey::ApiVersions, 0).await
    else {
        panic!("an unknown ApiVersions version gets a v0 answer");
    };
    assert_eq!(v.error_code, 35, "UNSUPPORTED_VERSION");
    assert!(!v.api_keys.is_empty(), "with the versions it knows");
    server.shut_down().await;
}

#[test]
fn an_array_longer_than_its_frame_is_refused_before_it_is_allocated() {
    // Metadata v1: header (api 3, version 1, correlation 1, client id null), then a topics array
    // claiming 2^31 - 1 entries in four bytes.
    let mut frame = BytesMut::new();
    frame.put_i16(3);
    frame.put_i16(1);
    frame.put_i32(1);
    frame.put_i16(-1);
    frame.put_i32(i32::MAX);
    match decode_request(frame.freeze()) {
        Err(e) => assert!(e.contains("exceeds"), "{e}"),
        Ok(DecodedRequest::Request { .. } | DecodedRequest::UnknownApiVersions { .. }) => {
            panic!("decoded an impossible array")
        }
    }
}

#[tokio::test]
async fn read_committed_stops_at_the_open_transaction_and_names_the_aborted_one() {
    let server = Server::start(&log_with_open_transaction(), |_| {}).await;
    let mut s = server.connect().await;
    let fetch = |isolation: i8| {
        RequestKind::Fetch(
            FetchRequest::default()
                .with_max_wait_ms(0)
                .with_max_bytes(1 << 20)
                .with_isolation_level(isolation)
                .with_topics(vec![
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_static_str("txns")))
                        .with_partitions(vec![
                            FetchPartition::default()
                                .with_partition(0)
                                .with_fetch_offset(0)
                                .with_partition_max_bytes(1 << 20),
                        ]),
                ]),
        )
    };
    let Some(ResponseKind::Fetch(uncommitted)) = call(&mut s, ApiKey::Fetch, 12, fetch(0)).await
    else {
        panic!("fetch answered");
    };
    let p = &uncommitted.responses[0].partitions[0];
    assert_eq!(
        (p.error_code, p.high_watermark, p.last_stable_offset),
        (0, 10, 6)
    );
    assert_eq!(
        p.records.as_ref().unwrap().len(),
        server_log_len(&log_with_open_transaction(), 4)
    );
    assert!(p.aborted_transactions.is_none());
    let Some(ResponseKind::Fetch(committed)) = call(&mut s, ApiKey::Fetch, 12, fetch(1)).await
    else {
        panic!("fetch answered");
    };
    let p = &committed.responses[0].partitions[0];
    assert_eq!(
        p.records.as_ref().unwrap().len(),
        server_log_len(&log_with_open_transaction(), 3),
        "every batch below the last stable offset, none of the open transaction"
    );
    let aborted = p.aborted_transactions.as_ref().unwrap();
    assert_eq!(aborted.len(), 1);
    assert_eq!((aborted[0].producer_id.0, aborted[0].first_offset), (7, 0));
    // ListOffsets latest: the high watermark, or the last stable offset under read_committed.
    for (isolation, latest) in [(0, 10), (1, 6)] {
        let request = RequestKind::ListOffsets(
            ListOffsetsRequest::default()
                .with_isolation_level(isolation)
                .with_topics(vec![
                    ListOffsetsTopic::default()
                        .with_name(TopicName(StrBytes::from_static_str("txns")))
                        .with_partitions(vec![
                            ListOffsetsPartition::default()
                                .with_partition_index(0)
                                .with_timestamp(-1),
                        ]),
                ]),
        );
        let Some(ResponseKind::ListOffsets(r)) =
            call(&mut s, ApiKey::ListOffsets, 7, request).await
        else {
            panic!("list offsets answered");
        };
        assert_eq!(
            r.topics[0].partitions[0].offset, latest,
            "isolation {isolation}"
        );
    }
    server.shut_down().await;
}

/// Bytes of the first `n` batches of `log`.
fn server_log_len(log: &TxnLog, n: usize) -> usize {
    log.batches[..n].iter().map(Vec::len).sum()
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_and_idle_ones_are_closed() {
    let server = Server::start(&log_with_open_transaction(), |c| {
        c.max_connections = 1;
        c.idle_timeout = Duration::from_millis(800);
    })
    .await;
    let mut first = server.connect().await;
    assert!(
        call(&mut first, ApiKey::ApiVersions, 3, api_versions())
            .await
            .is_some()
    );
    // The second is accepted by the kernel but not served while the first holds the only slot.
    let mut second = server.connect().await;
    second
        .write_all(&frame(ApiKey::ApiVersions, 3, 42, &api_versions()))
        .await
        .unwrap();
    let waiting = tokio::time::timeout(
        Duration::from_millis(300),
        read_response(&mut second, ApiKey::ApiVersions, 3),
    )
    .await;
    assert!(waiting.is_err(), "not served while the limit is reached");
    // The first idles out; the second is then served.
    assert!(closed(&mut first).await, "an idle connection is closed");
    let served = tokio::time::timeout(
        Duration::from_secs(5),
        read_response(&mut second, ApiKey::ApiVersions, 3),
    )
    .await
    .unwrap();
    assert!(served.is_some());
    server.shut_down().await;
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_returns() {
    let server = Server::start(&log_with_open_transaction(), |_| {}).await;
    let mut open = server.connect().await;
    assert!(
        call(&mut open, ApiKey::ApiVersions, 3, api_versions())
            .await
            .is_some()
    );
    server.shut_down().await;
    assert!(closed(&mut open).await);
}

#[tokio::test]
async fn an_unacknowledged_produce_closes_and_an_error_ends_a_fetch_wait() {
    use kafka_protocol::messages::ProduceRequest;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let server = Server::start(&log_with_open_transaction(), |c| {
        c.max_wait = Duration::from_secs(5);
    })
    .await;
    // A fetch of an unknown partition is answered at once, though it asks to wait for data.
    let mut s = server.connect().await;
    let fetch = RequestKind::Fetch(
        FetchRequest::default()
            .with_max_wait_ms(5_000)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_static_str("missing")))
                    .with_partitions(vec![
                        FetchPartition::default()
                            .with_partition(0)
                            .with_partition_max_bytes(1 << 20),
                    ]),
            ]),
    );
    let started = tokio::time::Instant::now();
    let Some(ResponseKind::Fetch(r)) = call(&mut s, ApiKey::Fetch, 12, fetch).await else {
        panic!("fetch answered");
    };
    assert_eq!(
        r.responses[0].partitions[0].error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "no wait for a partition in error"
    );
    // Produce with acks=1 gets an error response; with acks=0 (no response expected) the
    // connection is closed, so the producer does not take silence for success.
    let produce = |acks| {
        RequestKind::Produce(
            ProduceRequest::default()
                .with_acks(acks)
                .with_timeout_ms(1_000)
                .with_topic_data(vec![
                    TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_static_str("txns")))
                        .with_partition_data(vec![
                            PartitionProduceData::default()
                                .with_index(0)
                                .with_records(Some(Bytes::from(
                                    log_with_open_transaction().bytes(0..1),
                                ))),
                        ]),
                ]),
        )
    };
    let Some(ResponseKind::Produce(r)) = call(&mut s, ApiKey::Produce, 9, produce(1)).await else {
        panic!("produce answered");
    };
    assert_eq!(
        r.responses[0].partition_responses[0].error_code, 42,
        "INVALID_REQUEST"
    );
    s.write_all(&frame(ApiKey::Produce, 9, 42, &produce(0)))
        .await
        .unwrap();
    assert!(closed(&mut s).await);
    server.shut_down().await;
}
