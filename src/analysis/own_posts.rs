//! The bot's own messages in a conversation (its acknowledgement replies,
//! anything it wrote as itself) are not sources: they repeat what is already
//! recorded. They are left out before the model sees the conversation.

use sqlx::PgPool;

use super::Conversation;
use crate::records::{from_db_id, to_db_id};

/// Which of `ids` are messages the bot posted (the `bot_posts` table).
pub async fn posted_among(pool: &PgPool, ids: &[u64]) -> Result<Vec<u64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.iter().copied().map(to_db_id).collect();
    let found: Vec<i64> =
        sqlx::query_scalar("SELECT message_id FROM bot_posts WHERE message_id = ANY($1)")
            .bind(&ids)
            .fetch_all(pool)
            .await?;
    Ok(found.into_iter().map(from_db_id).collect())
}

/// Drops the bot's posts and every message authored by `own_user_id`,
/// except the clicked message itself (the person chose it).
pub fn exclude(conversation: &mut Conversation, posted: &[u64], own_user_id: Option<u64>) {
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
