//! The document-arena fuzz target's entry point (built with the `fuzzing` feature; the
//! WIT types it builds are private to this module's parent).
//!
//! A guest hands the host documents as flat arenas of nodes that refer to each other by
//! index. [`arena`] turns fuzzer bytes into such an arena, with indices that may point
//! anywhere, back, twice or nowhere, and checks what [`super::convert`] promises: it never
//! panics, never loops and never expands a document, and whatever it accepts writes back
//! and reads again as the same value.

use super::bindings::portico::edge::data as wit;
use super::convert::{value_from_wit, value_to_wit};

/// Most nodes one input builds: enough for deep and wide documents, small enough that
/// one input stays fast.
const MAX_NODES: usize = 512;

/// Reads `data` as a document arena and checks the reader on it.
///
/// # Panics
/// When the reader breaks its contract: a value it accepted does not survive
/// being written back and read again.
pub fn arena(data: &[u8]) {
    let document = document(data);
    let Ok(value) = value_from_wit(document) else {
        return;
    };
    let again = value_from_wit(value_to_wit(&value))
        .expect("a document the host wrote from an accepted value reads back");
    assert_eq!(again, value, "the value changed on its way back");
}

/// Bytes to nodes: each node is a tag byte and its contents. Lengths and indices are one
/// byte each, so a short input can say every shape (and every wrong index).
fn document(data: &[u8]) -> wit::Document {
    let mut input = Bytes(data);
    let mut nodes = Vec::new();
    while nodes.len() < MAX_NODES {
        let Some(tag) = input.byte() else { break };
        let node = match tag % 10 {
            0 => wit::Value::Null,
            1 => wit::Value::Boolean(tag & 0x80 != 0),
            2 => wit::Value::S(input.text()),
            3 => wit::Value::N(input.number()),
            4 => wit::Value::B(input.bytes()),
            5 => wit::Value::Ss((0..input.count()).map(|_| input.text()).collect()),
            6 => wit::Value::Ns((0..input.count()).map(|_| input.number()).collect()),
            7 => wit::Value::Bs((0..input.count()).map(|_| input.bytes()).collect()),
            8 => wit::Value::L((0..input.count()).map(|_| input.index()).collect()),
            _ => wit::Value::M(
                (0..input.count())
                    .map(|_| (input.text(), input.index()))
                    .collect(),
            ),
        };
        nodes.push(node);
    }
    wit::Document { nodes }
}

/// The unread rest of the input; reads past its end give zeros and empty strings.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn count(&mut self) -> usize {
        usize::from(self.byte().unwrap_or(0) % 8)
    }

    fn index(&mut self) -> u32 {
        match self.byte().unwrap_or(0) {
            // A few indices far out of range, to reach the "does not exist" paths.
            0xff => u32::MAX,
            0xfe => 1 << 20,
            b => u32::from(b),
        }
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = usize::from(self.byte().unwrap_or(0) % 16).min(self.0.len());
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        taken.to_vec()
    }

    fn text(&mut self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// Mostly plausible numbers (so the nested paths are reached), sometimes raw text.
    fn number(&mut self) -> String {
        const NUMBERS: [&str; 8] = [
            "0",
            "-1",
            "1.5",
            "1E+2",
            "99999999999999999999999999999999999999",
            "1e126",
            "-0.000000000000000000000000000000000000000000001",
            "1e-131",
        ];
        match self.byte() {
            Some(b) if b < 0xc0 => NUMBERS[usize::from(b) % NUMBERS.len()].to_string(),
            _ => self.text(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_data::Value;

    #[test]
    fn bytes_say_a_nested_document() {
        // M{"a": L[S "x", N 1.5]} as nodes 0..=3.
        let data = [9, 1, 1, b'a', 1, 8, 2, 2, 3, 2, 1, b'x', 3, 2];
        let value = value_from_wit(document(&data)).expect("a well-formed document");
        let expected = Value::M(
            [(
                "a".to_string(),
                Value::L(vec![
                    Value::S("x".into()),
                    Value::N("1.5".parse().expect("a number")),
                ]),
            )]
            .into(),
        );
        assert_eq!(value, expected);
        arena(&data);
    }

    #[test]
    fn a_node_used_twice_is_refused() {
        // L[1, 1] and a null.
        let data = [8, 2, 1, 1, 0];
        assert!(value_from_wit(document(&data)).is_err());
        arena(&data);
    }
}
