//! The rendered analysis prompt and the generated tool schema: every rule
//! the scenarios depend on is stated, it comes from the templates (not from
//! Rust), the worked examples appear in declaration order, and the schema
//! offers one way to say each thing.

use flipfix_bot::analysis::catalog::{Catalog, CatalogMachine, CatalogMaintainer};
use flipfix_bot::analysis::prompt::{build_prompt, tool};
use flipfix_bot::analysis::scenario::Scenario;
use flipfix_bot::analysis::tool_schema::{check_answer, ordered_json};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use serde_json::{json, Value};

use crate::support::{copy_workflows, repo_root, shared_dir, shipped_workflows};

/// Each rule of the analysis workflow, as the system prompt states it.
const RULES: &[(&str, &str)] = &[
    ("resolved → one log entry", "a problem that was found and fixed in the conversation is ONE log_entry describing both the problem and the fix"),
    ("children only under an open problem", "Each separate attempt or hypothesis that was tried is its own log_entry child under it. Children exist only under a problem that is still open."),
    ("back-and-forth → one record", "Back-and-forth is one record: questions and answers about one job"),
    ("the clicked message with its surroundings", "Analyse the TARGET message together with the messages around it"),
    ("a confirmation records the job it closes", "A short confirmation or reaction (\"Ordered\", \"done\", \"Yup\", \"Awesome!\", \"working now\") records the job it closes"),
    ("a bare answer records nothing", "A bare answer to a question (where a tool is, which drawer) or small talk records nothing"),
    ("thanks only when no work", "Thanks, praise, greetings and questions about the collection are not records when the conversation describes no work"),
    ("part request with update children", "is one part_request for the need. Each status message after it (\"ordered\", \"arrived\", \"installed\") is a part_request_update child with new_status set"),
    ("order news without a request", "Order or arrival news with no request in view and no record post to link to is a log_entry on the machine."),
    ("a part named while diagnosing", "A part named while diagnosing or fixing a problem stays in that problem's or that log entry's description, unless someone asks for it on its own."),
    ("lists", "Lists: one record per machine per list item. Several needs of one machine in one item make one problem_report"),
    ("log entry attribution", "A log_entry goes to whoever did the work."),
    ("problem report attribution", "A problem_report goes to whoever first reported the problem, visitors included."),
    ("reply to a record post", "A reply to a record post goes to the person replying, never to the post's author."),
    ("every source", "source_message_ids lists every message that contributed content to the record"),
    ("descriptions", "Descriptions are coherent narratives in plain words, as the maintainers would write them, with every specific detail from the messages: parts and part numbers, symptoms, what was tried, what worked. Never a transcript, never invented."),
    ("already saved", "\"(already saved as kind #N)\" means that message is done: do not suggest that kind again for it, and link follow-ups to #N with parent_record_id. Stubs of saved messages carry their record ids"),
    ("no status on new records", "New records never carry a status"),
    ("input format", "# The conversation you are given"),
    ("maintainers list purpose", "They tell you who is a maintainer, as opposed to a visitor"),
];

fn real_catalog() -> Catalog {
    let sample = shared_dir().join("fixtures/flipfix-sample");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(sample.join(name)).unwrap()).unwrap()
    };
    let mut machines = Vec::new();
    for model in read("machines.json").as_array().unwrap() {
        let model_name = model["name"].as_str().unwrap_or_default();
        for instance in model["instances"].as_array().into_iter().flatten() {
            let name = instance["name"].as_str().unwrap_or(model_name).to_string();
            machines.push(CatalogMachine {
                id: None,
                slug: flipfix_bot::text::slugify(&name),
                short_name: instance["short_name"].as_str().map(str::to_string),
                aliases: Vec::new(),
                name,
            });
        }
    }
    let accounts = read("accounts.json");
    let maintainers = ["admins", "maintainers"]
        .iter()
        .flat_map(|key| accounts[key].as_array().cloned().unwrap_or_default())
        .map(|a| CatalogMaintainer {
            username: a["username"].as_str().unwrap_or_default().to_string(),
            display_name: a["first_name"].as_str().map(str::to_string),
        })
        .collect();
    Catalog {
        machines,
        maintainers,
    }
}

async fn system_prompt(workflows: &Workflows, catalog: &Catalog) -> String {
    let scenario = Scenario::load(
        &shared_dir().join("scenarios/flipfix-eval/nested_part_request_with_updates.yaml"),
    )
    .unwrap();
    let (conversation, _) = flipfix_bot::analysis::prepare(
        workflows,
        catalog,
        &scenario,
        scenario.target_channel_id,
        scenario.target_id,
    )
    .await
    .unwrap();
    let menu = flipfix_bot::analysis::menu(workflows).unwrap();
    build_prompt(
        menu,
        &workflows.kinds,
        &workflows.templates,
        catalog,
        &conversation,
    )
    .unwrap()
    .system
}

