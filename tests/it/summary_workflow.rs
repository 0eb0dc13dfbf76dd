//! The daily summary as a `schedule:` workflow: what `check` accepts and
//! refuses (each at file:line:column), the shipped file (off until its
//! comment is followed), 0.x's `summaries:` still loading with its
//! rewrite, and a reload that changes the schedule without a restart.

use flipfix_bot::app::App;
use flipfix_bot::config::Secrets;
use flipfix_bot::summary::{Decision, Outcome};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use sqlx::PgPool;

use crate::notify::Env;
use crate::summary::{a_busy_day, at, decision, write_daily_summary, write_summaries, DUE};
use crate::support::copy_workflows;

fn load(dir: &tempfile::TempDir) -> Result<std::sync::Arc<Workflows>, String> {
    load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .map_err(|problems| problems.to_string())
}

fn write(dir: &tempfile::TempDir, file: &str, yaml: &str) -> String {
    let path = dir.path().join("workflows").join(file);
    std::fs::write(&path, yaml).expect("write workflow");
    path.display().to_string()
}

/// Each expected line must be in the problems, exactly.
fn assert_has(problems: &str, expected: &[String]) {
    for line in expected {
        assert!(problems.contains(line), "missing {line:?} in:\n{problems}");
    }
}

#[test]
fn a_schedule_workflow_that_also_analyzes_is_refused_where_each_section_is() {
    let dir = copy_workflows();
    let file = write(
        &dir,
        "daily_summary.yaml",
        "workflows:\n  - name: daily\n    triggers:\n      - schedule: {at: \"18:00\", timezone: Europe/London}\n      - message_command: Summarise\n    channels: [42]\n    gather: {channel_before: 5, thread_messages: 5, thread_preroll: 0, reply_chain_depth: 0, reply_chain_preroll: 0, max_messages: 5}\n    analyze:\n      model: m\n      max_tokens: 100\n      kinds: [log_entry]\n      prompts: {system: analysis/system.md.j2, conversation: analysis/conversation.md.j2}\n      prices: {}\n    summary:\n      template: summaries/daily.md.j2\n",
    );
    let problems = load(&dir).expect_err("refused");
    assert_has(
        &problems,
        &[
            format!("{file}:5:9: workflow `daily`: a schedule workflow posts its summary by itself and cannot also be started by `message_command`; declare that trigger in another workflow"),
            format!("{file}:6:16: workflow `daily`: a schedule workflow posts a template only (its `summary:`) and cannot also declare `channels`"),
            format!("{file}:7:13: workflow `daily`: a schedule workflow posts a template only (its `summary:`) and cannot also declare `gather`; remove it, or move it to a workflow a member starts"),
            format!("{file}:9:7: workflow `daily`: a schedule workflow posts a template only (its `summary:`) and cannot also declare `analyze`"),
        ],
    );
    // The analysis itself is not checked as well: one sentence per place.
    assert!(!problems.contains("no entry in prices"), "{problems}");
}

#[test]
fn a_schedule_needs_a_summary_and_a_summary_needs_a_schedule() {
    let dir = copy_workflows();
    let file = write(
        &dir,
        "daily_summary.yaml",
        "workflows:\n  - name: daily\n    triggers:\n      - schedule: {at: \"25:00\", timezone: Europe/Londn}\n      - schedule: {at: \"08:00\", timezone: UTC}\n  - name: evening\n    triggers:\n      - reaction: \"📋\"\n    summary:\n      template: summaries/daily.md.j2\n      listings:\n        - {title: Parts, kind: part_request, statuses: [lost]}\n",
    );
    let problems = load(&dir).expect_err("refused");
    assert_has(
        &problems,
        &[
            format!("{file}:2:11: workflow `daily`: a schedule workflow needs `summary:` with the template it posts"),
            format!("{file}:4:24: workflow `daily`: schedule.at `25:00` must be a 24-hour time like \"18:00\""),
            format!("{file}:4:43: workflow `daily`: schedule.timezone `Europe/Londn` is not an IANA timezone name (did you mean `Europe/London`?)"),
            format!("{file}:5:9: workflow `daily`: a schedule workflow has one `schedule:`"),
            format!("{file}:10:7: workflow `evening`: `summary:` is what a `schedule:` trigger posts; add"),
        ],
    );
}

