//! The validator on scenario conversations.

use serde_json::json;

use super::*;
use crate::analysis::scenario::Scenario;

fn scenario(name: &str) -> Scenario {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/scenarios/flipfix-eval");
    Scenario::load(&dir.join(format!("{name}.yaml"))).unwrap()
}

/// Validates `input` against scenario `name`'s whole conversation.
fn run(
    name: &str,
    input: serde_json::Value,
) -> Result<(Vec<Suggestion>, Vec<Repair>), SchemaError> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workflows =
        crate::template_check::load_workflows(&root.join("workflows"), &root.join("prompts"))
            .unwrap();
    let scenario = scenario(name);
    let mut conversation = crate::analysis::conversation::Conversation {
        mode: crate::analysis::Mode::Channel,
        guild_id: None,
        channel_id: 1,
        target_id: scenario.target_id,
        messages: scenario
            .messages()
            .iter()
            .map(|m| crate::analysis::conversation::ConversationMessage {
                is_target: m.id == scenario.target_id,
                in_reply_chain: false,
                message: m.clone(),
                saved_as: Vec::new(),
                reference: None,
            })
            .collect(),
        excluded_saved: Vec::new(),
        saved_stubs: Vec::new(),
        origin_message_id: None,
        origin_record: None,
        open_records: Vec::new(),
        machine_statuses: Vec::new(),
    };
    conversation.parse_references(&workflows.kinds);
    let known = crate::analysis::known_from_conversation(&conversation);
    let validator = Validator {
        menu: crate::analysis::for_workflow(&workflows, None).unwrap(),
        kinds: &workflows.kinds,
        catalog: &scenario.catalog,
        conversation: &conversation,
        known_records: &known,
    };
    validator.validate(&input)
}

fn check(name: &str, input: serde_json::Value) -> (Vec<Suggestion>, Vec<Repair>) {
    run(name, input).unwrap()
}

fn validate_err(name: &str, input: serde_json::Value) -> String {
    run(name, input).unwrap_err().to_string()
}

#[test]
fn a_required_machine_left_out_is_for_the_reviewer_to_pick() {
    let (s, repairs) = check(
        "completed_work_simple_fix",
        json!({"suggestions": [{"kind": "problem_report", "description": "x", "source_message_ids": []}]}),
    );
    assert_eq!(s[0].machine, MachineMatch::Unknown { said: None });
    assert!(repairs
        .iter()
        .any(|r| r.reason == "a problem_report needs a machine; left for the reviewer to pick"));
}

#[test]
fn a_linked_log_entry_takes_the_machine_of_the_linked_record_without_a_repair() {
    let (s, repairs) = check(
        "webhook_reply_creates_linked_log",
        json!({"suggestions": [{"kind": "log_entry", "machine": null, "description": "fixed", "source_message_ids": ["73"], "author_id": "1002000000000000001", "parent_record_id": "#42"}]}),
    );
    assert_eq!(s[0].parent_record_id, Some(42));
    assert_eq!(
        s[0].machine.slug(),
        Some("gorgar"),
        "from the post `⚠️ Gorgar`"
    );
    assert!(repairs.is_empty(), "{repairs:?}");
}

#[test]
fn a_stray_key_on_a_child_is_removed_as_one_repair_and_the_child_stays() {
    for (key, value, why) in [
        (
            "machine",
            json!("ballyhoo"),
            "a child takes its parent's machine",
        ),
        (
            "parent_record_id",
            json!(99),
            "a child belongs to the item it is nested in",
        ),
        (
            "children",
            json!([{"description": "x"}]),
            "children nest one level only",
        ),
    ] {
        let mut child = json!({"description": "Ordered.", "source_message_ids": ["48"], "author_id": "1002000000000000002"});
        child[key] = value;
        let (s, repairs) = check(
            "nested_part_request_with_updates",
            json!({"suggestions": [{"kind": "part_request", "machine": "ballyhoo", "description": "switch", "source_message_ids": ["47"], "author_id": "1002000000000000001", "children": [child]}]}),
        );
        let reasons: Vec<String> = repairs.iter().map(ToString::to_string).collect();
        assert_eq!(
            reasons,
            vec![format!("model suggestion 1.1: repaired: `{key}` is not part of a part_request_update child item ({why}); removed")]
        );
        let child = &s[0].children[0];
        assert_eq!(child.description, "Ordered.");
        assert_eq!(
            child.machine.slug(),
            Some("ballyhoo"),
            "the parent's machine"
        );
        assert!(child.children.is_empty());
        assert_eq!(child.parent_record_id, None);
    }
}

