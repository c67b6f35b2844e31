//! What a record must hold for a query to match it: a boolean formula over token keys.
//!
//! [`Cond::of`] mirrors how tantivy's query parser turns the (rewritten) query into terms for the
//! version 1 schema — which fields a literal targets, its analyzed tokens, its typed value on a
//! JSON path, how empty literals are trimmed, what `MUST`/`SHOULD`/`MUST_NOT` mean — but keeps
//! only what a match *requires*: negations, ranges, phrase order and positions are dropped
//! (they can only rule out more). So a record the index matches always satisfies the condition;
//! one that satisfies it still has to be checked exactly ([`super::verify`]).

use tantivy::query_grammar::{Occur, UserInputAst, UserInputLeaf, UserInputLiteral};

use super::IndexError;
use super::keys::{Domain, KeyWriter, canonical_path, key, number_token};
use super::query::user_ast;
use super::schema::{HEADERS, KEY, OFFSET, TIMESTAMP, VALUE};

/// A necessary condition on a record's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// Every record may match.
    True,
    /// No record matches.
    False,
    /// The record holds this key (of this domain, at this canonical path; empty at a root).
    Key(Domain, String, u64),
    /// All of these hold.
    And(Vec<Cond>),
    /// At least one of these holds.
    Or(Vec<Cond>),
}

impl Cond {
    /// The condition of `query` (syntax of `docs/FORMATS.md`); fails as the index does on a
    /// query it rejects before any tantivy term is built (syntax, limits, control characters).
    pub fn of(query: &str) -> Result<Cond, IndexError> {
        let Some(ast) = user_ast(query)? else {
            return Ok(Cond::True);
        };
        let mut writer = KeyWriter::new();
        // The whole query trimmed away: tantivy runs an empty query.
        Ok(lower(&ast, &mut writer).unwrap_or(Cond::False))
    }

    /// Whether a record whose keys answer `has` (domain, path, key) may match.
    pub fn holds(&self, has: &impl Fn(Domain, &str, u64) -> bool) -> bool {
        match self {
            Cond::True => true,
            Cond::False => false,
            Cond::Key(d, path, k) => has(*d, path, *k),
            Cond::And(all) => all.iter().all(|c| c.holds(has)),
            Cond::Or(any) => any.iter().any(|c| c.holds(has)),
        }
    }

    fn and(mut parts: Vec<Cond>) -> Cond {
        parts.retain(|c| *c != Cond::True);
        if parts.contains(&Cond::False) {
            return Cond::False;
        }
        match parts.len() {
            0 => Cond::True,
            1 => parts.remove(0),
            _ => Cond::And(parts),
        }
    }

    fn or(mut parts: Vec<Cond>) -> Cond {
        parts.retain(|c| *c != Cond::False);
        if parts.contains(&Cond::True) {
            return Cond::True;
        }
        match parts.len() {
            0 => Cond::False,
            1 => parts.remove(0),
            _ => Cond::Or(parts),
        }
    }
}

/// The condition of `ast`, or `None` where tantivy's parser produces nothing (a literal without
/// tokens, a clause left empty): tantivy then trims it from its parent.
fn lower(ast: &UserInputAst, writer: &mut KeyWriter) -> Option<Cond> {
    match ast {
        UserInputAst::Boost(inner, _) => lower(inner, writer),
        UserInputAst::Leaf(leaf) => lower_leaf(leaf, writer),
        UserInputAst::Clause(children) => {
            let (mut must, mut should, mut any) = (Vec::new(), Vec::new(), false);
            for (occur, child) in children {
                let Some(cond) = lower(child, writer) else {
                    continue;
                };
                any = true;
                // The parser is set to conjunction by default: no operator means MUST.
                match occur.unwrap_or(Occur::Must) {
                    Occur::Must => must.push(cond),
                    Occur::Should => should.push(cond),
                    // Excluding can only rule out more records.
                    Occur::MustNot => {}
                }
            }
            if !any {
                return None;
            }
            // With a MUST clause, SHOULD clauses are optional; without one, one must match; a
            // clause of exclusions alone matches nothing.
            Some(if !must.is_empty() {
                Cond::and(must)
            } else if !should.is_empty() {
                Cond::or(should)
            } else {
                Cond::False
            })
        }
    }
}

