//! The bot's own messages in a conversation (its acknowledgement replies,
//! anything it wrote as itself) are not sources: they repeat what is already
//! recorded. They are left out before the model sees the conversation.

use sqlx::PgPool;

use super::Conversation;
use crate::domain::Snowflake;

/// Which of `ids` are messages the bot posted (the `bot_posts` table).
pub(crate) async fn posted_among(pool: &PgPool, ids: &[u64]) -> Result<Vec<u64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Snowflake> = ids.iter().copied().map(Snowflake).collect();
    let found: Vec<Snowflake> =
        sqlx::query_scalar("SELECT message_id FROM bot_posts WHERE message_id = ANY($1)")
            .bind(&ids)
            .fetch_all(pool)
            .await?;
    Ok(found.into_iter().map(Snowflake::get).collect())
}

/// Drops the bot's posts and every message authored by `own_user_id`,
/// except the clicked message itself (the person chose it).
pub(crate) fn exclude(conversation: &mut Conversation, posted: &[u64], own_user_id: Option<u64>) {
    let target = conversation.target_id;
    let before = conversation.messages.len();
    conversation.messages.retain(|m| {
        let id = m.message.id;
        let own = posted.contains(&id) || Some(m.message.author.id) == own_user_id;
        id == target || !own
    });
    let dropped = before - conversation.messages.len();
    if dropped > 0 {
        tracing::debug!(
            dropped,
            "left the bot's own messages out of the conversation"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::conversation::{ConversationMessage, Message, MessageAuthor, Mode};

    fn message(id: u64, author: u64, target: bool) -> ConversationMessage {
        ConversationMessage {
            message: Message {
                id,
                channel_id: 1,
                author: MessageAuthor {
                    id: author,
                    username: format!("user{author}"),
                    display_name: format!("User {author}"),
                    is_bot: author == 9,
                    is_webhook: false,
                },
                content: format!("message {id}"),
                timestamp: chrono::DateTime::UNIX_EPOCH,
                reply_to: None,
                attachments: Vec::new(),
                embeds: Vec::new(),
            },
            is_target: target,
            in_reply_chain: false,
            saved_as: Vec::new(),
            reference: None,
        }
    }

    #[test]
    fn the_bots_posts_and_messages_go_but_the_target_stays() {
        let mut conversation = Conversation {
            mode: Mode::Channel,
            guild_id: None,
            channel_id: 1,
            target_id: 5,
            // 2: a remembered post (by another bot user id, e.g. before a
            // token change); 3: written by the bot itself; 5: the target,
            // clicked on a bot message.
            messages: vec![
                message(1, 7, false),
                message(2, 8, false),
                message(3, 9, false),
                message(4, 7, false),
                message(5, 9, true),
            ],
            excluded_saved: Vec::new(),
            origin_message_id: None,
            origin_record: None,
            open_records: Vec::new(),
            machine_statuses: Vec::new(),
            saved_stubs: Vec::new(),
        };
        exclude(&mut conversation, &[2], Some(9));
        assert_eq!(conversation.ids(), vec![1, 4, 5]);
    }
}
