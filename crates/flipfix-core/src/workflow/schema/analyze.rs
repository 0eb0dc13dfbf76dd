//! A workflow's `analyze:` section: which model is asked what, with which
//! prompts, worked examples and kinds, through which provider, and what it
//! costs.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// The analysis a workflow runs on what it gathered.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeDecl {
    /// Model id; must have an entry in `prices`.
    pub model: Spanned<String>,
    pub max_tokens: u32,
    #[serde(default)]
    pub temperature: f32,
    /// Seconds one API request may take before it is abandoned.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// Record kinds the model may suggest (declared kinds).
    pub kinds: Vec<Spanned<String>>,
    pub prompts: PromptsDecl,
    /// US dollars per million tokens, per model id.
    pub prices: std::collections::BTreeMap<String, PriceDecl>,
    /// Sending the conversation's photos to the model; off when absent.
    #[serde(default)]
    pub vision: Option<Spanned<VisionDecl>>,
    /// Worked examples: a conversation and the answer a correct analysis
    /// gives. Rendered into the system prompt and run through the real
    /// pipeline by `check`.
    #[serde(default)]
    pub examples: Vec<Spanned<super::ExampleDecl>>,
    /// Which API the model is asked through (`anthropic` when not declared).
    #[serde(default)]
    pub provider: Option<Spanned<ProviderDecl>>,
    /// The API's base URL, for `openai_compatible` (where it is required),
    /// e.g. `http://127.0.0.1:11434/v1`.
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// How the model is made to call the tool: `forced` or `auto`, for every
    /// model or per model (`forced` when not declared).
    #[serde(default)]
    pub tool_choice: Option<Spanned<ToolChoiceDecl>>,
}

/// `vision:` in `analyze:`: the photos of the conversation go to the
/// model as images. Writing the section opts in (`enabled` defaults to
/// true); the defaults and bounds are in `workflow::vision`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisionDecl {
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Images sent per analysis at most, newest first.
    #[serde(default)]
    pub max_images: Option<Spanned<usize>>,
    /// Megabytes one image may have (declared and downloaded).
    #[serde(default)]
    pub max_image_mb: Option<Spanned<usize>>,
}

/// The model provider's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderDecl {
    /// Anthropic's Messages API (`ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`).
    Anthropic,
    /// Any OpenAI-compatible Chat Completions API (OpenAI, Ollama, vLLM,
    /// llama.cpp's server) at `base_url`, with `OPENAI_API_KEY` if set.
    OpenaiCompatible,
}

/// How the tool call is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The API's forced tool choice: the model must call the tool.
    #[default]
    Forced,
    /// The tool is offered, and the prompt tells the model to call it (for
    /// models and servers that refuse a forced choice).
    Auto,
}

/// `tool_choice: forced`, or a default with exceptions per model.
#[derive(Debug, Clone)]
pub enum ToolChoiceDecl {
    Every(ToolChoice),
    PerModel(ToolChoiceTableDecl),
}

impl<'de> Deserialize<'de> for ToolChoiceDecl {
    /// By hand, so a mistake is named ("data did not match any variant"
    /// is what an untagged enum says).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ToolChoiceDecl;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`forced`, `auto`, or a table with `default` and `models`")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                match value {
                    "forced" => Ok(ToolChoiceDecl::Every(ToolChoice::Forced)),
                    "auto" => Ok(ToolChoiceDecl::Every(ToolChoice::Auto)),
                    other => Err(E::invalid_value(
                        serde::de::Unexpected::Str(other),
                        &"`forced` or `auto` (or a table with `default` and `models`)",
                    )),
                }
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                ToolChoiceTableDecl::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ToolChoiceDecl::PerModel)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolChoiceTableDecl {
    #[serde(default)]
    pub default: ToolChoice,
    /// Model id (as in `prices`) → its tool choice.
    #[serde(default)]
    pub models: std::collections::BTreeMap<String, ToolChoice>,
}

fn default_timeout_seconds() -> u64 {
    60
}

/// How much conversation is gathered around the clicked message.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsDecl {
    /// Plain channel: messages before the target.
    pub channel_before: usize,
    /// Thread: thread messages ending at the target (the target included).
    pub thread_messages: usize,
    /// Thread: parent-channel messages before the starter.
    pub thread_preroll: usize,
    /// Reply chain: how many replies are followed back.
    pub reply_chain_depth: usize,
    /// Reply chain: messages before the origin.
    pub reply_chain_preroll: usize,
    /// Never more than this many messages in all.
    pub max_messages: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptsDecl {
    /// The stable, cacheable part: role, kinds, guidelines, catalog.
    pub system: Spanned<String>,
    /// The conversation to analyse.
    pub conversation: Spanned<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceDecl {
    pub input: f64,
    pub output: f64,
    pub cache_write: f64,
    pub cache_read: f64,
}
