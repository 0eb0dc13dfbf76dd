//! `replay`'s text output: each suggestion as its review card, with
//! attribution, parent link and source messages, then repairs and cost.

use std::fmt::Write as _;

use super::create::CreatedRecord;
use crate::analysis::card::suggestion_view;
use crate::analysis::scenario::Scenario;
use crate::analysis::{self, Analysis, MachineMatch, Suggestion};
use crate::workflow::{TokenUsage, Workflows};

/// The replay as a person reads it: one card per suggestion, then repairs
/// and cost.
pub fn render_text(
    workflows: &Workflows,
    scenario: &Scenario,
    analysis: &Analysis,
    known: &analysis::validate::KnownRecords,
    created: &[CreatedRecord],
) -> String {
    let mut out = String::new();
    let c = &analysis.conversation;
    let _ = writeln!(
        out,
        "scenario {}: {} mode, {} messages, target {}",
        scenario.name(),
        c.mode.as_str(),
        c.messages.len(),
        c.target_id
    );
    if analysis.suggestions.is_empty() {
        let _ = writeln!(out, "\n{}", analysis::NO_RECORDS_MESSAGE);
    }
    for (i, s) in analysis.suggestions.iter().enumerate() {
        card(
            &mut out,
            workflows,
            scenario,
            analysis,
            known,
            s,
            &(i + 1).to_string(),
            None,
        );
        for (j, child) in s.children.iter().enumerate() {
            card(
                &mut out,
                workflows,
                scenario,
                analysis,
                known,
                child,
                &format!("{}.{}", i + 1, j + 1),
                Some(&s.kind),
            );
        }
    }
    if !analysis.repairs.is_empty() {
        let _ = writeln!(out, "\nrepairs:");
        for repair in &analysis.repairs {
            let _ = writeln!(out, "  {repair}");
        }
    }
    for record in created {
        match (record.record_id, &record.error) {
            (Some(id), _) => {
                let _ = writeln!(
                    out,
                    "created suggestion {} as record #{id}",
                    record.suggestion
                );
            }
            (None, Some(err)) => {
                let _ = writeln!(
                    out,
                    "could not create suggestion {}: {err}",
                    record.suggestion
                );
            }
            (None, None) => {}
        }
    }
    let u = &analysis.usage;
    let model = if analysis.model.is_empty() {
        "?"
    } else {
        &analysis.model
    };
    if *u == TokenUsage::default() {
        // The API always reports usage; a reference answer (hand-made)
        // carries none, and no cost is made up for it.
        let _ = writeln!(
            out,
            "\ntokens: not reported (the answer carries no usage); model {model}; cost unknown"
        );
    } else {
        let _ = writeln!(
            out,
            "\ntokens: {} in, {} out, {} cache write, {} cache read; model {model}; cost {}",
            u.input_tokens,
            u.output_tokens,
            u.cache_creation_input_tokens,
            u.cache_read_input_tokens,
            analysis
                .cost_usd
                .map(|c| format!("${c:.5}"))
                .unwrap_or_else(|| "unknown (model not in the price table)".into())
        );
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn card(
    out: &mut String,
    workflows: &Workflows,
    scenario: &Scenario,
    analysis: &Analysis,
    known: &analysis::validate::KnownRecords,
    s: &Suggestion,
    at: &str,
    nested_under: Option<&str>,
) {
    let parent_kind = s
        .parent_record_id
        .and_then(|id| known.get(&id))
        .map(String::as_str);
    let _ = writeln!(
        out,
        "\n--- suggestion {at}{} ---",
        nested_under
            .map(|k| format!(" (child of the {k} above)"))
            .unwrap_or_default()
    );
    let kind = workflows.kinds.get(&s.kind);
    let rendered = suggestion_view(s, parent_kind, &workflows.kinds, &scenario.catalog, None)
        .zip(kind)
        .map(|(view, kind)| {
            workflows
                .templates
                .render_message(&kind.card_template, &view)
        });
    match rendered {
        Some(Ok(message)) => {
            let _ = writeln!(out, "{}\n{}", message.title, message.body);
        }
        Some(Err(err)) => {
            let _ = writeln!(out, "{} (card template failed: {err})", s.kind);
        }
        None => {
            let _ = writeln!(out, "{}", s.kind);
        }
    }
    if let MachineMatch::Unknown { said } = &s.machine {
        let _ = writeln!(
            out,
            "machine: unknown{}, to be picked",
            said.as_deref()
                .map(|s| format!(" (model said `{s}`)"))
                .unwrap_or_default()
        );
    }
    if let Some(author) = &s.author {
        let _ = writeln!(
            out,
            "attributed to: {} [{}]",
            author.display(),
            author.key()
        );
    }
    if let Some(parent) = s.parent_record_id {
        let _ = writeln!(out, "parent: {} #{parent}", parent_kind.unwrap_or("record"));
    }
    let _ = writeln!(out, "sources:");
    for id in &s.source_message_ids {
        let text = analysis
            .conversation
            .get(*id)
            .map(|m| {
                crate::text::truncate_chars(m.message.content.lines().next().unwrap_or(""), 60)
            })
            .unwrap_or_default();
        let _ = writeln!(out, "  [{id}] {text}");
    }
}
