//! Tests of the S3 store against the local stack: the conformance suite, then multipart uploads,
//! pagination, error mapping (including 403 answers) and the number of requests each operation
//! sends.

use std::collections::BTreeMap;
use std::ops::Range;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::SdkBody;
use tokio::task::JoinSet;

use super::S3Store;
use super::multipart::PART_SIZE;
use crate::store::{ObjectStore, StoreErrorKind};
use crate::testing::s3::{self as testing, RequestCounter, client, fresh_bucket, random_name};
use crate::types::ObjectKey;

fn key(s: &str) -> ObjectKey {
    s.parse().unwrap()
}

/// Deterministic bytes that differ at every offset modulo 251 and across parts.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 20) as u8)
        .collect()
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

async fn counted_store() -> (S3Store, RequestCounter, aws_sdk_s3::Client, String) {
    let counter = testing::counter();
    let client = client(Some(&counter)).await;
    let bucket = fresh_bucket(&client).await;
    let store = S3Store::new(client.clone(), bucket.clone()).with_prefix("/tenant/");
    counter.take();
    (store, counter, client, bucket)
}

async fn pending_uploads(client: &aws_sdk_s3::Client, bucket: &str) -> usize {
    let out = client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.uploads().len()
}

#[tokio::test]
async fn multipart_upload_round_trips_and_ranges_cross_parts() {
    let (store, counter, client, bucket) = counted_store().await;
    let k = key("big/forty.bin");
    let data = pattern(40 * 1024 * 1024);
    store.put(&k, data.clone()).await.unwrap();
    assert_eq!(
        counter.take(),
        counts(&[
            ("POST ?uploads", 1), // CreateMultipartUpload
            ("UploadPart", 3),
            ("POST ?uploadId", 1) // CompleteMultipartUpload
        ])
    );
    assert_eq!(store.size(&k).await.unwrap(), data.len() as u64);
    assert!(store.get(&k).await.unwrap() == data, "whole object differs");
    for boundary in [PART_SIZE, 2 * PART_SIZE] {
        let range = (boundary - 1000) as u64..(boundary + 1000) as u64;
        let got = store.get_range(&k, range.clone()).await.unwrap();
        assert!(got == data[boundary - 1000..boundary + 1000], "{range:?}");
    }
    let tail = store
        .get_range(&k, data.len() as u64 - 10..u64::MAX)
        .await
        .unwrap();
    assert_eq!(tail, data[data.len() - 10..]);
    assert_eq!(pending_uploads(&client, &bucket).await, 0);
    let listed = store.list("big/").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].key.as_str(), listed[0].size),
        ("big/forty.bin", data.len() as u64)
    );
}

/// Fails the upload of part 2, as a dropped connection would.
#[derive(Debug)]
struct FailSecondPart;

