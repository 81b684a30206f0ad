//! A subscriber to `order-placed` that keeps the stats item `GET /orders/stats` reads
//! (table `order_stats`, id `all`): count, total quantity, last item.
//!
//! Delivery is at least once, so a message may arrive twice; the update and a marker
//! item `seen#MESSAGE_ID` are written in one transaction whose condition is that the
//! marker is new — a second delivery changes nothing (exactly-once effect). The markers
//! expire through the table's TTL attribute after a day.

use portico_guest::data::{Error, Table, attr, key, transact_write};
use portico_guest::subscriber::Message;
use serde::Deserialize;

const STATS: &str = "order_stats";
const MARKER_TTL_SECONDS: u64 = 86_400;

#[derive(Deserialize)]
struct Order {
    item: String,
    quantity: u64,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Message")]
    message: String,
}

fn on_message(message: Message) -> Result<(), String> {
    // Subscribed without raw delivery: the body is SNS's envelope.
    let envelope: Envelope = message
        .json()
        .map_err(|e| format!("not an SNS envelope: {e}"))?;
    let order: Order =
        serde_json::from_str(&envelope.message).map_err(|e| format!("not an order: {e}"))?;
    let table = Table::open(STATS).map_err(|e| e.to_string())?;
    let expires = message.timestamp() / 1000 + MARKER_TTL_SECONDS;
    let marker = key("id", format!("seen#{}", message.id())).with("expires", expires);
    let result = transact_write()
        .put(table.put(marker).condition(attr("id").not_exists()))
        .update(
            table
                .update(key("id", "all"))
                .add("count", 1)
                .add("quantity", order.quantity)
                .set("last_item", order.item),
        )
        .send();
    match result {
        Ok(()) => Ok(()),
        // Seen before: this is a repeated delivery, already counted.
        Err(Error::TransactionCanceled(reasons))
            if reasons.first().is_some_and(|r| r.is_condition_failure()) =>
        {
            portico_guest::log::info(format!("duplicate delivery of {}", message.id()));
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

portico_guest::export_subscriber!(on_message);
