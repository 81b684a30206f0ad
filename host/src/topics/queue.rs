//! The durable delivery queue: two host tables in the manifest's data store (embedded or
//! DynamoDB, so that hosts sharing a DynamoDB share the queue).
//!
//! - `portico_topic_queue`, key `sub` (S, `TOPIC/FUNCTION`: one subscription) and `due`
//!   (S, `DUE_MS#MESSAGE_ID`, DUE_MS zero-padded so that text order is time order): one
//!   item per message not yet delivered to that subscription — `id`, `topic`, `subject`,
//!   `body`, `attrs` (the attributes as JSON), `published` (epoch ms), `attempts` (made
//!   so far), `error` (the last one), and while a delivery runs, `lease` (a token).
//! - `portico_topic_dead_letters`, key `sub` and `id`: the same, for a message that
//!   failed its last attempt, with `failed` (epoch ms).
//!
//! Contract (what makes delivery at least once, across hosts and crashes):
//! - a publish writes one queue item per matching subscription and is acknowledged after
//!   the writes committed;
//! - a worker takes an item that is due by moving it, in one transaction, to a key due
//!   when its lease ends (with `lease` set and `attempts` one more): the delete's
//!   condition makes one worker win; a host that dies mid-delivery leaves the item to
//!   come due again when the lease ends, for any host;
//! - after the delivery the item is deleted (done), moved to a later key without a lease
//!   (retry), or moved to the dead letters (last attempt) — each on condition that the
//!   lease is still the worker's, so a worker whose lease ran out changes nothing (the
//!   message was delivered twice: counted as a duplicate).

use super::{Attribute, Message};
use portico_data::ops::{
    DeleteItem, Placeholders, PutItem, Query, ReturnValues, Scan, TransactWrite, TransactWriteItem,
};
use portico_data::{
    Backend, DataError, Item, KeyAttribute, KeySchema, KeyType, Number, TableSchema, Value,
};
use std::sync::Arc;

/// The queue table.
pub const QUEUE_TABLE: &str = "portico_topic_queue";
/// The dead-letter table.
pub const DEAD_LETTER_TABLE: &str = "portico_topic_dead_letters";
/// DynamoDB's limit on the items of one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// The two tables, for the data store to create or check.
pub fn tables() -> Vec<TableSchema> {
    let sub = KeyAttribute {
        name: "sub".into(),
        key_type: KeyType::S,
    };
    let key = |sort: &str| KeySchema {
        partition: sub.clone(),
        sort: Some(KeyAttribute {
            name: sort.into(),
            key_type: KeyType::S,
        }),
    };
    vec![
        TableSchema::new(QUEUE_TABLE, key("due")),
        TableSchema::new(DEAD_LETTER_TABLE, key("id")),
    ]
}

/// One queued message of one subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// The subscription (`TOPIC/FUNCTION`).
    pub sub: String,
    /// Its sort key now.
    pub due: String,
    /// The message.
    pub message: Message,
    /// Deliveries made so far (this one included once leased).
    pub attempts: u32,
    /// The last delivery's error.
    pub error: Option<String>,
    /// The lease token, while leased.
    pub lease: Option<String>,
}

/// A dead letter.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The subscription.
    pub sub: String,
    /// The message.
    pub message: Message,
    /// Deliveries made.
    pub attempts: u32,
    /// The last error.
    pub error: String,
    /// When the last attempt failed (epoch ms).
    pub failed_ms: u64,
}

