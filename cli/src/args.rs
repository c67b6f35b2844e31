//! Command-line definitions (no I/O here). The interface is a contract: docs/CLI.md and the tests use it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Chronik Tier: tiered storage for Kafka-compatible logs, embedded edition.
#[derive(Debug, Parser)]
#[command(name = "tierctl", version, about, max_term_width = 100)]
pub struct Cli {
    /// Data directory of the embedded backend (objects/ and catalog.redb).
    #[arg(long, global = true, env = "TIER_DATA", default_value = "./tier-data")]
    pub data: PathBuf,
    /// Object store of a deployed stack, `s3://bucket[/prefix]`, instead of the embedded one
    /// (needs --catalog; default from TIER_BUCKET with TIER_TABLE, as the functions are set up).
    #[arg(long, global = true, env = "TIER_STORE")]
    pub store: Option<String>,
    /// Catalog of a deployed stack, `dynamodb://table` (needs --store).
    #[arg(long, global = true, env = "TIER_CATALOG")]
    pub catalog: Option<String>,
    /// Print machine-readable JSON on stdout instead of a human summary.
    #[arg(long, global = true)]
    pub json: bool,
    /// What the chunk filters of archives this command writes (index, ship, backfill, compact)
    /// key: full, keys-and-headers, none, or paths:<path>[,<path>...] (keys, headers and the JSON
    /// leaves at and below those value paths). Search answers are the same; less keyed, smaller
    /// archives and more chunks read per search.
    #[arg(long, global = true, env = "TIER_INDEX_POLICY", default_value = "full")]
    pub index_policy: tier::index::IndexPolicy,
    /// Per-topic index policies as JSON, `{"audit": "none"}`, over --index-policy.
    #[arg(long, global = true, env = "TIER_INDEX_TOPICS", default_value = "")]
    pub index_topics: String,
    /// Where indexing builds archives before they are stored (default: the system temporary
    /// directory); it needs about twice a segment's size free.
    #[arg(long, global = true, env = "TIER_SCRATCH_DIR")]
    pub scratch_dir: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The pipeline settings of the global options.
    pub fn pipeline_config(&self) -> anyhow::Result<tier::pipeline::PipelineConfig> {
        let topics = tier::index::IndexPolicies::parse_topics(&self.index_topics)
            .map_err(|e| anyhow::anyhow!("--index-topics: {e}"))?;
        Ok(tier::pipeline::PipelineConfig {
            index_policies: tier::index::IndexPolicies {
                default: self.index_policy.clone(),
                topics,
            },
            scratch: tier::scratch::ScratchConfig {
                dir: self.scratch_dir.clone(),
                limit_bytes: None,
            },
            ..Default::default()
        })
    }
}

/// tierctl's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate data, index it, fetch and search it, and explain what happened.
    Demo(DemoArgs),
    /// Write a synthetic sealed WAL segment (or Kafka .log segment).
    Gen(GenArgs),
    /// Index WAL segments or Kafka .log segments into the data directory.
    Index(IndexArgs),
    /// Fetch original Kafka batches from an offset.
    Fetch(FetchArgs),
    /// Look up the earliest, latest, or first offset at a timestamp.
    Offsets(OffsetsArgs),
    /// Full-text search over key, value and headers.
    Search(SearchArgs),
    /// Describe a WAL segment, Kafka .log segment or archive file.
    Inspect(InspectArgs),
    /// List topics, partitions and segments.
    Ls(LsArgs),
    /// Wrap a Kafka .log segment's batches into a sealed WAL segment.
    Pack(PackArgs),
    /// Merge small adjacent segments and apply retention.
    Compact(CompactArgs),
    /// Measure indexing throughput, archive size and fetch latency.
    Bench(BenchArgs),
    /// Upload the sealed segments of a broker's data directory to the store, each exactly once.
    Ship(ShipArgs),
    /// Index existing history in bulk: a broker directory, or shipped segments in the store.
    Backfill(BackfillArgs),
    /// Rebuild a lost catalog from the archives and quarantine reports in the store.
    RebuildCatalog(RebuildCatalogArgs),
    /// Serve the archive to Kafka consumers: a read-only Kafka broker (no authentication).
    ServeKafka(ServeKafkaArgs),
}

/// `serve-kafka` arguments.
#[derive(Debug, Args)]
pub struct ServeKafkaArgs {
    /// Address to listen on. Anything but loopback exposes the archive to the network without
    /// authentication or TLS.
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub listen: std::net::SocketAddr,
    /// host:port clients are told to connect to (default: the listening address).
    #[arg(long)]
    pub advertise: Option<String>,
    /// Connections served at once.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
    /// Close a connection idle for this many seconds.
    #[arg(long, default_value_t = 540)]
    pub idle_timeout_secs: u64,
    /// The most record bytes in one Fetch response.
    #[arg(long, default_value_t = 16 << 20)]
    pub max_fetch_bytes: usize,
}

