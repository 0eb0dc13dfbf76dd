//! Turning the model's answer into an [`Analysis`]: validation against the
//! records the conversation shows.

use super::validate::{KnownRecords, Validator};
use super::{Analysis, AnalysisError, Catalog, Conversation};
use crate::llm::ToolAnswer;
use crate::workflow::Workflows;

/// Records the conversation shows (record posts, the record its origin
/// became, the open records listed with it), by id.
pub fn known_from_conversation(conversation: &Conversation) -> KnownRecords {
    conversation
        .references()
        .map(|r| (r.record_id, r.kind.clone()))
        .chain(
            conversation
                .origin_record
                .iter()
                .chain(&conversation.open_records)
                .map(|r| (r.record_id, r.kind.clone())),
        )
        .collect()
}

/// Validates an answer into an [`Analysis`].
pub fn interpret(
    workflows: &Workflows,
    menu: &crate::workflow::Analyze,
    catalog: &Catalog,
    conversation: Conversation,
    answer: ToolAnswer,
    known_records: &KnownRecords,
    cost_usd: Option<f64>,
) -> Result<Analysis, AnalysisError> {
    let validator = Validator {
        menu,
        kinds: &workflows.kinds,
        catalog,
        conversation: &conversation,
        known_records,
    };
    let (suggestions, repairs) = validator.validate(&answer.input)?;
    for repair in &repairs {
        tracing::info!(%repair, "model answer repaired");
    }
    Ok(Analysis {
        suggestions,
        repairs,
        usage: answer.usage,
        model: answer.model,
        cost_usd,
        request_id: answer.request_id,
        conversation,
    })
}