fn number(n: u64) -> Value {
    Value::N(Number::from(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn due_key(due_ms: u64, id: &str) -> String {
    format!("{due_ms:015}#{id}")
}

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(Value::S(s)) => Some(s.clone()),
        _ => None,
    }
}

fn count(item: &Item, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(Value::N(n)) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn message_attributes(message: &Message, item: &mut Item) {
    item.insert("id".into(), Value::S(message.id.clone()));
    item.insert("topic".into(), Value::S(message.topic.clone()));
    if let Some(subject) = &message.subject {
        item.insert("subject".into(), Value::S(subject.clone()));
    }
    item.insert("body".into(), Value::S(message.body.clone()));
    item.insert(
        "attrs".into(),
        Value::S(serde_json::to_string(&message.attributes).unwrap_or_else(|_| "[]".into())),
    );
    item.insert("published".into(), number(message.published_ms));
}

fn message_of(item: &Item) -> Result<Message, String> {
    let attributes: Vec<Attribute> = match text(item, "attrs") {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("bad `attrs`: {e}"))?,
        None => Vec::new(),
    };
    Ok(Message {
        id: text(item, "id").ok_or("no `id`")?,
        topic: text(item, "topic").ok_or("no `topic`")?,
        subject: text(item, "subject"),
        body: text(item, "body").unwrap_or_default(),
        attributes,
        published_ms: count(item, "published").unwrap_or_default(),
    })
}

fn queued_of(item: &Item) -> Result<Queued, String> {
    Ok(Queued {
        sub: text(item, "sub").ok_or("no `sub`")?,
        due: text(item, "due").ok_or("no `due`")?,
        message: message_of(item)?,
        attempts: u32::try_from(count(item, "attempts").unwrap_or_default()).unwrap_or(u32::MAX),
        error: text(item, "error"),
        lease: text(item, "lease"),
    })
}

/// The queue, over a backend that has its [`tables`].
#[derive(Clone)]
pub struct Queue {
    backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("backend", &self.backend.name())
            .finish()
    }
}

/// What became of a leased delivery's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Written as asked.
    Done,
    /// The lease had run out (another worker may have the message): nothing changed.
    LeaseLost,
}

