//! The exact answer for a few records: which of them the version 1 index would match.
//!
//! The records are indexed into a single-segment index in memory, with the version 1 schema,
//! analyzer and document layout, and the query runs on it as on an archive's index: the same
//! code decides, so the answers are the same by construction. Used on the records a
//! [`super::cond::Cond`] lets through.

use tantivy::collector::DocSetCollector;
use tantivy::directory::RamDirectory;
use tantivy::{Index, IndexSettings, TantivyDocument};

use super::document::to_tantivy;
use super::files::no_panic;
use super::query::{QueryCompiler, SearchFilter};
use super::schema::{Fields, register_analyzers, schema};
use super::{IndexDoc, IndexError};

/// Memory for indexing one group of records (the arena grows past it if a group needs more).
const GROUP_MEMORY: usize = 4 << 20;

/// Matches records against one query exactly. Build once per search, use for every group.
pub struct Verifier {
    query: Option<Box<dyn tantivy::query::Query>>,
    fields: Fields,
    tokenizers: tantivy::tokenizer::TokenizerManager,
}

impl Verifier {
    /// A verifier of `query` and `filter`; fails with [`IndexError::InvalidQuery`] exactly when
    /// an archive's index would.
    pub fn new(query: &str, filter: &SearchFilter) -> Result<Verifier, IndexError> {
        let tokenizers = tantivy::tokenizer::TokenizerManager::default();
        register_analyzers(&tokenizers);
        let compiler = QueryCompiler::new(tokenizers.clone())?;
        Ok(Verifier {
            query: compiler.compile(query, filter)?,
            fields: Fields::resolve(&schema())?,
            tokenizers,
        })
    }

    /// Indexes of the records of `docs` the query matches, ascending.
    pub fn matching(&self, docs: &[IndexDoc<'_>]) -> Result<Vec<usize>, IndexError> {
        let Some(query) = &self.query else {
            return Ok(Vec::new());
        };
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        no_panic("matching records", || {
            let mut writer = Index::builder()
                .schema(schema())
                .settings(IndexSettings::default())
                .tokenizers(self.tokenizers.clone())
                .single_segment_index_writer::<TantivyDocument>(
                    RamDirectory::create(),
                    GROUP_MEMORY,
                )?;
            for doc in docs {
                writer.add_document(to_tantivy(&self.fields, doc))?;
            }
            let index = writer.finalize()?;
            let searcher = index.reader()?.searcher();
            // One segment written in order: document ids are positions in `docs`.
            let mut found: Vec<usize> = searcher
                .search(query.as_ref(), &DocSetCollector)?
                .into_iter()
                .map(|address| address.doc_id as usize)
                .collect();
            found.sort_unstable();
            Ok(found)
        })
    }
}
