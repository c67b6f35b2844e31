//! Function configuration from environment variables, parsed and validated once at cold start.

use tier::index::{IndexPolicies, IndexPolicy};
use tier::pipeline::{
    CompactionPolicy, CompactionRequest, PipelineConfig, Retention, RetentionPolicy,
    SegmentCacheConfig,
};

/// A configuration variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {name}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// Everything the functions read from their environment (names as in `template.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TIER_BUCKET`: the bucket of sources, archives and quarantine.
    pub bucket: String,
    /// `TIER_TABLE`: the catalog table.
    pub table: String,
    /// `TIER_CHUNK_BYTES`: target size of record chunks in archives.
    pub chunk_bytes: usize,
    /// `TIER_COMPRESSION_LEVEL`: gzip level of chunks of uncompressed batches (0–9).
    pub compression_level: u32,
    /// `TIER_CACHE_BYTES`: fetch read cache kept across warm invocations.
    pub cache_bytes: usize,
    /// `TIER_CACHE_SEGMENT_BYTES`: fetch cache of segment entries kept across warm invocations.
    pub segment_cache_bytes: usize,
    /// `TIER_CACHE_SEGMENT_TTL_SECONDS`: how long a cached segment entry is used; shorter than
    /// the grace period (checked here), so every archive it names is still in the bucket.
    pub segment_cache_ttl_seconds: u64,
    /// `TIER_MAX_FETCH_BYTES`: cap on a fetch's `max_bytes` (the response must fit 6 MB after base64).
    pub max_fetch_bytes: usize,
    /// `TIER_MAX_BATCH_BYTES`: the most one batch's records may decompress to when indexed
    /// (default 128 MiB); a source with a larger batch is quarantined.
    pub max_batch_bytes: usize,
    /// Compactor retention: `TIER_RETENTION_HOURS` (by age, 0 = no limit) and
    /// `TIER_RETENTION_BYTES` (per partition, 0 = no limit) for every topic, overridden per topic by
    /// `TIER_RETENTION_TOPICS` (JSON: `{"topic": {"hours": N, "bytes": N}}`).
    pub retention: RetentionPolicy,
    /// `TIER_GRACE_MINUTES`: compactor grace period before deleting superseded archives.
    pub grace_minutes: u64,
    /// What the indexer's and compactor's chunk filters key: `TIER_INDEX_POLICY` (`full`,
    /// `keys-and-headers`, `none`, `paths:a.b,c`; default `full`) for every topic, overridden per topic by
    /// `TIER_INDEX_TOPICS` (JSON: `{"topic": "none"}`).
    pub index_policies: IndexPolicies,
    /// Where the indexer builds archives: `TIER_SCRATCH_DIR` (default: the temporary directory,
    /// `/tmp` on Lambda) and `TIER_SCRATCH_BYTES` (the most one invocation may write there; 0 or
    /// unset: as much as the disk holds).
    pub scratch: tier::scratch::ScratchConfig,
    /// `TIER_TARGET_SEGMENT_BYTES`: compactor merge target.
    pub target_segment_bytes: u64,
    /// `TIER_LOG`: log filter.
    pub log: String,
}

/// The largest `max_fetch_bytes` whose base64 body (4/3 larger) still fits Lambda's 6 MB response.
pub const FETCH_BYTES_LIMIT: usize = 4 << 20;

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            name,
            reason: format!("{v:?} is not a valid {}", std::any::type_name::<T>()),
        }),
    }
}

