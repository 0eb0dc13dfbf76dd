//! Gateway events a member's action sends the bot, with Discord's payload
//! shapes: MESSAGE_REACTION_ADD, and a click on a button of a message the
//! bot posted in a channel (not an ephemeral reply).

use serde_json::{json, Value};

use super::{FakeDiscord, FakeUser, GUILD_ID};

impl FakeDiscord {
    /// `user` adds `emoji` (a standard emoji) to `message` (as served from
    /// history) in the home server.
    pub fn react(&self, user: &FakeUser, message: &Value, emoji: &str) {
        self.react_in(user, message, emoji, GUILD_ID);
    }

    /// [`Self::react`] in server `guild_id`.
    pub fn react_in(&self, user: &FakeUser, message: &Value, emoji: &str, guild_id: u64) {
        self.dispatch_reaction(user.member_json(), message, emoji, guild_id);
    }

    /// A bot (another app, id `bot_id`) adds `emoji` to `message`.
    pub fn react_as_bot(&self, bot_id: u64, message: &Value, emoji: &str) {
        let mut member = FakeUser::member(bot_id, "some_other_bot").member_json();
        member["user"]["bot"] = json!(true);
        self.dispatch_reaction(member, message, emoji, GUILD_ID);
    }

    fn dispatch_reaction(&self, member: Value, message: &Value, emoji: &str, guild_id: u64) {
        let user_id = member["user"]["id"].clone();
        let author = message["author"]["id"].clone();
        self.dispatch(
            "MESSAGE_REACTION_ADD",
            json!({
                "user_id": user_id,
                "type": 0,
                "message_id": message["id"],
                "message_author_id": author,
                "member": member,
                "emoji": {"id": null, "name": emoji},
                "channel_id": message["channel_id"],
                "burst": false,
                "burst_colors": [],
                "guild_id": guild_id.to_string(),
            }),
        );
    }

    /// Clicks the button `custom_id` on `message`, a message the bot posted
    /// in a channel; returns the interaction token.
    pub fn click_on(&self, user: &FakeUser, custom_id: &str, message: &Value) -> String {
        self.interaction_with(
            user,
            3,
            json!({"custom_id": custom_id, "component_type": 2}),
            Some(message.clone()),
        )
    }

    /// The stored message `message_id` of `channel_id` (as posted or edited).
    pub fn channel_message(&self, channel_id: u64, message_id: &Value) -> Option<Value> {
        self.state
            .channels
            .lock()
            .unwrap()
            .get(&channel_id)?
            .iter()
            .find(|m| &m["id"] == message_id)
            .cloned()
    }
}

impl FakeDiscord {
    /// The messages the bot posted in `channel_id`, as stored (with edits).
    pub fn bot_messages(&self, channel_id: u64) -> Vec<Value> {
        let bot = super::BOT_USER_ID.to_string();
        self.state
            .channels
            .lock()
            .unwrap()
            .get(&channel_id)
            .map(|messages| {
                messages
                    .iter()
                    .filter(|m| m["author"]["id"] == json!(bot))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}
