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

impl FakeDiscord {
    /// `owner_id` opens thread `thread_id` under `parent_id` (a forum post
    /// when the parent is a forum) in the home server: THREAD_CREATE as
    /// Discord sends it for a new thread (`newly_created: true`). The
    /// thread is served by REST from then on.
    pub fn create_thread(&self, owner_id: u64, thread_id: u64, parent_id: u64) {
        self.create_thread_in(owner_id, thread_id, parent_id, GUILD_ID);
    }

    /// [`Self::create_thread`] in server `guild_id`.
    pub fn create_thread_in(&self, owner_id: u64, thread_id: u64, parent_id: u64, guild_id: u64) {
        self.add_thread(thread_id, parent_id);
        let mut thread = thread_json(owner_id, thread_id, parent_id, guild_id);
        thread["newly_created"] = json!(true);
        self.dispatch("THREAD_CREATE", thread);
    }

    /// THREAD_CREATE as Discord sends it when the bot is added to an
    /// existing private thread: not new, with the bot's thread member.
    pub fn add_bot_to_thread(&self, owner_id: u64, thread_id: u64, parent_id: u64) {
        self.add_thread(thread_id, parent_id);
        let mut thread = thread_json(owner_id, thread_id, parent_id, GUILD_ID);
        thread["type"] = json!(12);
        thread["member"] = json!({
            "id": thread_id.to_string(),
            "user_id": super::BOT_USER_ID.to_string(),
            "join_timestamp": "2026-01-01T00:00:00.000000+00:00",
            "flags": 0,
        });
        self.dispatch("THREAD_CREATE", thread);
    }
}

/// A public thread (type 11) as THREAD_CREATE carries it.
fn thread_json(owner_id: u64, thread_id: u64, parent_id: u64, guild_id: u64) -> Value {
    json!({
        "id": thread_id.to_string(),
        "type": 11,
        "guild_id": guild_id.to_string(),
        "parent_id": parent_id.to_string(),
        "owner_id": owner_id.to_string(),
        "name": "Left flipper weak",
        "last_message_id": thread_id.to_string(),
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "applied_tags": [],
        "thread_metadata": {
            "archived": false,
            "auto_archive_duration": 4320,
            "archive_timestamp": "2026-01-01T00:00:00.000000+00:00",
            "locked": false,
            "create_timestamp": "2026-01-01T00:00:00.000000+00:00",
        },
    })
}
