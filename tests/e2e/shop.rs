//! `examples/shop` end to end, on the embedded store and on the dynamodb backend:
//! single-table models, an order as a transaction that never oversells, a customer and
//! their orders from one collection query, orders by status through the index, partial
//! updates of a nested map, and validation errors that name the attribute.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Server, client, manifest};

/// `examples/shop/portico.toml`, with its data in the manifest's temporary directory.
const SHOP: &str = r#"
[data]
dir = "data"

[data.dynamodb]
create_tables = true

[tables.shop]
partition_key = { name = "pk", type = "S" }
sort_key = { name = "sk", type = "S" }

[tables.shop.global_indexes.by_status]
partition_key = { name = "status", type = "S" }
sort_key = { name = "created", type = "N" }

[functions.shop]
module = "{shop}"
tables = ["shop"]

[routes]
"POST /shop/customers" = "shop"
"GET /shop/customers/{id}" = "shop"
"PATCH /shop/customers/{id}" = "shop"
"POST /shop/products" = "shop"
"GET /shop/products/{id}" = "shop"
"POST /shop/orders" = "shop"
"GET /shop/orders" = "shop"
"#;

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    let body = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

async fn post(server: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    send(client().post(server.url(path)).json(&body)).await
}

async fn get(server: &Server, path: &str) -> (StatusCode, Value) {
    send(client().get(server.url(path))).await
}

