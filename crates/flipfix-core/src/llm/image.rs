//! Images in a request, provider-neutral: the analysis decides which photos
//! the model sees; each provider's body builder places them its own way
//! (Anthropic: a text block with the caption, then an `image` block with a
//! base64 source; an OpenAI-compatible API would use a text part and an
//! `image_url` part holding a `data:` URI).

use serde_json::{json, Value};

/// One image for the model, after the bytes were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInput {
    /// Placed just before the image so the model knows where it belongs
    /// ("Image from message [123]:").
    pub caption: String,
    /// A type the providers accept, sniffed from the bytes: `image/jpeg`,
    /// `image/png`, `image/gif` or `image/webp`.
    pub media_type: &'static str,
    /// The bytes, standard base64 with padding.
    pub base64: String,
}

/// The user message's `content` for an OpenAI-compatible Chat Completions
/// API: the text alone as a plain string, else a list of parts: the text,
/// then for each image its caption and an `image_url` part holding a
/// `data:` URI (servers cannot fetch Discord's CDN URLs, which expire).
pub(super) fn openai_user_content(user: String, images: &[ImageInput]) -> Value {
    if images.is_empty() {
        return Value::String(user);
    }
    let mut parts = vec![json!({"type": "text", "text": user})];
    for image in images {
        parts.push(json!({"type": "text", "text": image.caption}));
        parts.push(json!({
            "type": "image_url",
            "image_url": {"url": format!("data:{};base64,{}", image.media_type, image.base64)},
        }));
    }
    Value::Array(parts)
}

/// The user message's `content` for Anthropic's Messages API: the text
/// alone as a plain string (as before images existed), else a list of
/// content blocks: the text, then caption and image for each image. The
/// body sent is written without this tree (`anthropic_body`); its test
/// checks it against this.
#[cfg(test)]
pub(super) fn anthropic_user_content(user: &str, images: &[ImageInput]) -> Value {
    if images.is_empty() {
        return Value::String(user.to_string());
    }
    let mut blocks = vec![json!({"type": "text", "text": user})];
    for image in images {
        blocks.push(json!({"type": "text", "text": image.caption}));
        blocks.push(json!({
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": image.media_type,
                "data": image.base64,
            },
        }));
    }
    Value::Array(blocks)
}
