//! The `topics` capability: a function publishes through the WIT `topics` interface to
//! the topics its manifest entry lists (`topics = ["orders"]`).
//!
//! Its three moments:
//! - engine time: links `portico:edge/topics`;
//! - app time: reads the function's grant ([`TopicGrants`]);
//! - request time: the instance holds the topics and its grant, and counts what it
//!   published (`published` in the access log).

use super::{Attribute, AttributeType, PublishError, TopicGrants, Topics};
use crate::runtime::{
    Capability, ConfigureError, FunctionInfo, InstanceBuilder, InstanceState, InvocationRecord,
};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    #![allow(missing_docs)] // Generated from the WIT, which documents every item.
    wasmtime::component::bindgen!({
        path: "../wit",
        interfaces: "import portico:edge/topics@0.1.0;",
        imports: { default: async | trappable },
    });
}

use bindings::portico::edge::topic_types as types;
use bindings::portico::edge::topics as wit;

/// The capability, over the host's topics (none: the manifest has none).
#[derive(Debug, Clone)]
pub struct TopicsCapability {
    topics: Option<Arc<Topics>>,
}

impl TopicsCapability {
    /// Publishes go to `topics`.
    pub fn new(topics: Option<Arc<Topics>>) -> TopicsCapability {
        TopicsCapability { topics }
    }

    /// The topics it publishes to (none: the manifest has none).
    pub fn topics(&self) -> Option<&Arc<Topics>> {
        self.topics.as_ref()
    }
}

/// An instance's view: the topics, the ones it may publish to, and its count.
#[derive(Debug, Default)]
pub struct TopicsContext {
    topics: Option<Arc<Topics>>,
    granted: Arc<[String]>,
    published: u32,
}

impl Capability for TopicsCapability {
    type Function = Arc<[String]>;
    type Instance = TopicsContext;

    fn name(&self) -> &'static str {
        "topics"
    }

    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        wit::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
    }

    fn configure(&self, function: &FunctionInfo<'_>) -> Result<Arc<[String]>, ConfigureError> {
        Ok(function
            .configs
            .get::<TopicGrants>()
            .map(|g| g.0.clone().into())
            .unwrap_or_else(|| Arc::from(Vec::new())))
    }

    fn instantiate(
        &self,
        granted: &Arc<[String]>,
        _instance: &mut InstanceBuilder<'_>,
    ) -> TopicsContext {
        TopicsContext {
            topics: self.topics.clone(),
            granted: Arc::clone(granted),
            published: 0,
        }
    }

    fn report(&self, context: &mut TopicsContext, record: &mut InvocationRecord) {
        if context.published > 0 {
            record.add("published", u64::from(context.published));
        }
    }
}

fn attribute(a: types::MessageAttribute) -> Attribute {
    Attribute {
        name: a.name,
        data_type: match a.data_type {
            types::AttributeType::String => AttributeType::String,
            types::AttributeType::Number => AttributeType::Number,
            types::AttributeType::StringArray => AttributeType::StringArray,
            types::AttributeType::Binary => AttributeType::Binary,
        },
        value: a.value,
    }
}

impl types::Host for InstanceState {}

impl wit::Host for InstanceState {
    async fn publish(
        &mut self,
        topic: String,
        body: String,
        attributes: Vec<types::MessageAttribute>,
        subject: Option<String>,
    ) -> wasmtime::Result<Result<String, wit::Error>> {
        let Some(context) = self.capability::<TopicsContext>() else {
            return Ok(Err(wit::Error::NotAllowed));
        };
        if !context.granted.contains(&topic) {
            return Ok(Err(wit::Error::NotAllowed));
        }
        let Some(topics) = context.topics.clone() else {
            return Ok(Err(wit::Error::UnknownTopic(topic)));
        };
        context.published += 1;
        let attributes = attributes.into_iter().map(attribute).collect();
        Ok(topics
            .publish(&topic, body, attributes, subject)
            .await
            .map_err(|e| match e {
                PublishError::UnknownTopic(t) => wit::Error::UnknownTopic(t),
                PublishError::Invalid(why) => wit::Error::Invalid(why),
                PublishError::Unavailable(why) => wit::Error::Unavailable(why),
            }))
    }
}
