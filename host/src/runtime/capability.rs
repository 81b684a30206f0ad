//! Capabilities: what a component may do beyond computing — log, use tables, call out
//! over HTTP, read variables. Each one is a module of its own that implements
//! [`Capability`]; the runtime holds them generically and never names one.
//!
//! A capability has three moments, kept apart by the trait:
//!
//! | moment | method | when | typical work |
//! |---|---|---|---|
//! | engine time | [`Capability::link`] | once, when the [`Runtime`](super::Runtime) is built | add its WIT imports to the one linker |
//! | app time | [`Capability::configure`] | each time a function is loaded (start, deploy, reload) | read its part of the function's manifest entry, check it, resolve grants |
//! | request time | [`Capability::instantiate`] | for every instance, inside the fresh `Store` | build the small state the guest's calls see |
//!
//! After the call, [`Capability::report`] adds the instance's figures (calls made, time
//! spent) to the [`InvocationRecord`], which the access log prints.
//!
//! The manifest stores each capability's per-function settings in a [`CapabilityConfigs`]
//! map under the settings' own type; `configure` takes its type back out.

use super::InstanceState;
use crate::exchange::Authorization;
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Linker;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::WasiHttpHooks;

/// One capability. See the [module docs](self) for the three moments.
///
/// Contract: `instantiate` runs on the request path for every instance, so it must be
/// cheap (clone a few `Arc`s, no I/O, no locks held across calls); `configure` may do
/// real work and fail; `link` may fail only for a programming error (a name clash in the
/// linker).
pub trait Capability: Send + Sync + 'static {
    /// The per-function state built at app time (grants, allow lists, resolved values).
    type Function: Send + Sync + 'static;
    /// The per-instance state the guest's calls see.
    type Instance: Send + 'static;

    /// The capability's name, for errors (`data`, `outbound-http`, ...).
    fn name(&self) -> &'static str;

    /// Engine time: adds the capability's imports to the linker.
    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()>;

    /// App time: the state of one function, from its settings in `function.configs`.
    fn configure(&self, function: &FunctionInfo<'_>) -> Result<Self::Function, ConfigureError>;

    /// Request time: the state of one instance of a function configured as `function`.
    fn instantiate(
        &self,
        function: &Self::Function,
        instance: &mut InstanceBuilder<'_>,
    ) -> Self::Instance;

    /// After the call: adds the instance's figures to `record`.
    fn report(&self, instance: &mut Self::Instance, record: &mut InvocationRecord) {
        let _ = (instance, record);
    }
}

/// What a capability sees of a function at app time.
#[derive(Debug, Clone, Copy)]
pub struct FunctionInfo<'a> {
    /// The function's name.
    pub name: &'a str,
    /// Every capability's settings for this function, from the manifest.
    pub configs: &'a CapabilityConfigs,
}

/// Why a capability refused a function's settings (the function is not loaded).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{capability}: {message}")]
pub struct ConfigureError {
    /// The capability that refused.
    pub capability: &'static str,
    /// What is wrong, naming the setting.
    pub message: String,
}

/// What `instantiate` may set up in the fresh instance besides its own state.
pub struct InstanceBuilder<'a> {
    /// The function's name.
    pub function: &'a Arc<str>,
    /// The invocation's request id.
    pub request_id: &'a Arc<str>,
    /// What the route's authorizer established about the caller, if it has one.
    pub caller: Option<&'a Arc<Authorization>>,
    pub(super) wasi: &'a mut WasiCtxBuilder,
    pub(super) http_hooks: &'a mut Option<Box<dyn WasiHttpHooks + Send>>,
}

impl InstanceBuilder<'_> {
    /// The instance's WASI context, for capabilities that grant through WASI (stdio,
    /// environment variables).
    pub fn wasi(&mut self) -> &mut WasiCtxBuilder {
        self.wasi
    }

    /// Decides what the instance's outbound `wasi:http` requests do. Without this, every
    /// outbound request fails with `HTTP-request-denied`.
    pub fn set_http_hooks(&mut self, hooks: Box<dyn WasiHttpHooks + Send>) {
        *self.http_hooks = Some(hooks);
    }
}

