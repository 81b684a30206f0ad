//! The `authorization` capability: what the route's authorizer established about the
//! caller, read through the WIT `authorization` interface — the JWT's claims and
//! scopes, and a custom authorizer's `context` (API Gateway's
//! `requestContext.authorizer.lambda`) — and the id of the API key the request carried.
//!
//! A Portico function's event carries the JWT part already; this interface is how it
//! reads a custom authorizer's context (a record field added to the event would break
//! every component built against `portico:edge@0.1.0`), and how a `wasi:http`
//! component, which has no event, reads either.
//!
//! Its three moments:
//! - engine time: links `portico:edge/authorization`;
//! - app time: nothing to configure — every function may read its own caller;
//! - request time: the instance shares the request's authorization (one `Arc`).

use crate::exchange::Authorization;
use crate::runtime::{Capability, ConfigureError, FunctionInfo, InstanceBuilder, InstanceState};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    #![allow(missing_docs)] // Generated from the WIT, which documents every item.
    wasmtime::component::bindgen!({
        path: "../wit",
        interfaces: "import portico:edge/authorization@0.1.0;",
        with: {
            "portico:edge/http-types": crate::runtime::function::bindings::portico::edge::http_types,
        },
        imports: { default: async | trappable },
    });
}

use bindings::portico::edge::authorization as wit;

/// The `authorization` capability.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizationContext;

/// An instance's view of its caller.
#[derive(Debug, Default)]
pub struct Caller(Option<Arc<Authorization>>);

impl Capability for AuthorizationContext {
    type Function = ();
    type Instance = Caller;

    fn name(&self) -> &'static str {
        "authorization"
    }

    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        wit::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
    }

    fn configure(&self, _function: &FunctionInfo<'_>) -> Result<(), ConfigureError> {
        Ok(())
    }

    fn instantiate(&self, _function: &(), instance: &mut InstanceBuilder<'_>) -> Caller {
        Caller(instance.caller.cloned())
    }
}

impl InstanceState {
    fn caller(&mut self) -> Option<&Authorization> {
        self.capability::<Caller>().and_then(|c| c.0.as_deref())
    }
}

impl wit::Host for InstanceState {
    async fn jwt_claims(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .caller()
            .map(|a| a.jwt_claims.clone())
            .unwrap_or_default())
    }

    async fn jwt_scopes(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self
            .caller()
            .map(|a| a.jwt_scopes.clone())
            .unwrap_or_default())
    }

    async fn lambda_context(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self
            .caller()
            .and_then(|a| a.lambda.as_deref().map(str::to_string)))
    }

    async fn api_key_id(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self
            .caller()
            .and_then(|a| a.api_key_id.as_deref().map(str::to_string)))
    }
}
