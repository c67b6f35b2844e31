//! [`S3Store`]: the [`ObjectStore`] backend on Amazon S3 (or an S3-compatible store).
//!
//! SDK errors are translated in `error.rs` only (including reading a 403 to `GetObject`/`HeadObject`
//! as a missing key); large objects go up through `multipart.rs`.

mod error;
mod multipart;

use std::ops::Range;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use self::error::{body, internal, translate, translate_read};
use self::multipart::{PART_SIZE, Parts, Upload};
use crate::store::{ObjectMeta, ObjectStore, StoreError, StoreErrorKind, StoreResult};
use crate::types::ObjectKey;

/// Objects in one S3 bucket, optionally under a key prefix.
///
/// - `put` of up to 16 MiB is one `PutObject`; larger objects use a multipart upload of 16 MiB parts
///   that is completed as a whole or aborted, so readers see the whole object or the previous one.
///   Encryption and storage class are the bucket's defaults: no per-object options are set.
/// - Reads of a missing key fail with [`StoreErrorKind::NotFound`]; ranges follow the trait's rules
///   (an HTTP 416 from S3 becomes [`StoreErrorKind::InvalidRange`]).
/// - Without `s3:ListBucket` permission S3 answers a read of a missing key with 403 (`AccessDenied`)
///   instead of 404. So a 403 to `get`, `get_range` or `size`/`exists` (`GetObject`, `HeadObject`)
///   is also [`StoreErrorKind::NotFound`], its message saying the key is missing or unreadable (403),
///   so a real permission problem still shows in the text. A 403 to `put`, `delete` or `list` stays
///   [`StoreErrorKind::Unauthorized`].
/// - `delete` is idempotent (S3 answers 204 for a missing key).
/// - `list` pages through `ListObjectsV2` (1,000 keys per request) and returns keys sorted.
///
/// Requests per operation: `put` 1 (multipart: 2 + one per part), `get` 1, `get_range` 1 (an empty
/// range: 1 `HeadObject`), `size`/`exists` 1, `delete` 1, `list` 1 per 1,000 keys.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    /// A store over the whole of `bucket`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Store {
            client,
            bucket: bucket.into(),
            prefix: String::new(),
        }
    }

    /// Puts every key under `prefix`: key `k` is stored as `<prefix>/k`. Leading and trailing `/` are
    /// ignored and an empty prefix means none. [`ObjectStore::list`] strips the prefix again, and error
    /// keys are the caller's keys, without it.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        self.prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        self
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn put_single(&self, key: &ObjectKey, data: Vec<u8>) -> StoreResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key.as_str()))
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| translate("PutObject", key.as_str(), e))?;
        Ok(())
    }

    /// A multipart upload of `parts` as object `key`.
    async fn multipart(&self, key: &ObjectKey, parts: Parts) -> StoreResult<()> {
        let full_key = self.full_key(key.as_str());
        let upload = Upload {
            client: &self.client,
            bucket: &self.bucket,
            full_key: &full_key,
            key: key.as_str(),
        };
        upload.run(parts).await
    }

    /// One `GetObject` of an object, or of bytes `first..=last` of it.
    async fn get_object(
        &self,
        key: &ObjectKey,
        inclusive: Option<(u64, u64)>,
    ) -> StoreResult<aws_sdk_s3::operation::get_object::GetObjectOutput> {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key.as_str()))
            .set_range(inclusive.map(|(first, last)| format!("bytes={first}-{last}")))
            .send()
            .await
            .map_err(|e| translate_read("GetObject", key.as_str(), e))
    }

    /// Fetches an object, or bytes `first..=last` of it.
    async fn fetch(&self, key: &ObjectKey, inclusive: Option<(u64, u64)>) -> StoreResult<Vec<u8>> {
        let out = self.get_object(key, inclusive).await?;
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| body(key.as_str(), e))?;
        Ok(data.to_vec())
    }
}

/// A `GetObject` body being read.
struct S3Body {
    body: ByteStream,
    announced: u64,
    received: u64,
    key: String,
}

#[async_trait]
impl crate::store::ObjectBody for S3Body {
    async fn next_piece(&mut self) -> StoreResult<Option<Vec<u8>>> {
        match self.body.next().await {
            Some(Ok(piece)) => {
                self.received += piece.len() as u64;
                if self.received > self.announced {
                    return Err(internal(
                        &self.key,
                        format!("the body is longer than its {} bytes", self.announced),
                    ));
                }
                Ok(Some(piece.to_vec()))
            }
            Some(Err(e)) => Err(body(&self.key, e)),
            None if self.received < self.announced => Err(StoreError::new(
                StoreErrorKind::Timeout,
                self.key.as_str(),
                format!(
                    "the body ended after {} of its {} bytes",
                    self.received, self.announced
                ),
            )),
            None => Ok(None),
        }
    }
}

fn invalid_range(key: &ObjectKey, message: String) -> StoreError {
    StoreError::new(StoreErrorKind::InvalidRange, key.as_str(), message)
}

