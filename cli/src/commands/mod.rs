//! One module per command; each returns a [`Status`] or an error.

mod backfill;
mod bench;
#[cfg(feature = "aws")]
mod bench_aws;
mod bench_compaction;
mod compact;
mod demo;
mod fetch;
mod gen_data;
mod index;
mod inspect;
mod ls;
mod offsets;
mod pack;
mod rebuild_catalog;
mod search;
mod serve_kafka;
mod ship;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tier::types::{Partition, Topic, TopicPartition};

use crate::args::{Cli, Command, PartitionArgs};
use crate::backends::Backends;

/// How a successful command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done, with results.
    Success,
    /// Done, nothing found.
    NotFound,
}

impl Status {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Status::Success => ExitCode::SUCCESS,
            Status::NotFound => ExitCode::from(1),
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<Status> {
    let json = cli.json;
    let backends = Backends::resolve(
        &cli.data,
        cli.store.as_deref(),
        cli.catalog.as_deref(),
        |name| std::env::var(name).ok(),
    )?;
    let config = cli.pipeline_config()?;
    let open = || backends.pipeline(config.clone());
    match cli.command {
        Command::Demo(a) => demo::run(&cli.data, a, json).await,
        Command::Gen(a) => gen_data::run(a, json),
        Command::Index(a) => index::run(&open().await?, a, json).await,
        Command::Fetch(a) => fetch::run(&open().await?, a, json).await,
        Command::Offsets(a) => offsets::run(&open().await?, a, json).await,
        Command::Search(a) => search::run(&open().await?, a, json).await,
        Command::Inspect(a) => inspect::run(a, json),
        Command::Ls(a) => ls::run(&open().await?, a, json).await,
        Command::Pack(a) => pack::run(a, json),
        Command::Compact(a) => compact::run(&open().await?, a, json).await,
        Command::Bench(a) if a.compaction => bench_compaction::run(a, json).await,
        Command::Bench(a) if a.aws => bench_aws(a, json).await,
        Command::Bench(a) => bench::run(a, json).await,
        Command::Ship(a) => ship::run(&backends, config.clone(), &cli.data, a, json).await,
        Command::Backfill(a) => backfill::run(&backends, config.clone(), a, json).await,
        Command::RebuildCatalog(a) => rebuild_catalog::run(&open().await?, a, json).await,
        Command::ServeKafka(a) => serve_kafka::run(open().await?, a, json).await,
    }
}

#[cfg(feature = "aws")]
async fn bench_aws(args: crate::args::BenchArgs, json: bool) -> anyhow::Result<Status> {
    bench_aws::run(args, json).await
}

#[cfg(not(feature = "aws"))]
async fn bench_aws(_: crate::args::BenchArgs, _: bool) -> anyhow::Result<Status> {
    anyhow::bail!("this tierctl was built without AWS support: build it with `--features aws`")
}

/// The backends a benchmark measures: S3 + DynamoDB with `--aws`, else the embedded backend in
/// `dir`.
async fn bench_backends(
    args: &crate::args::BenchArgs,
    dir: &Path,
) -> anyhow::Result<(
    Arc<dyn tier::store::ObjectStore>,
    Arc<dyn tier::catalog::Catalog>,
)> {
    if !args.aws {
        let store = tier::store::LocalStore::open(dir.join("objects"))?;
        let catalog = tier::catalog::EmbeddedCatalog::open(dir.join("catalog.redb"))?;
        return Ok((Arc::new(store), Arc::new(catalog)));
    }
    #[cfg(feature = "aws")]
    {
        let (store, catalog) = bench_aws::connect(args).await?;
        Ok((Arc::new(store), Arc::new(catalog)))
    }
    #[cfg(not(feature = "aws"))]
    anyhow::bail!("this tierctl was built without AWS support: build it with `--features aws`")
}

/// Opens the embedded backend in `data` (created if missing), for the commands that only run there
/// (`demo`, `bench`).
pub async fn open_embedded(data: &Path) -> anyhow::Result<tier::pipeline::Pipeline> {
    Backends::Embedded(data.to_path_buf())
        .pipeline(tier::pipeline::PipelineConfig::default())
        .await
}

impl PartitionArgs {
    pub fn parse(&self) -> anyhow::Result<TopicPartition> {
        Ok(TopicPartition::new(
            self.topic.parse::<Topic>()?,
            Partition::try_from(self.partition)?,
        ))
    }
}

impl From<crate::args::Codec> for tier::kafka::Compression {
    fn from(c: crate::args::Codec) -> Self {
        use crate::args::Codec;
        use tier::kafka::Compression;
        match c {
            Codec::None => Compression::None,
            Codec::Gzip => Compression::Gzip,
            Codec::Snappy => Compression::Snappy,
            Codec::Lz4 => Compression::Lz4,
            Codec::Zstd => Compression::Zstd,
        }
    }
}

impl From<crate::args::Shape> for tier::synth::ValueShape {
    fn from(s: crate::args::Shape) -> Self {
        use crate::args::Shape;
        use tier::synth::ValueShape;
        match s {
            Shape::Json => ValueShape::Json,
            Shape::Text => ValueShape::Text,
            Shape::Binary => ValueShape::Binary,
        }
    }
}