impl Intercept for FailSecondPart {
    fn name(&self) -> &'static str {
        "FailSecondPart"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context.request().uri().contains("partNumber=2&") {
            return Err("injected failure of part 2".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn failed_multipart_upload_is_aborted() {
    let plain = client(None).await;
    let bucket = fresh_bucket(&plain).await;
    let failing = aws_sdk_s3::Client::from_conf(
        plain
            .config()
            .to_builder()
            .interceptor(FailSecondPart)
            .build(),
    );
    let store = S3Store::new(failing, bucket.clone());
    let k = key("big/failed.bin");
    let err = store.put(&k, pattern(2 * PART_SIZE + 1)).await.unwrap_err();
    assert_eq!(err.key(), k.as_str());
    assert_eq!(
        pending_uploads(&plain, &bucket).await,
        0,
        "parts left behind"
    );
    let reader = S3Store::new(plain, bucket);
    assert_eq!(
        reader.get(&k).await.unwrap_err().kind(),
        StoreErrorKind::NotFound
    );
}

#[tokio::test]
async fn listing_of_2000_objects_paginates() {
    let (store, counter, _, _) = counted_store().await;
    let mut tasks = JoinSet::new();
    for i in 0..2000u32 {
        while tasks.len() >= 16 {
            tasks.join_next().await.unwrap().unwrap();
        }
        let store = store.clone();
        tasks.spawn(async move {
            let k = key(&format!("many/{:05}", (i * 7919) % 2000));
            store.put(&k, i.to_be_bytes().to_vec()).await.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    store.put(&key("many-not/x"), vec![1]).await.unwrap();
    counter.take();
    let listed = store.list("many/").await.unwrap();
    let requests = counter.take();
    let keys: Vec<String> = listed.iter().map(|m| m.key.to_string()).collect();
    let expected: Vec<String> = (0..2000).map(|i| format!("many/{i:05}")).collect();
    assert_eq!(keys, expected);
    assert!(listed.iter().all(|m| m.size == 4 && m.last_modified_ms > 0));
    assert_eq!(requests, counts(&[("GET ?list-type", 2)]), "{requests:?}");
}

#[tokio::test]
async fn requests_per_operation() {
    let (store, counter, _, _) = counted_store().await;
    let k = key("ops/a");
    store.put(&k, b"0123456789".to_vec()).await.unwrap();
    assert_eq!(counter.take(), counts(&[("PutObject", 1)]));
    store.get(&k).await.unwrap();
    assert_eq!(counter.take(), counts(&[("GetObject", 1)]));
    assert_eq!(store.get_range(&k, 2..4).await.unwrap(), b"23");
    assert_eq!(counter.take(), counts(&[("GetObject", 1)]));
    assert_eq!(
        store.get_range(&k, 10..11).await.unwrap_err().kind(),
        StoreErrorKind::InvalidRange
    );
    assert_eq!(counter.take(), counts(&[("GetObject", 1)]));
    assert!(store.get_range(&k, 10..10).await.unwrap().is_empty());
    assert_eq!(counter.take(), counts(&[("HEAD", 1)]));
    assert_eq!(
        store
            .get_range(&k, Range { start: 5, end: 4 })
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::InvalidRange
    );
    assert!(counter.take().is_empty(), "start > end needs no request");
    store.size(&k).await.unwrap();
    assert_eq!(counter.take(), counts(&[("HEAD", 1)]));
    store.delete(&k).await.unwrap();
    store.delete(&k).await.unwrap();
    assert_eq!(counter.take(), counts(&[("DeleteObject", 2)]));
    store.list("ops/").await.unwrap();
    assert_eq!(counter.take(), counts(&[("GET ?list-type", 1)]));
}

#[tokio::test]
async fn empty_object_and_errors_map_to_kinds() {
    let (store, _, client, _) = counted_store().await;
    let empty = key("e/empty");
    store.put(&empty, Vec::new()).await.unwrap();
    assert_eq!(
        store.get_range(&empty, 0..1).await.unwrap_err().kind(),
        StoreErrorKind::InvalidRange
    );
    assert!(store.get_range(&empty, 0..0).await.unwrap().is_empty());
    let missing = key("e/missing");
    assert_eq!(
        store.get_range(&missing, 3..3).await.unwrap_err().kind(),
        StoreErrorKind::NotFound
    );
    let no_bucket = S3Store::new(client, random_name("absent"));
    let err = no_bucket.get(&missing).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Internal, "{err}");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
}

/// Replaces every answer with S3's 403 `AccessDenied` (no body for a HEAD, as S3 sends), as for a
/// role without `s3:GetObject` / `s3:ListBucket`.
#[derive(Debug)]
struct DenyEverything;

impl Intercept for DenyEverything {
    fn name(&self) -> &'static str {
        "DenyEverything"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let head = context
            .inner()
            .request()
            .is_some_and(|r| r.method() == "HEAD");
        let body = if head {
            SdkBody::empty()
        } else {
            SdkBody::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                 <Message>Access Denied</Message><RequestId>R</RequestId></Error>",
            )
        };
        *context.response_mut() = HttpResponse::new(403.try_into()?, body);
        Ok(())
    }
}

#[tokio::test]
async fn a_403_to_a_key_read_is_not_found_and_to_other_calls_unauthorized() {
    let plain = client(None).await;
    let bucket = fresh_bucket(&plain).await;
    let k = key("d/present");
    S3Store::new(plain.clone(), bucket.clone())
        .put(&k, b"0123456789".to_vec())
        .await
        .unwrap();
    let denied = S3Store::new(
        aws_sdk_s3::Client::from_conf(
            plain
                .config()
                .to_builder()
                .interceptor(DenyEverything)
                .build(),
        ),
        bucket,
    );
    let missing = key("d/missing");
    let reads = [
        ("get", denied.get(&missing).await.map(|_| ())),
        ("get_range", denied.get_range(&k, 2..5).await.map(|_| ())),
        (
            "empty get_range",
            denied.get_range(&k, 3..3).await.map(|_| ()),
        ),
        ("size", denied.size(&missing).await.map(|_| ())),
    ];
    for (what, result) in reads {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::NotFound, "{what}: {err}");
        assert!(
            err.to_string()
                .contains("key missing or unreadable (403: S3 answers 403 instead of 404"),
            "{what}: {err}"
        );
    }
    assert!(!denied.exists(&k).await.unwrap());
    let writes = [
        ("put", denied.put(&k, b"x".to_vec()).await),
        ("delete", denied.delete(&k).await),
        ("list", denied.list("d/").await.map(|_| ())),
    ];
    for (what, result) in writes {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unauthorized, "{what}: {err}");
        assert!(err.to_string().contains("AccessDenied"), "{what}: {err}");
    }
}

mod conformance {
    crate::object_store_test_suite!(crate::testing::s3::store().await);
}

/// Answers every call with 200, `Content-Length: 1000` and only 10 bytes of body, as a
/// connection cut mid-body leaves a `GetObject`.
#[derive(Debug)]
struct CutGetBodies;

impl Intercept for CutGetBodies {
    fn name(&self) -> &'static str {
        "CutGetBodies"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut response = HttpResponse::new(200.try_into()?, SdkBody::from("0123456789"));
        response.headers_mut().insert("Content-Length", "1000");
        *context.response_mut() = response;
        Ok(())
    }
}

#[tokio::test]
async fn a_body_cut_short_is_a_retryable_error() {
    let plain = client(None).await;
    let bucket = fresh_bucket(&plain).await;
    let k = key("cut/object");
    S3Store::new(plain.clone(), bucket.clone())
        .put(&k, vec![7; 1000])
        .await
        .unwrap();
    let cut = S3Store::new(
        aws_sdk_s3::Client::from_conf(
            plain
                .config()
                .to_builder()
                .interceptor(CutGetBodies)
                .build(),
        ),
        bucket,
    );
    let mut body = cut.get_body(&k).await.unwrap();
    let mut received = 0;
    let err = loop {
        match body.next_piece().await {
            Ok(Some(piece)) => received += piece.len(),
            Ok(None) => panic!("the body ended normally after {received} bytes"),
            Err(e) => break e,
        }
    };
    assert!(received <= 10, "{received}");
    assert!(err.kind().is_retryable(), "{err}");
    assert!(err.to_string().contains("cut/object"), "{err}");
}
