//! Which API the analysis model is asked through (`provider`, `base_url`)
//! and how it is made to call the tool (`tool_choice`), validated.

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::Spanned;

use super::schema::{ProviderDecl, ToolChoiceDecl};
use super::{Problem, Problems};

pub use super::schema::ToolChoice;

/// The model provider in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelProvider {
    /// Anthropic's Messages API at `ANTHROPIC_BASE_URL`.
    Anthropic,
    /// An OpenAI-compatible Chat Completions API at `base_url` (no trailing
    /// slash, e.g. `http://127.0.0.1:11434/v1`).
    OpenAiCompatible { base_url: String },
}

impl ModelProvider {
    /// The name used in YAML, logs and doctor.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAiCompatible { .. } => "openai_compatible",
        }
    }
}

/// The tool choice per model: a default and exceptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolChoices {
    pub default: ToolChoice,
    pub models: BTreeMap<String, ToolChoice>,
}

impl ToolChoices {
    /// The choice for `model`; a dated id (`claude-x-20250101`) takes its
    /// alias's entry, as prices do.
    pub(crate) fn for_model(&self, model: &str) -> ToolChoice {
        self.models
            .get(model)
            .or_else(|| {
                self.models
                    .iter()
                    .find(|(name, _)| model.starts_with(name.as_str()))
                    .map(|(_, choice)| choice)
            })
            .copied()
            .unwrap_or(self.default)
    }
}

/// The provider from `provider` and `base_url`, each problem at its line.
pub(super) fn provider(
    path: &Path,
    provider: Option<Spanned<ProviderDecl>>,
    base_url: Option<Spanned<String>>,
    at: serde_saphyr::Location,
    problems: &mut Problems,
) -> ModelProvider {
    let problem = |location: serde_saphyr::Location, message: String| {
        Problem::new(path, format!("analyze: {message}")).at_location(location)
    };
    let (kind, at) = provider.map_or((ProviderDecl::Anthropic, at), |p| (p.value, p.referenced));
    match (kind, base_url) {
        (ProviderDecl::Anthropic, None) => ModelProvider::Anthropic,
        (ProviderDecl::Anthropic, Some(url)) => {
            problems.push(problem(
                url.referenced,
                "base_url is for provider openai_compatible; the Anthropic API's URL is the ANTHROPIC_BASE_URL secret".into(),
            ));
            ModelProvider::Anthropic
        }
        (ProviderDecl::OpenaiCompatible, None) => {
            problems.push(problem(
                at,
                "provider openai_compatible needs base_url (e.g. http://127.0.0.1:11434/v1 for Ollama, https://api.openai.com/v1 for OpenAI)".into(),
            ));
            ModelProvider::OpenAiCompatible {
                base_url: String::new(),
            }
        }
        (ProviderDecl::OpenaiCompatible, Some(url)) => {
            if let Err(reason) = check_base_url(&url.value) {
                problems.push(problem(
                    url.referenced,
                    format!("base_url `{}` {reason}", url.value),
                ));
            }
            ModelProvider::OpenAiCompatible {
                base_url: url.value.trim().trim_end_matches('/').to_string(),
            }
        }
    }
}

/// An absolute http(s) URL without credentials, query or fragment: the
/// client appends `/chat/completions` and `/models` to it, and a key in the
/// URL would reach logs.
fn check_base_url(raw: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(raw.trim()).map_err(|_| "is not an absolute URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials (the key goes in OPENAI_API_KEY)");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    Ok(())
}

/// The tool choices from `tool_choice`; models named there must be priced
/// (a typo would otherwise silently do nothing).
pub(super) fn tool_choices(
    path: &Path,
    decl: Option<Spanned<ToolChoiceDecl>>,
    prices: &BTreeMap<String, super::Price>,
    problems: &mut Problems,
) -> ToolChoices {
    let Some(decl) = decl else {
        return ToolChoices::default();
    };
    let choices = match decl.value {
        ToolChoiceDecl::Every(choice) => ToolChoices {
            default: choice,
            models: BTreeMap::new(),
        },
        ToolChoiceDecl::PerModel(table) => ToolChoices {
            default: table.default,
            models: table.models,
        },
    };
    for model in choices.models.keys() {
        if !prices.contains_key(model) {
            problems.push(
                Problem::new(
                    path,
                    format!("analyze: tool_choice.models.{model}: `{model}` has no entry in prices; name models as prices does"),
                )
                .at_location(decl.referenced),
            );
        }
    }
    choices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dated_model_id_takes_its_alias_choice() {
        let choices = ToolChoices {
            default: ToolChoice::Forced,
            models: [("claude-sonnet-4-5".to_string(), ToolChoice::Auto)].into(),
        };
        assert_eq!(
            choices.for_model("claude-sonnet-4-5-20250929"),
            ToolChoice::Auto
        );
        assert_eq!(choices.for_model("claude-haiku-4-5"), ToolChoice::Forced);
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(check_base_url("http://127.0.0.1:11434/v1").is_ok());
        assert!(check_base_url("https://api.openai.com/v1/").is_ok());
        assert_eq!(
            check_base_url("api.openai.com/v1"),
            Err("is not an absolute URL")
        );
        assert_eq!(
            check_base_url("ftp://example.org"),
            Err("must start with http:// or https://")
        );
        assert!(check_base_url("https://user:sk-x@example.org/v1").is_err());
        assert!(check_base_url("https://example.org/v1?key=1").is_err());
    }
}
