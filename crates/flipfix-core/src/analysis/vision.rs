//! The photos of a conversation, for the model: which attachments are sent
//! (images, newest first, within the workflow's count and size), and their
//! download from Discord's CDN. A photo that cannot be sent is never an
//! error: the prompt still says the message had an attachment.

use std::time::Duration;

use base64::Engine;

use super::conversation::{Attachment, Conversation};
use crate::llm::ImageInput;
use crate::media::{cdn, sniff};
use crate::workflow::Vision;

/// How long one image download may take: the person who clicked is
/// waiting, and a photo is a help, not a must.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(8);

/// The types the Messages API accepts in an image block
/// (`Base64ImageSourceParam.media_type` in Anthropic's SDKs).
pub(crate) const ACCEPTED_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// The API's 5 MB limit applies to the image as sent, i.e. to the base64
/// text, which is a third larger than the file.
pub(crate) const MAX_BASE64_BYTES: usize = 5 * 1024 * 1024;

/// The most input tokens one image can cost. Anthropic's vision docs: an
/// image costs about width × height / 750 tokens, and one whose long edge
/// exceeds 1568 px or that would take more than about 1,600 tokens
/// (~1.15 megapixels) is scaled down first; so ~1,600 is the ceiling.
pub const MAX_TOKENS_PER_IMAGE: u64 = 1_600;

/// An image attachment chosen to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub message_id: u64,
    pub attachment: &'a Attachment,
}

/// An image that was downloaded and checked, with the message it is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttachedImage {
    pub message_id: u64,
    pub image: ImageInput,
}

/// Whether the attachment claims to be an image the API accepts: by its
/// content type, or by its extension when it declares none.
fn looks_like_image(attachment: &Attachment) -> bool {
    match attachment.content_type.as_deref() {
        Some(declared) => {
            let essence = declared.split(';').next().unwrap_or_default().trim();
            ACCEPTED_TYPES
                .iter()
                .any(|t| t.eq_ignore_ascii_case(essence))
        }
        None => {
            let name = attachment.filename.to_ascii_lowercase();
            [".jpg", ".jpeg", ".png", ".gif", ".webp"]
                .iter()
                .any(|ext| name.ends_with(ext))
        }
    }
}

/// The attachments to send: images on people's messages (record posts and
/// bot messages are left out: their photos already belong to records),
/// newest message first, at most `max_images`, skipping any whose declared
/// size is over the limit (they are never downloaded).
pub fn candidates<'a>(conversation: &'a Conversation, vision: &Vision) -> Vec<Candidate<'a>> {
    if !vision.enabled {
        return Vec::new();
    }
    let mut messages: Vec<_> = conversation
        .messages
        .iter()
        .map(|m| &m.message)
        .filter(|m| !m.author.is_bot && !m.author.is_webhook)
        .collect();
    messages.sort_by_key(|m| std::cmp::Reverse((m.timestamp, m.id)));
    messages
        .into_iter()
        .flat_map(|m| {
            m.attachments.iter().map(move |attachment| Candidate {
                message_id: m.id,
                attachment,
            })
        })
        .filter(|c| looks_like_image(c.attachment))
        .filter(|c| {
            let fits = c
                .attachment
                .size
                .is_none_or(|size| size <= vision.max_image_bytes as u64);
            if !fits {
                tracing::info!(message_id = c.message_id, filename = %c.attachment.filename, "image over the size limit; not sent to the model");
            }
            fits
        })
        .take(vision.max_images)
        .collect()
}

/// Downloads the [`candidates`] concurrently and keeps those that arrive
/// whole and are really JPEG, PNG, GIF or WebP, in conversation order
/// (oldest first). Failures are logged and left out.
pub(crate) async fn fetch_images(
    conversation: &Conversation,
    vision: &Vision,
    allow_loopback: bool,
) -> Vec<AttachedImage> {
    let chosen = candidates(conversation, vision);
    let downloads = chosen.iter().map(|c| async move {
        let fetched = fetch_one(c.attachment, vision.max_image_bytes, allow_loopback).await;
        match fetched {
            Ok(image) => Some(AttachedImage {
                message_id: c.message_id,
                image: ImageInput {
                    caption: format!("Image from message [{}]:", c.message_id),
                    ..image
                },
            }),
            Err(reason) => {
                let attachment = cdn::AttachmentRef::of(&c.attachment.url);
                tracing::warn!(message_id = c.message_id, %attachment, filename = %c.attachment.filename, %reason, "image not sent to the model");
                None
            }
        }
    });
    let mut images: Vec<AttachedImage> = futures_util::future::join_all(downloads)
        .await
        .into_iter()
        .flatten()
        .collect();
    images.reverse();
    images
}

