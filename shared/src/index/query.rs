//! Turning the user's query string plus a [`SearchFilter`] into a tantivy query.
//!
//! Field syntax needs no rewriting: tantivy's `QueryParser` splits `value.country` into the JSON
//! field `value` and the path `country`, and sends bare terms (and `value:word`) to the root path
//! of the JSON default fields, which is where the indexer puts the text of every value and
//! header (see `document.rs`). Two rewrites of the parsed query: [`complete_negations`] fixes the
//! meaning of purely negative sub-queries, and [`expand_sets`] makes `IN [...]` an OR of terms
//! analyzed like any other (tantivy's set query takes its elements verbatim, so `IN [ES]` never
//! matched the lowercased `es`, and `key:IN [user-1]` was rejected).

use std::ops::{Bound, RangeInclusive};
use std::sync::OnceLock;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, EnableScoring, Occur, Query, QueryParser, RangeQuery,
};
use tantivy::query_grammar::{self, Delimiter, UserInputAst, UserInputLeaf, UserInputLiteral};
use tantivy::schema::{Field, Schema};
use tantivy::tokenizer::TokenizerManager;

use super::IndexError;
use super::schema::{Fields, register_analyzers, schema};

/// The longest query accepted, in bytes. With [`MAX_QUERY_NESTING`] it bounds the work of
/// tantivy's grammar, which backtracks over every group that fails to parse: on a 721-byte
/// query of 46 unclosed groups it spent 0.5 s (release build), doubling every ~2 groups (found
/// by fuzzing). Within both limits the worst query measured costs ~11 ms; an `IN [...]` list
/// of 1,000 ids is ~11 KB.
pub const MAX_QUERY_BYTES: usize = 16_384;

/// The deepest nesting of parentheses accepted (`(a OR (b AND c))` nests 2 deep).
pub const MAX_QUERY_NESTING: usize = 12;

/// Restricts a search to documents whose offset and/or timestamp lie in inclusive ranges.
/// `Default` filters nothing; an empty range (`start > end`) matches nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Inclusive range of record offsets.
    pub offsets: Option<RangeInclusive<i64>>,
    /// Inclusive range of record timestamps (ms since the epoch).
    pub timestamps: Option<RangeInclusive<i64>>,
}

/// Compiles query strings for one schema: default fields `key`, `value`, `headers`; terms
/// separated by spaces are ANDed.
pub(crate) struct QueryCompiler {
    parser: QueryParser,
    schema: Schema,
    fields: Fields,
}

impl QueryCompiler {
    /// `tokenizers` must have had [`register_analyzers`] applied.
    pub fn new(tokenizers: TokenizerManager) -> Result<QueryCompiler, IndexError> {
        let schema = schema();
        let fields = Fields::resolve(&schema)?;
        let mut parser =
            QueryParser::new(schema.clone(), fields.default_search_fields(), tokenizers);
        parser.set_conjunction_by_default();
        Ok(QueryCompiler {
            parser,
            schema,
            fields,
        })
    }

    /// Parses `query` (an empty or all-whitespace query matches every document) and checks that
    /// tantivy can execute it: some queries parse but only fail when run (range or `field:*` on
    /// a JSON path need fast fields); those are reported here as [`IndexError::InvalidQuery`].
    pub fn parse(&self, query: &str) -> Result<Box<dyn Query>, IndexError> {
        let Some(ast) = user_ast(query)? else {
            return Ok(Box::new(AllQuery));
        };
        let build = || -> Result<Box<dyn Query>, IndexError> {
            let parsed = self
                .parser
                .build_query_from_user_input_ast(ast)
                .map_err(|e| IndexError::InvalidQuery(e.to_string()))?;
            parsed
                .weight(EnableScoring::disabled_from_schema(&self.schema))
                .map_err(|e| IndexError::InvalidQuery(e.to_string()))?;
            Ok(parsed)
        };
        // Whatever else in tantivy's query building may panic on odd input is a bad query too.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)).unwrap_or_else(|_| {
            Err(IndexError::InvalidQuery(
                "the query cannot be compiled".to_owned(),
            ))
        })
    }

    /// [`QueryCompiler::parse`], ANDed with the ranges of `filter`. `Ok(None)` when a range is
    /// empty, i.e. nothing can match.
    pub fn compile(
        &self,
        query: &str,
        filter: &SearchFilter,
    ) -> Result<Option<Box<dyn Query>>, IndexError> {
        let mut clauses = vec![(Occur::Must, self.parse(query)?)];
        for (field, range) in [
            (self.fields.offset, &filter.offsets),
            (self.fields.timestamp, &filter.timestamps),
        ] {
            if let Some(range) = range {
                let Some(range_query) = range_query(field, range) else {
                    return Ok(None);
                };
                clauses.push((Occur::Must, range_query));
            }
        }
        if clauses.len() == 1 {
            return Ok(clauses.pop().map(|(_, query)| query));
        }
        Ok(Some(Box::new(BooleanQuery::new(clauses))))
    }
}

/// The parsed, rewritten query ([`expand_sets`], then [`complete_negations`]) that the index
/// runs; `None` for an empty query (every record). Rejects control characters and queries over
/// the complexity limits; says nothing about whether tantivy can run it ([`QueryCompiler::parse`]).
pub(crate) fn user_ast(query: &str) -> Result<Option<UserInputAst>, IndexError> {
    if query.trim().is_empty() {
        return Ok(None);
    }
    // Tantivy's JSON terms use NUL and 0x01 as path separators; a path holding them panics
    // while the term is built (found by fuzzing). No query needs control characters.
    if let Some(c) = query.chars().find(|c| c.is_control() && !c.is_whitespace()) {
        return Err(IndexError::InvalidQuery(format!(
            "the query contains the control character {:?}",
            c
        )));
    }
    check_complexity(query)?;
    let ast = query_grammar::parse_query(query)
        .map_err(|_| IndexError::InvalidQuery(syntax_error_reason(query)))?;
    Ok(Some(complete_negations(expand_sets(ast))))
}

