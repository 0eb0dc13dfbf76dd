//! Worked examples (`examples:` in the workflow): each is a short
//! conversation and the answer a correct analysis gives. They are rendered
//! into the stable system prompt, and `check` runs each through the real
//! pipeline (gather, the generated tool schema, the validator), so an
//! example can never drift from the schema or the rules.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use chrono::{Duration, TimeZone, Utc};
use serde::Serialize;

use super::catalog::{Catalog, CatalogMachine};
use super::conversation::{Conversation, ExistingRecord, Message, MessageAuthor, Mode};
use super::gather::gather;
use super::source::{MessageSource, SourceError, ThreadInfo};
use super::tool_schema::{check_answer, ordered_json, tool};
use super::validate::Validator;
use crate::templates::{TemplateError, Templates};
use crate::workflow::{Analyze, Example, Problem, RecordKinds};

/// The channel every example conversation is in.
const CHANNEL_ID: u64 = 1;

/// What the system template sees of an example.
#[derive(Debug, Clone, Serialize)]
pub struct ExampleContext {
    pub name: String,
    pub lesson: String,
    /// Rendered with the conversation template, exactly as a real
    /// conversation is shown.
    pub conversation: String,
    /// The answer as compact JSON.
    pub answer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExampleError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// The example's messages, as a message source (one plain channel).
struct ExampleSource {
    messages: Vec<Message>,
}

impl MessageSource for ExampleSource {
    async fn message(&self, channel_id: u64, id: u64) -> Result<Option<Message>, SourceError> {
        Ok(super::source::find_in(&self.messages, channel_id, id))
    }

    async fn messages_before(
        &self,
        channel_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Message>, SourceError> {
        Ok(super::source::before_in(
            &self.messages,
            channel_id,
            before,
            limit,
        ))
    }

    async fn thread_info(&self, _channel_id: u64) -> Result<Option<ThreadInfo>, SourceError> {
        Ok(None)
    }
}

/// The example's messages; timestamps are a minute apart (examples are
/// about content, not time).
fn messages(example: &Example) -> Result<Vec<Message>, ExampleError> {
    let decl = &example.decl;
    let parse = |id: &str| {
        id.parse::<u64>()
            .map_err(|_| ExampleError::Invalid(format!("message id `{id}` is not a number")))
    };
    let start = example_start();
    let mut out = Vec::new();
    for (i, m) in decl.messages.iter().enumerate() {
        let name = decl.users.get(&m.author).ok_or_else(|| {
            ExampleError::Invalid(format!(
                "message {}: author `{}` is not in users",
                m.id, m.author
            ))
        })?;
        out.push(Message {
            id: parse(&m.id)?,
            channel_id: CHANNEL_ID,
            author: MessageAuthor {
                id: parse(&m.author)?,
                username: name.to_lowercase().replace(' ', "_"),
                display_name: name.clone(),
                is_bot: false,
                is_webhook: false,
            },
            content: m.content.clone(),
            timestamp: start + Duration::minutes(i as i64),
            reply_to: m.reply_to.as_deref().map(parse).transpose()?,
            attachments: Vec::new(),
            embeds: Vec::new(),
        });
    }
    Ok(out)
}

/// Gathers the example's conversation exactly as a real one is gathered.
pub fn conversation(menu: &Analyze, example: &Example) -> Result<Conversation, ExampleError> {
    let source = ExampleSource {
        messages: messages(example)?,
    };
    let target = example
        .decl
        .target
        .parse::<u64>()
        .map_err(|_| ExampleError::Invalid("target is not a message id".into()))?;
    let gathered = ready(gather(&source, &menu.windows, None, CHANNEL_ID, target))
        .ok_or_else(|| ExampleError::Invalid("gathering did not complete".into()))?;
    let mut conversation =
        gathered.map_err(|err| ExampleError::Invalid(format!("target {target}: {err}")))?;
    if let Some(origin) = &example.decl.started_from {
        if let Some(slug) = &origin.machine {
            if !example.decl.machines.contains_key(slug) {
                return Err(ExampleError::Invalid(format!(
                    "started_from: machine `{slug}` is not in machines"
                )));
            }
        }
        // A thread whose starter became the record the day before.
        conversation.mode = Mode::Thread;
        conversation.origin_record = Some(ExistingRecord {
            kind: origin.kind.clone(),
            record_id: origin.id,
            machine: origin.machine.clone(),
            status: origin.status.clone(),
            occurred_at: example_start() - Duration::days(1),
            text: origin.text.trim().to_string(),
            rule_fields: Default::default(),
        });
    }
    Ok(conversation)
}

/// When every example conversation starts.
fn example_start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 18, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The catalog an example is checked against: the machines it declares.
pub fn catalog(example: &Example) -> Catalog {
    Catalog {
        machines: example
            .decl
            .machines
            .iter()
            .map(|(slug, name)| CatalogMachine {
                id: None,
                slug: slug.clone(),
                name: name.clone(),
                short_name: None,
                aliases: Vec::new(),
            })
            .collect(),
        maintainers: Vec::new(),
    }
}

/// Every example, rendered for the system template.
pub fn contexts(
    menu: &Analyze,
    templates: &Templates,
) -> Result<Vec<ExampleContext>, ExampleError> {
    menu.examples
        .iter()
        .map(|example| {
            let conversation = conversation(menu, example)?;
            let mut context = super::prompt::conversation_context(&conversation);
            context.example = true;
            Ok(ExampleContext {
                name: example.decl.name.clone(),
                lesson: example.decl.lesson.trim().to_string(),
                conversation: templates
                    .render(&menu.conversation_template, context)?
                    .trim()
                    .to_string(),
                answer: ordered_json(&example.decl.answer.value),
            })
        })
        .collect()
}

/// `check`: each example through gather, the tool schema and the
/// validator. Any violation, drop or repair is a problem at the example.
pub fn check(menu: &Analyze, kinds: &RecordKinds, templates: &Templates) -> Vec<Problem> {
    let tool = tool(menu, kinds);
    let mut problems = Vec::new();
    for example in &menu.examples {
        let name = &example.decl.name;
        let at = |(line, column): (u64, u64), message: String| {
            Problem::new(&example.file, format!("example `{name}`: {message}")).at(line, column)
        };
        let conversation = match conversation(menu, example) {
            Ok(conversation) => conversation,
            Err(err) => {
                problems.push(at(example.at, err.to_string()));
                continue;
            }
        };
        if let Err(err) = templates.render(&menu.conversation_template, {
            let mut context = super::prompt::conversation_context(&conversation);
            context.example = true;
            context
        }) {
            problems.push(at(example.at, format!("cannot be rendered: {err}")));
        }
        let answer = &example.decl.answer.value;
        for violation in check_answer(&tool, answer) {
            problems.push(at(
                example.answer_at,
                format!("the answer breaks the tool schema: {violation}"),
            ));
        }
        let catalog = catalog(example);
        let known = super::known_from_conversation(&conversation);
        let validator = Validator {
            menu,
            kinds,
            catalog: &catalog,
            conversation: &conversation,
            known_records: &known,
        };
        match validator.validate(answer) {
            Ok((_, repairs)) => problems.extend(repairs.iter().map(|r| {
                at(
                    example.answer_at,
                    format!("the validator would change it: {r}"),
                )
            })),
            Err(err) => problems.push(at(example.answer_at, err.to_string())),
        }
    }
    problems
}

/// Polls a future that needs no I/O (an in-memory source) to completion.
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