/// Why one image was left out.
#[derive(Debug, thiserror::Error)]
enum SkipReason {
    #[error(transparent)]
    Download(#[from] cdn::CdnError),
    #[error("the bytes are not JPEG, PNG, GIF or WebP")]
    NotAnAcceptedImage,
    #[error("larger than the API's 5 MB once encoded")]
    TooLargeEncoded,
}

async fn fetch_one(
    attachment: &Attachment,
    max_bytes: usize,
    allow_loopback: bool,
) -> Result<ImageInput, SkipReason> {
    let bytes = cdn::download_within(
        &attachment.url,
        attachment.size,
        max_bytes,
        allow_loopback,
        DOWNLOAD_TIMEOUT,
    )
    .await?;
    let media_type = sniff::sniff(&bytes)
        .filter(|t| ACCEPTED_TYPES.contains(t))
        .ok_or(SkipReason::NotAnAcceptedImage)?;
    let base64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    if base64.len() > MAX_BASE64_BYTES {
        return Err(SkipReason::TooLargeEncoded);
    }
    Ok(ImageInput {
        caption: String::new(),
        media_type,
        base64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::conversation::{ConversationMessage, Message, MessageAuthor, Mode};

    fn message(id: u64, is_webhook: bool, attachments: Vec<Attachment>) -> ConversationMessage {
        ConversationMessage {
            message: Message {
                id,
                channel_id: 1,
                author: MessageAuthor {
                    id: 7,
                    username: "bob".into(),
                    display_name: "Bob".into(),
                    is_bot: false,
                    is_webhook,
                },
                content: String::new(),
                timestamp: chrono::DateTime::from_timestamp(1_700_000_000 + id as i64, 0)
                    .unwrap_or_default(),
                reply_to: None,
                attachments,
                embeds: Vec::new(),
            },
            is_target: false,
            in_reply_chain: false,
            saved_as: Vec::new(),
            reference: None,
        }
    }

    fn attachment(filename: &str, content_type: Option<&str>) -> Attachment {
        Attachment {
            url: format!("https://cdn.discordapp.com/attachments/1/2/{filename}"),
            filename: filename.into(),
            content_type: content_type.map(str::to_string),
            size: Some(1000),
        }
    }

    fn conversation(messages: Vec<ConversationMessage>) -> Conversation {
        Conversation {
            mode: Mode::Channel,
            guild_id: None,
            channel_id: 1,
            target_id: 1,
            messages,
            excluded_saved: Vec::new(),
            origin_message_id: None,
            origin_record: None,
            open_records: Vec::new(),
            machine_statuses: Vec::new(),
            saved_stubs: Vec::new(),
        }
    }

    fn on() -> Vision {
        Vision {
            enabled: true,
            ..Vision::default()
        }
    }

    fn names(chosen: &[Candidate<'_>]) -> Vec<String> {
        chosen
            .iter()
            .map(|c| c.attachment.filename.clone())
            .collect()
    }

    #[test]
    fn only_accepted_image_types_of_people_are_chosen() {
        let conversation = conversation(vec![
            message(
                1,
                false,
                vec![
                    attachment("a.jpg", Some("image/jpeg")),
                    attachment("b.HEIC", Some("image/heic")),
                    attachment("c.pdf", Some("application/pdf")),
                    attachment("d.PNG", None),
                    attachment("e.mp4", None),
                ],
            ),
            message(2, true, vec![attachment("post.png", Some("image/png"))]),
        ]);
        assert_eq!(names(&candidates(&conversation, &on())), ["a.jpg", "d.PNG"]);
        assert!(
            candidates(&conversation, &Vision::default()).is_empty(),
            "off"
        );
    }

    #[test]
    fn newest_messages_come_first_and_oversized_ones_give_up_their_place() {
        let mut big = attachment("big.png", Some("image/png"));
        big.size = Some(6 * 1024 * 1024);
        let conversation = conversation(vec![
            message(1, false, vec![attachment("old.png", Some("image/png"))]),
            message(2, false, vec![attachment("mid.png", Some("image/png"))]),
            message(3, false, vec![big]),
        ]);
        let vision = Vision {
            max_images: 2,
            ..on()
        };
        assert_eq!(
            names(&candidates(&conversation, &vision)),
            ["mid.png", "old.png"]
        );
        let none = Vision {
            max_images: 0,
            ..on()
        };
        assert!(candidates(&conversation, &none).is_empty());
    }
}
