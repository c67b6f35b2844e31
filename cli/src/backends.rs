//! Which backends a command works on: the embedded default in `--data` (objects under `objects/`,
//! the catalog in `catalog.redb`), or a deployed stack's S3 bucket and DynamoDB table, named by
//! `--store s3://bucket[/prefix]` and `--catalog dynamodb://table` (or, as the Lambda functions
//! are configured, `TIER_BUCKET` and `TIER_TABLE`). Both or neither: half of each is an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use tier::catalog::Catalog;
use tier::clock::SystemClock;
use tier::pipeline::{Pipeline, PipelineConfig};
use tier::store::ObjectStore;

/// Where a command's objects and catalog are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backends {
    /// The embedded default in this directory.
    Embedded(PathBuf),
    /// S3 and DynamoDB (credentials and endpoint from the AWS default chain, `AWS_ENDPOINT_URL`
    /// honoured).
    Aws {
        /// The bucket.
        bucket: String,
        /// A key prefix inside it ("" for the bucket root, where the functions work).
        prefix: String,
        /// The catalog table.
        table: String,
    },
}

impl Backends {
    /// From the global options; `env` looks up `TIER_BUCKET` / `TIER_TABLE` when neither option
    /// is given.
    pub fn resolve(
        data: &Path,
        store: Option<&str>,
        catalog: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Backends> {
        let from_env = |name| env(name).filter(|v| !v.is_empty());
        let (store, catalog) = match (store, catalog) {
            (None, None) => match (from_env("TIER_BUCKET"), from_env("TIER_TABLE")) {
                (Some(b), Some(t)) => (format!("s3://{b}"), format!("dynamodb://{t}")),
                (None, None) => return Ok(Backends::Embedded(data.to_path_buf())),
                _ => bail!("TIER_BUCKET and TIER_TABLE go together: set both, or neither"),
            },
            (Some(s), Some(c)) => (s.to_owned(), c.to_owned()),
            _ => bail!("--store and --catalog go together: name both, or neither"),
        };
        let rest = store
            .strip_prefix("s3://")
            .with_context(|| format!("--store {store:?}: expected s3://bucket[/prefix]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            bail!("--store {store:?}: {bucket:?} is not an S3 bucket name");
        }
        let table = catalog
            .strip_prefix("dynamodb://")
            .with_context(|| format!("--catalog {catalog:?}: expected dynamodb://table"))?;
        let table_ok = (3..=255).contains(&table.len())
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !table_ok {
            bail!("--catalog {catalog:?}: {table:?} is not a DynamoDB table name");
        }
        Ok(Backends::Aws {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            table: table.to_owned(),
        })
    }

    /// The object store and the catalog.
    pub async fn open(&self) -> anyhow::Result<(Arc<dyn ObjectStore>, Arc<dyn Catalog>)> {
        match self {
            Backends::Embedded(dir) => {
                let store = tier::store::LocalStore::open(dir.join("objects"))
                    .with_context(|| format!("cannot open the data directory {}", dir.display()))?;
                let catalog = tier::catalog::EmbeddedCatalog::open(dir.join("catalog.redb"))
                    .with_context(|| format!("cannot open the data directory {}", dir.display()))?;
                Ok((Arc::new(store), Arc::new(catalog)))
            }
            #[cfg(feature = "aws")]
            Backends::Aws {
                bucket,
                prefix,
                table,
            } => {
                let (store, catalog) = tier::aws::connect(bucket, table).await;
                Ok((Arc::new(store.with_prefix(prefix)), Arc::new(catalog)))
            }
            #[cfg(not(feature = "aws"))]
            Backends::Aws { .. } => {
                bail!("this tierctl was built without AWS support: build it with `--features aws`")
            }
        }
    }

    /// A pipeline over them.
    pub async fn pipeline(&self, config: PipelineConfig) -> anyhow::Result<Pipeline> {
        let (store, catalog) = self.open().await?;
        Ok(Pipeline::new(store, catalog, Arc::new(SystemClock), config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        store: Option<&str>,
        catalog: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Backends> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Backends::resolve(Path::new("d"), store, catalog, |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn backends_come_from_both_options_both_variables_or_neither() {
        assert_eq!(
            resolve(None, None, &[]).unwrap(),
            Backends::Embedded("d".into())
        );
        let aws = Backends::Aws {
            bucket: "b-1.x".into(),
            prefix: "tier/test".into(),
            table: "Tier_1".into(),
        };
        assert_eq!(
            resolve(
                Some("s3://b-1.x/tier/test/"),
                Some("dynamodb://Tier_1"),
                &[]
            )
            .unwrap(),
            aws
        );
        let from_env =
            resolve(None, None, &[("TIER_BUCKET", "bkt"), ("TIER_TABLE", "tbl")]).unwrap();
        assert_eq!(
            from_env,
            Backends::Aws {
                bucket: "bkt".into(),
                prefix: String::new(),
                table: "tbl".into()
            }
        );
        for (store, catalog, env, needle) in [
            (Some("s3://bkt"), None, vec![], "go together"),
            (None, None, vec![("TIER_BUCKET", "bkt")], "go together"),
            (
                Some("bkt"),
                Some("dynamodb://t12"),
                vec![],
                "expected s3://",
            ),
            (
                Some("s3://Bad_Bucket"),
                Some("dynamodb://t12"),
                vec![],
                "not an S3 bucket",
            ),
            (
                Some("s3://bkt"),
                Some("redb://x"),
                vec![],
                "expected dynamodb://",
            ),
            (
                Some("s3://bkt"),
                Some("dynamodb://a b"),
                vec![],
                "not a DynamoDB table",
            ),
        ] {
            let err = resolve(store, catalog, &env).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
