//! A workflow's analysis after validation: gathering windows, model,
//! prompts, prices, worked examples and what happens once records exist.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::schema::ExampleDecl;
use super::{Problem, Problems};

pub use super::schema::{PriceDecl as Price, WindowsDecl as Windows};

/// Hard cap on gathered messages, whatever the workflow says: one Discord
/// history page, and a bound on prompt size.
pub const MAX_MESSAGES: usize = 100;

/// Everything one workflow's analysis needs: its windows (`gather:`), its
/// `analyze:` section and its `on_created:`.
#[derive(Debug, Clone)]
pub struct Analyze {
    /// How members start it, for the prompt's `command_name`: the message
    /// command's name, else `/slash`, else the workflow's name.
    pub command_name: String,
    pub windows: Windows,
    pub model: String,
    pub max_tokens: u32,
    pub temperature: f32,
    pub timeout: std::time::Duration,
    /// Kinds the model may suggest, in declaration order.
    pub kinds: Vec<String>,
    pub system_template: String,
    pub conversation_template: String,
    pub prices: BTreeMap<String, Price>,
    /// Worked examples (`examples:`), in declaration order.
    pub examples: Vec<Example>,
    /// Whether and how the conversation's photos go to the model.
    pub vision: super::Vision,
    /// What happens in the conversation once records are created.
    pub on_created: super::on_created::OnCreated,
    /// The API the model is asked through.
    pub provider: super::provider::ModelProvider,
    /// Forced or auto tool choice, per model.
    pub tool_choice: super::provider::ToolChoices,
}

/// A worked example as declared, with where it was declared (for `check`).
#[derive(Debug, Clone)]
pub struct Example {
    pub file: std::path::PathBuf,
    /// Where the example and its answer start in `file` (line, column).
    pub at: (u64, u64),
    pub answer_at: (u64, u64),
    pub decl: super::schema::ExampleDecl,
}

impl Analyze {
    pub fn allows(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }

    /// The price table entry for `model`, if the workflow lists it.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.prices.get(model).copied().or_else(|| {
            // The API answers with the dated model id (claude-x-20250101)
            // when asked for an alias; price it like the alias.
            self.prices
                .iter()
                .find(|(name, _)| model.starts_with(name.as_str()))
                .map(|(_, price)| *price)
        })
    }
}

/// Adds a workflow's worked examples; a name may be used once per workflow.
pub(super) fn attach_examples(
    analyze: &mut Analyze,
    path: &std::path::Path,
    examples: Vec<Spanned<ExampleDecl>>,
    problems: &mut Problems,
) {
    for example in examples {
        let location = |l: serde_saphyr::Location| (l.line(), l.column());
        let at = location(example.referenced);
        let answer_at = location(example.value.answer.referenced);
        if analyze
            .examples
            .iter()
            .any(|e| e.decl.name == example.value.name)
        {
            problems.push(
                Problem::new(
                    path,
                    format!("examples: `{}` is declared twice", example.value.name),
                )
                .at_location(example.referenced),
            );
            continue;
        }
        analyze.examples.push(Example {
            file: path.to_path_buf(),
            at,
            answer_at,
            decl: example.value,
        });
    }
}

/// Tokens one API call used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
}

impl Price {
    /// US dollars for `usage` at these per-million-token prices.
    pub fn cost(&self, usage: &TokenUsage) -> f64 {
        (usage.input_tokens as f64 * self.input
            + usage.output_tokens as f64 * self.output
            + usage.cache_creation_input_tokens as f64 * self.cache_write
            + usage.cache_read_input_tokens as f64 * self.cache_read)
            / 1_000_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_adds_every_token_class() {
        let price = Price {
            input: 1.0,
            output: 5.0,
            cache_write: 1.25,
            cache_read: 0.1,
        };
        let usage = TokenUsage {
            input_tokens: 1_000_000,
            output_tokens: 100_000,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 1_000_000,
        };
        assert!((price.cost(&usage) - 1.6).abs() < 1e-9);
    }
}