#[test]
fn an_unknown_key_on_an_item_is_removed_and_a_broken_answer_is_refused_naming_the_field() {
    let (s, repairs) = check(
        "nested_part_request_with_updates",
        json!({"suggestions": [{"kind": "part_request", "machine": "ballyhoo", "description": "switch", "source_message_ids": ["47"], "author_id": "1002000000000000001", "confidence": 0.9}]}),
    );
    assert_eq!(s.len(), 1);
    assert_eq!(
        repairs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["model suggestion 1: repaired: `confidence` is not part of a part_request item (the tool schema has no such key); removed".to_string()]
    );
    assert_eq!(
        validate_err(
            "nested_part_request_with_updates",
            json!({"suggestions": {"kind": "part_request"}})
        ),
        "the model's answer does not match the tool schema: `suggestions` is not a list"
    );
    assert_eq!(
        validate_err("nested_part_request_with_updates", json!({"records": []})),
        "the model's answer does not match the tool schema: no `suggestions` key"
    );
}

#[test]
fn a_child_takes_its_kind_and_machine_from_its_parent() {
    let (s, repairs) = check(
        "nested_part_request_with_updates",
        json!({"suggestions": [{"kind": "part_request", "machine": "ballyhoo", "description": "switch", "source_message_ids": ["47"], "author_id": "1002000000000000001",
            "children": [{"description": "Ordered.", "fields": {"new_status": "ordered"}, "source_message_ids": ["48"], "author_id": "1002000000000000002"}]}]}),
    );
    assert!(repairs.is_empty(), "{repairs:?}");
    let child = &s[0].children[0];
    assert_eq!(child.kind, "part_request_update");
    assert_eq!(child.machine.slug(), Some("ballyhoo"));
    assert_eq!(
        child.fields.get("new_status").map(String::as_str),
        Some("ordered")
    );
}

#[test]
fn kind_specific_fields_are_accepted_only_on_their_kind() {
    let (s, repairs) = check(
        "completed_work_simple_fix",
        json!({"suggestions": [{"kind": "problem_report", "machine": "hyperball", "description": "gate", "fields": {"priority": "major", "new_status": "ordered"}, "source_message_ids": ["8"], "author_id": "1002000000000000001"}]}),
    );
    assert_eq!(
        s[0].fields.get("priority").map(String::as_str),
        Some("major")
    );
    assert!(!s[0].fields.contains_key("new_status"));
    assert_eq!(
        repairs.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        vec!["model suggestion 1: repaired: field `new_status` is not a field of problem_report; removed"]
    );
}

#[test]
fn a_new_record_is_never_created_closed() {
    let (s, repairs) = check(
        "completed_work_simple_fix",
        json!({"suggestions": [{"kind": "problem_report", "machine": "hyperball", "description": "gate", "fields": {"status": "closed"}, "source_message_ids": ["8"], "author_id": "1002000000000000001"}]}),
    );
    assert!(!s[0].fields.contains_key("status"));
    assert_eq!(
        repairs[0].to_string(),
        "model suggestion 1: repaired: field `status` is not set on a new problem_report: it starts as open, and changes come as children or updates; removed"
    );
}

