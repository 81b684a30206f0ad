//! The parser's machinery shared by every kind of expression: the token cursor, syntax
//! errors, nesting and operator limits, document paths and placeholders.
//!
//! The grammars themselves live with the types they build: [`super::condition`],
//! [`super::update`], [`super::projection`]. Parsing is recursive descent over the
//! tokens of [`super::lexer`]; recursion is bounded by [`MAX_NESTING_DEPTH`].

use super::context::ExprContext;
use super::errors::{ExprKind, Problem, Problems};
use super::lexer::{Token, TokenKind, tokenize};
use super::path::{MAX_PATH_DEPTH, Path, PathElement};
use super::reserved::is_reserved_word;
use crate::error::DataError;
use crate::value::Value;

/// The longest expression DynamoDB accepts, in bytes.
pub const MAX_EXPRESSION_SIZE: usize = 4096;

/// The deepest nesting of parentheses, `NOT`s and function calls Portico accepts.
/// DynamoDB documents no such limit (its 300-operator limit bounds nesting too); this
/// one keeps parsing and evaluation far from the stack's limits.
pub const MAX_NESTING_DEPTH: usize = 100;

/// The most operators and functions one expression may use.
pub const MAX_OPERATORS: usize = 300;

/// A recursive-descent parser over one expression's tokens.
pub(crate) struct Parser<'t, 'c, 'a> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    operators: usize,
    /// Which parameter the expression came from.
    pub kind: ExprKind,
    /// The request's placeholders.
    pub ctx: &'c mut ExprContext<'a>,
    /// Problems found so far (other than syntax errors, which stop parsing).
    pub problems: Problems,
}

impl<'t, 'c, 'a> Parser<'t, 'c, 'a> {
    /// A parser for `text`, after DynamoDB's checks on the whole string.
    ///
    /// # Errors
    /// "The expression can not be empty;" and "Expression size has exceeded the maximum
    /// allowed size; expression size: N".
    pub fn new(
        text: &'t str,
        kind: ExprKind,
        ctx: &'c mut ExprContext<'a>,
    ) -> Result<Self, DataError> {
        if text.is_empty() {
            return Err(kind.error("The expression can not be empty;"));
        }
        if text.len() > MAX_EXPRESSION_SIZE {
            return Err(kind.error(format_args!(
                "Expression size has exceeded the maximum allowed size; expression size: {}",
                text.len()
            )));
        }
        Ok(Self {
            text,
            tokens: tokenize(text),
            pos: 0,
            depth: 0,
            operators: 0,
            kind,
            ctx,
            problems: Problems::default(),
        })
    }

    /// Ends parsing: the first problem DynamoDB would report, if any.
    pub fn finish(self) -> Result<(), DataError> {
        self.problems.into_result(self.kind)
    }

    /// The token `ahead` places past the current one (the last token is `Eof`).
    pub fn peek_at(&self, ahead: usize) -> Token {
        let eof = Token {
            kind: TokenKind::Eof,
            start: self.text.len(),
            end: self.text.len(),
        };
        self.tokens.get(self.pos + ahead).copied().unwrap_or(eof)
    }

    /// The current token.
    pub fn peek(&self) -> Token {
        self.peek_at(0)
    }

    /// Whether the current token is of `kind`.
    pub fn at(&self, kind: TokenKind) -> bool {
        self.peek().kind == kind
    }

