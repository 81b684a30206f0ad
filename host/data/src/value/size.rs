//! Item size, counted the way DynamoDB counts it for its 400 KB limit.

use super::{Item, Value};

/// The largest item DynamoDB stores: 400 KB, names and values included.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// The size of an item: for every attribute, its name's UTF-8 length plus its value's size.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// The size of one value, per DynamoDB's rules: strings and binaries by length, numbers
/// one byte per two significant digits plus one, booleans and null one byte, lists and
/// maps three bytes plus one per element plus their contents, sets the sum of members.
pub fn value_size(value: &Value) -> usize {
    match value {
        Value::S(text) => text.len(),
        Value::N(number) => number.stored_size(),
        Value::B(bytes) => bytes.len(),
        Value::Bool(_) | Value::Null => 1,
        Value::M(map) => {
            3 + map
                .iter()
                .map(|(name, value)| 1 + name.len() + value_size(value))
                .sum::<usize>()
        }
        Value::L(list) => {
            3 + list
                .iter()
                .map(|value| 1 + value_size(value))
                .sum::<usize>()
        }
        Value::Ss(set) => set.members().iter().map(String::len).sum(),
        Value::Ns(set) => set.members().iter().map(|n| n.stored_size()).sum(),
        Value::Bs(set) => set.members().iter().map(Vec::len).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_names_and_values() {
        let mut item = Item::new();
        item.insert("id".into(), Value::s("abc"));
        item.insert("n".into(), Value::n(12345));
        assert_eq!(item_size(&item), 2 + 3 + 1 + 4);
    }
}
