//! Values ⇄ the WIT `document` arena.
//!
//! WIT types cannot be recursive, so a value tree travels as a list of nodes, the root
//! first, where `L` and `M` nodes name their children by index. Writing is
//! breadth-first, so every child comes after its parent. Reading checks that every index
//! points forward and inside the list, that no node has two parents and that every node
//! belongs to the tree; it then builds the values from the last node back to the first,
//! without recursion.

use std::collections::{BTreeMap, VecDeque};

use crate::bindings::portico::edge::data as wit;
use crate::data::{Error, Item, Number, Value};

/// Deepest nesting accepted from the host (DynamoDB allows 32 levels).
const MAX_DEPTH: u32 = 64;

fn index(i: usize) -> u32 {
    // A document of more than 4 billion nodes cannot be built in a 32-bit guest.
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// A node to write: a value, or an item's map.
enum Node<'a> {
    Value(&'a Value),
    Map(&'a BTreeMap<String, Value>),
}

/// Flattens a tree breadth-first, so that every child comes after its parent.
fn flatten(root: Node<'_>) -> wit::Document {
    let mut nodes = Vec::new();
    let mut queue = VecDeque::from([root]);
    while let Some(node) = queue.pop_front() {
        // This node gets index `nodes.len()`; the nodes still queued take the next
        // `queue.len()` indices, so this node's children start after them.
        let first_child = nodes.len() + queue.len() + 1;
        nodes.push(match node {
            Node::Map(map) | Node::Value(Value::M(map)) => {
                queue.extend(map.values().map(Node::Value));
                wit::Value::M(
                    map.keys()
                        .enumerate()
                        .map(|(k, name)| (name.clone(), index(first_child + k)))
                        .collect(),
                )
            }
            Node::Value(Value::L(list)) => {
                queue.extend(list.iter().map(Node::Value));
                wit::Value::L((0..list.len()).map(|k| index(first_child + k)).collect())
            }
            Node::Value(Value::S(s)) => wit::Value::S(s.clone()),
            Node::Value(Value::N(n)) => wit::Value::N(n.as_str().to_owned()),
            Node::Value(Value::B(b)) => wit::Value::B(b.clone()),
            Node::Value(Value::Bool(b)) => wit::Value::Boolean(*b),
            Node::Value(Value::Null) => wit::Value::Null,
            Node::Value(Value::Ss(s)) => wit::Value::Ss(s.iter().cloned().collect()),
            Node::Value(Value::Ns(s)) => {
                wit::Value::Ns(s.iter().map(|n| n.as_str().to_owned()).collect())
            }
            Node::Value(Value::Bs(s)) => wit::Value::Bs(s.iter().cloned().collect()),
        });
    }
    wit::Document { nodes }
}

/// Flattens a value.
pub(crate) fn from_value(value: &Value) -> wit::Document {
    flatten(Node::Value(value))
}

/// Flattens an item (a document whose root is an `M`).
pub(crate) fn from_item(item: &Item) -> wit::Document {
    flatten(Node::Map(item))
}

fn children(node: &wit::Value) -> Box<dyn Iterator<Item = u32> + '_> {
    match node {
        wit::Value::L(list) => Box::new(list.iter().copied()),
        wit::Value::M(map) => Box::new(map.iter().map(|(_, i)| *i)),
        _ => Box::new(std::iter::empty()),
    }
}

fn malformed(message: String) -> Error {
    Error::InvalidDocument(message)
}

/// Checks the tree's shape: forward, in-range indices, one parent per node, no orphan,
/// bounded depth.
fn check_shape(nodes: &[wit::Value]) -> Result<(), Error> {
    let n = nodes.len();
    let mut depth = vec![0u32; n];
    let mut referenced = vec![false; n];
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 && !referenced[i] {
            return Err(malformed(format!("node {i} is not part of the tree")));
        }
        for child in children(node) {
            let c = child as usize;
            if c <= i || c >= n {
                return Err(malformed(format!(
                    "node {i} refers to node {child}, which is not after it in a document of {n} nodes"
                )));
            }
            if referenced[c] {
                return Err(malformed(format!("node {child} has two parents")));
            }
            referenced[c] = true;
            depth[c] = depth[i] + 1;
            if depth[c] > MAX_DEPTH {
                return Err(malformed(format!("nesting deeper than {MAX_DEPTH} levels")));
            }
        }
    }
    Ok(())
}

fn number(text: &str) -> Result<Number, Error> {
    text.parse()
        .map_err(|_| malformed(format!("{text:?} is not a number")))
}

/// Takes a built child out of `built`.
fn take(built: &mut [Option<Value>], i: u32) -> Result<Value, Error> {
    built
        .get_mut(i as usize)
        .and_then(Option::take)
        .ok_or_else(|| malformed(format!("node {i} is used twice")))
}

/// Rebuilds a value from its document.
pub(crate) fn to_value(doc: wit::Document) -> Result<Value, Error> {
    if doc.nodes.is_empty() {
        return Err(malformed("empty document".into()));
    }
    check_shape(&doc.nodes)?;
    let mut built: Vec<Option<Value>> = Vec::new();
    built.resize_with(doc.nodes.len(), || None);
    // Children come after their parents, so building backwards finds them all built.
    for (i, node) in doc.nodes.into_iter().enumerate().rev() {
        let value = match node {
            wit::Value::S(s) => Value::S(s),
            wit::Value::N(n) => Value::N(number(&n)?),
            wit::Value::B(b) => Value::B(b),
            wit::Value::Boolean(b) => Value::Bool(b),
            wit::Value::Null => Value::Null,
            wit::Value::Ss(s) => Value::Ss(s.into_iter().collect()),
            wit::Value::Ns(s) => Value::Ns(s.iter().map(|n| number(n)).collect::<Result<_, _>>()?),
            wit::Value::Bs(s) => Value::Bs(s.into_iter().collect()),
            wit::Value::L(list) => Value::L(
                list.into_iter()
                    .map(|c| take(&mut built, c))
                    .collect::<Result<_, _>>()?,
            ),
            wit::Value::M(entries) => {
                let mut map = BTreeMap::new();
                for (name, c) in entries {
                    map.insert(name, take(&mut built, c)?);
                }
                Value::M(map)
            }
        };
        built[i] = Some(value);
    }
    take(&mut built, 0)
}

/// Rebuilds an item: a document whose root is an `M`.
pub(crate) fn to_item(doc: wit::Document) -> Result<Item, Error> {
    match to_value(doc)? {
        Value::M(map) => Ok(Item::from(map)),
        other => Err(malformed(format!(
            "an item must be a map, not {}",
            other.value_type()
        ))),
    }
}

/// Rebuilds an optional item.
pub(crate) fn to_item_opt(doc: Option<wit::Document>) -> Result<Option<Item>, Error> {
    doc.map(to_item).transpose()
}

#[cfg(test)]
mod tests;