/// `rebuild-catalog` arguments.
#[derive(Debug, Args)]
pub struct RebuildCatalogArgs {
    /// Add to a catalog that is not empty: what it has is kept, archives overlapping it are
    /// reported and left alone.
    #[arg(long)]
    pub force: bool,
    /// Read every archive and report what would be registered, changing nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `ship` arguments.
#[derive(Debug, Args)]
pub struct ShipArgs {
    /// A Chronik data directory (holding wal/), its wal/ directory, or a Kafka log directory.
    pub dir: PathBuf,
    /// The file remembering what was shipped (default: DIR's ledger inside --data,
    /// `<data>/ship-ledger.json`).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Keep running: ship segments as they seal, every --interval seconds, until SIGINT/SIGTERM.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between rounds with --watch.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
    /// Also index each shipped segment (what the indexer function does on S3), e.g. on the
    /// embedded default where no S3 notification triggers it.
    #[arg(long)]
    pub index: bool,
}

/// `backfill` arguments.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// A broker directory (as for `ship`), or `s3://bucket/prefix` of shipped segments in the
    /// --store bucket.
    pub source: String,
    /// Segments indexed at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// List what would be indexed (segments the ledger does not record as indexed), change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Records to generate.
    #[arg(long, default_value_t = 20_000)]
    pub records: u64,
    /// Partitions to spread them over.
    #[arg(long, default_value_t = 3)]
    pub partitions: u32,
}

/// Batch compression codecs.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Codec {
    /// Uncompressed.
    None,
    /// gzip.
    Gzip,
    /// Snappy (xerial framing, as the Java client writes it).
    Snappy,
    /// LZ4 frame.
    Lz4,
    /// Zstandard.
    Zstd,
}

/// Value shapes for generated records.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shape {
    /// JSON objects.
    Json,
    /// Plain text.
    Text,
    /// Random bytes.
    Binary,
}

/// Output file kinds of `gen`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GenFormat {
    /// Sealed tier WAL segment (CHRNKWAL).
    Wal,
    /// Apache Kafka .log segment (one partition).
    KafkaLog,
    /// A Chronik broker's data-WAL segment (one partition; the output path must follow the broker
    /// layout `<topic>/<partition>/wal_<partition>_<n>.log`, which names the partition).
    ChronikWal,
}

/// `gen` arguments.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Output file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Topic name.
    #[arg(long, default_value = "events")]
    pub topic: String,
    /// Partitions (a Kafka .log holds exactly one).
    #[arg(long, default_value_t = 1)]
    pub partitions: u32,
    /// Total records.
    #[arg(long, default_value_t = 10_000)]
    pub records: u64,
    /// Records per batch.
    #[arg(long, default_value_t = 100)]
    pub batch_records: u32,
    /// Batch compression.
    #[arg(long, value_enum, default_value_t = Codec::Lz4)]
    pub codec: Codec,
    /// Shape of record values.
    #[arg(long, value_enum, default_value_t = Shape::Json)]
    pub shape: Shape,
    /// First offset of each partition.
    #[arg(long, default_value_t = 0)]
    pub start_offset: i64,
    /// Timestamp of the first record, ms since the epoch.
    #[arg(long, default_value_t = 1_767_225_600_000)]
    pub start_timestamp: i64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GenFormat::Wal)]
    pub format: GenFormat,
}

/// A topic and partition given by flags.
#[derive(Debug, Args)]
pub struct PartitionArgs {
    /// Topic name.
    #[arg(long)]
    pub topic: String,
    /// Partition number.
    #[arg(long)]
    pub partition: i64,
}

/// `index` arguments.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// WAL segments or Kafka .log segments.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Topic of Kafka .log files (default: from a <topic>-<partition>/ parent directory).
    #[arg(long, requires = "partition")]
    pub topic: Option<String>,
    /// Partition of Kafka .log files.
    #[arg(long, requires = "topic")]
    pub partition: Option<i64>,
}

/// Output formats of `fetch`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FetchFormat {
    /// Concatenated original batches, byte for byte.
    Raw,
    /// Decoded records as JSON Lines.
    Json,
}

/// `fetch` arguments.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Topic and partition.
    #[command(flatten)]
    pub tp: PartitionArgs,
    /// First offset wanted.
    #[arg(long)]
    pub offset: i64,
    /// Stop before exceeding this many bytes (at least one batch is returned).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_bytes: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FetchFormat::Json)]
    pub format: FetchFormat,
    /// Write to this file (atomically) instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `offsets` arguments.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true))]
