//! An orders API over a topic (the SNS role):
//!
//! - `POST /orders` with `{"item": "tea", "quantity": 2}` writes the order to table
//!   `orders` and publishes it to topic `order-placed` (attributes `item` and
//!   `quantity`), then answers 201 with the order and the message id. The publish is
//!   durable before the answer; the subscribers (`order-email`, `order-stats`) get it
//!   soon after, at least once.
//! - `GET /orders/stats` → `{"count": N, "quantity": Q, "last_item": ...}`, the item the
//!   `order-stats` subscriber keeps.

use portico_guest::data::{Table, attr, key};
use portico_guest::http::StatusCode;
use portico_guest::topics::{Attribute, Publish};
use portico_guest::{Request, Response};
use serde::{Deserialize, Serialize};

const ORDERS: &str = "orders";
const STATS: &str = "order_stats";
const TOPIC: &str = "order-placed";
const MAX_ITEM: usize = 200;
const MAX_QUANTITY: u64 = 1_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    item: String,
    quantity: u64,
}

#[derive(Serialize, Deserialize)]
struct Order {
    id: String,
    item: String,
    quantity: u64,
    placed: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct Stats {
    #[serde(default)]
    count: u64,
    #[serde(default)]
    quantity: u64,
    #[serde(default)]
    last_item: Option<String>,
}

fn error(status: StatusCode, message: &str) -> Result<Response, portico_guest::Error> {
    Response::new(status).json(&serde_json::json!({ "message": message }))
}

fn place(req: &Request) -> Result<Response, portico_guest::Error> {
    let order: NewOrder = match req.json() {
        Ok(order) => order,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"item\": string, \"quantity\": positive integer}}: {e}"),
            );
        }
    };
    if order.item.trim().is_empty() || order.item.len() > MAX_ITEM {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("`item` is 1 to {MAX_ITEM} bytes"),
        );
    }
    if order.quantity == 0 || order.quantity > MAX_QUANTITY {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("`quantity` is 1 to {MAX_QUANTITY}"),
        );
    }
    let order = Order {
        id: req.request_id().to_string(),
        item: order.item,
        quantity: order.quantity,
        placed: req.context().time_epoch,
    };
    Table::open(ORDERS)?
        .put(&order)
        .condition(attr("id").not_exists())
        .send()?;
    let body = serde_json::to_string(&order)?;
    let message_id = Publish::new(TOPIC, body)
        .subject("Order placed")
        .attribute(Attribute::string("item", order.item.clone()))
        .attribute(Attribute::number("quantity", order.quantity))
        .send()?;
    Response::new(StatusCode::CREATED).json(&serde_json::json!({
        "order": order,
        "message_id": message_id,
    }))
}

fn stats() -> Result<Response, portico_guest::Error> {
    let stats: Stats = Table::open(STATS)?
        .get(key("id", "all"))
        .consistent()
        .send_as()?
        .unwrap_or_default();
    Response::ok().json(&stats)
}

fn handle(req: Request) -> Result<Response, portico_guest::Error> {
    match req.route_key() {
        "POST /orders" => place(&req),
        "GET /orders/stats" => stats(),
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

portico_guest::export!(handle);