#[async_trait]
impl ObjectStore for S3Store {
    /// One `PutObject` up to [`PART_SIZE`] bytes, else a multipart upload (aborted on failure).
    async fn put(&self, key: &ObjectKey, data: Vec<u8>) -> StoreResult<()> {
        if data.len() <= PART_SIZE {
            return self.put_single(key, data).await;
        }
        self.multipart(key, Parts::Memory(Bytes::from(data))).await
    }

    /// A presigned `GetObject` URL, signed locally with the client's credentials (no request).
    async fn presigned_get(
        &self,
        key: &ObjectKey,
        expires: std::time::Duration,
    ) -> StoreResult<Option<String>> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires)
            .map_err(|e| internal(key.as_str(), format!("presigning: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key.as_str()))
            .presigned(config)
            .await
            .map_err(|e| translate("GetObject (presign)", key.as_str(), e))?;
        Ok(Some(request.uri().to_owned()))
    }

    /// One `GetObject` whose body is read as it arrives; a body that ends before its
    /// `Content-Length` fails with a retryable (`Timeout`) error.
    async fn get_body(&self, key: &ObjectKey) -> StoreResult<Box<dyn crate::store::ObjectBody>> {
        let out = self.get_object(key, None).await?;
        let announced = out
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| internal(key.as_str(), "GetObject returned no Content-Length"))?;
        Ok(Box::new(S3Body {
            body: out.body,
            announced,
            received: 0,
            key: key.to_string(),
        }))
    }

    /// One `PutObject` (body streamed from the file) up to [`PART_SIZE`] bytes, else a multipart
    /// upload reading each part from the file (aborted on failure).
    async fn put_file(&self, key: &ObjectKey, path: &std::path::Path) -> StoreResult<()> {
        let io = |e: std::io::Error| StoreError::new(StoreErrorKind::Io, key.as_str(), e);
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len <= PART_SIZE as u64 {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|e| StoreError::new(StoreErrorKind::Io, key.as_str(), e))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(self.full_key(key.as_str()))
                .body(body)
                .send()
                .await
                .map_err(|e| translate("PutObject", key.as_str(), e))?;
            return Ok(());
        }
        self.multipart(key, Parts::File(std::sync::Arc::new(file), len))
            .await
    }

    /// One `GetObject`; `NotFound` for a missing key (also for a 403, see the type docs).
    async fn get(&self, key: &ObjectKey) -> StoreResult<Vec<u8>> {
        self.fetch(key, None).await
    }

    /// One ranged `GetObject` (`Range: bytes=start-(end-1)`; S3 clamps `end` to the object's size and
    /// answers 416 for a start at or past it). `start > end` is rejected before any request; an empty
    /// range costs one `HeadObject` (to report `NotFound`) and returns no bytes.
    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> StoreResult<Vec<u8>> {
        if range.start > range.end {
            return Err(invalid_range(
                key,
                format!("range {}..{} starts after its end", range.start, range.end),
            ));
        }
        if range.start == range.end {
            self.size(key).await?;
            return Ok(Vec::new());
        }
        let data = self
            .fetch(key, Some((range.start, range.end - 1)))
            .await
            .map_err(|e| match e.kind() {
                StoreErrorKind::InvalidRange => invalid_range(
                    key,
                    format!(
                        "range {}..{} starts at or past the end: {e}",
                        range.start, range.end
                    ),
                ),
                _ => e,
            })?;
        if data.len() as u64 > range.end - range.start {
            return Err(internal(
                key.as_str(),
                format!(
                    "asked for {} bytes, got {}",
                    range.end - range.start,
                    data.len()
                ),
            ));
        }
        Ok(data)
    }

    /// One `HeadObject`; `NotFound` for a missing key (also for a 403, see the type docs).
    async fn size(&self, key: &ObjectKey) -> StoreResult<u64> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key.as_str()))
            .send()
            .await
            .map_err(|e| translate_read("HeadObject", key.as_str(), e))?;
        let length = out
            .content_length()
            .ok_or_else(|| internal(key.as_str(), "HeadObject returned no Content-Length"))?;
        u64::try_from(length)
            .map_err(|_| internal(key.as_str(), format!("negative Content-Length {length}")))
    }

    /// One `DeleteObject`; succeeds for a missing key.
    async fn delete(&self, key: &ObjectKey) -> StoreResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key.as_str()))
            .send()
            .await
            .map_err(|e| translate("DeleteObject", key.as_str(), e))?;
        Ok(())
    }

    /// `ListObjectsV2` pages (continuation tokens) under `<store prefix><prefix>`, sorted by key. Keys
    /// that are not valid [`ObjectKey`]s (written by something else) are skipped with a warning.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        let full_prefix = self.full_key(prefix);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| translate("ListObjectsV2", prefix, e))?;
            for object in page.contents() {
                let Some(full) = object.key() else { continue };
                let Some(key) = full.strip_prefix(&self.prefix) else {
                    continue;
                };
                let Ok(key) = ObjectKey::try_from(key.to_owned()) else {
                    tracing::warn!(key = full, bucket = %self.bucket, "skipping invalid object key");
                    continue;
                };
                out.push(ObjectMeta {
                    key,
                    size: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                    last_modified_ms: object
                        .last_modified()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or(0),
                });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
