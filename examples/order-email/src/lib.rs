//! A subscriber to `order-placed` (raw delivery: the body is the order as published)
//! that sends the confirmation email — logged here, as a real one would be handed to a
//! mail service through outbound HTTP. Subscribed with a filter policy that skips
//! orders of `item = "test"`.

use portico_guest::subscriber::Message;
use serde::Deserialize;

#[derive(Deserialize)]
struct Order {
    id: String,
    item: String,
    quantity: u64,
}

fn on_message(message: Message) -> Result<(), String> {
    let order: Order = message.json().map_err(|e| format!("not an order: {e}"))?;
    portico_guest::log::info(format!(
        "email: order {} for {} x {} confirmed (message {}, attempt {})",
        order.id,
        order.quantity,
        order.item,
        message.id(),
        message.delivery_attempt()
    ));
    Ok(())
}

portico_guest::export_subscriber!(on_message);
