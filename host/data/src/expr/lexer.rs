//! Splits an expression into tokens.
//!
//! The lexer never fails: a character that starts no token becomes an [`TokenKind::Unknown`]
//! token, which the parser then reports as a syntax error with DynamoDB's
//! `token: "…", near: "…"` context.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A name: `[A-Za-z_][A-Za-z0-9_]*` (attribute names, keywords, function names).
    Ident,
    /// An expression attribute name: `#` followed by `[A-Za-z0-9_]+`.
    Name,
    /// An expression attribute value: `:` followed by `[A-Za-z0-9_]+`.
    Value,
    /// A run of decimal digits (list indexes).
    Number,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `,`.
    Comma,
    /// `.`.
    Dot,
    /// `=`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Plus,
    /// `-`.
    Minus,
    /// One character that starts no token (including a bare `#` or `:`).
    Unknown,
    /// The end of the expression.
    Eof,
}

/// A token and where it is in the expression (byte offsets, on character boundaries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Offset of its first byte.
    pub start: usize,
    /// Offset just past its last byte.
    pub end: usize,
}

/// Whether `b` may continue a name or placeholder.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `text` into tokens. The last token is always [`TokenKind::Eof`].
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let Some(&b) = bytes.get(pos) else { break };
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            pos += 1;
            continue;
        }
        let run_end = |from: usize, accept: fn(u8) -> bool| {
            from + bytes
                .get(from..)
                .map_or(0, |rest| rest.iter().take_while(|&&c| accept(c)).count())
        };
        let next = bytes.get(pos + 1).copied();
        let (kind, end) = match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => (TokenKind::Ident, run_end(pos, is_name_byte)),
            b'0'..=b'9' => (TokenKind::Number, run_end(pos, |c| c.is_ascii_digit())),
            b'#' | b':' => {
                let end = run_end(pos + 1, is_name_byte);
                if end == pos + 1 {
                    (TokenKind::Unknown, end)
                } else if b == b'#' {
                    (TokenKind::Name, end)
                } else {
                    (TokenKind::Value, end)
                }
            }
            b'(' => (TokenKind::LParen, pos + 1),
            b')' => (TokenKind::RParen, pos + 1),
            b'[' => (TokenKind::LBracket, pos + 1),
            b']' => (TokenKind::RBracket, pos + 1),
            b',' => (TokenKind::Comma, pos + 1),
            b'.' => (TokenKind::Dot, pos + 1),
            b'=' => (TokenKind::Eq, pos + 1),
            b'+' => (TokenKind::Plus, pos + 1),
            b'-' => (TokenKind::Minus, pos + 1),
            b'<' => match next {
                Some(b'=') => (TokenKind::Le, pos + 2),
                Some(b'>') => (TokenKind::Ne, pos + 2),
                _ => (TokenKind::Lt, pos + 1),
            },
            b'>' => match next {
                Some(b'=') => (TokenKind::Ge, pos + 2),
                _ => (TokenKind::Gt, pos + 1),
            },
            _ => {
                // One whole character, however many bytes it takes.
                let width = text
                    .get(pos..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(1, char::len_utf8);
                (TokenKind::Unknown, pos + width)
            }
        };
        tokens.push(Token { kind, start, end });
        pos = end;
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        start: text.len(),
        end: text.len(),
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).into_iter().map(|t| t.kind).collect()
    }

    fn texts(text: &str) -> Vec<&str> {
        tokenize(text)
            .into_iter()
            .map(|t| &text[t.start..t.end])
            .collect()
    }

    #[test]
    fn names_placeholders_and_numbers() {
        use TokenKind::*;
        assert_eq!(
            kinds("a_1 #n0 :v_x 42 _x"),
            [Ident, Name, Value, Number, Ident, Eof]
        );
        assert_eq!(
            texts("a.b[12].#c"),
            ["a", ".", "b", "[", "12", "]", ".", "#c", ""]
        );
    }

    #[test]
    fn operators() {
        use TokenKind::*;
        assert_eq!(
            kinds("= <> < <= > >= + - ( ) [ ] , ."),
            [
                Eq, Ne, Lt, Le, Gt, Ge, Plus, Minus, LParen, RParen, LBracket, RBracket, Comma,
                Dot, Eof
            ]
        );
        assert_eq!(kinds("a<=b"), [Ident, Le, Ident, Eof]);
        assert_eq!(kinds("a<>b"), [Ident, Ne, Ident, Eof]);
    }

    #[test]
    fn stray_characters_become_unknown_tokens() {
        use TokenKind::*;
        assert_eq!(kinds("a : b"), [Ident, Unknown, Ident, Eof]);
        assert_eq!(kinds("# !"), [Unknown, Unknown, Eof]);
        assert_eq!(texts("aé\"x"), ["a", "é", "\"", "x", ""]);
    }

    #[test]
    fn whitespace_is_skipped_and_eof_is_last() {
        assert_eq!(kinds(""), [TokenKind::Eof]);
        assert_eq!(kinds(" \t\r\n"), [TokenKind::Eof]);
        let tokens = tokenize("ab  ");
        assert_eq!(tokens.last().map(|t| (t.start, t.end)), Some((4, 4)));
    }
}