#[tokio::test]
async fn the_system_prompt_states_every_rule() {
    let prompt = system_prompt(&shipped_workflows(), &real_catalog()).await;
    let flat = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
    for (rule, text) in RULES {
        assert!(flat.contains(text), "rule `{rule}` missing: {text:?}");
    }
}

#[tokio::test]
async fn the_rules_come_from_the_template_not_from_rust() {
    let dir = copy_workflows();
    std::fs::write(
        dir.path().join("prompts/analysis/system.md.j2"),
        "Catalog:{% for m in machines %} {{ m.slug }}{% endfor %}{% for e in examples %} {{ e.name }}{% endfor %}",
    )
    .unwrap();
    let workflows =
        load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts")).unwrap();
    let prompt = system_prompt(&workflows, &real_catalog()).await;
    for (rule, text) in RULES {
        assert!(
            !prompt.contains(text),
            "rule `{rule}` is not from the template"
        );
    }
    assert!(prompt.starts_with("Catalog: "), "{prompt}");
}

#[tokio::test]
async fn the_worked_examples_appear_in_declaration_order_with_their_answers() {
    let workflows = shipped_workflows();
    let menu = flipfix_bot::analysis::menu(&workflows).unwrap();
    let names: Vec<&str> = menu.examples.iter().map(|e| e.decl.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fix_done_in_conversation",
            "unresolved_problem_with_two_attempts",
            "questions_and_answers_become_one_log_entry",
            "ordered_gives_a_part_request_with_an_update",
            "todo_list_over_several_machines",
            "thread_follow_up_on_its_record",
            "a_fix_resolves_its_open_report",
        ]
    );
    let prompt = system_prompt(&workflows, &real_catalog()).await;
    let mut last = 0;
    for (i, example) in menu.examples.iter().enumerate() {
        let heading = format!("## Example {}: {}\n", i + 1, example.decl.name);
        let at = prompt
            .find(&heading)
            .unwrap_or_else(|| panic!("{heading:?} missing"));
        assert!(at > last, "{heading:?} out of order");
        last = at;
        let answer = ordered_json(&example.decl.answer.value);
        assert!(
            prompt[at..].contains(&format!("<answer>{answer}</answer>")),
            "{heading:?} answer"
        );
    }
    // An example's conversation is shown exactly as a real one.
    assert!(prompt.contains("[404] TARGET 2025-03-01 18:03 Lee Park (author_id 9002):\nOrdered"));
    // Answers read kind first, children last, as a person writes them.
    assert!(prompt.contains(r#"<answer>{"suggestions":[{"kind":"problem_report","machine":"medieval-madness","description":"The game resets in the middle of multiball.","fields":{"priority":"major"},"source_message_ids":["201"],"author_id":"9001","children":[{"description":"#));
    // The kinds section offers no status for a new record, and says where
    // it starts.
    assert!(!prompt.contains("field `status`"));
    assert!(prompt.contains("- a new one starts open\n"));
    assert!(prompt.contains("- a new one starts requested\n"));
    // The examples come before the catalog: the whole block is stable.
    assert!(last < prompt.find("# Machine catalog").unwrap());
}

#[tokio::test]
async fn the_stable_prefix_with_the_real_catalog_reaches_haiku_4_5s_cache_minimum() {
    // Claude's tokenizer averages at most about 4 characters per token on
    // English prose and fewer on JSON and ids, so 4 characters per token
    // gives the fewest tokens this prefix can be; Haiku 4.5 caches from
    // 4,096 tokens.
    let workflows = shipped_workflows();
    let catalog = real_catalog();
    assert_eq!(catalog.machines.len(), 39, "the real catalog");
    let system = system_prompt(&workflows, &catalog).await;
    let menu = flipfix_bot::analysis::menu(&workflows).unwrap();
    let tools = serde_json::to_string(&tool(menu, &workflows.kinds).input_schema).unwrap();
    let chars = system.chars().count() + tools.chars().count();
    assert!(chars >= 4 * 4096, "{chars} characters");
}

fn schema() -> Value {
    let workflows = shipped_workflows();
    tool(
        flipfix_bot::analysis::menu(&workflows).unwrap(),
        &workflows.kinds,
    )
    .input_schema
}

fn item_of(schema: &Value, kind: &str) -> Value {
    schema["properties"]["suggestions"]["items"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["properties"]["kind"]["const"] == kind)
        .cloned()
        .unwrap()
}

#[test]
fn each_kind_has_its_own_item_schema_with_only_its_fields() {
    let schema = schema();
    let problem = item_of(&schema, "problem_report");
    let fields: Vec<&String> = problem["properties"]["fields"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        fields,
        ["priority", "problem_type"],
        "no status on a new record"
    );
    let part = item_of(&schema, "part_request");
    assert!(
        part["properties"].get("fields").is_none(),
        "status is not offered"
    );
    let update = item_of(&schema, "part_request_update");
    assert_eq!(
        update["properties"]["fields"]["properties"]["new_status"]["enum"],
        json!(["requested", "ordered", "received", "cancelled"])
    );
    assert!(item_of(&schema, "log_entry")["properties"]
        .get("fields")
        .is_none());
    for kind in [
        "problem_report",
        "log_entry",
        "part_request",
        "part_request_update",
    ] {
        let item = item_of(&schema, kind);
        assert_eq!(item["additionalProperties"], false, "{kind}");
        let required = item["required"].as_array().unwrap();
        for key in [
            "kind",
            "machine",
            "description",
            "source_message_ids",
            "author_id",
        ] {
            assert!(required.contains(&json!(key)), "{kind} requires {key}");
        }
    }
    assert!(item_of(&schema, "problem_report")["properties"]
        .get("parent_record_id")
        .is_none());
    assert_eq!(
        item_of(&schema, "part_request_update")["required"]
            .as_array()
            .unwrap()
            .last(),
        Some(&json!("parent_record_id"))
    );
}

#[test]
fn a_child_item_has_no_kind_machine_parent_or_children() {
    let schema = schema();
    for (parent, fields) in [
        ("problem_report", None),
        ("part_request", Some("new_status")),
    ] {
        let child = &item_of(&schema, parent)["properties"]["children"]["items"];
        let keys: Vec<&String> = child["properties"].as_object().unwrap().keys().collect();
        let mut expected = vec!["author_id", "description", "source_message_ids"];
        if fields.is_some() {
            expected.insert(2, "fields");
        }
        let mut keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, expected, "{parent}");
        assert_eq!(child["additionalProperties"], false);
    }
}

