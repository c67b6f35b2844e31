//! DynamoDB-specific tests: large TOCs, swaps, request counts, corrupt items, the table definition.

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};

use crate::catalog::dynamo::create_table;
use crate::catalog::dynamo::items::{LEDGER_TTL_SECS, segment_item};
use crate::catalog::{Catalog, CatalogError, SegmentEntry};
use crate::testing::catalog_suite::segment;
use crate::testing::dynamo::{counted, counts, ingest, off, tp};

/// A TOC as the archive builder writes it, with `chunks` record chunks.
fn toc_bytes(chunks: u32) -> Vec<u8> {
    use crate::archive::{ByteRange, ChunkEntry, MemberEntry, Toc};
    let mut at = 0u64;
    let mut range = |len: u64| {
        let r = ByteRange::new(at, at + len);
        at += len;
        r
    };
    let toc = Toc {
        chunks: (0..i64::from(chunks))
            .map(|i| ChunkEntry {
                first_offset: i * 1000,
                last_offset: i * 1000 + 999,
                min_timestamp: 1_700_000_000_000 + i * 5000,
                max_timestamp: 1_700_000_000_000 + i * 5000 + 4999,
                batch_count: 12,
                range: range(90_000 + (i as u64 * 37) % 1000),
                data_len: 260_000 + (i as u64 * 101) % 5000,
                crc32c: (i as u32).wrapping_mul(2_654_435_761),
            })
            .collect(),
        index_files: vec![MemberEntry {
            name: "index/meta.json".into(),
            range: range(4000),
            data_len: 9000,
            crc32c: 7,
        }],
        manifest: MemberEntry {
            name: "manifest.json".into(),
            range: range(700),
            data_len: 1800,
            crc32c: 9,
        },
    };
    let bytes = toc.encode();
    assert_eq!(Toc::decode(&bytes).unwrap(), toc);
    bytes
}

/// Rough DynamoDB item size: attribute names plus value sizes.
fn item_size(item: &std::collections::HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
                    AttributeValue::B(b) => b.as_ref().len(),
                    _ => 8,
                }
        })
        .sum()
}

#[tokio::test]
async fn segment_with_512_chunk_toc_round_trips() {
    let (catalog, _, _, _) = counted().await;
    let p = tp("toc-0");
    let mut seg = segment(&p, 0, 511_999, 5);
    seg.toc = toc_bytes(512);
    let size = item_size(&segment_item(&seg));
    eprintln!(
        "512-chunk TOC: {} bytes; segment item ~{size} bytes",
        seg.toc.len()
    );
    assert!(
        size < 40_000,
        "item of {size} bytes is too close to the 400 KB limit"
    );
    catalog
        .register(&ingest("toc", &[seg.clone()]), &[seg.clone()])
        .await
        .unwrap();
    let found = catalog
        .segment_covering(&p, off(300_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, seg);
    assert_eq!(catalog.segments(&p).await.unwrap(), vec![seg]);
}

#[tokio::test]
async fn swap_requests_and_limit() {
    let (catalog, counter, _, _) = counted().await;
    let p = tp("swapq-0");
    let segs: Vec<SegmentEntry> = (0..4).map(|i| segment(&p, i * 10, i * 10 + 9, 1)).collect();
    catalog.register(&ingest("s", &segs), &segs).await.unwrap();
    counter.take();
    let ids: Vec<_> = segs.iter().map(|s| s.id.clone()).collect();
    let merged = segment(&p, 0, 39, 2);
    let v = catalog
        .swap_segments(&p, 1, &ids, std::slice::from_ref(&merged), 7)
        .await
        .unwrap();
    assert_eq!(v, 2);
    let expected = [("GetItem", 1), ("Query", 1), ("TransactWriteItems", 1)];
    assert_eq!(counter.take(), counts(&expected));
    let emptied = catalog
        .swap_segments(&p, 2, std::slice::from_ref(&merged.id), &[], 7)
        .await
        .unwrap();
    assert_eq!(emptied, 3);
    assert!(catalog.partition(&p).await.unwrap().is_none());
    assert!(catalog.partitions().await.unwrap().is_empty());
    let many: Vec<SegmentEntry> = (0..100)
        .map(|i| segment(&p, i * 10, i * 10 + 9, 3))
        .collect();
    let err = catalog
        .swap_segments(&p, 3, &[], &many, 7)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CatalogError::Backend {
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(catalog.segments(&p).await.unwrap().is_empty());
}

#[tokio::test]
async fn requests_per_read() {
    let (catalog, counter, _, _) = counted().await;
    let p = tp("reads-0");
    let segs = [segment(&p, 0, 9, 1)];
    catalog.register(&ingest("r", &segs), &segs).await.unwrap();
    assert_eq!(
        counter.take(),
        counts(&[("GetItem", 1), ("Query", 1), ("TransactWriteItems", 1)])
    );
    catalog.partition(&p).await.unwrap();
    catalog.ingest_record("r").await.unwrap();
    assert_eq!(counter.take(), counts(&[("GetItem", 2)]));
    catalog.partitions().await.unwrap();
    assert_eq!(counter.take(), counts(&[("Scan", 1)]));
    catalog.segment_for_timestamp(&p, 0).await.unwrap();
    catalog.segments(&p).await.unwrap();
    assert_eq!(counter.take(), counts(&[("Query", 2)]));
}

/// Writes `item` as is, bypassing the catalog.
async fn put_raw(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: crate::catalog::dynamo::items::Item,
) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn corrupt_items_name_the_attribute() {
    let (catalog, _, client, table) = counted().await;
    let p = tp("bad-0");
    let mut item = segment_item(&segment(&p, 0, 9, 1));
    item.insert("toc".into(), AttributeValue::S("not binary".into()));
    put_raw(&client, &table, item).await;
    let err = catalog.segments(&p).await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::Corrupt(m) if m.contains("`toc`")),
        "{err:?}"
    );
    let mut item = segment_item(&segment(&p, 10, 19, 1));
    item.remove("archive_size");
    put_raw(&client, &table, item).await;
    let err = catalog.segment_covering(&p, off(12)).await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::Corrupt(m) if m.contains("`archive_size`")),
        "{err:?}"
    );
}

#[tokio::test]
async fn table_definition_ttl_and_ledger_expiry() {
    let (catalog, _, client, table) = counted().await;
    create_table(&client, &table)
        .await
        .expect("an existing table is reused");
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let described = described.table().unwrap();
    assert!(described.global_secondary_indexes().is_empty());
    assert!(described.local_secondary_indexes().is_empty());
    let billing = described
        .billing_mode_summary()
        .and_then(|b| b.billing_mode());
    assert_eq!(billing.map(|b| b.as_str()), Some("PAY_PER_REQUEST"));

    let record = ingest("bucket/key/etag", &[]);
    catalog.record_ingest(&record).await.unwrap();
    let stored = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("src#bucket/key/etag".into()))
        .key("sk", AttributeValue::S("ledger".into()))
        .send()
        .await
        .unwrap();
    let expires = stored
        .item()
        .and_then(|i| i.get("expires_at"))
        .and_then(|v| v.as_n().ok());
    let want = (record.at_ms / 1000 + LEDGER_TTL_SECS).to_string();
    assert_eq!(expires, Some(&want));
}