fn lower_leaf(leaf: &UserInputLeaf, writer: &mut KeyWriter) -> Option<Cond> {
    match leaf {
        UserInputLeaf::Literal(literal) => lower_literal(literal, writer),
        UserInputLeaf::All | UserInputLeaf::Exists { .. } | UserInputLeaf::Regex { .. } => {
            Some(Cond::True)
        }
        UserInputLeaf::Range { lower, upper, .. } => {
            let unbounded = |b: &tantivy::query_grammar::UserInputBound| {
                matches!(b, tantivy::query_grammar::UserInputBound::Unbounded)
                    || b.term_str() == "*"
            };
            // `[* TO *]` produces nothing.
            (!(unbounded(lower) && unbounded(upper))).then_some(Cond::True)
        }
        // A set that `expand_sets` left is empty: it matches nothing.
        UserInputLeaf::Set { .. } => Some(Cond::False),
    }
}

/// Which field a literal's full path names, as tantivy's parser resolves it for this schema.
enum Target {
    /// `offset` or `timestamp`.
    Number,
    /// `key`.
    Key,
    /// A JSON field (`value` or `headers`) at a path (`""`: the root).
    Json { headers: bool, path: String },
}

fn targets(field: Option<&str>) -> Vec<Target> {
    let json = |headers, path: &str| Target::Json {
        headers,
        path: unescape(path),
    };
    let Some(full) = field else {
        return vec![Target::Key, json(false, ""), json(true, "")];
    };
    for (name, headers) in [(VALUE, false), (HEADERS, true)] {
        if full == name {
            return vec![json(headers, "")];
        }
        if let Some(path) = full.strip_prefix(name).and_then(|p| p.strip_prefix('.')) {
            return vec![json(headers, path)];
        }
    }
    if full == KEY {
        return vec![Target::Key];
    }
    if full == OFFSET || full == TIMESTAMP {
        return vec![Target::Number];
    }
    // Not a field: a path of the JSON default fields.
    vec![json(false, full), json(true, full)]
}

/// The path tantivy's `split_json_path` reads: `\x` is `x`, every dot separates.
fn unescape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut escaped = false;
    for c in path.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    canonical_path(&out)
}

fn lower_literal(literal: &UserInputLiteral, writer: &mut KeyWriter) -> Option<Cond> {
    let tokens = writer.tokens(&literal.phrase);
    // A phrase prefix requires all but its last token; a plain phrase or term, all of them.
    let required = if literal.prefix && !tokens.is_empty() {
        &tokens[..tokens.len() - 1]
    } else {
        &tokens[..]
    };
    let mut alternatives = Vec::new();
    for target in targets(literal.field_name.as_deref()) {
        match target {
            Target::Number => alternatives.push(Cond::True),
            Target::Key => {
                if !tokens.is_empty() {
                    alternatives.push(all_of(Domain::Key, "", required));
                }
            }
            Target::Json { headers, path } => {
                if let Some(typed) = typed_value(headers, &path, &literal.phrase) {
                    alternatives.push(typed);
                }
                if !tokens.is_empty() {
                    let domain = match (headers, path.is_empty()) {
                        (false, true) => Domain::ValueRoot,
                        (false, false) => Domain::ValuePath,
                        (true, true) => Domain::HeaderRoot,
                        (true, false) => Domain::HeaderPath,
                    };
                    alternatives.push(all_of(domain, &path, required));
                }
            }
        }
    }
    (!alternatives.is_empty()).then(|| Cond::or(alternatives))
}

fn all_of(domain: Domain, path: &str, tokens: &[String]) -> Cond {
    Cond::and(
        tokens
            .iter()
            .map(|t| Cond::Key(domain, path.to_owned(), key(domain, path, t.as_bytes())))
            .collect(),
    )
}

/// The typed term tantivy adds for a phrase on a JSON path (a date, else a number, else a
/// boolean), as a condition. Tantivy's numbers are Rust's `i64`, `u64` or `f64` syntax, all
/// within `f64`'s. Dates are not keyed: a phrase shaped like RFC 3339 lets every record through.
fn typed_value(headers: bool, path: &str, phrase: &str) -> Option<Cond> {
    // Header values are always strings, and the root never holds typed values: such a term
    // matches nothing, but it is a term (a literal that is not trimmed).
    let keyed = |domain, token: &[u8]| {
        if headers || path.is_empty() {
            Cond::False
        } else {
            Cond::Key(domain, path.to_owned(), key(domain, path, token))
        }
    };
    if let Ok(number) = phrase.parse::<f64>() {
        return Some(keyed(Domain::ValueNumber, &number_token(number)));
    }
    if let Ok(b) = phrase.parse::<bool>() {
        return Some(keyed(Domain::ValueBool, &[u8::from(b)]));
    }
    // RFC 3339 begins with a four-digit year and a dash.
    let b = phrase.as_bytes();
    let date_like = b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    date_like.then_some(Cond::True)
}