/// The settings of every capability for one function, each under its own type.
///
/// The manifest inserts them (it parses each capability's section into that
/// capability's own type); a capability's `configure` takes its type back with
/// [`CapabilityConfigs::get`].
#[derive(Clone, Default)]
pub struct CapabilityConfigs {
    entries: Vec<Arc<dyn ConfigEntry>>,
}

impl CapabilityConfigs {
    /// Adds (or replaces) the settings of type `T`.
    pub fn insert<T: PartialEq + fmt::Debug + Send + Sync + 'static>(&mut self, settings: T) {
        self.entries.retain(|e| !e.as_any().is::<T>());
        self.entries.push(Arc::new(settings));
    }

    /// The settings of type `T`, if the manifest gave any.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.entries.iter().find_map(|e| e.as_any().downcast_ref())
    }
}

impl PartialEq for CapabilityConfigs {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|a| other.entries.iter().any(|b| a.dyn_eq(b.as_any())))
    }
}

impl fmt::Debug for CapabilityConfigs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.debug()))
            .finish()
    }
}

/// An entry of [`CapabilityConfigs`]: any comparable, printable settings type.
trait ConfigEntry: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn dyn_eq(&self, other: &dyn Any) -> bool;
    fn debug(&self) -> &dyn fmt::Debug;
}

impl<T: PartialEq + fmt::Debug + Send + Sync + 'static> ConfigEntry for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn dyn_eq(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }

    fn debug(&self) -> &dyn fmt::Debug {
        self
    }
}

/// What one invocation did: the runtime's phases and every capability's figures. The
/// access log and the metrics read it; nothing in it names a capability.
#[derive(Debug, Clone, Default)]
pub struct InvocationRecord {
    /// Waiting for a free instance slot.
    pub queue: Duration,
    /// Creating the instance.
    pub instantiate: Duration,
    /// Running the guest (for a streaming response: until the guest returned).
    pub guest: Duration,
    /// Of the instantiation and the guest's run, the time a thread was actually running
    /// them (not waiting for I/O, a timer or its turn on the CPU).
    pub cpu: Duration,
    /// Largest linear memory the instance reached, in bytes (0 if it never started).
    pub memory_bytes: u64,
    figures: Vec<Figure>,
}

/// One named figure of an invocation, e.g. `data_calls = 2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    /// The figure's name in the access log (`snake_case`, prefixed by its capability).
    pub name: &'static str,
    /// Its value.
    pub value: u64,
}

impl InvocationRecord {
    /// Adds a figure (a capability's `report` calls this).
    pub fn add(&mut self, name: &'static str, value: u64) {
        self.figures.push(Figure { name, value });
    }

    /// Adds a duration figure, in microseconds.
    pub fn add_duration(&mut self, name: &'static str, value: Duration) {
        self.add(name, u64::try_from(value.as_micros()).unwrap_or(u64::MAX));
    }

    /// The capabilities' figures, in the order they were reported.
    pub fn figures(&self) -> &[Figure] {
        &self.figures
    }

    /// The value of figure `name`, if reported.
    pub fn figure(&self, name: &str) -> Option<u64> {
        self.figures
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value)
    }

    /// The figures as `name=value` pairs separated by spaces, as the access log prints
    /// them.
    pub fn usage(&self) -> Usage<'_> {
        Usage(&self.figures)
    }
}

/// [`InvocationRecord::usage`]: `data_calls=1 data_us=35 ...`.
pub struct Usage<'a>(&'a [Figure]);

impl fmt::Display for Usage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, figure) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}={}", figure.name, figure.value)?;
        }
        Ok(())
    }
}

