//! A shop on one table, written with models (`portico_guest::data::model`).
//!
//! - `POST /shop/customers` `{"id", "name", "address"?}` → 201, or 409 if the id is taken.
//! - `GET /shop/customers/{id}` → `{"customer", "orders"}`: one query of the customer's
//!   partition, returned as a collection of two models; 404 if there is no customer.
//! - `PATCH /shop/customers/{id}` `{"name"?, "address"?: {..}}` → the customer; an
//!   address is merged attribute by attribute, never replaced.
//! - `POST /shop/products` `{"id", "name", "stock", "price"}` → 201, or 409.
//! - `GET /shop/products/{id}` → the product, or 404.
//! - `POST /shop/orders` `{"customer", "product", "quantity"}` → 201 and the order, in
//!   one transaction that writes the order and takes the quantity off the product's
//!   stock on the condition that there is enough: 409 when there is not, 404 for an
//!   unknown customer or product.
//! - `GET /shop/orders?status=open` → orders of that status, newest first, through the
//!   `by_status` index (chosen by the query from its conditions).
//!
//! Bad input is 400 with the attribute and the rule it broke.

use std::collections::BTreeMap;

use portico_guest::data::model::{self, Collection, Model, ModelExt, transaction};
use portico_guest::data::{self, Number};
use portico_guest::http::StatusCode;
use portico_guest::{Request, Response};
use serde::{Deserialize, Serialize};

/// A customer: partition `CUSTOMER#{id}`, sort key `#PROFILE`.
#[derive(Model, Serialize, Deserialize, Clone, Debug)]
#[model(table = "shop", pk = "CUSTOMER#{id}", sk = "#PROFILE")]
struct Customer {
    #[model(validate(length(min = 1, max = 64), regex = "^[A-Za-z0-9_-]+$"))]
    id: String,
    #[model(validate(length(min = 1, max = 200)))]
    name: String,
    #[serde(default)]
    address: BTreeMap<String, String>,
    #[model(created_at)]
    #[serde(default)]
    created: i64,
    #[model(updated_at)]
    #[serde(default)]
    updated: i64,
}

/// A product: partition `PRODUCT#{id}`.
#[derive(Model, Serialize, Deserialize, Clone, Debug)]
#[model(table = "shop", pk = "PRODUCT#{id}", sk = "#PRODUCT")]
struct Product {
    #[model(validate(length(min = 1, max = 64), regex = "^[A-Za-z0-9_-]+$"))]
    id: String,
    #[model(validate(length(min = 1, max = 200)))]
    name: String,
    #[model(validate(range(min = 0)))]
    stock: i64,
    /// Exact decimal: no float rounding of prices.
    #[model(validate(with = not_negative))]
    price: Number,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Status {
    Open,
    Shipped,
    Cancelled,
}

/// An order, under its customer's partition: `CUSTOMER#{customer}` / `ORDER#{id}`.
#[derive(Model, Serialize, Deserialize, Clone, Debug)]
#[model(table = "shop", pk = "CUSTOMER#{customer}", sk = "ORDER#{id}")]
#[model(index(name = "by_status", pk = "status", sk = "created"))]
struct Order {
    customer: String,
    id: String,
    product: String,
    #[model(validate(range(min = 1, max = 1000)))]
    quantity: i64,
    #[model(default = Status::Open)]
    status: Option<Status>,
    #[model(created_at)]
    #[serde(default)]
    created: i64,
}

/// What a customer's partition holds.
#[derive(Collection)]
enum CustomerRecords {
    Customer(Customer),
    Order(Order),
}

fn not_negative(n: &Number) -> std::result::Result<(), String> {
    if n.is_negative() {
        Err(format!("{} is negative", n.as_str()))
    } else {
        Ok(())
    }
}

/// A failed request: its status and a message for the client.
struct Problem(StatusCode, serde_json::Value);

impl Problem {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Problem(status, serde_json::json!({ "message": message.into() }))
    }
}

impl From<model::Error> for Problem {
    fn from(e: model::Error) -> Self {
        let status = match &e {
            model::Error::Validation { .. }
            | model::Error::TypeMismatch { .. }
            | model::Error::UnknownAttribute { .. }
            | model::Error::KeyAttribute { .. }
            | model::Error::MissingRequired { .. }
            | model::Error::Data(data::Error::Validation(_)) => StatusCode::BAD_REQUEST,
            e if e.is_condition_failure() => StatusCode::CONFLICT,
            e if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            portico_guest::log::error(format!("shop: {e}"));
        }
        let mut body = serde_json::json!({ "message": e.to_string() });
        if let Some(attribute) = e.attribute() {
            body["attribute"] = attribute.into();
        }
        Problem(status, body)
    }
}

impl From<portico_guest::Error> for Problem {
    fn from(e: portico_guest::Error) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, e.to_string())
    }
}

type Result<T> = std::result::Result<T, Problem>;

