//! "A new kind needs no Rust", all the way: a kind added in YAML only gets
//! its own webhook switch (read and set like any setting), and a summary
//! lists it in a third listing. Real Postgres, the real dispatcher and
//! scheduler, the fake webhook; the shipped workflows copied to a temp dir.

use std::sync::Arc;

use chrono::Duration;
use flipfix_bot::config::Settings;
use flipfix_bot::notify::Dispatcher;
use flipfix_bot::records::{create_record, NewRecord};
use flipfix_bot::summary::Decision;
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use sqlx::PgPool;

use crate::notify::{config, description, drain, title, Env};
use crate::summary::{at, decision, scheduler, write_summaries, DUE};
use crate::support::{copy_workflows, new_record};

/// A kind with no `webhook_switch:`: it gets DISCORD_WEBHOOKS_CLEANING.
const CLEANING: &str = r##"
  - name: cleaning
    label: Cleaning
    emoji: "🧽"
    link_path: cleaning
    web: members
    machine: required
    description:
      label: What to clean
      max_length: 1000
    fields:
      - name: status
        label: Status
        type: choice
        choices: [due, done]
        default: due
    status_field: status
    closed_statuses: [done]
    color: "#2ecc71"
    templates:
      card: cards/record.md.j2
      notification: notifications/record.md.j2
"##;

const SUMMARY: &str = r#"summaries:
  - name: daily
    at: "18:00"
    timezone: Europe/London
    template: summaries/daily.md.j2
    listings:
      - title: Open problem reports
        kind: problem_report
        statuses: [open]
      - title: Parts waiting
        kind: part_request
        statuses: [requested, ordered]
      - title: Cleaning due
        kind: cleaning
        statuses: [due]
"#;

fn workflows_with_cleaning() -> Arc<Workflows> {
    let dir = copy_workflows();
    let kinds = dir.path().join("workflows/record_kinds.yaml");
    let text = std::fs::read_to_string(&kinds).expect("read kinds");
    std::fs::write(&kinds, format!("{text}{CLEANING}")).expect("write kinds");
    write_summaries(dir.path(), SUMMARY);
    load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|problems| panic!("{problems}"))
}

fn dispatcher(env: &Env, workflows: &Arc<Workflows>) -> Dispatcher {
    let workflows = workflows.clone();
    Dispatcher::new(
        env.pool.clone(),
        env.settings.clone(),
        Arc::new(move || workflows.clone()),
        config(),
    )
    .expect("dispatcher")
}

async fn create(env: &Env, workflows: &Workflows, kind: &str, text: &str, hour: u32) -> i64 {
    let when = at(&format!("2026-11-24T{hour:02}:00:00Z"));
    let record = NewRecord {
        machine_id: Some(env.machine),
        description: text.into(),
        created_at: when,
        occurred_at: when,
        ..new_record(kind)
    };
    create_record(&env.pool, &workflows.kinds, &record)
        .await
        .expect("create")
        .id
}

#[sqlx::test(migrations = "./migrations")]
async fn a_yaml_only_kind_has_its_own_switch_and_its_own_summary_listing(pool: PgPool) {
    let env = Env::new(pool).await;
    let workflows = workflows_with_cleaning();

    // The switch exists because the YAML declares the kind: admins find it
    // by name (any case) and it is on, like the shipped kinds' switches.
    let switches = workflows.kinds.switches();
    let key = Settings::lookup("discord_webhooks_cleaning", &switches).expect("a setting");
    assert_eq!(key.name(), "DISCORD_WEBHOOKS_CLEANING");
    assert!(env.settings.get_bool(key.clone()).await.unwrap());
    let shown = env.settings.show(&switches).await.unwrap();
    let view = shown
        .iter()
        .find(|view| view.key == "DISCORD_WEBHOOKS_CLEANING")
        .expect("listed with the other settings");
    assert_eq!(view.shown_value, "true");
    assert_eq!(view.description, "post new cleaning records");
    assert!(
        Settings::lookup("DISCORD_WEBHOOKS_CLEANING", &Default::default()).is_err(),
        "without the kind there is no such setting"
    );

    create(&env, &workflows, "cleaning", "Glass before the switch", 9).await;
    env.settings.set(key.clone(), "off", "admin").await.unwrap();
    create(&env, &workflows, "cleaning", "Glass after the switch", 10).await;
    create(&env, &workflows, "problem_report", "Left flipper weak", 11).await;
    create(&env, &workflows, "part_request", "Flipper coil", 12).await;

    let mut dispatcher = dispatcher(&env, &workflows);
    drain(&mut dispatcher, at(DUE)).await;
    let bodies = env.checked_bodies();
    let titles: Vec<&str> = bodies.iter().map(title).collect();
    assert_eq!(
        titles,
        [
            "🧽 Cleaning: EBD",
            "⚠️ Problem report: EBD",
            "📦 Part request: EBD"
        ],
        "the cleaning made while its switch was off is not posted; other kinds are"
    );
    assert!(description(&bodies[0]).contains("Glass before the switch"));
    assert!(bodies
        .iter()
        .all(|body| !description(body).contains("Glass after the switch")));

    // The summary's third listing: open cleanings, switched off or not.
    let outcomes = scheduler(&env, &workflows)
        .step(at(DUE) + Duration::seconds(1))
        .await;
    assert!(
        matches!(decision(&outcomes), Decision::Queued { records: 4, .. }),
        "{outcomes:?}"
    );
    drain(&mut dispatcher, at(DUE) + Duration::seconds(1)).await;
    let bodies = env.checked_bodies();
    let summary = description(bodies.last().expect("the summary"));
    let open = summary
        .find("**Open problem reports (1), oldest first**")
        .expect(summary);
    let parts = summary
        .find("**Parts waiting (1), oldest first**")
        .expect(summary);
    let cleaning = summary
        .find("**Cleaning due (2), oldest first**")
        .expect(summary);
    assert!(
        open < parts && parts < cleaning,
        "declared order:\n{summary}"
    );
    let listed = &summary[cleaning..];
    assert!(
        listed.contains("0 d · EBD · [#") && listed.contains("Glass after the switch"),
        "{summary}"
    );
    assert!(
        listed.contains("](https://flipfix.example/cleaning/"),
        "{summary}"
    );
}
