//! The APIs and versions served: the ranges the handlers are written for and tested with (each
//! within what the protocol crate encodes). ApiVersions answers with this table.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};

/// `(api, lowest version, highest version)` of every API advertised. Fetch stops at 12 and
/// Metadata at 9: later versions name topics by id, which the archive does not keep. Produce is
/// advertised though always refused ([`REFUSED_APIS`]): librdkafka reads record batches v2 (its
/// "MsgVer2" feature) only from a broker that lists Produce v3 next to Fetch v4.
pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::Produce, 3, 9),
    (ApiKey::Metadata, 1, 9),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
];

/// APIs a read-only broker refuses with an error response, at every version the protocol crate
/// decodes (not advertised): writes and consumer-group membership.
pub const REFUSED_APIS: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::InitProducerId,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::DeleteRecords,
];

/// Whether `version` of `api` is served.
pub fn supported(api: ApiKey, version: i16) -> bool {
    SUPPORTED_APIS
        .iter()
        .any(|(k, lo, hi)| *k == api && (*lo..=*hi).contains(&version))
}

/// Whether `version` of `api` is refused with an error response.
pub fn refused(api: ApiKey, version: i16) -> bool {
    REFUSED_APIS.contains(&api) && {
        let range = api.valid_versions();
        (range.min..=range.max).contains(&version)
    }
}

/// The ApiVersions response: every API served and its versions, with `error_code`.
pub fn api_versions(error_code: i16) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(
            SUPPORTED_APIS
                .iter()
                .map(|(api, lo, hi)| {
                    ApiVersion::default()
                        .with_api_key(*api as i16)
                        .with_min_version(*lo)
                        .with_max_version(*hi)
                })
                .collect(),
        )
}
