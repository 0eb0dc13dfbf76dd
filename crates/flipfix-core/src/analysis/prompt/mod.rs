//! The prompt: a stable part (role, record kinds, guidelines, catalog) that
//! the API caches, the conversation, and the `record_suggestions` tool whose
//! schema is derived from the declared record kinds.
//!
//! Conversation text is passed to the templates as data, never as source.
//!
//! Split by concern: `context` (what the templates see, built from the
//! workflow, catalog and conversation), `sample` (the sample contexts
//! `check` renders) and, here, rendering both parts into a [`Prompt`].

mod context;
mod sample;

use std::sync::Arc;

use serde::Serialize;

use super::catalog::Catalog;
use super::conversation::Conversation;
use super::examples::{self, ExampleContext};
use super::vision::AttachedImage;
use crate::templates::{TemplateError, Templates};
use crate::workflow::{Analyze, RecordKinds};

pub use super::tool_schema::{tool, Tool, TOOL_NAME};
pub use context::{
    conversation_context, system_context, ConversationContext, ExistingContext, FieldContext,
    KindContext, MessageContext, ReferenceContext, StubContext, SystemContext,
    EXISTING_SNIPPET_CHARS,
};
pub use sample::sample_contexts;

/// A rendered prompt, ready to send.
#[derive(Debug, Clone, Serialize)]
pub struct Prompt {
    /// The stable, cacheable prefix (system prompt).
    pub system: String,
    /// The conversation (user message).
    pub conversation: String,
    /// Photos sent with the conversation (base64: not serialized).
    #[serde(skip)]
    pub images: Vec<crate::llm::ImageInput>,
    /// Shared by every prompt of one analysis and workflow set.
    #[serde(serialize_with = "shared")]
    pub tool: Arc<Tool>,
}

fn shared<S: serde::Serializer>(tool: &Arc<Tool>, serializer: S) -> Result<S::Ok, S::Error> {
    tool.as_ref().serialize(serializer)
}

/// What every prompt of one analysis (`menu`) shares while its workflow
/// set is in force: the tool and the worked examples, rendered.
#[derive(Debug)]
pub struct PromptParts {
    pub tool: Arc<Tool>,
    pub examples: Vec<ExampleContext>,
}

impl PromptParts {
    pub fn new(
        menu: &Analyze,
        kinds: &RecordKinds,
        templates: &Templates,
    ) -> Result<Self, TemplateError> {
        let examples = examples::contexts(menu, templates).map_err(|err| match err {
            examples::ExampleError::Template(err) => err,
            examples::ExampleError::Invalid(message) => {
                TemplateError(crate::workflow::Problem::new(
                    &menu.system_template,
                    format!("a worked example: {message}"),
                ))
            }
        })?;
        Ok(Self {
            tool: Arc::new(tool(menu, kinds)),
            examples,
        })
    }
}

/// Renders both parts and builds the tool (text only).
pub fn build_prompt(
    menu: &Analyze,
    kinds: &RecordKinds,
    templates: &Templates,
    catalog: &Catalog,
    conversation: &Conversation,
) -> Result<Prompt, TemplateError> {
    let parts = PromptParts::new(menu, kinds, templates)?;
    build_prompt_with_images(
        menu,
        kinds,
        templates,
        &parts,
        catalog,
        conversation,
        Vec::new(),
    )
}

/// [`build_prompt`] with the shared `parts` made already, and the photos
/// that go along; the conversation says which of its messages' attachments
/// are among them.
pub(crate) fn build_prompt_with_images(
    menu: &Analyze,
    kinds: &RecordKinds,
    templates: &Templates,
    parts: &PromptParts,
    catalog: &Catalog,
    conversation: &Conversation,
    images: Vec<AttachedImage>,
) -> Result<Prompt, TemplateError> {
    let mut context = system_context(menu, kinds, catalog);
    context.examples = parts.examples.clone();
    let system = templates.render(&menu.system_template, context)?;
    let mut context = conversation_context(conversation);
    for message in &mut context.messages {
        message.images = images
            .iter()
            .filter(|i| i.message_id.to_string() == message.id)
            .count();
    }
    let conversation = templates.render(&menu.conversation_template, context)?;
    Ok(Prompt {
        system,
        conversation,
        images: images.into_iter().map(|i| i.image).collect(),
        tool: parts.tool.clone(),
    })
}
