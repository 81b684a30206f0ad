//! The executor of topic subscribers (`Kind::Subscriber`): one message through one fresh
//! instance's `on-message`.
//!
//! Which messages reach it, when, and what a failure leads to (retries, dead letters) is
//! the business of the topics' delivery, which calls [`Runtime::invoke_subscriber`].
//!
//! [`Runtime::invoke_subscriber`]: crate::runtime::Runtime::invoke_subscriber

use crate::runtime::InvokeError;
use crate::runtime::capability::InvocationRecord;
use crate::runtime::state::InstanceState;
use std::time::Instant;
use tracing::Instrument as _;

/// Host-side bindings of the `portico:edge/subscriber` export.
#[allow(missing_docs)] // Generated from the WIT, whose doc comments document every item.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        inline: "
            package portico:host;

            world subscriber-handler {
                export portico:edge/subscriber@0.1.0;
            }
        ",
        exports: { default: async },
    });

    pub use self::exports::portico::edge::subscriber::Message;
    pub use self::portico::edge::topic_types::{AttributeType, MessageAttribute};
}

/// A compiled subscriber, ready to instantiate.
pub type Pre = bindings::SubscriberHandlerPre<InstanceState>;

/// Instantiates and calls `on-message`; records timings as it goes.
pub(crate) async fn run(
    pre: &Pre,
    message: &bindings::Message,
    store: &mut wasmtime::Store<InstanceState>,
    record: &mut InvocationRecord,
) -> Result<(), InvokeError> {
    let started = Instant::now();
    let instance = pre
        .instantiate_async(&mut *store)
        .instrument(tracing::debug_span!("instantiate"))
        .await
        .map_err(InvokeError::Trap)?;
    record.instantiate = started.elapsed();
    let started = Instant::now();
    let outcome = instance
        .portico_edge_subscriber()
        .call_on_message(&mut *store, message)
        .instrument(tracing::debug_span!("subscriber"))
        .await;
    record.guest = started.elapsed();
    outcome
        .map_err(InvokeError::Trap)?
        .map_err(InvokeError::Guest)
}

/// Starts one instance and drops it (a load-time check).
pub async fn probe(pre: &Pre, store: &mut wasmtime::Store<InstanceState>) -> wasmtime::Result<()> {
    pre.instantiate_async(store).await.map(drop)
}
