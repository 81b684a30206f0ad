//! Key templates: `"CUSTOMER#{customer_id}"` → text and field parts.

/// One piece of a template, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `{field}`: a Rust field name.
    Field(String),
}

/// Splits a template; `{{` and `}}` are literal braces.
pub fn parse(template: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(format!("unclosed `{{` in key template `{template}`")),
                    }
                }
                let name = name.trim().to_owned();
                if name.is_empty() {
                    return Err(format!("empty `{{}}` in key template `{template}`"));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(name));
            }
            '}' => return Err(format!("unmatched `}}` in key template `{template}`")),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::{Piece, parse};

    #[test]
    fn splits_text_and_fields() {
        assert_eq!(
            parse("CUSTOMER#{id}#{ n }").unwrap(),
            vec![
                Piece::Text("CUSTOMER#".into()),
                Piece::Field("id".into()),
                Piece::Text("#".into()),
                Piece::Field("n".into()),
            ]
        );
        assert_eq!(parse("a{{b}}").unwrap(), vec![Piece::Text("a{b}".into())]);
        assert!(parse("a{b").is_err());
        assert!(parse("a}").is_err());
        assert!(parse("{}").is_err());
    }
}