impl Queue {
    /// The queue in `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Queue {
        Queue { backend }
    }

    fn item(sub: &str, due: &str, message: &Message, attempts: u32) -> Item {
        let mut item = Item::new();
        item.insert("sub".into(), Value::S(sub.to_string()));
        item.insert("due".into(), Value::S(due.to_string()));
        message_attributes(message, &mut item);
        item.insert("attempts".into(), number(u64::from(attempts)));
        item
    }

    fn key(sub: &str, due: &str) -> Item {
        Item::from([
            ("sub".to_string(), Value::S(sub.to_string())),
            ("due".to_string(), Value::S(due.to_string())),
        ])
    }

    fn put(item: Item, table: &str) -> TransactWriteItem {
        TransactWriteItem::Put(PutItem {
            table: table.into(),
            item,
            condition: None,
            placeholders: Placeholders::default(),
            return_values: ReturnValues::None,
            return_old_on_condition_failure: false,
        })
    }

    fn delete_leased(sub: &str, due: &str, lease: &str) -> TransactWriteItem {
        let mut placeholders = Placeholders::default();
        placeholders
            .values
            .insert(":lease".into(), Value::S(lease.to_string()));
        TransactWriteItem::Delete(DeleteItem {
            table: QUEUE_TABLE.into(),
            key: Self::key(sub, due),
            condition: Some("lease = :lease".into()),
            placeholders,
            return_values: ReturnValues::None,
            return_old_on_condition_failure: false,
        })
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Settled, DataError> {
        match self
            .backend
            .transact_write(TransactWrite {
                items,
                client_token: None,
            })
            .await
        {
            Ok(()) => Ok(Settled::Done),
            Err(
                DataError::TransactionCanceled { .. } | DataError::ConditionalCheckFailed { .. },
            ) => Ok(Settled::LeaseLost),
            Err(e) => Err(e),
        }
    }

    /// Queues `message` for each of `subs`, due at `due_ms`; returns once committed.
    pub async fn enqueue(
        &self,
        message: &Message,
        subs: &[String],
        due_ms: u64,
    ) -> Result<(), DataError> {
        let due = due_key(due_ms, &message.id);
        for chunk in subs.chunks(MAX_TRANSACTION_ITEMS) {
            if let [sub] = chunk {
                self.backend
                    .put_item(PutItem {
                        table: QUEUE_TABLE.into(),
                        item: Self::item(sub, &due, message, 0),
                        condition: None,
                        placeholders: Placeholders::default(),
                        return_values: ReturnValues::None,
                        return_old_on_condition_failure: false,
                    })
                    .await?;
                continue;
            }
            let items = chunk
                .iter()
                .map(|sub| Self::put(Self::item(sub, &due, message, 0), QUEUE_TABLE))
                .collect();
            self.backend
                .transact_write(TransactWrite {
                    items,
                    client_token: None,
                })
                .await?;
        }
        Ok(())
    }

    /// Up to `limit` items of `sub` due by `now_ms`, oldest first (leased ones whose
    /// lease ran out included: they are due again).
    pub async fn due(&self, sub: &str, now_ms: u64, limit: u32) -> Result<Vec<Queued>, DataError> {
        let mut placeholders = Placeholders::default();
        placeholders
            .values
            .insert(":sub".into(), Value::S(sub.to_string()));
        // Every key of a time up to now sorts before this one.
        placeholders
            .values
            .insert(":now".into(), Value::S(format!("{now_ms:015}$")));
        placeholders.names.insert("#sub".into(), "sub".into());
        placeholders.names.insert("#due".into(), "due".into());
        let page = self
            .backend
            .query(Query {
                table: QUEUE_TABLE.into(),
                index: None,
                key_condition: "#sub = :sub AND #due < :now".into(),
                filter: None,
                projection: None,
                placeholders,
                limit: Some(limit.max(1)),
                exclusive_start_key: None,
                forward: true,
                consistent: true,
                count_only: false,
            })
            .await?;
        Ok(page
            .items
            .iter()
            .filter_map(|item| match queued_of(item) {
                Ok(queued) => Some(queued),
                Err(why) => {
                    tracing::warn!(
                        table = QUEUE_TABLE,
                        "skipping a queue item that is not one: {why}"
                    );
                    None
                }
            })
            .collect())
    }

    /// Takes `queued` for one delivery, leased until `lease_until_ms` with `token`: the
    /// leased item, or `None` if another worker took it first.
    pub async fn lease(
        &self,
        queued: &Queued,
        lease_until_ms: u64,
        token: &str,
    ) -> Result<Option<Queued>, DataError> {
        let due = due_key(lease_until_ms, &queued.message.id);
        let attempts = queued.attempts.saturating_add(1);
        let mut item = Self::item(&queued.sub, &due, &queued.message, attempts);
        item.insert("lease".into(), Value::S(token.to_string()));
        if let Some(error) = &queued.error {
            item.insert("error".into(), Value::S(error.clone()));
        }
        // The item as it was read: still there, and not re-leased by someone else since.
        let mut placeholders = Placeholders::default();
        let condition = match &queued.lease {
            Some(lease) => {
                placeholders
                    .values
                    .insert(":lease".into(), Value::S(lease.clone()));
                "lease = :lease"
            }
            None => {
                placeholders.names.insert("#sub".into(), "sub".into());
                "attribute_exists(#sub) AND attribute_not_exists(lease)"
            }
        };
        let delete = TransactWriteItem::Delete(DeleteItem {
            table: QUEUE_TABLE.into(),
            key: Self::key(&queued.sub, &queued.due),
            condition: Some(condition.into()),
            placeholders,
            return_values: ReturnValues::None,
            return_old_on_condition_failure: false,
        });
        match self
            .transact(vec![delete, Self::put(item, QUEUE_TABLE)])
            .await?
        {
            Settled::Done => Ok(Some(Queued {
                due,
                attempts,
                lease: Some(token.to_string()),
                ..queued.clone()
            })),
            Settled::LeaseLost => Ok(None),
        }
    }

    /// The leased delivery succeeded: the item goes.
    pub async fn complete(&self, leased: &Queued) -> Result<Settled, DataError> {
        let lease = leased.lease.as_deref().unwrap_or_default();
        self.transact(vec![Self::delete_leased(&leased.sub, &leased.due, lease)])
            .await
    }

    /// The leased delivery failed with `error`: the item comes due again at `due_ms`.
    pub async fn retry(
        &self,
        leased: &Queued,
        due_ms: u64,
        error: &str,
    ) -> Result<Settled, DataError> {
        let lease = leased.lease.as_deref().unwrap_or_default();
        let mut item = Self::item(
            &leased.sub,
            &due_key(due_ms, &leased.message.id),
            &leased.message,
            leased.attempts,
        );
        item.insert("error".into(), Value::S(error.to_string()));
        self.transact(vec![
            Self::delete_leased(&leased.sub, &leased.due, lease),
            Self::put(item, QUEUE_TABLE),
        ])
        .await
    }

    /// The leased delivery was the last attempt, and failed with `error`: the message
    /// moves to the dead letters.
    pub async fn bury(
        &self,
        leased: &Queued,
        error: &str,
        now_ms: u64,
    ) -> Result<Settled, DataError> {
        let lease = leased.lease.as_deref().unwrap_or_default();
        let mut item = Item::new();
        item.insert("sub".into(), Value::S(leased.sub.clone()));
        message_attributes(&leased.message, &mut item);
        item.insert("attempts".into(), number(u64::from(leased.attempts)));
        item.insert("error".into(), Value::S(error.to_string()));
        item.insert("failed".into(), number(now_ms));
        self.transact(vec![
            Self::delete_leased(&leased.sub, &leased.due, lease),
            Self::put(item, DEAD_LETTER_TABLE),
        ])
        .await
    }

    /// Makes every leased item due at `now_ms`, without its lease; how many there were.
    /// Only for a store one host owns (the embedded one), at its start: a lease found
    /// then was its previous run's, cut short by a crash, and need not be waited out.
    pub async fn recover_leases(&self, now_ms: u64) -> Result<usize, DataError> {
        let mut recovered = 0;
        let mut start = None;
        loop {
            let page = self
                .backend
                .scan(Scan {
                    table: QUEUE_TABLE.into(),
                    index: None,
                    filter: Some("attribute_exists(lease)".into()),
                    projection: None,
                    placeholders: Placeholders::default(),
                    limit: None,
                    exclusive_start_key: start.take(),
                    segment: None,
                    consistent: true,
                    count_only: false,
                })
                .await?;
            for item in &page.items {
                let Ok(leased) = queued_of(item) else {
                    continue;
                };
                let mut again = Self::item(
                    &leased.sub,
                    &due_key(now_ms, &leased.message.id),
                    &leased.message,
                    leased.attempts,
                );
                if let Some(error) = &leased.error {
                    again.insert("error".into(), Value::S(error.clone()));
                }
                let lease = leased.lease.as_deref().unwrap_or_default();
                if self
                    .transact(vec![
                        Self::delete_leased(&leased.sub, &leased.due, lease),
                        Self::put(again, QUEUE_TABLE),
                    ])
                    .await?
                    == Settled::Done
                {
                    recovered += 1;
                }
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(recovered),
            }
        }
    }

    /// The messages queued for `sub` (count, and the oldest one's publish time).
    pub async fn depth(&self, sub: &str) -> Result<(u64, Option<u64>), DataError> {
        let mut queued = 0;
        let mut oldest: Option<u64> = None;
        let mut start = None;
        loop {
            let mut placeholders = Placeholders::default();
            placeholders
                .values
                .insert(":sub".into(), Value::S(sub.to_string()));
            placeholders.names.insert("#sub".into(), "sub".into());
            let page = self
                .backend
                .query(Query {
                    table: QUEUE_TABLE.into(),
                    index: None,
                    key_condition: "#sub = :sub".into(),
                    filter: None,
                    projection: None,
                    placeholders,
                    limit: None,
                    exclusive_start_key: start.take(),
                    forward: true,
                    consistent: true,
                    count_only: false,
                })
                .await?;
            for item in &page.items {
                queued += 1;
                if let Some(published) = count(item, "published") {
                    oldest = Some(oldest.map_or(published, |o| o.min(published)));
                }
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok((queued, oldest)),
            }
        }
    }

    /// Every dead letter (of every subscription).
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, DataError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .backend
                .scan(Scan {
                    table: DEAD_LETTER_TABLE.into(),
                    index: None,
                    filter: None,
                    projection: None,
                    placeholders: Placeholders::default(),
                    limit: None,
                    exclusive_start_key: start.take(),
                    segment: None,
                    consistent: true,
                    count_only: false,
                })
                .await?;
            for item in &page.items {
                match (text(item, "sub"), message_of(item)) {
                    (Some(sub), Ok(message)) => out.push(DeadLetter {
                        sub,
                        message,
                        attempts: u32::try_from(count(item, "attempts").unwrap_or_default())
                            .unwrap_or(u32::MAX),
                        error: text(item, "error").unwrap_or_default(),
                        failed_ms: count(item, "failed").unwrap_or_default(),
                    }),
                    (_, Err(why)) => {
                        tracing::warn!(
                            table = DEAD_LETTER_TABLE,
                            "skipping an item that is not a dead letter: {why}"
                        );
                    }
                    (None, _) => {}
                }
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(out),
            }
        }
    }

    /// Puts dead letter `letter` back in its subscription's queue, due now, with its
    /// attempts reset (one transaction: it is in one place or the other).
    pub async fn redrive(&self, letter: &DeadLetter, now_ms: u64) -> Result<Settled, DataError> {
        let mut placeholders = Placeholders::default();
        placeholders.names.insert("#sub".into(), "sub".into());
        let delete = TransactWriteItem::Delete(DeleteItem {
            table: DEAD_LETTER_TABLE.into(),
            key: Item::from([
                ("sub".to_string(), Value::S(letter.sub.clone())),
                ("id".to_string(), Value::S(letter.message.id.clone())),
            ]),
            condition: Some("attribute_exists(#sub)".into()),
            placeholders,
            return_values: ReturnValues::None,
            return_old_on_condition_failure: false,
        });
        let item = Self::item(
            &letter.sub,
            &due_key(now_ms, &letter.message.id),
            &letter.message,
            0,
        );
        self.transact(vec![delete, Self::put(item, QUEUE_TABLE)])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_data::embedded::{Embedded, EmbeddedConfig};

    fn queue() -> (tempfile::TempDir, Queue) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Embedded::open(&EmbeddedConfig::new(dir.path()), &tables()).expect("open");
        (dir, Queue::new(Arc::new(store)))
    }

    fn message(id: &str) -> Message {
        Message {
            id: id.into(),
            topic: "t".into(),
            subject: Some("s".into()),
            body: "b".into(),
            attributes: vec![Attribute {
                name: "k".into(),
                data_type: super::super::AttributeType::String,
                value: "v".into(),
            }],
            published_ms: 5,
        }
    }

    #[tokio::test]
    async fn one_worker_wins_a_lease_and_a_lost_lease_changes_nothing() {
        let (_dir, q) = queue();
        q.enqueue(&message("m1"), &["t/a".into(), "t/b".into()], 100)
            .await
            .expect("enqueue");
        assert!(
            q.due("t/a", 99, 10).await.expect("due").is_empty(),
            "not due yet"
        );
        let due = q.due("t/a", 100, 10).await.expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].message, message("m1"));
        // Two workers read it; the first lease wins, the second finds it gone.
        let leased = q
            .lease(&due[0], 1_000, "w1")
            .await
            .expect("lease")
            .expect("won");
        assert_eq!(leased.attempts, 1);
        assert!(
            q.lease(&due[0], 1_000, "w2")
                .await
                .expect("lease")
                .is_none()
        );
        // Leased: not due until the lease ends; then due again, for anyone.
        assert!(q.due("t/a", 999, 10).await.expect("due").is_empty());
        let again = q.due("t/a", 1_000, 10).await.expect("due");
        assert_eq!(again[0].lease.as_deref(), Some("w1"));
        let stolen = q
            .lease(&again[0], 2_000, "w2")
            .await
            .expect("lease")
            .expect("won");
        assert_eq!(stolen.attempts, 2);
        // The first worker finishes late: its lease is gone, nothing changes.
        assert_eq!(
            q.complete(&leased).await.expect("complete"),
            Settled::LeaseLost
        );
        assert_eq!(q.depth("t/a").await.expect("depth"), (1, Some(5)));
        assert_eq!(q.complete(&stolen).await.expect("complete"), Settled::Done);
        assert_eq!(q.depth("t/a").await.expect("depth"), (0, None));
        // The other subscription has its own copy.
        assert_eq!(q.depth("t/b").await.expect("depth").0, 1);
    }

    #[tokio::test]
    async fn retries_come_due_later_and_the_last_failure_is_a_dead_letter() {
        let (_dir, q) = queue();
        q.enqueue(&message("m1"), &["t/a".into()], 0)
            .await
            .expect("enqueue");
        let due = q.due("t/a", 0, 1).await.expect("due");
        let leased = q
            .lease(&due[0], 500, "w")
            .await
            .expect("lease")
            .expect("won");
        assert_eq!(
            q.retry(&leased, 300, "boom").await.expect("retry"),
            Settled::Done
        );
        assert!(q.due("t/a", 299, 1).await.expect("due").is_empty());
        let due = q.due("t/a", 300, 1).await.expect("due");
        assert_eq!(due[0].error.as_deref(), Some("boom"));
        assert_eq!(due[0].lease, None);
        let leased = q
            .lease(&due[0], 900, "w")
            .await
            .expect("lease")
            .expect("won");
        assert_eq!(leased.attempts, 2);
        assert_eq!(
            q.bury(&leased, "boom again", 42).await.expect("bury"),
            Settled::Done
        );
        assert_eq!(q.depth("t/a").await.expect("depth").0, 0);
        let letters = q.dead_letters().await.expect("letters");
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].message, message("m1"));
        assert_eq!((letters[0].attempts, letters[0].failed_ms), (2, 42));
        assert_eq!(letters[0].error, "boom again");
        // Redriven: back in the queue with its attempts reset, and out of the letters.
        assert_eq!(
            q.redrive(&letters[0], 50).await.expect("redrive"),
            Settled::Done
        );
        assert_eq!(
            q.redrive(&letters[0], 50).await.expect("redrive"),
            Settled::LeaseLost
        );
        assert!(q.dead_letters().await.expect("letters").is_empty());
        let due = q.due("t/a", 50, 1).await.expect("due");
        assert_eq!(due[0].attempts, 0);
    }

    #[tokio::test]
    async fn a_restart_makes_leased_deliveries_due_at_once() {
        let (_dir, q) = queue();
        q.enqueue(&message("m1"), &["t/a".into()], 0)
            .await
            .expect("enqueue");
        q.enqueue(&message("m2"), &["t/a".into()], 0)
            .await
            .expect("enqueue");
        let due = q.due("t/a", 0, 1).await.expect("due");
        q.lease(&due[0], 1_000_000, "w")
            .await
            .expect("lease")
            .expect("won");
        assert_eq!(q.due("t/a", 10, 10).await.expect("due").len(), 1);
        assert_eq!(q.recover_leases(10).await.expect("recover"), 1);
        let due = q.due("t/a", 10, 10).await.expect("due");
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|d| d.lease.is_none()));
        assert_eq!(due.iter().map(|d| d.attempts).max(), Some(1));
    }
}
