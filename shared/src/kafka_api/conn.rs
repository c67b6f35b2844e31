//! One client connection: size-prefixed request frames read one at a time (a frame larger than
//! the limit closes the connection before it is read), answered in order. A connection idle for
//! longer than the timeout, or open when the server shuts down between requests, is closed.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{Shared, fetch, groups, metadata, refuse, versions};

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnError {
    /// The socket failed, or the peer closed it.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// No request within the idle timeout.
    #[error("idle for longer than the timeout")]
    Idle,
    /// A frame longer than the limit.
    #[error("a request of {len} bytes is over the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    /// A request that cannot be read or answered: nothing can be sent back for it.
    #[error("{0}")]
    Protocol(String),
}

pub(super) struct Connection {
    stream: TcpStream,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
}

impl Connection {
    pub fn new(stream: TcpStream, shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Self {
        Connection {
            stream,
            shared,
            stop,
        }
    }

    /// Answers requests until the peer closes, the connection idles out, or the server stops.
    pub async fn run(mut self) -> Result<(), ConnError> {
        let _ = self.stream.set_nodelay(true);
        let mut stop = self.stop.clone();
        loop {
            let frame = tokio::select! {
                frame = self.read_frame() => frame?,
                _ = stop.wait_for(|stop| *stop) => return Ok(()),
            };
            let Some(frame) = frame else {
                return Ok(());
            };
            if let Some(response) = answer(&self.shared, frame).await? {
                // A client that stops reading holds its slot no longer than an idle one.
                let idle = self.shared.config.idle_timeout;
                tokio::time::timeout(idle, self.stream.write_all(&response))
                    .await
                    .map_err(|_| ConnError::Idle)??;
            }
        }
    }

    /// The next frame's body, or `None` if the peer closed the connection between frames.
    async fn read_frame(&mut self) -> Result<Option<Bytes>, ConnError> {
        let idle = self.shared.config.idle_timeout;
        let mut len = [0u8; 4];
        match tokio::time::timeout(idle, self.stream.read_exact(&mut len)).await {
            Err(_) => return Err(ConnError::Idle),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Ok(r) => r?,
        };
        let len = i32::from_be_bytes(len);
        let limit = self.shared.config.max_request_bytes;
        let len = usize::try_from(len).map_err(|_| ConnError::Protocol("negative size".into()))?;
        if len > limit {
            return Err(ConnError::TooLarge { len, limit });
        }
        let mut body = vec![0u8; len];
        match tokio::time::timeout(idle, self.stream.read_exact(&mut body)).await {
            Err(_) => Err(ConnError::Idle),
            Ok(r) => {
                r?;
                Ok(Some(Bytes::from(body)))
            }
        }
    }
}

/// A request frame, decoded.
#[derive(Debug)]
pub enum DecodedRequest {
    /// A request this endpoint answers (or refuses with an error response).
    Request {
        /// Its API.
        api: ApiKey,
        /// Its version.
        version: i16,
        /// What the response echoes.
        correlation_id: i32,
        /// The request.
        request: Box<RequestKind>,
    },
    /// An ApiVersions request of a version this endpoint does not know: answered in version 0
    /// (KIP-511), whatever its body.
    UnknownApiVersions {
        /// What the response echoes.
        correlation_id: i32,
    },
}

/// Decodes one request frame (the bytes after its size): the header, then the body of an API
/// and version this endpoint serves or refuses. Anything else — too short, an unknown API, an
/// API or version not served, a body that does not decode — is an error saying which. An array
/// length larger than the bytes left in the frame is refused before anything is allocated for it
/// (the vendored crate's patch), so what one frame can make the decoder reserve is bounded by
/// the frame's size times an element's.
pub fn decode_request(mut frame: Bytes) -> Result<DecodedRequest, String> {
    if frame.len() < 8 {
        return Err("a request shorter than its header".into());
    }
    let (key, version) = (
        i16::from_be_bytes([frame[0], frame[1]]),
        i16::from_be_bytes([frame[2], frame[3]]),
    );
    let api = ApiKey::try_from(key).map_err(|_| format!("unknown API key {key}"))?;
    let header = RequestHeader::decode(&mut frame, api.request_header_version(version))
        .map_err(|e| format!("{api:?} v{version} header: {e:#}"))?;
    let correlation_id = header.correlation_id;
    if api == ApiKey::ApiVersions && !versions::supported(api, version) {
        return Ok(DecodedRequest::UnknownApiVersions { correlation_id });
    }
    if !versions::supported(api, version) && !versions::refused(api, version) {
        return Err(format!(
            "{api:?} v{version} is not served (see ApiVersions)"
        ));
    }
    let request = RequestKind::decode(api, &mut frame, version)
        .map_err(|e| format!("{api:?} v{version}: {e:#}"))?;
    Ok(DecodedRequest::Request {
        api,
        version,
        correlation_id,
        request: Box::new(request),
    })
}

/// The response frame to one request frame. A Produce with `acks = 0` gets no response in Kafka,
/// so its refusal closes the connection (as a Kafka broker does when such a write fails): the
/// producer sees the failure instead of taking silence for success.
async fn answer(shared: &Shared, frame: Bytes) -> Result<Option<BytesMut>, ConnError> {
    let (api, version, correlation_id, request) =
        match decode_request(frame).map_err(ConnError::Protocol)? {
            DecodedRequest::UnknownApiVersions { correlation_id } => {
                let response = versions::api_versions(ResponseError::UnsupportedVersion.code());
                let response = ResponseKind::ApiVersions(response);
                return encode(ApiKey::ApiVersions, 0, correlation_id, &response).map(Some);
            }
            DecodedRequest::Request {
                api,
                version,
                correlation_id,
                request,
            } => (api, version, correlation_id, *request),
        };
    let response = match request {
        RequestKind::ApiVersions(_) => Some(ResponseKind::ApiVersions(versions::api_versions(0))),
        RequestKind::Metadata(r) => {
            Some(ResponseKind::Metadata(metadata::metadata(shared, &r).await))
        }
        RequestKind::ListOffsets(r) => Some(ResponseKind::ListOffsets(
            metadata::list_offsets(shared, &r).await,
        )),
        RequestKind::Fetch(r) => Some(ResponseKind::Fetch(fetch::fetch(shared, &r).await)),
        RequestKind::FindCoordinator(r) => Some(ResponseKind::FindCoordinator(
            groups::find_coordinator(shared, &r, version),
        )),
        RequestKind::OffsetCommit(r) => Some(ResponseKind::OffsetCommit(
            groups::offset_commit(shared, &r).await,
        )),
        RequestKind::OffsetFetch(r) => Some(ResponseKind::OffsetFetch(
            groups::offset_fetch(shared, &r).await,
        )),
        other => refuse::refuse(api, other),
    };
    match response {
        Some(response) => encode(api, version, correlation_id, &response).map(Some),
        None => Err(ConnError::Protocol(format!(
            "{api:?} v{version} refused without a response (acks=0): closing the connection"
        ))),
    }
}

/// A response frame: size, header, body.
fn encode(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> Result<BytesMut, ConnError> {
    let fail = |e: String| ConnError::Protocol(format!("encoding {api:?} v{version}: {e}"));
    let mut out = BytesMut::new();
    out.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut out, api.response_header_version(version))
        .map_err(|e| fail(e.to_string()))?;
    response
        .encode(&mut out, version)
        .map_err(|e| fail(e.to_string()))?;
    let len = i32::try_from(out.len() - 4)
        .map_err(|_| ConnError::Protocol(format!("a {api:?} response over 2 GiB")))?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}