fn required(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    get(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError {
            name,
            reason: "is required".into(),
        })
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let config = Config {
            bucket: required(&get, "TIER_BUCKET")?,
            table: required(&get, "TIER_TABLE")?,
            chunk_bytes: parse(
                &get,
                "TIER_CHUNK_BYTES",
                tier::archive::ArchiveOptions::default().chunk_target_bytes,
            )?,
            compression_level: parse(&get, "TIER_COMPRESSION_LEVEL", 6)?,
            cache_bytes: parse(&get, "TIER_CACHE_BYTES", 128 << 20)?,
            segment_cache_bytes: parse(
                &get,
                "TIER_CACHE_SEGMENT_BYTES",
                SegmentCacheConfig::RECOMMENDED.max_bytes,
            )?,
            segment_cache_ttl_seconds: parse(
                &get,
                "TIER_CACHE_SEGMENT_TTL_SECONDS",
                SegmentCacheConfig::RECOMMENDED.ttl_ms.unsigned_abs() / 1_000,
            )?,
            max_fetch_bytes: parse(&get, "TIER_MAX_FETCH_BYTES", FETCH_BYTES_LIMIT)?,
            max_batch_bytes: parse(
                &get,
                "TIER_MAX_BATCH_BYTES",
                tier::pipeline::DEFAULT_MAX_BATCH_BYTES,
            )?,
            retention: RetentionPolicy {
                default: Retention::from_hours_and_bytes(
                    parse(&get, "TIER_RETENTION_HOURS", 0)?,
                    parse(&get, "TIER_RETENTION_BYTES", 0)?,
                ),
                topics: RetentionPolicy::parse_overrides(
                    &get("TIER_RETENTION_TOPICS").unwrap_or_default(),
                )
                .map_err(|reason| ConfigError {
                    name: "TIER_RETENTION_TOPICS",
                    reason: reason.to_string(),
                })?,
            },
            grace_minutes: parse(&get, "TIER_GRACE_MINUTES", 15)?,
            index_policies: IndexPolicies {
                default: match get("TIER_INDEX_POLICY").filter(|v| !v.trim().is_empty()) {
                    None => IndexPolicy::default(),
                    Some(v) => v.parse().map_err(|reason| ConfigError {
                        name: "TIER_INDEX_POLICY",
                        reason,
                    })?,
                },
                topics: IndexPolicies::parse_topics(&get("TIER_INDEX_TOPICS").unwrap_or_default())
                    .map_err(|reason| ConfigError {
                        name: "TIER_INDEX_TOPICS",
                        reason,
                    })?,
            },
            scratch: tier::scratch::ScratchConfig {
                dir: get("TIER_SCRATCH_DIR")
                    .filter(|v| !v.trim().is_empty())
                    .map(std::path::PathBuf::from),
                limit_bytes: Some(parse::<u64>(&get, "TIER_SCRATCH_BYTES", 0)?).filter(|&n| n > 0),
            },
            target_segment_bytes: parse(&get, "TIER_TARGET_SEGMENT_BYTES", 256 << 20)?,
            log: get("TIER_LOG").unwrap_or_else(|| "info".into()),
        };
        let bad = |name, reason: &str| {
            Err(ConfigError {
                name,
                reason: reason.into(),
            })
        };
        if config.compression_level > 9 {
            return bad("TIER_COMPRESSION_LEVEL", "must be 0 to 9");
        }
        if config.chunk_bytes == 0 {
            return bad("TIER_CHUNK_BYTES", "must be positive");
        }
        if config.max_batch_bytes == 0 {
            return bad("TIER_MAX_BATCH_BYTES", "must be positive");
        }
        if config.max_fetch_bytes == 0 || config.max_fetch_bytes > FETCH_BYTES_LIMIT {
            return bad(
                "TIER_MAX_FETCH_BYTES",
                "must be 1 to 4194304 (the 6 MB response limit after base64)",
            );
        }
        if config.grace_minutes == 0 {
            return bad("TIER_GRACE_MINUTES", "must be at least 1");
        }
        let grace_seconds = config.grace_minutes.saturating_mul(60);
        if config.segment_cache_bytes > 0 && config.segment_cache_ttl_seconds >= grace_seconds {
            return Err(ConfigError {
                name: "TIER_CACHE_SEGMENT_TTL_SECONDS",
                reason: format!(
                    "{} s is not shorter than TIER_GRACE_MINUTES ({grace_seconds} s): a cached \
                     segment could name an archive already deleted",
                    config.segment_cache_ttl_seconds
                ),
            });
        }
        Ok(config)
    }

    /// The pipeline settings this configuration implies.
    pub fn pipeline_config(&self) -> PipelineConfig {
        let mut p = PipelineConfig::default();
        p.archive.chunk_target_bytes = self.chunk_bytes;
        p.archive.compression_level = self.compression_level;
        p.max_fetch_bytes = self.max_fetch_bytes;
        p.cache_bytes = self.cache_bytes;
        p.max_batch_bytes = self.max_batch_bytes;
        p.index_policies = self.index_policies.clone();
        p.scratch = self.scratch.clone();
        p.segment_cache = SegmentCacheConfig {
            max_bytes: self.segment_cache_bytes,
            ttl_ms: i64::try_from(self.segment_cache_ttl_seconds.saturating_mul(1_000))
                .unwrap_or(i64::MAX),
        };
        p
    }

    /// The compactor's standing request: merge target, retention and grace period (a run adds its
    /// topics, dry-run flag and time budget).
    pub fn compaction_request(&self) -> CompactionRequest {
        CompactionRequest {
            policy: CompactionPolicy {
                target_bytes: self.target_segment_bytes,
                ..Default::default()
            },
            retention: self.retention.clone(),
            gc_grace_ms: Some(
                i64::try_from(self.grace_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
            ),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_and_required_values_are_required() {
        let c = config(&[("TIER_BUCKET", "b"), ("TIER_TABLE", "t")]).unwrap();
        assert_eq!(
            (c.chunk_bytes, c.max_fetch_bytes, c.grace_minutes),
            (256 << 10, 4 << 20, 15)
        );
        assert_eq!(c.pipeline_config().cache_bytes, 128 << 20);
        assert_eq!(c.pipeline_config().max_batch_bytes, 128 << 20);
        assert_eq!(c.pipeline_config().scratch, Default::default());
        let err = config(&[("TIER_TABLE", "t")]).unwrap_err();
        assert_eq!(err.to_string(), "configuration TIER_BUCKET: is required");
    }

    #[test]
    fn malformed_values_are_named() {
        let base = [("TIER_BUCKET", "b"), ("TIER_TABLE", "t")];
        let err = config(&[&base[..], &[("TIER_CHUNK_BYTES", "lots")]].concat()).unwrap_err();
        assert_eq!(err.name, "TIER_CHUNK_BYTES");
        let err =
            config(&[&base[..], &[("TIER_MAX_FETCH_BYTES", "6000000")]].concat()).unwrap_err();
        assert_eq!(err.name, "TIER_MAX_FETCH_BYTES");
        let err = config(&[&base[..], &[("TIER_COMPRESSION_LEVEL", "12")]].concat()).unwrap_err();
        assert_eq!(err.name, "TIER_COMPRESSION_LEVEL");
        let err = config(&[&base[..], &[("TIER_RETENTION_TOPICS", r#"{"a/b": {}}"#)]].concat())
            .unwrap_err();
        assert_eq!(err.name, "TIER_RETENTION_TOPICS");
        assert!(err.reason.contains("\"a/b\""), "{}", err.reason);
        let err = config(&[&base[..], &[("TIER_SCRATCH_BYTES", "-1")]].concat()).unwrap_err();
        assert_eq!(err.name, "TIER_SCRATCH_BYTES");
        let scratch = [
            ("TIER_SCRATCH_DIR", "/mnt/x"),
            ("TIER_SCRATCH_BYTES", "1000"),
        ];
        let c = config(&[&base[..], &scratch[..]].concat()).unwrap();
        assert_eq!(
            c.pipeline_config().scratch,
            tier::scratch::ScratchConfig {
                dir: Some("/mnt/x".into()),
                limit_bytes: Some(1000),
            }
        );
        let err = config(&[&base[..], &[("TIER_MAX_BATCH_BYTES", "0")]].concat()).unwrap_err();
        assert_eq!(err.name, "TIER_MAX_BATCH_BYTES");
        let err = config(&[&base[..], &[("TIER_INDEX_POLICY", "most")]].concat()).unwrap_err();
        assert_eq!(err.name, "TIER_INDEX_POLICY");
        assert!(err.reason.contains("keys-and-headers"), "{}", err.reason);
        for bad in [r#"{"a/b": "none"}"#, r#"{"audit": "some"}"#, "[]"] {
            let err = config(&[&base[..], &[("TIER_INDEX_TOPICS", bad)]].concat()).unwrap_err();
            assert_eq!(err.name, "TIER_INDEX_TOPICS", "{bad}");
        }
    }

    #[test]
    fn index_policies_per_topic_reach_the_pipeline() {
        let c = config(&[
            ("TIER_BUCKET", "b"),
            ("TIER_TABLE", "t"),
            ("TIER_INDEX_POLICY", "keys-and-headers"),
            (
                "TIER_INDEX_TOPICS",
                r#"{"audit": "none", "orders": "full", "pay": "paths:user.id,country"}"#,
            ),
        ])
        .unwrap();
        let policies = c.pipeline_config().index_policies;
        let of = |t: &str| policies.for_topic(&t.parse().unwrap());
        assert_eq!(
            (of("audit"), of("orders"), of("clicks")),
            (
                IndexPolicy::None,
                IndexPolicy::Full,
                IndexPolicy::KeysAndHeaders
            )
        );
        assert_eq!(
            of("pay"),
            IndexPolicy::Paths(vec!["country".into(), "user.id".into()])
        );
        let default = config(&[("TIER_BUCKET", "b"), ("TIER_TABLE", "t")]).unwrap();
        assert_eq!(default.index_policies, IndexPolicies::default());
    }

    #[test]
    fn the_compaction_request_carries_retention_per_topic_and_the_grace_period() {
        let c = config(&[
            ("TIER_BUCKET", "b"),
            ("TIER_TABLE", "t"),
            ("TIER_RETENTION_HOURS", "168"),
            ("TIER_RETENTION_BYTES", "1000"),
            ("TIER_RETENTION_TOPICS", r#"{"audit": {"hours": 0}}"#),
            ("TIER_GRACE_MINUTES", "5"),
        ])
        .unwrap();
        let req = c.compaction_request();
        assert_eq!(req.gc_grace_ms, Some(300_000));
        assert_eq!(req.policy.target_bytes, 256 << 20);
        let topic = |s: &str| s.parse().unwrap();
        assert_eq!(
            req.retention.for_topic(&topic("orders")),
            Retention::from_hours_and_bytes(168, 1000)
        );
        assert_eq!(
            req.retention.for_topic(&topic("audit")),
            Retention::from_hours_and_bytes(0, 1000)
        );
        let none = config(&[("TIER_BUCKET", "b"), ("TIER_TABLE", "t")]).unwrap();
        assert!(none.compaction_request().retention.default.is_unlimited());
    }

    #[test]
    fn the_segment_cache_ttl_must_be_shorter_than_the_grace_period() {
        let base = [("TIER_BUCKET", "b"), ("TIER_TABLE", "t")];
        let on = config(&base).unwrap().pipeline_config().segment_cache;
        assert_eq!(
            (on.max_bytes, on.ttl_ms),
            (32 << 20, 60_000),
            "on by default"
        );
        let with = |vars: &[(&str, &str)]| config(&[&base[..], vars].concat());
        let err = with(&[
            ("TIER_GRACE_MINUTES", "1"),
            ("TIER_CACHE_SEGMENT_TTL_SECONDS", "60"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "TIER_CACHE_SEGMENT_TTL_SECONDS");
        assert!(err.reason.contains("60 s is not shorter"), "{}", err.reason);
        let ok = with(&[
            ("TIER_GRACE_MINUTES", "1"),
            ("TIER_CACHE_SEGMENT_TTL_SECONDS", "59"),
        ]);
        assert_eq!(ok.unwrap().pipeline_config().segment_cache.ttl_ms, 59_000);
        // A cache turned off needs no check.
        let off = with(&[
            ("TIER_GRACE_MINUTES", "1"),
            ("TIER_CACHE_SEGMENT_TTL_SECONDS", "600"),
            ("TIER_CACHE_SEGMENT_BYTES", "0"),
        ]);
        assert!(!off.unwrap().pipeline_config().segment_cache.enabled());
        let err = with(&[("TIER_GRACE_MINUTES", "0")]).unwrap_err();
        assert_eq!(err.name, "TIER_GRACE_MINUTES");
    }
}
