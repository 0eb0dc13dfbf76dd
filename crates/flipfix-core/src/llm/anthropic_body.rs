//! The Messages API body, serialized from the request's borrowed parts.
//!
//! Built as a `serde_json::Value`, every analysis in flight held its own
//! copy of the tool schema and the prompts as a tree (about 90 KB of small
//! allocations each, 10 MB in a burst of 100) next to the bytes sent. This
//! writes the same JSON straight to bytes: only the bytes stay alive while
//! the model thinks.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::auto_instruction;
use super::client::ToolRequest;
use super::image::ImageInput;
use crate::workflow::ToolChoice;

#[derive(Serialize)]
pub(super) struct MessagesBody<'a> {
    model: &'a str,
    max_tokens: u32,
    /// As `json!` wrote the `f32` (widened to `f64`), so the value sent is
    /// unchanged.
    temperature: f64,
    system: Vec<TextBlock<'a>>,
    messages: [UserMessage<'a>; 1],
    tools: [Tool<'a>; 1],
    tool_choice: ToolChoiceBody<'a>,
}

#[derive(Serialize)]
struct TextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<Ephemeral>,
}

#[derive(Serialize)]
struct Ephemeral {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct UserMessage<'a> {
    role: &'static str,
    content: UserContent<'a>,
}

/// The text alone as a plain string, else the text, then caption and
/// image for each image (see `image::anthropic_user_content`).
#[derive(Serialize)]
#[serde(untagged)]
enum UserContent<'a> {
    Text(&'a str),
    Blocks(Vec<ContentBlock<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ContentBlock<'a> {
    Text { text: &'a str },
    Image { source: ImageSource<'a> },
}

#[derive(Serialize)]
struct ImageSource<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    media_type: &'a str,
    data: &'a str,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ToolChoiceBody<'a> {
    Tool { name: &'a str },
    Auto,
}

fn user_content<'a>(user: &'a str, images: &'a [ImageInput]) -> UserContent<'a> {
    if images.is_empty() {
        return UserContent::Text(user);
    }
    let mut blocks = vec![ContentBlock::Text { text: user }];
    for image in images {
        blocks.push(ContentBlock::Text {
            text: &image.caption,
        });
        blocks.push(ContentBlock::Image {
            source: ImageSource {
                kind: "base64",
                media_type: image.media_type,
                data: &image.base64,
            },
        });
    }
    UserContent::Blocks(blocks)
}

impl<'a> MessagesBody<'a> {
    pub(super) fn new(request: &'a ToolRequest<'a>) -> Self {
        let mut system = vec![TextBlock {
            kind: "text",
            text: Cow::Borrowed(request.system),
            // The stable prefix (kinds, guidelines, catalog) is the same
            // for every analysis: cached, it costs a tenth.
            cache_control: Some(Ephemeral { kind: "ephemeral" }),
        }];
        let tool_choice = match request.tool_choice {
            ToolChoice::Forced => ToolChoiceBody::Tool {
                name: request.tool_name,
            },
            ToolChoice::Auto => {
                // After the cached block, so the cache still holds.
                system.push(TextBlock {
                    kind: "text",
                    text: Cow::Owned(auto_instruction(request.tool_name)),
                    cache_control: None,
                });
                ToolChoiceBody::Auto
            }
        };
        Self {
            model: request.model,
            max_tokens: request.max_tokens,
            temperature: f64::from(request.temperature),
            system,
            messages: [UserMessage {
                role: "user",
                content: user_content(request.user, request.images),
            }],
            tools: [Tool {
                name: request.tool_name,
                description: request.tool_description,
                input_schema: request.tool_schema,
            }],
            tool_choice,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The body as it was built before, with `json!` (the reference).
    fn as_built_before(request: &ToolRequest<'_>) -> Value {
        let mut body = json!({
            "model": request.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "system": [{"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": super::super::image::anthropic_user_content(request.user, request.images)}],
            "tools": [{"name": request.tool_name, "description": request.tool_description, "input_schema": request.tool_schema}],
        });
        if request.tool_choice == ToolChoice::Auto {
            if let Some(blocks) = body["system"].as_array_mut() {
                blocks.push(json!({"type": "text", "text": auto_instruction(request.tool_name)}));
            }
        }
        body["tool_choice"] = match request.tool_choice {
            ToolChoice::Forced => json!({"type": "tool", "name": request.tool_name}),
            ToolChoice::Auto => json!({"type": "auto"}),
        };
        body
    }

    #[test]
    fn the_bytes_sent_are_the_body_as_built_before() {
        let schema = json!({"type": "object", "properties": {"suggestions": {"type": "array"}}});
        let images = [ImageInput {
            caption: "Image from message [7]:".into(),
            media_type: "image/png",
            base64: "iVBORw0KGgo=".into(),
        }];
        for (images, choice) in [
            (&images[..0], ToolChoice::Forced),
            (&images[..], ToolChoice::Auto),
        ] {
            let request = ToolRequest {
                model: "claude-haiku-4-5",
                max_tokens: 2048,
                temperature: 0.2,
                system: "the stable prefix",
                user: "the conversation",
                images,
                tool_name: "record_suggestions",
                tool_description: "what to record",
                tool_schema: &schema,
                tool_choice: choice,
            };
            let sent: Value = serde_json::from_slice(
                &serde_json::to_vec(&MessagesBody::new(&request)).expect("serializes"),
            )
            .expect("JSON");
            assert_eq!(sent, as_built_before(&request), "{choice:?}");
        }
    }
}
