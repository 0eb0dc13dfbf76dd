//! `LOG_FORMAT=json` on the real binary: every line is one JSON object, and
//! lines logged inside an interaction carry its id (and an analysis its
//! model and tokens); an invalid `RUST_LOG` is reported, not replaced silently.

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;

use crate::support::anthropic::FakeAnthropic;
use crate::support::fake_discord::FakeDiscord;
use crate::support::process::{bob, database_url, flipper_message, flipper_suggestion, BotProcess};
use crate::support::repo_root;

fn parse_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line:?}\n{stderr}"))
        })
        .collect()
}

/// The span named `name` among the line's enclosing spans.
fn span<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["spans"].as_array()?.iter().find(|s| s["name"] == name)
}

#[sqlx::test(migrations = "./migrations")]
async fn json_logs_are_one_object_per_line_and_carry_the_interaction_id(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![flipper_suggestion()]).await;
    let message = flipper_message(&fake, 1_100_000_000_000_000_001);
    let bot = BotProcess::start(
        &database_url(&pool),
        &fake,
        &anthropic.base_url,
        &[("LOG_FORMAT", "json")],
    );
    assert!(
        bot.wait_for_log("serving Discord interactions", Duration::from_secs(60))
            .await,
        "{}",
        bot.stderr()
    );
    let token = fake.invoke_message_command(&bob(), "Add to Flipfix", &message);
    let interaction_id = fake.interaction_payload(&token).expect("dispatched")["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(
        bot.wait_for_log("the model answered", Duration::from_secs(60))
            .await,
        "{}",
        bot.stderr()
    );

    let lines = parse_lines(&bot.stderr());
    let inside: Vec<&Value> = lines
        .iter()
        .filter(|l| span(l, "interaction").is_some())
        .collect();
    assert!(
        !inside.is_empty(),
        "some line was logged inside the interaction"
    );
    for line in &inside {
        let interaction = span(line, "interaction").expect("span");
        assert_eq!(
            interaction["interaction_id"],
            interaction_id.as_str(),
            "{line}"
        );
        assert_eq!(interaction["kind"], "command", "{line}");
        assert_eq!(
            interaction["user_id"],
            crate::support::process::BOB.to_string().as_str(),
            "{line}"
        );
        assert_eq!(
            interaction["guild_id"],
            crate::support::fake_discord::GUILD_ID.to_string().as_str(),
            "{line}"
        );
    }
    let answered = lines
        .iter()
        .find(|l| l["fields"]["message"] == "the model answered")
        .expect("the analysis line");
    assert!(
        span(answered, "interaction").is_some(),
        "the analysis runs inside the interaction: {answered}"
    );
    let analysis = span(answered, "analysis").expect("an analysis span");
    assert!(analysis["model"].is_string(), "{answered}");
    assert_eq!(analysis["input_tokens"], 420, "{answered}");
    assert_eq!(analysis["output_tokens"], 150, "{answered}");
    fake.assert_spec_clean();
}

#[test]
fn an_invalid_rust_log_is_reported_in_the_chosen_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("check")
        .arg("--secrets")
        .arg(dir.path().join("no-secrets.toml"))
        .current_dir(repo_root())
        .env("RUST_LOG", "flipfix_bot=loudest")
        .env("LOG_FORMAT", "json")
        .output()
        .expect("run flipfix-bot check");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = parse_lines(&stderr);
    let warning = lines
        .iter()
        .find(|l| l["level"] == "WARN")
        .unwrap_or_else(|| panic!("no warning about RUST_LOG:\n{stderr}"));
    let text = warning["fields"]["message"].as_str().unwrap_or_default();
    assert!(
        text.contains("RUST_LOG=\"flipfix_bot=loudest\" is not a valid filter"),
        "{text}"
    );
    assert!(
        output.status.success(),
        "the default filter is used; check still runs: {stderr}"
    );
}
