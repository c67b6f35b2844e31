//! Conformance suite for [`ObjectStore`] backends.
//!
//! Each `check_*` function asserts one contract of the trait docs. A backend runs them all with
//! `object_store_test_suite!(ctor)`, where `ctor` evaluates to `(store, guard)`; `guard` is kept alive
//! for the test (e.g. a temp dir).

use std::sync::Arc;

use crate::store::{ObjectStore, StoreErrorKind};
use crate::types::ObjectKey;

fn key(s: &str) -> ObjectKey {
    s.parse().expect("test keys are valid")
}

/// `put` then `get` returns the same bytes; `put` replaces; `size` and `exists` agree.
pub async fn check_put_get_replace(store: &dyn ObjectStore) {
    let k = key("suite/put/a.bin");
    assert!(!store.exists(&k).await.unwrap());
    store.put(&k, b"first".to_vec()).await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), b"first");
    store.put(&k, b"second version".to_vec()).await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), b"second version");
    assert_eq!(store.size(&k).await.unwrap(), 14);
    assert!(store.exists(&k).await.unwrap());
    let empty = key("suite/put/empty");
    store.put(&empty, Vec::new()).await.unwrap();
    assert_eq!(store.get(&empty).await.unwrap(), b"");
}

/// Reading a missing object fails with `NotFound` naming the key.
pub async fn check_missing_is_not_found(store: &dyn ObjectStore) {
    let k = key("suite/missing/nothing-here");
    let err = store.get(&k).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    assert_eq!(err.key(), k.as_str());
    assert_eq!(
        store.get_range(&k, 0..1).await.unwrap_err().kind(),
        StoreErrorKind::NotFound
    );
    assert_eq!(
        store.size(&k).await.unwrap_err().kind(),
        StoreErrorKind::NotFound
    );
}

/// Ranges are half-open, `end` is clamped, a start past the end is `InvalidRange`.
pub async fn check_ranges(store: &dyn ObjectStore) {
    let k = key("suite/range/digits");
    store.put(&k, b"0123456789".to_vec()).await.unwrap();
    assert_eq!(store.get_range(&k, 0..10).await.unwrap(), b"0123456789");
    assert_eq!(store.get_range(&k, 2..5).await.unwrap(), b"234");
    assert_eq!(store.get_range(&k, 9..10).await.unwrap(), b"9");
    assert_eq!(store.get_range(&k, 7..100).await.unwrap(), b"789");
    let err = store.get_range(&k, 10..12).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::InvalidRange);
}

/// `delete` removes the object and is idempotent.
pub async fn check_delete_is_idempotent(store: &dyn ObjectStore) {
    let k = key("suite/delete/x");
    store.put(&k, b"x".to_vec()).await.unwrap();
    store.delete(&k).await.unwrap();
    assert_eq!(
        store.get(&k).await.unwrap_err().kind(),
        StoreErrorKind::NotFound
    );
    store.delete(&k).await.unwrap();
}

/// `list` returns exactly the keys under a prefix, sorted, with sizes.
pub async fn check_list_prefix(store: &dyn ObjectStore) {
    for name in [
        "suite/list/b/2",
        "suite/list/a",
        "suite/list/b/1",
        "suite/listing-other",
    ] {
        store
            .put(&key(name), name.as_bytes().to_vec())
            .await
            .unwrap();
    }
    let listed = store.list("suite/list/").await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["suite/list/a", "suite/list/b/1", "suite/list/b/2"]);
    assert_eq!(listed[1].size, "suite/list/b/1".len() as u64);
    assert!(listed[0].last_modified_ms > 0);
    assert!(store.list("suite/none/").await.unwrap().is_empty());
}

/// Readers racing a writer see one whole version or the other, never a mix or a partial object.
pub async fn check_put_is_atomic(store: Arc<dyn ObjectStore>) {
    let k = key("suite/atomic/obj");
    let size = 256 * 1024;
    store.put(&k, vec![b'a'; size]).await.unwrap();
    let writer = {
        let (store, k) = (store.clone(), k.clone());
        tokio::spawn(async move {
            for i in 0..20u8 {
                store.put(&k, vec![b'a' + (i % 2); size]).await.unwrap();
            }
        })
    };
    for _ in 0..40 {
        let data = store.get(&k).await.unwrap();
        assert_eq!(data.len(), size);
        assert!(
            data.iter().all(|&b| b == data[0]),
            "saw a mix of two versions"
        );
    }
    writer.await.unwrap();
}

/// `put_file` stores a file's bytes (a multipart upload on S3 past its 16 MiB part size, replacing
/// an existing object); `get_body` hands back the same bytes in pieces, and `NotFound` for a
/// missing key.
pub async fn check_files_and_bodies(store: &dyn ObjectStore) {
    let k = key("suite/file/big.bin");
    store.put(&k, b"old".to_vec()).await.unwrap();
    let data: Vec<u8> = (0..(17u32 << 20) + 123)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &data).unwrap();
    store.put_file(&k, &path).await.unwrap();
    assert_eq!(store.size(&k).await.unwrap(), data.len() as u64);
    let mut body = store.get_body(&k).await.unwrap();
    let mut read = Vec::new();
    let mut pieces = 0;
    while let Some(piece) = body.next_piece().await.unwrap() {
        assert!(!piece.is_empty());
        read.extend_from_slice(&piece);
        pieces += 1;
    }
    assert!(read == data, "{} bytes read of {}", read.len(), data.len());
    assert!(pieces > 1, "one piece of 17 MiB");
    let small = key("suite/file/small.bin");
    std::fs::write(&path, b"small").unwrap();
    store.put_file(&small, &path).await.unwrap();
    assert_eq!(store.get(&small).await.unwrap(), b"small");
    let missing = key("suite/file/missing");
    let err = match store.get_body(&missing).await {
        Ok(mut body) => body.next_piece().await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
}

/// Emits one `#[tokio::test]` per conformance check for the backend built by `$ctor`, an expression
/// evaluating to `(store, guard)`.
#[macro_export]
macro_rules! object_store_test_suite {
    ($ctor:expr) => {
        $crate::object_store_test_suite!(@each $ctor;
            check_put_get_replace, check_missing_is_not_found, check_ranges,
            check_delete_is_idempotent, check_list_prefix, check_files_and_bodies);

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn check_put_is_atomic() {
            let (store, _guard) = $ctor;
            $crate::testing::store_suite::check_put_is_atomic(std::sync::Arc::new(store)).await;
        }
    };
    (@each $ctor:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let (store, _guard) = $ctor;
                $crate::testing::store_suite::$check(&store).await;
            }
        )*
    };
}