#[test]
fn a_bad_listing_or_template_of_a_schedule_workflow_is_named_at_its_place() {
    let dir = copy_workflows();
    let file = write(
        &dir,
        "daily_summary.yaml",
        "workflows:\n  - name: daily\n    triggers:\n      - schedule: {at: \"18:00\", timezone: Europe/London}\n    summary:\n      template: summaries/nope.md.j2\n      listings:\n        - title: Parts waiting\n          kind: part_request\n          statuses: [requested, lost]\n",
    );
    let problems = load(&dir).expect_err("refused");
    assert_has(
        &problems,
        &[
            format!("{file}:6:17: workflow `daily`: template `summaries/nope.md.j2` not found in the prompts directory"),
            format!("{file}:10:33: workflow `daily`: listing `Parts waiting`: status `lost` is not a choice of `part_request`.status"),
        ],
    );
}

#[test]
fn two_summaries_of_one_name_are_refused_across_files_and_forms() {
    let dir = copy_workflows();
    write_daily_summary(dir.path(), "18:00", "Europe/London");
    let second = write(
        &dir,
        "weekly.yaml",
        "workflows:\n  - name: daily\n    triggers:\n      - schedule: {at: \"09:00\", timezone: UTC}\n    summary: {template: summaries/daily.md.j2}\n",
    );
    let first = dir.path().join("workflows/daily_summary.yaml");
    let problems = load(&dir).expect_err("refused");
    assert_has(
        &problems,
        &[format!(
            "{second}:2:11: workflow `daily` is already declared at {}:2; names must be unique",
            first.display()
        )],
    );

    // 0.x's `summaries:` entry of the same name: both would claim one day.
    std::fs::remove_file(dir.path().join("workflows/weekly.yaml")).expect("remove");
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"09:00\"\n    timezone: UTC\n    template: summaries/daily.md.j2\n",
    );
    let old = dir.path().join("workflows/summaries.yaml");
    let problems = load(&dir).expect_err("refused");
    assert_has(
        &problems,
        &[format!(
            "{}:2:11: summary `daily`: workflow `daily` at {}:2 has this name; names must be unique",
            old.display(),
            first.display()
        )],
    );
}

/// The shipped file's workflow with its comment followed: `workflows: []`
/// becomes `workflows:` and the `#` at the start of each line below goes.
fn turned_on(shipped: &str) -> String {
    let (head, tail) = shipped
        .split_once("workflows: []\n")
        .expect("the shipped summary is off");
    let tail: Vec<&str> = tail
        .lines()
        .map(|line| line.strip_prefix('#').unwrap_or(line))
        .collect();
    format!("{head}workflows:\n{}\n", tail.join("\n"))
}

#[test]
fn the_shipped_daily_summary_is_off_and_its_comment_turns_it_on() {
    let dir = copy_workflows();
    let shipped = load(&dir).unwrap_or_else(|problems| panic!("{problems}"));
    assert!(shipped.summaries.is_empty(), "off until a time is set");
    assert!(shipped.warnings.is_empty(), "{:?}", shipped.warnings);

    let path = dir.path().join("workflows/daily_summary.yaml");
    let text = std::fs::read_to_string(&path).expect("read the shipped file");
    std::fs::write(&path, turned_on(&text)).expect("turn it on");
    let on = load(&dir).unwrap_or_else(|problems| panic!("{problems}"));
    let summary = &on.summaries[0];
    assert_eq!(
        (
            summary.name.as_str(),
            summary.at.format("%H:%M").to_string(),
            summary.timezone.name(),
            summary.template.as_str()
        ),
        (
            "daily",
            "18:00".into(),
            "Europe/London",
            "summaries/daily.md.j2"
        )
    );
    let listed: Vec<(&str, &str)> = summary
        .listings
        .iter()
        .map(|l| (l.title.as_str(), l.kind.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("Open problem reports", "problem_report"),
            ("Parts waiting", "part_request")
        ]
    );
    let workflow = on
        .workflows
        .iter()
        .find(|w| w.name == "daily")
        .expect("the daily workflow");
    assert!(workflow.analyze.is_none());
}

