//! The subset of Lucene/Solr query syntax that CKAN clients send in `q` and `fq`.
//!
//! Supported: bare and fielded terms (`tags:economy`), phrases (`"dân số"`), trailing
//! wildcards (`dan*`), `*:*`, groups (`(a OR b)`, `tags:(a OR b)`), the boolean operators
//! `AND`/`&&`, `OR`/`||`, `NOT`/`!`/`-` and the `+` prefix, and ranges with inclusive or
//! exclusive bounds (`metadata_modified:[2025-01-01T00:00:00Z TO *]`, `num_resources:{0 TO 5]`).
//! Juxtaposed clauses are joined with AND, as CKAN's Solr schema does. Anything else is a
//! [`QueryError`], which the API reports as CKAN's "Search Query Error".

use thiserror::Error;

/// Limits that keep a query's cost bounded whatever a client sends.
pub const MAX_QUERY_CHARS: usize = 2_000;
pub const MAX_CLAUSES: usize = 64;
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueryError {
    #[error("the query is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("the query has more than {MAX_CLAUSES} clauses")]
    TooManyClauses,
    #[error("the query nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("unknown field '{0}'")]
    UnknownField(String),
    #[error("syntax error at character {at}: {what}")]
    Syntax { at: usize, what: String },
}

/// One side of a range; `None` is `*`.
pub type Bound = Option<String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// `*:*`
    All,
    /// A term in a field (`None` is the default text field); `prefix` for `term*`.
    Term {
        field: Option<String>,
        value: String,
        prefix: bool,
    },
    /// A phrase in a field.
    Phrase {
        field: Option<String>,
        value: String,
    },
    Range {
        field: String,
        lo: Bound,
        hi: Bound,
        lo_inclusive: bool,
        hi_inclusive: bool,
    },
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
}

/// Parses `input`; `known_field` says which field names exist. An empty query is `*:*`.
pub fn parse(input: &str, known_field: &dyn Fn(&str) -> bool) -> Result<Query, QueryError> {
    if input.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong);
    }
    let tokens = lex(input)?;
    if tokens.is_empty() {
        return Ok(Query::All);
    }
    let mut p = Parser { tokens, pos: 0, clauses: 0, known_field };
    let q = p.or(None, 0)?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(QueryError::Syntax { at: t.at, what: format!("unexpected {}", t.kind.describe()) });
    }
    Ok(q)
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word(String),
    Phrase(String),
    Colon,
    Open,
    Close,
    RangeOpen(bool),
    RangeClose(bool),
    And,
    Or,
    Not,
    Plus,
}