/// The shop's whole contract, against whatever backend `server` uses.
async fn shop_contract(server: &Server) {
    // Customers and products; a second create of either is a conflict.
    let (code, ada) = post(
        server,
        "/shop/customers",
        json!({ "id": "ada", "name": "Ada", "address": { "city": "London", "zip": "N1" } }),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{ada}");
    assert!(
        ada["created"].as_i64().unwrap() > 1_700_000_000_000,
        "created_at filled: {ada}"
    );
    assert_eq!(ada["created"], ada["updated"]);
    let (code, again) = post(
        server,
        "/shop/customers",
        json!({ "id": "ada", "name": "Other" }),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT, "{again}");
    let (code, _) = post(
        server,
        "/shop/customers",
        json!({ "id": "bob", "name": "Bob" }),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    for (id, stock) in [("tea", 5), ("cup", 1)] {
        let (code, p) = post(
            server,
            "/shop/products",
            json!({ "id": id, "name": id, "stock": stock, "price": "3.10" }),
        )
        .await;
        assert_eq!(code, StatusCode::CREATED, "{p}");
    }
    let (code, p) = post(
        server,
        "/shop/products",
        json!({ "id": "tea", "name": "again", "stock": 1, "price": "1" }),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT, "{p}");

    // Validation names the attribute and the rule; nothing is written.
    let (code, bad) = post(
        server,
        "/shop/customers",
        json!({ "id": "no spaces", "name": "X" }),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["attribute"], "id", "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("regex"), "{bad}");
    assert_eq!(
        get(server, "/shop/customers/no%20spaces").await.0,
        StatusCode::NOT_FOUND
    );
    let (code, bad) = post(
        server,
        "/shop/products",
        json!({ "id": "neg", "name": "n", "stock": -1, "price": "1" }),
    )
    .await;
    assert_eq!(
        (code, bad["attribute"].as_str()),
        (StatusCode::BAD_REQUEST, Some("stock")),
        "{bad}"
    );
    let (code, bad) = post(
        server,
        "/shop/products",
        json!({ "id": "neg", "name": "n", "stock": 1, "price": "-0.5" }),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{bad}");
    assert!(
        bad["message"].as_str().unwrap().contains("not_negative"),
        "{bad}"
    );

    // Orders: a transaction writes the order and takes the stock, or neither.
    let (code, order) = post(
        server,
        "/shop/orders",
        json!({ "customer": "ada", "product": "tea", "quantity": 2 }),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "open", "the default: {order}");
    let (code, short) = post(
        server,
        "/shop/orders",
        json!({ "customer": "ada", "product": "tea", "quantity": 4 }),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT, "{short}");
    assert_eq!(short["stock"], 3, "{short}");
    let (_, tea) = get(server, "/shop/products/tea").await;
    assert_eq!(tea["stock"], 3, "a refused order takes nothing: {tea}");
    let (code, e) = post(
        server,
        "/shop/orders",
        json!({ "customer": "nobody", "product": "tea", "quantity": 1 }),
    )
    .await;
    assert_eq!(
        (code, e["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("no such customer"))
    );
    let (code, e) = post(
        server,
        "/shop/orders",
        json!({ "customer": "ada", "product": "nothing", "quantity": 1 }),
    )
    .await;
    assert_eq!(
        (code, e["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("no such product"))
    );
    let (code, e) = post(
        server,
        "/shop/orders",
        json!({ "customer": "ada", "product": "tea", "quantity": 0 }),
    )
    .await;
    assert_eq!(
        (code, e["attribute"].as_str()),
        (StatusCode::BAD_REQUEST, Some("quantity"))
    );

    // Concurrent orders for the last cup: exactly one wins, stock never below zero.
    let orders = (0..6).map(|i| {
        let url = server.url("/shop/orders");
        let customer = if i % 2 == 0 { "ada" } else { "bob" };
        tokio::spawn(async move {
            client()
                .post(url)
                .json(&json!({ "customer": customer, "product": "cup", "quantity": 1 }))
                .send()
                .await
                .expect("order")
                .status()
        })
    });
    let mut created = 0;
    for order in orders {
        let status = order.await.expect("join");
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "{status}"
        );
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1, "one cup, one order");
    assert_eq!(get(server, "/shop/products/cup").await.1["stock"], 0);

    // One query: the customer and their orders (a collection of two models).
    let (code, view) = get(server, "/shop/customers/ada").await;
    assert_eq!(code, StatusCode::OK, "{view}");
    assert_eq!(view["customer"]["name"], "Ada");
    let products: Vec<&str> = view["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["product"].as_str().unwrap())
        .collect();
    assert!(products.contains(&"tea"), "{view}");
    assert!(
        products.iter().all(|p| *p == "tea" || *p == "cup"),
        "{view}"
    );
    let bob_orders = get(server, "/shop/customers/bob").await.1["orders"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(products.len() + bob_orders, 2, "two orders were placed");
    assert_eq!(
        get(server, "/shop/customers/nobody").await.0,
        StatusCode::NOT_FOUND
    );

    // Orders by status: the index, newest first.
    let (code, open) = get(server, "/shop/orders?status=open").await;
    assert_eq!(code, StatusCode::OK, "{open}");
    let open = open["orders"].as_array().unwrap().clone();
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open[0]["created"].as_i64() >= open[1]["created"].as_i64());
    assert!(
        get(server, "/shop/orders?status=shipped").await.1["orders"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A partial update of the address: the zip code stays.
    let (code, patched) = send(
        client()
            .patch(server.url("/shop/customers/ada"))
            .json(&json!({ "address": { "city": "Paris" } })),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{patched}");
    assert_eq!(patched["address"], json!({ "city": "Paris", "zip": "N1" }));
    assert!(patched["updated"].as_i64() >= patched["created"].as_i64());
    let (code, e) = send(
        client()
            .patch(server.url("/shop/customers/ada"))
            .json(&json!({ "name": "" })),
    )
    .await;
    assert_eq!(
        (code, e["attribute"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name")),
        "{e}"
    );
    let (code, _) = send(
        client()
            .patch(server.url("/shop/customers/nobody"))
            .json(&json!({ "name": "N" })),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "an update does not create a customer"
    );
    assert_eq!(
        get(server, "/shop/customers/nobody").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_shop_works_on_the_embedded_store() {
    let server = Server::start(manifest(SHOP));
    shop_contract(&server).await;
}

#[tokio::test]
async fn the_shop_works_on_dynamodb() {
    let dynamodb = crate::support::dynamodb().await;
    let endpoint = dynamodb.endpoint();
    let env = crate::support::dynamodb_env(&endpoint);
    let server = Server::start_env(manifest(SHOP), &[], &env);
    shop_contract(&server).await;
}

/// A model checked against a table whose key is not the model's: every call fails
/// with the mismatch named, and the host goes on.
#[tokio::test]
async fn a_model_that_does_not_match_its_table_is_refused_with_the_reason() {
    let server = Server::start(manifest(&SHOP.replace(
        r#"partition_key = { name = "pk", type = "S" }
sort_key = { name = "sk", type = "S" }"#,
        r#"partition_key = { name = "PK", type = "S" }
sort_key = { name = "SK", type = "S" }"#,
    )));
    let (code, body) = post(
        &server,
        "/shop/customers",
        json!({ "id": "ada", "name": "Ada" }),
    )
    .await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("model `Customer` does not match its table: table `shop`'s partition key is `PK`, the model's is `pk`"),
        "{message}"
    );
}
