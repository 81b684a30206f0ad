//! API Gateway HTTP API route keys and the router that matches requests to them. A leaf
//! module: it imports no other part of Portico, and routes lead to any value.

mod route_key;
mod router;

pub use route_key::{MethodMatch, RouteKey, RouteKeyError, Segment};
pub use router::{Match, Route, RouteConflict, Router};