pub struct OffsetsArgs {
    /// Topic and partition.
    #[command(flatten)]
    pub tp: PartitionArgs,
    /// Earliest offset whose timestamp is >= this (ms since the epoch).
    #[arg(long, group = "which")]
    pub timestamp: Option<i64>,
    /// The first tiered offset.
    #[arg(long, group = "which")]
    pub earliest: bool,
    /// The offset after the last tiered record (Kafka's log end offset).
    #[arg(long, group = "which")]
    pub latest: bool,
}

/// `search` arguments.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Query, e.g. `timeout`, `value.country:ES AND event:click`, `key:"user-42"`.
    pub query: String,
    /// Only this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// Only this partition.
    #[arg(long)]
    pub partition: Option<i64>,
    /// At most this many hits.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Only offsets >= this.
    #[arg(long)]
    pub from_offset: Option<i64>,
    /// Only offsets <= this.
    #[arg(long)]
    pub to_offset: Option<i64>,
    /// Only timestamps >= this (ms).
    #[arg(long)]
    pub since: Option<i64>,
    /// Only timestamps <= this (ms).
    #[arg(long)]
    pub until: Option<i64>,
}

/// `inspect` arguments.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A WAL segment, Kafka .log segment or archive (.tar.gz).
    pub file: PathBuf,
    /// Topic of a Kafka .log (only used for display).
    #[arg(long)]
    pub topic: Option<String>,
}

/// `ls` arguments.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Also list every segment.
    #[arg(long)]
    pub segments: bool,
}

/// `pack` arguments.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The Kafka .log segment.
    pub file: PathBuf,
    /// Topic and partition of the log.
    #[command(flatten)]
    pub tp: PartitionArgs,
    /// Output WAL segment.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// `compact` arguments.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Only this topic (repeatable; all topics when absent).
    #[arg(long)]
    pub topic: Vec<String>,
    /// Report what would be done without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Drop segments whose newest record is older than this many hours (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub retention_hours: u64,
    /// Drop a partition's oldest segments while the rest still holds this many bytes of batches
    /// (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub retention_bytes: u64,
    /// Per-topic retention overriding the two above, as JSON:
    /// '{"audit": {"hours": 0}, "clicks": {"hours": 24, "bytes": 10737418240}}'.
    #[arg(long, value_name = "JSON", value_parser = parse_retention_topics)]
    pub retention_topics: Option<RetentionOverrides>,
    /// Merged segments aim for this many archive bytes.
    #[arg(long, default_value_t = 256 << 20)]
    pub target_bytes: u64,
    /// Delete retired and orphaned archives older than this many minutes.
    #[arg(long, default_value_t = 15)]
    pub grace_minutes: u64,
    /// Start no new partition or merge after this many seconds.
    #[arg(long)]
    pub time_budget: Option<u64>,
}

/// `bench` arguments.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Records to generate per run.
    #[arg(long, default_value_t = 200_000)]
    pub records: u64,
    /// Fetches to time.
    #[arg(long, default_value_t = 300)]
    pub fetches: usize,
    /// Batch compression of the generated data.
    #[arg(long, value_enum, default_value_t = Codec::Lz4)]
    pub codec: Codec,
    /// Measure compaction instead: index `--segments` small segments of one partition, compact until
    /// nothing is left to merge, and compare segments, bytes and search latency before and after
    /// (with `--aws`, on S3 + DynamoDB).
    #[arg(long)]
    pub compaction: bool,
    /// Segments to index for `--compaction` (records are spread evenly over them).
    #[arg(long, default_value_t = 1_000)]
    pub segments: u64,
    /// Measure against S3 and DynamoDB (honours AWS_ENDPOINT_URL, e.g. the local stack) instead of
    /// the embedded backend; needs a build with `--features aws`.
    #[arg(long)]
    pub aws: bool,
    /// Bucket for `--aws` (it must exist; the run writes under archives/bench-*/).
    #[arg(long, env = "TIER_BUCKET", requires = "aws")]
    pub bucket: Option<String>,
    /// Catalog table for `--aws` (it must exist; the run uses a fresh topic).
    #[arg(long, env = "TIER_TABLE", requires = "aws")]
    pub table: Option<String>,
}

/// Per-topic retention overrides (`--retention-topics`).
pub type RetentionOverrides =
    std::collections::BTreeMap<tier::types::Topic, tier::pipeline::RetentionOverride>;

fn parse_retention_topics(
    text: &str,
) -> Result<RetentionOverrides, tier::pipeline::RetentionOverridesError> {
    tier::pipeline::RetentionPolicy::parse_overrides(text)
}