#[test]
fn the_schema_check_refuses_what_a_small_model_could_misread() {
    let workflows = shipped_workflows();
    let tool = tool(
        flipfix_bot::analysis::menu(&workflows).unwrap(),
        &workflows.kinds,
    );
    let ok = json!({"suggestions": [{"kind": "part_request", "machine": "hook", "description": "switch",
        "source_message_ids": ["1"], "author_id": "9",
        "children": [{"description": "Ordered.", "fields": {"new_status": "ordered"}, "source_message_ids": ["2"], "author_id": "9"}]}]});
    assert_eq!(check_answer(&tool, &ok), Vec::<String>::new());

    let mut closed = ok.clone();
    closed["suggestions"][0]["fields"] = json!({"status": "received"});
    let mut child_machine = ok.clone();
    child_machine["suggestions"][0]["children"][0]["machine"] = json!("hook");
    let mut no_author = ok.clone();
    no_author["suggestions"][0]
        .as_object_mut()
        .unwrap()
        .remove("author_id");
    let mut wrong_field = ok.clone();
    wrong_field["suggestions"][0]["children"][0]["fields"] = json!({"priority": "major"});
    for (answer, expected) in [
        (closed, "/suggestions/0: Additional properties are not allowed ('fields' was unexpected)"),
        (child_machine, "/suggestions/0/children/0: Additional properties are not allowed ('machine' was unexpected)"),
        (no_author, "/suggestions/0: \"author_id\" is a required property"),
        (wrong_field, "/suggestions/0/children/0/fields: Additional properties are not allowed ('priority' was unexpected)"),
    ] {
        assert_eq!(check_answer(&tool, &answer), vec![expected.to_string()]);
    }
}

#[test]
fn every_reference_answer_matches_the_tool_schema() {
    let workflows = shipped_workflows();
    let tool = tool(
        flipfix_bot::analysis::menu(&workflows).unwrap(),
        &workflows.kinds,
    );
    let dir = repo_root().join("tests/fixtures/reference_answers");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(body.get("usage").is_none(), "{path:?}: hand-made, no usage");
        let input = &body["content"][0]["input"];
        assert_eq!(check_answer(&tool, input), Vec::<String>::new(), "{path:?}");
        count += 1;
    }
    assert_eq!(count, 36);
}