fn handle(req: Request) -> Response {
    let id = req.path_param("id").map(str::to_owned);
    let result = match (req.route_key(), id) {
        ("POST /shop/customers", _) => create_customer(&req),
        ("GET /shop/customers/{id}", Some(id)) => customer(&id),
        ("PATCH /shop/customers/{id}", Some(id)) => patch_customer(&req, &id),
        ("POST /shop/products", _) => create_product(&req),
        ("GET /shop/products/{id}", Some(id)) => product(&id),
        ("POST /shop/orders", _) => create_order(&req),
        ("GET /shop/orders", _) => orders(&req),
        _ => Err(Problem::new(StatusCode::NOT_FOUND, "Not Found")),
    };
    match result {
        Ok(response) => response,
        Err(Problem(status, body)) => Response::new(status)
            .json(&body)
            .unwrap_or_else(|_| Response::new(status)),
    }
}

fn json(status: StatusCode, body: &impl Serialize) -> Result<Response> {
    Ok(Response::new(status).json(body)?)
}

fn create_customer(req: &Request) -> Result<Response> {
    let mut customer: Customer = req.json()?;
    Customer::create(&mut customer).map_err(|e| exists(e, "customer"))?;
    json(StatusCode::CREATED, &customer)
}

/// A condition failure on create means the key is taken.
fn exists(e: model::Error, what: &str) -> Problem {
    if e.is_condition_failure() {
        Problem::new(StatusCode::CONFLICT, format!("{what} exists"))
    } else {
        e.into()
    }
}

fn customer(id: &str) -> Result<Response> {
    let mut customer = None;
    let mut orders = Vec::new();
    for record in CustomerRecords::query(&Customer::key(id)).all(10_000)? {
        match record {
            CustomerRecords::Customer(c) => customer = Some(c),
            CustomerRecords::Order(o) => orders.push(o),
        }
    }
    let Some(customer) = customer else {
        return Err(Problem::new(StatusCode::NOT_FOUND, "no such customer"));
    };
    json(
        StatusCode::OK,
        &serde_json::json!({ "customer": customer, "orders": orders }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerPatch {
    name: Option<String>,
    address: Option<BTreeMap<String, String>>,
}

fn patch_customer(req: &Request, id: &str) -> Result<Response> {
    let patch: CustomerPatch = req.json()?;
    let f = Customer::fields();
    let mut update = Customer::update(Customer::key(id));
    if let Some(name) = patch.name {
        update = update.set(f.name, name);
    }
    if let Some(address) = patch.address {
        // One SET per line of the address: what is not named stays.
        update = update.patch(&serde_json::json!({ "address": address }));
    }
    match update.send_returning() {
        Ok(customer) => json(StatusCode::OK, &customer),
        Err(e) if e.is_condition_failure() => {
            Err(Problem::new(StatusCode::NOT_FOUND, "no such customer"))
        }
        Err(e) => Err(e.into()),
    }
}

fn create_product(req: &Request) -> Result<Response> {
    let mut product: Product = req.json()?;
    Product::create(&mut product).map_err(|e| exists(e, "product"))?;
    json(StatusCode::CREATED, &product)
}

fn product(id: &str) -> Result<Response> {
    match Product::get(Product::key(id))? {
        Some(p) => json(StatusCode::OK, &p),
        None => Err(Problem::new(StatusCode::NOT_FOUND, "no such product")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    customer: String,
    product: String,
    quantity: i64,
}

fn create_order(req: &Request) -> Result<Response> {
    let new: NewOrder = req.json()?;
    let mut order = Order {
        customer: new.customer,
        id: req.request_id().to_owned(),
        product: new.product,
        quantity: new.quantity,
        status: None,
        created: 0,
    };
    let stock = Product::fields().stock;
    let result = transaction()
        .create(&mut order)
        .update(
            Product::update(Product::key(order.product.clone()))
                .add(stock.clone(), -order.quantity)
                .condition(stock.ge(order.quantity)),
        )
        .check(Customer::key(order.customer.clone()), Customer::present())
        .send();
    match result {
        Ok(()) => json(StatusCode::CREATED, &order),
        Err(model::Error::Data(data::Error::TransactionCanceled(reasons))) => {
            let failed = |i: usize| {
                reasons
                    .get(i)
                    .is_some_and(data::CancellationReason::is_failure)
            };
            if failed(2) {
                Err(Problem::new(StatusCode::NOT_FOUND, "no such customer"))
            } else if failed(1) {
                // The product is missing, or its stock is short: tell which.
                match Product::get(Product::key(order.product.clone()))? {
                    None => Err(Problem::new(StatusCode::NOT_FOUND, "no such product")),
                    Some(p) => Err(Problem(
                        StatusCode::CONFLICT,
                        serde_json::json!({ "message": "not enough stock", "stock": p.stock }),
                    )),
                }
            } else {
                Err(Problem::new(
                    StatusCode::CONFLICT,
                    "the order conflicted; try again",
                ))
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn orders(req: &Request) -> Result<Response> {
    let status: Status = match req.query("status").unwrap_or("open") {
        "open" => Status::Open,
        "shipped" => Status::Shipped,
        "cancelled" => Status::Cancelled,
        other => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                format!("unknown status `{other}` (open, shipped, cancelled)"),
            ));
        }
    };
    let orders = Order::query()
        .eq(Order::fields().status, Some(status))
        .reverse()
        .all(1000)?;
    json(StatusCode::OK, &serde_json::json!({ "orders": orders }))
}

portico_guest::export!(handle);
