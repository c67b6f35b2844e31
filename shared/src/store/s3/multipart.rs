//! Multipart upload of large objects: create, upload parts (a few at a time), complete — or abort.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use tokio::task::JoinSet;

use super::error::{internal, translate};
use crate::store::{StoreError, StoreResult};

/// Size of every part but the last; objects up to this size go up in one `PutObject`.
pub const PART_SIZE: usize = 16 * 1024 * 1024;

/// Parts in flight at once (bounds memory to a few parts of request bodies).
const MAX_PARTS_IN_FLIGHT: usize = 4;

/// What an upload's parts are read from.
pub(super) enum Parts {
    /// Bytes in memory.
    Memory(Bytes),
    /// A local file of the given length, read a part at a time (on a blocking thread).
    File(std::sync::Arc<std::fs::File>, u64),
}

impl Parts {
    fn len(&self) -> u64 {
        match self {
            Parts::Memory(data) => data.len() as u64,
            Parts::File(_, len) => *len,
        }
    }

    /// Bytes `start..end`.
    async fn part(&self, start: u64, end: u64, key: &str) -> StoreResult<Bytes> {
        match self {
            Parts::Memory(data) => Ok(data.slice(start as usize..end as usize)),
            Parts::File(file, _) => {
                let file = file.clone();
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0; (end - start) as usize];
                    read_exact_at(&file, &mut buf, start).map(|()| buf)
                })
                .await
                .map_err(|e| StoreError::new(crate::store::StoreErrorKind::Internal, key, e))?;
                let buf =
                    read.map_err(|e| StoreError::new(crate::store::StoreErrorKind::Io, key, e))?;
                Ok(Bytes::from(buf))
            }
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek};
    file.seek(std::io::SeekFrom::Start(at))?;
    file.read_exact(buf)
}

/// One upload: the bucket and full key (prefix included), and the caller's key for errors.
pub(super) struct Upload<'a> {
    pub client: &'a Client,
    pub bucket: &'a str,
    pub full_key: &'a str,
    pub key: &'a str,
}

impl Upload<'_> {
    /// Uploads `data` in parts of [`PART_SIZE`] bytes (at most [`MAX_PARTS_IN_FLIGHT`] of them
    /// in memory at once) (CRC-32 checksummed) and completes the upload,
    /// which makes the whole object visible at once.
    ///
    /// On any failure the upload is aborted so that no parts are left behind (and billed). Parts still
    /// in flight are cancelled and awaited before the abort; if the abort itself fails, the error of the
    /// upload is returned and the abort failure is logged (a bucket lifecycle rule for incomplete
    /// multipart uploads is the backstop).
    pub async fn run(&self, data: Parts) -> StoreResult<()> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket)
            .key(self.full_key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(|e| translate("CreateMultipartUpload", self.key, e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| internal(self.key, "CreateMultipartUpload returned no upload id"))?;
        let result = self.parts_then_complete(upload_id, data).await;
        if result.is_err() {
            self.abort(upload_id).await;
        }
        result
    }

    async fn parts_then_complete(&self, upload_id: &str, data: Parts) -> StoreResult<()> {
        let mut tasks = JoinSet::new();
        let mut parts = Vec::with_capacity(data.len().div_ceil(PART_SIZE as u64) as usize);
        let result = self
            .upload_parts(upload_id, data, &mut tasks, &mut parts)
            .await;
        if let Err(e) = result {
            tasks.shutdown().await;
            return Err(e);
        }
        parts.sort_by_key(|p| p.part_number());
        self.client
            .complete_multipart_upload()
            .bucket(self.bucket)
            .key(self.full_key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| translate("CompleteMultipartUpload", self.key, e))?;
        Ok(())
    }

    async fn upload_parts(
        &self,
        upload_id: &str,
        data: Parts,
        tasks: &mut JoinSet<StoreResult<CompletedPart>>,
        parts: &mut Vec<CompletedPart>,
    ) -> StoreResult<()> {
        let mut start = 0;
        let mut number = 1;
        while start < data.len() {
            while tasks.len() >= MAX_PARTS_IN_FLIGHT {
                parts.push(self.next_part(tasks).await?);
            }
            let end = (start + PART_SIZE as u64).min(data.len());
            let request = self
                .client
                .upload_part()
                .bucket(self.bucket)
                .key(self.full_key)
                .upload_id(upload_id)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(ByteStream::from(data.part(start, end, self.key).await?));
            let key = self.key.to_owned();
            tasks.spawn(async move {
                let out = request
                    .send()
                    .await
                    .map_err(|e| translate("UploadPart", &key, e))?;
                let e_tag = out.e_tag().ok_or_else(|| {
                    internal(&key, format!("UploadPart {number} returned no ETag"))
                })?;
                Ok(CompletedPart::builder()
                    .part_number(number)
                    .e_tag(e_tag)
                    .set_checksum_crc32(out.checksum_crc32().map(str::to_owned))
                    .build())
            });
            start = end;
            number += 1;
        }
        while !tasks.is_empty() {
            parts.push(self.next_part(tasks).await?);
        }
        Ok(())
    }

    async fn next_part(
        &self,
        tasks: &mut JoinSet<StoreResult<CompletedPart>>,
    ) -> StoreResult<CompletedPart> {
        match tasks.join_next().await {
            Some(Ok(part)) => part,
            Some(Err(join)) => Err(StoreError::new(
                crate::store::StoreErrorKind::Internal,
                self.key,
                join,
            )),
            None => Err(internal(self.key, "no part upload in flight")),
        }
    }

    async fn abort(&self, upload_id: &str) {
        let aborted = self
            .client
            .abort_multipart_upload()
            .bucket(self.bucket)
            .key(self.full_key)
            .upload_id(upload_id)
            .send()
            .await;
        if let Err(e) = aborted {
            tracing::warn!(
                key = self.full_key,
                upload_id,
                error = %translate("AbortMultipartUpload", self.key, e),
                "could not abort multipart upload; its parts stay until a lifecycle rule removes them"
            );
        }
    }
}