    /// The source text of `token`.
    pub fn text_of(&self, token: Token) -> &'t str {
        self.text.get(token.start..token.end).unwrap_or("")
    }

    /// Whether the current token is the keyword `keyword` (any letter case).
    pub fn at_keyword(&self, keyword: &str) -> bool {
        let token = self.peek();
        token.kind == TokenKind::Ident && self.text_of(token).eq_ignore_ascii_case(keyword)
    }

    /// Moves past the current token and returns it.
    pub fn advance(&mut self) -> Token {
        let token = self.peek();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        token
    }

    /// Moves past the current token if it is of `kind`.
    pub fn eat(&mut self, kind: TokenKind) -> bool {
        let found = self.at(kind);
        if found {
            self.advance();
        }
        found
    }

    /// Moves past a token of `kind`, or fails with a syntax error at the current token.
    pub fn expect(&mut self, kind: TokenKind) -> Result<Token, DataError> {
        if self.at(kind) {
            Ok(self.advance())
        } else {
            Err(self.syntax_error())
        }
    }

    /// Fails with a syntax error unless all tokens were consumed.
    pub fn expect_end(&self) -> Result<(), DataError> {
        if self.at(TokenKind::Eof) {
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    /// DynamoDB's syntax error at the current token: the token, and the text from the
    /// token before it to the token after it.
    pub fn syntax_error(&self) -> DataError {
        let token = self.peek();
        let start = match self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)) {
            Some(previous) => previous.start,
            None => token.start,
        };
        let (shown, end) = if token.kind == TokenKind::Eof {
            ("<EOF>", token.start)
        } else {
            let next = self.peek_at(1);
            let end = if next.kind == TokenKind::Eof {
                token.end
            } else {
                next.end
            };
            (self.text_of(token), end)
        };
        let near = self.text.get(start..end).unwrap_or("");
        self.kind.syntax_error(shown, near)
    }

    /// Enters one level of nesting.
    ///
    /// # Errors
    /// A validation error past [`MAX_NESTING_DEPTH`] levels.
    pub fn enter(&mut self) -> Result<(), DataError> {
        self.depth += 1;
        if self.depth > MAX_NESTING_DEPTH {
            return Err(self.kind.error(format_args!(
                "The expression has too many nesting levels; maximum nesting levels: {MAX_NESTING_DEPTH}"
            )));
        }
        Ok(())
    }

    /// Leaves a level entered with [`Parser::enter`].
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Counts one operator or function.
    ///
    /// # Errors
    /// DynamoDB's error past [`MAX_OPERATORS`].
    pub fn count_operator(&mut self) -> Result<(), DataError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(self.kind.error(format_args!(
                "The expression contains too many operators; operator count: {}",
                self.operators
            )));
        }
        Ok(())
    }

    /// Parses a document path. `is_keyword` tells the words the grammar reserves for
    /// itself, which cannot name attributes.
    pub fn path(&mut self, is_keyword: fn(&str) -> bool) -> Result<Path, DataError> {
        let mut elements = vec![self.path_name(is_keyword)?];
        loop {
            if self.eat(TokenKind::Dot) {
                elements.push(self.path_name(is_keyword)?);
            } else if self.at(TokenKind::LBracket) {
                self.advance();
                let token = self.peek();
                let index = match token.kind {
                    TokenKind::Number => self.text_of(token).parse::<u32>().ok(),
                    _ => None,
                };
                let Some(index) = index else {
                    return Err(self.syntax_error());
                };
                self.advance();
                self.expect(TokenKind::RBracket)?;
                elements.push(PathElement::Index(index as usize));
            } else {
                break;
            }
            if elements.len() > MAX_PATH_DEPTH {
                return Err(self.kind.error(format_args!(
                    "The document path has too many nesting levels; nesting levels: {}",
                    elements.len()
                )));
            }
        }
        Path::new(elements).ok_or_else(|| self.syntax_error())
    }

    /// One attribute name of a path: a plain name (not a reserved word) or `#name`.
    fn path_name(&mut self, is_keyword: fn(&str) -> bool) -> Result<PathElement, DataError> {
        let token = self.peek();
        let text = self.text_of(token);
        match token.kind {
            TokenKind::Ident if !is_keyword(text) => {
                self.advance();
                if is_reserved_word(text) {
                    self.problems.report(
                        Problem::Reserved,
                        format!("Attribute name is a reserved keyword; reserved keyword: {text}"),
                    );
                }
                Ok(PathElement::Attr(text.to_owned()))
            }
            TokenKind::Name => {
                self.advance();
                let name = match self.ctx.name(text) {
                    Some(name) => name.to_owned(),
                    None => {
                        self.problems.report(
                            Problem::UndefinedName,
                            format!(
                                "An expression attribute name used in the document path is not defined; attribute name: {text}"
                            ),
                        );
                        text.to_owned()
                    }
                };
                Ok(PathElement::Attr(name))
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// Parses a `:value` placeholder and returns its value (`NULL` when undefined; the
    /// problem is recorded and parsing fails at the end).
    pub fn value(&mut self) -> Result<Value, DataError> {
        let token = self.expect(TokenKind::Value)?;
        let text = self.text_of(token);
        Ok(match self.ctx.value(text) {
            Some(value) => value.clone(),
            None => {
                self.problems.report(
                    Problem::UndefinedValue,
                    format!(
                        "An expression attribute value used in expression is not defined; attribute value: {text}"
                    ),
                );
                Value::Null
            }
        })
    }
}

/// DynamoDB's name for a value's type in `ADD`/`DELETE` operand errors.
pub(crate) fn long_type_name(value: &Value) -> &'static str {
    match value {
        Value::S(_) => "STRING",
        Value::N(_) => "NUMBER",
        Value::B(_) => "BINARY",
        Value::Bool(_) => "BOOLEAN",
        Value::Null => "NULL",
        Value::M(_) => "MAP",
        Value::L(_) => "LIST",
        Value::Ss(_) => "SS",
        Value::Ns(_) => "NS",
        Value::Bs(_) => "BS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Placeholders;

    fn no_keywords(_: &str) -> bool {
        false
    }

    fn with_parser<T>(
        text: &str,
        placeholders: &Placeholders,
        f: impl FnOnce(&mut Parser) -> Result<T, DataError>,
    ) -> Result<T, DataError> {
        let mut ctx = ExprContext::new(placeholders);
        let mut parser = Parser::new(text, ExprKind::Projection, &mut ctx)?;
        let out = f(&mut parser)?;
        parser.expect_end()?;
        parser.finish()?;
        Ok(out)
    }

    #[test]
    fn empty_and_oversized_expressions_are_refused() {
        let p = Placeholders::default();
        let mut ctx = ExprContext::new(&p);
        let error = Parser::new("", ExprKind::Condition, &mut ctx)
            .err()
            .unwrap();
        assert_eq!(
            error.message(),
            "Invalid ConditionExpression: The expression can not be empty;"
        );
        let long = "a".repeat(MAX_EXPRESSION_SIZE + 1);
        let error = Parser::new(&long, ExprKind::Condition, &mut ctx)
            .err()
            .unwrap();
        assert_eq!(
            error.message(),
            "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097"
        );
        let exact = "a".repeat(MAX_EXPRESSION_SIZE);
        assert!(Parser::new(&exact, ExprKind::Condition, &mut ctx).is_ok());
    }

    #[test]
    fn paths_resolve_names() {
        let p = Placeholders {
            names: [("#n".to_owned(), "my name".to_owned())].into(),
            ..Placeholders::default()
        };
        let path = with_parser("#n[3].b", &p, |parser| parser.path(no_keywords)).unwrap();
        assert_eq!(
            path.elements(),
            [
                PathElement::Attr("my name".into()),
                PathElement::Index(3),
                PathElement::Attr("b".into())
            ]
        );
    }

    #[test]
    fn path_errors() {
        let p = Placeholders::default();
        let message = |text: &str| {
            with_parser(text, &p, |parser| parser.path(no_keywords))
                .unwrap_err()
                .message()
        };
        assert_eq!(
            message("#x"),
            "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"
        );
        assert_eq!(
            message("a.Status"),
            "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: Status"
        );
        assert_eq!(
            message("a[-1]"),
            "Invalid ProjectionExpression: Syntax error; token: \"-\", near: \"[-1\""
        );
        assert_eq!(
            message("a[99999999999]"),
            "Invalid ProjectionExpression: Syntax error; token: \"99999999999\", near: \"[99999999999]\""
        );
        assert_eq!(
            message("a."),
            "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \".\""
        );
        assert_eq!(
            message("1a"),
            "Invalid ProjectionExpression: Syntax error; token: \"1\", near: \"1a\""
        );
        let deep = format!("a{}", ".b".repeat(MAX_PATH_DEPTH));
        assert_eq!(
            message(&deep),
            "Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33"
        );
        let deepest = format!("a{}", "[0]".repeat(MAX_PATH_DEPTH - 1));
        assert!(with_parser(&deepest, &p, |parser| parser.path(no_keywords)).is_ok());
    }

    #[test]
    fn syntax_errors_show_the_surrounding_tokens() {
        let p = Placeholders::default();
        let mut ctx = ExprContext::new(&p);
        let mut parser = Parser::new("ADD hits : incr", ExprKind::Update, &mut ctx).unwrap();
        parser.advance();
        parser.advance();
        assert_eq!(
            parser.syntax_error().message(),
            "Invalid UpdateExpression: Syntax error; token: \":\", near: \"hits : incr\""
        );
        let mut parser = Parser::new("INVALID SYNTAX HERE", ExprKind::Update, &mut ctx).unwrap();
        assert_eq!(
            parser.syntax_error().message(),
            "Invalid UpdateExpression: Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\""
        );
        parser.advance();
        parser.advance();
        parser.advance();
        assert_eq!(
            parser.syntax_error().message(),
            "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"HERE\""
        );
    }

    #[test]
    fn nesting_and_operator_limits() {
        let p = Placeholders::default();
        let mut ctx = ExprContext::new(&p);
        let mut parser = Parser::new("a", ExprKind::Filter, &mut ctx).unwrap();
        for _ in 0..MAX_NESTING_DEPTH {
            parser.enter().unwrap();
        }
        assert!(parser.enter().is_err());
        for _ in 0..MAX_OPERATORS {
            parser.count_operator().unwrap();
        }
        assert_eq!(
            parser.count_operator().unwrap_err().message(),
            "Invalid FilterExpression: The expression contains too many operators; operator count: 301"
        );
    }
}
