//! The kinds of table a case can ask for. Every case gets tables of its own (named after
//! the run, the case and the kind), so cases run concurrently without seeing each
//! other's items.

use portico_data::{IndexProjection, IndexSchema, KeyAttribute, KeySchema, KeyType, TableSchema};

/// A kind of table, with a fixed schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Partition key `pk` (S) only.
    Simple,
    /// `pk` (S) and sort key `sk` (N), with
    /// - global index `by_group`: `grp` (S) and `gsk` (N), all attributes;
    /// - global index `by_tag`: `tag` (S) only, keys only;
    /// - local index `by_label`: `pk` and `label` (S), all attributes.
    NumSorted,
    /// `pk` (S) and sort key `sk` (S).
    StrSorted,
    /// `pk` (S) and sort key `sk` (B).
    BinSorted,
    /// Partition key `pk` (S), TTL attribute `expires`.
    Ttl,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::Simple,
        Kind::NumSorted,
        Kind::StrSorted,
        Kind::BinSorted,
        Kind::Ttl,
    ];

    /// A short name, used in table names.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Simple => "simple",
            Kind::NumSorted => "numsorted",
            Kind::StrSorted => "strsorted",
            Kind::BinSorted => "binsorted",
            Kind::Ttl => "ttl",
        }
    }

    /// The schema of a table of this kind named `name`.
    pub fn schema(self, name: impl Into<String>) -> TableSchema {
        let sorted = |key_type| KeySchema {
            partition: attribute("pk", KeyType::S),
            sort: Some(attribute("sk", key_type)),
        };
        let hash_only = KeySchema {
            partition: attribute("pk", KeyType::S),
            sort: None,
        };
        match self {
            Kind::Simple => TableSchema::new(name, hash_only),
            Kind::NumSorted => {
                let mut table = TableSchema::new(name, sorted(KeyType::N));
                table.global_indexes.push(IndexSchema {
                    name: "by_group".into(),
                    key: KeySchema {
                        partition: attribute("grp", KeyType::S),
                        sort: Some(attribute("gsk", KeyType::N)),
                    },
                    projection: IndexProjection::All,
                });
                table.global_indexes.push(IndexSchema {
                    name: "by_tag".into(),
                    key: KeySchema {
                        partition: attribute("tag", KeyType::S),
                        sort: None,
                    },
                    projection: IndexProjection::KeysOnly,
                });
                table.local_indexes.push(IndexSchema {
                    name: "by_label".into(),
                    key: KeySchema {
                        partition: attribute("pk", KeyType::S),
                        sort: Some(attribute("label", KeyType::S)),
                    },
                    projection: IndexProjection::All,
                });
                table
            }
            Kind::StrSorted => TableSchema::new(name, sorted(KeyType::S)),
            Kind::BinSorted => TableSchema::new(name, sorted(KeyType::B)),
            Kind::Ttl => {
                let mut table = TableSchema::new(name, hash_only);
                table.ttl_attribute = Some("expires".into());
                table
            }
        }
    }
}

fn attribute(name: &str, key_type: KeyType) -> KeyAttribute {
    KeyAttribute {
        name: name.to_owned(),
        key_type,
    }
}

/// The name of the table of kind `kind` for case number `case` in run `run`. Only
/// characters DynamoDB allows in table names (`[a-zA-Z0-9_.-]`).
pub fn table_name(run: &str, case: usize, kind: Kind) -> String {
    format!("{run}-c{case:03}-{}", kind.label())
}