#[test]
fn the_old_summaries_section_loads_with_a_warning_whose_rewrite_loads_the_same() {
    let dir = copy_workflows();
    let old = "summaries:\n  - name: daily\n    at: \"7:30\"\n    timezone: America/New_York\n    template: summaries/daily.md.j2\n    listings:\n      - title: \"Parts: waiting\"\n        kind: part_request\n        statuses: [requested, ordered]\n";
    write_summaries(dir.path(), old);
    let loaded = load(&dir).unwrap_or_else(|problems| panic!("{problems}"));
    let warning = loaded.warnings[0].to_string();
    let file = dir.path().join("workflows/summaries.yaml");
    assert!(
        warning.starts_with(&format!(
            "{}:2:3: warning: `summaries:` is deprecated",
            file.display()
        )),
        "{warning}"
    );
    let rewrite = warning
        .split_once('\n')
        .map(|(_, yaml)| yaml)
        .expect("the rewrite follows the sentence");
    assert_eq!(
        rewrite,
        "workflows:\n  - name: \"daily\"\n    triggers:\n      - schedule: {at: \"7:30\", timezone: \"America/New_York\"}\n    summary:\n      template: \"summaries/daily.md.j2\"\n      listings:\n        - {title: \"Parts: waiting\", kind: \"part_request\", statuses: [\"requested\", \"ordered\"]}"
    );

    // The rewrite, in place of the old section, is the same summary.
    std::fs::remove_file(&file).expect("remove the old section");
    write(&dir, "daily_summary.yaml", &format!("{rewrite}\n"));
    let rewritten = load(&dir).unwrap_or_else(|problems| panic!("{problems}"));
    assert!(rewritten.warnings.is_empty());
    let (a, b) = (&loaded.summaries[0], &rewritten.summaries[0]);
    assert_eq!(
        (&a.name, a.at, a.timezone, &a.template, &a.listings),
        (&b.name, b.at, b.timezone, &b.template, &b.listings)
    );
}

/// A running bot's scheduler reads the workflows in force at each step: a
/// schedule added and reloaded is posted without a restart.
#[sqlx::test(migrations = "./migrations")]
async fn a_reload_puts_a_new_schedule_in_force_without_a_restart(pool: PgPool) {
    let env = Env::new(pool).await;
    a_busy_day(&env).await;
    let dir = copy_workflows();
    let secrets = Secrets {
        workflows_dir: dir.path().join("workflows"),
        prompts_dir: dir.path().join("prompts"),
        ..Secrets::default()
    };
    let shipped = load(&dir).unwrap_or_else(|problems| panic!("{problems}"));
    let app = App::new(
        env.pool.clone(),
        crate::support::run_config(secrets),
        shipped,
    );
    let scheduler = flipfix_bot::serve::summary_scheduler(&app);
    assert!(
        scheduler.step(at(DUE)).await.is_empty(),
        "the shipped summary is off"
    );

    write_daily_summary(dir.path(), "18:00", "Europe/London");
    app.reload_workflows()
        .unwrap_or_else(|problems| panic!("{problems}"));
    let outcomes = scheduler.step(at(DUE)).await;
    assert!(
        matches!(decision(&outcomes), Decision::Queued { records: 3, .. }),
        "{outcomes:?}"
    );

    // Moved to 19:00: the day is already posted, so the later time posts
    // nothing more, and the wake-up follows the new time.
    write_daily_summary(dir.path(), "19:00", "Europe/London");
    app.reload_workflows()
        .unwrap_or_else(|problems| panic!("{problems}"));
    let later = at(DUE) + chrono::Duration::hours(1);
    let outcomes = scheduler.step(later).await;
    assert!(
        matches!(
            outcomes.as_slice(),
            [(_, Outcome::Decided(Decision::AlreadyDecided))]
        ),
        "{outcomes:?}"
    );
    assert_eq!(
        scheduler.next_wake(at(DUE) + chrono::Duration::minutes(50), &[]),
        at(DUE) + chrono::Duration::hours(1)
    );
}