/// Returns `Some(reason)` when `query` would be rejected by [`super::IndexReader::search`] with
/// [`IndexError::InvalidQuery`], `None` when it is valid. Needs no index: lets an API reject a
/// bad query before fetching any archive.
pub fn query_syntax_error(query: &str) -> Option<String> {
    static COMPILER: OnceLock<Result<QueryCompiler, String>> = OnceLock::new();
    let compiler = COMPILER.get_or_init(|| {
        let tokenizers = TokenizerManager::default();
        register_analyzers(&tokenizers);
        QueryCompiler::new(tokenizers).map_err(|e| e.to_string())
    });
    let result = match compiler {
        Ok(compiler) => compiler.parse(query),
        Err(reason) => return Some(reason.clone()),
    };
    match result {
        Ok(_) => None,
        Err(IndexError::InvalidQuery(reason)) => Some(reason),
        Err(other) => Some(other.to_string()),
    }
}

/// Rejects queries over [`MAX_QUERY_BYTES`] or nesting parentheses deeper than
/// [`MAX_QUERY_NESTING`], before tantivy's grammar sees them. Parentheses inside a quoted
/// phrase or escaped with `\\` are text, not groups, and are not counted.
fn check_complexity(query: &str) -> Result<(), IndexError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(IndexError::InvalidQuery(format!(
            "the query is {} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            query.len()
        )));
    }
    let (mut depth, mut in_phrase, mut escaped) = (0usize, false, false);
    for c in query.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => in_phrase = !in_phrase,
            '(' if !in_phrase => {
                depth += 1;
                if depth > MAX_QUERY_NESTING {
                    return Err(IndexError::InvalidQuery(format!(
                        "the query nests parentheses more than {MAX_QUERY_NESTING} deep"
                    )));
                }
            }
            ')' if !in_phrase => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// tantivy's strict grammar says nothing but "syntax error"; its lenient parser says where and
/// why.
fn syntax_error_reason(query: &str) -> String {
    let (_, errors) = query_grammar::parse_query_lenient(query);
    let details: Vec<String> = errors
        .iter()
        .map(|e| format!("{} at byte {}", e.message, e.pos))
        .collect();
    if details.is_empty() {
        format!("syntax error in {query:?}")
    } else {
        format!("syntax error in {query:?}: {}", details.join("; "))
    }
}

/// The only query rewrite. In tantivy a boolean clause made of negations alone matches nothing
/// (`a AND NOT b` becomes `a AND (NOT b)`, which is empty) and a top-level one is rejected
/// (`-b`: "AllButQueryForbidden"). Adding a match-all clause to every such clause gives `NOT b`,
/// `-b`, `a AND NOT b` and `a OR NOT b` their boolean meaning.
fn complete_negations(ast: UserInputAst) -> UserInputAst {
    match ast {
        UserInputAst::Clause(children) => {
            let mut children: Vec<_> = children
                .into_iter()
                .map(|(occur, child)| (occur, complete_negations(child)))
                .collect();
            let negative = |(occur, _): &(Option<query_grammar::Occur>, UserInputAst)| {
                *occur == Some(query_grammar::Occur::MustNot)
            };
            if !children.is_empty() && children.iter().all(negative) {
                let all = UserInputAst::Leaf(Box::new(UserInputLeaf::All));
                children.push((Some(query_grammar::Occur::Must), all));
            }
            UserInputAst::Clause(children)
        }
        UserInputAst::Boost(inner, boost) => {
            UserInputAst::Boost(Box::new(complete_negations(*inner)), boost)
        }
        leaf @ UserInputAst::Leaf(_) => leaf,
    }
}

/// Replaces each `field:IN [a b c]` by `(field:a OR field:b OR field:c)`: every element then goes
/// through the field's analyzer (and, on JSON paths, the typed-value rules) as an equality term
/// does. An empty set is left as it is (it matches nothing).
fn expand_sets(ast: UserInputAst) -> UserInputAst {
    match ast {
        UserInputAst::Clause(children) => UserInputAst::Clause(
            children
                .into_iter()
                .map(|(occur, child)| (occur, expand_sets(child)))
                .collect(),
        ),
        UserInputAst::Boost(inner, boost) => {
            UserInputAst::Boost(Box::new(expand_sets(*inner)), boost)
        }
        UserInputAst::Leaf(leaf) => match *leaf {
            UserInputLeaf::Set { field, elements } if !elements.is_empty() => UserInputAst::Clause(
                elements
                    .into_iter()
                    .map(|phrase| {
                        let literal = UserInputLiteral {
                            field_name: field.clone(),
                            phrase,
                            delimiter: Delimiter::None,
                            slop: 0,
                            prefix: false,
                        };
                        let leaf = UserInputAst::Leaf(Box::new(UserInputLeaf::Literal(literal)));
                        (Some(query_grammar::Occur::Should), leaf)
                    })
                    .collect(),
            ),
            other => UserInputAst::Leaf(Box::new(other)),
        },
    }
}

fn range_query(field: Field, range: &RangeInclusive<i64>) -> Option<Box<dyn Query>> {
    if range.is_empty() {
        return None;
    }
    Some(Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_i64(field, *range.start())),
        Bound::Included(Term::from_field_i64(field, *range.end())),
    )))
}