impl Kind {
    fn describe(&self) -> String {
        match self {
            Kind::Word(w) => format!("'{w}'"),
            Kind::Phrase(_) => "a phrase".into(),
            Kind::Colon => "':'".into(),
            Kind::Open => "'('".into(),
            Kind::Close => "')'".into(),
            Kind::RangeOpen(_) => "a range".into(),
            Kind::RangeClose(_) => "the end of a range".into(),
            Kind::And => "AND".into(),
            Kind::Or => "OR".into(),
            Kind::Not => "NOT".into(),
            Kind::Plus => "'+'".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    at: usize,
}

const SPECIAL: &[char] = &[':', '(', ')', '[', ']', '{', '}', '"', ' ', '\t', '\n', '\r'];

fn lex(input: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i;
        let simple = match c {
            ' ' | '\t' | '\n' | '\r' => {
                i += 1;
                continue;
            }
            ':' => Some(Kind::Colon),
            '(' => Some(Kind::Open),
            ')' => Some(Kind::Close),
            '[' => Some(Kind::RangeOpen(true)),
            '{' => Some(Kind::RangeOpen(false)),
            ']' => Some(Kind::RangeClose(true)),
            '}' => Some(Kind::RangeClose(false)),
            '+' => Some(Kind::Plus),
            '-' | '!' if out.last().is_none_or(|t: &Token| !matches!(t.kind, Kind::Colon)) => Some(Kind::Not),
            _ => None,
        };
        if let Some(kind) = simple {
            out.push(Token { kind, at });
            i += 1;
            continue;
        }
        if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(QueryError::Syntax { at, what: "unterminated phrase".into() }),
                    Some('"') => break,
                    Some('\\') if i + 1 < chars.len() => {
                        s.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            out.push(Token { kind: Kind::Phrase(s), at });
            continue;
        }
        if (c == '&' || c == '|') && chars.get(i + 1) == Some(&c) {
            out.push(Token { kind: if c == '&' { Kind::And } else { Kind::Or }, at });
            i += 2;
            continue;
        }
        let mut w = String::new();
        while let Some(&ch) = chars.get(i) {
            if SPECIAL.contains(&ch) {
                break;
            }
            if ch == '\\' {
                match chars.get(i + 1) {
                    Some(n) => {
                        w.push(*n);
                        i += 2;
                        continue;
                    }
                    None => return Err(QueryError::Syntax { at: i, what: "a lone backslash".into() }),
                }
            }
            w.push(ch);
            i += 1;
        }
        let kind = match w.as_str() {
            "AND" => Kind::And,
            "OR" => Kind::Or,
            "NOT" => Kind::Not,
            _ => Kind::Word(w),
        };
        out.push(Token { kind, at });
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    clauses: usize,
    known_field: &'a dyn Fn(&str) -> bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }
    fn at(&self) -> usize {
        self.tokens.get(self.pos).map(|t| t.at).unwrap_or_else(|| self.tokens.last().map(|t| t.at + 1).unwrap_or(0))
    }
    fn syntax<T>(&self, what: &str) -> Result<T, QueryError> {
        Err(QueryError::Syntax { at: self.at(), what: what.into() })
    }

    fn or(&mut self, field: Option<&str>, depth: usize) -> Result<Query, QueryError> {
        if depth > MAX_DEPTH {
            return Err(QueryError::TooDeep);
        }
        let mut parts = vec![self.and(field, depth)?];
        while self.peek() == Some(&Kind::Or) {
            self.pos += 1;
            parts.push(self.and(field, depth)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Query::Or(parts) })
    }

    fn and(&mut self, field: Option<&str>, depth: usize) -> Result<Query, QueryError> {
        let mut parts = vec![self.unary(field, depth)?];
        loop {
            match self.peek() {
                Some(Kind::And) => {
                    self.pos += 1;
                    parts.push(self.unary(field, depth)?);
                }
                Some(Kind::Or | Kind::Close) | None => break,
                Some(_) => parts.push(self.unary(field, depth)?),
            }
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Query::And(parts) })
    }

    fn unary(&mut self, field: Option<&str>, depth: usize) -> Result<Query, QueryError> {
        match self.peek() {
            Some(Kind::Not) => {
                self.pos += 1;
                Ok(Query::Not(Box::new(self.unary(field, depth + 1)?)))
            }
            Some(Kind::Plus) => {
                self.pos += 1;
                self.unary(field, depth + 1)
            }
            _ => self.primary(field, depth),
        }
    }

    fn clause(&mut self) -> Result<(), QueryError> {
        self.clauses += 1;
        if self.clauses > MAX_CLAUSES { Err(QueryError::TooManyClauses) } else { Ok(()) }
    }

    fn primary(&mut self, field: Option<&str>, depth: usize) -> Result<Query, QueryError> {
        let Some(tok) = self.tokens.get(self.pos).cloned() else {
            return self.syntax("the query ends too early");
        };
        match tok.kind {
            Kind::Open => {
                self.pos += 1;
                let q = self.or(field, depth + 1)?;
                if self.peek() != Some(&Kind::Close) {
                    return self.syntax("expected ')'");
                }
                self.pos += 1;
                Ok(q)
            }
            Kind::Phrase(p) => {
                self.pos += 1;
                self.clause()?;
                Ok(Query::Phrase { field: field.map(str::to_string), value: p })
            }
            Kind::Word(w) => {
                self.pos += 1;
                if self.peek() == Some(&Kind::Colon) {
                    if field.is_some() {
                        return self.syntax("a field inside a field");
                    }
                    self.pos += 1;
                    if w == "*" {
                        return match self.tokens.get(self.pos).map(|t| &t.kind) {
                            Some(Kind::Word(v)) if v == "*" => {
                                self.pos += 1;
                                self.clause()?;
                                Ok(Query::All)
                            }
                            _ => self.syntax("only *:* may use the field *"),
                        };
                    }
                    if !(self.known_field)(&w) {
                        return Err(QueryError::UnknownField(w));
                    }
                    return self.value(&w, depth);
                }
                self.clause()?;
                Ok(term(field, &w))
            }
            Kind::RangeOpen(_) => match field {
                Some(f) => self.range(f),
                None => self.syntax("a range needs a field"),
            },
            ref k => self.syntax(&format!("unexpected {}", k.describe())),
        }
    }

    /// What follows `field:`.
    fn value(&mut self, field: &str, depth: usize) -> Result<Query, QueryError> {
        match self.peek().cloned() {
            Some(Kind::Word(v)) => {
                self.pos += 1;
                self.clause()?;
                Ok(term(Some(field), &v))
            }
            Some(Kind::Phrase(v)) => {
                self.pos += 1;
                self.clause()?;
                Ok(Query::Phrase { field: Some(field.to_string()), value: v })
            }
            Some(Kind::Open) => {
                self.pos += 1;
                let q = self.or(Some(field), depth + 1)?;
                if self.peek() != Some(&Kind::Close) {
                    return self.syntax("expected ')'");
                }
                self.pos += 1;
                Ok(q)
            }
            Some(Kind::RangeOpen(_)) => self.range(field),
            _ => self.syntax(&format!("a value for {field}")),
        }
    }

    fn range(&mut self, field: &str) -> Result<Query, QueryError> {
        let Some(Kind::RangeOpen(lo_inclusive)) = self.peek().cloned() else { return self.syntax("expected a range") };
        self.pos += 1;
        let lo = self.bound()?;
        match self.peek() {
            Some(Kind::Word(w)) if w == "TO" => self.pos += 1,
            _ => return self.syntax("expected TO in the range"),
        }
        let hi = self.bound()?;
        let Some(Kind::RangeClose(hi_inclusive)) = self.peek().cloned() else {
            return self.syntax("expected ']' or '}'");
        };
        self.pos += 1;
        self.clause()?;
        Ok(Query::Range { field: field.to_string(), lo, hi, lo_inclusive, hi_inclusive })
    }

    fn bound(&mut self) -> Result<Bound, QueryError> {
        match self.peek().cloned() {
            Some(Kind::Word(w)) => {
                self.pos += 1;
                // A time's colons split it into words: `2025-01-01T00:00:00Z` comes back whole.
                let mut v = w;
                while self.peek() == Some(&Kind::Colon) {
                    self.pos += 1;
                    match self.peek().cloned() {
                        Some(Kind::Word(more)) if more != "TO" => {
                            self.pos += 1;
                            v.push(':');
                            v.push_str(&more);
                        }
                        _ => return self.syntax("a broken range bound"),
                    }
                }
                Ok(if v == "*" { None } else { Some(v) })
            }
            Some(Kind::Phrase(p)) => {
                self.pos += 1;
                Ok(Some(p))
            }
            _ => self.syntax("expected a range bound"),
        }
    }
}

fn term(field: Option<&str>, w: &str) -> Query {
    let field = field.map(str::to_string);
    match w.strip_suffix('*') {
        Some(stem) if !stem.is_empty() && !stem.contains('*') => {
            Query::Term { field, value: stem.to_string(), prefix: true }
        }
        _ => Query::Term { field, value: w.to_string(), prefix: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn known(f: &str) -> bool {
        ["tags", "organization", "metadata_modified", "title", "num_resources", "res_format"].contains(&f)
    }
    fn p(s: &str) -> Result<Query, QueryError> {
        parse(s, &known)
    }
    fn t(field: Option<&str>, v: &str) -> Query {
        Query::Term { field: field.map(str::to_string), value: v.into(), prefix: false }
    }

    #[test]
    fn terms_and_implicit_and() {
        assert_eq!(p("").unwrap(), Query::All);
        assert_eq!(p("*:*").unwrap(), Query::All);
        assert_eq!(p("dân số").unwrap(), Query::And(vec![t(None, "dân"), t(None, "số")]));
        assert_eq!(p("tags:economy").unwrap(), t(Some("tags"), "economy"));
    }

    #[test]
    fn operators_bind_as_lucene() {
        assert_eq!(
            p("a OR b AND c").unwrap(),
            Query::Or(vec![t(None, "a"), Query::And(vec![t(None, "b"), t(None, "c")])])
        );
        assert_eq!(p("a || b").unwrap(), Query::Or(vec![t(None, "a"), t(None, "b")]));
        assert_eq!(p("-tags:x").unwrap(), Query::Not(Box::new(t(Some("tags"), "x"))));
        assert_eq!(p("NOT a").unwrap(), Query::Not(Box::new(t(None, "a"))));
        assert_eq!(
            p("+organization:so-tttt +res_format:CSV").unwrap(),
            Query::And(vec![t(Some("organization"), "so-tttt"), t(Some("res_format"), "CSV")])
        );
        assert_eq!(p("tags:(a OR b)").unwrap(), Query::Or(vec![t(Some("tags"), "a"), t(Some("tags"), "b")]));
    }

    #[test]
    fn hyphens_inside_values_are_not_negation() {
        assert_eq!(p("organization:so-tttt").unwrap(), t(Some("organization"), "so-tttt"));
        assert_eq!(p("organization:-x").unwrap(), t(Some("organization"), "-x"));
    }

    #[test]
    fn phrases_prefixes_ranges() {
        assert_eq!(
            p("title:\"dân số\"").unwrap(),
            Query::Phrase { field: Some("title".into()), value: "dân số".into() }
        );
        assert_eq!(p("dan*").unwrap(), Query::Term { field: None, value: "dan".into(), prefix: true });
        assert_eq!(
            p("metadata_modified:[2025-01-01T00:00:00Z TO *]").unwrap(),
            Query::Range {
                field: "metadata_modified".into(),
                lo: Some("2025-01-01T00:00:00Z".into()),
                hi: None,
                lo_inclusive: true,
                hi_inclusive: true
            }
        );
        assert_eq!(
            p("num_resources:{0 TO 5]").unwrap(),
            Query::Range {
                field: "num_resources".into(),
                lo: Some("0".into()),
                hi: Some("5".into()),
                lo_inclusive: false,
                hi_inclusive: true
            }
        );
    }

    #[test]
    fn errors() {
        assert_eq!(p("colour:red"), Err(QueryError::UnknownField("colour".into())));
        assert!(matches!(p("(a OR b"), Err(QueryError::Syntax { .. })));
        assert!(matches!(p("\"open"), Err(QueryError::Syntax { .. })));
        assert!(matches!(p("tags:"), Err(QueryError::Syntax { .. })));
        assert!(matches!(p("a AND"), Err(QueryError::Syntax { .. })));
        assert!(matches!(p("metadata_modified:[2025 *]"), Err(QueryError::Syntax { .. })));
        assert!(matches!(p(")"), Err(QueryError::Syntax { .. })));
        assert_eq!(p(&"a ".repeat(MAX_CLAUSES + 1)), Err(QueryError::TooManyClauses));
        assert_eq!(p(&"(".repeat(40)), Err(QueryError::TooDeep));
        assert_eq!(p(&"x".repeat(MAX_QUERY_CHARS + 1)), Err(QueryError::TooLong));
    }

    proptest! {
        /// Whatever a client sends, the parser answers (a query or an error) without panicking,
        /// and an accepted query never holds more than the clause limit.
        #[test]
        fn never_panics(s in "[a-z:()\\[\\]{}\"*+!&| -]{0,80}") {
            if let Ok(q) = p(&s) {
                fn count(q: &Query) -> usize {
                    match q {
                        Query::And(v) | Query::Or(v) => v.iter().map(count).sum(),
                        Query::Not(q) => count(q),
                        _ => 1,
                    }
                }
                prop_assert!(count(&q) <= MAX_CLAUSES);
            }
        }
    }
}
