//! Outbound HTTP as a [`Capability`]: the allow list is read when a function loads, and
//! every instance gets [`OutboundHooks`] for its `wasi:http/outgoing-handler` calls.

use super::{AllowedHosts, OutboundCounters, OutboundHooks, OutboundLimits};
use crate::metrics::Metrics;
use crate::runtime::{
    Capability, ConfigureError, FunctionInfo, InstanceBuilder, InstanceState, InvocationRecord,
};
use std::sync::Arc;
use wasmtime::component::Linker;

/// One instance's outbound requests.
pub struct OutboundInstance {
    counters: Arc<OutboundCounters>,
    function: Arc<str>,
}

/// The outbound-HTTP capability. `wasi:http` itself is linked by the runtime for every
/// component (with every request denied); this capability decides, per function, what
/// is allowed, and reports `outbound_calls`, `outbound_denied` and `outbound_us`.
pub struct OutboundHttp {
    limits: OutboundLimits,
    metrics: Arc<Metrics>,
}

impl OutboundHttp {
    /// Requests within `limits`, counted in `metrics`.
    pub fn new(limits: OutboundLimits, metrics: Arc<Metrics>) -> Self {
        OutboundHttp { limits, metrics }
    }
}

impl Capability for OutboundHttp {
    type Function = Arc<AllowedHosts>;
    type Instance = OutboundInstance;

    fn name(&self) -> &'static str {
        "outbound-http"
    }

    fn link(&self, _linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        Ok(())
    }

    fn configure(&self, function: &FunctionInfo<'_>) -> Result<Arc<AllowedHosts>, ConfigureError> {
        Ok(Arc::new(
            function
                .configs
                .get::<AllowedHosts>()
                .cloned()
                .unwrap_or_else(AllowedHosts::none),
        ))
    }

    fn instantiate(
        &self,
        allowed: &Arc<AllowedHosts>,
        instance: &mut InstanceBuilder<'_>,
    ) -> OutboundInstance {
        let counters = Arc::new(OutboundCounters::new());
        let hooks = OutboundHooks::new(
            Arc::clone(allowed),
            self.limits,
            Arc::clone(&counters),
            Arc::clone(instance.function),
            Arc::clone(instance.request_id),
        );
        instance.set_http_hooks(Box::new(hooks));
        OutboundInstance {
            counters,
            function: Arc::clone(instance.function),
        }
    }

    fn report(&self, instance: &mut OutboundInstance, record: &mut InvocationRecord) {
        let figures = instance.counters.snapshot();
        record.add("outbound_calls", figures.calls);
        record.add("outbound_denied", figures.denied);
        record.add_duration("outbound_us", figures.time);
        if figures.calls > 0 || figures.denied > 0 {
            self.metrics.outbound(
                &instance.function,
                figures.calls,
                figures.denied,
                figures.time,
            );
        }
    }
}
