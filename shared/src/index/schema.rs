//! The one schema shared by the builder, the reader and the merger, and the one analyzer
//! registration used on every path that opens or creates an index.

use tantivy::Index;
use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, NumericOptions, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenizerManager,
};

use super::IndexError;

/// Version of the index layout: field names, field options and analyzer.
///
/// Any change to [`schema`] or to the analyzer registered by [`register_analyzers`] must bump it
/// (and rename [`TOKENIZER`] accordingly). Readers only open indexes whose schema is exactly the
/// schema of this version; see `docs/FORMATS.md`, "Record search index".
pub const SCHEMA_VERSION: u32 = 1;

/// Name of the analyzer used by every text and JSON field. It embeds [`SCHEMA_VERSION`], so the
/// schema stored in `meta.json` changes whenever the version does.
pub const TOKENIZER: &str = "chronik_text_v1";

/// Longest token (in bytes) that is indexed; longer tokens are dropped (tantivy's default is 40,
/// which would drop SHA-256 hex digests and similar identifiers).
pub const MAX_TOKEN_LEN: usize = 128;

/// Field name: record offset (`i64`, indexed + fast).
pub const OFFSET: &str = "offset";
/// Field name: record timestamp in ms since the epoch (`i64`, indexed + fast).
pub const TIMESTAMP: &str = "timestamp";
/// Field name: record key (text, indexed only).
pub const KEY: &str = "key";
/// Field name: record value (JSON, indexed only). Object members live at their path, the text
/// of the whole value (plain text, or every leaf of a JSON value) lives at the root path.
pub const VALUE: &str = "value";
/// Field name: record headers (JSON keyed by header name, indexed only). Header values also live
/// at the root path.
pub const HEADERS: &str = "headers";

/// Builds the schema of [`SCHEMA_VERSION`]. Nothing is stored: the index only finds offsets.
pub fn schema() -> Schema {
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions)
        .set_fieldnorms(false);
    let numeric = NumericOptions::default().set_indexed().set_fast();
    let json = JsonObjectOptions::default()
        .set_indexing_options(text_indexing.clone())
        .set_expand_dots_enabled();

    let mut builder = Schema::builder();
    builder.add_i64_field(OFFSET, numeric.clone());
    builder.add_i64_field(TIMESTAMP, numeric);
    builder.add_text_field(
        KEY,
        TextOptions::default().set_indexing_options(text_indexing),
    );
    builder.add_json_field(VALUE, json.clone());
    builder.add_json_field(HEADERS, json);
    builder.build()
}

/// The analyzer behind [`TOKENIZER`]: split on non-alphanumeric characters, drop tokens longer
/// than [`MAX_TOKEN_LEN`] bytes, lowercase.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser)
        .build()
}

/// Registers [`analyzer`] under [`TOKENIZER`]. Called on every code path that creates or opens
/// an index (build, read, merge) and by the query validator, so write-time and query-time
/// analysis are always identical.
pub fn register_analyzers(tokenizers: &TokenizerManager) {
    tokenizers.register(TOKENIZER, analyzer());
}

/// Resolved field handles of [`schema`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    pub offset: Field,
    pub timestamp: Field,
    pub key: Field,
    pub value: Field,
    pub headers: Field,
}

impl Fields {
    /// Resolves the fields by name. Fails with [`IndexError::SchemaMismatch`] if one is missing.
    pub fn resolve(schema: &Schema) -> Result<Fields, IndexError> {
        let get = |name: &str| {
            schema
                .get_field(name)
                .map_err(|_| IndexError::SchemaMismatch(format!("field `{name}` is missing")))
        };
        Ok(Fields {
            offset: get(OFFSET)?,
            timestamp: get(TIMESTAMP)?,
            key: get(KEY)?,
            value: get(VALUE)?,
            headers: get(HEADERS)?,
        })
    }

    /// Fields searched by terms that name no field.
    pub fn default_search_fields(&self) -> Vec<Field> {
        vec![self.key, self.value, self.headers]
    }
}

/// Checks that `index` was written with this version's schema.
pub(crate) fn check_schema(index: &Index) -> Result<(), IndexError> {
    let found = index.schema();
    if found == schema() {
        return Ok(());
    }
    let tokenizers: Vec<String> = found
        .fields()
        .filter_map(|(_, entry)| match entry.field_type() {
            tantivy::schema::FieldType::Str(o) => o.get_indexing_options().map(|i| i.tokenizer()),
            tantivy::schema::FieldType::JsonObject(o) => {
                o.get_text_indexing_options().map(|i| i.tokenizer())
            }
            _ => None,
        })
        .map(str::to_owned)
        .collect();
    Err(IndexError::SchemaMismatch(format!(
        "expected schema version {SCHEMA_VERSION} (analyzer `{TOKENIZER}`), \
         found fields {:?} with analyzers {tokenizers:?}",
        found.fields().map(|(_, e)| e.name()).collect::<Vec<_>>()
    )))
}