#[test]
fn a_missing_author_id_is_a_repair_with_a_reason() {
    let (s, repairs) = check(
        "completed_work_simple_fix",
        json!({"suggestions": [{"kind": "log_entry", "machine": "hyperball", "description": "gate", "source_message_ids": ["8"]}]}),
    );
    assert_eq!(
        s[0].author.as_ref().map(|a| a.key()),
        Some("1002000000000000001".into())
    );
    assert_eq!(
        repairs.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        vec!["model suggestion 1: repaired: no author_id; attributed to Bob Wilson (who wrote its first source message)"]
    );
}

#[test]
fn a_suggestion_citing_only_messages_outside_the_conversation_is_dropped() {
    let (s, repairs) = check(
        "completed_work_simple_fix",
        json!({"suggestions": [
            {"kind": "log_entry", "machine": "hyperball", "description": "invented", "source_message_ids": ["12345"], "author_id": "1002000000000000001"},
            {"kind": "log_entry", "machine": "hyperball", "description": "cites nothing", "source_message_ids": [], "author_id": "1002000000000000001"},
            {"kind": "log_entry", "machine": "hyperball", "description": "one of two", "source_message_ids": ["8", "12345"], "author_id": "1002000000000000001"},
        ]}),
    );
    let descriptions: Vec<&str> = s.iter().map(|s| s.description.as_str()).collect();
    assert_eq!(descriptions, vec!["cites nothing", "one of two"]);
    assert_eq!(
        s[0].source_message_ids,
        vec![8],
        "falls back to the clicked message"
    );
    assert_eq!(s[1].source_message_ids, vec![8]);
    let reasons: Vec<String> = repairs.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        reasons,
        vec![
            "model suggestion 1: dropped: it cites only messages that are not in the conversation (\"12345\"): nothing shown supports it",
            "model suggestion 2: repaired: no source messages; the clicked message is used",
            "model suggestion 3: repaired: source message \"12345\" is not in the conversation; removed",
        ]
    );
}

#[test]
fn records_app_authors_are_kept_when_a_post_names_them() {
    let (s, repairs) = check(
        "webhook_reply_creates_linked_log",
        json!({"suggestions": [
            {"kind": "problem_report", "machine": "gorgar", "description": "weak flipper", "source_message_ids": ["72"], "author_id": "flipfix/Mike Rodriguez"},
            {"kind": "problem_report", "machine": "gorgar", "description": "weak flipper", "source_message_ids": ["73"], "author_id": "flipfix/Nobody"},
        ]}),
    );
    assert_eq!(
        s[0].author,
        Some(SuggestedAuthor::Records {
            name: "Mike Rodriguez".into()
        })
    );
    assert_eq!(
        s[1].author.as_ref().map(|a| a.key()),
        Some("1002000000000000001".into())
    );
    assert_eq!(repairs.len(), 1, "{repairs:?}");
}

#[test]
fn parents_mentioned_anywhere_are_found() {
    let input = json!({"suggestions": [
        {"parent_record_id": 4, "children": [{"parent_record_id": "#9"}]},
        {"parent_record_id": null},
        {"parent_record_id": 4},
    ]});
    assert_eq!(mentioned_parents(&input), vec![4, 9]);
}

#[test]
fn resolves_is_kept_on_a_linked_log_entry_and_removed_without_a_parent() {
    let (s, repairs) = check(
        "webhook_reply_creates_linked_log",
        json!({"suggestions": [{"kind": "log_entry", "machine": null, "description": "fixed it", "source_message_ids": ["73"], "author_id": "1002000000000000001", "parent_record_id": 42, "resolves": true}]}),
    );
    assert!(s[0].resolves);
    assert!(repairs.is_empty(), "{repairs:?}");

    let (s, repairs) = check(
        "webhook_reply_creates_linked_log",
        json!({"suggestions": [{"kind": "log_entry", "machine": "gorgar", "description": "fixed it", "source_message_ids": ["73"], "author_id": "1002000000000000001", "resolves": true}]}),
    );
    assert!(!s[0].resolves);
    assert_eq!(
        repairs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["model suggestion 1: repaired: `resolves` needs a parent record to close; removed"]
    );
}
