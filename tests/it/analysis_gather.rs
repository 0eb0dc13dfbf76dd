//! Every flipfix-eval scenario loads, its prompt renders, and the
//! conversation the model would see is the right one; the gathering windows
//! and caps on synthetic histories.

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use flipfix_bot::analysis::gather::gather;
use flipfix_bot::analysis::scenario::{Scenario, THREAD_ID};
use flipfix_bot::analysis::{
    self, Message, MessageAuthor, MessageSource, Mode, SourceError, ThreadInfo,
};
use flipfix_bot::records::SavedSource;
use flipfix_bot::workflow::Windows;

use crate::support::{shared_dir, shipped_workflows};

fn scenarios() -> Vec<Scenario> {
    let dir = shared_dir().join("scenarios/flipfix-eval");
    let scenarios = Scenario::load_dir(&dir).expect("scenarios load");
    assert_eq!(scenarios.len(), 36, "flipfix-eval has 36 scenarios");
    scenarios
}

/// The message ids the model should see, worked out from the YAML alone:
/// everything up to the target, except parent-channel messages written
/// after a thread's starter (they belong to neither thread nor preroll).
fn expected_ids(scenario: &Scenario) -> Vec<u64> {
    let decls = &scenario.file.messages;
    let target = scenario.target_id;
    let first_thread = decls.iter().position(|m| m.in_thread);
    let target_in_thread = decls
        .iter()
        .any(|m| m.in_thread && m.id.parse::<u64>().unwrap() == target);
    decls
        .iter()
        .enumerate()
        .filter(|(i, m)| {
            let id: u64 = m.id.parse().unwrap();
            if id > target {
                return false;
            }
            match (target_in_thread, first_thread) {
                // Parent-channel messages after the starter are not context.
                (true, Some(first)) => m.in_thread || *i < first,
                _ => !m.in_thread,
            }
        })
        .map(|(_, m)| m.id.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn every_scenario_loads_renders_and_gathers_the_right_conversation() {
    let workflows = shipped_workflows();
    let mut stable: Option<String> = None;
    for scenario in scenarios() {
        let name = scenario.name().to_string();
        let (conversation, prompt) = analysis::prepare(
            &workflows,
            &scenario.catalog,
            &scenario,
            scenario.target_channel_id,
            scenario.target_id,
        )
        .await
        .unwrap_or_else(|err| panic!("{name}: {err}"));

        // Mode.
        let target_decl = scenario
            .file
            .messages
            .iter()
            .find(|m| m.id == scenario.file.target)
            .unwrap();
        let mode = if target_decl.in_thread {
            Mode::Thread
        } else if target_decl.reply_to.is_some() {
            Mode::ReplyChain
        } else {
            Mode::Channel
        };
        assert_eq!(conversation.mode, mode, "{name}: mode");

        // Messages: count, order, the target marked once.
        assert_eq!(
            conversation.ids(),
            expected_ids(&scenario),
            "{name}: messages"
        );
        let targets: Vec<u64> = conversation
            .messages
            .iter()
            .filter(|m| m.is_target)
            .map(|m| m.message.id)
            .collect();
        assert_eq!(targets, vec![scenario.target_id], "{name}: target marked");
        assert!(
            prompt
                .conversation
                .contains(&format!("[{}] TARGET", scenario.target_id)),
            "{name}: the prompt marks the target"
        );
        for m in &conversation.messages {
            assert!(
                prompt
                    .conversation
                    .contains(m.message.content.lines().next().unwrap_or("")),
                "{name}: message {} is in the prompt",
                m.message.id
            );
        }

        // Webhook record posts become references with kind and id.
        let posted: Vec<i64> = scenario
            .file
            .messages
            .iter()
            .flat_map(|m| &m.embeds)
            .filter_map(|e| e.url.as_deref())
            .filter_map(|u| u.trim_end_matches('/').rsplit('/').next()?.parse().ok())
            .collect();
        let referenced: Vec<i64> = conversation.references().map(|r| r.record_id).collect();
        assert_eq!(referenced, posted, "{name}: references");
        for expected in scenario.file.expected.iter().flatten() {
            if let Some(parent) = expected.parent_record_id {
                assert!(
                    referenced.contains(&parent),
                    "{name}: parent {parent} is referenced"
                );
                assert!(
                    prompt.conversation.contains(&format!("id=\"{parent}\"")),
                    "{name}: the prompt shows record {parent}"
                );
            }
        }
        // The stable prefix does not depend on the conversation: it is the
        // same for every scenario (they share one catalog).
        let first = stable.get_or_insert_with(|| prompt.system.clone());
        assert!(*first == prompt.system, "{name}: system prompt is stable");
        assert!(
            prompt.system.contains("gorgar: Gorgar"),
            "{name}: catalog in the prefix"
        );
    }
}

#[tokio::test]
async fn webhook_references_carry_kind_and_author() {
    let workflows = shipped_workflows();
    let dir = shared_dir().join("scenarios/flipfix-eval");
    let scenario = Scenario::load(&dir.join("webhook_reply_creates_part_update.yaml")).unwrap();
    let (conversation, _) = analysis::prepare(
        &workflows,
        &scenario.catalog,
        &scenario,
        scenario.target_channel_id,
        scenario.target_id,
    )
    .await
    .unwrap();
    let reference = conversation.references().next().expect("a reference");
    assert_eq!(reference.kind, "part_request");
    assert_eq!(reference.record_id, 99);
    assert_eq!(reference.author_name.as_deref(), Some("Tom Baker"));
    assert_eq!(reference.text, "Need new rollover switch");
}

#[tokio::test]
async fn saved_messages_are_left_out_but_the_target_is_kept_and_marked() {
    let workflows = shipped_workflows();
    let dir = shared_dir().join("scenarios/flipfix-eval");
    let scenario = Scenario::load(&dir.join("nested_part_request_with_updates.yaml")).unwrap();
    let (mut conversation, _) = analysis::prepare(
        &workflows,
        &scenario.catalog,
        &scenario,
        scenario.target_channel_id,
        scenario.target_id,
    )
    .await
    .unwrap();
    conversation.exclude_saved(&[
        SavedSource {
            message_id: 47,
            record_id: 5,
            kind: "part_request".into(),
        },
        SavedSource {
            message_id: 49,
            record_id: 6,
            kind: "part_request_update".into(),
        },
    ]);
    assert_eq!(conversation.ids(), vec![48, 49]);
    assert_eq!(conversation.excluded_saved, vec![47]);
    let target = conversation.target().unwrap();
    assert_eq!(target.saved_as.len(), 1);
    assert_eq!(target.saved_as[0].record_id, 6);
}

/// An in-memory channel history with Discord's paging semantics.
struct Memory {
    messages: Vec<Message>,
    threads: HashMap<u64, ThreadInfo>,
}

fn message(channel_id: u64, id: u64, reply_to: Option<u64>) -> Message {
    Message {
        id,
        channel_id,
        author: MessageAuthor {
            id: 7,
            username: "bob".into(),
            display_name: "Bob".into(),
            is_bot: false,
            is_webhook: false,
        },
        content: format!("message {id}"),
        timestamp: Utc.timestamp_opt(1_700_000_000 + id as i64, 0).unwrap(),
        reply_to,
        attachments: Vec::new(),
        embeds: Vec::new(),
    }
}

impl MessageSource for Memory {
    async fn message(&self, channel_id: u64, id: u64) -> Result<Option<Message>, SourceError> {
        Ok(self
            .messages
            .iter()
            .find(|m| m.id == id && m.channel_id == channel_id)
            .cloned())
    }
    async fn messages_before(
        &self,
        channel_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Message>, SourceError> {
        assert!(limit <= 100, "Discord pages hold at most 100 messages");
        Ok(self
            .messages
            .iter()
            .rev()
            .filter(|m| m.channel_id == channel_id && m.id < before)
            .take(limit)
            .cloned()
            .collect())
    }
    async fn thread_info(&self, channel_id: u64) -> Result<Option<ThreadInfo>, SourceError> {
        Ok(self.threads.get(&channel_id).copied())
    }
}

fn windows() -> Windows {
    flipfix_bot::analysis::menu(&shipped_workflows())
        .unwrap()
        .windows
}

#[tokio::test]
async fn plain_channel_takes_the_target_and_thirty_before() {
    let memory = Memory {
        messages: (1..=200).map(|id| message(1, id, None)).collect(),
        threads: HashMap::new(),
    };
    let c = gather(&memory, &windows(), None, 1, 150).await.unwrap();
    assert_eq!(c.mode, Mode::Channel);
    assert_eq!(c.ids(), (120..=150).collect::<Vec<_>>());
}

#[tokio::test]
async fn thread_takes_fifty_up_to_the_target_the_starter_and_ten_before_it() {
    let mut messages: Vec<Message> = (1..=40).map(|id| message(8, id, None)).collect();
    messages.extend((1000..1080).map(|id| message(9, id, None)));
    let memory = Memory {
        messages,
        threads: HashMap::from([(
            9,
            ThreadInfo {
                parent_channel_id: 8,
                starter_message_id: Some(30),
            },
        )]),
    };
    let c = gather(&memory, &windows(), None, 9, 1070).await.unwrap();
    assert_eq!(c.mode, Mode::Thread);
    let mut want: Vec<u64> = (20..=30).collect();
    want.extend(1021..=1070); // anchored at the target, not the newest
    assert_eq!(c.ids(), want);
    assert_eq!(THREAD_ID, 2, "scenario threads use their own channel id");
}

#[tokio::test]
async fn reply_chain_keeps_the_chain_and_preroll_and_stops_at_one_hundred() {
    let messages = (1..=200)
        .map(|id| {
            let reply_to = match id {
                150 => Some(140),
                140 => Some(100),
                100 => Some(60),
                _ => None,
            };
            message(1, id, reply_to)
        })
        .collect();
    let memory = Memory {
        messages,
        threads: HashMap::new(),
    };
    let c = gather(&memory, &windows(), None, 1, 150).await.unwrap();
    assert_eq!(c.mode, Mode::ReplyChain);
    assert_eq!(c.messages.len(), 100, "never more than 100");
    let ids = c.ids();
    for id in [150, 140, 100, 60] {
        assert!(ids.contains(&id), "chain message {id} kept");
    }
    for id in 50..60 {
        assert!(ids.contains(&id), "preroll {id} kept");
    }
    assert!(!ids.contains(&49) && !ids.contains(&151));
    let chain: Vec<u64> = c
        .messages
        .iter()
        .filter(|m| m.in_reply_chain)
        .map(|m| m.message.id)
        .collect();
    assert_eq!(chain, vec![60, 100, 140]);
}

#[tokio::test]
async fn reply_chains_are_followed_twenty_deep() {
    // 500 ← 499 ← … : every message replies to the one before.
    let messages = (470..=500)
        .map(|id| message(1, id, (id > 470).then(|| id - 1)))
        .collect();
    let memory = Memory {
        messages,
        threads: HashMap::new(),
    };
    let c = gather(&memory, &windows(), None, 1, 500).await.unwrap();
    let chain: Vec<u64> = c
        .messages
        .iter()
        .filter(|m| m.in_reply_chain)
        .map(|m| m.message.id)
        .collect();
    assert_eq!(
        chain,
        (480..500).collect::<Vec<_>>(),
        "20 replies followed back"
    );
    // Origin 480, preroll 470..480.
    assert_eq!(c.ids(), (470..=500).collect::<Vec<_>>());
}
