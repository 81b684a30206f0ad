//! Integrations the host serves itself, without guest code: a route that publishes to a
//! topic, say. The gateway knows them only through [`Service`]; the module that owns one
//! (the topics module for a publish) implements it, and the manifest puts it on routes.
//!
//! A service runs after the route's policies admitted the request, with the whole body
//! read. On a route with a function it runs first, and the function runs only if the
//! service answered 2xx (its answer is then dropped): a publish "before" a function
//! never lets the function act on a request whose publish failed. Without a function,
//! its answer is the route's.

use super::Served;
use crate::exchange::Response;
use crate::runtime::{HttpTrigger, Runtime};
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// What a service's call resolves to.
pub type ServiceFuture<'a> = Pin<Box<dyn Future<Output = Response> + Send + 'a>>;

/// A host-side integration.
///
/// Contract: [`Service::call`] never panics on request data and always answers — a
/// failure is an error response in the shape the service's AWS counterpart gives, and
/// the service logs it. It must not hold the request longer than its own work takes
/// (the route's timeout does not bound it).
pub trait Service: Send + Sync + fmt::Debug {
    /// What it does, for logs and listings: `publish to topic audit`.
    fn describe(&self) -> String;

    /// Whether its routes belong in the API's OpenAPI document (the portal's own pages
    /// do not).
    fn documented(&self) -> bool {
        true
    }

    /// Whether it needs the whole request body (else the body stays unread for the
    /// function, which may stream it).
    fn reads_body(&self) -> bool;

    /// Answers `trigger`, whose whole body is `body` (empty when [`Service::reads_body`]
    /// is false), with what the host's `runtime` serves; `served` is what the gateway
    /// serves at this moment (the routes, for a document of them).
    fn call<'a>(
        &'a self,
        trigger: &'a HttpTrigger,
        body: &'a [u8],
        runtime: &'a Runtime,
        served: &'a Served,
    ) -> ServiceFuture<'a>;
}
