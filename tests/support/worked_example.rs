//! A workflow's worked example played for real: its conversation posted in
//! the fake Discord's channel, and its answer as the fake model gives it,
//! with the ids those messages and people got.
#![allow(dead_code)]

use flipfix_bot::workflow::Example;
use serde_json::{json, Value};

use super::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID};
use super::time::pinned;

/// The example's people as members and its messages as posted, each under
/// the id the example gives it.
pub struct PostedExample {
    people: Vec<(String, FakeUser)>,
    messages: Vec<(String, Value)>,
}

impl PostedExample {
    /// Posts the example's messages in [`CHANNEL_ID`], in order, a minute
    /// apart from a pinned time, each by a member named as in `users`.
    pub fn post(fake: &FakeDiscord, example: &Example) -> Self {
        let decl = &example.decl;
        let people = decl
            .users
            .iter()
            .enumerate()
            .map(|(index, (id, name))| {
                let username = name.to_lowercase().replace(' ', "_");
                let member = FakeUser::member(1_003_000_000_000_000_001 + index as u64, &username);
                let user = FakeUser {
                    global_name: Some(name.clone()),
                    ..member
                };
                (id.clone(), user)
            })
            .collect();
        let start = pinned("2025-01-18T14:02:00Z");
        let mut posted = Self {
            people,
            messages: Vec::new(),
        };
        for (index, message) in decl.messages.iter().enumerate() {
            let author = posted.person(&message.author).user_json();
            let reply_to = message.reply_to.as_ref().map(|id| posted.id_of(id));
            let json = user_message(
                1_100_000_000_000_000_101 + index as u64,
                CHANNEL_ID,
                author,
                &message.content,
                &(start + chrono::Duration::minutes(index as i64)).to_rfc3339(),
                reply_to,
            );
            fake.add_message(CHANNEL_ID, json.clone());
            posted.messages.push((message.id.clone(), json));
        }
        posted
    }

    /// The member posted for the example's user `example_id`.
    pub fn person(&self, example_id: &str) -> &FakeUser {
        &self
            .people
            .iter()
            .find(|(id, _)| id == example_id)
            .unwrap_or_else(|| panic!("user {example_id} is in the example's users"))
            .1
    }

    /// The message posted for the example's message `example_id`.
    pub fn message(&self, example_id: &str) -> &Value {
        &self
            .messages
            .iter()
            .find(|(id, _)| id == example_id)
            .unwrap_or_else(|| panic!("message {example_id} is in the example"))
            .1
    }

    fn id_of(&self, example_id: &str) -> u64 {
        self.message(example_id)["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("a snowflake")
    }

    /// The example's target message and the member who wrote it.
    pub fn target(&self, example: &Example) -> (&Value, &FakeUser) {
        let decl = &example.decl;
        let author = &decl
            .messages
            .iter()
            .find(|m| m.id == decl.target)
            .expect("the target is one of the example's messages")
            .author;
        (self.message(&decl.target), self.person(author))
    }

    /// The example's answer, with the posted messages' and people's ids.
    pub fn answer(&self, example: &Example) -> Value {
        let mut answer = example.decl.answer.value.clone();
        for suggestion in answer["suggestions"].as_array_mut().into_iter().flatten() {
            if let Some(ids) = suggestion["source_message_ids"].as_array_mut() {
                for id in ids.iter_mut() {
                    *id = json!(self.id_of(id.as_str().unwrap_or_default()).to_string());
                }
            }
            if let Some(author) = suggestion["author_id"].as_str().map(str::to_string) {
                suggestion["author_id"] = json!(self.person(&author).id.to_string());
            }
        }
        answer
    }
}
