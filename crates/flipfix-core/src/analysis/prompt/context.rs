//! What the prompt templates see: the system context (record kinds,
//! catalog) and the conversation context (messages, references, records
//! already open), built from the workflow and the gathered conversation.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::analysis::catalog::{Catalog, CatalogMachine, CatalogMaintainer};
use crate::analysis::conversation::{
    Conversation, ExistingRecord, MachineStatusNote, RecordReference,
};
use crate::analysis::examples::ExampleContext;
use crate::analysis::tool_schema::offered_fields;
use crate::workflow::{Analyze, FieldType, MachineRule, RecordKinds};

/// What the system template sees.
#[derive(Debug, Clone, Serialize)]
pub struct SystemContext {
    pub command_name: String,
    pub kinds: Vec<KindContext>,
    pub machines: Vec<CatalogMachine>,
    pub maintainers: Vec<CatalogMaintainer>,
    /// Worked examples, in declaration order.
    pub examples: Vec<ExampleContext>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindContext {
    pub name: String,
    pub label: String,
    pub guidance: String,
    /// `required` or `optional`.
    pub machine: String,
    pub inherit_machine: bool,
    pub parents: Vec<String>,
    pub parent_required: bool,
    /// Kinds that may be nested under this one.
    pub children: Vec<String>,
    pub description_label: String,
    pub description_max_length: usize,
    /// Fields the model may set on a new record (not a status field).
    pub fields: Vec<FieldContext>,
    /// The status a new record starts with, when its status field is not
    /// offered (status changes come as children or updates).
    pub initial_status: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldContext {
    pub name: String,
    pub label: String,
    /// `text` or `choice`.
    pub r#type: String,
    pub choices: Vec<String>,
    pub max_length: Option<usize>,
    pub required: bool,
    pub default: Option<String>,
    pub guidance: String,
}

/// What the conversation template sees.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationContext {
    /// `channel`, `thread` or `reply_chain`.
    pub mode: String,
    pub target_id: String,
    pub messages: Vec<MessageContext>,
    pub references: Vec<ReferenceContext>,
    /// Messages left out because they already became records: one line
    /// each, oldest first, so a follow-up can still find its parent.
    pub saved_stubs: Vec<StubContext>,
    /// The record the thread starter (or reply-chain origin) already became.
    pub origin_record: Option<ExistingContext>,
    /// Open records of the machines the conversation mentions, newest first.
    pub open_records: Vec<ExistingContext>,
    /// Those machines' statuses when not good (`machine`, `status.label`,
    /// `status.out_of_service`, ...).
    pub machine_statuses: Vec<MachineStatusNote>,
    /// Rendering a worked example for the system prompt (not a request).
    pub example: bool,
}

/// An existing record, one line in the prompt.
#[derive(Debug, Clone, Serialize)]
pub struct ExistingContext {
    pub kind: String,
    pub record_id: i64,
    /// Catalog slug, when the record has a machine.
    pub machine: Option<String>,
    pub status: Option<String>,
    /// `YYYY-MM-DD` UTC.
    pub date: String,
    /// How long before the clicked message: `today`, `1 day`, `12 days`.
    pub age: String,
    /// The record text on one line, at most [`EXISTING_SNIPPET_CHARS`].
    pub text: String,
    /// Field name → value of the fields machine status rules read
    /// (`priority`).
    pub rule_fields: std::collections::BTreeMap<String, String>,
}

/// Longest record text shown per existing record.
pub const EXISTING_SNIPPET_CHARS: usize = 200;

impl ExistingContext {
    fn new(record: &ExistingRecord, now: DateTime<Utc>) -> Self {
        let days = (now - record.occurred_at).num_days().max(0);
        let one_line = record.text.split_whitespace().collect::<Vec<_>>().join(" ");
        Self {
            kind: record.kind.clone(),
            record_id: record.record_id,
            machine: record.machine.clone(),
            status: record.status.clone(),
            date: record.occurred_at.format("%Y-%m-%d").to_string(),
            age: match days {
                0 => "today".into(),
                1 => "1 day".into(),
                n => format!("{n} days"),
            },
            text: crate::text::truncate_chars(&one_line, EXISTING_SNIPPET_CHARS),
            rule_fields: record.rule_fields.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    /// Ids are strings: snowflakes do not fit a JSON number.
    pub id: String,
    pub author_id: String,
    pub author_name: String,
    pub author_username: String,
    pub is_webhook: bool,
    /// `YYYY-MM-DD HH:MM` UTC.
    pub timestamp: String,
    pub content: String,
    pub reply_to: Option<String>,
    pub is_target: bool,
    pub in_reply_chain: bool,
    /// Records the target already became ("problem_report #12").
    pub saved_as: Vec<String>,
    pub attachments: usize,
    /// How many of them are images sent to the model with the conversation
    /// (the others are only mentioned).
    pub images: usize,
    pub reference: Option<ReferenceContext>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StubContext {
    pub id: String,
    pub author_name: String,
    pub timestamp: String,
    /// `["part_request #9"]`
    pub saved_as: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReferenceContext {
    pub kind: String,
    pub record_id: i64,
    pub title: Option<String>,
    pub text: String,
    /// `flipfix/<name>` when the post names its author.
    pub author: Option<String>,
}

impl From<&RecordReference> for ReferenceContext {
    fn from(r: &RecordReference) -> Self {
        Self {
            kind: r.kind.clone(),
            record_id: r.record_id,
            title: r.title.clone(),
            text: r.text.clone(),
            author: r.author_name.as_ref().map(|n| format!("flipfix/{n}")),
        }
    }
}

pub fn system_context(menu: &Analyze, kinds: &RecordKinds, catalog: &Catalog) -> SystemContext {
    let allowed = |name: &str| menu.allows(name);
    let kinds = kinds
        .iter()
        .filter(|k| allowed(&k.name))
        .map(|kind| KindContext {
            name: kind.name.clone(),
            label: kind.label.clone(),
            guidance: kind.guidance.clone(),
            machine: match kind.machine {
                MachineRule::Required => "required".into(),
                MachineRule::Optional => "optional".into(),
            },
            inherit_machine: kind.inherit_machine,
            parents: kind.parents.clone(),
            parent_required: kind.parent_required,
            children: kinds
                .children_of(&kind.name)
                .filter(|c| allowed(&c.name))
                .map(|c| c.name.clone())
                .collect(),
            description_label: kind.description_label.clone(),
            description_max_length: kind.description_max_length,
            initial_status: kind
                .status_field
                .as_deref()
                .and_then(|name| kind.field(name))
                .filter(|f| !offered_fields(kind).any(|o| o.name == f.name))
                .and_then(|f| f.default.clone()),
            fields: offered_fields(kind)
                .map(|f| FieldContext {
                    name: f.name.clone(),
                    label: f.label.clone(),
                    r#type: match f.ty {
                        FieldType::Text { .. } => "text".into(),
                        FieldType::Choice { .. } => "choice".into(),
                    },
                    choices: match &f.ty {
                        FieldType::Choice { choices } => choices.clone(),
                        FieldType::Text { .. } => Vec::new(),
                    },
                    max_length: match f.ty {
                        FieldType::Text { max_length } => Some(max_length),
                        FieldType::Choice { .. } => None,
                    },
                    required: f.required,
                    default: f.default.clone(),
                    guidance: f.guidance.clone(),
                })
                .collect(),
        })
        .collect();
    SystemContext {
        command_name: menu.command_name.clone(),
        kinds,
        machines: catalog.machines.clone(),
        maintainers: catalog.maintainers.clone(),
        examples: Vec::new(),
    }
}

pub fn conversation_context(conversation: &Conversation) -> ConversationContext {
    // Ages are counted to the clicked message, so a replay renders the same.
    let now = conversation
        .target()
        .map_or_else(crate::clock::system_now, |t| t.message.timestamp);
    let messages = conversation
        .messages
        .iter()
        .map(|m| MessageContext {
            id: m.message.id.to_string(),
            author_id: m.message.author.id.to_string(),
            author_name: m.message.author.display_name.clone(),
            author_username: m.message.author.username.clone(),
            is_webhook: m.message.author.is_webhook,
            timestamp: m.message.timestamp.format("%Y-%m-%d %H:%M").to_string(),
            content: m.message.content.clone(),
            reply_to: m.message.reply_to.map(|id| id.to_string()),
            is_target: m.is_target,
            in_reply_chain: m.in_reply_chain,
            saved_as: m
                .saved_as
                .iter()
                .map(|s| format!("{} #{}", s.kind, s.record_id))
                .collect(),
            attachments: m.message.attachments.len(),
            images: 0,
            reference: m.reference.as_ref().map(Into::into),
        })
        .collect();
    ConversationContext {
        mode: conversation.mode.as_str().into(),
        target_id: conversation.target_id.to_string(),
        messages,
        references: conversation.references().map(Into::into).collect(),
        saved_stubs: conversation
            .saved_stubs
            .iter()
            .map(|stub| StubContext {
                id: stub.id.to_string(),
                author_name: stub.author_name.clone(),
                timestamp: stub.timestamp.format("%Y-%m-%d %H:%M").to_string(),
                saved_as: stub
                    .saved_as
                    .iter()
                    .map(|s| format!("{} #{}", s.kind, s.record_id))
                    .collect(),
            })
            .collect(),
        origin_record: conversation
            .origin_record
            .as_ref()
            .map(|r| ExistingContext::new(r, now)),
        open_records: conversation
            .open_records
            .iter()
            .map(|r| ExistingContext::new(r, now))
            .collect(),
        machine_statuses: conversation.machine_statuses.clone(),
        example: false,
    }
}