/// The registered capabilities, in registration order.
#[derive(Clone, Default)]
pub struct Capabilities {
    list: Vec<Arc<dyn ErasedCapability>>,
}

impl Capabilities {
    /// No capabilities: components get WASI (no authority) and nothing else.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `capability` (one line per capability, in `cli`).
    #[must_use]
    pub fn with<C: Capability>(mut self, capability: C) -> Self {
        self.list.push(Arc::new(capability));
        self
    }

    /// The registered capability of type `C`, if there is one: for a host-side
    /// integration that serves what a capability serves guests (a route publishing to a
    /// topic uses the topics capability's service), so the two never disagree.
    pub fn get<C: Capability>(&self) -> Option<&C> {
        self.list
            .iter()
            .find_map(|c| c.as_any().downcast_ref::<C>())
    }

    pub(super) fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        for capability in &self.list {
            capability.link(linker)?;
        }
        Ok(())
    }

    /// Configures every capability for one function, in registration order.
    pub(super) fn configure(
        &self,
        function: &FunctionInfo<'_>,
    ) -> Result<Configured, ConfigureError> {
        let states = self
            .list
            .iter()
            .map(|c| c.configure(function))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Configured {
            capabilities: self.clone(),
            states: states.into(),
        })
    }
}

/// Every capability's state for one function (app time), ready to instantiate.
#[derive(Clone)]
pub(super) struct Configured {
    capabilities: Capabilities,
    states: Arc<[Box<dyn Any + Send + Sync>]>,
}

impl Configured {
    /// Request time: every capability's instance state, in registration order.
    pub(super) fn instantiate(
        &self,
        instance: &mut InstanceBuilder<'_>,
    ) -> Vec<Box<dyn Any + Send>> {
        self.capabilities
            .list
            .iter()
            .zip(self.states.iter())
            .map(|(capability, state)| capability.instantiate(state.as_ref(), instance))
            .collect()
    }

    /// After the call: every capability's figures.
    pub(super) fn report(
        &self,
        instances: &mut [Box<dyn Any + Send>],
        record: &mut InvocationRecord,
    ) {
        for (capability, instance) in self.capabilities.list.iter().zip(instances) {
            capability.report(instance.as_mut(), record);
        }
    }
}

/// [`Capability`] with its associated types erased, so the runtime can hold a list.
trait ErasedCapability: Send + Sync {
    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()>;
    fn configure(
        &self,
        function: &FunctionInfo<'_>,
    ) -> Result<Box<dyn Any + Send + Sync>, ConfigureError>;
    fn instantiate(
        &self,
        function: &(dyn Any + Send + Sync),
        instance: &mut InstanceBuilder<'_>,
    ) -> Box<dyn Any + Send>;
    fn report(&self, instance: &mut (dyn Any + Send), record: &mut InvocationRecord);
    fn as_any(&self) -> &dyn Any;
}

impl<C: Capability> ErasedCapability for C {
    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        Capability::link(self, linker)
    }

    fn configure(
        &self,
        function: &FunctionInfo<'_>,
    ) -> Result<Box<dyn Any + Send + Sync>, ConfigureError> {
        Ok(Box::new(Capability::configure(self, function)?))
    }

    fn instantiate(
        &self,
        function: &(dyn Any + Send + Sync),
        instance: &mut InstanceBuilder<'_>,
    ) -> Box<dyn Any + Send> {
        // The states list is built from this same capability list (`Capabilities::configure`),
        // so the downcast cannot fail.
        match function.downcast_ref::<C::Function>() {
            Some(function) => Box::new(Capability::instantiate(self, function, instance)),
            None => unreachable!("capability state out of order"),
        }
    }

    fn report(&self, instance: &mut (dyn Any + Send), record: &mut InvocationRecord) {
        if let Some(instance) = instance.downcast_mut::<C::Instance>() {
            Capability::report(self, instance, record);
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
