//! A scenario as a [`MessageSource`], so the replay tool and tests gather
//! from it exactly as the bot gathers from Discord.

use super::{Scenario, CHANNEL_ID, THREAD_ID};
use crate::analysis::conversation::Message;
use crate::analysis::source::{MessageSource, SourceError, ThreadInfo};

impl MessageSource for Scenario {
    async fn message(
        &self,
        channel_id: u64,
        message_id: u64,
    ) -> Result<Option<Message>, SourceError> {
        Ok(crate::analysis::source::find_in(
            &self.messages,
            channel_id,
            message_id,
        ))
    }

    async fn messages_before(
        &self,
        channel_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Message>, SourceError> {
        Ok(crate::analysis::source::before_in(
            &self.messages,
            channel_id,
            before,
            limit,
        ))
    }

    async fn thread_info(&self, channel_id: u64) -> Result<Option<ThreadInfo>, SourceError> {
        Ok((channel_id == THREAD_ID).then_some(ThreadInfo {
            parent_channel_id: CHANNEL_ID,
            starter_message_id: self.starter_id,
        }))
    }
}
